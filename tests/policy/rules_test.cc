// tests/policy/rules_test.cc: RulesTable (src/policy/rules.h): every default, each class allowed /
// blocked / reviewed as configured, table rules in each pattern form, allow-list semantics,
// function rules, unknown and too-long statements, rule names and messages in decisions, and
// that Decide allocates nothing.
#include "src/policy/rules.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jitgate/config.h"
#include "jitgate/parsers/sql/statement.h"
#include "tests/common/alloc_counter.h"

namespace jitgate::policy {
namespace {

using parsers::sql::RelationAccess;
using parsers::sql::Statement;
using parsers::sql::StatementClass;
using ::testing::HasSubstr;

// A config whose policies[0] ("p") has `statements` (none when empty) and policies[1] ("q") none.
config::Config MakeConfig(const std::string& statements) {
  const std::string text = absl::StrCat(R"({
  "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
                 "insecure": true}],
  "identity": {"issuer": "https://i/", "audience": "api://jitgate", "jwks_file": "/k.json"},
  "resources": {"orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"}},
  "policies": [{"name": "p", "match": {"groups": ["g"]}, "resources": ["orders"],
                "access": {"mode": "auto"})",
                                        statements.empty() ? "" : ", \"statements\": ", statements,
                                        R"(},
               {"name": "q", "match": {"groups": ["h"]}, "resources": ["orders"],
                "access": {"mode": "auto"}}]})");
  absl::StatusOr<config::Config> config = config::Parse(text, "jitgate.json");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *std::move(config) : config::Config();
}

std::shared_ptr<const RulesTable> Compile(const std::string& statements) {
  absl::StatusOr<std::shared_ptr<const RulesTable>> table =
      RulesTable::Compile(MakeConfig(statements));
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : nullptr;
}

// A statement of class `c` touching `relations` ("schema.name:access" or "name:access", access
// r/w/d) and calling `functions` ("schema.name" or "name").
Statement Make(StatementClass c, std::vector<std::string> relations = {},
               std::vector<std::string> functions = {}) {
  Statement statement;
  statement.statement_class = c;
  statement.length = 20;
  for (const std::string& text : relations) {
    const size_t colon = text.find(':');
    const std::string full = text.substr(0, colon);
    const char kind = text[colon + 1];
    const RelationAccess access = kind == 'r'   ? RelationAccess::kRead
                                  : kind == 'w' ? RelationAccess::kWrite
                                                : RelationAccess::kDdl;
    const size_t dot = full.find('.');
    if (dot == std::string::npos) {
      statement.AddRelation("", full, access);
    } else {
      statement.AddRelation(full.substr(0, dot), full.substr(dot + 1), access);
    }
  }
  for (const std::string& full : functions) {
    const size_t dot = full.find('.');
    if (dot == std::string::npos) {
      statement.AddFunction("", full);
    } else {
      statement.AddFunction(full.substr(0, dot), full.substr(dot + 1));
    }
  }
  return statement;
}

constexpr StatementClass kAllClasses[] = {
    StatementClass::kRead,        StatementClass::kWrite,       StatementClass::kDdl,
    StatementClass::kDcl,         StatementClass::kDestructive, StatementClass::kAdmin,
    StatementClass::kTransaction, StatementClass::kSession,     StatementClass::kUnknown};

TEST(Rules, ClassNamesAgreeWithTheClassifier) {
  for (const StatementClass c : kAllClasses) {
    EXPECT_EQ(config::kStatementClassNames[static_cast<size_t>(c)],
              parsers::sql::StatementClassName(c));
  }
}

