// ringio/wake.h: an eventfd another thread signals to wake a shard out of its ring wait.
//
// The shard keeps one READ of the eventfd in flight on its ring; Signal (any thread, any time)
// makes that read complete, the shard drains its control queue and re-arms the read. Signals
// coalesce: several Signal calls before the read completes cost one wake-up.
#ifndef JITGATE_RINGIO_WAKE_H_
#define JITGATE_RINGIO_WAKE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "ringio/ring.h"

namespace jitgate::ringio {

class Wake {
 public:
  static absl::StatusOr<Wake> Create();
  Wake(Wake&& other) noexcept;
  Wake& operator=(Wake&&) = delete;
  Wake(const Wake&) = delete;
  ~Wake();

  // Thread-safe; async-signal-safe.
  void Signal() const;

  // Submits the read whose completion (tagged `tag`) means "woken". Call again after each one.
  void Arm(Ring* ring, Tag tag);

  int fd() const { return fd_; }

 private:
  explicit Wake(int fd) : fd_(fd) {}

  int fd_ = -1;
  uint64_t counter_ = 0;  // the armed read lands here
};

}  // namespace jitgate::ringio

#endif  // JITGATE_RINGIO_WAKE_H_
