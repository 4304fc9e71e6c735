// src/config/config.cc: loads the gateway's JSON configuration (include/jitgate/config.h).
//
// Called on the control thread at start-up (and on reload) by src/main.cc; the only user of
// picojson. Three stages: ReadJson (json_reader.cc) turns bytes into a picojson tree under our own
// bounds (size, depth, finite numbers, no repeated keys); the Read* functions here walk that tree,
// checking every key against a known list and every value against its type and range; each
// address is split and resolved by ResolveEndpoint (address.cc). Every failure is
// InvalidArgumentError("<file>: <json path>: <what was expected>"); nothing here throws (picojson's
// non-throwing parse, is<T>() before get<T>()).
//
// Invariant of a returned Config: 1 <= shard_count <= 256, 1 <= resources.size() <= 256,
// 1 <= listeners.size() <= 256, a relay listener's resource_index < resources.size() and the
// listener and its resource speak the same protocol; a gateway listener speaks postgres and the
// Config has an identity and at least one policy; every policies[p].resource_indexes[i] <
// resources.size() names a postgres resource with a user. The identity, policies and grants
// sections and each resource's backend fields are read by gateway.cc.
#include "jitgate/config.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"
#include "src/config/address.h"
#include "src/config/config_internal.h"
#include "src/config/gateway.h"
#include "src/config/json_reader.h"
#include "src/config/audit.h"
#include "src/config/masking.h"
#include "src/config/reader.h"

namespace jitgate::config {
namespace {

using internal::AbslView;
using internal::AsObject;
using internal::CheckKeys;
using internal::Child;
using internal::Ctx;
using internal::Find;
using internal::HostLookup;
using internal::Invalid;
using internal::IsValidName;
using internal::kNamesListedMax;
using internal::kQuotedLengthMax;
using internal::kTextSizeMax;
using internal::Quote;
using internal::RangeError;
using internal::ReadInteger;
using internal::ReadJson;
using internal::ReadName;
using internal::Require;
using internal::ResolveEndpoint;
using internal::SameEndpoint;
using internal::TypeError;

// Shards are threads pinned one per CPU; more than this is a typo, not a machine.
constexpr uint32_t kShardCountMax = 256;
// Each listener is one socket per shard; each resource a backend address. Both bound start-up work.
constexpr size_t kListenerCountMax = 256;
constexpr size_t kResourceCountMax = 256;
// ---------------------------------------------------------------------------------------------
// Typed reads of this file's sections (the shared ones are in reader.h).

absl::StatusOr<Protocol> ReadProtocol(const Ctx& ctx, absl::string_view path,
                                      const picojson::value& value) {
  constexpr absl::string_view kExpected = "\"postgres\" or \"mysql\"";
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, kExpected, value);
  }
  const std::string& text = value.get<std::string>();
  if (text == "postgres") {
    return Protocol::kPostgres;
  }
  if (text == "mysql") {
    return Protocol::kMysql;
  }
  return RangeError(ctx, path, kExpected, value);
}

absl::StatusOr<Endpoint> ReadEndpoint(const Ctx& ctx, absl::string_view path,
                                      const picojson::value& value) {
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, "\"host:port\" string", value);
  }
  absl::StatusOr<Endpoint> endpoint = ResolveEndpoint(value.get<std::string>(), ctx.lookup);
  if (!endpoint.ok()) {
    return Invalid(ctx, path, endpoint.status().message());
  }
  return endpoint;
}

// ---------------------------------------------------------------------------------------------
// Sections.

constexpr absl::string_view kTopKeys[] = {"shards",    "pin_shards", "balance_shards", "listeners",
                                          "resources", "identity",   "policies",       "grants",
                                          "limits",    "masking",    "audit"};
constexpr absl::string_view kResourceKeys[] = {"protocol", "address",      "database",
                                               "user",     "password_env", "password_file",
                                               "tls",      "tls_ca",       "tls_server_name"};
