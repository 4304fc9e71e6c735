// tests/config/config_test.cc: unit tests of src/config (jitgate/config.h).
//
// Valid documents check every field of the resulting Config; invalid ones check the error's code,
// its exact "<file>: <json path>: " prefix and the gist of what was expected. Host name resolution
// uses only "localhost" (in /etc/hosts) and names under ".invalid" (RFC 6761: never resolve).
#include "jitgate/config.h"

#include <arpa/inet.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/config/config_internal.h"

namespace jitgate::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kFile[] = "jitgate.json";

constexpr char kFullExample[] = R"json({
  "shards": "auto",
  "pin_shards": true,
  "listeners": [
    {"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432", "resource": "main"},
    {"name": "my", "protocol": "mysql", "address": "[::1]:6033", "resource": "mydb"}
  ],
  "resources": {
    "main": {"protocol": "postgres", "address": "127.0.0.1:5432"},
    "mydb": {"protocol": "mysql", "address": "localhost:3306"}
  },
  "limits": {"sessions_per_shard_max": 10000, "idle_timeout_s": 600, "connect_timeout_ms": 5000,
             "shutdown_grace_s": 10, "buffer_size": 16384, "buffer_count": 4096,
             "buffers_in_flight_per_direction_max": 16, "send_zc_min_bytes": 0, "ring_entries": 1024}
}
)json";

constexpr char kListener[] =
    R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432", "resource": "main"})";
constexpr char kResources[] =
    R"("main": {"protocol": "postgres", "address": "127.0.0.1:5432"},
       "mydb": {"protocol": "mysql", "address": "127.0.0.1:3306"})";

// A valid document built from its parts; `extra` is spliced in as further top-level members.
std::string Doc(const std::string& listeners = kListener, const std::string& resources = kResources,
                const std::string& extra = "") {
  return absl::StrCat(R"({"listeners": [)", listeners, R"(], "resources": {)", resources, "}",
                      extra.empty() ? "" : ", ", extra, "}");
}

std::string WithLimits(const std::string& limits) {
  return Doc(kListener, kResources, absl::StrCat(R"("limits": {)", limits, "}"));
}

std::string WithAddress(const std::string& address) {
  return Doc(absl::StrReplaceAll(kListener, {{"127.0.0.1:6432", address}}));
}

// Expects InvalidArgument with message "jitgate.json: <path>: ..." containing `gist`.
void ExpectInvalid(const std::string& text, const std::string& path, const std::string& gist) {
  SCOPED_TRACE(text);
  const absl::StatusOr<Config> config = Parse(text, kFile);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, StartsWith(absl::StrCat(kFile, ": ", path, ": ")));
  EXPECT_THAT(message, HasSubstr(gist));
}

std::string ErrorMessage(const std::string& text) {
  const absl::StatusOr<Config> config = Parse(text, kFile);
  return config.ok() ? "OK" : std::string(config.status().message());
}

uint16_t PortOf(const Endpoint& endpoint) {
  if (endpoint.addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(endpoint.addr).sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in&>(endpoint.addr).sin_port);
}

uint32_t AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  return static_cast<uint32_t>(std::clamp(CPU_COUNT(&set), 1, 256));
}

TEST(ConfigParse, FullExample) {
  const absl::StatusOr<Config> config = Parse(kFullExample, kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->path, kFile);
  EXPECT_TRUE(config->shards_auto);
  EXPECT_EQ(config->shard_count, AffinityCpus());
  EXPECT_TRUE(config->pin_shards);

  ASSERT_EQ(config->resources.size(), 2u);
  EXPECT_EQ(config->resources[0].name, "main");
  EXPECT_EQ(config->resources[0].protocol, Protocol::kPostgres);
  EXPECT_EQ(config->resources[0].address.text, "127.0.0.1:5432");
  EXPECT_EQ(config->resources[0].address.addr.ss_family, AF_INET);
  EXPECT_EQ(config->resources[0].address.addr_length, sizeof(sockaddr_in));
  EXPECT_EQ(PortOf(config->resources[0].address), 5432);
  EXPECT_EQ(config->resources[1].name, "mydb");
  EXPECT_EQ(config->resources[1].protocol, Protocol::kMysql);
  EXPECT_EQ(config->resources[1].address.text, "localhost:3306");
  EXPECT_EQ(PortOf(config->resources[1].address), 3306);

  ASSERT_EQ(config->listeners.size(), 2u);
  const Listener& pg = config->listeners[0];
  EXPECT_EQ(pg.name, "pg");
  EXPECT_EQ(pg.protocol, Protocol::kPostgres);
  EXPECT_EQ(pg.address.text, "127.0.0.1:6432");
  EXPECT_EQ(PortOf(pg.address), 6432);
  EXPECT_EQ(pg.resource_name, "main");
  EXPECT_EQ(pg.resource_index, 0u);
  const Listener& my = config->listeners[1];
  EXPECT_EQ(my.name, "my");
  EXPECT_EQ(my.protocol, Protocol::kMysql);
  EXPECT_EQ(my.address.addr.ss_family, AF_INET6);
  EXPECT_EQ(my.address.addr_length, sizeof(sockaddr_in6));
  EXPECT_EQ(PortOf(my.address), 6033);
  EXPECT_EQ(my.resource_name, "mydb");
  EXPECT_EQ(my.resource_index, 1u);

  EXPECT_EQ(config->limits.sessions_per_shard_max, 10000u);
  EXPECT_EQ(config->limits.idle_timeout_s, 600u);
  EXPECT_EQ(config->limits.connect_timeout_ms, 5000u);
  EXPECT_EQ(config->limits.shutdown_grace_s, 10u);
  EXPECT_EQ(config->limits.buffer_size, 16384u);
  EXPECT_EQ(config->limits.buffer_count, 4096u);
  EXPECT_EQ(config->limits.buffers_in_flight_per_direction_max, 16u);
  EXPECT_EQ(config->limits.send_zc_min_bytes, 0u);
  EXPECT_EQ(config->limits.ring_entries, 1024u);
}

TEST(ConfigParse, DefaultsApplied) {
  const absl::StatusOr<Config> config = Parse(Doc(), "<inline>");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->path, "<inline>");
  EXPECT_TRUE(config->shards_auto);
  EXPECT_GE(config->shard_count, 1u);
  EXPECT_TRUE(config->pin_shards);
  const Limits defaults;
  EXPECT_EQ(config->limits.sessions_per_shard_max, defaults.sessions_per_shard_max);
  EXPECT_EQ(config->limits.idle_timeout_s, defaults.idle_timeout_s);
  EXPECT_EQ(config->limits.connect_timeout_ms, defaults.connect_timeout_ms);
  EXPECT_EQ(config->limits.shutdown_grace_s, defaults.shutdown_grace_s);
  EXPECT_EQ(config->limits.buffer_size, defaults.buffer_size);
  EXPECT_EQ(config->limits.buffer_count, defaults.buffer_count);
  EXPECT_EQ(config->limits.buffers_in_flight_per_direction_max,
            defaults.buffers_in_flight_per_direction_max);
  EXPECT_EQ(config->limits.send_zc_min_bytes, defaults.send_zc_min_bytes);
  EXPECT_EQ(config->limits.ring_entries, defaults.ring_entries);
}

TEST(ConfigParse, PartialLimitsKeepOtherDefaults) {
  const absl::StatusOr<Config> config =
      Parse(WithLimits(R"("buffer_size": 4096, "connect_timeout_ms": 2e3)"), kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits.buffer_size, 4096u);
  EXPECT_EQ(config->limits.connect_timeout_ms, 2000u);  // an integral double is an integer
  EXPECT_EQ(config->limits.buffer_count, Limits{}.buffer_count);
}

TEST(ConfigParse, ShardsAutoResolvesToAffinityCpus) {
  const absl::StatusOr<Config> config =
      Parse(Doc(kListener, kResources, R"("shards": "auto")"), kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->shards_auto);
  EXPECT_GE(config->shard_count, 1u);
  EXPECT_EQ(config->shard_count, AffinityCpus());
}

TEST(ConfigParse, ShardsAndPinExplicit) {
  const absl::StatusOr<Config> config =
      Parse(Doc(kListener, kResources, R"("shards": 4, "pin_shards": false)"), kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->shards_auto);
  EXPECT_EQ(config->shard_count, 4u);
  EXPECT_FALSE(config->pin_shards);
  EXPECT_TRUE(config->balance_shards);  // the default
  const absl::StatusOr<Config> kernel =
      Parse(Doc(kListener, kResources, R"("shards": 2, "balance_shards": false)"), kFile);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_FALSE(kernel->balance_shards);
}

TEST(ConfigParse, ShardsOutOfRange) {
  for (const char* shards : {"0", "257", "-1", "1.5", R"("many")", "true", "null"}) {
    ExpectInvalid(Doc(kListener, kResources, absl::StrCat(R"("shards": )", shards)), "$.shards",
                  R"(expected "auto" or an integer between 1 and 256)");
  }
}

