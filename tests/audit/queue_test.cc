// tests/audit/queue_test.cc: unit tests of SpscQueue (src/audit/queue.h), the byte ring that
// carries a shard's audit records to the writer thread.
//
// Single-threaded cases pin the layout rules (8-byte slot header, 8-byte padding, the wrap marker,
// record_size_max, Release giving space back); a two-thread stress test pushes records of every
// size from 0 to 2000 bytes and checks that the consumer sees each one, in order, byte for byte.
#include "src/audit/queue.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <span>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace jitgate::audit {
namespace {

constexpr size_t kSmallQueueBytes = SpscQueue::kCapacityMin;  // 64 KiB

// Slot bytes one record of `size` takes in the ring (header + padding).
size_t SlotSize(size_t size) { return SpscQueue::kSlotHeaderSize + ((size + 7) & ~size_t{7}); }

// A record of `size` bytes whose contents are a function of `tag`.
std::vector<std::byte> MakeRecord(uint64_t tag, size_t size) {
  std::vector<std::byte> record(size);
  for (size_t i = 0; i < size; ++i) {
    record[i] = static_cast<std::byte>((tag * 131 + i * 7 + 1) & 0xFF);
  }
  return record;
}

// Pops the front record and compares it with `expected`; Release() is left to the caller.
void ExpectFront(SpscQueue& queue, const std::vector<std::byte>& expected) {
  const std::span<const std::byte> front = queue.Front();
  ASSERT_NE(front.data(), nullptr) << "queue empty, expected " << expected.size() << " bytes";
  ASSERT_EQ(front.size(), expected.size());
  if (!expected.empty()) {
    EXPECT_EQ(std::memcmp(front.data(), expected.data(), expected.size()), 0);
  }
  queue.Pop(front.size());
}

TEST(SpscQueue, EmptyQueueHasNoFront) {
  SpscQueue queue(kSmallQueueBytes);
  EXPECT_EQ(queue.capacity(), kSmallQueueBytes);
  EXPECT_EQ(queue.used_bytes(), 0u);
  EXPECT_EQ(queue.Front().data(), nullptr);
  EXPECT_TRUE(queue.Front().empty());
  queue.Release();
  queue.AssertInvariants();
}

TEST(SpscQueue, PushPopKeepsOrderAndBytes) {
  SpscQueue queue(kSmallQueueBytes);
  const size_t sizes[] = {1, 7, 8, 9, 24, 100, 255, 1000, 4096};
  size_t used = 0;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    const std::vector<std::byte> record = MakeRecord(i, sizes[i]);
    ASSERT_TRUE(queue.TryPush(record));
    used += SlotSize(sizes[i]);
    EXPECT_EQ(queue.used_bytes(), used);
    queue.AssertInvariants();
  }
  for (size_t i = 0; i < std::size(sizes); ++i) {
    ExpectFront(queue, MakeRecord(i, sizes[i]));
  }
  EXPECT_EQ(queue.Front().data(), nullptr);
  // Popped space stays in use until Release().
  EXPECT_EQ(queue.used_bytes(), used);
  queue.Release();
  EXPECT_EQ(queue.used_bytes(), 0u);
  queue.AssertInvariants();
}

TEST(SpscQueue, FrontWithoutPopReturnsTheSameRecord) {
  SpscQueue queue(kSmallQueueBytes);
  ASSERT_TRUE(queue.TryPush(MakeRecord(1, 40)));
  ASSERT_TRUE(queue.TryPush(MakeRecord(2, 40)));
  const std::span<const std::byte> first = queue.Front();
  const std::span<const std::byte> again = queue.Front();
  EXPECT_EQ(first.data(), again.data());
  EXPECT_EQ(first.size(), again.size());
  ExpectFront(queue, MakeRecord(1, 40));
  ExpectFront(queue, MakeRecord(2, 40));
}

