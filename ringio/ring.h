// ringio/ring.h: one io_uring, owned and used by exactly one thread (a shard).
//
// Owns the ring's setup (flags chosen and probed here), submission (GetSqe never fails: a full
// submission queue is flushed first) and batched completion reaping. The owner dispatches each
// completion with one `switch` over its own op codes (see ringio/tag.h); ringio never calls back
// into owners except through Drain's visitor, and never re-entrantly.
//
// Invariant: only the thread that called Create submits to or reaps from the ring
// (IORING_SETUP_SINGLE_ISSUER makes the kernel enforce it with -EEXIST).
#ifndef JITGATE_RINGIO_RING_H_
#define JITGATE_RINGIO_RING_H_

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringio/tag.h"

namespace jitgate::ringio {

struct RingOptions {
  uint32_t sq_entries = 1024;  // power of two; each multishot SQE yields many CQEs, so the
  uint32_t cq_entries = 4096;  // completion queue is sized several times the submission queue
};

// Checks once, at start-up, that io_uring is usable with the features jitgate needs (the
// setup flags below, provided buffer rings, and the opcodes it submits). The error says what to
// do: "io_uring is disabled: sysctl kernel.io_uring_disabled=2 ...".
absl::Status ProbeIoUring();

class Ring {
 public:
  // Creates the ring on the calling thread, which becomes its only issuer.
  static absl::StatusOr<std::unique_ptr<Ring>> Create(const RingOptions& options);

  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // An SQE with user_data = PackTag(tag) and no other fields set. Never null: when the
  // submission queue is full, it is submitted first.
  io_uring_sqe* GetSqe(Tag tag);

  // Operations. Each takes the tag its completion(s) will carry.
  void MultishotAccept(int listen_fd, Tag tag);
  // Multishot recv into the provided-buffer group `group_id`; a CQE per received chunk while
  // IORING_CQE_F_MORE is set.
  void RecvMultishot(int fd, uint16_t group_id, Tag tag);
  void Send(int fd, const void* data, uint32_t size, Tag tag);
  void SendMsg(int fd, const msghdr* message, Tag tag);
  // Zero-copy sendmsg: the first CQE carries the result (with F_MORE when a notification follows);
  // the memory may be reused only after the CQE with IORING_CQE_F_NOTIF.
  void SendMsgZc(int fd, const msghdr* message, Tag tag);
  // connect(2), linked to a timeout: if it has not completed after `timeout`, it is canceled
  // (its CQE gets -ECANCELED) and the timeout's CQE (tagged `timeout_tag`) gets -ETIME.
  void ConnectWithTimeout(int fd, const sockaddr* address, socklen_t address_length,
                          const __kernel_timespec* timeout, Tag tag, Tag timeout_tag);
  // A one-shot timer; `timeout` must stay valid until the SQE is submitted.
  void Timeout(const __kernel_timespec* timeout, Tag tag);
  void Read(int fd, void* data, uint32_t size, Tag tag);
  // One-shot poll; the completion's res is the ready mask (POLLERR and POLLHUP are always
  // reported, whatever `mask` asks for).
  void PollAdd(int fd, uint32_t mask, Tag tag);
  void Shutdown(int fd, int how, Tag tag);
  // Cancels the request whose user_data is PackTag(target).
  void Cancel(Tag target, Tag tag);
  // Cancels every request on `fd`.
  void CancelFd(int fd, Tag tag);

  // Submits pending SQEs and waits until at least `wait_count` completions are ready. Returns 0,
  // or a negative errno (-EINTR, -ETIME are normal).
  int SubmitAndWait(uint32_t wait_count);
  int Submit();

  // Reaps every ready completion in batches, calling visitor(const io_uring_cqe&) for each, in
  // order. The visitor may submit new operations. Returns how many were reaped.
  template <typename Visitor>
  uint32_t Drain(Visitor&& visitor);

  io_uring* raw() { return &ring_; }
  uint32_t setup_flags() const { return setup_flags_; }

 private:
  Ring() = default;

  static constexpr uint32_t kReapBatchMax = 128;

  io_uring ring_{};
  uint32_t setup_flags_ = 0;
  bool initialized_ = false;
};

template <typename Visitor>
uint32_t Ring::Drain(Visitor&& visitor) {
  uint32_t total = 0;
  io_uring_cqe* batch[kReapBatchMax];
  for (;;) {
    const uint32_t count = io_uring_peek_batch_cqe(&ring_, batch, kReapBatchMax);
    if (count == 0) {
      return total;
    }
    for (uint32_t i = 0; i < count; ++i) {
      visitor(*batch[i]);
    }
    io_uring_cq_advance(&ring_, count);
    total += count;
  }
}

}  // namespace jitgate::ringio

#endif  // JITGATE_RINGIO_RING_H_
