// src/mask/value.cc: the masking strategies of value.h, applied to one PostgreSQL value.
//
// Contract (value.h): whatever MaskValue or ScanValue appends is a valid value of the column's
// type in the requested format, or the outcome is NULL; nothing is ever passed through that was
// meant to be masked. Fixed replacements are built from constants; hashed ones from the first
// bytes of one HMAC-SHA-256. Text results respect varchar(n)/char(n) (n = typmod - 4) and count
// UTF-8 characters, never cutting one; a byte that is not part of a valid UTF-8 sequence counts
// as one character. Dates print in ISO style (DateStyle ISO, the server's and libpq's default).
//
// The hash input is the value's text form where that is cheap to derive from binary (integers,
// bool, uuid, date; jsonb without its version byte), so those kinds hash alike in both formats
// and a join across a text and a binary result still lines up; other kinds hash their bytes.
// The HMAC below uses SHA256_Init/Update/Final on copied pre-keyed states: OpenSSL 3 deprecates
// that interface, but its EVP_MAC path costs ~300 ns of set-up and allocation per call, more
// than the hash itself for a short value.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "src/mask/value.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <charconv>
#include <cstring>

#include "jitgate/check.h"

namespace jitgate::mask {
namespace {

using Bytes = std::vector<std::byte>;

constexpr size_t kNoLimit = static_cast<size_t>(-1);
constexpr size_t kScanSpansMax = 64;           // value.h: more matches mask the whole value
constexpr size_t kHashTokenChars = 16;         // "h" + 15 hex
constexpr int64_t kUnixEpochDays = -10957;     // 1970-01-01 in days since 2000-01-01
constexpr int64_t kUsecPerDay = 86'400'000'000;
constexpr int64_t kHashDateDays = 36'525;      // 1970-01-01 .. 2069-12-31
constexpr int kNumericHashDigits = 12;
constexpr uint16_t kNumericPos = 0x0000;
constexpr uint16_t kNumericNeg = 0x4000;
constexpr uint8_t kPgAfInet = 2;               // PGSQL_AF_INET (utils/inet.h)
constexpr uint8_t kJsonbVersion = 1;

void Append(Bytes* out, std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  out->insert(out->end(), p, p + s.size());
}
void AppendByte(Bytes* out, uint8_t b) { out->push_back(static_cast<std::byte>(b)); }
void AppendBe(Bytes* out, uint64_t v, int width) {
  for (int k = width - 1; k >= 0; --k) AppendByte(out, static_cast<uint8_t>(v >> (8 * k)));
}
void AppendDecimal(Bytes* out, int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  JG_CHECK(ec == std::errc());
  Append(out, std::string_view(buf, static_cast<size_t>(end - buf)));
}
std::string_view AsText(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
uint64_t LoadBe(const std::byte* p, int width) {
  uint64_t v = 0;
  for (int k = 0; k < width; ++k) v = (v << 8) | static_cast<uint8_t>(p[k]);
  return v;
}

constexpr char kHex[] = "0123456789abcdef";

// ---- UTF-8 -----------------------------------------------------------------------------------

// The byte length of the character at p[0..n), or 0 when p[0] does not start a valid sequence
// (the caller then takes one byte as one character).
size_t Utf8Length(const uint8_t* p, size_t n) {
  const uint8_t b = p[0];
  if (b < 0x80) return 1;
  auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xbf) {
    return k < n && p[k] >= lo && p[k] <= hi;
  };
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const uint8_t lo = b == 0xe0 ? 0xa0 : 0x80;
    const uint8_t hi = b == 0xed ? 0x9f : 0xbf;  // no surrogates
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const uint8_t lo = b == 0xf0 ? 0x90 : 0x80;
    const uint8_t hi = b == 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// Calls fn(offset, length, valid) per character of `s`.
template <typename Fn>
void ForEachChar(std::string_view s, Fn fn) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const size_t length = Utf8Length(p + i, s.size() - i);
    fn(i, length == 0 ? 1 : length, length != 0);
    i += length == 0 ? 1 : length;
  }
}

size_t CharCount(std::string_view s) {
  size_t count = 0;
  ForEachChar(s, [&](size_t, size_t, bool) { ++count; });
  return count;
}

// n of varchar(n)/char(n), or kNoLimit.
size_t TypmodChars(int32_t typmod) { return typmod >= 4 ? static_cast<size_t>(typmod - 4) : kNoLimit; }

// Cuts what was appended to `out` since `start` to `limit` characters; pads it with spaces to
// `limit` when the input was exactly that wide (char(n) values always are).
void FitText(Bytes* out, size_t start, size_t limit, size_t input_chars) {
  if (limit == kNoLimit) return;
  const std::string_view text = AsText(std::span(*out).subspan(start));
  size_t chars = 0;
  size_t cut = text.size();
  ForEachChar(text, [&](size_t offset, size_t, bool) {
    if (chars == limit && cut == text.size()) cut = offset;
    ++chars;
  });
  out->resize(start + cut);
  if (input_chars == limit) {
    for (size_t have = chars < limit ? chars : limit; have < limit; ++have) AppendByte(out, ' ');
  }
}

bool IsAsciiAlnum(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsAsciiKept(uint8_t c) { return c == ' ' || (c >= 0x21 && c <= 0x7e && !IsAsciiAlnum(c)); }

// kPartial over `s`: every character becomes '*' except ASCII spaces and punctuation and the
// last `keep` alphanumerics (a valid multibyte character counts as one and is kept whole).
// `json` also masks '"' and '\\', so a JSON string stays one string.
void AppendPartial(std::string_view s, uint32_t keep, bool json, Bytes* out) {
  size_t alnum_total = 0;
  ForEachChar(s, [&](size_t offset, size_t length, bool valid) {
    if (valid && (length > 1 || IsAsciiAlnum(static_cast<uint8_t>(s[offset])))) ++alnum_total;
  });
  const size_t kept_from = alnum_total > keep ? alnum_total - keep : 0;
  size_t alnum_index = 0;
  ForEachChar(s, [&](size_t offset, size_t length, bool valid) {
    const auto c = static_cast<uint8_t>(s[offset]);
    const bool alnum = valid && (length > 1 || IsAsciiAlnum(c));
    if (alnum) {
      if (alnum_index++ >= kept_from) {
        Append(out, s.substr(offset, length));
      } else {
        AppendByte(out, '*');
      }
    } else if (valid && length == 1 && IsAsciiKept(c) && !(json && (c == '"' || c == '\\'))) {
      AppendByte(out, c);
    } else {
      AppendByte(out, '*');
    }
  });
}

void AppendJsonString(std::string_view s, Bytes* out) {
  AppendByte(out, '"');
  for (char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    if (c == '"' || c == '\\') {
      AppendByte(out, '\\');
      AppendByte(out, c);
    } else if (c < 0x20) {
      Append(out, "\\u00");
      AppendByte(out, static_cast<uint8_t>(kHex[c >> 4]));
      AppendByte(out, static_cast<uint8_t>(kHex[c & 15]));
    } else {
      AppendByte(out, c);
    }
  }
  AppendByte(out, '"');
}

// The redact text with '"' and '\\' escaped, for use inside a JSON string.
void AppendJsonEscaped(std::string_view s, Bytes* out) {
  const size_t start = out->size();
  AppendJsonString(s, out);
  out->erase(out->begin() + static_cast<ptrdiff_t>(start));
  out->pop_back();
}

// ---- hashing ---------------------------------------------------------------------------------

using Mac = std::array<std::byte, 32>;

uint64_t Mac64(const Mac& mac) { return LoadBe(mac.data(), 8); }

void AppendHashToken(const Mac& mac, Bytes* out) {
  AppendByte(out, 'h');
  for (size_t k = 0; k + 1 < kHashTokenChars; ++k) {
    const auto b = static_cast<uint8_t>(mac[k / 2]);
    AppendByte(out, static_cast<uint8_t>(kHex[k % 2 == 0 ? b >> 4 : b & 15]));
  }
}

void CivilFromDays(int64_t days_since_1970, int64_t* year, unsigned* month, unsigned* day) {
  const int64_t z = days_since_1970 + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(yoe) + era * 400 + (*month <= 2 ? 1 : 0);
}

// "YYYY-MM-DD" for years 1..9999 (the hashed and fixed dates are all in 1970..2069).
size_t FormatDate(int64_t days_since_1970, char* buf) {
  int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  CivilFromDays(days_since_1970, &y, &m, &d);
  if (y < 1 || y > 9999) return 0;
  const auto uy = static_cast<unsigned>(y);
  const char text[10] = {static_cast<char>('0' + uy / 1000), static_cast<char>('0' + uy / 100 % 10),
                         static_cast<char>('0' + uy / 10 % 10), static_cast<char>('0' + uy % 10), '-',
                         static_cast<char>('0' + m / 10), static_cast<char>('0' + m % 10), '-',
                         static_cast<char>('0' + d / 10), static_cast<char>('0' + d % 10)};
  std::memcpy(buf, text, sizeof(text));
  return sizeof(text);
}

constexpr size_t kUuidTextSize = 36;

void FormatUuid(const std::byte* b, char* buf) {
  size_t n = 0;
  for (int k = 0; k < 16; ++k) {
    if (k == 4 || k == 6 || k == 8 || k == 10) buf[n++] = '-';
    const auto v = static_cast<uint8_t>(b[k]);
    buf[n++] = kHex[v >> 4];
    buf[n++] = kHex[v & 15];
  }
}

void AppendUuidText(const std::byte* b, Bytes* out) {
  char buf[kUuidTextSize];
  FormatUuid(b, buf);
  Append(out, std::string_view(buf, sizeof(buf)));
}

// Room for the text form HashInput derives (a uuid's 36 characters is the longest).
using HashScratch = std::array<char, 40>;
static_assert(kUuidTextSize <= std::tuple_size_v<HashScratch> && 24 <= std::tuple_size_v<HashScratch>);

// The bytes to MAC: the text form for the kinds where binary converts cheaply (file comment),
// written into `scratch` (no allocation on the hot path).
std::span<const std::byte> HashInput(ValueKind kind, int16_t format, std::span<const std::byte> value,
                                     HashScratch* scratch) {
  if (format != 1) return value;
  char* buf = scratch->data();
  auto as_bytes = [&](size_t n) { return std::as_bytes(std::span<const char>(buf, n)); };
  switch (kind) {
    case ValueKind::kInt2:
    case ValueKind::kInt4:
    case ValueKind::kInt8: {
      const int width = kind == ValueKind::kInt2 ? 2 : kind == ValueKind::kInt4 ? 4 : 8;
      if (value.size() != static_cast<size_t>(width)) return value;
      const uint64_t raw = LoadBe(value.data(), width);
      const int shift = 64 - 8 * width;  // sign-extend
      const auto [end, ec] = std::to_chars(buf, buf + scratch->size(), static_cast<int64_t>(raw << shift) >> shift);
      JG_CHECK(ec == std::errc());
      return as_bytes(static_cast<size_t>(end - buf));
    }
    case ValueKind::kBool:
      if (value.size() != 1) return value;
      buf[0] = value[0] != std::byte{0} ? 't' : 'f';
      return as_bytes(1);
    case ValueKind::kUuid:
      if (value.size() != 16) return value;
      FormatUuid(value.data(), buf);
      return as_bytes(kUuidTextSize);
    case ValueKind::kDate: {
      if (value.size() != 4) return value;
      const auto days = static_cast<int32_t>(LoadBe(value.data(), 4));
      const size_t n = FormatDate(int64_t{days} - kUnixEpochDays, buf);
      return n == 0 ? value : as_bytes(n);
    }
    case ValueKind::kJsonb:
      return !value.empty() && static_cast<uint8_t>(value[0]) == kJsonbVersion ? value.subspan(1) : value;
    default:
      return value;
  }
}

// ---- typed values ----------------------------------------------------------------------------

// A non-negative integer as PostgreSQL numeric binary: base-10000 digits, trailing zero digits
// dropped (as the server sends them), dscale 0.
void AppendNumericBinary(uint64_t v, Bytes* out) {
  std::array<uint16_t, 5> groups{};  // most significant first
  size_t count = 0;
  for (uint64_t rest = v; rest != 0; rest /= 10000) ++count;
  JG_CHECK(count <= groups.size());
  uint64_t rest = v;
  for (size_t k = count; k-- > 0;) {
    groups[k] = static_cast<uint16_t>(rest % 10000);
    rest /= 10000;
  }
  size_t ndigits = count;
  while (ndigits > 0 && groups[ndigits - 1] == 0) --ndigits;
  AppendBe(out, ndigits, 2);
  AppendBe(out, count == 0 ? 0 : count - 1, 2);  // weight
  AppendBe(out, kNumericPos, 2);
  AppendBe(out, 0, 2);  // dscale
  for (size_t k = 0; k < ndigits; ++k) AppendBe(out, groups[k], 2);
}

// Integer digits numeric(p, s) can hold (p - s), or the 12 of the hash when unconstrained.
int NumericHashDigits(int32_t typmod) {
  if (typmod < 4) return kNumericHashDigits;
  const int32_t packed = typmod - 4;
  const int precision = (packed >> 16) & 0xffff;
  const int scale = static_cast<int16_t>(packed & 0xffff);  // PG 15 allows negative scales
  const int digits = precision - scale;
  return digits < 0 ? 0 : digits < kNumericHashDigits ? digits : kNumericHashDigits;
}

MaskOutcome MaskTyped(const MaskSpec& spec, ValueKind kind, int32_t typmod, int16_t format,
                      std::span<const std::byte> value, const Mac* mac, Bytes* out) {
  const bool binary = format == 1;
  switch (kind) {
    case ValueKind::kText: {
      const size_t start = out->size();
      const std::string_view text = AsText(value);
      if (mac != nullptr) {
        AppendHashToken(*mac, out);
      } else if (spec.strategy == Strategy::kPartial) {
        AppendPartial(text, spec.keep, false, out);
      } else {
        Append(out, spec.redact_text);
      }
      const size_t limit = TypmodChars(typmod);
      FitText(out, start, limit, limit == kNoLimit ? 0 : CharCount(text));
      return MaskOutcome::kValue;
    }
    case ValueKind::kBytea:
      if (!binary) Append(out, "\\x");
      if (mac != nullptr) {
        for (size_t k = 0; k < 16; ++k) {
          const auto b = static_cast<uint8_t>((*mac)[k]);
          if (binary) {
            AppendByte(out, b);
          } else {
            AppendByte(out, static_cast<uint8_t>(kHex[b >> 4]));
            AppendByte(out, static_cast<uint8_t>(kHex[b & 15]));
          }
        }
      }
      return MaskOutcome::kValue;
    case ValueKind::kJson:
    case ValueKind::kJsonb:
      if (kind == ValueKind::kJsonb && binary) AppendByte(out, kJsonbVersion);
      if (mac != nullptr) {
        AppendByte(out, '"');
        AppendHashToken(*mac, out);
        AppendByte(out, '"');
      } else {
        AppendJsonString(spec.redact_text, out);
      }
      return MaskOutcome::kValue;
    case ValueKind::kBool: {
      const bool bit = mac != nullptr && (static_cast<uint8_t>((*mac)[0]) & 1);
      AppendByte(out, binary ? (bit ? 1 : 0) : (bit ? 't' : 'f'));
      return MaskOutcome::kValue;
    }
    case ValueKind::kInt2:
    case ValueKind::kInt4:
    case ValueKind::kInt8: {
      const int width = kind == ValueKind::kInt2 ? 2 : kind == ValueKind::kInt4 ? 4 : 8;
      const uint64_t positive_max = (uint64_t{1} << (8 * width - 1)) - 1;
      const uint64_t v = mac != nullptr ? Mac64(*mac) & positive_max : 0;
      if (binary) {
        AppendBe(out, v, width);
      } else {
        AppendDecimal(out, static_cast<int64_t>(v));
      }
      return MaskOutcome::kValue;
    }
    case ValueKind::kNumeric: {
      uint64_t v = 0;
      if (mac != nullptr) {
        const int digits = NumericHashDigits(typmod);
        if (digits > 0) {
          uint64_t low = 1;
          for (int k = 1; k < digits; ++k) low *= 10;
          v = low + Mac64(*mac) % (9 * low);  // exactly `digits` digits
        }
      }
      if (binary) {
        AppendNumericBinary(v, out);
      } else {
        AppendDecimal(out, static_cast<int64_t>(v));
      }
      return MaskOutcome::kValue;
    }
    case ValueKind::kFloat4:
    case ValueKind::kFloat8:
      if (mac != nullptr) return MaskOutcome::kNull;  // value.h: no hashed form
      if (binary) {
        AppendBe(out, 0, kind == ValueKind::kFloat4 ? 4 : 8);  // +0.0
      } else {
        Append(out, "0");
      }
      return MaskOutcome::kValue;
    case ValueKind::kDate:
    case ValueKind::kTimestamp:
    case ValueKind::kTimestamptz: {
      const int64_t days_since_1970 = mac != nullptr ? static_cast<int64_t>(Mac64(*mac) % kHashDateDays) : 0;
      if (binary) {
        const int64_t pg_days = days_since_1970 + kUnixEpochDays;
        if (kind == ValueKind::kDate) {
          AppendBe(out, static_cast<uint64_t>(pg_days), 4);
        } else {
          AppendBe(out, static_cast<uint64_t>(pg_days * kUsecPerDay), 8);
        }
        return MaskOutcome::kValue;
      }
      char buf[10];
      const size_t n = FormatDate(days_since_1970, buf);
      JG_CHECK(n == sizeof(buf));
      Append(out, std::string_view(buf, n));
      if (kind == ValueKind::kTimestamp) Append(out, " 00:00:00");
      if (kind == ValueKind::kTimestamptz) Append(out, " 00:00:00+00");
      return MaskOutcome::kValue;
    }
    case ValueKind::kTime:
      if (mac != nullptr) return MaskOutcome::kNull;
      if (binary) {
        AppendBe(out, 0, 8);
      } else {
        Append(out, "00:00:00");
      }
      return MaskOutcome::kValue;
    case ValueKind::kUuid: {
      std::array<std::byte, 16> id{};
      if (mac != nullptr) {
        std::memcpy(id.data(), mac->data(), id.size());
        id[6] = (id[6] & std::byte{0x0f}) | std::byte{0x40};  // version 4
        id[8] = (id[8] & std::byte{0x3f}) | std::byte{0x80};  // RFC 4122 variant
      }
      if (binary) {
        out->insert(out->end(), id.begin(), id.end());
      } else {
        AppendUuidText(id.data(), out);
      }
      return MaskOutcome::kValue;
    }
    case ValueKind::kInet:
      if (mac != nullptr) return MaskOutcome::kNull;
      if (binary) {
        // family, bits, is_cidr (0: valid for inet and cidr alike), address length, address.
        for (uint8_t b : {kPgAfInet, uint8_t{32}, uint8_t{0}, uint8_t{4}, uint8_t{0}, uint8_t{0},
                          uint8_t{0}, uint8_t{0}}) {
          AppendByte(out, b);
        }
      } else {
        Append(out, "0.0.0.0/32");
      }
      return MaskOutcome::kValue;
    case ValueKind::kOther:
      return MaskOutcome::kNull;
  }
  return MaskOutcome::kNull;
}

// ---- spans -----------------------------------------------------------------------------------

// Tracks whether a position of a JSON text lies inside a string literal.
class JsonStringState {
 public:
  explicit JsonStringState(std::string_view text) : text_(text) {}

  // Walks up to `pos` (not backwards); true when text_[pos] is inside a string.
  bool InsideAt(size_t pos) {
    for (; at_ < pos && at_ < text_.size(); ++at_) {
      const char c = text_[at_];
      if (escaped_) {
        escaped_ = false;
      } else if (inside_ && c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        inside_ = !inside_;
      }
    }
    return inside_;
  }
  // The closing quote of the string that `pos` (inside it) belongs to, or the text's size.
  size_t CloseAfter(size_t pos) const {
    bool escaped = escaped_;
    for (size_t k = pos; k < text_.size(); ++k) {
      if (escaped) {
        escaped = false;
      } else if (text_[k] == '\\') {
        escaped = true;
      } else if (text_[k] == '"') {
        return k;
      }
    }
    return text_.size();
  }
  // Jumps over a replaced span that ended inside the string, before its closing quote.
  void SkipTo(size_t pos) {
    at_ = pos;
    escaped_ = false;
  }

 private:
  std::string_view text_;
  size_t at_ = 0;
  bool inside_ = false;
  bool escaped_ = false;
};

MaskOutcome MaskSpansImpl(const MaskSpec& spec, std::string_view text,
                          std::span<const DetectedSpan> spans, const Hasher* hasher, bool json,
                          Bytes* out) {
  if (spec.strategy == Strategy::kNull || (spec.strategy == Strategy::kHash && hasher == nullptr)) {
    return MaskOutcome::kNull;
  }
  JsonStringState state(text);
  size_t pos = 0;
  for (const DetectedSpan& span : spans) {
    JG_CHECK(pos <= span.begin && span.begin <= span.end && span.end <= text.size());
    Append(out, text.substr(pos, span.begin - pos));
    size_t end = span.end;
    bool quote = false;
    if (json) {
      // A match inside a string stays inside it; one outside (a bare number) becomes a string.
      if (state.InsideAt(span.begin)) {
        const size_t close = state.CloseAfter(span.begin);
        if (end > close) end = close;
      } else {
        quote = true;
      }
    }
    const std::string_view match = text.substr(span.begin, end - span.begin);
    if (quote) AppendByte(out, '"');
    switch (spec.strategy) {
      case Strategy::kRedact:
        if (json) {
          AppendJsonEscaped(spec.redact_text, out);
        } else {
          Append(out, spec.redact_text);
        }
        break;
      case Strategy::kPartial:
        AppendPartial(match, spec.keep, json, out);
        break;
      case Strategy::kHash: {
        Mac mac;
        hasher->Mac(std::as_bytes(std::span(match.data(), match.size())), mac);
        AppendHashToken(mac, out);
        break;
      }
      case Strategy::kNull:
        break;
    }
    if (quote) AppendByte(out, '"');
    if (json && !quote) state.SkipTo(end);
    pos = end;
  }
  Append(out, text.substr(pos));
  return MaskOutcome::kValue;
}

// The decimal digits of a number's integer part in `buf` (no sign), or 0 when it has none
// worth scanning. A run longer than any detector's match cannot hold one, so 24 digits suffice.
constexpr size_t kIntegerDigitsMax = 24;

size_t IntegerPartOfText(std::string_view text, char* buf) {
  size_t k = 0;
  if (k < text.size() && (text[k] == '-' || text[k] == '+')) ++k;
  size_t n = 0;
  for (; k < text.size() && text[k] >= '0' && text[k] <= '9'; ++k) {
    if (n == kIntegerDigitsMax) return 0;
    buf[n++] = text[k];
  }
  return n;
}

// Numeric binary: -1 malformed, else the integer part's digit count in `buf` (0: none to scan).
int IntegerPartOfNumeric(std::span<const std::byte> v, char* buf) {
  if (v.size() < 8) return -1;
  const auto ndigits = static_cast<size_t>(LoadBe(v.data(), 2));
  const auto weight = static_cast<int16_t>(LoadBe(v.data() + 2, 2));
  const auto sign = static_cast<uint16_t>(LoadBe(v.data() + 4, 2));
  if (v.size() != 8 + 2 * ndigits) return -1;
  if (sign != kNumericPos && sign != kNumericNeg) return 0;  // NaN, +-Infinity
  if (weight < 0 || ndigits == 0) return 0;                  // |x| < 1
  if (weight >= static_cast<int16_t>(kIntegerDigitsMax / 4)) return 0;  // too long a run
  size_t n = 0;
  for (int g = 0; g <= weight; ++g) {
    const uint64_t d = static_cast<size_t>(g) < ndigits ? LoadBe(v.data() + 8 + 2 * g, 2) : 0;
    if (d > 9999) return -1;
    char group[4] = {static_cast<char>('0' + d / 1000), static_cast<char>('0' + d / 100 % 10),
                     static_cast<char>('0' + d / 10 % 10), static_cast<char>('0' + d % 10)};
    size_t skip = 0;
    if (n == 0) {
      while (skip < 3 && group[skip] == '0') ++skip;
    }
    for (size_t k = skip; k < 4; ++k) buf[n++] = group[k];
  }
  return static_cast<int>(n);
}

}  // namespace

// ---- Hasher ----------------------------------------------------------------------------------

// HMAC-SHA-256 (RFC 2104): the inner and outer hash states after the padded key's block are
// computed once; each MAC copies them (no allocation, no parameter lookup).
struct Hasher::Impl {
  SHA256_CTX inner;
  SHA256_CTX outer;
};

Hasher::Hasher(std::span<const std::byte> key) : impl_(std::make_unique<Impl>()) {
  JG_CHECK(key.size() >= 32 && key.size() <= 1024);
  constexpr size_t kBlock = 64;  // SHA-256's block
  unsigned char block[kBlock] = {};
  if (key.size() > kBlock) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block);
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  unsigned char pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    pad[i] = block[i] ^ 0x36;
  }
  JG_CHECK(SHA256_Init(&impl_->inner) == 1 && SHA256_Update(&impl_->inner, pad, kBlock) == 1);
  for (size_t i = 0; i < kBlock; ++i) {
    pad[i] = block[i] ^ 0x5c;
  }
  JG_CHECK(SHA256_Init(&impl_->outer) == 1 && SHA256_Update(&impl_->outer, pad, kBlock) == 1);
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(pad, sizeof(pad));
}

