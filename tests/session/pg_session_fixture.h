// tests/session/pg_session_fixture.h: what pg_session_test and pg_session_mask_test share to
// play both peers of a PgSession with byte vectors.
//
// Byte helpers, the client and backend messages both tests send, the reading of what the session
// sent (Frames, Types, DecodeError), the EC key and the tokens minted with it, and
// PgSessionFixture: the environment (config, policy table and published snapshot, in-memory grant
// store, a key set holding SigningKey() as kKid, validator, cancel registry) built from a config
// JSON each test file writes. Everything here is inline (one copy per test binary).
#ifndef JITGATE_TESTS_SESSION_PG_SESSION_FIXTURE_H_
#define JITGATE_TESTS_SESSION_PG_SESSION_FIXTURE_H_

#include <openssl/evp.h>
#include <time.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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
#include "src/session/pg_session.h"

namespace jitgate::session {

// gtest prints end reasons by name (found by ADL, so in the session namespace).
inline void PrintTo(EndReason reason, std::ostream* os) { *os << EndReasonName(reason); }

namespace testing {

namespace pg = parsers::pg;
using Bytes = std::vector<std::byte>;

inline constexpr char kIssuer[] = "https://issuer.jitgate.test/v2.0";
inline constexpr char kAudience[] = "api://jitgate";
inline constexpr char kKid[] = "k1";
inline constexpr char kSubject[] = "5a1b2c3d-0000-4000-8000-00000000a9e7";
inline constexpr int64_t kStartMs = 1'000'000;  // the shard's monotonic clock, arbitrary origin
inline constexpr uint32_t kBackendPid = 4242;
inline constexpr std::array<std::byte, 4> kRealKey = {std::byte{0xde}, std::byte{0xad},
                                                      std::byte{0xbe}, std::byte{0xef}};

// ---------------------------------------------------------------------------------------------
// Bytes.

inline std::span<const std::byte> AsBytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}
inline std::string_view AsText(std::span<const std::byte> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
inline void Put32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(std::byte(v >> shift));
  }
}
inline void Put16(Bytes& out, uint16_t v) {
  out.push_back(std::byte(v >> 8));
  out.push_back(std::byte(v));
}
inline uint32_t Load32(std::span<const std::byte> p) {
  return (std::to_integer<uint32_t>(p[0]) << 24) | (std::to_integer<uint32_t>(p[1]) << 16) |
         (std::to_integer<uint32_t>(p[2]) << 8) | std::to_integer<uint32_t>(p[3]);
}
inline void Append(Bytes& out, std::span<const std::byte> more) {
  out.insert(out.end(), more.begin(), more.end());
}
inline void PutCString(Bytes& out, std::string_view text) {
  Append(out, AsBytes(text));
  out.push_back(std::byte{0});
}
inline Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) {
    Append(out, part);
  }
  return out;
}
inline bool Contains(std::span<const std::byte> haystack, std::string_view needle) {
  return AsText(haystack).find(needle) != std::string_view::npos;
}

inline Bytes Tagged(char type, std::span<const std::byte> body) {
  Bytes out;
  out.push_back(std::byte(type));
  Put32(out, static_cast<uint32_t>(body.size() + 4));
  Append(out, body);
  return out;
}
inline Bytes Tagged(char type, std::string_view body) { return Tagged(type, AsBytes(body)); }

// Everything a queue holds, consumed.
inline Bytes Drain(ByteQueue& queue) {
  Bytes out;
  for (;;) {
    const std::span<const std::byte> front = queue.Front();
    if (front.empty()) {
      break;
    }
    Append(out, front);
    queue.Consume(front.size());
  }
  EXPECT_TRUE(queue.empty());
  return out;
}

// ---- client messages ---------------------------------------------------------------------------

using Params = std::vector<std::pair<std::string, std::string>>;

inline Bytes StartupPacket(const Params& params, uint32_t version = pg::kProtocolVersion30) {
  Bytes body;
  Put32(body, version);
  for (const auto& [name, value] : params) {
    PutCString(body, name);
    PutCString(body, value);
  }
  body.push_back(std::byte{0});
  Bytes out;
  Put32(out, static_cast<uint32_t>(body.size() + 4));
  Append(out, body);
  return out;
}
inline Bytes Startup(std::string_view database) {
  return StartupPacket({{"user", "agent"}, {"database", std::string(database)}});
}
inline Bytes Password(std::string_view token) {
  Bytes body;
  PutCString(body, token);
  return Tagged('p', body);
}
inline Bytes Query(std::string_view sql) {
  Bytes body;
  PutCString(body, sql);
  return Tagged('Q', body);
}
inline Bytes Parse(std::string_view name, std::string_view sql) {
  Bytes body;
  PutCString(body, name);
  PutCString(body, sql);
  Put16(body, 0);
  return Tagged('P', body);
}
inline Bytes Sync() { return Tagged('S', std::string_view()); }

