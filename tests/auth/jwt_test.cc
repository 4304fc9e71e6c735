// tests/auth/jwt_test.cc: compact JWS splitting, base64url and the bounded JSON parse
// (src/auth/jwt.h).
#include "src/auth/jwt.h"

#include <string>

#include "gtest/gtest.h"

namespace jitgate::auth {
namespace {

std::string B64(std::string_view text) { return Base64UrlEncode(text); }

std::string Token(std::string_view header, std::string_view payload, std::string_view sig = "s") {
  return B64(header) + "." + B64(payload) + "." + B64(sig);
}

TokenError Decode(std::string_view token, std::string* message = nullptr, size_t size_max = 16384) {
  DecodedJwt jwt;
  std::string ignored;
  return DecodeJwt(token, size_max, &jwt, message != nullptr ? message : &ignored);
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    bytes.push_back(static_cast<char>(i * 37 + 250));
    std::string decoded;
    const std::string encoded = Base64UrlEncode(bytes);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    ASSERT_TRUE(Base64UrlDecode(encoded, &decoded)) << encoded;
    EXPECT_EQ(decoded, bytes);
  }
}

TEST(Base64UrlTest, RejectsNonCanonicalText) {
  std::string out;
  EXPECT_TRUE(Base64UrlDecode("", &out));
  EXPECT_TRUE(Base64UrlDecode("QQ", &out));
  EXPECT_EQ(out, "A");
  EXPECT_FALSE(Base64UrlDecode("QQ==", &out));  // padding
  EXPECT_FALSE(Base64UrlDecode("QR", &out));    // non-zero pad bits
  EXPECT_FALSE(Base64UrlDecode("Q", &out));     // 1 mod 4
  EXPECT_FALSE(Base64UrlDecode("a+b/", &out));  // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("ab c", &out));
  EXPECT_FALSE(Base64UrlDecode(std::string("ab\0c", 4), &out));
}

TEST(DecodeJwtTest, DecodesThreeSegments) {
  const std::string token =
      Token(R"({"alg":"RS256","kid":"k"})", R"({"sub":"x","n":[1,{"a":2}]})", "sig-bytes");
  DecodedJwt jwt;
  std::string message;
  ASSERT_EQ(DecodeJwt(token, 16384, &jwt, &message), TokenError::kNone) << message;
  EXPECT_EQ(jwt.header.at("kid").get<std::string>(), "k");
  EXPECT_EQ(jwt.payload.at("sub").get<std::string>(), "x");
  EXPECT_EQ(jwt.signature, "sig-bytes");
  EXPECT_EQ(jwt.signing_input, token.substr(0, token.rfind('.')));
}

TEST(DecodeJwtTest, RejectsWrongSegmentCounts) {
  std::string message;
  const std::string h = B64(R"({"alg":"RS256"})");
  const std::string p = B64("{}");
  EXPECT_EQ(Decode(h + "." + p, &message), TokenError::kMalformed);
  EXPECT_EQ(Decode(h + "." + p + ".c.d.e", &message), TokenError::kMalformed);
  EXPECT_NE(message.find("JWE"), std::string::npos) << message;
  EXPECT_EQ(Decode(h + "." + p + ".c.d", &message), TokenError::kMalformed);
  EXPECT_EQ(Decode("", &message), TokenError::kMalformed);
  EXPECT_EQ(Decode("...", &message), TokenError::kMalformed);
}

TEST(DecodeJwtTest, RejectsEmptySegmentsAndBadBase64) {
  const std::string h = B64(R"({"alg":"RS256"})");
  const std::string p = B64("{}");
  std::string message;
  EXPECT_EQ(Decode(h + "." + p + ".", &message), TokenError::kMalformed);  // unsigned
  EXPECT_NE(message.find("signature segment is empty"), std::string::npos) << message;
  EXPECT_EQ(Decode("." + p + ".c2ln"), TokenError::kMalformed);
  EXPECT_EQ(Decode(h + "==." + p + ".c2ln"), TokenError::kMalformed);
  EXPECT_EQ(Decode(h + "." + p + ".c2ln="), TokenError::kMalformed);
  EXPECT_EQ(Decode(h + "." + p + ".c2l+"), TokenError::kMalformed);
  EXPECT_EQ(Decode(h + "." + p + ".c2l*"), TokenError::kMalformed);
}

TEST(DecodeJwtTest, RejectsTooLargeBeforeLookingAtIt) {
  std::string message;
  EXPECT_EQ(Decode(std::string(64 * 1024, 'A'), &message), TokenError::kTooLarge);
  EXPECT_NE(message.find("65536 bytes"), std::string::npos) << message;
  const std::string token = Token(R"({"alg":"RS256"})", "{}");
  EXPECT_EQ(Decode(token, nullptr, token.size()), TokenError::kNone);
  EXPECT_EQ(Decode(token, nullptr, token.size() - 1), TokenError::kTooLarge);
}

TEST(DecodeJwtTest, RejectsBadJson) {
  std::string message;
  EXPECT_EQ(Decode(Token(R"({"alg":"RS256","alg":"none"})", "{}"), &message),
            TokenError::kMalformed);
  EXPECT_NE(message.find("twice"), std::string::npos) << message;
  EXPECT_EQ(Decode(Token(R"({"alg":"RS256"})", R"({"exp":1,"exp":2})"), &message),
            TokenError::kMalformed);
  EXPECT_EQ(Decode(Token(R"(["alg"])", "{}"), &message), TokenError::kMalformed);
  EXPECT_NE(message.find("not a JSON object"), std::string::npos) << message;
  EXPECT_EQ(Decode(Token(R"({"alg":"RS256"})", "42"), &message), TokenError::kMalformed);
  EXPECT_EQ(Decode(Token(R"({"alg":"RS256"})", "{} x"), &message), TokenError::kMalformed);
  EXPECT_EQ(Decode(Token(R"({"alg":)", "{}"), &message), TokenError::kMalformed);
  EXPECT_EQ(Decode(Token(R"({"alg":"RS256"})", R"({"a":1e999})"), &message),
            TokenError::kMalformed);
}

TEST(DecodeJwtTest, BoundsNesting) {
  // Depth 8 (the top-level object counts) is accepted, depth 9 is not, depth 1000 fails cleanly.
  const auto nested = [](int depth) {
    std::string json = "{\"a\":";
    for (int i = 1; i < depth; ++i) {
      json += "[";
    }
    json += "1";
    for (int i = 1; i < depth; ++i) {
      json += "]";
    }
    return json + "}";
  };
  std::string message;
  EXPECT_EQ(Decode(Token(R"({"alg":"RS256"})", nested(8)), &message), TokenError::kNone) << message;
  EXPECT_EQ(Decode(Token(R"({"alg":"RS256"})", nested(9)), &message), TokenError::kMalformed);
  EXPECT_NE(message.find("deeper than 8"), std::string::npos) << message;
  EXPECT_EQ(Decode(Token(R"({"alg":"RS256"})", nested(1000)), &message, 1 << 20),
            TokenError::kMalformed);
}

TEST(QuoteTest, EscapesAndCaps) {
  EXPECT_EQ(Quote("ab\"c\n"), "\"ab\\\"c\\x0a\"");
  const std::string quoted = Quote(std::string(500, 'x'));
  EXPECT_EQ(quoted, "\"" + std::string(64, 'x') + "...\"");
}

TEST(TokenErrorNameTest, NamesEveryValue) {
  EXPECT_EQ(TokenErrorName(TokenError::kNone), "none");
  EXPECT_EQ(TokenErrorName(TokenError::kGroupsOverage), "groups_overage");
  EXPECT_EQ(TokenErrorName(TokenError::kMissingClaim), "missing_claim");
}

}  // namespace
}  // namespace jitgate::auth
