// jitgate/parsers/mysql/encode.h: encoders for MySQL packets the gateway itself sends (ERR, OK,
// EOF, HandshakeV10, AuthSwitchRequest, AuthMoreData) and the row rewriter the masker uses.
//
// Pure functions over caller-owned memory; each packet encoder returns bytes written (header
// included), or 0 when `out` is too small. Spec: PROTOCOLS.md 4.1-4.7: "Protocol::Packet",
// "ERR_Packet" (dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_err_packet.html),
// page_protocol_basic_ok_packet.html, page_protocol_basic_eof_packet.html,
// page_protocol_connection_phase_packets_protocol_handshake_v10.html,
// page_protocol_binary_resultset.html. Encoded payloads stay below 0xffffff (one packet).
#ifndef JITGATE_PARSERS_MYSQL_ENCODE_H_
#define JITGATE_PARSERS_MYSQL_ENCODE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/mysql/wire.h"

namespace jitgate::parsers::mysql {

inline constexpr uint8_t kErrHeader = 0xff;
inline constexpr uint16_t kErConCountError = 1040;  // ER_CON_COUNT_ERROR, "Too many connections"
inline constexpr uint16_t kErUnknownError = 1105;   // ER_UNKNOWN_ERROR

// ERR packet with sequence id `sequence_id`. With `sqlstate` non-empty (5 characters) the
// CLIENT_PROTOCOL_41 form is written ('#' + SQLSTATE); servers send the bare form before the
// handshake (connection refusals), which is what an empty `sqlstate` gives.
size_t EncodeErrPacket(uint8_t sequence_id, uint16_t error_code, std::string_view sqlstate,
                       std::string_view message, std::span<std::byte> out);

// Writes the 4-byte packet header. Returns 4, or 0 when `out` is short or payload_size >= 0xffffff.
size_t EncodePacketHeader(size_t payload_size, uint8_t sequence_id, std::span<std::byte> out);

// Bytes of int<lenenc> for `value` (1, 3, 4 or 9).
size_t LenencSize(uint64_t value);
// Writes int<lenenc>; returns bytes written or 0 when `out` is too small.
size_t EncodeLenenc(uint64_t value, std::span<std::byte> out);

struct OkFields {
  uint8_t header = 0x00;  // 0xfe when the OK ends a result set under CLIENT_DEPRECATE_EOF
  uint64_t affected_rows = 0;
  uint64_t last_insert_id = 0;
  uint16_t status_flags = 0;
  uint16_t warnings = 0;
  std::string_view info;
};
// OK packet. With CLIENT_SESSION_TRACK in `capabilities` info is string<lenenc>, else string<EOF>.
size_t EncodeOkPacket(uint8_t sequence_id, const OkFields& ok, uint32_t capabilities,
                      std::span<std::byte> out);

// EOF packet (0xfe, warnings, status): for clients without CLIENT_DEPRECATE_EOF.
size_t EncodeEofPacket(uint8_t sequence_id, uint16_t warnings, uint16_t status_flags,
                       std::span<std::byte> out);

// What the gateway advertises in its greeting.
struct HandshakeV10Fields {
  std::string_view server_version;
  uint32_t connection_id = 0;
  std::string_view auth_plugin_data;  // the 20-byte scramble (nonce)
  uint32_t capabilities = 0;          // CLIENT_PROTOCOL_41 and CLIENT_PLUGIN_AUTH are forced on
  uint32_t mariadb_capabilities = 0;  // written to the filler only if CLIENT_LONG_PASSWORD is clear
  uint8_t charset = 45;               // utf8mb4_general_ci
  uint16_t status_flags = 2;          // SERVER_STATUS_AUTOCOMMIT
  std::string_view auth_plugin_name = "caching_sha2_password";
};
// HandshakeV10, sequence id 0. The scramble must be 20 bytes; part 2 gets its trailing NUL.
size_t EncodeHandshakeV10(const HandshakeV10Fields& fields, std::span<std::byte> out);

// AuthSwitchRequest: 0xfe, plugin name NUL, plugin data as given (servers send scramble + NUL).
size_t EncodeAuthSwitchRequest(uint8_t sequence_id, std::string_view plugin_name,
                               std::string_view plugin_data, std::span<std::byte> out);

// AuthMoreData: 0x01 + data.
size_t EncodeAuthMoreData(uint8_t sequence_id, std::string_view data, std::span<std::byte> out);
// AuthMoreData 0x04: caching_sha2_password "perform full authentication".
size_t EncodePerformFullAuth(uint8_t sequence_id, std::span<std::byte> out);

// --- Row rewriter (masking). Payload in, payload out (no packet header: write one with
// EncodePacketHeader in front). Each returns the new payload size, or 0 when the row is
// malformed, column_index is out of range, the replacement does not fit the type, or `out` is
// too small. `out` must not overlap `payload`.

// The new content of one column: NULL, or `value`. In text rows value is the text; in binary
// rows it is the value's body for string-like types (the rewriter adds the lenenc prefix) and
// the exact encoding for fixed-width and temporal types (e.g. 8 bytes for LONGLONG).
struct Replacement {
  bool is_null = false;
  std::string_view value;
};

size_t RewriteTextRow(Bytes payload, size_t column_count, size_t column_index,
                      const Replacement& replacement, std::span<std::byte> out);
size_t RewriteBinaryRow(Bytes payload, std::span<const uint8_t> types, size_t column_index,
                        const Replacement& replacement, std::span<std::byte> out);

// Same-length masking in place: overwrites the value bytes of column_index with `fill` (a NULL
// stays NULL). Binary rows: string-like types only. Returns false (payload untouched) when the
// row is malformed, the index is out of range or the type is not string-like.
bool MaskTextFieldInPlace(std::span<std::byte> payload, size_t column_count, size_t column_index,
                          char fill);
bool MaskBinaryFieldInPlace(std::span<std::byte> payload, std::span<const uint8_t> types,
                            size_t column_index, char fill);

}  // namespace jitgate::parsers::mysql

#endif  // JITGATE_PARSERS_MYSQL_ENCODE_H_
