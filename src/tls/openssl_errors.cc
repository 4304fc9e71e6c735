// src/tls/openssl_errors.cc: error-queue text for src/tls (see openssl_errors.h).
#include "src/tls/openssl_errors.h"

#include <openssl/err.h>

#include <string>

namespace jitgate::tls::internal {

std::string DrainErrors(const char* fallback) {
  // Why 8: OpenSSL pushes one entry per layer it unwinds (usually 1-3); more is noise.
  constexpr int kEntryCountMax = 8;
  std::string text;
  int entry_count = 0;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    if (entry_count == kEntryCountMax) {
      continue;  // Keep popping so the queue ends empty.
    }
    ++entry_count;
    const char* reason = ERR_reason_error_string(code);
    char buffer[256];
    if (reason == nullptr) {
      ERR_error_string_n(code, buffer, sizeof(buffer));
      reason = buffer;
    }
    if (!text.empty()) {
      text += "; ";
    }
    text += reason;
  }
  if (text.empty()) {
    text = fallback;
  }
  return text;
}

}  // namespace jitgate::tls::internal
