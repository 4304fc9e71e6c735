// Implementation of src/session/guard.h.
#include "src/session/guard.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <span>

#include "absl/strings/str_cat.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/sql/pg/classify.h"
#include "src/session/pg_session_internal.h"

namespace jitgate::session {

namespace sql = parsers::sql;
namespace sqlpg = parsers::sql::pg;
namespace pg = parsers::pg;

namespace {

constexpr absl::string_view kMarkerPrefix = "jitgate_blocked_";

absl::string_view AbslView(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

// The first refusing decision for `statement` with its unqualified names in each of `schemas`
// (names are restored after), or an allowing one.
policy::StatementDecision DecideInEverySchema(const policy::RulesTable& rules,
                                              uint32_t policy_index, sql::Statement& statement,
                                              std::span<const std::string> schemas) {
  policy::StatementDecision decision = rules.Decide(policy_index, statement);
  if (!decision.allowed() || schemas.empty()) {
    return decision;
  }
  // Which names are unqualified (restored to unqualified after).
  std::array<bool, sql::kRelationsMax> relation_set{};
  std::array<bool, sql::kFunctionsMax> function_set{};
  bool unqualified = false;
  for (uint8_t r = 0; r < statement.relation_count; ++r) {
    relation_set[r] = statement.relations[r].name.schema.empty();
    unqualified |= relation_set[r];
  }
  for (uint8_t f = 0; f < statement.function_count; ++f) {
    function_set[f] = statement.functions[f].schema.empty();
    unqualified |= function_set[f];
  }
  if (!unqualified) {
    return decision;
  }
  const auto qualify = [&](std::string_view schema) {  // every unqualified name, in `schema`
    for (uint8_t r = 0; r < statement.relation_count; ++r) {
      if (relation_set[r]) {
        statement.relations[r].name.schema = schema;
      }
    }
    for (uint8_t f = 0; f < statement.function_count; ++f) {
      if (function_set[f]) {
        statement.functions[f].schema = schema;
      }
    }
  };
  for (const std::string& schema : schemas) {
    qualify(schema);
    decision = rules.Decide(policy_index, statement);
    if (!decision.allowed()) {
      break;
    }
  }
  qualify({});
  return decision;
}

// The first refused statement of `statements[0, count)`, as a Judgement (allowed if none).
// Whether `statement` (its text in `text`) may change the session's search_path: SET or RESET
// naming it (also spelt as a U& identifier), set_config(), or SQL the classifier cannot see into.
// RESET ALL and DISCARD ALL go back to the default and do not count.
bool MayChangeSearchPath(const sql::Statement& statement, std::string_view text) {
  if ((statement.flags & (sql::kFlagSetConfig | sql::kFlagDynamicSql)) != 0) {
    return true;
  }
  if (statement.statement_class != sql::StatementClass::kSession ||
      size_t{statement.offset} + statement.length > text.size()) {
    return statement.statement_class == sql::StatementClass::kSession;
  }
  const std::string_view own = text.substr(statement.offset, statement.length);
  return internal::ContainsIgnoreCase(own, "search_path") || internal::ContainsIgnoreCase(own, "u&");
}

// `*search_path_unknown` (may be null: never) turns on, for the statements after it, at a
// statement that may change search_path.
Judgement DecideAll(const policy::RulesTable& rules, uint32_t policy_index,
                    std::span<sql::Statement> statements, std::string_view text = {},
                    std::span<const std::string> schemas = {},
                    bool* search_path_unknown = nullptr) {
  Judgement judgement;
  judgement.statement_count = static_cast<uint32_t>(statements.size());
  for (size_t i = 0; i < statements.size(); ++i) {
    const bool unknown = search_path_unknown != nullptr && *search_path_unknown;
    const policy::StatementDecision decision = DecideInEverySchema(
        rules, policy_index, statements[i],
        unknown ? schemas : std::span<const std::string>());
    if (search_path_unknown != nullptr && MayChangeSearchPath(statements[i], text)) {
      *search_path_unknown = true;
    }
    if (!decision.allowed()) {
      judgement.allowed = false;
      judgement.decision = decision;
      judgement.statement_index = static_cast<uint32_t>(i);
      judgement.statement_class = statements[i].statement_class;
      judgement.command = statements[i].command;
      judgement.flags = statements[i].flags;
      return judgement;
    }
  }
  if (!statements.empty()) {
    // Allowed: the first statement's class and command describe it (audit, explain).
    judgement.statement_class = statements[0].statement_class;
    judgement.command = statements[0].command;
  }
  return judgement;
}

Judgement JudgeOneMode(const policy::RulesTable& rules, uint32_t policy_index,
                       std::string_view text, sqlpg::LexMode mode,
                       std::span<const std::string> schemas, bool* search_path_unknown,
                       GuardScratch* scratch) {
  const sqlpg::ClassifyResult result =
      sqlpg::ClassifyMessage(text, mode, &scratch->cache, scratch->statements);
  if (result.overflow) {
    Judgement judgement = HardRefusal(
        "limits.statements_per_message",
        absl::StrCat("a query string may hold at most ", sqlpg::kMessageStatementsMax,
                     " statements; send them in smaller batches"));
    judgement.statement_count = result.statement_count;
    return judgement;
  }
  Judgement judgement =
      DecideAll(rules, policy_index, std::span(scratch->statements).first(result.statement_count),
                text, schemas, search_path_unknown);
  judgement.cache_hits = result.cache_hits;
  return judgement;
}

}  // namespace

GuardScratch::GuardScratch(uint64_t seed, uint32_t cache_capacity)
    : cache(cache_capacity, seed), statements(sqlpg::kMessageStatementsMax) {}

Judgement JudgeSql(const policy::RulesTable& rules, uint32_t policy_index, std::string_view text,
                   sqlpg::LexMode mode, bool both_modes, std::span<const std::string> schemas,
                   bool* search_path_unknown, GuardScratch* scratch) {
  const bool unknown_before = *search_path_unknown;
  Judgement judgement =
      JudgeOneMode(rules, policy_index, text, mode, schemas, search_path_unknown, scratch);
  if (!judgement.allowed || !both_modes || text.find('\\') == std::string_view::npos) {
    return judgement;  // without a backslash both modes lex the same
  }
  const sqlpg::LexMode other{.standard_conforming_strings = !mode.standard_conforming_strings};
  bool unknown_other = unknown_before;
  judgement = JudgeOneMode(rules, policy_index, text, other, schemas, &unknown_other, scratch);
  *search_path_unknown = *search_path_unknown || unknown_other;
  return judgement;
}

std::vector<std::string> SchemaCandidates(const config::StatementRules& rules) {
  std::vector<std::string> schemas;
  const auto add = [&](const std::string& schema) {
    if (!schema.empty() &&
        std::find(schemas.begin(), schemas.end(), schema) == schemas.end()) {
      schemas.push_back(schema);
    }
  };
  for (const config::NameRule& rule : rules.tables) {
    add(rule.match.schema);
  }
  for (const config::NameRule& rule : rules.functions) {
    add(rule.match.schema);
  }
  if (schemas.empty()) {
    return schemas;  // no rule names a schema: where a name resolves cannot change a decision
  }
  add("public");
  add("pg_catalog");
  // A schema no rule names, standing for every other schema (rules hold folded lower-case
  // names, so none can name this one).
  schemas.push_back("jitgate-Unlisted");
  return schemas;
}

Judgement JudgeOpaque(const policy::RulesTable& rules, uint32_t policy_index,
                      std::string_view command, bool too_long, GuardScratch* scratch) {
  sql::Statement& statement = scratch->statements[0];
  statement.Reset();
  statement.statement_class = sql::StatementClass::kUnknown;
  statement.command = command;
  statement.flags = too_long ? uint32_t{sql::kFlagTooLong} : uint32_t{0};
  return DecideAll(rules, policy_index, std::span(&statement, 1));
}

Judgement HardRefusal(std::string_view rule_name, std::string_view message) {
  Judgement judgement;
  judgement.allowed = false;
  judgement.decision.verdict = policy::Verdict::kBlock;
  judgement.decision.rule_index = policy::RulesTable::kNoRule;
  judgement.decision.rule_name = rule_name;
  judgement.hard_message.assign(message);
  judgement.statement_count = 1;
  judgement.command = "QUERY";
  return judgement;
}

uint64_t MarkerNonce() {
  static const uint64_t nonce = [] {
    uint64_t value = 0;
    JG_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof(value)) == 1);
    return value;
  }();
  return nonce;
}

