// tests/shard/relay_test.cc: the relay (src/shard/shard.h, src/shard/relay.h) end to end over
// loopback TCP, in-process: one Shard built from a JSON config, test clients on blocking sockets,
// and a test backend (a thread per accepted connection running a handler: echo, sink, source,
// scripted half-closes). No database.
//
// Data is a deterministic stream (Pattern: byte i of stream `seed` is a function of i), so every
// received byte is checked where it lands, which also catches reordering, loss and duplication.
// Every socket has SO_RCVTIMEO / SO_SNDTIMEO and every test runs under a watchdog, so a bug fails
// (or aborts naming the test) instead of hanging. Stats are read after the shard has joined.
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/shard/relay_harness.h"

namespace jitgate::shard::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// 1. Echo round trips of many sizes on one session.

TEST_P(RelayProtocolTest, EchoRoundTripManySizes) {
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start(GetParam(), backend.port(), kBaseLimits));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const Pattern pattern(1);
  uint64_t offset = 0;
  for (const uint64_t size :
       {uint64_t{1}, uint64_t{2}, uint64_t{7}, uint64_t{100}, uint64_t{1000}, 4 * kKiB - 1,
        4 * kKiB, 4 * kKiB + 1, 16 * kKiB - 1, 16 * kKiB, 16 * kKiB + 1, 64 * kKiB, 100 * kKiB + 3,
        256 * kKiB, 1 * kMiB - 1, 1 * kMiB}) {
    SCOPED_TRACE(size);
    // The sender runs beside the reader, so a message larger than the socket buffers cannot
    // deadlock against its own echo.
    uint64_t sent = 0;
    std::thread sender([&] { sent = SendPattern(client.get(), pattern, offset, size); });
    const Received echoed = RecvPattern(client.get(), pattern, offset, size);
    sender.join();
    ASSERT_EQ(sent, size);
    ASSERT_EQ(echoed.mismatch_at, kNoMismatch);
    ASSERT_EQ(echoed.bytes, size) << std::strerror(echoed.error);
    offset += size;
  }
  ASSERT_EQ(shutdown(client.get(), SHUT_WR), 0);
  const Drained rest = RecvUntilEof(client.get());
  EXPECT_TRUE(rest.eof);
  EXPECT_EQ(rest.bytes.size(), 0u);
  client.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
  EXPECT_EQ(gateway.stats().bytes_up, offset);
  EXPECT_EQ(gateway.stats().bytes_down, offset);
}

// ---------------------------------------------------------------------------------------------
// 2, 11. Large transfers both ways at once.

struct BackendTransfer {
  uint64_t sent = 0;
  Received received;
};

// The client side of an exchange: sends `size` bytes of the up stream while reading the down
// stream to EOF, half-closing when done.
void ClientExchange(uint16_t port, uint64_t size) {
  const Pattern up(11);
  const Pattern down(22);
  Fd client = Connect(port);
  ASSERT_TRUE(client.valid());
  uint64_t sent = 0;
  std::thread sender([&] {
    sent = SendPattern(client.get(), up, 0, size);
    shutdown(client.get(), SHUT_WR);
  });
  const Received received = RecvPattern(client.get(), down, 0, UINT64_MAX);
  sender.join();
  EXPECT_EQ(sent, size);
  ExpectWholeStream(received, size, "client, downstream");
}

// One session moving `size` bytes each way concurrently (independent streams), each side
// half-closing when done. Checks both streams; leaves the stats to the caller.
void RunExchange(Gateway* gateway, Backend* backend, Mailbox<BackendTransfer>* results,
                 uint64_t size) {
  ASSERT_NO_FATAL_FAILURE(ClientExchange(gateway->port(), size));
  std::optional<BackendTransfer> result = results->Take(seconds(20));
  ASSERT_TRUE(result.has_value()) << "the backend did not finish";
  EXPECT_EQ(result->sent, size);
  ExpectWholeStream(result->received, size, "backend, upstream");
  EXPECT_EQ(backend->accepted(), 1);
}

Backend::Handler ExchangeHandler(Mailbox<BackendTransfer>* results, uint64_t size) {
  return [results, size](Backend::Conn& conn) {
    const Pattern up(11);
    const Pattern down(22);
    BackendTransfer result;
    std::thread sender([&] {
      result.sent = SendPattern(conn.fd(), down, 0, size);
      shutdown(conn.fd(), SHUT_WR);
    });
    result.received = RecvPattern(conn.fd(), up, 0, UINT64_MAX);
    sender.join();
    results->Put(result);
  };
}