// ---- backend messages --------------------------------------------------------------------------

template <typename Encode>
Bytes Encoded(Encode encode) {
  Bytes out(4096);
  const size_t size = encode(std::span(out));
  EXPECT_GT(size, 0u);
  out.resize(size);
  return out;
}
inline Bytes AuthOk() {
  return Encoded([](std::span<std::byte> out) { return pg::EncodeAuthenticationOk(out); });
}
inline Bytes ParamStatus(std::string_view name, std::string_view value) {
  return Encoded(
      [&](std::span<std::byte> out) { return pg::EncodeParameterStatus(name, value, out); });
}
inline Bytes KeyData(uint32_t pid, std::span<const std::byte> key) {
  return Encoded(
      [&](std::span<std::byte> out) { return pg::EncodeBackendKeyData(pid, key, out); });
}
inline Bytes Ready(char status = 'I') {
  return Encoded([&](std::span<std::byte> out) { return pg::EncodeReadyForQuery(status, out); });
}
inline Bytes CommandComplete(std::string_view tag) {
  return Encoded([&](std::span<std::byte> out) { return pg::EncodeCommandComplete(tag, out); });
}

// The trust backend's whole start-up answer.
inline Bytes TrustStartup(uint32_t pid = kBackendPid) {
  return Concat({AuthOk(), ParamStatus("server_version", "16.4"),
                 ParamStatus("client_encoding", "UTF8"), KeyData(pid, kRealKey), Ready('I')});
}

// ---- reading what the session sent -------------------------------------------------------------

struct Msg {
  char type = 0;
  Bytes body;
};

// Splits tagged messages; fails the test on trailing bytes.
inline std::vector<Msg> Frames(std::span<const std::byte> bytes) {
  std::vector<Msg> out;
  size_t at = 0;
  while (bytes.size() - at >= 5) {
    const uint32_t length = Load32(bytes.subspan(at + 1));
    if (length < 4 || bytes.size() - at - 1 < length) {
      break;
    }
    Msg msg;
    msg.type = static_cast<char>(bytes[at]);
    const auto body = bytes.subspan(at + 5, length - 4);
    msg.body.assign(body.begin(), body.end());
    out.push_back(std::move(msg));
    at += 1 + length;
  }
  EXPECT_EQ(at, bytes.size()) << "trailing bytes after " << out.size() << " messages";
  return out;
}

inline std::string Types(const std::vector<Msg>& msgs) {
  std::string out;
  for (const Msg& msg : msgs) {
    out.push_back(msg.type);
  }
  return out;
}
inline std::string Types(std::span<const std::byte> bytes) { return Types(Frames(bytes)); }

struct ErrorInfo {
  std::string severity;
  std::string code;
  std::string message;
  std::string detail;
};

// The fields of an ErrorResponse.
inline ErrorInfo DecodeError(const Msg& msg) {
  ErrorInfo info;
  EXPECT_EQ(msg.type, 'E');
  pg::ErrorResponse error;
  EXPECT_EQ(pg::DecodeErrorResponse(msg.body, error), pg::InvalidReason::kNone);
  info.severity = error.Find(pg::kFieldSeverity);
  info.code = error.Find(pg::kFieldCode);
  info.message = error.Find(pg::kFieldMessage);
  info.detail = error.Find(pg::kFieldDetail);
  return info;
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens.

// The EC key the environment's key set holds as kKid.
inline EVP_PKEY* SigningKey() {
  static EVP_PKEY* const key = [] {
    absl::StatusOr<auth::EvpPkeyPtr> made = auth::GenerateEcP256Key();
    JG_CHECK(made.ok());
    return made->release();
  }();
  return key;
}

inline int64_t WallSeconds() { return static_cast<int64_t>(time(nullptr)); }
inline int64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

struct TokenSpec {
  EVP_PKEY* key = nullptr;  // null: SigningKey()
  std::string kid = kKid;
  std::string subject = kSubject;
  std::string role = "db.read";
  int64_t lifetime_s = 3600;
};

inline std::string Mint(const TokenSpec& spec = {}) {
  const int64_t now = WallSeconds();
  const std::string header =
      absl::StrCat(R"({"alg":"ES256","typ":"JWT","kid":")", spec.kid, R"("})");
  const std::string payload = absl::StrCat(
      R"({"ver":"2.0","iss":")", kIssuer, R"(","aud":")", kAudience,
      R"(","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","oid":")", spec.subject, R"(","sub":")",
      spec.subject, R"(","azp":"11112222-3333-4444-5555-666677778888","idtyp":"app",)",
      R"("roles":[")", spec.role, R"("],"uti":"AbCdEf","iat":)", now - 60, R"(,"nbf":)", now - 60,
      R"(,"exp":)", now + spec.lifetime_s, "}");
  absl::StatusOr<std::string> token =
      auth::SignJwsJson(header, payload, spec.key != nullptr ? spec.key : SigningKey());
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : std::string();
}

