// tests/session/pg_backend_auth_test.cc: BackendAuth (src/session/pg_backend_auth.h) on byte
// buffers. Known answers: RFC 7677 section 3 (SCRAM-SHA-256); the -PLUS, "y,," and MD5 values
// were computed independently with Python's hashlib/hmac from the RFC 5802 / PostgreSQL formulas.
#include "src/session/pg_backend_auth.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace jitgate::session {
namespace {

using Kind = BackendAuth::Step::Kind;
using namespace std::string_view_literals;

// The 'R' body: Int32 code, then `data`.
std::vector<std::byte> Body(uint32_t code, std::string_view data = {}) {
  std::vector<std::byte> out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::byte>((code >> shift) & 0xff));
  }
  for (char c : data) {
    out.push_back(static_cast<std::byte>(c));
  }
  return out;
}

// Checks the 'p' framing of a frontend message and returns its body.
std::string FrontendBody(const std::string& message) {
  EXPECT_GE(message.size(), 5u);
  if (message.size() < 5) {
    return {};
  }
  EXPECT_EQ(message[0], 'p');
  const uint32_t length = (static_cast<uint32_t>(static_cast<uint8_t>(message[1])) << 24) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(message[2])) << 16) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(message[3])) << 8) |
                          static_cast<uint32_t>(static_cast<uint8_t>(message[4]));
  EXPECT_EQ(length, message.size() - 1);
  return message.substr(5);
}

