// src/config/address.cc: see address.h. Splitting is done here, by hand, so that every malformed
// form gets its own message; getaddrinfo then does the resolution (numeric forms never leave the
// process; names go through NSS: /etc/hosts, then DNS).
#include "src/config/address.h"

#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "jitgate/status_macros.h"

namespace jitgate::config::internal {
namespace {

// RFC 1035 section 2.3.4: a domain name is at most 253 characters in text form.
constexpr size_t kHostLengthMax = 253;

struct HostPort {
  std::string host;
  uint32_t port = 0;
  bool bracketed = false;  // "[v6]:port": the host must be a numeric IPv6 address
};

bool IsHostChar(char c) { return c > ' ' && c < 0x7f; }

// 1 to 5 decimal digits with a value in 1..65535.
bool ParsePort(absl::string_view text, uint32_t* port) {
  if (text.empty() || text.size() > 5) {
    return false;
  }
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  *port = value;
  return value >= 1 && value <= 65535;
}

absl::StatusOr<HostPort> SplitHostPort(absl::string_view text) {
  HostPort split;
  absl::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("expected \"[v6]:port\", got ", Quote(text)));
    }
    split.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    split.bracketed = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("expected \"host:port\", got ", Quote(text)));
    }
    split.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (split.host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected an IPv6 address in brackets (\"[v6]:port\"), got ", Quote(text)));
    }
  }
  if (split.host.empty() || split.host.size() > kHostLengthMax ||
      !std::all_of(split.host.begin(), split.host.end(), IsHostChar)) {
    return absl::InvalidArgumentError(absl::StrCat("expected a host of 1 to ", kHostLengthMax,
                                                   " printable characters without spaces, got ",
                                                   Quote(text)));
  }
  if (!ParsePort(port_text, &split.port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a port between 1 and 65535, got ", Quote(text)));
  }
  return split;
}

std::string ErrnoText(int error_number) {
  char buffer[128];
  // GNU strerror_r (_GNU_SOURCE is on with g++ and clang++): returns the text, thread-safe.
  return strerror_r(error_number, buffer, sizeof(buffer));
}

absl::StatusOr<Endpoint> Resolve(absl::string_view text, const HostPort& split, HostLookup lookup) {
  addrinfo hints{};
  hints.ai_family = split.bracketed ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // AI_NUMERICSERV: the port is digits, never looked up in /etc/services.
  hints.ai_flags = AI_NUMERICSERV;
  if (split.bracketed || lookup == HostLookup::kNumericOnly) {
    hints.ai_flags |= AI_NUMERICHOST;  // no /etc/hosts or DNS
  }
  const std::string port = absl::StrCat(split.port);
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(split.host.c_str(), port.c_str(), &hints, &result);
  const int saved_errno = errno;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(result, &freeaddrinfo);
  if (rc != 0 && split.bracketed) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an IPv6 address inside the brackets, got ", Quote(text)));
  }
  if (rc != 0) {
    const std::string reason = rc == EAI_SYSTEM ? ErrnoText(saved_errno) : gai_strerror(rc);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve host ", Quote(split.host), ": ", reason));
  }
  if (result == nullptr || result->ai_addr == nullptr || result->ai_addrlen == 0 ||
      result->ai_addrlen > sizeof(sockaddr_storage)) {
    return absl::InvalidArgumentError(
        absl::StrCat("host ", Quote(split.host), " has no usable address"));
  }
  Endpoint endpoint;
  endpoint.text = std::string(text);
  std::memcpy(&endpoint.addr, result->ai_addr, result->ai_addrlen);
  endpoint.addr_length = result->ai_addrlen;
  return endpoint;
}

}  // namespace

absl::StatusOr<Endpoint> ResolveEndpoint(absl::string_view text, HostLookup lookup) {
  JG_ASSIGN_OR_RETURN(const HostPort split, SplitHostPort(text));
  return Resolve(text, split, lookup);
}

bool SameEndpoint(const Endpoint& a, const Endpoint& b) {
  if (a.addr.ss_family != b.addr.ss_family) {
    return false;
  }
  if (a.addr.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a.addr);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b.addr);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.addr.ss_family == AF_INET6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(a.addr);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(b.addr);
    return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(x.sin6_addr)) == 0;
  }
  return a.text == b.text;
}

}  // namespace jitgate::config::internal
