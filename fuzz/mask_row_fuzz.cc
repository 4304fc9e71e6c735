// fuzz/mask_row_fuzz.cc: libFuzzer target for the DataRow masker (src/mask/row.h) on the
// session's forwarding path (src/session/frame_editor.h), differential: a backend stream edited
// in fuzzer-chosen chunks by a FrameEditor whose callback masks held DataRows must give exactly
// what masking every whole DataRow body of the stream, one by one, gives.
//
// Input: byte 0 picks the column count (1..6), byte 1 hold_max (16 << (b % 9): 16..4096), bytes
// 2..9 are chunk sizes used in turn (below 200: that many bytes, 0 an empty chunk; else
// (b - 199) * 97; all 0: one chunk). Then two bytes per column: the first picks the action
// (bits 0-1: keep, mask, scan, mask), the strategy (bits 2-3: redact, partial, hash, null), the
// kind (bits 4-5: text, int4, uuid, json), the format (bit 6: binary) and, for text, a
// varchar(8) typmod (bit 7); the second the detectors of a scan (its low 6 bits; 0: all).
// The rest is a stream of at most 64 backend frames, each one byte then its data:
// b % 10 in 0..5 a DataRow of the plan's width, 6 CommandComplete, 7 NoticeResponse, 8 a DataRow
// of another width (next byte % 8 values), 9 a damaged DataRow (next byte % 24 raw body bytes).
// A value is one length byte then its data: 0xff NULL, 0xf0..0xfe a canned value (emails, cards,
// SSNs, phones, IBANs, keys, uuids, JSON, binary int4 and uuid), else (b % 64) fuzzer bytes.
// Properties, beyond "no crash or sanitizer report":
//  - the chunked, zero-copy edit (each chunk's forwarded prefix, then what the callback appended
//    to `out`) is byte-identical to the reference: each DataRow whose body is at most hold_max
//    replaced by MaskDataRow's frame when it returns true, every other frame as it was (a DataRow
//    over hold_max reaches the callback as oversize, without payload, and is kept);
//  - the callback sees every DataRow once, oversize exactly when body_size > hold_max; the
//    editor ends at a boundary holding nothing, having walked every frame;
//  - the masked counts of both paths are equal; a masked frame is one valid DataRow ('D', length
//    = 4 + body) of the input's column count, whose NULL inputs stay NULL, whose kKeep values are
//    byte-identical, whose kNull-masked values are NULL, whose masked binary int4 / uuid values
//    keep 4 / 16 bytes, and all of whose values are NULL when the width differs from the plan's;
//    a column's count grows by at most one per row, never for kKeep, and whenever its value
//    changed.
// Seed corpus: fuzz/corpus/mask_row/.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/frame.h"
#include "src/mask/row.h"
#include "src/mask/value.h"
#include "src/session/frame_editor.h"

namespace mask = jitgate::mask;
namespace pg = jitgate::parsers::pg;
using jitgate::session::EditFrame;
using jitgate::session::EditResult;
using jitgate::session::FrameAction;
using jitgate::session::FrameEditor;

namespace {

using Bytes = std::vector<std::byte>;

constexpr size_t kColumnCountMax = 6;
constexpr size_t kChunkSizeCount = 8;
constexpr size_t kHeaderSize = 2 + kChunkSizeCount;
constexpr size_t kFrameCountMax = 64;
constexpr size_t kFrameSizeMax = size_t{1} << 20;

constexpr std::array<std::string_view, 15> kCanned = {
    "bob@example.com",
    "4111 1111 1111 1111",
    "123-45-6789",
    "+14155552671",
    "GB82 WEST 1234 5698 7654 32",
    "key AKIAIOSFODNN7EXAMPLE here",
    "123e4567-e89b-12d3-a456-426614174000",
    "42",
    "{\"email\":\"a@b.io\",\"n\":4111111111111111}",
    std::string_view("\x00\x00\x00\x2a", 4),  // binary int4 42
    std::string_view("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00", 16),
    "call (415) 555-2671 or mail x.y@corp.example.org",
    "",
    "-17",
    "\"plain json string\"",
};

constexpr std::array<mask::ValueKind, 4> kKinds = {mask::ValueKind::kText, mask::ValueKind::kInt4,
                                                   mask::ValueKind::kUuid, mask::ValueKind::kJson};

// Reads the input front to back; past its end every byte reads as 0.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  uint8_t Byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::span<const uint8_t> Take(size_t n) {
    n = std::min(n, size_ - std::min(at_, size_));
    const std::span<const uint8_t> bytes(data_ + at_, n);
    at_ += n;
    return bytes;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

void PutU16(Bytes* out, uint16_t v) {
  out->push_back(std::byte(v >> 8));
  out->push_back(std::byte(v));
}

void PutU32(Bytes* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(std::byte(v >> shift));
  }
}

