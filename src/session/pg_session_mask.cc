// PgSession, part 4: result masking on the forwarding path.
//
// Up, every message that the backend will answer is noted, in order, in a FIFO (MaskState::
// expects): Query, Parse, Bind, Describe, Execute, Close, Sync, FunctionCall. Parse and Query texts
// that mention a sensitive name are analysed for lineage (which output columns derive from masked
// columns), and Bind records each portal's result formats. An Execute of a portal whose columns
// the gateway does not know (no Describe of it or of its statement was seen) gets a Describe of
// the portal inserted before it; its answer is used and not forwarded.
// Down, each answer is attributed to the head of the FIFO: a RowDescription (from a Query, or
// remembered from a Describe) gives the result's plan (src/mask/row.h); DataRows are masked with
// it, as they pass, one frame at a time, and only rows that change are copied; CopyOutResponse
// starts the COPY masker, which masks and re-frames CopyData rows; ErrorResponse and
// NoticeResponse texts (message, detail, hint, context) and notification payloads are scanned by
// the detectors, and a "Key (col)=(value)" or "Failing row contains (...)" detail naming a masked
// column has its values redacted. An error in an extended-protocol batch drops the FIFO to the
// batch's Sync, as the server skips to it.
// Fail closed: rows that no description announced have every value NULLed; a row larger than
// masking.row_size_max (it cannot be held) ends the session with an error.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/sql/pg/lineage.h"
#include "jitgate/parsers/sql/pg/split.h"
#include "src/common/log.h"
#include "src/session/guard.h"
#include "src/session/pg_session.h"
#include "src/session/pg_session_internal.h"
#include "src/session/pg_session_mask.h"

