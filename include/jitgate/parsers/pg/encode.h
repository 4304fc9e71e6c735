// jitgate/parsers/pg/encode.h: encoders for PostgreSQL v3 messages the gateway itself sends.
//
// Pure functions over caller-owned memory: no allocation, no I/O. Each returns the number of
// bytes written, or 0 when `out` is too small (nothing useful is partially written).
// Spec: PostgreSQL docs, "Frontend/Backend Protocol", 55.7 Message Formats and 55.8 Error and
// Notice Message Fields.
#ifndef JITGATE_PARSERS_PG_ENCODE_H_
#define JITGATE_PARSERS_PG_ENCODE_H_

#include <cstddef>
#include <span>
#include <string_view>

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

}  // namespace jitgate::parsers::pg

#endif  // JITGATE_PARSERS_PG_ENCODE_H_
