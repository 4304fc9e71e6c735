// Implementation of src/session/frame_walker.h: the header check of a frame that straddles
// chunks (the fast path of whole frames is inline in the header).
#include "src/session/frame_walker.h"

namespace jitgate::session {

bool FrameWalker::BeginFrame() {
  namespace pg = parsers::pg;
  const pg::Frame frame = pg::DecodeFrame(header_, direction_, frame_size_max_);
  if (frame.status == pg::DecodeStatus::kInvalid) {
    reason_ = frame.reason;
    return false;
  }
  type_ = static_cast<char>(header_[0]);
  body_size_ = pg::internal::LoadUint32(header_.data() + 1) - 4;
  remaining_ = body_size_;
  ++frames_;
  capturing_ = remaining_ > 0 && interest_.test(static_cast<uint8_t>(type_));
  if (capturing_) {
    capture_.clear();
  }
  return true;
}

}  // namespace jitgate::session
