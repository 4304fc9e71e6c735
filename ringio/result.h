// ringio/result.h: the one place a completion's negative `res` (an errno) becomes a decision.
//
// Callers switch over IoError, never over raw errno values, so every errno the kernel can return
// for a socket operation is mapped here exactly once (STYLE.md, "Errors", tier 2).
#ifndef JITGATE_RINGIO_RESULT_H_
#define JITGATE_RINGIO_RESULT_H_

#include <cstdint>

namespace jitgate::ringio {

enum class IoError : uint8_t {
  kNone,         // res >= 0
  kRetry,        // EINTR, EAGAIN: submit the same operation again
  kNoBuffers,    // ENOBUFS: the provided-buffer ring ran dry; re-arm once buffers return
  kCanceled,     // ECANCELED: we asked for it (teardown, backpressure pause, linked timeout)
  kTimedOut,     // ETIME (a timeout op fired), ETIMEDOUT (TCP gave up)
  kPeerReset,    // ECONNRESET, EPIPE, ECONNABORTED, ENOTCONN, ESHUTDOWN: the peer is gone
  kRefused,      // ECONNREFUSED: nothing listens at the backend address
  kUnreachable,  // ENETUNREACH, EHOSTUNREACH, ENETDOWN, EHOSTDOWN, EADDRNOTAVAIL
  kOutOfFiles,   // EMFILE, ENFILE, ENOMEM: a process or system limit; back off and retry later
  kBug,          // EBADF, EFAULT, EINVAL, ENOTSOCK, EOPNOTSUPP, EEXIST: our misuse of the ring
  kOther,        // anything else; treated like a reset and logged with its errno
};

// Maps a completion result. `res` >= 0 is kNone.
IoError ClassifyResult(int32_t res);

// Short stable name for logs and counters ("peer_reset", "refused", ...).
const char* IoErrorName(IoError error);

// The errno's symbolic name ("ECONNREFUSED"), or "errno N" for ones we do not list.
const char* ErrnoName(int errno_value);

}  // namespace jitgate::ringio

#endif  // JITGATE_RINGIO_RESULT_H_
