// src/mask/detect.cc: the content detectors of detect.h.
//
// Contract (detect.h): one left-to-right pass, no allocation, no state. Candidates are tried
// only where a trigger byte starts a word (the byte before is not a letter, digit or '_'): a
// digit (card, SSN, North-American phone), '+' or '(' (phone), an upper-case letter (IBAN,
// AKIA/ASIA/AIza), one of "egsrxn" (key prefixes, JWT) and '-' (PEM); a letter only when the
// next byte can continue its shape. The sweep finds these starts 16 bytes at a time (SSE2, with
// a scalar twin that debug builds compare against) and caches the block's mask, so prose costs
// one vector pass per 16 bytes plus a little per candidate. Email is the exception,
// because its match starts before its trigger byte: the next '@' is found with memchr and its
// local part is walked backwards once, so the scan knows in advance at which position an email
// would start and tries it there like any other candidate. Every candidate starting at one
// position is tried and the longest wins; the scan then resumes after it. Hence spans come out
// in order, never overlap, and the leftmost-longest rule holds by construction (a phone is
// never looked for inside a card, IBAN or SSN already matched).
//
// False-positive guards: digit matches must not touch a letter, digit or '_' on either side, nor
// a '-', '.' or '/' that joins them to more alphanumerics (dates, versions, order ids such
// as ORD-123456789); bare North-American numbers need separators; cards need a non-zero first
// digit and the Luhn check; IBANs the country's length and mod-97.
#include "src/mask/detect.h"

#include <array>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "jitgate/check.h"

namespace jitgate::mask {
namespace {

// Byte classes, one table lookup per byte on the hot path.
constexpr uint8_t kDigit = 1 << 0;
constexpr uint8_t kUpper = 1 << 1;
constexpr uint8_t kLower = 1 << 2;
constexpr uint8_t kUnderscore = 1 << 3;
constexpr uint8_t kSecretLead = 1 << 4;  // first byte of a key prefix or a JWT
constexpr uint8_t kPhoneLead = 1 << 5;   // '+', '('
constexpr uint8_t kDashLead = 1 << 6;    // '-' (PEM armour)
constexpr uint8_t kLocalPunct = 1 << 7;  // '.', '%', '+', '-', non-ASCII in a local part
constexpr uint8_t kAlnum = kDigit | kUpper | kLower;
constexpr uint8_t kWord = kAlnum | kUnderscore;

constexpr std::array<uint8_t, 256> MakeClassTable() {
  std::array<uint8_t, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] |= kDigit;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] |= kUpper;
  for (int c = 'a'; c <= 'z'; ++c) table[c] |= kLower;
  table['_'] |= kUnderscore;
  // NextStart's vector compares repeat these sets: change both together.
  for (char c : {'A', 'e', 'g', 's', 'r', 'x', 'n'}) table[static_cast<uint8_t>(c)] |= kSecretLead;
  table['+'] |= kPhoneLead | kLocalPunct;
  table['('] |= kPhoneLead;
  table['-'] |= kDashLead | kLocalPunct;
  table['.'] |= kLocalPunct;
  table['%'] |= kLocalPunct;
  // UTF-8 local parts (RFC 6531): a non-ASCII byte never ends one, so no character is cut.
  for (int c = 0x80; c <= 0xff; ++c) table[c] |= kLocalPunct;
  return table;
}
constexpr std::array<uint8_t, 256> kClass = MakeClassTable();

constexpr size_t kNone = std::numeric_limits<size_t>::max();
constexpr size_t kEmailLocalMax = 64;   // RFC 5321
constexpr size_t kEmailDomainMax = 253;
constexpr size_t kLabelMax = 63;
constexpr size_t kIbanMax = 34;

