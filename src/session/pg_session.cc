// Implementation of src/session/pg_session.h, part 1: the client's start-up, TLS, token
// authentication, policy and grant, and the session's common output helpers.
// Part 2 (pg_session_backend.cc): the backend connection and the forwarding phase.
#include "src/session/pg_session.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "jitgate/check.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/pg/startup.h"
#include "src/auth/token_cache.h"
#include "src/auth/validator.h"
#include "src/common/log.h"
#include "src/grants/store.h"
#include "src/policy/table.h"
#include "src/session/guard.h"
#include "src/session/pg_backend_auth.h"
#include "src/session/pg_session_internal.h"
#include "src/session/pg_session_mask.h"
#include "src/audit/writer.h"
#include "src/session/pg_session_audit.h"
#include "src/tls/stream.h"

namespace jitgate::session {

namespace pg = parsers::pg;
using internal::AsBytes;
using internal::Clip;
using internal::EqualsIgnoreCase;
using internal::IsDroppedParam;

namespace {

// The answer to SSLRequest / GSSENCRequest (55.2.10).
constexpr std::byte kAnswerTls{'S'};
constexpr std::byte kAnswerNoEncryption{'N'};
// A TLS ClientHello opens with a handshake record (content type 22): PostgreSQL 17 direct TLS.
constexpr std::byte kTlsHandshakeRecord{0x16};
// How long a session waits for the key set to refresh after a token named an unknown kid.
constexpr int64_t kKeysWaitMs = 5000;
// Client bytes held while the backend is being set up (a client that pipelines its first query
// behind the password). Beyond this the client is breaking the protocol's turn-taking.
constexpr size_t kEarlyClientBytesMax = 64 * 1024;

}  // namespace


const char* EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kNone:
      return "none";
    case EndReason::kProtocolError:
      return "protocol_error";
    case EndReason::kTlsRequired:
      return "tls_required";
    case EndReason::kTlsFailed:
      return "tls_failed";
    case EndReason::kAuthRefused:
      return "auth_refused";
    case EndReason::kAccessDenied:
      return "access_denied";
    case EndReason::kAuthTimeout:
      return "auth_timeout";
    case EndReason::kBackendUnavailable:
      return "backend_unavailable";
    case EndReason::kBackendProtocol:
      return "backend_protocol_error";
    case EndReason::kGrantExpired:
      return "grant_expired";
    case EndReason::kCancelForwarded:
      return "cancel_request";
    case EndReason::kClientTerminated:
      return "client_terminated";
    case EndReason::kMaskFailed:
      return "mask_failed";
  }
  return "unknown";
}

PgSession::PgSession(const GatewayEnv& env, auth::TokenCache* token_cache, SessionStats* stats,
                     uint32_t shard_index, ScramKeyCache* scram_cache, GuardScratch* guard,
                     audit::ShardSink* audit)
    : env_(env),
      token_cache_(token_cache),
      scram_cache_(scram_cache),
      stats_(stats),
      shard_index_(shard_index),
      up_editor_(pg::Direction::kFrontend, internal::kFrameSizeMax, internal::kStatementHoldMax),
      down_editor_(pg::Direction::kBackend, internal::kFrameSizeMax, internal::kReplyHoldMax),
      guard_(guard),
      audit_sink_(audit) {
  if (guard_ == nullptr) {
    own_guard_ = std::make_unique<GuardScratch>(MarkerNonce() ^ 0x9e3779b97f4a7c15ull, 256);
    guard_ = own_guard_.get();
  }
  // Statements are judged before they go on; a Sync marks where a batch's ReadyForQuery comes.
  up_editor_.SetInterest(pg::kMsgQuery);
  up_editor_.SetInterest(pg::kMsgParse);
  up_editor_.SetInterest(pg::kMsgFunctionCall);
  up_editor_.SetInterest(pg::kMsgSync);
  // Transaction status, standard_conforming_strings, and the marker errors of refusals.
  down_editor_.SetInterest(pg::kMsgReadyForQuery);
  down_editor_.SetInterest(pg::kMsgParameterStatus);
  down_editor_.SetInterest(pg::kMsgBackendErrorResponse);
}

