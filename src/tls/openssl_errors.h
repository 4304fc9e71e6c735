// src/tls/openssl_errors.h: keeps OpenSSL's per-thread error queue clean around our calls.
//
// Private to src/tls. OpenSSL reports failures by pushing entries on a thread-local queue; an entry
// left behind is later blamed on an unrelated call (SSL_get_error reads the queue). Every entry
// point of Context and Stream opens an ErrorQueueGuard (clears on entry and on exit) and, on
// failure, turns the queue into text with DrainErrors() before the guard clears it.
#ifndef JITGATE_SRC_TLS_OPENSSL_ERRORS_H_
#define JITGATE_SRC_TLS_OPENSSL_ERRORS_H_

#include <openssl/err.h>

#include <string>

namespace jitgate::tls::internal {

// Clears the calling thread's OpenSSL error queue on construction and destruction.
class ErrorQueueGuard {
 public:
  ErrorQueueGuard() { ERR_clear_error(); }
  ~ErrorQueueGuard() { ERR_clear_error(); }
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};

// Pops every queued error and returns their reason strings, oldest first, joined by "; "
// (e.g. "key values mismatch"). Returns `fallback` when the queue was empty. At most 8 entries
// are kept so a flood of errors cannot grow the text without bound.
std::string DrainErrors(const char* fallback);

}  // namespace jitgate::tls::internal

#endif  // JITGATE_SRC_TLS_OPENSSL_ERRORS_H_
