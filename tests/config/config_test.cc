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

}  // namespace
}  // namespace jitgate::config