PgSession::~PgSession() { Abandon(); }

void PgSession::Start(uint32_t listener_index, uint64_t session_id, std::string_view client_text,
                      int64_t now_ms) {
  Abandon();
  phase_ = Phase::kClientStartup;
  end_ = EndReason::kNone;
  listener_index_ = listener_index;
  session_id_ = session_id;
  client_text_.assign(client_text);
  started_ms_ = now_ms;
  connect_wanted_ = false;
  cancel_ = false;
  client_tls_.reset();
  backend_tls_.reset();
  backend_auth_.reset();
  client_in_.clear();
  backend_in_.clear();
  to_client_.Clear();
  to_backend_.Clear();
  client_params_.clear();
  startup_reply_.clear();
  resource_known_ = false;
  identity_.reset();
  grant_.reset();
  policy_name_.clear();
  grant_expires_ms_ = 0;
  token_ends_first_ = false;
  backend_pid_ = 0;
  backend_key_seen_ = false;
  client_key_ = {};
  backend_key_ = {};
  up_editor_.Reset();
  down_editor_.Reset();
  edit_out_.clear();
  refusals_.clear();
  refusal_seq_ = 0;
  up_invalid_ = false;
  standard_strings_ = true;
  sync_points_sent_ = 0;
  ready_seen_ = 0;
  snapshot_.reset();
  snapshot_generation_ = 0;
  rules_policy_ = 0;
  inspect_ = true;
  schema_candidates_.clear();
  search_path_unknown_ = false;
  StopMasking();
  mask_fingerprint_ = 0;
  masks_changed_ = false;
  mask_fail_pending_ = false;
  copy_rules_.clear();
  tx_status_ = pg::kTxIdle;
  cut_ready_ = false;
  keys_retried_ = false;
  StartAudit();
}

void PgSession::Abandon() {
  if (key_registered_) {
    env_.cancels->Unregister(backend_pid_, client_key_);
    key_registered_ = false;
  }
  if (!token_.empty()) {
    OPENSSL_cleanse(token_.data(), token_.size());
    token_.clear();
  }
  if (phase_ != Phase::kIdle && phase_ != Phase::kEnded) {
    phase_ = Phase::kEnded;
  }
}

bool PgSession::owned(uint8_t side) const {
  if (!forwarding() || end_ != EndReason::kNone) {
    return true;
  }
  // Zero-copy needs plaintext on both legs of the direction; any TLS makes it owned.
  (void)side;
  return client_tls_ != nullptr || backend_tls_ != nullptr;
}

bool PgSession::TakeConnectRequest() { return std::exchange(connect_wanted_, false); }

const config::Endpoint& PgSession::backend_address() const {
  return env_.config->resources[resource_index_].address;
}

std::string_view PgSession::grant_id() const {
  return grant_ != nullptr ? std::string_view(grant_->id) : std::string_view();
}

std::string_view PgSession::resource_name() const {
  return resource_known_ ? std::string_view(env_.config->resources[resource_index_].name)
                         : std::string_view();
}

std::string_view PgSession::tls_version() const {
  return client_tls_ != nullptr ? client_tls_->version() : std::string_view("none");
}

// ---------------------------------------------------------------------------------------------
// Output.

void PgSession::SendToClient(std::span<const std::byte> plaintext) {
  if (client_tls_ == nullptr) {
    to_client_.Append(plaintext);
    return;
  }
  while (!plaintext.empty()) {
    const tls::WriteResult result = client_tls_->Write(plaintext);
    plaintext = plaintext.subspan(result.bytes);
    FlushClientTls();
    if (result.status == tls::IoStatus::kFailed) {
      return;  // the record layer is broken; the session ends on the next read
    }
  }
}

void PgSession::FlushClientTls() {
  while (client_tls_->PendingOutput() > 0) {
    const size_t pending = client_tls_->PendingOutput();
    std::span<std::byte> room = to_client_.Reserve(pending);
    to_client_.Commit(client_tls_->TakeOutput(room));
  }
}

