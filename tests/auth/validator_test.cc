// tests/auth/validator_test.cc: every rule of the Validator (src/auth/validator.h), with RSA and
// EC keys generated in the test. Tokens are built as JSON objects and signed with the test keys,
// then broken one defect at a time.
#include "src/auth/validator.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "src/auth/jwt.h"
#include "src/auth/mint.h"
#include "tests/auth/test_keys.h"

namespace jitgate::auth {
namespace {

using testing::EcKey;
using testing::Header;
using testing::kAudience;
using testing::kEcKid;
using testing::kIssuerV1;
using testing::kIssuerV2;
using testing::kNow;
using testing::kOtherTenant;
using testing::kRsaKid;
using testing::kTenant;
using testing::OtherRsaKey;
using testing::Payload;
using testing::RsaKey;
using testing::Sign;

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class ValidatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::shared_ptr<const KeySet>> keys = KeySet::Parse(testing::TestJwks());
    ASSERT_TRUE(keys.ok()) << keys.status();
    provider_ = KeyProvider::FromKeySet(*keys).release();
  }
  static void TearDownTestSuite() {
    delete provider_;
    provider_ = nullptr;
  }

  ValidatorOptions Options() const {
    ValidatorOptions options;
    options.issuers = {kIssuerV2};
    options.audiences = {kAudience};
    options.tenants = {kTenant};
    return options;
  }

  Verdict Check(std::string_view token, const ValidatorOptions& options) const {
    EXPECT_TRUE(CheckValidatorOptions(options).ok());
    const Validator validator(options, provider_);
    Verdict verdict = validator.Validate(token, kNow);
    EXPECT_EQ(verdict.identity != nullptr, verdict.error == TokenError::kNone);
    // Messages never carry the token or its signature.
    const size_t dot = token.rfind('.');
    if (token.size() > 40 && dot != std::string_view::npos && token.size() - dot > 20) {
      EXPECT_EQ(verdict.message.find(token.substr(dot + 1)), std::string::npos);
    }
    return verdict;
  }
  Verdict Check(std::string_view token) const { return Check(token, Options()); }

  Verdict CheckPayload(const picojson::object& payload) const {
    return Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()));
  }

  static KeyProvider* provider_;
};

KeyProvider* ValidatorTest::provider_ = nullptr;

TEST_F(ValidatorTest, AcceptsRs256AppOnlyToken) {
  const Verdict verdict = Check(Sign(Header("RS256", kRsaKid), Payload(), RsaKey()));
  ASSERT_EQ(verdict.error, TokenError::kNone) << verdict.message;
  const Identity& id = *verdict.identity;
  EXPECT_EQ(id.subject, "5a1b2c3d-0000-4000-8000-00000000a9e7");
  EXPECT_EQ(id.tenant, kTenant);
  EXPECT_EQ(id.app_id, "11112222-3333-4444-5555-666677778888");
  EXPECT_EQ(id.issuer, kIssuerV2);
  EXPECT_EQ(id.token_id, "AbCdEf123");
  EXPECT_TRUE(id.app_only);
  EXPECT_EQ(id.roles, std::vector<std::string>{"db.read"});
  EXPECT_TRUE(id.scopes.empty());
  EXPECT_EQ(id.expires_at_s, kNow + 3600);
  EXPECT_EQ(id.not_before_s, kNow - 60);
  EXPECT_EQ(id.issued_at_s, kNow - 60);
}

TEST_F(ValidatorTest, AcceptsEs256Token) {
  const Verdict verdict = Check(Sign(Header("ES256", kEcKid), Payload(), EcKey()));
  ASSERT_EQ(verdict.error, TokenError::kNone) << verdict.message;
}

