// tests/grants/store_test.cc: unit tests of src/grants/store.h: issue, reuse, bound by the
// token's exp, a bound in the past; sweep; reload after a restart (active kept, expired dropped);
// a torn last line; a corrupt middle line; field escaping; IssueAuto from 4 threads.
#include "src/grants/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jitgate::grants {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr int64_t kNowMs = 1'800'000'000'000;  // 2027-01-15
constexpr int64_t kTokenExpS = kNowMs / 1000 + 3600;

Identity Agent(const std::string& subject, int64_t exp_s = kTokenExpS) {
  Identity who;
  who.subject = subject;
  who.expires_at_s = exp_s;
  return who;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    config_.log_file = absl::StrCat(::testing::TempDir(), "/grants_", info->name(), ".log");
    config_.fsync = false;  // tmpfs; fsync is exercised by one test below
    std::remove(config_.log_file.c_str());
  }
  void TearDown() override { std::remove(config_.log_file.c_str()); }

  std::unique_ptr<Store> OpenAt(int64_t now_ms) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(config_, now_ms);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::vector<std::string> Lines() {
    return absl::StrSplit(ReadAll(config_.log_file), '\n', absl::SkipEmpty());
  }

  config::GrantsConfig config_;
};

TEST_F(StoreTest, IssueRecordsAndBoundsByMaxDuration) {
  std::unique_ptr<Store> store = OpenAt(kNowMs);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::shared_ptr<const Grant>> grant =
      store->IssueAuto(Agent("oid-alice"), "orders", "reporting", 900, kNowMs);
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_THAT((*grant)->id, MatchesRegex("g-[0-9a-f]{16}"));
  EXPECT_EQ((*grant)->subject, "oid-alice");
  EXPECT_EQ((*grant)->resource, "orders");
  EXPECT_EQ((*grant)->policy, "reporting");
  EXPECT_EQ((*grant)->issued_at_ms, kNowMs);
  EXPECT_EQ((*grant)->expires_at_ms, kNowMs + 900'000);
  EXPECT_EQ(store->active_count(), 1u);

  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0] + "\n",
            FormatRecord(absl::StrCat("issued ", (*grant)->id, " ", kNowMs, " ",
                                      kNowMs + 900'000, " oid-alice orders reporting")));
  struct stat info {};
  ASSERT_EQ(stat(config_.log_file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(StoreTest, BoundByTokenExpiry) {
  std::unique_ptr<Store> store = OpenAt(kNowMs);
  const int64_t exp_s = kNowMs / 1000 + 60;
  absl::StatusOr<std::shared_ptr<const Grant>> grant =
      store->IssueAuto(Agent("oid-alice", exp_s), "orders", "reporting", 900, kNowMs);
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ((*grant)->expires_at_ms, exp_s * 1000);
}

TEST_F(StoreTest, BoundInThePastIsAnError) {
  std::unique_ptr<Store> store = OpenAt(kNowMs);
  for (const int64_t exp_s : {kNowMs / 1000, kNowMs / 1000 - 1, int64_t{0}}) {
    absl::StatusOr<std::shared_ptr<const Grant>> grant =
        store->IssueAuto(Agent("oid-alice", exp_s), "orders", "reporting", 900, kNowMs);
    ASSERT_FALSE(grant.ok());
    EXPECT_EQ(grant.status().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(store->active_count(), 0u);
  EXPECT_TRUE(Lines().empty());
  EXPECT_EQ(store->IssueAuto(Agent(""), "orders", "p", 900, kNowMs).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->IssueAuto(Agent("a"), "orders", "p", 0, kNowMs).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, ReusesAnActiveGrant) {
  std::unique_ptr<Store> store = OpenAt(kNowMs);
  auto first = store->IssueAuto(Agent("oid-alice"), "orders", "reporting", 900, kNowMs);
  ASSERT_TRUE(first.ok());
  auto again = store->IssueAuto(Agent("oid-alice"), "orders", "reporting", 900, kNowMs + 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);  // the same grant object
  auto other_policy = store->IssueAuto(Agent("oid-alice"), "orders", "oncall", 900, kNowMs);
  auto other_resource = store->IssueAuto(Agent("oid-alice"), "reports", "reporting", 900, kNowMs);
  auto other_subject = store->IssueAuto(Agent("oid-bob"), "orders", "reporting", 900, kNowMs);
  ASSERT_TRUE(other_policy.ok() && other_resource.ok() && other_subject.ok());
  EXPECT_NE((*other_policy)->id, (*first)->id);
  EXPECT_NE((*other_resource)->id, (*first)->id);
  EXPECT_NE((*other_subject)->id, (*first)->id);
  EXPECT_EQ(store->active_count(), 4u);
  EXPECT_EQ(Lines().size(), 4u);
  // Once it has ended (even before a sweep) a new one is issued.
  const int64_t later = (*first)->expires_at_ms;
  auto renewed = store->IssueAuto(Agent("oid-alice", later / 1000 + 3600), "orders", "reporting",
                                  900, later);
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE((*renewed)->id, (*first)->id);
  EXPECT_EQ((*renewed)->issued_at_ms, later);
}

TEST_F(StoreTest, SweepExpired) {
  std::unique_ptr<Store> store = OpenAt(kNowMs);
  auto short_grant = store->IssueAuto(Agent("a"), "orders", "p", 10, kNowMs);
  auto long_grant = store->IssueAuto(Agent("b"), "orders", "p", 900, kNowMs);
  ASSERT_TRUE(short_grant.ok() && long_grant.ok());
  store->SweepExpired(kNowMs + 9'999);
  EXPECT_EQ(store->active_count(), 2u);
  store->SweepExpired(kNowMs + 10'000);  // expires_at is exclusive
  ASSERT_EQ(store->active_count(), 1u);
  EXPECT_EQ(store->Active()[0]->id, (*long_grant)->id);
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2] + "\n",
            FormatRecord(absl::StrCat("expired ", (*short_grant)->id, " ", kNowMs + 10'000)));
  // A sweep with nothing to do writes nothing.
  store->SweepExpired(kNowMs + 10'001);
  EXPECT_EQ(Lines().size(), 3u);
}

TEST_F(StoreTest, ReloadKeepsActiveAndDropsExpired) {
  std::string kept_id;
  {
    std::unique_ptr<Store> store = OpenAt(kNowMs);
    auto swept = store->IssueAuto(Agent("a"), "orders", "p", 5, kNowMs);
    auto ends_while_down = store->IssueAuto(Agent("b"), "orders", "p", 60, kNowMs);
    auto kept = store->IssueAuto(Agent("c w\nx"), "orders", "p", 900, kNowMs);
    ASSERT_TRUE(swept.ok() && ends_while_down.ok() && kept.ok());
    kept_id = (*kept)->id;
    store->SweepExpired(kNowMs + 5'000);
  }  // restart
  std::unique_ptr<Store> store = OpenAt(kNowMs + 60'000);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->active_count(), 1u);
  const std::shared_ptr<const Grant> grant = store->Active()[0];
  EXPECT_EQ(grant->id, kept_id);
  EXPECT_EQ(grant->subject, "c w\nx");
  EXPECT_EQ(grant->expires_at_ms, kNowMs + 900'000);
  // The grant that ended while the gateway was down got its expired record at Open.
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[4], HasSubstr(absl::StrCat(" ", kNowMs + 60'000)));
  EXPECT_THAT(lines[4], HasSubstr(" expired g-"));
  // The reloaded grant is reused, and a second restart sees the same state.
  auto reused = store->IssueAuto(Agent("c w\nx"), "orders", "p", 900, kNowMs + 61'000);
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ((*reused)->id, kept_id);
  store.reset();
  store = OpenAt(kNowMs + 62'000);
  EXPECT_EQ(store->active_count(), 1u);
}

TEST_F(StoreTest, TornLastLineIsDroppedAndTruncated) {
  std::string first_id;
  {
    std::unique_ptr<Store> store = OpenAt(kNowMs);
    auto grant = store->IssueAuto(Agent("a"), "orders", "p", 900, kNowMs);
    ASSERT_TRUE(grant.ok());
    first_id = (*grant)->id;
  }
  const std::string clean = ReadAll(config_.log_file);
  const std::string torn_record =
      FormatRecord(absl::StrCat("issued g-0123456789abcdef ", kNowMs, " ", kNowMs + 1000, " b o p"));
  WriteAll(config_.log_file, clean + torn_record.substr(0, torn_record.size() / 2));
  std::unique_ptr<Store> store = OpenAt(kNowMs);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->torn_tail_bytes(), torn_record.size() / 2);
  EXPECT_EQ(ReadAll(config_.log_file), clean);
  ASSERT_EQ(store->active_count(), 1u);
  EXPECT_EQ(store->Active()[0]->id, first_id);
  // Appends continue on a clean line boundary.
  ASSERT_TRUE(store->IssueAuto(Agent("b"), "orders", "p", 900, kNowMs).ok());
  store.reset();
  store = OpenAt(kNowMs);
  EXPECT_EQ(store->active_count(), 2u);
  EXPECT_EQ(store->torn_tail_bytes(), 0u);
}

TEST_F(StoreTest, CorruptMiddleLineIsRefused) {
  {
    std::unique_ptr<Store> store = OpenAt(kNowMs);
    ASSERT_TRUE(store->IssueAuto(Agent("oid-alice"), "orders", "p", 900, kNowMs).ok());
    ASSERT_TRUE(store->IssueAuto(Agent("oid-bob"), "orders", "p", 900, kNowMs).ok());
  }
  const std::string good = ReadAll(config_.log_file);
  const auto expect_refused = [&](const std::string& text, const std::string& what) {
    WriteAll(config_.log_file, text);
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(config_, kNowMs);
    ASSERT_FALSE(store.ok()) << what;
    EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(what));
  };
  std::string text = good;
  text[text.find("oid-alice")] = 'O';  // flip one byte of line 1
  expect_refused(text, absl::StrCat(config_.log_file, ": line 1: checksum mismatch"));
  text = good;
  text.replace(0, 2, "v2");
  expect_refused(text, "line 1: not a v1 record");
  expect_refused("\n" + good, "line 1: not a v1 record");
  expect_refused(good + FormatRecord("expired g-0000000000000000 1") + "\n",
                 "line 3: expired record for unknown grant g-0000000000000000");
  expect_refused(good + FormatRecord("granted g-0000000000000000 1") + good,
                 "line 3: unknown record");
  expect_refused(good + good, "line 3: grant g-");  // issued twice
  expect_refused(FormatRecord(absl::StrCat("issued g-0123456789abcdef ", kNowMs, " ", kNowMs,
                                           " a o p")),
                 "line 1: malformed issued record");  // an empty lifetime
  expect_refused(FormatRecord(absl::StrCat("issued g-0123456789abcdef 1 2 a%2x o p")),
                 "line 1: malformed issued record");  // a bad escape
  expect_refused(FormatRecord(absl::StrCat("issued g-0123456789abcdef 1 2 a%41 o p")),
                 "line 1: malformed issued record");  // %41 ('A') is not canonical
  expect_refused(std::string(Store::kLineSizeMax + 1, 'x') + "\n", "line 1: longer than 8192");
}

TEST_F(StoreTest, FieldsCannotInjectRecords) {
  const std::string evil = absl::StrCat(
      "x 1 2 a b c\n", FormatRecord("issued g-ffffffffffffffff 1 9999999999999 root orders p"),
      "%41 \r\t\x01\xff");
  EXPECT_EQ(EscapeField(evil).find_first_of(" \n\r\t"), std::string::npos);
  EXPECT_EQ(EscapeField("a b%"), "a%20b%25");
  EXPECT_EQ(EscapeField("\xff\n"), "%FF%0A");
  {
    std::unique_ptr<Store> store = OpenAt(kNowMs);
    ASSERT_TRUE(store->IssueAuto(Agent(evil), "orders", "p", 900, kNowMs).ok());
  }
  EXPECT_EQ(Lines().size(), 1u);
  std::unique_ptr<Store> store = OpenAt(kNowMs);
  ASSERT_EQ(store->active_count(), 1u);
  EXPECT_EQ(store->Active()[0]->subject, evil);
}

TEST_F(StoreTest, ConcurrentIssueFromFourThreads) {
  config_.fsync = true;
  std::unique_ptr<Store> store = OpenAt(kNowMs);
  constexpr int kThreads = 4;
  constexpr int kSubjects = 50;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSubjects; ++i) {
        // Every thread asks for the same 50 subjects: each grant is issued once, then reused.
        auto grant = store->IssueAuto(Agent(absl::StrCat("oid-", i)), "orders", "p", 900, kNowMs);
        ASSERT_TRUE(grant.ok()) << grant.status();
        ids[t].push_back((*grant)->id);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(store->active_count(), static_cast<size_t>(kSubjects));
  for (int t = 1; t < kThreads; ++t) {
    EXPECT_EQ(ids[t], ids[0]);
  }
  EXPECT_EQ(std::set<std::string>(ids[0].begin(), ids[0].end()).size(),
            static_cast<size_t>(kSubjects));
  EXPECT_EQ(Lines().size(), static_cast<size_t>(kSubjects));
  store.reset();
  store = OpenAt(kNowMs);
  EXPECT_EQ(store->active_count(), static_cast<size_t>(kSubjects));
}

TEST(MemoryStore, WorksWithoutALog) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(config::GrantsConfig{}, kNowMs);
  ASSERT_TRUE(store.ok()) << store.status();
  auto grant = (*store)->IssueAuto(Agent("a"), "orders", "p", 1, kNowMs);
  ASSERT_TRUE(grant.ok());
  EXPECT_EQ((*store)->active_count(), 1u);
  (*store)->SweepExpired(kNowMs + 1000);
  EXPECT_EQ((*store)->active_count(), 0u);
}

TEST(OpenErrors, UnopenableLogNamesTheFile) {
  config::GrantsConfig config;
  config.log_file = "/nonexistent-dir/grants.log";
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(config, kNowMs);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr("/nonexistent-dir/grants.log: cannot open grant log"));
}

}  // namespace
}  // namespace jitgate::grants