void PgSession::Fail(EndReason reason, std::string_view sqlstate, std::string_view message,
                     std::string_view detail) {
  if (end_ != EndReason::kNone) {
    return;
  }
  // A FATAL ErrorResponse, then the connection closes (55.2.1: errors during start-up are FATAL).
  std::array<std::byte, internal::kErrorMessageSizeMax> buffer;
  pg::ErrorFields fields;
  fields.severity = "FATAL";
  fields.sqlstate = sqlstate;
  fields.message = message;
  fields.detail = detail;
  const size_t size = pg::EncodeErrorResponse(fields, buffer);
  JG_CHECK(size > 0);
  // Inside an unfinished TLS handshake there is no channel to speak on: close only.
  if (client_tls_ == nullptr || client_tls_->handshake_done()) {
    SendToClient(std::span(buffer).first(size));
  }
  if (client_tls_ != nullptr && client_tls_->handshake_done()) {
    (void)client_tls_->Shutdown();  // close_notify, so the client sees a clean end
    FlushClientTls();
  }
  if (reason == EndReason::kAuthRefused) {
    ++stats_->auth_refusals;
  }
  AuditRefusal(reason, sqlstate, message);
  JG_LOG(kInfo,
         "event=session_refused shard=%u session=%lu client=%s reason=%s sqlstate=%.*s "
         "message=\"%s\"",
         shard_index_, session_id_, client_text_.c_str(), EndReasonName(reason),
         static_cast<int>(sqlstate.size()), sqlstate.data(), Clip(message, 200).c_str());
  EndQuietly(reason);
}

void PgSession::EndQuietly(EndReason reason) {
  if (end_ != EndReason::kNone) {
    return;
  }
  end_ = reason;
  Abandon();
}

// ---------------------------------------------------------------------------------------------
// Client bytes.

void PgSession::OnClientBytes(std::span<const std::byte> bytes, int64_t now_ms) {
  if (end_ != EndReason::kNone) {
    return;
  }
  if (client_tls_ != nullptr) {
    while (!bytes.empty() && end_ == EndReason::kNone) {
      const size_t fed = client_tls_->Feed(bytes);
      bytes = bytes.subspan(fed);
      if (!PumpClientTls(now_ms)) {
        return;
      }
      if (fed == 0 && !bytes.empty()) {
        Fail(EndReason::kTlsFailed, "08P01", "jitgate: TLS input could not be processed");
        return;
      }
    }
    return;
  }
  if (forwarding()) {
    ForwardUp(bytes, now_ms);
    return;
  }
  if (client_in_.size() + bytes.size() > internal::kClientStartupBytesMax) {
    Fail(EndReason::kProtocolError, "08P01", "jitgate: start-up data too large");
    return;
  }
  client_in_.insert(client_in_.end(), bytes.begin(), bytes.end());
  ProcessClientPlaintext(now_ms);
}

