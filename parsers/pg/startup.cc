// Implementation of jitgate/parsers/pg/startup.h.
#include "jitgate/parsers/pg/startup.h"

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

}  // namespace jitgate::parsers::pg