Hasher::~Hasher() { OPENSSL_cleanse(impl_.get(), sizeof(Impl)); }

void Hasher::Mac(std::span<const std::byte> data, std::span<std::byte, 32> mac) const {
  SHA256_CTX ctx = impl_->inner;
  unsigned char inner[SHA256_DIGEST_LENGTH];
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(inner, &ctx);
  ctx = impl_->outer;
  SHA256_Update(&ctx, inner, sizeof(inner));
  SHA256_Final(reinterpret_cast<unsigned char*>(mac.data()), &ctx);
  OPENSSL_cleanse(inner, sizeof(inner));
  OPENSSL_cleanse(&ctx, sizeof(ctx));
}

// ---- kinds and names -------------------------------------------------------------------------

ValueKind KindOfType(uint32_t type_oid) {
  switch (type_oid) {
    case kOidText:
    case kOidVarchar:
    case kOidBpchar:
    case kOidName:
    case kOidUnknown:
    case kOidXml:
      return ValueKind::kText;
    case kOidBytea:
      return ValueKind::kBytea;
    case kOidJson:
      return ValueKind::kJson;
    case kOidJsonb:
      return ValueKind::kJsonb;
    case kOidBool:
      return ValueKind::kBool;
    case kOidInt2:
      return ValueKind::kInt2;
    case kOidInt4:
      return ValueKind::kInt4;
    case kOidInt8:
      return ValueKind::kInt8;
    case kOidNumeric:
      return ValueKind::kNumeric;
    case kOidFloat4:
      return ValueKind::kFloat4;
    case kOidFloat8:
      return ValueKind::kFloat8;
    case kOidDate:
      return ValueKind::kDate;
    case kOidTime:
      return ValueKind::kTime;
    case kOidTimestamp:
      return ValueKind::kTimestamp;
    case kOidTimestamptz:
      return ValueKind::kTimestamptz;
    case kOidUuid:
      return ValueKind::kUuid;
    case kOidInet:
    case kOidCidr:
      return ValueKind::kInet;
    default:
      // "char", oid, money, interval, ... : no replacement of theirs is safe to invent.
      return ValueKind::kOther;
  }
}

