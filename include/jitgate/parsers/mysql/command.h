// jitgate/parsers/mysql/command.h: client commands of the command phase: the command bytes as
// the spec names them, and typed views of the commands the gateway inspects (COM_QUERY with
// query attributes, COM_STMT_* including EXECUTE parameters, COM_CHANGE_USER, ...).
//
// Decoders take one whole logical payload (command byte first); views point into it. Spec:
// PROTOCOLS.md 4.5; dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase.html,
// page_protocol_com_query.html, page_protocol_com_stmt_execute.html,
// page_protocol_com_change_user.html; include/my_command.h (enum_server_command).
#ifndef JITGATE_PARSERS_MYSQL_COMMAND_H_
#define JITGATE_PARSERS_MYSQL_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/mysql/handshake.h"
#include "jitgate/parsers/mysql/resultset.h"
#include "jitgate/parsers/mysql/wire.h"

namespace jitgate::parsers::mysql {

// enum_server_command, include/my_command.h ("4.5"); 0xfa is MariaDB's.
inline constexpr uint8_t kComSleep = 0x00;
inline constexpr uint8_t kComQuit = 0x01;
inline constexpr uint8_t kComInitDb = 0x02;
inline constexpr uint8_t kComQuery = 0x03;
inline constexpr uint8_t kComFieldList = 0x04;
inline constexpr uint8_t kComCreateDb = 0x05;
inline constexpr uint8_t kComDropDb = 0x06;
inline constexpr uint8_t kComRefresh = 0x07;
inline constexpr uint8_t kComShutdown = 0x08;
inline constexpr uint8_t kComStatistics = 0x09;
inline constexpr uint8_t kComProcessInfo = 0x0a;
inline constexpr uint8_t kComConnect = 0x0b;
inline constexpr uint8_t kComProcessKill = 0x0c;
inline constexpr uint8_t kComDebug = 0x0d;
inline constexpr uint8_t kComPing = 0x0e;
inline constexpr uint8_t kComTime = 0x0f;
inline constexpr uint8_t kComDelayedInsert = 0x10;
inline constexpr uint8_t kComChangeUser = 0x11;
inline constexpr uint8_t kComBinlogDump = 0x12;
inline constexpr uint8_t kComTableDump = 0x13;
inline constexpr uint8_t kComConnectOut = 0x14;
inline constexpr uint8_t kComRegisterSlave = 0x15;
inline constexpr uint8_t kComStmtPrepare = 0x16;
inline constexpr uint8_t kComStmtExecute = 0x17;
inline constexpr uint8_t kComStmtSendLongData = 0x18;
inline constexpr uint8_t kComStmtClose = 0x19;
inline constexpr uint8_t kComStmtReset = 0x1a;
inline constexpr uint8_t kComSetOption = 0x1b;
inline constexpr uint8_t kComStmtFetch = 0x1c;
inline constexpr uint8_t kComDaemon = 0x1d;
inline constexpr uint8_t kComBinlogDumpGtid = 0x1e;
inline constexpr uint8_t kComResetConnection = 0x1f;
inline constexpr uint8_t kComClone = 0x20;
inline constexpr uint8_t kComStmtBulkExecute = 0xfa;  // MariaDB ("4.5")

// COM_SET_OPTION values ("4.5").
inline constexpr uint16_t kMysqlOptionMultiStatementsOn = 0;
inline constexpr uint16_t kMysqlOptionMultiStatementsOff = 1;
// COM_STMT_EXECUTE flags ("4.5").
inline constexpr uint8_t kCursorTypeNoCursor = 0x00;
inline constexpr uint8_t kCursorTypeReadOnly = 0x01;
inline constexpr uint8_t kCursorTypeForUpdate = 0x02;
inline constexpr uint8_t kCursorTypeScrollable = 0x04;
inline constexpr uint8_t kParameterCountAvailable = 0x08;
// Parameter type int<2>: low byte the kMysqlType*, high bit of the high byte "unsigned".
inline constexpr uint16_t kParamFlagUnsigned = 0x8000;

// The spec name of a command byte ("COM_QUERY"), or empty for bytes no server knows.
std::string_view CommandName(uint8_t command);

// Parameter values in the binary protocol: a NULL bitmap (offset 0), types and values. Used by
// COM_STMT_EXECUTE and by COM_QUERY query attributes.
struct BinaryParams {
  size_t count = 0;
  Bytes null_bitmap;
  uint8_t new_params_bind_flag = 0;
  // When the flag is 1: int<2> per parameter, each followed by a string<lenenc> name when
  // types_with_names (query attributes). Empty when the flag is 0.
  Bytes types;
  bool types_with_names = false;
  Bytes values;  // the concatenated non-NULL values
};

// Iterates parameter values with the types from the packet or, when the packet did not rebind
// (flag 0), from `remembered_types`: int<2> per parameter, no names, as an earlier execute of the
// statement sent them. Field.value is as in BinaryRowCursor; type() is the current field's.
class ParamCursor {
 public:
  ParamCursor(const BinaryParams& params, Bytes remembered_types);
  bool Next(Field& field);
  uint16_t type() const { return type_; }
  std::string_view name() const { return name_; }
  DecodeStatus status() const;
  InvalidReason reason() const { return values_.reason(); }

