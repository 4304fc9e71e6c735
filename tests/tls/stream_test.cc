// tests/tls/stream_test.cc: tls::Stream pairs driven purely in memory (see stream_pump.h).
#include "src/tls/stream.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/tls/context.h"
#include "tests/tls/stream_pump.h"
#include "tests/tls/test_certs.h"

namespace jitgate::tls {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::StreamPair;
using testing::TestPki;

std::vector<std::byte> RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 generator(seed);
  std::vector<std::byte> bytes(size);
  for (std::byte& byte : bytes) {
    byte = static_cast<std::byte>(generator() & 0xff);
  }
  return bytes;
}

std::span<const std::byte> AsBytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

class StreamTest : public ::testing::Test {
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

  static ServerOptions DefaultServer() {
    ServerOptions options;
    options.cert_path = pki_->server_cert_path();
    options.key_path = pki_->server_key_path();
    return options;
  }
  static ClientOptions VerifyFull() {
    ClientOptions options;
    options.verify = ClientOptions::Verify::kVerifyFull;
    options.ca_path = pki_->ca_cert_path();
    return options;
  }

  // Builds the contexts and initialises both streams of pair_.
  void Connect(const ServerOptions& server_options, const ClientOptions& client_options,
               std::string_view server_name = "localhost") {
    auto server_ctx = Context::Server(server_options);
    ASSERT_TRUE(server_ctx.ok()) << server_ctx.status();
    auto client_ctx = Context::Client(client_options);
    ASSERT_TRUE(client_ctx.ok()) << client_ctx.status();
    server_ctx_ = std::move(server_ctx).value();
    client_ctx_ = std::move(client_ctx).value();
    ASSERT_TRUE(pair_.server.Init(*server_ctx_, Role::kServer, "").ok());
    const absl::Status status = pair_.client.Init(*client_ctx_, Role::kClient, server_name);
    ASSERT_TRUE(status.ok()) << status;
  }

  static TestPki* pki_;
  std::unique_ptr<Context> server_ctx_;
  std::unique_ptr<Context> client_ctx_;
  StreamPair pair_;
};

TestPki* StreamTest::pki_ = nullptr;

