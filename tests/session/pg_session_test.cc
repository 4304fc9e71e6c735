// tests/session/pg_session_test.cc: PgSession driven sans-I/O, playing both peers with bytes.
//
// The fake client is built from byte helpers below (StartupMessage, PasswordMessage, ...) and,
// for the TLS listener, an in-memory tls::Stream client (tests/tls); the fake backend answers
// with the parsers' encoders (AuthenticationOk / SASL, ParameterStatus, BackendKeyData,
// ReadyForQuery, ErrorResponse) and, for SCRAM, computes the server's side with OpenSSL. Every
// test gets a fresh environment (config parsed from inline JSON, policy table, in-memory grant
// store, a key set holding one EC key the tokens are minted with, a cancel registry).
#include "src/session/pg_session.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jitgate/check.h"
#include "jitgate/config.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/pg/startup.h"
#include "src/auth/keys.h"
#include "src/auth/mint.h"
#include "src/auth/token_cache.h"
#include "src/auth/validator.h"
#include "src/grants/store.h"
#include "src/policy/rules.h"
#include "src/policy/table.h"
#include "src/session/cancel_registry.h"
#include "src/session/gateway_env.h"
#include "src/tls/context.h"
#include "src/tls/stream.h"
#include "tests/session/pg_session_fixture.h"
#include "tests/tls/test_certs.h"

namespace jitgate::session {
namespace {

namespace pg = parsers::pg;
using namespace ::jitgate::session::testing;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kScramPassword[] = "pencil-of-the-gateway";
constexpr uint32_t kInsecureListener = 0;
constexpr uint32_t kTlsListener = 1;

// ---- client messages (the rest are in pg_session_fixture.h) -----------------------------------

Bytes RequestPacket(uint32_t code) {
  Bytes out;
  Put32(out, 8);
  Put32(out, code);
  return out;
}
Bytes CancelPacket(uint32_t pid, std::span<const std::byte> key) {
  Bytes out;
  Put32(out, static_cast<uint32_t>(12 + key.size()));
  Put32(out, pg::kCancelRequestCode);
  Put32(out, pid);
  Append(out, key);
  return out;
}

// ---- backend messages --------------------------------------------------------------------------

Bytes BackendError(std::string_view sqlstate, std::string_view message) {
  return Encoded([&](std::span<std::byte> out) {
    pg::ErrorFields fields;
    fields.severity = "FATAL";
    fields.sqlstate = sqlstate;
    fields.message = message;
    return pg::EncodeErrorResponse(fields, out);
  });
}
Bytes DataRow(const std::vector<std::string>& columns) {
  Bytes body;
  Put16(body, static_cast<uint16_t>(columns.size()));
  for (const std::string& column : columns) {
    Put32(body, static_cast<uint32_t>(column.size()));
    Append(body, AsBytes(column));
  }
  return Tagged('D', body);
}

// ---- reading what the session sent -------------------------------------------------------------

uint32_t AuthCode(const Msg& msg) {
  EXPECT_EQ(msg.type, 'R');
  return msg.body.size() >= 4 ? Load32(msg.body) : 0xffffffffu;
}

// The one ErrorResponse the session sent the client.
ErrorInfo OnlyError(std::span<const std::byte> bytes) {
  const std::vector<Msg> msgs = Frames(bytes);
  EXPECT_EQ(msgs.size(), 1u) << Types(msgs);
  if (msgs.empty()) {
    return {};
  }
  return DecodeError(msgs.back());
}

// The parameters of the StartupMessage the session sent the backend.
Params DecodeBackendStartup(std::span<const std::byte> bytes, size_t* size) {
  Params out;
  pg::StartupMessage message;
  EXPECT_GE(bytes.size(), 8u);
  if (bytes.size() < 8) {
    return out;
  }
  const uint32_t length = Load32(bytes);
  EXPECT_LE(length, bytes.size());
  *size = std::min<size_t>(length, bytes.size());
  EXPECT_EQ(pg::DecodeStartupMessage(bytes.first(*size), message), pg::InvalidReason::kNone);
  EXPECT_EQ(message.protocol_version, pg::kProtocolVersion30);
  pg::StartupParamIterator it = message.params();
  pg::StartupParam param;
  while (it.Next(param)) {
    out.emplace_back(std::string(param.name), std::string(param.value));
  }
  return out;
}

std::string Find(const Params& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) {
      return value;
    }
  }
  return "<absent>";
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens: a second EC key, which the environment's key set does not hold.

EVP_PKEY* OtherKey() {
  static EVP_PKEY* const key = [] {
    absl::StatusOr<auth::EvpPkeyPtr> made = auth::GenerateEcP256Key();
    JG_CHECK(made.ok());
    return made->release();
  }();
  return key;
}

// ---------------------------------------------------------------------------------------------
// SCRAM-SHA-256, the server's side (RFC 5802 / 7677), for the fake backend.

using Digest = std::array<unsigned char, 32>;

Digest Hmac(std::span<const unsigned char> key, std::string_view message) {
  Digest out{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &size);
  EXPECT_EQ(size, out.size());
  return out;
}
Digest Sha256(std::span<const unsigned char> data) {
  Digest out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}
std::string Base64(std::span<const unsigned char> data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                   static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(size));
  return out;
}
std::vector<unsigned char> Unbase64(std::string_view text) {
  std::vector<unsigned char> out(3 * (text.size() / 4) + 3);
  const int size = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                   static_cast<int>(text.size()));
  EXPECT_GE(size, 0);
  size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  out.resize(static_cast<size_t>(std::max(size, 0)) - padding);
  return out;
}
std::string Attribute(std::string_view message, char name) {
  const std::string key = std::string(1, name) + "=";
  size_t at = 0;
  while (at < message.size()) {
    const size_t end = std::min(message.find(',', at), message.size());
    const std::string_view part = message.substr(at, end - at);
    if (part.starts_with(key)) {
      return std::string(part.substr(2));
    }
    at = end + 1;
  }
  return "";
}

class ScramServer {
 public:
  explicit ScramServer(std::string_view password) {
    const std::string_view salt_text = "jitgate-test-salt";
    salt_.assign(salt_text.begin(), salt_text.end());
    JG_CHECK(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt_.data(),
                               static_cast<int>(salt_.size()), kIterations, EVP_sha256(),
                               static_cast<int>(salted_.size()), salted_.data()) == 1);
  }

  // The client-first-message (after the gs2 header) -> server-first-message.
  // With channel binding (SCRAM-SHA-256-PLUS): the tls-server-end-point value of our
  // certificate, which the client must bind to.
  void SetChannelBinding(std::span<const std::byte> binding) {
    binding_.assign(binding.begin(), binding.end());
  }

  std::string First(std::string_view client_first) {
    // gs2-header: "n,," / "y,," without binding, "p=tls-server-end-point,," with it.
    const size_t second_comma = client_first.find(',', client_first.find(',') + 1);
    EXPECT_NE(second_comma, std::string_view::npos) << client_first;
    gs2_header_ = std::string(client_first.substr(0, second_comma + 1));
    EXPECT_EQ(gs2_header_, binding_.empty() ? "n,," : "p=tls-server-end-point,,");
    client_first_bare_ = std::string(client_first.substr(second_comma + 1));
    const std::string client_nonce = Attribute(client_first_bare_, 'r');
    EXPECT_FALSE(client_nonce.empty());
    nonce_ = client_nonce + "ServerNonce3rd";
    server_first_ = absl::StrCat("r=", nonce_, ",s=", Base64(salt_), ",i=", kIterations);
    return server_first_;
  }

  // The client-final-message -> server-final-message ("v=..."), or "" when the proof is wrong.
  std::string Final(std::string_view client_final) {
    const size_t proof_at = client_final.find(",p=");
    EXPECT_NE(proof_at, std::string_view::npos);
    const std::string without_proof(client_final.substr(0, proof_at));
    std::vector<unsigned char> cbind(gs2_header_.begin(), gs2_header_.end());
    for (std::byte b : binding_) {
      cbind.push_back(std::to_integer<unsigned char>(b));
    }
    EXPECT_EQ(Attribute(without_proof, 'c'), Base64(cbind));  // "biws" = base64("n,,")
    EXPECT_EQ(Attribute(without_proof, 'r'), nonce_);
    const std::string auth_message =
        absl::StrCat(client_first_bare_, ",", server_first_, ",", without_proof);
    const Digest client_key = Hmac(salted_, "Client Key");
    const Digest stored_key = Sha256(client_key);
    const Digest client_signature = Hmac(stored_key, auth_message);
    const std::vector<unsigned char> proof =
        Unbase64(Attribute(client_final.substr(proof_at + 1), 'p'));
    if (proof.size() != client_key.size()) {
      return "";
    }
    Digest recovered{};
    for (size_t i = 0; i < recovered.size(); ++i) {
      recovered[i] = proof[i] ^ client_signature[i];
    }
    if (Sha256(recovered) != stored_key) {
      return "";
    }
    const Digest server_key = Hmac(salted_, "Server Key");
    return "v=" + Base64(Hmac(server_key, auth_message));
  }

 private:
  static constexpr int kIterations = 4096;
  std::vector<unsigned char> salt_;
  std::vector<std::byte> binding_;
  std::string gs2_header_;
  Digest salted_{};
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
};

Bytes AuthWithData(uint32_t code, std::string_view data) {
  Bytes body;
  Put32(body, code);
  Append(body, AsBytes(data));
  return Tagged('R', body);
}

// ---------------------------------------------------------------------------------------------
// The environment.

std::string ConfigJson(const std::string& cert, const std::string& key) {
  return absl::StrCat(R"({
    "listeners": [
      {"name": "dev", "protocol": "postgres", "address": "127.0.0.1:6433", "insecure": true},
      {"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
       "tls": {"cert": ")", cert, R"(", "key": ")", key, R"("}}
    ],
    "resources": {
      "orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "database": "orders_db",
                 "user": "jitgate"},
      "ledger": {"protocol": "postgres", "address": "127.0.0.1:5433", "user": "gw_scram"},
      "short": {"protocol": "postgres", "address": "127.0.0.1:5434", "user": "jitgate"},
      "vault": {"protocol": "postgres", "address": "127.0.0.1:5435", "user": "jitgate"},
      "hidden": {"protocol": "postgres", "address": "127.0.0.1:5436", "user": "jitgate"},
      "secure": {"protocol": "postgres", "address": "127.0.0.1:5437", "user": "gw_tls",
                 "tls": "require"}
    },
    "identity": {"issuer": ")", kIssuer, R"(", "audience": ")", kAudience, R"(",
                 "jwks_file": "/nonexistent/jwks.json"},
    "policies": [
      {"name": "agents", "match": {"roles": ["db.read"]}, "resources": ["orders", "ledger", "secure"],
       "access": {"mode": "auto", "max_duration_s": 900},
       "statements": {"tables": [{"match": "payments.*", "access": ["write"], "action": "block",
                                  "name": "no-payment-writes",
                                  "message": "payments are read-only for agents"}]}},
      {"name": "brief", "match": {"roles": ["db.read"]}, "resources": ["short"],
       "access": {"mode": "auto", "max_duration_s": 1}},
      {"name": "guarded", "match": {"roles": ["db.read"]}, "resources": ["vault"],
       "access": {"mode": "approval"}},
      {"name": "others", "match": {"groups": ["nobody-group"]}, "resources": ["hidden"],
       "access": {"mode": "auto"}}
    ],
    "limits": {"auth_timeout_ms": 10000, "cancel_keys_max": 64}
  })");
}

class PgSessionTest : public testing::PgSessionFixture {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<tls::testing::TestPki>> pki = tls::testing::TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    ASSERT_NO_FATAL_FAILURE(ParseConfig(
        ConfigJson(pki_->server_cert_path(), pki_->server_key_path()), "pg_session_test.json"));
    config_->resources[ResourceIndex("ledger")].password = kScramPassword;
    config_->resources[ResourceIndex("secure")].password = kScramPassword;
    ASSERT_NO_FATAL_FAILURE(BuildEnvironment());

