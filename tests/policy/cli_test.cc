// tests/policy/cli_test.cc: `policy check` and `policy explain` (src/policy/cli.h) run in-process:
// output and exit codes for a valid file, an invalid one, a missing one and usage errors; explain's
// policy choice, per-statement decisions, rules and exit codes.
#include "src/policy/cli.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jitgate::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kValid[] = R"json({
  "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
                 "insecure": true},
                {"name": "raw", "protocol": "postgres", "address": "127.0.0.1:6433",
                 "resource": "orders"}],
  "identity": {"issuer": "https://i/", "audience": "api://jitgate", "jwks_file": "/k.json"},
  "resources": {"orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"}},
  "policies": [{"name": "p", "match": {"groups": ["g"]}, "resources": ["orders"],
                "access": {"mode": "auto"}}]
})json";

struct CommandResult {
  int code;
  std::string out;
  std::string err;
};

CommandResult RunCommand(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int code = RunPolicyCommand(static_cast<int>(args.size()), argv.data());
  CommandResult run{code, ::testing::internal::GetCapturedStdout(),
          ::testing::internal::GetCapturedStderr()};
  return run;
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path, std::ios::trunc) << contents;
  return path;
}

TEST(PolicyCheck, ValidFile) {
  const std::string path = WriteFile("policy_ok.json", kValid);
  const CommandResult run = RunCommand({"policy", "check", path});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_EQ(run.out, absl::StrCat(path, ": ok (2 listeners, 1 resources, 1 policies)\n"));
  EXPECT_EQ(run.err, "");
  std::remove(path.c_str());
}

TEST(PolicyCheck, InvalidFileIsExit1WithTheErrorAsIs) {
  std::string text = kValid;
  text.replace(text.find(R"("mode": "auto")"), 14, R"("mode": "never")");
  const std::string path = WriteFile("policy_bad.json", text);
  const CommandResult run = RunCommand({"policy", "check", path});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, absl::StrCat(path,
                                  ": $.policies[0].access.mode: expected \"auto\" or "
                                  "\"approval\", got \"never\"\n"));
  std::remove(path.c_str());
}

TEST(PolicyCheck, MissingFileIsExit1) {
  const CommandResult run = RunCommand({"policy", "check", "/nonexistent/jitgate.json"});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_THAT(run.err, StartsWith("/nonexistent/jitgate.json: cannot open"));
}

TEST(PolicyCheck, UsageErrorsAreExit2) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"policy"}, {"policy", "check"}, {"policy", "check", "a", "b"}, {"policy", "lint", "a"}}) {
    const CommandResult run = RunCommand(args);
    EXPECT_EQ(run.code, kExitUsage) << args.size();
    EXPECT_THAT(run.err, HasSubstr("usage: jitgate policy check FILE"));
    EXPECT_EQ(run.out, "");
  }
  EXPECT_THAT(RunCommand({"policy", "lint"}).err, HasSubstr(R"(unknown subcommand "lint")"));
  const CommandResult help = RunCommand({"policy", "help"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_THAT(help.out, StartsWith("usage: jitgate policy check FILE"));
}

constexpr char kExplainConfig[] = R"json({
  "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
                 "insecure": true}],
  "identity": {"issuer": "https://i/", "audience": "api://jitgate", "jwks_file": "/k.json"},
  "resources": {"orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"},
                "hr": {"protocol": "postgres", "address": "127.0.0.1:5433", "user": "gw"}},
  "policies": [
    {"name": "agents", "match": {"groups": ["g"], "subjects": ["app-1"]},
     "resources": ["orders"], "access": {"mode": "auto"},
     "statements": {"tables": [{"match": "payments.*", "access": ["write"], "action": "block",
                                "message": "payments are read-only for agents",
                                "name": "no-payment-writes"}],
                    "review": ["ddl"]}},
    {"name": "hr-readers", "match": {"roles": ["HR.Read"]}, "resources": ["hr", "orders"],
     "access": {"mode": "approval"}}
  ]
})json";

class PolicyExplain : public ::testing::Test {
 protected:
  void SetUp() override { path_ = WriteFile("policy_explain.json", kExplainConfig); }
  void TearDown() override { std::remove(path_.c_str()); }

  CommandResult Explain(std::vector<std::string> args) {
    args.insert(args.begin(), {"policy", "explain", path_});
    return RunCommand(std::move(args));
  }

  std::string path_;
};

