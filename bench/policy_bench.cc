// bench/policy_bench.cc: the guardrail decision for one classified statement, identity already
// resolved (RulesTable::Decide, src/policy/rules.h). Target: under 50 ns per decision.
//   BM_DecideDefaults        a policy without "statements": a read of two tables
//   BM_DecideTableRules      20 table rules (exact, schema.*, *.name, bare, "*" with allow-list
//                            semantics): a join of three tables and a write
//   BM_DecideFunctionDeny    a function deny list (8 exact, 2 schema.*): a read calling 3 functions
//   BM_DecideBlockedClass    a DROP under the defaults (decided by the class rule)
// Statements are built by hand as the classifier would fill them, so only Decide is measured.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>

#include "jitgate/config.h"
#include "jitgate/parsers/sql/statement.h"
#include "src/policy/rules.h"

namespace {

namespace sql = jitgate::parsers::sql;
using jitgate::policy::RulesTable;

std::string ConfigText(const std::string& statements) {
  return R"({
  "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
                 "insecure": true}],
  "identity": {"issuer": "https://i/", "audience": "api://jitgate", "jwks_file": "/k.json"},
  "resources": {"orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"}},
  "policies": [{"name": "p", "match": {"groups": ["g"]}, "resources": ["orders"],
                "access": {"mode": "auto"})" +
         (statements.empty() ? std::string() : ", \"statements\": " + statements) + "}]}";
}

std::shared_ptr<const RulesTable> Compile(const std::string& statements) {
  auto config = jitgate::config::Parse(ConfigText(statements), "bench.json");
  if (!config.ok()) {
    std::fprintf(stderr, "bench config: %s\n", std::string(config.status().message()).c_str());
    std::abort();
  }
  auto table = RulesTable::Compile(*config);
  if (!table.ok()) {
    std::abort();
  }
  return *table;
}

constexpr char kTwentyTableRules[] = R"({"tables": [
  {"match": "payments.*", "access": ["write"], "action": "block"},
  {"match": "hr.salaries", "action": "block"},
  {"match": "*.audit_log", "access": ["write", "ddl"], "action": "block"},
  {"match": "secrets", "action": "block"},
  {"match": "vault.*", "action": "block"},
  {"match": "billing.invoices", "access": ["write"], "action": "review"},
  {"match": "billing.refunds", "access": ["write"], "action": "review"},
  {"match": "*.api_keys", "action": "block"},
  {"match": "*.sessions", "access": ["write"], "action": "block"},
  {"match": "pg_authid", "action": "block"},
  {"match": "pg_shadow", "action": "block"},
  {"match": "internal.*", "action": "block"},
  {"match": "staging.*", "action": "allow"},
  {"match": "public.orders", "action": "allow"},
  {"match": "public.order_items", "action": "allow"},
  {"match": "public.customers", "access": ["read"], "action": "allow"},
  {"match": "public.products", "action": "allow"},
  {"match": "reporting.*", "access": ["read"], "action": "allow"},
  {"match": "*.lookup_codes", "access": ["read"], "action": "allow"},
  {"match": "*", "access": ["read"], "action": "allow"}]})";

constexpr char kFunctionDeny[] = R"({"functions": [
  {"match": "pg_read_file", "action": "block"},
  {"match": "pg_read_binary_file", "action": "block"},
  {"match": "pg_ls_dir", "action": "block"},
  {"match": "lo_import", "action": "block"},
  {"match": "lo_export", "action": "block"},
  {"match": "pg_sleep", "action": "block"},
  {"match": "set_config", "action": "block"},
  {"match": "pg_terminate_backend", "action": "block"},
  {"match": "dblink.*", "action": "block"},
  {"match": "adminpack.*", "action": "block"}]})";

void Run(benchmark::State& state, const RulesTable& table, const sql::Statement& statement) {
  for (auto _ : state) {
    auto decision = table.Decide(0, statement);
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DecideDefaults(benchmark::State& state) {
  const auto table = Compile("");
  sql::Statement statement;
  statement.statement_class = sql::StatementClass::kRead;
  statement.length = 100;
  statement.AddRelation("public", "orders", sql::RelationAccess::kRead);
  statement.AddRelation("", "customers", sql::RelationAccess::kRead);
  Run(state, *table, statement);
}
BENCHMARK(BM_DecideDefaults);

void BM_DecideTableRules(benchmark::State& state) {
  const auto table = Compile(kTwentyTableRules);
  sql::Statement statement;
  statement.statement_class = sql::StatementClass::kWrite;
  statement.length = 180;
  statement.AddRelation("public", "orders", sql::RelationAccess::kWrite);
  statement.AddRelation("", "customers", sql::RelationAccess::kRead);
  statement.AddRelation("reporting", "daily_totals", sql::RelationAccess::kRead);
  statement.AddRelation("public", "lookup_codes", sql::RelationAccess::kRead);
  if (!table->Decide(0, statement).allowed()) {
    state.SkipWithError("expected an allowed statement");
  }
  Run(state, *table, statement);
}
BENCHMARK(BM_DecideTableRules);

void BM_DecideFunctionDeny(benchmark::State& state) {
  const auto table = Compile(kFunctionDeny);
  sql::Statement statement;
  statement.statement_class = sql::StatementClass::kRead;
  statement.length = 120;
  statement.AddRelation("public", "events", sql::RelationAccess::kRead);
  statement.AddFunction("", "now");
  statement.AddFunction("", "date_trunc");
  statement.AddFunction("pg_catalog", "lower");
  Run(state, *table, statement);
}
BENCHMARK(BM_DecideFunctionDeny);

void BM_DecideBlockedClass(benchmark::State& state) {
  const auto table = Compile("");
  sql::Statement statement;
  statement.statement_class = sql::StatementClass::kDestructive;
  statement.length = 20;
  statement.AddRelation("public", "orders", sql::RelationAccess::kDdl);
  Run(state, *table, statement);
}
BENCHMARK(BM_DecideBlockedClass);

}  // namespace

BENCHMARK_MAIN();