constexpr absl::string_view kListenerKeys[] = {"name",     "protocol", "address",
                                               "resource", "tls",      "insecure"};
constexpr absl::string_view kListenerTlsKeys[] = {"cert", "key"};

// The CPUs this process may run on (taskset, cgroup cpuset), not all online CPUs: a shard on a
// CPU we may not use would only time-slice with another. Clamped to 1..kShardCountMax.
uint32_t AffinityCpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  long count = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    count = CPU_COUNT(&set);
  } else {
    count = sysconf(_SC_NPROCESSORS_ONLN);  // EINVAL: more CPUs than CPU_SETSIZE (1024)
  }
  return static_cast<uint32_t>(std::clamp<long>(count, 1, kShardCountMax));
}

absl::Status ReadShards(const Ctx& ctx, const picojson::value* value, Config& config) {
  constexpr absl::string_view kExpected = "\"auto\" or an integer between 1 and 256";
  static_assert(kShardCountMax == 256, "kExpected names the bound");
  if (value == nullptr || (value->is<std::string>() && value->get<std::string>() == "auto")) {
    config.shards_auto = true;
    config.shard_count = AffinityCpuCount();
    return absl::OkStatus();
  }
  if (value->is<std::string>()) {
    return RangeError(ctx, "$.shards", kExpected, *value);
  }
  JG_ASSIGN_OR_RETURN(const int64_t count,
                      ReadInteger(ctx, "$.shards", *value, 1, kShardCountMax, kExpected));
  config.shards_auto = false;
  config.shard_count = static_cast<uint32_t>(count);
  return absl::OkStatus();
}

// One entry per key of "limits": its field, range and kind. Ranges are those documented beside
// each field in config.h.
struct LimitSpec {
  enum Kind : uint8_t { kRange, kPowerOfTwo, kZeroOrRange };
  absl::string_view key;
  uint32_t Limits::*field;
  uint32_t min;
  uint32_t max;
  Kind kind;
};

constexpr LimitSpec kLimitSpecs[] = {
    {"sessions_per_shard_max", &Limits::sessions_per_shard_max, 1, 1000000, LimitSpec::kRange},
    {"idle_timeout_s", &Limits::idle_timeout_s, 0, 604800, LimitSpec::kRange},
    {"connect_timeout_ms", &Limits::connect_timeout_ms, 1, 600000, LimitSpec::kRange},
    {"shutdown_grace_s", &Limits::shutdown_grace_s, 0, 3600, LimitSpec::kRange},
    {"buffer_size", &Limits::buffer_size, 4096, 65536, LimitSpec::kPowerOfTwo},
    {"buffer_count", &Limits::buffer_count, 64, 32768, LimitSpec::kPowerOfTwo},
    {"buffers_in_flight_per_direction_max", &Limits::buffers_in_flight_per_direction_max, 2, 64,
     LimitSpec::kRange},
    // Below about 1 KiB SEND_ZC's page pinning and extra notification CQE cost more than the copy.
    {"send_zc_min_bytes", &Limits::send_zc_min_bytes, 1024, UINT32_MAX, LimitSpec::kZeroOrRange},
    {"ring_entries", &Limits::ring_entries, 64, 32768, LimitSpec::kPowerOfTwo},
    // Below 100 ms a TLS handshake over a slow link fails; above 10 minutes a half-open login
    // holds a session slot for nothing.
    {"auth_timeout_ms", &Limits::auth_timeout_ms, 100, 600000, LimitSpec::kRange},
    // A StartupMessage with a few parameters is ~100 bytes; libpq's largest real ones are ~1 KiB.
    {"startup_packet_size_max", &Limits::startup_packet_size_max, 1024, 65536, LimitSpec::kRange},
    {"token_cache_entries", &Limits::token_cache_entries, 0, 1048576, LimitSpec::kRange},
    {"cancel_keys_max", &Limits::cancel_keys_max, 1, 16777216, LimitSpec::kRange},
};

