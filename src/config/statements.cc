// src/config/statements.cc: see statements.h. Reads a policy's "statements" object:
// class lists (allow / block / review / unknown), table and function rules, the inspected length
// limit and per-class messages. Every failure names the JSON path and what was expected.
//
// Invariant of what ReadStatements produces: every class has exactly one action and a non-empty
// rule name; rule names are unique within the policy; each pattern part is empty (any) or a
// folded identifier; tables and functions each hold at most kNameRulesMax rules.
#include "src/config/statements.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"

namespace jitgate::config {

std::string_view StatementActionName(StatementAction action) {
  switch (action) {
    case StatementAction::kAllow:
      return "allow";
    case StatementAction::kBlock:
      return "block";
    case StatementAction::kReview:
      return "review";
  }
  return "block";
}

namespace internal {

// A part of a pattern (statements.h): "*" (any, returned empty) or an identifier, folded to lower case.
bool ReadPatternPart(absl::string_view part, std::string& out) {
  if (part == "*") {
    out.clear();
    return true;
  }
  if (part.empty() || part.size() > 63) {  // NAMEDATALEN - 1
    return false;
  }
  for (size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    const bool letter = absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_';
    const bool later = absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '$';
    if (!letter && !(i > 0 && later)) {
      return false;
    }
  }
  out = absl::AsciiStrToLower(part);
  return true;
}

namespace {

// Rules are scanned in order per relation on every statement (after a hash lookup), and each
// costs compile memory; a few dozen is a large policy.
constexpr size_t kNameRulesMax = 256;
// Messages go to the client in an ErrorResponse; keep them a line.
constexpr size_t kMessageLengthMax = 256;
// PostgreSQL identifiers: NAMEDATALEN - 1.
constexpr size_t kIdentifierLengthMax = 63;
// "schema.name" plus slack for "*".
constexpr size_t kPatternLengthMax = 2 * kIdentifierLengthMax + 1;
// The classifier refuses (kUnknown, kFlagTooLong) anything longer anyway.
constexpr uint32_t kStatementLengthMax = 1u << 20;

constexpr absl::string_view kStatementsKeys[] = {
    "allow", "block",     "review", "unknown", "tables", "functions", "statement_length_max",
    "messages", "inspect"};
constexpr absl::string_view kTableRuleKeys[] = {"match", "access", "action", "message", "name"};
constexpr absl::string_view kFunctionRuleKeys[] = {"match", "action", "message", "name"};
constexpr absl::string_view kAccessNames[] = {"read", "write", "ddl"};  // RelationAccess order
constexpr absl::string_view kClassesExpected =
    "a statement class (read, write, ddl, dcl, destructive, admin, transaction, session, unknown)";

static_assert(static_cast<size_t>(parsers::sql::RelationAccess::kRead) == 0 &&
              static_cast<size_t>(parsers::sql::RelationAccess::kWrite) == 1 &&
              static_cast<size_t>(parsers::sql::RelationAccess::kDdl) == 2);

// The class index of `name`, or -1.
int ClassIndex(absl::string_view name) {
  for (size_t c = 0; c < kStatementClassNames.size(); ++c) {
    if (name == absl::string_view(kStatementClassNames[c].data(), kStatementClassNames[c].size())) {
      return static_cast<int>(c);
    }
  }
  return -1;
}

absl::string_view ClassName(size_t c) {
  return absl::string_view(kStatementClassNames[c].data(), kStatementClassNames[c].size());
}

absl::StatusOr<StatementAction> ReadAction(const Ctx& ctx, absl::string_view path,
                                           const picojson::value& value) {
  constexpr absl::string_view kExpected = R"("allow", "block" or "review")";
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, kExpected, value);
  }
  const std::string& text = value.get<std::string>();
  if (text == "allow") {
    return StatementAction::kAllow;
  }
  if (text == "block") {
    return StatementAction::kBlock;
  }
  if (text == "review") {
    return StatementAction::kReview;
  }
  return RangeError(ctx, path, kExpected, value);
}

absl::StatusOr<NamePattern> ReadPattern(const Ctx& ctx, absl::string_view path,
                                        const picojson::value& value, absl::string_view what) {
  const std::string expected =
      absl::StrCat("a ", what, " pattern: \"schema.name\", \"schema.*\", \"*.name\", \"name\" or "
                   "\"*\" (identifiers of [A-Za-z0-9_$], at most 63 characters)");
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, expected, value);
  }
  const std::string& text = value.get<std::string>();
  if (text.empty() || text.size() > kPatternLengthMax) {
    return RangeError(ctx, path, expected, value);
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  NamePattern pattern;
  pattern.text = text;
  bool ok = false;
  if (parts.size() == 1) {
    ok = ReadPatternPart(parts[0], pattern.name);
  } else if (parts.size() == 2) {
    ok = ReadPatternPart(parts[0], pattern.schema) && ReadPatternPart(parts[1], pattern.name);
  }
  if (!ok) {
    return RangeError(ctx, path, expected, value);
  }
  return pattern;
}

