// fuzz/config_fuzz.cc: libFuzzer target for the configuration parser (src/config).
//
// Feeds the input to ParseWithLookup with HostLookup::kNumericOnly, so no input makes the target
// read /etc/hosts or send DNS queries (numeric addresses go through getaddrinfo as in production).
// Properties checked, beyond "no crash, leak or sanitizer report":
//  - an error is InvalidArgument, starts with the file name, is bounded and printable;
//  - an accepted Config satisfies the invariant written in config.cc's and gateway.cc's headers
//    and the bounds config.h documents beside each field (listener modes: a relay's resource
//    index is checked only for relays; a gateway listener speaks postgres and needs an identity
//    and a policy; each policy's resource indexes name postgres resources with a user);
//  - round trip: an accepted Config written back as JSON (every section: listener modes and TLS
//    files, identity, resource backend login and TLS, policies, grants, limits) parses to an
//    identical Config.
// Seed corpus: fuzz/corpus/config/ (valid_* seeds parse, bad_* seeds are refused).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

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

// Bounds as include/jitgate/config.h documents them (kept apart from src/config's own constants,
// so a drift between the header and the parser shows up here).
constexpr size_t kCountMax = 256;  // shards, resources, listeners, policies
constexpr size_t kNameLengthMax = 64;
constexpr size_t kPgIdentifierLengthMax = 63;  // NAMEDATALEN - 1
constexpr size_t kPathLengthMax = 4096;
constexpr size_t kHostNameLengthMax = 253;
constexpr size_t kUrlLengthMax = 512;
constexpr size_t kEnvNameLengthMax = 128;
constexpr size_t kIssuersMax = 16;
constexpr size_t kAudiencesMax = 16;
constexpr size_t kTenantsMax = 64;
constexpr size_t kTenantLengthMax = 253;
constexpr size_t kMatchEntriesMax = 256;
constexpr size_t kMatchEntryLengthMax = 256;
constexpr size_t kPolicyResourcesMax = 256;

absl::string_view AbslView(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

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

// ---------------------------------------------------------------------------------------------
// Invariants of an accepted Config.

// 1..length_max printable ASCII characters (what ReadText accepts).
bool IsText(std::string_view text, size_t length_max) {
  return !text.empty() && text.size() <= length_max &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= ' ' && c < 0x7f; });
}

// Empty, or a text of at most length_max.
bool IsOptionalText(std::string_view text, size_t length_max) {
  return text.empty() || IsText(text, length_max);
}

// [A-Za-z0-9_-], 1..64.
bool IsName(std::string_view name) {
  return !name.empty() && name.size() <= kNameLengthMax &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

// [A-Za-z_][A-Za-z0-9_]*, 1..128.
bool IsEnvName(std::string_view name) {
  return !name.empty() && name.size() <= kEnvNameLengthMax && !(name[0] >= '0' && name[0] <= '9') &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_';
         });
}

bool AllText(const std::vector<std::string>& list, size_t length_max) {
  return std::all_of(list.begin(), list.end(),
                     [&](const std::string& text) { return IsText(text, length_max); });
}

void CheckResource(const Resource& resource) {
  JG_CHECK(IsName(resource.name));
  JG_CHECK(resource.address.addr_length > 0);
  JG_CHECK(resource.address.addr_length <= sizeof(resource.address.addr));
  // config.h documents 1..63 bytes, but the default is the resource name, and a resource name may
  // be 64 characters: a 64-character name without "database" is accepted with a 64-byte database.
  // Checked as the parser behaves (src/config owns the fix); see the fuzz target's report.
  JG_CHECK(IsText(resource.database, kPgIdentifierLengthMax) ||
           (resource.database == resource.name && IsText(resource.database, kNameLengthMax)));
  JG_CHECK(IsOptionalText(resource.user, kPgIdentifierLengthMax));
  JG_CHECK(resource.password_env.empty() || resource.password_file.empty());
  JG_CHECK(resource.password_env.empty() || IsEnvName(resource.password_env));
  JG_CHECK(IsOptionalText(resource.password_file, kPathLengthMax));
  const bool has_password_source =
      !resource.password_env.empty() || !resource.password_file.empty();
  JG_CHECK(!has_password_source || !resource.user.empty());  // a password belongs to a login
  const bool verify =
      resource.tls == BackendTls::kVerifyCa || resource.tls == BackendTls::kVerifyFull;
  JG_CHECK(verify == !resource.tls_ca_file.empty());  // required for verify-*, refused else
  JG_CHECK(IsOptionalText(resource.tls_ca_file, kPathLengthMax));
  // Defaulted to the address's host when TLS is on; refused with "disable".
  JG_CHECK((resource.tls == BackendTls::kDisable) == resource.tls_server_name.empty());
  JG_CHECK(IsOptionalText(resource.tls_server_name, kHostNameLengthMax));
  JG_CHECK(resource.password.empty());  // Parse never reads a secret
}

