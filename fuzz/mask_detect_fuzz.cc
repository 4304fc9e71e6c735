// fuzz/mask_detect_fuzz.cc: libFuzzer target for the content detectors (src/mask/detect.h) and
// the value masker (src/mask/value.h).
// Input: byte 0 picks the detector set, byte 1 the value kind, byte 2 the format, strategy and
// keep, byte 3 the typmod; the rest is the text / value.
// Properties, beyond "no crash or sanitizer report":
//  - FindSensitive's spans are in order, non-empty, non-overlapping and within the text, of
//    detectors in the set; a short spans array sees the same first spans and the same count;
//    ContainsSensitive agrees with count > 0;
//  - MaskSpans with kPartial keeps the number of UTF-8 characters (one '*' per character);
//  - MaskValue and ScanValue never fail and what they append has the length its kind demands
//    (binary int4 is 4 bytes, a uuid 16 bytes or 36 characters, text within varchar(n), ...).
// Seed corpus: fuzz/corpus/mask_detect/ (mixed prose with each detector's shapes).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "src/mask/detect.h"
#include "src/mask/value.h"

namespace mask = jitgate::mask;

namespace {

constexpr size_t kSpansMax = 64;

size_t Utf8Chars(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t length = 1;
    auto cont = [&](size_t k, uint8_t lo, uint8_t hi) {
      return i + k < s.size() && static_cast<uint8_t>(s[i + k]) >= lo && static_cast<uint8_t>(s[i + k]) <= hi;
    };
    if (b >= 0xc2 && b <= 0xdf && cont(1, 0x80, 0xbf)) {
      length = 2;
    } else if (b >= 0xe0 && b <= 0xef && cont(1, b == 0xe0 ? 0xa0 : 0x80, b == 0xed ? 0x9f : 0xbf) &&
               cont(2, 0x80, 0xbf)) {
      length = 3;
    } else if (b >= 0xf0 && b <= 0xf4 && cont(1, b == 0xf0 ? 0x90 : 0x80, b == 0xf4 ? 0x8f : 0xbf) &&
               cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf)) {
      length = 4;
    }
    i += length;
    ++count;
  }
  return count;
}

const mask::Hasher& TheHasher() {
  static const std::vector<std::byte> key(32, std::byte{0x5a});
  static const mask::Hasher hasher(key);
  return hasher;
}

void CheckSpans(std::string_view text, mask::DetectorSet set) {
  mask::DetectedSpan spans[kSpansMax];
  const size_t count = mask::FindSensitive(text, set, spans, kSpansMax);
  JG_CHECK(mask::ContainsSensitive(text, set) == (count > 0));
  uint32_t last_end = 0;
  for (size_t k = 0; k < count && k < kSpansMax; ++k) {
    JG_CHECK(last_end <= spans[k].begin && spans[k].begin < spans[k].end && spans[k].end <= text.size());
    JG_CHECK((set & mask::DetectorBit(spans[k].detector)) != 0);
    last_end = spans[k].end;
  }
  mask::DetectedSpan few[2];
  JG_CHECK(mask::FindSensitive(text, set, few, 2) == count);
  for (size_t k = 0; k < count && k < 2; ++k) {
    JG_CHECK(few[k].begin == spans[k].begin && few[k].end == spans[k].end && few[k].detector == spans[k].detector);
  }
  if (count > 0 && count <= kSpansMax) {
    const mask::MaskSpec partial{mask::Strategy::kPartial, 2};
    std::vector<std::byte> out;
    const auto bytes = std::as_bytes(std::span(text.data(), text.size()));
    JG_CHECK(mask::MaskSpans(partial, bytes, std::span(spans, count), nullptr, &out) == mask::MaskOutcome::kValue);
    JG_CHECK(Utf8Chars(std::string_view(reinterpret_cast<const char*>(out.data()), out.size())) == Utf8Chars(text));
  }
}