TEST(SpscQueue, ZeroSizeRecordIsAnEntry) {
  SpscQueue queue(kSmallQueueBytes);
  ASSERT_TRUE(queue.TryPush({}));
  ASSERT_TRUE(queue.TryPush(MakeRecord(5, 3)));
  ASSERT_TRUE(queue.TryPush({}));
  EXPECT_EQ(queue.used_bytes(), 3 * SpscQueue::kSlotHeaderSize + 8);
  // A zero-size record is told from an empty queue by its data pointer.
  std::span<const std::byte> front = queue.Front();
  ASSERT_NE(front.data(), nullptr);
  EXPECT_EQ(front.size(), 0u);
  queue.Pop(0);
  ExpectFront(queue, MakeRecord(5, 3));
  front = queue.Front();
  ASSERT_NE(front.data(), nullptr);
  EXPECT_EQ(front.size(), 0u);
  queue.Pop(0);
  EXPECT_EQ(queue.Front().data(), nullptr);
  queue.Release();
  EXPECT_EQ(queue.used_bytes(), 0u);
}

TEST(SpscQueue, FullQueueRefusesUntilRelease) {
  SpscQueue queue(kSmallQueueBytes);
  const size_t size = 1100;  // 1112-byte slots: 58 fit in 64 KiB, with 1040 bytes left over
  const size_t fit = kSmallQueueBytes / SlotSize(size);
  size_t pushed = 0;
  while (queue.TryPush(MakeRecord(pushed, size))) {
    ++pushed;
    ASSERT_LE(pushed, fit);
  }
  EXPECT_EQ(pushed, fit);
  EXPECT_LE(queue.used_bytes(), queue.capacity());
  queue.AssertInvariants();
  // Refused again: nothing changed.
  EXPECT_FALSE(queue.TryPush(MakeRecord(pushed, size)));
  EXPECT_EQ(queue.used_bytes(), fit * SlotSize(size));
  // A record that exactly fills what is left before the end still fits.
  const size_t left = kSmallQueueBytes - fit * SlotSize(size);
  ASSERT_EQ(left, 1040u);
  const size_t last = left - SpscQueue::kSlotHeaderSize;
  EXPECT_TRUE(queue.TryPush(MakeRecord(999, last)));
  EXPECT_EQ(queue.used_bytes(), queue.capacity());
  EXPECT_FALSE(queue.TryPush({}));

  // Popping is not enough: the producer sees the space only after Release().
  ExpectFront(queue, MakeRecord(0, size));
  EXPECT_FALSE(queue.TryPush(MakeRecord(pushed, size)));
  queue.Release();
  // The freed slot is the ring's first: the next record goes there, and only one fits.
  ASSERT_TRUE(queue.TryPush(MakeRecord(pushed, size)));
  EXPECT_FALSE(queue.TryPush(MakeRecord(pushed + 1, size)));
  EXPECT_EQ(queue.used_bytes(), queue.capacity());
  queue.AssertInvariants();

  for (size_t i = 1; i < pushed; ++i) {
    ExpectFront(queue, MakeRecord(i, size));
  }
  ExpectFront(queue, MakeRecord(999, last));
  ExpectFront(queue, MakeRecord(pushed, size));
  EXPECT_EQ(queue.Front().data(), nullptr);
  queue.Release();
  EXPECT_EQ(queue.used_bytes(), 0u);
}

TEST(SpscQueue, RecordSizeMaxBounds) {
  SpscQueue queue(kSmallQueueBytes);
  const size_t max = queue.record_size_max();
  EXPECT_EQ(max, kSmallQueueBytes / 2 - SpscQueue::kSlotHeaderSize);
  // Above the maximum: refused even on an empty queue, and nothing is written.
  EXPECT_FALSE(queue.TryPush(MakeRecord(1, max + 1)));
  EXPECT_EQ(queue.used_bytes(), 0u);
  EXPECT_EQ(queue.Front().data(), nullptr);
  // At the maximum: fits.
  ASSERT_TRUE(queue.TryPush(MakeRecord(2, max)));
  ExpectFront(queue, MakeRecord(2, max));
  queue.Release();

  // The head is now at the middle; 16 bytes more and a maximal record no longer fits before the
  // end. It still fits once the queue is empty: the wrap wastes less than one record.
  ASSERT_TRUE(queue.TryPush(MakeRecord(3, 8)));
  ExpectFront(queue, MakeRecord(3, 8));
  queue.Release();
  EXPECT_FALSE(queue.TryPush(MakeRecord(4, max + 1)));
  ASSERT_TRUE(queue.TryPush(MakeRecord(4, max)));
  EXPECT_EQ(queue.used_bytes(), kSmallQueueBytes / 2 - 16 + SlotSize(max));
  queue.AssertInvariants();
  // With it in, a second maximal record does not fit.
  EXPECT_FALSE(queue.TryPush(MakeRecord(5, max)));
  ExpectFront(queue, MakeRecord(4, max));
  queue.Release();
  ASSERT_TRUE(queue.TryPush(MakeRecord(5, max)));
  ExpectFront(queue, MakeRecord(5, max));
  queue.Release();
  EXPECT_EQ(queue.used_bytes(), 0u);
}

