// src/common/unique_fd.h: a file descriptor closed at scope exit. For control-plane code (config
// files, the JWKS fetch, start-up probes); shards own their descriptors explicitly.
#ifndef JITGATE_SRC_COMMON_UNIQUE_FD_H_
#define JITGATE_SRC_COMMON_UNIQUE_FD_H_

#include <unistd.h>

namespace jitgate {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace jitgate

#endif  // JITGATE_SRC_COMMON_UNIQUE_FD_H_
