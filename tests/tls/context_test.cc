// tests/tls/context_test.cc: tls::Context construction errors, the kTLS probe, and one TLS pair
// over a real socketpair.
#include "src/tls/context.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/tls/ktls.h"
#include "src/tls/stream.h"
#include "tests/tls/test_certs.h"

namespace jitgate::tls {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TestPki;

class ContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::move(pki).value().release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void TearDown() override { EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left dirty"; }

  static TestPki* pki_;
};

TestPki* ContextTest::pki_ = nullptr;

TEST_F(ContextTest, ServerLoads) {
  ServerOptions options;
  options.cert_path = pki_->server_cert_path();
  options.key_path = pki_->server_key_path();
  auto ctx = Context::Server(options);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  EXPECT_EQ((*ctx)->role(), Role::kServer);
  EXPECT_NE((*ctx)->ssl_ctx(), nullptr);
}

TEST_F(ContextTest, KeyCertMismatchIsAnError) {
  ServerOptions options;
  options.cert_path = pki_->server_cert_path();
  options.key_path = pki_->unrelated_key_path();
  auto ctx = Context::Server(options);
  ASSERT_FALSE(ctx.ok());
  const std::string message(ctx.status().message());
  EXPECT_THAT(message, HasSubstr(options.key_path));
  EXPECT_THAT(message, HasSubstr(options.cert_path));
  EXPECT_THAT(message, HasSubstr("key values mismatch"));
}

TEST_F(ContextTest, MissingFilesNameThePath) {
  ServerOptions options;
  options.cert_path = pki_->dir() + "/nope.crt";
  options.key_path = pki_->server_key_path();
  auto no_cert = Context::Server(options);
  ASSERT_FALSE(no_cert.ok());
  EXPECT_THAT(std::string(no_cert.status().message()), HasSubstr(options.cert_path));
  EXPECT_THAT(std::string(no_cert.status().message()), HasSubstr("No such file or directory"));

  options.cert_path = pki_->server_cert_path();
  options.key_path = pki_->dir() + "/nope.key";
  auto no_key = Context::Server(options);
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(std::string(no_key.status().message()), HasSubstr(options.key_path));

  options.key_path = pki_->server_key_path();
  options.ca_path = pki_->dir() + "/nope_ca.crt";
  auto no_ca = Context::Server(options);
  ASSERT_FALSE(no_ca.ok());
  EXPECT_THAT(std::string(no_ca.status().message()), HasSubstr(options.ca_path));

  ClientOptions client;
  client.verify = ClientOptions::Verify::kVerifyCa;
  client.ca_path = pki_->dir() + "/nope_client_ca.crt";
  auto no_client_ca = Context::Client(client);
  ASSERT_FALSE(no_client_ca.ok());
  EXPECT_THAT(std::string(no_client_ca.status().message()), HasSubstr(client.ca_path));
}

TEST_F(ContextTest, NotPemNamesTheFileAndReason) {
  const std::string path = pki_->dir() + "/garbage.crt";
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("this is not a certificate\n", file);
  std::fclose(file);
  ServerOptions options;
  options.cert_path = path;
  options.key_path = pki_->server_key_path();
  auto ctx = Context::Server(options);
  ASSERT_FALSE(ctx.ok());
  EXPECT_THAT(std::string(ctx.status().message()),
              StartsWith("tls: cannot load certificate chain " + path + ": "));
  // A key where a certificate should be.
  options.cert_path = pki_->server_key_path();
  EXPECT_FALSE(Context::Server(options).ok());
}

TEST_F(ContextTest, ClientOptionsAreChecked) {
  ClientOptions half_cert;
  half_cert.verify = ClientOptions::Verify::kNone;
  half_cert.cert_path = pki_->client_cert_path();
  EXPECT_FALSE(Context::Client(half_cert).ok());

  ClientOptions versions;
  versions.verify = ClientOptions::Verify::kNone;
  versions.version_min = Version::kTls1_3;
  versions.version_max = Version::kTls1_2;
  EXPECT_FALSE(Context::Client(versions).ok());

  ClientOptions system_store;  // kVerifyFull, empty ca_path: the system default store.
  auto ctx = Context::Client(system_store);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  EXPECT_EQ((*ctx)->verify(), ClientOptions::Verify::kVerifyFull);

  ClientOptions with_cert;
  with_cert.ca_path = pki_->ca_cert_path();
  with_cert.cert_path = pki_->client_cert_path();
  with_cert.key_path = pki_->server_key_path();  // Wrong key.
  EXPECT_FALSE(Context::Client(with_cert).ok());
}

TEST_F(ContextTest, CaDirectoryIsAccepted) {
  ClientOptions options;
  options.verify = ClientOptions::Verify::kVerifyCa;
  options.ca_path = pki_->dir();
  EXPECT_TRUE(Context::Client(options).ok());
}

TEST(KernelTlsTest, ProbeIsCachedAndReported) {
  const bool available = KernelTlsAvailable();
  EXPECT_EQ(KernelTlsAvailable(), available);
  const std::string report = KernelTlsReport();
  EXPECT_THAT(report, StartsWith(available ? "kTLS: available" : "kTLS: unavailable ("));
  EXPECT_THAT(report, HasSubstr("user-space TLS over memory BIOs"));
  std::printf("%s\n", report.c_str());
}

// Moves ciphertext between a Stream and a non-blocking socket; returns false on a socket error.
bool PumpSocket(Stream& stream, int fd, std::vector<std::byte>& inbound) {
  std::byte buffer[8192];
  for (;;) {  // Out: everything pending (the socket buffer is large enough for these tests).
    const size_t taken = stream.TakeOutput(buffer);
    if (taken == 0) {
      break;
    }
    size_t offset = 0;
    while (offset < taken) {
      const ssize_t sent = send(fd, buffer + offset, taken - offset, MSG_NOSIGNAL);
      if (sent < 0 && errno == EAGAIN) {
        continue;  // The peer drains in the same thread only later: keep the test small.
      }
      if (sent < 0) {
        return false;
      }
      offset += static_cast<size_t>(sent);
    }
  }
  for (;;) {  // In: what recv() returns, fed as the shard would feed a provided buffer.
    const ssize_t received = recv(fd, buffer, sizeof(buffer), 0);
    if (received < 0 && errno == EAGAIN) {
      break;
    }
    if (received <= 0) {
      return false;
    }
    inbound.insert(inbound.end(), buffer, buffer + received);
  }
  const size_t accepted = stream.Feed(inbound);
  inbound.erase(inbound.begin(), inbound.begin() + static_cast<std::ptrdiff_t>(accepted));
  return true;
}

TEST_F(ContextTest, OverARealSocketPair) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  ServerOptions server_options;
  server_options.cert_path = pki_->server_cert_path();
  server_options.key_path = pki_->server_key_path();
  ClientOptions client_options;
  client_options.ca_path = pki_->ca_cert_path();
  client_options.alpn = std::string(kAlpnPostgresql);
  auto server_ctx = Context::Server(server_options);
  auto client_ctx = Context::Client(client_options);
  ASSERT_TRUE(server_ctx.ok() && client_ctx.ok());
  Stream server;
  Stream client;
  ASSERT_TRUE(server.Init(**server_ctx, Role::kServer, "").ok());
  ASSERT_TRUE(client.Init(**client_ctx, Role::kClient, "localhost").ok());
  std::vector<std::byte> server_inbound;
  std::vector<std::byte> client_inbound;
  bool done = false;
  for (int round = 0; round < 1000 && !done; ++round) {
    const Progress c = client.Handshake();
    const Progress s = server.Handshake();
    ASSERT_NE(c, Progress::kFailed) << client.error();
    ASSERT_NE(s, Progress::kFailed) << server.error();
    ASSERT_TRUE(PumpSocket(client, fds[0], client_inbound));
    ASSERT_TRUE(PumpSocket(server, fds[1], server_inbound));
    done = c == Progress::kDone && s == Progress::kDone;
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(server.alpn(), "postgresql");

  std::vector<std::byte> message(50000);
  std::mt19937 generator(11);
  for (std::byte& byte : message) {
    byte = static_cast<std::byte>(generator() & 0xff);
  }
  size_t sent = 0;
  std::vector<std::byte> received;
  std::vector<std::byte> out(4096);
  for (int round = 0; round < 100000 && received.size() < message.size(); ++round) {
    if (sent < message.size()) {
      sent += client.Write(std::span(message).subspan(sent)).bytes;
    }
    ASSERT_TRUE(PumpSocket(client, fds[0], client_inbound));
    ASSERT_TRUE(PumpSocket(server, fds[1], server_inbound));
    for (;;) {
      const ReadResult result = server.Read(out);
      if (result.status != IoStatus::kOk) {
        ASSERT_EQ(result.status, IoStatus::kWantIo) << server.error();
        break;
      }
      received.insert(received.end(), out.begin(), out.begin() + result.bytes);
    }
  }
  EXPECT_TRUE(received == message);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace jitgate::tls
