// src/auth/jwt.h: compact JWS (RFC 7515) splitting and decoding, and base64url (RFC 4648 s5).
//
// Called by the Validator on shard threads for every token that misses the token cache, and by
// the JWKS parser and the dev-token minter on the control plane. Pure functions: no I/O, no
// globals, never throws. The token is attacker-controlled: every length is bounded before it is
// used, and DecodeJwt accepts only the canonical form (3 non-empty segments, unpadded base64url
// with zero pad bits, JSON objects without repeated keys, at most kJwtJsonDepthMax deep).
#ifndef JITGATE_SRC_AUTH_JWT_H_
#define JITGATE_SRC_AUTH_JWT_H_

// picojson's value layout depends on PICOJSON_USE_INT64; every includer must agree.
#ifndef PICOJSON_USE_INT64
#error "build with picojson_dep from the root meson.build (it defines PICOJSON_USE_INT64)"
#endif

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "picojson.h"
#include "src/auth/token_error.h"

namespace jitgate::auth {

// A JWT header or payload nests objects and arrays at most this deep (the top-level object is
// depth 1). Entra tokens use 3 (_claim_sources.src1.endpoint); 8 leaves room without letting a
// hostile token make the JSON walk deep.
inline constexpr uint32_t kJwtJsonDepthMax = 8;

// Values echoed in messages are cut to this many characters.
inline constexpr size_t kQuotedLengthMax = 64;

// A decoded compact JWS. `signing_input` borrows from the token passed to DecodeJwt.
struct DecodedJwt {
  std::string_view signing_input;  // "<header b64>.<payload b64>", the bytes that were signed
  std::string signature;           // decoded third segment
  picojson::object header;
  picojson::object payload;
};

// Splits `token` into exactly three base64url segments, decodes them and parses the first two as
// JSON objects. Returns kNone and fills `out`, or kTooLarge (token.size() > token_size_max) or
// kMalformed with `message` saying what was wrong (never echoing the token).
TokenError DecodeJwt(std::string_view token, size_t token_size_max, DecodedJwt* out,
                     std::string* message);

// Parses `json` as one JSON object: no repeated keys, depth <= kJwtJsonDepthMax, nothing after it.
// `what` names the text in the message ("header", "payload"). False with `message` on error.
bool ParseJsonObject(std::string_view json, std::string_view what, picojson::object* out,
                     std::string* message);

// Unpadded base64url. Decode rejects '=', characters outside [A-Za-z0-9_-], a length of 1 mod 4
// and non-zero pad bits (so each byte string has exactly one encoding).
bool Base64UrlDecode(std::string_view in, std::string* out);
std::string Base64UrlEncode(std::string_view in);

// `text` in double quotes, non-printable bytes as \xNN, cut to kQuotedLengthMax characters
// (a cut ends in ...). Every claim value a message echoes goes through this.
std::string Quote(std::string_view text);

}  // namespace jitgate::auth

#endif  // JITGATE_SRC_AUTH_JWT_H_
