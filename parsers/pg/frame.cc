// Implementation of jitgate/parsers/pg/frame.h: the frame header decoder, its per-direction type
// tables, the staging buffer and the Reader.
#include "jitgate/parsers/pg/frame.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "jitgate/parsers/pg/startup.h"

namespace jitgate::parsers::pg {
namespace {

// Per type byte: 0 = not a message of this direction, otherwise the largest body length the
// server accepts (the Int32 length field's value). A 256-entry table, not a switch or a map.
using TypeTable = std::array<uint32_t, 256>;

constexpr uint32_t kNoTypeLimit = 0xffffffffu;

constexpr TypeTable MakeFrontendTable() {
  TypeTable table{};
  // 55.7 frontend messages. postgres.c SocketBackend: Bind, FunctionCall, Parse, Query and
  // CopyData may be large (PQ_LARGE_MESSAGE_LIMIT, ~1 GiB; frame_size_max is the real cap here).
  for (char type : {'B', 'F', 'P', 'Q', 'd'}) {
    table[static_cast<uint8_t>(type)] = kNoTypeLimit;
  }
  // Close, Describe, Execute, Flush, Sync, Terminate, CopyDone, CopyFail: PQ_SMALL_MESSAGE_LIMIT.
  for (char type : {'C', 'D', 'E', 'H', 'S', 'X', 'c', 'f'}) {
    table[static_cast<uint8_t>(type)] = kSmallMessageLimit;
  }
  // PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse (auth.c).
  table[static_cast<uint8_t>('p')] = kAuthMessageLimit;
  return table;
}

constexpr TypeTable MakeBackendTable() {
  TypeTable table{};
  // 55.7 backend messages; the client (libpq) accepts any length, so only frame_size_max caps.
  for (char type : {'R', 'K', 'S', 'Z', 'T', 'D', 'C', 'I', 'E', 'N', '1', '2',
                    '3', 'n', 's', 't', 'G', 'H', 'W', 'd', 'c', 'A', 'v', 'V'}) {
    table[static_cast<uint8_t>(type)] = kNoTypeLimit;
  }
  return table;
}

constexpr TypeTable kFrontendTypes = MakeFrontendTable();
constexpr TypeTable kBackendTypes = MakeBackendTable();

Frame InvalidFrame(Frame frame, InvalidReason reason) {
  frame.status = DecodeStatus::kInvalid;
  frame.reason = reason;
  frame.payload = {};
  frame.bytes_needed = 0;
  return frame;
}

// The body length limit for `type` in `direction`, 0 if the type is unknown.
uint32_t TypeLimit(Direction direction, char type) {
  switch (direction) {
    case Direction::kFrontend:
      return kFrontendTypes[static_cast<uint8_t>(type)];
    case Direction::kBackend:
      return kBackendTypes[static_cast<uint8_t>(type)];
    case Direction::kStartup:
      return 0;
  }
  return 0;
}

Frame DecodeStartupFrame(std::span<const std::byte> bytes, size_t frame_size_max) {
  Frame frame;
  if (bytes.size() < kStartupLengthSize) {
    frame.bytes_needed = kStartupLengthSize - bytes.size();
    return frame;
  }
  const uint32_t length = internal::LoadUint32(bytes.data());
  frame.frame_size = length;
  if (length < kStartupHeaderSize) {
    return InvalidFrame(frame, InvalidReason::kLengthBelowHeader);
  }
  if (length > frame_size_max || length > kStartupPacketSizeMax) {
    return InvalidFrame(frame, InvalidReason::kLengthAboveMax);
  }
  if (bytes.size() < length) {
    frame.bytes_needed = length - bytes.size();
    return frame;
  }
  frame.status = DecodeStatus::kOk;
  frame.payload = bytes.subspan(kStartupLengthSize, length - kStartupLengthSize);
  return frame;
}

}  // namespace

bool IsKnownType(Direction direction, char type) { return TypeLimit(direction, type) != 0; }

Frame DecodeFrame(std::span<const std::byte> bytes, Direction direction, size_t frame_size_max) {
  if (direction == Direction::kStartup) {
    return DecodeStartupFrame(bytes, frame_size_max);
  }
  Frame frame;
  if (bytes.empty()) {
    frame.bytes_needed = kTaggedHeaderSize;
    return frame;
  }
  frame.type = static_cast<char>(bytes[0]);
  const uint32_t type_limit = TypeLimit(direction, frame.type);
  if (type_limit == 0) {
    return InvalidFrame(frame, InvalidReason::kUnknownType);
  }
  if (bytes.size() < kTaggedHeaderSize) {
    frame.bytes_needed = kTaggedHeaderSize - bytes.size();
    return frame;
  }
  const uint32_t length = internal::LoadUint32(bytes.data() + 1);
  // 1 + length cannot overflow size_t (64-bit) for any uint32_t.
  frame.frame_size = size_t{1} + length;
  if (length < 4) {
    return InvalidFrame(frame, InvalidReason::kLengthBelowHeader);
  }
  if (frame.frame_size > frame_size_max) {
    return InvalidFrame(frame, InvalidReason::kLengthAboveMax);
  }
  if (length > type_limit) {
    return InvalidFrame(frame, InvalidReason::kLengthAboveTypeLimit);
  }
  if (bytes.size() < frame.frame_size) {
    frame.bytes_needed = frame.frame_size - bytes.size();
    return frame;
  }
  frame.status = DecodeStatus::kOk;
  frame.payload = bytes.subspan(kTaggedHeaderSize, length - 4);
  return frame;
}

// ---------------------------------------------------------------------------------------------
// FrameStager

Frame FrameStager::Next(std::span<const std::byte>& input) {
  if (invalid_.status == DecodeStatus::kInvalid) {
    return invalid_;
  }
  if (delivered_) {
    staged_size_ = 0;
    delivered_ = false;
  }
  if (staged_size_ == 0) {
    // Fast path: the frame lies wholly in `input`.
    const Frame frame = DecodeFrame(input, direction_, storage_.size());
    if (frame.status == DecodeStatus::kOk) {
      input = input.subspan(frame.frame_size);
      return frame;
    }
    if (frame.status == DecodeStatus::kInvalid) {
      invalid_ = frame;
      return frame;
    }
  }
  // Slow path: copy what the decoder asks for (first the header, then the rest) and retry.
  for (;;) {
    const std::span<const std::byte> staged(storage_.data(), staged_size_);
    const Frame frame = DecodeFrame(staged, direction_, storage_.size());
    if (frame.status == DecodeStatus::kOk) {
      delivered_ = true;
      return frame;
    }
    if (frame.status == DecodeStatus::kInvalid) {
      invalid_ = frame;
      return frame;
    }
    const size_t take = std::min(frame.bytes_needed, input.size());
    if (take == 0) {
      return frame;  // kNeedMore with bytes_needed counted from the staged bytes
    }
    // DecodeFrame never asks beyond frame_size <= storage_.size().
    std::memcpy(storage_.data() + staged_size_, input.data(), take);
    staged_size_ += take;
    input = input.subspan(take);
  }
}

bool FrameStager::SetDirection(Direction direction) {
  if (staged_size_ != 0 && !delivered_) {
    return false;
  }
  // A delivered frame's bytes stay in storage (its views remain valid until the next Next), but
  // they no longer count as staged: they belong to the old grammar.
  staged_size_ = 0;
  delivered_ = false;
  direction_ = direction;
  return true;
}

void FrameStager::Reset() {
  staged_size_ = 0;
  delivered_ = false;
  invalid_ = Frame{};
}

bool FrameStager::AssertInvariants() const {
  if (staged_size_ > storage_.size()) {
    return false;
  }
  const Frame frame = DecodeFrame(std::span<const std::byte>(storage_.data(), staged_size_),
                                  direction_, storage_.size());
  // An invalid header (length below the header size) may claim less than was staged to read it.
  return frame.status == DecodeStatus::kInvalid || frame.frame_size == 0 ||
         staged_size_ <= frame.frame_size;
}

// ---------------------------------------------------------------------------------------------
// Reader

bool Reader::Fail(InvalidReason reason) {
  if (error_ == InvalidReason::kNone) {
    error_ = reason;
  }
  return false;
}

bool Reader::Byte(uint8_t& out) {
  if (error_ != InvalidReason::kNone || remaining() < 1) {
    return Fail(InvalidReason::kTruncated);
  }
  out = static_cast<uint8_t>(bytes_[offset_++]);
  return true;
}

bool Reader::Int16(int16_t& out) {
  if (error_ != InvalidReason::kNone || remaining() < 2) {
    return Fail(InvalidReason::kTruncated);
  }
  out = static_cast<int16_t>(internal::LoadUint16(bytes_.data() + offset_));
  offset_ += 2;
  return true;
}

bool Reader::Int32(int32_t& out) {
  if (error_ != InvalidReason::kNone || remaining() < 4) {
    return Fail(InvalidReason::kTruncated);
  }
  out = static_cast<int32_t>(internal::LoadUint32(bytes_.data() + offset_));
  offset_ += 4;
  return true;
}

bool Reader::Count16(uint16_t& out) {
  int16_t value = 0;
  if (!Int16(value)) {
    return false;
  }
  if (value < 0) {
    return Fail(InvalidReason::kNegativeCount);
  }
  out = static_cast<uint16_t>(value);
  return true;
}

bool Reader::String(std::string_view& out) {
  if (error_ != InvalidReason::kNone) {
    return false;
  }
  const char* begin = reinterpret_cast<const char*>(bytes_.data() + offset_);
  const void* nul = std::memchr(begin, 0, remaining());
  if (nul == nullptr) {
    return Fail(InvalidReason::kMissingTerminator);
  }
  const size_t size = static_cast<size_t>(static_cast<const char*>(nul) - begin);
  out = std::string_view(begin, size);
  offset_ += size + 1;
  return true;
}

bool Reader::Bytes(size_t size, std::span<const std::byte>& out) {
  if (error_ != InvalidReason::kNone || remaining() < size) {
    return Fail(InvalidReason::kTruncated);
  }
  out = bytes_.subspan(offset_, size);
  offset_ += size;
  return true;
}

std::span<const std::byte> Reader::Rest() {
  const std::span<const std::byte> rest = bytes_.subspan(offset_);
  offset_ = bytes_.size();
  return rest;
}

InvalidReason Reader::Finish() {
  if (error_ == InvalidReason::kNone && remaining() != 0) {
    error_ = InvalidReason::kTrailingBytes;
  }
  return error_;
}

// ---------------------------------------------------------------------------------------------
// Format arrays

int16_t ResolveFormat(std::span<const std::byte> raw, size_t index) {
  const size_t count = raw.size() / 2;
  if (count == 0) {
    return 0;
  }
  const size_t at = count == 1 ? 0 : index;
  if (at >= count) {
    return 0;
  }
  return static_cast<int16_t>(internal::LoadUint16(raw.data() + 2 * at));
}

InvalidReason CheckFormats(std::span<const std::byte> raw) {
  for (size_t at = 0; at + 1 < raw.size(); at += 2) {
    const uint16_t code = internal::LoadUint16(raw.data() + at);
    if (code > 1) {
      return InvalidReason::kBadFormatCode;
    }
  }
  return InvalidReason::kNone;
}

bool ReadFormats(Reader& reader, uint16_t& count, std::span<const std::byte>& raw) {
  if (!reader.Count16(count) || !reader.Bytes(size_t{2} * count, raw)) {
    return false;
  }
  const InvalidReason reason = CheckFormats(raw);
  return reason == InvalidReason::kNone || reader.Fail(reason);
}

const char* InvalidReasonName(InvalidReason reason) {
  switch (reason) {
    case InvalidReason::kNone:
      return "none";
    case InvalidReason::kLengthBelowHeader:
      return "length_below_header";
    case InvalidReason::kLengthAboveMax:
      return "length_above_max";
    case InvalidReason::kLengthAboveTypeLimit:
      return "length_above_type_limit";
    case InvalidReason::kUnknownType:
      return "unknown_type";
    case InvalidReason::kTruncated:
      return "truncated";
    case InvalidReason::kTrailingBytes:
      return "trailing_bytes";
    case InvalidReason::kMissingTerminator:
      return "missing_terminator";
    case InvalidReason::kNegativeCount:
      return "negative_count";
    case InvalidReason::kNegativeLength:
      return "negative_length";
    case InvalidReason::kCountMismatch:
      return "count_mismatch";
    case InvalidReason::kBadFormatCode:
      return "bad_format_code";
    case InvalidReason::kBadEnumByte:
      return "bad_enum_byte";
    case InvalidReason::kUnknownAuthCode:
      return "unknown_auth_code";
    case InvalidReason::kBadKeyLength:
      return "bad_key_length";
    case InvalidReason::kMissingUser:
      return "missing_user";
    case InvalidReason::kUnsupportedProtocol:
      return "unsupported_protocol";
    case InvalidReason::kNotStartupMessage:
      return "not_startup_message";
    case InvalidReason::kEmptyName:
      return "empty_name";
    case InvalidReason::kDuplicateParameter:
      return "duplicate_parameter";
  }
  return "unknown";
}

}  // namespace jitgate::parsers::pg