TEST_F(PolicyExplain, AllowedStatementsAreExit0) {
  const CommandResult run =
      Explain({"--subject", "s", "--group", "g", "--resource", "orders",
               "SELECT id FROM public.orders WHERE id = 1; BEGIN"});
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("policy: agents (access auto"));
  EXPECT_THAT(run.out, HasSubstr("statement 1 of 2: allow\n  sql: SELECT id FROM public.orders "
                                 "WHERE id = 1\n  class: read (SELECT)\n"));
  EXPECT_THAT(run.out, HasSubstr("  relations: public.orders (read)\n"));
  EXPECT_THAT(run.out, HasSubstr("  rule: statements.default[read]\n"));
  EXPECT_THAT(run.out, HasSubstr("statement 2 of 2: allow"));
  EXPECT_THAT(run.out, HasSubstr("class: transaction"));
  EXPECT_THAT(run.out, HasSubstr("result: allowed (2 of 2 statements)"));
  EXPECT_EQ(run.err, "");
}

TEST_F(PolicyExplain, OneBadPartRefusesTheString) {
  const CommandResult run =
      Explain({"--subject", "app-1", "--resource", "orders",
               "select 1; UPDATE payments.cards SET n = 0 WHERE id = 2; DROP TABLE orders"});
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("statement 2 of 3: block"));
  EXPECT_THAT(run.out, HasSubstr("  rule: no-payment-writes\n  message: payments are read-only "
                                 "for agents\n"));
  EXPECT_THAT(run.out, HasSubstr("statement 3 of 3: block"));
  EXPECT_THAT(run.out, HasSubstr("class: destructive (DROP)"));
  EXPECT_THAT(run.out, HasSubstr("rule: statements.default[destructive]"));
  EXPECT_THAT(run.out, HasSubstr("flags: multi_statement"));
  EXPECT_THAT(run.out, HasSubstr("result: refused (2 of 3 statements refused"));
}

TEST_F(PolicyExplain, ReviewIsRefusedWithTheApprovalMessage) {
  const CommandResult run = Explain({"--subject", "s", "--group", "g", "--resource", "orders",
                                     "CREATE TABLE scratch (id int)"});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_THAT(run.out, HasSubstr("statement 1 of 1: review"));
  EXPECT_THAT(run.out, HasSubstr("rule: statements.review[ddl]"));
  EXPECT_THAT(run.out, HasSubstr("access requests are not available yet"));
}

TEST_F(PolicyExplain, FunctionsFlagsAndUnknown) {
  const CommandResult files = Explain({"--subject", "s", "--role", "HR.Read", "--resource", "hr",
                                       "SELECT pg_read_file('/etc/passwd')"});
  EXPECT_EQ(files.code, kExitFailed);
  EXPECT_THAT(files.out, HasSubstr("policy: hr-readers (access approval"));
  EXPECT_THAT(files.out, HasSubstr("functions: pg_read_file"));
  EXPECT_THAT(files.out, HasSubstr("flags: server_file"));
  const CommandResult garbage =
      Explain({"--subject", "s", "--role", "HR.Read", "--resource", "hr", "SELEKT 1"});
  EXPECT_EQ(garbage.code, kExitFailed);
  EXPECT_THAT(garbage.out, HasSubstr("class: unknown"));
  EXPECT_THAT(garbage.out, HasSubstr("rule: statements.default[unknown]"));
}

TEST_F(PolicyExplain, FirstMatchingPolicyDecides) {
  // Both policies list orders; file order decides.
  const CommandResult run = Explain({"--subject", "s", "--group", "g", "--role", "HR.Read",
                                     "--resource", "orders", "select 1"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_THAT(run.out, HasSubstr("policy: agents"));
}

TEST_F(PolicyExplain, NoPolicyIsExit1) {
  const CommandResult run =
      Explain({"--subject", "nobody", "--resource", "hr", "select 1"});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_THAT(run.out, HasSubstr("policy: none"));
}

TEST_F(PolicyExplain, UsageAndConfigErrorsAreExit2) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--resource", "orders", "select 1"},                      // no --subject
           {"--subject", "s", "--resource", "orders"},                // no SQL
           {"--subject", "s", "--resource", "orders", "a", "b"},      // two SQL
           {"--subject", "s", "--resource", "orders", "--bogus", "x", "select 1"},
           {"--subject", "s", "--resource"},                          // option without value
           {"--subject", "s", "--subject", "t", "--resource", "orders", "select 1"},
           {"--subject", "s", "select 1"},                            // two resources: name one
       }) {
    const CommandResult run = Explain(args);
    EXPECT_EQ(run.code, kExitUsage) << absl::StrJoin(args, " ");
    EXPECT_THAT(run.err, HasSubstr("usage: jitgate policy"));
  }
  const CommandResult missing = Explain({"--subject", "s", "--resource", "nope", "select 1"});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_THAT(missing.err, HasSubstr("no resource named \"nope\""));
  const CommandResult no_file =
      RunCommand({"policy", "explain", "/nonexistent/j.json", "--subject", "s", "select 1"});
  EXPECT_EQ(no_file.code, kExitUsage);
  EXPECT_THAT(no_file.err, StartsWith("/nonexistent/j.json: cannot open"));
}

}  // namespace
}  // namespace jitgate::policy
