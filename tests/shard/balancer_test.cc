// tests/shard/balancer_test.cc: the shard balancer (src/shard/balancer.h) on its own, then two
// real shards sharing one listener address and one balancer: sessions stay even however the
// kernel's SO_REUSEPORT hash spreads the connections, and a handed-off session relays as any.
#include "src/shard/balancer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/shard/relay_harness.h"

namespace jitgate::shard::testing {

// The harness instantiates the relay's per-protocol suite; this file has no case of it.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RelayProtocolTest);

namespace {

// A descriptor the balancer can own and close (the read end of a pipe; the write end is
// closed at once).
int SpareFd() {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  close(fds[1]);
  return fds[0];
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

struct Wakes {
  std::atomic<int> count[3] = {0, 0, 0};
};

std::unique_ptr<Balancer> OpenBalancer(uint32_t shards, Wakes* wakes) {
  auto balancer = std::make_unique<Balancer>(shards);
  for (uint32_t i = 0; i < shards; ++i) {
    balancer->SetWake(i, [wakes, i] { wakes->count[i].fetch_add(1); });
    balancer->Open(i);
  }
  return balancer;
}

TEST(Balancer, KeepsWhatLeavesTheShardsWithinOne) {
  Wakes wakes;
  std::unique_ptr<Balancer> balancer = OpenBalancer(2, &wakes);
  balancer->Publish(0, 3);
  balancer->Publish(1, 3);
  // 3 and 3: keeping the fourth leaves 4 and 3.
  EXPECT_FALSE(balancer->Route(0, 100, 0));
  balancer->Publish(0, 4);
  EXPECT_FALSE(balancer->Route(1, 101, 0));  // shard 1 at 3 keeps it too: 4 and 4
  balancer->Publish(1, 4);
  balancer->Publish(0, 5);
  // 5 and 4: keeping it would leave 6 and 4, so it goes to shard 1 (5 and 5).
  const int fd = SpareFd();
  EXPECT_TRUE(balancer->Route(0, fd, 7));
  EXPECT_EQ(wakes.count[1].load(), 1);
  EXPECT_EQ(wakes.count[0].load(), 0);
  EXPECT_EQ(balancer->load(1), 5u);  // counted while in the inbox
  EXPECT_EQ(balancer->moved(), 1u);
  // A second accept on shard 0 before shard 1 adopted: 5 and 5 now, so shard 0 keeps it.
  EXPECT_FALSE(balancer->Route(0, 102, 0));

  std::vector<Handoff> taken;
  balancer->Take(0, &taken);
  EXPECT_TRUE(taken.empty());
  balancer->Take(1, &taken);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].fd, fd);
  EXPECT_EQ(taken[0].listener, 7u);
  EXPECT_EQ(balancer->load(1), 5u);  // still pending until adopted
  balancer->Publish(1, 5);
  balancer->Adopted(1, 1);
  EXPECT_EQ(balancer->load(1), 5u);
  close(fd);
}

TEST(Balancer, PicksTheLeastLoadedOfMany) {
  Wakes wakes;
  std::unique_ptr<Balancer> balancer = OpenBalancer(3, &wakes);
  balancer->Publish(0, 10);
  balancer->Publish(1, 4);
  balancer->Publish(2, 2);
  const int fd = SpareFd();
  ASSERT_TRUE(balancer->Route(0, fd, 0));
  EXPECT_EQ(wakes.count[2].load(), 1);
  EXPECT_EQ(wakes.count[1].load(), 0);
  std::vector<Handoff> taken;
  balancer->Take(2, &taken);
  ASSERT_EQ(taken.size(), 1u);
  balancer->Adopted(2, 1);
  close(fd);
}

TEST(Balancer, NothingGoesToAShardNotYetOpenOrClosed) {
  Wakes wakes;
  Balancer balancer(3);
  for (uint32_t i = 0; i < 3; ++i) {
    balancer.SetWake(i, [&wakes, i] { wakes.count[i].fetch_add(1); });
  }
  balancer.Open(0);
  balancer.Publish(0, 9);
  EXPECT_FALSE(balancer.Route(0, 100, 0)) << "shards 1 and 2 have not finished their set-up";
  balancer.Open(1);
  balancer.Open(2);
  EXPECT_EQ(balancer.Close(2), 0u);
  balancer.Publish(1, 8);
  // Shard 2 (load 0) is closed; shard 1 at 8 is below 9.
  const int fd = SpareFd();
  ASSERT_TRUE(balancer.Route(0, fd, 0));
  EXPECT_EQ(wakes.count[1].load(), 1);
  EXPECT_EQ(wakes.count[2].load(), 0);
  // Shard 1 stops before adopting it: the descriptor is closed, not leaked or lost.
  EXPECT_EQ(balancer.Close(1), 1u);
  EXPECT_FALSE(IsOpen(fd));
  EXPECT_EQ(balancer.load(1), 8u);
  EXPECT_FALSE(balancer.Route(0, 101, 0)) << "every other shard is closed";
  EXPECT_EQ(balancer.Close(1), 0u) << "idempotent";
}

TEST(Balancer, ClosesWhatWasNeverTaken) {
  const int fd = SpareFd();
  {
    Wakes wakes;
    std::unique_ptr<Balancer> balancer = OpenBalancer(2, &wakes);
    balancer->Publish(0, 2);
    ASSERT_TRUE(balancer->Route(0, fd, 0));
    EXPECT_TRUE(IsOpen(fd));
  }
  EXPECT_FALSE(IsOpen(fd));
}

// ---------------------------------------------------------------------------------------------
// Two shards, one listener address, one balancer.

class TwoShards {
 public:
  explicit TwoShards(uint16_t backend_port) : balancer_(2) {
    const std::string json =
        std::string(R"({"shards": 2, "pin_shards": false, "listeners": [{"name": "test", )") +
        R"("protocol": "postgres", "address": "127.0.0.1:)" + std::to_string(port_.port()) +
        R"(", "resource": "db"}], "resources": {"db": {"protocol": "postgres", )" +
        R"("address": "127.0.0.1:)" + std::to_string(backend_port) + R"("}}, "limits": {)" +
        kBaseLimits + "}}";
    absl::StatusOr<config::Config> parsed = config::Parse(json, "test.json");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    config_ = std::move(*parsed);
    for (uint32_t i = 0; i < 2; ++i) {
      shards_.push_back(std::make_unique<Shard>(i, -1, config_, nullptr, &balancer_));
      Shard* shard = shards_.back().get();
      balancer_.SetWake(i, [shard] { shard->Poke(); });
    }
    for (auto& shard : shards_) {
      shard->Start();
    }
    for (auto& shard : shards_) {
      const absl::Status ready = shard->WaitReady();
      EXPECT_TRUE(ready.ok()) << ready;
    }
  }
  ~TwoShards() { Stop(); }

  uint16_t port() const { return port_.port(); }
  Balancer& balancer() { return balancer_; }

  void Stop() {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    for (auto& shard : shards_) {
      shard->RequestStop(false);
    }
    for (auto& shard : shards_) {
      const Clock::time_point deadline = Clock::now() + seconds(10);
      while (!shard->finished() && Clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(5));
      }
      if (!shard->finished()) {
        shard->RequestStop(true);
      }
      shard->Join();
    }
  }
  const ShardStats& stats(uint32_t i) const { return shards_[i]->stats(); }

 private:
  PortReservation port_;
  config::Config config_;
  Balancer balancer_;  // outlives the shards (declared before them)
  std::vector<std::unique_ptr<Shard>> shards_;
  bool stopped_ = false;
};