    tls::ServerOptions server_options;
    server_options.cert_path = pki_->server_cert_path();
    server_options.key_path = pki_->server_key_path();
    absl::StatusOr<std::unique_ptr<tls::Context>> server = tls::Context::Server(server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_tls_ = *std::move(server);
    env_.listener_tls = {nullptr, server_tls_.get()};
    tls::ClientOptions client_options;
    client_options.verify = tls::ClientOptions::Verify::kNone;  // "tls": "require"
    absl::StatusOr<std::unique_ptr<tls::Context>> backend = tls::Context::Client(client_options);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_tls_ = *std::move(backend);
    env_.resource_tls[ResourceIndex("secure")] = backend_tls_.get();
  }

  uint32_t ResourceIndex(std::string_view name) const {
    for (size_t i = 0; i < config_->resources.size(); ++i) {
      if (config_->resources[i].name == name) {
        return static_cast<uint32_t>(i);
      }
    }
    ADD_FAILURE() << "no resource " << name;
    return 0;
  }

  // StartupMessage for `database`, then the password `token`: expects the cleartext password
  // request in between.
  void Login(PgSession& session, std::string_view database, const std::string& token) {
    session.OnClientBytes(Startup(database), kStartMs);
    const std::vector<Msg> asked = Frames(Drain(session.to_client()));
    ASSERT_EQ(Types(asked), "R");
    ASSERT_EQ(AuthCode(asked[0]), pg::kAuthCleartextPassword);
    session.OnClientBytes(Password(token), kStartMs);
    ASSERT_EQ(session.end(), EndReason::kNone) << EndReasonName(session.end());
  }

  // From a granted session to forwarding, against a trust backend; `*client` gets what the
  // client received, `*client_key` the cancel key it was given.
  void ConnectTrust(PgSession& session, std::vector<Msg>* client,
                    std::array<std::byte, 4>* client_key = nullptr) {
    ASSERT_TRUE(session.TakeConnectRequest());
    ASSERT_FALSE(session.TakeConnectRequest());  // once
    session.OnBackendConnected(0, "", kStartMs);
    const Bytes startup = Drain(session.to_backend());
    size_t size = 0;
    (void)DecodeBackendStartup(startup, &size);
    ASSERT_EQ(size, startup.size());
    session.OnBackendBytes(TrustStartup(), kStartMs);
    ASSERT_EQ(session.end(), EndReason::kNone) << EndReasonName(session.end());
    *client = Frames(Drain(session.to_client()));
    ASSERT_EQ(Types(*client), "RSSKZ");
    if (client_key != nullptr) {
      ASSERT_EQ(client->at(3).body.size(), 8u);
      std::copy(client->at(3).body.begin() + 4, client->at(3).body.end(), client_key->begin());
    }
    ASSERT_TRUE(session.forwarding());
  }

  // Login + ConnectTrust.
  void ReachForwarding(PgSession& session, std::string_view database,
             std::array<std::byte, 4>* client_key = nullptr) {
    ASSERT_NO_FATAL_FAILURE(Login(session, database, Mint()));
    std::vector<Msg> client;
    ASSERT_NO_FATAL_FAILURE(ConnectTrust(session, &client, client_key));
  }

  // A session refused right after its StartupMessage / password: the one ErrorResponse.
  ErrorInfo RefusedAfterPassword(std::string_view database, const std::string& token,
                                 EndReason* reason) {
    std::unique_ptr<PgSession> session = NewSession();
    session->OnClientBytes(Startup(database), kStartMs);
    const std::vector<Msg> asked = Frames(Drain(session->to_client()));
    EXPECT_EQ(Types(asked), "R");
    session->OnClientBytes(Password(token), kStartMs);
    *reason = session->end();
    EXPECT_FALSE(session->TakeConnectRequest());
    return OnlyError(Drain(session->to_client()));
  }

  std::unique_ptr<tls::testing::TestPki> pki_;
  std::unique_ptr<tls::Context> server_tls_;
  std::unique_ptr<tls::Context> backend_tls_;
};

// ---------------------------------------------------------------------------------------------
// The insecure listener, end to end against a trust backend.

TEST_F(PgSessionTest, InsecureLoginToForwarding) {
  std::unique_ptr<PgSession> session = NewSession();
  EXPECT_TRUE(session->owned(0));
  EXPECT_TRUE(session->owned(1));
  session->OnClientBytes(
      StartupPacket({{"user", "agent"},
                     {"database", "orders"},
                     {"application_name", "report-bot"},
                     {"role", "postgres"},
                     {"SESSION_AUTHORIZATION", "postgres"},
                     {"is_superuser", "on"},
                     {"options", "-c role=admin -c work_mem=64MB --session_authorization=x"}}),
      kStartMs);
  const std::vector<Msg> asked = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(asked), "R");
  EXPECT_EQ(AuthCode(asked[0]), pg::kAuthCleartextPassword);
  EXPECT_FALSE(session->TakeConnectRequest());
  EXPECT_EQ(session->resource_name(), "orders");

  session->OnClientBytes(Password(Mint()), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  EXPECT_TRUE(Drain(session->to_client()).empty());
  ASSERT_TRUE(session->TakeConnectRequest());
  EXPECT_FALSE(session->TakeConnectRequest());
  EXPECT_EQ(session->backend_address().text, "127.0.0.1:5432");
  ASSERT_NE(session->identity(), nullptr);
  EXPECT_EQ(session->identity()->subject, kSubject);
  EXPECT_THAT(std::string(session->grant_id()), ::testing::StartsWith("g-"));
  EXPECT_EQ(stats_.tokens_validated, 1u);
  EXPECT_EQ(stats_.grants_issued, 1u);

  session->OnBackendConnected(0, "", kStartMs);
  const Bytes startup = Drain(session->to_backend());
  size_t size = 0;
  const Params params = DecodeBackendStartup(startup, &size);
  EXPECT_EQ(size, startup.size());
  EXPECT_EQ(Find(params, "user"), "jitgate");
  EXPECT_EQ(Find(params, "database"), "orders_db");
  EXPECT_EQ(Find(params, "application_name"), "report-bot");
  EXPECT_EQ(Find(params, "role"), "<absent>");
  EXPECT_EQ(Find(params, "SESSION_AUTHORIZATION"), "<absent>");
  EXPECT_EQ(Find(params, "is_superuser"), "<absent>");
  EXPECT_EQ(Find(params, "replication"), "<absent>");
  const std::string options = Find(params, "options");
  EXPECT_THAT(options, HasSubstr("work_mem=64MB"));
  EXPECT_THAT(options, Not(HasSubstr("role")));
  EXPECT_THAT(options, Not(HasSubstr("session_authorization")));
  size_t user_count = 0;
  for (const auto& [name, value] : params) {
    user_count += name == "user" ? 1 : 0;
  }
  EXPECT_EQ(user_count, 1u);

  // The backend trusts the gateway.
  session->OnBackendBytes(TrustStartup(), kStartMs);
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  const std::vector<Msg> client = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(client), "RSSKZ");
  EXPECT_EQ(AuthCode(client[0]), pg::kAuthOk);
  pg::ParameterStatus status;
  ASSERT_EQ(pg::DecodeParameterStatus(client[1].body, status), pg::InvalidReason::kNone);
  EXPECT_EQ(status.name, "server_version");
  EXPECT_EQ(status.value, "16.4");
  pg::BackendKeyData key;
  ASSERT_EQ(pg::DecodeBackendKeyData(client[3].body, pg::kProtocolVersion30, key),
            pg::InvalidReason::kNone);
  EXPECT_EQ(key.process_id, kBackendPid);
  std::array<std::byte, 4> client_key;
  std::copy(key.secret_key.begin(), key.secret_key.end(), client_key.begin());
  EXPECT_NE(client_key, kRealKey);
  const std::optional<CancelTarget> target = cancels_->Find(kBackendPid, client_key);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->backend_key, kRealKey);
  EXPECT_EQ(target->backend_pid, kBackendPid);
  EXPECT_EQ(target->resource_index, ResourceIndex("orders"));
  EXPECT_FALSE(cancels_->Find(kBackendPid, kRealKey).has_value());
  EXPECT_EQ(client[4].body, Bytes{std::byte{'I'}});

  // Zero-copy forwarding.
  EXPECT_TRUE(session->forwarding());
  EXPECT_FALSE(session->owned(0));
  EXPECT_FALSE(session->owned(1));
  const Bytes up = Concat({Query("select 1"), Query("select 2")});
  EXPECT_EQ(session->InspectUp(up, kStartMs), up.size());
  EXPECT_EQ(stats_.statements, 2u);
  const Bytes down = Concat({DataRow({"1"}), CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_EQ(session->InspectDown(down, kStartMs), down.size());
  EXPECT_TRUE(session->to_client().empty());
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_EQ(session->end(), EndReason::kNone);

  // Closing releases the cancel key.
  session.reset();
  EXPECT_FALSE(cancels_->Find(kBackendPid, client_key).has_value());
  EXPECT_EQ(cancels_->size(), 0u);
}

TEST_F(PgSessionTest, ChunksSplitAtEveryByteGiveTheSameStartup) {
  const Bytes startup = Startup("orders");
  for (size_t cut = 1; cut < startup.size(); ++cut) {
    std::unique_ptr<PgSession> session = NewSession();
    session->OnClientBytes(std::span(startup).first(cut), kStartMs);
    EXPECT_TRUE(session->to_client().empty()) << cut;
    session->OnClientBytes(std::span(startup).subspan(cut), kStartMs);
    const std::vector<Msg> asked = Frames(Drain(session->to_client()));
    ASSERT_EQ(Types(asked), "R") << cut;
  }
}

TEST_F(PgSessionTest, BackendStartupSplitAtEveryByte) {
  const Bytes reply = TrustStartup();
  const std::string token = Mint();
  for (size_t cut = 1; cut < reply.size(); ++cut) {
    std::unique_ptr<PgSession> session = NewSession();
    ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", token));
    ASSERT_TRUE(session->TakeConnectRequest());
    session->OnBackendConnected(0, "", kStartMs);
    (void)Drain(session->to_backend());
    session->OnBackendBytes(std::span(reply).first(cut), kStartMs);
    EXPECT_FALSE(session->forwarding()) << cut;
    session->OnBackendBytes(std::span(reply).subspan(cut), kStartMs);
    ASSERT_TRUE(session->forwarding()) << cut;
    EXPECT_EQ(Types(Frames(Drain(session->to_client()))), "RSSKZ") << cut;
  }
}

TEST_F(PgSessionTest, BackendBytesAfterReadyForQueryAreForwarded) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  session->OnBackendBytes(Concat({TrustStartup(), ParamStatus("TimeZone", "UTC")}), kStartMs);
  EXPECT_EQ(Types(Frames(Drain(session->to_client()))), "RSSKZS");
}

TEST_F(PgSessionTest, PipelinedQueryBehindPasswordIsForwardedAfterStartup) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(Startup("orders"), kStartMs);
  (void)Drain(session->to_client());
  const Bytes query = Query("select now()");
  session->OnClientBytes(Concat({Password(Mint()), query}), kStartMs);
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  const Bytes startup = Drain(session->to_backend());
  EXPECT_FALSE(Contains(startup, "select now()"));
  session->OnBackendBytes(TrustStartup(), kStartMs);
  ASSERT_TRUE(session->forwarding());
  EXPECT_EQ(Drain(session->to_backend()), query);
  EXPECT_EQ(stats_.statements, 1u);
}

// ---------------------------------------------------------------------------------------------
// SCRAM-SHA-256 to the backend.