absl::Status ReadLimit(const Ctx& ctx, const LimitSpec& spec, const picojson::value& value,
                       Limits& limits) {
  const std::string path = absl::StrCat("$.limits.", spec.key);
  std::string expected;
  switch (spec.kind) {
    case LimitSpec::kRange:
      expected = absl::StrCat("an integer between ", spec.min, " and ", spec.max);
      break;
    case LimitSpec::kPowerOfTwo:
      expected = absl::StrCat("a power of two between ", spec.min, " and ", spec.max);
      break;
    case LimitSpec::kZeroOrRange:
      expected = absl::StrCat("0 (disabled) or an integer between ", spec.min, " and ", spec.max);
      break;
  }
  const int64_t min = spec.kind == LimitSpec::kZeroOrRange ? 0 : spec.min;
  JG_ASSIGN_OR_RETURN(const int64_t n, ReadInteger(ctx, path, value, min, spec.max, expected));
  const auto n32 = static_cast<uint32_t>(n);
  if ((spec.kind == LimitSpec::kPowerOfTwo && !std::has_single_bit(n32)) ||
      (spec.kind == LimitSpec::kZeroOrRange && n32 != 0 && n32 < spec.min)) {
    return RangeError(ctx, path, expected, value);
  }
  limits.*spec.field = n32;
  return absl::OkStatus();
}

absl::Status ReadLimits(const Ctx& ctx, const picojson::value* value, Limits& limits) {
  if (value == nullptr) {
    return absl::OkStatus();
  }
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, "$.limits", *value, "an object of limits"));
  absl::string_view known[std::size(kLimitSpecs)];
  std::transform(std::begin(kLimitSpecs), std::end(kLimitSpecs), known,
                 [](const LimitSpec& spec) { return spec.key; });
  JG_RETURN_IF_ERROR(CheckKeys(ctx, "$.limits", *object, known));
  for (const LimitSpec& spec : kLimitSpecs) {
    if (const picojson::value* field = Find(*object, spec.key); field != nullptr) {
      JG_RETURN_IF_ERROR(ReadLimit(ctx, spec, *field, limits));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Resource> ReadResource(const Ctx& ctx, absl::string_view path,
                                      absl::string_view name, const picojson::value& value) {
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, path, value, "an object with protocol and address"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kResourceKeys));
  JG_ASSIGN_OR_RETURN(const picojson::value* protocol, Require(ctx, path, *object, "protocol"));
  JG_ASSIGN_OR_RETURN(const picojson::value* address, Require(ctx, path, *object, "address"));
  Resource resource;
  resource.name = std::string(name);
  JG_ASSIGN_OR_RETURN(resource.protocol,
                      ReadProtocol(ctx, absl::StrCat(path, ".protocol"), *protocol));
  JG_ASSIGN_OR_RETURN(resource.address,
                      ReadEndpoint(ctx, absl::StrCat(path, ".address"), *address));
  JG_RETURN_IF_ERROR(internal::ReadResourceBackend(ctx, path, *object, resource));
  return resource;
}

absl::Status ReadResources(const Ctx& ctx, const picojson::value* value, Config& config) {
  constexpr absl::string_view kPath = "$.resources";
  if (value == nullptr) {
    return Invalid(ctx, "$", "missing key \"resources\"");
  }
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, kPath, *value, "an object of resources keyed by name"));
  if (object->empty() || object->size() > kResourceCountMax) {
    return Invalid(
        ctx, kPath,
        absl::StrCat("expected 1 to ", kResourceCountMax, " resources, got ", object->size()));
  }
  for (const auto& [name, item] : *object) {
    const std::string path = Child(kPath, name);
    if (!IsValidName(name)) {
      return Invalid(ctx, path,
                     "expected a resource name of 1 to 64 characters from [A-Za-z0-9_-]");
    }
    JG_ASSIGN_OR_RETURN(Resource resource, ReadResource(ctx, path, name, item));
    config.resources.push_back(std::move(resource));
  }
  return absl::OkStatus();
}