// Pushes and pops one record of `size` (moves head and tail together).
void Advance(SpscQueue& queue, size_t size) {
  ASSERT_TRUE(queue.TryPush(MakeRecord(7, size)));
  ExpectFront(queue, MakeRecord(7, size));
  queue.Release();
  ASSERT_EQ(queue.used_bytes(), 0u);
}

TEST(SpscQueue, WrapMarkerCostsTheRestOfTheRing) {
  SpscQueue queue(kSmallQueueBytes);
  const size_t max = queue.record_size_max();
  // Head at capacity - 16: a 24-byte record (32-byte slot) cannot fit before the end.
  Advance(queue, max);
  Advance(queue, kSmallQueueBytes / 2 - 16 - SpscQueue::kSlotHeaderSize);
  ASSERT_TRUE(queue.TryPush(MakeRecord(2, 24)));
  // The 16 bytes before the end (the wrap marker) count as used until the record is popped.
  EXPECT_EQ(queue.used_bytes(), 16 + SlotSize(24));
  ExpectFront(queue, MakeRecord(2, 24));
  EXPECT_EQ(queue.Front().data(), nullptr);
  queue.Release();
  EXPECT_EQ(queue.used_bytes(), 0u);

  // Head at offset 32. Two records that end exactly at the ring's end need no marker, and the
  // next one starts at offset 0.
  const size_t second = kSmallQueueBytes - 32 - SlotSize(max) - SpscQueue::kSlotHeaderSize;
  ASSERT_TRUE(queue.TryPush(MakeRecord(3, max)));
  ASSERT_TRUE(queue.TryPush(MakeRecord(4, second)));
  EXPECT_EQ(queue.used_bytes(), kSmallQueueBytes - 32);
  ASSERT_TRUE(queue.TryPush({}));
  EXPECT_EQ(queue.used_bytes(), kSmallQueueBytes - 32 + SlotSize(0));
  // The remaining 24 bytes (offsets 8..32) take a 16-byte record, not a 17-byte one.
  EXPECT_FALSE(queue.TryPush(MakeRecord(5, 17)));
  ASSERT_TRUE(queue.TryPush(MakeRecord(5, 16)));
  EXPECT_EQ(queue.used_bytes(), queue.capacity());
  ExpectFront(queue, MakeRecord(3, max));
  ExpectFront(queue, MakeRecord(4, second));
  const std::span<const std::byte> empty = queue.Front();
  ASSERT_NE(empty.data(), nullptr);
  EXPECT_EQ(empty.size(), 0u);
  queue.Pop(0);
  ExpectFront(queue, MakeRecord(5, 16));
  queue.Release();
  EXPECT_EQ(queue.used_bytes(), 0u);
  queue.AssertInvariants();
}