bool PgSession::PumpClientTls(int64_t now_ms) {
  if (phase_ == Phase::kClientTls) {
    const tls::Progress progress = client_tls_->Handshake();
    FlushClientTls();
    if (progress == tls::Progress::kFailed) {
      JG_LOG(kInfo, "event=tls_failed shard=%u session=%lu client=%s error=\"%s\"", shard_index_,
             session_id_, client_text_.c_str(), Clip(client_tls_->error(), 200).c_str());
      Fail(EndReason::kTlsFailed, "08P01", "jitgate: TLS handshake failed");
      return false;
    }
    if (progress != tls::Progress::kDone) {
      return true;
    }
    phase_ = Phase::kClientStartup;
  }
  // Plaintext out of the record layer.
  scratch_.resize(internal::kTlsReadChunk);
  for (;;) {
    const tls::ReadResult result = client_tls_->Read(scratch_);
    FlushClientTls();  // a read can produce output (alerts, key updates)
    if (result.bytes > 0) {
      const auto plaintext = std::span<const std::byte>(scratch_).first(result.bytes);
      if (forwarding()) {
        ForwardUp(plaintext, now_ms);
      } else {
        if (client_in_.size() + plaintext.size() > internal::kClientStartupBytesMax) {
          Fail(EndReason::kProtocolError, "08P01", "jitgate: start-up data too large");
          return false;
        }
        client_in_.insert(client_in_.end(), plaintext.begin(), plaintext.end());
        ProcessClientPlaintext(now_ms);
      }
      if (end_ != EndReason::kNone) {
        return false;
      }
      continue;
    }
    if (result.status == tls::IoStatus::kClosed) {
      EndQuietly(EndReason::kClientTerminated);
      return false;
    }
    if (result.status == tls::IoStatus::kFailed) {
      JG_LOG(kInfo, "event=tls_failed shard=%u session=%lu client=%s error=\"%s\"", shard_index_,
             session_id_, client_text_.c_str(), Clip(client_tls_->error(), 200).c_str());
      EndQuietly(EndReason::kTlsFailed);
      return false;
    }
    return true;  // kWantIo: all plaintext read
  }
}

void PgSession::ProcessClientPlaintext(int64_t now_ms) {
  while (end_ == EndReason::kNone) {
    const std::span<const std::byte> in(client_in_);
    if (phase_ == Phase::kClientStartup) {
      if (in.empty()) {
        return;
      }
      if (in[0] == kTlsHandshakeRecord && client_tls_ == nullptr) {
        // PostgreSQL 17 direct TLS: the ClientHello comes first, no SSLRequest.
        if (env_.listener_tls[listener_index_] == nullptr) {
          EndQuietly(EndReason::kProtocolError);
          return;
        }
        std::vector<std::byte> early(client_in_);
        client_in_.clear();
        StartClientTls(early, now_ms);
        return;
      }
      const pg::StartupHeader header = pg::DecodeStartupHeader(in);
      if (header.kind == pg::StartupKind::kNeedMore) {
        return;
      }
      if (header.kind == pg::StartupKind::kInvalid ||
          header.length > env_.config->limits.startup_packet_size_max) {
        Fail(EndReason::kProtocolError, "08P01", "jitgate: invalid start-up packet");
        return;
      }
      if (in.size() < header.length) {
        return;
      }
      const bool keep_going = HandleStartupPacket(in.first(header.length), now_ms);
      if (end_ != EndReason::kNone || !keep_going) {
        return;
      }
      continue;
    }
    if (phase_ == Phase::kAwaitPassword) {
      const pg::Frame frame = pg::DecodeFrame(in, pg::Direction::kFrontend, pg::kAuthMessageLimit);
      if (frame.status == pg::DecodeStatus::kNeedMore) {
        return;
      }
      if (frame.status == pg::DecodeStatus::kInvalid && !in.empty() &&
          in[0] == std::byte{pg::kMsgPasswordMessage} &&
          (frame.reason == pg::InvalidReason::kLengthAboveMax ||
           frame.reason == pg::InvalidReason::kLengthAboveTypeLimit)) {
        // A password message above the server's own limit (65535): a token that large is not a
        // token; say so as a token refusal rather than a protocol error.
        Fail(EndReason::kAuthRefused, "28P01",
             "jitgate: access token rejected: too large (over " +
                 std::to_string(pg::kAuthMessageLimit) + " bytes)");
        return;
      }
      if (frame.status == pg::DecodeStatus::kInvalid || frame.type != pg::kMsgPasswordMessage) {
        Fail(EndReason::kProtocolError, "08P01",
             "jitgate: expected a password message (the access token)");
        return;
      }
      const size_t frame_size = frame.frame_size;
      HandlePassword(frame.payload, now_ms);
      // The password bytes are wiped wherever they were.
      OPENSSL_cleanse(client_in_.data(), frame_size);
      client_in_.erase(client_in_.begin(), client_in_.begin() + static_cast<ptrdiff_t>(frame_size));
      continue;
    }
    // Later phases: the client should wait for ReadyForQuery; hold what it pipelines.
    if (client_in_.size() > kEarlyClientBytesMax) {
      Fail(EndReason::kProtocolError, "08P01",
           "jitgate: too much data sent before the session was ready");
    }
    return;
  }
}

