// tests/shard/relay_harness.h: the harness of the relay tests (relay_test.cc,
// relay_lifecycle_test.cc): a Shard built from a JSON config (Gateway), test clients on blocking
// sockets with timeouts, a threaded loopback Backend running per-connection handlers, a
// deterministic data Pattern checked where it lands, a Watchdog, and refusal readers.
#ifndef JITGATE_TESTS_SHARD_RELAY_HARNESS_H_
#define JITGATE_TESTS_SHARD_RELAY_HARNESS_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/config.h"
#include "ringio/ring.h"
#include "src/common/log.h"
#include "src/shard/shard.h"

namespace jitgate::shard::testing {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;
// Every test socket gives up on a blocked send or recv after this long: far above any healthy
// wait here (the slowest, the slow-reader test, blocks its backend for about 2 s).
constexpr milliseconds kIoTimeout = seconds(10);
// A test still running after this long is hung: the watchdog aborts the binary naming it.
constexpr seconds kTestDeadline = seconds(50);
// Limits every test starts from: a short grace so a stuck session shows up as a slow Stop.
constexpr char kBaseLimits[] = R"("shutdown_grace_s": 5)";

inline int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

// ---------------------------------------------------------------------------------------------
// Watchdog: aborts the process when a test outlives kTestDeadline.

class Watchdog {
 public:
  explicit Watchdog(seconds deadline) {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = info == nullptr ? "?" : std::string(info->test_suite_name()) + "." + info->name();
    thread_ = std::thread([this, deadline] {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, deadline, [this] { return done_; })) {
        std::fprintf(stderr, "watchdog: %s still running after %llds: hung, aborting\n",
                     name_.c_str(), static_cast<long long>(deadline.count()));
        std::abort();
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// A value handed from a backend thread to the test, with a bounded wait.
template <typename T>
class Mailbox {
 public:
  void Put(T value) {
    {
      std::lock_guard lock(mu_);
      values_.push_back(std::move(value));
    }
    cv_.notify_all();
  }
  // The oldest value, or nullopt after `timeout`.
  std::optional<T> Take(milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return !values_.empty(); })) {
      return std::nullopt;
    }
    T value = std::move(values_.front());
    values_.erase(values_.begin());
    return value;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> values_;
};

// ---------------------------------------------------------------------------------------------
// Sockets

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

inline void SetIoTimeouts(int fd) {
  timeval tv{};
  tv.tv_sec = kIoTimeout.count() / 1000;
  tv.tv_usec = (kIoTimeout.count() % 1000) * 1000;
  EXPECT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  EXPECT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

inline sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A port on 127.0.0.1 held for the object's life by a socket that is bound (SO_REUSEADDR +
// SO_REUSEPORT) but never listens: the shard can bind the same port (it sets both options too),
// nobody else can take it meanwhile, and a connect to it is refused unless the shard listens.
class PortReservation {
 public:
  PortReservation() {
    fd_ = Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    EXPECT_EQ(setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    EXPECT_EQ(setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
    sockaddr_in address = Loopback(0);
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
        << std::strerror(errno);
    socklen_t length = sizeof(address);
    EXPECT_EQ(getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
  }
  uint16_t port() const { return port_; }

 private:
  Fd fd_;
  uint16_t port_ = 0;
};

// Connects to 127.0.0.1:port; on failure the Fd is invalid and *error holds errno. A caller
// that does not ask for the error expects the connect to succeed: a failure is printed (with
// errno and the port's sockets as ss sees them), so the assertion after it has a cause.
inline Fd Connect(uint16_t port, int* error = nullptr) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    const int saved = errno;
    if (error != nullptr) {
      *error = saved;
    } else {
      std::fprintf(stderr, "Connect(127.0.0.1:%u): socket: %s\n", port, std::strerror(saved));
    }
    return Fd();
  }
  SetIoTimeouts(fd.get());
  const int one = 1;
  (void)setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const sockaddr_in address = Loopback(port);
  int rc;
  do {
    rc = connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int saved = errno;
    if (error != nullptr) {
      *error = saved;
    } else {
      std::fprintf(stderr, "Connect(127.0.0.1:%u): connect: %s; sockets on the port:\n", port,
                   std::strerror(saved));
      const std::string command =
          "ss -Htanp '( sport = :" + std::to_string(port) + " )' >&2 2>/dev/null";
      (void)std::system(command.c_str());
    }
    return Fd();
  }
  if (error != nullptr) {
    *error = 0;
  }
  return fd;
}

inline bool SendAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

inline bool SendText(int fd, const std::string& text) {
  return SendAll(fd, text.data(), text.size());
}

inline bool RecvExact(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = recv(fd, p, size, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

struct Drained {
  std::string bytes;
  bool eof = false;  // ended by an orderly EOF
  int error = 0;     // errno when ended by an error (ECONNRESET, EAGAIN on the timeout)
};

// Reads until EOF, an error, or `size_max` bytes.
inline Drained RecvUntilEof(int fd, size_t size_max = 1 * kMiB) {
  Drained out;
  char buffer[16 * 1024];
  while (out.bytes.size() < size_max) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 0) {
      out.eof = true;
      break;
    }
    if (n < 0) {
      out.error = errno;
      break;
    }
    out.bytes.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

// One echo round trip of `text`; false (with a test failure) if the reply differs.
inline bool RoundTrip(int fd, const std::string& text) {
  if (!SendText(fd, text)) {
    ADD_FAILURE() << "send failed: " << std::strerror(errno);
    return false;
  }
  std::string reply(text.size(), '\0');
  if (!RecvExact(fd, reply.data(), reply.size())) {
    ADD_FAILURE() << "recv failed: " << std::strerror(errno);
    return false;
  }
  EXPECT_EQ(reply, text);
  return reply == text;
}

// Ends `fd` with an RST instead of a FIN.
inline void CloseWithReset(Fd* fd) {
  const linger hard{1, 0};
  EXPECT_EQ(setsockopt(fd->get(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)), 0);
  fd->Reset();
}

// ---------------------------------------------------------------------------------------------
// Pattern streams

constexpr uint64_t kNoMismatch = UINT64_MAX;

inline uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Byte i of the stream is byte (i % 8) (little endian) of Mix(seed ^ (i / 8)).
class Pattern {
 public:
  explicit Pattern(uint64_t seed) : seed_(seed) {}

  void Fill(uint64_t offset, std::span<std::byte> out) const {
    size_t i = 0;
    while (i < out.size() && ((offset + i) & 7) != 0) {
      out[i] = At(offset + i);
      ++i;
    }
    for (; i + 8 <= out.size(); i += 8) {
      const uint64_t word = Mix(seed_ ^ ((offset + i) >> 3));
      std::memcpy(out.data() + i, &word, 8);
    }
    for (; i < out.size(); ++i) {
      out[i] = At(offset + i);
    }
  }

  // Index into `in` of the first byte that is not the stream's byte at `offset` + index, or
  // kNoMismatch.
  uint64_t Check(uint64_t offset, std::span<const std::byte> in) const {
    size_t i = 0;
    while (i < in.size() && ((offset + i) & 7) != 0) {
      if (in[i] != At(offset + i)) {
        return i;
      }
      ++i;
    }
    for (; i + 8 <= in.size(); i += 8) {
      const uint64_t word = Mix(seed_ ^ ((offset + i) >> 3));
      if (std::memcmp(in.data() + i, &word, 8) != 0) {
        break;  // the byte loop below finds which
      }
    }
    for (; i < in.size(); ++i) {
      if (in[i] != At(offset + i)) {
        return i;
      }
    }
    return kNoMismatch;
  }

 private:
  std::byte At(uint64_t offset) const {
    return static_cast<std::byte>(Mix(seed_ ^ (offset >> 3)) >> ((offset & 7) * 8));
  }

  uint64_t seed_;
};

// Sends stream bytes [offset, offset + size) on `fd`; returns how many were sent.
inline uint64_t SendPattern(int fd, const Pattern& pattern, uint64_t offset, uint64_t size,
                            size_t chunk_size = 256 * kKiB) {
  std::vector<std::byte> chunk(chunk_size);
  uint64_t sent = 0;
  while (sent < size) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - sent));
    pattern.Fill(offset + sent, std::span(chunk).first(n));
    if (!SendAll(fd, chunk.data(), n)) {
      break;
    }
    sent += n;
  }
  return sent;
}

struct Received {
  uint64_t bytes = 0;
  bool eof = false;
  int error = 0;
  uint64_t mismatch_at = kNoMismatch;  // stream offset of the first wrong byte
};

// Reads until `limit` bytes, EOF or an error, checking every byte against the stream from
// `offset`. Stops at the first wrong byte.
inline Received RecvPattern(int fd, const Pattern& pattern, uint64_t offset, uint64_t limit,
                            size_t chunk_size = 256 * kKiB) {
  std::vector<std::byte> chunk(chunk_size);
  Received out;
  while (out.bytes < limit) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), limit - out.bytes));
    const ssize_t n = recv(fd, chunk.data(), want, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 0) {
      out.eof = true;
      break;
    }
    if (n < 0) {
      out.error = errno;
      break;
    }
    const uint64_t bad =
        pattern.Check(offset + out.bytes, std::span(chunk).first(static_cast<size_t>(n)));
    if (bad != kNoMismatch) {
      out.mismatch_at = offset + out.bytes + bad;
      out.bytes += bad;
      break;
    }
    out.bytes += static_cast<uint64_t>(n);
  }
  return out;
}

