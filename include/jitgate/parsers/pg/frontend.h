// jitgate/parsers/pg/frontend.h: typed views of the PostgreSQL v3 messages a client sends after
// its StartupMessage (client -> server, tagged).
//
// Each Decode* function takes the body of a frame (Frame::payload, after DecodeFrame or
// FrameStager with Direction::kFrontend) whose type byte the caller has dispatched on, fills a
// struct of views into those bytes, and returns InvalidReason::kNone, or the first problem found
// (the struct is then unspecified). A decoded message has been walked completely: no field runs
// past the end, no byte is left over, counts and format codes are sane, so its iterators
// succeed. No allocation; views live as long as the payload bytes.
// Spec: PostgreSQL docs 55.7 "Message Formats" (and 55.2 for the flows they belong to).
#ifndef JITGATE_PARSERS_PG_FRONTEND_H_
#define JITGATE_PARSERS_PG_FRONTEND_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/pg/frame.h"

namespace jitgate::parsers::pg {

// 55.7 frontend type bytes.
inline constexpr char kMsgBind = 'B';
inline constexpr char kMsgClose = 'C';
inline constexpr char kMsgCopyData = 'd';  // both directions
inline constexpr char kMsgCopyDone = 'c';  // both directions
inline constexpr char kMsgCopyFail = 'f';
inline constexpr char kMsgDescribe = 'D';
inline constexpr char kMsgExecute = 'E';
inline constexpr char kMsgFlush = 'H';
inline constexpr char kMsgFunctionCall = 'F';
inline constexpr char kMsgParse = 'P';
// PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse share 'p'; which one it is
// follows from the Authentication request the server sent last (55.2.2).
inline constexpr char kMsgPasswordMessage = 'p';
inline constexpr char kMsgQuery = 'Q';
inline constexpr char kMsgSync = 'S';
inline constexpr char kMsgTerminate = 'X';

// 55.7 Describe / Close: Byte1 'S' (prepared statement) or 'P' (portal).
inline constexpr char kTargetStatement = 'S';
inline constexpr char kTargetPortal = 'P';

// Sync, Flush, Terminate, CopyDone (and the backend's empty messages): no body allowed.
InvalidReason DecodeEmpty(std::span<const std::byte> payload);

// Query 'Q': String query (may hold several statements, 55.2.3).
struct Query {
  std::string_view query;
};
InvalidReason DecodeQuery(std::span<const std::byte> payload, Query& out);

// Parse 'P': String statement name ("" = unnamed), String query, Int16 n, Int32[n] type OIDs.
struct Parse {
  std::string_view statement;
  std::string_view query;
  uint16_t param_type_count = 0;
  std::span<const std::byte> param_types_raw;  // Int32[param_type_count]
  // OID of parameter `index` (< param_type_count); 0 = unspecified.
  uint32_t ParamTypeOid(size_t index) const {
    return internal::LoadUint32(param_types_raw.data() + 4 * index);
  }
};
InvalidReason DecodeParse(std::span<const std::byte> payload, Parse& out);

// Bind 'B': String portal, String statement, Int16 n + Int16[n] parameter formats, Int16 n +
// (Int32 length, bytes)[n] values (length -1 = NULL), Int16 n + Int16[n] result formats.
// Format counts are 0 (all text), 1 (applies to all) or exactly one per parameter.
struct Bind {
  std::string_view portal;
  std::string_view statement;
  uint16_t param_format_count = 0;
  std::span<const std::byte> param_formats_raw;
  uint16_t param_count = 0;
  std::span<const std::byte> params_raw;
  uint16_t result_format_count = 0;
  std::span<const std::byte> result_formats_raw;

  ValueIterator params() const { return ValueIterator(params_raw, param_count); }
  // The format (0 text, 1 binary) of parameter / result column `index`, after the 0/1/n rule.
  int16_t ParamFormat(size_t index) const { return ResolveFormat(param_formats_raw, index); }
  int16_t ResultFormat(size_t index) const { return ResolveFormat(result_formats_raw, index); }
};
InvalidReason DecodeBind(std::span<const std::byte> payload, Bind& out);

// Describe 'D' and Close 'C': Byte1 target ('S' or 'P'), String name.
struct TargetedName {
  char target = 0;  // kTargetStatement or kTargetPortal
  std::string_view name;
};
using Describe = TargetedName;
using Close = TargetedName;
InvalidReason DecodeDescribe(std::span<const std::byte> payload, Describe& out);
InvalidReason DecodeClose(std::span<const std::byte> payload, Close& out);

// Execute 'E': String portal, Int32 maximum rows (0 = no limit; the server treats < 0 alike).
struct Execute {
  std::string_view portal;
  int32_t max_rows = 0;
};
InvalidReason DecodeExecute(std::span<const std::byte> payload, Execute& out);

// CopyData 'd' (either direction): the bytes, whatever they are.
struct CopyData {
  std::span<const std::byte> data;
};
InvalidReason DecodeCopyData(std::span<const std::byte> payload, CopyData& out);

// CopyFail 'f': String error message.
struct CopyFail {
  std::string_view message;
};
InvalidReason DecodeCopyFail(std::span<const std::byte> payload, CopyFail& out);

// FunctionCall 'F': Int32 function OID, Int16 n + Int16[n] argument formats, Int16 n + values,
// Int16 result format.
struct FunctionCall {
  uint32_t function_oid = 0;
  uint16_t arg_format_count = 0;
  std::span<const std::byte> arg_formats_raw;
  uint16_t arg_count = 0;
  std::span<const std::byte> args_raw;
  int16_t result_format = 0;

  ValueIterator args() const { return ValueIterator(args_raw, arg_count); }
  int16_t ArgFormat(size_t index) const { return ResolveFormat(arg_formats_raw, index); }
};
InvalidReason DecodeFunctionCall(std::span<const std::byte> payload, FunctionCall& out);

// PasswordMessage 'p' (after AuthenticationCleartextPassword or MD5Password): String password.
struct PasswordMessage {
  std::string_view password;
};
InvalidReason DecodePasswordMessage(std::span<const std::byte> payload, PasswordMessage& out);

// SASLInitialResponse 'p' (after AuthenticationSASL): String mechanism, Int32 length of the
// initial response (-1 = none), the bytes.
struct SaslInitialResponse {
  std::string_view mechanism;
  bool has_response = false;
  std::span<const std::byte> response;
};
InvalidReason DecodeSaslInitialResponse(std::span<const std::byte> payload,
                                        SaslInitialResponse& out);

// SASLResponse 'p' (after AuthenticationSASLContinue) and GSSResponse 'p' (after
// AuthenticationGSS/GSSContinue/SSPI): the mechanism's bytes.
struct AuthData {
  std::span<const std::byte> data;
};
using SaslResponse = AuthData;
using GssResponse = AuthData;
InvalidReason DecodeSaslResponse(std::span<const std::byte> payload, SaslResponse& out);
InvalidReason DecodeGssResponse(std::span<const std::byte> payload, GssResponse& out);

// Runs the decoder that fits frontend type byte `type` ('p' as PasswordMessage, the other 'p'
// forms need context). For walkers and fuzzers; kUnknownType for other bytes.
InvalidReason DecodeFrontendMessage(char type, std::span<const std::byte> payload);

}  // namespace jitgate::parsers::pg

#endif  // JITGATE_PARSERS_PG_FRONTEND_H_
