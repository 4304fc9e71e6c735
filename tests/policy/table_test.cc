// tests/policy/table_test.cc: unit tests of src/policy/table.h (matching by group, role,
// subject and app id; first match wins; approval; no match; unknown database; no allocation in
// Decide).
#include "src/policy/table.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "jitgate/config.h"
#include "jitgate/identity.h"
#include "tests/common/alloc_counter.h"

namespace jitgate::policy {
namespace {

using Outcome = AccessDecision::Outcome;

// Resources orders, reports, audit (postgres) and mydb (mysql); four policies in file order.
constexpr char kConfig[] = R"json({
  "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
                 "insecure": true}],
  "identity": {"issuer": "https://i/", "audience": "api://jitgate", "jwks_file": "/k.json"},
  "resources": {
    "orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"},
    "reports": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"},
    "audit": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"},
    "mydb": {"protocol": "mysql", "address": "127.0.0.1:3306"}
  },
  "policies": [
    {"name": "by-group", "match": {"groups": ["g-readers"]}, "resources": ["orders", "reports"],
     "access": {"mode": "auto", "max_duration_s": 600}},
    {"name": "by-role", "match": {"roles": ["Orders.Write"]}, "resources": ["orders"],
     "access": {"mode": "approval", "max_duration_s": 300}},
    {"name": "by-subject", "match": {"subjects": ["oid-alice", "app-batch"]},
     "resources": ["orders", "audit"], "access": {"mode": "auto"}},
    {"name": "catch-all-readers", "match": {"groups": ["g-readers", "g-other"]},
     "resources": ["audit"], "access": {"mode": "approval", "max_duration_s": 60}}
  ]
})json";

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<config::Config> config = config::Parse(kConfig, "policy.json");
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *std::move(config);
    absl::StatusOr<std::shared_ptr<const Table>> table = Table::Compile(config_);
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = *std::move(table);
  }

  uint32_t Resource(const std::string& name) const {
    const std::optional<uint32_t> index = table_->FindResource(name);
    EXPECT_TRUE(index.has_value()) << name;
    return index.value_or(0);
  }

  AccessDecision Decide(const Identity& who, const std::string& resource) const {
    return table_->Decide(who, Resource(resource));
  }

  config::Config config_;
  std::shared_ptr<const Table> table_;
};

Identity WithGroups(std::vector<std::string> groups) {
  Identity who;
  who.subject = "oid-nobody";
  who.groups = std::move(groups);
  return who;
}

TEST_F(TableTest, FindResourceByName) {
  EXPECT_EQ(table_->resource_count(), 4u);
  EXPECT_EQ(table_->policy_count(), 4u);
  for (uint32_t r = 0; r < config_.resources.size(); ++r) {
    ASSERT_EQ(table_->FindResource(config_.resources[r].name), r);
    EXPECT_EQ(table_->resource_name(r), config_.resources[r].name);
  }
  EXPECT_EQ(table_->FindResource("nope"), std::nullopt);
  EXPECT_EQ(table_->FindResource(""), std::nullopt);
  EXPECT_EQ(table_->FindResource("Orders"), std::nullopt);  // names are exact
  EXPECT_EQ(table_->FindResource("orders\0x"), table_->FindResource("orders"));  // C string
  EXPECT_EQ(table_->FindResource(std::string_view("orders\0x", 8)), std::nullopt);
}

TEST_F(TableTest, MatchByGroup) {
  const AccessDecision d = Decide(WithGroups({"g-x", "g-readers"}), "reports");
  EXPECT_EQ(d.outcome, Outcome::kAuto);
  EXPECT_EQ(d.policy_index, 0u);
  EXPECT_EQ(d.policy_name, "by-group");
  EXPECT_EQ(d.max_duration_s, 600u);
}

TEST_F(TableTest, MatchByRoleNeedsApproval) {
  Identity who;
  who.subject = "oid-bob";
  who.roles = {"Orders.Read", "Orders.Write"};
  const AccessDecision d = Decide(who, "orders");
  EXPECT_EQ(d.outcome, Outcome::kApprovalRequired);
  EXPECT_EQ(d.policy_index, 1u);
  EXPECT_EQ(d.policy_name, "by-role");
  EXPECT_EQ(d.max_duration_s, 300u);
  // The role is not a group: a group of the same name does not match.
  EXPECT_EQ(Decide(WithGroups({"Orders.Write"}), "orders").outcome, Outcome::kNoPolicy);
}

