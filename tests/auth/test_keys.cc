// tests/auth/test_keys.cc: see test_keys.h.
#include "tests/auth/test_keys.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "src/auth/mint.h"

namespace jitgate::auth::testing {
namespace {

EVP_PKEY* Generate(bool rsa) {
  absl::StatusOr<EvpPkeyPtr> key = rsa ? GenerateRsaKey(2048) : GenerateEcP256Key();
  if (!key.ok()) {
    ADD_FAILURE() << key.status();
    abort();
  }
  return key->release();  // lives for the whole process
}

}  // namespace

EVP_PKEY* RsaKey() {
  static EVP_PKEY* const key = Generate(true);
  return key;
}
EVP_PKEY* EcKey() {
  static EVP_PKEY* const key = Generate(false);
  return key;
}
EVP_PKEY* OtherRsaKey() {
  static EVP_PKEY* const key = Generate(true);
  return key;
}

std::string TestJwks() {
  absl::StatusOr<std::string> jwks = JwksJson({{kRsaKid, RsaKey()}, {kEcKid, EcKey()}});
  EXPECT_TRUE(jwks.ok()) << jwks.status();
  return jwks.ok() ? *jwks : std::string();
}

picojson::object Header(std::string_view alg, std::string_view kid) {
  picojson::object header;
  header["alg"] = picojson::value(std::string(alg));
  header["kid"] = picojson::value(std::string(kid));
  header["typ"] = picojson::value("JWT");
  return header;
}

picojson::object Payload() {
  picojson::object payload;
  payload["ver"] = picojson::value("2.0");
  payload["iss"] = picojson::value(kIssuerV2);
  payload["aud"] = picojson::value(kAudience);
  payload["tid"] = picojson::value(kTenant);
  payload["oid"] = picojson::value("5a1b2c3d-0000-4000-8000-00000000a9e7");
  payload["sub"] = payload["oid"];
  payload["azp"] = picojson::value("11112222-3333-4444-5555-666677778888");
  payload["idtyp"] = picojson::value("app");
  payload["roles"] = picojson::value(picojson::array{picojson::value("db.read")});
  payload["uti"] = picojson::value("AbCdEf123");
  payload["iat"] = picojson::value(kNow - 60);
  payload["nbf"] = picojson::value(kNow - 60);
  payload["exp"] = picojson::value(kNow + 3600);
  return payload;
}

std::string Sign(const picojson::object& header, const picojson::object& payload, EVP_PKEY* key) {
  absl::StatusOr<std::string> token = SignJws(header, payload, key);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : std::string();
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "jg_auth_XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

void TempDir::Write(std::string_view name, std::string_view text) const {
  std::ofstream out(File(name), std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  EXPECT_TRUE(out.good());
}

}  // namespace jitgate::auth::testing