void PutBytes(Bytes* out, std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    out->push_back(std::byte{b});
  }
}

void PutText(Bytes* out, std::string_view text) {
  for (char c : text) {
    out->push_back(std::byte(static_cast<uint8_t>(c)));
  }
}

mask::ResultPlan MakePlan(Input& in, size_t column_count) {
  mask::ResultPlan plan;
  for (size_t i = 0; i < column_count; ++i) {
    const uint8_t a = in.Byte();
    const uint8_t b = in.Byte();
    mask::ColumnPlan column;
    switch (a & 3) {
      case 0:
        column.action = mask::ColumnAction::kKeep;
        break;
      case 2:
        column.action = mask::ColumnAction::kScan;
        column.detectors = (b & mask::kAllDetectors) != 0
                               ? static_cast<mask::DetectorSet>(b & mask::kAllDetectors)
                               : mask::kAllDetectors;
        break;
      default:
        column.action = mask::ColumnAction::kMask;
        break;
    }
    column.spec.strategy = static_cast<mask::Strategy>((a >> 2) & 3);
    column.spec.keep = 1 + (b >> 6);
    column.spec.redact_text = (b & 0x40) != 0 ? "[masked value]" : "****";
    column.kind = kKinds[(a >> 4) & 3];
    column.format = static_cast<int16_t>((a >> 6) & 1);
    if (column.kind == mask::ValueKind::kText && (a & 0x80) != 0) {
      column.typmod = 4 + 8;  // varchar(8)
    }
    plan.columns.push_back(column);
    plan.rules.push_back(mask::kNoRule);
    plan.names.emplace_back("c");
    plan.any = plan.any || column.action != mask::ColumnAction::kKeep;
  }
  return plan;
}

void PutFrame(char type, const Bytes& body, Bytes* stream) {
  stream->push_back(std::byte(static_cast<uint8_t>(type)));
  PutU32(stream, static_cast<uint32_t>(4 + body.size()));
  stream->insert(stream->end(), body.begin(), body.end());
}

Bytes MakeDataRow(Input& in, size_t value_count) {
  Bytes body;
  PutU16(&body, static_cast<uint16_t>(value_count));
  for (size_t i = 0; i < value_count; ++i) {
    const uint8_t length = in.Byte();
    if (length == 0xff) {
      PutU32(&body, 0xffffffffu);
    } else if (length >= 0xf0) {
      const std::string_view canned = kCanned[length - 0xf0];
      PutU32(&body, static_cast<uint32_t>(canned.size()));
      PutText(&body, canned);
    } else {
      const std::span<const uint8_t> bytes = in.Take(length % 64);
      PutU32(&body, static_cast<uint32_t>(bytes.size()));
      PutBytes(&body, bytes);
    }
  }
  return body;
}

Bytes MakeStream(Input& in, size_t column_count) {
  Bytes stream;
  for (size_t frame = 0; frame < kFrameCountMax && !in.empty(); ++frame) {
    const uint8_t op = in.Byte();
    switch (op % 10) {
      case 6: {
        Bytes body;
        PutText(&body, "SELECT 1");
        body.push_back(std::byte{0});
        PutFrame(pg::kMsgCommandComplete, body, &stream);
        break;
      }
      case 7: {
        Bytes body;
        PutText(&body, "SNOTICE");
        body.push_back(std::byte{0});
        PutText(&body, "Mnote");
        body.push_back(std::byte{0});
        body.push_back(std::byte{0});
        PutFrame(pg::kMsgNoticeResponse, body, &stream);
        break;
      }
      case 8:
        PutFrame(pg::kMsgDataRow, MakeDataRow(in, in.Byte() % 8), &stream);
        break;
      case 9: {
        Bytes body;
        PutBytes(&body, in.Take(in.Byte() % 24));
        PutFrame(pg::kMsgDataRow, body, &stream);
        break;
      }
      default:
        PutFrame(pg::kMsgDataRow, MakeDataRow(in, column_count), &stream);
        break;
    }
  }
  return stream;
}

