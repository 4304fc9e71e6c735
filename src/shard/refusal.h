// src/shard/refusal.h: the protocol error a refused client receives before the gateway closes
// its connection, so psql / the mysql client print a clear message instead of "server closed
// the connection unexpectedly".
//
// PostgreSQL: a FATAL ErrorResponse sent before the client's startup packet is read. libpq
// accepts an ErrorResponse in place of the SSLRequest answer (a postmaster that cannot fork
// does the same). MySQL: an ERR packet in place of the initial handshake, sequence id 0, as the
// server sends for "Too many connections".
#ifndef JITGATE_SRC_SHARD_REFUSAL_H_
#define JITGATE_SRC_SHARD_REFUSAL_H_

#include <cstddef>
#include <span>
#include <string_view>

#include "jitgate/config.h"
#include "src/shard/ops.h"

namespace jitgate::shard {

// Encodes the refusal for `reason` into `out`; `detail` (may be empty) names what failed, e.g.
// the resource and errno text. Returns bytes written (0 if `out` is too small).
size_t EncodeRefusal(config::Protocol protocol, CloseReason reason, std::string_view detail,
                     std::span<std::byte> out);

}  // namespace jitgate::shard

#endif  // JITGATE_SRC_SHARD_REFUSAL_H_
