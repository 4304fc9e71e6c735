// Implementation of jitgate/parsers/mysql/handshake.h: connection-phase decoders.
#include "jitgate/parsers/mysql/handshake.h"

namespace jitgate::parsers::mysql {
namespace {

// MariaDB's extended capabilities sit in the last 4 filler bytes when CLIENT_LONG_PASSWORD
// (CLIENT_MYSQL) is clear ("4.8").
uint32_t MariaDbCapabilities(uint32_t capabilities, std::string_view filler) {
  if ((capabilities & kClientLongPassword) != 0 || filler.size() < 4) {
    return 0;
  }
  Reader tail(AsBytes(filler.substr(filler.size() - 4)));
  return tail.Int4();
}

}  // namespace

HandshakeV10 DecodeHandshakeV10(Bytes payload) {
  HandshakeV10 out;
  Reader r(payload);
  if (r.AtEnd()) {
    return RejectDecode(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kProtocolVersion10) {
    return RejectDecode(out, InvalidReason::kUnsupportedProtocol);
  }
  out.server_version = r.NulString();
  out.connection_id = r.Int4();
  out.auth_plugin_data_part1 = r.Fixed(kAuthPluginDataPart1Size);
  if (r.ok() && r.Int1() != 0) {
    return RejectDecode(out, InvalidReason::kMissingNul);
  }
  out.capabilities = r.Int2();
  out.charset = r.Int1();
  out.status_flags = r.Int2();
  out.capabilities |= uint32_t{r.Int2()} << 16;
  out.auth_plugin_data_length = r.Int1();
  const std::string_view filler = r.Fixed(kHandshakeFillerSize);
  if (!r.ok()) {
    return FinishDecode(out, r);
  }
  if ((out.capabilities & kClientProtocol41) == 0) {
    return RejectDecode(out, InvalidReason::kUnsupportedProtocol);
  }
  out.mariadb_capabilities = MariaDbCapabilities(out.capabilities, filler);
  const bool plugin_auth = (out.capabilities & kClientPluginAuth) != 0;
  if (plugin_auth && out.auth_plugin_data_length < kAuthPluginDataPart1Size + 13) {
    return RejectDecode(out, InvalidReason::kBadAuthDataLength);
  }
  if ((out.capabilities & kClientSecureConnection) != 0) {
    size_t part2 = kAuthPluginDataPart2SizeMin;
    if (out.auth_plugin_data_length > kAuthPluginDataPart1Size + kAuthPluginDataPart2SizeMin) {
      part2 = out.auth_plugin_data_length - kAuthPluginDataPart1Size;
    }
    out.auth_plugin_data_part2 = r.Fixed(part2);
  }
  if (plugin_auth && r.ok()) {
    // Servers before 5.5.10 omitted the terminator (MySQL bug #59453): accept string<EOF>.
    const std::string_view rest = r.Rest();
    const size_t nul = rest.find('\0');
    out.auth_plugin_name = rest.substr(0, nul);
    if (nul != std::string_view::npos && nul + 1 != rest.size()) {
      return RejectDecode(out, InvalidReason::kTrailingBytes);
    }
  }
  r.ExpectEnd();
  return FinishDecode(out, r);
}

bool IsSslRequest(Bytes payload) {
  if (payload.size() != kSslRequestSize) {
    return false;
  }
  Reader r(payload);
  return (r.Int4() & kClientSsl) != 0;
}

SslRequest DecodeSslRequest(Bytes payload) {
  SslRequest out;
  Reader r(payload);
  out.capabilities = r.Int4();
  out.max_packet_size = r.Int4();
  out.charset = r.Int1();
  const std::string_view filler = r.Fixed(kResponseFillerSize);
  r.ExpectEnd();
  if (r.ok() && (out.capabilities & kClientSsl) == 0) {
    return RejectDecode(out, InvalidReason::kWrongHeader);
  }
  out.mariadb_capabilities = MariaDbCapabilities(out.capabilities, filler);
  return FinishDecode(out, r);
}

bool ConnectAttrs::Cursor::Next(std::string_view& key, std::string_view& value) {
  if (!reader_.ok() || reader_.AtEnd()) {
    return false;
  }
  key = reader_.LenencString();
  value = reader_.LenencString();
  return reader_.ok();
}

namespace {

// Reads the optional fields after the auth response. A field whose capability is set may still be
// absent at the very end of the packet (servers read them only "if there is more data").
void DecodeResponseTail(Reader& r, HandshakeResponse41& out) {
  if ((out.capabilities & kClientConnectWithDb) != 0 && !r.AtEnd()) {
    out.database = r.NulString();
  }
  if ((out.capabilities & kClientPluginAuth) != 0 && !r.AtEnd()) {
    out.auth_plugin_name = r.NulString();
  }
  if ((out.capabilities & kClientConnectAttrs) != 0 && !r.AtEnd()) {
    const std::string_view block = r.LenencString();
    ConnectAttrs::Cursor cursor(block);
    std::string_view key;
    std::string_view value;
    while (cursor.Next(key, value)) {
    }
    if (!cursor.ok()) {
      r.Fail(cursor.reason());
    }
    out.connect_attrs = ConnectAttrs(block);
  }
  if ((out.capabilities & kClientZstdCompressionAlgorithm) != 0 && !r.AtEnd()) {
    out.zstd_compression_level = r.Int1();
  }
  r.ExpectEnd();
}

}  // namespace

HandshakeResponse41 DecodeHandshakeResponse41(Bytes payload) {
  HandshakeResponse41 out;
  Reader r(payload);
  out.capabilities = r.Int4();
  out.max_packet_size = r.Int4();
  out.charset = r.Int1();
  const std::string_view filler = r.Fixed(kResponseFillerSize);
  if (!r.ok()) {
    return FinishDecode(out, r);
  }
  if ((out.capabilities & kClientProtocol41) == 0) {
    return RejectDecode(out, InvalidReason::kUnsupportedProtocol);
  }
  out.mariadb_capabilities = MariaDbCapabilities(out.capabilities, filler);
  out.username = r.NulString();
  if ((out.capabilities & kClientPluginAuthLenencClientData) != 0) {
    out.auth_response = r.LenencString();
  } else if ((out.capabilities & kClientSecureConnection) != 0) {
    out.auth_response = r.Fixed(r.Int1());
  } else {
    out.auth_response = r.NulString();
  }
  DecodeResponseTail(r, out);
  return FinishDecode(out, r);
}

AuthSwitchRequest DecodeAuthSwitchRequest(Bytes payload) {
  AuthSwitchRequest out;
  Reader r(payload);
  if (r.AtEnd()) {
    return RejectDecode(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kAuthSwitchRequestHeader) {
    return RejectDecode(out, InvalidReason::kWrongHeader);
  }
  if (r.AtEnd()) {
    out.old_method = true;
    return FinishDecode(out, r);
  }
  out.plugin_name = r.NulString();
  out.plugin_data = r.Rest();
  return FinishDecode(out, r);
}

AuthSwitchResponse DecodeAuthSwitchResponse(Bytes payload) {
  AuthSwitchResponse out;
  out.data = std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size());
  return out;
}

AuthMoreData DecodeAuthMoreData(Bytes payload) {
  AuthMoreData out;
  Reader r(payload);
  if (r.AtEnd()) {
    return RejectDecode(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kAuthMoreDataHeader) {
    return RejectDecode(out, InvalidReason::kWrongHeader);
  }
  out.data = r.Rest();
  return FinishDecode(out, r);
}

}  // namespace jitgate::parsers::mysql
