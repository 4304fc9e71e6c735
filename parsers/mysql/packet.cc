// Implementation of jitgate/parsers/mysql/packet.h: frame walk over consecutive packet headers
// and the staging assembler.
#include "jitgate/parsers/mysql/packet.h"

#include <algorithm>
#include <cstring>

#include "parsers/mysql/invariant.h"

namespace jitgate::parsers::mysql {
namespace {

uint32_t ReadInt3(const std::byte* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16;
}

Frame Invalid(Frame frame, InvalidReason reason) {
  frame.status = DecodeStatus::kInvalid;
  frame.reason = reason;
  frame.payload = {};
  frame.bytes_needed = 0;
  return frame;
}

}  // namespace

std::string_view InvalidReasonName(InvalidReason reason) {
  switch (reason) {
    case InvalidReason::kNone:
      return "none";
    case InvalidReason::kFrameAboveMax:
      return "frame_above_max";
    case InvalidReason::kSequenceMismatch:
      return "sequence_mismatch";
    case InvalidReason::kEmptyPayload:
      return "empty_payload";
    case InvalidReason::kTruncated:
      return "truncated";
    case InvalidReason::kTrailingBytes:
      return "trailing_bytes";
    case InvalidReason::kBadLenencPrefix:
      return "bad_lenenc_prefix";
    case InvalidReason::kUnexpectedNull:
      return "unexpected_null";
    case InvalidReason::kMissingNul:
      return "missing_nul";
    case InvalidReason::kWrongHeader:
      return "wrong_header";
    case InvalidReason::kUnsupportedProtocol:
      return "unsupported_protocol";
    case InvalidReason::kBadAuthDataLength:
      return "bad_auth_data_length";
    case InvalidReason::kBadFixedFieldsLength:
      return "bad_fixed_fields_length";
    case InvalidReason::kColumnCountAboveMax:
      return "column_count_above_max";
    case InvalidReason::kBadFieldType:
      return "bad_field_type";
    case InvalidReason::kBadTemporalLength:
      return "bad_temporal_length";
    case InvalidReason::kNullBitmapPadding:
      return "null_bitmap_padding";
    case InvalidReason::kParamCountAboveMax:
      return "param_count_above_max";
    case InvalidReason::kBadBindFlag:
      return "bad_bind_flag";
    case InvalidReason::kStagingOverflow:
      return "staging_overflow";
  }
  return "unknown";
}

Frame DecodeFrame(Bytes bytes, size_t frame_size_max) {
  Frame frame;
  const size_t limit = std::min(frame_size_max, kLogicalPayloadMax);
  size_t offset = 0;
  while (true) {
    if (bytes.size() - offset < kPacketHeaderSize) {
      frame.bytes_needed = kPacketHeaderSize - (bytes.size() - offset);
      return frame;
    }
    const size_t packet_size = ReadInt3(bytes.data() + offset);
    const auto sequence_id = static_cast<uint8_t>(bytes[offset + 3]);
    if (frame.packet_count == 0) {
      frame.first_sequence_id = sequence_id;
    } else if (sequence_id != NextSequenceId(frame.last_sequence_id)) {
      return Invalid(frame, InvalidReason::kSequenceMismatch);
    }
    frame.last_sequence_id = sequence_id;
    ++frame.packet_count;
    frame.payload_size += packet_size;
    // A split payload may legitimately end exactly at the limit; its trailing empty packet is
    // still to be read, so only "larger than" is invalid.
    if (frame.payload_size > limit) {
      return Invalid(frame, InvalidReason::kFrameAboveMax);
    }
    const size_t payload_offset = offset + kPacketHeaderSize;
    if (bytes.size() - payload_offset < packet_size) {
      frame.bytes_needed = packet_size - (bytes.size() - payload_offset);
      return frame;
    }
    offset = payload_offset + packet_size;
    if (packet_size < kPacketPayloadMax) {
      break;
    }
  }
  frame.status = DecodeStatus::kOk;
  frame.frame_size = offset;
  if (frame.packet_count == 1) {
    frame.payload = bytes.subspan(kPacketHeaderSize, frame.payload_size);
  }
  return frame;
}

size_t CopyPayload(Bytes bytes, const Frame& frame, std::span<std::byte> out) {
  if (frame.status != DecodeStatus::kOk || out.size() < frame.payload_size ||
      bytes.size() < frame.frame_size) {
    return 0;
  }
  size_t in = 0;
  size_t written = 0;
  for (uint32_t i = 0; i < frame.packet_count; ++i) {
    const size_t size = ReadInt3(bytes.data() + in);
    if (size > 0) {
      std::memcpy(out.data() + written, bytes.data() + in + kPacketHeaderSize, size);
    }
    written += size;
    in += kPacketHeaderSize + size;
  }
  JG_MYSQL_INVARIANT(written == frame.payload_size && in == frame.frame_size);
  return written;
}

void PacketAssembler::Reset() {
  header_have_ = 0;
  packet_remaining_ = 0;
  payload_size_ = 0;
  packet_count_ = 0;
  first_sequence_id_ = 0;
  last_sequence_id_ = 0;
  last_packet_ = false;
  complete_ = false;
  failed_ = false;
}

bool PacketAssembler::TakeHeader(Bytes bytes, size_t& offset, FeedResult& result) {
  const size_t take = std::min(kPacketHeaderSize - header_have_, bytes.size() - offset);
  std::memcpy(header_ + header_have_, bytes.data() + offset, take);
  header_have_ += take;
  offset += take;
  if (header_have_ < kPacketHeaderSize) {
    return false;
  }
  packet_remaining_ = ReadInt3(header_);
  const auto sequence_id = static_cast<uint8_t>(header_[3]);
  if (packet_count_ > 0 && sequence_id != NextSequenceId(last_sequence_id_)) {
    result.reason = InvalidReason::kSequenceMismatch;
  } else if (payload_size_ + packet_remaining_ > storage_.size()) {
    result.reason = InvalidReason::kStagingOverflow;
  }
  if (packet_count_ == 0) {
    first_sequence_id_ = sequence_id;
  }
  last_sequence_id_ = sequence_id;
  ++packet_count_;
  last_packet_ = packet_remaining_ < kPacketPayloadMax;
  return true;
}

PacketAssembler::FeedResult PacketAssembler::Feed(Bytes bytes) {
  FeedResult result;
  if (complete_ || failed_) {
    result.status = complete_ ? DecodeStatus::kOk : DecodeStatus::kInvalid;
    return result;
  }
  size_t offset = 0;
  while (true) {
    if (header_have_ < kPacketHeaderSize) {
      if (!TakeHeader(bytes, offset, result)) {
        break;
      }
      if (result.reason != InvalidReason::kNone) {
        failed_ = true;
        result.status = DecodeStatus::kInvalid;
        result.consumed = offset;
        return result;
      }
    }
    const size_t take = std::min(packet_remaining_, bytes.size() - offset);
    if (take > 0) {
      std::memcpy(storage_.data() + payload_size_, bytes.data() + offset, take);
    }
    payload_size_ += take;
    packet_remaining_ -= take;
    offset += take;
    if (packet_remaining_ > 0) {
      break;
    }
    if (last_packet_) {
      complete_ = true;
      result.status = DecodeStatus::kOk;
      break;
    }
    header_have_ = 0;  // a continuation packet follows
  }
  result.consumed = offset;
  AssertInvariants();
  return result;
}

void PacketAssembler::AssertInvariants() const {
  JG_MYSQL_INVARIANT(payload_size_ <= storage_.size() && header_have_ <= kPacketHeaderSize);
}

}  // namespace jitgate::parsers::mysql
