// bench/session_bench.cc: the gateway session's per-buffer cost on the forwarding path.
//  - BM_WalkResultStream: session::FrameWalker over a RowDescription + 20000 DataRows +
//    CommandComplete + ReadyForQuery stream in 16 KiB receive buffers, with the forwarding
//    path's interest set (ReadyForQuery, ParameterStatus: DataRows are skipped by length). This
//    is what a zero-copy gateway session adds to each buffer it forwards; bytes/s.
//  - BM_WalkPgbenchSelect: one pgbench -S response (T, D, C, Z) per call, the -c 32 workload's
//    shape; items/s = responses walked.
//  - BM_WalkQueries: the client side: a simple Query per call with the guardrail hook's interest
//    (Query, Parse, FunctionCall, Terminate) delivered as a view.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/frontend.h"
#include "src/session/frame_walker.h"

namespace jitgate::session {
namespace {

namespace pg = parsers::pg;

constexpr size_t kFrameSizeMax = size_t{1} << 30;
constexpr size_t kBufferSize = 16384;

void Frame(char type, const std::string& body, std::string* out) {
  out->push_back(type);
  const uint32_t length = static_cast<uint32_t>(body.size() + 4);
  for (int i = 0; i < 4; ++i) {
    out->push_back(static_cast<char>(length >> (24 - 8 * i)));
  }
  *out += body;
}

std::string Int16(int v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }
std::string Int32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string RowDescription(int columns) {
  std::string body = Int16(columns);
  for (int c = 0; c < columns; ++c) {
    body += "col" + std::to_string(c) + std::string(1, '\0');
    body += Int32(16384) + Int16(c + 1) + Int32(25) + Int16(-1) + Int32(0xffffffffu) + Int16(0);
  }
  std::string out;
  Frame('T', body, &out);
  return out;
}

std::string DataRow(const std::vector<std::string>& values) {
  std::string body = Int16(static_cast<int>(values.size()));
  for (const std::string& v : values) {
    body += Int32(static_cast<uint32_t>(v.size())) + v;
  }
  std::string out;
  Frame('D', body, &out);
  return out;
}

std::string Tail() {
  std::string out;
  Frame('C', std::string("SELECT 1") + '\0', &out);
  Frame('Z', "I", &out);
  return out;
}

FrameWalker DownWalker() {
  FrameWalker walker(pg::Direction::kBackend, kFrameSizeMax, 64 * 1024);
  walker.SetInterest(pg::kMsgReadyForQuery);
  walker.SetInterest(pg::kMsgParameterStatus);
  return walker;
}

void BM_WalkResultStream(benchmark::State& state) {
  std::string stream = RowDescription(4);
  for (int i = 0; i < 20000; ++i) {
    stream += DataRow({std::to_string(i), std::to_string(int64_t{i} * 7919),
                       "customer-" + std::to_string(i % 97), std::string(100, 'x')});
  }
  stream += Tail();
  const auto bytes = std::as_bytes(std::span(stream.data(), stream.size()));
  uint64_t ready = 0;
  for (auto _ : state) {
    FrameWalker walker = DownWalker();
    for (size_t at = 0; at < bytes.size(); at += kBufferSize) {
      size_t walked = 0;
      walker.Advance(bytes.subspan(at, std::min(kBufferSize, bytes.size() - at)), false, &walked,
                     [&](const WalkedFrame& frame) { ready += frame.type == 'Z'; });
    }
  }
  benchmark::DoNotOptimize(ready);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_WalkResultStream);

void BM_WalkPgbenchSelect(benchmark::State& state) {
  const std::string response = RowDescription(1) + DataRow({"-2736"}) + Tail();
  const auto bytes = std::as_bytes(std::span(response.data(), response.size()));
  FrameWalker walker = DownWalker();
  uint64_t ready = 0;
  for (auto _ : state) {
    size_t walked = 0;
    walker.Advance(bytes, false, &walked,
                   [&](const WalkedFrame& frame) { ready += frame.type == 'Z'; });
    benchmark::DoNotOptimize(walked);
  }
  benchmark::DoNotOptimize(ready);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_WalkPgbenchSelect);

void BM_WalkQueries(benchmark::State& state) {
  std::string query;
  Frame('Q', std::string("SELECT abalance FROM pgbench_accounts WHERE aid = 48213;") + '\0',
        &query);
  const auto bytes = std::as_bytes(std::span(query.data(), query.size()));
  FrameWalker walker(pg::Direction::kFrontend, kFrameSizeMax, 64 * 1024);
  for (char type : {pg::kMsgQuery, pg::kMsgParse, pg::kMsgFunctionCall, pg::kMsgTerminate}) {
    walker.SetInterest(type);
  }
  uint64_t statements = 0;
  for (auto _ : state) {
    size_t walked = 0;
    walker.Advance(bytes, false, &walked,
                   [&](const WalkedFrame& frame) { statements += frame.payload.size() > 0; });
    benchmark::DoNotOptimize(walked);
  }
  benchmark::DoNotOptimize(statements);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WalkQueries);

}  // namespace
}  // namespace jitgate::session
BENCHMARK_MAIN();