std::string_view ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kText:
      return "text";
    case ValueKind::kBytea:
      return "bytea";
    case ValueKind::kJson:
      return "json";
    case ValueKind::kJsonb:
      return "jsonb";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt2:
      return "int2";
    case ValueKind::kInt4:
      return "int4";
    case ValueKind::kInt8:
      return "int8";
    case ValueKind::kNumeric:
      return "numeric";
    case ValueKind::kFloat4:
      return "float4";
    case ValueKind::kFloat8:
      return "float8";
    case ValueKind::kDate:
      return "date";
    case ValueKind::kTime:
      return "time";
    case ValueKind::kTimestamp:
      return "timestamp";
    case ValueKind::kTimestamptz:
      return "timestamptz";
    case ValueKind::kUuid:
      return "uuid";
    case ValueKind::kInet:
      return "inet";
    case ValueKind::kOther:
      return "other";
  }
  return "other";
}

bool IsTextLike(ValueKind kind) {
  return kind == ValueKind::kText || kind == ValueKind::kJson || kind == ValueKind::kJsonb;
}

std::string_view StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kRedact:
      return "redact";
    case Strategy::kPartial:
      return "partial";
    case Strategy::kHash:
      return "hash";
    case Strategy::kNull:
      return "null";
  }
  return "null";
}