void CheckListener(const Config& config, size_t index) {
  const Listener& listener = config.listeners[index];
  JG_CHECK(IsName(listener.name));
  JG_CHECK(listener.address.addr_length > 0);
  JG_CHECK(listener.address.addr_length <= sizeof(listener.address.addr));
  for (size_t i = 0; i < index; ++i) {
    JG_CHECK(config.listeners[i].name != listener.name);
  }
  switch (listener.mode) {
    case ListenerMode::kRelay: {
      JG_CHECK(listener.resource_index < config.resources.size());
      const Resource& resource = config.resources[listener.resource_index];
      JG_CHECK(resource.name == listener.resource_name);
      JG_CHECK(resource.protocol == listener.protocol);
      JG_CHECK(listener.tls_cert_file.empty() && listener.tls_key_file.empty());
      return;
    }
    case ListenerMode::kGatewayTls:
    case ListenerMode::kGatewayInsecure: {
      JG_CHECK(listener.protocol == Protocol::kPostgres);  // for now
      JG_CHECK(listener.resource_name.empty() && listener.resource_index == 0);
      JG_CHECK(config.identity.has_value());
      JG_CHECK(!config.policies.empty());
      const bool tls = listener.mode == ListenerMode::kGatewayTls;
      JG_CHECK(tls ? IsText(listener.tls_cert_file, kPathLengthMax)
                   : listener.tls_cert_file.empty());
      JG_CHECK(tls ? IsText(listener.tls_key_file, kPathLengthMax) : listener.tls_key_file.empty());
      return;
    }
  }
  JG_CHECK(false && "listener mode out of range");
}

void CheckIdentity(const IdentityProvider& identity) {
  JG_CHECK(!identity.issuers.empty() && identity.issuers.size() <= kIssuersMax);
  JG_CHECK(AllText(identity.issuers, kUrlLengthMax));
  JG_CHECK(!identity.audiences.empty() && identity.audiences.size() <= kAudiencesMax);
  JG_CHECK(AllText(identity.audiences, kUrlLengthMax));
  JG_CHECK(identity.tenants.size() <= kTenantsMax);
  JG_CHECK(AllText(identity.tenants, kTenantLengthMax));
  JG_CHECK(identity.jwks_file.empty() != identity.jwks_url.empty());  // exactly one
  JG_CHECK(IsOptionalText(identity.jwks_file, kPathLengthMax));
  if (!identity.jwks_url.empty()) {
    JG_CHECK(IsText(identity.jwks_url, kUrlLengthMax));
    JG_CHECK(identity.jwks_url.rfind("https://", 0) == 0 && identity.jwks_url.size() > 8);
  }
  JG_CHECK(identity.jwks_ca_file.empty() || !identity.jwks_url.empty());  // refused with a file
  JG_CHECK(IsOptionalText(identity.jwks_ca_file, kPathLengthMax));
  JG_CHECK(identity.clock_skew_s <= 600);
  JG_CHECK(identity.jwks_refresh_s >= 60 && identity.jwks_refresh_s <= 86400);
  JG_CHECK(identity.unknown_kid_refresh_min_s >= 1 && identity.unknown_kid_refresh_min_s <= 86400);
}