// The SASLInitialResponse body for `mechanism` and `data`.
std::string SaslInitialBody(std::string_view mechanism, std::string_view data) {
  std::string body(mechanism);
  body.push_back('\0');
  const uint32_t n = static_cast<uint32_t>(data.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    body.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  body.append(data);
  return body;
}

constexpr std::string_view kScramOnly = "SCRAM-SHA-256\0\0"sv;
constexpr std::string_view kBothMechanisms = "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"sv;

// RFC 7677 section 3.
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// The RFC 5802 nonce and salt, with the user name left empty as libpq sends it.
constexpr std::string_view kClientNonce = "fyko+d2lbbFgONRv9qkxdawL";
constexpr std::string_view kServerFirst =
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";

BackendAuthParams Params(std::string_view user, std::string_view password) {
  return BackendAuthParams{user, password, {}, false};
}

// Drives `auth` through the RFC 7677 exchange up to (not including) the step named by `stop`.
void RfcUpTo(BackendAuth* auth, int stop) {
  auth->SetClientNonceForTest(kRfcClientNonce);
  auth->SetScramUserNameForTest("user");
  if (stop > 0) {
    ASSERT_EQ(auth->OnAuthentication(Body(10, kScramOnly)).kind, Kind::kSend);
  }
  if (stop > 1) {
    ASSERT_EQ(auth->OnAuthentication(Body(11, kRfcServerFirst)).kind, Kind::kSend);
  }
  if (stop > 2) {
    ASSERT_EQ(auth->OnAuthentication(Body(12, kRfcServerFinal)).kind, Kind::kWait);
  }
}

TEST(BackendAuthTest, Rfc7677Example) {
  BackendAuth auth(Params("user", "pencil"));
  auth.SetClientNonceForTest(kRfcClientNonce);
  auth.SetScramUserNameForTest("user");

  BackendAuth::Step step = auth.OnAuthentication(Body(10, kScramOnly));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  EXPECT_EQ(FrontendBody(step.message),
            SaslInitialBody("SCRAM-SHA-256", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  EXPECT_EQ(auth.mechanism(), "SCRAM-SHA-256");

  step = auth.OnAuthentication(Body(11, kRfcServerFirst));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  EXPECT_EQ(FrontendBody(step.message), kRfcClientFinal);

  step = auth.OnAuthentication(Body(12, kRfcServerFinal));
  ASSERT_EQ(step.kind, Kind::kWait) << step.error;
  EXPECT_TRUE(step.message.empty());
  EXPECT_TRUE(auth.scram_verified());

  step = auth.OnAuthentication(Body(0));
  EXPECT_EQ(step.kind, Kind::kOk) << step.error;

  // Terminal: anything after AuthenticationOk fails.
  EXPECT_EQ(auth.OnAuthentication(Body(0)).kind, Kind::kFailed);
}

// A cached SaltedPassword gives byte-identical answers, and a different password or salt is
// a different cache entry (never a wrong hit).
TEST(BackendAuthTest, ScramKeyCacheGivesTheSameProofWithoutPbkdf2) {
  ScramKeyCache cache;
  for (int round = 0; round < 3; ++round) {
    BackendAuthParams params = Params("user", "pencil");
    params.key_cache = &cache;
    BackendAuth auth(params);
    auth.SetClientNonceForTest(kRfcClientNonce);
    auth.SetScramUserNameForTest("user");
    ASSERT_EQ(auth.OnAuthentication(Body(10, kScramOnly)).kind, Kind::kSend);
    const BackendAuth::Step step = auth.OnAuthentication(Body(11, kRfcServerFirst));
    ASSERT_EQ(step.kind, Kind::kSend) << step.error;
    EXPECT_EQ(FrontendBody(step.message), kRfcClientFinal);
    EXPECT_EQ(auth.OnAuthentication(Body(12, kRfcServerFinal)).kind, Kind::kWait);
    EXPECT_EQ(cache.hits(), static_cast<uint64_t>(round));
  }
  BackendAuthParams other = Params("user", "not-pencil");
  other.key_cache = &cache;
  BackendAuth wrong(other);
  wrong.SetClientNonceForTest(kRfcClientNonce);
  wrong.SetScramUserNameForTest("user");
  ASSERT_EQ(wrong.OnAuthentication(Body(10, kScramOnly)).kind, Kind::kSend);
  const BackendAuth::Step step = wrong.OnAuthentication(Body(11, kRfcServerFirst));
  ASSERT_EQ(step.kind, Kind::kSend);
  EXPECT_NE(FrontendBody(step.message), kRfcClientFinal);
  EXPECT_EQ(cache.hits(), 2u);
}

TEST(BackendAuthTest, DefaultClientFirstHasEmptyUserAndRandomNonce) {
  BackendAuth a(Params("postgres", "pw"));
  BackendAuth b(Params("postgres", "pw"));
  const std::string first_a = FrontendBody(a.OnAuthentication(Body(10, kScramOnly)).message);
  const std::string first_b = FrontendBody(b.OnAuthentication(Body(10, kScramOnly)).message);
  const std::string prefix = SaslInitialBody("SCRAM-SHA-256", "n,,n=,r=").substr(0, 14);
  ASSERT_EQ(first_a.size(), 14 + 4 + 8 + 24u);  // mechanism\0, Int32, "n,,n=,r=", nonce
  EXPECT_EQ(first_a.substr(18, 8), "n,,n=,r=");
  EXPECT_EQ(first_a.substr(0, 14), prefix);
  EXPECT_NE(first_a.substr(26), first_b.substr(26));
  for (char c : first_a.substr(26)) {
    EXPECT_TRUE(c > 0x20 && c < 0x7f && c != ',') << static_cast<int>(c);
  }
}

TEST(BackendAuthTest, BadServerSignatureFails) {
  BackendAuth auth(Params("user", "pencil"));
  RfcUpTo(&auth, 2);
  std::string bad(kRfcServerFinal);
  bad[2] = bad[2] == 'A' ? 'B' : 'A';
  const BackendAuth::Step step = auth.OnAuthentication(Body(12, bad));
  EXPECT_EQ(step.kind, Kind::kFailed);
  EXPECT_NE(step.error.find("server signature"), std::string::npos) << step.error;
  EXPECT_FALSE(auth.scram_verified());
  EXPECT_EQ(auth.OnAuthentication(Body(0)).kind, Kind::kFailed);
}

TEST(BackendAuthTest, WrongPasswordGivesDifferentProofAndUnverifiableSignature) {
  BackendAuth auth(Params("user", "pencil2"));
  auth.SetClientNonceForTest(kRfcClientNonce);
  auth.SetScramUserNameForTest("user");
  ASSERT_EQ(auth.OnAuthentication(Body(10, kScramOnly)).kind, Kind::kSend);
  const BackendAuth::Step step = auth.OnAuthentication(Body(11, kRfcServerFirst));
  ASSERT_EQ(step.kind, Kind::kSend);
  EXPECT_NE(FrontendBody(step.message), kRfcClientFinal);
  EXPECT_EQ(auth.OnAuthentication(Body(12, kRfcServerFinal)).kind, Kind::kFailed);
}

TEST(BackendAuthTest, ServerErrorAttributeFailsWithItsMessage) {
  BackendAuth auth(Params("user", "pencil"));
  RfcUpTo(&auth, 2);
  const BackendAuth::Step step = auth.OnAuthentication(Body(12, "e=invalid-proof"));
  EXPECT_EQ(step.kind, Kind::kFailed);
  EXPECT_NE(step.error.find("invalid-proof"), std::string::npos) << step.error;
}

TEST(BackendAuthTest, ServerNonceMustExtendOurs) {
  for (std::string_view server_first : {
           "r=XOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"sv,
           "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"sv,  // equal, not extended
           "r=rOprNGfwEbeRWgbNEk,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"sv,    // shorter
           "r=rOprNGfwEbeRWgbNEkqO\x7f,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"sv,  // not printable
       }) {
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, 1);
    const BackendAuth::Step step = auth.OnAuthentication(Body(11, server_first));
    EXPECT_EQ(step.kind, Kind::kFailed) << server_first;
  }
}

TEST(BackendAuthTest, IterationCountIsBounded) {
  for (std::string_view iterations :
       {"0", "1", "4095", "10000001", "99999999", "999999999999", "-4096", "+4096", "04096",
        "4096x", "", "0x1000"}) {
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, 1);
    const std::string server_first =
        std::string("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                    "i=") +
        std::string(iterations);
    const BackendAuth::Step step = auth.OnAuthentication(Body(11, server_first));
    EXPECT_EQ(step.kind, Kind::kFailed) << iterations;
  }
}

TEST(BackendAuthTest, MalformedServerFirstFails) {
  for (std::string_view server_first : {
           "m=ext,r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"sv,
           "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hvY,i=4096"sv,  // wrong order
           "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"sv,
           "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1"sv,
           "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096"sv,   // bad padding
           "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0S NY7soEsUEjb6gQ==,i=4096"sv,  // space
           "r=rOprNGfwEbeRWgbNEkqO%hvY,s=,i=4096"sv,                           // empty salt
           "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==\0,i=4096"sv,
       }) {
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, 1);
    EXPECT_EQ(auth.OnAuthentication(Body(11, server_first)).kind, Kind::kFailed) << server_first;
  }
}

TEST(BackendAuthTest, AuthenticationOkBeforeSaslFinalFails) {
  for (int stop : {1, 2}) {
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, stop);
    const BackendAuth::Step step = auth.OnAuthentication(Body(0));
    EXPECT_EQ(step.kind, Kind::kFailed) << stop;
    EXPECT_NE(step.error.find("not verified"), std::string::npos) << step.error;
  }
}