// The byte at `i`, or 0 past the end: 0 is of no class, so it reads as a boundary.
inline uint8_t At(std::string_view t, size_t i) {
  return i < t.size() ? static_cast<uint8_t>(t[i]) : 0;
}
inline uint8_t ClassAt(std::string_view t, size_t i) { return kClass[At(t, i)]; }
inline bool IsDigit(uint8_t c) { return (kClass[c] & kDigit) != 0; }
inline bool IsUpperAlnum(uint8_t c) { return (kClass[c] & (kDigit | kUpper)) != 0; }
inline bool IsAlnum(uint8_t c) { return (kClass[c] & kAlnum) != 0; }
inline bool IsB64Url(uint8_t c) { return (kClass[c] & kWord) != 0 || c == '-'; }
inline bool IsWordOrDash(uint8_t c) { return (kClass[c] & kWord) != 0 || c == '-'; }
inline bool IsAlnumDash(uint8_t c) { return IsAlnum(c) || c == '-'; }
inline bool IsWord(uint8_t c) { return (kClass[c] & kWord) != 0; }
// Bytes that glue digits into one longer token. Not ',': "4111111111111111,5555555555554444"
// is two cards (arrays, CSV), and thousands separators cut runs too short to match anyway.
inline bool IsJoiner(uint8_t c) { return c == '-' || c == '.' || c == '/'; }

template <typename Pred>
size_t RunOf(std::string_view t, size_t i, Pred pred) {
  size_t j = i;
  while (j < t.size() && pred(static_cast<uint8_t>(t[j]))) ++j;
  return j - i;
}
size_t DigitRun(std::string_view t, size_t i) { return RunOf(t, i, IsDigit); }

bool StartsWith(std::string_view t, size_t i, std::string_view prefix) {
  return t.size() - i >= prefix.size() && std::memcmp(t.data() + i, prefix.data(), prefix.size()) == 0;
}

// A digit match may start at `i` (the caller knows the byte before is not a word byte).
bool DigitStartOk(std::string_view t, size_t i) {
  if (i < 2) return true;
  const uint8_t prev = At(t, i - 1);
  const uint8_t before = At(t, i - 2);
  if (IsJoiner(prev) && IsAlnum(before)) return false;  // 1.2.3, ORD-123, 12/31
  if (prev == ':' && IsDigit(before)) return false;     // 12:30:45
  return true;
}

// A digit match may end at `e`: no word byte follows, nor a joiner leading to another digit.
bool DigitEndOk(std::string_view t, size_t e) {
  const uint8_t next = At(t, e);
  if (IsWord(next)) return false;
  if ((IsJoiner(next) || next == ':') && IsDigit(At(t, e + 1))) return false;
  return true;
}

// ---- card ------------------------------------------------------------------------------------

