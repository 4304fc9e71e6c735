// src/auth/validator.h: decides whether an OIDC / Entra ID access token is good and whom it names.
//
// A Validator is built on the control plane from config and the KeyProvider, then called on shard
// threads concurrently (Validate is const, reads only immutable options and the provider's current
// KeySet, and allocates only for the verdict). Rules are PROTOCOLS.md 1.8/1.9: RS256 / ES256 only,
// bound to the key's type (never to the token's say-so), kid looked up in memory only, jku/x5u/
// jwk/x5c ignored, crit refused; signature first, then time, issuer, tenant, audience and type
// claims. A verdict's message says what was wrong, echoing at most kQuotedLengthMax characters of
// any claim and never the token or its signature.
#ifndef JITGATE_SRC_AUTH_VALIDATOR_H_
#define JITGATE_SRC_AUTH_VALIDATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "jitgate/identity.h"
#include "src/auth/keys.h"
#include "src/auth/token_error.h"

namespace jitgate::auth {

struct ValidatorOptions {
  // Accepted `iss` values, exact match. An entry may contain "{tenantid}", replaced by the token's
  // `tid` before comparing (multi-tenant). Entra v1 "https://sts.windows.net/{tid}/" and v2
  // "https://login.microsoftonline.com/{tid}/v2.0" both work when listed.
  std::vector<std::string> issuers;
  // Accepted `aud` values; the token's aud (string or array) must contain one of them.
  std::vector<std::string> audiences;
  // Allowed `tid` values; empty = any tenant (then `tid` is optional).
  std::vector<std::string> tenants;
  int64_t clock_skew_s = 60;
  size_t token_size_max = 16384;
  // Refuse tokens with neither `roles` nor `scp` (ID tokens, tokens for other purposes).
  bool require_roles_or_scp = true;
};

// Ok, or InvalidArgumentError when `options` cannot accept any token or has out-of-range limits.
absl::Status CheckValidatorOptions(const ValidatorOptions& options);

struct Verdict {
  TokenError error = TokenError::kNone;
  std::string message;                       // empty when error == kNone
  std::shared_ptr<const Identity> identity;  // set exactly when error == kNone
};

class Validator {
 public:
  // `keys` must outlive the Validator.
  Validator(ValidatorOptions options, const KeyProvider* keys);

  // Validates `token` at `now_s` (seconds since the Unix epoch). On kUnknownKey the caller may
  // call KeyProvider::RequestRefresh and retry once generation() has moved.
  Verdict Validate(std::string_view token, int64_t now_s) const;

  const ValidatorOptions& options() const { return options_; }

 private:
  const ValidatorOptions options_;
  const KeyProvider* const keys_;
};

}  // namespace jitgate::auth

#endif  // JITGATE_SRC_AUTH_VALIDATOR_H_
