// tests/shard/relay_test.cc: the relay (src/shard/shard.h, src/shard/relay.h) end to end over
// loopback TCP, in-process: one Shard built from a JSON config, test clients on blocking sockets,
// and a test backend (a thread per accepted connection running a handler: echo, sink, source,
// scripted half-closes). No database.
//
// Data is a deterministic stream (Pattern: byte i of stream `seed` is a function of i), so every
// received byte is checked where it lands, which also catches reordering, loss and duplication.
// Every socket has SO_RCVTIMEO / SO_SNDTIMEO and every test runs under a watchdog, so a bug fails
// (or aborts naming the test) instead of hanging. Stats are read after the shard has joined.
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

namespace jitgate::shard {
namespace {

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

int64_t MsSince(Clock::time_point start) {
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

void SetIoTimeouts(int fd) {
  timeval tv{};
  tv.tv_sec = kIoTimeout.count() / 1000;
  tv.tv_usec = (kIoTimeout.count() % 1000) * 1000;
  EXPECT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  EXPECT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

sockaddr_in Loopback(uint16_t port) {
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

// Connects to 127.0.0.1:port; on failure the Fd is invalid and *error holds errno.
Fd Connect(uint16_t port, int* error = nullptr) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  SetIoTimeouts(fd.get());
  const int one = 1;
  (void)setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const sockaddr_in address = Loopback(port);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    if (error != nullptr) {
      *error = errno;
    }
    return Fd();
  }
  if (error != nullptr) {
    *error = 0;
  }
  return fd;
}

bool SendAll(int fd, const void* data, size_t size) {
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

bool SendText(int fd, const std::string& text) { return SendAll(fd, text.data(), text.size()); }

bool RecvExact(int fd, void* data, size_t size) {
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
Drained RecvUntilEof(int fd, size_t size_max = 1 * kMiB) {
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
bool RoundTrip(int fd, const std::string& text) {
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
void CloseWithReset(Fd* fd) {
  const linger hard{1, 0};
  EXPECT_EQ(setsockopt(fd->get(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)), 0);
  fd->Reset();
}

// ---------------------------------------------------------------------------------------------
// Pattern streams

constexpr uint64_t kNoMismatch = UINT64_MAX;

uint64_t Mix(uint64_t x) {  // splitmix64
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
uint64_t SendPattern(int fd, const Pattern& pattern, uint64_t offset, uint64_t size,
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
Received RecvPattern(int fd, const Pattern& pattern, uint64_t offset, uint64_t limit,
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
void ExpectWholeStream(const Received& r, uint64_t size, const char* what) {
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
void Echo(Backend::Conn& conn) {
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
void ExpectCleanStats(const ShardStats& stats, uint64_t sessions) {
  EXPECT_EQ(stats.sessions_opened, sessions);
  EXPECT_EQ(stats.sessions_closed, stats.sessions_opened);
  EXPECT_EQ(stats.stale_completions, 0u);
}

int64_t RssBytes() {
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
std::string PgStartupMessage() {
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
Drained ReadRefusal(const std::string& protocol, int fd, bool ssl_first = true) {
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
void ExpectPgRefusal(const std::string& bytes, const std::string& sqlstate) {
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
void ExpectMysqlRefusal(const std::string& bytes, uint16_t code) {
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

void ExpectRefusal(const std::string& protocol, const std::string& bytes, bool sessions_max) {
  if (protocol == "postgres") {
    ExpectPgRefusal(bytes, sessions_max ? "53300" : "08006");
  } else {
    ExpectMysqlRefusal(bytes, sessions_max ? 1040 : 1105);
  }
}

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
}  // namespace jitgate::shard
