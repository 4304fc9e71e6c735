// Implementation of ringio/result.h.
#include "ringio/result.h"

#include <cerrno>

namespace jitgate::ringio {

IoError ClassifyResult(int32_t res) {
  if (res >= 0) {
    return IoError::kNone;
  }
  switch (-res) {
    case EINTR:
    case EAGAIN:
      return IoError::kRetry;
    case ENOBUFS:
      return IoError::kNoBuffers;
    case ECANCELED:
      return IoError::kCanceled;
    case ETIME:
    case ETIMEDOUT:
      return IoError::kTimedOut;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
    case ENOTCONN:
    case ESHUTDOWN:
      return IoError::kPeerReset;
    case ECONNREFUSED:
      return IoError::kRefused;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
    case EADDRNOTAVAIL:
      return IoError::kUnreachable;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return IoError::kOutOfFiles;
    case EBADF:
    case EFAULT:
    case EINVAL:
    case ENOTSOCK:
    case EOPNOTSUPP:
    case EEXIST:
      return IoError::kBug;
    default:
      return IoError::kOther;
  }
}

const char* IoErrorName(IoError error) {
  switch (error) {
    case IoError::kNone:
      return "none";
    case IoError::kRetry:
      return "retry";
    case IoError::kNoBuffers:
      return "no_buffers";
    case IoError::kCanceled:
      return "canceled";
    case IoError::kTimedOut:
      return "timed_out";
    case IoError::kPeerReset:
      return "peer_reset";
    case IoError::kRefused:
      return "refused";
    case IoError::kUnreachable:
      return "unreachable";
    case IoError::kOutOfFiles:
      return "out_of_files";
    case IoError::kBug:
      return "bug";
    case IoError::kOther:
      return "other";
  }
  return "unknown";
}

const char* ErrnoName(int errno_value) {
  switch (errno_value) {
    case EINTR:
      return "EINTR";
    case EAGAIN:
      return "EAGAIN";
    case ENOBUFS:
      return "ENOBUFS";
    case ECANCELED:
      return "ECANCELED";
    case ETIME:
      return "ETIME";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ECONNRESET:
      return "ECONNRESET";
    case EPIPE:
      return "EPIPE";
    case ECONNABORTED:
      return "ECONNABORTED";
    case ENOTCONN:
      return "ENOTCONN";
    case ESHUTDOWN:
      return "ESHUTDOWN";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ENETUNREACH:
      return "ENETUNREACH";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    case ENETDOWN:
      return "ENETDOWN";
    case EHOSTDOWN:
      return "EHOSTDOWN";
    case EADDRNOTAVAIL:
      return "EADDRNOTAVAIL";
    case EMFILE:
      return "EMFILE";
    case ENFILE:
      return "ENFILE";
    case ENOMEM:
      return "ENOMEM";
    case EBADF:
      return "EBADF";
    case EFAULT:
      return "EFAULT";
    case EINVAL:
      return "EINVAL";
    case ENOTSOCK:
      return "ENOTSOCK";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EEXIST:
      return "EEXIST";
    case EPERM:
      return "EPERM";
    case ENOSYS:
      return "ENOSYS";
    default:
      return "errno";
  }
}

}  // namespace jitgate::ringio