TEST_F(RelayTest, LargeTransferBothWaysDefaultLimits) {
  constexpr uint64_t kSize = 64 * kMiB;
  Mailbox<BackendTransfer> results;
  Backend backend(ExchangeHandler(&results, kSize));
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kBaseLimits));
  const Clock::time_point start = Clock::now();
  ASSERT_NO_FATAL_FAILURE(RunExchange(&gateway, &backend, &results, kSize));
  std::printf("64 MiB each way, default limits: %lld ms\n", static_cast<long long>(MsSince(start)));
  gateway.Stop(false);
  const ShardStats& stats = gateway.stats();
  ExpectCleanStats(stats, 1);
  EXPECT_EQ(stats.bytes_up, kSize);
  EXPECT_EQ(stats.bytes_down, kSize);
}

TEST_F(RelayTest, LargeTransferBothWaysTinyLimitsForcesBackpressure) {
  constexpr uint64_t kSize = 64 * kMiB;
  Mailbox<BackendTransfer> results;
  Backend backend(ExchangeHandler(&results, kSize));
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(),
                                        std::string(kBaseLimits) +
                                            R"(, "buffer_size": 4096, "buffer_count": 64, )" +
                                            R"("buffers_in_flight_per_direction_max": 2)"));
  const Clock::time_point start = Clock::now();
  ASSERT_NO_FATAL_FAILURE(RunExchange(&gateway, &backend, &results, kSize));
  std::printf("64 MiB each way, tiny limits: %lld ms\n", static_cast<long long>(MsSince(start)));
  gateway.Stop(false);
  const ShardStats& stats = gateway.stats();
  ExpectCleanStats(stats, 1);
  EXPECT_EQ(stats.bytes_up, kSize);
  EXPECT_EQ(stats.bytes_down, kSize);
  EXPECT_GT(stats.backpressure_pauses + stats.recv_enobufs, 0u)
      << "backpressure_pauses=" << stats.backpressure_pauses
      << " recv_enobufs=" << stats.recv_enobufs;
  std::printf("backpressure_pauses=%llu recv_enobufs=%llu\n",
              static_cast<unsigned long long>(stats.backpressure_pauses),
              static_cast<unsigned long long>(stats.recv_enobufs));
}

TEST_F(RelayTest, ZeroCopySendsKeepTheData) {
  constexpr uint64_t kSize = 32 * kMiB;
  Mailbox<BackendTransfer> results;
  Backend backend(ExchangeHandler(&results, kSize));
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start(
      "postgres", backend.port(), std::string(kBaseLimits) + R"(, "send_zc_min_bytes": 16384)"));
  ASSERT_NO_FATAL_FAILURE(RunExchange(&gateway, &backend, &results, kSize));
  gateway.Stop(false);
  const ShardStats& stats = gateway.stats();
  ExpectCleanStats(stats, 1);
  EXPECT_EQ(stats.bytes_up, kSize);
  EXPECT_EQ(stats.bytes_down, kSize);
  EXPECT_GT(stats.zc_sends, 0u);
}

// ---------------------------------------------------------------------------------------------
// 3. A slow reader must not make the gateway buffer without bound.