TEST(ConfigParse, UnknownKeys) {
  ExpectInvalid(Doc(kListener, kResources, R"("log_level": "info")"), "$",
                R"(unknown key "log_level")");
  ExpectInvalid(Doc(absl::StrReplaceAll(kListener, {{"\"address\"", "\"adress\""}})),
                "$.listeners[0]", R"(unknown key "adress")");
  ExpectInvalid(WithLimits(R"("buffer_sise": 4096)"), "$.limits", R"(unknown key "buffer_sise")");
  ExpectInvalid(Doc(kListener, R"("main": {"protocol": "postgres", "address": "127.0.0.1:1",
                                           "host": "x"})"),
                "$.resources.main", R"(unknown key "host")");
  EXPECT_EQ(ErrorMessage(Doc(absl::StrReplaceAll(kListener, {{"\"address\"", "\"adress\""}}))),
            "jitgate.json: $.listeners[0]: unknown key \"adress\" (known keys: name, protocol, "
            "address, resource, tls, insecure)");
}

TEST(ConfigParse, WrongTypes) {
  ExpectInvalid("[]", "$", "expected an object");
  ExpectInvalid(R"({"listeners": {}, "resources": {"main": {"protocol": "postgres",
                 "address": "127.0.0.1:1"}}})",
                "$.listeners", "expected an array of listeners, got object");
  ExpectInvalid(Doc(kListener, R"("main": [])"), "$.resources.main", "expected an object");
  ExpectInvalid(R"({"listeners": [], "resources": []})", "$.resources",
                "expected an object of resources keyed by name, got array");
  ExpectInvalid(Doc(kListener, kResources, R"("pin_shards": "yes")"), "$.pin_shards",
                R"(expected true or false, got string "yes")");
  ExpectInvalid(Doc(kListener, kResources, R"("balance_shards": 1)"), "$.balance_shards",
                "expected true or false, got number 1");
  ExpectInvalid(Doc(absl::StrReplaceAll(kListener, {{R"("127.0.0.1:6432")", "6432"}})),
                "$.listeners[0].address", R"(expected "host:port" string, got number 6432)");
  ExpectInvalid(Doc(absl::StrReplaceAll(kListener, {{R"("main")", "[]"}})),
                "$.listeners[0].resource", "expected the name of a resource, got array");
  ExpectInvalid(Doc(absl::StrReplaceAll(kListener, {{R"("pg")", "7"}})), "$.listeners[0].name",
                "expected a name of 1 to 64 characters");
  ExpectInvalid(WithLimits(R"("buffer_size": "16384")"), "$.limits.buffer_size",
                R"(got string "16384")");
  ExpectInvalid(Doc(kListener, kResources, R"("limits": [])"), "$.limits", "got array");
}

TEST(ConfigParse, MissingKeys) {
  ExpectInvalid(R"({"resources": {"main": {"protocol": "postgres", "address": "127.0.0.1:1"}}})",
                "$", R"(missing key "listeners")");
  ExpectInvalid(R"({"listeners": []})", "$", R"(missing key "resources")");
  ExpectInvalid(Doc(""), "$.listeners", "expected 1 to 256 listeners, got 0");
  ExpectInvalid(Doc(kListener, ""), "$.resources", "expected 1 to 256 resources, got 0");
  ExpectInvalid(Doc(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1"})"),
                "$.listeners[0]", R"(missing key "resource")");
  ExpectInvalid(Doc(kListener, R"("main": {"address": "127.0.0.1:1"})"), "$.resources.main",
                R"(missing key "protocol")");
}

TEST(ConfigParse, BadNamesAndProtocols) {
  ExpectInvalid(Doc(absl::StrReplaceAll(kListener, {{R"("postgres")", R"("pg")"}})),
                "$.listeners[0].protocol", R"(expected "postgres" or "mysql", got "pg")");
  ExpectInvalid(Doc(kListener, R"("main": {"protocol": "oracle", "address": "127.0.0.1:1"})"),
                "$.resources.main.protocol", R"(got "oracle")");
  ExpectInvalid(Doc(kListener, R"("a b": {"protocol": "mysql", "address": "127.0.0.1:1"})"),
                R"($.resources["a b"])", "expected a resource name");
  ExpectInvalid(Doc(absl::StrReplaceAll(kListener, {{R"("pg")", R"("")"}})), "$.listeners[0].name",
                "expected a name of 1 to 64 characters");
}

TEST(ConfigParse, LimitsOutOfRange) {
  const struct {
    const char* limits;
    const char* path;
    const char* gist;
  } cases[] = {
      {R"("sessions_per_shard_max": 0)", "$.limits.sessions_per_shard_max",
       "expected an integer between 1 and 1000000, got 0"},
      {R"("sessions_per_shard_max": 1000001)", "$.limits.sessions_per_shard_max", "got 1000001"},
      {R"("idle_timeout_s": -1)", "$.limits.idle_timeout_s", "between 0 and 604800, got -1"},
      {R"("idle_timeout_s": 604801)", "$.limits.idle_timeout_s", "got 604801"},
      {R"("connect_timeout_ms": 0)", "$.limits.connect_timeout_ms", "between 1 and 600000"},
      {R"("connect_timeout_ms": 1.5)", "$.limits.connect_timeout_ms", "got 1.5"},
      {R"("shutdown_grace_s": 3601)", "$.limits.shutdown_grace_s", "between 0 and 3600"},
      {R"("buffers_in_flight_per_direction_max": 1)",
       "$.limits.buffers_in_flight_per_direction_max", "between 2 and 64, got 1"},
      {R"("buffers_in_flight_per_direction_max": 65)",
       "$.limits.buffers_in_flight_per_direction_max", "got 65"},
      {R"("buffer_size": 99999999999999999999)", "$.limits.buffer_size", "got 1e+20"},
      {R"("buffer_size": 2048)", "$.limits.buffer_size", "a power of two between 4096 and 65536"},
      {R"("buffer_count": 100)", "$.limits.buffer_count",
       "a power of two between 64 and 32768, got 100"},
      {R"("buffer_count": 65536)", "$.limits.buffer_count", "got 65536"},
      {R"("ring_entries": 1000)", "$.limits.ring_entries", "a power of two between 64 and 32768"},
      {R"("ring_entries": 32)", "$.limits.ring_entries", "got 32"},
      {R"("send_zc_min_bytes": 512)", "$.limits.send_zc_min_bytes",
       "expected 0 (disabled) or an integer between 1024 and 4294967295, got 512"},
      {R"("send_zc_min_bytes": 4294967296)", "$.limits.send_zc_min_bytes", "got 4294967296"},
  };
  for (const auto& c : cases) {
    ExpectInvalid(WithLimits(c.limits), c.path, c.gist);
  }
}

TEST(ConfigParse, NonPowerOfTwoExactMessage) {
  EXPECT_EQ(ErrorMessage(WithLimits(R"("buffer_size": 5000)")),
            "jitgate.json: $.limits.buffer_size: expected a power of two between 4096 and 65536, "
            "got 5000");
}

TEST(ConfigParse, LimitsAtTheirBounds) {
  const absl::StatusOr<Config> config =
      Parse(WithLimits(R"("sessions_per_shard_max": 1000000, "idle_timeout_s": 0,
                    "connect_timeout_ms": 600000, "shutdown_grace_s": 0, "buffer_size": 65536,
                    "buffer_count": 64, "buffers_in_flight_per_direction_max": 2,
                    "send_zc_min_bytes": 1024, "ring_entries": 32768)"),
            kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits.sessions_per_shard_max, 1000000u);
  EXPECT_EQ(config->limits.idle_timeout_s, 0u);
  EXPECT_EQ(config->limits.buffer_size, 65536u);
  EXPECT_EQ(config->limits.buffer_count, 64u);
  EXPECT_EQ(config->limits.send_zc_min_bytes, 1024u);
  EXPECT_EQ(config->limits.ring_entries, 32768u);
}

TEST(ConfigParse, DuplicateListenerName) {
  const std::string second =
      R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6433", "resource": "main"})";
  ExpectInvalid(Doc(absl::StrCat(kListener, ", ", second)), "$.listeners[1].name",
                R"(duplicate listener name "pg" (also $.listeners[0]))");
}

TEST(ConfigParse, DuplicateListenerAddress) {
  const std::string second =
      R"({"name": "pg2", "protocol": "postgres", "address": "127.0.0.1:6432", "resource": "main"})";
  ExpectInvalid(Doc(absl::StrCat(kListener, ", ", second)), "$.listeners[1].address",
                R"(duplicate address "127.0.0.1:6432": listener "pg" already uses)");
  // The same socket address written differently is still a duplicate.
  const std::string third =
      R"({"name": "pg3", "protocol": "postgres", "address": "localhost:6432", "resource": "main"})";
  ExpectInvalid(Doc(absl::StrCat(kListener, ", ", third)), "$.listeners[1].address",
                "duplicate address");
}

