// src/auth/token_error.h: why an access token was refused (the Validator's verdict codes).
//
// Shared by src/auth/jwt.cc (structural checks) and src/auth/validator.cc (claims and
// signature); callers see it through src/auth/validator.h. Each value becomes a counter, an
// audit field and the reason a session is refused, so the set is small and stable.
#ifndef JITGATE_SRC_AUTH_TOKEN_ERROR_H_
#define JITGATE_SRC_AUTH_TOKEN_ERROR_H_

#include <cstdint>
#include <string_view>

namespace jitgate::auth {

enum class TokenError : uint8_t {
  kNone,                  // valid
  kMalformed,             // not a compact JWS of base64url JSON objects, or a claim of a wrong type
  kTooLarge,              // longer than ValidatorOptions::token_size_max
  kUnsupportedAlgorithm,  // alg not RS256/ES256, or alg and the key's type disagree
  kUnknownKey,            // kid not in the current key set (the caller may RequestRefresh)
  kBadSignature,          // signature does not verify
  kExpired,               // exp + skew <= now
  kNotYetValid,           // nbf - skew > now
  kIssuedInFuture,        // iat - skew > now
  kWrongIssuer,           // iss not accepted, or not the key's issuer
  kWrongAudience,         // no aud accepted
  kWrongTenant,           // tid not allowed, or not the tenant named in iss
  kGroupsOverage,         // groups left out of the token (_claim_names.groups / hasgroups)
  kNotAnAccessToken,      // neither roles nor scp, or a typ other than JWT / at+jwt
  kMissingClaim,          // a required header parameter or claim is absent
};

// The enumerator's name without the k: "none", "malformed", "too_large", ... (for logs,
// counters and audit records).
std::string_view TokenErrorName(TokenError error);

}  // namespace jitgate::auth

#endif  // JITGATE_SRC_AUTH_TOKEN_ERROR_H_