TEST_F(TableTest, MatchBySubjectOrAppId) {
  Identity alice;
  alice.subject = "oid-alice";
  AccessDecision d = Decide(alice, "audit");
  EXPECT_EQ(d.outcome, Outcome::kAuto);
  EXPECT_EQ(d.policy_name, "by-subject");
  EXPECT_EQ(d.max_duration_s, 900u);

  Identity batch;  // an app-only token: its client application id is listed
  batch.subject = "sp-object-id";
  batch.app_id = "app-batch";
  batch.app_only = true;
  d = Decide(batch, "orders");
  EXPECT_EQ(d.outcome, Outcome::kAuto);
  EXPECT_EQ(d.policy_index, 2u);

  Identity other;
  other.subject = "oid-carol";
  other.app_id = "app-other";
  other.groups = {"oid-alice"};  // a subject value in groups matches nothing
  EXPECT_EQ(Decide(other, "orders").outcome, Outcome::kNoPolicy);
}

TEST_F(TableTest, FirstMatchWins) {
  // by-role (approval) comes before by-subject (auto) for orders.
  Identity who;
  who.subject = "oid-alice";
  who.roles = {"Orders.Write"};
  AccessDecision d = Decide(who, "orders");
  EXPECT_EQ(d.outcome, Outcome::kApprovalRequired);
  EXPECT_EQ(d.policy_name, "by-role");
  // With the group too, by-group (auto) comes first of all.
  who.groups = {"g-readers"};
  d = Decide(who, "orders");
  EXPECT_EQ(d.outcome, Outcome::kAuto);
  EXPECT_EQ(d.policy_name, "by-group");
  // audit: by-subject (policy 2) before catch-all-readers (policy 3).
  d = Decide(who, "audit");
  EXPECT_EQ(d.policy_index, 2u);
  who.subject = "oid-bob";
  d = Decide(who, "audit");
  EXPECT_EQ(d.policy_index, 3u);
  EXPECT_EQ(d.outcome, Outcome::kApprovalRequired);
  EXPECT_EQ(d.max_duration_s, 60u);
}

TEST_F(TableTest, NoPolicy) {
  const AccessDecision none = Decide(WithGroups({"g-unknown"}), "orders");
  EXPECT_EQ(none.outcome, Outcome::kNoPolicy);
  EXPECT_EQ(none.policy_index, AccessDecision::kNoPolicyIndex);
  EXPECT_EQ(none.max_duration_s, 0u);
  EXPECT_TRUE(none.policy_name.empty());
  // A resource no policy lists (and a mysql one) is refused to everybody.
  Identity everything;
  everything.subject = "oid-alice";
  everything.app_id = "app-batch";
  everything.groups = {"g-readers", "g-other"};
  everything.roles = {"Orders.Write"};
  EXPECT_EQ(Decide(everything, "mydb").outcome, Outcome::kNoPolicy);
  // An empty identity matches nothing (empty subject never equals a listed one).
  EXPECT_EQ(Decide(Identity{}, "orders").outcome, Outcome::kNoPolicy);
}

TEST_F(TableTest, DecideAllocatesNothing) {
  Identity who;
  who.subject = "oid-bob";
  who.groups = {"a", "b", "c", "g-other"};
  who.roles = {"Orders.Write"};
  const uint32_t audit = Resource("audit");
  const uint32_t orders = Resource("orders");
  const jitgate::testing::AllocationScope scope;
  const AccessDecision d1 = table_->Decide(who, audit);
  const AccessDecision d2 = table_->Decide(who, orders);
  const std::optional<uint32_t> found = table_->FindResource("reports");
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(d1.policy_index, 3u);
  EXPECT_EQ(d2.policy_index, 1u);
  EXPECT_TRUE(found.has_value());
}

TEST(TableCompile, RelayOnlyConfigHasNoPolicies) {
  absl::StatusOr<config::Config> config = config::Parse(
      R"({"listeners": [{"name": "r", "protocol": "postgres", "address": "127.0.0.1:1",
                         "resource": "db"}],
          "resources": {"db": {"protocol": "postgres", "address": "127.0.0.1:5432"}}})",
      "relay.json");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::shared_ptr<const Table>> table = Table::Compile(*config);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->policy_count(), 0u);
  EXPECT_EQ((*table)->Decide(Identity{}, 0).outcome, Outcome::kNoPolicy);
}

TEST(TableCompile, RejectsUnresolvedIndexes) {
  config::Config config;
  config.path = "hand.json";
  config.resources.resize(1);
  config.resources[0].name = "db";
  config::Policy policy;
  policy.name = "p";
  policy.match_groups = {"g"};
  policy.resource_names = {"db"};
  policy.resource_indexes = {1};
  config.policies.push_back(policy);
  absl::StatusOr<std::shared_ptr<const Table>> table = Table::Compile(config);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().message(), R"(hand.json: policy "p": resource "db" does not resolve)");
}

}  // namespace
}  // namespace jitgate::policy
