// tests/shard/relay_lifecycle_test.cc: the relay's session lifecycle over loopback (harness in
// relay_harness.h): refusals (backend down, connect timeout, sessions_per_shard_max) for both
// protocols, idle timeouts, graceful and immediate stop, many concurrent clients.
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/shard/relay_harness.h"

namespace jitgate::shard::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// 6. Backend down: the client gets a protocol error naming jitgate, then EOF.

TEST_P(RelayProtocolTest, BackendDownSendsRefusal) {
  PortReservation dead;  // bound, never listening: connects to it are refused
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start(GetParam(), dead.port(), kBaseLimits));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const Drained drained = ReadRefusal(GetParam(), client.get());
  EXPECT_TRUE(drained.eof) << std::strerror(drained.error);
  ExpectRefusal(GetParam(), drained.bytes, /*sessions_max=*/false);
  client.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
}

// A refused client that reads its error but never hangs up is closed after the refusal linger
// (2 s in src/shard/relay.cc), not kept until the shutdown grace ends.
TEST_F(RelayTest, RefusedClientThatNeverHangsUpIsClosed) {
  PortReservation dead;
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", dead.port(), R"("shutdown_grace_s": 20)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const Drained drained = ReadRefusal("postgres", client.get(), /*ssl_first=*/false);
  EXPECT_TRUE(drained.eof) << std::strerror(drained.error);
  ExpectPgRefusal(drained.bytes, "08006");
  // The client stays connected; the stop waits only for the linger.
  const int64_t stop_ms = gateway.Stop(false, seconds(10));
  EXPECT_LT(stop_ms, 5000) << "the refused session waited for the shutdown grace";
  std::printf("refused session closed; stop took %lld ms\n", static_cast<long long>(stop_ms));
  ExpectCleanStats(gateway.stats(), 1);
}

// A refused PostgreSQL client that never sends its start-up packet gets nothing (there is no
// protocol point to answer at) and is closed after the refusal linger.
TEST_F(RelayTest, RefusedPgClientThatSendsNothingIsClosedAfterTheLinger) {
  PortReservation dead;
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", dead.port(), R"("shutdown_grace_s": 20)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const Clock::time_point start = Clock::now();
  const Drained drained = RecvUntilEof(client.get());
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET) << std::strerror(drained.error);
  EXPECT_TRUE(drained.bytes.empty()) << drained.bytes.size() << " unexpected bytes";
  EXPECT_GE(MsSince(start), 1500);
  gateway.Stop(false, seconds(10));
  ExpectCleanStats(gateway.stats(), 1);
}

// A CancelRequest for a refused session (there is no backend to cancel) is closed at once.
TEST_F(RelayTest, RefusedPgCancelRequestIsClosed) {
  PortReservation dead;
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", dead.port(), R"("shutdown_grace_s": 20)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  // CancelRequest: length 16, code 80877102, pid, secret key.
  ASSERT_TRUE(
      SendText(client.get(), std::string("\0\0\0\x10\x04\xd2\x16\x2e\0\0\0\x01\0\0\0\x02", 16)));
  const Clock::time_point start = Clock::now();
  const Drained drained = RecvUntilEof(client.get());
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET) << std::strerror(drained.error);
  EXPECT_TRUE(drained.bytes.empty());
  EXPECT_LT(MsSince(start), 1500);
  gateway.Stop(false, seconds(10));
  ExpectCleanStats(gateway.stats(), 1);
}

// ---------------------------------------------------------------------------------------------
// 7. sessions_per_shard_max.