TEST_F(StreamTest, HandshakeTls13) {
  Connect(DefaultServer(), VerifyFull());
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error() << " / " << pair_.server.error();
  EXPECT_TRUE(pair_.client.handshake_done());
  EXPECT_TRUE(pair_.server.handshake_done());
  EXPECT_EQ(pair_.client.version(), "TLSv1.3");
  EXPECT_EQ(pair_.server.version(), "TLSv1.3");
  EXPECT_EQ(pair_.client.cipher(), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(pair_.server.cipher(), pair_.client.cipher());
  EXPECT_EQ(pair_.client.alpn(), "");
  EXPECT_TRUE(pair_.client.error().empty());
}

TEST_F(StreamTest, HandshakeTls12) {
  ClientOptions client = VerifyFull();
  client.version_max = Version::kTls1_2;
  Connect(DefaultServer(), client);
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error() << " / " << pair_.server.error();
  EXPECT_EQ(pair_.client.version(), "TLSv1.2");
  EXPECT_EQ(pair_.server.version(), "TLSv1.2");
  EXPECT_EQ(pair_.client.cipher(), "ECDHE-ECDSA-AES256-GCM-SHA384");
}

TEST_F(StreamTest, ServerRefusesBelowItsMinimum) {
  ServerOptions server = DefaultServer();
  server.version_min = Version::kTls1_3;
  ClientOptions client = VerifyFull();
  client.version_max = Version::kTls1_2;
  Connect(server, client);
  EXPECT_FALSE(pair_.Handshake());
  EXPECT_THAT(pair_.server.error(), HasSubstr("unsupported protocol"));
}

class StreamDataTest : public StreamTest,
                       public ::testing::WithParamInterface<std::tuple<Version, size_t>> {};

TEST_P(StreamDataTest, BothWaysIntact) {
  const auto [version, size] = GetParam();
  ClientOptions client = VerifyFull();
  client.version_max = version;
  Connect(DefaultServer(), client);
  ASSERT_TRUE(pair_.Handshake());
  const std::vector<std::byte> upstream = RandomBytes(size, 1);
  const std::vector<std::byte> downstream = RandomBytes(size, 2);
  EXPECT_TRUE(pair_.Transfer(pair_.client, pair_.server, upstream) == upstream);
  EXPECT_TRUE(pair_.Transfer(pair_.server, pair_.client, downstream) == downstream);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, StreamDataTest,
    ::testing::Combine(::testing::Values(Version::kTls1_2, Version::kTls1_3),
                       ::testing::Values(size_t{1}, size_t{2}, size_t{1000}, size_t{16383},
                                         size_t{16384}, size_t{16385}, size_t{65536},
                                         size_t{100000}, size_t{1} << 20, size_t{4} << 20)));

TEST_F(StreamTest, FedOneByteAtATime) {
  Connect(DefaultServer(), VerifyFull());
  pair_.feed_chunk_size = 1;
  pair_.one_feed_per_pump = true;
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error() << " / " << pair_.server.error();
  const std::vector<std::byte> upstream = RandomBytes(5000, 3);
  const std::vector<std::byte> downstream = RandomBytes(40000, 4);
  EXPECT_TRUE(pair_.Transfer(pair_.client, pair_.server, upstream) == upstream);
  EXPECT_TRUE(pair_.Transfer(pair_.server, pair_.client, downstream) == downstream);
}

TEST_F(StreamTest, WriteIsPartialWhenOutputIsNotTaken) {
  Connect(DefaultServer(), VerifyFull());
  ASSERT_TRUE(pair_.Handshake());
  const std::vector<std::byte> data = RandomBytes(1 << 20, 5);
  const WriteResult first = pair_.client.Write(data);
  EXPECT_EQ(first.status, IoStatus::kOk);
  EXPECT_GT(first.bytes, 0u);
  EXPECT_LT(first.bytes, kBioBufferSizeDefault);
  EXPECT_LE(pair_.client.PendingOutput(), kBioBufferSizeDefault);
  // Nothing taken: the buffer stays full and nothing more is accepted.
  const WriteResult second = pair_.client.Write(std::span(data).subspan(first.bytes));
  EXPECT_EQ(second.status, IoStatus::kWantIo);
  EXPECT_EQ(second.bytes, 0u);
  // Once output flows, the rest goes through intact.
  std::vector<std::byte> received =
      pair_.Transfer(pair_.client, pair_.server, std::span(data).subspan(first.bytes));
  // Transfer read everything, including the first write's bytes.
  EXPECT_TRUE(received == data);
}

TEST_F(StreamTest, FeedStopsWhenInboundIsFull) {
  Connect(DefaultServer(), VerifyFull());
  ASSERT_TRUE(pair_.Handshake());
  std::vector<std::byte> wire;
  const std::vector<std::byte> data = RandomBytes(200000, 6);
  size_t sent = 0;
  std::byte chunk[16384];
  while (sent < data.size()) {
    const WriteResult result = pair_.client.Write(std::span(data).subspan(sent));
    sent += result.bytes;
    while (size_t taken = pair_.client.TakeOutput(chunk)) {
      wire.insert(wire.end(), chunk, chunk + taken);
    }
  }
  const size_t accepted = pair_.server.Feed(wire);
  EXPECT_EQ(accepted, kBioBufferSizeDefault);
  EXPECT_EQ(pair_.server.Feed(std::span(wire).subspan(accepted)), 0u);
  // Reading plaintext out makes room again.
  std::vector<std::byte> received;
  std::vector<std::byte> out(8192);
  size_t fed = accepted;
  while (received.size() < data.size()) {
    const ReadResult result = pair_.server.Read(out);
    if (result.status == IoStatus::kOk) {
      received.insert(received.end(), out.begin(), out.begin() + result.bytes);
      continue;
    }
    ASSERT_EQ(result.status, IoStatus::kWantIo);
    ASSERT_LT(fed, wire.size());
    fed += pair_.server.Feed(std::span(wire).subspan(fed));
  }
  EXPECT_TRUE(received == data);
}

TEST_F(StreamTest, CloseNotifyBothWays) {
  Connect(DefaultServer(), VerifyFull());
  ASSERT_TRUE(pair_.Handshake());
  const std::vector<std::byte> last = RandomBytes(100, 7);
  ASSERT_EQ(pair_.client.Write(last).bytes, last.size());
  EXPECT_EQ(pair_.client.Shutdown(), Progress::kDone);
  EXPECT_EQ(pair_.client.Shutdown(), Progress::kDone);  // Idempotent.
  pair_.Pump();
  std::vector<std::byte> out(1000);
  const ReadResult data = pair_.server.Read(out);
  ASSERT_EQ(data.status, IoStatus::kOk);
  EXPECT_EQ(data.bytes, last.size());
  EXPECT_EQ(pair_.server.Read(out).status, IoStatus::kClosed);
  EXPECT_EQ(pair_.server.Read(out).status, IoStatus::kClosed);
  EXPECT_EQ(pair_.server.Shutdown(), Progress::kDone);
  pair_.Pump();
  EXPECT_EQ(pair_.client.Read(out).status, IoStatus::kClosed);
}

TEST_F(StreamTest, EofWithoutCloseNotifyFails) {
  Connect(DefaultServer(), VerifyFull());
  ASSERT_TRUE(pair_.Handshake());
  pair_.server.FeedEof();
  std::vector<std::byte> out(100);
  const ReadResult result = pair_.server.Read(out);
  EXPECT_EQ(result.status, IoStatus::kFailed);
  EXPECT_THAT(pair_.server.error(), HasSubstr("unexpected eof"));
}

TEST_F(StreamTest, VerifyFullAcceptsIpAddress) {
  Connect(DefaultServer(), VerifyFull(), "127.0.0.1");
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error();
}

TEST_F(StreamTest, VerifyFullRejectsWrongHostName) {
  Connect(DefaultServer(), VerifyFull(), "db.example.com");
  EXPECT_FALSE(pair_.Handshake());
  EXPECT_EQ(pair_.client.error(),
            "tls: handshake failed: certificate verify failed (hostname mismatch)");
  EXPECT_EQ(pair_.client.Handshake(), Progress::kFailed);
  // The client's alert reached the server.
  EXPECT_THAT(pair_.server.error(), HasSubstr("alert"));
}

TEST_F(StreamTest, VerifyFullRejectsWrongIpAddress) {
  Connect(DefaultServer(), VerifyFull(), "127.0.0.2");
  EXPECT_FALSE(pair_.Handshake());
  EXPECT_EQ(pair_.client.error(),
            "tls: handshake failed: certificate verify failed (IP address mismatch)");
}

TEST_F(StreamTest, VerifyCaIgnoresHostName) {
  ClientOptions client = VerifyFull();
  client.verify = ClientOptions::Verify::kVerifyCa;
  Connect(DefaultServer(), client, "db.example.com");
  EXPECT_TRUE(pair_.Handshake()) << pair_.client.error();
}

TEST_F(StreamTest, VerifyCaRejectsWrongCa) {
  ClientOptions client = VerifyFull();
  client.verify = ClientOptions::Verify::kVerifyCa;
  client.ca_path = pki_->other_ca_cert_path();
  Connect(DefaultServer(), client);
  EXPECT_FALSE(pair_.Handshake());
  EXPECT_THAT(pair_.client.error(),
              StartsWith("tls: handshake failed: certificate verify failed ("));
  EXPECT_THAT(pair_.client.error(), HasSubstr("local issuer certificate"));
}

TEST_F(StreamTest, VerifyNoneAcceptsAnything) {
  testing::LeafOptions leaf;
  leaf.file_stem = "selfsigned";
  leaf.common_name = "nobody";
  leaf.dns_names = {"elsewhere.invalid"};
  leaf.ip_addresses.clear();
  leaf.self_signed = true;
  auto files = pki_->IssueLeaf(leaf);
  ASSERT_TRUE(files.ok()) << files.status();
  ServerOptions server;
  server.cert_path = files->cert_path;
  server.key_path = files->key_path;
  ClientOptions client;
  client.verify = ClientOptions::Verify::kNone;
  Connect(server, client, "localhost");
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error();
  const std::vector<std::byte> data = RandomBytes(1000, 8);
  EXPECT_TRUE(pair_.Transfer(pair_.client, pair_.server, data) == data);
}

TEST_F(StreamTest, GarbageClientHelloFailsCleanly) {
  Connect(DefaultServer(), VerifyFull());
  constexpr std::string_view kHttp = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  EXPECT_EQ(pair_.server.Feed(AsBytes(kHttp)), kHttp.size());
  EXPECT_EQ(pair_.server.Handshake(), Progress::kFailed);
  EXPECT_THAT(pair_.server.error(), StartsWith("tls: handshake failed: "));
  EXPECT_EQ(pair_.server.Handshake(), Progress::kFailed);
  std::vector<std::byte> out(100);
  EXPECT_EQ(pair_.server.Read(out).status, IoStatus::kFailed);
  EXPECT_EQ(pair_.server.Write(out).status, IoStatus::kFailed);
  EXPECT_EQ(pair_.server.Shutdown(), Progress::kFailed);
}

TEST_F(StreamTest, GarbageInsideHandshakeRecordFails) {
  Connect(DefaultServer(), VerifyFull());
  std::vector<std::byte> record = RandomBytes(300, 9);
  record[0] = std::byte{0x16};  // Handshake record, TLS 1.0 version, length 295.
  record[1] = std::byte{0x03};
  record[2] = std::byte{0x01};
  record[3] = std::byte{0x01};
  record[4] = std::byte{0x27};
  record[5] = std::byte{0x01};  // ClientHello, then junk lengths.
  EXPECT_EQ(pair_.server.Feed(record), record.size());
  EXPECT_EQ(pair_.server.Handshake(), Progress::kFailed);
  EXPECT_THAT(pair_.server.error(), StartsWith("tls: handshake failed: "));
  EXPECT_GT(pair_.server.PendingOutput(), 0u);  // An alert for the peer.
}

// SHA-256 (or `md`) of the DER of the PEM certificate at `path`.
std::vector<std::byte> CertificateDigest(const std::string& path, const EVP_MD* md) {
  FILE* file = std::fopen(path.c_str(), "r");
  X509* cert = file == nullptr ? nullptr : PEM_read_X509(file, nullptr, nullptr, nullptr);
  if (file != nullptr) {
    std::fclose(file);
  }
  std::vector<std::byte> digest(EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  if (cert != nullptr) {
    X509_digest(cert, md, reinterpret_cast<unsigned char*>(digest.data()), &size);
    X509_free(cert);
  }
  digest.resize(size);
  return digest;
}

TEST_F(StreamTest, TlsServerEndPointMatchesOnBothSides) {
  Connect(DefaultServer(), VerifyFull());
  ASSERT_TRUE(pair_.Handshake());
  auto client_end_point = pair_.client.tls_server_end_point();
  auto server_end_point = pair_.server.tls_server_end_point();
  ASSERT_TRUE(client_end_point.ok()) << client_end_point.status();
  ASSERT_TRUE(server_end_point.ok()) << server_end_point.status();
  const std::vector<std::byte> expected = CertificateDigest(pki_->server_cert_path(), EVP_sha256());
  ASSERT_EQ(expected.size(), 32u);
  EXPECT_TRUE(std::ranges::equal(client_end_point->view(), expected));
  EXPECT_TRUE(std::ranges::equal(server_end_point->view(), expected));
}

TEST_F(StreamTest, TlsServerEndPointFollowsSignatureHash) {
  testing::LeafOptions leaf;
  leaf.file_stem = "sha384";
  leaf.digest = testing::Digest::kSha384;
  auto files = pki_->IssueLeaf(leaf);
  ASSERT_TRUE(files.ok()) << files.status();
  ServerOptions server;
  server.cert_path = files->cert_path;
  server.key_path = files->key_path;
  Connect(server, VerifyFull());
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error();
  auto client_end_point = pair_.client.tls_server_end_point();
  auto server_end_point = pair_.server.tls_server_end_point();
  ASSERT_TRUE(client_end_point.ok() && server_end_point.ok());
  const std::vector<std::byte> expected = CertificateDigest(files->cert_path, EVP_sha384());
  ASSERT_EQ(expected.size(), 48u);
  EXPECT_TRUE(std::ranges::equal(client_end_point->view(), expected));
  EXPECT_TRUE(std::ranges::equal(server_end_point->view(), expected));
}

TEST_F(StreamTest, TlsServerEndPointUndefinedForEd25519) {
  testing::LeafOptions leaf;
  leaf.file_stem = "ed25519";
  leaf.key_type = testing::KeyType::kEd25519;
  leaf.self_signed = true;
  auto files = pki_->IssueLeaf(leaf);
  ASSERT_TRUE(files.ok()) << files.status();
  ServerOptions server;
  server.cert_path = files->cert_path;
  server.key_path = files->key_path;
  ClientOptions client;
  client.verify = ClientOptions::Verify::kNone;
  Connect(server, client);
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error() << " / " << pair_.server.error();
  EXPECT_EQ(pair_.client.tls_server_end_point().status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(pair_.server.tls_server_end_point().status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(StreamTest, TlsServerEndPointBeforeHandshakeFails) {
  Connect(DefaultServer(), VerifyFull());
  EXPECT_EQ(pair_.client.tls_server_end_point().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(StreamTest, AlpnPostgresql) {
  ClientOptions client = VerifyFull();
  client.alpn = std::string(kAlpnPostgresql);
  Connect(DefaultServer(), client);
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error();
  EXPECT_EQ(pair_.client.alpn(), "postgresql");
  EXPECT_EQ(pair_.server.alpn(), "postgresql");
}

TEST_F(StreamTest, AlpnOtherProtocolProceedsWithout) {
  ClientOptions client = VerifyFull();
  client.alpn = "h2";
  Connect(DefaultServer(), client);
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error();
  EXPECT_EQ(pair_.client.alpn(), "");
  EXPECT_EQ(pair_.server.alpn(), "");
}

TEST_F(StreamTest, ClientCertificateIsOptional) {
  ServerOptions server = DefaultServer();
  server.ca_path = pki_->ca_cert_path();
  ClientOptions with_cert = VerifyFull();
  with_cert.cert_path = pki_->client_cert_path();
  with_cert.key_path = pki_->client_key_path();
  Connect(server, with_cert);
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error() << " / " << pair_.server.error();

  StreamPair without;
  auto client_ctx = Context::Client(VerifyFull());
  ASSERT_TRUE(client_ctx.ok());
  ASSERT_TRUE(without.server.Init(*server_ctx_, Role::kServer, "").ok());
  ASSERT_TRUE(without.client.Init(**client_ctx, Role::kClient, "localhost").ok());
  EXPECT_TRUE(without.Handshake()) << without.server.error();
}

TEST_F(StreamTest, SmallBuffersStillMoveData) {
  auto server_ctx = Context::Server(DefaultServer());
  auto client_ctx = Context::Client(VerifyFull());
  ASSERT_TRUE(server_ctx.ok() && client_ctx.ok());
  constexpr size_t kSmall = kRecordSizeMax + 1;  // One record, just.
  ASSERT_TRUE(pair_.server.Init(**server_ctx, Role::kServer, "", kSmall).ok());
  ASSERT_TRUE(pair_.client.Init(**client_ctx, Role::kClient, "localhost", kSmall).ok());
  ASSERT_TRUE(pair_.Handshake()) << pair_.client.error() << " / " << pair_.server.error();
  const std::vector<std::byte> data = RandomBytes(300000, 12);
  EXPECT_TRUE(pair_.Transfer(pair_.client, pair_.server, data) == data);
  EXPECT_TRUE(pair_.Transfer(pair_.server, pair_.client, data) == data);
}

// A plain OpenSSL client (it keeps its SSL_SESSION) against a Stream server: the second connection
// resumes with the ticket from the first.
class ResumptionTest : public StreamTest, public ::testing::WithParamInterface<Version> {
 protected:
  // Returns whether the connection resumed; stores the client's session in *session.
  static bool Connect(SSL_CTX* client_ctx, const Context& server_ctx, SSL_SESSION** session) {
    Stream server;
    EXPECT_TRUE(server.Init(server_ctx, Role::kServer, "").ok());
    SSL* client = SSL_new(client_ctx);
    BIO* internal = nullptr;
    BIO* network = nullptr;
    BIO_new_bio_pair(&internal, 1 << 16, &network, 1 << 16);
    SSL_set_bio(client, internal, internal);
    SSL_set_connect_state(client);
    if (*session != nullptr) {
      SSL_set_session(client, *session);
      SSL_SESSION_free(*session);
      *session = nullptr;
    }
    std::byte buffer[1 << 16];
    for (int round = 0; round < 20; ++round) {
      SSL_do_handshake(client);
      server.Handshake();
      int size = 0;
      while ((size = BIO_read(network, buffer, sizeof(buffer))) > 0) {
        EXPECT_EQ(server.Feed(std::span(buffer, static_cast<size_t>(size))),
                  static_cast<size_t>(size));
      }
      while (size_t taken = server.TakeOutput(buffer)) {
        BIO_write(network, buffer, static_cast<int>(taken));
      }
    }
    char byte = 0;
    SSL_read(client, &byte, 1);  // Takes TLS 1.3 NewSessionTicket messages in.
    ERR_clear_error();
    EXPECT_TRUE(server.handshake_done()) << server.error();
    const bool reused = SSL_session_reused(client) == 1;
    SSL_shutdown(client);  // Without it, SSL_free marks the session not resumable.
    *session = SSL_get1_session(client);
    SSL_free(client);
    BIO_free(network);
    return reused;
  }
};

TEST_P(ResumptionTest, ServerResumesFromTicket) {
  auto server_ctx = Context::Server(DefaultServer());
  ClientOptions options = VerifyFull();
  options.version_max = GetParam();
  auto client_ctx = Context::Client(options);
  ASSERT_TRUE(server_ctx.ok() && client_ctx.ok());
  SSL_SESSION* session = nullptr;
  EXPECT_FALSE(Connect((*client_ctx)->ssl_ctx(), **server_ctx, &session));
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(SSL_SESSION_has_ticket(session));
  EXPECT_TRUE(Connect((*client_ctx)->ssl_ctx(), **server_ctx, &session));
  SSL_SESSION_free(session);
}

INSTANTIATE_TEST_SUITE_P(Versions, ResumptionTest,
                         ::testing::Values(Version::kTls1_2, Version::kTls1_3));

TEST_F(StreamTest, MovedStreamKeepsWorking) {
  Connect(DefaultServer(), VerifyFull());
  ASSERT_TRUE(pair_.Handshake());
  Stream moved(std::move(pair_.client));
  pair_.client = std::move(moved);
  const std::vector<std::byte> data = RandomBytes(20000, 10);
  EXPECT_TRUE(pair_.Transfer(pair_.client, pair_.server, data) == data);
}

TEST_F(StreamTest, InitRejectsMisuse) {
  auto server_ctx = Context::Server(DefaultServer());
  auto client_ctx = Context::Client(VerifyFull());
  ASSERT_TRUE(server_ctx.ok() && client_ctx.ok());
  Stream wrong_role;
  EXPECT_FALSE(wrong_role.Init(**server_ctx, Role::kClient, "localhost").ok());
  Stream no_name;
  EXPECT_THAT(std::string(no_name.Init(**client_ctx, Role::kClient, "").message()),
              HasSubstr("verify-full"));
  Stream tiny;
  EXPECT_FALSE(tiny.Init(**client_ctx, Role::kClient, "localhost", 4096).ok());
  // A failed Init leaves the stream uninitialised, ready for another Init.
  no_name.AssertInvariants();
  EXPECT_TRUE(no_name.Init(**client_ctx, Role::kClient, "localhost").ok());
}

TEST_F(StreamTest, StreamOutlivesContext) {
  Connect(DefaultServer(), VerifyFull());
  server_ctx_.reset();
  client_ctx_.reset();
  ASSERT_TRUE(pair_.Handshake());
}

}  // namespace
}  // namespace jitgate::tls