TEST(BackendAuthTest, OutOfOrderMessagesFail) {
  {
    BackendAuth auth(Params("user", "pencil"));
    EXPECT_EQ(auth.OnAuthentication(Body(11, kRfcServerFirst)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("user", "pencil"));
    EXPECT_EQ(auth.OnAuthentication(Body(12, kRfcServerFinal)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, 1);
    EXPECT_EQ(auth.OnAuthentication(Body(12, kRfcServerFinal)).kind, Kind::kFailed);
    // Failure is terminal.
    EXPECT_EQ(auth.OnAuthentication(Body(11, kRfcServerFirst)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, 1);
    EXPECT_EQ(auth.OnAuthentication(Body(10, kScramOnly)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("user", "pencil"));
    ASSERT_EQ(auth.OnAuthentication(Body(3)).kind, Kind::kSend);
    EXPECT_EQ(auth.OnAuthentication(Body(10, kScramOnly)).kind, Kind::kFailed);
  }
}

TEST(BackendAuthTest, TrustAuthenticationOk) {
  BackendAuth auth(Params("postgres", "pw"));
  EXPECT_EQ(auth.OnAuthentication(Body(0)).kind, Kind::kOk);
}

TEST(BackendAuthTest, CleartextPassword) {
  BackendAuth auth(Params("postgres", "s3cret"));
  const BackendAuth::Step step = auth.OnAuthentication(Body(3));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  EXPECT_EQ(FrontendBody(step.message), "s3cret\0"sv);
  EXPECT_EQ(auth.OnAuthentication(Body(0)).kind, Kind::kOk);
}

TEST(BackendAuthTest, PasswordRefusals) {
  {
    BackendAuth auth(Params("postgres", ""));
    EXPECT_EQ(auth.OnAuthentication(Body(3)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("postgres", ""));
    EXPECT_EQ(auth.OnAuthentication(Body(10, kScramOnly)).kind, Kind::kFailed);
  }
  for (uint32_t code : {3u, 5u, 10u}) {
    const std::string_view data = code == 5 ? "salt"sv : code == 10 ? kScramOnly : ""sv;
    BackendAuth with_nul(Params("postgres", "a\0b"sv));
    EXPECT_EQ(with_nul.OnAuthentication(Body(code, data)).kind, Kind::kFailed) << code;
    const std::string long_password(BackendAuth::kPasswordSizeMax + 1, 'p');
    BackendAuth too_long(Params("postgres", long_password));
    EXPECT_EQ(too_long.OnAuthentication(Body(code, data)).kind, Kind::kFailed) << code;
  }
}

TEST(BackendAuthTest, Md5KnownValue) {
  // "md5" + md5hex(md5hex("secret" + "postgres") + salt), salt 01 02 03 ff (Python hashlib).
  BackendAuth auth(Params("postgres", "secret"));
  const BackendAuth::Step step = auth.OnAuthentication(Body(5, "\x01\x02\x03\xff"sv));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  EXPECT_EQ(FrontendBody(step.message), "md55fd83a89d76c691d048ba124be308bbe\0"sv);
  EXPECT_EQ(auth.OnAuthentication(Body(0)).kind, Kind::kOk);
}

TEST(BackendAuthTest, Md5SaltMustBeFourBytes) {
  for (std::string_view salt : {""sv, "\x01"sv, "\x01\x02\x03"sv, "\x01\x02\x03\x04\x05"sv}) {
    BackendAuth auth(Params("postgres", "secret"));
    EXPECT_EQ(auth.OnAuthentication(Body(5, salt)).kind, Kind::kFailed) << salt.size();
  }
}

std::vector<std::byte> Binding32() {
  std::vector<std::byte> binding;
  for (int i = 0; i < 32; ++i) {
    binding.push_back(static_cast<std::byte>(i));
  }
  return binding;
}

TEST(BackendAuthTest, PlusSelectedWithBindingAndItsCValue) {
  const std::vector<std::byte> binding = Binding32();
  BackendAuth auth(BackendAuthParams{"postgres", "pencil", binding, false});
  auth.SetClientNonceForTest(kClientNonce);
  BackendAuth::Step step = auth.OnAuthentication(Body(10, kBothMechanisms));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  EXPECT_EQ(auth.mechanism(), "SCRAM-SHA-256-PLUS");
  EXPECT_EQ(FrontendBody(step.message),
            SaslInitialBody("SCRAM-SHA-256-PLUS",
                            "p=tls-server-end-point,,n=,r=fyko+d2lbbFgONRv9qkxdawL"));
  step = auth.OnAuthentication(Body(11, kServerFirst));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  // c = base64("p=tls-server-end-point,," + bytes 00..1f).
  EXPECT_EQ(FrontendBody(step.message),
            "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCwsAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,"
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
            "p=Okkk/EO55SnT8EJ4/yRJbwDspvQa0JEhK1b0/+7o4V4=");
  step = auth.OnAuthentication(Body(12, "v=NyZU46w9ypywSwQSNLuz3P1FwjD7GAa0NoMD+TkMdBQ="));
  ASSERT_EQ(step.kind, Kind::kWait) << step.error;
  EXPECT_EQ(auth.OnAuthentication(Body(0)).kind, Kind::kOk);
}

TEST(BackendAuthTest, PlusRequiredAndDoneSucceeds) {
  const std::vector<std::byte> binding = Binding32();
  BackendAuth auth(BackendAuthParams{"postgres", "pencil", binding, true});
  auth.SetClientNonceForTest(kClientNonce);
  ASSERT_EQ(auth.OnAuthentication(Body(10, kBothMechanisms)).kind, Kind::kSend);
  ASSERT_EQ(auth.OnAuthentication(Body(11, kServerFirst)).kind, Kind::kSend);
  ASSERT_EQ(auth.OnAuthentication(Body(12, "v=NyZU46w9ypywSwQSNLuz3P1FwjD7GAa0NoMD+TkMdBQ="))
                .kind,
            Kind::kWait);
  EXPECT_EQ(auth.OnAuthentication(Body(0)).kind, Kind::kOk);
}

TEST(BackendAuthTest, BindingButNoPlusOfferedSendsY) {
  const std::vector<std::byte> binding = Binding32();
  BackendAuth auth(BackendAuthParams{"postgres", "pencil", binding, false});
  auth.SetClientNonceForTest(kClientNonce);
  BackendAuth::Step step = auth.OnAuthentication(Body(10, kScramOnly));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  EXPECT_EQ(auth.mechanism(), "SCRAM-SHA-256");
  EXPECT_EQ(FrontendBody(step.message),
            SaslInitialBody("SCRAM-SHA-256", "y,,n=,r=fyko+d2lbbFgONRv9qkxdawL"));
  step = auth.OnAuthentication(Body(11, kServerFirst));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  EXPECT_EQ(FrontendBody(step.message),
            "c=eSws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
            "p=wgLg0iPVTpACWjrIlJtVKu4BjsbK4knzdsSn88toerI=");
  step = auth.OnAuthentication(Body(12, "v=DrDPuYqa2Vk1xxB1lVO1Nz9Kb/HSttQkUqrqqVgdja0="));
  EXPECT_EQ(step.kind, Kind::kWait) << step.error;
}

TEST(BackendAuthTest, NoBindingWithPlusOfferedUsesPlainScram) {
  BackendAuth auth(Params("postgres", "pencil"));
  auth.SetClientNonceForTest(kClientNonce);
  const BackendAuth::Step step = auth.OnAuthentication(Body(10, kBothMechanisms));
  ASSERT_EQ(step.kind, Kind::kSend) << step.error;
  EXPECT_EQ(FrontendBody(step.message),
            SaslInitialBody("SCRAM-SHA-256", "n,,n=,r=fyko+d2lbbFgONRv9qkxdawL"));
}

TEST(BackendAuthTest, RequireChannelBindingRefusesEverythingElse) {
  const std::vector<std::byte> binding = Binding32();
  {
    BackendAuth auth(BackendAuthParams{"postgres", "pencil", binding, true});
    EXPECT_EQ(auth.OnAuthentication(Body(10, kScramOnly)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(BackendAuthParams{"postgres", "pencil", {}, true});
    EXPECT_EQ(auth.OnAuthentication(Body(10, kBothMechanisms)).kind, Kind::kFailed);
  }
  for (uint32_t code : {0u, 3u}) {
    BackendAuth auth(BackendAuthParams{"postgres", "pencil", binding, true});
    EXPECT_EQ(auth.OnAuthentication(Body(code)).kind, Kind::kFailed) << code;
  }
  {
    BackendAuth auth(BackendAuthParams{"postgres", "pencil", binding, true});
    EXPECT_EQ(auth.OnAuthentication(Body(5, "salt")).kind, Kind::kFailed);
  }
}

TEST(BackendAuthTest, NoSupportedMechanism) {
  BackendAuth auth(Params("postgres", "pencil"));
  const BackendAuth::Step step = auth.OnAuthentication(Body(10, "SCRAM-SHA-1\0OAUTHBEARER\0\0"sv));
  EXPECT_EQ(step.kind, Kind::kFailed);
  EXPECT_NE(step.error.find("OAUTHBEARER"), std::string::npos) << step.error;
}

TEST(BackendAuthTest, UnsupportedMethodsFailClearly) {
  struct Case {
    uint32_t code;
    std::string_view word;
  };
  for (const Case& c : {Case{2, "Kerberos"}, Case{6, "SCM"}, Case{7, "GSSAPI"},
                        Case{8, "GSSAPI"}, Case{9, "SSPI"}, Case{13, "unknown"},
                        Case{0xffffffff, "unknown"}}) {
    BackendAuth auth(Params("postgres", "pencil"));
    const BackendAuth::Step step = auth.OnAuthentication(Body(c.code));
    EXPECT_EQ(step.kind, Kind::kFailed) << c.code;
    EXPECT_NE(step.error.find(c.word), std::string::npos) << step.error;
  }
  BackendAuth auth(Params("postgres", "pencil"));
  EXPECT_EQ(auth.OnAuthentication(Body(7)).error,
            "backend asked for GSSAPI authentication, which jitgate does not support");
}

TEST(BackendAuthTest, TrailingBytesAndOversizeFail) {
  {
    BackendAuth auth(Params("postgres", "pencil"));
    EXPECT_EQ(auth.OnAuthentication(Body(0, "x")).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("postgres", "pencil"));
    EXPECT_EQ(auth.OnAuthentication(Body(3, "x")).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("postgres", "pencil"));
    EXPECT_EQ(auth.OnAuthentication(Body(10, "SCRAM-SHA-256\0\0x"sv)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("postgres", "pencil"));
    std::string many;
    for (int i = 0; i < 17; ++i) {
      many.append("SCRAM-SHA-256");
      many.push_back('\0');
    }
    many.push_back('\0');
    EXPECT_EQ(auth.OnAuthentication(Body(10, many)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("postgres", "pencil"));
    RfcUpTo(&auth, 1);
    const std::string huge(BackendAuth::kBodySizeMax, 'r');
    EXPECT_EQ(auth.OnAuthentication(Body(11, huge)).kind, Kind::kFailed);
  }
  {
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, 2);
    EXPECT_EQ(auth.OnAuthentication(Body(12, std::string(kRfcServerFinal) + ",")).kind,
              Kind::kFailed);
  }
}

// Every proper prefix of each message of a valid exchange, delivered in the state that expects
// that message, fails cleanly (and the full message still succeeds).
TEST(BackendAuthTest, EveryTruncationFails) {
  struct Case {
    int stop;  // RfcUpTo stop: the state that expects the message
    uint32_t code;
    std::string_view data;
  };
  for (const Case& c : {Case{0, 10, kScramOnly}, Case{1, 11, kRfcServerFirst},
                        Case{2, 12, kRfcServerFinal}, Case{3, 0, ""},
                        Case{0, 5, "\x01\x02\x03\xff"sv}}) {
    const std::vector<std::byte> full = Body(c.code, c.data);
    for (size_t length = 0; length < full.size(); ++length) {
      BackendAuth auth(Params("user", "pencil"));
      RfcUpTo(&auth, c.stop);
      const BackendAuth::Step step =
          auth.OnAuthentication(std::span<const std::byte>(full.data(), length));
      EXPECT_EQ(step.kind, Kind::kFailed) << "code " << c.code << " length " << length;
      EXPECT_FALSE(step.error.empty());
    }
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, c.stop);
    EXPECT_NE(auth.OnAuthentication(full).kind, Kind::kFailed) << "code " << c.code;
  }
}

// Random bodies in every state: never a crash, never kOk from a SCRAM state.
TEST(BackendAuthTest, RandomBodiesDoNotCrash) {
  std::mt19937 rng(7);
  for (int i = 0; i < 1500; ++i) {
    const int stop = i % 3;
    BackendAuth auth(Params("user", "pencil"));
    RfcUpTo(&auth, stop);
    std::vector<std::byte> body = Body(static_cast<uint32_t>(10 + stop + (i % 7 == 0 ? 1 : 0)));
    const size_t size = rng() % 120;
    for (size_t j = 0; j < size; ++j) {
      body.push_back(static_cast<std::byte>(i % 2 == 0 ? rng() % 256 : "rsiv=,0123A\0"[rng() % 12]));
    }
    const BackendAuth::Step step = auth.OnAuthentication(body);
    EXPECT_NE(step.kind, Kind::kOk);
  }
}

}  // namespace
}  // namespace jitgate::session
