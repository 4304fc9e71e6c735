// jitgate/parsers/pg/backend.h: typed views of the PostgreSQL v3 messages a server sends
// (server -> client, tagged).
//
// Same contract as frontend.h: each Decode* takes a frame body (Direction::kBackend) whose type
// the caller dispatched on, fills views into it, returns kNone or the first problem; a decoded
// message was walked completely, so its iterators succeed. DataRow is the hot path (masking reads
// every column): DecodeDataRow and ValueIterator are inline.
// Spec: PostgreSQL docs 55.7 "Message Formats", 55.8 "Error and Notice Message Fields".
#ifndef JITGATE_PARSERS_PG_BACKEND_H_
#define JITGATE_PARSERS_PG_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/pg/frame.h"

namespace jitgate::parsers::pg {

// 55.7 backend type bytes (CopyData 'd' and CopyDone 'c' are in frontend.h).
inline constexpr char kMsgAuthentication = 'R';
inline constexpr char kMsgBackendKeyData = 'K';
inline constexpr char kMsgBindComplete = '2';
inline constexpr char kMsgCloseComplete = '3';
inline constexpr char kMsgCommandComplete = 'C';
inline constexpr char kMsgCopyInResponse = 'G';
inline constexpr char kMsgCopyOutResponse = 'H';
inline constexpr char kMsgCopyBothResponse = 'W';
inline constexpr char kMsgDataRow = 'D';
inline constexpr char kMsgEmptyQueryResponse = 'I';
inline constexpr char kMsgBackendErrorResponse = 'E';  // == encode.h kMsgErrorResponse
inline constexpr char kMsgFunctionCallResponse = 'V';
inline constexpr char kMsgNegotiateProtocolVersion = 'v';
inline constexpr char kMsgNoData = 'n';
inline constexpr char kMsgNoticeResponse = 'N';
inline constexpr char kMsgNotificationResponse = 'A';
inline constexpr char kMsgParameterDescription = 't';
inline constexpr char kMsgParameterStatus = 'S';
inline constexpr char kMsgParseComplete = '1';
inline constexpr char kMsgPortalSuspended = 's';
inline constexpr char kMsgReadyForQuery = 'Z';
inline constexpr char kMsgRowDescription = 'T';

// 55.7 Authentication* request codes (Int32 after 'R').
inline constexpr uint32_t kAuthOk = 0;
inline constexpr uint32_t kAuthKerberosV5 = 2;  // obsolete, no longer sent
inline constexpr uint32_t kAuthCleartextPassword = 3;
inline constexpr uint32_t kAuthMd5Password = 5;    // + 4-byte salt
inline constexpr uint32_t kAuthScmCredential = 6;  // obsolete (pre-9.1)
inline constexpr uint32_t kAuthGss = 7;
inline constexpr uint32_t kAuthGssContinue = 8;  // + GSSAPI/SSPI data
inline constexpr uint32_t kAuthSspi = 9;
inline constexpr uint32_t kAuthSasl = 10;          // + mechanism names, "" terminated
inline constexpr uint32_t kAuthSaslContinue = 11;  // + SASL data
inline constexpr uint32_t kAuthSaslFinal = 12;     // + SASL outcome data
inline constexpr size_t kMd5SaltSize = 4;

// 55.7 ReadyForQuery transaction status.
inline constexpr char kTxIdle = 'I';
inline constexpr char kTxInBlock = 'T';
inline constexpr char kTxFailed = 'E';

// Authentication 'R': Int32 code, then code-specific data.
struct Authentication {
  uint32_t code = 0;
  // kAuthMd5Password: the salt; kAuthGssContinue, kAuthSaslContinue, kAuthSaslFinal: the data.
  std::span<const std::byte> data;
  // kAuthSasl: the mechanism names (without the final empty one).
  uint32_t mechanism_count = 0;
  std::span<const std::byte> mechanisms_raw;
  StringIterator mechanisms() const { return StringIterator(mechanisms_raw, mechanism_count); }
};
InvalidReason DecodeAuthentication(std::span<const std::byte> payload, Authentication& out);

// BackendKeyData 'K': Int32 process ID, secret key (exactly 4 bytes in protocol 3.0, 4..256 in
// 3.2). `protocol_version` is the StartupMessage's (startup.h kProtocolVersion30/32).
struct BackendKeyData {
  uint32_t process_id = 0;
  std::span<const std::byte> secret_key;
};
InvalidReason DecodeBackendKeyData(std::span<const std::byte> payload, uint32_t protocol_version,
                                   BackendKeyData& out);

// ParameterStatus 'S': String name, String value.
struct ParameterStatus {
  std::string_view name;
  std::string_view value;
};
InvalidReason DecodeParameterStatus(std::span<const std::byte> payload, ParameterStatus& out);

// ReadyForQuery 'Z': Byte1 status (kTxIdle, kTxInBlock, kTxFailed).
struct ReadyForQuery {
  char status = kTxIdle;
};
InvalidReason DecodeReadyForQuery(std::span<const std::byte> payload, ReadyForQuery& out);

// One RowDescription field (55.7): table OID and attribute number are 0 when the column is not a
// plain table column.
struct FieldDescription {
  std::string_view name;
  uint32_t table_oid = 0;
  int16_t column_attnum = 0;
  uint32_t type_oid = 0;
  int16_t type_size = 0;  // pg_type.typlen; negative = variable width
  int32_t type_modifier = 0;
  int16_t format = 0;  // 0 text, 1 binary
};

// Walks the fields of a RowDescription.
class FieldIterator {
 public:
  FieldIterator() = default;
  FieldIterator(std::span<const std::byte> raw, uint16_t count) : reader_(raw), count_(count) {}
  bool Next(FieldDescription& out);
  InvalidReason error() const { return reader_.error(); }
  size_t offset() const { return reader_.offset(); }  // bytes of `raw` consumed so far