bool LuhnOver(const char* digits, size_t count) {
  uint32_t sum = 0;
  for (size_t k = 0; k < count; ++k) {
    uint32_t d = static_cast<uint32_t>(digits[count - 1 - k] - '0');
    if (k % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

constexpr size_t kCardDigitsMin = 12;
constexpr size_t kCardDigitsMax = 19;

size_t MatchCard(std::string_view t, size_t i) {
  if (t[i] == '0') return 0;  // issuer numbers start 1..9; zero-padded ids do not match
  const size_t run = DigitRun(t, i);
  if (run >= kCardDigitsMin) {
    if (run > kCardDigitsMax || !DigitEndOk(t, i + run)) return 0;
    return LuhnOver(t.data() + i, run) ? i + run : 0;
  }
  // Grouped: a first group of 4, then groups of 3..6 behind one ' ' or '-' (the same one).
  if (run != 4) return 0;
  const uint8_t sep = At(t, i + 4);
  if (sep != ' ' && sep != '-') return 0;
  char digits[kCardDigitsMax + 6];
  std::array<size_t, 8> group_end{};
  std::array<size_t, 8> group_total{};
  size_t groups = 0;
  size_t total = 0;
  size_t pos = i;
  for (;;) {
    const size_t g = DigitRun(t, pos);
    if ((groups == 0 && g != 4) || (groups > 0 && (g < 3 || g > 6))) break;
    if (total + g > kCardDigitsMax) break;
    std::memcpy(digits + total, t.data() + pos, g);
    total += g;
    pos += g;
    group_end[groups] = pos;
    group_total[groups] = total;
    ++groups;
    if (groups == group_end.size() || At(t, pos) != sep || !IsDigit(At(t, pos + 1))) break;
    ++pos;
  }
  // The longest prefix of whole groups that is a card; a shorter one is tried only when the
  // rest can be a separate token (a space follows, not a joining dash).
  for (size_t k = groups; k-- > 0;) {
    if (group_total[k] < kCardDigitsMin) break;
    if (DigitEndOk(t, group_end[k]) && LuhnOver(digits, group_total[k])) return group_end[k];
  }
  return 0;
}

// ---- SSN -------------------------------------------------------------------------------------

bool SsnPartsValid(std::string_view t, size_t area, size_t group, size_t serial) {
  auto num = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t k = 0; k < len; ++k) v = v * 10 + (t[at + k] - '0');
    return v;
  };
  const int a = num(area, 3);
  return a != 0 && a != 666 && a < 900 && num(group, 2) != 0 && num(serial, 4) != 0;
}

// Nine bare digits are an SSN only next to a context word ("SSN: 123456789"): without one,
// every 9-digit id, amount or bigint key would be masked.
bool SsnContextBefore(std::string_view t, size_t i) {
  const size_t from = i > 16 ? i - 16 : 0;
  for (size_t k = from; k + 3 <= i; ++k) {
    if ((At(t, k) | 0x20) == 's' && (At(t, k + 1) | 0x20) == 's' && (At(t, k + 2) | 0x20) == 'n') {
      return true;
    }
  }
  return false;
}

size_t MatchSsn(std::string_view t, size_t i) {
  const size_t run = DigitRun(t, i);
  if (run == 9) {
    return DigitEndOk(t, i + 9) && SsnContextBefore(t, i) && SsnPartsValid(t, i, i + 3, i + 5)
               ? i + 9
               : 0;
  }
  if (run != 3) return 0;
  const uint8_t sep = At(t, i + 3);
  if ((sep != '-' && sep != ' ') || DigitRun(t, i + 4) != 2 || At(t, i + 6) != sep ||
      DigitRun(t, i + 7) != 4 || !DigitEndOk(t, i + 11)) {
    return 0;
  }
  return SsnPartsValid(t, i, i + 4, i + 7) ? i + 11 : 0;
}

// ---- phone -----------------------------------------------------------------------------------

// NXX: three digits, the first 2..9, and no more digits.
bool IsNxx(std::string_view t, size_t i) { return DigitRun(t, i) == 3 && At(t, i) >= '2'; }

size_t MatchNorthAmerican(std::string_view t, size_t i) {
  size_t pos = i;
  if (t[i] == '(') {  // (NXX) NXX-XXXX, (NXX)NXX-XXXX
    if (!IsNxx(t, i + 1) || At(t, i + 4) != ')') return 0;
    pos = i + 5;
    if (At(t, pos) == ' ') ++pos;
    if (!IsNxx(t, pos)) return 0;
    const uint8_t sep = At(t, pos + 3);
    if ((sep != '-' && sep != '.') || DigitRun(t, pos + 4) != 4) return 0;
    return DigitEndOk(t, pos + 8) ? pos + 8 : 0;
  }
  uint8_t sep = 0;
  if (t[i] == '1' && DigitRun(t, i) == 1) {  // 1-800-555-0199
    sep = At(t, i + 1);
    if (sep != '-' && sep != '.' && sep != ' ') return 0;
    pos = i + 2;
  }
  if (!IsNxx(t, pos)) return 0;
  const uint8_t first = At(t, pos + 3);
  if (sep == 0 ? (first != '-' && first != '.') : first != sep) return 0;
  if (!IsNxx(t, pos + 4) || At(t, pos + 7) != first || DigitRun(t, pos + 8) != 4) return 0;
  return DigitEndOk(t, pos + 12) ? pos + 12 : 0;
}

constexpr size_t kE164DigitsMin = 8;
constexpr size_t kE164DigitsMax = 15;

bool IsPhoneSeparator(uint8_t c) { return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')'; }

size_t MatchE164(std::string_view t, size_t i) {
  size_t pos = i + 1;
  if (!IsDigit(At(t, pos)) || At(t, pos) == '0') return 0;
  size_t digits = 0;
  size_t best = 0;
  for (;;) {
    const size_t g = DigitRun(t, pos);
    digits += g;
    pos += g;
    if (digits > kE164DigitsMax) break;
    if (digits >= kE164DigitsMin && DigitEndOk(t, pos)) best = pos;
    // Up to two separators ("+1 (555) 123-4567") before the next group.
    size_t s = 0;
    while (s < 2 && IsPhoneSeparator(At(t, pos + s))) ++s;
    if (s == 0 || !IsDigit(At(t, pos + s))) break;
    pos += s;
  }
  return best;
}

// ---- IBAN ------------------------------------------------------------------------------------

// Lengths from the SWIFT IBAN registry; a country missing here only needs 15..34 characters.
struct IbanCountry {
  char code[3];
  uint8_t length;
};
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
    {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
    {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

constexpr std::array<uint8_t, 26 * 26> MakeIbanLengths() {
  std::array<uint8_t, 26 * 26> table{};
  for (const IbanCountry& c : kIbanCountries) table[(c.code[0] - 'A') * 26 + (c.code[1] - 'A')] = c.length;
  return table;
}
constexpr std::array<uint8_t, 26 * 26> kIbanLengths = MakeIbanLengths();

// 0 when the country is not in the table. `a`, `b` are upper-case letters.
size_t IbanLength(char a, char b) { return kIbanLengths[(a - 'A') * 26 + (b - 'A')]; }

bool LengthFits(size_t expected, size_t length) {
  return expected != 0 ? length == expected : (length >= 15 && length <= kIbanMax);
}

// ISO 7064 mod 97-10 over upper-case, already shape-checked compact text.
bool Mod97(const char* iban, size_t length) {
  uint32_t r = 0;
  for (size_t k = 0; k < length; ++k) {
    const char c = iban[(k + 4) % length];  // the first four characters move to the end
    if (c >= '0' && c <= '9') {
      r = (r * 10 + static_cast<uint32_t>(c - '0')) % 97;
    } else {
      r = (r * 100 + static_cast<uint32_t>(c - 'A' + 10)) % 97;
    }
  }
  return r == 1;
}

size_t MatchIban(std::string_view t, size_t i) {
  if (!(ClassAt(t, i + 1) & kUpper) || !IsDigit(At(t, i + 2)) || !IsDigit(At(t, i + 3))) return 0;
  const size_t expected = IbanLength(t[i], t[i + 1]);
  char compact[kIbanMax];
  size_t end = 0;
  size_t length = 0;
  if (At(t, i + 4) == ' ') {  // printed form: groups of four behind single spaces
    std::memcpy(compact, t.data() + i, 4);
    length = 4;
    size_t pos = i + 4;
    while (At(t, pos) == ' ' && IsUpperAlnum(At(t, pos + 1))) {
      const size_t g = RunOf(t, pos + 1, IsUpperAlnum);
      if (g > 4 || length + g > kIbanMax) return 0;
      std::memcpy(compact + length, t.data() + pos + 1, g);
      length += g;
      pos += 1 + g;
      if (g < 4 || length == expected) break;
    }
    end = pos;
  } else {
    length = RunOf(t, i, IsUpperAlnum);
    if (length > kIbanMax) return 0;
    std::memcpy(compact, t.data() + i, length);
    end = i + length;
  }
  if (!LengthFits(expected, length) || IsAlnum(At(t, end))) return 0;
  return Mod97(compact, length) ? end : 0;
}

// ---- secrets ---------------------------------------------------------------------------------

// `prefix` then at least `body_min` (at most `body_max`) bytes of `pred`, not followed by one.
template <typename Pred>
size_t PrefixedToken(std::string_view t, size_t i, std::string_view prefix, size_t body_min,
                     size_t body_max, Pred pred) {
  if (!StartsWith(t, i, prefix)) return 0;
  const size_t body = RunOf(t, i + prefix.size(), pred);
  return body >= body_min && body <= body_max ? i + prefix.size() + body : 0;
}

size_t MatchJwt(std::string_view t, size_t i) {
  constexpr size_t kPartMin = 10;  // "eyJhbGciOi" is the shortest real header's start
  if (!StartsWith(t, i, "eyJ")) return 0;
  const size_t header = RunOf(t, i, IsB64Url);
  size_t pos = i + header;
  if (header < kPartMin || At(t, pos) != '.' || !StartsWith(t, pos + 1, "eyJ")) return 0;
  const size_t payload = RunOf(t, pos + 1, IsB64Url);
  if (payload < kPartMin) return 0;
  pos += 1 + payload;
  if (At(t, pos) != '.') return 0;
  return pos + 1 + RunOf(t, pos + 1, IsB64Url);  // the signature is empty for alg "none"
}

size_t MatchPem(std::string_view t, size_t i) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  constexpr std::string_view kEnd = "-----END ";
  constexpr std::string_view kLabelTail = "PRIVATE KEY-----";
  constexpr size_t kPemLabelMax = 48;
  if ((i > 0 && t[i - 1] == '-') || !StartsWith(t, i, kBegin)) return 0;
  size_t pos = i + kBegin.size();
  const size_t label = RunOf(t, pos, [](uint8_t c) { return (kClass[c] & (kUpper | kDigit)) || c == ' '; });
  if (label > kPemLabelMax || label + 5 < kLabelTail.size()) return 0;
  // The label run stops at the first '-': it must end with "PRIVATE KEY" and be followed by
  // the five dashes.
  const size_t tail_at = pos + label - (kLabelTail.size() - 5);
  if (!StartsWith(t, tail_at, kLabelTail)) return 0;
  pos = tail_at + kLabelTail.size();
  const size_t end_at = t.find(kEnd, pos);
  if (end_at == std::string_view::npos) return t.size();  // truncated block: the rest is key
  const size_t close = t.find("-----", end_at + kEnd.size());
  if (close == std::string_view::npos || close - end_at > kEnd.size() + kPemLabelMax) return t.size();
  return close + 5;
}

size_t MatchSecret(std::string_view t, size_t i) {
  switch (t[i]) {
    case 'A': {
      if (StartsWith(t, i, "AIza")) return PrefixedToken(t, i, "AIza", 35, 35, IsWordOrDash);
      size_t e = PrefixedToken(t, i, "AKIA", 16, 16, IsUpperAlnum);
      if (e == 0) e = PrefixedToken(t, i, "ASIA", 16, 16, IsUpperAlnum);
      return e != 0 && !IsAlnum(At(t, e)) ? e : 0;
    }
    case 'e':
      return MatchJwt(t, i);
    case 'g': {
      if (StartsWith(t, i, "github_pat_")) return PrefixedToken(t, i, "github_pat_", 22, 255, IsWord);
      if (StartsWith(t, i, "glpat-")) return PrefixedToken(t, i, "glpat-", 20, 255, IsWordOrDash);
      const uint8_t kind = At(t, i + 2);
      if (At(t, i + 1) != 'h' || At(t, i + 3) != '_' ||
          (kind != 'p' && kind != 'o' && kind != 's' && kind != 'u' && kind != 'r')) {
        return 0;
      }
      return PrefixedToken(t, i, t.substr(i, 4), 30, 255, IsAlnum);
    }
    case 's':
    case 'r': {
      if (At(t, i + 1) != 'k' || At(t, i + 2) != '_') return 0;
      size_t e = PrefixedToken(t, i, t[i] == 's' ? "sk_live_" : "rk_live_", 16, 255, IsAlnum);
      if (e == 0) e = PrefixedToken(t, i, t[i] == 's' ? "sk_test_" : "rk_test_", 16, 255, IsAlnum);
      return e;
    }
    case 'x': {  // Slack: xoxa-, xoxb-, xoxp-, xoxr-
      const uint8_t kind = At(t, i + 3);
      if (!StartsWith(t, i, "xox") || (kind != 'a' && kind != 'b' && kind != 'p' && kind != 'r') ||
          At(t, i + 4) != '-') {
        return 0;
      }
      const size_t body = RunOf(t, i + 5, IsAlnumDash);
      return body >= 10 ? i + 5 + body : 0;
    }
    case 'n':
      return PrefixedToken(t, i, "npm_", 30, 255, IsAlnum);
    default:
      return 0;
  }
}

// ---- email -----------------------------------------------------------------------------------

// Where the local part of the '@' at `at` starts, not before `bound`: `at` itself when there is
// none (too long, or nothing usable).
size_t EmailLocalStart(std::string_view t, size_t at, size_t bound) {
  size_t j = at;
  auto is_local = [](uint8_t c) { return (kClass[c] & (kWord | kLocalPunct)) != 0; };
  while (j > bound && is_local(At(t, j - 1))) {
    if (t[j - 1] == '.' && j - 1 > bound && t[j - 2] == '.') break;  // ".." ends a dot-atom
    if (at - j == kEmailLocalMax) return at;  // longer than any local part: not an address
    --j;
  }
  while (j < at && t[j] == '.') ++j;
  return j;
}

size_t MatchEmail(std::string_view t, size_t begin, size_t at) {
  if (begin >= at || t[at - 1] == '.') return 0;
  size_t pos = at + 1;
  size_t labels = 0;
  size_t end = 0;
  for (;;) {
    const size_t start = pos;
    bool letters_only = true;
    while (pos < t.size() && IsAlnumDash(static_cast<uint8_t>(t[pos]))) {
      letters_only = letters_only && (kClass[static_cast<uint8_t>(t[pos])] & (kUpper | kLower));
      ++pos;
    }
    const size_t length = pos - start;
    if (length == 0 || length > kLabelMax || t[start] == '-' || t[pos - 1] == '-' ||
        pos - at - 1 > kEmailDomainMax) {
      break;
    }
    ++labels;
    if (labels >= 2 && letters_only && length >= 2) end = pos;
    if (At(t, pos) != '.' || !IsAlnum(At(t, pos + 1))) break;
    ++pos;
  }
  if (end == 0 || At(t, end) == '_' || (end == pos && IsAlnumDash(At(t, end)))) return 0;
  return end;
}

// The next '@' and the start of its local part; begin == kNone when there is none.
struct EmailCursor {
  size_t at = kNone;
  size_t begin = kNone;

  void Seek(std::string_view t, size_t search_from, size_t bound) {
    const void* hit = search_from < t.size()
                          ? std::memchr(t.data() + search_from, '@', t.size() - search_from)
                          : nullptr;
    if (hit == nullptr) {
      at = begin = kNone;
      return;
    }
    at = static_cast<size_t>(static_cast<const char*>(hit) - t.data());
    begin = EmailLocalStart(t, at, bound);
  }
};

// ---- the sweep -------------------------------------------------------------------------------

// Whether a key prefix or a JWT can start with `c` then `next` (AKIA ASIA AIza, eyJ, ghp_
// github_pat_ glpat-, sk_ rk_, xox, npm_): most words starting with these letters stop here.
bool SecretPairOk(uint8_t c, uint8_t next) {
  switch (c) {
    case 'A':
      return next == 'K' || next == 'S' || next == 'I';
    case 'e':
      return next == 'y';
    case 'g':
      return next == 'h' || next == 'i' || next == 'l';
    case 's':
    case 'r':
      return next == 'k';
    case 'x':
      return next == 'o';
    case 'n':
      return next == 'p';
    default:
      return false;
  }
}

// A candidate start: the byte is in `triggers`, follows no word byte, and, for a letter, the
// next byte can continue one of its shapes (an IBAN's second letter, a prefix's second byte).
bool IsStart(const uint8_t* p, size_t n, size_t i, uint8_t triggers) {
  const uint8_t c = kClass[p[i]] & triggers;
  if (c == 0 || (i > 0 && (kClass[p[i - 1]] & kWord))) return false;
  if (c & (kDigit | kPhoneLead | kDashLead)) return true;
  const uint8_t next = i + 1 < n ? p[i + 1] : 0;
  return ((c & kUpper) && (kClass[next] & kUpper)) || ((c & kSecretLead) && SecretPairOk(p[i], next));
}

// The first start in [i, stop), or stop.
size_t NextStartScalar(const uint8_t* p, size_t n, size_t i, size_t stop, uint8_t triggers) {
  while (i < stop && !IsStart(p, n, i, triggers)) ++i;
  return i;
}

#if defined(__SSE2__)
// Bytes in [lo, hi]: shift lo to -128 so one signed compare tests the range.
inline __m128i InRange(__m128i x, char lo, char hi) {
  const __m128i shifted = _mm_add_epi8(x, _mm_set1_epi8(static_cast<char>(-128 - lo)));
  return _mm_cmplt_epi8(shifted, _mm_set1_epi8(static_cast<char>(-128 + (hi - lo + 1))));
}
inline __m128i Is(__m128i x, char c) { return _mm_cmpeq_epi8(x, _mm_set1_epi8(c)); }
#endif

// Finds the starts of IsStart 16 bytes at a time and keeps the
// block's bit mask, so the many candidates of one block cost one vector pass, not one each.
class StartFinder {
 public:
  StartFinder(const uint8_t* p, size_t n, uint8_t triggers) : p_(p), n_(n), triggers_(triggers) {}

  // The first start in [i, stop), or stop.
  size_t Next(size_t i, size_t stop) {
    if (triggers_ == 0) return stop;  // email only: the cursor knows where to stop
#if defined(__SSE2__)
    for (;;) {
      if (block_ != kNone && i >= block_ && i < block_ + 16) {
        const uint32_t rest = mask_ & (~0u << (i - block_));
        if (rest != 0) {
          const size_t at = block_ + static_cast<size_t>(__builtin_ctz(rest));
          return at < stop ? at : stop;
        }
        i = block_ + 16;
      }
      if (i >= stop) return stop;
      if (i + 17 > n_) return NextStartScalar(p_, n_, i, stop, triggers_);
      block_ = i;
      mask_ = Starts16(i);
    }
#else
    return NextStartScalar(p_, n_, i, stop, triggers_);
#endif
  }

 private:
#if defined(__SSE2__)
  // Bit k: IsStart(p_ + i + k), from compares (MakeClassTable's sets and these must agree);
  // reads p_[i + 16] too.
  uint32_t Starts16(size_t i) const {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + i));
    const __m128i digit = InRange(x, '0', '9');
    const __m128i upper = InRange(x, 'A', 'Z');
    const __m128i word =
        _mm_or_si128(_mm_or_si128(digit, upper), _mm_or_si128(InRange(x, 'a', 'z'), Is(x, '_')));
    // IsStart's second-byte filters, on the bytes one further.
    const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + i + 1));
    __m128i trigger = _mm_setzero_si128();
    if (triggers_ & kDigit) trigger = digit;
    if (triggers_ & kUpper) trigger = _mm_or_si128(trigger, _mm_and_si128(upper, InRange(next, 'A', 'Z')));
    if (triggers_ & kPhoneLead) trigger = _mm_or_si128(trigger, _mm_or_si128(Is(x, '+'), Is(x, '(')));
    if (triggers_ & kSecretLead) {
      const __m128i a = _mm_and_si128(Is(x, 'A'), _mm_or_si128(_mm_or_si128(Is(next, 'K'), Is(next, 'S')), Is(next, 'I')));
      const __m128i e = _mm_and_si128(Is(x, 'e'), Is(next, 'y'));
      const __m128i g = _mm_and_si128(Is(x, 'g'), _mm_or_si128(_mm_or_si128(Is(next, 'h'), Is(next, 'i')), Is(next, 'l')));
      const __m128i k = _mm_and_si128(_mm_or_si128(Is(x, 's'), Is(x, 'r')), Is(next, 'k'));
      const __m128i o = _mm_and_si128(Is(x, 'x'), Is(next, 'o'));
      const __m128i np = _mm_and_si128(Is(x, 'n'), Is(next, 'p'));
      trigger = _mm_or_si128(trigger, _mm_or_si128(_mm_or_si128(a, e), _mm_or_si128(_mm_or_si128(g, k), _mm_or_si128(o, np))));
    }
    if (triggers_ & kDashLead) trigger = _mm_or_si128(trigger, Is(x, '-'));
    const auto w = static_cast<uint32_t>(_mm_movemask_epi8(word));
    const auto t = static_cast<uint32_t>(_mm_movemask_epi8(trigger));
    const uint32_t carry = i > 0 && (kClass[p_[i - 1]] & kWord) ? 1 : 0;
    return t & ~((w << 1) | carry) & 0xffff;
  }