// "tls": {"cert": "...", "key": "..."} of a gateway listener.
absl::Status ReadListenerTls(const Ctx& ctx, absl::string_view path, const picojson::value& value,
                             Listener& listener) {
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, path, value, "an object with cert and key"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kListenerTlsKeys));
  JG_ASSIGN_OR_RETURN(const picojson::value* cert, Require(ctx, path, *object, "cert"));
  JG_ASSIGN_OR_RETURN(const picojson::value* key, Require(ctx, path, *object, "key"));
  JG_ASSIGN_OR_RETURN(listener.tls_cert_file,
                      internal::ReadPath(ctx, absl::StrCat(path, ".cert"), *cert));
  JG_ASSIGN_OR_RETURN(listener.tls_key_file,
                      internal::ReadPath(ctx, absl::StrCat(path, ".key"), *key));
  return absl::OkStatus();
}

// Exactly one of "resource" (relay), "tls" and "insecure": true (gateway) sets the mode.
absl::Status ReadListenerMode(const Ctx& ctx, absl::string_view path,
                              const picojson::object& object, Listener& listener) {
  const picojson::value* resource = Find(object, "resource");
  const picojson::value* tls = Find(object, "tls");
  const picojson::value* insecure_value = Find(object, "insecure");
  bool insecure = false;
  JG_RETURN_IF_ERROR(internal::ReadOptionalBool(ctx, absl::StrCat(path, ".insecure"),
                                                insecure_value, insecure));
  const int modes = (resource != nullptr) + (tls != nullptr) + (insecure ? 1 : 0);
  if (modes == 0) {
    return Invalid(ctx, path,
                   "missing key \"resource\" (a relay), or \"tls\" (a gateway listener), or "
                   "\"insecure\": true (a gateway listener without TLS, for local development)");
  }
  if (modes > 1) {
    return Invalid(ctx, path,
                   "expected exactly one of \"resource\" (a relay), \"tls\" (a gateway "
                   "listener) and \"insecure\": true (a gateway listener without TLS), got more "
                   "than one");
  }
  if (resource != nullptr) {
    if (!resource->is<std::string>()) {
      return TypeError(ctx, absl::StrCat(path, ".resource"), "the name of a resource", *resource);
    }
    listener.mode = ListenerMode::kRelay;
    listener.resource_name = resource->get<std::string>();
    return absl::OkStatus();
  }
  const std::string mode_path = absl::StrCat(path, tls != nullptr ? ".tls" : ".insecure");
  if (listener.protocol == Protocol::kMysql) {
    return Invalid(ctx, mode_path,
                   "MySQL gateway listeners arrive with the MySQL session work; give "
                   "\"resource\" for a relay");
  }
  if (tls != nullptr) {
    listener.mode = ListenerMode::kGatewayTls;
    return ReadListenerTls(ctx, mode_path, *tls, listener);
  }
  listener.mode = ListenerMode::kGatewayInsecure;
  return absl::OkStatus();
}

absl::StatusOr<Listener> ReadListener(const Ctx& ctx, absl::string_view path,
                                      const picojson::value& value) {
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, path, value,
                               "an object with name, protocol, address and one of resource, tls, "
                               "insecure"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kListenerKeys));
  JG_ASSIGN_OR_RETURN(const picojson::value* name, Require(ctx, path, *object, "name"));
  JG_ASSIGN_OR_RETURN(const picojson::value* protocol, Require(ctx, path, *object, "protocol"));
  JG_ASSIGN_OR_RETURN(const picojson::value* address, Require(ctx, path, *object, "address"));
  Listener listener;
  JG_ASSIGN_OR_RETURN(listener.name, ReadName(ctx, absl::StrCat(path, ".name"), *name));
  JG_ASSIGN_OR_RETURN(listener.protocol,
                      ReadProtocol(ctx, absl::StrCat(path, ".protocol"), *protocol));
  JG_ASSIGN_OR_RETURN(listener.address,
                      ReadEndpoint(ctx, absl::StrCat(path, ".address"), *address));
  JG_RETURN_IF_ERROR(ReadListenerMode(ctx, path, *object, listener));
  return listener;
}