TEST_F(PgSessionTest, ScramToTheBackend) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "ledger", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  EXPECT_EQ(session->backend_address().text, "127.0.0.1:5433");
  session->OnBackendConnected(0, "", kStartMs);
  const Bytes startup = Drain(session->to_backend());
  size_t size = 0;
  const Params params = DecodeBackendStartup(startup, &size);
  EXPECT_EQ(Find(params, "user"), "gw_scram");
  EXPECT_EQ(Find(params, "database"), "ledger");  // default: the resource name

  // AuthenticationSASL -> SASLInitialResponse.
  const std::array<std::string_view, 1> mechanisms = {"SCRAM-SHA-256"};
  session->OnBackendBytes(Encoded([&](std::span<std::byte> out) {
                            return pg::EncodeAuthenticationSasl(mechanisms, out);
                          }),
                          kStartMs);
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "p");
  pg::SaslInitialResponse initial;
  ASSERT_EQ(pg::DecodeSaslInitialResponse(sent[0].body, initial), pg::InvalidReason::kNone);
  EXPECT_EQ(initial.mechanism, "SCRAM-SHA-256");
  ASSERT_TRUE(initial.has_response);
  const std::string_view client_first = AsText(initial.response);
  EXPECT_TRUE(client_first.starts_with("n,,n=,r=")) << client_first;
  EXPECT_TRUE(session->to_client().empty());

  // SASLContinue -> SASLResponse with a proof the server accepts.
  ScramServer server(kScramPassword);
  session->OnBackendBytes(AuthWithData(pg::kAuthSaslContinue, server.First(client_first)),
                          kStartMs);
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "p");
  const std::string server_final = server.Final(AsText(sent[0].body));
  ASSERT_FALSE(server_final.empty()) << "the gateway's proof did not verify";

  // SASLFinal + AuthenticationOk + the rest, in one chunk.
  session->OnBackendBytes(
      Concat({AuthWithData(pg::kAuthSaslFinal, server_final), TrustStartup()}), kStartMs);
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  EXPECT_EQ(Types(Frames(Drain(session->to_client()))), "RSSKZ");
  EXPECT_TRUE(session->forwarding());
}

TEST_F(PgSessionTest, ScramWithABadServerSignatureIsRefused) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "ledger", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  const std::array<std::string_view, 1> mechanisms = {"SCRAM-SHA-256"};
  session->OnBackendBytes(Encoded([&](std::span<std::byte> out) {
                            return pg::EncodeAuthenticationSasl(mechanisms, out);
                          }),
                          kStartMs);
  std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(sent.size(), 1u);
  pg::SaslInitialResponse initial;
  ASSERT_EQ(pg::DecodeSaslInitialResponse(sent[0].body, initial), pg::InvalidReason::kNone);
  ScramServer server("another password");  // an impostor that does not know the secret
  session->OnBackendBytes(AuthWithData(pg::kAuthSaslContinue, server.First(AsText(
                                                                  initial.response))),
                          kStartMs);
  sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(server.Final(AsText(sent[0].body)), "");  // the proof does not verify either
  const std::string forged = "v=" + Base64(Digest{});
  session->OnBackendBytes(Concat({AuthWithData(pg::kAuthSaslFinal, forged), TrustStartup()}),
                          kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "08006");
  EXPECT_EQ(error.severity, "FATAL");
  EXPECT_FALSE(session->forwarding());
}

// ---------------------------------------------------------------------------------------------
// The TLS listener.

// An in-memory TLS client talking to a session's client leg.
class TlsClient {
 public:
  explicit TlsClient(const tls::testing::TestPki& pki, std::string_view alpn = "") {
    tls::ClientOptions options;
    options.verify = tls::ClientOptions::Verify::kVerifyFull;
    options.ca_path = pki.ca_cert_path();
    options.alpn = std::string(alpn);
    absl::StatusOr<std::unique_ptr<tls::Context>> context = tls::Context::Client(options);
    JG_CHECK(context.ok());
    context_ = *std::move(context);
    JG_CHECK(stream_.Init(*context_, tls::Role::kClient, "localhost").ok());
  }

  // Moves ciphertext both ways until neither side has anything more to say. Every byte the
  // session sent is kept in wire_from_session().
  void Exchange(PgSession& session, int64_t now_ms) {
    for (int round = 0; round < 1000; ++round) {
      bool moved = false;
      Bytes out;
      std::array<std::byte, 16384> chunk;
      for (size_t taken; (taken = stream_.TakeOutput(chunk)) > 0;) {
        out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(taken));
      }
      if (!out.empty()) {
        session.OnClientBytes(out, now_ms);
        moved = true;
      }
      const Bytes in = Drain(session.to_client());
      if (!in.empty()) {
        Append(wire_, in);
        size_t at = 0;
        while (at < in.size()) {
          const size_t fed = stream_.Feed(std::span(in).subspan(at));
          at += fed;
          if (fed == 0) {
            ReadAvailable();
          }
        }
        moved = true;
      }
      if (!stream_.handshake_done()) {
        const tls::Progress progress = stream_.Handshake();
        ASSERT_NE(progress, tls::Progress::kFailed) << stream_.error();
        moved = moved || stream_.PendingOutput() > 0;
      }
      ReadAvailable();
      if (!moved) {
        return;
      }
    }
    FAIL() << "TLS exchange did not settle";
  }

  void Send(std::span<const std::byte> plaintext) {
    while (!plaintext.empty()) {
      const tls::WriteResult result = stream_.Write(plaintext);
      ASSERT_NE(result.status, tls::IoStatus::kFailed) << stream_.error();
      ASSERT_GT(result.bytes, 0u);
      plaintext = plaintext.subspan(result.bytes);
    }
  }

  // Plaintext received so far, consumed.
  Bytes TakePlaintext() { return std::exchange(plaintext_, {}); }
  const Bytes& wire_from_session() const { return wire_; }
  tls::Stream& stream() { return stream_; }
  bool closed() const { return closed_; }

 private:
  void ReadAvailable() {
    std::array<std::byte, 16384> buffer;
    for (;;) {
      const tls::ReadResult result = stream_.Read(buffer);
      if (result.status == tls::IoStatus::kClosed) {
        closed_ = true;
      }
      if (result.bytes == 0) {
        return;
      }
      plaintext_.insert(plaintext_.end(), buffer.begin(),
                        buffer.begin() + static_cast<ptrdiff_t>(result.bytes));
    }
  }

  std::unique_ptr<tls::Context> context_;
  tls::Stream stream_;
  Bytes plaintext_;
  Bytes wire_;
  bool closed_ = false;
};

TEST_F(PgSessionTest, TlsListenerRefusesPlaintextStartup) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  session->OnClientBytes(Startup("orders"), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kTlsRequired);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.severity, "FATAL");
  EXPECT_EQ(error.code, "28000");
  EXPECT_THAT(error.message, HasSubstr("requires TLS"));
  EXPECT_FALSE(session->TakeConnectRequest());
}

TEST_F(PgSessionTest, TlsListenerRefusesBytesBehindSslRequest) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  session->OnClientBytes(Concat({RequestPacket(pg::kSslRequestCode), Startup("orders")}),
                         kStartMs);
  EXPECT_EQ(session->end(), EndReason::kProtocolError);
  EXPECT_TRUE(Drain(session->to_client()).empty());  // not even the 'S'
}

TEST_F(PgSessionTest, TlsListenerLoginAndEncryptedForwarding) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  session->OnClientBytes(RequestPacket(pg::kSslRequestCode), kStartMs);
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  EXPECT_EQ(Drain(session->to_client()), Bytes{std::byte{'S'}});

  TlsClient client(*pki_);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  ASSERT_TRUE(client.stream().handshake_done());
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  EXPECT_THAT(std::string(session->tls_version()), ::testing::StartsWith("TLSv1."));

  const std::string token = Mint();
  ASSERT_NO_FATAL_FAILURE(client.Send(Startup("orders")));
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  std::vector<Msg> received = Frames(client.TakePlaintext());
  ASSERT_EQ(Types(received), "R");
  EXPECT_EQ(AuthCode(received[0]), pg::kAuthCleartextPassword);
  ASSERT_NO_FATAL_FAILURE(client.Send(Password(token)));
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  const Bytes startup = Drain(session->to_backend());  // the backend leg is plain here
  size_t size = 0;
  EXPECT_EQ(Find(DecodeBackendStartup(startup, &size), "user"), "jitgate");

  session->OnBackendBytes(
      Concat({AuthOk(), ParamStatus("jitgate_marker", "plaintext-canary-1"),
              KeyData(kBackendPid, kRealKey), Ready('I')}),
      kStartMs);
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  received = Frames(client.TakePlaintext());
  EXPECT_EQ(Types(received), "RSKZ");
  ASSERT_TRUE(session->forwarding());
  EXPECT_TRUE(session->owned(0));  // TLS on the client leg: the session holds the bytes
  EXPECT_TRUE(session->owned(1));

  // Backend -> client: encrypted on the way out.
  session->OnBackendBytes(Concat({DataRow({"plaintext-canary-2"}), CommandComplete("SELECT 1"),
                                  Ready('I')}),
                          kStartMs);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  received = Frames(client.TakePlaintext());
  ASSERT_EQ(Types(received), "DCZ");
  EXPECT_TRUE(Contains(received[0].body, "plaintext-canary-2"));
  // Client -> backend: decrypted, forwarded as plaintext.
  ASSERT_NO_FATAL_FAILURE(client.Send(Query("select 'plaintext-canary-3'")));
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  EXPECT_EQ(Drain(session->to_backend()), Query("select 'plaintext-canary-3'"));
  EXPECT_EQ(stats_.statements, 1u);

  // Nothing the session sent the client was readable on the wire.
  const Bytes& wire = client.wire_from_session();
  EXPECT_FALSE(Contains(wire, "plaintext-canary-1"));
  EXPECT_FALSE(Contains(wire, "plaintext-canary-2"));
  EXPECT_FALSE(Contains(wire, "server_version"));
  EXPECT_FALSE(Contains(wire, "jitgate_marker"));
  EXPECT_EQ(session->end(), EndReason::kNone);
}

TEST_F(PgSessionTest, TlsListenerRefusalIsSentInsideTls) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  session->OnClientBytes(RequestPacket(pg::kSslRequestCode), kStartMs);
  (void)Drain(session->to_client());
  TlsClient client(*pki_);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  ASSERT_NO_FATAL_FAILURE(client.Send(Startup("no_such_resource")));
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  EXPECT_EQ(session->end(), EndReason::kAccessDenied);
  const ErrorInfo error = OnlyError(client.TakePlaintext());
  EXPECT_EQ(error.code, "3D000");
  EXPECT_TRUE(client.closed());  // close_notify followed
  EXPECT_FALSE(Contains(client.wire_from_session(), "no_such_resource"));
}

TEST_F(PgSessionTest, TlsListenerGarbageHandshakeFails) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  session->OnClientBytes(RequestPacket(pg::kSslRequestCode), kStartMs);
  (void)Drain(session->to_client());
  Bytes garbage = {std::byte{0x16}, std::byte{0x03}, std::byte{0x01}, std::byte{0x00},
                   std::byte{0x05}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                   std::byte{0xff}, std::byte{0xff}};
  session->OnClientBytes(garbage, kStartMs);
  EXPECT_EQ(session->end(), EndReason::kTlsFailed);
}

// PostgreSQL 17 direct TLS (sslnegotiation=direct): the ClientHello comes first.
TEST_F(PgSessionTest, TlsListenerDirectTls) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  TlsClient client(*pki_, tls::kAlpnPostgresql);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  ASSERT_TRUE(client.stream().handshake_done());
  EXPECT_EQ(client.stream().alpn(), tls::kAlpnPostgresql);
  ASSERT_NO_FATAL_FAILURE(client.Send(Startup("orders")));
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  EXPECT_EQ(Types(Frames(client.TakePlaintext())), "R");
  EXPECT_EQ(session->end(), EndReason::kNone);
}