// ---------------------------------------------------------------------------------------------
// The environment.

class PgSessionFixture : public ::testing::Test {
 protected:
  // Parses `json` into config_ (its errors name `file_name`).
  void ParseConfig(std::string_view json, std::string_view file_name) {
    absl::StatusOr<config::Config> parsed = config::Parse(json, file_name);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    config_ = std::make_unique<config::Config>(*std::move(parsed));
  }

  // From config_: the policy table and its published snapshot (generation 1), the grant store,
  // the key set (SigningKey() as kKid), the validator, the cancel registry, and env_ pointing at
  // them, with no TLS context for any listener or resource.
  void BuildEnvironment() {
    absl::StatusOr<std::shared_ptr<const policy::Table>> table = policy::Table::Compile(*config_);
    ASSERT_TRUE(table.ok()) << table.status();
    policy_ = *std::move(table);
    ASSERT_NO_FATAL_FAILURE(PublishPolicies(*config_, 1));
    absl::StatusOr<std::unique_ptr<grants::Store>> store =
        grants::Store::Open(config_->grants, WallMs());
    ASSERT_TRUE(store.ok()) << store.status();
    grants_ = *std::move(store);

    std::vector<auth::Key> keys(1);
    keys[0].kid = kKid;
    keys[0].family = auth::KeyFamily::kEcP256;
    ASSERT_EQ(EVP_PKEY_up_ref(SigningKey()), 1);
    keys[0].pkey.reset(SigningKey());
    absl::StatusOr<std::shared_ptr<const auth::KeySet>> key_set =
        auth::KeySet::FromKeys(std::move(keys));
    ASSERT_TRUE(key_set.ok()) << key_set.status();
    keys_ = auth::KeyProvider::FromKeySet(*std::move(key_set));
    auth::ValidatorOptions options;
    options.issuers = {kIssuer};
    options.audiences = {kAudience};
    validator_ = std::make_unique<auth::Validator>(std::move(options), keys_.get());
    cancels_ = std::make_unique<CancelRegistry>(config_->limits.cancel_keys_max);

    env_.config = config_.get();
    env_.policy = policy_.get();
    env_.policies = &policies_;
    env_.grants = grants_.get();
    env_.validator = validator_.get();
    env_.keys = keys_.get();
    env_.cancels = cancels_.get();
    env_.listener_tls = {nullptr};
    env_.resource_tls.assign(config_->resources.size(), nullptr);
  }

  // Compiles `config`'s policies and publishes them as generation `generation`.
  void PublishPolicies(const config::Config& config, uint64_t generation) {
    auto snapshot = std::make_shared<PolicySnapshot>();
    snapshot->config = std::make_shared<const config::Config>(config);
    absl::StatusOr<std::shared_ptr<const policy::Table>> table = policy::Table::Compile(config);
    ASSERT_TRUE(table.ok()) << table.status();
    snapshot->table = *std::move(table);
    absl::StatusOr<std::shared_ptr<const policy::RulesTable>> rules =
        policy::RulesTable::Compile(config);
    ASSERT_TRUE(rules.ok()) << rules.status();
    snapshot->rules = *std::move(rules);
    snapshot->generation = generation;
    policies_.Publish(std::move(snapshot));
  }

  // A started session on `listener` (0: the first listener of the config).
  std::unique_ptr<PgSession> NewSession(uint32_t listener = 0,
                                        auth::TokenCache* cache = nullptr) {
    auto session = std::make_unique<PgSession>(env_, cache, &stats_, 0);
    session->Start(listener, ++session_count_, "10.0.0.9:50000", kStartMs);
    return session;
  }

  std::unique_ptr<config::Config> config_;
  std::shared_ptr<const policy::Table> policy_;
  PolicyPublisher policies_;
  std::unique_ptr<grants::Store> grants_;
  std::unique_ptr<auth::KeyProvider> keys_;
  std::unique_ptr<auth::Validator> validator_;
  std::unique_ptr<CancelRegistry> cancels_;
  GatewayEnv env_;
  SessionStats stats_;
  uint64_t session_count_ = 0;
};

}  // namespace testing
}  // namespace jitgate::session

#endif  // JITGATE_TESTS_SESSION_PG_SESSION_FIXTURE_H_
