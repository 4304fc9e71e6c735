// bench/mysql_decode_bench.cc: MySQL result-set decode throughput on one core: a stream of
// packets (frame walk with DecodeFrame) whose rows are walked field by field (TextRowCursor /
// BinaryRowCursor), mixed widths: ints, short and long strings, NULLs, a DATETIME, a DECIMAL.
// Also the golden captures end to end and the staging assembler. SetBytesProcessed counts wire
// bytes, so the figure reads as GB/s of backend stream.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "jitgate/parsers/mysql/packet.h"
#include "jitgate/parsers/mysql/resultset.h"

namespace my = jitgate::parsers::mysql;

namespace {

constexpr size_t kRows = 4096;

class Stream {
 public:
  void Byte(uint8_t b) { bytes_.push_back(static_cast<std::byte>(b)); }
  void Int(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      Byte(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  void LenStr(const std::string& s) {
    if (s.size() < 0xfb) {
      Byte(static_cast<uint8_t>(s.size()));
    } else {
      Byte(0xfc);
      Int(s.size(), 2);
    }
    for (char c : s) {
      Byte(static_cast<uint8_t>(c));
    }
  }
  // Closes the packet started at `start` (4 header bytes reserved there).
  void Seal(size_t start, uint8_t seq) {
    const size_t size = bytes_.size() - start - 4;
    bytes_[start] = static_cast<std::byte>(size & 0xff);
    bytes_[start + 1] = static_cast<std::byte>((size >> 8) & 0xff);
    bytes_[start + 2] = static_cast<std::byte>((size >> 16) & 0xff);
    bytes_[start + 3] = static_cast<std::byte>(seq);
  }
  size_t Open() {
    const size_t start = bytes_.size();
    Int(0, 4);
    return start;
  }
  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

// id BIGINT, name VARCHAR(~12), email VARCHAR(~24), note TEXT (0..400 bytes, NULL every 7th),
// created DATETIME, amount DECIMAL, flag TINY.
const uint8_t kTypes[] = {my::kMysqlTypeLonglong, my::kMysqlTypeVarString, my::kMysqlTypeVarString,
                          my::kMysqlTypeBlob,     my::kMysqlTypeDatetime,  my::kMysqlTypeNewdecimal,
                          my::kMysqlTypeTiny};
constexpr size_t kColumns = sizeof(kTypes);

std::string Note(size_t i) { return std::string((i * 37) % 400, static_cast<char>('a' + i % 26)); }

std::vector<std::byte> TextRows() {
  Stream s;
  for (size_t i = 0; i < kRows; ++i) {
    const size_t start = s.Open();
    s.LenStr(std::to_string(1000000 + i));
    s.LenStr("user" + std::to_string(i));
    s.LenStr("user" + std::to_string(i) + "@example.com");
    if (i % 7 == 0) {
      s.Byte(0xfb);
    } else {
      s.LenStr(Note(i));
    }
    s.LenStr("2024-02-29 12:34:56");
    s.LenStr(std::to_string(i) + ".25");
    s.LenStr(i % 2 == 0 ? "1" : "0");
    s.Seal(start, static_cast<uint8_t>(i + 3));
  }
  return s.bytes();
}

std::vector<std::byte> BinaryRows() {
  Stream s;
  for (size_t i = 0; i < kRows; ++i) {
    const size_t start = s.Open();
    s.Byte(0x00);
    const size_t null_bit = 3 + 2;  // note column, bitmap offset 2
    s.Int(i % 7 == 0 ? (1u << null_bit) : 0, my::NullBitmapSize(kColumns, 2));
    s.Int(1000000 + i, 8);
    s.LenStr("user" + std::to_string(i));
    s.LenStr("user" + std::to_string(i) + "@example.com");
    if (i % 7 != 0) {
      s.LenStr(Note(i));
    }
    s.Byte(7);
    s.Int(2024, 2);
    s.Byte(2);
    s.Byte(29);
    s.Byte(12);
    s.Byte(34);
    s.Byte(56);
    s.LenStr(std::to_string(i) + ".25");
    s.Byte(i % 2);
    s.Seal(start, static_cast<uint8_t>(i + 3));
  }
  return s.bytes();
}

template <typename WalkRow>
void Walk(benchmark::State& state, const std::vector<std::byte>& stream, WalkRow walk_row) {
  const my::Bytes all(stream);
  size_t fields = 0;
  for (auto _ : state) {
    size_t offset = 0;
    while (offset < all.size()) {
      const my::Frame frame = my::DecodeFrame(all.subspan(offset), 1 << 24);
      if (frame.status != my::DecodeStatus::kOk) {
        state.SkipWithError("frame");
        return;
      }
      fields += walk_row(frame.payload);
      offset += frame.frame_size;
    }
  }
  benchmark::DoNotOptimize(fields);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}

void BM_TextResultSet(benchmark::State& state) {
  const auto stream = TextRows();
  Walk(state, stream, [](my::Bytes payload) {
    my::TextRowCursor cursor(payload, kColumns);
    my::Field field;
    size_t n = 0;
    while (cursor.Next(field)) {
      n += field.value.size();
    }
    return cursor.status() == my::DecodeStatus::kOk ? n : 0;
  });
}
BENCHMARK(BM_TextResultSet);

void BM_BinaryResultSet(benchmark::State& state) {
  const auto stream = BinaryRows();
  Walk(state, stream, [](my::Bytes payload) {
    my::BinaryRowCursor cursor(payload, kTypes);
    my::Field field;
    size_t n = 0;
    while (cursor.Next(field)) {
      n += field.value.size();
    }
    return cursor.status() == my::DecodeStatus::kOk ? n : 0;
  });
}
BENCHMARK(BM_BinaryResultSet);

void BM_FrameWalkOnly(benchmark::State& state) {
  const auto stream = TextRows();
  Walk(state, stream, [](my::Bytes payload) { return payload.size(); });
}
BENCHMARK(BM_FrameWalkOnly);

// The staging path: the same text stream arriving in 1500-byte pieces, copied and reassembled.
void BM_AssemblerStaging(benchmark::State& state) {
  const auto stream = TextRows();
  const my::Bytes all(stream);
  std::vector<std::byte> storage(1 << 16);
  size_t frames = 0;
  for (auto _ : state) {
    my::PacketAssembler assembler(storage);
    size_t offset = 0;
    while (offset < all.size()) {
      const size_t piece = std::min<size_t>(1500, all.size() - offset);
      const auto result = assembler.Feed(all.subspan(offset, piece));
      offset += result.consumed;
      if (result.status == my::DecodeStatus::kOk) {
        ++frames;
        assembler.Reset();
      }
    }
  }
  benchmark::DoNotOptimize(frames);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_AssemblerStaging);

}  // namespace

BENCHMARK_MAIN();