TEST_F(PgSessionTest, InsecureListenerRefusesATlsClientHello) {
  std::unique_ptr<PgSession> session = NewSession();
  TlsClient client(*pki_, tls::kAlpnPostgresql);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  EXPECT_EQ(session->end(), EndReason::kProtocolError);
  EXPECT_TRUE(client.wire_from_session().empty());
}

TEST_F(PgSessionTest, SslRequestInsideTlsIsAProtocolError) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  session->OnClientBytes(RequestPacket(pg::kSslRequestCode), kStartMs);
  (void)Drain(session->to_client());
  TlsClient client(*pki_);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  ASSERT_NO_FATAL_FAILURE(client.Send(RequestPacket(pg::kSslRequestCode)));
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  EXPECT_EQ(session->end(), EndReason::kProtocolError);
  EXPECT_EQ(OnlyError(client.TakePlaintext()).code, "08P01");
}

TEST_F(PgSessionTest, AuthTimeoutInsideTheTlsHandshakeClosesSilently) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  session->OnClientBytes(RequestPacket(pg::kSslRequestCode), kStartMs);
  EXPECT_EQ(Drain(session->to_client()), Bytes{std::byte{'S'}});
  session->OnTimer(kStartMs + config_->limits.auth_timeout_ms);
  EXPECT_EQ(session->end(), EndReason::kAuthTimeout);
  EXPECT_TRUE(session->to_client().empty());  // no channel to speak on yet
}

TEST_F(PgSessionTest, InsecureListenerAnswersSslRequestWithN) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(Concat({RequestPacket(pg::kSslRequestCode), Startup("orders")}),
                         kStartMs);
  const Bytes out = Drain(session->to_client());
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0], std::byte{'N'});
  EXPECT_EQ(Types(Frames(std::span(out).subspan(1))), "R");
}

// ---------------------------------------------------------------------------------------------
// Refusals.

TEST_F(PgSessionTest, BadTokenIsRefused) {
  EndReason reason;
  TokenSpec forged;
  forged.key = OtherKey();  // right kid, wrong signer
  ErrorInfo error = RefusedAfterPassword("orders", Mint(forged), &reason);
  EXPECT_EQ(reason, EndReason::kAuthRefused);
  EXPECT_EQ(error.severity, "FATAL");
  EXPECT_EQ(error.code, "28P01");
  EXPECT_THAT(error.message, HasSubstr("access token rejected"));

  error = RefusedAfterPassword("orders", "not-a-token", &reason);
  EXPECT_EQ(reason, EndReason::kAuthRefused);
  EXPECT_EQ(error.code, "28P01");

  TokenSpec expired;
  expired.lifetime_s = -3600;
  error = RefusedAfterPassword("orders", Mint(expired), &reason);
  EXPECT_EQ(reason, EndReason::kAuthRefused);
  EXPECT_EQ(error.code, "28P01");
  EXPECT_EQ(stats_.auth_refusals, 3u);
  EXPECT_EQ(stats_.grants_issued, 0u);
}

TEST_F(PgSessionTest, ErrorMessagesNeverEchoTheToken) {
  EndReason reason;
  TokenSpec forged;
  forged.key = OtherKey();
  const std::string token = Mint(forged);
  const ErrorInfo error = RefusedAfterPassword("orders", token, &reason);
  const std::string signature = token.substr(token.rfind('.') + 1);
  EXPECT_THAT(error.message, Not(HasSubstr(signature)));
  EXPECT_THAT(error.detail, Not(HasSubstr(signature)));
}

// A fixed key set cannot refresh: a token naming another kid is refused (at once, or once the
// wait for keys is over).
TEST_F(PgSessionTest, UnknownKidWithFixedKeysIsRefused) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(Startup("orders"), kStartMs);
  (void)Drain(session->to_client());
  TokenSpec spec;
  spec.kid = "rotated-away";
  session->OnClientBytes(Password(Mint(spec)), kStartMs);
  if (session->end() == EndReason::kNone) {
    EXPECT_TRUE(session->to_client().empty());
    session->OnTimer(kStartMs + 5000);
  }
  EXPECT_EQ(session->end(), EndReason::kAuthRefused);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "28P01");
  EXPECT_FALSE(session->TakeConnectRequest());
}

// Keys from a JWKS file: a token naming a kid the set does not have waits for a refresh, and
// is accepted once the new set holds the kid.
class RotatingKeysTest : public PgSessionTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PgSessionTest::SetUp());
    jwks_path_ = pki_->dir() + "/jwks.json";
    WriteJwks({{kKid, SigningKey()}});
    absl::StatusOr<std::unique_ptr<auth::KeyProvider>> provider =
        auth::KeyProvider::FromFile(jwks_path_);
    ASSERT_TRUE(provider.ok()) << provider.status();
    file_keys_ = *std::move(provider);
    auth::ValidatorOptions options;
    options.issuers = {kIssuer};
    options.audiences = {kAudience};
    file_validator_ = std::make_unique<auth::Validator>(std::move(options), file_keys_.get());
    env_.keys = file_keys_.get();
    env_.validator = file_validator_.get();
  }

  void WriteJwks(const std::vector<std::pair<std::string, EVP_PKEY*>>& keys) {
    absl::StatusOr<std::string> jwks = auth::JwksJson(keys);
    ASSERT_TRUE(jwks.ok()) << jwks.status();
    FILE* file = fopen(jwks_path_.c_str(), "w");
    ASSERT_NE(file, nullptr);
    ASSERT_EQ(fwrite(jwks->data(), 1, jwks->size(), file), jwks->size());
    ASSERT_EQ(fclose(file), 0);
  }

  // A session waiting for keys after a token signed by OtherKey() as "k2".
  std::unique_ptr<PgSession> WaitingForKeys() {
    std::unique_ptr<PgSession> session = NewSession();
    session->OnClientBytes(Startup("orders"), kStartMs);
    (void)Drain(session->to_client());
    TokenSpec spec;
    spec.kid = "k2";
    spec.key = OtherKey();
    session->OnClientBytes(Password(Mint(spec)), kStartMs);
    EXPECT_EQ(session->end(), EndReason::kNone);
    EXPECT_TRUE(session->to_client().empty());
    EXPECT_FALSE(session->TakeConnectRequest());
    return session;
  }

  std::string jwks_path_;
  std::unique_ptr<auth::KeyProvider> file_keys_;
  std::unique_ptr<auth::Validator> file_validator_;
};

TEST_F(RotatingKeysTest, NewKeyArrivesAndTheTokenIsAccepted) {
  std::unique_ptr<PgSession> session = WaitingForKeys();
  session->OnTimer(kStartMs + 100);  // nothing new yet
  EXPECT_EQ(session->end(), EndReason::kNone);
  ASSERT_NO_FATAL_FAILURE(WriteJwks({{kKid, SigningKey()}, {"k2", OtherKey()}}));
  ASSERT_TRUE(file_keys_->Reload().ok());
  session->OnTimer(kStartMs + 200);
  EXPECT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  EXPECT_TRUE(session->TakeConnectRequest());
  EXPECT_TRUE(session->to_client().empty());
}

TEST_F(RotatingKeysTest, NoNewKeyBeforeTheDeadlineIsRefused) {
  std::unique_ptr<PgSession> session = WaitingForKeys();
  session->OnTimer(kStartMs + 4999);
  EXPECT_EQ(session->end(), EndReason::kNone);
  session->OnTimer(kStartMs + 5000);
  EXPECT_EQ(session->end(), EndReason::kAuthRefused);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "28P01");
  EXPECT_THAT(error.message, HasSubstr("kid"));
}

TEST_F(RotatingKeysTest, NewSetStillWithoutTheKidIsRefused) {
  std::unique_ptr<PgSession> session = WaitingForKeys();
  ASSERT_TRUE(file_keys_->Reload().ok());  // the same keys again: a new generation
  session->OnTimer(kStartMs + 100);
  if (session->end() == EndReason::kNone) {
    session->OnTimer(kStartMs + 100 + 5000);  // at the latest when the (renewed) wait ends
  }
  EXPECT_EQ(session->end(), EndReason::kAuthRefused);
  EXPECT_EQ(OnlyError(Drain(session->to_client())).code, "28P01");
}

TEST_F(PgSessionTest, UnknownDatabaseIsRefused) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(Startup("no_such_db"), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kAccessDenied);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.severity, "FATAL");
  EXPECT_EQ(error.code, "3D000");
  EXPECT_THAT(error.message, HasSubstr("no_such_db"));
}

TEST_F(PgSessionTest, DatabaseDefaultsToTheUserName) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(StartupPacket({{"user", "orders"}}), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kNone);
  EXPECT_EQ(session->resource_name(), "orders");
}

TEST_F(PgSessionTest, NoPolicyIsRefused) {
  EndReason reason;
  const ErrorInfo error = RefusedAfterPassword("hidden", Mint(), &reason);
  EXPECT_EQ(reason, EndReason::kAccessDenied);
  EXPECT_EQ(error.code, "28000");
  EXPECT_THAT(error.message, HasSubstr("no policy"));
  EXPECT_THAT(error.message, HasSubstr(kSubject));
  EXPECT_EQ(grants_->active_count(), 0u);
}

TEST_F(PgSessionTest, ApprovalPolicyIsRefused) {
  EndReason reason;
  const ErrorInfo error = RefusedAfterPassword("vault", Mint(), &reason);
  EXPECT_EQ(reason, EndReason::kAccessDenied);
  EXPECT_EQ(error.code, "28000");
  EXPECT_THAT(error.message, HasSubstr("approval"));
  EXPECT_THAT(error.message, HasSubstr("guarded"));
  EXPECT_EQ(grants_->active_count(), 0u);
}

TEST_F(PgSessionTest, ReplicationIsRefused) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(
      StartupPacket({{"user", "agent"}, {"database", "orders"}, {"replication", "database"}}),
      kStartMs);
  EXPECT_EQ(session->end(), EndReason::kAccessDenied);
  EXPECT_EQ(OnlyError(Drain(session->to_client())).code, "28000");
}

TEST_F(PgSessionTest, GssEncRequestIsAnsweredWithN) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(RequestPacket(pg::kGssEncRequestCode), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kNone);
  EXPECT_EQ(Drain(session->to_client()), Bytes{std::byte{'N'}});
  session->OnClientBytes(Startup("orders"), kStartMs);
  EXPECT_EQ(Types(Frames(Drain(session->to_client()))), "R");
}

TEST_F(PgSessionTest, GarbageStartupPacketIsAProtocolError) {
  const std::vector<Bytes> garbage = {
      {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{8}, std::byte{0x00}, std::byte{0x12},
       std::byte{0x34}, std::byte{0x56}},  // protocol 18.13398
      {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{4}, std::byte{0}, std::byte{3},
       std::byte{0}, std::byte{0}},  // length below the header
      {std::byte{0x7f}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{3},
       std::byte{0}, std::byte{0}},  // 2 GB
  };
  for (const Bytes& bytes : garbage) {
    std::unique_ptr<PgSession> session = NewSession();
    session->OnClientBytes(bytes, kStartMs);
    EXPECT_EQ(session->end(), EndReason::kProtocolError);
    const ErrorInfo error = OnlyError(Drain(session->to_client()));
    EXPECT_EQ(error.code, "08P01");
  }
  // A StartupMessage without `user`.
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(StartupPacket({{"database", "orders"}}), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kProtocolError);
  EXPECT_EQ(OnlyError(Drain(session->to_client())).code, "08P01");
}

TEST_F(PgSessionTest, NonPasswordMessageAfterPasswordRequest) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(Startup("orders"), kStartMs);
  (void)Drain(session->to_client());
  session->OnClientBytes(Query("select 1"), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kProtocolError);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "08P01");
  EXPECT_THAT(error.message, HasSubstr("password"));
  EXPECT_FALSE(session->TakeConnectRequest());
}