bool PgSession::HandleStartupPacket(std::span<const std::byte> packet, int64_t now_ms) {
  const pg::StartupHeader header = pg::DecodeStartupHeader(packet);
  const size_t length = header.length;
  switch (header.kind) {
    case pg::StartupKind::kSslRequest: {
      const bool tls_listener = env_.listener_tls[listener_index_] != nullptr;
      if (client_tls_ != nullptr) {
        Fail(EndReason::kProtocolError, "08P01", "jitgate: SSLRequest inside TLS");
        return false;
      }
      if (!tls_listener) {
        client_in_.erase(client_in_.begin(), client_in_.begin() + static_cast<ptrdiff_t>(length));
        to_client_.Append(std::span(&kAnswerNoEncryption, 1));
        return true;
      }
      if (client_in_.size() > length) {
        // Bytes behind an SSLRequest were sent in plaintext before the handshake: a
        // man-in-the-middle could have injected them (CVE-2021-23214 class). Refuse.
        JG_LOG(kWarn, "event=tls_injection shard=%u session=%lu client=%s bytes=%zu",
               shard_index_, session_id_, client_text_.c_str(), client_in_.size() - length);
        EndQuietly(EndReason::kProtocolError);
        return false;
      }
      client_in_.clear();
      to_client_.Append(std::span(&kAnswerTls, 1));
      StartClientTls({}, now_ms);
      return false;
    }
    case pg::StartupKind::kGssEncRequest:
      client_in_.erase(client_in_.begin(), client_in_.begin() + static_cast<ptrdiff_t>(length));
      to_client_.Append(std::span(&kAnswerNoEncryption, 1));
      return true;
    case pg::StartupKind::kCancelRequest:
      HandleCancelRequest(packet);
      return false;
    case pg::StartupKind::kStartupMessage:
      // `packet` views client_in_, which HandleStartupMessage does not touch: consume it after.
      HandleStartupMessage(packet, now_ms);
      client_in_.erase(client_in_.begin(), client_in_.begin() + static_cast<ptrdiff_t>(length));
      return end_ == EndReason::kNone;
    case pg::StartupKind::kNeedMore:
    case pg::StartupKind::kInvalid:
      break;
  }
  Fail(EndReason::kProtocolError, "08P01", "jitgate: invalid start-up packet");
  return false;
}

void PgSession::StartClientTls(std::span<const std::byte> early_bytes, int64_t now_ms) {
  client_tls_ = std::make_unique<tls::Stream>();
  const absl::Status status =
      client_tls_->Init(*env_.listener_tls[listener_index_], tls::Role::kServer, "");
  if (!status.ok()) {
    JG_LOG(kError, "event=tls_init_failed shard=%u session=%lu error=\"%s\"", shard_index_,
           session_id_, Clip(std::string_view(status.message().data(), status.message().size()), 200).c_str());
    client_tls_.reset();
    EndQuietly(EndReason::kTlsFailed);
    return;
  }
  phase_ = Phase::kClientTls;
  if (!early_bytes.empty()) {
    OnClientBytes(early_bytes, now_ms);
  }
}

