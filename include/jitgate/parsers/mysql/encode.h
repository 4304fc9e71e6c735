// jitgate/parsers/mysql/encode.h: encoders for MySQL packets the gateway itself sends.
//
// Pure functions over caller-owned memory; each returns bytes written (header included), or 0
// when `out` is too small. Spec: MySQL client/server protocol, "Protocol::Packet" and
// "ERR_Packet" (dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_err_packet.html).
#ifndef JITGATE_PARSERS_MYSQL_ENCODE_H_
#define JITGATE_PARSERS_MYSQL_ENCODE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace jitgate::parsers::mysql {

inline constexpr uint8_t kErrHeader = 0xff;
inline constexpr uint16_t kErConCountError = 1040;  // ER_CON_COUNT_ERROR, "Too many connections"
inline constexpr uint16_t kErUnknownError = 1105;   // ER_UNKNOWN_ERROR

// ERR packet with sequence id `sequence_id`. With `sqlstate` non-empty (5 characters) the
// CLIENT_PROTOCOL_41 form is written ('#' + SQLSTATE); servers send the bare form before the
// handshake (connection refusals), which is what an empty `sqlstate` gives.
size_t EncodeErrPacket(uint8_t sequence_id, uint16_t error_code, std::string_view sqlstate,
                       std::string_view message, std::span<std::byte> out);

}  // namespace jitgate::parsers::mysql

#endif  // JITGATE_PARSERS_MYSQL_ENCODE_H_
