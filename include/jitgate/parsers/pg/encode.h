// jitgate/parsers/pg/encode.h: encoders for PostgreSQL v3 messages the gateway itself sends.
//
// Pure functions over caller-owned memory: no allocation, no I/O. Each returns the number of
// bytes written, or 0 when `out` is too small (nothing useful is partially written).
// Spec: PostgreSQL docs, "Frontend/Backend Protocol", 55.7 Message Formats and 55.8 Error and
// Notice Message Fields.
#ifndef JITGATE_PARSERS_PG_ENCODE_H_
#define JITGATE_PARSERS_PG_ENCODE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/pg/backend.h"

namespace jitgate::parsers::pg {

inline constexpr char kMsgErrorResponse = 'E';  // 55.7 ErrorResponse
inline constexpr char kFieldSeverity = 'S';     // localized severity
inline constexpr char kFieldSeverityV = 'V';    // non-localized severity (9.6+)
inline constexpr char kFieldCode = 'C';         // SQLSTATE
inline constexpr char kFieldMessage = 'M';
inline constexpr char kFieldDetail = 'D';
inline constexpr char kFieldHint = 'H';

struct ErrorFields {
  std::string_view severity = "ERROR";  // ERROR, FATAL, PANIC (or a notice severity)
  std::string_view sqlstate;            // five characters, e.g. "53300"
  std::string_view message;
  std::string_view detail;  // optional
  std::string_view hint;    // optional
};

// ErrorResponse: 'E', int32 length, then (type byte, cstring) fields and a terminating 0.
// Embedded NUL bytes in field values are not representable; they end the value early.
size_t EncodeErrorResponse(const ErrorFields& fields, std::span<std::byte> out);

// NoticeResponse 'N' (55.7): the same fields as ErrorResponse; severity WARNING, NOTICE, ...
size_t EncodeNoticeResponse(const ErrorFields& fields, std::span<std::byte> out);

// Authentication requests 'R' (55.7, codes in backend.h): Ok, CleartextPassword, MD5Password
// with its 4-byte salt, SASL with its mechanism names (an empty name cannot be sent: returns 0),
// SASLContinue and SASLFinal with their data.
size_t EncodeAuthenticationOk(std::span<std::byte> out);
size_t EncodeAuthenticationCleartextPassword(std::span<std::byte> out);
size_t EncodeAuthenticationMd5Password(std::span<const std::byte, kMd5SaltSize> salt,
                                       std::span<std::byte> out);
size_t EncodeAuthenticationSasl(std::span<const std::string_view> mechanisms,
                                std::span<std::byte> out);
size_t EncodeAuthenticationSaslContinue(std::span<const std::byte> data, std::span<std::byte> out);
size_t EncodeAuthenticationSaslFinal(std::span<const std::byte> data, std::span<std::byte> out);

// ReadyForQuery 'Z' (55.7): status kTxIdle, kTxInBlock or kTxFailed (anything else returns 0).
size_t EncodeReadyForQuery(char status, std::span<std::byte> out);

// ParameterStatus 'S' (55.7): String name, String value (values end at an embedded NUL).
size_t EncodeParameterStatus(std::string_view name, std::string_view value,
                             std::span<std::byte> out);

// BackendKeyData 'K' (55.7): Int32 PID, then the key (4 bytes for 3.0 clients, 4..256 for 3.2;
// other sizes return 0).
size_t EncodeBackendKeyData(uint32_t process_id, std::span<const std::byte> secret_key,
                            std::span<std::byte> out);

// CommandComplete 'C' (55.7): String tag.
size_t EncodeCommandComplete(std::string_view tag, std::span<std::byte> out);

// ---------------------------------------------------------------------------------------------
// DataRow rewriting for masking (55.7 DataRow).

enum class ColumnAction : uint8_t {
  kKeep,     // copy the column as it is
  kNull,     // send NULL (length -1)
  kReplace,  // send `value` instead
};

struct ColumnRewrite {
  ColumnAction action = ColumnAction::kKeep;
  std::span<const std::byte> value;  // kReplace only
};

// The size of the whole rewritten DataRow frame (type byte included), or 0 when `rewrites` does
// not have one entry per column or the result would exceed the Int32 length field.
size_t RewrittenDataRowSize(const DataRow& row, std::span<const ColumnRewrite> rewrites);

// Writes the whole DataRow frame ('D', length, count, columns) for `row` with `rewrites` applied
// into `out`, which must not overlap the row. Returns the bytes written, or 0 (see above, or
// `out` too small).
size_t RewriteDataRow(const DataRow& row, std::span<const ColumnRewrite> rewrites,
                      std::span<std::byte> out);

// Overwrites column `column_index` of a decoded DataRow body `payload` in place with `value`,
// which must have exactly the column's length (a NULL column cannot be overwritten). Returns
// false, changing nothing, otherwise.
bool OverwriteColumnInPlace(std::span<std::byte> payload, size_t column_index,
                            std::span<const std::byte> value);

}  // namespace jitgate::parsers::pg

#endif  // JITGATE_PARSERS_PG_ENCODE_H_
