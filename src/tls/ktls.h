// src/tls/ktls.h: run-time probe for kernel TLS (the `tls` TCP upper-layer protocol).
//
// Called once at start-up by main to log what the data path will use. kTLS is only an optimisation
// (PROTOCOLS.md 7.8): the kernels we build on lack the `tls` ULP, so jitgate always has the
// user-space path (tls::Stream over memory BIOs) and nothing here is on the data path yet.
// Thread-safe: the probe runs once (function-local static) and its result is cached.
#ifndef JITGATE_SRC_TLS_KTLS_H_
#define JITGATE_SRC_TLS_KTLS_H_

#include <string>

namespace jitgate::tls {

// True when this kernel accepts setsockopt(TCP_ULP, "tls") on a connected loopback TCP socket
// and this OpenSSL is built with kTLS. ENOENT (no module) or ENOPROTOOPT (no TCP_ULP) -> false.
bool KernelTlsAvailable();

// One line for the start-up log, e.g.
// "kTLS: unavailable (no tls ULP in this kernel); user-space TLS over memory BIOs".
std::string KernelTlsReport();

}  // namespace jitgate::tls

#endif  // JITGATE_SRC_TLS_KTLS_H_
