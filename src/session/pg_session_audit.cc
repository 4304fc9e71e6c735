// src/session/pg_session_audit.cc: what a PostgreSQL gateway session tells the audit log.
//
// Records (jitgate/audit.h), all built in the shard's one RecordBuilder and pushed onto the
// shard's SPSC queue (src/audit/writer.h):
//   - kAuthRefused when a client is turned away before it has a session (bad token, no policy,
//     TLS required, authentication timeout), with the SQLSTATE and message it was sent;
//   - kGrantIssued when the session took its grant, kSessionOpen when it is ready (identity,
//     grant, resource, client, TLS), kSessionClose when the relay closes it;
//   - kStatement for every Query, Parse, FunctionCall and Bind, with the decision that was made
//     (allow / block / review, the rule), the text (cut at statement_bytes_max) and the Bind
//     values (cut at params_bytes_max); when the session masks and the statement touches a
//     masked relation (or cannot be analysed), parameter values are withheld and constants in the
//     text are replaced by '?', so the log does not keep what the masks hide from the agent;
//   - kResponse at each ReadyForQuery: rows (from CommandComplete tags), commands, bytes,
//     duration since the sync point was sent, the first error's SQLSTATE, masked cells per
//     column.
// The gate: a statement record that has not "passed" (ShardSink::Passed: in the queue, or on
// disk in durable mode) holds its frame and everything after it in AuditState::gated. The frame
// callback copies the frame into the walk's output and notes where the held part starts; after
// the walk AuditHoldWalk sends what comes before to the backend and keeps the rest. Until the
// gate opens every later byte for the backend is queued behind it, in order. The relay stops
// reading the client while much is held and calls OnAuditProgress when the audit log moves
// (shard wake) and at each tick.
// Oversize frames (streamed, never held) are recorded but cannot be held.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "jitgate/audit.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/sql/pg/lexer.h"
#include "src/audit/writer.h"
#include "src/grants/store.h"
#include "src/session/guard.h"
#include "src/session/pg_session.h"
#include "src/session/pg_session_audit.h"
#include "src/session/pg_session_internal.h"
#include "src/session/pg_session_mask.h"
#include "src/tls/stream.h"