std::string MarkerText(uint64_t nonce, uint64_t seq) {
  return absl::StrCat(kMarkerPrefix, absl::Hex(nonce, absl::kZeroPad16), "_", seq);
}

std::optional<uint64_t> FindMarker(std::string_view message, uint64_t nonce) {
  const std::string head = absl::StrCat(kMarkerPrefix, absl::Hex(nonce, absl::kZeroPad16), "_");
  const size_t at = message.find(std::string_view(head));
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  size_t digits = 0;
  for (size_t i = at + head.size(); i < message.size() && digits < 19; ++i, ++digits) {
    const char c = message[i];
    if (c < '0' || c > '9') {
      break;
    }
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  if (digits == 0) {
    return std::nullopt;
  }
  return seq;
}

void AppendQueryFrame(std::string_view text, std::vector<std::byte>* out) {
  const size_t at = out->size();
  out->resize(at + 5 + text.size() + 1);
  std::byte* p = out->data() + at;
  p[0] = std::byte{static_cast<unsigned char>(pg::kMsgQuery)};
  internal::StoreUint32(p + 1, static_cast<uint32_t>(4 + text.size() + 1));
  std::memcpy(p + 5, text.data(), text.size());
  p[5 + text.size()] = std::byte{0};
}

void AppendParseFrame(std::string_view statement_name, std::string_view text,
                      std::vector<std::byte>* out) {
  const size_t body = statement_name.size() + 1 + text.size() + 1 + 2;
  const size_t at = out->size();
  out->resize(at + 5 + body);
  std::byte* p = out->data() + at;
  p[0] = std::byte{static_cast<unsigned char>(pg::kMsgParse)};
  internal::StoreUint32(p + 1, static_cast<uint32_t>(4 + body));
  p += 5;
  if (!statement_name.empty()) {  // an empty view may have no data pointer
    std::memcpy(p, statement_name.data(), statement_name.size());
  }
  p += statement_name.size();
  *p++ = std::byte{0};
  std::memcpy(p, text.data(), text.size());
  p += text.size();
  *p++ = std::byte{0};
  p[0] = std::byte{0};  // Int16 0: no parameter types
  p[1] = std::byte{0};
}

std::vector<std::byte> RefusalError(const Judgement& judgement, std::string_view policy_name) {
  const std::string message = absl::StrCat(
      "jitgate: ", judgement.hard_message.empty() ? AbslView(judgement.decision.message)
                                                  : AbslView(judgement.hard_message));
  std::string detail = absl::StrCat("Rule \"", AbslView(judgement.decision.rule_name),
                                    "\" of policy \"", AbslView(policy_name), "\" refused ");
  if (judgement.statement_count > 1) {
    absl::StrAppend(&detail, "statement ", judgement.statement_index + 1, " of ",
                    judgement.statement_count, " (");
  } else {
    absl::StrAppend(&detail, "the statement (");
  }
  absl::StrAppend(&detail, judgement.command.empty() ? "?" : AbslView(judgement.command),
                  ", class ", AbslView(sql::StatementClassName(judgement.statement_class)),
                  "); nothing of the message ran.");
  pg::ErrorFields fields;
  fields.severity = "ERROR";
  fields.sqlstate = "42501";
  if (judgement.decision.verdict == policy::Verdict::kReview) {
    fields.hint = "The policy sends this statement to review; approval requests are not "
                  "available yet.";
  }
  std::string clipped_message = internal::Clip(message, 900);
  std::string clipped_detail = internal::Clip(detail, 900);
  fields.message = clipped_message;
  fields.detail = clipped_detail;
  std::array<std::byte, internal::kErrorMessageSizeMax + 64> buffer;
  const size_t size = pg::EncodeErrorResponse(fields, buffer);
  JG_CHECK(size > 0);
  return std::vector<std::byte>(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(size));
}

}  // namespace jitgate::session
