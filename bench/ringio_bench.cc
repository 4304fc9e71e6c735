// Micro benchmarks of the ringio hot paths: tag packing, provided-buffer recycling, a batch of
// NOPs through the ring (the floor cost of one operation), and a loopback message through a
// send and a multishot recv (what one relayed frame costs the ring, without the database).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "benchmark/benchmark.h"
#include "ringio/buf_ring.h"
#include "ringio/result.h"
#include "ringio/ring.h"
#include "ringio/tag.h"

namespace jitgate::ringio {
namespace {

std::unique_ptr<Ring> MakeRing(benchmark::State& state) {
  auto ring = Ring::Create(RingOptions{});
  if (!ring.ok()) {
    state.SkipWithError("io_uring unavailable");
    return nullptr;
  }
  return std::move(*ring);
}

void BM_TagPackUnpack(benchmark::State& state) {
  uint32_t slot = 0;
  for (auto _ : state) {
    const uint64_t packed = PackTag(Tag{3, 1, static_cast<uint16_t>(slot), slot});
    benchmark::DoNotOptimize(UnpackTag(packed));
    ++slot;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TagPackUnpack);

void BM_BufRingTakeReleasePublish(benchmark::State& state) {
  auto ring = MakeRing(state);
  if (!ring) {
    return;
  }
  auto buffers = BufRing::Create(ring.get(), 0, 4096, 16384);
  if (!buffers.ok()) {
    state.SkipWithError("buffer ring unavailable");
    return;
  }
  const auto batch = static_cast<uint16_t>(state.range(0));
  for (auto _ : state) {
    for (uint16_t bid = 0; bid < batch; ++bid) {
      (*buffers)->Take(bid);
    }
    for (uint16_t bid = 0; bid < batch; ++bid) {
      (*buffers)->Release(bid);
    }
    benchmark::DoNotOptimize((*buffers)->Publish());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_BufRingTakeReleasePublish)->Arg(1)->Arg(32);

void BM_RingNopBatch(benchmark::State& state) {
  auto ring = MakeRing(state);
  if (!ring) {
    return;
  }
  const auto batch = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    for (uint32_t i = 0; i < batch; ++i) {
      io_uring_prep_nop(ring->GetSqe(Tag{1, 0, 0, i}));
    }
    ring->SubmitAndWait(batch);
    uint32_t reaped = 0;
    while (reaped < batch) {
      reaped += ring->Drain([](const io_uring_cqe& cqe) { benchmark::DoNotOptimize(cqe.res); });
      if (reaped < batch) {
        ring->SubmitAndWait(1);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_RingNopBatch)->Arg(1)->Arg(64);

void BM_LoopbackSendRecv(benchmark::State& state) {
  auto ring = MakeRing(state);
  if (!ring) {
    return;
  }
  auto buffers = BufRing::Create(ring.get(), 0, 256, 16384);
  int fds[2];
  if (!buffers.ok() || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    state.SkipWithError("setup failed");
    return;
  }
  const size_t size = static_cast<size_t>(state.range(0));
  std::vector<char> payload(size, 'x');
  ring->RecvMultishot(fds[1], 0, Tag{2, 0, 0, 0});
  for (auto _ : state) {
    ring->Send(fds[0], payload.data(), static_cast<uint32_t>(size), Tag{3, 0, 0, 0});
    size_t received = 0;
    bool sent = false;
    while (!sent || received < size) {
      ring->SubmitAndWait(1);
      ring->Drain([&](const io_uring_cqe& cqe) {
        const Tag tag = UnpackTag(cqe.user_data);
        if (tag.op == 3) {
          sent = true;
          return;
        }
        if (cqe.flags & IORING_CQE_F_BUFFER) {
          const auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
          (*buffers)->Take(bid);
          (*buffers)->Release(bid);
          received += cqe.res > 0 ? static_cast<size_t>(cqe.res) : 0;
        }
        if (!(cqe.flags & IORING_CQE_F_MORE)) {
          ring->RecvMultishot(fds[1], 0, Tag{2, 0, 0, 0});
        }
      });
      (*buffers)->Publish();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  close(fds[0]);
  close(fds[1]);
}
BENCHMARK(BM_LoopbackSendRecv)->Arg(64)->Arg(16384);

}  // namespace
}  // namespace jitgate::ringio

BENCHMARK_MAIN();
