// Implementation of src/session/pg_session.h, part 2: the backend connection (TLS, start-up,
// the gateway's own authentication, the replaced cancel key) and the forwarding phase (frame
// walking, the guardrail and masking hooks, the cut at a grant's end).
#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "jitgate/check.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/pg/startup.h"
#include "src/common/log.h"
#include "src/grants/store.h"
#include "src/session/pg_backend_auth.h"
#include "src/session/pg_session.h"
#include "src/session/pg_session_internal.h"
#include "src/session/pg_session_mask.h"
#include "src/session/pg_session_audit.h"
#include "src/tls/context.h"
#include "src/tls/stream.h"

namespace jitgate::session {

namespace pg = parsers::pg;
using internal::AsBytes;
using internal::Clip;

namespace internal {

std::vector<std::byte> EncodeNegotiateProtocolVersion(uint32_t minor,
                                                      std::span<const std::string_view> options) {
  size_t body = 4 + 4 + 4;
  for (std::string_view option : options) {
    body += option.size() + 1;
  }
  std::vector<std::byte> out(1 + body);
  out[0] = std::byte{'v'};
  StoreUint32(out.data() + 1, static_cast<uint32_t>(body));
  StoreUint32(out.data() + 5, minor);
  StoreUint32(out.data() + 9, static_cast<uint32_t>(options.size()));
  size_t at = 13;
  for (std::string_view option : options) {
    std::memcpy(out.data() + at, option.data(), option.size());
    at += option.size();
    out[at++] = std::byte{0};
  }
  return out;
}

std::vector<std::byte> EncodeStartupMessage(
    std::span<const std::pair<std::string, std::string>> params) {
  size_t size = 8 + 1;
  for (const auto& [name, value] : params) {
    size += name.size() + 1 + value.size() + 1;
  }
  std::vector<std::byte> out(size);
  StoreUint32(out.data(), static_cast<uint32_t>(size));
  StoreUint32(out.data() + 4, pg::kProtocolVersion30);
  size_t at = 8;
  for (const auto& [name, value] : params) {
    for (std::string_view part : {std::string_view(name), std::string_view(value)}) {
      std::memcpy(out.data() + at, part.data(), part.size());
      at += part.size();
      out[at++] = std::byte{0};
    }
  }
  out[at] = std::byte{0};
  return out;
}

}  // namespace internal

namespace {

// Re-frames a message body the decoder already split off (type byte + Int32 length + body).
void AppendFrame(char type, std::span<const std::byte> payload, std::vector<std::byte>* out) {
  const size_t at = out->size();
  out->resize(at + 5 + payload.size());
  (*out)[at] = std::byte(type);
  internal::StoreUint32(out->data() + at + 1, static_cast<uint32_t>(payload.size() + 4));
  std::copy(payload.begin(), payload.end(), out->begin() + static_cast<ptrdiff_t>(at + 5));
}

}  // namespace

void PgSession::OnBackendConnected(int error, std::string_view detail, int64_t now_ms) {
  (void)now_ms;
  if (end_ != EndReason::kNone) {
    return;
  }
  const config::Resource& resource = env_.config->resources[resource_index_];
  if (cancel_) {
    // The real CancelRequest is in to_backend(); it goes out, then the connection closes.
    EndQuietly(EndReason::kCancelForwarded);
    return;
  }
  if (error != 0) {
    JG_LOG(kWarn, "event=backend_connect_failed shard=%u session=%lu resource=%s address=%s "
                  "error=\"%s\"",
           shard_index_, session_id_, resource.name.c_str(), resource.address.text.c_str(),
           Clip(detail, 200).c_str());
    Fail(EndReason::kBackendUnavailable, "08006",
         "jitgate: the database is unavailable: resource \"" + resource.name + "\" at " +
             resource.address.text + ": " + std::string(detail));
    return;
  }
  if (resource.tls != config::BackendTls::kDisable) {
    std::array<std::byte, 8> request;
    internal::StoreUint32(request.data(), 8);
    internal::StoreUint32(request.data() + 4, pg::kSslRequestCode);
    to_backend_.Append(request);
    phase_ = Phase::kBackendTlsRequest;
    return;
  }
  SendBackendStartup();
}

void PgSession::OnBackendClosed() {
  if (end_ != EndReason::kNone) {
    return;
  }
  if (cancel_) {
    EndQuietly(EndReason::kCancelForwarded);
    return;
  }
  const config::Resource& resource = env_.config->resources[resource_index_];
  JG_LOG(kWarn, "event=backend_closed_during_startup shard=%u session=%lu resource=%s",
         shard_index_, session_id_, resource.name.c_str());
  Fail(EndReason::kBackendUnavailable, "08006",
       "jitgate: the database is unavailable: resource \"" + resource.name +
           "\" closed the connection during start-up");
}

void PgSession::SendBackendStartup() {
  const config::Resource& resource = env_.config->resources[resource_index_];
  std::vector<std::pair<std::string, std::string>> params;
  params.reserve(client_params_.size() + 2);
  params.emplace_back("user", resource.user);
  params.emplace_back("database", resource.database);
  for (const auto& param : client_params_) {
    params.push_back(param);
  }
  SendToBackend(internal::EncodeStartupMessage(params));
  std::vector<std::byte> binding;
  if (backend_tls_ != nullptr) {
    const absl::StatusOr<tls::EndPoint> end_point = backend_tls_->tls_server_end_point();
    if (end_point.ok()) {
      const std::span<const std::byte> view = end_point->view();
      binding.assign(view.begin(), view.end());
    }
  }
  BackendAuthParams auth_params;
  auth_params.user = resource.user;
  auth_params.password = resource.password;
  auth_params.channel_binding = binding;
  auth_params.require_channel_binding = false;
  auth_params.key_cache = scram_cache_;
  backend_auth_ = std::make_unique<BackendAuth>(auth_params);
  phase_ = Phase::kBackendStartup;
}

void PgSession::SendToBackend(std::span<const std::byte> plaintext) {
  if (backend_tls_ == nullptr) {
    to_backend_.Append(plaintext);
    return;
  }
  while (!plaintext.empty()) {
    const tls::WriteResult result = backend_tls_->Write(plaintext);
    plaintext = plaintext.subspan(result.bytes);
    FlushBackendTls();
    if (result.status == tls::IoStatus::kFailed) {
      return;
    }
  }
}

void PgSession::FlushBackendTls() {
  while (backend_tls_->PendingOutput() > 0) {
    std::span<std::byte> room = to_backend_.Reserve(backend_tls_->PendingOutput());
    to_backend_.Commit(backend_tls_->TakeOutput(room));
  }
}

void PgSession::OnBackendBytes(std::span<const std::byte> bytes, int64_t now_ms) {
  if (end_ != EndReason::kNone) {
    return;
  }
  const config::Resource& resource = env_.config->resources[resource_index_];
  if (phase_ == Phase::kBackendTlsRequest) {
    if (bytes.empty()) {
      return;
    }
    if (bytes[0] != std::byte{'S'}) {
      Fail(EndReason::kBackendUnavailable, "08006",
           "jitgate: the database is unavailable: resource \"" + resource.name +
               "\" requires TLS and the server does not offer it");
      return;
    }
    if (bytes.size() > 1) {
      // Bytes after 'S' came in plaintext: a man-in-the-middle could have sent them.
      Fail(EndReason::kBackendProtocol, "08006",
           "jitgate: the database sent unencrypted data after agreeing to TLS");
      return;
    }
    backend_tls_ = std::make_unique<tls::Stream>();
    const std::string& server_name = resource.tls_server_name;
    const absl::Status status =
        backend_tls_->Init(*env_.resource_tls[resource_index_], tls::Role::kClient, server_name);
    if (!status.ok()) {
      Fail(EndReason::kBackendUnavailable, "08006",
           "jitgate: TLS to resource \"" + resource.name + "\" could not start");
      return;
    }
    phase_ = Phase::kBackendTls;
    (void)PumpBackendTls(now_ms);
    return;
  }
  if (backend_tls_ != nullptr) {
    while (!bytes.empty() && end_ == EndReason::kNone) {
      const size_t fed = backend_tls_->Feed(bytes);
      bytes = bytes.subspan(fed);
      if (!PumpBackendTls(now_ms)) {
        return;
      }
      if (fed == 0 && !bytes.empty()) {
        Fail(EndReason::kBackendProtocol, "08006", "jitgate: TLS from the database failed");
        return;
      }
    }
    return;
  }
  if (forwarding()) {
    ForwardDown(bytes, now_ms);
    return;
  }
  if (backend_in_.size() + bytes.size() > internal::kBackendStartupBytesMax) {
    Fail(EndReason::kBackendProtocol, "08006", "jitgate: the database's start-up is too large");
    return;
  }
  backend_in_.insert(backend_in_.end(), bytes.begin(), bytes.end());
  ProcessBackendPlaintext(now_ms);
}

bool PgSession::PumpBackendTls(int64_t now_ms) {
  const config::Resource& resource = env_.config->resources[resource_index_];
  if (phase_ == Phase::kBackendTls) {
    const tls::Progress progress = backend_tls_->Handshake();
    FlushBackendTls();
    if (progress == tls::Progress::kFailed) {
      JG_LOG(kWarn, "event=backend_tls_failed shard=%u session=%lu resource=%s error=\"%s\"",
             shard_index_, session_id_, resource.name.c_str(),
             Clip(backend_tls_->error(), 200).c_str());
      Fail(EndReason::kBackendUnavailable, "08006",
           "jitgate: the database is unavailable: TLS to resource \"" + resource.name +
               "\" failed: " + Clip(backend_tls_->error(), 160));
      return false;
    }
    if (progress != tls::Progress::kDone) {
      return true;
    }
    SendBackendStartup();
  }
  scratch_.resize(internal::kTlsReadChunk);
  for (;;) {
    const tls::ReadResult result = backend_tls_->Read(scratch_);
    FlushBackendTls();
    if (result.bytes > 0) {
      const auto plaintext = std::span<const std::byte>(scratch_).first(result.bytes);
      if (forwarding()) {
        ForwardDown(plaintext, now_ms);
      } else {
        if (backend_in_.size() + plaintext.size() > internal::kBackendStartupBytesMax) {
          Fail(EndReason::kBackendProtocol, "08006",
               "jitgate: the database's start-up is too large");
          return false;
        }
        backend_in_.insert(backend_in_.end(), plaintext.begin(), plaintext.end());
        ProcessBackendPlaintext(now_ms);
      }
      if (end_ != EndReason::kNone) {
        return false;
      }
      continue;
    }
    if (result.status == tls::IoStatus::kClosed || result.status == tls::IoStatus::kFailed) {
      EndQuietly(EndReason::kBackendProtocol);
      return false;
    }
    return true;
  }
}

void PgSession::ProcessBackendPlaintext(int64_t now_ms) {
  size_t at = 0;
  while (end_ == EndReason::kNone && !forwarding()) {
    const auto in = std::span<const std::byte>(backend_in_).subspan(at);
    // The catalog answer (view definitions) may hold larger rows than a start-up does.
    const pg::Frame frame = pg::DecodeFrame(
        in, pg::Direction::kBackend,
        mask_ != nullptr ? internal::kCatalogFrameMax : internal::kBackendStartupBytesMax);
    if (frame.status == pg::DecodeStatus::kNeedMore) {
      break;
    }
    if (frame.status == pg::DecodeStatus::kInvalid) {
      JG_LOG(kWarn, "event=backend_protocol_error shard=%u session=%lu reason=%s", shard_index_,
             session_id_, pg::InvalidReasonName(frame.reason));
      Fail(EndReason::kBackendProtocol, "08006", "jitgate: the database broke the protocol");
      return;
    }
    at += frame.frame_size;
    HandleBackendStartupFrame(frame.type, frame.payload, now_ms);
  }
  if (end_ != EndReason::kNone) {
    return;
  }
  if (forwarding() && at < backend_in_.size()) {
    std::vector<std::byte> rest(backend_in_.begin() + static_cast<ptrdiff_t>(at),
                                backend_in_.end());
    backend_in_.clear();
    ForwardDown(rest, now_ms);
    return;
  }
  backend_in_.erase(backend_in_.begin(), backend_in_.begin() + static_cast<ptrdiff_t>(at));
}

void PgSession::HandleBackendStartupFrame(char type, std::span<const std::byte> payload,
                                          int64_t now_ms) {
  const config::Resource& resource = env_.config->resources[resource_index_];
  if (OnCatalogFrame(type, payload, now_ms)) {
    return;  // the answer to the masker's catalog query
  }
  switch (type) {
    case pg::kMsgAuthentication: {
      const BackendAuth::Step step = backend_auth_->OnAuthentication(payload);
      switch (step.kind) {
        case BackendAuth::Step::Kind::kSend:
          SendToBackend(AsBytes(step.message));
          return;
        case BackendAuth::Step::Kind::kOk:
        case BackendAuth::Step::Kind::kWait:
          return;
        case BackendAuth::Step::Kind::kFailed:
          JG_LOG(kWarn, "event=backend_auth_failed shard=%u session=%lu resource=%s error=\"%s\"",
                 shard_index_, session_id_, resource.name.c_str(),
                 Clip(step.error, 200).c_str());
          Fail(EndReason::kBackendUnavailable, "08006",
               "jitgate: the gateway could not sign in to resource \"" + resource.name + "\"",
               "The gateway's credential for this resource was refused; see the gateway log.");
          return;
      }
      return;
    }
    case pg::kMsgParameterStatus:
    case pg::kMsgNoticeResponse:
      if (type == pg::kMsgParameterStatus) {
        NoteParameterStatus(payload);
      }
      if (startup_reply_.size() + payload.size() + 5 > internal::kBackendStartupBytesMax) {
        Fail(EndReason::kBackendProtocol, "08006", "jitgate: the database's start-up is too large");
        return;
      }
      AppendFrame(type, payload, &startup_reply_);
      return;
    case pg::kMsgBackendKeyData: {
      pg::BackendKeyData key;
      if (pg::DecodeBackendKeyData(payload, pg::kProtocolVersion30, key) !=
          pg::InvalidReason::kNone) {
        Fail(EndReason::kBackendProtocol, "08006", "jitgate: the database sent a bad cancel key");
        return;
      }
      backend_pid_ = key.process_id;
      std::copy(key.secret_key.begin(), key.secret_key.end(), backend_key_.begin());
      backend_key_seen_ = true;
      return;
    }
    case pg::kMsgNegotiateProtocolVersion:
      return;  // we asked for 3.0 and no _pq_ options; nothing to negotiate
    case pg::kMsgBackendErrorResponse: {
      pg::ErrorResponse error;
      std::string_view code = "08006";
      std::string_view text = "the database refused the connection";
      if (pg::DecodeErrorResponse(payload, error) == pg::InvalidReason::kNone) {
        const std::string_view sent_code = error.Find(pg::kFieldCode);
        code = sent_code.size() == 5 ? sent_code : code;
        text = error.Find(pg::kFieldMessage, text);
      }
      JG_LOG(kWarn, "event=backend_startup_error shard=%u session=%lu resource=%s sqlstate=%.*s "
                    "message=\"%s\"",
             shard_index_, session_id_, resource.name.c_str(), static_cast<int>(code.size()),
             code.data(), Clip(text, 200).c_str());
      const std::string message =
          "jitgate: resource \"" + resource.name + "\": " + Clip(text, 300);
      const std::string sqlstate(code);
      Fail(EndReason::kBackendUnavailable, sqlstate, message);
      return;
    }
    case pg::kMsgReadyForQuery: {
      pg::ReadyForQuery ready;
      if (pg::DecodeReadyForQuery(payload, ready) != pg::InvalidReason::kNone) {
        Fail(EndReason::kBackendProtocol, "08006", "jitgate: the database broke the protocol");
        return;
      }
      if (MaskCatalogWanted()) {
        // The masker reads the catalog before the client's first statement can run.
        SendCatalogQuery();
        return;
      }
      FinishStartup(ready.status, now_ms);
      return;
    }
    default:
      JG_LOG(kWarn, "event=backend_protocol_error shard=%u session=%lu unexpected_type=%c",
             shard_index_, session_id_, type);
      Fail(EndReason::kBackendProtocol, "08006", "jitgate: the database broke the protocol");
      return;
  }
}

void PgSession::FinishStartup(char status, int64_t now_ms) {
  if (!backend_key_seen_) {
    backend_pid_ = 0;
  } else {
    CancelTarget target;
    target.resource_index = resource_index_;
    target.backend_pid = backend_pid_;
    target.backend_key = backend_key_;
    const std::optional<std::array<std::byte, 4>> key = env_.cancels->Register(target);
    if (key.has_value()) {
      client_key_ = *key;
      key_registered_ = true;
    } else {
      client_key_ = {};
      JG_LOG(kWarn, "event=cancel_key_unavailable shard=%u session=%lu", shard_index_,
             session_id_);
    }
  }
  std::vector<std::byte> reply;
  reply.reserve(startup_reply_.size() + 64);
  std::array<std::byte, 64> buffer;
  size_t size = pg::EncodeAuthenticationOk(buffer);
  reply.insert(reply.end(), buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(size));
  reply.insert(reply.end(), startup_reply_.begin(), startup_reply_.end());
  size = pg::EncodeBackendKeyData(backend_pid_, client_key_, buffer);
  reply.insert(reply.end(), buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(size));
  size = pg::EncodeReadyForQuery(status, buffer);
  reply.insert(reply.end(), buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(size));
  SendToClient(reply);
  startup_reply_.clear();
  tx_status_ = status;
  phase_ = Phase::kForwarding;
  backend_auth_.reset();
  JG_LOG(kInfo,
         "event=session_ready shard=%u session=%lu client=%s subject=%s resource=%s grant=%s "
         "tls=%s guardrails=%s setup_ms=%ld",
         shard_index_, session_id_, client_text_.c_str(), Clip(identity_->subject, 64).c_str(),
         env_.config->resources[resource_index_].name.c_str(), grant_->id.c_str(),
         std::string(tls_version()).c_str(), inspect_ ? "on" : "off", now_ms - started_ms_);
  AuditOpen();
  if (!client_in_.empty()) {
    // The client pipelined its first messages behind the password: they go now.
    std::vector<std::byte> early;
    early.swap(client_in_);
    ForwardUp(early, now_ms);
  }
}

// ---------------------------------------------------------------------------------------------
// Forwarding.

size_t PgSession::WalkUp(std::span<const std::byte> bytes, bool zero_copy) {
  edit_out_.clear();
  const EditResult result = up_editor_.Edit(
      bytes, zero_copy, false, &edit_out_,
      [this](const EditFrame& frame, std::vector<std::byte>* out) {
        return OnUpFrame(frame, out);
      });
  if (result.invalid || up_invalid_) {
    JG_LOG(kWarn, "event=protocol_error shard=%u session=%lu side=client reason=%s", shard_index_,
           session_id_,
           result.invalid ? pg::InvalidReasonName(up_editor_.reason()) : "bad_statement_message");
    edit_out_.clear();
    if (down_editor_.at_boundary()) {
      Fail(EndReason::kProtocolError, "08P01", "jitgate: invalid message from the client");
    } else {
      EndQuietly(EndReason::kProtocolError);
    }
    return 0;
  }
  return result.forward;
}

size_t PgSession::WalkDown(std::span<const std::byte> bytes, bool zero_copy) {
  edit_out_.clear();
  if (audit_ != nullptr) {
    audit_->bytes_down += bytes.size();
  }
  const bool cutting = phase_ == Phase::kCutting;
  const EditResult result = down_editor_.Edit(
      bytes, zero_copy, cutting, &edit_out_,
      [this](const EditFrame& frame, std::vector<std::byte>* out) {
        return OnDownFrame(frame, out);
      });
  if (result.invalid) {
    JG_LOG(kWarn, "event=protocol_error shard=%u session=%lu side=backend reason=%s",
           shard_index_, session_id_, pg::InvalidReasonName(down_editor_.reason()));
    EndQuietly(EndReason::kBackendProtocol);
    return result.forward;
  }
  if (mask_ != nullptr && mask_->fatal) {
    JG_LOG(kWarn, "event=mask_failed shard=%u session=%lu error=\"%s\"", shard_index_,
           session_id_, Clip(mask_->fatal_message, 200).c_str());
    // What the walk produced before the frame that cannot be masked goes on (whole messages:
    // that frame's header was never forwarded), then the error (the caller calls MaskFail).
    edit_out_.resize(std::min(edit_out_.size(), mask_->fatal_out_size));
    mask_fail_pending_ = true;
    return result.forward;
  }
  // Everything up to the end of the message in flight goes out, then the goodbye (the caller
  // queues the prefix and edit_out_ first, then calls CompleteCut).
  cut_ready_ = cutting && down_editor_.at_boundary();
  return result.forward;
}

void PgSession::ForwardUp(std::span<const std::byte> plaintext, int64_t now_ms) {
  (void)now_ms;
  if (phase_ == Phase::kCutting) {
    return;  // the session is ending: nothing more reaches the database
  }
  const bool held = audit_waiting();
  const size_t forward = WalkUp(plaintext, !held);
  if (end_ != EndReason::kNone) {
    return;
  }
  if (audit_ != nullptr && AuditHoldWalk(held)) {
    return;
  }
  SendToBackend(plaintext.first(forward));
  if (!edit_out_.empty()) {
    SendToBackend(edit_out_);
  }
}

void PgSession::ForwardDown(std::span<const std::byte> plaintext, int64_t now_ms) {
  (void)now_ms;
  const size_t forward = WalkDown(plaintext, true);
  if (end_ != EndReason::kNone) {
    return;
  }
  SendToClient(plaintext.first(forward));
  if (!edit_out_.empty()) {
    SendToClient(edit_out_);
  }
  if (mask_fail_pending_) {
    MaskFail();
    return;
  }
  if (cut_ready_) {
    CompleteCut();
  }
}

size_t PgSession::InspectUp(std::span<const std::byte> bytes, int64_t now_ms) {
  (void)now_ms;
  if (phase_ == Phase::kCutting || end_ != EndReason::kNone) {
    return 0;
  }
  // Bytes the session queued itself go first: while any wait, this chunk is copied behind them.
  // Bytes held for the audit log go first too: while any are held, this chunk is held behind.
  const bool held = audit_waiting();
  const size_t forward = WalkUp(bytes, to_backend_.empty() && !held);
  if (end_ != EndReason::kNone) {
    return forward;
  }
  if (audit_ != nullptr && AuditHoldWalk(held)) {
    return 0;
  }
  if (!edit_out_.empty()) {
    to_backend_.Append(edit_out_);
  }
  return forward;
}

size_t PgSession::InspectDown(std::span<const std::byte> bytes, int64_t now_ms) {
  (void)now_ms;
  if (end_ != EndReason::kNone) {
    return 0;
  }
  size_t forward = WalkDown(bytes, to_client_.empty());
  if (end_ == EndReason::kNone && !edit_out_.empty()) {
    if (mask_ != nullptr && forward > 0 && forward <= internal::kCoalesceMax) {
      // A short unchanged prefix (a RowDescription before a masked row) is copied in front of
      // the rest, so the client gets one send instead of two (each costs a TCP segment); masked
      // answers are the frequent case (refusals are rare and keep their zero-copy prefix).
      to_client_.Append(bytes.first(forward));
      forward = 0;
    }
    to_client_.Append(edit_out_);
  }
  if (mask_fail_pending_ && end_ == EndReason::kNone) {
    MaskFail();  // the relay sends the error after the forwarded prefix
    return forward;
  }
  if (cut_ready_ && end_ == EndReason::kNone) {
    CompleteCut();  // the relay sends the goodbye after the forwarded prefix
  }
  return forward;
}

void PgSession::MaskFail() {
  mask_fail_pending_ = false;
  Fail(EndReason::kMaskFailed, "54000", mask_->fatal_message,
       "Raise masking.row_size_max, or select fewer or shorter columns.");
}

void PgSession::CompleteCut() {
  ++stats_->grants_expired_cut;
  const config::Resource& resource = env_.config->resources[resource_index_];
  JG_LOG(kNotice, "event=grant_expired_cut shard=%u session=%lu subject=%s resource=%s grant=%s",
         shard_index_, session_id_, Clip(identity_->subject, 64).c_str(), resource.name.c_str(),
         grant_->id.c_str());
  if (token_ends_first_) {
    Fail(EndReason::kGrantExpired, "57P01",
         "jitgate: the access token of this session has expired (grant " + grant_->id +
             " for resource \"" + resource.name + "\"); the session is closed",
         "Connect again with a fresh token.");
    return;
  }
  Fail(EndReason::kGrantExpired, "57P01",
       "jitgate: grant " + grant_->id + " for resource \"" + resource.name +
           "\" has expired; the session is closed",
       "Policy \"" + policy_name_ +
           "\" bounds grants in time. Connect again for a new grant (and a fresh token).");
}

}  // namespace jitgate::session
