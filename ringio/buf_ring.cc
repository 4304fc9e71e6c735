// Implementation of ringio/buf_ring.h: manual buffer-ring registration for liburing 2.3.
#include "ringio/buf_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "jitgate/check.h"
#include "ringio/result.h"
#include "ringio/ring.h"

namespace jitgate::ringio {
namespace {

constexpr uint32_t kCountMax = 32768;  // the kernel's limit on buffer-ring entries

void* MapAnonymous(size_t bytes) {
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? nullptr : memory;
}

}  // namespace

absl::Status BufRing::ProbeSupport(io_uring* ring) {
  const size_t bytes = 4096;
  void* memory = MapAnonymous(bytes);
  if (memory == nullptr) {
    return absl::ResourceExhaustedError("mmap for the buffer-ring probe failed");
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(memory);
  reg.ring_entries = 8;
  reg.bgid = 0;
  const int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc == 0) {
    io_uring_unregister_buf_ring(ring, 0);
  }
  munmap(memory, bytes);
  if (rc < 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("io_uring provided buffer rings unsupported: %s (%s); kernel 5.19+ needed",
                        std::strerror(-rc), ErrnoName(-rc)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BufRing>> BufRing::Create(Ring* ring, uint16_t group_id,
                                                         uint32_t count, uint32_t buffer_size) {
  JG_CHECK(ring != nullptr);
  if (count == 0 || count > kCountMax || (count & (count - 1)) != 0 || buffer_size == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("buffer ring: count %u must be a power of two <= %u, size %u > 0", count,
                        kCountMax, buffer_size));
  }
  std::unique_ptr<BufRing> self(new BufRing());
  self->ring_ = ring->raw();
  self->group_id_ = group_id;
  self->count_ = count;
  self->buffer_size_ = buffer_size;
  self->held_bits_.assign((count + 63) / 64, 0);
  self->ring_bytes_ = count * sizeof(io_uring_buf);
  self->memory_bytes_ = static_cast<size_t>(count) * buffer_size;
  // The ring must be page aligned: mmap gives that.
  self->buf_ring_ = static_cast<io_uring_buf_ring*>(MapAnonymous(self->ring_bytes_));
  self->memory_ = static_cast<std::byte*>(MapAnonymous(self->memory_bytes_));
  if (self->buf_ring_ == nullptr || self->memory_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("buffer ring: cannot map %u buffers of %u bytes", count, buffer_size));
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(self->buf_ring_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  const int rc = io_uring_register_buf_ring(self->ring_, &reg, 0);
  if (rc < 0) {
    self->ring_ = nullptr;  // nothing registered: the destructor must not unregister
    return absl::FailedPreconditionError(
        absl::StrFormat("io_uring_register_buf_ring(group %u, %u entries): %s", group_id, count,
                        std::strerror(-rc)));
  }
  io_uring_buf_ring_init(self->buf_ring_);
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t bid = 0; bid < count; ++bid) {
    io_uring_buf_ring_add(self->buf_ring_, self->Data(static_cast<uint16_t>(bid)), buffer_size,
                          static_cast<uint16_t>(bid), mask, static_cast<int>(bid));
  }
  io_uring_buf_ring_advance(self->buf_ring_, static_cast<int>(count));
  self->AssertInvariants();
  return self;
}

BufRing::~BufRing() {
  if (ring_ != nullptr) {
    io_uring_unregister_buf_ring(ring_, group_id_);
  }
  if (buf_ring_ != nullptr) {
    munmap(buf_ring_, ring_bytes_);
  }
  if (memory_ != nullptr) {
    munmap(memory_, memory_bytes_);
  }
}

void BufRing::Take(uint16_t buffer_id) {
  JG_CHECK(buffer_id < count_);
  uint64_t& word = held_bits_[buffer_id / 64];
  const uint64_t bit = uint64_t{1} << (buffer_id % 64);
  JG_CHECK((word & bit) == 0);  // the kernel handed out a buffer we already hold: a bug
  word |= bit;
  ++held_;
}

void BufRing::Release(uint16_t buffer_id) {
  JG_CHECK(buffer_id < count_);
  uint64_t& word = held_bits_[buffer_id / 64];
  const uint64_t bit = uint64_t{1} << (buffer_id % 64);
  JG_CHECK((word & bit) != 0);  // released twice, or never taken
  word &= ~bit;
  io_uring_buf_ring_add(buf_ring_, Data(buffer_id), buffer_size_, buffer_id,
                        io_uring_buf_ring_mask(count_), static_cast<int>(staged_));
  --held_;
  ++staged_;
}

uint32_t BufRing::Publish() {
  const uint32_t published = staged_;
  if (published > 0) {
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(published));
    staged_ = 0;
  }
  return published;
}

void BufRing::AssertInvariants() const { JG_CHECK(held_ + staged_ <= count_); }

}  // namespace jitgate::ringio
