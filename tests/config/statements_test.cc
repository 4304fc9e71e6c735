// tests/config/statements_test.cc: a policy's "statements" object (config::StatementRules):
// defaults, class lists, table and function rules, derived rule names, and the errors (unknown
// class, duplicate class, bad pattern, bad action, bad access, duplicate rule name, unknown key).
// Built by tests/policy/meson.build (the statement rules are src/policy's work).
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jitgate/config.h"

namespace jitgate::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using parsers::sql::StatementClass;

constexpr char kFile[] = "jitgate.json";

// A gateway config with one policy whose "statements" is `statements` (omitted when empty).
std::string Doc(const std::string& statements) {
  return absl::StrCat(R"({
  "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
                 "insecure": true}],
  "identity": {"issuer": "https://i/", "audience": "api://jitgate", "jwks_file": "/k.json"},
  "resources": {"orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"}},
  "policies": [{"name": "p", "match": {"groups": ["g"]}, "resources": ["orders"],
                "access": {"mode": "auto"})",
                      statements.empty() ? "" : absl::StrCat(", \"statements\": ", statements),
                      "}]}");
}

StatementRules Rules(const std::string& statements) {
  absl::StatusOr<Config> config = Parse(Doc(statements), kFile);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) {
    return StatementRules();
  }
  return config->policies[0].statements;
}

void ExpectInvalid(const std::string& statements, const std::string& path,
                   const std::string& gist) {
  SCOPED_TRACE(statements);
  const absl::StatusOr<Config> config = Parse(Doc(statements), kFile);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, StartsWith(absl::StrCat(kFile, ": ", path, ": ")));
  EXPECT_THAT(message, HasSubstr(gist));
}

StatementAction ActionOf(const StatementRules& rules, StatementClass c) {
  return rules.class_actions[static_cast<size_t>(c)];
}
const std::string& NameOf(const StatementRules& rules, StatementClass c) {
  return rules.class_rule_names[static_cast<size_t>(c)];
}

TEST(StatementsConfig, AbsentMeansSafeDefaults) {
  const StatementRules rules = Rules("");
  EXPECT_EQ(ActionOf(rules, StatementClass::kRead), StatementAction::kAllow);
  EXPECT_EQ(ActionOf(rules, StatementClass::kWrite), StatementAction::kAllow);
  EXPECT_EQ(ActionOf(rules, StatementClass::kTransaction), StatementAction::kAllow);
  EXPECT_EQ(ActionOf(rules, StatementClass::kSession), StatementAction::kAllow);
  EXPECT_EQ(ActionOf(rules, StatementClass::kDestructive), StatementAction::kBlock);
  EXPECT_EQ(ActionOf(rules, StatementClass::kDdl), StatementAction::kBlock);
  EXPECT_EQ(ActionOf(rules, StatementClass::kDcl), StatementAction::kBlock);
  EXPECT_EQ(ActionOf(rules, StatementClass::kAdmin), StatementAction::kBlock);
  EXPECT_EQ(ActionOf(rules, StatementClass::kUnknown), StatementAction::kBlock);
  EXPECT_EQ(NameOf(rules, StatementClass::kRead), "statements.default[read]");
  EXPECT_EQ(NameOf(rules, StatementClass::kUnknown), "statements.default[unknown]");
  EXPECT_TRUE(rules.tables.empty());
  EXPECT_TRUE(rules.functions.empty());
  EXPECT_EQ(rules.statement_length_max, 1u << 20);
  EXPECT_EQ(Rules("{}").class_actions, rules.class_actions);
}

