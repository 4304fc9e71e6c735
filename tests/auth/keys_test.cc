// tests/auth/keys_test.cc: JWKS parsing (src/auth/keys.h), the file and URL KeyProviders, and
// the HTTPS client's response decoding (src/auth/https_fetch.h). The URL provider talks to an
// OpenSSL server on 127.0.0.1 started by the test, with a self-signed certificate made in-process.
#include "src/auth/keys.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "src/auth/https_fetch.h"
#include "src/auth/jwt.h"
#include "src/auth/mint.h"
#include "tests/auth/test_keys.h"

namespace jitgate::auth {
namespace {

using testing::EcKey;
using testing::kEcKid;
using testing::kRsaKid;
using testing::RsaKey;
using testing::TempDir;

picojson::object Jwk(EVP_PKEY* key, const char* kid) {
  absl::StatusOr<picojson::object> jwk = PublicJwk(key, kid);
  EXPECT_TRUE(jwk.ok()) << jwk.status();
  return jwk.ok() ? *jwk : picojson::object();
}

std::string Jwks(const std::vector<picojson::object>& jwks) {
  picojson::array array;
  for (const picojson::object& jwk : jwks) {
    array.emplace_back(jwk);
  }
  picojson::object root;
  root["keys"] = picojson::value(array);
  return picojson::value(root).serialize();
}

absl::Status ParseStatus(const std::vector<picojson::object>& jwks) {
  return KeySet::Parse(Jwks(jwks)).status();
}

// Polls `done` for up to 10 s.
template <typename Predicate>
bool WaitFor(Predicate done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(KeySetTest, ParsesRsaAndEcKeys) {
  absl::StatusOr<std::shared_ptr<const KeySet>> keys = KeySet::Parse(testing::TestJwks());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ((*keys)->size(), 2u);
  ASSERT_NE((*keys)->Find(kRsaKid), nullptr);
  EXPECT_EQ((*keys)->Find(kRsaKid)->family, KeyFamily::kRsa);
  ASSERT_NE((*keys)->Find(kEcKid), nullptr);
  EXPECT_EQ((*keys)->Find(kEcKid)->family, KeyFamily::kEcP256);
  EXPECT_EQ((*keys)->Find("nope"), nullptr);
  EXPECT_EQ((*keys)->Find(""), nullptr);
}

TEST(KeySetTest, SkipsKeysItDoesNotVerifyWith) {
  picojson::object enc = Jwk(RsaKey(), "enc");
  enc["use"] = picojson::value("enc");
  picojson::object oct;
  oct["kty"] = picojson::value("oct");
  oct["kid"] = picojson::value("hmac");
  oct["k"] = picojson::value("c2VjcmV0");
  picojson::object p384 = Jwk(EcKey(), "p384");
  p384["crv"] = picojson::value("P-384");
  picojson::object rs384 = Jwk(RsaKey(), "rs384");
  rs384["alg"] = picojson::value("RS384");
  picojson::object no_alg = Jwk(RsaKey(), "no-alg");
  no_alg.erase("alg");
  no_alg.erase("use");
  absl::StatusOr<std::shared_ptr<const KeySet>> keys =
      KeySet::Parse(Jwks({enc, oct, p384, rs384, no_alg}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ((*keys)->size(), 1u);
  EXPECT_EQ((*keys)->skipped_count(), 4u);
  EXPECT_NE((*keys)->Find("no-alg"), nullptr);
  EXPECT_EQ((*keys)->Find("enc"), nullptr);
  EXPECT_FALSE(KeySet::Parse(Jwks({enc, oct})).ok());  // nothing usable
}

TEST(KeySetTest, RefusesShortRsaKeys) {
  absl::StatusOr<EvpPkeyPtr> short_key = GenerateRsaKey(1024);
  ASSERT_TRUE(short_key.ok());
  const absl::Status status = ParseStatus({Jwk(short_key->get(), "short")});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("1024 bits"), std::string::npos) << status;
  EXPECT_NE(status.message().find("\"short\""), std::string::npos) << status;
  picojson::object even_e = Jwk(RsaKey(), "e");
  even_e["e"] = picojson::value(Base64UrlEncode("\x01\x00\x00"));
  EXPECT_FALSE(ParseStatus({even_e}).ok());
}

TEST(KeySetTest, RefusesBadEcPoints) {
  picojson::object off_curve = Jwk(EcKey(), "off");
  std::string x;
  ASSERT_TRUE(Base64UrlDecode(off_curve["x"].get<std::string>(), &x));
  x[31] = static_cast<char>(x[31] ^ 1);
  off_curve["x"] = picojson::value(Base64UrlEncode(x));
  EXPECT_FALSE(ParseStatus({off_curve}).ok());
  picojson::object short_x = Jwk(EcKey(), "short");
  short_x["x"] = picojson::value(Base64UrlEncode(x.substr(1)));
  const absl::Status status = ParseStatus({short_x});
  EXPECT_NE(status.message().find("32 bytes"), std::string::npos) << status;
  picojson::object zero = Jwk(EcKey(), "zero");
  zero["x"] = picojson::value(Base64UrlEncode(std::string(32, '\0')));
  zero["y"] = picojson::value(Base64UrlEncode(std::string(32, '\0')));
  EXPECT_FALSE(ParseStatus({zero}).ok());
}

TEST(KeySetTest, RefusesMissingOrMistypedFields) {
  for (const char* field : {"n", "e", "kid", "kty"}) {
    picojson::object jwk = Jwk(RsaKey(), "k");
    jwk.erase(field);
    const absl::Status status = ParseStatus({jwk});
    EXPECT_FALSE(status.ok()) << field;
    EXPECT_NE(status.message().find(field), std::string::npos) << status;
  }
  for (const char* field : {"x", "y"}) {
    picojson::object jwk = Jwk(EcKey(), "k");
    jwk.erase(field);
    EXPECT_FALSE(ParseStatus({jwk}).ok()) << field;
  }
  picojson::object number_n = Jwk(RsaKey(), "k");
  number_n["n"] = picojson::value(int64_t{65537});
  EXPECT_FALSE(ParseStatus({number_n}).ok());
  picojson::object padded = Jwk(RsaKey(), "k");
  padded["e"] = picojson::value("AQAB=");
  EXPECT_FALSE(ParseStatus({padded}).ok());
  EXPECT_FALSE(ParseStatus({Jwk(RsaKey(), "same"), Jwk(EcKey(), "same")}).ok());
  EXPECT_FALSE(KeySet::Parse("").ok());
  EXPECT_FALSE(KeySet::Parse("[]").ok());
  EXPECT_FALSE(KeySet::Parse("{}").ok());
  EXPECT_FALSE(KeySet::Parse(R"({"keys":{}})").ok());
  EXPECT_FALSE(KeySet::Parse(R"({"keys":[]})").ok());
  EXPECT_FALSE(KeySet::Parse(R"({"keys":[1]})").ok());
  EXPECT_FALSE(KeySet::Parse(R"({"keys":[],"keys":[]})").ok());
}

TEST(KeyProviderTest, FileProviderReloadsOnRequestWithRateLimit) {
  TempDir dir;
  dir.Write("jwks.json", Jwks({Jwk(RsaKey(), "one")}));
  KeyProviderOptions options;
  options.unknown_kid_refresh_min_s = 1;
  absl::StatusOr<std::unique_ptr<KeyProvider>> provider =
      KeyProvider::FromFile(dir.File("jwks.json"), options);
  ASSERT_TRUE(provider.ok()) << provider.status();
  KeyProvider& keys = **provider;
  EXPECT_EQ(keys.generation(), 1u);
  EXPECT_NE(keys.keys()->Find("one"), nullptr);
  keys.Start();

  dir.Write("jwks.json", Jwks({Jwk(RsaKey(), "one"), Jwk(EcKey(), "two")}));
  EXPECT_TRUE(keys.RequestRefresh());
  ASSERT_TRUE(WaitFor([&] { return keys.generation() == 2; }));
  EXPECT_NE(keys.keys()->Find("two"), nullptr);

  // Within the period further requests are dropped.
  dir.Write("jwks.json", Jwks({Jwk(EcKey(), "three")}));
  EXPECT_FALSE(keys.RequestRefresh());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(keys.generation(), 2u);
  EXPECT_EQ(keys.keys()->Find("three"), nullptr);

  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_TRUE(keys.RequestRefresh());
  ASSERT_TRUE(WaitFor([&] { return keys.generation() == 3; }));
  EXPECT_NE(keys.keys()->Find("three"), nullptr);
  EXPECT_EQ(keys.keys()->Find("one"), nullptr);

  // A broken file keeps the last good set.
  dir.Write("jwks.json", "{\"keys\": [");
  EXPECT_FALSE(keys.Reload().ok());
  EXPECT_EQ(keys.generation(), 3u);
  EXPECT_NE(keys.keys()->Find("three"), nullptr);
  keys.Stop();
  keys.Stop();
}

TEST(KeyProviderTest, FileProviderErrors) {
  EXPECT_FALSE(KeyProvider::FromFile("/nonexistent/jwks.json").ok());
  TempDir dir;
  dir.Write("big.json", std::string(kJwksSizeMax + 1, ' '));
  EXPECT_FALSE(KeyProvider::FromFile(dir.File("big.json")).ok());
  EXPECT_FALSE(KeyProvider::FromUrl("http://127.0.0.1/keys").ok());
}

TEST(HttpResponseTest, DecodesFramings) {
  bool complete = false;
  absl::StatusOr<std::string> body = DecodeHttpResponse(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 100, &complete);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_TRUE(complete);
  EXPECT_EQ(*body, "hello");
  body =
      DecodeHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", false, 100, &complete);
  EXPECT_TRUE(body.ok());
  EXPECT_FALSE(complete);
  EXPECT_FALSE(
      DecodeHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", true, 100, &complete)
          .ok());
  body = DecodeHttpResponse(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
      false, 100, &complete);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_TRUE(complete);
  EXPECT_EQ(*body, "hello");
  body = DecodeHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel", false,
                            100, &complete);
  EXPECT_TRUE(body.ok());
  EXPECT_FALSE(complete);
  body = DecodeHttpResponse("HTTP/1.0 200 OK\r\n\r\nuntil close", true, 100, &complete);
  ASSERT_TRUE(body.ok());
  EXPECT_TRUE(complete);
  EXPECT_EQ(*body, "until close");
}

TEST(HttpResponseTest, RefusesBadResponses) {
  bool complete = false;
  EXPECT_FALSE(DecodeHttpResponse("HTTP/1.1 404 Not Found\r\n\r\n", true, 100, &complete).ok());
  EXPECT_FALSE(
      DecodeHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", false, 100, &complete)
          .ok());
  EXPECT_FALSE(DecodeHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"
                                  "\r\n\r\nab",
                                  false, 100, &complete)
                   .ok());
  EXPECT_FALSE(DecodeHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: "
                                  "chunked\r\n\r\nab",
                                  false, 100, &complete)
                   .ok());
  EXPECT_FALSE(DecodeHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "ffffff\r\n",
                                  false, 100, &complete)
                   .ok());
  EXPECT_FALSE(DecodeHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, 100,
                                  &complete)
                   .ok());
  EXPECT_FALSE(DecodeHttpResponse("SSH-2.0-OpenSSH\r\n\r\n", false, 100, &complete).ok());
  EXPECT_FALSE(DecodeHttpResponse(std::string(20000, 'a'), false, 100, &complete).ok());
}

