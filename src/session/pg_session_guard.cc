// PgSession, part 3: the guardrails on the forwarding path (src/session/guard.h has the design).
// Up: each Query, Parse and FunctionCall is judged whole before any byte of it goes on; a
// refused one is replaced by a marker statement (and, for a Parse, the rest of its batch up to
// Sync is dropped, as the server itself would skip it). Down: ReadyForQuery (transaction status),
// ParameterStatus (standard_conforming_strings, which the lexer must follow) and the marker's
// syntax error, replaced by the refusal.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/sql/statement.h"
#include "src/common/log.h"
#include "src/policy/rules.h"
#include "src/policy/table.h"
#include "src/session/guard.h"
#include "src/session/pg_session.h"
#include "src/session/pg_session_internal.h"
#include "src/session/pg_session_mask.h"

namespace jitgate::session {

namespace pg = parsers::pg;
namespace sql = parsers::sql;

namespace {

// Refusals in flight (sent to the database, error not back yet). A client pipelining more
// refused statements than this without reading is cut.
constexpr size_t kPendingRefusalsMax = 4096;

}  // namespace

void PgSession::RefreshPolicy() {
  const uint64_t generation = env_.policies->generation();
  if (generation == snapshot_generation_) {
    return;
  }
  std::shared_ptr<const PolicySnapshot> snapshot = env_.policies->Current();
  uint32_t index = policy::AccessDecision::kNoPolicyIndex;
  for (size_t i = 0; i < snapshot->config->policies.size(); ++i) {
    if (snapshot->config->policies[i].name == policy_name_) {
      index = static_cast<uint32_t>(i);
      break;
    }
  }
  JG_LOG(kInfo, "event=session_policy_reloaded shard=%u session=%lu policy=%s generation=%lu%s",
         shard_index_, session_id_, policy_name_.c_str(), snapshot->generation,
         index == policy::AccessDecision::kNoPolicyIndex ? " removed=true" : "");
  snapshot_ = std::move(snapshot);
  snapshot_generation_ = snapshot_->generation;
  rules_policy_ = index;
  inspect_ = index == policy::AccessDecision::kNoPolicyIndex ||
             snapshot_->config->policies[index].statements.inspect;
  schema_candidates_ = index == policy::AccessDecision::kNoPolicyIndex
                           ? std::vector<std::string>()
                           : SchemaCandidates(snapshot_->config->policies[index].statements);
  if (index != policy::AccessDecision::kNoPolicyIndex) {
    // Masking read the catalog with the rules it started with; changed rules need a new session.
    const std::shared_ptr<const mask::PolicyMasks> masks =
        index < snapshot_->masks.size() && snapshot_->masks[index] != nullptr
            ? snapshot_->masks[index]
            : mask::PolicyMasks::Compile(snapshot_->config->masking,
                                         snapshot_->config->policies[index]);
    const uint64_t fingerprint = masks->active() ? masks->fingerprint() : 0;
    masks_changed_ = fingerprint != mask_fingerprint_;
  }
}

void PgSession::NoteParameterStatus(std::span<const std::byte> payload) {
  pg::ParameterStatus status;
  if (pg::DecodeParameterStatus(payload, status) == pg::InvalidReason::kNone &&
      status.name == "standard_conforming_strings") {
    standard_strings_ = status.value != "off";
  }
}

FrameAction PgSession::OnUpFrame(const EditFrame& frame, std::vector<std::byte>* out) {
  const size_t out_before = out->size();
  if (frame.type == pg::kMsgSync) {
    ++sync_points_sent_;
    MaskNoteStatement(frame.type, frame.payload);
    if (audit_ != nullptr) {
      AuditSyncSent();
    }
    return FrameAction::kKeep;
  }
  if (frame.type != pg::kMsgQuery && frame.type != pg::kMsgParse &&
      frame.type != pg::kMsgFunctionCall) {
    // Bind, Describe, Execute, Close (interesting to the masker; Bind to the audit log too).
    FrameAction action = MaskOnUp(frame, out);
    if (audit_ != nullptr && frame.type == pg::kMsgBind && !up_invalid_) {
      AuditBind(frame, out_before, out, &action);
    }
    return action;
  }
  Judgement judged;
  FrameAction action = JudgeUpFrame(frame, out, &judged);
  if (up_invalid_) {
    return action;
  }
  if (!frame.oversize && mask_ != nullptr) {
    // A refused message was replaced by a marker the server answers the same way (an error).
    MaskNoteStatement(frame.type, frame.payload);
    if (action == FrameAction::kKeep && !mask_->written.empty()) {
      // Masked values copied into another table (or a view, or another column) would be read
      // back from there unmasked: such a statement does not run.
      std::sort(mask_->written.begin(), mask_->written.end());
      mask_->written.erase(std::unique(mask_->written.begin(), mask_->written.end()),
                           mask_->written.end());
      std::string columns;
      for (const std::string& name : mask_->written) {
        absl::StrAppend(&columns, columns.empty() ? "" : ", ",
                        name == "*" ? "a whole row" : name);
      }
      Judgement judgement = HardRefusal(
          "masking.no-copy",
          absl::StrCat("the statement writes values of masked columns (", columns,
                       ") where their masks would not follow them; masked data cannot be "
                       "copied"));
      pg::Parse parse;
      std::string_view name;
      if (frame.type == pg::kMsgParse &&
          pg::DecodeParse(frame.payload, parse) == pg::InvalidReason::kNone) {
        name = parse.statement;
      }
      Refuse(judgement, frame.type == pg::kMsgParse, name, out);
      action = FrameAction::kDrop;
      judged = std::move(judgement);
    }
  } else if (frame.oversize && mask_ != nullptr) {
    // Not held: its text is not seen. Its rows are masked as if derived from everything.
    Expect expect;
    expect.kind = frame.type == pg::kMsgParse ? Expect::Kind::kParse : Expect::Kind::kQuery;
    expect.derivation.known = true;
    expect.derivation.whole_row = true;
    mask_->expects.push_back(std::move(expect));
  }
  if (audit_ != nullptr) {
    AuditStatement(frame, inspect_ ? &judged : nullptr, out_before, out, &action);
    if (frame.type != pg::kMsgParse) {
      AuditSyncSent();  // a Query or FunctionCall ends in ReadyForQuery
    }
  }
  return action;
}

FrameAction PgSession::JudgeUpFrame(const EditFrame& frame, std::vector<std::byte>* out,
                                    Judgement* judged) {
  ++stats_->statements;
  RefreshPolicy();
  if (!inspect_) {
    if (frame.type != pg::kMsgParse) {
      ++sync_points_sent_;
    }
    return FrameAction::kKeep;  // the policy trusts its identities' statements
  }
  const policy::RulesTable& rules = *snapshot_->rules;
  // The lexer mode is certain only when nothing is in flight that could have changed it.
  const bool mode_uncertain = sync_points_sent_ != ready_seen_;
  const parsers::sql::pg::LexMode mode{.standard_conforming_strings = standard_strings_};
  Judgement judgement;
  std::string_view parse_name;
  if (rules_policy_ == policy::AccessDecision::kNoPolicyIndex) {
    judgement = HardRefusal("policy.removed",
                            absl::StrCat("policy \"", policy_name_,
                                         "\" was removed by a configuration reload; reconnect"));
  } else if (masks_changed_) {
    judgement = HardRefusal("masking.changed",
                            "the masking rules of this session's policy were changed by a "
                            "configuration reload; reconnect");
  } else if (frame.oversize) {
    judgement = JudgeOpaque(rules, rules_policy_,
                            frame.type == pg::kMsgParse ? "PARSE" : "QUERY", true, guard_);
  } else {
    switch (frame.type) {
      case pg::kMsgQuery:
      case pg::kMsgParse: {
        // A Query's string may hold many statements; a Parse's holds one. Judged alike.
        std::string_view sql;
        pg::Query query;
        pg::Parse parse;
        const bool decoded =
            frame.type == pg::kMsgQuery
                ? pg::DecodeQuery(frame.payload, query) == pg::InvalidReason::kNone
                : pg::DecodeParse(frame.payload, parse) == pg::InvalidReason::kNone;
        if (!decoded) {
          up_invalid_ = true;
          return FrameAction::kDrop;
        }
        sql = frame.type == pg::kMsgQuery ? query.query : parse.query;
        parse_name = parse.statement;
        judgement = JudgeSql(rules, rules_policy_, sql, mode, mode_uncertain, schema_candidates_,
                             &search_path_unknown_, guard_);
        break;
      }
      case pg::kMsgFunctionCall: {
        pg::FunctionCall call;
        if (pg::DecodeFunctionCall(frame.payload, call) != pg::InvalidReason::kNone) {
          up_invalid_ = true;
          return FrameAction::kDrop;
        }
        judgement = JudgeOpaque(rules, rules_policy_, "FUNCTION CALL", false, guard_);
        break;
      }
      default:
        return FrameAction::kKeep;
    }
  }
  stats_->guard_cache_hits += judgement.cache_hits;
  if (frame.type != pg::kMsgParse) {
    ++sync_points_sent_;  // a Query or FunctionCall ends in ReadyForQuery, refused or not
  }
  if (judgement.allowed) {
    *judged = std::move(judgement);
    return FrameAction::kKeep;
  }
  Refuse(judgement, frame.type == pg::kMsgParse, parse_name, out);
  *judged = std::move(judgement);
  return FrameAction::kDrop;
}

void PgSession::Refuse(const Judgement& judgement, bool parse, std::string_view statement_name,
                       std::vector<std::byte>* out) {
  ++stats_->statements_refused;
  JG_LOG(kNotice,
         "event=statement_refused shard=%u session=%lu subject=%s resource=%s grant=%s policy=%s "
         "rule=\"%s\" verdict=%s class=%s command=\"%s\" statement=%u/%u",
         shard_index_, session_id_, internal::Clip(identity_->subject, 64).c_str(),
         std::string(resource_name()).c_str(), std::string(grant_id()).c_str(),
         policy_name_.c_str(), internal::Clip(judgement.decision.rule_name, 80).c_str(),
         std::string(policy::VerdictName(judgement.decision.verdict)).c_str(),
         std::string(sql::StatementClassName(judgement.statement_class)).c_str(),
         std::string(judgement.command).c_str(), judgement.statement_index + 1,
         judgement.statement_count);
  if (refusals_.size() >= kPendingRefusalsMax) {
    // The client keeps sending refused statements without reading a single answer.
    up_invalid_ = true;
    return;
  }
  const uint64_t seq = ++refusal_seq_;
  const std::string marker = MarkerText(MarkerNonce(), seq);
  if (parse) {
    AppendParseFrame(statement_name, marker, out);
    up_editor_.DropUntil(pg::kMsgSync);  // the server skips the rest of the batch; so do we
  } else {
    AppendQueryFrame(marker, out);
  }
  refusals_.push_back(PendingRefusal{seq, RefusalError(judgement, policy_name_)});
}

FrameAction PgSession::OnDownFrame(const EditFrame& frame, std::vector<std::byte>* out) {
  FrameAction action = GuardDownFrame(frame, out);
  const bool refusal = action == FrameAction::kDrop && frame.type == pg::kMsgBackendErrorResponse;
  if (mask_ != nullptr) {
    action = MaskOnDown(frame, action, out);
  }
  if (audit_ != nullptr) {
    AuditDown(frame, refusal);
  }
  return action;
}

FrameAction PgSession::GuardDownFrame(const EditFrame& frame, std::vector<std::byte>* out) {
  if (frame.oversize) {
    return FrameAction::kKeep;  // not a refusal's marker error (those are short)
  }
  switch (frame.type) {
    case pg::kMsgReadyForQuery:
      if (!frame.payload.empty()) {
        tx_status_ = static_cast<char>(frame.payload[0]);
      }
      ++ready_seen_;
      return FrameAction::kKeep;
    case pg::kMsgParameterStatus:
      NoteParameterStatus(frame.payload);
      return FrameAction::kKeep;
    case pg::kMsgBackendErrorResponse: {
      if (refusals_.empty()) {
        return FrameAction::kKeep;
      }
      pg::ErrorResponse error;
      if (pg::DecodeErrorResponse(frame.payload, error) != pg::InvalidReason::kNone) {
        return FrameAction::kKeep;  // the client's decoder will say what is wrong with it
      }
      const std::optional<uint64_t> seq =
          FindMarker(error.Find(pg::kFieldMessage), MarkerNonce());
      if (!seq.has_value()) {
        return FrameAction::kKeep;
      }
      // Refusals before this one were skipped by the server (an earlier error in their batch).
      const auto match = std::find_if(refusals_.begin(), refusals_.end(),
                                      [&](const PendingRefusal& r) { return r.seq >= *seq; });
      if (match == refusals_.end() || match->seq != *seq) {
        refusals_.erase(refusals_.begin(), match);
        return FrameAction::kKeep;
      }
      out->insert(out->end(), match->error.begin(), match->error.end());
      refusals_.erase(refusals_.begin(), match + 1);
      return FrameAction::kDrop;
    }
    default:
      return FrameAction::kKeep;
  }
}

}  // namespace jitgate::session
