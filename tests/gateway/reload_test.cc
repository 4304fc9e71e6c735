// tests/gateway/reload_test.cc: Gateway::Reload (src/gateway.h), the SIGHUP policy reload. A
// gateway is built from a file in a temporary directory (an insecure listener, a JWKS file,
// grants in memory: nothing listens or connects); the file is rewritten and reloaded. A good
// reload bumps the generation and changes decisions of both compiled tables; a broken file, an
// invalid policy and any change outside "policies" are refused with the old snapshot kept and an
// error naming the file and the JSON path.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jitgate/config.h"
#include "jitgate/identity.h"
#include "jitgate/parsers/sql/statement.h"
#include "src/gateway.h"
#include "src/policy/rules.h"
#include "src/policy/table.h"
#include "tests/auth/test_keys.h"

namespace jitgate {
namespace {

using parsers::sql::Statement;
using parsers::sql::StatementClass;
using ::testing::HasSubstr;

// Placeholders in kTemplate: @JWKS@ (the key file), @PORT@ (the resource's port), @STATEMENTS@
// (policies[0].statements), @SUBJECTS@ (policies[0].match.subjects), @IDLE@
// (limits.idle_timeout_s).
constexpr const char* kTemplate = R"({
  "shards": 1,
  "listeners": [{"name": "dev", "protocol": "postgres", "address": "127.0.0.1:6433",
                 "insecure": true}],
  "identity": {"issuer": "https://issuer.example/", "audience": "api://jitgate",
               "jwks_file": "@JWKS@"},
  "resources": {"orders": {"protocol": "postgres", "address": "127.0.0.1:@PORT@",
                           "database": "orders", "user": "jitgate"}},
  "policies": [{"name": "agents", "match": {"subjects": [@SUBJECTS@]}, "resources": ["orders"],
                "access": {"mode": "auto", "max_duration_s": 60},
                "statements": @STATEMENTS@}],
  "limits": {"idle_timeout_s": @IDLE@}
})";

struct FileParts {
  std::string statements = "{}";
  std::string subjects = R"("agent-1")";
  std::string port = "5432";
  std::string idle_timeout_s = "600";
};

Statement Make(StatementClass statement_class) {
  Statement statement;
  statement.statement_class = statement_class;
  statement.length = 16;
  return statement;
}

Identity Subject(const std::string& subject) {
  Identity who;
  who.subject = subject;
  return who;
}

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("jwks.json", auth::testing::TestJwks());
    path_ = dir_.File("jitgate.json");
    Write(FileParts{});
    absl::StatusOr<config::Config> loaded = config::LoadFile(path_);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    config_ = std::make_unique<config::Config>(*std::move(loaded));
    absl::StatusOr<std::unique_ptr<Gateway>> built = Gateway::Build(*config_);
    ASSERT_TRUE(built.ok()) << built.status();
    gateway_ = *std::move(built);
    ASSERT_NE(gateway_->env(), nullptr);
  }

  void Write(const FileParts& parts) {
    dir_.Write("jitgate.json", absl::StrReplaceAll(kTemplate, {{"@JWKS@", dir_.File("jwks.json")},
                                                               {"@PORT@", parts.port},
                                                               {"@STATEMENTS@", parts.statements},
                                                               {"@SUBJECTS@", parts.subjects},
                                                               {"@IDLE@", parts.idle_timeout_s}}));
  }

  const session::PolicyPublisher& policies() const { return *gateway_->env()->policies; }

  // Expects `status` to be a refusal naming the file and `json_path`, with generation 1 and the
  // start-up snapshot still current.
  void ExpectRefused(const absl::Status& status, const std::string& json_path) {
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(status.message(), HasSubstr(absl::StrCat(path_, ": ")));
    EXPECT_THAT(status.message(), HasSubstr(json_path));
    EXPECT_EQ(policies().generation(), 1u);
    EXPECT_EQ(policies().Current(), startup_);
  }

  auth::testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<config::Config> config_;
  std::unique_ptr<Gateway> gateway_;
  std::shared_ptr<const session::PolicySnapshot> startup_;
};

TEST_F(ReloadTest, GoodReloadBumpsGenerationAndChangesDecisions) {
  const std::shared_ptr<const session::PolicySnapshot> before = policies().Current();
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->generation, 1u);
  EXPECT_EQ(policies().generation(), 1u);
  EXPECT_EQ(before->rules->Decide(0, Make(StatementClass::kDestructive)).verdict,
            policy::Verdict::kBlock);
  EXPECT_TRUE(before->rules->Decide(0, Make(StatementClass::kRead)).allowed());

  FileParts parts;
  parts.statements = R"({"allow": ["read", "destructive"], "block": ["write"]})";
  parts.subjects = R"("agent-1", "agent-2")";
  Write(parts);
  ASSERT_TRUE(gateway_->Reload(path_).ok());

  const std::shared_ptr<const session::PolicySnapshot> after = policies().Current();
  EXPECT_EQ(policies().generation(), 2u);
  EXPECT_EQ(after->generation, 2u);
  EXPECT_TRUE(after->rules->Decide(0, Make(StatementClass::kDestructive)).allowed());
  const policy::StatementDecision write = after->rules->Decide(0, Make(StatementClass::kWrite));
  EXPECT_EQ(write.verdict, policy::Verdict::kBlock);
  EXPECT_EQ(write.rule_name, "statements.block[write]");
  // The access table is recompiled too: agent-2 now matches.
  EXPECT_EQ(before->table->Decide(Subject("agent-2"), 0).outcome,
            policy::AccessDecision::Outcome::kNoPolicy);
  EXPECT_EQ(after->table->Decide(Subject("agent-2"), 0).outcome,
            policy::AccessDecision::Outcome::kAuto);
  // The snapshot's config is the running one with the file's policies.
  EXPECT_EQ(after->config->resources.size(), config_->resources.size());
  EXPECT_EQ(after->config->policies[0].match_subjects.size(), 2u);
  // A session still holding the old snapshot keeps its decisions until it re-takes Current().
  EXPECT_EQ(before->rules->Decide(0, Make(StatementClass::kDestructive)).verdict,
            policy::Verdict::kBlock);

  // The same file again is another generation.
  ASSERT_TRUE(gateway_->Reload(path_).ok());
  EXPECT_EQ(policies().generation(), 3u);
}

