// tests/auth/test_keys.h: keys and tokens the auth tests share, made with OpenSSL in-process.
//
// Keys are generated once per test binary (RSA generation takes tens of milliseconds) and never
// written anywhere but a test's temporary directory.
#ifndef JITGATE_TESTS_AUTH_TEST_KEYS_H_
#define JITGATE_TESTS_AUTH_TEST_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "picojson.h"
#include "src/auth/keys.h"

namespace jitgate::auth::testing {

// A fixed "now" for deterministic tokens: 2026-01-01T00:00:00Z.
inline constexpr int64_t kNow = 1767225600;
inline constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
inline constexpr const char* kOtherTenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
inline constexpr const char* kAudience = "api://jitgate";
inline constexpr const char* kIssuerV2 =
    "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
inline constexpr const char* kIssuerV1 =
    "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/";
inline constexpr const char* kRsaKid = "rsa-1";
inline constexpr const char* kEcKid = "ec-1";

// Process-wide test keys: RSA 2048 and EC P-256 (private, for signing).
EVP_PKEY* RsaKey();
EVP_PKEY* EcKey();
// Another RSA 2048 key, published under no kid (for "signed by someone else").
EVP_PKEY* OtherRsaKey();

// A JWKS with RsaKey() as kRsaKid and EcKey() as kEcKid.
std::string TestJwks();

// The header {"alg": alg, "kid": kid, "typ": "JWT"}.
picojson::object Header(std::string_view alg, std::string_view kid);
// A valid Entra v2 app-only payload for kAudience / kIssuerV2 / kTenant at kNow.
picojson::object Payload();

// SignJws, failing the test on error.
std::string Sign(const picojson::object& header, const picojson::object& payload, EVP_PKEY* key);

// A temporary directory removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }
  void Write(std::string_view name, std::string_view text) const;

 private:
  std::string path_;
};

}  // namespace jitgate::auth::testing

#endif  // JITGATE_TESTS_AUTH_TEST_KEYS_H_