TEST(Rules, Defaults) {
  const auto table = Compile("");
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->policy_count(), 2u);
  for (const uint32_t p : {0u, 1u}) {
    for (const StatementClass c : kAllClasses) {
      const StatementDecision decision = table->Decide(p, Make(c));
      const bool allowed = c == StatementClass::kRead || c == StatementClass::kWrite ||
                           c == StatementClass::kTransaction || c == StatementClass::kSession;
      EXPECT_EQ(decision.verdict, allowed ? Verdict::kAllow : Verdict::kBlock)
          << parsers::sql::StatementClassName(c);
      EXPECT_EQ(decision.rule_name,
                absl::StrCat("statements.default[",
                             std::string(parsers::sql::StatementClassName(c)), "]"));
      EXPECT_EQ(decision.rule_index, static_cast<uint32_t>(c));
      EXPECT_EQ(table->rule_name(p, decision.rule_index), decision.rule_name);
    }
  }
  const StatementDecision drop = table->Decide(0, Make(StatementClass::kDestructive));
  EXPECT_EQ(drop.message,
            "destructive statements (DROP, TRUNCATE, DELETE or UPDATE without WHERE) are not "
            "allowed by policy \"p\"");
}

TEST(Rules, EachClassAsConfigured) {
  const auto table = Compile(
      R"({"allow": ["ddl", "admin"], "block": ["read", "session"],
          "review": ["write", "destructive", "dcl"], "unknown": "allow",
          "messages": {"destructive": "ask the DBA", "read": "no reads here"}})");
  ASSERT_NE(table, nullptr);
  struct Case {
    StatementClass c;
    Verdict verdict;
    std::string rule;
  } cases[] = {
      {StatementClass::kRead, Verdict::kBlock, "statements.block[read]"},
      {StatementClass::kWrite, Verdict::kReview, "statements.review[write]"},
      {StatementClass::kDdl, Verdict::kAllow, "statements.allow[ddl]"},
      {StatementClass::kDcl, Verdict::kReview, "statements.review[dcl]"},
      {StatementClass::kDestructive, Verdict::kReview, "statements.review[destructive]"},
      {StatementClass::kAdmin, Verdict::kAllow, "statements.allow[admin]"},
      {StatementClass::kTransaction, Verdict::kAllow, "statements.default[transaction]"},
      {StatementClass::kSession, Verdict::kBlock, "statements.block[session]"},
      {StatementClass::kUnknown, Verdict::kAllow, "statements.unknown"},
  };
  for (const Case& c : cases) {
    const StatementDecision decision = table->Decide(0, Make(c.c));
    EXPECT_EQ(decision.verdict, c.verdict) << c.rule;
    EXPECT_EQ(decision.rule_name, c.rule);
    EXPECT_EQ(decision.allowed(), c.verdict == Verdict::kAllow);
  }
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kRead)).message, "no reads here");
  const StatementDecision review = table->Decide(0, Make(StatementClass::kDestructive));
  EXPECT_THAT(review.message, HasSubstr("ask the DBA"));
  EXPECT_THAT(review.message, HasSubstr("approval"));
  EXPECT_THAT(table->Decide(0, Make(StatementClass::kWrite)).message,
              HasSubstr("access requests are not available yet"));
  // The other policy keeps the defaults.
  EXPECT_EQ(table->Decide(1, Make(StatementClass::kRead)).verdict, Verdict::kAllow);
  EXPECT_EQ(table->Decide(1, Make(StatementClass::kUnknown)).verdict, Verdict::kBlock);
}

TEST(Rules, UnknownTooLongAndOverflowFollowTheUnknownRule) {
  const auto blocked = Compile(R"({"statement_length_max": 100,
      "tables": [{"match": "secrets", "action": "block"}]})");
  const auto allowed = Compile(R"({"unknown": "allow"})");
  ASSERT_NE(blocked, nullptr);
  ASSERT_NE(allowed, nullptr);
  Statement too_long = Make(StatementClass::kRead);
  too_long.flags |= parsers::sql::kFlagTooLong;
  EXPECT_EQ(blocked->Decide(0, too_long).rule_name, "statements.default[unknown]");
  EXPECT_EQ(blocked->Decide(0, too_long).verdict, Verdict::kBlock);
  EXPECT_EQ(allowed->Decide(0, too_long).verdict, Verdict::kAllow);
  EXPECT_EQ(allowed->Decide(0, too_long).rule_name, "statements.unknown");
  Statement long_read = Make(StatementClass::kRead);
  long_read.length = 101;
  EXPECT_EQ(blocked->Decide(0, long_read).rule_name, "statements.default[unknown]");
  long_read.length = 100;
  EXPECT_EQ(blocked->Decide(0, long_read).verdict, Verdict::kAllow);
  // Incomplete name lists matter only to a policy with name rules.
  Statement overflow = Make(StatementClass::kRead, {"t:r"});
  overflow.flags |= parsers::sql::kFlagNamesOverflow;
  EXPECT_EQ(blocked->Decide(0, overflow).rule_name, "statements.default[unknown]");
  EXPECT_EQ(allowed->Decide(0, overflow).verdict, Verdict::kAllow);
  EXPECT_EQ(allowed->Decide(0, overflow).rule_name, "statements.default[read]");
  EXPECT_THAT(blocked->Decide(0, Make(StatementClass::kUnknown)).message,
              HasSubstr("cannot classify"));
}