TEST_F(RelayTest, SlowReaderBoundsMemory) {
  constexpr uint64_t kSize = 256 * kMiB;
  const Pattern pattern(33);
  Mailbox<uint64_t> sent;
  Backend backend([&](Backend::Conn& conn) {
    sent.Put(SendPattern(conn.fd(), pattern, 0, kSize));
    shutdown(conn.fd(), SHUT_WR);
  });
  Gateway gateway;
  // 256 buffers x 16 KiB = 4 MiB of receive buffers for the whole shard.
  ASSERT_NO_FATAL_FAILURE(
      gateway.Start("postgres", backend.port(),
                    std::string(kBaseLimits) + R"(, "buffer_size": 16384, "buffer_count": 256)"));
  const int64_t rss_before = RssBytes();
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  // About 2 s of reading 16 KiB every 50 ms while the backend pushes as fast as it can.
  uint64_t offset = 0;
  int64_t rss_max = rss_before;
  for (int i = 0; i < 40; ++i) {
    const Received r = RecvPattern(client.get(), pattern, offset, 16 * kKiB, 16 * kKiB);
    ASSERT_EQ(r.mismatch_at, kNoMismatch);
    ASSERT_EQ(r.bytes, 16 * kKiB) << std::strerror(r.error);
    offset += r.bytes;
    rss_max = std::max(rss_max, RssBytes());
    std::this_thread::sleep_for(milliseconds(50));
  }
  const int64_t growth = rss_max - rss_before;
  std::printf("slow reader: RSS grew by %lld KiB while reading slowly\n",
              static_cast<long long>(growth / 1024));
  EXPECT_LT(growth, int64_t{64 * kMiB});
  const Received rest = RecvPattern(client.get(), pattern, offset, UINT64_MAX);
  ExpectWholeStream(rest, kSize - offset, "the rest after the slow phase");
  const std::optional<uint64_t> backend_sent = sent.Take(seconds(10));
  ASSERT_TRUE(backend_sent.has_value());
  EXPECT_EQ(*backend_sent, kSize);
  client.Reset();
  gateway.Stop(false);
  const ShardStats& stats = gateway.stats();
  ExpectCleanStats(stats, 1);
  EXPECT_EQ(stats.bytes_down, kSize);
  EXPECT_GT(stats.backpressure_pauses, 0u) << "a slow reader should have paused the backend side";
}

// ---------------------------------------------------------------------------------------------
// 4. Half-close is passed through, each way.

TEST_F(RelayTest, ClientHalfCloseThenBackendReplies) {
  constexpr uint64_t kReplySize = 256 * kKiB;
  const Pattern reply(44);
  Mailbox<Drained> requests;
  Backend backend([&](Backend::Conn& conn) {
    Drained request = RecvUntilEof(conn.fd());  // the reply goes out only after EOF
    const bool eof = request.eof;
    requests.Put(std::move(request));
    if (eof) {
      SendPattern(conn.fd(), reply, 0, kReplySize);
    }
    conn.Close();
  });
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kBaseLimits));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  ASSERT_TRUE(SendText(client.get(), "the whole request"));
  ASSERT_EQ(shutdown(client.get(), SHUT_WR), 0);
  const Received received = RecvPattern(client.get(), reply, 0, UINT64_MAX);
  ExpectWholeStream(received, kReplySize, "reply after the client's half-close");
  const std::optional<Drained> request = requests.Take(seconds(5));
  ASSERT_TRUE(request.has_value());
  EXPECT_TRUE(request->eof) << "the backend did not see the client's EOF";
  EXPECT_EQ(request->bytes, "the whole request");
  client.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
  EXPECT_EQ(gateway.stats().bytes_down, kReplySize);
}

TEST_F(RelayTest, BackendHalfCloseThenClientSends) {
  constexpr uint64_t kGreetingSize = 256 * kKiB;
  const Pattern greeting(55);
  Mailbox<Drained> received_by_backend;
  Backend backend([&](Backend::Conn& conn) {
    SendPattern(conn.fd(), greeting, 0, kGreetingSize);
    shutdown(conn.fd(), SHUT_WR);
    received_by_backend.Put(RecvUntilEof(conn.fd()));
  });
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kBaseLimits));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const Received received = RecvPattern(client.get(), greeting, 0, UINT64_MAX);
  ExpectWholeStream(received, kGreetingSize, "greeting, then the backend's EOF");
  // The other direction still relays after the backend's EOF.
  ASSERT_TRUE(SendText(client.get(), "sent after the backend's EOF"));
  ASSERT_EQ(shutdown(client.get(), SHUT_WR), 0);
  const std::optional<Drained> got = received_by_backend.Take(seconds(5));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->eof);
  EXPECT_EQ(got->bytes, "sent after the backend's EOF");
  const Drained rest = RecvUntilEof(client.get());
  EXPECT_TRUE(rest.eof);
  EXPECT_EQ(rest.bytes.size(), 0u);
  client.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
}

// ---------------------------------------------------------------------------------------------
// 5. Resets close both sides.

struct EndSeen {
  Drained drained;
  Clock::time_point at;
};