TEST_F(RelayTest, TwoShardsHoldEvenSessionCounts) {
  constexpr int kClients = 32;
  Backend backend(Echo);
  TwoShards shards(backend.port());
  std::vector<Fd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(Connect(shards.port()));
    ASSERT_TRUE(clients.back().valid()) << "client " << i;
    // The round trip means the session is established (and its shard's count published)
    // before the next client connects.
    ASSERT_TRUE(RoundTrip(clients.back().get(), "client " + std::to_string(i)));
  }
  const uint32_t load0 = shards.balancer().load(0);
  const uint32_t load1 = shards.balancer().load(1);
  EXPECT_EQ(load0 + load1, static_cast<uint32_t>(kClients));
  EXPECT_LE(load0 > load1 ? load0 - load1 : load1 - load0, 1u)
      << "shard 0 holds " << load0 << ", shard 1 " << load1;
  // Every session, moved or not, still relays.
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(RoundTrip(clients[i].get(), std::string(1000, static_cast<char>('a' + i % 26))));
  }
  clients.clear();
  shards.Stop();
  const ShardStats& a = shards.stats(0);
  const ShardStats& b = shards.stats(1);
  EXPECT_EQ(a.sessions_opened + b.sessions_opened, static_cast<uint64_t>(kClients));
  EXPECT_EQ(a.handed_off + b.handed_off, a.adopted + b.adopted);
  EXPECT_EQ(a.handed_off + b.handed_off, shards.balancer().moved());
  ExpectCleanStats(a, a.sessions_opened);
  ExpectCleanStats(b, b.sessions_opened);
  std::printf("sessions: shard0 %llu (adopted %llu), shard1 %llu (adopted %llu)\n",
              static_cast<unsigned long long>(a.sessions_opened),
              static_cast<unsigned long long>(a.adopted),
              static_cast<unsigned long long>(b.sessions_opened),
              static_cast<unsigned long long>(b.adopted));
}

}  // namespace
}  // namespace jitgate::shard::testing