 private:
  Reader reader_{{}};
  uint16_t count_ = 0;
  uint16_t index_ = 0;
};

// RowDescription 'T': Int16 field count, then per field String name, Int32 table OID, Int16
// attnum, Int32 type OID, Int16 typlen, Int32 typmod, Int16 format.
struct RowDescription {
  uint16_t field_count = 0;
  std::span<const std::byte> fields_raw;
  FieldIterator fields() const { return FieldIterator(fields_raw, field_count); }
};
InvalidReason DecodeRowDescription(std::span<const std::byte> payload, RowDescription& out);

// DataRow 'D': Int16 column count, then per column Int32 length (-1 = NULL) and the bytes.
struct DataRow {
  uint16_t column_count = 0;
  std::span<const std::byte> columns_raw;
  ValueIterator columns() const { return ValueIterator(columns_raw, column_count); }
};
inline InvalidReason DecodeDataRow(std::span<const std::byte> payload, DataRow& out) {
  if (payload.size() < 2) {
    return InvalidReason::kTruncated;
  }
  const int16_t count = static_cast<int16_t>(internal::LoadUint16(payload.data()));
  if (count < 0) {
    return InvalidReason::kNegativeCount;
  }
  out.column_count = static_cast<uint16_t>(count);
  out.columns_raw = payload.subspan(2);
  ValueIterator it = out.columns();
  Value value;
  while (it.Next(value)) {
  }
  if (it.error() != InvalidReason::kNone) {
    return it.error();
  }
  return it.offset() == out.columns_raw.size() ? InvalidReason::kNone
                                               : InvalidReason::kTrailingBytes;
}

// CommandComplete 'C': String tag ("SELECT 5", "INSERT 0 1", "CREATE TABLE", ...; 55.7).
struct CommandComplete {
  std::string_view tag;
};
InvalidReason DecodeCommandComplete(std::span<const std::byte> payload, CommandComplete& out);

// One ErrorResponse/NoticeResponse field (55.8): a code byte (kFieldSeverity, ...) and a String.
struct NoticeField {
  char code = 0;
  std::string_view value;
};

// Walks the fields of an ErrorResponse or NoticeResponse (stops at the terminating zero).
class NoticeFieldIterator {
 public:
  NoticeFieldIterator() = default;
  explicit NoticeFieldIterator(std::span<const std::byte> raw) : reader_(raw) {}
  bool Next(NoticeField& out);
  InvalidReason error() const { return reader_.error(); }