void PgSession::HandleCancelRequest(std::span<const std::byte> packet) {
  pg::CancelRequest request;
  cancel_ = true;
  if (pg::DecodeCancelRequest(packet, request) != pg::InvalidReason::kNone ||
      request.secret_key.size() != pg::kCancelKeySize30) {
    EndQuietly(EndReason::kCancelForwarded);
    return;
  }
  std::array<std::byte, 4> key;
  std::copy(request.secret_key.begin(), request.secret_key.end(), key.begin());
  const std::optional<CancelTarget> target = env_.cancels->Find(request.process_id, key);
  if (!target.has_value()) {
    JG_LOG(kInfo, "event=cancel_unknown shard=%u session=%lu client=%s pid=%u", shard_index_,
           session_id_, client_text_.c_str(), request.process_id);
    EndQuietly(EndReason::kCancelForwarded);
    return;
  }
  // A fresh connection to the backend carries the real key; the server answers nothing.
  std::array<std::byte, 16> out;
  internal::StoreUint32(out.data(), 16);
  internal::StoreUint32(out.data() + 4, pg::kCancelRequestCode);
  internal::StoreUint32(out.data() + 8, target->backend_pid);
  std::copy(target->backend_key.begin(), target->backend_key.end(), out.begin() + 12);
  to_backend_.Append(out);
  resource_index_ = target->resource_index;
  resource_known_ = true;
  connect_wanted_ = true;
  phase_ = Phase::kBackendConnect;
  ++stats_->cancels_forwarded;
  JG_LOG(kInfo, "event=cancel_forwarded shard=%u session=%lu client=%s resource=%s pid=%u",
         shard_index_, session_id_, client_text_.c_str(),
         env_.config->resources[resource_index_].name.c_str(), target->backend_pid);
}

void PgSession::HandleStartupMessage(std::span<const std::byte> packet, int64_t now_ms) {
  pg::StartupMessage message;
  if (pg::DecodeStartupMessage(packet, message) != pg::InvalidReason::kNone) {
    Fail(EndReason::kProtocolError, "08P01", "jitgate: invalid StartupMessage");
    return;
  }
  if (env_.listener_tls[listener_index_] != nullptr && client_tls_ == nullptr) {
    Fail(EndReason::kTlsRequired, "28000",
         "jitgate: this listener requires TLS; connect with sslmode=require (or stronger)");
    return;
  }
  if (!message.Find("replication").empty()) {
    Fail(EndReason::kAccessDenied, "28000",
         "jitgate: replication connections are not supported through the gateway");
    return;
  }
  // 3.x with a minor version above 0, or _pq_ options: answer NegotiateProtocolVersion and go on
  // in 3.0 (55.2.1), as a 3.0 server would.
  std::vector<std::string_view> unknown_options;
  std::string dropped;
  pg::StartupParam param;
  pg::StartupParamIterator params = message.params();
  while (params.Next(param)) {
    if (param.name.starts_with("_pq_.")) {
      unknown_options.push_back(param.name);
      continue;
    }
    if (EqualsIgnoreCase(param.name, "options")) {
      std::string kept = internal::FilterOptions(param.value, &dropped);
      if (!kept.empty()) {
        client_params_.emplace_back("options", std::move(kept));
      }
      continue;
    }
    if (IsDroppedParam(param.name)) {
      if (!EqualsIgnoreCase(param.name, "user") && !EqualsIgnoreCase(param.name, "database")) {
        if (!dropped.empty()) {
          dropped.push_back(' ');
        }
        dropped.append(param.name);
      }
      continue;
    }
    if (client_params_.size() < internal::kClientParamsMax) {
      client_params_.emplace_back(std::string(param.name), std::string(param.value));
    }
  }
  if ((message.protocol_version & 0xffff) != 0 || !unknown_options.empty()) {
    SendToClient(internal::EncodeNegotiateProtocolVersion(0, unknown_options));
  }
  if (!dropped.empty()) {
    JG_LOG(kInfo, "event=startup_params_dropped shard=%u session=%lu names=\"%s\"", shard_index_,
           session_id_, Clip(dropped, 200).c_str());
  }
  const std::string_view database =
      message.database.empty() ? message.user : message.database;
  const std::optional<uint32_t> resource = env_.policy->FindResource(database);
  if (!resource.has_value()) {
    Fail(EndReason::kAccessDenied, "3D000",
         "jitgate: no resource named \"" + Clip(database, 64) + "\"",
         "The database name in the connection names the jitgate resource.");
    return;
  }
  resource_index_ = *resource;
  resource_known_ = true;
  std::array<std::byte, 16> buffer;
  const size_t size = pg::EncodeAuthenticationCleartextPassword(buffer);
  SendToClient(std::span(buffer).first(size));
  phase_ = Phase::kAwaitPassword;
  (void)now_ms;
}