TEST_F(ValidatorTest, AcceptsDelegatedTokenWithScopesAndGroups) {
  picojson::object payload = Payload();
  payload.erase("roles");
  payload.erase("idtyp");
  payload["scp"] = picojson::value("Db.Read  Db.Write");
  payload["groups"] =
      picojson::value(picojson::array{picojson::value("g1"), picojson::value("g2")});
  payload["jti"] = picojson::value("jti-1");
  payload.erase("uti");
  const Verdict verdict = CheckPayload(payload);
  ASSERT_EQ(verdict.error, TokenError::kNone) << verdict.message;
  EXPECT_FALSE(verdict.identity->app_only);
  EXPECT_EQ(verdict.identity->scopes, (std::vector<std::string>{"Db.Read", "Db.Write"}));
  EXPECT_EQ(verdict.identity->groups, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(verdict.identity->token_id, "jti-1");
}

TEST_F(ValidatorTest, AppOnlyTokenWithoutOidIsNamedByItsClient) {
  picojson::object payload = Payload();
  payload.erase("oid");
  payload.erase("idtyp");
  payload.erase("azp");
  payload["appid"] = picojson::value("v1-client-id");
  const Verdict verdict = CheckPayload(payload);
  ASSERT_EQ(verdict.error, TokenError::kNone) << verdict.message;
  EXPECT_EQ(verdict.identity->subject, "v1-client-id");
  EXPECT_EQ(verdict.identity->app_id, "v1-client-id");
  EXPECT_TRUE(verdict.identity->app_only);  // roles without scp
  payload.erase("appid");
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kMissingClaim);
}

TEST_F(ValidatorTest, ExpiryHonoursTheSkew) {
  picojson::object payload = Payload();
  payload["exp"] = picojson::value(kNow - 72);
  Verdict verdict = CheckPayload(payload);
  EXPECT_EQ(verdict.error, TokenError::kExpired);
  EXPECT_EQ(verdict.message, "token expired 72 s ago");
  payload["exp"] = picojson::value(kNow - 60);  // exp + skew == now: expired
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kExpired);
  payload["exp"] = picojson::value(kNow - 59);
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kNone);
  payload["exp"] = picojson::value(static_cast<int64_t>(INT64_MIN));
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kExpired);
  payload["exp"] = picojson::value(static_cast<int64_t>(INT64_MAX));
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kNone);
  payload["exp"] = picojson::value("tomorrow");
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kMalformed);
  payload.erase("exp");
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kMissingClaim);
}

TEST_F(ValidatorTest, NotYetValid) {
  picojson::object payload = Payload();
  payload["nbf"] = picojson::value(kNow + 61);
  const Verdict verdict = CheckPayload(payload);
  EXPECT_EQ(verdict.error, TokenError::kNotYetValid);
  EXPECT_NE(verdict.message.find("61 s"), std::string::npos) << verdict.message;
  payload["nbf"] = picojson::value(kNow + 60);
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kNone);
  payload["nbf"] = picojson::value(static_cast<double>(kNow) + 0.5);
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kNone);
}

TEST_F(ValidatorTest, IssuedInTheFuture) {
  picojson::object payload = Payload();
  payload["iat"] = picojson::value(kNow + 600);
  payload["nbf"] = picojson::value(kNow);
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kIssuedInFuture);
  payload["iat"] = picojson::value(kNow + 30);
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kNone);
}

TEST_F(ValidatorTest, WrongAudience) {
  picojson::object payload = Payload();
  payload["aud"] = picojson::value("https://ossrdbms-aad.database.windows.net");
  Verdict verdict = CheckPayload(payload);
  EXPECT_EQ(verdict.error, TokenError::kWrongAudience);
  EXPECT_EQ(verdict.message,
            "audience \"https://ossrdbms-aad.database.windows.net\" is not accepted");
  payload["aud"] =
      picojson::value(picojson::array{picojson::value("other"), picojson::value(kAudience)});
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kNone);
  payload["aud"] = picojson::value(picojson::array{picojson::value("a"), picojson::value("b")});
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kWrongAudience);
  payload["aud"] = picojson::value(std::string(300, 'x'));
  verdict = CheckPayload(payload);
  EXPECT_EQ(verdict.error, TokenError::kWrongAudience);
  EXPECT_LT(verdict.message.size(), 100u);  // the echoed value is capped at 64 characters
  payload["aud"] = picojson::value(int64_t{7});
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kMalformed);
  payload.erase("aud");
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kMissingClaim);
}