// "access": ["read", "write", "ddl"] into a mask; absent = all three.
absl::StatusOr<uint8_t> ReadAccessMask(const Ctx& ctx, absl::string_view path,
                                       const picojson::value* value) {
  if (value == nullptr) {
    return static_cast<uint8_t>(0b111);
  }
  constexpr absl::string_view kExpected = R"(an array of "read", "write" and "ddl")";
  if (!value->is<picojson::array>() || value->get<picojson::array>().empty()) {
    return TypeError(ctx, path, kExpected, *value);
  }
  uint8_t mask = 0;
  const picojson::array& array = value->get<picojson::array>();
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string item_path = absl::StrCat(path, "[", i, "]");
    if (!array[i].is<std::string>()) {
      return TypeError(ctx, item_path, R"("read", "write" or "ddl")", array[i]);
    }
    int bit = -1;
    for (size_t a = 0; a < std::size(kAccessNames); ++a) {
      if (array[i].get<std::string>() == kAccessNames[a]) {
        bit = static_cast<int>(a);
      }
    }
    if (bit < 0) {
      return RangeError(ctx, item_path, R"("read", "write" or "ddl")", array[i]);
    }
    if ((mask & (1u << bit)) != 0) {
      return Invalid(ctx, item_path, absl::StrCat("access \"", kAccessNames[bit], "\" listed twice"));
    }
    mask = static_cast<uint8_t>(mask | (1u << bit));
  }
  return mask;
}

absl::StatusOr<std::string> ReadMessage(const Ctx& ctx, absl::string_view path,
                                        const picojson::value& value) {
  return ReadText(ctx, path, value, kMessageLengthMax, "a message");
}

// One rule of "tables" (tables = true) or "functions".
absl::StatusOr<NameRule> ReadNameRule(const Ctx& ctx, absl::string_view path,
                                      const picojson::value& value, bool tables,
                                      absl::string_view derived_name) {
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, path, value, "an object with match and action"));
  if (tables) {
    JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kTableRuleKeys));
  } else {
    JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kFunctionRuleKeys));
  }
  JG_ASSIGN_OR_RETURN(const picojson::value* match, Require(ctx, path, *object, "match"));
  JG_ASSIGN_OR_RETURN(const picojson::value* action, Require(ctx, path, *object, "action"));
  NameRule rule;
  JG_ASSIGN_OR_RETURN(rule.match, ReadPattern(ctx, absl::StrCat(path, ".match"), *match,
                                              tables ? "table" : "function"));
  JG_ASSIGN_OR_RETURN(rule.action, ReadAction(ctx, absl::StrCat(path, ".action"), *action));
  if (tables) {
    JG_ASSIGN_OR_RETURN(rule.access_mask, ReadAccessMask(ctx, absl::StrCat(path, ".access"),
                                                         Find(*object, "access")));
  }
  if (const picojson::value* message = Find(*object, "message"); message != nullptr) {
    JG_ASSIGN_OR_RETURN(rule.message, ReadMessage(ctx, absl::StrCat(path, ".message"), *message));
  }
  if (const picojson::value* name = Find(*object, "name"); name != nullptr) {
    JG_ASSIGN_OR_RETURN(rule.name, ReadName(ctx, absl::StrCat(path, ".name"), *name));
  } else {
    rule.name = std::string(derived_name);
  }
  return rule;
}

