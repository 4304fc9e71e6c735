// Implementation of src/shard/refusal.h.
#include "src/shard/refusal.h"

#include <cstdio>

#include "jitgate/parsers/mysql/encode.h"
#include "jitgate/parsers/pg/encode.h"

namespace jitgate::shard {

const char* CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kNone:
      return "none";
    case CloseReason::kClientEof:
      return "client_eof";
    case CloseReason::kBackendEof:
      return "backend_eof";
    case CloseReason::kClientReset:
      return "client_reset";
    case CloseReason::kBackendReset:
      return "backend_reset";
    case CloseReason::kIdleTimeout:
      return "idle_timeout";
    case CloseReason::kBackendConnectFailed:
      return "backend_connect_failed";
    case CloseReason::kBackendConnectTimeout:
      return "backend_connect_timeout";
    case CloseReason::kSessionsMax:
      return "sessions_per_shard_max";
    case CloseReason::kOutOfFiles:
      return "out_of_files";
    case CloseReason::kShutdown:
      return "shutdown";
    case CloseReason::kGatewayEnded:
      return "gateway_ended";
    case CloseReason::kInternal:
      return "internal";
  }
  return "unknown";
}

size_t EncodeRefusal(config::Protocol protocol, CloseReason reason, std::string_view detail,
                     std::span<std::byte> out) {
  // PostgreSQL SQLSTATEs (Appendix A): 53300 too_many_connections, 08006 connection_failure,
  // 53000 insufficient_resources.
  const char* sqlstate = "08006";
  const char* text = "jitgate: the database is unavailable";
  switch (reason) {
    case CloseReason::kSessionsMax:
      sqlstate = "53300";
      text = "jitgate: too many connections on this gateway shard (limits.sessions_per_shard_max)";
      break;
    case CloseReason::kOutOfFiles:
      sqlstate = "53000";
      text = "jitgate: out of file descriptors, try again later";
      break;
    default:
      break;
  }
  char message[384];
  if (detail.empty()) {
    std::snprintf(message, sizeof(message), "%s", text);
  } else {
    std::snprintf(message, sizeof(message), "%s: %.*s", text, static_cast<int>(detail.size()),
                  detail.data());
  }
  if (protocol == config::Protocol::kPostgres) {
    parsers::pg::ErrorFields fields;
    fields.severity = "FATAL";
    fields.sqlstate = sqlstate;
    fields.message = message;
    return parsers::pg::EncodeErrorResponse(fields, out);
  }
  const uint16_t code = reason == CloseReason::kSessionsMax ? parsers::mysql::kErConCountError
                                                            : parsers::mysql::kErUnknownError;
  return parsers::mysql::EncodeErrPacket(0, code, "", message, out);
}

}  // namespace jitgate::shard
