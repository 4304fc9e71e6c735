// bench/audit_writer_bench.cc: the audit writer's path to disk (src/audit/segment.h): queued
// records appended to segment files (frame, SHA-256 or HMAC link, buffered write(2)), with an
// fdatasync every 4096 records as a busy writer's group commit, on a real file system; and
// VerifyLog over the result. Target: at least 1 million records per second to disk.
//   build-release/bench/audit_writer_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "jitgate/check.h"
#include "src/audit/reader.h"
#include "src/audit/record.h"
#include "src/audit/segment.h"

namespace jitgate::audit {
namespace {

std::string TempDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/jg-audit-bench.XXXXXX";
  JG_CHECK(mkdtemp(pattern.data()) != nullptr);
  return pattern + "/log";
}

// A statement record as a session emits it, padded to about `size` bytes of queued record.
std::span<const std::byte> StatementRecord(RecordBuilder* b, size_t size) {
  b->Begin(RecordType::kStatement, kFlagSecurity, WallTimeUs(), 42);
  b->Integer(Field::kStatementSeq, 7);
  b->Text(Field::kKind, "query");
  b->Text(Field::kDecision, "allow");
  b->Text(Field::kClass, "read");
  b->Text(Field::kCommand, "SELECT");
  b->Text(Field::kPolicy, "agents");
  const size_t used = b->size() + kFieldHeaderSize;
  std::string text = "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;";
  if (size > used + text.size()) {
    text.append(size - used - text.size(), ' ');
  }
  b->Text(Field::kText, text);
  return b->Finish();
}

void Append(benchmark::State& state, bool keyed) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::string dir = TempDir();
  LogOptions options;
  options.dir = dir;
  options.segment_size_max = uint64_t{256} << 20;
  if (keyed) {
    options.chain_key = std::string(32, 'k');
  }
  auto writer = SegmentWriter::Open(options, nullptr);
  JG_CHECK(writer.ok());
  RecordBuilder builder(8192);
  const std::span<const std::byte> record = StatementRecord(&builder, size);
  uint64_t n = 0;
  for (auto _ : state) {
    (*writer)->AppendQueued(record, 0);
    if ((++n & 4095) == 0) {
      JG_CHECK((*writer)->Sync().ok());
    }
  }
  JG_CHECK((*writer)->Close(0).ok());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * record.size()));
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

void BM_AppendSha256(benchmark::State& state) { Append(state, false); }
BENCHMARK(BM_AppendSha256)->Arg(200)->Arg(1024);
void BM_AppendHmac(benchmark::State& state) { Append(state, true); }
BENCHMARK(BM_AppendHmac)->Arg(200);

void BM_VerifyLog(benchmark::State& state) {
  const std::string dir = TempDir();
  LogOptions options;
  options.dir = dir;
  {
    auto writer = SegmentWriter::Open(options, nullptr);
    JG_CHECK(writer.ok());
    RecordBuilder builder(8192);
    const std::span<const std::byte> record = StatementRecord(&builder, 200);
    for (int i = 0; i < 200000; ++i) {
      (*writer)->AppendQueued(record, 0);
    }
    JG_CHECK((*writer)->Close(0).ok());
  }
  uint64_t records = 0;
  for (auto _ : state) {
    const VerifyReport report = VerifyLog(dir, "");
    JG_CHECK(report.ok);
    records += report.records;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}
BENCHMARK(BM_VerifyLog)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace jitgate::audit

BENCHMARK_MAIN();