// Expects exactly `size` good bytes then EOF.
inline void ExpectWholeStream(const Received& r, uint64_t size, const char* what) {
  EXPECT_EQ(r.mismatch_at, kNoMismatch)
      << what << ": wrong byte at stream offset " << r.mismatch_at;
  EXPECT_EQ(r.bytes, size) << what;
  EXPECT_TRUE(r.eof) << what << ": ended by error " << std::strerror(r.error) << " instead of EOF";
}

// ---------------------------------------------------------------------------------------------
// The test backend: a loopback listener, a thread per accepted connection running `handler`.

class Backend {
 public:
  // One accepted connection. The handler may Close() it early; otherwise it is closed when the
  // handler returns.
  class Conn {
   public:
    explicit Conn(int fd) : fd_(fd) {}
    int fd() const { return fd_; }
    void Close() {
      std::lock_guard lock(mu_);
      if (fd_ >= 0) {
        close(fd_);
        fd_ = -1;
      }
    }
    // Unblocks the handler at teardown.
    void ShutdownBoth() {
      std::lock_guard lock(mu_);
      if (fd_ >= 0) {
        shutdown(fd_, SHUT_RDWR);
      }
    }

   private:
    std::mutex mu_;
    int fd_;
  };
  using Handler = std::function<void(Conn&)>;