namespace jitgate::session {
namespace {

namespace pg = parsers::pg;
namespace sqlpg = parsers::sql::pg;
using audit::Field;
using audit::RecordType;

// Replaces every literal of `text` by '?' into `out`. False when the text does not lex (then
// nothing of it may be kept).
bool NormalizeConstants(std::string_view text, bool standard_strings, std::string* out) {
  out->clear();
  sqlpg::Lexer lexer(text, sqlpg::LexMode{.standard_conforming_strings = standard_strings});
  sqlpg::Token token;
  size_t copied = 0;
  while (lexer.Next(&token)) {
    if (sqlpg::IsLiteral(token.kind)) {
      out->append(text.substr(copied, token.offset - copied));
      out->push_back('?');
      copied = size_t{token.offset} + token.length;
    }
  }
  if (lexer.status() != sqlpg::LexStatus::kOk) {
    return false;
  }
  out->append(text.substr(copied));
  return true;
}

// Whether a statement may carry values the masks hide: DeriveStatement analyses (known) only a
// text that names a masked column, relation or type; an unknown statement counts as naming one.
bool NamesMaskedData(const mask::Derivation* derivation) {
  return derivation == nullptr || derivation->known;
}

const char* DecisionName(const Judgement& judged) {
  if (judged.allowed) {
    return "allow";
  }
  return judged.decision.verdict == policy::Verdict::kReview ? "review" : "block";
}

}  // namespace

void PgSession::StartAudit() {
  if (audit_sink_ == nullptr || !audit_sink_->enabled()) {
    audit_.reset();
    return;
  }
  if (audit_ == nullptr) {
    audit_ = std::make_unique<AuditState>();
    audit_->masked.reserve(AuditState::kMaskedMax);
    audit_->gated.reserve(16 << 10);
  }
  AuditState& a = *audit_;
  a.opened = a.grant_emitted = a.closed = false;
  a.opened_us = audit::WallTimeUs();
  a.statement_seq = 0;
  a.rows_total = 0;
  a.rows = a.commands = a.bytes_down = 0;
  a.error = false;
  a.masked.clear();
  a.pending_head = a.pending_count = 0;
  a.statements_since_sync = 0;
  a.gated.clear();
  a.gate_seq = 0;
  a.gate_from = SIZE_MAX;
  // Bind values and CommandComplete row counts are recorded.
  up_editor_.SetInterest(pg::kMsgBind);
  down_editor_.SetInterest(pg::kMsgCommandComplete);
}

void PgSession::AuditIdentity() {
  audit::RecordBuilder& b = audit_sink_->builder();
  if (identity_ == nullptr) {
    return;
  }
  b.Text(Field::kSubject, identity_->subject);
  if (!identity_->app_id.empty()) {
    b.Text(Field::kApp, identity_->app_id);
  }
  if (!identity_->tenant.empty()) {
    b.Text(Field::kTenant, identity_->tenant);
  }
  if (!identity_->token_id.empty()) {
    b.Text(Field::kTokenId, identity_->token_id);
  }
  for (const std::string& group : identity_->groups) {
    b.Text(Field::kGroup, group);
  }
  for (const std::string& role : identity_->roles) {
    b.Text(Field::kRole, role);
  }
}

void PgSession::AuditRefusal(EndReason reason, std::string_view sqlstate,
                             std::string_view message) {
  if (audit_ == nullptr || forwarding()) {
    return;
  }
  if (reason != EndReason::kAuthRefused && reason != EndReason::kAccessDenied &&
      reason != EndReason::kTlsRequired && reason != EndReason::kAuthTimeout) {
    return;  // not a refusal of the client (the database failed): kSessionClose says it
  }
  audit::RecordBuilder& b = audit_sink_->builder();
  b.Begin(RecordType::kAuthRefused, audit::kFlagSecurity, audit::WallTimeUs(), session_id_);
  b.Text(Field::kClient, client_text_);
  b.Text(Field::kListener, env_.config->listeners[listener_index_].name);
  b.Text(Field::kReason, EndReasonName(reason));
  b.Text(Field::kSqlstate, sqlstate);
  b.Text(Field::kMessage, message);
  if (resource_known_) {
    b.Text(Field::kResource, resource_name());
  }
  b.Text(Field::kTlsVersion, tls_version());
  AuditIdentity();
  audit_sink_->Emit();
  ++stats_->audit_records;
}

void PgSession::AuditGrant() {
  if (audit_ == nullptr || grant_ == nullptr) {
    return;
  }
  audit::RecordBuilder& b = audit_sink_->builder();
  b.Begin(RecordType::kGrantIssued, audit::kFlagSecurity, audit::WallTimeUs(), session_id_);
  b.Text(Field::kGrant, grant_->id);
  b.Text(Field::kSubject, grant_->subject);
  b.Text(Field::kResource, grant_->resource);
  b.Text(Field::kPolicy, grant_->policy);
  b.Integer(Field::kExpiresMs, static_cast<uint64_t>(grant_->expires_at_ms));
  b.Text(Field::kDetail, grant_->issued_at_ms + 1000 < internal::WallMilliseconds()
                             ? "reused"
                             : "issued");
  audit_sink_->Emit();
  audit_->grant_emitted = true;
  ++stats_->audit_records;
}

void PgSession::AuditOpen() {
  if (audit_ == nullptr) {
    return;
  }
  audit::RecordBuilder& b = audit_sink_->builder();
  b.Begin(RecordType::kSessionOpen, audit::kFlagSecurity, audit::WallTimeUs(), session_id_);
  b.Text(Field::kSessionId,
         absl::StrCat(audit_sink_->epoch(), ".", shard_index_, ".", session_id_));
  AuditIdentity();
  b.Text(Field::kClient, client_text_);
  b.Text(Field::kListener, env_.config->listeners[listener_index_].name);
  b.Text(Field::kResource, resource_name());
  b.Text(Field::kPolicy, policy_name_);
  if (grant_ != nullptr) {
    b.Text(Field::kGrant, grant_->id);
    b.Integer(Field::kExpiresMs, static_cast<uint64_t>(grant_->expires_at_ms));
  }
  b.Text(Field::kTlsVersion, tls_version());
  if (client_tls_ != nullptr) {
    b.Text(Field::kTlsCipher, client_tls_->cipher());
  }
  b.Integer(Field::kBackendPid, backend_pid_);
  audit_sink_->Emit();
  audit_->opened = true;
  ++stats_->audit_records;
}

void PgSession::AuditClose(std::string_view reason, uint64_t bytes_up, uint64_t bytes_down) {
  if (audit_ == nullptr || audit_->closed || (!audit_->opened && !audit_->grant_emitted)) {
    return;
  }
  AuditState& a = *audit_;
  a.closed = true;
  audit::RecordBuilder& b = audit_sink_->builder();
  const int64_t now_us = audit::WallTimeUs();
  b.Begin(RecordType::kSessionClose, audit::kFlagSecurity, now_us, session_id_);
  b.Text(Field::kReason, end_ != EndReason::kNone ? std::string_view(EndReasonName(end_)) : reason);
  if (grant_ != nullptr) {
    b.Text(Field::kGrant, grant_->id);
  }
  b.Integer(Field::kStatements, a.statement_seq);
  b.Integer(Field::kRows, a.rows_total);
  b.Integer(Field::kBytesUp, bytes_up);
  b.Integer(Field::kBytesDown, bytes_down);
  b.Integer(Field::kDurationUs, static_cast<uint64_t>(std::max<int64_t>(0, now_us - a.opened_us)));
  audit_sink_->Emit();
  ++stats_->audit_records;
}

audit::RecordBuilder& PgSession::BeginStatementRecord() {
  AuditState& a = *audit_;
  audit::RecordBuilder& b = audit_sink_->builder();
  const int64_t now_us = audit::WallTimeUs();
  b.Begin(RecordType::kStatement, audit::kFlagSecurity, now_us, session_id_);
  b.Integer(Field::kStatementSeq, ++a.statement_seq);
  if (a.statements_since_sync++ == 0) {
    a.first_since_sync_us = now_us;
  }
  return b;
}

void PgSession::EmitStatementRecord(const EditFrame& frame, size_t out_before,
                                    std::vector<std::byte>* out, FrameAction* action) {
  audit_sink_->builder().Text(Field::kPolicy, policy_name_);
  const uint64_t seq = audit_sink_->Emit();
  ++stats_->audit_records;
  if (!frame.oversize) {
    AuditHold(frame, seq, out_before, out, action);
  }
}

const mask::Derivation* PgSession::PreparedDerivation(std::string_view name) const {
  const auto it = mask_->statements.find(std::string(name));
  return it != mask_->statements.end() ? &it->second.derivation : nullptr;
}

void PgSession::AuditStatement(const EditFrame& frame, const Judgement* judged, size_t out_before,
                               std::vector<std::byte>* out, FrameAction* action) {
  AuditState& a = *audit_;
  audit::RecordBuilder& b = BeginStatementRecord();
  const config::AuditConfig& config = audit_sink_->config();
  std::string_view kind = "query";
  std::string_view text;
  std::string_view name;
  switch (frame.type) {
    case pg::kMsgQuery: {
      pg::Query query;
      if (!frame.oversize && pg::DecodeQuery(frame.payload, query) == pg::InvalidReason::kNone) {
        text = query.query;
      }
      break;
    }
    case pg::kMsgParse: {
      kind = "parse";
      pg::Parse parse;
      if (!frame.oversize && pg::DecodeParse(frame.payload, parse) == pg::InvalidReason::kNone) {
        text = parse.query;
        name = parse.statement;
      }
      break;
    }
    default:
      kind = "function_call";
      break;
  }
  b.Text(Field::kKind, kind);
  if (frame.type == pg::kMsgParse) {
    b.Text(Field::kStatementName, name);
  }
  // Constants go when the statement may carry values the masks hide.
  bool normalize = false;
  if (mask_ != nullptr && !text.empty()) {
    const mask::Derivation* derivation = nullptr;
    if (frame.type == pg::kMsgQuery && !mask_->expects.empty() &&
        mask_->expects.back().kind == Expect::Kind::kQuery) {
      derivation = &mask_->expects.back().derivation;
    } else if (frame.type == pg::kMsgParse) {
      derivation = PreparedDerivation(name);
    }
    normalize = NamesMaskedData(derivation);
  }
  if (frame.oversize) {
    b.Integer(Field::kTextSize, frame.body_size);
    b.AddFlags(audit::kFlagTruncated);
  } else if (normalize) {
    if (NormalizeConstants(text, standard_strings_, &a.scratch)) {
      b.TextLimited(Field::kText, a.scratch, config.statement_bytes_max);
    } else {
      b.Text(Field::kText, "<withheld: the text does not lex>");
    }
    b.AddFlags(audit::kFlagTextNormalized);
  } else {
    b.TextLimited(Field::kText, text, config.statement_bytes_max);
  }
  if (judged == nullptr) {
    b.Text(Field::kDecision, "allow");
    b.Text(Field::kRule, "statements.inspect=false");
  } else {
    b.Text(Field::kDecision, DecisionName(*judged));
    if (!judged->allowed) {
      b.Text(Field::kRule, judged->decision.rule_name);
      b.Text(Field::kMessage, judged->hard_message.empty()
                                  ? judged->decision.message
                                  : std::string_view(judged->hard_message));
    }
    if (!judged->command.empty()) {
      b.Text(Field::kCommand, judged->command);
      b.Text(Field::kClass, parsers::sql::StatementClassName(judged->statement_class));
    }
  }
  EmitStatementRecord(frame, out_before, out, action);
}

void PgSession::AuditBind(const EditFrame& frame, size_t out_before, std::vector<std::byte>* out,
                          FrameAction* action) {
  audit::RecordBuilder& b = BeginStatementRecord();
  const config::AuditConfig& config = audit_sink_->config();
  b.Text(Field::kKind, "bind");
  pg::Bind bind;
  if (frame.oversize || pg::DecodeBind(frame.payload, bind) != pg::InvalidReason::kNone) {
    b.AddFlags(audit::kFlagTruncated | audit::kFlagParamsHidden);
    if (frame.oversize) {
      b.Integer(Field::kTextSize, frame.body_size);
    }
  } else {
    b.Text(Field::kStatementName, bind.statement);
    b.Text(Field::kPortal, bind.portal);
    const bool hide = mask_ != nullptr && NamesMaskedData(PreparedDerivation(bind.statement));
    if (hide) {
      b.AddFlags(audit::kFlagParamsHidden);
    }
    size_t budget = config.params_bytes_max;
    pg::ValueIterator values = bind.params();
    pg::Value value;
    while (values.Next(value)) {
      if (value.is_null) {
        b.Marker(Field::kParamNull);
      } else if (hide) {
        b.Marker(Field::kParamHidden);
      } else {
        const size_t take = std::min(value.bytes.size(), budget);
        b.Bytes(Field::kParam, value.bytes.first(take));
        budget -= take;
        if (take < value.bytes.size()) {
          b.AddFlags(audit::kFlagTruncated);
        }
      }
    }
  }
  b.Text(Field::kDecision, "allow");
  EmitStatementRecord(frame, out_before, out, action);
}

void PgSession::AuditHold(const EditFrame& frame, uint64_t seq, size_t out_before,
                          std::vector<std::byte>* out, FrameAction* action) {
  AuditState& a = *audit_;
  const bool holding = !a.gated.empty() || a.gate_from != SIZE_MAX;
  // A failed log passes nothing (fail closed): the statement waits, and OnAuditProgress ends
  // the session with 58030.
  if (!holding && audit_sink_->Passed(seq) && !audit_sink_->failed()) {
    return;
  }
  ++stats_->audit_waits;
  a.gate_seq = std::max(a.gate_seq, seq);
  if (holding) {
    return;  // everything after the first held frame is held already
  }
  if (*action == FrameAction::kKeep) {
    // Kept unchanged: copied into the output (so it can be held) in place of itself.
    std::array<std::byte, pg::kTaggedHeaderSize> header;
    header[0] = static_cast<std::byte>(frame.type);
    const uint32_t length = frame.body_size + 4;
    for (int i = 0; i < 4; ++i) {
      header[1 + i] = static_cast<std::byte>(length >> (24 - 8 * i));
    }
    out->insert(out->end(), header.begin(), header.end());
    out->insert(out->end(), frame.payload.begin(), frame.payload.end());
    *action = FrameAction::kDrop;
  }
  a.gate_from = out_before;
  audit_sink_->WantWake();
}

bool PgSession::AuditHoldWalk(bool held_before) {
  AuditState& a = *audit_;
  // Held before the walk: all of it waits behind (the walk copied everything, forwarding none).
  // Else a frame in it started holding at gate_from: what came before goes on, the rest waits.
  const size_t from = held_before ? 0 : std::min(a.gate_from, edit_out_.size());
  if (from < edit_out_.size()) {
    a.gated.insert(a.gated.end(), edit_out_.begin() + static_cast<ptrdiff_t>(from),
                   edit_out_.end());
    edit_out_.resize(from);
  }
  a.gate_from = SIZE_MAX;
  return held_before;
}

bool PgSession::audit_waiting() const { return audit_ != nullptr && !audit_->gated.empty(); }

size_t PgSession::audit_held_bytes() const {
  return audit_ != nullptr ? audit_->gated.size() : 0;
}

bool PgSession::OnAuditProgress() {
  if (audit_ == nullptr || audit_->gated.empty() || end_ != EndReason::kNone) {
    return false;
  }
  AuditState& a = *audit_;
  if (audit_sink_->failed()) {
    a.gated.clear();
    Fail(EndReason::kBackendUnavailable, "58030",
         "jitgate: the audit log cannot be written; statements are refused until it can");
    return true;
  }
  if (!audit_sink_->Passed(a.gate_seq)) {
    audit_sink_->WantWake();
    // The writer may have moved between the check and the request: look once more.
    if (!audit_sink_->Passed(a.gate_seq)) {
      return false;
    }
  }
  std::vector<std::byte> held;
  held.swap(a.gated);
  SendToBackend(held);
  held.clear();
  a.gated.swap(held);  // keep the capacity
  return true;
}

void PgSession::AuditSyncSent() {
  AuditState& a = *audit_;
  if (a.pending_count == AuditState::kPendingMax) {
    // The client pipelines more than kPendingMax sync points: the oldest loses its timing.
    a.pending_head = (a.pending_head + 1) % AuditState::kPendingMax;
    --a.pending_count;
  }
  AuditState::Pending& p = a.pending[(a.pending_head + a.pending_count) % AuditState::kPendingMax];
  p.sent_us = a.statements_since_sync > 0 ? a.first_since_sync_us : audit::WallTimeUs();
  p.statement_seq = a.statement_seq;
  p.statements = a.statements_since_sync;
  a.statements_since_sync = 0;
  ++a.pending_count;
}

void PgSession::AuditMasked(std::string_view column, uint64_t count) {
  if (audit_ == nullptr || audit_->masked.size() >= AuditState::kMaskedMax) {
    return;
  }
  audit_->masked.push_back(absl::StrCat(internal::Clip(column, 64), "=", count));
}

void PgSession::AuditDown(const EditFrame& frame, bool refusal) {
  AuditState& a = *audit_;
  if (frame.oversize) {
    return;
  }
  if (refusal && !a.error) {
    // A refusal's marker error, replaced by the refusal (42501) on its way to the client.
    std::memcpy(a.sqlstate.data(), "42501", 5);
    a.sqlstate_size = 5;
    a.error = true;
    return;
  }
  switch (frame.type) {
    case pg::kMsgCommandComplete: {
      ++a.commands;
      pg::CommandComplete complete;
      if (pg::DecodeCommandComplete(frame.payload, complete) == pg::InvalidReason::kNone) {
        // "SELECT 5", "INSERT 0 1", "UPDATE 3", "COPY 10": the last number is the row count.
        const std::string_view tag = complete.tag;
        const size_t space = tag.rfind(' ');
        if (space != std::string_view::npos) {
          uint64_t rows = 0;
          bool digits = space + 1 < tag.size();
          for (size_t i = space + 1; i < tag.size() && digits; ++i) {
            digits = tag[i] >= '0' && tag[i] <= '9';
            rows = rows * 10 + static_cast<uint64_t>(tag[i] - '0');
          }
          if (digits) {
            a.rows += rows;
            a.rows_total += rows;
          }
        }
      }
      return;
    }
    case pg::kMsgBackendErrorResponse: {
      if (a.error) {
        return;
      }
      pg::ErrorResponse error;
      if (pg::DecodeErrorResponse(frame.payload, error) == pg::InvalidReason::kNone) {
        const std::string_view code = error.Find(pg::kFieldCode);
        a.sqlstate_size = std::min(code.size(), a.sqlstate.size());
        if (a.sqlstate_size > 0) {  // an absent code is a null view
          std::memcpy(a.sqlstate.data(), code.data(), a.sqlstate_size);
        }
        a.error = true;
      }
      return;
    }
    case pg::kMsgReadyForQuery:
      break;
    default:
      return;
  }
  // ReadyForQuery: the answer to the oldest sync point is complete.
  audit::RecordBuilder& b = audit_sink_->builder();
  const int64_t now_us = audit::WallTimeUs();
  b.Begin(RecordType::kResponse, 0, now_us, session_id_);
  if (a.pending_count > 0) {
    const AuditState::Pending& p = a.pending[a.pending_head];
    b.Integer(Field::kStatementSeq, p.statement_seq);
    b.Integer(Field::kStatements, p.statements);
    b.Integer(Field::kDurationUs, static_cast<uint64_t>(std::max<int64_t>(0, now_us - p.sent_us)));
    a.pending_head = (a.pending_head + 1) % AuditState::kPendingMax;
    --a.pending_count;
  }
  b.Integer(Field::kRows, a.rows);
  b.Integer(Field::kCommands, a.commands);
  b.Integer(Field::kBytesDown, a.bytes_down);
  if (a.error && a.sqlstate_size > 0) {
    b.Text(Field::kSqlstate, std::string_view(a.sqlstate.data(), a.sqlstate_size));
  }
  for (const std::string& masked : a.masked) {
    b.Text(Field::kMasked, masked);
  }
  audit_sink_->Emit();
  ++stats_->audit_records;
  a.rows = a.commands = a.bytes_down = 0;
  a.error = false;
  a.masked.clear();
}

}  // namespace jitgate::session