TEST_F(ValidatorTest, WrongIssuer) {
  picojson::object payload = Payload();
  payload["iss"] =
      picojson::value("https://evil.example/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0");
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kWrongIssuer);
  payload["iss"] = picojson::value(kIssuerV1);  // not listed by Options()
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kWrongIssuer);
  payload.erase("iss");
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kMissingClaim);
}

TEST_F(ValidatorTest, AcceptsV1AndV2IssuerFormsWhenListed) {
  ValidatorOptions options = Options();
  options.issuers = {kIssuerV1, kIssuerV2};
  picojson::object payload = Payload();
  EXPECT_EQ(Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()), options).error,
            TokenError::kNone);
  payload["iss"] = picojson::value(kIssuerV1);
  payload["ver"] = picojson::value("1.0");
  const Verdict verdict = Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()), options);
  ASSERT_EQ(verdict.error, TokenError::kNone) << verdict.message;
  EXPECT_EQ(verdict.identity->issuer, kIssuerV1);
}

TEST_F(ValidatorTest, TenantAllowList) {
  ValidatorOptions options = Options();
  options.issuers = {"https://login.microsoftonline.com/{tenantid}/v2.0"};
  picojson::object payload = Payload();
  payload["tid"] = picojson::value(kOtherTenant);
  payload["iss"] = picojson::value(Replace(kIssuerV2, kTenant, kOtherTenant));
  const std::string token = Sign(Header("RS256", kRsaKid), payload, RsaKey());
  const Verdict verdict = Check(token, options);
  EXPECT_EQ(verdict.error, TokenError::kWrongTenant);
  EXPECT_NE(verdict.message.find(kOtherTenant), std::string::npos) << verdict.message;
  options.tenants.push_back(kOtherTenant);
  EXPECT_EQ(Check(token, options).error, TokenError::kNone);
  // Restricted tenants need a tid.
  payload.erase("tid");
  payload["iss"] = picojson::value("https://issuer.example/v2.0");
  options.issuers.push_back("https://issuer.example/v2.0");
  EXPECT_EQ(Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()), options).error,
            TokenError::kMissingClaim);
  payload["tid"] = picojson::value("not-a-guid");
  EXPECT_EQ(Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()), options).error,
            TokenError::kWrongTenant);
}

TEST_F(ValidatorTest, TenantTemplateInIssuer) {
  ValidatorOptions options = Options();
  options.issuers = {"https://login.microsoftonline.com/{tenantid}/v2.0"};
  options.tenants.clear();
  picojson::object payload = Payload();
  payload["tid"] = picojson::value(kOtherTenant);
  payload["iss"] = picojson::value(Replace(kIssuerV2, kTenant, kOtherTenant));
  const Verdict verdict = Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()), options);
  ASSERT_EQ(verdict.error, TokenError::kNone) << verdict.message;
  EXPECT_EQ(verdict.identity->tenant, kOtherTenant);
  // The GUID in iss must be the tid, whatever the template says.
  payload["iss"] = picojson::value(kIssuerV2);
  EXPECT_EQ(Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()), options).error,
            TokenError::kWrongTenant);
  // A template needs a tid to match at all.
  payload.erase("tid");
  payload["iss"] = picojson::value("https://login.microsoftonline.com/{tenantid}/v2.0");
  EXPECT_EQ(Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()), options).error,
            TokenError::kWrongIssuer);
}