  explicit Backend(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address = Loopback(0);
    EXPECT_EQ(bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listen_fd_.get(), 4096), 0);
    socklen_t length = sizeof(address);
    EXPECT_EQ(getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~Backend() {
    stopping_.store(true);
    shutdown(listen_fd_.get(), SHUT_RDWR);  // wakes the blocked accept (EINVAL)
    acceptor_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      for (auto& conn : conns_) {
        conn->ShutdownBoth();
      }
      threads.swap(threads_);
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
  }
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int open_max() const { return open_max_.load(); }

 private:
  void AcceptLoop() {
    for (;;) {
      const int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (!stopping_.load() && (errno == EINTR || errno == ECONNABORTED)) {
          continue;
        }
        if (!stopping_.load()) {
          ADD_FAILURE() << "backend accept: " << std::strerror(errno);
        }
        return;
      }
      SetIoTimeouts(fd);
      const int one = 1;
      (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      accepted_.fetch_add(1);
      const int open = open_.fetch_add(1) + 1;
      int seen = open_max_.load();
      while (open > seen && !open_max_.compare_exchange_weak(seen, open)) {
      }
      std::lock_guard lock(mu_);
      conns_.push_back(std::make_unique<Conn>(fd));
      Conn* conn = conns_.back().get();
      threads_.emplace_back([this, conn] {
        handler_(*conn);
        conn->Close();
        open_.fetch_sub(1);
      });
    }
  }

  Handler handler_;
  Fd listen_fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> open_max_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<std::thread> threads_;
};

// Echoes until EOF, then passes the EOF back.
inline void Echo(Backend::Conn& conn) {
  std::vector<char> buffer(64 * kKiB);
  for (;;) {
    const ssize_t n = recv(conn.fd(), buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || !SendAll(conn.fd(), buffer.data(), static_cast<size_t>(n))) {
      break;
    }
  }
  shutdown(conn.fd(), SHUT_WR);
}

// ---------------------------------------------------------------------------------------------
// The gateway under test: one shard, one listener relaying to 127.0.0.1:backend_port.

class Gateway {
 public:
  Gateway() = default;
  ~Gateway() {
    if (shard_ == nullptr || joined_) {
      return;
    }
    shard_->RequestStop(true);
    if (!WaitFinished(seconds(10))) {
      std::fprintf(stderr, "Gateway: shard did not finish 10 s after an immediate stop\n");
      std::abort();  // Join would hang
    }
    shard_->Join();
  }
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // `limits` is the inside of the config's "limits" object.
  void Start(const std::string& protocol, uint16_t backend_port, const std::string& limits) {
    const std::string json =
        std::string(R"({"shards": 1, "pin_shards": false, "listeners": [{"name": "test", )") +
        R"("protocol": ")" + protocol + R"(", "address": "127.0.0.1:)" +
        std::to_string(listen_port_.port()) + R"(", "resource": "db"}], )" +
        R"("resources": {"db": {"protocol": ")" + protocol + R"(", "address": "127.0.0.1:)" +
        std::to_string(backend_port) + R"("}}, "limits": {)" + limits + "}}";
    absl::StatusOr<config::Config> parsed = config::Parse(json, "test.json");
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << json;
    config_ = std::move(*parsed);
    shard_ = std::make_unique<Shard>(0, -1, config_);
    shard_->Start();
    const absl::Status ready = shard_->WaitReady();
    ASSERT_TRUE(ready.ok()) << ready;
  }

  uint16_t port() const { return listen_port_.port(); }

  void RequestStop(bool immediate) { shard_->RequestStop(immediate); }

  bool WaitFinished(milliseconds limit) {
    const Clock::time_point deadline = Clock::now() + limit;
    while (!shard_->finished()) {
      if (Clock::now() >= deadline) {
        return false;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
  }

  // Joins a shard that finished (or is made to, with a failure, after `limit`).
  void Join(milliseconds limit) {
    const bool finished = WaitFinished(limit);
    EXPECT_TRUE(finished) << "the shard did not finish within " << limit.count() << " ms";
    if (!finished) {
      shard_->RequestStop(true);
      if (!WaitFinished(seconds(10))) {
        std::fprintf(stderr, "Gateway: shard did not finish after an immediate stop\n");
        std::abort();
      }
    }
    shard_->Join();
    joined_ = true;
  }

  // RequestStop(immediate), then Join; returns the milliseconds it took.
  int64_t Stop(bool immediate, milliseconds limit = seconds(10)) {
    const Clock::time_point start = Clock::now();
    RequestStop(immediate);
    Join(limit);
    return MsSince(start);
  }

  const ShardStats& stats() const {
    EXPECT_TRUE(joined_) << "stats read before Join";
    return shard_->stats();
  }

 private:
  PortReservation listen_port_;
  config::Config config_;
  std::unique_ptr<Shard> shard_;
  bool joined_ = false;
};

// After Join: every opened session closed, no completion arrived for a reused slot.
inline void ExpectCleanStats(const ShardStats& stats, uint64_t sessions) {
  EXPECT_EQ(stats.sessions_opened, sessions);
  EXPECT_EQ(stats.sessions_closed, stats.sessions_opened);
  EXPECT_EQ(stats.stale_completions, 0u);
}

inline int64_t RssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoll(line.substr(6)) * 1024;
    }
  }
  ADD_FAILURE() << "no VmRSS in /proc/self/status";
  return 0;
}

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status probe = ringio::ProbeIoUring();
    if (!probe.ok()) {
      GTEST_SKIP() << "io_uring unusable here: " << probe;
    }
    // Session open/close lines would drown the output; JG_TEST_LOG=info (or debug) shows them.
    LogLevel level = LogLevel::kError;
    if (const char* text = std::getenv("JG_TEST_LOG"); text != nullptr) {
      ParseLogLevel(text, &level);
    }
    SetLogLevel(level);
  }

  Watchdog watchdog_{kTestDeadline};
};