TEST(Rules, TablePatternForms) {
  const auto table = Compile(R"({"tables": [
      {"match": "payments.*", "access": ["write"], "action": "block", "name": "no-payment-writes",
       "message": "payments are read-only for agents"},
      {"match": "hr.salaries", "action": "block", "name": "exact"},
      {"match": "*.audit_log", "access": ["write", "ddl"], "action": "review", "name": "star-name"},
      {"match": "secrets", "action": "block", "name": "bare"},
      {"match": "public.pg_shadow_copy", "action": "block", "name": "public-exact"}],
    "allow": ["ddl"]})");
  ASSERT_NE(table, nullptr);
  auto decide = [&](StatementClass c, std::vector<std::string> relations) {
    return table->Decide(0, Make(c, std::move(relations)));
  };
  // schema.*: only the listed access.
  EXPECT_EQ(decide(StatementClass::kWrite, {"payments.cards:w"}).rule_name, "no-payment-writes");
  EXPECT_EQ(decide(StatementClass::kWrite, {"payments.cards:w"}).message,
            "payments are read-only for agents");
  EXPECT_EQ(decide(StatementClass::kRead, {"payments.cards:r"}).verdict, Verdict::kAllow);
  EXPECT_EQ(decide(StatementClass::kWrite, {"other.cards:w"}).verdict, Verdict::kAllow);
  // schema.name: all access kinds when "access" is absent; not another schema.
  EXPECT_EQ(decide(StatementClass::kRead, {"hr.salaries:r"}).rule_name, "exact");
  EXPECT_EQ(decide(StatementClass::kRead, {"public.salaries:r"}).verdict, Verdict::kAllow);
  // *.name and a bare name: any schema, qualified or not.
  EXPECT_EQ(decide(StatementClass::kWrite, {"x.audit_log:w"}).verdict, Verdict::kReview);
  EXPECT_EQ(decide(StatementClass::kDdl, {"audit_log:d"}).rule_name, "star-name");
  EXPECT_EQ(decide(StatementClass::kRead, {"audit_log:r"}).verdict, Verdict::kAllow);
  EXPECT_EQ(decide(StatementClass::kRead, {"vault.secrets:r"}).rule_name, "bare");
  EXPECT_EQ(decide(StatementClass::kRead, {"secrets:r"}).rule_name, "bare");
  // Unqualified names resolve as in pg_catalog or public (default search_path).
  EXPECT_EQ(decide(StatementClass::kRead, {"pg_shadow_copy:r"}).rule_name, "public-exact");
  EXPECT_EQ(decide(StatementClass::kRead, {"salaries:r"}).verdict, Verdict::kAllow);
  // The most severe relation decides, whatever its position.
  EXPECT_EQ(decide(StatementClass::kWrite, {"a:r", "x.audit_log:w", "secrets:r"}).rule_name,
            "bare");
  EXPECT_EQ(decide(StatementClass::kWrite, {"a:r", "x.audit_log:w"}).rule_name, "star-name");
  // Table rules never allow what the class blocks.
  EXPECT_EQ(decide(StatementClass::kDestructive, {"x:d"}).rule_name,
            "statements.default[destructive]");
}