TEST(ConfigParse, MissingResource) {
  EXPECT_EQ(
      ErrorMessage(Doc(absl::StrReplaceAll(kListener, {{R"("main")", R"("x")"}}))),
      R"(jitgate.json: $.listeners[0].resource: no resource named "x" (resources: main, mydb))");
}

TEST(ConfigParse, ProtocolMismatch) {
  EXPECT_EQ(ErrorMessage(Doc(absl::StrReplaceAll(kListener, {{R"("main")", R"("mydb")"}}))),
            "jitgate.json: $.listeners[0].resource: resource \"mydb\" speaks mysql but the "
            "listener speaks postgres");
}

TEST(ConfigParse, BadAddresses) {
  constexpr char kPath[] = "$.listeners[0].address";
  ExpectInvalid(WithAddress("1.2.3.4"), kPath, R"(expected "host:port", got "1.2.3.4")");
  ExpectInvalid(WithAddress("host:0"), kPath, "expected a port between 1 and 65535");
  ExpectInvalid(WithAddress("host:70000"), kPath, "expected a port between 1 and 65535");
  ExpectInvalid(WithAddress("host:"), kPath, "expected a port between 1 and 65535");
  ExpectInvalid(WithAddress("host:-1"), kPath, "expected a port between 1 and 65535");
  ExpectInvalid(WithAddress("host:543a"), kPath, "expected a port between 1 and 65535");
  ExpectInvalid(WithAddress("[::1"), kPath, R"(expected "[v6]:port")");
  ExpectInvalid(WithAddress("[::1]"), kPath, R"(expected "[v6]:port")");
  ExpectInvalid(WithAddress("[::1]5432"), kPath, R"(expected "[v6]:port")");
  ExpectInvalid(WithAddress("::1:5432"), kPath, "expected an IPv6 address in brackets");
  ExpectInvalid(WithAddress("[1.2.3.4]:5432"), kPath,
                "expected an IPv6 address inside the brackets");
  ExpectInvalid(WithAddress("[]:5432"), kPath, "expected a host");
  ExpectInvalid(WithAddress(":5432"), kPath, "expected a host");
  ExpectInvalid(WithAddress("a b:5432"), kPath, "expected a host");
  ExpectInvalid(WithAddress(""), kPath, R"(expected "host:port", got "")");
  ExpectInvalid(WithAddress("no-such-host.invalid:5432"), kPath,
                R"(cannot resolve host "no-such-host.invalid")");
  ExpectInvalid(Doc(kListener, R"("main": {"protocol": "postgres", "address": "1.2.3.4"})"),
                "$.resources.main.address", R"(expected "host:port")");
}

TEST(ConfigParse, GoodAddresses) {
  const absl::StatusOr<Config> config =
      Parse(Doc(absl::StrReplaceAll(kListener, {{"127.0.0.1:6432", "[::]:65535"}}),
                R"("main": {"protocol": "postgres", "address": "localhost:1"})"),
            kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listeners[0].address.addr.ss_family, AF_INET6);
  EXPECT_EQ(PortOf(config->listeners[0].address), 65535);
  EXPECT_EQ(PortOf(config->resources[0].address), 1);
  EXPECT_GT(config->resources[0].address.addr_length, 0u);
}

TEST(ConfigParse, NumericOnlyLookupRejectsNames) {
  const std::string doc = Doc(kListener, R"("main": {"protocol": "postgres",
                                                      "address": "localhost:5432"})");
  ASSERT_TRUE(Parse(doc, kFile).ok());
  const absl::StatusOr<Config> config =
      internal::ParseWithLookup(doc, kFile, internal::HostLookup::kNumericOnly);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(
      std::string(config.status().message()),
      StartsWith(R"(jitgate.json: $.resources.main.address: cannot resolve host "localhost")"));
  EXPECT_TRUE(internal::ParseWithLookup(Doc(), kFile, internal::HostLookup::kNumericOnly).ok());
}

TEST(ConfigParse, JsonSyntaxErrors) {
  EXPECT_THAT(ErrorMessage(R"({"listeners": [)"),
              StartsWith("jitgate.json: syntax error at line 1"));
  EXPECT_THAT(ErrorMessage("{\n\"listeners\": [],\n\"resources\": {,}\n}"),
              StartsWith("jitgate.json: syntax error at line 3 near: ,}"));
  EXPECT_THAT(ErrorMessage(""), StartsWith("jitgate.json: syntax error at line 1"));
  EXPECT_THAT(ErrorMessage(Doc() + " {}"), HasSubstr("text after the top-level object"));
  EXPECT_THAT(ErrorMessage(R"({"shards": 1, "shards": 2})"),
              HasSubstr(R"(key "shards" appears twice in one object)"));
  EXPECT_THAT(ErrorMessage(WithLimits(R"("buffer_size": 1e400)")),
              HasSubstr("a number is out of range"));
}

TEST(ConfigParse, DeepNestingIsAnErrorNotACrash) {
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) {
    deep_objects += R"({"a":)";
  }
  EXPECT_THAT(ErrorMessage(deep_objects), HasSubstr("nesting deeper than 16 levels"));
  EXPECT_THAT(ErrorMessage(std::string(100000, '[')), HasSubstr("nesting deeper than 16 levels"));
}

TEST(ConfigParse, TextSizeLimit) {
  std::string big = Doc();
  big.append(internal::kTextSizeMax + 1 - big.size(), ' ');
  EXPECT_THAT(ErrorMessage(big), HasSubstr("larger than 1048576 bytes"));
  big.pop_back();
  EXPECT_EQ(ErrorMessage(big), "OK");
}

TEST(ConfigParse, ProtocolNames) {
  EXPECT_EQ(ProtocolName(Protocol::kPostgres), "postgres");
  EXPECT_EQ(ProtocolName(Protocol::kMysql), "mysql");
}

// ---------------------------------------------------------------------------------------------
// Gateway sections: listener modes, identity, backend login and TLS, policies, grants.

constexpr char kGatewayListeners[] =
    R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
        "tls": {"cert": "/etc/jitgate/gateway.crt", "key": "/etc/jitgate/gateway.key"}},
       {"name": "dev", "protocol": "postgres", "address": "127.0.0.1:6433", "insecure": true},
       {"name": "raw", "protocol": "postgres", "address": "127.0.0.1:6434", "resource": "orders"})";
constexpr char kGatewayResources[] =
    R"("orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "jitgate",
                  "password_env": "ORDERS_DB_PASSWORD"},
       "mydb": {"protocol": "mysql", "address": "127.0.0.1:3306"})";
constexpr char kIdentity[] =
    R"("identity": {"issuer": "https://login.microsoftonline.com/TID/v2.0",
                    "audience": "api://jitgate", "jwks_file": "/etc/jitgate/jwks.json"})";
constexpr char kPolicies[] =
    R"("policies": [{"name": "reporting-agents", "match": {"groups": ["g1"]},
                     "resources": ["orders"], "access": {"mode": "auto"}}])";

// A valid gateway document; `identity` and `policies` replace those sections ("" drops one),
// `extra` adds members.
std::string GatewayDoc(const std::string& extra = "", const std::string& identity = kIdentity,
                       const std::string& policies = kPolicies,
                       const std::string& resources = kGatewayResources,
                       const std::string& listeners = kGatewayListeners) {
  std::string members;
  for (const std::string& member : {identity, policies, extra}) {
    if (!member.empty()) {
      absl::StrAppend(&members, members.empty() ? "" : ", ", member);
    }
  }
  return Doc(listeners, resources, members);
}

std::string WithIdentity(const std::string& fields) {
  return GatewayDoc("", absl::StrCat(R"("identity": {)", fields, "}"));
}

std::string WithResource(const std::string& fields) {
  return GatewayDoc("", kIdentity, kPolicies,
                    absl::StrCat(R"("orders": {"protocol": "postgres", "address": "127.0.0.1:5432", )",
                                 fields, R"(}, "mydb": {"protocol": "mysql", "address": "127.0.0.1:3306"})"));
}

std::string WithPolicies(const std::string& policies) {
  return GatewayDoc("", kIdentity, absl::StrCat(R"("policies": [)", policies, "]"));
}

std::string WithListener(const std::string& listener) {
  return GatewayDoc("", kIdentity, kPolicies, kGatewayResources, listener);
}

