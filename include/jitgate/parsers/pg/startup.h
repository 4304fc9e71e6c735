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

namespace jitgate::parsers::pg {

inline constexpr uint32_t kSslRequestCode = 80877103;
inline constexpr uint32_t kGssEncRequestCode = 80877104;
inline constexpr uint32_t kCancelRequestCode = 80877102;
inline constexpr uint32_t kProtocolMajor3 = 3;
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

}  // namespace jitgate::parsers::pg

#endif  // JITGATE_PARSERS_PG_STARTUP_H_