TEST_F(PgSessionTest, AuthTimeout) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(Startup("orders"), kStartMs);
  (void)Drain(session->to_client());
  const int64_t timeout_ms = config_->limits.auth_timeout_ms;
  session->OnTimer(kStartMs + timeout_ms - 1);
  EXPECT_EQ(session->end(), EndReason::kNone);
  EXPECT_TRUE(session->to_client().empty());
  session->OnTimer(kStartMs + timeout_ms);
  EXPECT_EQ(session->end(), EndReason::kAuthTimeout);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "08P01");
  EXPECT_THAT(error.message, HasSubstr("timed out"));
  // Nothing more is accepted.
  session->OnClientBytes(Password(Mint()), kStartMs + timeout_ms);
  EXPECT_FALSE(session->TakeConnectRequest());
  EXPECT_TRUE(session->to_client().empty());
}

TEST_F(PgSessionTest, AuthTimeoutWhileTheBackendStartsUp) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  session->OnTimer(kStartMs + config_->limits.auth_timeout_ms);
  EXPECT_EQ(session->end(), EndReason::kAuthTimeout);
}

TEST_F(PgSessionTest, BackendErrorDuringStartupIsRelayedAsFatal) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  session->OnBackendBytes(BackendError("53300", "sorry, too many clients already"), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.severity, "FATAL");
  EXPECT_EQ(error.code, "53300");
  EXPECT_THAT(error.message, HasSubstr("too many clients"));
  EXPECT_THAT(error.message, HasSubstr("orders"));
  EXPECT_FALSE(session->forwarding());
}

TEST_F(PgSessionTest, BackendConnectFailure) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(ECONNREFUSED, "Connection refused", kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "08006");
  EXPECT_THAT(error.message, HasSubstr("127.0.0.1:5432"));
  EXPECT_TRUE(session->to_backend().empty());
}

TEST_F(PgSessionTest, BackendHangUpDuringStartupIsTold) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  Drain(session->to_backend());
  session->OnBackendClosed();
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "08006");
  EXPECT_THAT(error.message, HasSubstr("closed the connection during start-up"));
}

TEST_F(PgSessionTest, BackendProtocolGarbageDuringStartup) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  session->OnBackendBytes(Tagged('x', std::string_view("??")), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendProtocol);
  EXPECT_EQ(OnlyError(Drain(session->to_client())).code, "08006");
}

TEST_F(PgSessionTest, StartupAndPasswordInOneChunk) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(Concat({Startup("orders"), Password(Mint())}), kStartMs);
  EXPECT_EQ(Types(Frames(Drain(session->to_client()))), "R");
  EXPECT_TRUE(session->TakeConnectRequest());
}

TEST_F(PgSessionTest, BackendNoticeDuringStartupIsRelayedInOrder) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  const Bytes notice = Encoded([](std::span<std::byte> out) {
    pg::ErrorFields fields;
    fields.severity = "WARNING";
    fields.sqlstate = "01000";
    fields.message = "the backend says hello";
    return pg::EncodeNoticeResponse(fields, out);
  });
  session->OnBackendBytes(Concat({AuthOk(), notice, ParamStatus("a", "b"), Ready('I')}),
                          kStartMs);
  const std::vector<Msg> client = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(client), "RNSKZ");
  EXPECT_TRUE(Contains(client[1].body, "the backend says hello"));
}

// A backend without BackendKeyData: the client gets pid 0 and a key that matches nothing, also
// on a reused PgSession. (Regression: the previous session's client key was handed out.)
TEST_F(PgSessionTest, NoBackendKeyDataGivesAZeroKey) {
  PgSession session(env_, nullptr, &stats_, 0);
  session.Start(kInsecureListener, 1, "a", kStartMs);
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(session, "orders"));  // registers a real key
  session.Start(kInsecureListener, 2, "b", kStartMs);           // the same object, reused
  ASSERT_NO_FATAL_FAILURE(Login(session, "orders", Mint()));
  ASSERT_TRUE(session.TakeConnectRequest());
  session.OnBackendConnected(0, "", kStartMs);
  (void)Drain(session.to_backend());
  session.OnBackendBytes(Concat({AuthOk(), Ready('I')}), kStartMs);
  const std::vector<Msg> client = Frames(Drain(session.to_client()));
  ASSERT_EQ(Types(client), "RKZ");
  pg::BackendKeyData key;
  ASSERT_EQ(pg::DecodeBackendKeyData(client[1].body, pg::kProtocolVersion30, key),
            pg::InvalidReason::kNone);
  EXPECT_EQ(key.process_id, 0u);
  EXPECT_EQ(AsText(key.secret_key), std::string(4, '\0'))
      << "the previous session's cancel key was handed to the next client";
  EXPECT_EQ(cancels_->size(), 0u);
}

TEST_F(PgSessionTest, FullCancelRegistryGivesAZeroKey) {
  CancelRegistry tiny(1);
  env_.cancels = &tiny;
  std::unique_ptr<PgSession> first = NewSession();
  std::array<std::byte, 4> first_key;
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*first, "orders", &first_key));
  std::unique_ptr<PgSession> second = NewSession();
  std::array<std::byte, 4> second_key;
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*second, "orders", &second_key));
  EXPECT_EQ(second_key, (std::array<std::byte, 4>{}));
  EXPECT_EQ(tiny.size(), 1u);
  std::unique_ptr<PgSession> cancel = NewSession();
  cancel->OnClientBytes(CancelPacket(kBackendPid, second_key), kStartMs);
  EXPECT_EQ(cancel->end(), EndReason::kCancelForwarded);
  EXPECT_FALSE(cancel->TakeConnectRequest());
  first.reset();
  second.reset();
  cancel.reset();
  EXPECT_EQ(tiny.size(), 0u);
}

TEST_F(PgSessionTest, BackendAsksForAPasswordTheGatewayDoesNotHave) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));  // "orders" has no password
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  Bytes ask;
  Put32(ask, pg::kAuthCleartextPassword);
  session->OnBackendBytes(Tagged('R', ask), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "08006");
  EXPECT_THAT(error.message, HasSubstr("could not sign in"));
  EXPECT_TRUE(session->to_backend().empty());
}

TEST_F(PgSessionTest, CleartextPasswordToTheBackend) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "ledger", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  Bytes ask;
  Put32(ask, pg::kAuthCleartextPassword);
  session->OnBackendBytes(Tagged('R', ask), kStartMs);
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "p");
  EXPECT_EQ(AsText(sent[0].body), std::string(kScramPassword) + std::string(1, '\0'));
  session->OnBackendBytes(TrustStartup(), kStartMs);
  EXPECT_TRUE(session->forwarding());
  // The client never sees the gateway's credential.
  EXPECT_FALSE(Contains(Drain(session->to_client()), kScramPassword));
}

// ---------------------------------------------------------------------------------------------
// The backend over TLS ("tls": "require"): SSLRequest, the gateway's TLS client, SCRAM-SHA-256-PLUS
// bound to the backend's certificate.

// An in-memory TLS server playing the database, talking to a session's backend leg.
class TlsBackend {
 public:
  explicit TlsBackend(const tls::Context& server_context) {
    JG_CHECK(stream_.Init(server_context, tls::Role::kServer, "").ok());
  }

  // Moves ciphertext both ways until neither side has anything more to say.
  void Exchange(PgSession& session, int64_t now_ms) {
    for (int round = 0; round < 1000; ++round) {
      bool moved = false;
      const Bytes in = Drain(session.to_backend());
      if (!in.empty()) {
        Append(wire_, in);
        size_t at = 0;
        while (at < in.size()) {
          const size_t fed = stream_.Feed(std::span(in).subspan(at));
          at += fed;
          if (fed == 0) {
            ReadAvailable();
          }
        }
        moved = true;
      }
      if (!stream_.handshake_done()) {
        const tls::Progress progress = stream_.Handshake();
        ASSERT_NE(progress, tls::Progress::kFailed) << stream_.error();
      }
      ReadAvailable();
      Bytes out;
      std::array<std::byte, 16384> chunk;
      for (size_t taken; (taken = stream_.TakeOutput(chunk)) > 0;) {
        out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(taken));
      }
      if (!out.empty()) {
        session.OnBackendBytes(out, now_ms);
        moved = true;
      }
      if (!moved) {
        return;
      }
    }
    FAIL() << "TLS exchange did not settle";
  }

  void Send(std::span<const std::byte> plaintext) {
    while (!plaintext.empty()) {
      const tls::WriteResult result = stream_.Write(plaintext);
      ASSERT_NE(result.status, tls::IoStatus::kFailed) << stream_.error();
      ASSERT_GT(result.bytes, 0u);
      plaintext = plaintext.subspan(result.bytes);
    }
  }

  Bytes TakePlaintext() { return std::exchange(plaintext_, {}); }
  const Bytes& wire_from_session() const { return wire_; }
  tls::Stream& stream() { return stream_; }

 private:
  void ReadAvailable() {
    std::array<std::byte, 16384> buffer;
    for (;;) {
      const tls::ReadResult result = stream_.Read(buffer);
      if (result.bytes == 0) {
        return;
      }
      plaintext_.insert(plaintext_.end(), buffer.begin(),
                        buffer.begin() + static_cast<ptrdiff_t>(result.bytes));
    }
  }

  tls::Stream stream_;
  Bytes plaintext_;
  Bytes wire_;
};

TEST_F(PgSessionTest, BackendTlsWithScramSha256Plus) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "secure", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  EXPECT_EQ(Drain(session->to_backend()), RequestPacket(pg::kSslRequestCode));
  session->OnBackendBytes(Bytes{std::byte{'S'}}, kStartMs);
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());

  TlsBackend backend(*server_tls_);
  ASSERT_NO_FATAL_FAILURE(backend.Exchange(*session, kStartMs));
  ASSERT_TRUE(backend.stream().handshake_done());
  const Bytes startup = backend.TakePlaintext();
  size_t size = 0;
  const Params params = DecodeBackendStartup(startup, &size);
  EXPECT_EQ(size, startup.size());
  EXPECT_EQ(Find(params, "user"), "gw_tls");
  EXPECT_EQ(Find(params, "database"), "secure");
  EXPECT_FALSE(Contains(backend.wire_from_session(), "gw_tls"));  // encrypted on the wire

  // The backend offers -PLUS; the gateway, holding the certificate's hash, takes it.
  const std::array<std::string_view, 2> mechanisms = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
  ASSERT_NO_FATAL_FAILURE(backend.Send(Encoded([&](std::span<std::byte> out) {
    return pg::EncodeAuthenticationSasl(mechanisms, out);
  })));
  ASSERT_NO_FATAL_FAILURE(backend.Exchange(*session, kStartMs));
  std::vector<Msg> sent = Frames(backend.TakePlaintext());
  ASSERT_EQ(Types(sent), "p");
  pg::SaslInitialResponse initial;
  ASSERT_EQ(pg::DecodeSaslInitialResponse(sent[0].body, initial), pg::InvalidReason::kNone);
  EXPECT_EQ(initial.mechanism, "SCRAM-SHA-256-PLUS");
  const absl::StatusOr<tls::EndPoint> end_point = backend.stream().tls_server_end_point();
  ASSERT_TRUE(end_point.ok()) << end_point.status();
  ScramServer server(kScramPassword);
  server.SetChannelBinding(end_point->view());
  const std::string server_first = server.First(AsText(initial.response));
  ASSERT_NO_FATAL_FAILURE(backend.Send(AuthWithData(pg::kAuthSaslContinue, server_first)));
  ASSERT_NO_FATAL_FAILURE(backend.Exchange(*session, kStartMs));
  sent = Frames(backend.TakePlaintext());
  ASSERT_EQ(Types(sent), "p");
  const std::string server_final = server.Final(AsText(sent[0].body));
  ASSERT_FALSE(server_final.empty()) << "the gateway's proof did not verify";
  ASSERT_NO_FATAL_FAILURE(
      backend.Send(Concat({AuthWithData(pg::kAuthSaslFinal, server_final), TrustStartup()})));
  ASSERT_NO_FATAL_FAILURE(backend.Exchange(*session, kStartMs));
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  EXPECT_EQ(Types(Frames(Drain(session->to_client()))), "RSSKZ");
  ASSERT_TRUE(session->forwarding());
  EXPECT_TRUE(session->owned(0));  // TLS on the backend leg: no zero-copy either way
  EXPECT_TRUE(session->owned(1));

  // Forwarding: the client's plaintext is encrypted to the backend and back.
  session->OnClientBytes(Query("select 'over tls'"), kStartMs);
  ASSERT_NO_FATAL_FAILURE(backend.Exchange(*session, kStartMs));
  EXPECT_EQ(backend.TakePlaintext(), Query("select 'over tls'"));
  ASSERT_NO_FATAL_FAILURE(backend.Send(Concat({DataRow({"over tls"}), Ready('I')})));
  ASSERT_NO_FATAL_FAILURE(backend.Exchange(*session, kStartMs));
  EXPECT_EQ(Types(Frames(Drain(session->to_client()))), "DZ");
  EXPECT_FALSE(Contains(backend.wire_from_session(), "over tls"));
}

