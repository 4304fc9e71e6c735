// src/mask/detect.h: content detectors: find sensitive values inside text by their shape and
// checksum, whatever column they come from.
//
// Detectors (PROTOCOLS.md section 6.1):
//   kEmail   local@domain.tld (RFC 5322-ish: a dot-atom local part of at most 64 letters,
//            digits, "._%+-" and non-ASCII bytes; a domain of labels with a dot and a 2..63
//            letter TLD)
//   kCard    12..19 digits, optionally grouped by single spaces or dashes, passing the Luhn check
//   kSsn     US SSN AAA-GG-SSSS (also AAA GG SSSS, and 9 bare digits not part of a longer digit
//            run when "ssn" appears in the 16 bytes before them: a bare 9-digit number alone is
//            an id far more often than an SSN), rejecting area 000/666/900-999, group 00,
//            serial 0000
//   kPhone   E.164 (+ and 8..15 digits, separators allowed) and North-American
//            (NXX) NXX-XXXX / NXX-NXX-XXXX forms
//   kIban    2 letters, 2 check digits, 11..30 alphanumerics (spaces every 4 allowed), with the
//            country's length when known, passing ISO 7064 mod-97 == 1
//   kSecret  JWTs (eyJ...\.eyJ...\.sig), API-key shapes (AKIA/ASIA + 16 upper alnum, ghp_/gho_/
//            ghs_/ghu_/ghr_/github_pat_, sk_live_/sk_test_/rk_live_/rk_test_, xox[abpr]-, AIza + 35,
//            glpat-, npm_),
//            and PEM private-key blocks ("-----BEGIN ... PRIVATE KEY-----" up to its END line,
//            or to the end of the text)
// A match must not continue a longer token of the same alphabet (a card is not found inside a
// 25-digit run; an email's local part is taken whole); digit matches are also not glued by '-',
// '.' or '/' to more alphanumerics (dates, versions, ORD-123456789). Bare 10-digit numbers are
// not phones (North-American forms need their separators). Spans never overlap; when two detectors
// match overlapping text the leftmost wins, then the longest.
//
// Pure functions, no allocation, no state: safe on any thread. The scan is one pass over the
// text with cheap trigger bytes ('@', digits, '+', '-', letters starting a key prefix), so text
// with nothing sensitive costs little more than a memchr-like sweep (target: >= 300 MB/s with
// every detector on, bench/mask_detect_bench.cc).
#ifndef JITGATE_SRC_MASK_DETECT_H_
#define JITGATE_SRC_MASK_DETECT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace jitgate::mask {

enum class Detector : uint8_t { kEmail, kCard, kSsn, kPhone, kIban, kSecret };
inline constexpr size_t kDetectorCount = 6;

// A set of detectors: bit (1 << Detector).
using DetectorSet = uint8_t;
inline constexpr DetectorSet kAllDetectors = (1u << kDetectorCount) - 1;
constexpr DetectorSet DetectorBit(Detector d) { return static_cast<DetectorSet>(1u << static_cast<unsigned>(d)); }

// "email", "card", "ssn", "phone", "iban", "secret" (config and audit names).
std::string_view DetectorName(Detector detector);
std::optional<Detector> DetectorFromName(std::string_view name);

// One match: bytes [begin, end) of the text.
struct DetectedSpan {
  uint32_t begin = 0;
  uint32_t end = 0;
  Detector detector = Detector::kEmail;
};

// Finds the matches of the detectors in `set` in `text`, in order, writing at most `spans_max`
// of them to `spans`. Returns how many matches there are in total (may exceed spans_max: the
// caller then knows it saw only the first spans_max and can fall back to masking the whole
// value). Texts longer than 2^31 bytes are not supported (JG_CHECK).
size_t FindSensitive(std::string_view text, DetectorSet set, DetectedSpan* spans,
                     size_t spans_max);

// True when `text` holds at least one match (FindSensitive with room for none, but it may stop
// at the first).
bool ContainsSensitive(std::string_view text, DetectorSet set);

// The checks, exposed for tests and for typed values (a card stored as int8).
bool LuhnValid(std::string_view digits);  // ASCII digits only; false on anything else
bool IbanValid(std::string_view iban);    // compact form (no spaces), upper or lower case

}  // namespace jitgate::mask

#endif  // JITGATE_SRC_MASK_DETECT_H_