#endif

  const uint8_t* p_;
  size_t n_;
  uint8_t triggers_;
  size_t block_ = kNone;  // where the cached mask_ starts
  uint32_t mask_ = 0;
};

template <bool kFirstOnly>
size_t Scan(std::string_view t, DetectorSet set, DetectedSpan* spans, size_t spans_max) {
  JG_CHECK(t.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  const bool email = set & DetectorBit(Detector::kEmail);
  const bool card = set & DetectorBit(Detector::kCard);
  const bool ssn = set & DetectorBit(Detector::kSsn);
  const bool phone = set & DetectorBit(Detector::kPhone);
  const bool iban = set & DetectorBit(Detector::kIban);
  const bool secret = set & DetectorBit(Detector::kSecret);
  uint8_t triggers = 0;
  if (card || ssn || phone) triggers |= kDigit;
  if (phone) triggers |= kPhoneLead;
  if (iban) triggers |= kUpper;
  if (secret) triggers |= kSecretLead | kDashLead;

  EmailCursor cursor;
  if (email) cursor.Seek(t, 0, 0);
  const auto* p = reinterpret_cast<const uint8_t*>(t.data());
  const size_t n = t.size();
  StartFinder finder(p, n, triggers);
  size_t count = 0;
  size_t i = 0;
  while (i < n) {
    // The sweep: on to the next trigger that starts a word, or to where an email would start.
    const size_t stop = cursor.begin < n ? cursor.begin : n;
    const size_t from = i;
    i = finder.Next(from, stop);
    JG_DCHECK(i == NextStartScalar(p, n, from, stop, triggers));
    if (i == n) break;

    size_t best_end = 0;
    Detector best = Detector::kEmail;
    auto offer = [&](size_t end, Detector d) {
      if (end > best_end) best_end = end, best = d;
    };
    const uint8_t prev = i > 0 ? kClass[p[i - 1]] : 0;
    const bool email_here = i == cursor.begin;
    if (email_here) offer(MatchEmail(t, cursor.begin, cursor.at), Detector::kEmail);
    const uint8_t c = kClass[p[i]] & triggers;
    if (c != 0 && !(prev & kWord)) {
      if (c & kDigit) {
        // Each shape starts with a run of known length, so most numbers in prose (1, 2 or 4
        // digits followed by no group) are rejected by the run length alone.
        const size_t run = DigitRun(t, i);
        if (DigitStartOk(t, i)) {
          if (card && (run >= kCardDigitsMin || run == 4)) offer(MatchCard(t, i), Detector::kCard);
          if (ssn && (run == 9 || run == 3)) offer(MatchSsn(t, i), Detector::kSsn);
          if (phone && (run == 3 || (run == 1 && p[i] == '1'))) {
            offer(MatchNorthAmerican(t, i), Detector::kPhone);
          }
        }
      } else if (c & kPhoneLead) {
        offer(p[i] == '+' ? MatchE164(t, i) : MatchNorthAmerican(t, i), Detector::kPhone);
      } else if (c & kDashLead) {
        offer(MatchPem(t, i), Detector::kSecret);
      } else {
        if (c & kUpper) offer(MatchIban(t, i), Detector::kIban);
        if (c & kSecretLead) offer(MatchSecret(t, i), Detector::kSecret);
      }
    }

    const bool email_failed = email_here && !(best_end != 0 && best == Detector::kEmail);
    if (best_end != 0) {
      if (count < spans_max) {
        spans[count] = {static_cast<uint32_t>(i), static_cast<uint32_t>(best_end), best};
      }
      ++count;
      if constexpr (kFirstOnly) return count;
      i = best_end;
    } else {
      ++i;
    }
    if (cursor.begin != kNone && (cursor.begin < i || email_failed)) {
      // The email start was passed (or failed): look again for this '@' behind `i`, or the next.
      if (!email_failed && cursor.at >= i) {
        cursor.begin = EmailLocalStart(t, cursor.at, i);
      } else {
        cursor.Seek(t, cursor.at + 1 > i ? cursor.at + 1 : i, i);
      }
    }
  }
  return count;
}

}  // namespace