TEST_F(ReloadTest, BrokenJsonIsRefused) {
  startup_ = policies().Current();
  dir_.Write("jitgate.json", R"({"listeners": [)");
  const absl::Status status = gateway_->Reload(path_);
  ExpectRefused(status, path_);
  EXPECT_THAT(status.message(), HasSubstr("syntax error"));
}

TEST_F(ReloadTest, InvalidPolicyIsRefused) {
  startup_ = policies().Current();
  FileParts parts;
  parts.statements = R"({"allow": ["read", "bogus"]})";
  Write(parts);
  const absl::Status status = gateway_->Reload(path_);
  ExpectRefused(status, "$.policies[0].statements.allow");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ReloadTest, ChangedResourceIsRefused) {
  startup_ = policies().Current();
  FileParts parts;
  parts.port = "5433";
  parts.statements = R"({"allow": ["destructive"]})";  // a policy change does not carry it
  Write(parts);
  const absl::Status status = gateway_->Reload(path_);
  ExpectRefused(status, R"($.resources.orders.address: running "127.0.0.1:5432", file )"
                        R"("127.0.0.1:5433")");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("only \"policies\" can change on reload"));
  EXPECT_EQ(policies().Current()->rules->Decide(0, Make(StatementClass::kDestructive)).verdict,
            policy::Verdict::kBlock);
}

TEST_F(ReloadTest, EveryDifferenceIsNamed) {
  startup_ = policies().Current();
  FileParts parts;
  parts.port = "5433";
  parts.idle_timeout_s = "60";
  Write(parts);
  const absl::Status status = gateway_->Reload(path_);
  ExpectRefused(status, "$.resources.orders.address");
  EXPECT_THAT(status.message(), HasSubstr("$.limits.idle_timeout_s: running 600, file 60"));
}

TEST_F(ReloadTest, RemovedResourceIsRefused) {
  startup_ = policies().Current();
  std::string text = absl::StrReplaceAll(kTemplate, {{"@JWKS@", dir_.File("jwks.json")},
                                                     {"@PORT@", "5432"},
                                                     {"@STATEMENTS@", "{}"},
                                                     {"@SUBJECTS@", R"("agent-1")"},
                                                     {"@IDLE@", "600"}});
  text = absl::StrReplaceAll(text, {{R"("resources": {"orders")", R"("resources": {"billing")"},
                                    {R"("resources": ["orders"])", R"("resources": ["billing"])"}});
  dir_.Write("jitgate.json", text);
  const absl::Status status = gateway_->Reload(path_);
  ExpectRefused(status, R"($.resources: running names ["orders"], file names ["billing"])");
}

TEST_F(ReloadTest, MissingFileIsRefused) {
  startup_ = policies().Current();
  const absl::Status status = gateway_->Reload(dir_.File("absent.json"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(dir_.File("absent.json")));
  EXPECT_EQ(policies().Current(), startup_);
}

TEST_F(ReloadTest, AfterARefusalAGoodReloadStillWorks) {
  FileParts parts;
  parts.port = "5433";
  Write(parts);
  EXPECT_FALSE(gateway_->Reload(path_).ok());
  parts.port = "5432";
  parts.statements = R"({"allow": ["destructive"]})";
  Write(parts);
  ASSERT_TRUE(gateway_->Reload(path_).ok());
  EXPECT_EQ(policies().generation(), 2u);
  EXPECT_TRUE(policies().Current()->rules->Decide(0, Make(StatementClass::kDestructive)).allowed());
}

TEST(ReloadRelayTest, WithoutAGatewayListenerThereIsNothingToReload) {
  const absl::StatusOr<config::Config> config = config::Parse(R"({
    "listeners": [{"name": "relay", "protocol": "postgres", "address": "127.0.0.1:6432",
                   "resource": "orders"}],
    "resources": {"orders": {"protocol": "postgres", "address": "127.0.0.1:5432"}}})",
                                                              "relay.json");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Build(*config);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ((*gateway)->env(), nullptr);
  const absl::Status status = (*gateway)->Reload("relay.json");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("no gateway listener"));
}

}  // namespace
}  // namespace jitgate