// ---------------------------------------------------------------------------------------------
// Token and policy.

void PgSession::HandlePassword(std::span<const std::byte> payload, int64_t now_ms) {
  pg::PasswordMessage password;
  if (pg::DecodePasswordMessage(payload, password) != pg::InvalidReason::kNone) {
    Fail(EndReason::kProtocolError, "08P01", "jitgate: invalid password message");
    return;
  }
  token_.assign(password.password);
  Authenticate(now_ms);
}

void PgSession::Authenticate(int64_t now_ms) {
  const int64_t now_s = internal::WallSeconds();
  std::shared_ptr<const Identity> identity;
  std::shared_ptr<const Identity> cached =
      token_cache_ != nullptr ? token_cache_->Find(token_, now_s) : nullptr;
  if (cached != nullptr) {
    ++stats_->token_cache_hits;
    identity = std::move(cached);
  } else {
    const uint64_t generation = env_.keys->generation();
    auth::Verdict verdict = env_.validator->Validate(token_, now_s);
    ++stats_->tokens_validated;
    if (verdict.error == auth::TokenError::kUnknownKey && !keys_retried_) {
      // Keys may have rotated: ask for a refresh and retry when a new set is in (or give up).
      // A refused request means the set was refreshed within unknown_kid_refresh_min_s: it is
      // as fresh as the rate limit allows, so the kid is unknown now.
      if (!env_.keys->RequestRefresh()) {
        keys_retried_ = true;
        Authenticate(now_ms);
        return;
      }
      keys_generation_ = generation;
      keys_deadline_ms_ = now_ms + kKeysWaitMs;
      phase_ = Phase::kAwaitKeys;
      return;
    }
    if (verdict.error != auth::TokenError::kNone) {
      JG_LOG(kInfo, "event=auth_refused shard=%u session=%lu client=%s error=%s", shard_index_,
             session_id_, client_text_.c_str(),
             std::string(auth::TokenErrorName(verdict.error)).c_str());
      Fail(EndReason::kAuthRefused, "28P01", "jitgate: access token rejected: " + verdict.message);
      return;
    }
    if (token_cache_ != nullptr) {
      token_cache_->Insert(token_, verdict.identity);
    }
    identity = verdict.identity;
  }
  OPENSSL_cleanse(token_.data(), token_.size());
  token_.clear();
  identity_ = std::move(identity);
  Authorize(now_ms);
}