TEST(StatementsConfig, ClassListsSetActionsAndNames) {
  const StatementRules rules = Rules(
      R"({"allow": ["ddl"], "block": ["write"], "review": ["destructive"], "unknown": "allow",
          "messages": {"ddl": "ask the DBA"}, "statement_length_max": 4096})");
  EXPECT_EQ(ActionOf(rules, StatementClass::kDdl), StatementAction::kAllow);
  EXPECT_EQ(ActionOf(rules, StatementClass::kWrite), StatementAction::kBlock);
  EXPECT_EQ(ActionOf(rules, StatementClass::kDestructive), StatementAction::kReview);
  EXPECT_EQ(ActionOf(rules, StatementClass::kUnknown), StatementAction::kAllow);
  EXPECT_EQ(ActionOf(rules, StatementClass::kRead), StatementAction::kAllow);  // not said
  EXPECT_EQ(ActionOf(rules, StatementClass::kAdmin), StatementAction::kBlock);  // not said
  EXPECT_EQ(NameOf(rules, StatementClass::kDdl), "statements.allow[ddl]");
  EXPECT_EQ(NameOf(rules, StatementClass::kWrite), "statements.block[write]");
  EXPECT_EQ(NameOf(rules, StatementClass::kDestructive), "statements.review[destructive]");
  EXPECT_EQ(NameOf(rules, StatementClass::kUnknown), "statements.unknown");
  EXPECT_EQ(NameOf(rules, StatementClass::kAdmin), "statements.default[admin]");
  EXPECT_EQ(rules.class_messages[static_cast<size_t>(StatementClass::kDdl)], "ask the DBA");
  EXPECT_EQ(rules.statement_length_max, 4096u);
}

TEST(StatementsConfig, TableAndFunctionRules) {
  const StatementRules rules = Rules(R"({
    "tables": [{"match": "Payments.*", "access": ["write"], "action": "block",
                "message": "payments are read-only for agents", "name": "no-payment-writes"},
               {"match": "public.Orders", "action": "allow"},
               {"match": "*.audit_log", "access": ["write", "ddl"], "action": "review"},
               {"match": "secrets", "action": "block"},
               {"match": "*", "access": ["read"], "action": "allow"}],
    "functions": [{"match": "pg_read_file", "action": "block", "name": "no-files"},
                  {"match": "pg_catalog.*", "action": "allow"}]})");
  ASSERT_EQ(rules.tables.size(), 5u);
  EXPECT_EQ(rules.tables[0].name, "no-payment-writes");
  EXPECT_EQ(rules.tables[0].match.text, "Payments.*");
  EXPECT_EQ(rules.tables[0].match.schema, "payments");
  EXPECT_EQ(rules.tables[0].match.name, "");
  EXPECT_EQ(rules.tables[0].access_mask, 0b010);
  EXPECT_EQ(rules.tables[0].action, StatementAction::kBlock);
  EXPECT_EQ(rules.tables[0].message, "payments are read-only for agents");
  EXPECT_EQ(rules.tables[1].name, "statements.tables[1]");
  EXPECT_EQ(rules.tables[1].match.schema, "public");
  EXPECT_EQ(rules.tables[1].match.name, "orders");
  EXPECT_EQ(rules.tables[1].access_mask, 0b111);
  EXPECT_EQ(rules.tables[2].match.schema, "");
  EXPECT_EQ(rules.tables[2].match.name, "audit_log");
  EXPECT_EQ(rules.tables[2].access_mask, 0b110);
  EXPECT_EQ(rules.tables[2].action, StatementAction::kReview);
  EXPECT_EQ(rules.tables[3].match.schema, "");
  EXPECT_EQ(rules.tables[3].match.name, "secrets");
  EXPECT_EQ(rules.tables[4].match.schema, "");
  EXPECT_EQ(rules.tables[4].match.name, "");
  ASSERT_EQ(rules.functions.size(), 2u);
  EXPECT_EQ(rules.functions[0].name, "no-files");
  EXPECT_EQ(rules.functions[0].match.name, "pg_read_file");
  EXPECT_EQ(rules.functions[1].name, "statements.functions[1]");
  EXPECT_EQ(rules.functions[1].match.schema, "pg_catalog");
}

constexpr char kP[] = "$.policies[0].statements";

