// jitgate/config.h: the gateway's configuration, as loaded from one JSON file.
//
// Owned by src/config (the only user of picojson). Loaded once on the control thread at start-up
// (and later on reload); shards receive a const reference and never mutate it. Every field has a
// default documented in README.md ("Configuration reference"). Errors name the file, the JSON path
// and what was expected, e.g.
//   jitgate.json: $.listeners[1].address: expected "host:port" string, got number
#ifndef JITGATE_CONFIG_H_
#define JITGATE_CONFIG_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace jitgate::config {

// The wire protocol a listener speaks and a resource expects.
enum class Protocol : uint8_t { kPostgres, kMysql };

std::string_view ProtocolName(Protocol protocol);

// A resolved TCP endpoint. `text` is the form the operator wrote ("127.0.0.1:5432"), kept for
// logs; `addr`/`addr_length` are ready for bind(2) or connect(2). Host names are resolved once, at
// load time.
struct Endpoint {
  std::string text;
  sockaddr_storage addr{};
  socklen_t addr_length = 0;
};

// A database the gateway connects to ("resources" in the JSON, keyed by name).
struct Resource {
  std::string name;
  Protocol protocol = Protocol::kPostgres;
  Endpoint address;
};

// A socket clients connect to. In the v0 transparent relay every connection accepted on a
// listener is relayed to `resource` (an index into Config::resources), which must speak the same
// protocol.
struct Listener {
  std::string name;
  Protocol protocol = Protocol::kPostgres;
  Endpoint address;
  std::string resource_name;
  uint32_t resource_index = 0;
};

// Limits; every one bounds a resource the gateway spends. Defaults in comments.
struct Limits {
  uint32_t sessions_per_shard_max = 10000;  // accepted sessions above this are refused with a
                                            // protocol error ("too many connections")
  uint32_t idle_timeout_s = 600;            // 0 disables; a session with no bytes either way for
                                            // this long is closed
  uint32_t connect_timeout_ms = 5000;       // backend connect(2) deadline
  uint32_t shutdown_grace_s = 10;           // on SIGTERM/SIGINT, time sessions get to finish
  uint32_t buffer_size = 16384;             // bytes per provided receive buffer; power of two,
                                            // 4096..65536
  uint32_t buffer_count = 4096;             // provided buffers per shard; power of two, 64..32768
  uint32_t buffers_in_flight_per_direction_max = 16;  // backpressure: a side with this many
                                                      // buffers not yet sent stops being read;
                                                      // 2..64
  uint32_t send_zc_min_bytes = 0;  // sends of at least this many bytes use SEND_ZC;
                                   // 0 disables zero-copy send
  uint32_t ring_entries = 1024;    // submission queue entries per shard; power of two,
                                   // 64..32768 (the completion queue is 4x)
};

struct Config {
  std::string path;          // file it was loaded from ("<inline>" for Parse without a file)
  uint32_t shard_count = 1;  // resolved: "auto" becomes the number of CPUs in the process's
                             // affinity mask (sched_getaffinity), at most 256
  bool shards_auto = true;   // true when the file said "auto" (or nothing)
  bool pin_shards = true;    // pin shard i to the i-th CPU of the process's affinity mask
  std::vector<Resource> resources;
  std::vector<Listener> listeners;
  Limits limits;
};

// Parses `text` as a configuration; `file_name` is used only in error messages.
// Returns InvalidArgumentError("<file>: <json path>: <what was expected>") on any error; unknown
// keys are errors too (a misspelt limit must not silently fall back to its default).
absl::StatusOr<Config> Parse(std::string_view text, std::string_view file_name);

// Reads and parses the file at `path`. A file that cannot be read is NotFoundError /
// PermissionDeniedError naming the path and errno text.
absl::StatusOr<Config> LoadFile(const std::string& path);

}  // namespace jitgate::config

#endif  // JITGATE_CONFIG_H_
