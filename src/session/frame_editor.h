// src/session/frame_editor.h: follows the frames of one direction of a PostgreSQL stream and lets
// the session keep, drop or replace whole frames as they pass, copying only what it must.
//
// The forwarding path hands every received chunk to Edit(). Frames go on in order; each chunk
// splits into a prefix that goes on unchanged from the caller's buffer (zero-copy: result.forward
// bytes) and, after it, bytes the editor appended to `out` (copy mode). The editor stays
// zero-copy until a frame must be changed or held; from there to the chunk's end it copies.
//   - A frame whose type is in the interest set is held whole (a view into the chunk when it lies
//     inside it, else collected in the editor's hold buffer) and handed to the callback, which
//     answers kKeep (the frame goes on unchanged) or kDrop (it does not; whatever the callback
//     appended to `out` goes in its place). Nothing of a held frame goes on before the callback
//     has answered: what the guardrails judge is exactly what reaches the database.
//   - An interesting frame longer than hold_max is not held: the callback is called at its header
//     (EditFrame::oversize, no payload) and answers for the whole frame: kKeep streams it, kDrop
//     drops it as it arrives.
//   - DropUntil(type): every frame up to the next one of `type` is dropped (the server's "skip
//     to Sync" after an error in an extended-protocol batch); that frame is handled as usual.
//   - A header split across chunks is never forwarded in part: its bytes wait in the editor until
//     the frame's fate is known.
// Callback contract: it appends to `out` only when it returns kDrop; it may call DropUntil.
// The caller passes zero_copy=false when bytes it queued earlier (owned output) must go out
// before this chunk's; then everything is copied.
// Invariants: header_have_ < kTaggedHeaderSize while a header is incomplete; remaining_ counts
// the current frame's body bytes still to come; hold_ holds header + body so far of a held frame
// (never more than 5 + hold_max bytes).
// Owned by one session; pure (no I/O); allocates only when `out` or the hold buffer grow.
#ifndef JITGATE_SRC_SESSION_FRAME_EDITOR_H_
#define JITGATE_SRC_SESSION_FRAME_EDITOR_H_

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "jitgate/parsers/pg/frame.h"

namespace jitgate::session {

// One interesting frame: its type and body (after the length field).
struct EditFrame {
  char type = 0;
  std::span<const std::byte> payload;  // the whole body; empty when oversize
  uint32_t body_size = 0;
  bool oversize = false;  // body_size > hold_max: called at the header, before any body byte
};

enum class FrameAction : uint8_t { kKeep, kDrop };

struct EditResult {
  size_t forward = 0;    // leading bytes of the chunk that go on unchanged (zero-copy)
  size_t walked = 0;     // bytes of the chunk consumed (forward <= walked)
  bool invalid = false;  // a bad frame header: the stream is unusable (reason())
};

class FrameEditor {
 public:
  using OnFrame = absl::FunctionRef<FrameAction(const EditFrame&, std::vector<std::byte>*)>;

  FrameEditor(parsers::pg::Direction direction, size_t frame_size_max, size_t hold_max)
      : direction_(direction), frame_size_max_(frame_size_max), hold_max_(hold_max) {}

  void SetInterest(char type, bool on = true) { interest_.set(static_cast<uint8_t>(type), on); }
  bool interesting(char type) const { return interest_.test(static_cast<uint8_t>(type)); }

  // Frames longer than this are not held (see the file comment); takes effect at the next frame.
  void SetHoldMax(size_t hold_max) { hold_max_ = hold_max; }

  // Back to the start of a stream (a new session); the interest set is kept.
  void Reset();

  void DropUntil(char type) {
    drop_until_ = type;
    dropping_ = true;
  }
  bool dropping() const { return dropping_; }

  // Edits `bytes` (see the file comment). With `stop_at_boundary`, stops at the first frame
  // boundary reached (walked == 0 when already between frames). An invalid header is sticky.
  EditResult Edit(std::span<const std::byte> bytes, bool zero_copy, bool stop_at_boundary,
                  std::vector<std::byte>* out, OnFrame on_frame);

  bool at_boundary() const { return header_have_ == 0 && remaining_ == 0; }
  // Bytes of the stream the editor holds (a partial header or a held frame).
  bool holding() const { return header_have_ > 0 || mode_ == Mode::kHold; }
  parsers::pg::InvalidReason reason() const { return reason_; }
  uint64_t frames() const { return frames_; }

 private:
  enum class Mode : uint8_t { kPass, kHold, kDrop };

  // True when the 5-byte tagged header at `p` is invalid for this direction.
  bool HeaderInvalid(const std::byte* p) const;
  // The header in header_ is complete: picks the frame's mode (calling the callback for an
  // oversize interesting frame). False on an invalid header.
  bool BeginFrame(std::vector<std::byte>* out, OnFrame on_frame, bool* to_copy);

  const parsers::pg::Direction direction_;
  const size_t frame_size_max_;
  size_t hold_max_;
  std::bitset<256> interest_;
  std::array<std::byte, parsers::pg::kTaggedHeaderSize> header_{};
  uint32_t header_have_ = 0;
  uint32_t remaining_ = 0;
  uint32_t body_size_ = 0;
  Mode mode_ = Mode::kPass;
  bool dropping_ = false;
  char drop_until_ = 0;
  std::vector<std::byte> hold_;
  parsers::pg::InvalidReason reason_ = parsers::pg::InvalidReason::kNone;
  uint64_t frames_ = 0;
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_FRAME_EDITOR_H_
