// src/auth/mint.h: development keys and tokens: RSA/EC key generation, PEM files, JWKS text and
// compact-JWS signing.
//
// Local development and tests only: `jitgate token keygen|mint` (token_cli.cc), the unit tests
// and the fuzz seeds. Nothing on the gateway's serving path calls it. Control-plane style:
// absl::Status errors, never throws.
#ifndef JITGATE_SRC_AUTH_MINT_H_
#define JITGATE_SRC_AUTH_MINT_H_

// picojson's value layout depends on PICOJSON_USE_INT64; every includer must agree.
#ifndef PICOJSON_USE_INT64
#error "build with picojson_dep from the root meson.build (it defines PICOJSON_USE_INT64)"
#endif

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "picojson.h"
#include "src/auth/keys.h"

namespace jitgate::auth {

// A new RSA key of `bits` bits (exponent 65537), or a new EC P-256 key.
absl::StatusOr<EvpPkeyPtr> GenerateRsaKey(int bits);
absl::StatusOr<EvpPkeyPtr> GenerateEcP256Key();

// The public JWK of `key` (RSA or EC P-256) with kty, use "sig", alg, kid and the key
// parameters; `issuer` is added when not empty.
absl::StatusOr<picojson::object> PublicJwk(EVP_PKEY* key, std::string_view kid,
                                           std::string_view issuer = {});

// {"keys": [...]} of the given (kid, key) pairs' public JWKs.
absl::StatusOr<std::string> JwksJson(const std::vector<std::pair<std::string, EVP_PKEY*>>& keys);

// RFC 7638 JWK thumbprint of the public key: base64url(SHA-256 of the required members in
// lexicographic order). Used as the default kid.
absl::StatusOr<std::string> KeyThumbprint(EVP_PKEY* key);

// PKCS#8 PEM private key files. Write creates the file with mode 0600 and refuses to replace one.
absl::Status WritePrivateKeyPem(const std::string& path, EVP_PKEY* key);
absl::StatusOr<EvpPkeyPtr> ReadPrivateKeyPem(const std::string& path);

// "<b64url header>.<b64url payload>.<b64url signature>" with the signature made by `key` over
// the first two segments: RSASSA-PKCS1-v1_5 SHA-256 for RSA keys, ECDSA P-256 SHA-256 (raw
// r || s) for EC keys, whatever alg the header names (so tests can make lying headers).
absl::StatusOr<std::string> SignJwsJson(std::string_view header_json, std::string_view payload_json,
                                        EVP_PKEY* key);
absl::StatusOr<std::string> SignJws(const picojson::object& header, const picojson::object& payload,
                                    EVP_PKEY* key);

}  // namespace jitgate::auth

#endif  // JITGATE_SRC_AUTH_MINT_H_