// Names and addresses of listeners are unique; `earlier` are the listeners before this one.
absl::Status CheckUnique(const Ctx& ctx, absl::string_view path, const Listener& listener,
                         std::span<const Listener> earlier) {
  for (size_t i = 0; i < earlier.size(); ++i) {
    if (earlier[i].name == listener.name) {
      return Invalid(ctx, absl::StrCat(path, ".name"),
                     absl::StrCat("duplicate listener name ", Quote(listener.name),
                                  " (also $.listeners[", i, "])"));
    }
    if (SameEndpoint(earlier[i].address, listener.address)) {
      return Invalid(
          ctx, absl::StrCat(path, ".address"),
          absl::StrCat("duplicate address ", Quote(listener.address.text), ": listener ",
                       Quote(earlier[i].name), " already uses ", Quote(earlier[i].address.text)));
    }
  }
  return absl::OkStatus();
}

// Resolves listener.resource_name to an index into `resources` of the same protocol.
absl::Status BindResource(const Ctx& ctx, absl::string_view path,
                          std::span<const Resource> resources, Listener& listener) {
  const std::string resource_path = absl::StrCat(path, ".resource");
  auto it = std::find_if(resources.begin(), resources.end(), [&](const Resource& resource) {
    return resource.name == listener.resource_name;
  });
  if (it == resources.end()) {
    std::vector<absl::string_view> names;
    for (size_t i = 0; i < resources.size() && i < kNamesListedMax; ++i) {
      names.push_back(resources[i].name);
    }
    return Invalid(ctx, resource_path,
                   absl::StrCat("no resource named ", Quote(listener.resource_name),
                                " (resources: ", absl::StrJoin(names, ", "),
                                resources.size() > kNamesListedMax ? ", ...)" : ")"));
  }
  if (it->protocol != listener.protocol) {
    return Invalid(
        ctx, resource_path,
        absl::StrCat("resource ", Quote(it->name), " speaks ", AbslView(ProtocolName(it->protocol)),
                     " but the listener speaks ", AbslView(ProtocolName(listener.protocol))));
  }
  listener.resource_index = static_cast<uint32_t>(it - resources.begin());
  return absl::OkStatus();
}

absl::Status ReadListeners(const Ctx& ctx, const picojson::value* value, Config& config) {
  constexpr absl::string_view kPath = "$.listeners";
  if (value == nullptr) {
    return Invalid(ctx, "$", "missing key \"listeners\"");
  }
  if (!value->is<picojson::array>()) {
    return TypeError(ctx, kPath, "an array of listeners", *value);
  }
  const picojson::array& array = value->get<picojson::array>();
  if (array.empty() || array.size() > kListenerCountMax) {
    return Invalid(
        ctx, kPath,
        absl::StrCat("expected 1 to ", kListenerCountMax, " listeners, got ", array.size()));
  }
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string path = absl::StrCat(kPath, "[", i, "]");
    JG_ASSIGN_OR_RETURN(Listener listener, ReadListener(ctx, path, array[i]));
    JG_RETURN_IF_ERROR(CheckUnique(ctx, path, listener, config.listeners));
    if (listener.mode == ListenerMode::kRelay) {
      JG_RETURN_IF_ERROR(BindResource(ctx, path, config.resources, listener));
    } else {
      JG_RETURN_IF_ERROR(internal::CheckGatewayListener(ctx, path, config));
    }
    config.listeners.push_back(std::move(listener));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// LoadFile.

// Closes a file descriptor when the scope ends.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { close(fd_); }

 private:
  int fd_;
};