TEST_F(RelayTest, ClientResetClosesBackendSide) {
  Mailbox<bool> got_hello;
  Mailbox<EndSeen> ends;
  Backend backend([&](Backend::Conn& conn) {
    char hello[5];
    got_hello.Put(RecvExact(conn.fd(), hello, sizeof(hello)));
    Drained drained = RecvUntilEof(conn.fd());
    ends.Put(EndSeen{std::move(drained), Clock::now()});
  });
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kBaseLimits));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  ASSERT_TRUE(SendText(client.get(), "hello"));
  const std::optional<bool> hello = got_hello.Take(seconds(5));
  ASSERT_TRUE(hello.has_value() && *hello) << "the backend did not receive the client's bytes";
  const Clock::time_point reset_at = Clock::now();
  CloseWithReset(&client);
  const std::optional<EndSeen> end = ends.Take(seconds(5));
  ASSERT_TRUE(end.has_value()) << "the backend side stayed open after the client's reset";
  const int64_t ms = std::chrono::duration_cast<milliseconds>(end->at - reset_at).count();
  EXPECT_TRUE(end->drained.eof || end->drained.error == ECONNRESET)
      << std::strerror(end->drained.error);
  EXPECT_LT(ms, 2000) << "the backend saw the end " << ms << " ms after the client's reset";
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
}

TEST_F(RelayTest, BackendResetClosesClientSide) {
  Backend backend([&](Backend::Conn& conn) {
    char hello[5];
    if (RecvExact(conn.fd(), hello, sizeof(hello))) {
      const linger hard{1, 0};
      setsockopt(conn.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    }
    conn.Close();
  });
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kBaseLimits));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  ASSERT_TRUE(SendText(client.get(), "hello"));
  const Clock::time_point start = Clock::now();
  const Drained drained = RecvUntilEof(client.get());
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET) << std::strerror(drained.error);
  EXPECT_LT(MsSince(start), 2000);
  client.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
}

// ---------------------------------------------------------------------------------------------
// More edges: the shared pool under several sessions, queued data at a half-close, a backend
// that never reads, a backend that never answers the connect, short-lived connections.

constexpr char kTinyPool[] = R"("shutdown_grace_s": 5, "buffer_size": 4096, "buffer_count": 64, )"
                             R"("buffers_in_flight_per_direction_max": 2)";

// Several sessions moving data both ways at once through a 64-buffer pool: ENOBUFS parks flows
// of different sessions, and each must resume.
TEST_F(RelayTest, ConcurrentTransfersShareATinyPool) {
  constexpr int kSessions = 8;
  constexpr uint64_t kSize = 4 * kMiB;
  Mailbox<BackendTransfer> results;
  Backend backend(ExchangeHandler(&results, kSize));
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kTinyPool));
  std::vector<std::thread> clients;
  for (int i = 0; i < kSessions; ++i) {
    clients.emplace_back([&] { ClientExchange(gateway.port(), kSize); });
  }
  for (std::thread& client : clients) {
    client.join();
  }
  for (int i = 0; i < kSessions; ++i) {
    std::optional<BackendTransfer> result = results.Take(seconds(20));
    ASSERT_TRUE(result.has_value()) << "backend connection " << i << " did not finish";
    EXPECT_EQ(result->sent, kSize);
    ExpectWholeStream(result->received, kSize, "backend, upstream");
  }
  gateway.Stop(false);
  const ShardStats& stats = gateway.stats();
  ExpectCleanStats(stats, kSessions);
  EXPECT_EQ(stats.bytes_up, kSessions * kSize);
  EXPECT_EQ(stats.bytes_down, kSessions * kSize);
  std::printf("backpressure_pauses=%llu recv_enobufs=%llu\n",
              static_cast<unsigned long long>(stats.backpressure_pauses),
              static_cast<unsigned long long>(stats.recv_enobufs));
}