TEST_F(PgSessionTest, BackendRefusingTlsIsUnavailable) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "secure", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  session->OnBackendBytes(Bytes{std::byte{'N'}}, kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "08006");
  EXPECT_THAT(error.message, HasSubstr("TLS"));
  EXPECT_TRUE(session->to_backend().empty());  // no StartupMessage in plaintext
}

TEST_F(PgSessionTest, BackendBytesAfterItsTlsYesAreRefused) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "secure", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  session->OnBackendBytes(Concat({Bytes{std::byte{'S'}}, AuthOk()}), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendProtocol);
  EXPECT_EQ(OnlyError(Drain(session->to_client())).code, "08006");
}

TEST_F(PgSessionTest, BackendTlsHandshakeGarbageIsUnavailable) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "secure", Mint()));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  session->OnBackendBytes(Bytes{std::byte{'S'}}, kStartMs);
  EXPECT_FALSE(Drain(session->to_backend()).empty());  // the ClientHello
  session->OnBackendBytes(Bytes{std::byte{0x15}, std::byte{0x03}, std::byte{0x03}, std::byte{0},
                                std::byte{2}, std::byte{2}, std::byte{40}},
                          kStartMs);  // a fatal handshake_failure alert
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  EXPECT_EQ(OnlyError(Drain(session->to_client())).code, "08006");
}

// ---------------------------------------------------------------------------------------------
// Cancel requests.

TEST_F(PgSessionTest, CancelWithARegisteredKeyIsForwarded) {
  std::unique_ptr<PgSession> session = NewSession();
  std::array<std::byte, 4> client_key;
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders", &client_key));

  std::unique_ptr<PgSession> cancel = NewSession();
  cancel->OnClientBytes(CancelPacket(kBackendPid, client_key), kStartMs);
  EXPECT_TRUE(cancel->is_cancel());
  EXPECT_EQ(cancel->end(), EndReason::kNone);
  ASSERT_TRUE(cancel->TakeConnectRequest());
  EXPECT_EQ(cancel->backend_address().text, "127.0.0.1:5432");
  EXPECT_EQ(Drain(cancel->to_backend()), CancelPacket(kBackendPid, kRealKey));
  cancel->OnBackendConnected(0, "", kStartMs);
  EXPECT_EQ(cancel->end(), EndReason::kCancelForwarded);
  EXPECT_TRUE(cancel->to_client().empty());
  EXPECT_EQ(stats_.cancels_forwarded, 1u);
  // The session itself is untouched.
  EXPECT_EQ(session->end(), EndReason::kNone);
}

TEST_F(PgSessionTest, CancelWithAnUnknownKeyEndsQuietly) {
  std::unique_ptr<PgSession> session = NewSession();
  std::array<std::byte, 4> client_key;
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders", &client_key));
  for (const auto& [pid, key] : std::vector<std::pair<uint32_t, std::array<std::byte, 4>>>{
           {kBackendPid, kRealKey},   // the backend's own key is not a gateway key
           {kBackendPid + 1, client_key},
       }) {
    std::unique_ptr<PgSession> cancel = NewSession();
    cancel->OnClientBytes(CancelPacket(pid, key), kStartMs);
    EXPECT_EQ(cancel->end(), EndReason::kCancelForwarded);
    EXPECT_FALSE(cancel->TakeConnectRequest());
    EXPECT_TRUE(cancel->to_backend().empty());
    EXPECT_TRUE(cancel->to_client().empty());
  }
  EXPECT_EQ(stats_.cancels_forwarded, 0u);
}

TEST_F(PgSessionTest, CancelWithAProtocol32KeyEndsQuietly) {
  std::unique_ptr<PgSession> session = NewSession();
  std::array<std::byte, 4> client_key;
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders", &client_key));
  Bytes long_key(client_key.begin(), client_key.end());
  long_key.resize(32, std::byte{0});  // 3.2 keys are longer; the gateway hands out 3.0 keys
  std::unique_ptr<PgSession> cancel = NewSession();
  cancel->OnClientBytes(CancelPacket(kBackendPid, long_key), kStartMs);
  EXPECT_EQ(cancel->end(), EndReason::kCancelForwarded);
  EXPECT_FALSE(cancel->TakeConnectRequest());
  EXPECT_TRUE(cancel->to_client().empty());
}

TEST_F(PgSessionTest, CancelAfterTheSessionClosedMatchesNothing) {
  std::unique_ptr<PgSession> session = NewSession();
  std::array<std::byte, 4> client_key;
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders", &client_key));
  session->Abandon();
  std::unique_ptr<PgSession> cancel = NewSession();
  cancel->OnClientBytes(CancelPacket(kBackendPid, client_key), kStartMs);
  EXPECT_EQ(cancel->end(), EndReason::kCancelForwarded);
  EXPECT_FALSE(cancel->TakeConnectRequest());
}

// ---------------------------------------------------------------------------------------------
// The grant's end.

TEST_F(PgSessionTest, GrantExpiryCutsTheSession) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "short"));
  const std::string grant_id(session->grant_id());
  ASSERT_FALSE(grant_id.empty());
  session->OnTimer(kStartMs + 500);
  EXPECT_EQ(session->end(), EndReason::kNone);
  EXPECT_TRUE(session->to_client().empty());
  session->OnTimer(kStartMs + 1001);
  EXPECT_EQ(session->end(), EndReason::kGrantExpired);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.severity, "FATAL");
  EXPECT_EQ(error.code, "57P01");
  EXPECT_THAT(error.message, HasSubstr(grant_id));
  EXPECT_THAT(error.detail, HasSubstr("brief"));
  EXPECT_EQ(stats_.grants_expired_cut, 1u);
  EXPECT_EQ(cancels_->size(), 0u);  // the cancel key went with the session
  // Nothing more passes.
  EXPECT_TRUE(session->owned(0));
  EXPECT_EQ(session->InspectDown(DataRow({"x"}), kStartMs + 1002), 0u);
  EXPECT_EQ(session->InspectUp(Query("select 1"), kStartMs + 1002), 0u);
}

TEST_F(PgSessionTest, GrantExpiryWaitsForTheMessageInFlight) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "short"));
  const Bytes row = DataRow({"first column", "second column"});
  const size_t half = row.size() / 2;
  EXPECT_EQ(session->InspectDown(std::span(row).first(half), kStartMs), half);
  session->OnTimer(kStartMs + 1001);
  EXPECT_EQ(session->end(), EndReason::kNone);  // a goodbye now would break the DataRow
  EXPECT_TRUE(session->to_client().empty());
  EXPECT_TRUE(session->forwarding());
  // The client's next query no longer reaches the database.
  EXPECT_EQ(session->InspectUp(Query("select 2"), kStartMs + 1001), 0u);

  const Bytes rest = Concat({Bytes(row.begin() + static_cast<ptrdiff_t>(half), row.end()),
                             CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_EQ(session->InspectDown(rest, kStartMs + 1002), row.size() - half);
  EXPECT_EQ(session->end(), EndReason::kGrantExpired);
  const ErrorInfo error = OnlyError(Drain(session->to_client()));
  EXPECT_EQ(error.code, "57P01");
  EXPECT_THAT(error.message, HasSubstr(std::string(session->grant_id())));
}

TEST_F(PgSessionTest, GrantExpiryMidHeaderWaitsToo) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "short"));
  const Bytes row = DataRow({"abc"});
  // A split header is held by the session (never forwarded in part), then goes on copied.
  EXPECT_EQ(session->InspectDown(std::span(row).first(3), kStartMs), 0u);
  EXPECT_TRUE(session->to_client().empty());
  session->OnTimer(kStartMs + 1001);
  EXPECT_EQ(session->end(), EndReason::kNone);
  const Bytes rest = Concat({Bytes(row.begin() + 3, row.end()), Ready('I')});
  EXPECT_EQ(session->InspectDown(rest, kStartMs + 1002), 0u);
  EXPECT_EQ(session->end(), EndReason::kGrantExpired);
  const std::vector<Msg> out = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(out), "DE");  // the whole row, then the goodbye (not the ReadyForQuery)
  EXPECT_EQ(DecodeError(out[1]).code, "57P01");
}

TEST_F(PgSessionTest, GrantExpiryCutsWithoutGoodbyeWhenTheMessageNeverEnds) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "short"));
  const Bytes row = DataRow({std::string(100, 'x')});
  EXPECT_EQ(session->InspectDown(std::span(row).first(20), kStartMs), 20u);
  session->OnTimer(kStartMs + 1001);
  EXPECT_EQ(session->end(), EndReason::kNone);
  session->OnTimer(kStartMs + 1001 + 50);
  EXPECT_EQ(session->end(), EndReason::kGrantExpired);
  EXPECT_TRUE(session->to_client().empty());  // an error now would land inside the DataRow
  EXPECT_EQ(stats_.grants_expired_cut, 1u);
}

TEST_F(PgSessionTest, GrantExpiryWithTlsOnTheClientLeg) {
  std::unique_ptr<PgSession> session = NewSession(kTlsListener);
  session->OnClientBytes(RequestPacket(pg::kSslRequestCode), kStartMs);
  (void)Drain(session->to_client());
  TlsClient client(*pki_);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  ASSERT_NO_FATAL_FAILURE(client.Send(Concat({Startup("short"), Password(Mint())})));
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  (void)Drain(session->to_backend());
  session->OnBackendBytes(TrustStartup(), kStartMs);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs));
  EXPECT_EQ(Types(Frames(client.TakePlaintext())), "RRSSKZ");
  const Bytes row = DataRow({"abcdef"});
  session->OnBackendBytes(std::span(row).first(8), kStartMs);
  session->OnTimer(kStartMs + 1001);
  EXPECT_EQ(session->end(), EndReason::kNone);
  session->OnBackendBytes(Concat({Bytes(row.begin() + 8, row.end()), Ready('I')}),
                          kStartMs + 1002);
  EXPECT_EQ(session->end(), EndReason::kGrantExpired);
  ASSERT_NO_FATAL_FAILURE(client.Exchange(*session, kStartMs + 1002));
  const std::vector<Msg> received = Frames(client.TakePlaintext());
  ASSERT_EQ(Types(received), "DE");
  EXPECT_EQ(received[0].body, Bytes(row.begin() + 5, row.end()));
  EXPECT_EQ(DecodeError(received[1]).code, "57P01");
}

