// ringio/buf_ring.h: a provided-buffer ring (one buffer group) registered with one Ring.
//
// liburing 2.3 has no io_uring_setup_buf_ring, so registration is done by hand here (and only
// here): page-aligned ring memory, io_uring_register_buf_ring, io_uring_buf_ring_init/add.
// Buffers are sized and allocated once at start-up; nothing is allocated afterwards.
//
// Ownership: a buffer belongs to the kernel while it sits in the ring. A receive completion hands
// it to the caller (Take), who holds it until the data is sent, then gives it back (Release).
// Released buffers are returned to the kernel in one batch by Publish, once per completion batch.
// Invariant: in_kernel + held + staged == count (staged = released, not yet published).
#ifndef JITGATE_RINGIO_BUF_RING_H_
#define JITGATE_RINGIO_BUF_RING_H_

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace jitgate::ringio {

class Ring;

class BufRing {
 public:
  // `count` is a power of two in [1, 32768]; `buffer_size` > 0. Registers group `group_id`.
  static absl::StatusOr<std::unique_ptr<BufRing>> Create(Ring* ring, uint16_t group_id,
                                                         uint32_t count, uint32_t buffer_size);
  // Checks that the kernel accepts buffer-ring registration (used by ProbeIoUring).
  static absl::Status ProbeSupport(io_uring* ring);

  ~BufRing();
  BufRing(const BufRing&) = delete;
  BufRing& operator=(const BufRing&) = delete;

  uint16_t group_id() const { return group_id_; }
  uint32_t count() const { return count_; }
  uint32_t buffer_size() const { return buffer_size_; }

  // The memory of buffer `buffer_id`.
  std::byte* Data(uint16_t buffer_id) const {
    return memory_ + static_cast<size_t>(buffer_id) * buffer_size_;
  }

  // A completion with IORING_CQE_F_BUFFER handed `buffer_id` to the caller.
  void Take(uint16_t buffer_id);
  // The caller is done with `buffer_id`; it goes back to the kernel at the next Publish.
  void Release(uint16_t buffer_id);
  // Returns every released buffer to the kernel in one step. Returns how many.
  uint32_t Publish();

  uint32_t held() const { return held_; }
  uint32_t in_kernel() const { return count_ - held_ - staged_; }

  void AssertInvariants() const;

 private:
  BufRing() = default;

  io_uring* ring_ = nullptr;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t ring_bytes_ = 0;
  std::byte* memory_ = nullptr;
  size_t memory_bytes_ = 0;
  uint16_t group_id_ = 0;
  uint32_t count_ = 0;
  uint32_t buffer_size_ = 0;
  uint32_t held_ = 0;
  uint32_t staged_ = 0;
  std::vector<uint64_t> held_bits_;  // bit per buffer: 1 while the caller holds it
};

}  // namespace jitgate::ringio

#endif  // JITGATE_RINGIO_BUF_RING_H_