TEST(StatementsConfig, ClassErrors) {
  ExpectInvalid(R"({"allow": ["reads"]})", absl::StrCat(kP, ".allow[0]"),
                "expected a statement class (read, write, ddl");
  ExpectInvalid(R"({"allow": ["read"], "block": ["read"]})", absl::StrCat(kP, ".block[0]"),
                "class \"read\" is listed twice (also $.policies[0].statements.allow[0])");
  ExpectInvalid(R"({"block": ["ddl", "ddl"]})", absl::StrCat(kP, ".block[1]"), "listed twice");
  ExpectInvalid(R"({"review": ["unknown"], "unknown": "allow"})", absl::StrCat(kP, ".unknown"),
                "class \"unknown\" is listed twice");
  ExpectInvalid(R"({"unknown": "review"})", absl::StrCat(kP, ".unknown"),
                R"(expected "block" or "allow", got "review")");
  ExpectInvalid(R"({"allow": "read"})", absl::StrCat(kP, ".allow"),
                "expected an array of statement classes");
  ExpectInvalid(R"({"allow": [1]})", absl::StrCat(kP, ".allow[0]"), "expected a statement class");
  ExpectInvalid(R"({"messages": {"reads": "x"}})", absl::StrCat(kP, ".messages.reads"),
                "unknown class \"reads\"");
  ExpectInvalid(R"({"messages": {"read": ""}})", absl::StrCat(kP, ".messages.read"), "message");
  ExpectInvalid(R"({"deny": ["read"]})", kP, "unknown key \"deny\"");
  ExpectInvalid(R"(["read"])", kP, "expected an object");
  ExpectInvalid(R"({"statement_length_max": 0})", absl::StrCat(kP, ".statement_length_max"),
                "between 1 and 1048576");
  ExpectInvalid(R"({"statement_length_max": 1048577})",
                absl::StrCat(kP, ".statement_length_max"), "between 1 and 1048576");
}

TEST(StatementsConfig, RuleErrors) {
  for (const char* bad : {"", "a.b.c", "pay*", ".t", "s.", "1abc", "a b", "*x", "a.*b",
                          "\\\"Quoted\\\"", "$x"}) {
    ExpectInvalid(absl::StrCat(R"({"tables": [{"match": ")", bad, R"(", "action": "block"}]})"),
                  absl::StrCat(kP, ".tables[0].match"), "expected a table pattern");
  }
  ExpectInvalid(R"({"functions": [{"match": "a.b.c", "action": "block"}]})",
                absl::StrCat(kP, ".functions[0].match"), "expected a function pattern");
  ExpectInvalid(R"({"tables": [{"match": "t", "action": "deny"}]})",
                absl::StrCat(kP, ".tables[0].action"),
                R"(expected "allow", "block" or "review", got "deny")");
  ExpectInvalid(R"({"tables": [{"match": "t"}]})", absl::StrCat(kP, ".tables[0]"),
                "missing key \"action\"");
  ExpectInvalid(R"({"tables": [{"action": "block"}]})", absl::StrCat(kP, ".tables[0]"),
                "missing key \"match\"");
  ExpectInvalid(R"({"tables": [{"match": "t", "action": "block", "access": ["delete"]}]})",
                absl::StrCat(kP, ".tables[0].access[0]"), R"(expected "read", "write" or "ddl")");
  ExpectInvalid(R"({"tables": [{"match": "t", "action": "block", "access": []}]})",
                absl::StrCat(kP, ".tables[0].access"), "expected an array");
  ExpectInvalid(R"({"tables": [{"match": "t", "action": "block", "access": ["read", "read"]}]})",
                absl::StrCat(kP, ".tables[0].access[1]"), "listed twice");
  ExpectInvalid(R"({"functions": [{"match": "f", "action": "block", "access": ["read"]}]})",
                absl::StrCat(kP, ".functions[0]"), "unknown key \"access\"");
  ExpectInvalid(R"({"tables": [{"match": "t", "action": "block", "name": "bad name"}]})",
                absl::StrCat(kP, ".tables[0].name"), "expected");
  ExpectInvalid(R"({"tables": [{"match": "t", "action": "block", "name": "x"}],
                    "functions": [{"match": "f", "action": "block", "name": "x"}]})",
                absl::StrCat(kP, ".functions[0].name"),
                "duplicate rule name \"x\" (also $.policies[0].statements.tables[0].name)");
  ExpectInvalid(R"({"tables": {"match": "t"}})", absl::StrCat(kP, ".tables"),
                "expected an array of table rules");
}

}  // namespace
}  // namespace jitgate::config
