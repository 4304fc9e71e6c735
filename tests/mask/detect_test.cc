// tests/mask/detect_test.cc: the content detectors of src/mask/detect.h: every detector's
// positive and negative shapes, the checksums, token boundaries, the leftmost-longest rule when
// detectors overlap, adjacent spans, the spans_max overflow contract and ContainsSensitive.
#include "src/mask/detect.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace jitgate::mask {
namespace {

using Found = std::vector<std::pair<std::string, Detector>>;

Found Find(std::string_view text, DetectorSet set = kAllDetectors) {
  DetectedSpan spans[64];
  const size_t count = FindSensitive(text, set, spans, 64);
  EXPECT_LE(count, 64u);
  Found found;
  uint32_t last_end = 0;
  for (size_t k = 0; k < count; ++k) {
    EXPECT_LE(last_end, spans[k].begin);
    EXPECT_LT(spans[k].begin, spans[k].end);
    EXPECT_LE(spans[k].end, text.size());
    last_end = spans[k].end;
    found.emplace_back(std::string(text.substr(spans[k].begin, spans[k].end - spans[k].begin)),
                       spans[k].detector);
  }
  EXPECT_EQ(ContainsSensitive(text, set), count > 0) << text;
  return found;
}

Found One(std::string_view match, Detector detector) { return {{std::string(match), detector}}; }

TEST(DetectorNames, RoundTrip) {
  for (size_t d = 0; d < kDetectorCount; ++d) {
    const Detector detector = static_cast<Detector>(d);
    EXPECT_EQ(DetectorFromName(DetectorName(detector)), detector);
  }
  EXPECT_EQ(DetectorName(Detector::kIban), "iban");
  EXPECT_FALSE(DetectorFromName("Email").has_value());
  EXPECT_FALSE(DetectorFromName("").has_value());
}

TEST(Luhn, ValidAndInvalid) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_TRUE(LuhnValid("5555555555554444"));
  EXPECT_TRUE(LuhnValid("378282246310005"));
  EXPECT_TRUE(LuhnValid("0"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
  EXPECT_FALSE(LuhnValid("4111-1111-1111-1111"));
  EXPECT_FALSE(LuhnValid(""));
  EXPECT_FALSE(LuhnValid("41111111111111a1"));
}

TEST(Iban, ValidAndInvalid) {
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_TRUE(IbanValid("DE89370400440532013000"));
  EXPECT_TRUE(IbanValid("gb82west12345698765432"));
  EXPECT_TRUE(IbanValid("FR1420041010050500013M02606"));
  EXPECT_TRUE(IbanValid("NO9386011117947"));
  EXPECT_FALSE(IbanValid("GB83WEST12345698765432"));  // altered check digits
  EXPECT_FALSE(IbanValid("DE88370400440532013000"));
  EXPECT_FALSE(IbanValid("DE8937040044053201300"));   // a digit short for DE (22)
  EXPECT_FALSE(IbanValid("GB82 WEST 1234 5698 7654 32"));  // not compact
  EXPECT_FALSE(IbanValid("1B82WEST12345698765432"));
  EXPECT_FALSE(IbanValid(""));
}

TEST(Email, Positives) {
  EXPECT_EQ(Find("contact john.doe@example.com today"), One("john.doe@example.com", Detector::kEmail));
  EXPECT_EQ(Find("a+tag_1%x@mail.co.uk."), One("a+tag_1%x@mail.co.uk", Detector::kEmail));
  EXPECT_EQ(Find("<x@sub-domain.example.org>"), One("x@sub-domain.example.org", Detector::kEmail));
  EXPECT_EQ(Find("email=john@x.io"), One("john@x.io", Detector::kEmail));
  EXPECT_EQ(Find("a@b.com,c@d.net"), (Found{{"a@b.com", Detector::kEmail}, {"c@d.net", Detector::kEmail}}));
  // A trailing label that is not a TLD is left off; the address before it is still found.
  EXPECT_EQ(Find("bob@host.example.com.123"), One("bob@host.example.com", Detector::kEmail));
}

TEST(Email, Negatives) {
  EXPECT_TRUE(Find("user@localhost").empty());
  EXPECT_TRUE(Find("user@example.c").empty());       // one-letter TLD
  EXPECT_TRUE(Find("user@example.c0m").empty());     // TLD with a digit
  EXPECT_TRUE(Find("@example.com").empty());
  EXPECT_TRUE(Find("user.@example.com").empty());
  EXPECT_TRUE(Find("user@-example.com").empty());
  EXPECT_TRUE(Find("user@example.com_x").empty());
  EXPECT_TRUE(Find("price @ 5.00").empty());
  EXPECT_TRUE(Find(std::string(65, 'a') + "@example.com").empty());  // local part > 64
  EXPECT_TRUE(Find("a@b.com", DetectorBit(Detector::kCard)).empty());
}

TEST(Email, DotAtomPieces) {
  EXPECT_EQ(Find("..john@example.com"), One("john@example.com", Detector::kEmail));
  EXPECT_EQ(Find("a..b@example.com"), One("b@example.com", Detector::kEmail));
  EXPECT_EQ(Find(std::string(64, 'a') + "@example.com").size(), 1u);
}

TEST(Card, Positives) {
  EXPECT_EQ(Find("card 4111111111111111 ok"), One("4111111111111111", Detector::kCard));
  EXPECT_EQ(Find("4111-1111-1111-1111"), One("4111-1111-1111-1111", Detector::kCard));
  EXPECT_EQ(Find("4111 1111 1111 1111."), One("4111 1111 1111 1111", Detector::kCard));
  EXPECT_EQ(Find("amex 3782 822463 10005"), One("3782 822463 10005", Detector::kCard));
  EXPECT_EQ(Find("378282246310005"), One("378282246310005", Detector::kCard));
  EXPECT_EQ(Find("(5555555555554444)"), One("5555555555554444", Detector::kCard));
  // A trailing space-separated group that breaks the checksum is left out.
  EXPECT_EQ(Find("4111 1111 1111 1111 2024"), One("4111 1111 1111 1111", Detector::kCard));
}

TEST(Card, Negatives) {
  EXPECT_TRUE(Find("4111111111111112").empty());             // Luhn
  EXPECT_TRUE(Find("4111-1111-1111-1112").empty());
  EXPECT_TRUE(Find("41111111111111110000000000").empty());   // inside a longer run
  EXPECT_TRUE(Find("x4111111111111111").empty());
  EXPECT_TRUE(Find("4111111111111111x").empty());
  EXPECT_TRUE(Find("ORD-4111111111111111").empty());
  EXPECT_TRUE(Find("0000000000000000").empty());             // zero first digit
  EXPECT_TRUE(Find("12345678903").empty());                  // 11 digits, Luhn-valid
  EXPECT_TRUE(Find("1.4111111111111111").empty());
  EXPECT_TRUE(Find("4111111111111111.5").empty());
  EXPECT_TRUE(Find("4111--1111-1111-1111").empty());
  EXPECT_TRUE(Find("4111-1111 1111-1111").empty());          // mixed separators
  EXPECT_TRUE(Find("4111-1111-1111-1111-2024").empty());     // the dash joins one longer id
  EXPECT_TRUE(Find("4111111111111111", DetectorBit(Detector::kEmail)).empty());
}

TEST(Ssn, PositivesAndRules) {
  EXPECT_EQ(Find("ssn 123-45-6789"), One("123-45-6789", Detector::kSsn));
  EXPECT_EQ(Find("ssn: 123 45 6789"), One("123 45 6789", Detector::kSsn));
  EXPECT_EQ(Find("SSN:123456789"), One("123456789", Detector::kSsn));
  EXPECT_TRUE(Find("123456789").empty());           // a bare 9-digit id: no context word
  EXPECT_TRUE(Find("order 123456789").empty());
  EXPECT_EQ(Find("665-01-0001"), One("665-01-0001", Detector::kSsn));
  EXPECT_EQ(Find("899-99-9999"), One("899-99-9999", Detector::kSsn));
  EXPECT_TRUE(Find("000-12-3456").empty());
  EXPECT_TRUE(Find("666-12-3456").empty());
  EXPECT_TRUE(Find("900-12-3456").empty());
  EXPECT_TRUE(Find("999-12-3456").empty());
  EXPECT_TRUE(Find("123-00-4567").empty());
  EXPECT_TRUE(Find("123-45-0000").empty());
  EXPECT_TRUE(Find("000123456").empty());
  EXPECT_TRUE(Find("1234567890").empty());    // 10 bare digits
  EXPECT_TRUE(Find("123-45-67890").empty());
  EXPECT_TRUE(Find("123-45 6789").empty());   // mixed separators
  EXPECT_TRUE(Find("ORD-123456789").empty());
  EXPECT_TRUE(Find("123-45-6789", DetectorBit(Detector::kPhone)).empty());
}

TEST(Phone, E164) {
  EXPECT_EQ(Find("call +14155552671 now"), One("+14155552671", Detector::kPhone));
  EXPECT_EQ(Find("+44 20 7946 0958"), One("+44 20 7946 0958", Detector::kPhone));
  EXPECT_EQ(Find("+1 (555) 123-4567."), One("+1 (555) 123-4567", Detector::kPhone));
  EXPECT_EQ(Find("+49-30-1234567"), One("+49-30-1234567", Detector::kPhone));
  EXPECT_TRUE(Find("+1234567").empty());                 // 7 digits
  EXPECT_TRUE(Find("+1234567890123456").empty());        // 16 digits
  EXPECT_TRUE(Find("+0123456789").empty());
  EXPECT_TRUE(Find("x+14155552671").empty());
  EXPECT_TRUE(Find("+14155552671x").empty());
  EXPECT_TRUE(Find("+ 14155552671").empty());
}

TEST(Phone, NorthAmerican) {
  EXPECT_EQ(Find("(415) 555-2671"), One("(415) 555-2671", Detector::kPhone));
  EXPECT_EQ(Find("(415)555-2671"), One("(415)555-2671", Detector::kPhone));
  EXPECT_EQ(Find("tel 415-555-2671"), One("415-555-2671", Detector::kPhone));
  EXPECT_EQ(Find("415.555.2671"), One("415.555.2671", Detector::kPhone));
  EXPECT_EQ(Find("1-800-555-0199"), One("1-800-555-0199", Detector::kPhone));
  EXPECT_TRUE(Find("4155552671").empty());       // bare 10 digits: a plain number
  EXPECT_TRUE(Find("415 555 2671").empty());     // spaces only: too many number lists look so
  EXPECT_TRUE(Find("115-555-2671").empty());     // area starts with 1
  EXPECT_TRUE(Find("415-155-2671").empty());     // exchange starts with 1
  EXPECT_TRUE(Find("415-555.2671").empty());
  EXPECT_TRUE(Find("415-555-26712").empty());
  EXPECT_TRUE(Find("415-555-2671-9").empty());
}

TEST(FalsePositives, DatesIdsVersionsNumbers) {
  for (std::string_view text : {
           "2024-01-15", "2024-01-15T10:30:00Z", "15/01/2024", "12:30:45", "order 12345678901",
           "ORD-2024-000123", "v1.2.3", "version 10.15.7.1234", "3.14159265358979",
           "id 98765432101", "total 1234567.89", "ip 192.168.100.200", "SKU-555-123-4567",
           "invoice #INV-20240115-0042", "2024-01-15 10:30:00.123456+00", "1,234,567,890",
           "lat 37.7749295 lon -122.4194155", "port 5432", "uuid 123e4567-e89b-12d3-a456-426614174000",
           "see RFC 5322 and ISO 8601", "Ubuntu 22.04.3 LTS", "build 20240115.1234567890",
       }) {
    EXPECT_TRUE(Find(text).empty()) << text;
  }
}

TEST(IbanDetect, CompactAndGrouped) {
  EXPECT_EQ(Find("pay GB82WEST12345698765432 now"), One("GB82WEST12345698765432", Detector::kIban));
  EXPECT_EQ(Find("DE89370400440532013000"), One("DE89370400440532013000", Detector::kIban));
  EXPECT_EQ(Find("IBAN: GB82 WEST 1234 5698 7654 32."), One("GB82 WEST 1234 5698 7654 32", Detector::kIban));
  EXPECT_EQ(Find("DE89 3704 0044 0532 0130 00 EUR"), One("DE89 3704 0044 0532 0130 00", Detector::kIban));
  EXPECT_TRUE(Find("GB83WEST12345698765432").empty());
  EXPECT_TRUE(Find("DE88370400440532013000").empty());
  EXPECT_TRUE(Find("DE893704004405320130001").empty());   // one too many for DE
  EXPECT_TRUE(Find("XGB82WEST12345698765432").empty());
  EXPECT_TRUE(Find("GB82WEST12345698765432x").empty());
  EXPECT_TRUE(Find("gb82west12345698765432").empty());    // text scan wants upper case
  EXPECT_TRUE(Find("GB82 WEST 1234 5698 7654 33").empty());
}

TEST(Secret, KeyPrefixes) {
  const std::string akia = "AKIAIOSFODNN7EXAMPLE";
  EXPECT_EQ(Find("key=" + akia + ";"), One(akia, Detector::kSecret));
  EXPECT_EQ(Find("ASIAIOSFODNN7EXAMPLE"), One("ASIAIOSFODNN7EXAMPLE", Detector::kSecret));
  EXPECT_TRUE(Find("AKIAIOSFODNN7EXAMPL").empty());     // 15 after the prefix
  EXPECT_TRUE(Find("AKIAIOSFODNN7EXAMPLEX").empty());   // 17
  EXPECT_TRUE(Find("AKIAIOSFODNN7EXAMPLe").empty());
  EXPECT_TRUE(Find("XAKIAIOSFODNN7EXAMPLE").empty());

  const std::string ghp = "ghp_" + std::string("aBcD1234eFgH5678iJkL9012mNoP3456qRsT");
  EXPECT_EQ(Find("token " + ghp), One(ghp, Detector::kSecret));
  EXPECT_EQ(Find("gho_" + ghp.substr(4)).size(), 1u);
  EXPECT_EQ(Find("ghs_" + ghp.substr(4)).size(), 1u);
  EXPECT_TRUE(Find("ghp_short123").empty());
  EXPECT_TRUE(Find("ghx_" + ghp.substr(4)).empty());
  const std::string pat = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(Find(pat), One(pat, Detector::kSecret));

  EXPECT_EQ(Find("sk_live_4eC39HqLyjWDarjtT1zdp7dc").size(), 1u);
  EXPECT_EQ(Find("sk_test_4eC39HqLyjWDarjtT1zdp7dc").size(), 1u);
  EXPECT_EQ(Find("rk_live_4eC39HqLyjWDarjtT1zdp7dc").size(), 1u);
  EXPECT_TRUE(Find("sk_live_short").empty());
  EXPECT_TRUE(Find("disk_live_4eC39HqLyjWDarjtT1zdp7dc").empty());
  EXPECT_EQ(Find("xoxb-123456789012-abcdefABCDEF").size(), 1u);
  EXPECT_TRUE(Find("xoxz-123456789012-abcdefABCDEF").empty());
  EXPECT_EQ(Find("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"), One("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", Detector::kSecret));
  EXPECT_TRUE(Find("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQ").empty());
  EXPECT_EQ(Find("glpat-xxxxxxxxxxxxxxxxxxxx").size(), 1u);
  EXPECT_EQ(Find("npm_abcdefghijklmnopqrstuvwxyz0123456789").size(), 1u);
  EXPECT_TRUE(Find("npm_install").empty());
  // Ordinary words that start like a prefix.
  EXPECT_TRUE(Find("AKIA is a prefix; ghp_ too; skill rk_ xox eyJ npm_").empty());
}

TEST(Secret, Jwt) {
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  EXPECT_EQ(Find("Authorization: Bearer " + jwt + " end"), One(jwt, Detector::kSecret));
  const std::string unsigned_jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.";
  EXPECT_EQ(Find(unsigned_jwt), One(unsigned_jwt, Detector::kSecret));
  EXPECT_TRUE(Find("eyJhbGciOiJIUzI1NiJ9.notapayload.sig").empty());
  EXPECT_TRUE(Find("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0").empty());  // 2 parts
  EXPECT_TRUE(Find("keyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.x").empty());
}

TEST(Secret, PemPrivateKey) {
  const std::string block =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7v0a\nZm9vYmFy\n-----END RSA PRIVATE KEY-----";
  EXPECT_EQ(Find("key:\n" + block + "\ntrailer"), One(block, Detector::kSecret));
  const std::string pkcs8 = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----";
  EXPECT_EQ(Find(pkcs8), One(pkcs8, Detector::kSecret));
  EXPECT_EQ(Find("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk").size(), 1u);
  // Truncated: everything to the end of the text is the key.
  const std::string truncated = "x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE 4111111111111111";
  EXPECT_EQ(Find(truncated), One(truncated.substr(2), Detector::kSecret));
  EXPECT_TRUE(Find("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").empty());
  EXPECT_TRUE(Find("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----").empty());
  EXPECT_TRUE(Find("------BEGIN RSA PRIVATE KEY-----").empty());
}

TEST(Overlap, LeftmostLongest) {
  // The email starts where the card does and is longer.
  EXPECT_EQ(Find("4111111111111111@example.com"), One("4111111111111111@example.com", Detector::kEmail));
  EXPECT_EQ(Find("415-555-2671@example.com"), One("415-555-2671@example.com", Detector::kEmail));
  // No phone inside a card or an IBAN, no SSN inside a longer run.
  EXPECT_EQ(Find("4111-1111-1111-1111"), One("4111-1111-1111-1111", Detector::kCard));
  EXPECT_EQ(Find("DE89 3704 0044 0532 0130 00"), One("DE89 3704 0044 0532 0130 00", Detector::kIban));
  // With cards off, the same digits are not a phone either (no separators of a phone shape).
  EXPECT_TRUE(Find("4111-1111-1111-1111", DetectorBit(Detector::kPhone)).empty());
  // A PEM block swallows what it contains.
  EXPECT_EQ(Find("-----BEGIN PRIVATE KEY-----\na@b.com 123-45-6789\n-----END PRIVATE KEY-----").size(), 1u);
  // A match consumed up to the '@' of an address: the rest is found as its own address.
  EXPECT_EQ(Find("123-45-6789.x@example.com"),
            One("123-45-6789.x@example.com", Detector::kEmail));
}

TEST(Overlap, AdjacentAndMixed) {
  EXPECT_EQ(Find("a@b.com 4111111111111111 123-45-6789 +14155552671 GB82WEST12345698765432 "
                 "AKIAIOSFODNN7EXAMPLE"),
            (Found{{"a@b.com", Detector::kEmail},
                   {"4111111111111111", Detector::kCard},
                   {"123-45-6789", Detector::kSsn},
                   {"+14155552671", Detector::kPhone},
                   {"GB82WEST12345698765432", Detector::kIban},
                   {"AKIAIOSFODNN7EXAMPLE", Detector::kSecret}}));
  EXPECT_EQ(Find("{4111111111111111,5555555555554444}"),
            (Found{{"4111111111111111", Detector::kCard}, {"5555555555554444", Detector::kCard}}));
  EXPECT_EQ(Find("x@y.com;a@b.org"), (Found{{"x@y.com", Detector::kEmail}, {"a@b.org", Detector::kEmail}}));
  EXPECT_EQ(Find("\"123-45-6789\"\t\"415-555-2671\""),
            (Found{{"123-45-6789", Detector::kSsn}, {"415-555-2671", Detector::kPhone}}));
}

TEST(Spans, MaxOverflowCountsAll) {
  std::string text;
  for (int k = 0; k < 10; ++k) text += "a" + std::to_string(k) + "@example.com ";
  DetectedSpan spans[3];
  EXPECT_EQ(FindSensitive(text, kAllDetectors, spans, 3), 10u);
  EXPECT_EQ(text.substr(spans[2].begin, spans[2].end - spans[2].begin), "a2@example.com");
  EXPECT_EQ(FindSensitive(text, kAllDetectors, nullptr, 0), 10u);
  EXPECT_TRUE(ContainsSensitive(text, kAllDetectors));
  EXPECT_FALSE(ContainsSensitive(text, DetectorBit(Detector::kCard)));
  EXPECT_EQ(FindSensitive(text, 0, spans, 3), 0u);
}

TEST(Spans, EmptyAndBinary) {
  EXPECT_TRUE(Find("").empty());
  const char raw[] = "\0\xff\x80@\xc3\xa9.com\0" "4111111111111111";
  const std::string binary(raw, sizeof(raw) - 1);
  EXPECT_EQ(Find(binary), One("4111111111111111", Detector::kCard));
  // An internationalized local part is taken whole, never cut inside a character.
  EXPECT_EQ(Find("caf\xc3\xa9 jos\xc3\xa9@example.com"),
            One("jos\xc3\xa9@example.com", Detector::kEmail));
}

// The sweep works on 16-byte blocks: every shape is found at every offset, across block edges
// and in the scalar tail, and the byte before a block still decides a word start.
TEST(Spans, EveryOffsetAndBlockEdge) {
  const std::string matches[] = {"a@b.com", "4111111111111111", "123-45-6789", "+14155552671",
                                 "(415) 555-2671", "GB82WEST12345698765432", "AKIAIOSFODNN7EXAMPLE",
                                 "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "npm_abcdefghijklmnopqrstuvwxyz0123456789",
                                 "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----"};
  for (const std::string& match : matches) {
    for (size_t offset = 0; offset < 40; ++offset) {
      const std::string pad(offset, ' ');
      for (const std::string& tail : {std::string(), std::string(" and some more words after it"), std::string(40, ' ')}) {
        const std::string text = pad + match + tail;
        const Found found = Find(text);
        ASSERT_EQ(found.size(), 1u) << offset << " " << text;
        EXPECT_EQ(found[0].first, match);
      }
      // Glued to a word byte right before it: no match (for the shapes that need a boundary).
      if (match[0] != '-' && match[0] != '+' && match[0] != '(' && match.find('@') == std::string::npos) {
        EXPECT_TRUE(Find(std::string(offset, ' ') + "x" + match + "          ").empty()) << offset << match;
      }
    }
  }
}

TEST(Spans, EachDetectorAlone) {
  const std::string text =
      "a@b.com 4111111111111111 123-45-6789 +14155552671 GB82WEST12345698765432 AKIAIOSFODNN7EXAMPLE";
  for (size_t d = 0; d < kDetectorCount; ++d) {
    const Found found = Find(text, DetectorBit(static_cast<Detector>(d)));
    ASSERT_EQ(found.size(), 1u) << DetectorName(static_cast<Detector>(d));
    EXPECT_EQ(found[0].second, static_cast<Detector>(d));
  }
}

}  // namespace
}  // namespace jitgate::mask