TEST(SpscQueue, WrapAroundWithVariedSizes) {
  SpscQueue queue(kSmallQueueBytes);
  std::deque<std::vector<std::byte>> in_flight;
  uint64_t tag = 0;
  uint64_t popped = 0;
  uint32_t state = 12345;
  const auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return state >> 8;
  };
  // About 200 laps of the ring: every offset class and every wrap distance comes up.
  while (popped < 20000) {
    const size_t size = next() % 1500;
    std::vector<std::byte> record = MakeRecord(tag, size);
    if (queue.TryPush(record)) {
      ++tag;
      in_flight.push_back(std::move(record));
    } else {
      ASSERT_FALSE(in_flight.empty()) << "an empty queue refused " << size << " bytes";
    }
    // Pop a varying number, releasing now and then (a writer batch).
    const size_t pops = next() % 3;
    for (size_t i = 0; i < pops && !in_flight.empty(); ++i) {
      ExpectFront(queue, in_flight.front());
      in_flight.pop_front();
      ++popped;
    }
    if (next() % 4 == 0) {
      queue.Release();
    }
    queue.AssertInvariants();
    ASSERT_LE(queue.used_bytes(), queue.capacity());
  }
  while (!in_flight.empty()) {
    ExpectFront(queue, in_flight.front());
    in_flight.pop_front();
  }
  queue.Release();
  EXPECT_EQ(queue.used_bytes(), 0u);
  EXPECT_EQ(queue.Front().data(), nullptr);
}

// ---- two threads -------------------------------------------------------------------------------

// A record's size and bytes are functions of its sequence number, so the consumer can check
// each record without any shared state: size = a hash of seq in 0..2000; the bytes are a pattern
// shifted by seq, with the seq itself in the first 8 bytes when there is room.
constexpr size_t kStressSizeMax = 2000;
constexpr size_t kPatternSize = 256 + kStressSizeMax;

size_t StressSize(uint64_t seq) {
  uint64_t h = seq * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return static_cast<size_t>(h % (kStressSizeMax + 1));
}

std::vector<std::byte> StressPattern() {
  std::vector<std::byte> pattern(kPatternSize);
  for (size_t i = 0; i < kPatternSize; ++i) {
    pattern[i] = static_cast<std::byte>((i * 37 + 11) & 0xFF);
  }
  return pattern;
}

TEST(SpscQueue, TwoThreadStressKeepsOrderAndBytes) {
  // 2 M records of 1 KiB on average: about 2 GB through the ring, under 2 s with ASan.
  constexpr uint64_t kRecords = 2'000'000;
  SpscQueue queue(1u << 20);
  const std::vector<std::byte> pattern = StressPattern();
  std::atomic<uint64_t> producer_full{0};
  std::atomic<bool> abandon{false};  // the consumer found a bad record: the producer stops

  std::thread producer([&] {
    std::byte scratch[kStressSizeMax];
    uint64_t full = 0;
    for (uint64_t seq = 1; seq <= kRecords; ++seq) {
      const size_t size = StressSize(seq);
      std::memcpy(scratch, pattern.data() + (seq & 0xFF), size);
      if (size >= 8) {
        std::memcpy(scratch, &seq, 8);
      }
      while (!queue.TryPush({scratch, size})) {
        if (abandon.load(std::memory_order_relaxed)) {
          return;
        }
        ++full;
        std::this_thread::yield();
      }
    }
    producer_full.store(full, std::memory_order_relaxed);
  });

  uint64_t expected = 1;
  uint64_t since_release = 0;
  while (expected <= kRecords) {
    const std::span<const std::byte> record = queue.Front();
    if (record.data() == nullptr) {
      queue.Release();
      since_release = 0;
      std::this_thread::yield();
      continue;
    }
    const size_t size = StressSize(expected);
    uint64_t seq = expected;
    if (record.size() >= 8) {
      std::memcpy(&seq, record.data(), 8);
    }
    const size_t from = std::min<size_t>(size, 8);
    if (record.size() != size || seq != expected ||
        std::memcmp(record.data() + from, pattern.data() + (expected & 0xFF) + from,
                    size - from) != 0) {
      ADD_FAILURE() << "record " << expected << ": size " << record.size() << " (expected "
                    << size << "), seq " << seq;
      abandon.store(true, std::memory_order_relaxed);
      break;
    }
    queue.Pop(record.size());
    ++expected;
    // Release in batches, as the writer does.
    if (++since_release == 64) {
      queue.Release();
      since_release = 0;
    }
  }
  producer.join();
  EXPECT_EQ(expected, kRecords + 1);
  queue.Release();
  EXPECT_EQ(queue.used_bytes(), 0u);
  EXPECT_EQ(queue.Front().data(), nullptr);
  queue.AssertInvariants();
  RecordProperty("producer_full_spins", static_cast<int>(producer_full.load()));
}

}  // namespace
}  // namespace jitgate::audit
