// Implementation of jitgate/parsers/mysql/encode.h.
#include "jitgate/parsers/mysql/encode.h"

#include <cstring>

namespace jitgate::parsers::mysql {

size_t EncodeErrPacket(uint8_t sequence_id, uint16_t error_code, std::string_view sqlstate,
                       std::string_view message, std::span<std::byte> out) {
  constexpr size_t kHeaderSize = 4;             // 3-byte payload length + sequence id
  // A payload of exactly 0xffffff announces a continuation packet, so one packet holds at most
  // 0xfffffe bytes; longer messages are cut.
  constexpr size_t kPayloadSizeMax = 0xfffffe;
  const bool with_state = sqlstate.size() == 5;
  size_t payload = 1 + 2 + (with_state ? 6 : 0) + message.size();
  if (payload > kPayloadSizeMax) {
    message = message.substr(0, kPayloadSizeMax - (payload - message.size()));
    payload = kPayloadSizeMax;
  }
  if (out.size() < kHeaderSize + payload) {
    return 0;
  }
  std::byte* p = out.data();
  p[0] = static_cast<std::byte>(payload & 0xff);
  p[1] = static_cast<std::byte>((payload >> 8) & 0xff);
  p[2] = static_cast<std::byte>((payload >> 16) & 0xff);
  p[3] = static_cast<std::byte>(sequence_id);
  p[4] = static_cast<std::byte>(kErrHeader);
  p[5] = static_cast<std::byte>(error_code & 0xff);  // int<2>, little endian
  p[6] = static_cast<std::byte>(error_code >> 8);
  size_t offset = 7;
  if (with_state) {
    p[offset++] = static_cast<std::byte>('#');
    std::memcpy(p + offset, sqlstate.data(), 5);
    offset += 5;
  }
  std::memcpy(p + offset, message.data(), message.size());
  return offset + message.size();
}

}  // namespace jitgate::parsers::mysql