void CheckPolicy(const Config& config, size_t index) {
  const Policy& policy = config.policies[index];
  JG_CHECK(IsName(policy.name));
  for (size_t i = 0; i < index; ++i) {
    JG_CHECK(config.policies[i].name != policy.name);
  }
  JG_CHECK(!policy.match_groups.empty() || !policy.match_roles.empty() ||
           !policy.match_subjects.empty());
  for (const std::vector<std::string>* list :
       {&policy.match_groups, &policy.match_roles, &policy.match_subjects}) {
    JG_CHECK(list->size() <= kMatchEntriesMax);
    JG_CHECK(AllText(*list, kMatchEntryLengthMax));
  }
  JG_CHECK(!policy.resource_names.empty() && policy.resource_names.size() <= kPolicyResourcesMax);
  JG_CHECK(policy.resource_indexes.size() == policy.resource_names.size());
  for (size_t i = 0; i < policy.resource_indexes.size(); ++i) {
    const uint32_t r = policy.resource_indexes[i];
    JG_CHECK(r < config.resources.size());
    const Resource& resource = config.resources[r];
    JG_CHECK(resource.name == policy.resource_names[i]);
    JG_CHECK(resource.protocol == Protocol::kPostgres);
    JG_CHECK(!resource.user.empty());
    for (size_t e = 0; e < i; ++e) {
      JG_CHECK(policy.resource_indexes[e] != r);  // distinct
    }
  }
  JG_CHECK(policy.mode == AccessMode::kAuto || policy.mode == AccessMode::kApproval);
  JG_CHECK(policy.max_duration_s >= 1 && policy.max_duration_s <= 86400);
}

bool IsPowerOfTwo(uint32_t n) { return n != 0 && (n & (n - 1)) == 0; }

void CheckLimits(const Limits& limits) {
  JG_CHECK(limits.sessions_per_shard_max >= 1 && limits.sessions_per_shard_max <= 1000000);
  JG_CHECK(limits.idle_timeout_s <= 604800);
  JG_CHECK(limits.connect_timeout_ms >= 1 && limits.connect_timeout_ms <= 600000);
  JG_CHECK(limits.shutdown_grace_s <= 3600);
  JG_CHECK(limits.buffer_size >= 4096 && limits.buffer_size <= 65536);
  JG_CHECK(IsPowerOfTwo(limits.buffer_size));
  JG_CHECK(limits.buffer_count >= 64 && limits.buffer_count <= 32768);
  JG_CHECK(IsPowerOfTwo(limits.buffer_count));
  JG_CHECK(limits.buffers_in_flight_per_direction_max >= 2 &&
           limits.buffers_in_flight_per_direction_max <= 64);
  JG_CHECK(limits.send_zc_min_bytes == 0 || limits.send_zc_min_bytes >= 1024);
  JG_CHECK(limits.ring_entries >= 64 && limits.ring_entries <= 32768);
  JG_CHECK(IsPowerOfTwo(limits.ring_entries));
  JG_CHECK(limits.auth_timeout_ms >= 100 && limits.auth_timeout_ms <= 600000);
  JG_CHECK(limits.startup_packet_size_max >= 1024 && limits.startup_packet_size_max <= 65536);
  JG_CHECK(limits.token_cache_entries <= 1048576);
  JG_CHECK(limits.cancel_keys_max >= 1 && limits.cancel_keys_max <= 16777216);
}

void CheckInvariants(const Config& config) {
  JG_CHECK(config.path == kFileName);
  JG_CHECK(config.shard_count >= 1 && config.shard_count <= kCountMax);
  JG_CHECK(!config.resources.empty() && config.resources.size() <= kCountMax);
  JG_CHECK(!config.listeners.empty() && config.listeners.size() <= kCountMax);
  JG_CHECK(config.policies.size() <= kCountMax);
  for (size_t i = 0; i < config.resources.size(); ++i) {
    CheckResource(config.resources[i]);
    for (size_t e = 0; e < i; ++e) {
      JG_CHECK(config.resources[e].name != config.resources[i].name);
    }
  }
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    CheckListener(config, i);
  }
  if (config.identity.has_value()) {
    CheckIdentity(*config.identity);
  }
  for (size_t i = 0; i < config.policies.size(); ++i) {
    CheckPolicy(config, i);
  }
  JG_CHECK(IsOptionalText(config.grants.log_file, kPathLengthMax));
  CheckLimits(config.limits);
}

