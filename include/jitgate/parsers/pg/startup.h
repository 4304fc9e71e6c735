// jitgate/parsers/pg/startup.h: the untagged packets a PostgreSQL client sends before the
// tagged protocol starts (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage).
//
// Pure: decodes the 8-byte header (int32 length including itself, int32 code) from caller
// bytes. Spec: PostgreSQL docs 55.2.1 "Start-up", 55.2.10 "SSL Session Encryption",
// 55.7 "Message Formats" (SSLRequest code 80877103, GSSENCRequest 80877104, CancelRequest
// 80877102, StartupMessage protocol 3.0 = 196608, 3.2 = 196610).
#ifndef JITGATE_PARSERS_PG_STARTUP_H_
#define JITGATE_PARSERS_PG_STARTUP_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/pg/frame.h"

namespace jitgate::parsers::pg {

inline constexpr uint32_t kSslRequestCode = 80877103;
inline constexpr uint32_t kGssEncRequestCode = 80877104;
inline constexpr uint32_t kCancelRequestCode = 80877102;
inline constexpr uint32_t kProtocolMajor3 = 3;
// 55.7 StartupMessage: (major << 16) | minor. 3.1 is reserved and never sent (PROTOCOLS.md 3.2).
inline constexpr uint32_t kProtocolVersion30 = 196608;
inline constexpr uint32_t kProtocolVersion32 = 196610;
// 55.7 CancelRequest / BackendKeyData: the 3.0 key is an Int32; 3.2 keys are 4..256 bytes
// (commit e411a8d25a4b; the server sends 32).
inline constexpr size_t kCancelKeySize30 = 4;
inline constexpr size_t kCancelKeySizeMin = 4;
inline constexpr size_t kCancelKeySizeMax = 256;
inline constexpr size_t kStartupHeaderSize = 8;
// The server rejects start-up packets above 10000 bytes (MAX_STARTUP_PACKET_LENGTH).
inline constexpr uint32_t kStartupPacketSizeMax = 10000;

enum class StartupKind : uint8_t {
  kNeedMore,        // fewer than 8 bytes so far
  kSslRequest,      // length 8
  kGssEncRequest,   // length 8
  kCancelRequest,   // length 16 (3.0 keys) or more (3.2 variable-length keys)
  kStartupMessage,  // protocol 3.x, length 8..kStartupPacketSizeMax
  kInvalid,
};

enum class StartupInvalidReason : uint8_t {
  kNone,
  kLengthBelowHeader,    // length < 8
  kLengthAboveMax,       // length > kStartupPacketSizeMax
  kRequestLengthWrong,   // SSLRequest / GSSENCRequest not exactly 8, CancelRequest below 16
  kUnsupportedProtocol,  // a major version other than 3 (2.0 clients are long gone)
};

struct StartupHeader {
  StartupKind kind = StartupKind::kNeedMore;
  StartupInvalidReason invalid_reason = StartupInvalidReason::kNone;
  uint32_t length = 0;  // the whole packet, header included
  uint32_t code = 0;    // request code or protocol version
};

// Decodes the header at the start of `bytes` (only the first 8 bytes are read).
StartupHeader DecodeStartupHeader(std::span<const std::byte> bytes);

// One StartupMessage parameter: (String name, String value), 55.7.
struct StartupParam {
  std::string_view name;
  std::string_view value;
};

// Walks the parameters of a validated StartupMessage (the list ends at the empty name).
class StartupParamIterator {
 public:
  StartupParamIterator() = default;
  explicit StartupParamIterator(std::span<const std::byte> raw) : reader_(raw) {}
  bool Next(StartupParam& out);
  InvalidReason error() const { return reader_.error(); }

 private:
  Reader reader_{{}};
};

// A StartupMessage: version, then parameters (user, database, options, replication,
// application_name, any GUC, _pq_.* extensions).
struct StartupMessage {
  uint32_t protocol_version = 0;          // kProtocolVersion30, kProtocolVersion32, or another 3.x
  std::span<const std::byte> params_raw;  // the (name, value) pairs, without the final NUL
  std::string_view user;                  // always present (validated)
  std::string_view database;              // empty when absent (the server then uses `user`)
  std::string_view options;               // empty when absent

  StartupParamIterator params() const { return StartupParamIterator(params_raw); }
  // The value of parameter `name`, or `fallback` when absent. For a name given twice, the last
  // value, as the server applies it (postmaster.c ProcessStartupPacket).
  std::string_view Find(std::string_view name, std::string_view fallback = {}) const;
};

// Decodes a whole StartupMessage packet (`packet` starts at its length field, as the untagged
// Frame from DecodeFrame(kStartup) describes: pass frame.payload to DecodeStartupPayload).
// Checks: protocol 3.x, every name followed by a value, the final NUL as the last byte, "user"
// present, and user/database/options/replication each at most once (the server would take the
// last one; a gateway that checked the first would be fooled, so duplicates are refused).
InvalidReason DecodeStartupMessage(std::span<const std::byte> packet, StartupMessage& out);
// The same, given the body after the length field (code first).
InvalidReason DecodeStartupPayload(std::span<const std::byte> payload, StartupMessage& out);

// A CancelRequest (55.7): the backend PID and secret key the client got in BackendKeyData.
struct CancelRequest {
  uint32_t process_id = 0;
  std::span<const std::byte> secret_key;  // 4 bytes (3.0) or 4..256 bytes (3.2)
};

// Decodes a whole CancelRequest packet (from its length field). The key length is checked against
// kCancelKeySizeMin..kCancelKeySizeMax; a gateway speaking 3.0 to the client also checks it is 4.
InvalidReason DecodeCancelRequest(std::span<const std::byte> packet, CancelRequest& out);

}  // namespace jitgate::parsers::pg

#endif  // JITGATE_PARSERS_PG_STARTUP_H_