struct Value {
  bool is_null = false;
  std::span<const std::byte> bytes;
};

std::vector<Value> Values(std::span<const std::byte> body) {
  std::vector<Value> values;
  pg::DataRow row;
  JG_CHECK(pg::DecodeDataRow(body, row) == pg::InvalidReason::kNone);
  pg::ValueIterator it = row.columns();
  pg::Value value;
  while (it.Next(value)) {
    values.push_back(Value{value.is_null, value.bytes});
  }
  JG_CHECK(it.error() == pg::InvalidReason::kNone);
  JG_CHECK(values.size() == row.column_count);
  return values;
}

bool SameBytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Checks the frame MaskDataRow appended (`frame`: 'D', length, body) against its input body.
void CheckMasked(const mask::ResultPlan& plan, std::span<const std::byte> input,
                 std::span<const std::byte> frame, std::span<const uint64_t> counts) {
  JG_CHECK(frame.size() >= 7 && frame[0] == std::byte{'D'});
  const uint32_t length = pg::internal::LoadUint32(frame.data() + 1);
  JG_CHECK(length == frame.size() - 1);
  const std::vector<Value> before = Values(input);
  const std::vector<Value> after = Values(frame.subspan(5));
  JG_CHECK(before.size() == after.size());
  const bool mismatch = before.size() != plan.columns.size();
  for (size_t i = 0; i < before.size(); ++i) {
    const Value& in = before[i];
    const Value& out = after[i];
    if (in.is_null || mismatch) {
      JG_CHECK(out.is_null);
      continue;
    }
    const mask::ColumnPlan& column = plan.columns[i];
    const bool same = !out.is_null && SameBytes(in.bytes, out.bytes);
    JG_CHECK(counts[i] <= 1);
    if (!same) {
      JG_CHECK(counts[i] == 1);
    }
    switch (column.action) {
      case mask::ColumnAction::kKeep:
        JG_CHECK(same && counts[i] == 0);
        break;
      case mask::ColumnAction::kMask:
        JG_CHECK(counts[i] == 1);
        if (column.spec.strategy == mask::Strategy::kNull) {
          JG_CHECK(out.is_null);
        } else if (!out.is_null && column.format == 1 && column.kind == mask::ValueKind::kInt4) {
          JG_CHECK(out.bytes.size() == 4);
        } else if (!out.is_null && column.format == 1 && column.kind == mask::ValueKind::kUuid) {
          JG_CHECK(out.bytes.size() == 16);
        }
        break;
      case mask::ColumnAction::kScan:
        break;
    }
  }
}

// The reference: every frame of the stream, DataRows masked whole (unless over hold_max).
Bytes Reference(const mask::ResultPlan& plan, const mask::Hasher& hasher,
                std::span<const std::byte> stream, size_t hold_max, std::span<uint64_t> counts,
                size_t* data_rows, size_t* frames) {
  Bytes output;
  size_t at = 0;
  while (at < stream.size()) {
    JG_CHECK(stream.size() - at >= pg::kTaggedHeaderSize);
    const char type = static_cast<char>(stream[at]);
    const uint32_t body_size = pg::internal::LoadUint32(stream.data() + at + 1) - 4;
    const std::span<const std::byte> frame = stream.subspan(at, pg::kTaggedHeaderSize + body_size);
    const std::span<const std::byte> body = frame.subspan(pg::kTaggedHeaderSize);
    at += frame.size();
    ++*frames;
    if (type == pg::kMsgDataRow) {
      ++*data_rows;
    }
    if (type != pg::kMsgDataRow || body_size > hold_max) {
      output.insert(output.end(), frame.begin(), frame.end());
      continue;
    }
    std::vector<uint64_t> row_counts(plan.columns.size(), 0);
    const size_t start = output.size();
    if (mask::MaskDataRow(plan, body, &hasher, &output, row_counts)) {
      CheckMasked(plan, body, std::span<const std::byte>(output).subspan(start), row_counts);
    } else {
      JG_CHECK(output.size() == start);
      output.insert(output.end(), frame.begin(), frame.end());
      JG_CHECK(std::all_of(row_counts.begin(), row_counts.end(),
                           [](uint64_t c) { return c == 0; }));
    }
    for (size_t i = 0; i < counts.size(); ++i) {
      counts[i] += row_counts[i];
    }
  }
  return output;
}