TEST(ConfigGateway, FullExample) {
  const absl::StatusOr<Config> config = Parse(
      GatewayDoc(R"("grants": {"log": "/var/lib/jitgate/grants.log", "fsync": false},
                    "limits": {"auth_timeout_ms": 5000, "startup_packet_size_max": 2048,
                               "token_cache_entries": 0, "cancel_keys_max": 100})",
                 R"("identity": {"issuers": ["https://login.microsoftonline.com/{tenantid}/v2.0",
                                            "https://sts.windows.net/{tenantid}/"],
                                 "audiences": ["api://jitgate", "11111111-2222"],
                                 "tenant": "TID", "jwks_url": "https://login.example/keys",
                                 "jwks_ca": "/etc/ssl/ca.pem", "clock_skew_s": 0,
                                 "jwks_refresh_s": 60, "unknown_kid_refresh_min_s": 1,
                                 "require_roles_or_scp": false})",
                 R"("policies": [
                      {"name": "p1", "match": {"groups": ["g1", "g2"], "roles": ["Reports.Read"],
                                               "subjects": []},
                       "resources": ["orders", "inv"],
                       "access": {"mode": "approval", "max_duration_s": 86400}},
                      {"name": "p2", "match": {"subjects": ["oid-1"]}, "resources": ["inv"],
                       "access": {"mode": "auto"}}])",
                 R"("orders": {"protocol": "postgres", "address": "127.0.0.1:5432",
                               "database": "orders_prod", "user": "jitgate",
                               "password_file": "/run/secrets/orders", "tls": "verify-full",
                               "tls_ca": "/etc/jitgate/db-ca.pem", "tls_server_name": "db.internal"},
                    "inv": {"protocol": "postgres", "address": "[::1]:5433", "user": "gw",
                            "tls": "require"},
                    "mydb": {"protocol": "mysql", "address": "127.0.0.1:3306"})"),
      kFile);
  ASSERT_TRUE(config.ok()) << config.status();

  ASSERT_EQ(config->listeners.size(), 3u);
  const Listener& pg = config->listeners[0];
  EXPECT_EQ(pg.mode, ListenerMode::kGatewayTls);
  EXPECT_EQ(pg.tls_cert_file, "/etc/jitgate/gateway.crt");
  EXPECT_EQ(pg.tls_key_file, "/etc/jitgate/gateway.key");
  EXPECT_EQ(pg.resource_name, "");
  EXPECT_EQ(config->listeners[1].mode, ListenerMode::kGatewayInsecure);
  EXPECT_EQ(config->listeners[1].tls_cert_file, "");
  const Listener& raw = config->listeners[2];
  EXPECT_EQ(raw.mode, ListenerMode::kRelay);
  EXPECT_EQ(raw.resource_name, "orders");
  EXPECT_EQ(config->resources[raw.resource_index].name, "orders");

  ASSERT_TRUE(config->identity.has_value());
  const IdentityProvider& id = *config->identity;
  EXPECT_THAT(id.issuers, ::testing::ElementsAre("https://login.microsoftonline.com/{tenantid}/v2.0",
                                                 "https://sts.windows.net/{tenantid}/"));
  EXPECT_THAT(id.audiences, ::testing::ElementsAre("api://jitgate", "11111111-2222"));
  EXPECT_THAT(id.tenants, ::testing::ElementsAre("TID"));
  EXPECT_EQ(id.jwks_file, "");
  EXPECT_EQ(id.jwks_url, "https://login.example/keys");
  EXPECT_EQ(id.jwks_ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(id.clock_skew_s, 0u);
  EXPECT_EQ(id.jwks_refresh_s, 60u);
  EXPECT_EQ(id.unknown_kid_refresh_min_s, 1u);
  EXPECT_FALSE(id.require_roles_or_scp);

  ASSERT_EQ(config->resources.size(), 3u);  // keyed by name: inv, mydb, orders
  const auto resource = [&](const std::string& name) -> const Resource& {
    for (const Resource& r : config->resources) {
      if (r.name == name) {
        return r;
      }
    }
    ADD_FAILURE() << name;
    return config->resources[0];
  };
  const Resource& orders = resource("orders");
  EXPECT_EQ(orders.database, "orders_prod");
  EXPECT_EQ(orders.user, "jitgate");
  EXPECT_EQ(orders.password_env, "");
  EXPECT_EQ(orders.password_file, "/run/secrets/orders");
  EXPECT_EQ(orders.password, "");  // Parse reads no secret
  EXPECT_EQ(orders.tls, BackendTls::kVerifyFull);
  EXPECT_EQ(orders.tls_ca_file, "/etc/jitgate/db-ca.pem");
  EXPECT_EQ(orders.tls_server_name, "db.internal");
  const Resource& inv = resource("inv");
  EXPECT_EQ(inv.database, "inv");  // default: the resource name
  EXPECT_EQ(inv.tls, BackendTls::kRequire);
  EXPECT_EQ(inv.tls_server_name, "::1");  // default: the host part of address
  const Resource& mydb = resource("mydb");
  EXPECT_EQ(mydb.user, "");
  EXPECT_EQ(mydb.tls, BackendTls::kDisable);
  EXPECT_EQ(mydb.tls_server_name, "");

  ASSERT_EQ(config->policies.size(), 2u);
  const Policy& p1 = config->policies[0];
  EXPECT_EQ(p1.name, "p1");
  EXPECT_THAT(p1.match_groups, ::testing::ElementsAre("g1", "g2"));
  EXPECT_THAT(p1.match_roles, ::testing::ElementsAre("Reports.Read"));
  EXPECT_TRUE(p1.match_subjects.empty());
  EXPECT_THAT(p1.resource_names, ::testing::ElementsAre("orders", "inv"));
  ASSERT_EQ(p1.resource_indexes.size(), 2u);
  EXPECT_EQ(config->resources[p1.resource_indexes[0]].name, "orders");
  EXPECT_EQ(config->resources[p1.resource_indexes[1]].name, "inv");
  EXPECT_EQ(p1.mode, AccessMode::kApproval);
  EXPECT_EQ(p1.max_duration_s, 86400u);
  const Policy& p2 = config->policies[1];
  EXPECT_EQ(p2.mode, AccessMode::kAuto);
  EXPECT_EQ(p2.max_duration_s, 900u);  // default
  EXPECT_THAT(p2.match_subjects, ::testing::ElementsAre("oid-1"));

  EXPECT_EQ(config->grants.log_file, "/var/lib/jitgate/grants.log");
  EXPECT_FALSE(config->grants.fsync);
  EXPECT_EQ(config->limits.auth_timeout_ms, 5000u);
  EXPECT_EQ(config->limits.startup_packet_size_max, 2048u);
  EXPECT_EQ(config->limits.token_cache_entries, 0u);
  EXPECT_EQ(config->limits.cancel_keys_max, 100u);
}

TEST(ConfigGateway, Defaults) {
  const absl::StatusOr<Config> config = Parse(GatewayDoc(), kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  const IdentityProvider& id = *config->identity;
  EXPECT_TRUE(id.tenants.empty());
  EXPECT_EQ(id.jwks_file, "/etc/jitgate/jwks.json");
  EXPECT_EQ(id.clock_skew_s, 60u);
  EXPECT_EQ(id.jwks_refresh_s, 3600u);
  EXPECT_EQ(id.unknown_kid_refresh_min_s, 300u);
  EXPECT_TRUE(id.require_roles_or_scp);
  EXPECT_EQ(config->grants.log_file, "");
  EXPECT_TRUE(config->grants.fsync);
  const Limits defaults;
  EXPECT_EQ(config->limits.auth_timeout_ms, 10000u);
  EXPECT_EQ(defaults.startup_packet_size_max, 10000u);
  EXPECT_EQ(defaults.token_cache_entries, 4096u);
  EXPECT_EQ(defaults.cancel_keys_max, 65536u);
  // A relay-only file needs none of the gateway sections.
  const absl::StatusOr<Config> relay = Parse(Doc(), kFile);
  ASSERT_TRUE(relay.ok()) << relay.status();
  EXPECT_FALSE(relay->identity.has_value());
  EXPECT_TRUE(relay->policies.empty());
}

TEST(ConfigGateway, ListenerModes) {
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1"})"),
                "$.listeners[0]", R"(missing key "resource" (a relay), or "tls")");
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1",
                                 "insecure": false})"),
                "$.listeners[0]", R"(missing key "resource")");
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1",
                                 "resource": "orders", "insecure": true})"),
                "$.listeners[0]", "expected exactly one of");
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1",
                                 "insecure": true, "tls": {"cert": "a", "key": "b"}})"),
                "$.listeners[0]", "got more than one");
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1",
                                 "insecure": "yes"})"),
                "$.listeners[0].insecure", R"(expected true or false, got string "yes")");
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1",
                                 "tls": {"cert": "a"}})"),
                "$.listeners[0].tls", R"(missing key "key")");
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1",
                                 "tls": {"cert": "a", "key": "b", "ca": "c"}})"),
                "$.listeners[0].tls", R"(unknown key "ca" (known keys: cert, key))");
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1",
                                 "tls": {"cert": "", "key": "b"}})"),
                "$.listeners[0].tls.cert", "expected a file path (1 to 4096 printable ASCII");
  ExpectInvalid(WithListener(R"({"name": "pg", "protocol": "postgres", "address": "127.0.0.1:1",
                                 "tls": "on"})"),
                "$.listeners[0].tls", "expected an object with cert and key, got string");
}

