// bench/audit_bench.cc: the shard side of the audit log, per record (src/audit/queue.h,
// src/audit/record.h). Target: under 50 ns to push a statement record.
//   BM_QueuePush/<poll_us>   a prebuilt 200-byte record into a 4 MiB SpscQueue, a consumer thread
//                            draining concurrently (as the writer does: batches, one Release
//                            each). poll_us 0: it spins, so it and the producer fight over the
//                            same cache lines and the figure is the consumer's rate; 100: it
//                            sleeps between passes as the writer polls (the shard's own cost)
//   BM_QueuePushInlinePop    the same push, the queue drained on the same thread every 1024
//                            pushes (no cache-line traffic with another core)
//   BM_QueuePushPop          push, Front, Pop and Release of one record, single thread
//   BM_BuildStatementRecord  RecordBuilder: the statement record a session makes (kStatementSeq,
//                            kKind, kText, kDecision, kClass, kCommand, kPolicy)
//   BM_BuildAndPush/<poll_us> both: build, then push, a consumer thread draining
//   BM_WallTimeUs            the clock read every record starts with (clock_gettime, vDSO)
// A push that finds the queue full spins until the consumer frees space; the count of such
// spins is reported as "full" (it should be 0 or nearly: the consumer is faster than the push).
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "jitgate/audit.h"
#include "src/audit/queue.h"
#include "src/audit/record.h"

namespace {

using jitgate::audit::Field;
using jitgate::audit::kFlagSecurity;
using jitgate::audit::RecordBuilder;
using jitgate::audit::RecordType;
using jitgate::audit::SpscQueue;

constexpr size_t kQueueBytes = 4u << 20;  // the "queue_bytes" default
constexpr size_t kBuilderBytes = 4096 + 4096 + (64u << 10);  // RecordCapacity of the defaults
constexpr std::string_view kStatementText =
    "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;";

// Drains `queue` on its own thread until stopped, releasing once per batch like the writer.
class Drainer {
 public:
  // `poll_us` 0: spin (yield when empty); else sleep that long after each pass.
  Drainer(SpscQueue& queue, int64_t poll_us)
      : queue_(queue), poll_us_(poll_us), thread_([this] { Run(); }) {}
  ~Drainer() {
    stop_.store(true, std::memory_order_release);
    thread_.join();
  }

 private:
  void Run() {
    while (!stop_.load(std::memory_order_acquire)) {
      size_t taken = 0;
      while (taken < 8192) {
        const std::span<const std::byte> record = queue_.Front();
        if (record.data() == nullptr) {
          break;
        }
        benchmark::DoNotOptimize(record.data());
        queue_.Pop(record.size());
        ++taken;
      }
      if (taken > 0) {
        queue_.Release();
      }
      if (poll_us_ > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(poll_us_));
      } else if (taken == 0) {
        std::this_thread::yield();
      }
    }
  }

  SpscQueue& queue_;
  const int64_t poll_us_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void DrainInline(SpscQueue& queue) {
  while (true) {
    const std::span<const std::byte> record = queue.Front();
    if (record.data() == nullptr) {
      break;
    }
    queue.Pop(record.size());
  }
  queue.Release();
}

// The statement record of a simple Query under an allowing policy.
std::span<const std::byte> BuildStatement(RecordBuilder& builder, uint64_t number) {
  builder.Begin(RecordType::kStatement, 0, jitgate::audit::WallTimeUs(), 17);
  builder.Integer(Field::kStatementSeq, number);
  builder.Text(Field::kKind, "query");
  builder.TextLimited(Field::kText, kStatementText, 4096);
  builder.Text(Field::kDecision, "allow");
  builder.Text(Field::kClass, "read");
  builder.Text(Field::kCommand, "SELECT");
  builder.Text(Field::kPolicy, "reporting-agents");
  return builder.Finish();
}

std::vector<std::byte> PrebuiltRecord(size_t size) {
  RecordBuilder builder(kBuilderBytes);
  builder.Begin(RecordType::kStatement, kFlagSecurity, jitgate::audit::WallTimeUs(), 17);
  builder.Text(Field::kText, std::string(size - jitgate::audit::kQueuedHeaderSize -
                                             jitgate::audit::kFieldHeaderSize,
                                         'x'));
  const std::span<const std::byte> record = builder.Finish();
  return std::vector<std::byte>(record.begin(), record.end());
}

void BM_QueuePush(benchmark::State& state) {
  SpscQueue queue(kQueueBytes);
  const std::vector<std::byte> record = PrebuiltRecord(200);
  uint64_t full = 0;
  {
    Drainer drainer(queue, state.range(0));
    for (auto _ : state) {
      while (!queue.TryPush(record)) [[unlikely]] {
        ++full;
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(record.size()));
  state.counters["full"] = static_cast<double>(full);
}
BENCHMARK(BM_QueuePush)->ArgName("poll_us")->Arg(0)->Arg(100);

void BM_QueuePushInlinePop(benchmark::State& state) {
  SpscQueue queue(kQueueBytes);
  const std::vector<std::byte> record = PrebuiltRecord(200);
  uint64_t pushed = 0;
  for (auto _ : state) {
    if (!queue.TryPush(record)) [[unlikely]] {
      state.SkipWithError("queue full");
      break;
    }
    if ((++pushed & 1023) == 0) {
      DrainInline(queue);
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(record.size()));
}
BENCHMARK(BM_QueuePushInlinePop);

void BM_QueuePushPop(benchmark::State& state) {
  SpscQueue queue(kQueueBytes);
  const std::vector<std::byte> record = PrebuiltRecord(200);
  for (auto _ : state) {
    queue.TryPush(record);
    const std::span<const std::byte> front = queue.Front();
    benchmark::DoNotOptimize(front.data());
    queue.Pop(front.size());
    queue.Release();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(record.size()));
}
BENCHMARK(BM_QueuePushPop);

void BM_BuildStatementRecord(benchmark::State& state) {
  RecordBuilder builder(kBuilderBytes);
  uint64_t number = 0;
  size_t size = 0;
  for (auto _ : state) {
    const std::span<const std::byte> record = BuildStatement(builder, ++number);
    benchmark::DoNotOptimize(record.data());
    size = record.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  state.counters["record_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_BuildStatementRecord);

void BM_BuildAndPush(benchmark::State& state) {
  SpscQueue queue(kQueueBytes);
  RecordBuilder builder(kBuilderBytes);
  uint64_t number = 0;
  uint64_t full = 0;
  size_t size = 0;
  {
    Drainer drainer(queue, state.range(0));
    for (auto _ : state) {
      const std::span<const std::byte> record = BuildStatement(builder, ++number);
      while (!queue.TryPush(record)) [[unlikely]] {
        ++full;
      }
      size = record.size();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  state.counters["full"] = static_cast<double>(full);
}
BENCHMARK(BM_BuildAndPush)->ArgName("poll_us")->Arg(0)->Arg(100);

void BM_WallTimeUs(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(jitgate::audit::WallTimeUs());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WallTimeUs);

}  // namespace

BENCHMARK_MAIN();
