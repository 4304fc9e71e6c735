#include "src/shard/balancer.h"

#include <unistd.h>

#include <utility>

#include "jitgate/check.h"

namespace jitgate::shard {

Balancer::Balancer(uint32_t shard_count) {
  JG_CHECK(shard_count >= 1);
  shards_.reserve(shard_count);
  for (uint32_t i = 0; i < shard_count; ++i) {
    shards_.push_back(std::make_unique<Slot>());
  }
}

Balancer::~Balancer() {
  for (const std::unique_ptr<Slot>& slot : shards_) {
    for (const Handoff& handoff : slot->inbox) {
      close(handoff.fd);
    }
  }
}

void Balancer::SetWake(uint32_t shard, std::function<void()> wake) {
  JG_CHECK(shard < shards_.size());
  std::lock_guard<std::mutex> lock(shards_[shard]->mutex);
  shards_[shard]->wake = std::move(wake);
}

bool Balancer::Route(uint32_t from, int fd, uint32_t listener) {
  JG_DCHECK(from < shards_.size());
  // With the new connection counted where it arrived.
  const uint32_t mine = load(from) + 1;
  uint32_t best = from;
  uint32_t best_load = mine;
  for (uint32_t i = 0; i < shards_.size(); ++i) {
    if (i == from || !shards_[i]->open.load(std::memory_order_relaxed)) {
      continue;
    }
    const uint32_t other = load(i);
    if (other < best_load) {
      best = i;
      best_load = other;
    }
  }
  // Move only when it makes the two more even: `from` ends at mine - 1, `best` at best_load + 1.
  if (best == from || best_load + 1 >= mine) {
    return false;
  }
  Slot& target = *shards_[best];
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(target.mutex);
    if (!target.open.load(std::memory_order_relaxed) || !target.wake) {
      return false;
    }
    target.pending.fetch_add(1, std::memory_order_release);
    target.inbox.push_back(Handoff{fd, listener});
    wake = target.wake;
  }
  moved_.fetch_add(1, std::memory_order_relaxed);
  wake();
  return true;
}

void Balancer::Take(uint32_t shard, std::vector<Handoff>* out) {
  Slot& slot = *shards_[shard];
  if (slot.pending.load(std::memory_order_acquire) == 0) {
    return;  // the common wake (audit progress, stop): no lock
  }
  std::lock_guard<std::mutex> lock(slot.mutex);
  out->insert(out->end(), slot.inbox.begin(), slot.inbox.end());
  slot.inbox.clear();
}

void Balancer::Open(uint32_t shard) {
  Slot& slot = *shards_[shard];
  std::lock_guard<std::mutex> lock(slot.mutex);
  slot.open.store(true, std::memory_order_relaxed);
}

uint32_t Balancer::Close(uint32_t shard) {
  Slot& slot = *shards_[shard];
  std::vector<Handoff> left;
  {
    std::lock_guard<std::mutex> lock(slot.mutex);
    slot.open.store(false, std::memory_order_relaxed);
    left.swap(slot.inbox);
  }
  for (const Handoff& handoff : left) {
    close(handoff.fd);
  }
  slot.pending.fetch_sub(static_cast<uint32_t>(left.size()), std::memory_order_relaxed);
  return static_cast<uint32_t>(left.size());
}

}  // namespace jitgate::shard