TEST(Rules, ManySchemaPatternsUseTheHashedPath) {
  std::string tables;
  for (int i = 0; i < 12; ++i) {
    tables += absl::StrCat(i == 0 ? "" : ", ", R"({"match": "s)", i, R"(.*", "action": "block",
                           "name": "s)",
                           i, R"("})");
  }
  tables += R"(, {"match": "public.*", "action": "review", "name": "pub"})";
  const auto table = Compile(absl::StrCat(R"({"tables": [)", tables, "]}"));
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kRead, {"s7.x:r"})).rule_name, "s7");
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kRead, {"s11.x:r"})).rule_name, "s11");
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kRead, {"x:r"})).rule_name, "pub");
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kRead, {"other.x:r"})).verdict, Verdict::kAllow);
}

TEST(Rules, FirstMatchingTableRuleDecides) {
  const auto table = Compile(R"({"tables": [
      {"match": "public.orders", "action": "allow", "name": "orders-ok"},
      {"match": "public.*", "action": "block", "name": "public-no"},
      {"match": "*", "access": ["write"], "action": "review", "name": "writes-review"}]})");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kWrite, {"public.orders:w"})).rule_name,
            "orders-ok");
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kWrite, {"orders:w"})).rule_name, "orders-ok");
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kWrite, {"public.items:w"})).rule_name,
            "public-no");
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kWrite, {"sales.items:w"})).rule_name,
            "writes-review");
  // Allow-list from the first rule (all access kinds): an unmatched read is blocked.
  const StatementDecision unlisted = table->Decide(0, Make(StatementClass::kRead, {"sales.x:r"}));
  EXPECT_EQ(unlisted.rule_name, "statements.tables.unlisted[read]");
  EXPECT_EQ(unlisted.verdict, Verdict::kBlock);
}

TEST(Rules, AllowRulesRestrictTheirAccessKind) {
  const auto table = Compile(R"({"tables": [
      {"match": "public.*", "access": ["read"], "action": "allow", "name": "public-reads"}]})");
  ASSERT_NE(table, nullptr);
  const StatementDecision ok = table->Decide(0, Make(StatementClass::kRead, {"public.a:r", "b:r"}));
  EXPECT_EQ(ok.verdict, Verdict::kAllow);
  EXPECT_EQ(ok.rule_name, "public-reads");
  const StatementDecision no =
      table->Decide(0, Make(StatementClass::kRead, {"public.a:r", "private.b:r"}));
  EXPECT_EQ(no.verdict, Verdict::kBlock);
  EXPECT_EQ(no.rule_name, "statements.tables.unlisted[read]");
  EXPECT_THAT(no.message, HasSubstr("allows reads only on the tables its allow rules list"));
  // Writes have no allow rule: not restricted.
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kWrite, {"private.b:w"})).verdict,
            Verdict::kAllow);
  // A statement without relations is the class rule's.
  EXPECT_EQ(table->Decide(0, Make(StatementClass::kRead)).rule_name, "statements.default[read]");
}

TEST(Rules, FunctionRules) {
  const auto table = Compile(R"({"allow": ["admin"], "functions": [
      {"match": "pg_read_file", "action": "block", "name": "no-files",
       "message": "no server files"},
      {"match": "dblink.*", "action": "block", "name": "no-dblink"},
      {"match": "pg_catalog.pg_sleep", "action": "review", "name": "sleep"},
      {"match": "*", "action": "allow", "name": "rest"}]})");
  ASSERT_NE(table, nullptr);
  auto decide = [&](std::vector<std::string> functions) {
    return table->Decide(0, Make(StatementClass::kRead, {}, std::move(functions)));
  };
  EXPECT_EQ(decide({"pg_read_file"}).rule_name, "no-files");
  EXPECT_EQ(decide({"pg_read_file"}).message, "no server files");
  EXPECT_EQ(decide({"pg_catalog.pg_read_file"}).rule_name, "no-files");
  EXPECT_EQ(decide({"dblink.dblink_exec"}).rule_name, "no-dblink");
  EXPECT_EQ(decide({"pg_sleep"}).verdict, Verdict::kReview);
  EXPECT_EQ(decide({"x.pg_sleep"}).rule_name, "rest");
  EXPECT_EQ(decide({"now", "lower"}).rule_name, "rest");
  EXPECT_EQ(decide({"now", "pg_sleep", "pg_read_file"}).rule_name, "no-files");
  EXPECT_THAT(decide({"dblink.x"}).message,
              HasSubstr("calls of functions matching \"dblink.*\" are not allowed by policy"));
}