TEST(ConfigGateway, MysqlGatewayListenerIsNotYetSupported) {
  EXPECT_EQ(ErrorMessage(WithListener(
                R"({"name": "my", "protocol": "mysql", "address": "127.0.0.1:1", "insecure": true})")),
            "jitgate.json: $.listeners[0].insecure: MySQL gateway listeners arrive with the MySQL "
            "session work; give \"resource\" for a relay");
  ExpectInvalid(WithListener(R"({"name": "my", "protocol": "mysql", "address": "127.0.0.1:1",
                                 "tls": {"cert": "a", "key": "b"}})"),
                "$.listeners[0].tls", "MySQL gateway listeners arrive with the MySQL session work");
  // A mysql relay is still fine.
  EXPECT_EQ(ErrorMessage(WithListener(
                R"({"name": "my", "protocol": "mysql", "address": "127.0.0.1:1", "resource": "mydb"})")),
            "OK");
}

TEST(ConfigGateway, GatewayListenerNeedsIdentityAndPolicies) {
  ExpectInvalid(GatewayDoc("", ""), "$.listeners[0]",
                R"(a gateway listener needs an "identity" section)");
  ExpectInvalid(GatewayDoc("", kIdentity, ""), "$.listeners[0]",
                R"(a gateway listener needs at least one policy in "policies")");
  ExpectInvalid(GatewayDoc("", kIdentity, R"("policies": [])"), "$.listeners[0]",
                "needs at least one policy");
  // Identity and policies without a gateway listener are accepted (policy check, staged rollout).
  EXPECT_EQ(ErrorMessage(GatewayDoc("", kIdentity, kPolicies, kGatewayResources,
                                    R"({"name": "raw", "protocol": "postgres",
                                        "address": "127.0.0.1:1", "resource": "orders"})")),
            "OK");
}

TEST(ConfigGateway, IdentityRules) {
  constexpr char kJwks[] = R"("jwks_file": "/k.json")";
  const std::string iss = R"("issuer": "https://i/", )";
  const std::string aud = R"("audience": "api://a", )";
  ExpectInvalid(WithIdentity(absl::StrCat(aud, kJwks)), "$.identity",
                R"(missing key "issuer" (or "issuers"))");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, kJwks)), "$.identity",
                R"(missing key "audience" (or "audiences"))");
  EXPECT_EQ(ErrorMessage(WithIdentity(absl::StrCat(iss, R"("issuers": ["https://j/"], )", aud,
                                                    kJwks))),
            R"(jitgate.json: $.identity: give "issuer" or "issuers", not both)");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, R"("audiences": ["x"], )", kJwks)),
                "$.identity", R"(give "audience" or "audiences", not both)");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, R"("tenant": "t", "tenants": ["t"], )", kJwks)),
                "$.identity", R"(give "tenant" or "tenants", not both)");
  ExpectInvalid(WithIdentity(absl::StrCat(R"("issuers": [], )", aud, kJwks)),
                "$.identity.issuers", "expected 1 to 16 entries, got 0");
  ExpectInvalid(WithIdentity(absl::StrCat(R"("issuers": ["a", 7], )", aud, kJwks)),
                "$.identity.issuers[1]", "expected an issuer");
  ExpectInvalid(WithIdentity(absl::StrCat(R"("issuer": "a\nb", )", aud, kJwks)),
                "$.identity.issuer", "printable ASCII");
  ExpectInvalid(WithIdentity(R"("issuer": "https://i/", "audience": "api://a")"), "$.identity",
                R"(expected exactly one of "jwks_file" and "jwks_url")");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, kJwks, R"(, "jwks_url": "https://k/")")),
                "$.identity", "got both");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, R"("jwks_url": "http://k/")")),
                "$.identity.jwks_url", R"(expected an https:// URL, got "http://k/")");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, kJwks, R"(, "jwks_ca": "/ca.pem")")),
                "$.identity.jwks_ca", R"("jwks_ca" is used only with "jwks_url")");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, kJwks, R"(, "clock_skew_s": 601)")),
                "$.identity.clock_skew_s", "expected an integer between 0 and 600, got 601");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, kJwks, R"(, "jwks_refresh_s": 59)")),
                "$.identity.jwks_refresh_s", "between 60 and 86400, got 59");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, kJwks, R"(, "unknown_kid_refresh_min_s": 0)")),
                "$.identity.unknown_kid_refresh_min_s", "between 1 and 86400, got 0");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, kJwks, R"(, "require_roles_or_scp": 1)")),
                "$.identity.require_roles_or_scp", "expected true or false");
  ExpectInvalid(WithIdentity(absl::StrCat(iss, aud, kJwks, R"(, "jwks": "x")")), "$.identity",
                R"(unknown key "jwks")");
  ExpectInvalid(GatewayDoc("", R"("identity": [])"), "$.identity", "expected an object");
}

TEST(ConfigGateway, ResourceRules) {
  constexpr char kUser[] = R"("user": "jitgate")";
  ExpectInvalid(WithResource(R"("user": "")"), "$.resources.orders.user", "expected a user name");
  ExpectInvalid(WithResource(std::string(R"("user": ")") + std::string(64, 'u') + "\""),
                "$.resources.orders.user", "1 to 63 printable ASCII characters");
  ExpectInvalid(WithResource(absl::StrCat(kUser, R"(, "database": 5)")),
                "$.resources.orders.database", "expected a database name");
  ExpectInvalid(WithResource(absl::StrCat(kUser, R"(, "password_env": "A", "password_file": "/p")")),
                "$.resources.orders.password_file",
                R"(give at most one of "password_env" and "password_file")");
  ExpectInvalid(WithResource(absl::StrCat(kUser, R"(, "password_env": "1A")")),
                "$.resources.orders.password_env", "expected an environment variable name");
  ExpectInvalid(WithResource(absl::StrCat(kUser, R"(, "password_env": "A-B")")),
                "$.resources.orders.password_env", R"(got "A-B")");
  ExpectInvalid(WithResource(R"("password_env": "A")"), "$.resources.orders.password_env",
                R"(a password needs "user")");
  ExpectInvalid(WithResource(absl::StrCat(kUser, R"(, "tls": "prefer")")),
                "$.resources.orders.tls",
                R"(expected "disable", "require", "verify-ca" or "verify-full", got "prefer")");
  EXPECT_EQ(ErrorMessage(WithResource(absl::StrCat(kUser, R"(, "tls": "verify-ca")"))),
            "jitgate.json: $.resources.orders: \"tls\": \"verify-ca\" needs \"tls_ca\" (the CA "
            "bundle that signed the server's certificate)");
  ExpectInvalid(WithResource(absl::StrCat(kUser, R"(, "tls": "require", "tls_ca": "/ca")")),
                "$.resources.orders.tls_ca", R"("tls_ca" is used only with "tls": "verify-ca")");
  ExpectInvalid(WithResource(absl::StrCat(kUser, R"(, "tls_server_name": "db")")),
                "$.resources.orders.tls_server_name", R"(needs "tls" other than "disable")");
  ExpectInvalid(WithResource(absl::StrCat(kUser, R"(, "sslmode": "disable")")),
                "$.resources.orders", R"(unknown key "sslmode")");
  const absl::StatusOr<Config> config =
      Parse(WithResource(absl::StrCat(kUser, R"(, "tls": "verify-ca", "tls_ca": "/ca")")), kFile);
  ASSERT_TRUE(config.ok()) << config.status();
}

