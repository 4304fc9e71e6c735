// tests/auth/token_cli_test.cc: `jitgate token keygen|mint` (src/auth/token_cli.h) run as the
// jg_token executable, its tokens checked by the Validator against the JWKS keygen wrote.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "src/auth/validator.h"
#include "tests/auth/test_keys.h"

namespace jitgate::auth {
namespace {

using testing::TempDir;

struct ToolRun {
  int exit_code = -1;
  std::string out;
};

// Runs jg_token with `args` (shell words), stderr discarded.
ToolRun RunTool(const std::string& args) {
  ToolRun run;
  const std::string command = std::string(JG_TOKEN_PATH) + " " + args + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return run;
  }
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    run.out.append(buffer, n);
  }
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!run.out.empty() && run.out.back() == '\n') {
    run.out.pop_back();
  }
  return run;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TokenCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunTool("keygen --dir " + dir_.path()).exit_code, 0);
    absl::StatusOr<std::shared_ptr<const KeySet>> keys =
        KeySet::Parse(ReadAll(dir_.File("jwks.json")));
    ASSERT_TRUE(keys.ok()) << keys.status();
    provider_ = KeyProvider::FromKeySet(*keys);
    options_.issuers = {"https://login.microsoftonline.com/{tenantid}/v2.0"};
    options_.audiences = {"api://jitgate"};
  }

  std::string Mint(const std::string& extra) {
    const ToolRun run = RunTool("mint --dev-key " + dir_.File("dev-key.pem") +
                                " --issuer 'https://login.microsoftonline.com/{tenantid}/v2.0'"
                                " --audience api://jitgate " +
                                extra);
    EXPECT_EQ(run.exit_code, 0) << extra;
    return run.out;
  }

  Verdict Validate(const std::string& token, int64_t now_s) {
    return Validator(options_, provider_.get()).Validate(token, now_s);
  }

  TempDir dir_;
  std::unique_ptr<KeyProvider> provider_;
  ValidatorOptions options_;
};

TEST_F(TokenCliTest, KeygenWritesAPrivateKeyAndItsJwks) {
  struct stat info;
  ASSERT_EQ(stat(dir_.File("dev-key.pem").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(provider_->keys()->size(), 1u);
  // A second keygen does not replace the key.
  EXPECT_EQ(RunTool("keygen --dir " + dir_.path()).exit_code, 1);
}

TEST_F(TokenCliTest, MintsAValidAppOnlyToken) {
  const std::string token = Mint(
      "--tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 --subject oid-1 --app-id app-1 "
      "--role db.read --role db.write --group g1 --now-s 1767225600 --ttl-s 600");
  const Verdict verdict = Validate(token, 1767225600 + 10);
  ASSERT_EQ(verdict.error, TokenError::kNone) << verdict.message;
  EXPECT_EQ(verdict.identity->subject, "oid-1");
  EXPECT_EQ(verdict.identity->app_id, "app-1");
  EXPECT_EQ(verdict.identity->tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47");
  EXPECT_EQ(verdict.identity->issuer,
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0");
  EXPECT_TRUE(verdict.identity->app_only);
  EXPECT_EQ(verdict.identity->roles, (std::vector<std::string>{"db.read", "db.write"}));
  EXPECT_EQ(verdict.identity->groups, std::vector<std::string>{"g1"});
  EXPECT_EQ(verdict.identity->expires_at_s, 1767225600 + 600);
  EXPECT_FALSE(verdict.identity->token_id.empty());
  EXPECT_EQ(Validate(token, 1767225600 + 700).error, TokenError::kExpired);
}

TEST_F(TokenCliTest, MintsNegativeTokens) {
  const std::string base = "--role r --now-s 1767225600 ";
  EXPECT_EQ(Validate(Mint(base + "--claim '_claim_names={\"groups\":\"src1\"}'"), 1767225600).error,
            TokenError::kGroupsOverage);
  EXPECT_EQ(Validate(Mint(base + "--header 'alg=\"HS256\"'"), 1767225600).error,
            TokenError::kUnsupportedAlgorithm);
  EXPECT_EQ(Validate(Mint(base + "--kid other"), 1767225600).error, TokenError::kUnknownKey);
  EXPECT_EQ(Validate(Mint(base + "--nbf-s 600"), 1767225600).error, TokenError::kNotYetValid);
  EXPECT_EQ(Validate(Mint(base + "--iat-s 600 --nbf-s -10"), 1767225600).error,
            TokenError::kIssuedInFuture);
  EXPECT_EQ(Validate(Mint(base + "--claim aud='\"other\"'"), 1767225600).error,
            TokenError::kWrongAudience);
  EXPECT_EQ(Validate(Mint(base + "--drop-claim exp"), 1767225600).error, TokenError::kMissingClaim);
  EXPECT_EQ(Validate(Mint("--now-s 1767225600"), 1767225600).error, TokenError::kNotAnAccessToken);
  const Verdict scoped = Validate(Mint("--now-s 1767225600 --scope Db.Read"), 1767225600);
  ASSERT_EQ(scoped.error, TokenError::kNone) << scoped.message;
  EXPECT_FALSE(scoped.identity->app_only);
}

TEST_F(TokenCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunTool("").exit_code, 2);
  EXPECT_EQ(RunTool("frobnicate").exit_code, 2);
  EXPECT_EQ(RunTool("keygen").exit_code, 2);
  EXPECT_EQ(RunTool("mint --issuer i --audience a").exit_code, 2);  // no --dev-key
  EXPECT_EQ(RunTool("mint --dev-key " + dir_.File("dev-key.pem") + " --audience a").exit_code, 2);
  EXPECT_EQ(RunTool("mint --dev-key k --issuer i --audience a --ttl-s soon").exit_code, 2);
  EXPECT_EQ(RunTool("mint --dev-key k --issuer i --audience a --claim 'x={'").exit_code, 2);
  EXPECT_EQ(RunTool("mint --dev-key k --issuer i --audience a --bogus 1").exit_code, 2);
  EXPECT_EQ(RunTool("mint --dev-key k --issuer i --issuer j --audience a").exit_code, 2);
  EXPECT_EQ(RunTool("mint --dev-key /nonexistent --issuer i --audience a").exit_code, 1);
}

}  // namespace
}  // namespace jitgate::auth
