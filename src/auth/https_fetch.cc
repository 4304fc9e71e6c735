// src/auth/https_fetch.cc: see https_fetch.h. A blocking socket with SO_RCVTIMEO/SO_SNDTIMEO
// under an OpenSSL client (the connect itself is non-blocking with poll so it has a timeout).
#include "src/auth/https_fetch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "jitgate/status_macros.h"
#include "src/auth/jwt.h"
#include "src/common/unique_fd.h"

namespace jitgate::auth {
namespace {

constexpr size_t kUrlSizeMax = 2048;
// Status line plus headers; a JWKS endpoint sends well under 4 KiB of them.
constexpr size_t kHeaderSizeMax = 16 * 1024;
// Chunk-size lines and trailers on top of the body.
constexpr size_t kFramingSizeMax = 64 * 1024;

absl::string_view Absl(std::string_view v) { return absl::string_view(v.data(), v.size()); }

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

using Fd = ::jitgate::UniqueFd;

// The oldest queued OpenSSL error as text, and the queue cleared.
std::string SslErrorText() {
  char text[256];
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "no OpenSSL error queued";
  }
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Connects a TCP socket to host:port within timeout_ms, trying each address in turn.
absl::StatusOr<int> Connect(const HttpsUrl& url, int64_t timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* addresses = nullptr;
  const int gai = getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &addresses);
  if (gai != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", url.host, ": ", gai_strerror(gai)));
  }
  std::string last_error = "no address";
  int connected = -1;
  for (addrinfo* a = addresses; a != nullptr && connected < 0; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last_error = strerror(errno);
      continue;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      rc = poll(&pfd, 1, static_cast<int>(timeout_ms));
      if (rc == 0) {
        last_error = absl::StrCat("connect timed out after ", timeout_ms, " ms");
        rc = -1;
      } else if (rc > 0) {
        int error = 0;
        socklen_t length = sizeof(error);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        rc = error == 0 ? 0 : -1;
        if (error != 0) {
          last_error = strerror(error);
        }
      } else {
        last_error = strerror(errno);
      }
    } else if (rc != 0) {
      last_error = strerror(errno);
    }
    if (rc == 0) {
      connected = fd;
    } else {
      close(fd);
    }
  }
  freeaddrinfo(addresses);
  if (connected < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", url.host, ":", url.port, ": ", last_error));
  }
  return connected;
}

// Blocking mode with per-call timeouts, so SSL_read/SSL_write never wait longer than timeout_ms.
void SetBlockingWithTimeouts(int fd, int64_t timeout_ms) {
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

absl::StatusOr<std::unique_ptr<SSL_CTX, SslCtxFree>> MakeClientContext(
    const HttpsGetOptions& options) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", SslErrorText()));
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int loaded = options.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                             : SSL_CTX_load_verify_locations(
                                                   ctx.get(), options.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load CA certificates from ",
                     options.ca_file.empty() ? std::string("the system store") : options.ca_file,
                     ": ", SslErrorText()));
  }
  return ctx;
}

// Sets the name the server certificate must carry: an IP address SAN for an address literal,
// else a DNS name (and SNI).
absl::Status SetExpectedName(SSL* ssl, const std::string& host) {
  in6_addr address6;
  in_addr address4;
  const bool is_ip = inet_pton(AF_INET, host.c_str(), &address4) == 1 ||
                     inet_pton(AF_INET6, host.c_str(), &address6) == 1;
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
      return absl::InternalError(absl::StrCat("cannot expect IP ", host, ": ", SslErrorText()));
    }
    return absl::OkStatus();
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || SSL_set1_host(ssl, host.c_str()) != 1) {
    return absl::InternalError(absl::StrCat("cannot expect host ", host, ": ", SslErrorText()));
  }
  return absl::OkStatus();
}

// Position after "\r\n" at or after `from`, or npos.
size_t LineEnd(std::string_view text, size_t from) {
  const size_t crlf = text.find("\r\n", from);
  return crlf == std::string_view::npos ? crlf : crlf + 2;
}