TEST_F(ValidatorTest, KeyIssuerPropertyMustMatch) {
  absl::StatusOr<picojson::object> jwk =
      PublicJwk(RsaKey(), "scoped", "https://login.microsoftonline.com/{tenantid}/v2.0");
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  picojson::object root;
  root["keys"] = picojson::value(picojson::array{picojson::value(*jwk)});
  absl::StatusOr<std::shared_ptr<const KeySet>> keys =
      KeySet::Parse(picojson::value(root).serialize());
  ASSERT_TRUE(keys.ok()) << keys.status();
  const std::unique_ptr<KeyProvider> provider = KeyProvider::FromKeySet(*keys);
  ValidatorOptions options = Options();
  options.issuers = {kIssuerV1, kIssuerV2};
  const Validator validator(options, provider.get());
  picojson::object payload = Payload();
  EXPECT_EQ(validator.Validate(Sign(Header("RS256", "scoped"), payload, RsaKey()), kNow).error,
            TokenError::kNone);
  payload["iss"] = picojson::value(kIssuerV1);
  const Verdict verdict =
      validator.Validate(Sign(Header("RS256", "scoped"), payload, RsaKey()), kNow);
  EXPECT_EQ(verdict.error, TokenError::kWrongIssuer);
  EXPECT_NE(verdict.message.find("not the issuer of key"), std::string::npos) << verdict.message;
}

TEST_F(ValidatorTest, UnknownKid) {
  const Verdict verdict = Check(Sign(Header("RS256", "rotated-away"), Payload(), RsaKey()));
  EXPECT_EQ(verdict.error, TokenError::kUnknownKey);
  EXPECT_NE(verdict.message.find("rotated-away"), std::string::npos);
  picojson::object header = Header("RS256", kRsaKid);
  header.erase("kid");
  EXPECT_EQ(Check(Sign(header, Payload(), RsaKey())).error, TokenError::kMissingClaim);
}

TEST_F(ValidatorTest, BadSignature) {
  const std::string token = Sign(Header("RS256", kRsaKid), Payload(), RsaKey());
  const size_t dot = token.rfind('.');
  std::string signature;
  ASSERT_TRUE(Base64UrlDecode(token.substr(dot + 1), &signature));
  for (const size_t bit : {size_t{0}, size_t{7}, signature.size() * 8 - 1, size_t{1000}}) {
    std::string flipped = signature;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_EQ(Check(token.substr(0, dot + 1) + Base64UrlEncode(flipped)).error,
              TokenError::kBadSignature)
        << "bit " << bit;
  }
  // Signed by a key that is not the one named.
  EXPECT_EQ(Check(Sign(Header("RS256", kRsaKid), Payload(), OtherRsaKey())).error,
            TokenError::kBadSignature);
  // A payload changed after signing.
  picojson::object changed = Payload();
  changed["roles"] = picojson::value(picojson::array{picojson::value("db.admin")});
  const std::string forged = token.substr(0, token.find('.') + 1) +
                             Base64UrlEncode(picojson::value(changed).serialize()) +
                             token.substr(dot);
  EXPECT_EQ(Check(forged).error, TokenError::kBadSignature);
  // ES256 signatures must be exactly 64 bytes of r || s.
  const std::string es = Sign(Header("ES256", kEcKid), Payload(), EcKey());
  const size_t es_dot = es.rfind('.');
  EXPECT_EQ(Check(es.substr(0, es_dot + 1) + Base64UrlEncode(std::string(64, '\0'))).error,
            TokenError::kBadSignature);
  EXPECT_EQ(Check(es.substr(0, es_dot + 1) + Base64UrlEncode(std::string(72, '\x01'))).error,
            TokenError::kBadSignature);
}

TEST_F(ValidatorTest, AlgNoneIsRefused) {
  const std::string header = Base64UrlEncode(R"({"alg":"none","kid":"rsa-1","typ":"JWT"})");
  const std::string payload = Base64UrlEncode(picojson::value(Payload()).serialize());
  EXPECT_EQ(Check(header + "." + payload + ".").error, TokenError::kMalformed);
  const Verdict verdict = Check(header + "." + payload + ".AAAA");
  EXPECT_EQ(verdict.error, TokenError::kUnsupportedAlgorithm);
  EXPECT_NE(verdict.message.find("\"none\""), std::string::npos) << verdict.message;
}