absl::Status ReadNameRules(const Ctx& ctx, absl::string_view path, absl::string_view key,
                           const picojson::value* value, bool tables,
                           std::vector<NameRule>& out) {
  if (value == nullptr) {
    return absl::OkStatus();
  }
  if (!value->is<picojson::array>()) {
    return TypeError(ctx, path, tables ? "an array of table rules" : "an array of function rules",
                     *value);
  }
  const picojson::array& array = value->get<picojson::array>();
  if (array.size() > kNameRulesMax) {
    return Invalid(ctx, path,
                   absl::StrCat("expected at most ", kNameRulesMax, " rules, got ", array.size()));
  }
  for (size_t i = 0; i < array.size(); ++i) {
    JG_ASSIGN_OR_RETURN(NameRule rule,
                        ReadNameRule(ctx, absl::StrCat(path, "[", i, "]"), array[i], tables,
                                     absl::StrCat("statements.", key, "[", i, "]")));
    out.push_back(std::move(rule));
  }
  return absl::OkStatus();
}

// The three class lists and "unknown"; `said[c]` holds where class c was set ("" = not said).
absl::Status ReadClassLists(const Ctx& ctx, absl::string_view path,
                            const picojson::object& object, StatementRules& rules) {
  std::array<std::string, StatementRules::kClassCount> said;
  const struct {
    absl::string_view key;
    StatementAction action;
  } lists[] = {{"allow", StatementAction::kAllow},
               {"block", StatementAction::kBlock},
               {"review", StatementAction::kReview}};
  for (const auto& list : lists) {
    const picojson::value* value = Find(object, list.key);
    if (value == nullptr) {
      continue;
    }
    const std::string list_path = absl::StrCat(path, ".", list.key);
    if (!value->is<picojson::array>()) {
      return TypeError(ctx, list_path, "an array of statement classes", *value);
    }
    const picojson::array& array = value->get<picojson::array>();
    for (size_t i = 0; i < array.size(); ++i) {
      const std::string item_path = absl::StrCat(list_path, "[", i, "]");
      if (!array[i].is<std::string>()) {
        return TypeError(ctx, item_path, kClassesExpected, array[i]);
      }
      const int c = ClassIndex(array[i].get<std::string>());
      if (c < 0) {
        return RangeError(ctx, item_path, kClassesExpected, array[i]);
      }
      if (!said[c].empty()) {
        return Invalid(ctx, item_path,
                       absl::StrCat("class \"", ClassName(c), "\" is listed twice (also ",
                                    said[c], ")"));
      }
      said[c] = item_path;
      rules.class_actions[c] = list.action;
      rules.class_rule_names[c] = absl::StrCat("statements.", list.key, "[", ClassName(c), "]");
    }
  }
  const size_t unknown = static_cast<size_t>(parsers::sql::StatementClass::kUnknown);
  if (const picojson::value* value = Find(object, "unknown"); value != nullptr) {
    const std::string unknown_path = absl::StrCat(path, ".unknown");
    constexpr absl::string_view kExpected = R"("block" or "allow")";
    if (!value->is<std::string>()) {
      return TypeError(ctx, unknown_path, kExpected, *value);
    }
    const std::string& text = value->get<std::string>();
    if (text != "block" && text != "allow") {
      return RangeError(ctx, unknown_path, kExpected, *value);
    }
    if (!said[unknown].empty()) {
      return Invalid(ctx, unknown_path,
                     absl::StrCat("class \"unknown\" is listed twice (also ", said[unknown], ")"));
    }
    rules.class_actions[unknown] =
        text == "allow" ? StatementAction::kAllow : StatementAction::kBlock;
    rules.class_rule_names[unknown] = "statements.unknown";
  }
  return absl::OkStatus();
}

