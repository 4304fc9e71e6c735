// bench/pg_decode_bench.cc: decode throughput of the PostgreSQL wire decoder
// (jitgate/parsers/pg/frame.h, backend.h, frontend.h) on realistic in-memory streams.
//  - BM_BackendResultStream: RowDescription + 20000 mixed-width DataRows (int4 and int8 as text,
//    short text, 100-byte text, NULLs) + CommandComplete + ReadyForQuery; frame walk, DataRow
//    decode and every column view. Target: >= 4 GB/s on one core (issue 3).
//  - BM_BackendResultStreamStaged: the same through a FrameStager fed 64 KiB buffers (the
//    session's path: frames straddling buffers are copied).
//  - BM_FrontendExtendedStream: pgbench-like extended protocol traffic (Parse/Bind/Describe/
//    Execute/Sync per transaction), frame walk plus the typed decoder of each message.
//  - BM_RewriteDataRow: masking one column of each DataRow into a fresh buffer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frame.h"
#include "jitgate/parsers/pg/frontend.h"

namespace jitgate::parsers::pg {
namespace {

constexpr size_t kFrameSizeMax = 1 << 20;

class Builder {
 public:
  explicit Builder(char type) { out_.push_back(type), out_.append(4, '\0'); }
  Builder& Int16(int v) {
    out_.push_back(static_cast<char>(v >> 8));
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  Builder& Int32(int64_t v) {
    for (int i = 0; i < 4; ++i) {
      out_.push_back(static_cast<char>(static_cast<uint32_t>(v) >> (24 - 8 * i)));
    }
    return *this;
  }
  Builder& String(const std::string& s) {
    out_ += s;
    out_.push_back('\0');
    return *this;
  }
  Builder& Value(const std::string& s) { return Int32(static_cast<int64_t>(s.size())).Raw(s); }
  Builder& Null() { return Int32(-1); }
  Builder& Raw(const std::string& s) {
    out_ += s;
    return *this;
  }
  std::string Build() {
    const uint32_t length = static_cast<uint32_t>(out_.size() - 1);
    for (int i = 0; i < 4; ++i) {
      out_[1 + i] = static_cast<char>(length >> (24 - 8 * i));
    }
    return out_;
  }

 private:
  std::string out_;
};

std::string BackendStream() {
  std::string s;
  Builder description('T');
  description.Int16(6);
  const char* names[] = {"id", "account_id", "name", "bio", "note", "balance"};
  const int types[] = {23, 20, 25, 25, 25, 1700};
  for (int i = 0; i < 6; ++i) {
    description.String(names[i])
        .Int32(16384)
        .Int16(i + 1)
        .Int32(types[i])
        .Int16(-1)
        .Int32(-1)
        .Int16(0);
  }
  s += description.Build();
  for (int row = 0; row < 20000; ++row) {
    Builder data('D');
    data.Int16(6).Value(std::to_string(row)).Value(std::to_string(1000000007LL * row));
    data.Value("user_" + std::to_string(row % 977));
    data.Value(std::string(100, static_cast<char>('a' + row % 26)));
    if (row % 3 == 0) {
      data.Null();
    } else {
      data.Value("note " + std::to_string(row));
    }
    data.Value(std::to_string(row % 1000) + "." + std::to_string(row % 100));
    s += data.Build();
  }
  s += Builder('C').String("SELECT 20000").Build();
  s += Builder('Z').Raw("I").Build();
  return s;
}

std::string FrontendStream() {
  std::string s;
  for (int tx = 0; tx < 2000; ++tx) {
    const std::string aid = std::to_string(tx * 37 % 100000 + 1);
    s += Builder('P')
             .String("")
             .String("SELECT abalance FROM pgbench_accounts WHERE aid = $1;")
             .Int16(0)
             .Build();
    s += Builder('B').String("").String("").Int16(0).Int16(1).Value(aid).Int16(0).Build();
    s += Builder('D').Raw("P").String("").Build();
    s += Builder('E').String("").Int32(0).Build();
    s += Builder('P')
             .String("")
             .String("UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;")
             .Int16(0)
             .Build();
    s += Builder('B')
             .String("")
             .String("")
             .Int16(0)
             .Int16(2)
             .Value("-4711")
             .Value(aid)
             .Int16(0)
             .Build();
    s += Builder('D').Raw("P").String("").Build();
    s += Builder('E').String("").Int32(0).Build();
    s += Builder('S').Build();
  }
  return s;
}

std::span<const std::byte> AsBytes(const std::string& s) {
  return std::span(reinterpret_cast<const std::byte*>(s.data()), s.size());
}

// Walks the backend stream; returns a checksum so the work cannot be optimized away.
size_t WalkBackend(std::span<const std::byte> input, FrameStager* stager) {
  size_t checksum = 0;
  for (;;) {
    const Frame frame = stager != nullptr ? stager->Next(input)
                                          : DecodeFrame(input, Direction::kBackend, kFrameSizeMax);
    if (frame.status != DecodeStatus::kOk) {
      return checksum;
    }
    if (stager == nullptr) {
      input = input.subspan(frame.frame_size);
    }
    if (frame.type == kMsgDataRow) {
      DataRow row;
      if (DecodeDataRow(frame.payload, row) != InvalidReason::kNone) {
        return 0;
      }
      ValueIterator it = row.columns();
      Value value;
      while (it.Next(value)) {
        checksum += value.bytes.size() + value.is_null;
      }
    } else {
      checksum += DecodeBackendMessage(frame.type, frame.payload) == InvalidReason::kNone;
    }
  }
}

void BM_BackendResultStream(benchmark::State& state) {
  const std::string stream = BackendStream();
  for (auto _ : state) {
    benchmark::DoNotOptimize(WalkBackend(AsBytes(stream), nullptr));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 20003));
}
BENCHMARK(BM_BackendResultStream);

void BM_BackendResultStreamStaged(benchmark::State& state) {
  const std::string stream = BackendStream();
  std::vector<std::byte> storage(kFrameSizeMax);
  constexpr size_t kBuffer = 64 * 1024;
  for (auto _ : state) {
    FrameStager stager(storage, Direction::kBackend);
    size_t checksum = 0;
    for (size_t at = 0; at < stream.size(); at += kBuffer) {
      checksum +=
          WalkBackend(AsBytes(stream).subspan(at, std::min(kBuffer, stream.size() - at)), &stager);
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_BackendResultStreamStaged);

void BM_FrontendExtendedStream(benchmark::State& state) {
  const std::string stream = FrontendStream();
  for (auto _ : state) {
    std::span<const std::byte> input = AsBytes(stream);
    size_t checksum = 0;
    for (;;) {
      const Frame frame = DecodeFrame(input, Direction::kFrontend, kFrameSizeMax);
      if (frame.status != DecodeStatus::kOk) {
        break;
      }
      input = input.subspan(frame.frame_size);
      if (frame.type == kMsgBind) {
        Bind bind;
        checksum += DecodeBind(frame.payload, bind) == InvalidReason::kNone;
        ValueIterator it = bind.params();
        Value value;
        while (it.Next(value)) {
          checksum += value.bytes.size();
        }
      } else {
        checksum += DecodeFrontendMessage(frame.type, frame.payload) == InvalidReason::kNone;
      }
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2000 * 9));
}
BENCHMARK(BM_FrontendExtendedStream);

void BM_RewriteDataRow(benchmark::State& state) {
  const std::string stream = BackendStream();
  std::vector<std::byte> out(4096);
  ColumnRewrite rewrites[6] = {};
  rewrites[2] = {ColumnAction::kReplace, AsBytes("user_***")};
  rewrites[4] = {ColumnAction::kNull, {}};
  size_t rows = 0;
  for (auto _ : state) {
    std::span<const std::byte> input = AsBytes(stream);
    size_t written = 0;
    for (;;) {
      const Frame frame = DecodeFrame(input, Direction::kBackend, kFrameSizeMax);
      if (frame.status != DecodeStatus::kOk) {
        break;
      }
      input = input.subspan(frame.frame_size);
      DataRow row;
      if (frame.type == kMsgDataRow && DecodeDataRow(frame.payload, row) == InvalidReason::kNone) {
        written += RewriteDataRow(row, rewrites, out);
        ++rows;
      }
    }
    benchmark::DoNotOptimize(written);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(rows));
}
BENCHMARK(BM_RewriteDataRow);

}  // namespace
}  // namespace jitgate::parsers::pg

BENCHMARK_MAIN();