// Decodes a chunked body starting at `body`. Complete is false when more bytes are needed.
absl::StatusOr<std::string> DecodeChunked(std::string_view body, size_t body_size_max,
                                          bool* complete) {
  std::string out;
  size_t at = 0;
  *complete = false;
  while (true) {
    const size_t line_end = LineEnd(body, at);
    if (line_end == std::string_view::npos) {
      if (body.size() - at > 64) {
        return absl::InvalidArgumentError("chunk size line is too long");
      }
      return out;
    }
    std::string_view size_text = body.substr(at, line_end - 2 - at);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
    uint64_t size = 0;
    if (size_text.empty() || size_text.size() > 8) {
      return absl::InvalidArgumentError("bad chunk size line");
    }
    for (const char c : size_text) {
      const int digit = absl::ascii_isdigit(c)   ? c - '0'
                        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                 : -1;
      if (digit < 0) {
        return absl::InvalidArgumentError("bad chunk size line");
      }
      size = size * 16 + static_cast<uint64_t>(digit);
    }
    at = line_end;
    if (size == 0) {
      // Trailers, each ending in CRLF, then an empty line.
      while (true) {
        const size_t trailer_end = LineEnd(body, at);
        if (trailer_end == std::string_view::npos) {
          return out;
        }
        const bool empty = trailer_end == at + 2;
        at = trailer_end;
        if (empty) {
          *complete = true;
          return out;
        }
      }
    }
    if (out.size() + size > body_size_max) {
      return absl::InvalidArgumentError(
          absl::StrCat("response body exceeds ", body_size_max, " bytes"));
    }
    if (body.size() - at < size + 2) {
      return out;
    }
    out.append(body.substr(at, size));
    if (body.substr(at + size, 2) != "\r\n") {
      return absl::InvalidArgumentError("chunk not followed by CRLF");
    }
    at += size + 2;
  }
}

}  // namespace

absl::StatusOr<HttpsUrl> ParseHttpsUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() > kUrlSizeMax) {
    return absl::InvalidArgumentError(absl::StrCat("URL is longer than ", kUrlSizeMax, " bytes"));
  }
  if (url.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS URL ", Quote(url), " does not start with https://"));
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) {
    return absl::InvalidArgumentError("JWKS URL has a fragment");
  }
  const size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  HttpsUrl out;
  if (slash == std::string_view::npos) {
    out.path = "/";
  } else {
    // "https://host?x" has an empty path: the request target is "/?x".
    out.path = rest[slash] == '?' ? "/" : "";
    out.path.append(rest.substr(slash));
  }
  if (authority.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError("JWKS URL has user info");
  }
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("JWKS URL has an unclosed [");
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return absl::InvalidArgumentError("JWKS URL has text after ]");
      }
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
  }
  if (out.host.empty()) {
    return absl::InvalidArgumentError("JWKS URL has no host");
  }
  uint32_t port_number = 443;
  if (!port.empty() &&
      (!absl::SimpleAtoi(Absl(port), &port_number) || port_number == 0 || port_number > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat("JWKS URL has a bad port ", Quote(port)));
  }
  out.port = absl::StrCat(port_number);
  return out;
}

absl::StatusOr<std::string> DecodeHttpResponse(std::string_view response, bool at_eof,
                                               size_t body_size_max, bool* complete) {
  *complete = false;
  const size_t header_end = response.find("\r\n\r\n");
  if (header_end == std::string_view::npos) {
    if (response.size() > kHeaderSizeMax) {
      return absl::InvalidArgumentError(
          absl::StrCat("response headers exceed ", kHeaderSizeMax, " bytes"));
    }
    if (at_eof) {
      return absl::UnavailableError("connection closed before the response headers ended");
    }
    return std::string();
  }
  if (header_end > kHeaderSizeMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("response headers exceed ", kHeaderSizeMax, " bytes"));
  }
  const std::string_view head = response.substr(0, header_end + 2);
  const std::string_view body = response.substr(header_end + 4);
  size_t line_end = LineEnd(head, 0);
  const std::string_view status_line = head.substr(0, line_end - 2);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    return absl::InvalidArgumentError(absl::StrCat("bad HTTP status line ", Quote(status_line)));
  }
  if (status_line.substr(9, 3) != "200") {
    return absl::UnavailableError(absl::StrCat("server answered ", Quote(status_line.substr(9))));
  }
  bool chunked = false;
  bool has_length = false;
  uint64_t content_length = 0;
  for (size_t at = line_end; at < head.size(); at = line_end) {
    line_end = LineEnd(head, at);
    const std::string_view line = head.substr(at, line_end - 2 - at);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad header line ", Quote(line)));
    }
    const absl::string_view name = Absl(line.substr(0, colon));
    const absl::string_view value = absl::StripAsciiWhitespace(Absl(line.substr(colon + 1)));
    if (absl::EqualsIgnoreCase(name, "content-length")) {
      uint64_t length = 0;
      if (!absl::SimpleAtoi(value, &length) || (has_length && length != content_length)) {
        return absl::InvalidArgumentError("bad or conflicting Content-Length");
      }
      has_length = true;
      content_length = length;
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      if (!absl::EqualsIgnoreCase(value, "chunked")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unsupported Transfer-Encoding ", Quote(std::string_view(value.data(), value.size()))));
      }
      chunked = true;
    }
  }
  if (chunked && has_length) {
    return absl::InvalidArgumentError("response has both Content-Length and chunked encoding");
  }
  if (chunked) {
    if (body.size() > body_size_max + kFramingSizeMax) {
      return absl::InvalidArgumentError(
          absl::StrCat("response body exceeds ", body_size_max, " bytes"));
    }
    JG_ASSIGN_OR_RETURN(std::string decoded, DecodeChunked(body, body_size_max, complete));
    if (!*complete && at_eof) {
      return absl::UnavailableError("connection closed inside the chunked body");
    }
    return decoded;
  }
  if (has_length) {
    if (content_length > body_size_max) {
      return absl::InvalidArgumentError(absl::StrCat("response body is ", content_length,
                                                     " bytes; the limit is ", body_size_max));
    }
    if (body.size() >= content_length) {
      *complete = true;
      return std::string(body.substr(0, content_length));
    }
    if (at_eof) {
      return absl::UnavailableError("connection closed before Content-Length bytes arrived");
    }
    return std::string();
  }
  if (body.size() > body_size_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("response body exceeds ", body_size_max, " bytes"));
  }
  *complete = at_eof;
  return std::string(body);
}