 private:
  Reader values_;
  Reader types_;
  Bytes values_bytes_;
  Bytes null_bitmap_;
  bool with_names_;
  size_t count_;
  size_t index_ = 0;
  uint16_t type_ = 0;
  std::string_view name_;
};

struct ComQuery {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  std::string_view query;  // the SQL text (not at offset 1 with query attributes)
  bool has_attributes = false;
  BinaryParams attributes;  // CLIENT_QUERY_ATTRIBUTES
};
ComQuery DecodeComQuery(Bytes payload, uint32_t capabilities);

// COM_INIT_DB / COM_CREATE_DB / COM_DROP_DB: schema name (string<EOF>).
struct ComSchema {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint8_t command = 0;
  std::string_view schema;
};
ComSchema DecodeComInitDb(Bytes payload);

struct ComFieldList {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  std::string_view table;     // string<NUL>
  std::string_view wildcard;  // string<EOF>
};
ComFieldList DecodeComFieldList(Bytes payload);

struct ComChangeUser {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  std::string_view username;
  std::string_view auth_response;
  std::string_view database;
  uint16_t charset = 0;
  std::string_view auth_plugin_name;
  ConnectAttrs connect_attrs;
};
ComChangeUser DecodeComChangeUser(Bytes payload, uint32_t capabilities);

// COM_STMT_PREPARE: the SQL text.
struct ComStmtPrepare {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  std::string_view query;
};
ComStmtPrepare DecodeComStmtPrepare(Bytes payload);

// COM_STMT_EXECUTE. `param_count` is the statement's (from its COM_STMT_PREPARE_OK); with
// PARAMETER_COUNT_AVAILABLE (query attributes) the packet states its own count.
struct ComStmtExecute {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint32_t statement_id = 0;
  uint8_t flags = 0;
  uint32_t iteration_count = 0;
  BinaryParams params;
};
ComStmtExecute DecodeComStmtExecute(Bytes payload, uint32_t capabilities, size_t param_count);
// Statement id of a COM_STMT_EXECUTE (to look its param_count up first); false when too short.
bool PeekStatementId(Bytes payload, uint32_t& statement_id);

// COM_STMT_SEND_LONG_DATA: statement id, parameter index, data (no response).
struct ComStmtSendLongData {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint32_t statement_id = 0;
  uint16_t param_id = 0;
  std::string_view data;
};
ComStmtSendLongData DecodeComStmtSendLongData(Bytes payload);

// Commands with fixed arguments: COM_STMT_CLOSE/RESET (id), COM_STMT_FETCH (id, rows),
// COM_SET_OPTION (option), COM_PROCESS_KILL (connection id), and the argument-less ones.
struct ComFixed {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint8_t command = 0;
  uint32_t statement_id = 0;  // STMT_CLOSE, STMT_RESET, STMT_FETCH; connection id for KILL
  uint32_t row_count = 0;     // STMT_FETCH
  uint16_t option = 0;        // SET_OPTION
};
ComFixed DecodeComFixed(Bytes payload);

// COM_BINLOG_DUMP: recognised so it can be refused with a precise audit record.
struct ComBinlogDump {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint32_t binlog_position = 0;
  uint16_t flags = 0;
  uint32_t server_id = 0;
  std::string_view binlog_filename;
};
ComBinlogDump DecodeComBinlogDump(Bytes payload);

// Validates any command with the decoder its byte selects (COM_STMT_EXECUTE with
// `execute_param_count`); commands without a typed view only need their byte. Unknown bytes
// are kInvalid (kWrongHeader).
DecodeStatus ValidateCommand(Bytes payload, uint32_t capabilities, size_t execute_param_count,
                             InvalidReason* reason = nullptr);

}  // namespace jitgate::parsers::mysql

#endif  // JITGATE_PARSERS_MYSQL_COMMAND_H_