TEST_F(ValidatorTest, Hs256WithThePublicKeyAsSecretIsRefused) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, RsaKey()), 1);
  char* pem = nullptr;
  const long pem_size = BIO_get_mem_data(bio, &pem);
  const std::string secret(pem, static_cast<size_t>(pem_size));
  BIO_free(bio);
  const std::string signing_input =
      Base64UrlEncode(picojson::value(Header("HS256", kRsaKid)).serialize()) + "." +
      Base64UrlEncode(picojson::value(Payload()).serialize());
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_size = 0;
  ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                      reinterpret_cast<const unsigned char*>(signing_input.data()),
                      signing_input.size(), mac, sizeof(mac), &mac_size),
            nullptr);
  const std::string token =
      signing_input + "." +
      Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
  EXPECT_EQ(Check(token).error, TokenError::kUnsupportedAlgorithm);
  for (const char* alg : {"PS256", "RS384", "RS512", "ES384", "EdDSA", "rs256", ""}) {
    EXPECT_EQ(Check(Sign(Header(alg, kRsaKid), Payload(), RsaKey())).error,
              TokenError::kUnsupportedAlgorithm)
        << alg;
  }
}

TEST_F(ValidatorTest, AlgorithmMustMatchTheKeyType) {
  // ES256 header naming the RSA key, and RS256 naming the EC key, each validly signed by the
  // key of the header's algorithm.
  Verdict verdict = Check(Sign(Header("ES256", kRsaKid), Payload(), EcKey()));
  EXPECT_EQ(verdict.error, TokenError::kUnsupportedAlgorithm);
  EXPECT_NE(verdict.message.find("is RSA"), std::string::npos) << verdict.message;
  EXPECT_EQ(Check(Sign(Header("RS256", kEcKid), Payload(), RsaKey())).error,
            TokenError::kUnsupportedAlgorithm);
}

TEST_F(ValidatorTest, HeaderRules) {
  picojson::object header = Header("RS256", kRsaKid);
  header["crit"] = picojson::value(picojson::array{picojson::value("exp")});
  EXPECT_EQ(Check(Sign(header, Payload(), RsaKey())).error, TokenError::kMalformed);
  header = Header("RS256", kRsaKid);
  header["typ"] = picojson::value("at+jwt");
  EXPECT_EQ(Check(Sign(header, Payload(), RsaKey())).error, TokenError::kNone);
  header["typ"] = picojson::value("jwt");
  EXPECT_EQ(Check(Sign(header, Payload(), RsaKey())).error, TokenError::kNone);
  header["typ"] = picojson::value("JOSE+JSON");
  EXPECT_EQ(Check(Sign(header, Payload(), RsaKey())).error, TokenError::kNotAnAccessToken);
  header.erase("typ");
  EXPECT_EQ(Check(Sign(header, Payload(), RsaKey())).error, TokenError::kNone);
  // jku / x5u / jwk / x5c are ignored: an embedded key does not make another signer's token good.
  absl::StatusOr<picojson::object> jwk = PublicJwk(OtherRsaKey(), kRsaKid);
  ASSERT_TRUE(jwk.ok());
  header["jwk"] = picojson::value(*jwk);
  header["jku"] = picojson::value("https://evil.example/keys");
  header["x5u"] = picojson::value("https://evil.example/cert");
  header["x5c"] = picojson::value(picojson::array{picojson::value("MIIB")});
  EXPECT_EQ(Check(Sign(header, Payload(), OtherRsaKey())).error, TokenError::kBadSignature);
  EXPECT_EQ(Check(Sign(header, Payload(), RsaKey())).error, TokenError::kNone);
}

