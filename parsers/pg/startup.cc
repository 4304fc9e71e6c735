// Implementation of jitgate/parsers/pg/startup.h.
#include "jitgate/parsers/pg/startup.h"

#include <cstring>

namespace jitgate::parsers::pg {
namespace {

uint32_t ReadInt32(std::span<const std::byte> bytes) {
  return (static_cast<uint32_t>(bytes[0]) << 24) | (static_cast<uint32_t>(bytes[1]) << 16) |
         (static_cast<uint32_t>(bytes[2]) << 8) | static_cast<uint32_t>(bytes[3]);
}

StartupHeader Invalid(StartupHeader header, StartupInvalidReason reason) {
  header.kind = StartupKind::kInvalid;
  header.invalid_reason = reason;
  return header;
}

}  // namespace

StartupHeader DecodeStartupHeader(std::span<const std::byte> bytes) {
  StartupHeader header;
  if (bytes.size() < kStartupHeaderSize) {
    return header;  // kNeedMore
  }
  header.length = ReadInt32(bytes.first(4));
  header.code = ReadInt32(bytes.subspan(4, 4));
  if (header.length < kStartupHeaderSize) {
    return Invalid(header, StartupInvalidReason::kLengthBelowHeader);
  }
  if (header.length > kStartupPacketSizeMax) {
    return Invalid(header, StartupInvalidReason::kLengthAboveMax);
  }
  switch (header.code) {
    case kSslRequestCode:
    case kGssEncRequestCode:
      if (header.length != kStartupHeaderSize) {
        return Invalid(header, StartupInvalidReason::kRequestLengthWrong);
      }
      header.kind =
          header.code == kSslRequestCode ? StartupKind::kSslRequest : StartupKind::kGssEncRequest;
      return header;
    case kCancelRequestCode:
      if (header.length < 16) {
        return Invalid(header, StartupInvalidReason::kRequestLengthWrong);
      }
      header.kind = StartupKind::kCancelRequest;
      return header;
    default:
      if ((header.code >> 16) != kProtocolMajor3) {
        return Invalid(header, StartupInvalidReason::kUnsupportedProtocol);
      }
      header.kind = StartupKind::kStartupMessage;
      return header;
  }
}

namespace {

constexpr uint8_t kSeenUser = 1;
constexpr uint8_t kSeenDatabase = 2;
constexpr uint8_t kSeenOptions = 4;
constexpr uint8_t kSeenReplication = 8;

// Records user/database/options in `out`; false if one of them (or replication) repeats.
bool NoteSpecialParam(std::string_view name, std::string_view value, StartupMessage& out,
                      uint8_t& seen) {
  uint8_t bit = 0;
  if (name == "user") {
    bit = kSeenUser;
    out.user = value;
  } else if (name == "database") {
    bit = kSeenDatabase;
    out.database = value;
  } else if (name == "options") {
    bit = kSeenOptions;
    out.options = value;
  } else if (name == "replication") {
    bit = kSeenReplication;
  }
  if ((seen & bit) != 0) {
    return false;
  }
  seen |= bit;
  return true;
}

}  // namespace

bool StartupParamIterator::Next(StartupParam& out) {
  // Validated lists have no empty name; stop at one anyway (the terminator convention).
  if (reader_.remaining() == 0 || !reader_.String(out.name) || out.name.empty()) {
    return false;
  }
  return reader_.String(out.value);
}

std::string_view StartupMessage::Find(std::string_view name, std::string_view fallback) const {
  StartupParamIterator it = params();
  StartupParam param;
  std::string_view found = fallback;
  while (it.Next(param)) {
    if (param.name == name) {
      found = param.value;
    }
  }
  return found;
}

InvalidReason DecodeStartupPayload(std::span<const std::byte> payload, StartupMessage& out) {
  Reader reader(payload);
  int32_t version = 0;
  if (!reader.Int32(version)) {
    return reader.error();
  }
  out = StartupMessage{};
  out.protocol_version = static_cast<uint32_t>(version);
  if (out.protocol_version == kSslRequestCode || out.protocol_version == kGssEncRequestCode ||
      out.protocol_version == kCancelRequestCode) {
    return InvalidReason::kNotStartupMessage;
  }
  if ((out.protocol_version >> 16) != kProtocolMajor3) {
    return InvalidReason::kUnsupportedProtocol;
  }
  // 55.7: pairs, then a zero byte as the packet's last byte.
  const size_t params_begin = reader.offset();
  uint8_t seen = 0;
  for (;;) {
    std::string_view name;
    std::string_view value;
    if (!reader.String(name)) {
      return reader.error();
    }
    if (name.empty()) {
      break;
    }
    if (!reader.String(value)) {
      return reader.error();
    }
    if (!NoteSpecialParam(name, value, out, seen)) {
      return InvalidReason::kDuplicateParameter;
    }
  }
  const InvalidReason reason = reader.Finish();
  if (reason != InvalidReason::kNone) {
    return reason;
  }
  if ((seen & kSeenUser) == 0 || out.user.empty()) {
    return InvalidReason::kMissingUser;
  }
  out.params_raw = payload.subspan(params_begin, payload.size() - params_begin - 1);
  return InvalidReason::kNone;
}

namespace {
// A whole packet's body after checking its length field matches its size.
InvalidReason PacketBody(std::span<const std::byte> packet, std::span<const std::byte>& body) {
  if (packet.size() < kStartupHeaderSize) {
    return InvalidReason::kLengthBelowHeader;
  }
  const uint32_t length = ReadInt32(packet.first(4));
  if (length < kStartupHeaderSize) {
    return InvalidReason::kLengthBelowHeader;
  }
  if (length > kStartupPacketSizeMax) {
    return InvalidReason::kLengthAboveMax;
  }
  if (length < packet.size()) {
    return InvalidReason::kTrailingBytes;
  }
  if (length > packet.size()) {
    return InvalidReason::kTruncated;
  }
  body = packet.subspan(4);
  return InvalidReason::kNone;
}
}  // namespace

InvalidReason DecodeStartupMessage(std::span<const std::byte> packet, StartupMessage& out) {
  std::span<const std::byte> body;
  const InvalidReason reason = PacketBody(packet, body);
  return reason != InvalidReason::kNone ? reason : DecodeStartupPayload(body, out);
}

InvalidReason DecodeCancelRequest(std::span<const std::byte> packet, CancelRequest& out) {
  std::span<const std::byte> body;
  InvalidReason reason = PacketBody(packet, body);
  if (reason != InvalidReason::kNone) {
    return reason;
  }
  if (ReadInt32(body.first(4)) != kCancelRequestCode) {
    return InvalidReason::kNotStartupMessage;
  }
  body = body.subspan(4);
  if (body.size() < 4 + kCancelKeySizeMin || body.size() > 4 + kCancelKeySizeMax) {
    return InvalidReason::kBadKeyLength;
  }
  out.process_id = ReadInt32(body.first(4));
  out.secret_key = body.subspan(4);
  return InvalidReason::kNone;
}

}  // namespace jitgate::parsers::pg