TEST(HttpsUrlTest, Parses) {
  absl::StatusOr<HttpsUrl> url = ParseHttpsUrl("https://login.microsoftonline.com/t/keys?a=1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "login.microsoftonline.com");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->path, "/t/keys?a=1");
  url = ParseHttpsUrl("https://[::1]:8443");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, "8443");
  EXPECT_EQ(url->path, "/");
  EXPECT_FALSE(ParseHttpsUrl("http://x/").ok());
  EXPECT_FALSE(ParseHttpsUrl("https://user@x/").ok());
  EXPECT_FALSE(ParseHttpsUrl("https://x:99999/").ok());
  EXPECT_FALSE(ParseHttpsUrl("https://:1/").ok());
  EXPECT_FALSE(ParseHttpsUrl("https://x/#f").ok());
}

// A self-signed certificate for IP 127.0.0.1 and a TLS server answering GETs on a thread.
class HttpsServer {
 public:
  enum class Mode { kContentLength, kChunked, kError, kGarbage };

  HttpsServer() {
    absl::StatusOr<EvpPkeyPtr> key = GenerateEcP256Key();
    EXPECT_TRUE(key.ok());
    key_ = std::move(*key);
    cert_ = X509_new();
    X509_set_version(cert_, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 3600);
    X509_set_pubkey(cert_, key_.get());
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("jitgate test"), -1, -1, 0);
    X509_set_issuer_name(cert_, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert_, cert_, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    EXPECT_NE(san, nullptr);
    X509_add_ext(cert_, san, -1);
    X509_EXTENSION_free(san);
    EXPECT_GT(X509_sign(cert_, key_.get(), EVP_sha256()), 0);
    FILE* out = fopen(dir_.File("ca.pem").c_str(), "w");
    PEM_write_X509(out, cert_);
    fclose(out);

    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, cert_);
    SSL_CTX_use_PrivateKey(ctx_, key_.get());
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listen_fd_, 8), 0);
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~HttpsServer() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
    SSL_CTX_free(ctx_);
    X509_free(cert_);
  }

  std::string Url(const char* host = "127.0.0.1") const {
    return "https://" + std::string(host) + ":" + std::to_string(port_) + "/keys";
  }
  std::string CaFile() const { return dir_.File("ca.pem"); }
  void SetMode(Mode mode) { mode_ = mode; }
  void SetBody(std::string body) {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = std::move(body);
  }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 50) <= 0) {
        continue;
      }
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        continue;
      }
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        Answer(ssl);
        SSL_shutdown(ssl);
      }
      ERR_clear_error();
      SSL_free(ssl);
      close(fd);
    }
  }

  void Answer(SSL* ssl) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const int n = SSL_read(ssl, buffer, sizeof(buffer));
      if (n <= 0) {
        return;
      }
      request.append(buffer, static_cast<size_t>(n));
    }
    ++requests_;
    std::string body;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body = body_;
    }
    std::string response;
    switch (mode_.load()) {
      case Mode::kContentLength:
        response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body;
        break;
      case Mode::kChunked: {
        response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (size_t at = 0; at < body.size(); at += 100) {
          const std::string chunk = body.substr(at, 100);
          char size[16];
          snprintf(size, sizeof(size), "%zx\r\n", chunk.size());
          response += size + chunk + "\r\n";
        }
        response += "0\r\n\r\n";
        break;
      }
      case Mode::kError:
        response = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
        break;
      case Mode::kGarbage:
        response = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!";
        break;
    }
    SSL_write(ssl, response.data(), static_cast<int>(response.size()));
  }

  TempDir dir_;
  EvpPkeyPtr key_;
  X509* cert_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<Mode> mode_{Mode::kContentLength};
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::string body_;
  std::thread thread_;
};