TEST(ConfigGateway, PolicyRules) {
  const std::string match = R"("match": {"groups": ["g"]})";
  const std::string access = R"("access": {"mode": "auto"})";
  const auto policy = [&](const std::string& name, const std::string& resources) {
    return absl::StrCat(R"({"name": ")", name, R"(", )", match, R"(, "resources": )", resources,
                        ", ", access, "}");
  };
  EXPECT_EQ(ErrorMessage(WithPolicies(absl::StrCat(policy("a", R"(["orders"])"), ", ",
                                                   policy("a", R"(["orders"])")))),
            R"(jitgate.json: $.policies[1].name: duplicate policy name "a" (also $.policies[0]))");
  EXPECT_EQ(ErrorMessage(WithPolicies(policy("a", R"(["nope"])"))),
            R"(jitgate.json: $.policies[0].resources[0]: no resource named "nope" (resources: mydb, orders))");
  ExpectInvalid(WithPolicies(policy("a", R"(["mydb"])")), "$.policies[0].resources[0]",
                R"(resource "mydb" speaks mysql; policies cover postgres resources for now)");
  ExpectInvalid(WithPolicies(policy("a", R"(["orders", "orders"])")),
                "$.policies[0].resources[1]", R"(resource "orders" is listed twice)");
  ExpectInvalid(WithPolicies(policy("a", "[]")), "$.policies[0].resources",
                "expected 1 to 256 resources, got 0");
  ExpectInvalid(WithPolicies(policy("a", R"("orders")")), "$.policies[0].resources",
                "expected an array of resource names");
  ExpectInvalid(WithPolicies(policy("a b", R"(["orders"])")), "$.policies[0].name",
                "expected a name of 1 to 64 characters");
  // A resource without a user cannot be served by the gateway.
  ExpectInvalid(GatewayDoc("", kIdentity, kPolicies,
                           R"("orders": {"protocol": "postgres", "address": "127.0.0.1:5432"})"),
                "$.policies[0].resources[0]", R"(resource "orders" has no "user")");
  // match
  const auto with_match = [&](const std::string& m) {
    return WithPolicies(absl::StrCat(R"({"name": "a", "match": )", m,
                                     R"(, "resources": ["orders"], )", access, "}"));
  };
  ExpectInvalid(with_match("{}"), "$.policies[0].match",
                R"(expected at least one non-empty list of "groups", "roles" or "subjects")");
  ExpectInvalid(with_match(R"({"groups": [], "roles": []})"), "$.policies[0].match",
                "at least one non-empty list");
  ExpectInvalid(with_match(R"({"users": ["x"]})"), "$.policies[0].match",
                R"(unknown key "users" (known keys: groups, roles, subjects))");
  ExpectInvalid(with_match(R"({"roles": ["ok", ""]})"), "$.policies[0].match.roles[1]",
                "expected an app role");
  ExpectInvalid(with_match(R"({"subjects": "x"})"), "$.policies[0].match.subjects",
                "expected an array of a subject");
  // access
  const auto with_access = [&](const std::string& a) {
    return WithPolicies(absl::StrCat(R"({"name": "a", )", match,
                                     R"(, "resources": ["orders"], "access": )", a, "}"));
  };
  ExpectInvalid(with_access("{}"), "$.policies[0].access", R"(missing key "mode")");
  ExpectInvalid(with_access(R"({"mode": "always"})"), "$.policies[0].access.mode",
                R"(expected "auto" or "approval", got "always")");
  ExpectInvalid(with_access(R"({"mode": "auto", "max_duration_s": 0})"),
                "$.policies[0].access.max_duration_s", "between 1 and 86400, got 0");
  ExpectInvalid(with_access(R"({"mode": "auto", "max_duration_s": 86401})"),
                "$.policies[0].access.max_duration_s", "got 86401");
  ExpectInvalid(with_access(R"({"mode": "auto", "approvers": []})"), "$.policies[0].access",
                R"(unknown key "approvers")");
  // shape
  ExpectInvalid(WithPolicies(R"({"name": "a", "resources": ["orders"]})"), "$.policies[0]",
                R"(missing key "match")");
  ExpectInvalid(WithPolicies(absl::StrCat(R"({"name": "a", "when": 1, )", match,
                                          R"(, "resources": ["orders"], )", access, "}")),
                "$.policies[0]", R"(unknown key "when")");
  ExpectInvalid(GatewayDoc("", kIdentity, R"("policies": {})"), "$.policies",
                "expected an array of policies, got object");
}

TEST(ConfigGateway, GrantsAndLimits) {
  ExpectInvalid(GatewayDoc(R"("grants": {"log": ""})"), "$.grants.log", "expected a file path");
  ExpectInvalid(GatewayDoc(R"("grants": {"fsync": "no"})"), "$.grants.fsync",
                "expected true or false");
  ExpectInvalid(GatewayDoc(R"("grants": {"file": "/x"})"), "$.grants",
                R"(unknown key "file" (known keys: log, fsync))");
  ExpectInvalid(WithLimits(R"("auth_timeout_ms": 99)"), "$.limits.auth_timeout_ms",
                "between 100 and 600000, got 99");
  ExpectInvalid(WithLimits(R"("startup_packet_size_max": 65537)"),
                "$.limits.startup_packet_size_max", "between 1024 and 65536");
  ExpectInvalid(WithLimits(R"("token_cache_entries": 1048577)"), "$.limits.token_cache_entries",
                "between 0 and 1048576");
  ExpectInvalid(WithLimits(R"("cancel_keys_max": 0)"), "$.limits.cancel_keys_max",
                "between 1 and 16777216, got 0");
}

TEST(ConfigGateway, ModeNames) {
  EXPECT_EQ(ListenerModeName(ListenerMode::kRelay), "relay");
  EXPECT_EQ(ListenerModeName(ListenerMode::kGatewayTls), "gateway-tls");
  EXPECT_EQ(ListenerModeName(ListenerMode::kGatewayInsecure), "gateway-insecure");
  EXPECT_EQ(AccessModeName(AccessMode::kAuto), "auto");
  EXPECT_EQ(AccessModeName(AccessMode::kApproval), "approval");
  EXPECT_EQ(BackendTlsName(BackendTls::kVerifyFull), "verify-full");
}

std::string WriteTempFile(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  return path;
}

TEST(ConfigLoadFile, MissingFile) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/no-such-jitgate.json");
  const absl::StatusOr<Config> config = LoadFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("No such file or directory"));
}

TEST(ConfigLoadFile, ValidFile) {
  const std::string path = WriteTempFile("jitgate_valid.json", kFullExample);
  const absl::StatusOr<Config> config = LoadFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->path, path);
  EXPECT_EQ(config->listeners.size(), 2u);
  std::remove(path.c_str());
}

TEST(ConfigLoadFile, ErrorsNameTheFile) {
  const std::string path = WriteTempFile("jitgate_bad.json", WithLimits(R"("buffer_size": 5000)"));
  const absl::StatusOr<Config> config = LoadFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith(absl::StrCat(path, ": $.limits.buffer_size: ")));
  std::remove(path.c_str());
}

TEST(ConfigLoadFile, TooLarge) {
  const std::string path =
      WriteTempFile("jitgate_big.json", std::string(internal::kTextSizeMax + 1, ' '));
  const absl::StatusOr<Config> config = LoadFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("larger than 1048576 bytes (1 MiB)"));
  std::remove(path.c_str());
  // A character device that never ends is stopped by the same limit.
  EXPECT_THAT(std::string(LoadFile("/dev/zero").status().message()), HasSubstr("larger than"));
}

TEST(ConfigLoadFile, Directory) {
  const absl::StatusOr<Config> config = LoadFile(::testing::TempDir());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("is a directory"));
}

TEST(ConfigLoadFile, PermissionDenied) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "root reads any file";
  }
  const std::string path = WriteTempFile("jitgate_secret.json", Doc());
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  const absl::StatusOr<Config> config = LoadFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path));
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------------------------
// ResolveSecrets.

Config SecretsConfig(const std::string& fields) {
  absl::StatusOr<Config> config = Parse(WithResource(absl::StrCat(R"("user": "jitgate", )", fields)),
                                        kFile);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *std::move(config) : Config{};
}

const Resource& Orders(const Config& config) {
  for (const Resource& resource : config.resources) {
    if (resource.name == "orders") {
      return resource;
    }
  }
  ADD_FAILURE();
  return config.resources.at(0);
}

TEST(ConfigSecrets, FromEnvironment) {
  Config config = SecretsConfig(R"("password_env": "JG_TEST_ORDERS_PW")");
  ASSERT_EQ(setenv("JG_TEST_ORDERS_PW", "s3cret", 1), 0);
  ASSERT_TRUE(ResolveSecrets(config).ok());
  EXPECT_EQ(Orders(config).password, "s3cret");
  ASSERT_EQ(setenv("JG_TEST_ORDERS_PW", "", 1), 0);
  EXPECT_EQ(ResolveSecrets(config).message(),
            R"(resources.orders: password_env: environment variable "JG_TEST_ORDERS_PW" is empty)");
  ASSERT_EQ(unsetenv("JG_TEST_ORDERS_PW"), 0);
  const absl::Status status = ResolveSecrets(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            R"(resources.orders: password_env: environment variable "JG_TEST_ORDERS_PW" is not set)");
}

TEST(ConfigSecrets, FromFile) {
  const std::string path = WriteTempFile("jitgate_pw", "file-secret\r\n");
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  Config config = SecretsConfig(absl::StrCat(R"("password_file": ")", path, "\""));
  std::vector<std::string> warnings;
  ASSERT_TRUE(ResolveSecrets(config, &warnings).ok());
  EXPECT_EQ(Orders(config).password, "file-secret");
  EXPECT_TRUE(warnings.empty());

  // Group-readable: accepted with a warning.
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE(ResolveSecrets(config, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("is readable by its group (mode 0640)"));
  EXPECT_THAT(warnings[0], StartsWith("resources.orders: password_file: file \""));

  // World-readable: refused.
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  const absl::Status status = ResolveSecrets(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(status.message()), HasSubstr("is readable by every user (mode 0644)"));
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));

  // Empty (after the newline is dropped), and too long.
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  { std::ofstream(path, std::ios::trunc) << "\n"; }
  EXPECT_THAT(std::string(ResolveSecrets(config).message()), HasSubstr("is empty"));
  { std::ofstream(path, std::ios::trunc) << std::string(1025, 'x'); }
  EXPECT_THAT(std::string(ResolveSecrets(config).message()), HasSubstr("more than 1024 bytes"));
  { std::ofstream(path, std::ios::trunc) << std::string(1024, 'x') << "\n"; }
  EXPECT_TRUE(ResolveSecrets(config).ok());
  EXPECT_EQ(Orders(config).password.size(), 1024u);
  std::remove(path.c_str());

  const absl::Status missing = ResolveSecrets(config);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()),
              StartsWith(absl::StrCat("resources.orders: password_file: cannot open file \"")));
}