// ---- masking ---------------------------------------------------------------------------------

MaskOutcome MaskValue(const MaskSpec& spec, ValueKind kind, int32_t typmod, int16_t format,
                      std::span<const std::byte> value, const Hasher* hasher, Bytes* out) {
  JG_CHECK(out != nullptr);
  if (spec.strategy == Strategy::kNull || kind == ValueKind::kOther || (format != 0 && format != 1)) {
    return MaskOutcome::kNull;
  }
  const size_t start = out->size();
  MaskOutcome outcome;
  if (spec.strategy == Strategy::kHash) {
    if (hasher == nullptr) return MaskOutcome::kNull;
    HashScratch scratch;
    Mac mac;
    hasher->Mac(HashInput(kind, format, value, &scratch), mac);
    outcome = MaskTyped(spec, kind, typmod, format, value, &mac, out);
  } else {
    outcome = MaskTyped(spec, kind, typmod, format, value, nullptr, out);
  }
  if (outcome == MaskOutcome::kNull) out->resize(start);
  return outcome;
}

MaskOutcome MaskSpans(const MaskSpec& spec, std::span<const std::byte> value,
                      std::span<const DetectedSpan> spans, const Hasher* hasher, Bytes* out) {
  JG_CHECK(out != nullptr);
  return MaskSpansImpl(spec, AsText(value), spans, hasher, false, out);
}