// Names of every length class the lookup hashes and compares differently (1-3, 4-7, 8-16 and
// over 16 bytes), and near misses of each: one byte changed at its start, middle or end.
std::vector<std::string> LookupVocabulary() {
  const std::vector<std::string> names = {
      "a",
      "ab",
      "abc",
      "abcd",
      "orders",
      "abcdefg",
      "abcdefgh",
      "order_items",
      "lookup_codes",
      "x123456789abcdef",
      "x123456789abcdefg",
      "public",
      "pg_catalog",
      "a_table_name_of_thirty_two_bytes",
      "a_table_name_of_thirty_three_byte",
      "a_table_name_of_exactly_sixty_three_bytes_for_the_longest_case_"};
  std::vector<std::string> vocabulary = names;
  for (const std::string& name : names) {
    for (const size_t at : {size_t{0}, name.size() / 2, name.size() - 1}) {
      std::string near = name;
      near[at] = near[at] == 'q' ? 'r' : 'q';
      vocabulary.push_back(near);
    }
  }
  return vocabulary;
}

// The rules of rules.h applied by a plain scan in file order: the reference for the indexed
// lookup. `access` < 3 for tables; functions pass kFunction.
constexpr int kFunction = -1;
std::string ExpectedRule(const std::vector<config::NameRule>& rules, const std::string& schema,
                         const std::string& name, int access, const std::string& class_rule) {
  for (const config::NameRule& rule : rules) {
    const std::string& want = rule.match.schema;
    const bool schema_ok =
        want.empty() ||
        (schema.empty() ? want == "public" || want == "pg_catalog" : want == schema);
    const bool name_ok = rule.match.name.empty() || rule.match.name == name;
    const bool access_ok = access == kFunction || (rule.access_mask & (1u << access)) != 0;
    if (schema_ok && name_ok && access_ok) {
      return rule.name;
    }
  }
  if (access != kFunction) {
    for (const config::NameRule& rule : rules) {
      if (rule.action == config::StatementAction::kAllow &&
          (rule.access_mask & (1u << access)) != 0) {
        constexpr const char* kAccess[] = {"read", "write", "ddl"};
        return absl::StrCat("statements.tables.unlisted[", kAccess[access], "]");
      }
    }
  }
  return class_rule;
}

// Many rules of every pattern form over LookupVocabulary(), several sharing a name or a schema,
// so that index runs hold more than one entry and probes collide.
std::string ManyRules(const char* key, int count, bool tables) {
  const std::vector<std::string> vocabulary = LookupVocabulary();
  const char* const schemas[] = {"public", "pg_catalog", "s", "abc", "abcd", "x123456789abcdefg"};
  const char* const actions[] = {"block", "review", "allow"};
  const char* const accesses[] = {R"(["read"])", R"(["write"])", R"(["ddl"])",
                                  R"(["read", "write"])", R"(["write", "ddl"])"};
  uint32_t random = 12345;
  auto next = [&](uint32_t bound) {
    random = random * 1103515245u + 12345u;
    return (random >> 16) % bound;
  };
  std::string rules;
  for (int i = 0; i < count; ++i) {
    const std::string name = vocabulary[next(static_cast<uint32_t>(vocabulary.size()))];
    const std::string schema = schemas[next(std::size(schemas))];
    std::string match;
    switch (static_cast<size_t>(i) < std::size(schemas) ? 9 : next(8)) {
      case 0:
        match = next(2) == 0 ? "*" : "*.*";
        break;
      case 1:
        match = absl::StrCat(schema, ".*");
        break;
      case 2:
        match = absl::StrCat("*.", name);
        break;
      case 3:
        match = name;
        break;
      case 9:  // first, one "schema.name" rule per schema
        match = absl::StrCat(schemas[i], ".", vocabulary[i]);
        break;
      default:
        match = absl::StrCat(schema, ".", name);
        break;
    }
    absl::StrAppend(&rules, i == 0 ? "" : ",\n", R"({"match": ")", match, R"(", "name": "r)", i,
                    R"(", "action": ")", actions[next(std::size(actions))], "\"");
    if (tables && next(3) != 0) {
      absl::StrAppend(&rules, R"(, "access": )", accesses[next(std::size(accesses))]);
    }
    absl::StrAppend(&rules, "}");
  }
  return absl::StrCat(R"({"allow": ["ddl"], ")", key, R"(": [)", rules, "]}");
}

