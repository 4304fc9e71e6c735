// tests/session/byte_queue_test.cc: ByteQueue (src/session/byte_queue.h), the session's
// double-buffered output queue, and CancelRegistry (src/session/cancel_registry.h).
#include <array>
#include <cstddef>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "src/session/byte_queue.h"
#include "src/session/cancel_registry.h"

namespace jitgate::session {
namespace {

std::string_view AsText(std::span<const std::byte> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

TEST(ByteQueueTest, FrontStaysFrozenWhileAppending) {
  ByteQueue queue;
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(queue.Front().empty());
  queue.Append("hello ");
  EXPECT_EQ(queue.size(), 6u);
  const std::span<const std::byte> front = queue.Front();
  const std::byte* const memory = front.data();
  EXPECT_EQ(AsText(front), "hello ");
  queue.Append("world");  // goes to the pending half; `front` does not move
  EXPECT_EQ(queue.size(), 11u);
  EXPECT_EQ(AsText(queue.Front()), "hello ");
  EXPECT_EQ(queue.Front().data(), memory);
  queue.Consume(2);
  EXPECT_EQ(AsText(queue.Front()), "llo ");
  EXPECT_EQ(queue.Front().data(), memory + 2);
  EXPECT_EQ(queue.size(), 9u);
  queue.Consume(4);
  EXPECT_EQ(AsText(queue.Front()), "world");  // the halves swap once the front is all sent
  queue.Consume(5);
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(queue.Front().empty());
}

TEST(ByteQueueTest, ReserveAndCommit) {
  ByteQueue queue;
  queue.Append("ab");
  std::span<std::byte> room = queue.Reserve(10);
  ASSERT_EQ(room.size(), 10u);
  room[0] = std::byte{'c'};
  room[1] = std::byte{'d'};
  queue.Commit(2);
  EXPECT_EQ(queue.size(), 4u);
  EXPECT_EQ(AsText(queue.Front()), "abcd");
  queue.Reserve(4);
  queue.Commit(0);
  EXPECT_EQ(queue.size(), 4u);
}

TEST(ByteQueueTest, ClearForgetsBothHalves) {
  ByteQueue queue;
  queue.Append("one");
  (void)queue.Front();
  queue.Append("two");
  queue.Consume(1);
  queue.Clear();
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(queue.Front().empty());
  queue.Append("three");
  EXPECT_EQ(AsText(queue.Front()), "three");
}

TEST(ByteQueueDeathTest, ConsumingMoreThanTheFrontIsABug) {
  ByteQueue queue;
  queue.Append("abc");
  (void)queue.Front();
  EXPECT_DEATH(queue.Consume(4), "");
}

TEST(CancelRegistryTest, RegisterFindUnregister) {
  CancelRegistry registry(8);
  CancelTarget target;
  target.resource_index = 3;
  target.backend_pid = 77;
  target.backend_key = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  const std::optional<std::array<std::byte, 4>> key = registry.Register(target);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(registry.size(), 1u);
  const std::optional<CancelTarget> found = registry.Find(77, *key);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->resource_index, 3u);
  EXPECT_EQ(found->backend_key, target.backend_key);
  EXPECT_FALSE(registry.Find(78, *key).has_value());  // the pid is part of the key
  registry.Unregister(77, *key);
  EXPECT_FALSE(registry.Find(77, *key).has_value());
  EXPECT_EQ(registry.size(), 0u);
  registry.Unregister(77, *key);  // twice is harmless
}

TEST(CancelRegistryTest, KeysDifferAndCapacityIsABound) {
  CancelRegistry registry(4);
  CancelTarget target;
  target.backend_pid = 5;
  std::set<std::array<std::byte, 4>> keys;
  for (int i = 0; i < 4; ++i) {
    const std::optional<std::array<std::byte, 4>> key = registry.Register(target);
    ASSERT_TRUE(key.has_value());
    keys.insert(*key);
  }
  EXPECT_EQ(keys.size(), 4u);
  EXPECT_FALSE(registry.Register(target).has_value());
  registry.Unregister(5, *keys.begin());
  EXPECT_TRUE(registry.Register(target).has_value());
}

}  // namespace
}  // namespace jitgate::session
