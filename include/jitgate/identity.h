// jitgate/identity.h: who an agent is, as established from a validated access token.
//
// Produced by src/auth (the JWT validator) on a shard thread at authentication time; read by
// src/policy (matching a policy), src/grants (recording a grant) and the session (audit, logs).
// Immutable once built: sessions share one through a shared_ptr<const Identity>, so a token cache
// hit costs no copy. Strings are the claim values exactly as the token carried them.
#ifndef JITGATE_IDENTITY_H_
#define JITGATE_IDENTITY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace jitgate {

struct Identity {
  // The principal's immutable id: `oid` (user or service principal object id). App-only tokens
  // without an `oid` fall back to the client application id (`azp`, v1 `appid`).
  std::string subject;
  std::string tenant;     // `tid`
  std::string app_id;     // `azp` (v2) / `appid` (v1): the client application
  std::string issuer;     // `iss`, exactly as validated
  std::string token_id;   // `uti` (or `jti`): audit correlation only, never authorization
  bool app_only = false;  // `idtyp` == "app", or `roles` without `scp`
  std::vector<std::string> groups;  // `groups`: object ids
  std::vector<std::string> roles;   // `roles`: app roles
  std::vector<std::string> scopes;  // `scp`, split on spaces
  int64_t expires_at_s = 0;         // `exp`, seconds since the Unix epoch
  int64_t not_before_s = 0;         // `nbf` (0 when absent)
  int64_t issued_at_s = 0;          // `iat` (0 when absent)
};

}  // namespace jitgate

#endif  // JITGATE_IDENTITY_H_
