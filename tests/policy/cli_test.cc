// tests/policy/cli_test.cc: `policy check` (src/policy/cli.h) run in-process: output and exit
// codes for a valid file, an invalid one, a missing one and usage errors.
#include "src/policy/cli.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

}  // namespace
}  // namespace jitgate::policy