// The grant store reuses an active grant for the same (subject, resource, policy) even when the
// new token expires earlier (store.h IssueAuto: "the session ends at the earlier of the grant's
// end and its own token's exp"): the session then ends at the token's exp. (Regression: it used
// to end at the grant's.)
TEST_F(PgSessionTest, ReusedGrantStillEndsAtTheTokensExp) {
  std::unique_ptr<PgSession> first = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*first, "orders"));  // grant: 900 s
  std::unique_ptr<PgSession> second = NewSession();
  TokenSpec brief;
  brief.lifetime_s = 120;
  ASSERT_NO_FATAL_FAILURE(Login(*second, "orders", Mint(brief)));
  std::vector<Msg> client;
  ASSERT_NO_FATAL_FAILURE(ConnectTrust(*second, &client));
  EXPECT_EQ(second->grant_id(), first->grant_id());  // reused
  second->OnTimer(kStartMs + 100'000);  // the token has 20 s left
  EXPECT_EQ(second->end(), EndReason::kNone);
  second->OnTimer(kStartMs + 121'000);  // the token has ended; the grant has 13 minutes left
  EXPECT_EQ(second->end(), EndReason::kGrantExpired);
  const ErrorInfo error = OnlyError(Drain(second->to_client()));
  EXPECT_EQ(error.code, "57P01");
  EXPECT_THAT(error.message, HasSubstr(std::string(first->grant_id())));
  first->OnTimer(kStartMs + 121'000);  // the first session's token lives on
  EXPECT_EQ(first->end(), EndReason::kNone);
}

// ---------------------------------------------------------------------------------------------
// The token cache.

TEST_F(PgSessionTest, SecondSessionWithTheSameTokenHitsTheCache) {
  auth::TokenCache cache(16, 60);
  const std::string token = Mint();
  std::unique_ptr<PgSession> first = NewSession(kInsecureListener, &cache);
  ASSERT_NO_FATAL_FAILURE(Login(*first, "orders", token));
  EXPECT_EQ(stats_.tokens_validated, 1u);
  EXPECT_EQ(stats_.token_cache_hits, 0u);
  EXPECT_EQ(cache.size(), 1u);
  std::unique_ptr<PgSession> second = NewSession(kInsecureListener, &cache);
  ASSERT_NO_FATAL_FAILURE(Login(*second, "orders", token));
  EXPECT_EQ(stats_.tokens_validated, 1u);
  EXPECT_EQ(stats_.token_cache_hits, 1u);
  ASSERT_NE(second->identity(), nullptr);
  EXPECT_EQ(second->identity(), first->identity());  // the same shared Identity
  EXPECT_TRUE(second->TakeConnectRequest());
  // A refused token is not cached.
  TokenSpec forged;
  forged.key = OtherKey();
  const std::string bad = Mint(forged);
  for (int i = 0; i < 2; ++i) {
    std::unique_ptr<PgSession> session = NewSession(kInsecureListener, &cache);
    session->OnClientBytes(Startup("orders"), kStartMs);
    session->OnClientBytes(Password(bad), kStartMs);
    EXPECT_EQ(session->end(), EndReason::kAuthRefused);
  }
  EXPECT_EQ(stats_.tokens_validated, 3u);
  EXPECT_EQ(stats_.token_cache_hits, 1u);
}

// ---------------------------------------------------------------------------------------------
// NegotiateProtocolVersion.

// 'v': Int32 newest minor, Int32 count, then the option names.
void ExpectNegotiate(const Msg& msg, uint32_t minor, const std::vector<std::string>& options) {
  ASSERT_EQ(msg.type, 'v');
  ASSERT_GE(msg.body.size(), 8u);
  EXPECT_EQ(Load32(msg.body), minor);
  EXPECT_EQ(Load32(std::span(msg.body).subspan(4)), options.size());
  std::vector<std::string> names;
  std::string_view rest = AsText(std::span(msg.body).subspan(8));
  while (!rest.empty()) {
    const size_t nul = rest.find('\0');
    ASSERT_NE(nul, std::string_view::npos);
    names.emplace_back(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
  }
  EXPECT_EQ(names, options);
}

TEST_F(PgSessionTest, Protocol32GetsNegotiateProtocolVersion) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(
      StartupPacket({{"user", "agent"}, {"database", "orders"}}, pg::kProtocolVersion32),
      kStartMs);
  const std::vector<Msg> msgs = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(msgs), "vR");
  ExpectNegotiate(msgs[0], 0, {});
  EXPECT_EQ(AuthCode(msgs[1]), pg::kAuthCleartextPassword);
}

TEST_F(PgSessionTest, PqOptionsAreListedInNegotiateProtocolVersion) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(StartupPacket({{"user", "agent"},
                                        {"_pq_.x", "1"},
                                        {"database", "orders"},
                                        {"_pq_.protocol_managed_params", "on"}}),
                         kStartMs);
  const std::vector<Msg> msgs = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(msgs), "vR");
  ExpectNegotiate(msgs[0], 0, {"_pq_.x", "_pq_.protocol_managed_params"});
  // And the options are not passed to the backend.
  session->OnClientBytes(Password(Mint()), kStartMs);
  ASSERT_TRUE(session->TakeConnectRequest());
  session->OnBackendConnected(0, "", kStartMs);
  const Bytes startup = Drain(session->to_backend());
  EXPECT_FALSE(Contains(startup, "_pq_"));
}

TEST_F(PgSessionTest, Protocol30WithoutOptionsGetsNoNegotiate) {
  std::unique_ptr<PgSession> session = NewSession();
  session->OnClientBytes(Startup("orders"), kStartMs);
  EXPECT_EQ(Types(Frames(Drain(session->to_client()))), "R");
}

// ---------------------------------------------------------------------------------------------
// Mutated peer bytes in every phase: never a crash or a failed check, and the client only ever
// gets whole messages (the header's invariant on to_client()).

TEST_F(PgSessionTest, MutatedBytesInEveryPhase) {
  uint64_t rng = 0x2545f4914f6cdd1dull;
  const auto next = [&rng] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  const auto mutate = [&next](Bytes bytes) {
    const int flips = 1 + static_cast<int>(next() % 3);
    for (int i = 0; i < flips && !bytes.empty(); ++i) {
      bytes[next() % bytes.size()] = std::byte(next());
    }
    if (next() % 4 == 0 && !bytes.empty()) {
      bytes.resize(next() % bytes.size());
    }
    return bytes;
  };
  const std::string token = Mint();
  const Bytes forwarded_down =
      Concat({DataRow({"a", "bc"}), CommandComplete("SELECT 1"), Ready('I')});
  const Bytes forwarded_up = Concat({Query("select 1"), Tagged('S', std::string_view())});
  for (int round = 0; round < 400; ++round) {
    SCOPED_TRACE(round);
    std::unique_ptr<PgSession> session = NewSession();
    Bytes out;
    switch (round % 4) {
      case 0:
        session->OnClientBytes(mutate(Startup("orders")), kStartMs);
        break;
      case 1:
        session->OnClientBytes(Startup("orders"), kStartMs);
        out = Drain(session->to_client());
        session->OnClientBytes(mutate(Password(token)), kStartMs);
        break;
      case 2:
        ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", token));
        ASSERT_TRUE(session->TakeConnectRequest());
        session->OnBackendConnected(0, "", kStartMs);
        (void)Drain(session->to_backend());
        session->OnBackendBytes(mutate(TrustStartup()), kStartMs);
        break;
      case 3: {
        ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
        const Bytes up = mutate(forwarded_up);
        EXPECT_LE(session->InspectUp(up, kStartMs), up.size());
        const Bytes down = mutate(forwarded_down);
        EXPECT_LE(session->InspectDown(down, kStartMs), down.size());
        break;
      }
    }
    session->OnTimer(kStartMs + 1);
    Append(out, Drain(session->to_client()));
    if (!out.empty() && out[0] != std::byte{'N'}) {
      (void)Frames(out);  // fails the test on a partial message
    }
    (void)Drain(session->to_backend());
  }
}

// ---------------------------------------------------------------------------------------------
// Reuse and forwarding checks.

TEST_F(PgSessionTest, StartClearsAPreviousUse) {
  PgSession session(env_, nullptr, &stats_, 0);
  session.Start(kInsecureListener, 1, "a", kStartMs);
  session.OnClientBytes(Startup("no_such_db"), kStartMs);
  ASSERT_EQ(session.end(), EndReason::kAccessDenied);
  session.Start(kInsecureListener, 2, "b", kStartMs);
  EXPECT_EQ(session.end(), EndReason::kNone);
  EXPECT_TRUE(session.to_client().empty());
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(session, "orders"));
  EXPECT_EQ(cancels_->size(), 1u);
  session.Start(kInsecureListener, 3, "c", kStartMs);
  EXPECT_EQ(cancels_->size(), 0u);  // the old key went with the old session
  EXPECT_FALSE(session.forwarding());
}

TEST_F(PgSessionTest, InvalidClientFrameWhileForwarding) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  const Bytes bad = Tagged('!', std::string_view("x"));
  const Bytes up = Concat({Query("select 1"), bad});
  EXPECT_EQ(session->InspectUp(up, kStartMs), 0u);
  EXPECT_EQ(session->end(), EndReason::kProtocolError);
  EXPECT_EQ(OnlyError(Drain(session->to_client())).code, "08P01");
}

TEST_F(PgSessionTest, InvalidBackendFrameWhileForwarding) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  const Bytes row = DataRow({"1"});
  const Bytes down = Concat({row, Tagged('!', std::string_view("x"))});
  EXPECT_EQ(session->InspectDown(down, kStartMs), row.size());
  EXPECT_EQ(session->end(), EndReason::kBackendProtocol);
  EXPECT_TRUE(session->to_client().empty());
}

// ---------------------------------------------------------------------------------------------
// Guardrails: refused statements are replaced by a marker the database fails on, and its error
// by the refusal.

Bytes BindUnnamed() {
  Bytes body;
  body.push_back(std::byte{0});  // portal
  body.push_back(std::byte{0});  // statement
  Put16(body, 0);
  Put16(body, 0);
  Put16(body, 0);
  return Tagged('B', body);
}
Bytes ExecuteUnnamed() {
  Bytes body;
  body.push_back(std::byte{0});
  Put32(body, 0);
  return Tagged('E', body);
}
Bytes FunctionCallMessage(uint32_t oid) {
  Bytes body;
  Put32(body, oid);
  Put16(body, 0);
  Put16(body, 0);
  Put16(body, 0);
  return Tagged('F', body);
}
// The server's answer to a marker statement: a syntax error naming it.
Bytes SyntaxErrorAt(std::string_view token) {
  return Encoded([&](std::span<std::byte> out) {
    pg::ErrorFields fields;
    fields.severity = "ERROR";
    fields.sqlstate = "42601";
    const std::string message = "syntax error at or near \"" + std::string(token) + "\"";
    fields.message = message;
    return pg::EncodeErrorResponse(fields, out);
  });
}
// A refusal as the client gets it: the ErrorResponse, then ReadyForQuery.
ErrorInfo OnlyErrorOf(const std::vector<Msg>& msgs) {
  EXPECT_EQ(Types(msgs), "EZ");
  if (msgs.empty() || msgs[0].type != 'E') {
    return {};
  }
  return DecodeError(msgs[0]);
}
// The text of a Query or the statement of a Parse.
std::string SqlOf(const Msg& msg) {
  const std::string_view body = AsText(msg.body);
  if (msg.type == 'Q') {
    return std::string(body.substr(0, body.find('\0')));
  }
  const size_t name_end = body.find('\0');
  const std::string_view rest = body.substr(name_end + 1);
  return std::string(rest.substr(0, rest.find('\0')));
}