// ---------------------------------------------------------------------------------------------
// Round trip: Config -> JSON.

// A JSON string literal for `text` (accepted values are printable ASCII, but escape anyway).
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

std::string JsonStringList(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", JsonString(list[i]));
  }
  return out + "]";
}

const char* JsonBool(bool value) { return value ? "true" : "false"; }

// `, "key": "value"` when value is non-empty (the key's absence is how the file says "none").
std::string OptionalMember(absl::string_view key, std::string_view value) {
  return value.empty() ? std::string() : absl::StrCat(", \"", key, "\": ", JsonString(value));
}

std::string ResourceJson(const Resource& resource) {
  // "database" is written always, although it defaults to the name, so the reader must accept what
  // it produced -- except for the 64-character-name default, which it would refuse (see
  // CheckResource).
  const bool write_database = resource.database.size() <= kPgIdentifierLengthMax;
  return absl::StrCat(
      JsonString(resource.name), ": {\"protocol\": \"", AbslView(ProtocolName(resource.protocol)),
      "\", \"address\": ", JsonString(resource.address.text),
      write_database ? OptionalMember("database", resource.database) : std::string(),
      OptionalMember("user", resource.user), OptionalMember("password_env", resource.password_env),
      OptionalMember("password_file", resource.password_file), ", \"tls\": \"",
      AbslView(BackendTlsName(resource.tls)), "\"", OptionalMember("tls_ca", resource.tls_ca_file),
      OptionalMember("tls_server_name", resource.tls_server_name), "}");
}

std::string ListenerJson(const Listener& listener) {
  std::string json = absl::StrCat("{\"name\": ", JsonString(listener.name), ", \"protocol\": \"",
                                  AbslView(ProtocolName(listener.protocol)),
                                  "\", \"address\": ", JsonString(listener.address.text));
  switch (listener.mode) {
    case ListenerMode::kRelay:
      absl::StrAppend(&json, ", \"resource\": ", JsonString(listener.resource_name));
      break;
    case ListenerMode::kGatewayTls:
      absl::StrAppend(&json, ", \"tls\": {\"cert\": ", JsonString(listener.tls_cert_file),
                      ", \"key\": ", JsonString(listener.tls_key_file), "}");
      break;
    case ListenerMode::kGatewayInsecure:
      absl::StrAppend(&json, ", \"insecure\": true");
      break;
  }
  return json + "}";
}

std::string IdentityJson(const IdentityProvider& identity) {
  // A one-entry list is written in the singular ("issuer"), a longer one in the plural
  // ("issuers"), so the round trip reads both spellings back.
  const auto one_or_many = [](absl::string_view one, absl::string_view many,
                              const std::vector<std::string>& list) {
    if (list.empty()) {
      return std::string();
    }
    if (list.size() == 1) {
      return absl::StrCat("\"", one, "\": ", JsonString(list[0]), ", ");
    }
    return absl::StrCat("\"", many, "\": ", JsonStringList(list), ", ");
  };
  return absl::StrCat("{", one_or_many("issuer", "issuers", identity.issuers),
                      one_or_many("audience", "audiences", identity.audiences),
                      one_or_many("tenant", "tenants", identity.tenants),
                      "\"clock_skew_s\": ", identity.clock_skew_s,
                      ", \"jwks_refresh_s\": ", identity.jwks_refresh_s,
                      ", \"unknown_kid_refresh_min_s\": ", identity.unknown_kid_refresh_min_s,
                      ", \"require_roles_or_scp\": ", JsonBool(identity.require_roles_or_scp),
                      OptionalMember("jwks_file", identity.jwks_file),
                      OptionalMember("jwks_url", identity.jwks_url),
                      OptionalMember("jwks_ca", identity.jwks_ca_file), "}");
}

