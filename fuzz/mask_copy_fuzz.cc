// fuzz/mask_copy_fuzz.cc: libFuzzer target for the COPY TO STDOUT stream masker
// (src/mask/copy.h), differential: a stream fed in fuzzer-chosen chunks must give what the whole
// stream fed at once gives, and masking the masked output again must change nothing.
//
// Input: byte 0 picks the options (bits 0-1: text, CSV, binary, CSV with ESCAPE '\'; bit 2:
// HEADER; bits 3-4: row_size_max 16 / 64 / 512 / 64 KiB; bit 5: the other null_text ("NULL" in
// text, "\N" in CSV); bits 6-7: the delimiter, the last choice one PostgreSQL refuses). Byte 1:
// bits 0-2 the plan's column count (0..7), bits 3-4 the redact text (plain, with a backslash and
// a quote, empty, with delimiters). Bytes 2-3: two bits per column (0, 1 keep; 2 mask with
// Strategy::kNull; 3 mask with kRedact). Byte 4: bit per column, set = ValueKind::kOther (masked
// values become NULL) instead of kText. Bytes 5..11: chunk sizes used in turn (0 is an empty
// Feed). The rest is the concatenated CopyData payload stream.
// Properties, beyond "no crash or sanitizer report":
//  - whole and chunked runs append byte-identical output, agree on success (every Feed and
//    Finish true), on masked_counts() and on rows();
//  - the output is a sequence of well-formed CopyData frames ('d', Int32 length >= 4, covering
//    the output exactly), none longer than row_size_max unless a cell was masked;
//  - when no cell was masked (no masking column, no extra field), the payloads concatenated
//    are a prefix of the stream;
//  - idempotence: the output payloads, concatenated and masked again with the same plan (and a
//    large row_size_max), come back unchanged, with every Feed and Finish true when there was
//    output (whole rows only, so a first run cut short still leaves a well-formed stream); only
//    an empty last frame (an unterminated row masked to nothing) may vanish.
// Seed corpus: fuzz/corpus/mask_copy/.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "src/mask/copy.h"

using jitgate::mask::ColumnAction;
using jitgate::mask::ColumnPlan;
using jitgate::mask::CopyFormat;
using jitgate::mask::CopyMasker;
using jitgate::mask::CopyOptions;
using jitgate::mask::Strategy;
using jitgate::mask::ValueKind;