// An echo server (read, then a blocking write of what it read) behind a tiny pool, with a client
// that reads while it writes: direct, this never deadlocks, so through the relay it must not
// either. The upstream direction must not be able to take every buffer while the downstream one,
// which the backend waits on before it reads again, is starved.
TEST_F(RelayTest, EchoOfLargeMessagesThroughATinyPool) {
  constexpr uint64_t kSize = 8 * kMiB;
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kTinyPool));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const Pattern pattern(66);
  uint64_t sent = 0;
  std::thread sender([&] { sent = SendPattern(client.get(), pattern, 0, kSize, 64 * kKiB); });
  const Received echoed = RecvPattern(client.get(), pattern, 0, kSize);
  if (echoed.bytes < kSize) {
    shutdown(client.get(), SHUT_RDWR);  // unblock the sender
  }
  sender.join();
  EXPECT_EQ(echoed.mismatch_at, kNoMismatch);
  EXPECT_EQ(echoed.bytes, kSize) << "the echo stalled after " << echoed.bytes << " bytes ("
                                 << std::strerror(echoed.error) << "); client sent " << sent;
  client.Reset();
  gateway.Stop(false);
  const ShardStats& stats = gateway.stats();
  std::printf("echo through a tiny pool: bytes_up=%llu bytes_down=%llu recv_enobufs=%llu\n",
              static_cast<unsigned long long>(stats.bytes_up),
              static_cast<unsigned long long>(stats.bytes_down),
              static_cast<unsigned long long>(stats.recv_enobufs));
  ExpectCleanStats(stats, 1);
}

// The client's EOF arrives while its earlier bytes are still queued in the gateway (the backend
// is not reading yet): the bytes go first, then the EOF.
TEST_F(RelayTest, HalfCloseWaitsForQueuedData) {
  constexpr uint64_t kSize = 16 * kMiB;
  const Pattern pattern(77);
  Mailbox<Received> uploads;
  Backend backend([&](Backend::Conn& conn) {
    std::this_thread::sleep_for(milliseconds(300));  // let the relay's queue fill and pause
    Received upload = RecvPattern(conn.fd(), pattern, 0, UINT64_MAX);
    const bool whole = upload.eof && upload.bytes == kSize;
    uploads.Put(upload);
    if (whole) {
      SendText(conn.fd(), "done");
    }
  });
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kTinyPool));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(SendPattern(client.get(), pattern, 0, kSize), kSize);
  ASSERT_EQ(shutdown(client.get(), SHUT_WR), 0);
  const std::optional<Received> upload = uploads.Take(seconds(20));
  ASSERT_TRUE(upload.has_value());
  ExpectWholeStream(*upload, kSize, "backend, upload then EOF");
  const Drained reply = RecvUntilEof(client.get());
  EXPECT_EQ(reply.bytes, "done");
  EXPECT_TRUE(reply.eof);
  client.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
  EXPECT_EQ(gateway.stats().bytes_up, kSize);
}

// Fills everything between a client and a backend that never reads; returns bytes sent.
uint64_t SendUntilBlocked(int fd) {
  std::vector<char> chunk(256 * kKiB, 'q');
  uint64_t sent = 0;
  Clock::time_point last_progress = Clock::now();
  while (MsSince(last_progress) < 500) {
    const ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
      last_progress = Clock::now();
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      ADD_FAILURE() << "send: " << std::strerror(errno);
      break;
    } else {
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  return sent;
}

// A backend that accepts and never reads; it ends when the test releases it.
Backend::Handler NeverReads(Mailbox<bool>* release) {
  return [release](Backend::Conn&) { (void)release->Take(seconds(30)); };
}

TEST_F(RelayTest, ClientResetWhileTheBackendSendIsBlocked) {
  Mailbox<bool> release;
  Backend backend(NeverReads(&release));
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), R"("shutdown_grace_s": 3)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const uint64_t sent = SendUntilBlocked(client.get());
  EXPECT_GT(sent, 0u);
  std::printf("a backend that never reads absorbed %llu KiB\n",
              static_cast<unsigned long long>(sent / 1024));
  CloseWithReset(&client);
  std::this_thread::sleep_for(milliseconds(300));
  // The session is gone already, so the stop does not wait for the 3 s grace (a session still
  // open would be closed with reason=shutdown when the grace ends).
  const int64_t stop_ms = gateway.Stop(false, seconds(8));
  EXPECT_LT(stop_ms, 1500) << "the session outlived its client's reset";
  release.Put(true);
  const ShardStats& stats = gateway.stats();
  ExpectCleanStats(stats, 1);
  EXPECT_GT(stats.backpressure_pauses, 0u);
}