// The session's path: a FrameEditor holding DataRows, fed in chunks, zero-copy.
Bytes Streamed(const mask::ResultPlan& plan, const mask::Hasher& hasher,
               std::span<const std::byte> stream, size_t hold_max,
               std::span<const uint8_t, kChunkSizeCount> sizes, std::span<uint64_t> counts,
               size_t* data_rows, size_t* frames) {
  FrameEditor editor(pg::Direction::kBackend, kFrameSizeMax, hold_max);
  editor.SetInterest(pg::kMsgDataRow);
  const bool all_zero = std::all_of(sizes.begin(), sizes.end(), [](uint8_t s) { return s == 0; });
  Bytes output;
  size_t at = 0;
  for (size_t step = 0; at < stream.size(); ++step) {
    const uint8_t pick = sizes[step % kChunkSizeCount];
    const size_t want = all_zero ? stream.size() : pick < 200 ? pick : size_t{pick - 199u} * 97;
    const std::span<const std::byte> chunk = stream.subspan(at, std::min(want, stream.size() - at));
    // `out` holds earlier bytes: the editor and the masker only append.
    Bytes out = {std::byte{0x5a}};
    const EditResult result = editor.Edit(
        chunk, true, false, &out, [&](const EditFrame& frame, Bytes* append) {
          JG_CHECK(frame.type == pg::kMsgDataRow);
          JG_CHECK(frame.oversize == (frame.body_size > hold_max));
          ++*data_rows;
          if (frame.oversize) {
            JG_CHECK(frame.payload.empty());
            return FrameAction::kKeep;
          }
          JG_CHECK(frame.payload.size() == frame.body_size);
          return mask::MaskDataRow(plan, frame.payload, &hasher, append, counts)
                     ? FrameAction::kDrop
                     : FrameAction::kKeep;
        });
    JG_CHECK(!result.invalid);
    JG_CHECK(result.forward <= result.walked && result.walked == chunk.size());
    JG_CHECK(out[0] == std::byte{0x5a});
    output.insert(output.end(), chunk.begin(),
                  chunk.begin() + static_cast<ptrdiff_t>(result.forward));
    output.insert(output.end(), out.begin() + 1, out.end());
    at += result.walked;
  }
  JG_CHECK(editor.at_boundary() && !editor.holding());
  *frames = editor.frames();
  return output;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderSize) {
    return 0;
  }
  Input in(data, size);
  const size_t column_count = 1 + in.Byte() % kColumnCountMax;
  const size_t hold_max = size_t{16} << (in.Byte() % 9);
  std::array<uint8_t, kChunkSizeCount> sizes{};
  for (uint8_t& s : sizes) {
    s = in.Byte();
  }
  const mask::ResultPlan plan = MakePlan(in, column_count);
  const Bytes stream = MakeStream(in, column_count);

  static const std::array<std::byte, 32> kKey = [] {
    std::array<std::byte, 32> key{};
    for (size_t i = 0; i < key.size(); ++i) {
      key[i] = static_cast<std::byte>(0xa5 ^ (i * 7));
    }
    return key;
  }();
  static const mask::Hasher hasher(kKey);

  std::vector<uint64_t> reference_counts(column_count, 0);
  size_t reference_rows = 0;
  size_t reference_frames = 0;
  const Bytes reference = Reference(plan, hasher, stream, hold_max, reference_counts,
                                    &reference_rows, &reference_frames);

  std::vector<uint64_t> streamed_counts(column_count, 0);
  size_t streamed_rows = 0;
  size_t streamed_frames = 0;
  const Bytes streamed = Streamed(plan, hasher, stream, hold_max, sizes, streamed_counts,
                                  &streamed_rows, &streamed_frames);

  JG_CHECK(streamed == reference);
  JG_CHECK(streamed_counts == reference_counts);
  JG_CHECK(streamed_rows == reference_rows);
  JG_CHECK(streamed_frames == reference_frames);
  return 0;
}