void PgSession::Authorize(int64_t now_ms) {
  const config::Resource& resource = env_.config->resources[resource_index_];
  snapshot_ = env_.policies->Current();
  snapshot_generation_ = snapshot_->generation;
  const policy::AccessDecision decision = snapshot_->table->Decide(*identity_, resource_index_);
  switch (decision.outcome) {
    case policy::AccessDecision::Outcome::kNoPolicy:
      Fail(EndReason::kAccessDenied, "28000",
           "jitgate: no policy gives \"" + Clip(identity_->subject, 64) +
               "\" access to resource \"" + resource.name + "\"");
      return;
    case policy::AccessDecision::Outcome::kApprovalRequired:
      Fail(EndReason::kAccessDenied, "28000",
           "jitgate: access to resource \"" + resource.name + "\" requires approval (policy \"" +
               std::string(decision.policy_name) + "\")",
           "Approval requests are not available yet; ask an operator for an auto policy.");
      return;
    case policy::AccessDecision::Outcome::kAuto:
      break;
  }
  policy_name_.assign(decision.policy_name);
  rules_policy_ = decision.policy_index;  // the same index in snapshot_->rules
  inspect_ = snapshot_->config->policies[rules_policy_].statements.inspect;
  schema_candidates_ = SchemaCandidates(snapshot_->config->policies[rules_policy_].statements);
  StartMasking();
  // A search_path from the start-up packet (a parameter, or -c in options) is not the default.
  search_path_unknown_ = false;
  for (const auto& [name, value] : client_params_) {
    if (internal::EqualsIgnoreCase(name, "search_path") ||
        (internal::EqualsIgnoreCase(name, "options") &&
         internal::ContainsIgnoreCase(value, "search_path"))) {
      search_path_unknown_ = true;
    }
  }
  if (audit_ != nullptr && audit_sink_->failed()) {
    Fail(EndReason::kBackendUnavailable, "58030",
         "jitgate: the audit log cannot be written; new sessions are refused until it can");
    return;
  }
  absl::StatusOr<std::shared_ptr<const grants::Grant>> grant =
      env_.grants->IssueAuto(*identity_, resource.name, policy_name_, decision.max_duration_s,
                             internal::WallMilliseconds());
  if (!grant.ok()) {
    Fail(EndReason::kAccessDenied, "28000",
         "jitgate: no grant could be issued: " + Clip(std::string_view(grant.status().message().data(), grant.status().message().size()), 200));
    return;
  }
  grant_ = *std::move(grant);
  ++stats_->grants_issued;
  AuditGrant();
  // Grants are kept in wall-clock time; the session compares in the shard's monotonic clock.
  // A reused grant may outlive this session's token: the session ends at the earlier of the two.
  const int64_t wall_ms = internal::WallMilliseconds();
  const int64_t token_end_ms = identity_->expires_at_s * 1000;
  token_ends_first_ = token_end_ms < grant_->expires_at_ms;
  grant_expires_ms_ = now_ms + (std::min(grant_->expires_at_ms, token_end_ms) - wall_ms);
  JG_LOG(kInfo,
         "event=grant shard=%u session=%lu client=%s subject=%s resource=%s policy=%s grant=%s "
         "expires_in_ms=%ld",
         shard_index_, session_id_, client_text_.c_str(), Clip(identity_->subject, 64).c_str(),
         resource.name.c_str(), policy_name_.c_str(), grant_->id.c_str(),
         grant_expires_ms_ - now_ms);
  phase_ = Phase::kBackendConnect;
  connect_wanted_ = true;
}

void PgSession::OnTimer(int64_t now_ms) {
  if (end_ != EndReason::kNone) {
    return;
  }
  switch (phase_) {
    case Phase::kAwaitKeys:
      if (env_.keys->generation() != keys_generation_) {
        // A new key set is in: retry once; a kid still unknown is refused now.
        phase_ = Phase::kAwaitPassword;
        keys_retried_ = true;
        Authenticate(now_ms);
        return;
      }
      if (now_ms >= keys_deadline_ms_) {
        phase_ = Phase::kAwaitPassword;
        Fail(EndReason::kAuthRefused, "28P01",
             "jitgate: access token rejected: it names a signing key (kid) that is not in the "
             "key set");
        return;
      }
      break;
    case Phase::kForwarding:
      if (now_ms >= grant_expires_ms_) {
        // The goodbye must start at a message boundary of the stream to the client: now, when
        // nothing is half-sent, else as soon as the message in flight has passed.
        phase_ = Phase::kCutting;
        cut_ready_ = false;
        if (down_editor_.at_boundary()) {
          CompleteCut();
        }
      }
      return;
    case Phase::kCutting:
      if (now_ms >= grant_expires_ms_ + internal::kCutGraceMs) {
        // A message that does not end: cut without telling (it cannot be interrupted).
        ++stats_->grants_expired_cut;
        EndQuietly(EndReason::kGrantExpired);
      }
      return;
    default:
      break;
  }
  if (!forwarding() && phase_ != Phase::kIdle &&
      now_ms - started_ms_ >= int64_t{env_.config->limits.auth_timeout_ms}) {
    Fail(EndReason::kAuthTimeout, "08P01",
         "jitgate: authentication timed out after " +
             std::to_string(env_.config->limits.auth_timeout_ms) + " ms");
  }
}

}  // namespace jitgate::session