bool ScanValue(DetectorSet detectors, const MaskSpec& spec, ValueKind kind, int32_t typmod,
               int16_t format, std::span<const std::byte> value, const Hasher* hasher, Bytes* out,
               MaskOutcome* outcome) {
  JG_CHECK(out != nullptr && outcome != nullptr);
  if (format != 0 && format != 1) {  // cannot be read: fail closed
    *outcome = MaskOutcome::kNull;
    return true;
  }
  const bool binary = format == 1;
  // Numbers (and bytea) are masked whole on any match: a '*' inside one is not a number.
  auto whole_on_match = [&](std::string_view text) {
    if (!ContainsSensitive(text, detectors)) return false;
    *outcome = MaskValue(spec, kind, typmod, format, value, hasher, out);
    return true;
  };
  auto null_value = [&] {
    *outcome = MaskOutcome::kNull;
    return true;
  };
  switch (kind) {
    case ValueKind::kText:
    case ValueKind::kJson:
    case ValueKind::kJsonb: {
      const bool json = kind != ValueKind::kText;
      std::span<const std::byte> body = value;
      if (kind == ValueKind::kJsonb && binary) {
        if (value.empty() || static_cast<uint8_t>(value[0]) != kJsonbVersion) return null_value();
        body = value.subspan(1);
      }
      const std::string_view text = AsText(body);
      DetectedSpan spans[kScanSpansMax];
      const size_t count = FindSensitive(text, detectors, spans, kScanSpansMax);
      if (count == 0) return false;
      if (count > kScanSpansMax) {
        *outcome = MaskValue(spec, kind, typmod, format, value, hasher, out);
        return true;
      }
      const size_t start = out->size();
      if (kind == ValueKind::kJsonb && binary) AppendByte(out, kJsonbVersion);
      *outcome = MaskSpansImpl(spec, text, std::span(spans, count), hasher, json, out);
      if (*outcome == MaskOutcome::kNull) {
        out->resize(start);
      } else if (!json) {
        const size_t limit = TypmodChars(typmod);
        FitText(out, start, limit, limit == kNoLimit ? 0 : CharCount(text));
      }
      return true;
    }
    case ValueKind::kInt8: {
      char buf[kIntegerDigitsMax];
      if (!binary) return whole_on_match(std::string_view(buf, IntegerPartOfText(AsText(value), buf)));
      if (value.size() != 8) return null_value();
      const auto v = static_cast<int64_t>(LoadBe(value.data(), 8));
      const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), magnitude);
      JG_CHECK(ec == std::errc());
      return whole_on_match(std::string_view(buf, static_cast<size_t>(end - buf)));
    }
    case ValueKind::kNumeric: {
      char buf[kIntegerDigitsMax];
      if (!binary) return whole_on_match(std::string_view(buf, IntegerPartOfText(AsText(value), buf)));
      const int n = IntegerPartOfNumeric(value, buf);
      if (n < 0) return null_value();
      return whole_on_match(std::string_view(buf, static_cast<size_t>(n)));
    }
    case ValueKind::kBytea: {
      const std::string_view text = AsText(value);
      if (binary || text.substr(0, 2) != "\\x") return whole_on_match(text);  // raw or escape format
      // Hex format: scan the decoded bytes (one bounded copy; bytea is rarely scanned).
      std::string decoded;
      decoded.reserve((text.size() - 2) / 2);
      auto nibble = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      };
      for (size_t k = 2; k + 1 < text.size(); k += 2) {
        const int hi = nibble(text[k]);
        const int lo = nibble(text[k + 1]);
        if (hi < 0 || lo < 0) return null_value();
        decoded.push_back(static_cast<char>(hi * 16 + lo));
      }
      return whole_on_match(decoded);
    }
    case ValueKind::kOther:
      // Text arrays, records, ranges may hold a match, but no replacement of theirs is safe to
      // invent; a binary one cannot even be read.
      if (binary || ContainsSensitive(AsText(value), detectors)) return null_value();
      return false;
    case ValueKind::kBool:
    case ValueKind::kInt2:
    case ValueKind::kInt4:
    case ValueKind::kFloat4:
    case ValueKind::kFloat8:
    case ValueKind::kDate:
    case ValueKind::kTime:
    case ValueKind::kTimestamp:
    case ValueKind::kTimestamptz:
    case ValueKind::kUuid:
    case ValueKind::kInet:
      return false;
  }
  return false;
}

}  // namespace jitgate::mask
