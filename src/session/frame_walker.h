// src/session/frame_walker.h: follows the frame boundaries of one direction of a PostgreSQL
// stream as it passes through, without copying the frames it is not interested in.
//
// The forwarding path hands every received chunk to Advance() before the chunk is sent on. The
// walker hops from header to header; a frame whose type is in the interest set is delivered to
// the caller whole: as a view into the chunk when it lies inside it (zero-copy), else copied into
// the walker's capture buffer (up to capture_max bytes; longer frames are delivered with
// `truncated` set, their first capture_max bytes only). Every other frame is skipped by length.
// Invariant: header_have_ < kTaggedHeaderSize; remaining_ counts the bytes of the current frame's
// body still to come (0 between frames, when header_have_ == 0 too).
// Owned by one session; pure (no I/O); allocation only when the capture buffer first grows.
#ifndef JITGATE_SRC_SESSION_FRAME_WALKER_H_
#define JITGATE_SRC_SESSION_FRAME_WALKER_H_

#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "jitgate/parsers/pg/frame.h"

namespace jitgate::session {

// One interesting frame: its type and body (after the length field).
struct WalkedFrame {
  char type = 0;
  std::span<const std::byte> payload;
  uint32_t body_size = 0;  // the body's real size (> payload.size() when truncated)
  bool truncated = false;
};

class FrameWalker {
 public:
  FrameWalker(parsers::pg::Direction direction, size_t frame_size_max, size_t capture_max)
      : direction_(direction), frame_size_max_(frame_size_max), capture_max_(capture_max) {}

  void SetInterest(char type) { interest_.set(static_cast<uint8_t>(type)); }

  // Back to the start of a stream (a new session); the interest set is kept.
  void Reset() {
    header_have_ = 0;
    remaining_ = 0;
    body_size_ = 0;
    capturing_ = false;
    capture_.clear();
    reason_ = parsers::pg::InvalidReason::kNone;
    frames_ = 0;
  }

  enum class Status : uint8_t { kOk, kInvalid };

  // Walks `bytes`, calling `on_frame(const WalkedFrame&)` for each complete interesting frame.
  // With `stop_at_boundary`, stops at the first frame boundary reached (0 bytes when already
  // between frames). Returns the bytes walked in `*walked`. kInvalid (a bad header) is sticky;
  // `reason()` says why.
  template <typename OnFrame>
  Status Advance(std::span<const std::byte> bytes, bool stop_at_boundary, size_t* walked,
                 OnFrame&& on_frame);

  bool at_boundary() const { return header_have_ == 0 && remaining_ == 0; }
  parsers::pg::InvalidReason reason() const { return reason_; }
  uint64_t frames() const { return frames_; }

 private:
  // Header complete in header_: checks it and sets up the frame. False on an invalid header.
  bool BeginFrame();

  const parsers::pg::Direction direction_;
  const size_t frame_size_max_;
  const size_t capture_max_;
  std::bitset<256> interest_;
  std::array<std::byte, parsers::pg::kTaggedHeaderSize> header_{};
  uint32_t header_have_ = 0;
  uint32_t remaining_ = 0;   // body bytes of the current frame still to come
  uint32_t body_size_ = 0;   // the current frame's body size
  char type_ = 0;
  bool capturing_ = false;   // the current frame is interesting and straddles chunks
  std::vector<std::byte> capture_;
  parsers::pg::InvalidReason reason_ = parsers::pg::InvalidReason::kNone;
  uint64_t frames_ = 0;
};

template <typename OnFrame>
FrameWalker::Status FrameWalker::Advance(std::span<const std::byte> bytes, bool stop_at_boundary,
                                         size_t* walked, OnFrame&& on_frame) {
  size_t at = 0;
  *walked = 0;
  if (reason_ != parsers::pg::InvalidReason::kNone) {
    return Status::kInvalid;
  }
  while (at < bytes.size()) {
    if (remaining_ == 0 && header_have_ == 0) {
      if (stop_at_boundary) {
        break;
      }
      // Fast path: a whole interesting-or-not frame inside the chunk.
      const size_t left = bytes.size() - at;
      if (left >= parsers::pg::kTaggedHeaderSize) {
        const std::byte* p = bytes.data() + at;
        const uint32_t length = parsers::pg::internal::LoadUint32(p + 1);
        if (length >= 4 && length - 4 <= left - parsers::pg::kTaggedHeaderSize) {
          const char type = static_cast<char>(p[0]);
          // Large frames also get the per-type limits (DecodeFrame knows them); small ones are
          // below every limit, so the common case costs two compares.
          const bool invalid =
              !parsers::pg::IsKnownType(direction_, type) || length + 1 > frame_size_max_ ||
              (length > parsers::pg::kSmallMessageLimit - 1 &&
               parsers::pg::DecodeFrame(bytes.subspan(at, parsers::pg::kTaggedHeaderSize),
                                        direction_, frame_size_max_)
                       .status == parsers::pg::DecodeStatus::kInvalid);
          if (invalid) {
            std::copy(p, p + parsers::pg::kTaggedHeaderSize, header_.begin());
            header_have_ = parsers::pg::kTaggedHeaderSize;
            BeginFrame();  // records the reason
            *walked = at;
            return Status::kInvalid;
          }
          ++frames_;
          if (interest_.test(static_cast<uint8_t>(type))) {
            WalkedFrame frame{type, bytes.subspan(at + parsers::pg::kTaggedHeaderSize, length - 4),
                              length - 4, false};
            on_frame(frame);
          }
          at += size_t{length} + 1;
          continue;
        }
      }
    }
    if (header_have_ < parsers::pg::kTaggedHeaderSize && remaining_ == 0) {
      const size_t take =
          std::min(bytes.size() - at, parsers::pg::kTaggedHeaderSize - header_have_);
      std::copy(bytes.data() + at, bytes.data() + at + take, header_.begin() + header_have_);
      header_have_ += static_cast<uint32_t>(take);
      at += take;
      if (header_have_ < parsers::pg::kTaggedHeaderSize) {
        break;
      }
      if (!BeginFrame()) {
        *walked = at;
        return Status::kInvalid;
      }
      if (remaining_ == 0) {  // an empty body ends the frame with its header
        header_have_ = 0;
        if (interest_.test(static_cast<uint8_t>(type_))) {
          on_frame(WalkedFrame{type_, {}, 0, false});
        }
      }
      continue;
    }
    // Inside a body.
    const size_t take = std::min<size_t>(bytes.size() - at, remaining_);
    if (capturing_) {
      const size_t room = capture_max_ > capture_.size() ? capture_max_ - capture_.size() : 0;
      const size_t keep = std::min(room, take);
      capture_.insert(capture_.end(), bytes.data() + at, bytes.data() + at + keep);
    }
    remaining_ -= static_cast<uint32_t>(take);
    at += take;
    if (remaining_ == 0) {
      header_have_ = 0;
      if (capturing_) {
        capturing_ = false;
        on_frame(WalkedFrame{type_, capture_, body_size_, capture_.size() < body_size_});
      }
    }
  }
  *walked = at;
  return Status::kOk;
}

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_FRAME_WALKER_H_