std::string PolicyJson(const Policy& policy) {
  return absl::StrCat("{\"name\": ", JsonString(policy.name),
                      ", \"match\": {\"groups\": ", JsonStringList(policy.match_groups),
                      ", \"roles\": ", JsonStringList(policy.match_roles),
                      ", \"subjects\": ", JsonStringList(policy.match_subjects),
                      "}, \"resources\": ", JsonStringList(policy.resource_names),
                      ", \"access\": {\"mode\": \"", AbslView(AccessModeName(policy.mode)),
                      "\", \"max_duration_s\": ", policy.max_duration_s, "}}");
}

std::string ToJson(const Config& config) {
  std::string json = absl::StrCat(
      "{\"shards\": ", config.shards_auto ? "\"auto\"" : absl::StrCat(config.shard_count),
      ", \"pin_shards\": ", JsonBool(config.pin_shards), ", \"resources\": {");
  for (size_t i = 0; i < config.resources.size(); ++i) {
    absl::StrAppend(&json, i == 0 ? "" : ", ", ResourceJson(config.resources[i]));
  }
  absl::StrAppend(&json, "}, \"listeners\": [");
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    absl::StrAppend(&json, i == 0 ? "" : ", ", ListenerJson(config.listeners[i]));
  }
  absl::StrAppend(&json, "]");
  if (config.identity.has_value()) {
    absl::StrAppend(&json, ", \"identity\": ", IdentityJson(*config.identity));
  }
  if (!config.policies.empty()) {
    absl::StrAppend(&json, ", \"policies\": [");
    for (size_t i = 0; i < config.policies.size(); ++i) {
      absl::StrAppend(&json, i == 0 ? "" : ", ", PolicyJson(config.policies[i]));
    }
    absl::StrAppend(&json, "]");
  }
  absl::StrAppend(&json, ", \"grants\": {\"fsync\": ", JsonBool(config.grants.fsync),
                  OptionalMember("log", config.grants.log_file), "}");
  const Limits& l = config.limits;
  absl::StrAppend(
      &json, ", \"limits\": {\"sessions_per_shard_max\": ", l.sessions_per_shard_max,
      ", \"idle_timeout_s\": ", l.idle_timeout_s,
      ", \"connect_timeout_ms\": ", l.connect_timeout_ms,
      ", \"shutdown_grace_s\": ", l.shutdown_grace_s, ", \"buffer_size\": ", l.buffer_size,
      ", \"buffer_count\": ", l.buffer_count,
      ", \"buffers_in_flight_per_direction_max\": ", l.buffers_in_flight_per_direction_max,
      ", \"send_zc_min_bytes\": ", l.send_zc_min_bytes, ", \"ring_entries\": ", l.ring_entries,
      ", \"auth_timeout_ms\": ", l.auth_timeout_ms,
      ", \"startup_packet_size_max\": ", l.startup_packet_size_max,
      ", \"token_cache_entries\": ", l.token_cache_entries,
      ", \"cancel_keys_max\": ", l.cancel_keys_max, "}}");
  return json;
}

// ---------------------------------------------------------------------------------------------
// Round trip: the two Configs are equal.

bool SameEndpoint(const Endpoint& a, const Endpoint& b) {
  return a.text == b.text && a.addr_length == b.addr_length &&
         std::memcmp(&a.addr, &b.addr, a.addr_length) == 0;
}

void CheckSameResource(const Resource& a, const Resource& b) {
  JG_CHECK(a.name == b.name && a.protocol == b.protocol);
  JG_CHECK(SameEndpoint(a.address, b.address));
  JG_CHECK(a.database == b.database && a.user == b.user);
  JG_CHECK(a.password_env == b.password_env && a.password_file == b.password_file);
  JG_CHECK(a.tls == b.tls && a.tls_ca_file == b.tls_ca_file);
  JG_CHECK(a.tls_server_name == b.tls_server_name);
  JG_CHECK(a.password == b.password);
}

void CheckSameListener(const Listener& a, const Listener& b) {
  JG_CHECK(a.name == b.name && a.protocol == b.protocol && a.mode == b.mode);
  JG_CHECK(SameEndpoint(a.address, b.address));
  JG_CHECK(a.resource_name == b.resource_name && a.resource_index == b.resource_index);
  JG_CHECK(a.tls_cert_file == b.tls_cert_file && a.tls_key_file == b.tls_key_file);
}