std::string_view DetectorName(Detector detector) {
  switch (detector) {
    case Detector::kEmail:
      return "email";
    case Detector::kCard:
      return "card";
    case Detector::kSsn:
      return "ssn";
    case Detector::kPhone:
      return "phone";
    case Detector::kIban:
      return "iban";
    case Detector::kSecret:
      return "secret";
  }
  return "unknown";
}

std::optional<Detector> DetectorFromName(std::string_view name) {
  for (size_t d = 0; d < kDetectorCount; ++d) {
    if (DetectorName(static_cast<Detector>(d)) == name) return static_cast<Detector>(d);
  }
  return std::nullopt;
}

size_t FindSensitive(std::string_view text, DetectorSet set, DetectedSpan* spans,
                     size_t spans_max) {
  JG_CHECK(spans != nullptr || spans_max == 0);
  return Scan<false>(text, set, spans, spans_max);
}

bool ContainsSensitive(std::string_view text, DetectorSet set) {
  return Scan<true>(text, set, nullptr, 0) != 0;
}

bool LuhnValid(std::string_view digits) {
  if (digits.empty()) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return LuhnOver(digits.data(), digits.size());
}

bool IbanValid(std::string_view iban) {
  if (iban.size() < 5 || iban.size() > kIbanMax) return false;
  char upper[kIbanMax];
  for (size_t k = 0; k < iban.size(); ++k) {
    char c = iban[k];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const bool letter = c >= 'A' && c <= 'Z';
    const bool digit = c >= '0' && c <= '9';
    if ((k < 2 && !letter) || (k >= 2 && k < 4 && !digit) || (!letter && !digit)) return false;
    upper[k] = c;
  }
  return LengthFits(IbanLength(upper[0], upper[1]), iban.size()) && Mod97(upper, iban.size());
}

}  // namespace jitgate::mask
