// src/config/address.h: "host:port" and "[v6]:port" strings to resolved endpoints (private to
// src/config; config.cc calls it for every listener and resource address).
#ifndef JITGATE_SRC_CONFIG_ADDRESS_H_
#define JITGATE_SRC_CONFIG_ADDRESS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "jitgate/config.h"
#include "src/config/config_internal.h"

namespace jitgate::config::internal {

// Splits `text` into host and port (1..65535) and resolves the host with getaddrinfo
// (AI_NUMERICSERV, SOCK_STREAM, the first result; AI_NUMERICHOST too for "[v6]" and for
// HostLookup::kNumericOnly). Errors are InvalidArgumentError whose message says only what was
// expected ("expected a port between 1 and 65535, got ..."); the caller adds file and JSON path.
absl::StatusOr<Endpoint> ResolveEndpoint(absl::string_view text, HostLookup lookup);

// Same family, address and port (and IPv6 scope id): two listeners could not both bind them.
bool SameEndpoint(const Endpoint& a, const Endpoint& b);

}  // namespace jitgate::config::internal

#endif  // JITGATE_SRC_CONFIG_ADDRESS_H_
