// src/shard/shard.h: one shard = one pinned thread with its own io_uring, buffer ring,
// SO_REUSEPORT listeners and session table (src/shard/relay.h). Nothing in a shard is shared.
//
// Lifecycle (driven by src/main.cc): construct on the main thread, Start() spawns the thread,
// which sets everything up and reports through WaitReady(); RequestStop() (any thread) makes
// it stop accepting and lets sessions finish for limits.shutdown_grace_s, then closes the rest;
// Join() waits for the thread. stats() is valid after Join().
#ifndef JITGATE_SRC_SHARD_SHARD_H_
#define JITGATE_SRC_SHARD_SHARD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <semaphore>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "jitgate/config.h"
#include "ringio/buf_ring.h"
#include "ringio/ring.h"
#include "ringio/wake.h"
#include "src/shard/balancer.h"
#include "src/shard/relay.h"

namespace jitgate::shard {

class Shard {
 public:
  // `cpu` is the CPU to pin the thread to, or -1 for no pinning. `env` (gateway listeners'
  // shared state) is null when every listener is a relay; `balancer` is null when connections
  // stay where the kernel put them (one shard, balance_shards false). Both outlive the shard.
  Shard(uint32_t index, int cpu, const config::Config& config,
        const session::GatewayEnv* env = nullptr, Balancer* balancer = nullptr);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void Start();
  // Blocks until the shard listens (OK) or failed to set up (the reason).
  absl::Status WaitReady();
  // Thread-safe. `immediate` skips the grace period (a second SIGTERM).
  void RequestStop(bool immediate);
  // Thread-safe, after WaitReady: wakes the shard (the audit writer moved: sessions waiting for
  // their records are looked at; another shard handed it a connection).
  void Poke() const { wake_->Signal(); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  void Join();

  const ShardStats& stats() const { return stats_; }

 private:
  void ThreadMain();
  absl::Status SetUp();
  absl::Status OpenListeners();
  void Loop();
  void Dispatch(const io_uring_cqe& cqe);
  void OnAccept(uint32_t listener_index, const io_uring_cqe& cqe);
  void OnWake();
  void AdoptHandoffs();
  void OnTick();
  void BeginStop(bool immediate);
  void ArmTick();

  const uint32_t index_;
  const int cpu_;
  const config::Config& config_;
  const session::GatewayEnv* const env_;
  Balancer* const balancer_;
  std::vector<Handoff> handoffs_;  // AdoptHandoffs' scratch

  std::thread thread_;
  std::binary_semaphore ready_{0};
  absl::Status setup_status_;
  std::atomic<int> stop_level_{0};  // 0 running, 1 graceful stop, 2 immediate
  std::atomic<bool> finished_{false};

  std::unique_ptr<ringio::Ring> ring_;
  std::unique_ptr<ringio::BufRing> buffers_;
  std::optional<ringio::Wake> wake_;
  std::unique_ptr<Relay> relay_;
  std::vector<int> listen_fds_;  // by listener index; -1 once closed
  std::vector<bool> accept_armed_;

  ShardStats stats_;
  int64_t now_ms_ = 0;
  bool stopping_ = false;
  bool done_ = false;
  int stop_level_seen_ = 0;
  int64_t stop_deadline_ms_ = 0;
  uint32_t accept_rearm_pending_ = 0;  // listeners whose accept failed; re-armed at the tick
  __kernel_timespec tick_{};
};

}  // namespace jitgate::shard

#endif  // JITGATE_SRC_SHARD_SHARD_H_