TEST(KeyProviderTest, UrlProviderFetchesOverHttps) {
  HttpsServer server;
  server.SetBody(testing::TestJwks());
  KeyProviderOptions options;
  options.ca_file = server.CaFile();
  options.unknown_kid_refresh_min_s = 0;
  options.read_timeout_ms = 2000;
  absl::StatusOr<std::unique_ptr<KeyProvider>> provider =
      KeyProvider::FromUrl(server.Url(), options);
  ASSERT_TRUE(provider.ok()) << provider.status();
  KeyProvider& keys = **provider;
  EXPECT_EQ(keys.generation(), 1u);
  EXPECT_EQ(keys.keys()->size(), 2u);

  server.SetMode(HttpsServer::Mode::kChunked);
  server.SetBody(Jwks({Jwk(EcKey(), "chunked")}));
  ASSERT_TRUE(keys.Reload().ok());
  EXPECT_EQ(keys.generation(), 2u);
  EXPECT_NE(keys.keys()->Find("chunked"), nullptr);

  // Failures keep the last good set.
  server.SetMode(HttpsServer::Mode::kError);
  const absl::Status failed = keys.Reload();
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("503"), std::string::npos) << failed;
  server.SetMode(HttpsServer::Mode::kGarbage);
  EXPECT_FALSE(keys.Reload().ok());
  EXPECT_EQ(keys.generation(), 2u);
  EXPECT_NE(keys.keys()->Find("chunked"), nullptr);

  // The background thread serves RequestRefresh.
  server.SetMode(HttpsServer::Mode::kContentLength);
  server.SetBody(testing::TestJwks());
  keys.Start();
  EXPECT_TRUE(keys.RequestRefresh());
  ASSERT_TRUE(WaitFor([&] { return keys.generation() == 3; }));
  EXPECT_NE(keys.keys()->Find(kRsaKid), nullptr);
  keys.Stop();
}

TEST(KeyProviderTest, UrlProviderVerifiesTheServer) {
  HttpsServer server;
  server.SetBody(testing::TestJwks());
  KeyProviderOptions options;
  options.ca_file = server.CaFile();
  options.read_timeout_ms = 2000;
  // The certificate names IP 127.0.0.1, not localhost.
  absl::StatusOr<std::unique_ptr<KeyProvider>> provider =
      KeyProvider::FromUrl(server.Url("localhost"), options);
  EXPECT_FALSE(provider.ok());
  // Not signed by a CA in the system store.
  options.ca_file.clear();
  provider = KeyProvider::FromUrl(server.Url(), options);
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.status().message().find("TLS handshake"), std::string::npos)
      << provider.status();
  // Nothing listening.
  options.ca_file = server.CaFile();
  options.connect_timeout_ms = 500;
  EXPECT_FALSE(KeyProvider::FromUrl("https://127.0.0.1:1/keys", options).ok());
}

}  // namespace
}  // namespace jitgate::auth