TEST_P(RelayProtocolTest, SessionsMaxRefusesTheThirdAndRecovers) {
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start(
      GetParam(), backend.port(), std::string(kBaseLimits) + R"(, "sessions_per_shard_max": 2)"));
  Fd first = Connect(gateway.port());
  Fd second = Connect(gateway.port());
  ASSERT_TRUE(first.valid() && second.valid());
  ASSERT_TRUE(RoundTrip(first.get(), "first"));
  ASSERT_TRUE(RoundTrip(second.get(), "second"));

  Fd third = Connect(gateway.port());
  ASSERT_TRUE(third.valid());
  const Drained refused = ReadRefusal(GetParam(), third.get());
  EXPECT_TRUE(refused.eof) << std::strerror(refused.error);
  ExpectRefusal(GetParam(), refused.bytes, /*sessions_max=*/true);
  third.Reset();

  EXPECT_TRUE(RoundTrip(first.get(), "first again"));
  EXPECT_TRUE(RoundTrip(second.get(), "second again"));

  first.Reset();
  // The slot frees once the gateway has seen the close: retry briefly until a client is relayed.
  bool relayed = false;
  int attempts = 0;
  const Clock::time_point start = Clock::now();
  while (!relayed && MsSince(start) < 5000) {
    ++attempts;
    Fd next = Connect(gateway.port());
    ASSERT_TRUE(next.valid());
    ASSERT_TRUE(SendText(next.get(), "fourth"));
    std::string reply(6, '\0');
    relayed = RecvExact(next.get(), reply.data(), reply.size()) && reply == "fourth";
    if (relayed) {
      EXPECT_TRUE(RoundTrip(next.get(), "fourth again"));
    } else {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  EXPECT_TRUE(relayed) << "no client relayed 5 s after one of the two closed";
  std::printf("relayed again after %d attempt(s)\n", attempts);
  second.Reset();
  gateway.Stop(false);
  const ShardStats& stats = gateway.stats();
  EXPECT_EQ(stats.sessions_closed, stats.sessions_opened);
  EXPECT_EQ(stats.sessions_opened, 2u + static_cast<uint64_t>(relayed));
  EXPECT_EQ(stats.sessions_refused, 1u + static_cast<uint64_t>(attempts - 1));
  EXPECT_EQ(stats.stale_completions, 0u);
}

// ---------------------------------------------------------------------------------------------
// 8. Idle timeout.

TEST_F(RelayTest, IdleTimeoutClosesIdleSessionsOnly) {
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(),
                                        std::string(kBaseLimits) + R"(, "idle_timeout_s": 1)"));
  Fd idle = Connect(gateway.port());
  Fd active = Connect(gateway.port());
  ASSERT_TRUE(idle.valid() && active.valid());
  ASSERT_TRUE(RoundTrip(idle.get(), "then silence"));
  const Clock::time_point idle_since = Clock::now();

  std::atomic<int> active_failures{0};
  std::thread talker([&] {
    const Clock::time_point start = Clock::now();
    int i = 0;
    while (MsSince(start) < 3000) {
      if (!RoundTrip(active.get(), "tick " + std::to_string(i++))) {
        active_failures.fetch_add(1);
        return;
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
  });
  const Drained drained = RecvUntilEof(idle.get());
  const int64_t closed_after_ms = MsSince(idle_since);
  talker.join();
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET)
      << "the idle session was not closed: " << std::strerror(drained.error);
  EXPECT_EQ(drained.bytes.size(), 0u);
  EXPECT_GE(closed_after_ms, 900);
  EXPECT_LE(closed_after_ms, 2500);
  std::printf("idle session closed after %lld ms\n", static_cast<long long>(closed_after_ms));
  EXPECT_EQ(active_failures.load(), 0);
  EXPECT_TRUE(RoundTrip(active.get(), "still here after 3 s"));
  idle.Reset();
  active.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 2);
}

// ---------------------------------------------------------------------------------------------
// 9. Stopping.

// True if a new client is not relayed: the connect fails, or the connection ends without an echo.
bool NewClientRejected(uint16_t port) {
  int error = 0;
  Fd late = Connect(port, &error);
  if (!late.valid()) {
    return true;
  }
  if (!SendText(late.get(), "late")) {
    return true;
  }
  const Drained drained = RecvUntilEof(late.get());
  return drained.bytes.empty() && (drained.eof || drained.error == ECONNRESET);
}

