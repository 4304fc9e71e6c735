// src/auth/jwt.cc: see jwt.h. JSON goes through src/config's bounded reader (no repeated keys,
// depth <= 16, finite numbers); the tighter JWT depth limit is checked on the tree it returns.
#include "src/auth/jwt.h"

#include <array>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "src/config/json_reader.h"

namespace jitgate::auth {
namespace {

// A compact JWS has exactly this many '.'-separated segments (RFC 7515 s7.1); a JWE has 5.
constexpr size_t kJwsSegmentCount = 3;

// Longest JSON-reader message echoed: its own text plus at most 64 characters of the input.
constexpr size_t kJsonMessageSizeMax = 160;

constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0..63 for each alphabet character, 0xff for every other byte.
constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table) {
    entry = 0xff;
  }
  for (uint8_t i = 0; i < 64; ++i) {
    table[static_cast<uint8_t>(kBase64UrlAlphabet[i])] = i;
  }
  return table;
}
constexpr std::array<uint8_t, 256> kDecodeTable = MakeDecodeTable();

absl::string_view Absl(std::string_view v) { return absl::string_view(v.data(), v.size()); }

// Depth of `value`: 0 for scalars, 1 + the deepest child for arrays and objects. The reader
// already bounds the recursion at 16 levels.
uint32_t JsonDepth(const picojson::value& value) {
  uint32_t child_max = 0;
  if (value.is<picojson::array>()) {
    for (const picojson::value& item : value.get<picojson::array>()) {
      child_max = std::max(child_max, JsonDepth(item));
    }
    return child_max + 1;
  }
  if (value.is<picojson::object>()) {
    for (const auto& [key, item] : value.get<picojson::object>()) {
      child_max = std::max(child_max, JsonDepth(item));
    }
    return child_max + 1;
  }
  return 0;
}

}  // namespace

std::string_view TokenErrorName(TokenError error) {
  switch (error) {
    case TokenError::kNone:
      return "none";
    case TokenError::kMalformed:
      return "malformed";
    case TokenError::kTooLarge:
      return "too_large";
    case TokenError::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case TokenError::kUnknownKey:
      return "unknown_key";
    case TokenError::kBadSignature:
      return "bad_signature";
    case TokenError::kExpired:
      return "expired";
    case TokenError::kNotYetValid:
      return "not_yet_valid";
    case TokenError::kIssuedInFuture:
      return "issued_in_future";
    case TokenError::kWrongIssuer:
      return "wrong_issuer";
    case TokenError::kWrongAudience:
      return "wrong_audience";
    case TokenError::kWrongTenant:
      return "wrong_tenant";
    case TokenError::kGroupsOverage:
      return "groups_overage";
    case TokenError::kNotAnAccessToken:
      return "not_an_access_token";
    case TokenError::kMissingClaim:
      return "missing_claim";
  }
  return "unknown";
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() % 4 == 1) {
    return false;
  }
  out->reserve(in.size() / 4 * 3 + 2);
  uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : in) {
    const uint8_t sextet = kDecodeTable[static_cast<uint8_t>(c)];
    if (sextet == 0xff) {
      return false;
    }
    bits = (bits << 6) | sextet;
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out->push_back(static_cast<char>((bits >> bit_count) & 0xff));
    }
  }
  // Left-over bits (2 or 4) are padding and must be zero, or two encodings would decode alike.
  return (bits & ((1u << bit_count) - 1)) == 0;
}

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : in) {
    bits = (bits << 8) | static_cast<uint8_t>(c);
    bit_count += 8;
    while (bit_count >= 6) {
      bit_count -= 6;
      out.push_back(kBase64UrlAlphabet[(bits >> bit_count) & 0x3f]);
    }
  }
  if (bit_count > 0) {
    out.push_back(kBase64UrlAlphabet[(bits << (6 - bit_count)) & 0x3f]);
  }
  return out;
}

std::string Quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  size_t shown = 0;
  for (const char c : text) {
    if (shown == kQuotedLengthMax) {
      out += "...";
      break;
    }
    const auto byte = static_cast<uint8_t>(c);
    if (byte == '"' || byte == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
    ++shown;
  }
  out.push_back('"');
  return out;
}

bool ParseJsonObject(std::string_view json, std::string_view what, picojson::object* out,
                     std::string* message) {
  absl::StatusOr<picojson::value> value = config::internal::ReadJson(Absl(json), Absl(what));
  if (!value.ok()) {
    absl::string_view text = value.status().message();
    *message = std::string(text.substr(0, kJsonMessageSizeMax));
    return false;
  }
  if (!value->is<picojson::object>()) {
    *message = absl::StrCat(Absl(what), " is not a JSON object");
    return false;
  }
  if (JsonDepth(*value) > kJwtJsonDepthMax) {
    *message =
        absl::StrCat(Absl(what), " nests deeper than ", kJwtJsonDepthMax, " objects and arrays");
    return false;
  }
  *out = std::move(value->get<picojson::object>());
  return true;
}

TokenError DecodeJwt(std::string_view token, size_t token_size_max, DecodedJwt* out,
                     std::string* message) {
  if (token.size() > token_size_max) {
    *message = absl::StrCat("token is ", token.size(), " bytes; the limit is ", token_size_max);
    return TokenError::kTooLarge;
  }
  std::array<std::string_view, kJwsSegmentCount> segments;
  size_t segment_count = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = token.find('.', start);
    const std::string_view segment =
        token.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (segment_count < kJwsSegmentCount) {
      segments[segment_count] = segment;
    }
    ++segment_count;
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  if (segment_count != kJwsSegmentCount) {
    *message = segment_count == 5
                   ? std::string("token has 5 segments (an encrypted JWE); a signed JWS has 3")
                   : absl::StrCat("token has ", segment_count, " segments; a JWS has 3");
    return TokenError::kMalformed;
  }
  static constexpr std::string_view kSegmentNames[] = {"header", "payload", "signature"};
  std::array<std::string, kJwsSegmentCount> decoded;
  for (size_t i = 0; i < kJwsSegmentCount; ++i) {
    if (segments[i].empty()) {
      *message = absl::StrCat("token ", Absl(kSegmentNames[i]), " segment is empty");
      return TokenError::kMalformed;
    }
    if (!Base64UrlDecode(segments[i], &decoded[i])) {
      *message =
          absl::StrCat("token ", Absl(kSegmentNames[i]), " segment is not unpadded base64url");
      return TokenError::kMalformed;
    }
  }
  if (!ParseJsonObject(decoded[0], "header", &out->header, message) ||
      !ParseJsonObject(decoded[1], "payload", &out->payload, message)) {
    return TokenError::kMalformed;
  }
  out->signing_input = token.substr(0, segments[0].size() + 1 + segments[1].size());
  out->signature = std::move(decoded[2]);
  return TokenError::kNone;
}

}  // namespace jitgate::auth