TEST(ConfigSecrets, DirectoryIsNotAPasswordFile) {
  Config config =
      SecretsConfig(absl::StrCat(R"("password_file": ")", ::testing::TempDir(), "\""));
  EXPECT_THAT(std::string(ResolveSecrets(config).message()), HasSubstr("not a regular file"));
}

TEST(ConfigSecrets, NoPasswordIsTrust) {
  Config config = SecretsConfig(R"("database": "orders")");
  EXPECT_TRUE(ResolveSecrets(config).ok());
  EXPECT_EQ(Orders(config).password, "");
}

// ---- Masking ("masking", a policy's "unmask").

std::string WithMasking(const std::string& masking, const std::string& unmask = "") {
  const std::string policies =
      unmask.empty() ? std::string(kPolicies)
                     : absl::StrCat(R"("policies": [{"name": "p", "match": {"groups": ["g1"]},
                         "resources": ["orders"], "access": {"mode": "auto"}, "unmask": )",
                                    unmask, "}]");
  return GatewayDoc(absl::StrCat(R"("masking": )", masking), kIdentity, policies);
}

TEST(ConfigMasking, FullSection) {
  const absl::StatusOr<Config> config = Parse(
      WithMasking(R"({"hash_key_env": "K", "row_size_max": 131072, "rules": [
          {"name": "emails", "columns": ["*.email", "crm.leads.email"], "strategy": "partial",
           "keep": 3},
          {"columns": ["customers.ssn"], "strategy": "redact", "text": "[ssn]"},
          {"types": ["UUID"], "strategy": "hash"},
          {"detectors": ["card", "iban"], "columns": ["notes"], "strategy": "null"}]})",
                  R"({"columns": ["customers.email"], "rules": ["emails"],
                      "detectors": ["phone"]})"),
      kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  const MaskingConfig& masking = config->masking;
  ASSERT_EQ(masking.rules.size(), 4u);
  EXPECT_EQ(masking.hash_key_env, "K");
  EXPECT_EQ(masking.row_size_max, 131072u);
  EXPECT_EQ(masking.rules[0].name, "emails");
  EXPECT_EQ(masking.rules[0].keep, 3u);
  EXPECT_EQ(masking.rules[0].columns[0].table, "");
  EXPECT_EQ(masking.rules[0].columns[0].column, "email");
  EXPECT_EQ(masking.rules[0].columns[1].schema, "crm");
  EXPECT_EQ(masking.rules[0].columns[1].table, "leads");
  EXPECT_EQ(masking.rules[1].name, "masking.rules[1]");
  EXPECT_EQ(masking.rules[1].text, "[ssn]");
  EXPECT_EQ(masking.rules[2].types, std::vector<std::string>{"uuid"});
  EXPECT_EQ(masking.rules[2].strategy, MaskStrategy::kHash);
  EXPECT_EQ(masking.rules[3].detectors, (1u << 1) | (1u << 4));
  const Unmask& unmask = config->policies[0].unmask;
  ASSERT_EQ(unmask.columns.size(), 1u);
  EXPECT_EQ(unmask.columns[0].table, "customers");
  EXPECT_EQ(unmask.rules, std::vector<std::string>{"emails"});
  EXPECT_EQ(unmask.detectors, 1u << 3);
}

TEST(ConfigMasking, UnmaskArrayIsColumns) {
  const absl::StatusOr<Config> config =
      Parse(WithMasking(R"({"rules": [{"columns": ["ssn"], "strategy": "null"}]})",
                        R"(["customers.ssn", "*.phone"])"),
            kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->policies[0].unmask.columns.size(), 2u);
  EXPECT_EQ(config->policies[0].unmask.columns[1].column, "phone");
}

TEST(ConfigMasking, ErrorsNamePathAndExpectation) {
  const auto rule = [](const std::string& body) {
    return WithMasking(absl::StrCat(R"({"rules": [)", body, "]}"));
  };
  ExpectInvalid(WithMasking(R"({"rulez": []})"), "$.masking", R"(unknown key "rulez")");
  ExpectInvalid(rule(R"({"strategy": "redact"})"), "$.masking.rules[0]",
                "give \"columns\", \"types\" or \"detectors\"");
  ExpectInvalid(rule(R"({"columns": ["email"], "strategy": "scramble"})"),
                "$.masking.rules[0].strategy", R"("redact", "partial", "hash" or "null")");
  ExpectInvalid(rule(R"({"columns": ["email"], "strategy": "redact", "keep": 2})"),
                "$.masking.rules[0].keep", "goes with strategy \"partial\"");
  ExpectInvalid(rule(R"({"columns": ["email"], "strategy": "partial", "keep": 0})"),
                "$.masking.rules[0].keep", "between 1 and 64");
  ExpectInvalid(rule(R"({"columns": ["*.*"], "strategy": "null"})"),
                "$.masking.rules[0].columns[0]", "a column pattern");
  ExpectInvalid(rule(R"({"columns": ["a.b.c.d"], "strategy": "null"})"),
                "$.masking.rules[0].columns[0]", "a column pattern");
  ExpectInvalid(rule(R"({"columns": [], "strategy": "null"})"), "$.masking.rules[0].columns",
                "expected 1..256 column patterns");
  ExpectInvalid(rule(R"({"detectors": ["dna"], "strategy": "null"})"),
                "$.masking.rules[0].detectors[0]", "a detector (email, card");
  ExpectInvalid(rule(R"({"detectors": ["card", "card"], "strategy": "null"})"),
                "$.masking.rules[0].detectors[1]", "listed twice");
  ExpectInvalid(rule(R"({"types": ["uuid"], "columns": ["a"], "strategy": "null"})"),
                "$.masking.rules[0].types", "selects on its own");
  ExpectInvalid(rule(R"({"columns": ["a"], "strategy": "hash"})"), "$.masking",
                "give \"hash_key_env\" or \"hash_key_file\"");
  ExpectInvalid(rule(R"({"name": "x", "columns": ["a"], "strategy": "null"},
                        {"name": "x", "columns": ["b"], "strategy": "null"})"),
                "$.masking.rules[1].name", "duplicate rule name \"x\"");
  ExpectInvalid(WithMasking(R"({"row_size_max": 1024})"), "$.masking.row_size_max",
                "between 65536 and 67108864");
  ExpectInvalid(WithMasking(R"({"hash_key_env": "A", "hash_key_file": "/k"})"), "$.masking",
                "not both");
  ExpectInvalid(WithMasking(R"({"rules": []})", R"({"rules": ["nope"]})"),
                "$.policies[0].unmask.rules[0]", "no masking rule is named \"nope\"");
  ExpectInvalid(WithMasking(R"({"rules": []})", R"({"cols": []})"), "$.policies[0].unmask",
                R"(unknown key "cols")");
}

