// src/shard/balancer.h: keeps sessions even across shards.
//
// Every shard has its own SO_REUSEPORT listener, and the kernel picks one by a hash of the
// connection's addresses: over thousands of connections that is even, over the few dozen a
// fleet of agents or a pgbench -c 32 holds it is not (24/8 happens), and the busier shard's
// core saturates while the other idles. So a shard that accepts a connection it would hold
// at least two sessions more than the least-loaded shard with hands the descriptor to that
// shard (its inbox, then a wake) before anything is read from it; the target adopts it as if
// it had accepted it. Session counts then stay within one of each other. The cost is one wake per
// moved connection, nothing per statement.
//
// Loads are published by each shard (sessions it holds) plus connections handed to it and not
// yet adopted, so two shards deciding at once cannot both pile onto the same target unseen.
// A shard is handed connections only between its set-up and
// its stop. A shard that stops accepting closes its inbox: nothing is handed to it after that, and
// what was handed and not adopted is closed (a client that connected during shutdown sees EOF).
#ifndef JITGATE_SRC_SHARD_BALANCER_H_
#define JITGATE_SRC_SHARD_BALANCER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace jitgate::shard {

struct Handoff {
  int fd = -1;
  uint32_t listener = 0;
};

class Balancer {
 public:
  explicit Balancer(uint32_t shard_count);
  ~Balancer();  // closes descriptors still in an inbox
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }

  // Before the shards start: how to wake shard `shard` (thread-safe to call afterwards).
  void SetWake(uint32_t shard, std::function<void()> wake);

  // On `from`'s thread, for a connection it just accepted: true when `fd` was handed to a
  // less-loaded shard (which now owns it), false when `from` keeps it.
  bool Route(uint32_t from, int fd, uint32_t listener);

  // On `shard`'s thread: the number of sessions it holds (cheap when unchanged).
  void Publish(uint32_t shard, uint32_t sessions) {
    Slot& slot = *shards_[shard];
    if (slot.sessions.load(std::memory_order_relaxed) != sessions) {
      slot.sessions.store(sessions, std::memory_order_relaxed);
    }
  }

  // On `shard`'s thread: moves the connections handed to it into *out (appended). Call
  // Adopted(shard, n) once they are sessions (published), so they are never counted nowhere.
  void Take(uint32_t shard, std::vector<Handoff>* out);
  void Adopted(uint32_t shard, uint32_t n) {
    shards_[shard]->pending.fetch_sub(n, std::memory_order_relaxed);
  }

  // On `shard`'s thread once it can be woken and adopt connections (after its set-up): until
  // then nothing is handed to it.
  void Open(uint32_t shard);
  // On `shard`'s thread when it stops accepting: no more handoffs to it; closes what was
  // handed to it and not taken. Returns how many it closed. Idempotent.
  uint32_t Close(uint32_t shard);

  // Totals for the shutdown summary and tests.
  uint64_t moved() const { return moved_.load(std::memory_order_relaxed); }
  uint32_t load(uint32_t shard) const {
    return shards_[shard]->sessions.load(std::memory_order_relaxed) +
           shards_[shard]->pending.load(std::memory_order_relaxed);
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint32_t> sessions{0};
    std::atomic<uint32_t> pending{0};  // handed to this shard, not yet adopted
    std::atomic<bool> open{false};     // written under mutex; read without it to choose
    std::mutex mutex;                  // guards inbox, wake and the writes of open
    std::vector<Handoff> inbox;
    std::function<void()> wake;
  };
  std::vector<std::unique_ptr<Slot>> shards_;
  std::atomic<uint64_t> moved_{0};
};

}  // namespace jitgate::shard

#endif  // JITGATE_SRC_SHARD_BALANCER_H_
