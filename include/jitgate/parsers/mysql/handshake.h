// jitgate/parsers/mysql/handshake.h: typed views of the connection-phase packets: HandshakeV10,
// SSLRequest, HandshakeResponse41 (with connect attributes), AuthSwitchRequest/Response and
// AuthMoreData (caching_sha2_password).
//
// Each decoder takes one whole logical payload (see packet.h) and returns views into it; nothing
// is copied or allocated. Spec: PROTOCOLS.md 4.2-4.4 and 4.8; dev.mysql.com/doc/dev/mysql-server/
// latest/page_protocol_connection_phase_packets_protocol_handshake_v10.html, ..._handshake_
// response.html, ..._auth_switch_request.html, page_caching_sha2_authentication_exchanges.html.
#ifndef JITGATE_PARSERS_MYSQL_HANDSHAKE_H_
#define JITGATE_PARSERS_MYSQL_HANDSHAKE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jitgate/parsers/mysql/wire.h"

namespace jitgate::parsers::mysql {

inline constexpr uint8_t kProtocolVersion10 = 0x0a;  // HandshakeV10 first byte ("4.2")
inline constexpr size_t kAuthPluginDataPart1Size = 8;
inline constexpr size_t kAuthPluginDataPart2SizeMin = 13;  // max(13, length - 8) ("4.2")
inline constexpr size_t kHandshakeFillerSize = 10;         // reserved; MariaDB caps at [6, 10)
inline constexpr size_t kResponseFillerSize = 23;          // HandshakeResponse41 / SSLRequest
inline constexpr size_t kSslRequestSize = 32;              // 4 + 4 + 1 + 23 ("4.2")
inline constexpr uint8_t kAuthSwitchRequestHeader = 0xfe;  // ("4.4")
inline constexpr uint8_t kAuthMoreDataHeader = 0x01;       // ("4.4")
// caching_sha2_password AuthMoreData bodies and the client's public-key request ("4.4").
inline constexpr uint8_t kCachingSha2RequestPublicKey = 0x02;
inline constexpr uint8_t kCachingSha2FastAuthSuccess = 0x03;
inline constexpr uint8_t kCachingSha2PerformFullAuth = 0x04;
inline constexpr std::string_view kCachingSha2Password = "caching_sha2_password";
inline constexpr std::string_view kMysqlNativePassword = "mysql_native_password";
inline constexpr std::string_view kMysqlClearPassword = "mysql_clear_password";

// Protocol::HandshakeV10, server to client, sequence 0.
struct HandshakeV10 {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  std::string_view server_version;  // "5.5.5-10.11.6-MariaDB" etc.
  uint32_t connection_id = 0;
  std::string_view auth_plugin_data_part1;  // 8 bytes
  std::string_view auth_plugin_data_part2;  // max(13, length - 8) bytes, usually NUL-terminated
  uint32_t capabilities = 0;                // lower | upper << 16
  // MariaDB extended capabilities (filler bytes 6..9) when CLIENT_LONG_PASSWORD is clear.
  uint32_t mariadb_capabilities = 0;
  uint8_t charset = 0;
  uint16_t status_flags = 0;
  uint8_t auth_plugin_data_length = 0;
  std::string_view auth_plugin_name;  // empty without CLIENT_PLUGIN_AUTH
};
HandshakeV10 DecodeHandshakeV10(Bytes payload);

// SSLRequest: the 32-byte truncated response a client sends before TLS.
struct SslRequest {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint32_t capabilities = 0;
  uint32_t max_packet_size = 0;
  uint8_t charset = 0;
  uint32_t mariadb_capabilities = 0;  // filler bytes 19..22 (MariaDB)
};
// True when `payload` is a client's first packet of exactly 32 bytes with CLIENT_SSL set.
bool IsSslRequest(Bytes payload);
SslRequest DecodeSslRequest(Bytes payload);

// Iterates the CLIENT_CONNECT_ATTRS key/value pairs (each string<lenenc>). The decoder has
// validated the block; Next() still checks bounds and stops (returns false) on any defect.
class ConnectAttrs {
 public:
  ConnectAttrs() = default;
  explicit ConnectAttrs(std::string_view block) : block_(block) {}
  std::string_view block() const { return block_; }
  bool empty() const { return block_.empty(); }
  class Cursor {
   public:
    explicit Cursor(std::string_view block) : reader_(AsBytes(block)) {}
    bool Next(std::string_view& key, std::string_view& value);
    bool ok() const { return reader_.ok(); }
    InvalidReason reason() const { return reader_.reason(); }

   private:
    Reader reader_;
  };
  Cursor cursor() const { return Cursor(block_); }

 private:
  std::string_view block_;
};

// Protocol::HandshakeResponse41, client to server. Which optional fields exist depends on the
// client's capability flags, which the packet itself carries.
struct HandshakeResponse41 {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint32_t capabilities = 0;
  uint32_t max_packet_size = 0;
  uint8_t charset = 0;
  uint32_t mariadb_capabilities = 0;  // filler bytes 19..22 when CLIENT_LONG_PASSWORD is clear
  std::string_view username;
  std::string_view auth_response;      // lenenc, 1-byte length or NUL-terminated, by capabilities
  std::string_view database;           // CLIENT_CONNECT_WITH_DB
  std::string_view auth_plugin_name;   // CLIENT_PLUGIN_AUTH
  ConnectAttrs connect_attrs;          // CLIENT_CONNECT_ATTRS
  uint8_t zstd_compression_level = 0;  // CLIENT_ZSTD_COMPRESSION_ALGORITHM
};
HandshakeResponse41 DecodeHandshakeResponse41(Bytes payload);

// AuthSwitchRequest: 0xfe, plugin name NUL, plugin data (string<EOF>). A lone 0xfe is the old
// (pre-4.1 password) switch request: old_method is set and both views are empty.
struct AuthSwitchRequest {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  bool old_method = false;
  std::string_view plugin_name;
  std::string_view plugin_data;
};
AuthSwitchRequest DecodeAuthSwitchRequest(Bytes payload);

// AuthSwitchResponse (and every other client auth-data packet): the raw bytes.
struct AuthSwitchResponse {
  DecodeStatus status = DecodeStatus::kOk;
  InvalidReason reason = InvalidReason::kNone;
  std::string_view data;
};
AuthSwitchResponse DecodeAuthSwitchResponse(Bytes payload);

// AuthMoreData: 0x01 + data. For caching_sha2_password a one-byte body is fast-auth success
// (0x03) or perform-full-auth (0x04); otherwise data carries e.g. a PEM public key.
struct AuthMoreData {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  std::string_view data;
  bool fast_auth_success() const {
    return data.size() == 1 && static_cast<uint8_t>(data[0]) == kCachingSha2FastAuthSuccess;
  }
  bool perform_full_auth() const {
    return data.size() == 1 && static_cast<uint8_t>(data[0]) == kCachingSha2PerformFullAuth;
  }
};
AuthMoreData DecodeAuthMoreData(Bytes payload);

}  // namespace jitgate::parsers::mysql

#endif  // JITGATE_PARSERS_MYSQL_HANDSHAKE_H_