namespace jitgate::session {

namespace pg = parsers::pg;
namespace sqlpg = parsers::sql::pg;

namespace {

// Statements per Query analysed for lineage; more: every expression column is derived.
constexpr size_t kLineageStatementsMax = 64;
// Outstanding answers the gateway tracks; a client pipelining more without reading is cut.
constexpr size_t kExpectsMax = 65536;
// Prepared statements and portals remembered per session.
constexpr size_t kStatementsMax = 4096;
// Statement shapes whose lineage a session remembers (cleared when full).
constexpr size_t kLineageCacheMax = 512;

void AppendTagged(char type, std::span<const std::byte> payload, std::vector<std::byte>* out) {
  const size_t at = out->size();
  out->resize(at + 5 + payload.size());
  (*out)[at] = std::byte(type);
  internal::StoreUint32(out->data() + at + 1, static_cast<uint32_t>(payload.size() + 4));
  if (!payload.empty()) {
    std::memcpy(out->data() + at + 5, payload.data(), payload.size());
  }
}

std::span<const std::byte> Bytes(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

void UnionInto(mask::Derivation* into, const mask::Derivation& from) {
  into->known = into->known || from.known;
  into->exact = false;
  into->columns.clear();
  into->whole_row = into->whole_row || from.whole_row;
  into->referenced.insert(into->referenced.end(), from.referenced.begin(), from.referenced.end());
  for (const sqlpg::OutputColumn& column : from.columns) {
    into->referenced.insert(into->referenced.end(), column.names.begin(), column.names.end());
  }
  std::sort(into->referenced.begin(), into->referenced.end());
  into->referenced.erase(std::unique(into->referenced.begin(), into->referenced.end()),
                         into->referenced.end());
}

bool Tainted(const mask::Derivation& d) {
  if (!d.known) {
    return false;
  }
  if (d.whole_row || !d.referenced.empty()) {
    return true;
  }
  for (const sqlpg::OutputColumn& column : d.columns) {
    if (column.origin != sqlpg::TargetOrigin::kClean) {
      return true;
    }
  }
  return false;
}

}  // namespace

void PgSession::StartMasking() {
  mask_.reset();
  const config::Policy& policy = snapshot_->config->policies[rules_policy_];
  std::shared_ptr<const mask::PolicyMasks> masks =
      rules_policy_ < snapshot_->masks.size() && snapshot_->masks[rules_policy_] != nullptr
          ? snapshot_->masks[rules_policy_]
          : mask::PolicyMasks::Compile(snapshot_->config->masking, policy);
  if (!masks->active()) {
    return;
  }
  mask_ = std::make_unique<MaskState>();
  mask_->masks = std::move(masks);
  mask_fingerprint_ = mask_->masks->fingerprint();
  if (!mask_->masks->hash_key().empty()) {
    mask_->hasher = std::make_unique<mask::Hasher>(mask_->masks->hash_key());
  }
  for (char type : {pg::kMsgBind, pg::kMsgExecute, pg::kMsgDescribe, pg::kMsgClose}) {
    up_editor_.SetInterest(type);
  }
  for (char type : {pg::kMsgRowDescription, pg::kMsgNoData, pg::kMsgParameterDescription,
                    pg::kMsgParseComplete, pg::kMsgBindComplete, pg::kMsgCloseComplete,
                    pg::kMsgCommandComplete, pg::kMsgPortalSuspended, pg::kMsgEmptyQueryResponse,
                    pg::kMsgNoticeResponse, pg::kMsgNotificationResponse,
                    pg::kMsgFunctionCallResponse, pg::kMsgCopyOutResponse, pg::kMsgCopyDone,
                    pg::kMsgCopyBothResponse}) {
    down_editor_.SetInterest(type);
  }
  down_editor_.SetHoldMax(std::max<size_t>(internal::kReplyHoldMax,
                                           mask_->masks->row_size_max()));
  down_editor_.SetInterest(pg::kMsgDataRow, true);  // no plan yet: such rows are NULLed
}

void PgSession::StopMasking() {
  mask_.reset();
  for (char type : {pg::kMsgBind, pg::kMsgExecute, pg::kMsgDescribe, pg::kMsgClose}) {
    up_editor_.SetInterest(type, false);
  }
  for (char type : {pg::kMsgRowDescription, pg::kMsgNoData, pg::kMsgParameterDescription,
                    pg::kMsgParseComplete, pg::kMsgBindComplete, pg::kMsgCloseComplete,
                    pg::kMsgCommandComplete, pg::kMsgPortalSuspended, pg::kMsgEmptyQueryResponse,
                    pg::kMsgNoticeResponse, pg::kMsgNotificationResponse,
                    pg::kMsgFunctionCallResponse, pg::kMsgCopyOutResponse, pg::kMsgCopyDone,
                    pg::kMsgCopyBothResponse, pg::kMsgDataRow, pg::kMsgCopyData}) {
    down_editor_.SetInterest(type, false);
  }
  down_editor_.SetHoldMax(internal::kReplyHoldMax);
}

bool PgSession::MaskCatalogWanted() const {
  return mask_ != nullptr && mask_->masks->needs_catalog() && mask_->catalog == nullptr &&
         mask_->loader == nullptr;
}

void PgSession::SendCatalogQuery() {
  mask_->loader = std::make_unique<mask::CatalogLoader>(*mask_->masks);
  const std::string sql = mask::CatalogQuery(*mask_->masks);
  std::vector<std::byte> frame;
  std::vector<std::byte> body(sql.size() + 1);
  std::memcpy(body.data(), sql.data(), sql.size());
  AppendTagged(pg::kMsgQuery, body, &frame);
  SendToBackend(frame);
}

bool PgSession::OnCatalogFrame(char type, std::span<const std::byte> payload, int64_t now_ms) {
  if (mask_ == nullptr || mask_->loader == nullptr) {
    return false;
  }
  const mask::CatalogLoader::Step step = mask_->loader->OnMessage(type, payload);
  if (type == pg::kMsgParameterStatus) {
    NoteParameterStatus(payload);
  }
  switch (step) {
    case mask::CatalogLoader::Step::kMore:
      return true;
    case mask::CatalogLoader::Step::kFailed: {
      JG_LOG(kWarn, "event=mask_catalog_failed shard=%u session=%lu error=\"%s\"", shard_index_,
             session_id_, internal::Clip(mask_->loader->error(), 200).c_str());
      Fail(EndReason::kBackendUnavailable, "08006",
           "jitgate: the gateway could not read the database catalog it masks results with",
           "See the gateway log; the gateway's database user must be able to read pg_catalog.");
      return true;
    }
    case mask::CatalogLoader::Step::kDone: {
      mask_->catalog = mask_->loader->Finish();
      mask_->loader.reset();
      JG_LOG(kInfo,
             "event=mask_catalog_loaded shard=%u session=%lu sensitive_columns=%zu "
             "relations=%zu",
             shard_index_, session_id_, mask_->catalog->columns.size(),
             mask_->catalog->relations.size());
      pg::ReadyForQuery ready;
      if (pg::DecodeReadyForQuery(payload, ready) != pg::InvalidReason::kNone) {
        ready.status = pg::kTxIdle;
      }
      FinishStartup(ready.status, now_ms);
      return true;
    }
  }
  return true;
}

mask::Derivation PgSession::DeriveStatement(std::string_view sql, sqlpg::CopyInfo* copy,
                                            bool* copy_known) {
  mask::Derivation result;
  *copy_known = false;
  mask_->written.clear();
  const mask::CatalogSnapshot* catalog = mask_->catalog.get();
  // Cheap test first: does the text name anything sensitive, or a tainted cursor, or COPY?
  // One lower-cased copy of the text, then a memchr-driven find per name (names are folded).
  std::string& lowered = mask_->lowered;
  lowered.assign(sql.data(), sql.size());
  for (char& c : lowered) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
  }
  const auto mentioned = [&](std::string_view name) {
    return lowered.find(name.data(), 0, name.size()) != std::string::npos;
  };
  bool mentions = mentioned("copy");
  bool relation_named = false;
  if (catalog != nullptr) {
    for (const std::string& name : catalog->sensitive_columns) {
      mentions = mentions || mentioned(name);
    }
    for (const std::string& name : catalog->sensitive_relations) {
      relation_named = relation_named || mentioned(name);
    }
    mentions = mentions || relation_named;
  }
  for (const auto& [name, derivation] : mask_->sql_names) {
    mentions = mentions || internal::ContainsIgnoreCase(sql, name);
  }
  if (!mentions) {
    return result;
  }
  const sqlpg::LexMode mode{.standard_conforming_strings = standard_strings_};
  std::array<sqlpg::StatementSpan, kLineageStatementsMax> spans;
  const sqlpg::SplitResult split =
      sqlpg::SplitStatements(sql, mode, guard_->cache.seed(), spans);
  const std::vector<std::string> no_names;
  const sqlpg::SensitiveNames names =
      catalog != nullptr ? catalog->names() : sqlpg::SensitiveNames{no_names, no_names};
  result.known = true;
  result.mentions_sensitive_relation = relation_named;
  if (split.status != sqlpg::SplitStatus::kOk || split.count == 0) {
    result.whole_row = true;  // cannot tell: every expression column derives from everything
    return result;
  }
  for (uint32_t s = 0; s < split.count; ++s) {
    const std::string_view text = sql.substr(spans[s].offset, spans[s].length);
    // Literal values do not change a statement's lineage, except COPY's options (a DELIMITER
    // is a literal): those, and texts that did not parse, are analysed every time.
    const uint64_t key = spans[s].fingerprint ^ (standard_strings_ ? 0 : 0x9e3779b97f4a7c15ull);
    const bool cacheable =
        spans[s].fingerprint != 0 && !internal::ContainsIgnoreCase(text, "copy");
    sqlpg::Lineage analysed;
    const sqlpg::Lineage* found = nullptr;
    if (cacheable) {
      auto it = mask_->lineage_cache.find(key);
      if (it != mask_->lineage_cache.end() && it->second.token_count == spans[s].token_count) {
        found = &it->second.lineage;
      }
    }
    if (found == nullptr) {
      analysed = sqlpg::AnalyzeLineage(text, mode, names);
      found = &analysed;
      if (cacheable && analysed.parsed) {
        if (mask_->lineage_cache.size() >= kLineageCacheMax) {
          mask_->lineage_cache.clear();
        }
        mask_->lineage_cache[key] = MaskState::CachedLineage{spans[s].token_count, analysed};
      }
    }
    const sqlpg::Lineage& lineage = *found;
    mask::Derivation one;
    one.known = true;
    mask_->written.insert(mask_->written.end(), lineage.written.begin(), lineage.written.end());
    if (!lineage.parsed) {
      one.whole_row = true;
    } else {
      one.exact = lineage.exact;
      one.columns = lineage.columns;
      one.star_relation = lineage.star_relation;
      one.mentions_sensitive_relation = relation_named;
      one.referenced = lineage.referenced;
      one.whole_row = lineage.whole_row;
      // Cursors and SQL prepared statements carry their query's taint to FETCH and EXECUTE.
      const std::string& defined = !lineage.cursor.empty() ? lineage.cursor : lineage.prepared;
      if (!defined.empty()) {
        if (lineage.declares) {
          if (Tainted(one) && mask_->sql_names.size() < kStatementsMax) {
            mask::Derivation carried;
            UnionInto(&carried, one);
            carried.known = true;
            mask_->sql_names[defined] = std::move(carried);
          }
        } else if (auto it = mask_->sql_names.find(defined); it != mask_->sql_names.end()) {
          UnionInto(&one, it->second);
        }
      }
      if (lineage.copy.is_copy && lineage.copy.to_stdout) {
        *copy = lineage.copy;
        *copy_known = true;
      }
    }
    if (split.count == 1) {
      result = std::move(one);
    } else {
      UnionInto(&result, one);
    }
  }
  return result;
}

void PgSession::MaskNoteStatement(char type, std::span<const std::byte> payload) {
  if (mask_ == nullptr) {
    return;
  }
  if (mask_->expects.size() >= kExpectsMax) {
    up_invalid_ = true;
    return;
  }
  Expect expect;
  switch (type) {
    case pg::kMsgQuery: {
      pg::Query query;
      if (pg::DecodeQuery(payload, query) != pg::InvalidReason::kNone) {
        return;
      }
      expect.kind = Expect::Kind::kQuery;
      expect.derivation = DeriveStatement(query.query, &expect.copy, &expect.copy_known);
      // A simple Query drops the unnamed statement and portal; SQL may drop named ones.
      mask_->statements.erase("");
      mask_->portals.erase("");
      if (internal::ContainsIgnoreCase(query.query, "deallocate") ||
          internal::ContainsIgnoreCase(query.query, "discard")) {
        mask_->statements.clear();
        mask_->portals.clear();
      }
      break;
    }
    case pg::kMsgParse: {
      pg::Parse parse;
      if (pg::DecodeParse(payload, parse) != pg::InvalidReason::kNone) {
        return;
      }
      if (mask_->statements.size() >= kStatementsMax && !mask_->statements.contains(std::string(parse.statement))) {
        mask_->statements.clear();  // forgotten descriptions are asked for again (Describe)
      }
      MaskedStatement& statement = mask_->statements[std::string(parse.statement)];
      statement = MaskedStatement();
      bool copy_known = false;
      sqlpg::CopyInfo copy;
      statement.derivation = DeriveStatement(parse.query, &copy, &copy_known);
      expect.kind = Expect::Kind::kParse;
      expect.name = std::string(parse.statement);
      statement.copy = std::move(copy);
      statement.copy_known = copy_known;
      if (internal::ContainsIgnoreCase(parse.query, "deallocate") ||
          internal::ContainsIgnoreCase(parse.query, "discard")) {
        for (auto it = mask_->statements.begin(); it != mask_->statements.end();) {
          if (it->first != expect.name) {
            mask_->statements.erase(it++);
          } else {
            ++it;
          }
        }
      }
      break;
    }
    case pg::kMsgFunctionCall:
      expect.kind = Expect::Kind::kFunctionCall;
      break;
    case pg::kMsgSync:
      expect.kind = Expect::Kind::kSync;
      break;
    default:
      return;
  }
  mask_->expects.push_back(std::move(expect));
}

FrameAction PgSession::MaskOnUp(const EditFrame& frame, std::vector<std::byte>* out) {
  if (mask_ == nullptr) {
    return FrameAction::kKeep;
  }
  if (frame.oversize) {
    // Not held (a Bind with over 1.25 MiB of parameters): its portal and formats are not seen.
    // Forget every portal, so the next Execute of any of them asks the server (a Describe).
    mask_->portals.clear();
    Expect expect;
    switch (frame.type) {
      case pg::kMsgBind:
        expect.kind = Expect::Kind::kBind;
        break;
      case pg::kMsgDescribe:
        expect.kind = Expect::Kind::kDescribePortal;
        expect.name = "\x01unknown";  // answers nothing the session keeps
        break;
      case pg::kMsgClose:
        expect.kind = Expect::Kind::kClose;
        mask_->statements.clear();
        break;
      case pg::kMsgExecute:
        expect.kind = Expect::Kind::kExecute;
        expect.name = "\x01unknown";  // no such portal: its rows are NULLed
        break;
      default:
        return FrameAction::kKeep;
    }
    mask_->expects.push_back(std::move(expect));
    return FrameAction::kKeep;
  }
  if (mask_->expects.size() >= kExpectsMax) {
    up_invalid_ = true;
    return FrameAction::kKeep;
  }
  Expect expect;
  switch (frame.type) {
    case pg::kMsgBind: {
      pg::Bind bind;
      if (pg::DecodeBind(frame.payload, bind) != pg::InvalidReason::kNone) {
        up_invalid_ = true;
        return FrameAction::kKeep;
      }
      if (mask_->portals.size() >= kStatementsMax && !mask_->portals.contains(std::string(bind.portal))) {
        mask_->portals.clear();
      }
      MaskedPortal& portal = mask_->portals[std::string(bind.portal)];
      portal = MaskedPortal();
      portal.statement = std::string(bind.statement);
      portal.formats.resize(bind.result_format_count);
      for (size_t i = 0; i < bind.result_format_count; ++i) {
        portal.formats[i] = static_cast<int16_t>(parsers::pg::internal::LoadUint16(
            bind.result_formats_raw.data() + 2 * i));
      }
      expect.kind = Expect::Kind::kBind;
      expect.name = std::string(bind.portal);
      break;
    }
    case pg::kMsgDescribe: {
      pg::Describe describe;
      if (pg::DecodeDescribe(frame.payload, describe) != pg::InvalidReason::kNone) {
        up_invalid_ = true;
        return FrameAction::kKeep;
      }
      expect.kind = describe.target == pg::kTargetStatement ? Expect::Kind::kDescribeStatement
                                                            : Expect::Kind::kDescribePortal;
      expect.name = std::string(describe.name);
      if (describe.target == pg::kTargetStatement) {
        if (auto it = mask_->statements.find(expect.name); it != mask_->statements.end()) {
          it->second.describe_pending = true;
        }
      } else if (auto it = mask_->portals.find(expect.name); it != mask_->portals.end()) {
        it->second.describe_pending = true;
      }
      break;
    }
    case pg::kMsgClose: {
      pg::Close close;
      if (pg::DecodeClose(frame.payload, close) != pg::InvalidReason::kNone) {
        up_invalid_ = true;
        return FrameAction::kKeep;
      }
      if (close.target == pg::kTargetStatement) {
        mask_->statements.erase(std::string(close.name));
      } else {
        mask_->portals.erase(std::string(close.name));
      }
      expect.kind = Expect::Kind::kClose;
      break;
    }
    case pg::kMsgExecute: {
      pg::Execute execute;
      if (pg::DecodeExecute(frame.payload, execute) != pg::InvalidReason::kNone) {
        up_invalid_ = true;
        return FrameAction::kKeep;
      }
      expect.kind = Expect::Kind::kExecute;
      expect.name = std::string(execute.portal);
      auto portal = mask_->portals.find(std::string(execute.portal));
      bool known = false;
      if (portal != mask_->portals.end()) {
        auto statement = mask_->statements.find(portal->second.statement);
        // Known, or about to be: the client's own Describe is ahead of this Execute.
        known = portal->second.described || portal->second.describe_pending ||
                (statement != mask_->statements.end() &&
                 (!statement->second.row_description.empty() || statement->second.no_data ||
                  statement->second.describe_pending));
      }
      if (!known) {
        // Ask the server what the portal returns before it returns it.
        Expect describe;
        describe.kind = Expect::Kind::kDescribePortal;
        describe.name = expect.name;
        describe.injected = true;
        mask_->expects.push_back(std::move(describe));
        std::vector<std::byte> body;
        body.push_back(std::byte{pg::kTargetPortal});
        body.insert(body.end(), Bytes(execute.portal).begin(), Bytes(execute.portal).end());
        body.push_back(std::byte{0});
        AppendTagged(pg::kMsgDescribe, body, out);
        AppendTagged(pg::kMsgExecute, frame.payload, out);
        mask_->expects.push_back(std::move(expect));
        return FrameAction::kDrop;
      }
      break;
    }
    default:
      return FrameAction::kKeep;
  }
  mask_->expects.push_back(std::move(expect));
  return FrameAction::kKeep;
}

// ---------------------------------------------------------------------------------------------
// Down.

void PgSession::EndResult() {
  MaskState& m = *mask_;
  if (m.plan_ready && m.rows_masked > 0) {
    for (uint64_t count : m.counts) {
      stats_->cells_masked += count;
    }
    std::string columns;
    for (size_t i = 0; i < m.counts.size(); ++i) {
      if (m.counts[i] == 0) {
        continue;
      }
      const uint16_t rule = i < m.plan.rules.size() ? m.plan.rules[i] : mask::kNoRule;
      absl::StrAppend(&columns, columns.empty() ? "" : ",",
                      i < m.plan.names.size() ? internal::Clip(m.plan.names[i], 64) : "?", ":",
                      m.counts[i], "/",
                      rule == mask::kNoRule ? "fail-closed" : m.masks->rule(rule).name);
      AuditMasked(i < m.plan.names.size() ? std::string_view(m.plan.names[i]) : "?", m.counts[i]);
    }
    // The audit hook until the audit log exists (issue 7): masked cells per column.
    JG_LOG(kInfo,
           "event=result_masked shard=%u session=%lu subject=%s resource=%s rows=%lu "
           "rows_masked=%lu cells=%s",
           shard_index_, session_id_, internal::Clip(identity_->subject, 64).c_str(),
           std::string(resource_name()).c_str(), m.rows, m.rows_masked, columns.c_str());
  }
  m.plan.Clear();
  m.plan_ready = false;
  m.counts.clear();
  m.rows = 0;
  m.rows_masked = 0;
  // No plan until the next RowDescription or Execute: a DataRow before one is NULLed, so the
  // editor must keep handing DataRows over (no result's rows arrive here otherwise).
  down_editor_.SetInterest(pg::kMsgDataRow, true);
}

void PgSession::BeginResult(std::span<const std::byte> row_description,
                            std::span<const int16_t> formats,
                            const mask::Derivation* derivation) {
  MaskState& m = *mask_;
  EndResult();
  if (!mask::BuildPlan(*m.masks, m.catalog.get(), row_description, formats, derivation,
                       &m.plan)) {
    pg::RowDescription description;
    const size_t columns =
        pg::DecodeRowDescription(row_description, description) == pg::InvalidReason::kNone
            ? description.field_count
            : 0;
    mask::BuildNullPlan(columns, &m.plan);
  }
  m.plan_ready = true;
  m.counts.assign(m.plan.columns.size(), 0);
  down_editor_.SetInterest(pg::kMsgDataRow, m.plan.any);
}

// The head Execute's result: its plan from the portal's or statement's description.
void PgSession::BeginExecuteResult(const Expect& expect) {
  MaskState& m = *mask_;
  auto portal = m.portals.find(expect.name);
  const auto unknown = [&]() {
    // No description: the rows, if any, get a plan that NULLs every value (the DataRow case).
    EndResult();
    down_editor_.SetInterest(pg::kMsgDataRow, true);
  };
  if (portal == m.portals.end()) {
    return unknown();
  }
  auto statement = m.statements.find(portal->second.statement);
  const mask::Derivation* derivation =
      statement != m.statements.end() ? &statement->second.derivation : nullptr;
  if (portal->second.described) {
    if (portal->second.no_data) {
      EndResult();
      return;
    }
    BeginResult(portal->second.row_description, {}, derivation);
    return;
  }
  if (statement != m.statements.end() && !statement->second.row_description.empty()) {
    BeginResult(statement->second.row_description, portal->second.formats, derivation);
    return;
  }
  if (statement != m.statements.end() && statement->second.no_data) {
    EndResult();
    return;
  }
  unknown();
}

// An Execute at the head of the FIFO answers next: its rows need their plan before the first
// DataRow (which the editor hands over only when DataRow is in its interest set).
void PgSession::PrepareHead() {
  MaskState& m = *mask_;
  if (!m.expects.empty() && m.expects.front().kind == Expect::Kind::kExecute) {
    BeginExecuteResult(m.expects.front());
  }
}

void PgSession::PopToSync() {
  MaskState& m = *mask_;
  while (!m.expects.empty() && m.expects.front().kind != Expect::Kind::kSync &&
         m.expects.front().kind != Expect::Kind::kQuery &&
         m.expects.front().kind != Expect::Kind::kFunctionCall) {
    m.expects.pop_front();
  }
}

// Masks an ErrorResponse / NoticeResponse body; false when nothing changed.
bool PgSession::MaskNotice(char type, std::span<const std::byte> payload,
                           std::vector<std::byte>* out) {
  MaskState& m = *mask_;
  pg::NoticeMessage notice;
  if (pg::DecodeErrorResponse(payload, notice) != pg::InvalidReason::kNone) {
    return false;
  }
  const std::string_view table = notice.Find('t');
  // Data exceptions (class 22: invalid input syntax, out of range, ...) quote the value that
  // failed, which may be a masked column's ("salary::text::date" echoes the salary).
  const bool data_exception = notice.Find(pg::kFieldCode).substr(0, 2) == "22";
  bool table_sensitive = table.empty();
  if (m.catalog != nullptr && !table.empty()) {
    table_sensitive = !m.catalog->FindRelations({}, table).empty();
  }
  std::vector<std::byte> body;
  bool changed = false;
  pg::NoticeFieldIterator fields = notice.fields();
  pg::NoticeField field;
  while (fields.Next(field)) {
    std::string value(field.value);
    if (field.code == pg::kFieldDetail || field.code == pg::kFieldMessage ||
        field.code == pg::kFieldHint || field.code == 'W' || field.code == 'q') {
      const std::string before = value;
      RedactEchoedValues(&value, table_sensitive);
      if (data_exception && (field.code == pg::kFieldMessage || field.code == pg::kFieldDetail)) {
        RedactQuoted(&value);
      }
      const mask::DetectorSet detectors =
          m.masks->detectors() != 0 ? m.masks->detectors() : mask::DetectorSet{0};
      if (detectors != 0) {
        m.scratch.clear();
        mask::MaskOutcome outcome = mask::MaskOutcome::kValue;
        if (mask::ScanValue(detectors, m.masks->scan_spec(), mask::ValueKind::kText, -1, 0,
                            Bytes(value), m.hasher.get(), &m.scratch, &outcome)) {
          value = outcome == mask::MaskOutcome::kNull
                      ? std::string("****")
                      : std::string(reinterpret_cast<const char*>(m.scratch.data()),
                                    m.scratch.size());
        }
      }
      // A NUL would end the field early on the client: keep fields C strings.
      value.erase(std::remove(value.begin(), value.end(), '\0'), value.end());
      changed = changed || value != before;
    }
    body.push_back(std::byte(field.code));
    body.insert(body.end(), Bytes(value).begin(), Bytes(value).end());
    body.push_back(std::byte{0});
  }
  if (!changed) {
    return false;
  }
  body.push_back(std::byte{0});
  AppendTagged(type, body, out);
  return true;
}

// "Key (email)=(a@b.c) already exists." and "Failing row contains (...)." echo values: the
// parenthesised values are redacted when a named column (or the failing row's table) is masked.
// Replaces the text inside every pair of double quotes with "****".
void PgSession::RedactQuoted(std::string* text) {
  size_t at = 0;
  while ((at = text->find('"', at)) != std::string::npos) {
    const size_t end = text->find('"', at + 1);
    if (end == std::string::npos) {
      break;
    }
    text->replace(at + 1, end - at - 1, "****");
    at += 6;  // past the closing quote of "****"
  }
}

void PgSession::RedactEchoedValues(std::string* text, bool table_sensitive) {
  MaskState& m = *mask_;
  const auto sensitive_name = [&](std::string_view names) {
    if (m.catalog == nullptr) {
      return true;
    }
    for (const std::string& name : m.catalog->sensitive_columns) {
      if (internal::ContainsIgnoreCase(names, name)) {
        return true;
      }
    }
    return m.masks->detectors() != 0 && false;
  };
  // Key (cols)=(values)
  for (size_t at = text->find("Key ("); at != std::string::npos; at = text->find("Key (", at + 1)) {
    const size_t names_end = text->find(")=(", at);
    if (names_end == std::string::npos) {
      break;
    }
    const std::string_view names(text->data() + at + 5, names_end - at - 5);
    if (!sensitive_name(names)) {
      continue;
    }
    const size_t values_begin = names_end + 3;
    // The values end at the last ')' before " already exists" / " is not present" / end.
    size_t values_end = text->rfind(')');
    if (values_end == std::string::npos || values_end < values_begin) {
      values_end = text->size();
    }
    text->replace(values_begin, values_end - values_begin, "****");
  }
  const std::string_view failing = "Failing row contains (";
  if (const size_t at = text->find(failing); at != std::string::npos && table_sensitive) {
    const size_t begin = at + failing.size();
    size_t end = text->rfind(')');
    if (end == std::string::npos || end < begin) {
      end = text->size();
    }
    text->replace(begin, end - begin, "****");
  }
}

FrameAction PgSession::MaskOnDown(const EditFrame& frame, FrameAction so_far,
                                  std::vector<std::byte>* out) {
  MaskState& m = *mask_;
  if (m.fatal) {
    return FrameAction::kDrop;  // the session ends before this frame: nothing of it goes on
  }
  // Everything the walk produced before this frame goes to the client before the error.
  m.fatal_out_size = out->size();
  if (frame.oversize) {
    const bool needs_look =
        (frame.type == pg::kMsgDataRow && (m.plan.any || !m.plan_ready)) ||
        (frame.type == pg::kMsgCopyData && m.copy_active) ||
        frame.type == pg::kMsgBackendErrorResponse || frame.type == pg::kMsgNoticeResponse ||
        frame.type == pg::kMsgNotificationResponse || frame.type == pg::kMsgFunctionCallResponse ||
        frame.type == pg::kMsgRowDescription;
    if (!needs_look) {
      return so_far;
    }
    m.fatal = true;
    m.fatal_message = absl::StrCat("jitgate: a result message of ", frame.body_size,
                                   " bytes is larger than masking.row_size_max (",
                                   m.masks->row_size_max(), "); it cannot be masked");
    return FrameAction::kDrop;
  }
  Expect* head = m.expects.empty() ? nullptr : &m.expects.front();
  using Kind = Expect::Kind;
  switch (frame.type) {
    case pg::kMsgParseComplete:
      if (head != nullptr && head->kind == Kind::kParse) {
        m.expects.pop_front();
        PrepareHead();
      }
      return so_far;
    case pg::kMsgBindComplete:
      if (head != nullptr && head->kind == Kind::kBind) {
        m.expects.pop_front();
        PrepareHead();
      }
      return so_far;
    case pg::kMsgCloseComplete:
      if (head != nullptr && head->kind == Kind::kClose) {
        m.expects.pop_front();
        PrepareHead();
      }
      return so_far;
    case pg::kMsgParameterDescription:
      if (head != nullptr && head->kind == Kind::kDescribeStatement && head->injected) {
        return FrameAction::kDrop;
      }
      return so_far;
    case pg::kMsgRowDescription:
    case pg::kMsgNoData: {
      const bool rows = frame.type == pg::kMsgRowDescription;
      if (head != nullptr && head->kind == Kind::kDescribeStatement) {
        MaskedStatement& statement = m.statements[head->name];
        statement.row_description.assign(frame.payload.begin(), frame.payload.end());
        statement.no_data = !rows;
        statement.describe_pending = false;
        const bool injected = head->injected;
        m.expects.pop_front();
        PrepareHead();
        return injected ? FrameAction::kDrop : so_far;
      }
      if (head != nullptr && head->kind == Kind::kDescribePortal) {
        MaskedPortal& portal = m.portals[head->name];
        portal.row_description.assign(frame.payload.begin(), frame.payload.end());
        portal.described = true;
        portal.no_data = !rows;
        portal.describe_pending = false;
        const bool injected = head->injected;
        m.expects.pop_front();
        PrepareHead();
        return injected ? FrameAction::kDrop : so_far;
      }
      if (rows && head != nullptr && head->kind == Kind::kQuery) {
        BeginResult(frame.payload, {}, &head->derivation);
        return so_far;
      }
      if (rows) {
        // A RowDescription nothing asked for: mask its rows as best the plan can.
        BeginResult(frame.payload, {}, nullptr);
      }
      return so_far;
    }
    case pg::kMsgDataRow: {
      if (!m.plan_ready && head != nullptr && head->kind == Kind::kExecute) {
        BeginExecuteResult(*head);
      }
      if (!m.plan_ready) {
        // Rows no description announced: NULL them all (fail closed).
        pg::DataRow row;
        const size_t columns =
            pg::DecodeDataRow(frame.payload, row) == pg::InvalidReason::kNone ? row.column_count
                                                                             : 0;
        mask::BuildNullPlan(columns, &m.plan);
        m.plan_ready = true;
        m.counts.assign(columns, 0);
        JG_LOG(kWarn, "event=mask_rows_without_description shard=%u session=%lu columns=%zu",
               shard_index_, session_id_, columns);
      }
      ++m.rows;
      if (!m.plan.any) {
        return so_far;
      }
      bool invalid = false;
      if (mask::MaskDataRow(m.plan, frame.payload, m.hasher.get(), out, m.counts, &invalid)) {
        ++m.rows_masked;
        ++stats_->rows_masked;
        return FrameAction::kDrop;
      }
      if (invalid) {
        // A row whose values cannot be told apart cannot be masked: it does not go on.
        m.fatal = true;
        m.fatal_message = "jitgate: the database sent a malformed DataRow";
        return FrameAction::kDrop;
      }
      return so_far;
    }
    case pg::kMsgCommandComplete:
    case pg::kMsgEmptyQueryResponse:
    case pg::kMsgPortalSuspended:
      if (m.copy_active) {
        m.copy_active = false;
        down_editor_.SetInterest(pg::kMsgCopyData, false);
      }
      EndResult();
      if (head != nullptr && head->kind == Kind::kExecute) {
        m.expects.pop_front();
        PrepareHead();
      }
      return so_far;
    case pg::kMsgCopyOutResponse: {
      pg::CopyResponse response;
      if (pg::DecodeCopyResponse(frame.payload, response) != pg::InvalidReason::kNone) {
        return so_far;
      }
      BeginCopy(head, response);
      return so_far;
    }
    case pg::kMsgCopyBothResponse:
      // Replication streams carry table data the masker cannot follow: refuse the session.
      m.fatal = true;
      m.fatal_message = "jitgate: COPY BOTH (replication) cannot be masked";
      return FrameAction::kDrop;
    case pg::kMsgCopyData: {
      if (!m.copy_active) {
        return so_far;
      }
      if (!m.copy.Feed(frame.payload, out)) {
        m.fatal = true;
        m.fatal_message = "jitgate: a COPY row could not be masked (too large or malformed)";
      }
      return FrameAction::kDrop;
    }
    case pg::kMsgCopyDone: {
      if (!m.copy_active) {
        return so_far;
      }
      if (!m.copy.Finish(out)) {
        m.fatal = true;
        m.fatal_message = "jitgate: the COPY stream ended inside a row";
        return FrameAction::kDrop;
      }
      LogCopyMasked();
      m.copy_active = false;
      down_editor_.SetInterest(pg::kMsgCopyData, false);
      AppendTagged(pg::kMsgCopyDone, {}, out);
      return FrameAction::kDrop;
    }
    case pg::kMsgBackendErrorResponse:
    case pg::kMsgNoticeResponse: {
      if (frame.type == pg::kMsgBackendErrorResponse) {
        if (m.copy_active) {
          m.copy_active = false;
          down_editor_.SetInterest(pg::kMsgCopyData, false);
        }
        EndResult();
        if (head != nullptr && head->kind != Kind::kQuery && head->kind != Kind::kSync &&
            head->kind != Kind::kFunctionCall) {
          PopToSync();  // the server skips the rest of the batch
        }
      }
      if (so_far == FrameAction::kDrop) {
        return so_far;  // already replaced (a refusal's error)
      }
      return MaskNotice(frame.type, frame.payload, out) ? FrameAction::kDrop : so_far;
    }
    case pg::kMsgNotificationResponse: {
      pg::NotificationResponse note;
      if (m.masks->detectors() == 0 ||
          pg::DecodeNotificationResponse(frame.payload, note) != pg::InvalidReason::kNone) {
        return so_far;
      }
      m.scratch.clear();
      mask::MaskOutcome outcome = mask::MaskOutcome::kValue;
      if (!mask::ScanValue(m.masks->detectors(), m.masks->scan_spec(), mask::ValueKind::kText, -1,
                           0, Bytes(note.payload), m.hasher.get(), &m.scratch, &outcome)) {
        return so_far;
      }
      std::string payload = outcome == mask::MaskOutcome::kNull
                                ? std::string("****")
                                : std::string(reinterpret_cast<const char*>(m.scratch.data()),
                                              m.scratch.size());
      payload.erase(std::remove(payload.begin(), payload.end(), '\0'), payload.end());
      std::vector<std::byte> body(4);
      internal::StoreUint32(body.data(), note.process_id);
      body.insert(body.end(), Bytes(note.channel).begin(), Bytes(note.channel).end());
      body.push_back(std::byte{0});
      body.insert(body.end(), Bytes(payload).begin(), Bytes(payload).end());
      body.push_back(std::byte{0});
      AppendTagged(pg::kMsgNotificationResponse, body, out);
      return FrameAction::kDrop;
    }
    case pg::kMsgFunctionCallResponse: {
      pg::FunctionCallResponse response;
      if (m.masks->detectors() == 0 ||
          pg::DecodeFunctionCallResponse(frame.payload, response) != pg::InvalidReason::kNone ||
          response.result.is_null) {
        return so_far;
      }
      m.scratch.clear();
      m.scratch.resize(4);
      mask::MaskOutcome outcome = mask::MaskOutcome::kValue;
      if (!mask::ScanValue(m.masks->detectors(), m.masks->scan_spec(), mask::ValueKind::kText, -1,
                           0, response.result.bytes, m.hasher.get(), &m.scratch, &outcome)) {
        return so_far;
      }
      if (outcome == mask::MaskOutcome::kNull) {
        m.scratch.resize(4);
        internal::StoreUint32(m.scratch.data(), 0xffffffffu);
      } else {
        internal::StoreUint32(m.scratch.data(), static_cast<uint32_t>(m.scratch.size() - 4));
      }
      AppendTagged(pg::kMsgFunctionCallResponse, m.scratch, out);
      return FrameAction::kDrop;
    }
    case pg::kMsgReadyForQuery:
      EndResult();
      // Everything up to the Query / Sync / FunctionCall this answers is done.
      while (!m.expects.empty()) {
        const Kind kind = m.expects.front().kind;
        m.expects.pop_front();
        if (kind == Kind::kQuery || kind == Kind::kSync || kind == Kind::kFunctionCall) {
          break;
        }
      }
      PrepareHead();
      return so_far;
    default:
      return so_far;
  }
}

void PgSession::BeginCopy(const Expect* head, const pg::CopyResponse& response) {
  MaskState& m = *mask_;
  EndResult();
  const sqlpg::CopyInfo* info = nullptr;
  const mask::Derivation* derivation = nullptr;
  if (head != nullptr && head->kind == Expect::Kind::kQuery && head->copy_known) {
    info = &head->copy;
    derivation = &head->derivation;
  } else if (head != nullptr && head->kind == Expect::Kind::kExecute) {
    auto portal = m.portals.find(head->name);
    if (portal != m.portals.end()) {
      auto statement = m.statements.find(portal->second.statement);
      if (statement != m.statements.end()) {
        derivation = &statement->second.derivation;
        if (statement->second.copy_known) {
          info = &statement->second.copy;
        }
      }
    }
  }
  mask::CopyOptions options;
  std::vector<mask::ColumnPlan> columns(response.column_count);
  std::vector<uint16_t> rules(response.column_count, mask::kNoRule);
  const int16_t format = response.overall_format == 1 ? 1 : 0;
  mask::ColumnPlan null_column;
  null_column.action = mask::ColumnAction::kMask;
  null_column.spec.strategy = mask::Strategy::kNull;
  null_column.format = format;
  if (info == nullptr || !info->options_understood) {
    // Nothing is known about this COPY: every value NULL (fail closed).
    std::fill(columns.begin(), columns.end(), null_column);
    if (format == 1) {
      options.format = mask::CopyFormat::kBinary;
    }
  } else {
    options.format = format == 1 ? mask::CopyFormat::kBinary
                     : info->format == sqlpg::CopyFormatKind::kCsv ? mask::CopyFormat::kCsv
                                                                   : mask::CopyFormat::kText;
    if (options.format == mask::CopyFormat::kCsv) {
      options.delimiter = ',';
      options.null_text = "";
    }
    if (info->delimiter != 0) {
      options.delimiter = info->delimiter;
    }
    if (info->quote != 0) {
      options.quote = info->quote;
    }
    options.escape = info->escape != 0 ? info->escape : options.quote;
    if (info->null_given) {
      options.null_text = info->null_text;
    }
    options.header = info->header;
    // Which source column each field is.
    std::vector<std::string> names;
    const mask::SensitiveRelation* relation = nullptr;
    // COPY (SELECT * FROM t) has t's columns: treated as COPY t.
    const bool star = info->from_query && derivation != nullptr && !derivation->exact &&
                      !derivation->star_relation.empty();
    const std::string_view relation_name = star ? derivation->star_relation : info->relation;
    if ((!info->from_query || star) && m.catalog != nullptr) {
      const auto found =
          m.catalog->FindRelations(star ? std::string_view() : info->relation_schema,
                                   relation_name);
      relation = found.empty() ? nullptr : found.front();
      if (found.size() > 1) {
        relation = nullptr;  // the same name in several schemas: mask by name below
      }
    }
    // A COPY (query) whose columns cannot be told apart, over something sensitive: NULL all.
    const bool opaque_query =
        info->from_query && !star && derivation != nullptr && !derivation->exact &&
        (Tainted(*derivation) || derivation->mentions_sensitive_relation);
    for (size_t i = 0; i < columns.size(); ++i) {
      mask::ColumnPlan& column = columns[i];
      column.format = format;
      // COPY (query): the columns' types are not known; binary values cannot be masked typed.
      column.kind = format == 1 ? mask::ValueKind::kOther : mask::ValueKind::kText;
      std::string name;
      if (opaque_query) {
        column = null_column;
        continue;
      }
      if (!info->from_query || star) {
        if (!info->column_list.empty()) {
          name = i < info->column_list.size() ? info->column_list[i] : "";
        } else if (relation != nullptr && i < relation->columns.size()) {
          name = relation->columns[i];
        }
        const mask::SourceMask* source = nullptr;
        if (relation != nullptr) {
          for (size_t c = 0; c < relation->columns.size(); ++c) {
            if (relation->columns[c] == name) {
              source = m.catalog->FindSource(relation->oid, relation->attnums[c]);
              column.kind = mask::KindOfType(m.catalog->BaseType(relation->types[c]));
            }
          }
        } else if (format == 1) {
          column.kind = mask::ValueKind::kOther;  // binary bytes of an unknown type: NULL
        }
        const uint16_t by_name = source == nullptr ? m.masks->MatchName(name) : mask::kNoRule;
        if (source != nullptr && source->unmasked) {
          continue;  // the policy sees this column in clear
        }
        if (source != nullptr) {
          column.action = mask::ColumnAction::kMask;
          column.spec = source->spec;
          rules[i] = source->rule;
        } else if (by_name != mask::kNoRule) {
          column.action = mask::ColumnAction::kMask;
          column.spec = m.masks->rule(by_name).spec;
          rules[i] = by_name;
        } else if (relation == nullptr && !relation_name.empty() && m.catalog != nullptr &&
                   std::binary_search(m.catalog->sensitive_relations.begin(),
                                      m.catalog->sensitive_relations.end(),
                                      std::string(relation_name)) &&
                   name.empty()) {
          column = null_column;  // a sensitive relation whose column order is unknown
        }
      } else if (derivation != nullptr && derivation->exact &&
                 derivation->columns.size() == columns.size()) {
        const sqlpg::OutputColumn& out = derivation->columns[i];
        if (out.origin == sqlpg::TargetOrigin::kColumn && !out.names.empty()) {
          const uint16_t r = m.masks->MatchName(out.names.front());
          if (r != mask::kNoRule) {
            column.action = mask::ColumnAction::kMask;
            column.spec = m.masks->rule(r).spec;
            rules[i] = r;
          }
        } else if (out.origin == sqlpg::TargetOrigin::kDerived) {
          mask::Derivation one;
          one.known = true;
          one.referenced = out.names;
          one.whole_row = out.names.empty();
          ApplyDerived(one, &column, &rules[i]);
        }
      } else if (derivation != nullptr && Tainted(*derivation)) {
        ApplyDerived(*derivation, &column, &rules[i]);
      }
      if (column.action == mask::ColumnAction::kKeep && m.masks->detectors() != 0) {
        column.action = mask::ColumnAction::kScan;
        column.detectors = m.masks->detectors();
        column.spec = m.masks->scan_spec();
        rules[i] = m.masks->scan_rule();
      }
    }
  }
  bool any = false;
  for (const mask::ColumnPlan& column : columns) {
    any = any || column.action != mask::ColumnAction::kKeep;
  }
  copy_rules_ = std::move(rules);
  if (!any) {
    return;  // nothing to mask: CopyData passes as it is
  }
  m.copy.Begin(options, columns, m.hasher.get(), m.masks->row_size_max());
  m.copy_active = true;
  down_editor_.SetInterest(pg::kMsgCopyData, true);
}

void PgSession::ApplyDerived(const mask::Derivation& derivation, mask::ColumnPlan* column,
                             uint16_t* rule) {
  MaskState& m = *mask_;
  bool found = false;
  const auto take = [&](uint16_t r) {
    const mask::MaskSpec derived = mask::DerivedSpec(m.masks->rule(r).spec);
    column->spec = found ? mask::StricterSpec(column->spec, derived) : derived;
    if (!found) {
      *rule = r;
    }
    found = true;
  };
  bool every = derivation.whole_row;
  for (const std::string& name : derivation.referenced) {
    const uint16_t r = name == "*" ? mask::kNoRule : m.masks->MatchName(name);
    if (r != mask::kNoRule) {
      take(r);
    } else {
      every = true;
    }
  }
  if (every) {
    for (size_t r = 0; r < m.masks->rules().size(); ++r) {
      if (m.masks->rule(static_cast<uint16_t>(r)).detectors == 0 &&
          !m.masks->rule(static_cast<uint16_t>(r)).columns.empty()) {
        take(static_cast<uint16_t>(r));
      }
    }
  }
  if (found) {
    column->action = mask::ColumnAction::kMask;
  }
}

void PgSession::LogCopyMasked() {
  MaskState& m = *mask_;
  const std::span<const uint64_t> counts = m.copy.masked_counts();
  std::string columns;
  uint64_t total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) {
      continue;
    }
    total += counts[i];
    const uint16_t rule = i < copy_rules_.size() ? copy_rules_[i] : mask::kNoRule;
    absl::StrAppend(&columns, columns.empty() ? "" : ",", "#", i + 1, ":", counts[i], "/",
                    rule == mask::kNoRule ? "fail-closed" : m.masks->rule(rule).name);
    AuditMasked(absl::StrCat("#", i + 1), counts[i]);
  }
  stats_->cells_masked += total;
  if (total > 0) {
    JG_LOG(kInfo,
           "event=result_masked shard=%u session=%lu subject=%s resource=%s copy=true rows=%lu "
           "cells=%s",
           shard_index_, session_id_, internal::Clip(identity_->subject, 64).c_str(),
           std::string(resource_name()).c_str(), m.copy.rows(), columns.c_str());
  }
}

}  // namespace jitgate::session