absl::Status TooLarge(absl::string_view file_name) {
  return absl::InvalidArgumentError(absl::StrCat(file_name, ": larger than ", kTextSizeMax,
                                                 " bytes (1 MiB), the limit for a configuration"));
}

// The whole file, or an error if it is unreadable or larger than kTextSizeMax. The size is checked
// by reading, not only by fstat, so /dev/zero or a growing file cannot get past the limit.
absl::StatusOr<std::string> ReadFileBounded(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open"));
  }
  FdCloser closer(fd);
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot stat"));
  }
  if (S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a JSON file"));
  }
  if (S_ISREG(info.st_mode) && static_cast<uint64_t>(info.st_size) > kTextSizeMax) {
    return TooLarge(path);
  }
  std::string text(kTextSizeMax + 1, '\0');
  size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = read(fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot read"));
    }
    if (n == 0) {
      break;
    }
    size += static_cast<size_t>(n);
  }
  if (size > kTextSizeMax) {
    return TooLarge(path);
  }
  text.resize(size);
  return text;
}

}  // namespace

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kPostgres:
      return "postgres";
    case Protocol::kMysql:
      return "mysql";
  }
  return "unknown";
}

namespace internal {

std::string Quote(absl::string_view text) {
  if (text.size() <= kQuotedLengthMax) {
    return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  }
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, kQuotedLengthMax)), "...\"");
}

absl::StatusOr<Config> ParseWithLookup(std::string_view text, std::string_view file_name,
                                       HostLookup lookup) {
  const Ctx ctx{AbslView(file_name), lookup};
  if (text.size() > kTextSizeMax) {
    return TooLarge(ctx.file_name);
  }
  JG_ASSIGN_OR_RETURN(const picojson::value root, ReadJson(AbslView(text), ctx.file_name));
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, "$", root, "an object (the configuration)"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, "$", *object, kTopKeys));
  Config config;
  config.path = file_name;
  JG_RETURN_IF_ERROR(ReadShards(ctx, Find(*object, "shards"), config));
  JG_RETURN_IF_ERROR(internal::ReadOptionalBool(ctx, "$.pin_shards", Find(*object, "pin_shards"),
                                                config.pin_shards));
  JG_RETURN_IF_ERROR(internal::ReadOptionalBool(
      ctx, "$.balance_shards", Find(*object, "balance_shards"), config.balance_shards));
  JG_RETURN_IF_ERROR(ReadLimits(ctx, Find(*object, "limits"), config.limits));
  JG_RETURN_IF_ERROR(ReadResources(ctx, Find(*object, "resources"), config));
  JG_RETURN_IF_ERROR(internal::ReadIdentity(ctx, Find(*object, "identity"), config));
  // Before the policies: their "unmask" names masking rules.
  JG_RETURN_IF_ERROR(internal::ReadMasking(ctx, Find(*object, "masking"), config.masking));
  JG_RETURN_IF_ERROR(internal::ReadPolicies(ctx, Find(*object, "policies"), config));
  JG_RETURN_IF_ERROR(internal::ReadGrants(ctx, Find(*object, "grants"), config.grants));
  JG_RETURN_IF_ERROR(internal::ReadAudit(ctx, Find(*object, "audit"), config.audit));
  // Last: a gateway listener checks that the identity and policies it needs are there.
  JG_RETURN_IF_ERROR(ReadListeners(ctx, Find(*object, "listeners"), config));
  JG_DCHECK(config.shard_count >= 1 && config.shard_count <= kShardCountMax);
  JG_DCHECK(!config.resources.empty() && !config.listeners.empty());
  return config;
}

}  // namespace internal

absl::StatusOr<Config> Parse(std::string_view text, std::string_view file_name) {
  return internal::ParseWithLookup(text, file_name, HostLookup::kResolve);
}

absl::StatusOr<Config> LoadFile(const std::string& path) {
  JG_ASSIGN_OR_RETURN(const std::string text, ReadFileBounded(path));
  return Parse(text, path);
}

}  // namespace jitgate::config
