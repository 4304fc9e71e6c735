// Implementation of src/session/frame_editor.h.
#include "src/session/frame_editor.h"

#include <algorithm>

namespace jitgate::session {

namespace pg = parsers::pg;

namespace {

// A hold buffer grown past this by one large frame is given back after it.
constexpr size_t kHoldKeepCapacity = 256 * 1024;

}  // namespace

void FrameEditor::Reset() {
  header_have_ = 0;
  remaining_ = 0;
  body_size_ = 0;
  mode_ = Mode::kPass;
  dropping_ = false;
  drop_until_ = 0;
  hold_.clear();
  reason_ = pg::InvalidReason::kNone;
  frames_ = 0;
}

bool FrameEditor::HeaderInvalid(const std::byte* p) const {
  const uint32_t length = pg::internal::LoadUint32(p + 1);
  // Large frames also get the per-type limits (DecodeFrame knows them); small ones are below
  // every limit, so the common case costs two compares.
  return !pg::IsKnownType(direction_, static_cast<char>(p[0])) || length < 4 ||
         length + size_t{1} > frame_size_max_ ||
         (length > pg::kSmallMessageLimit - 1 &&
          pg::DecodeFrame(std::span(p, pg::kTaggedHeaderSize), direction_, frame_size_max_)
                  .status == pg::DecodeStatus::kInvalid);
}

bool FrameEditor::BeginFrame(std::vector<std::byte>* out, OnFrame on_frame, bool* to_copy) {
  const pg::Frame frame = pg::DecodeFrame(header_, direction_, frame_size_max_);
  if (frame.status == pg::DecodeStatus::kInvalid) {
    reason_ = frame.reason;
    return false;
  }
  const char type = static_cast<char>(header_[0]);
  body_size_ = pg::internal::LoadUint32(header_.data() + 1) - 4;
  remaining_ = body_size_;
  ++frames_;
  *to_copy = false;
  if (dropping_) {
    if (type != drop_until_) {
      mode_ = Mode::kDrop;
      *to_copy = true;
      return true;
    }
    dropping_ = false;
  }
  if (!interesting(type)) {
    mode_ = Mode::kPass;
  } else if (body_size_ > hold_max_) {
    const FrameAction edit = on_frame(EditFrame{type, {}, body_size_, true}, out);
    mode_ = edit == FrameAction::kKeep ? Mode::kPass : Mode::kDrop;
    *to_copy = mode_ == Mode::kDrop;
  } else {
    mode_ = Mode::kHold;
    *to_copy = true;
    hold_.assign(header_.begin(), header_.end());
  }
  return true;
}

EditResult FrameEditor::Edit(std::span<const std::byte> bytes, bool zero_copy,
                             bool stop_at_boundary, std::vector<std::byte>* out,
                             OnFrame on_frame) {
  EditResult result;
  if (reason_ != pg::InvalidReason::kNone) {
    result.invalid = true;
    return result;
  }
  const size_t n = bytes.size();
  size_t at = 0;
  // Bytes held from an earlier chunk, or a frame being dropped or held, mean nothing of this
  // chunk can go on from its buffer before them.
  bool copying = !zero_copy || header_have_ > 0 || (remaining_ > 0 && mode_ != Mode::kPass);
  size_t forward = 0;
  const auto start_copy = [&](size_t position) {
    if (!copying) {
      copying = true;
      forward = position;
    }
  };
  const auto emit = [&](const std::byte* p, size_t size) {
    if (copying) {
      out->insert(out->end(), p, p + size);
    }
  };
  const auto finish_held = [&]() {
    const char type = static_cast<char>(hold_[0]);
    const FrameAction edit = on_frame(
        EditFrame{type, std::span<const std::byte>(hold_).subspan(pg::kTaggedHeaderSize),
                  body_size_, false},
        out);
    if (edit == FrameAction::kKeep) {
      out->insert(out->end(), hold_.begin(), hold_.end());
    }
    hold_.clear();
    if (hold_.capacity() > kHoldKeepCapacity) {
      std::vector<std::byte>().swap(hold_);
    }
    mode_ = Mode::kPass;
  };

  while (at < n) {
    if (header_have_ == 0 && remaining_ == 0) {
      if (stop_at_boundary) {
        break;
      }
      // Fast path: a whole frame inside the chunk.
      const size_t left = n - at;
      if (left >= pg::kTaggedHeaderSize) {
        const std::byte* p = bytes.data() + at;
        const uint32_t length = pg::internal::LoadUint32(p + 1);
        const char type = static_cast<char>(p[0]);
        const uint32_t body = length - 4;
        if (length >= 4 && body <= left - pg::kTaggedHeaderSize &&
            !(interesting(type) && body > hold_max_)) {
          if (HeaderInvalid(p)) {
            const pg::Frame frame =
                pg::DecodeFrame(std::span(p, pg::kTaggedHeaderSize), direction_, frame_size_max_);
            reason_ = frame.reason != pg::InvalidReason::kNone ? frame.reason
                                                               : pg::InvalidReason::kUnknownType;
            result.forward = copying ? forward : at;
            result.walked = at;
            result.invalid = true;
            return result;
          }
          ++frames_;
          const size_t size = size_t{length} + 1;
          if (dropping_) {
            if (type != drop_until_) {
              start_copy(at);
              at += size;
              continue;
            }
            dropping_ = false;
          }
          if (interesting(type)) {
            const FrameAction edit =
                on_frame(EditFrame{type, bytes.subspan(at + pg::kTaggedHeaderSize, body), body,
                                   false},
                         out);
            if (edit == FrameAction::kDrop) {
              start_copy(at);
            } else {
              emit(p, size);
            }
          } else {
            emit(p, size);
          }
          at += size;
          continue;
        }
      }
    }
    if (remaining_ == 0) {
      // A header, begun here or in an earlier chunk.
      const bool begun_here = header_have_ == 0;
      const size_t header_start = at;
      const size_t take = std::min(n - at, pg::kTaggedHeaderSize - header_have_);
      std::copy(bytes.data() + at, bytes.data() + at + take, header_.begin() + header_have_);
      header_have_ += static_cast<uint32_t>(take);
      at += take;
      if (header_have_ < pg::kTaggedHeaderSize) {
        start_copy(begun_here ? header_start : 0);  // the partial header waits here
        break;
      }
      bool to_copy = false;
      if (!BeginFrame(out, on_frame, &to_copy)) {
        header_have_ = 0;
        result.forward = copying ? forward : (begun_here ? header_start : at);
        result.walked = at;
        result.invalid = true;
        return result;
      }
      header_have_ = 0;
      if (to_copy) {
        start_copy(begun_here ? header_start : 0);
      }
      if (mode_ == Mode::kPass) {
        emit(header_.data(), header_.size());
      } else if (remaining_ == 0 && mode_ == Mode::kDrop) {
        mode_ = Mode::kPass;  // an empty frame dropped with its header: the next one is new
      }
      if (remaining_ == 0 && mode_ == Mode::kHold) {
        finish_held();
      }
      continue;
    }
    // Inside a body.
    const size_t take = std::min<size_t>(n - at, remaining_);
    switch (mode_) {
      case Mode::kPass:
        emit(bytes.data() + at, take);
        break;
      case Mode::kHold:
        hold_.insert(hold_.end(), bytes.data() + at, bytes.data() + at + take);
        break;
      case Mode::kDrop:
        break;
    }
    remaining_ -= static_cast<uint32_t>(take);
    at += take;
    if (remaining_ == 0) {
      if (mode_ == Mode::kHold) {
        finish_held();
      }
      mode_ = Mode::kPass;
    }
  }
  result.forward = copying ? forward : at;
  result.walked = at;
  return result;
}

}  // namespace jitgate::session