TEST_F(RelayTest, GracefulStopLetsSessionsFinishDuringGrace) {
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), R"("shutdown_grace_s": 1)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  ASSERT_TRUE(RoundTrip(client.get(), "before the stop"));
  const Clock::time_point stop_at = Clock::now();
  gateway.RequestStop(false);
  EXPECT_TRUE(RoundTrip(client.get(), "during the grace period"));
  std::this_thread::sleep_for(milliseconds(200));  // the listener closes on the shard's thread
  EXPECT_TRUE(NewClientRejected(gateway.port())) << "a new client was relayed after the stop";
  EXPECT_TRUE(RoundTrip(client.get(), "still during the grace period"));
  // The grace ends and the gateway closes the session.
  const Drained drained = RecvUntilEof(client.get());
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET) << std::strerror(drained.error);
  gateway.Join(seconds(5));
  const int64_t stop_ms = MsSince(stop_at);
  std::printf("graceful stop took %lld ms\n", static_cast<long long>(stop_ms));
  EXPECT_GE(stop_ms, 900) << "the session was closed before its grace period ended";
  EXPECT_LE(stop_ms, 3000);
  ExpectCleanStats(gateway.stats(), 1);
}

TEST_F(RelayTest, ImmediateStopEndsAtOnce) {
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), R"("shutdown_grace_s": 60)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  ASSERT_TRUE(RoundTrip(client.get(), "before the stop"));
  const int64_t stop_ms = gateway.Stop(true, seconds(5));
  std::printf("immediate stop took %lld ms\n", static_cast<long long>(stop_ms));
  EXPECT_LT(stop_ms, 1000);
  const Drained drained = RecvUntilEof(client.get());
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET) << std::strerror(drained.error);
  ExpectCleanStats(gateway.stats(), 1);
}

TEST_F(RelayTest, ImmediateStopCutsAGracePeriodShort) {
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), R"("shutdown_grace_s": 60)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  gateway.RequestStop(false);
  EXPECT_TRUE(RoundTrip(client.get(), "during a long grace period"));
  const int64_t stop_ms = gateway.Stop(true, seconds(5));
  EXPECT_LT(stop_ms, 1000);
  const Drained drained = RecvUntilEof(client.get());
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET) << std::strerror(drained.error);
  ExpectCleanStats(gateway.stats(), 1);
}

// ---------------------------------------------------------------------------------------------
// 10. Many concurrent clients.

TEST_F(RelayTest, FiveHundredConcurrentClients) {
  constexpr int kClients = 500;
  constexpr int kThreads = 4;
  constexpr int kRounds = 3;
  // Four descriptors per session live in this process: client, the gateway's two, the backend's.
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  files.rlim_cur = files.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur < 4 * kClients + 200) {
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << files.rlim_max << " is too low";
  }
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kBaseLimits));
  std::vector<Fd> clients(kClients);
  auto each_slice = [&](const std::function<void(int)>& work) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < kClients; i += kThreads) {
          work(i);
        }
      });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
  };
  const Clock::time_point start = Clock::now();
  std::atomic<int> connected{0};
  each_slice([&](int i) {
    clients[i] = Connect(gateway.port());
    connected.fetch_add(clients[i].valid() ? 1 : 0);
  });
  ASSERT_EQ(connected.load(), kClients);
  std::atomic<int> good{0};
  each_slice([&](int i) {
    bool ok = true;
    for (int round = 0; round < kRounds && ok; ++round) {
      ok = RoundTrip(clients[i].get(), "client " + std::to_string(i) + " round " +
                                           std::to_string(round) + std::string(40, 'x'));
    }
    good.fetch_add(ok ? 1 : 0);
  });
  EXPECT_EQ(good.load(), kClients);
  EXPECT_EQ(backend.open_max(), kClients) << "not all sessions were open at once";
  clients.clear();
  std::printf("%d clients x %d round trips: %lld ms\n", kClients, kRounds,
              static_cast<long long>(MsSince(start)));
  gateway.Stop(false);
  const ShardStats& stats = gateway.stats();
  ExpectCleanStats(stats, kClients);
  EXPECT_EQ(stats.sessions_refused, 0u);
}

}  // namespace
}  // namespace jitgate::shard::testing