TEST_F(ValidatorTest, StructuralDefects) {
  const std::string token = Sign(Header("RS256", kRsaKid), Payload(), RsaKey());
  for (size_t cut = 1; cut < token.size(); cut += 37) {
    EXPECT_NE(Check(token.substr(0, cut)).error, TokenError::kNone) << cut;
  }
  EXPECT_NE(Check(token.substr(0, token.size() - 1)).error, TokenError::kNone);
  EXPECT_EQ(Check(std::string(64 * 1024, 'a')).error, TokenError::kTooLarge);
  EXPECT_EQ(Check(token + "." + token.substr(0, 10) + ".x.y").error, TokenError::kMalformed);
  std::string bad_base64 = token;
  bad_base64[5] = '+';
  EXPECT_EQ(Check(bad_base64).error, TokenError::kMalformed);
  EXPECT_EQ(Check("e30=.e30.e30").error, TokenError::kMalformed);
}

TEST_F(ValidatorTest, DuplicateClaimsAreRefused) {
  const std::string payload_json = picojson::value(Payload()).serialize();
  const std::string doubled = "{\"aud\":\"other\"," + payload_json.substr(1);
  absl::StatusOr<std::string> token =
      SignJwsJson(picojson::value(Header("RS256", kRsaKid)).serialize(), doubled, RsaKey());
  ASSERT_TRUE(token.ok());
  const Verdict verdict = Check(*token);
  EXPECT_EQ(verdict.error, TokenError::kMalformed);
  EXPECT_NE(verdict.message.find("twice"), std::string::npos) << verdict.message;
  token = SignJwsJson(R"({"alg":"RS256","kid":"rsa-1","kid":"ec-1"})", payload_json, RsaKey());
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(Check(*token).error, TokenError::kMalformed);
}

TEST_F(ValidatorTest, GroupsOverage) {
  picojson::object payload = Payload();
  picojson::object names;
  names["groups"] = picojson::value("src1");
  payload["_claim_names"] = picojson::value(names);
  const Verdict verdict = CheckPayload(payload);
  EXPECT_EQ(verdict.error, TokenError::kGroupsOverage);
  EXPECT_NE(verdict.message.find("app roles"), std::string::npos) << verdict.message;
  payload.erase("_claim_names");
  payload["hasgroups"] = picojson::value(true);
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kGroupsOverage);
}

TEST_F(ValidatorTest, RequiresRolesOrScopes) {
  picojson::object payload = Payload();
  payload.erase("roles");
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kNotAnAccessToken);
  payload["roles"] = picojson::value(picojson::array{});
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kNotAnAccessToken);
  payload["roles"] = picojson::value("db.read");  // must be an array
  EXPECT_EQ(CheckPayload(payload).error, TokenError::kMalformed);
  payload.erase("roles");
  ValidatorOptions options = Options();
  options.require_roles_or_scp = false;
  EXPECT_EQ(Check(Sign(Header("RS256", kRsaKid), payload, RsaKey()), options).error,
            TokenError::kNone);
}

TEST_F(ValidatorTest, OptionsAreChecked) {
  ValidatorOptions options = Options();
  EXPECT_TRUE(CheckValidatorOptions(options).ok());
  options.issuers.clear();
  EXPECT_FALSE(CheckValidatorOptions(options).ok());
  options = Options();
  options.audiences.clear();
  EXPECT_FALSE(CheckValidatorOptions(options).ok());
  options = Options();
  options.clock_skew_s = -1;
  EXPECT_FALSE(CheckValidatorOptions(options).ok());
}

TEST_F(ValidatorTest, ValidatesConcurrently) {
  const std::string rs = Sign(Header("RS256", kRsaKid), Payload(), RsaKey());
  const std::string es = Sign(Header("ES256", kEcKid), Payload(), EcKey());
  const Validator validator(Options(), provider_);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (validator.Validate(i % 2 ? rs : es, kNow).error != TokenError::kNone) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace jitgate::auth