 private:
  Reader reader_{{}};
};

// ErrorResponse 'E' / NoticeResponse 'N': (Byte1 code, String value)*, then a zero byte.
// Unknown codes are kept (clients must ignore them, 55.8).
struct NoticeMessage {
  std::span<const std::byte> fields_raw;  // without the terminating zero
  NoticeFieldIterator fields() const { return NoticeFieldIterator(fields_raw); }
  // The value of field `code` (the first one), or `fallback`.
  std::string_view Find(char code, std::string_view fallback = {}) const;
};
using ErrorResponse = NoticeMessage;
using NoticeResponse = NoticeMessage;
InvalidReason DecodeErrorResponse(std::span<const std::byte> payload, ErrorResponse& out);
InvalidReason DecodeNoticeResponse(std::span<const std::byte> payload, NoticeResponse& out);

// ParameterDescription 't': Int16 count, Int32[count] parameter type OIDs.
struct ParameterDescription {
  uint16_t param_count = 0;
  std::span<const std::byte> type_oids_raw;
  uint32_t TypeOid(size_t index) const {
    return internal::LoadUint32(type_oids_raw.data() + 4 * index);
  }
};
InvalidReason DecodeParameterDescription(std::span<const std::byte> payload,
                                         ParameterDescription& out);

// CopyInResponse 'G' / CopyOutResponse 'H' / CopyBothResponse 'W': Int8 overall format (0 text,
// 1 binary), Int16 column count, Int16[count] column formats (all 0 when the overall is text).
struct CopyResponse {
  uint8_t overall_format = 0;
  uint16_t column_count = 0;
  std::span<const std::byte> column_formats_raw;
  int16_t ColumnFormat(size_t index) const {
    return static_cast<int16_t>(internal::LoadUint16(column_formats_raw.data() + 2 * index));
  }
};
InvalidReason DecodeCopyResponse(std::span<const std::byte> payload, CopyResponse& out);

// NotificationResponse 'A': Int32 notifying backend PID, String channel, String payload.
struct NotificationResponse {
  uint32_t process_id = 0;
  std::string_view channel;
  std::string_view payload;
};
InvalidReason DecodeNotificationResponse(std::span<const std::byte> payload,
                                         NotificationResponse& out);

// NegotiateProtocolVersion 'v': Int32 newest minor version supported, Int32 count of
// unrecognized options, String[count] option names.
struct NegotiateProtocolVersion {
  uint32_t newest_minor_version = 0;
  uint32_t option_count = 0;
  std::span<const std::byte> options_raw;
  StringIterator options() const { return StringIterator(options_raw, option_count); }
};
InvalidReason DecodeNegotiateProtocolVersion(std::span<const std::byte> payload,
                                             NegotiateProtocolVersion& out);

// FunctionCallResponse 'V': Int32 length (-1 = NULL), the result bytes.
struct FunctionCallResponse {
  Value result;
};
InvalidReason DecodeFunctionCallResponse(std::span<const std::byte> payload,
                                         FunctionCallResponse& out);

// Runs the decoder that fits backend type byte `type` (BackendKeyData as protocol 3.2, which
// accepts every 3.0 key too). For walkers and fuzzers; kUnknownType for other bytes.
InvalidReason DecodeBackendMessage(char type, std::span<const std::byte> payload);

}  // namespace jitgate::parsers::pg

#endif  // JITGATE_PARSERS_PG_BACKEND_H_
