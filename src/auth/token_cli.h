// src/auth/token_cli.h: `jitgate token keygen|mint`, development keys and tokens for local runs
// and tests (never a production credential: the key is a plain file and tokens are self-issued).
//
// Called by src/main.cc for `jitgate token ...` and by tests/auth/jg_token_main.cc. Writes the
// token to stdout and messages to stderr. Exit codes: 0 done, 1 failed (I/O, crypto), 2 usage.
#ifndef JITGATE_SRC_AUTH_TOKEN_CLI_H_
#define JITGATE_SRC_AUTH_TOKEN_CLI_H_

namespace jitgate::auth {

// argv[0] is "token"; argv[1] the subcommand:
//   keygen --dir DIR
//       DIR/dev-key.pem (RSA 2048, PKCS#8, mode 0600) and DIR/jwks.json (its public key, kid = the
//       RFC 7638 thumbprint). Refuses to replace an existing dev-key.pem.
//   mint --dev-key PATH --issuer ISS --audience AUD [--tenant TID] [--subject OID]
//        [--app-id ID] [--role R]... [--group G]... [--scope S]... [--ttl-s N] [--nbf-s OFFSET]
//        [--iat-s OFFSET] [--now-s EPOCH] [--kid KID] [--claim name=json]... [--drop-claim NAME]...
//        [--header name=json]... [--drop-header NAME]...
//       An RS256 token shaped like an Entra v2 app-only token. "{tenantid}" in ISS becomes TID.
int RunTokenCommand(int argc, char** argv);

}  // namespace jitgate::auth

#endif  // JITGATE_SRC_AUTH_TOKEN_CLI_H_
