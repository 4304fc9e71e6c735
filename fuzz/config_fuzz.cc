// fuzz/config_fuzz.cc: libFuzzer target for the configuration parser (src/config).
//
// Feeds the input to ParseWithLookup with HostLookup::kNumericOnly, so no input makes the target
// read /etc/hosts or send DNS queries (numeric addresses go through getaddrinfo as in production).
// Properties checked, beyond "no crash, leak or sanitizer report":
//  - an error is InvalidArgument, starts with the file name, is bounded and printable;
//  - an accepted Config satisfies the invariant written in config.cc's header;
//  - round trip: an accepted Config written back as JSON parses to an identical Config.
// Seed corpus: fuzz/corpus/config/.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/config.h"
#include "src/config/config_internal.h"

namespace jitgate::config {
namespace {

constexpr char kFileName[] = "fuzz.json";
// Error messages quote at most 64 characters of any value, so they stay short whatever the input.
constexpr size_t kMessageSizeMax = 4096;

absl::StatusOr<Config> ParseNumeric(std::string_view text) {
  return internal::ParseWithLookup(text, kFileName, internal::HostLookup::kNumericOnly);
}

void CheckError(const absl::Status& status) {
  JG_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  JG_CHECK(message.rfind(absl::StrCat(kFileName, ": "), 0) == 0);
  JG_CHECK(message.size() <= kMessageSizeMax);
  for (char c : message) {
    JG_CHECK(c >= ' ' && c < 0x7f);  // safe to log as one line
  }
}

void CheckInvariants(const Config& config) {
  JG_CHECK(config.path == kFileName);
  JG_CHECK(config.shard_count >= 1 && config.shard_count <= 256);
  JG_CHECK(!config.resources.empty() && config.resources.size() <= 256);
  JG_CHECK(!config.listeners.empty() && config.listeners.size() <= 256);
  for (const Listener& listener : config.listeners) {
    JG_CHECK(listener.resource_index < config.resources.size());
    const Resource& resource = config.resources[listener.resource_index];
    JG_CHECK(resource.name == listener.resource_name);
    JG_CHECK(resource.protocol == listener.protocol);
    JG_CHECK(listener.address.addr_length > 0);
  }
  const Limits& limits = config.limits;
  JG_CHECK(limits.buffer_size >= 4096 && limits.buffer_size <= 65536);
  JG_CHECK((limits.buffer_size & (limits.buffer_size - 1)) == 0);
  JG_CHECK((limits.buffer_count & (limits.buffer_count - 1)) == 0);
  JG_CHECK((limits.ring_entries & (limits.ring_entries - 1)) == 0);
  JG_CHECK(limits.send_zc_min_bytes == 0 || limits.send_zc_min_bytes >= 1024);
}

// A JSON string literal for `text` (names and addresses are printable ASCII, but escape anyway).
std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string ToJson(const Config& config) {
  std::string json = absl::StrCat(
      "{\"shards\": ", config.shards_auto ? "\"auto\"" : absl::StrCat(config.shard_count),
      ", \"pin_shards\": ", config.pin_shards ? "true" : "false", ", \"resources\": {");
  for (size_t i = 0; i < config.resources.size(); ++i) {
    const Resource& resource = config.resources[i];
    absl::StrAppend(&json, i == 0 ? "" : ", ", JsonString(resource.name), ": {\"protocol\": \"",
                    std::string(ProtocolName(resource.protocol)),
                    "\", \"address\": ", JsonString(resource.address.text), "}");
  }
  absl::StrAppend(&json, "}, \"listeners\": [");
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const Listener& listener = config.listeners[i];
    absl::StrAppend(&json, i == 0 ? "" : ", ", "{\"name\": ", JsonString(listener.name),
                    ", \"protocol\": \"", std::string(ProtocolName(listener.protocol)),
                    "\", \"address\": ", JsonString(listener.address.text),
                    ", \"resource\": ", JsonString(listener.resource_name), "}");
  }
  const Limits& l = config.limits;
  absl::StrAppend(
      &json, "], \"limits\": {\"sessions_per_shard_max\": ", l.sessions_per_shard_max,
      ", \"idle_timeout_s\": ", l.idle_timeout_s,
      ", \"connect_timeout_ms\": ", l.connect_timeout_ms,
      ", \"shutdown_grace_s\": ", l.shutdown_grace_s, ", \"buffer_size\": ", l.buffer_size,
      ", \"buffer_count\": ", l.buffer_count,
      ", \"buffers_in_flight_per_direction_max\": ", l.buffers_in_flight_per_direction_max,
      ", \"send_zc_min_bytes\": ", l.send_zc_min_bytes, ", \"ring_entries\": ", l.ring_entries,
      "}}");
  return json;
}

bool SameEndpoint(const Endpoint& a, const Endpoint& b) {
  return a.text == b.text && a.addr_length == b.addr_length &&
         std::memcmp(&a.addr, &b.addr, a.addr_length) == 0;
}

void CheckSame(const Config& a, const Config& b) {
  JG_CHECK(a.shard_count == b.shard_count && a.shards_auto == b.shards_auto);
  JG_CHECK(a.pin_shards == b.pin_shards);
  JG_CHECK(a.resources.size() == b.resources.size());
  for (size_t i = 0; i < a.resources.size(); ++i) {
    JG_CHECK(a.resources[i].name == b.resources[i].name);
    JG_CHECK(a.resources[i].protocol == b.resources[i].protocol);
    JG_CHECK(SameEndpoint(a.resources[i].address, b.resources[i].address));
  }
  JG_CHECK(a.listeners.size() == b.listeners.size());
  for (size_t i = 0; i < a.listeners.size(); ++i) {
    JG_CHECK(a.listeners[i].name == b.listeners[i].name);
    JG_CHECK(a.listeners[i].protocol == b.listeners[i].protocol);
    JG_CHECK(SameEndpoint(a.listeners[i].address, b.listeners[i].address));
    JG_CHECK(a.listeners[i].resource_name == b.listeners[i].resource_name);
    JG_CHECK(a.listeners[i].resource_index == b.listeners[i].resource_index);
  }
  const Limits& x = a.limits;
  const Limits& y = b.limits;
  JG_CHECK(x.sessions_per_shard_max == y.sessions_per_shard_max);
  JG_CHECK(x.idle_timeout_s == y.idle_timeout_s && x.connect_timeout_ms == y.connect_timeout_ms);
  JG_CHECK(x.shutdown_grace_s == y.shutdown_grace_s && x.buffer_size == y.buffer_size);
  JG_CHECK(x.buffer_count == y.buffer_count && x.ring_entries == y.ring_entries);
  JG_CHECK(x.buffers_in_flight_per_direction_max == y.buffers_in_flight_per_direction_max);
  JG_CHECK(x.send_zc_min_bytes == y.send_zc_min_bytes);
}

void FuzzOne(std::string_view text) {
  const absl::StatusOr<Config> config = ParseNumeric(text);
  if (!config.ok()) {
    CheckError(config.status());
    return;
  }
  CheckInvariants(*config);
  const absl::StatusOr<Config> again = ParseNumeric(ToJson(*config));
  JG_CHECK(again.ok());
  CheckSame(*config, *again);
}

}  // namespace
}  // namespace jitgate::config

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jitgate::config::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