TEST_F(RelayTest, ImmediateStopWhileTheBackendSendIsBlocked) {
  Mailbox<bool> release;
  Backend backend(NeverReads(&release));
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), R"("shutdown_grace_s": 60)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  EXPECT_GT(SendUntilBlocked(client.get()), 0u);
  const int64_t stop_ms = gateway.Stop(true, seconds(5));
  EXPECT_LT(stop_ms, 1000);
  const Drained drained = RecvUntilEof(client.get());
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET) << std::strerror(drained.error);
  release.Put(true);
  ExpectCleanStats(gateway.stats(), 1);
}

// A backend whose accept queue is full drops the SYN, so the connect hangs until
// limits.connect_timeout_ms and the client gets "connect timed out".
TEST_P(RelayProtocolTest, BackendConnectTimeoutSendsRefusal) {
  Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = Loopback(0);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener.get(), 0), 0);  // room for one queued connection
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  const uint16_t port = ntohs(address.sin_port);
  Fd filler = Connect(port);  // takes the one place; later SYNs are dropped
  ASSERT_TRUE(filler.valid());
  std::this_thread::sleep_for(milliseconds(50));

  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(
      gateway.Start(GetParam(), port, std::string(kBaseLimits) + R"(, "connect_timeout_ms": 300)"));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const Clock::time_point start = Clock::now();
  const Drained drained = ReadRefusal(GetParam(), client.get());
  const int64_t ms = MsSince(start);
  EXPECT_TRUE(drained.eof) << std::strerror(drained.error);
  ExpectRefusal(GetParam(), drained.bytes, /*sessions_max=*/false);
  EXPECT_NE(drained.bytes.find("timed out"), std::string::npos) << drained.bytes;
  EXPECT_GE(ms, 250);
  EXPECT_LT(ms, 2500);
  std::printf("refused after %lld ms\n", static_cast<long long>(ms));
  client.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
}

TEST_F(RelayTest, BackendClosingAtOnceEndsTheSession) {
  Backend backend([](Backend::Conn& conn) { conn.Close(); });
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start("postgres", backend.port(), kBaseLimits));
  Fd client = Connect(gateway.port());
  ASSERT_TRUE(client.valid());
  const Drained drained = RecvUntilEof(client.get());
  EXPECT_TRUE(drained.eof || drained.error == ECONNRESET) << std::strerror(drained.error);
  EXPECT_EQ(drained.bytes.size(), 0u);
  client.Reset();
  gateway.Stop(false);
  ExpectCleanStats(gateway.stats(), 1);
}

// Clients that hang up at once (FIN or RST, before or after the backend connect completes)
// leave no session behind, and their slots are reused cleanly.
TEST_F(RelayTest, ShortLivedConnectionsLeaveNothingBehind) {
  constexpr int kClients = 200;
  Backend backend(Echo);
  Gateway gateway;
  ASSERT_NO_FATAL_FAILURE(gateway.Start(
      "postgres", backend.port(), std::string(kBaseLimits) + R"(, "sessions_per_shard_max": 16)"));
  for (int i = 0; i < kClients; ++i) {
    Fd client = Connect(gateway.port());
    ASSERT_TRUE(client.valid());
    if (i % 3 == 1) {
      SendText(client.get(), "x");
    }
    if (i % 2 == 0) {
      CloseWithReset(&client);
    }
    if (i % 16 == 15) {
      std::this_thread::sleep_for(milliseconds(20));  // stay mostly under the session limit
    }
  }
  // Whatever happened to those, a new client is relayed.
  bool relayed = false;
  int attempts = 0;
  const Clock::time_point start = Clock::now();
  while (!relayed && MsSince(start) < 5000) {
    ++attempts;
    Fd client = Connect(gateway.port());
    ASSERT_TRUE(client.valid());
    ASSERT_TRUE(SendText(client.get(), "hello"));
    std::string reply(5, '\0');
    relayed = RecvExact(client.get(), reply.data(), reply.size()) && reply == "hello";
    if (!relayed) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  EXPECT_TRUE(relayed);
  gateway.Stop(false, seconds(8));
  const ShardStats& stats = gateway.stats();
  EXPECT_EQ(stats.sessions_closed, stats.sessions_opened);
  EXPECT_EQ(stats.sessions_opened + stats.sessions_refused, uint64_t{kClients} + attempts)
      << "sessions_opened=" << stats.sessions_opened
      << " sessions_refused=" << stats.sessions_refused;
  EXPECT_EQ(stats.stale_completions, 0u);
}

}  // namespace
}  // namespace jitgate::shard::testing