// The length a masked value of `kind` must have, or -1 when it varies.
int FixedLength(mask::ValueKind kind, int16_t format) {
  const bool binary = format == 1;
  switch (kind) {
    case mask::ValueKind::kBool:
      return 1;
    case mask::ValueKind::kInt2:
      return binary ? 2 : -1;
    case mask::ValueKind::kInt4:
    case mask::ValueKind::kFloat4:
    case mask::ValueKind::kDate:
      return binary ? 4 : (kind == mask::ValueKind::kDate ? 10 : -1);
    case mask::ValueKind::kInt8:
    case mask::ValueKind::kFloat8:
    case mask::ValueKind::kTime:
    case mask::ValueKind::kTimestamp:
    case mask::ValueKind::kTimestamptz:
      return binary ? 8 : -1;
    case mask::ValueKind::kUuid:
      return binary ? 16 : 36;
    case mask::ValueKind::kInet:
      return binary ? 8 : 10;
    default:
      return -1;
  }
}

void CheckMasked(mask::ValueKind kind, int16_t format, int32_t typmod, mask::Strategy strategy,
                 std::string_view in, std::span<const std::byte> out) {
  const int fixed = FixedLength(kind, format);
  if (fixed >= 0) JG_CHECK(out.size() == static_cast<size_t>(fixed));
  const std::string_view text(reinterpret_cast<const char*>(out.data()), out.size());
  if (kind == mask::ValueKind::kNumeric && format == 1) {
    JG_CHECK(out.size() >= 8);
    const size_t ndigits = (static_cast<size_t>(out[0]) << 8) | static_cast<size_t>(out[1]);
    JG_CHECK(out.size() == 8 + 2 * ndigits);
  }
  if (kind == mask::ValueKind::kText) {
    const size_t chars = Utf8Chars(text);
    if (typmod >= 4) {
      const size_t limit = static_cast<size_t>(typmod - 4);
      JG_CHECK(chars <= limit);
      if (Utf8Chars(in) == limit) JG_CHECK(chars == limit);  // char(n) stays padded
    } else if (strategy == mask::Strategy::kPartial) {
      JG_CHECK(chars == Utf8Chars(in));
    }
  }
  if (kind == mask::ValueKind::kJsonb && format == 1) JG_CHECK(!out.empty() && out[0] == std::byte{1});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) {
    return 0;
  }
  const auto set = static_cast<mask::DetectorSet>(data[0] & mask::kAllDetectors);
  const auto kind = static_cast<mask::ValueKind>(data[1] % (static_cast<unsigned>(mask::ValueKind::kOther) + 1));
  const auto format = static_cast<int16_t>(data[2] & 1);
  const auto strategy = static_cast<mask::Strategy>((data[2] >> 1) & 3);
  const uint32_t keep = (data[2] >> 3) & 7;
  const int32_t typmod = data[3] < 4 ? -1 : data[3];
  const std::string_view text(reinterpret_cast<const char*>(data + 4), size - 4);
  const auto value = std::as_bytes(std::span(text.data(), text.size()));

  CheckSpans(text, set);
  CheckSpans(text, mask::kAllDetectors);

  const mask::MaskSpec spec{strategy, keep};
  std::vector<std::byte> out;
  if (mask::MaskValue(spec, kind, typmod, format, value, &TheHasher(), &out) == mask::MaskOutcome::kValue) {
    CheckMasked(kind, format, typmod, strategy, text, out);
  } else {
    JG_CHECK(out.empty());
  }
  out.clear();
  mask::MaskOutcome outcome = mask::MaskOutcome::kValue;
  if (mask::ScanValue(set | mask::DetectorBit(mask::Detector::kCard), spec, kind, typmod, format, value,
                      &TheHasher(), &out, &outcome)) {
    if (outcome == mask::MaskOutcome::kValue) {
      if (mask::IsTextLike(kind)) {
        if (kind == mask::ValueKind::kText && typmod >= 4) {
          const size_t limit = static_cast<size_t>(typmod - 4);
          const size_t chars = Utf8Chars(std::string_view(reinterpret_cast<const char*>(out.data()), out.size()));
          JG_CHECK(chars <= limit);
          if (Utf8Chars(text) == limit) JG_CHECK(chars == limit);
        }
        if (kind == mask::ValueKind::kJsonb && format == 1) JG_CHECK(!out.empty() && out[0] == std::byte{1});
      } else {
        CheckMasked(kind, format, typmod, strategy, text, out);
      }
    } else {
      JG_CHECK(out.empty());
    }
  } else {
    JG_CHECK(out.empty());
  }
  return 0;
}
