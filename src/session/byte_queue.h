// src/session/byte_queue.h: bytes a session owns and sends (its own messages, TLS output,
// decrypted plaintext), queued for one destination socket.
//
// Double-buffered so a send can be in flight while more bytes are appended: `Front()` is frozen
// (its memory does not move) until `Consume()` has taken all of it; `Append()` only ever touches
// the pending half. Both halves keep their capacity, so a session that reaches steady state stops
// allocating.
// Invariant: sent_ <= sending_.size(); size() == sending_.size() - sent_ + pending_.size().
// Owned by one session on one shard thread.
#ifndef JITGATE_SRC_SESSION_BYTE_QUEUE_H_
#define JITGATE_SRC_SESSION_BYTE_QUEUE_H_

#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "jitgate/check.h"

namespace jitgate::session {

class ByteQueue {
 public:
  void Append(std::span<const std::byte> bytes) {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  }
  void Append(std::string_view text) {
    Append(std::as_bytes(std::span(text.data(), text.size())));
  }
  // Room for `size` bytes at the end of the pending half; `Commit` says how many were written.
  std::span<std::byte> Reserve(size_t size) {
    const size_t at = pending_.size();
    pending_.resize(at + size);
    reserved_ = size;
    return std::span(pending_).subspan(at, size);
  }
  void Commit(size_t written) {
    JG_CHECK(written <= reserved_);
    pending_.resize(pending_.size() - (reserved_ - written));
    reserved_ = 0;
  }

  // The bytes to send next. Stays valid (same memory) until Consume() has taken all of it.
  std::span<const std::byte> Front() {
    if (sent_ == sending_.size()) {
      sending_.clear();
      sent_ = 0;
      sending_.swap(pending_);
    }
    return std::span<const std::byte>(sending_).subspan(sent_);
  }
  // `count` bytes of Front() were sent.
  void Consume(size_t count) {
    JG_CHECK(count <= sending_.size() - sent_);
    sent_ += count;
  }

  size_t size() const { return sending_.size() - sent_ + pending_.size(); }
  bool empty() const { return size() == 0; }
  void Clear() {
    sending_.clear();
    pending_.clear();
    sent_ = 0;
  }

 private:
  std::vector<std::byte> sending_;
  std::vector<std::byte> pending_;
  size_t sent_ = 0;
  size_t reserved_ = 0;
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_BYTE_QUEUE_H_
