// src/audit/queue.h: the bounded single-producer single-consumer byte queue that carries one
// shard's audit records to the writer thread.
//
// One shard thread pushes, the writer thread pops; no lock, no allocation after construction.
// Entries are variable-sized: an 8-byte slot header (u32 size, u32 zero) and the record padded to
// 8 bytes, laid end to end in a power-of-two ring. An entry never wraps: when the bytes left
// before the ring's end are too few, the producer writes a wrap marker there and starts over at
// offset 0. Positions are 64-bit byte counters that only grow (offset = position & mask).
// Invariant: tail_ <= head_ <= tail_ + capacity (each side's cached copy lags its source).
// The producer publishes an entry with a release store of head_, the consumer frees space with a
// release store of tail_; each side re-reads the other's counter only when its cached copy says
// the queue is full (producer) or empty (consumer), so a push is a copy and one store.
#ifndef JITGATE_SRC_AUDIT_QUEUE_H_
#define JITGATE_SRC_AUDIT_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "jitgate/check.h"

namespace jitgate::audit {

class SpscQueue {
 public:
  static constexpr size_t kSlotHeaderSize = 8;
  static constexpr uint32_t kWrapMarker = 0xFFFFFFFFu;
  static constexpr size_t kCapacityMin = 64 << 10;

  // `capacity_bytes`: a power of two, at least kCapacityMin.
  explicit SpscQueue(size_t capacity_bytes);
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // The largest record that can ever be pushed (half the ring: one always fits after a wrap).
  size_t record_size_max() const { return capacity_ / 2 - kSlotHeaderSize; }
  size_t capacity() const { return capacity_; }

  // ---- producer thread --------------------------------------------------------------------------
  // Copies `record` in. False when there is no room now (or never: above record_size_max).
  bool TryPush(std::span<const std::byte> record) {
    const size_t need = kSlotHeaderSize + Pad(record.size());
    if (record.size() > record_size_max()) [[unlikely]] {
      return false;
    }
    const uint64_t head = head_.load(std::memory_order_relaxed);
    const size_t offset = head & mask_;
    const size_t until_end = capacity_ - offset;
    const size_t total = need <= until_end ? need : until_end + need;
    if (head + total - producer_tail_ > capacity_) {
      producer_tail_ = tail_.load(std::memory_order_acquire);
      if (head + total - producer_tail_ > capacity_) {
        return false;
      }
    }
    std::byte* base = ring_.get();
    uint64_t at = head;
    if (need > until_end) {
      StoreSize(base + offset, kWrapMarker);
      at += until_end;
    }
    std::byte* slot = base + (at & mask_);
    StoreSize(slot, static_cast<uint32_t>(record.size()));
    if (!record.empty()) [[likely]] {  // memcpy from a null span's data() is undefined
      std::memcpy(slot + kSlotHeaderSize, record.data(), record.size());
    }
    head_.store(at + need, std::memory_order_release);
    return true;
  }

  // ---- consumer thread --------------------------------------------------------------------------
  // The oldest record, or a span with a null data() when the queue is empty (a zero-size record
  // has a non-null data(): test data(), not empty()). Valid until Release().
  std::span<const std::byte> Front() {
    if (consumer_pos_ == consumer_head_) {
      consumer_head_ = head_.load(std::memory_order_acquire);
      if (consumer_pos_ == consumer_head_) {
        return {};
      }
    }
    const std::byte* slot = ring_.get() + (consumer_pos_ & mask_);
    uint32_t size = LoadSize(slot);
    if (size == kWrapMarker) {
      consumer_pos_ += capacity_ - (consumer_pos_ & mask_);
      JG_DCHECK(consumer_pos_ < consumer_head_);
      slot = ring_.get();
      size = LoadSize(slot);
    }
    JG_DCHECK(size <= record_size_max());
    return {slot + kSlotHeaderSize, size};
  }
  // Moves past the record Front() returned; the space is given back at Release().
  void Pop(size_t record_size) { consumer_pos_ += kSlotHeaderSize + Pad(record_size); }
  // Gives the space of every popped record back to the producer (one store per batch).
  void Release() { tail_.store(consumer_pos_, std::memory_order_release); }

  // Either side, for tests and gauges: bytes in use (racy but bounded by capacity).
  size_t used_bytes() const {
    return static_cast<size_t>(head_.load(std::memory_order_acquire) -
                               tail_.load(std::memory_order_acquire));
  }

  void AssertInvariants() const {
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    const uint64_t head = head_.load(std::memory_order_acquire);
    JG_CHECK(tail <= head && head <= tail + capacity_);
  }

 private:
  static size_t Pad(size_t n) { return (n + 7) & ~size_t{7}; }
  static void StoreSize(std::byte* p, uint32_t size) {
    std::memcpy(p, &size, 4);
    std::memset(p + 4, 0, 4);
  }
  static uint32_t LoadSize(const std::byte* p) {
    uint32_t size;
    std::memcpy(&size, p, 4);
    return size;
  }

  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<std::byte[]> ring_;
  // Producer line.
  alignas(64) std::atomic<uint64_t> head_{0};
  uint64_t producer_tail_ = 0;
  // Consumer line.
  alignas(64) std::atomic<uint64_t> tail_{0};
  uint64_t consumer_pos_ = 0;
  uint64_t consumer_head_ = 0;
};

}  // namespace jitgate::audit

#endif  // JITGATE_SRC_AUDIT_QUEUE_H_
