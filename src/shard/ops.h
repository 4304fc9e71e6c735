// src/shard/ops.h: the op codes a shard puts in its ring tags (ringio/tag.h), and the close
// reasons of a session. One list, so the dispatch switch and the logs agree.
#ifndef JITGATE_SRC_SHARD_OPS_H_
#define JITGATE_SRC_SHARD_OPS_H_

#include <cstdint>

namespace jitgate::shard {

enum Op : uint8_t {
  kOpAccept = 1,      // slot = listener index; multishot
  kOpWake,            // eventfd read: control messages from the main thread
  kOpTick,            // periodic timer: idle timeouts, refusal deadlines, shutdown grace
  kOpConnect,         // backend connect(2); slot = session
  kOpConnectTimeout,  // the link timeout bounding kOpConnect
  kOpRecv,            // side = Side; multishot recv into the shard's buffer group
  kOpSend,            // side = Side; one send in flight per direction
  kOpShutdown,        // side = Side; shutdown(SHUT_WR) of the direction's destination
  kOpCancel,          // a cancel request we submitted (backpressure pause or teardown)
  kOpRefuseSend,      // side 0: the protocol error sent to a refused client; side 1: the 'N'
                      // answering a refused PostgreSQL client's SSLRequest / GSSENCRequest
  kOpWatch,           // side = Side; poll for error/hang-up on a paused direction's source
  kOpListenerCancel,  // canceling a listener's multishot accept at shutdown
};

// A session relays two directions. kUp: client -> backend. kDown: backend -> client.
enum Side : uint8_t { kUp = 0, kDown = 1 };

enum class CloseReason : uint8_t {
  kNone,
  kClientEof,    // the client closed first, both directions drained
  kBackendEof,   // the backend closed first, both directions drained
  kClientReset,  // recv/send on the client socket failed (reset, broken pipe)
  kBackendReset,
  kIdleTimeout,            // no bytes either way for limits.idle_timeout_s
  kBackendConnectFailed,   // refused or unreachable; the client got a protocol error
  kBackendConnectTimeout,  // limits.connect_timeout_ms passed; the client got a protocol error
  kSessionsMax,            // limits.sessions_per_shard_max reached; the client got an error
  kOutOfFiles,             // EMFILE/ENFILE creating the backend socket
  kShutdown,               // the gateway is stopping and the grace period ended
  kGatewayEnded,           // a gateway session ended by its own decision (refusal, grant end,
                           // cancel request, protocol error): event=gateway_end says why
  kInternal,               // a bug or an impossible kernel result; logged as an error
};

const char* CloseReasonName(CloseReason reason);

}  // namespace jitgate::shard

#endif  // JITGATE_SRC_SHARD_OPS_H_