TEST(Rules, IndexedTableLookupEqualsAScanInRuleOrder) {
  for (const int count : {3, 9, 40, 150}) {
    const std::string statements = ManyRules("tables", count, true);
    const config::Config config = MakeConfig(statements);
    ASSERT_FALSE(config.policies.empty()) << statements;
    const std::vector<config::NameRule>& rules = config.policies[0].statements.tables;
    const auto table = Compile(statements);
    ASSERT_NE(table, nullptr);
    constexpr StatementClass kClasses[] = {StatementClass::kRead, StatementClass::kWrite,
                                           StatementClass::kDdl};
    constexpr const char* kClassRules[] = {"statements.default[read]", "statements.default[write]",
                                           "statements.allow[ddl]"};
    constexpr char kAccessCodes[] = {'r', 'w', 'd'};
    // The rules' schemas, and near misses of them (the entry's schema is compared, not hashed).
    for (const std::string schema :
         {"", "public", "publiq", "pg_catalog", "qg_catalog", "pg_catalox", "pg_cqtalog", "s", "t",
          "abc", "aqc", "abcd", "abce", "x123456789abcdefg", "x123456789abcdefh",
          "q123456789abcdefg"}) {
      for (const std::string& name : LookupVocabulary()) {
        for (int access = 0; access < 3; ++access) {
          const std::string relation = absl::StrCat(schema, schema.empty() ? "" : ".", name, ":",
                                                    std::string(1, kAccessCodes[access]));
          const StatementDecision decision = table->Decide(0, Make(kClasses[access], {relation}));
          EXPECT_EQ(decision.rule_name,
                    ExpectedRule(rules, schema, name, access, kClassRules[access]))
              << count << " rules, " << relation;
        }
      }
    }
  }
}

TEST(Rules, IndexedFunctionLookupEqualsAScanInRuleOrder) {
  for (const int count : {2, 10, 100}) {
    const std::string statements = ManyRules("functions", count, false);
    const config::Config config = MakeConfig(statements);
    ASSERT_FALSE(config.policies.empty()) << statements;
    const auto table = Compile(statements);
    ASSERT_NE(table, nullptr);
    for (const std::string& schema : {std::string(), std::string("pg_catalog"), std::string("s"),
                                      std::string("x123456789abcdefh")}) {
      for (const std::string& name : LookupVocabulary()) {
        const std::string function = absl::StrCat(schema, schema.empty() ? "" : ".", name);
        EXPECT_EQ(table->Decide(0, Make(StatementClass::kRead, {}, {function})).rule_name,
                  ExpectedRule(config.policies[0].statements.functions, schema, name, kFunction,
                               "statements.default[read]"))
            << count << " rules, " << function;
      }
    }
  }
}

TEST(Rules, DecideAllocatesNothing) {
  const auto table = Compile(R"({"tables": [
      {"match": "payments.*", "access": ["write"], "action": "block"},
      {"match": "public.*", "access": ["read"], "action": "allow"}],
      "functions": [{"match": "pg_read_file", "action": "block"}]})");
  ASSERT_NE(table, nullptr);
  const Statement statement =
      Make(StatementClass::kWrite, {"public.a:r", "payments.b:w"}, {"now", "pg_read_file"});
  StatementDecision decision;
  const jitgate::testing::AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    decision = table->Decide(0, statement);
  }
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(decision.verdict, Verdict::kBlock);
}

}  // namespace
}  // namespace jitgate::policy