void CheckSameIdentity(const IdentityProvider& a, const IdentityProvider& b) {
  JG_CHECK(a.issuers == b.issuers && a.audiences == b.audiences && a.tenants == b.tenants);
  JG_CHECK(a.jwks_file == b.jwks_file && a.jwks_url == b.jwks_url);
  JG_CHECK(a.jwks_ca_file == b.jwks_ca_file);
  JG_CHECK(a.clock_skew_s == b.clock_skew_s && a.jwks_refresh_s == b.jwks_refresh_s);
  JG_CHECK(a.unknown_kid_refresh_min_s == b.unknown_kid_refresh_min_s);
  JG_CHECK(a.require_roles_or_scp == b.require_roles_or_scp);
}

void CheckSamePolicy(const Policy& a, const Policy& b) {
  JG_CHECK(a.name == b.name);
  JG_CHECK(a.match_groups == b.match_groups && a.match_roles == b.match_roles);
  JG_CHECK(a.match_subjects == b.match_subjects);
  JG_CHECK(a.resource_names == b.resource_names && a.resource_indexes == b.resource_indexes);
  JG_CHECK(a.mode == b.mode && a.max_duration_s == b.max_duration_s);
}

void CheckSame(const Config& a, const Config& b) {
  JG_CHECK(a.shard_count == b.shard_count && a.shards_auto == b.shards_auto);
  JG_CHECK(a.pin_shards == b.pin_shards);
  JG_CHECK(a.resources.size() == b.resources.size());
  for (size_t i = 0; i < a.resources.size(); ++i) {
    CheckSameResource(a.resources[i], b.resources[i]);
  }
  JG_CHECK(a.listeners.size() == b.listeners.size());
  for (size_t i = 0; i < a.listeners.size(); ++i) {
    CheckSameListener(a.listeners[i], b.listeners[i]);
  }
  JG_CHECK(a.identity.has_value() == b.identity.has_value());
  if (a.identity.has_value()) {
    CheckSameIdentity(*a.identity, *b.identity);
  }
  JG_CHECK(a.policies.size() == b.policies.size());
  for (size_t i = 0; i < a.policies.size(); ++i) {
    CheckSamePolicy(a.policies[i], b.policies[i]);
  }
  JG_CHECK(a.grants.log_file == b.grants.log_file && a.grants.fsync == b.grants.fsync);
  const Limits& x = a.limits;
  const Limits& y = b.limits;
  JG_CHECK(x.sessions_per_shard_max == y.sessions_per_shard_max);
  JG_CHECK(x.idle_timeout_s == y.idle_timeout_s && x.connect_timeout_ms == y.connect_timeout_ms);
  JG_CHECK(x.shutdown_grace_s == y.shutdown_grace_s && x.buffer_size == y.buffer_size);
  JG_CHECK(x.buffer_count == y.buffer_count && x.ring_entries == y.ring_entries);
  JG_CHECK(x.buffers_in_flight_per_direction_max == y.buffers_in_flight_per_direction_max);
  JG_CHECK(x.send_zc_min_bytes == y.send_zc_min_bytes);
  JG_CHECK(x.auth_timeout_ms == y.auth_timeout_ms);
  JG_CHECK(x.startup_packet_size_max == y.startup_packet_size_max);
  JG_CHECK(x.token_cache_entries == y.token_cache_entries);
  JG_CHECK(x.cancel_keys_max == y.cancel_keys_max);
}

void FuzzOne(std::string_view text) {
  const absl::StatusOr<Config> config = ParseNumeric(text);
  if (!config.ok()) {
    CheckError(config.status());
    return;
  }
  CheckInvariants(*config);
  const std::string json = ToJson(*config);
  const absl::StatusOr<Config> again = ParseNumeric(json);
  if (!again.ok()) {
    // Say why before aborting: the written-back JSON is the bug report.
    fprintf(stderr, "config_fuzz: round trip refused: %s\n  json: %s\n",
            std::string(again.status().message()).c_str(), json.c_str());
  }
  JG_CHECK(again.ok());
  CheckInvariants(*again);
  CheckSame(*config, *again);
}

}  // namespace
}  // namespace jitgate::config

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jitgate::config::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
