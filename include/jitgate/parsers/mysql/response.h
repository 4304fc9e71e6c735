// jitgate/parsers/mysql/response.h: the generic server responses OK, ERR and EOF, in both
// CLIENT_DEPRECATE_EOF modes, and COM_STMT_PREPARE_OK.
//
// Each decoder takes one whole logical payload; views point into it. Spec: PROTOCOLS.md 4.5-4.7;
// dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html,
// page_protocol_basic_err_packet.html, page_protocol_basic_eof_packet.html,
// page_protocol_com_stmt_prepare.html; MariaDB KB "ERR_Packet" (progress reports).
#ifndef JITGATE_PARSERS_MYSQL_RESPONSE_H_
#define JITGATE_PARSERS_MYSQL_RESPONSE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jitgate/parsers/mysql/wire.h"

namespace jitgate::parsers::mysql {

inline constexpr uint8_t kOkHeader = 0x00;           // OK_Packet ("4.6")
inline constexpr uint8_t kEofHeader = 0xfe;          // EOF_Packet, and OK replacing it ("4.6")
inline constexpr uint8_t kLocalInfileHeader = 0xfb;  // LOCAL INFILE request ("4.6")
// ERR header 0xff is kErrHeader in encode.h.
inline constexpr uint8_t kErrMarker = 0xff;
inline constexpr size_t kEofPayloadSizeMax = 8;          // an EOF payload is < 9 bytes ("4.6")
inline constexpr uint16_t kProgressReportCode = 0xffff;  // MariaDB progress, not an error ("4.8")
inline constexpr size_t kSqlStateSize = 5;
inline constexpr size_t kStmtPrepareOkSize = 12;  // 0x00 + 4 + 2 + 2 + 1 + 2 ("4.5")

// OK_Packet (header 0x00, or 0xfe when it replaces EOF under CLIENT_DEPRECATE_EOF).
struct OkPacket {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint8_t header = 0;
  uint64_t affected_rows = 0;
  uint64_t last_insert_id = 0;
  uint16_t status_flags = 0;
  uint16_t warnings = 0;
  std::string_view info;
  std::string_view session_state_changes;  // CLIENT_SESSION_TRACK + SERVER_SESSION_STATE_CHANGED
};
// `capabilities` are the negotiated ones (CLIENT_SESSION_TRACK changes the tail).
OkPacket DecodeOkPacket(Bytes payload, uint32_t capabilities);

// ERR_Packet: 0xff, int<2> code, optional '#' + SQLSTATE, message. MariaDB progress reports
// (code 0xffff) decode with progress set; their body stays in message.
struct ErrPacket {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint16_t error_code = 0;
  std::string_view sql_state;  // 5 characters, or empty without the '#' marker
  std::string_view message;
  bool progress = false;
};
ErrPacket DecodeErrPacket(Bytes payload);

// EOF_Packet (without CLIENT_DEPRECATE_EOF): 0xfe, int<2> warnings, int<2> status.
struct EofPacket {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint16_t warnings = 0;
  uint16_t status_flags = 0;
};
EofPacket DecodeEofPacket(Bytes payload);

// True for an EOF packet: 0xfe header and a payload shorter than 9 bytes.
inline bool IsEofPacket(Bytes payload) {
  return !payload.empty() && static_cast<uint8_t>(payload[0]) == kEofHeader &&
         payload.size() <= kEofPayloadSizeMax;
}
// True for the end of a result set's rows: under CLIENT_DEPRECATE_EOF an OK with 0xfe header
// (a row starting 0xfe needs a 0xffffff-byte packet), otherwise an EOF packet.
inline bool IsResultSetEnd(Bytes payload, uint32_t capabilities) {
  if ((capabilities & kClientDeprecateEof) == 0) {
    return IsEofPacket(payload);
  }
  return !payload.empty() && static_cast<uint8_t>(payload[0]) == kEofHeader &&
         payload.size() < 0xffffff;
}
inline bool IsErrPacket(Bytes payload) {
  return !payload.empty() && static_cast<uint8_t>(payload[0]) == kErrMarker;
}

// COM_STMT_PREPARE_OK: 0x00, statement id, column and parameter counts, warnings; a 13th byte
// (metadata_follows) with CLIENT_OPTIONAL_RESULTSET_METADATA.
struct StmtPrepareOk {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint32_t statement_id = 0;
  uint16_t column_count = 0;
  uint16_t param_count = 0;
  uint16_t warnings = 0;
  uint8_t metadata_follows = 1;
};
StmtPrepareOk DecodeStmtPrepareOk(Bytes payload);

}  // namespace jitgate::parsers::mysql

#endif  // JITGATE_PARSERS_MYSQL_RESPONSE_H_