absl::StatusOr<std::string> HttpsGet(std::string_view url_text, const HttpsGetOptions& options) {
  JG_ASSIGN_OR_RETURN(const HttpsUrl url, ParseHttpsUrl(url_text));
  JG_ASSIGN_OR_RETURN(auto ctx, MakeClientContext(options));
  JG_ASSIGN_OR_RETURN(const int raw_fd, Connect(url, options.connect_timeout_ms));
  Fd fd(raw_fd);
  SetBlockingWithTimeouts(fd.get(), options.read_timeout_ms);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (ssl == nullptr || SSL_set_fd(ssl.get(), fd.get()) != 1) {
    return absl::InternalError(absl::StrCat("SSL_new: ", SslErrorText()));
  }
  JG_RETURN_IF_ERROR(SetExpectedName(ssl.get(), url.host));
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    const std::string reason =
        verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify)) : SslErrorText();
    ERR_clear_error();
    return absl::UnavailableError(
        absl::StrCat("TLS handshake with ", url.host, ":", url.port, " failed: ", reason));
  }
  const bool bracket = url.host.find(':') != std::string::npos;
  const std::string request = absl::StrCat(
      "GET ", url.path, " HTTP/1.1\r\nHost: ", bracket ? "[" : "", url.host, bracket ? "]" : "",
      url.port == "443" ? "" : absl::StrCat(":", url.port),
      "\r\nAccept: application/json\r\nUser-Agent: jitgate\r\nConnection: close\r\n\r\n");
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) !=
      static_cast<int>(request.size())) {
    return absl::UnavailableError(absl::StrCat("sending the request failed: ", SslErrorText()));
  }
  const int64_t deadline_ms = NowMs() + 3 * options.read_timeout_ms;
  const size_t raw_size_max = kHeaderSizeMax + options.body_size_max + kFramingSizeMax;
  std::string response;
  char buffer[16 * 1024];
  bool at_eof = false;
  while (true) {
    bool complete = false;
    JG_ASSIGN_OR_RETURN(std::string body,
                        DecodeHttpResponse(response, at_eof, options.body_size_max, &complete));
    if (complete) {
      return body;
    }
    if (at_eof) {
      return absl::UnavailableError("connection closed before the response ended");
    }
    if (NowMs() > deadline_ms || response.size() > raw_size_max) {
      return absl::UnavailableError("response too slow or too large");
    }
    const int n = SSL_read(ssl.get(), buffer, sizeof(buffer));
    if (n > 0) {
      response.append(buffer, static_cast<size_t>(n));
      continue;
    }
    const int error = SSL_get_error(ssl.get(), n);
    if (error == SSL_ERROR_ZERO_RETURN) {
      at_eof = true;
      continue;
    }
    const bool timed_out = error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK);
    return absl::UnavailableError(absl::StrCat(
        "reading the response failed: ",
        timed_out ? absl::StrCat("no data for ", options.read_timeout_ms, " ms") : SslErrorText()));
  }
}

}  // namespace jitgate::auth