TEST_F(PgSessionTest, RefusedQueryIsReplacedAndItsErrorRewritten) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  const Bytes first = Query("select 1");
  const Bytes up = Concat({first, Query("drop table orders"), Query("select 2")});
  // The allowed prefix goes on from the buffer; the marker and the rest are the session's.
  EXPECT_EQ(session->InspectUp(up, kStartMs), first.size());
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "QQ");
  const std::string marker = SqlOf(sent[0]);
  EXPECT_TRUE(absl::StartsWith(marker, "jitgate_blocked_")) << marker;
  EXPECT_EQ(SqlOf(sent[1]), "select 2");
  EXPECT_EQ(stats_.statements_refused, 1u);

  const Bytes answer1 = Concat({DataRow({"1"}), CommandComplete("SELECT 1"), Ready('I')});
  const Bytes down = Concat({answer1, SyntaxErrorAt(marker), Ready('I'), DataRow({"2"}),
                             CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_EQ(session->InspectDown(down, kStartMs), answer1.size());
  const std::vector<Msg> rest = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(rest), "EZDCZ");
  const ErrorInfo error = DecodeError(rest[0]);
  EXPECT_EQ(error.severity, "ERROR");
  EXPECT_EQ(error.code, "42501");
  EXPECT_THAT(error.message, ::testing::StartsWith("jitgate: destructive statements"));
  EXPECT_THAT(error.detail, ::testing::HasSubstr("\"statements.default[destructive]\""));
  EXPECT_THAT(error.detail, ::testing::HasSubstr("policy \"agents\""));
  EXPECT_EQ(session->end(), EndReason::kNone);
  // Back to zero-copy once the session's own bytes are out.
  const Bytes next = Query("select 3");
  EXPECT_EQ(session->InspectUp(next, kStartMs), next.size());
}

TEST_F(PgSessionTest, OneRefusedStatementRefusesTheWholeString) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  const Bytes up = Query("insert into t values (1); /* x */ DROP/**/TABLE t; select 1");
  EXPECT_EQ(session->InspectUp(up, kStartMs), 0u);
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "Q");
  const std::string marker = SqlOf(sent[0]);
  EXPECT_TRUE(absl::StartsWith(marker, "jitgate_blocked_"));
  EXPECT_EQ(session->InspectDown(Concat({SyntaxErrorAt(marker), Ready('I')}), kStartMs), 0u);
  const std::vector<Msg> back = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(back), "EZ");
  EXPECT_THAT(DecodeError(back[0]).detail, ::testing::HasSubstr("statement 2 of 3"));
}

TEST_F(PgSessionTest, TableRuleRefusesWithItsNameAndMessage) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  EXPECT_EQ(session->InspectUp(Query("update payments.ledger set x = 1 where id = 2"), kStartMs),
            0u);
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "Q");
  (void)session->InspectDown(Concat({SyntaxErrorAt(SqlOf(sent[0])), Ready('I')}), kStartMs);
  const std::vector<Msg> back = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(back), "EZ");
  const ErrorInfo error = DecodeError(back[0]);
  EXPECT_EQ(error.message, "jitgate: payments are read-only for agents");
  EXPECT_THAT(error.detail, ::testing::HasSubstr("\"no-payment-writes\""));
  // Reads of the same schema pass.
  const Bytes read = Query("select * from payments.ledger");
  EXPECT_EQ(session->InspectUp(read, kStartMs), read.size());
}

TEST_F(PgSessionTest, RefusedParseSkipsItsBatchUntilSync) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  const Bytes allowed = Concat({Parse("", "select 1"), BindUnnamed(), ExecuteUnnamed(), Sync()});
  const Bytes up = Concat({allowed, Parse("s1", "delete from t"), BindUnnamed(), ExecuteUnnamed(),
                           Query("select 'dropped with the batch'"), Sync(),
                           Parse("", "select 2"), BindUnnamed(), ExecuteUnnamed(), Sync()});
  EXPECT_EQ(session->InspectUp(up, kStartMs), allowed.size());
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "PSPBES");
  EXPECT_EQ(AsText(sent[0].body).substr(0, 3), std::string_view("s1\0", 3));  // same name
  const std::string marker = SqlOf(sent[0]);
  EXPECT_TRUE(absl::StartsWith(marker, "jitgate_blocked_"));
  EXPECT_EQ(SqlOf(sent[2]), "select 2");
  // The server fails the marker Parse and skips to Sync.
  (void)session->InspectDown(Concat({Tagged('1', std::string_view()), Tagged('2', std::string_view()),
                                     DataRow({"1"}), CommandComplete("SELECT 1"), Ready('I'),
                                     SyntaxErrorAt(marker), Ready('I')}),
                             kStartMs);
  const std::vector<Msg> back = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(back), "EZ");
  EXPECT_EQ(DecodeError(back[0]).code, "42501");
}

TEST_F(PgSessionTest, AMarkerTheServerSkippedIsPassedOver) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  // Batch 1: Execute fails on the server, so the refused Parse behind it is never parsed.
  const Bytes allowed = Concat({Parse("", "select 1/0"), BindUnnamed(), ExecuteUnnamed()});
  const Bytes up = Concat({allowed, Parse("", "truncate t"), Sync(), Query("drop table t")});
  EXPECT_EQ(session->InspectUp(up, kStartMs), allowed.size());
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "PSQ");
  const std::string second = SqlOf(sent[2]);
  const Bytes division = Encoded([](std::span<std::byte> out) {
    pg::ErrorFields fields;
    fields.sqlstate = "22012";
    fields.message = "division by zero";
    return pg::EncodeErrorResponse(fields, out);
  });
  const Bytes first_batch = Concat({Tagged('1', std::string_view()),
                                    Tagged('2', std::string_view()), division, Ready('I')});
  // The server's own error goes on untouched, from the buffer; the refusal replaces the marker's.
  EXPECT_EQ(session->InspectDown(Concat({first_batch, SyntaxErrorAt(second), Ready('I')}),
                                 kStartMs),
            first_batch.size());
  const std::vector<Msg> back = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(back), "EZ");
  const ErrorInfo refusal = DecodeError(back[0]);
  EXPECT_EQ(refusal.code, "42501");
  EXPECT_THAT(refusal.detail, ::testing::HasSubstr("(DROP, class destructive)"));
}

TEST_F(PgSessionTest, FunctionCallIsJudgedAsUnknown) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  EXPECT_EQ(session->InspectUp(FunctionCallMessage(764), kStartMs), 0u);  // lo_import
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "Q");
  (void)session->InspectDown(Concat({SyntaxErrorAt(SqlOf(sent[0])), Ready('I')}), kStartMs);
  const ErrorInfo error = OnlyErrorOf(Frames(Drain(session->to_client())));
  EXPECT_THAT(error.detail, ::testing::HasSubstr("FUNCTION CALL, class unknown"));
}

TEST_F(PgSessionTest, AStatementSplitAcrossChunksIsHeldUntilJudged) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  const Bytes drop = Query("drop table orders");
  for (size_t cut = 1; cut < drop.size(); ++cut) {
    EXPECT_EQ(session->InspectUp(std::span(drop).first(cut), kStartMs), 0u) << cut;
    EXPECT_TRUE(session->to_backend().empty()) << cut;  // nothing of it went on
    EXPECT_EQ(session->InspectUp(std::span(drop).subspan(cut), kStartMs), 0u) << cut;
    const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
    ASSERT_EQ(Types(sent), "Q") << cut;
    EXPECT_TRUE(absl::StartsWith(SqlOf(sent[0]), "jitgate_blocked_")) << cut;
  }
  // An allowed statement split the same way goes on whole, copied.
  const Bytes select = Query("select 1");
  EXPECT_EQ(session->InspectUp(std::span(select).first(3), kStartMs), 0u);
  EXPECT_EQ(session->InspectUp(std::span(select).subspan(3), kStartMs), 0u);
  EXPECT_EQ(Drain(session->to_backend()), select);
}

TEST_F(PgSessionTest, LexerFollowsStandardConformingStrings) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  // With standard_conforming_strings off, 'a\'; drop table t; --' is one string literal.
  const Bytes tricky = Query("select 'a\\'; drop table t; --'");
  EXPECT_EQ(session->InspectUp(tricky, kStartMs), 0u);  // on: a DROP follows the string
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "Q");
  const Bytes off = Concat({SyntaxErrorAt(SqlOf(sent[0])), Ready('I'),
                            ParamStatus("standard_conforming_strings", "off")});
  EXPECT_EQ(session->InspectDown(off, kStartMs), 0u);
  (void)Drain(session->to_client());
  EXPECT_EQ(session->InspectUp(tricky, kStartMs), tricky.size());  // off: one harmless SELECT
  // While a statement is in flight (it might change the setting), both readings must pass.
  const Bytes more = Query("select 2");
  EXPECT_EQ(session->InspectUp(more, kStartMs), more.size());
  EXPECT_EQ(session->InspectUp(tricky, kStartMs), 0u);
}

TEST_F(PgSessionTest, AReloadChangesTheNextDecision) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  const Bytes drop = Query("drop table t");
  EXPECT_EQ(session->InspectUp(drop, kStartMs), 0u);
  (void)Drain(session->to_backend());
  config::Config relaxed = *config_;
  relaxed.policies[0].statements.class_actions[static_cast<size_t>(
      parsers::sql::StatementClass::kDestructive)] = config::StatementAction::kAllow;
  ASSERT_NO_FATAL_FAILURE(PublishPolicies(relaxed, 2));
  EXPECT_EQ(session->InspectUp(drop, kStartMs), drop.size());
  // A reload that removes the session's policy refuses everything it sends.
  config::Config removed = *config_;
  removed.policies[0].name = "renamed";
  ASSERT_NO_FATAL_FAILURE(PublishPolicies(removed, 3));
  const Bytes select = Query("select 1");
  EXPECT_EQ(session->InspectUp(select, kStartMs), 0u);
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "Q");
  (void)session->InspectDown(Concat({SyntaxErrorAt(SqlOf(sent[0])), Ready('I')}), kStartMs);
  const ErrorInfo error = OnlyErrorOf(Frames(Drain(session->to_client())));
  EXPECT_THAT(error.detail, ::testing::HasSubstr("\"policy.removed\""));
}

TEST_F(PgSessionTest, UnqualifiedNamesAfterASearchPathChangeMustPassInEverySchema) {
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session, "orders"));
  const Bytes insert = Query("insert into ledger values (1)");
  EXPECT_EQ(session->InspectUp(insert, kStartMs), insert.size());  // default path: public
  // After SET search_path, "ledger" could be payments.ledger: the payments rule applies.
  const Bytes set = Query("SET search_path = payments, public");
  EXPECT_EQ(session->InspectUp(set, kStartMs), set.size());
  EXPECT_EQ(session->InspectUp(insert, kStartMs), 0u);
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "Q");
  (void)session->InspectDown(Concat({Ready('I'), Ready('I'), Ready('I'),
                                     SyntaxErrorAt(SqlOf(sent[0])), Ready('I')}),
                             kStartMs);
  const std::vector<Msg> back = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(back), "EZ");
  EXPECT_THAT(DecodeError(back[0]).detail, ::testing::HasSubstr("\"no-payment-writes\""));
  // Qualified names are still exact; reads are not restricted by the rule.
  const Bytes qualified = Query("insert into public.ledger values (1); select * from ledger");
  EXPECT_EQ(session->InspectUp(qualified, kStartMs), qualified.size());
  // One string: the SET comes first, so the INSERT after it is judged with the path unknown.
  std::unique_ptr<PgSession> other = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*other, "orders"));
  EXPECT_EQ(other->InspectUp(Query("set search_path to payments; insert into ledger values (2)"),
                             kStartMs),
            0u);
  std::unique_ptr<PgSession> third = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*third, "orders"));
  const Bytes set_config = Query("select set_config('search_path', 'payments', false)");
  EXPECT_EQ(third->InspectUp(set_config, kStartMs), set_config.size());
  EXPECT_EQ(third->InspectUp(insert, kStartMs), 0u);
}

}  // namespace
}  // namespace jitgate::session
