// src/config/config_internal.h: what the files of src/config share, and the seams of the config
// loader that only tests and fuzzers use.
//
// Production code calls jitgate::config::Parse / LoadFile (include/jitgate/config.h), which
// resolve host names with getaddrinfo. The fuzz target must not touch /etc/hosts or DNS on every
// input (slow, and not a property of the input), so it parses with HostLookup::kNumericOnly:
// numeric addresses resolve exactly as in production and a host name becomes an error.
#ifndef JITGATE_SRC_CONFIG_CONFIG_INTERNAL_H_
#define JITGATE_SRC_CONFIG_CONFIG_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "jitgate/config.h"

namespace jitgate::config::internal {

// Largest configuration text Parse accepts, and largest file LoadFile reads. A gateway config is
// a few KiB; the bound keeps a wrong path (a log file, /dev/zero) from being read into memory.
inline constexpr size_t kTextSizeMax = size_t{1} << 20;

// Values echoed in error messages are cut to this many characters, so messages stay bounded
// whatever the input.
inline constexpr size_t kQuotedLengthMax = 64;

// `text` in double quotes with C escapes (printable ASCII out), cut to kQuotedLengthMax characters
// ("...\"" marks a cut). Every value an error message echoes goes through this.
std::string Quote(absl::string_view text);

// How the host part of an address is turned into a sockaddr.
enum class HostLookup : uint8_t {
  kResolve,      // getaddrinfo without AI_NUMERICHOST: /etc/hosts, then DNS (production)
  kNumericOnly,  // getaddrinfo with AI_NUMERICHOST: no I/O; a host name is an error (fuzzing)
};

// Parse, with the host lookup made explicit. Parse(text, file_name) is
// ParseWithLookup(text, file_name, HostLookup::kResolve).
absl::StatusOr<Config> ParseWithLookup(std::string_view text, std::string_view file_name,
                                       HostLookup lookup);

}  // namespace jitgate::config::internal

#endif  // JITGATE_SRC_CONFIG_CONFIG_INTERNAL_H_
