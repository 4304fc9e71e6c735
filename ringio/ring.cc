// Implementation of ringio/ring.h: setup flags, probing and the operation helpers.
#include "ringio/ring.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "jitgate/check.h"
#include "ringio/buf_ring.h"
#include "ringio/result.h"

namespace jitgate::ringio {
namespace {

// Why each setup flag:
// - SINGLE_ISSUER: a shard's ring is only ever touched by its own thread; the kernel can skip
//   the locking it would need for several submitters (and enforces our invariant).
// - DEFER_TASKRUN: completion work runs only when the shard enters the kernel to wait, in one
//   batch, instead of interrupting it at arbitrary points; fewer context switches under load.
// - SUBMIT_ALL: a bad SQE in a batch must not silently drop the ones after it.
// - CQSIZE: multishot accept/recv turn one SQE into many CQEs, so the completion queue is
//   sized independently (RingOptions::cq_entries).
constexpr uint32_t kPreferredFlags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                     IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
// Kernels 5.19-6.0 lack DEFER_TASKRUN; COOP_TASKRUN still avoids IPIs on completion.
constexpr uint32_t kFallbackFlags =
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;

int InitRing(io_uring* ring, const RingOptions& options, uint32_t flags) {
  io_uring_params params{};
  params.flags = flags;
  params.cq_entries = options.cq_entries;
  return io_uring_queue_init_params(options.sq_entries, ring, &params);
}

std::string DisabledHint() {
  int disabled = -1;
  if (FILE* f = std::fopen("/proc/sys/kernel/io_uring_disabled", "r")) {
    if (std::fscanf(f, "%d", &disabled) != 1) {
      disabled = -1;
    }
    std::fclose(f);
  }
  if (disabled == 2) {
    return "io_uring is disabled on this host (sysctl kernel.io_uring_disabled=2); set it to 0";
  }
  if (disabled == 1) {
    return "io_uring is restricted to a group (sysctl kernel.io_uring_disabled=1, see "
           "kernel.io_uring_group); run jitgate in that group or set the sysctl to 0";
  }
  return "io_uring may be blocked by a seccomp profile (containers often block io_uring_setup); "
         "allow io_uring_setup/io_uring_enter/io_uring_register";
}

}  // namespace

absl::Status ProbeIoUring() {
  io_uring ring{};
  RingOptions options;
  options.sq_entries = 8;
  options.cq_entries = 32;
  int rc = InitRing(&ring, options, kPreferredFlags);
  if (rc == -EINVAL) {
    rc = InitRing(&ring, options, kFallbackFlags);
  }
  if (rc < 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "io_uring_setup failed: %s (%s); %s", std::strerror(-rc), ErrnoName(-rc),
        (rc == -EPERM || rc == -ENOSYS || rc == -EACCES) ? DisabledHint()
                                                         : "kernel 5.19 or newer is required"));
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  std::string missing;
  if (probe == nullptr) {
    missing = "(probe unsupported)";
  } else {
    static constexpr struct {
      int op;
      const char* name;
    } kRequired[] = {
        {IORING_OP_ACCEPT, "ACCEPT"},
        {IORING_OP_RECV, "RECV"},
        {IORING_OP_SEND, "SEND"},
        {IORING_OP_SENDMSG, "SENDMSG"},
        {IORING_OP_CONNECT, "CONNECT"},
        {IORING_OP_TIMEOUT, "TIMEOUT"},
        {IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT"},
        {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
        {IORING_OP_READ, "READ"},
        {IORING_OP_SHUTDOWN, "SHUTDOWN"},
    };
    for (const auto& required : kRequired) {
      if (!io_uring_opcode_supported(probe, required.op)) {
        absl::StrAppend(&missing, missing.empty() ? "" : ", ", required.name);
      }
    }
    io_uring_free_probe(probe);
  }
  absl::Status status;
  if (!missing.empty()) {
    status = absl::FailedPreconditionError(
        absl::StrCat("io_uring lacks required operations: ", missing, "; kernel 6.0+ needed"));
  } else {
    // Multishot recv needs provided buffer rings (5.19) and multishot accept (5.19).
    status = BufRing::ProbeSupport(&ring);
  }
  io_uring_queue_exit(&ring);
  return status;
}

absl::StatusOr<std::unique_ptr<Ring>> Ring::Create(const RingOptions& options) {
  JG_CHECK(options.sq_entries > 0 && options.cq_entries >= options.sq_entries);
  std::unique_ptr<Ring> ring(new Ring());
  uint32_t flags = kPreferredFlags;
  int rc = InitRing(&ring->ring_, options, flags);
  if (rc == -EINVAL) {
    flags = kFallbackFlags;
    rc = InitRing(&ring->ring_, options, flags);
  }
  if (rc < 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "io_uring_queue_init(%u entries): %s (%s); %s", options.sq_entries, std::strerror(-rc),
        ErrnoName(-rc),
        rc == -ENOMEM ? "raise RLIMIT_MEMLOCK or lower limits.ring_entries" : DisabledHint()));
  }
  ring->initialized_ = true;
  ring->setup_flags_ = flags;
  // Registering the ring fd makes every io_uring_enter skip an fd lookup; failure only costs
  // that optimisation.
  (void)io_uring_register_ring_fd(&ring->ring_);
  return ring;
}