absl::Status ReadMessages(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                          StatementRules& rules) {
  if (value == nullptr) {
    return absl::OkStatus();
  }
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, path, *value, "an object of messages keyed by class"));
  for (const auto& [key, item] : *object) {
    const std::string item_path = Child(path, key);
    const int c = ClassIndex(key);
    if (c < 0) {
      return Invalid(ctx, item_path,
                     absl::StrCat("unknown class ", Quote(key), ": expected ", kClassesExpected));
    }
    JG_ASSIGN_OR_RETURN(rules.class_messages[c], ReadMessage(ctx, item_path, item));
  }
  return absl::OkStatus();
}

// Rule names are how operators and the audit log tell rules apart: no two alike in a policy.
absl::Status CheckRuleNames(const Ctx& ctx, absl::string_view path, const StatementRules& rules) {
  std::vector<std::pair<absl::string_view, std::string>> seen;  // name, path
  for (size_t c = 0; c < rules.class_rule_names.size(); ++c) {
    seen.emplace_back(rules.class_rule_names[c], "");
  }
  const struct {
    absl::string_view key;
    const std::vector<NameRule>* list;
  } lists[] = {{"tables", &rules.tables}, {"functions", &rules.functions}};
  for (const auto& list : lists) {
    for (size_t i = 0; i < list.list->size(); ++i) {
      const std::string& name = (*list.list)[i].name;
      const std::string rule_path = absl::StrCat(path, ".", list.key, "[", i, "].name");
      for (const auto& [other, other_path] : seen) {
        if (other == name) {
          return Invalid(ctx, rule_path,
                         absl::StrCat("duplicate rule name ", Quote(name),
                                      other_path.empty() ? " (a class rule's name)"
                                                         : absl::StrCat(" (also ", other_path, ")")));
        }
      }
      seen.emplace_back(name, rule_path);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadStatements(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                            StatementRules& rules) {
  rules = StatementRules();
  for (size_t c = 0; c < StatementRules::kClassCount; ++c) {
    rules.class_rule_names[c] = absl::StrCat("statements.default[", ClassName(c), "]");
  }
  if (value == nullptr) {
    return absl::OkStatus();
  }
  JG_ASSIGN_OR_RETURN(
      const picojson::object* object,
      AsObject(ctx, path, *value, "an object (allow, block, review, unknown, tables, ...)"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kStatementsKeys));
  JG_RETURN_IF_ERROR(ReadClassLists(ctx, path, *object, rules));
  JG_RETURN_IF_ERROR(ReadNameRules(ctx, absl::StrCat(path, ".tables"), "tables",
                                   Find(*object, "tables"), true, rules.tables));
  JG_RETURN_IF_ERROR(ReadNameRules(ctx, absl::StrCat(path, ".functions"), "functions",
                                   Find(*object, "functions"), false, rules.functions));
  JG_RETURN_IF_ERROR(ReadOptionalU32(ctx, absl::StrCat(path, ".statement_length_max"),
                                     Find(*object, "statement_length_max"), 1,
                                     kStatementLengthMax, rules.statement_length_max));
  JG_RETURN_IF_ERROR(ReadMessages(ctx, absl::StrCat(path, ".messages"), Find(*object, "messages"),
                                  rules));
  JG_RETURN_IF_ERROR(ReadOptionalBool(ctx, absl::StrCat(path, ".inspect"),
                                      Find(*object, "inspect"), rules.inspect));
  return CheckRuleNames(ctx, path, rules);
}

}  // namespace internal
}  // namespace jitgate::config