TEST(ConfigMasking, HashKeyFromEnvironment) {
  absl::StatusOr<Config> config =
      Parse(WithMasking(R"({"hash_key_env": "JG_TEST_MASK_KEY",
                            "rules": [{"columns": ["a"], "strategy": "hash"}]})"),
            kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  setenv("ORDERS_DB_PASSWORD", "pw", 1);
  setenv("JG_TEST_MASK_KEY", "too-short", 1);
  absl::Status status = ResolveSecrets(*config);
  EXPECT_THAT(std::string(status.message()), HasSubstr("masking: hash_key_env: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("needs at least 32"));
  setenv("JG_TEST_MASK_KEY", "0123456789abcdef0123456789abcdef", 1);
  EXPECT_TRUE(ResolveSecrets(*config).ok());
  EXPECT_EQ(config->masking.hash_key, "0123456789abcdef0123456789abcdef");
  unsetenv("JG_TEST_MASK_KEY");
  unsetenv("ORDERS_DB_PASSWORD");
}

// ---- Audit ("audit").

std::string WithAudit(const std::string& audit) {
  return Doc(kListener, kResources, absl::StrCat(R"("audit": )", audit));
}

// The smallest queue the default record limits accept: 4 records of 4096 + 4096 + 64 KiB.
constexpr char kAuditQueueOk[] = R"("queue_bytes": 524288)";

TEST(ConfigAudit, AbsentIsOffWithDefaults) {
  const absl::StatusOr<Config> config = Parse(Doc(), kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  const AuditConfig& audit = config->audit;
  EXPECT_FALSE(audit.enabled);
  EXPECT_EQ(audit.dir, "");
  EXPECT_EQ(audit.mode, AuditMode::kNormal);
}

TEST(ConfigAudit, Defaults) {
  const absl::StatusOr<Config> config = Parse(WithAudit(R"({"dir": "/var/lib/jitgate/audit"})"),
                                              kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  const AuditConfig& audit = config->audit;
  EXPECT_TRUE(audit.enabled);
  EXPECT_EQ(audit.dir, "/var/lib/jitgate/audit");
  EXPECT_EQ(audit.mode, AuditMode::kNormal);
  EXPECT_EQ(audit.fsync_interval_ms, 200u);
  EXPECT_EQ(audit.segment_size_max, uint64_t{64} << 20);
  EXPECT_EQ(audit.queue_bytes, 4u << 20);
  EXPECT_EQ(audit.on_full, AuditOnFull::kBlock);
  EXPECT_EQ(audit.statement_bytes_max, 4096u);
  EXPECT_EQ(audit.params_bytes_max, 4096u);
  EXPECT_EQ(audit.chain_key_env, "");
  EXPECT_EQ(audit.chain_key_file, "");
  EXPECT_EQ(audit.chain_key, "");
  EXPECT_EQ(AuditModeName(AuditMode::kNormal), "normal");
  EXPECT_EQ(AuditModeName(AuditMode::kDurable), "durable");
}

TEST(ConfigAudit, EveryKeyRead) {
  const absl::StatusOr<Config> config = Parse(
      WithAudit(R"({"dir": "/srv/audit", "mode": "durable", "fsync_interval_ms": 60000,
                    "segment_size_max": 4294967296, "queue_bytes": 1073741824,
                    "on_full": "drop", "statement_bytes_max": 1048576,
                    "params_bytes_max": 1048576, "chain_key_env": "JG_AUDIT_KEY"})"),
      kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  const AuditConfig& audit = config->audit;
  EXPECT_TRUE(audit.enabled);
  EXPECT_EQ(audit.dir, "/srv/audit");
  EXPECT_EQ(audit.mode, AuditMode::kDurable);
  EXPECT_EQ(audit.fsync_interval_ms, 60000u);
  EXPECT_EQ(audit.segment_size_max, uint64_t{4} << 30);
  EXPECT_EQ(audit.queue_bytes, 1u << 30);
  EXPECT_EQ(audit.on_full, AuditOnFull::kDrop);
  EXPECT_EQ(audit.statement_bytes_max, 1u << 20);
  EXPECT_EQ(audit.params_bytes_max, 1u << 20);
  EXPECT_EQ(audit.chain_key_env, "JG_AUDIT_KEY");
  EXPECT_EQ(audit.chain_key_file, "");

  // The other ends of the ranges, and the key from a file.
  const absl::StatusOr<Config> low = Parse(
      WithAudit(R"({"dir": "a", "mode": "normal", "fsync_interval_ms": 1,
                    "segment_size_max": 1048576, "queue_bytes": 524288, "on_full": "block",
                    "statement_bytes_max": 64, "params_bytes_max": 0,
                    "chain_key_file": "/etc/jitgate/audit.key"})"),
      kFile);
  ASSERT_TRUE(low.ok()) << low.status();
  EXPECT_EQ(low->audit.mode, AuditMode::kNormal);
  EXPECT_EQ(low->audit.fsync_interval_ms, 1u);
  EXPECT_EQ(low->audit.segment_size_max, uint64_t{1} << 20);
  EXPECT_EQ(low->audit.queue_bytes, 512u << 10);
  EXPECT_EQ(low->audit.on_full, AuditOnFull::kBlock);
  EXPECT_EQ(low->audit.statement_bytes_max, 64u);
  EXPECT_EQ(low->audit.params_bytes_max, 0u);
  EXPECT_EQ(low->audit.chain_key_env, "");
  EXPECT_EQ(low->audit.chain_key_file, "/etc/jitgate/audit.key");
}

TEST(ConfigAudit, ErrorsNamePathAndExpectation) {
  const auto audit = [](const std::string& members) {
    return WithAudit(absl::StrCat(R"({"dir": "/srv/audit", )", members, "}"));
  };
  ExpectInvalid(WithAudit("true"), "$.audit", "expected an object with at least \"dir\"");
  ExpectInvalid(WithAudit("{}"), "$.audit", R"(missing key "dir")");
  ExpectInvalid(audit(R"("dirr": "/x")"), "$.audit", R"(unknown key "dirr")");
  ExpectInvalid(audit(R"("dirr": "/x")"), "$.audit", "known keys: dir, mode, fsync_interval_ms");
  ExpectInvalid(WithAudit(R"({"dir": ""})"), "$.audit.dir", "a file path");
  ExpectInvalid(WithAudit(R"({"dir": 7})"), "$.audit.dir", "a file path");
  ExpectInvalid(audit(R"("mode": "fast")"), "$.audit.mode",
                R"(expected "normal" or "durable", got "fast")");
  ExpectInvalid(audit(R"("mode": 1)"), "$.audit.mode", R"("normal" or "durable")");
  ExpectInvalid(audit(R"("on_full": "wait")"), "$.audit.on_full",
                R"(expected "block" or "drop", got "wait")");
  ExpectInvalid(audit(R"("on_full": false)"), "$.audit.on_full", R"("block" or "drop")");
  ExpectInvalid(audit(R"("fsync_interval_ms": 0)"), "$.audit.fsync_interval_ms",
                "between 1 and 60000");
  ExpectInvalid(audit(R"("fsync_interval_ms": 60001)"), "$.audit.fsync_interval_ms",
                "between 1 and 60000");
  ExpectInvalid(audit(R"("segment_size_max": 1048575)"), "$.audit.segment_size_max",
                "between 1 MiB and 4 GiB");
  ExpectInvalid(audit(R"("segment_size_max": 4294967297)"), "$.audit.segment_size_max",
                "between 1 MiB and 4 GiB");
  ExpectInvalid(audit(R"("segment_size_max": "64M")"), "$.audit.segment_size_max",
                "a size in bytes");
  ExpectInvalid(audit(R"("queue_bytes": 3145728)"), "$.audit.queue_bytes",
                "expected a power of two between 262144 (256 KiB) and 1073741824 (1 GiB), got "
                "3145728");
  ExpectInvalid(audit(R"("queue_bytes": 131072)"), "$.audit.queue_bytes", "a power of two");
  ExpectInvalid(audit(R"("queue_bytes": 2147483648)"), "$.audit.queue_bytes", "a power of two");
  ExpectInvalid(audit(R"("queue_bytes": 1.5)"), "$.audit.queue_bytes", "a power of two");
  // A power of two in range, but not room for 4 records of the largest size.
  ExpectInvalid(audit(absl::StrCat(kAuditQueueOk, R"(, "statement_bytes_max": 65536)")),
                "$.audit.queue_bytes",
                "expected at least 4 records of the largest size (135168 bytes");
  ExpectInvalid(audit(absl::StrCat(kAuditQueueOk, R"(, "statement_bytes_max": 1048576)")),
                "$.audit.queue_bytes", "so at least 4472832 bytes");
  ExpectInvalid(audit(R"("statement_bytes_max": 63)"), "$.audit.statement_bytes_max",
                "between 64 and 1048576");
  ExpectInvalid(audit(R"("params_bytes_max": 1048577)"), "$.audit.params_bytes_max",
                "between 0 and 1048576");
  ExpectInvalid(audit(R"("params_bytes_max": -1)"), "$.audit.params_bytes_max",
                "between 0 and 1048576");
  ExpectInvalid(audit(R"("chain_key_env": "K", "chain_key_file": "/k")"), "$.audit",
                R"(give at most one of "chain_key_env" and "chain_key_file")");
  ExpectInvalid(audit(R"("chain_key_env": "")"), "$.audit.chain_key_env",
                "an environment variable name");
  ExpectInvalid(audit(R"("chain_key_file": 1)"), "$.audit.chain_key_file", "a file path");
}

TEST(ConfigAudit, ChainKeyResolved) {
  absl::StatusOr<Config> config =
      Parse(WithAudit(R"({"dir": "/srv/audit", "chain_key_env": "JG_TEST_AUDIT_KEY"})"), kFile);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(unsetenv("JG_TEST_AUDIT_KEY"), 0);
  EXPECT_THAT(std::string(ResolveSecrets(*config).message()),
              HasSubstr("audit: chain_key_env: "));
  setenv("JG_TEST_AUDIT_KEY", "too-short", 1);
  EXPECT_THAT(std::string(ResolveSecrets(*config).message()), HasSubstr("needs at least 32"));
  setenv("JG_TEST_AUDIT_KEY", "0123456789abcdef0123456789abcdef", 1);
  ASSERT_TRUE(ResolveSecrets(*config).ok());
  EXPECT_EQ(config->audit.chain_key, "0123456789abcdef0123456789abcdef");
  unsetenv("JG_TEST_AUDIT_KEY");

  const std::string path = WriteTempFile("jitgate_audit_key", "fedcba9876543210fedcba9876543210\n");
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  absl::StatusOr<Config> from_file = Parse(
      WithAudit(absl::StrCat(R"({"dir": "/srv/audit", "chain_key_file": ")", path, "\"}")), kFile);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  ASSERT_TRUE(ResolveSecrets(*from_file).ok());
  EXPECT_EQ(from_file->audit.chain_key, "fedcba9876543210fedcba9876543210");
  std::remove(path.c_str());
  const absl::Status missing = ResolveSecrets(*from_file);
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.message()), HasSubstr("audit: chain_key_file: "));
}

}  // namespace
}  // namespace jitgate::config