class RelayProtocolTest : public RelayTest, public ::testing::WithParamInterface<std::string> {};

INSTANTIATE_TEST_SUITE_P(Protocols, RelayProtocolTest, ::testing::Values("postgres", "mysql"));

// ---------------------------------------------------------------------------------------------
// Refusal readers

// The start-up packets libpq sends: SSLRequest (55.2.10) and a protocol 3.0 StartupMessage.
const std::string kPgSslRequest("\0\0\0\x08\x04\xd2\x16\x2f", 8);
inline std::string PgStartupMessage() {
  const std::string body = std::string("\0\x03\0\0", 4) + "user" + '\0' + "agent" + '\0' +
                           "database" + '\0' + "orders" + '\0' + '\0';
  const uint32_t length = static_cast<uint32_t>(body.size() + 4);
  std::string packet(4, '\0');
  for (int i = 0; i < 4; ++i) {
    packet[i] = static_cast<char>(length >> (24 - 8 * i));
  }
  return packet + body;
}

// Reads what a refused client receives. PostgreSQL: the gateway answers an SSLRequest with 'N'
// and sends its ErrorResponse only after the StartupMessage (libpq 15.9+ ignores errors sent
// during SSL negotiation), so the client plays libpq: SSLRequest (when `ssl_first`), then the
// StartupMessage, then reads to EOF. MySQL: the ERR arrives unprompted.
inline Drained ReadRefusal(const std::string& protocol, int fd, bool ssl_first = true) {
  if (protocol == "postgres") {
    if (ssl_first) {
      EXPECT_TRUE(SendText(fd, kPgSslRequest));
      char answer = 0;
      EXPECT_EQ(recv(fd, &answer, 1, MSG_WAITALL), 1);
      EXPECT_EQ(answer, 'N') << "SSLRequest must be declined before the error";
    }
    EXPECT_TRUE(SendText(fd, PgStartupMessage()));
  }
  return RecvUntilEof(fd);
}