Ring::~Ring() {
  if (initialized_) {
    io_uring_queue_exit(&ring_);
  }
}

io_uring_sqe* Ring::GetSqe(Tag tag) {
  JG_DCHECK(tag.op != kOpReserved);
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr)
    [[unlikely]] {
      // The submission queue is full: hand it to the kernel and take a fresh entry.
      const int rc = io_uring_submit(&ring_);
      JG_CHECK(rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY);
      sqe = io_uring_get_sqe(&ring_);
    }
  io_uring_sqe_set_data64(sqe, PackTag(tag));
  return sqe;
}

void Ring::MultishotAccept(int listen_fd, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::RecvMultishot(int fd, uint16_t group_id, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = group_id;
}

void Ring::Send(int fd, const void* data, uint32_t size, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_send(sqe, fd, data, size, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::SendMsg(int fd, const msghdr* message, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_sendmsg(sqe, fd, message, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::SendMsgZc(int fd, const msghdr* message, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_sendmsg_zc(sqe, fd, message, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::ConnectWithTimeout(int fd, const sockaddr* address, socklen_t address_length,
                              const __kernel_timespec* timeout, Tag tag, Tag timeout_tag) {
  // The linked pair must reach the kernel in one submission: make room for both first, so
  // GetSqe cannot flush between them and split the link.
  if (io_uring_sq_space_left(&ring_) < 2) {
    (void)io_uring_submit(&ring_);
  }
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_connect(sqe, fd, address, address_length);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe* timeout_sqe = GetSqe(timeout_tag);
  io_uring_prep_link_timeout(timeout_sqe, const_cast<__kernel_timespec*>(timeout), 0);
  io_uring_sqe_set_data64(timeout_sqe, PackTag(timeout_tag));
}

void Ring::Timeout(const __kernel_timespec* timeout, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_timeout(sqe, const_cast<__kernel_timespec*>(timeout), 0, 0);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::Read(int fd, void* data, uint32_t size, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_read(sqe, fd, data, size, 0);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::PollAdd(int fd, uint32_t mask, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_poll_add(sqe, fd, mask);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::Shutdown(int fd, int how, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_shutdown(sqe, fd, how);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::Cancel(Tag target, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_cancel64(sqe, PackTag(target), 0);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

void Ring::CancelFd(int fd, Tag tag) {
  io_uring_sqe* sqe = GetSqe(tag);
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, PackTag(tag));
}

int Ring::SubmitAndWait(uint32_t wait_count) {
  const int rc = io_uring_submit_and_wait(&ring_, wait_count);
  return rc < 0 ? rc : 0;
}

int Ring::Submit() {
  const int rc = io_uring_submit(&ring_);
  return rc < 0 ? rc : 0;
}

}  // namespace jitgate::ringio
