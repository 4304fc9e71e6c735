// src/auth/https_fetch.h: one HTTPS GET with OpenSSL, for the JWKS of a KeyProvider.
//
// Called on the KeyProvider's control thread only (it blocks on DNS, connect and reads, each
// bounded by a timeout). The server's certificate chain is verified against the system store or a
// given CA file and its name (DNS name or IP address) against the URL's host. HTTP/1.1 with
// Connection: close; the body is framed by Content-Length or chunked encoding, else by the close.
// Nothing here is cached or shared between calls.
#ifndef JITGATE_SRC_AUTH_HTTPS_FETCH_H_
#define JITGATE_SRC_AUTH_HTTPS_FETCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace jitgate::auth {

struct HttpsGetOptions {
  std::string ca_file;  // PEM trust anchors; empty = the system store
  int64_t connect_timeout_ms = 5000;
  int64_t read_timeout_ms = 10000;  // per read; the whole response gets 3 times this
  size_t body_size_max = size_t{1} << 20;
};

// The parts of an https URL. Exposed for tests.
struct HttpsUrl {
  std::string host;  // without brackets for IPv6
  std::string port;  // "443" by default
  std::string path;  // starts with '/', includes any query
};

// Parses "https://host[:port][/path]". No user info, no fragment, at most 2048 bytes.
absl::StatusOr<HttpsUrl> ParseHttpsUrl(std::string_view url);

// The body of a 200 response to GET `url`, or an error saying which step failed
// (UnavailableError for network/TLS, InvalidArgumentError for a bad URL or response).
absl::StatusOr<std::string> HttpsGet(std::string_view url, const HttpsGetOptions& options);

// Decodes an HTTP/1.1 response held in `response` (status line, headers, body). Returns the body
// when the response is complete; `complete` is false when more bytes are needed (and `at_eof`
// says whether more can come: at EOF a body without framing ends there). Exposed for tests.
absl::StatusOr<std::string> DecodeHttpResponse(std::string_view response, bool at_eof,
                                               size_t body_size_max, bool* complete);

}  // namespace jitgate::auth

#endif  // JITGATE_SRC_AUTH_HTTPS_FETCH_H_
