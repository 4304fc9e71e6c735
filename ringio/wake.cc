// Implementation of ringio/wake.h.
#include "ringio/wake.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace jitgate::ringio {

absl::StatusOr<Wake> Wake::Create() {
  const int fd = eventfd(0, EFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  return Wake(fd);
}

Wake::Wake(Wake&& other) noexcept : fd_(other.fd_), counter_(other.counter_) { other.fd_ = -1; }

Wake::~Wake() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

void Wake::Signal() const {
  const uint64_t one = 1;
  // The counter cannot realistically saturate (2^64 - 2 signals), so this write never blocks.
  [[maybe_unused]] ssize_t written = write(fd_, &one, sizeof(one));
}

void Wake::Arm(Ring* ring, Tag tag) { ring->Read(fd_, &counter_, sizeof(counter_), tag); }

}  // namespace jitgate::ringio
