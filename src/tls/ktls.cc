// src/tls/ktls.cc: the kTLS probe (see ktls.h). Opens three loopback sockets once, closes them.
#include "src/tls/ktls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/opensslconf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "src/common/unique_fd.h"

namespace jitgate::tls {
namespace {

struct Probe {
  bool available = false;
  std::string reason;  // Why not, or what was found.
};

using Fd = ::jitgate::UniqueFd;

std::string SystemError(const char* step, int error_number) {
  return std::string("probe failed: ") + step + ": " + std::strerror(error_number);
}

Probe RunProbe() {
#ifdef OPENSSL_NO_KTLS
  return {false, "OpenSSL built without kTLS"};
#else
  // The ULP attaches only to an established TCP socket (ENOTCONN otherwise), so build a loopback
  // connection: listen on an ephemeral port, connect, accept.
  Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) {
    return {false, SystemError("socket", errno)};
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t address_size = sizeof(address);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener.get(), 1) != 0 ||
      getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &address_size) != 0) {
    return {false, SystemError("loopback listen", errno)};
  }
  Fd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (client.get() < 0) {
    return {false, SystemError("socket", errno)};
  }
  // Loopback connect completes against the backlog without accept(); blocking is fine here.
  if (connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return {false, SystemError("loopback connect", errno)};
  }
  Fd server(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (server.get() < 0) {
    return {false, SystemError("loopback accept", errno)};
  }
  constexpr char kUlpName[] = "tls";
  if (setsockopt(client.get(), SOL_TCP, TCP_ULP, kUlpName, sizeof(kUlpName)) == 0) {
    return {true, "tls ULP present"};
  }
  const int error_number = errno;
  switch (error_number) {
    case ENOENT:
      return {false, "no tls ULP in this kernel"};
    case ENOPROTOOPT:
      return {false, "kernel without TCP_ULP"};
    default:
      return {false, SystemError("setsockopt(TCP_ULP)", error_number)};
  }
#endif
}

const Probe& CachedProbe() {
  static const Probe probe = RunProbe();  // Thread-safe one-time initialisation (C++11).
  return probe;
}

}  // namespace

bool KernelTlsAvailable() { return CachedProbe().available; }

std::string KernelTlsReport() {
  const Probe& probe = CachedProbe();
  if (probe.available) {
    return "kTLS: available (" + probe.reason + "), not used yet; user-space TLS over memory BIOs";
  }
  return "kTLS: unavailable (" + probe.reason + "); user-space TLS over memory BIOs";
}

}  // namespace jitgate::tls
