// src/audit/queue.cc: SpscQueue construction (the rest is inline: it is the push hot path).
#include "src/audit/queue.h"

namespace jitgate::audit {

SpscQueue::SpscQueue(size_t capacity_bytes)
    : capacity_(capacity_bytes),
      mask_(capacity_bytes - 1),
      ring_(new std::byte[capacity_bytes]) {
  JG_CHECK(capacity_bytes >= kCapacityMin && (capacity_bytes & mask_) == 0);
  static_assert(kSlotHeaderSize % 8 == 0);
}

}  // namespace jitgate::audit