namespace {

using Bytes = std::vector<std::byte>;

constexpr size_t kChunkSizeCount = 7;
constexpr size_t kHeaderSize = 5 + kChunkSizeCount;
constexpr std::array<size_t, 4> kRowSizeMaxChoices = {16, 64, 512, 64 * 1024};
constexpr size_t kRemaskRowSizeMax = 1 << 20;  // masked rows may grow; the limit is not tested
constexpr std::array<char, 4> kTextDelimiters = {'\t', ',', '|', 'x'};  // 'x' is refused
constexpr std::array<char, 4> kCsvDelimiters = {',', '\t', ';', '"'};   // '"' is the quote
constexpr std::array<std::string_view, 4> kRedactTexts = {"****", "a\\b\"c", "", "x,y\tz|;"};

struct Config {
  CopyOptions options;
  std::vector<ColumnPlan> plan;
  size_t row_size_max = 0;
  bool any_masking = false;
};

Config MakeConfig(const uint8_t* header) {
  Config config;
  CopyOptions& options = config.options;
  const uint8_t flags = header[0];
  switch (flags & 3) {
    case 0:
      options.format = CopyFormat::kText;
      options.delimiter = kTextDelimiters[flags >> 6];
      options.null_text = (flags & 0x20) != 0 ? "NULL" : "\\N";
      break;
    case 1:
    case 3:
      options.format = CopyFormat::kCsv;
      options.delimiter = kCsvDelimiters[flags >> 6];
      options.escape = (flags & 3) == 3 ? '\\' : '"';
      options.null_text = (flags & 0x20) != 0 ? "\\N" : "";
      break;
    default:
      options.format = CopyFormat::kBinary;
      break;
  }
  options.header = (flags & 4) != 0;
  config.row_size_max = kRowSizeMaxChoices[(flags >> 3) & 3];
  const size_t column_count = header[1] & 7;
  const std::string_view redact_text = kRedactTexts[(header[1] >> 3) & 3];
  const uint16_t actions = static_cast<uint16_t>(header[2] | (header[3] << 8));
  for (size_t i = 0; i < column_count; ++i) {
    ColumnPlan column;
    const unsigned action = (actions >> (2 * i)) & 3;
    if (action >= 2) {
      column.action = ColumnAction::kMask;
      column.spec.strategy = action == 2 ? Strategy::kNull : Strategy::kRedact;
      column.spec.redact_text = redact_text;
      config.any_masking = true;
    }
    column.kind = ((header[4] >> i) & 1) != 0 ? ValueKind::kOther : ValueKind::kText;
    config.plan.push_back(column);
  }
  return config;
}

struct Outcome {
  Bytes out;
  bool ok = true;
  std::vector<uint64_t> masked_counts;
  uint64_t rows = 0;
};

// Feeds `stream` cut as `chunk_sizes` says (cycled; an empty list feeds it whole), then Finish
// unless a Feed failed.
Outcome RunMasker(const Config& config, std::span<const std::byte> stream,
                  std::span<const uint8_t> chunk_sizes, size_t row_size_max) {
  CopyMasker masker;
  masker.Begin(config.options, config.plan, nullptr, row_size_max);
  Outcome outcome;
  // All-zero sizes would never advance: then the stream goes byte by byte.
  const bool stalls = std::all_of(chunk_sizes.begin(), chunk_sizes.end(),
                                  [](uint8_t chunk_size) { return chunk_size == 0; });
  size_t pos = 0;
  size_t step = 0;
  while (outcome.ok && pos < stream.size()) {
    size_t size = stream.size() - pos;
    if (!chunk_sizes.empty()) {
      const size_t chunk_size = stalls ? 1 : chunk_sizes[step++ % chunk_sizes.size()];
      size = std::min(size, chunk_size);
    }
    const size_t out_before = outcome.out.size();
    outcome.ok = masker.Feed(stream.subspan(pos, size), &outcome.out);
    JG_CHECK(outcome.out.size() >= out_before);
    pos += size;
  }
  if (outcome.ok) {
    outcome.ok = masker.Finish(&outcome.out);
  }
  outcome.masked_counts.assign(masker.masked_counts().begin(), masker.masked_counts().end());
  outcome.rows = masker.rows();
  return outcome;
}

// Checks the frames of `out` and returns their payloads, concatenated.
Bytes Payloads(const Bytes& out, size_t payload_size_max) {
  Bytes payloads;
  size_t pos = 0;
  while (pos < out.size()) {
    JG_CHECK(out.size() - pos >= 5);
    JG_CHECK(out[pos] == std::byte{'d'});
    const uint32_t length = (uint32_t(out[pos + 1]) << 24) | (uint32_t(out[pos + 2]) << 16) |
                            (uint32_t(out[pos + 3]) << 8) | uint32_t(out[pos + 4]);
    JG_CHECK(length >= 4 && length - 4 <= out.size() - pos - 5);
    JG_CHECK(length - 4 <= payload_size_max);
    payloads.insert(payloads.end(), out.begin() + static_cast<ptrdiff_t>(pos + 5),
                    out.begin() + static_cast<ptrdiff_t>(pos + 1 + length));
    pos += 1 + length;
  }
  return payloads;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderSize) {
    return 0;
  }
  const Config config = MakeConfig(data);
  const std::span<const uint8_t> chunk_sizes(data + 5, kChunkSizeCount);
  const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data) + kHeaderSize,
                                          size - kHeaderSize);

  const Outcome whole = RunMasker(config, stream, {}, config.row_size_max);
  const Outcome chunked = RunMasker(config, stream, chunk_sizes, config.row_size_max);
  JG_CHECK(whole.out == chunked.out);
  JG_CHECK(whole.ok == chunked.ok);
  JG_CHECK(whole.masked_counts == chunked.masked_counts);
  JG_CHECK(whole.rows == chunked.rows);

  uint64_t masked_cells = 0;
  for (uint64_t count : whole.masked_counts) {
    masked_cells += count;
  }
  // An unmasked row is copied as it came, so it fits the limit it was read under.
  const Bytes payloads =
      Payloads(whole.out, masked_cells > 0 ? kRemaskRowSizeMax : config.row_size_max);
  if (masked_cells == 0) {
    JG_CHECK(payloads.size() <= stream.size());
    JG_CHECK(std::equal(payloads.begin(), payloads.end(), stream.begin()));
  }

  const Outcome again = RunMasker(config, payloads, {}, kRemaskRowSizeMax);
  JG_CHECK(again.ok || whole.out.empty());
  // An unterminated last row masked to nothing (an empty CSV NULL, an empty redact text) is an
  // empty CopyData; in the concatenated payloads it is no bytes at all, so it cannot come back.
  constexpr std::array<std::byte, 5> kEmptyFrame = {std::byte{'d'}, std::byte{0}, std::byte{0},
                                                    std::byte{0}, std::byte{4}};
  const bool empty_last =
      whole.out.size() >= kEmptyFrame.size() &&
      std::equal(kEmptyFrame.begin(), kEmptyFrame.end(), whole.out.end() - kEmptyFrame.size());
  const bool same = again.out == whole.out;
  const bool same_but_empty_last =
      empty_last && again.out.size() + kEmptyFrame.size() == whole.out.size() &&
      std::equal(again.out.begin(), again.out.end(), whole.out.begin());
  JG_CHECK(same || same_but_empty_last);
  return 0;
}