// Checks that `bytes` is exactly one PostgreSQL ErrorResponse containing `sqlstate` and
// "jitgate".
inline void ExpectPgRefusal(const std::string& bytes, const std::string& sqlstate) {
  ASSERT_GE(bytes.size(), 5u) << "got " << bytes.size() << " bytes";
  EXPECT_EQ(bytes[0], 'E');
  uint32_t length = 0;
  for (int i = 1; i <= 4; ++i) {
    length = (length << 8) | static_cast<uint8_t>(bytes[i]);
  }
  EXPECT_EQ(length + 1, bytes.size()) << "one ErrorResponse, then EOF";
  EXPECT_NE(bytes.find(std::string("C") + sqlstate + '\0'), std::string::npos)
      << "no SQLSTATE " << sqlstate;
  EXPECT_NE(bytes.find("SFATAL"), std::string::npos);
  EXPECT_NE(bytes.find("jitgate"), std::string::npos);
}

// Checks that `bytes` starts with a MySQL ERR packet (sequence 0) with `code`, containing
// "jitgate", and is nothing else.
inline void ExpectMysqlRefusal(const std::string& bytes, uint16_t code) {
  ASSERT_GE(bytes.size(), 7u) << "got " << bytes.size() << " bytes";
  const uint32_t payload = static_cast<uint8_t>(bytes[0]) |
                           static_cast<uint32_t>(static_cast<uint8_t>(bytes[1])) << 8 |
                           static_cast<uint32_t>(static_cast<uint8_t>(bytes[2])) << 16;
  EXPECT_EQ(payload + 4, bytes.size()) << "one ERR packet, then EOF";
  EXPECT_EQ(static_cast<uint8_t>(bytes[3]), 0) << "sequence id";
  EXPECT_EQ(static_cast<uint8_t>(bytes[4]), 0xff) << "ERR header";
  EXPECT_EQ(static_cast<uint8_t>(bytes[5]) | static_cast<uint8_t>(bytes[6]) << 8, code);
  EXPECT_NE(bytes.find("jitgate"), std::string::npos);
}

inline void ExpectRefusal(const std::string& protocol, const std::string& bytes,
                          bool sessions_max) {
  if (protocol == "postgres") {
    ExpectPgRefusal(bytes, sessions_max ? "53300" : "08006");
  } else {
    ExpectMysqlRefusal(bytes, sessions_max ? 1040 : 1105);
  }
}

}  // namespace jitgate::shard::testing

#endif  // JITGATE_TESTS_SHARD_RELAY_HARNESS_H_
