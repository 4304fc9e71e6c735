// jitgate/config.h: the gateway's configuration, as loaded from one JSON file.
//
// Owned by src/config (the only user of picojson). Loaded once on the control thread at start-up
// (and later on reload); shards receive a const reference and never mutate it. Every field has a
// default, documented beside it here and in README.md ("Configuration reference"). Errors name the
// file, the JSON path and what was expected, e.g.
//   jitgate.json: $.listeners[1].address: expected "host:port" string, got number
#ifndef JITGATE_CONFIG_H_
#define JITGATE_CONFIG_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "jitgate/parsers/sql/statement.h"

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

// How the gateway secures its connection to a resource (libpq's sslmode names).
enum class BackendTls : uint8_t {
  kDisable,     // plain TCP (default)
  kRequire,     // TLS, certificate not checked
  kVerifyCa,    // TLS, certificate chain checked against tls_ca_file
  kVerifyFull,  // as kVerifyCa, and the certificate must name tls_server_name
};

std::string_view BackendTlsName(BackendTls tls);

// A database the gateway connects to ("resources" in the JSON, keyed by name).
//   "orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "database": "orders",
//              "user": "jitgate", "password_env": "ORDERS_DB_PASSWORD", "tls": "verify-full",
//              "tls_ca": "/etc/jitgate/db-ca.pem", "tls_server_name": "db.internal"}
// A relay listener's resource needs only protocol and address. A resource named by a policy is
// used by the gateway itself, which logs in as `user`: it must speak postgres and have a user.
struct Resource {
  std::string name;
  Protocol protocol = Protocol::kPostgres;
  Endpoint address;
  std::string database;       // "database": default the resource name; 1..63 bytes (NAMEDATALEN)
  std::string user;           // "user": the gateway's login; empty when absent; 1..63 bytes
  std::string password_env;   // "password_env": environment variable holding the password
  std::string password_file;  // "password_file": file holding the password (one trailing newline
                              // is dropped). At most one of the two; neither means the backend
                              // trusts the gateway (or uses a client certificate, later).
  BackendTls tls = BackendTls::kDisable;  // "tls": "disable" | "require" | "verify-ca" |
                                          // "verify-full"
  std::string tls_ca_file;      // "tls_ca": CA bundle (PEM); required for verify-*, refused else
  std::string tls_server_name;  // "tls_server_name": default the host part of `address`; refused
                                // with "disable"
  // Filled by ResolveSecrets, never by Parse (a config can be checked without its secrets, and a
  // parsed Config printed or logged holds none).
  std::string password;
};

// The identity provider that issues the agents' access tokens ("identity"; required when any
// listener is a gateway listener). Read by src/auth (the JWT validator).
//   "identity": {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
//                "audience": "api://jitgate", "tenants": ["TID"], "jwks_url": "https://...",
//                "clock_skew_s": 60}
struct IdentityProvider {
  // "issuer" (one string) or "issuers" (1..16 strings), not both; required. An entry may contain
  // "{tenantid}", which src/auth replaces with the token's `tid` before comparing.
  std::vector<std::string> issuers;
  // "audience" or "audiences" (1..16), not both; required. The token's `aud` must be one of them.
  std::vector<std::string> audiences;
  // "tenant" or "tenants" (1..64), not both; optional: empty means any tenant the issuers allow.
  std::vector<std::string> tenants;
  // Exactly one of "jwks_file" (a JWKS JSON file, re-read every jwks_refresh_s) and "jwks_url"
  // (an https:// URL, fetched every jwks_refresh_s).
  std::string jwks_file;
  std::string jwks_url;
  std::string jwks_ca_file;  // "jwks_ca": CA bundle for jwks_url; default the system store;
                             // refused with jwks_file
  uint32_t clock_skew_s = 60;                // "clock_skew_s": leeway on exp/nbf/iat; 0..600
  uint32_t jwks_refresh_s = 3600;            // "jwks_refresh_s": key set refresh; 60..86400
  uint32_t unknown_kid_refresh_min_s = 300;  // "unknown_kid_refresh_min_s": a token naming an
                                             // unknown `kid` triggers a refresh at most this
                                             // often; 1..86400
  bool require_roles_or_scp = true;  // "require_roles_or_scp": refuse tokens with neither `roles`
                                     // nor `scp` (an ID token, or a token for another API)
};

// What a matching policy gives ("access.mode").
enum class AccessMode : uint8_t {
  kAuto,      // "auto": a grant is issued on the spot
  kApproval,  // "approval": an approver must approve an access request first
};

std::string_view AccessModeName(AccessMode mode);

// What a statement rule does with the statements it matches ("allow" | "block" | "review").
// kReview needs an approver; until access requests exist the gateway blocks it with a message
// saying approval would be needed.
enum class StatementAction : uint8_t { kAllow, kBlock, kReview };

std::string_view StatementActionName(StatementAction action);

// A table or function name pattern, case-folded as PostgreSQL folds unquoted identifiers (ASCII
// lower case). Forms: "schema.name", "schema.*", "*.name", "name" (= "*.name": any schema), "*"
// or "*.*" (anything). Each part is "*" or 1..63 characters of [a-z0-9_$] not starting with a
// digit or '$'.
struct NamePattern {
  std::string text;    // as the operator wrote it (for explanations)
  std::string schema;  // folded; empty = any schema
  std::string name;    // folded; empty = any name
};

// One entry of "statements.tables" or "statements.functions". The FIRST rule (in file order)
// that matches a relation (with a listed access) or a function decides for it.
//   {"match": "payments.*", "access": ["write"], "action": "block",
//    "message": "payments are read-only for agents", "name": "no-payment-writes"}
struct NameRule {
  std::string name;     // "name" ([A-Za-z0-9_-], 1..64), or derived: "statements.tables[2]"
  NamePattern match;    // "match": required
  uint8_t access_mask = 0;  // tables only: bit (1 << RelationAccess) per "access" entry ("read",
                            // "write", "ddl"); absent = all three. Functions: 0.
  StatementAction action = StatementAction::kBlock;  // "action": required
  std::string message;  // "message": 1..256 printable ASCII; empty = a generated one
};

// A policy's "statements" object: what its identities may run. Absent, or silent about a class,
// means the safe defaults: allow read, write, transaction, session; block destructive, ddl, dcl,
// admin, unknown.
//   "statements": {"allow": ["read", "write"], "block": ["destructive", "ddl"], "review": [],
//                  "unknown": "block", "tables": [...], "functions": [...],
//                  "statement_length_max": 1048576, "messages": {"ddl": "ask the DBA"}}
// A class may appear at most once across allow, block, review (and "unknown" counts as listing
// the class unknown). Compiled by src/policy/rules.h, which documents the decision order.
struct StatementRules {
  static constexpr size_t kClassCount = parsers::sql::kStatementClassCount;
  // Indexed by static_cast<size_t>(parsers::sql::StatementClass).
  std::array<StatementAction, kClassCount> class_actions = {
      StatementAction::kAllow,  // read
      StatementAction::kAllow,  // write
      StatementAction::kBlock,  // ddl
      StatementAction::kBlock,  // dcl
      StatementAction::kBlock,  // destructive
      StatementAction::kBlock,  // admin
      StatementAction::kAllow,  // transaction
      StatementAction::kAllow,  // session
      StatementAction::kBlock,  // unknown
  };
  // The rule name per class: "statements.allow[read]" when listed, "statements.unknown" for the
  // "unknown" key, "statements.default[ddl]" when not said.
  std::array<std::string, kClassCount> class_rule_names;
  std::array<std::string, kClassCount> class_messages;  // "messages": empty = a generated one
  std::vector<NameRule> tables;     // "tables": 0..256
  std::vector<NameRule> functions;  // "functions": 0..256
  // "statement_length_max": statements longer than this (bytes) follow the unknown rule;
  // 1..1048576 (the classifier's own limit).
  uint32_t statement_length_max = 1u << 20;
  // "inspect": false forwards this policy's statements without judging them (the rules above
  // are then unused; start-up logs a warning). For trusted identities and for measuring what
  // the guardrails cost; default true.
  bool inspect = true;
};

// The class names of StatementClassName ("read", ..., "unknown"), in enum order, for src/config
// (which does not link the parsers; tests check the two agree).
inline constexpr std::array<std::string_view, StatementRules::kClassCount> kStatementClassNames = {
    "read", "write", "ddl", "dcl", "destructive", "admin", "transaction", "session", "unknown"};

// ---- Masking ("masking" at the top level; "unmask" in each policy) ------------------------------
// Sensitive values are masked in every result a gateway session returns unless the session's
// policy unmasks them: the rules classify, policies only ever take masks away.
//   "masking": {"hash_key_env": "JITGATE_MASK_KEY", "row_size_max": 1048576,
//     "rules": [{"name": "emails", "columns": ["*.email"], "strategy": "partial", "keep": 4},
//               {"columns": ["customers.ssn"], "strategy": "redact", "text": "[ssn]"},
//               {"types": ["uuid"], "strategy": "hash"},
//               {"detectors": ["card", "ssn", "secret"], "strategy": "redact"}]}

enum class MaskStrategy : uint8_t { kRedact, kPartial, kHash, kNull };
std::string_view MaskStrategyName(MaskStrategy strategy);

// The content detectors, in src/mask's Detector order.
inline constexpr std::array<std::string_view, 6> kDetectorNames = {"email", "card", "ssn",
                                                                   "phone", "iban", "secret"};

// A column pattern: "column", "table.column" or "schema.table.column"; "*" for any part ("*.ssn",
// "customers.*", "crm.*.email"), not every part. Parts fold like NamePattern's.
struct ColumnPattern {
  std::string text;    // as written
  std::string schema;  // folded; empty = any (always empty for the one- and two-part forms)
  std::string table;   // folded; empty = any
  std::string column;  // folded; empty = any
};

// One entry of "masking.rules": exactly one selector (columns, types or detectors) and a
// strategy. Column and type rules mask the whole value; detector rules scan every column's
// values (or, with "columns" beside "detectors", only those columns) and mask what they find.
// The FIRST rule (in file order) that selects a column decides its mask.
struct MaskRule {
  std::string name;                    // "name" ([A-Za-z0-9_-], 1..64) or "masking.rules[i]"
  std::vector<ColumnPattern> columns;  // "columns": 1..256 patterns
  std::vector<std::string> types;      // "types": 1..64 PostgreSQL type names, folded
                                       // ("text", "uuid", or a domain/enum the catalog knows)
  uint8_t detectors = 0;               // "detectors": bit (1 << index in kDetectorNames)
  MaskStrategy strategy = MaskStrategy::kRedact;  // "strategy": required
  uint32_t keep = 4;                   // "keep": partial only; 1..64
  std::string text = "****";           // "text": redact only; 1..64 printable ASCII
};

struct MaskingConfig {
  std::vector<MaskRule> rules;  // "rules": 0..256
  // The key of the "hash" strategy (HMAC-SHA-256): "hash_key_env" or "hash_key_file", required
  // when any rule hashes; 32..1024 bytes. Filled into hash_key by ResolveSecrets.
  std::string hash_key_env;
  std::string hash_key_file;
  std::string hash_key;
  // "row_size_max": the largest DataRow or COPY row a masked result may carry; a larger one ends
  // the session (it cannot be held to be masked); 65536..67108864, default 1 MiB.
  uint32_t row_size_max = 1u << 20;
};

// A policy's "unmask": what its identities see in clear. Absent: nothing.
//   "unmask": {"columns": ["customers.email"], "rules": ["emails"], "detectors": ["phone"]}
// (an array is short for {"columns": [...]}).
struct Unmask {
  std::vector<ColumnPattern> columns;  // source columns no column rule masks for this policy
  std::vector<std::string> rules;      // rule names (each must exist) this policy skips
  uint8_t detectors = 0;               // detectors this policy does not run
  bool empty() const { return columns.empty() && rules.empty() && detectors == 0; }
};

// Who may reach which resources, and how ("policies", an array; order matters: the first policy
// that lists a resource and matches an identity decides, see src/policy/table.h).
//   {"name": "reporting-agents",
//    "match": {"groups": ["<object id>"], "roles": ["Reports.Read"], "subjects": ["<oid>"]},
//    "resources": ["orders"], "access": {"mode": "auto", "max_duration_s": 900},
//    "statements": {"block": ["write"], "tables": [...]}}
struct Policy {
  std::string name;  // "name": unique among policies; [A-Za-z0-9_-], 1..64
  // "match": at least one of the three lists non-empty; each entry 1..256 printable ASCII
  // characters, each list at most 256 entries. An identity matches when any of its groups is in
  // match_groups, any of its roles in match_roles, or its subject or app id in match_subjects.
  std::vector<std::string> match_groups;
  std::vector<std::string> match_roles;
  std::vector<std::string> match_subjects;
  std::vector<std::string> resource_names;  // "resources": 1..256 distinct postgres resources
                                            // with a user
  std::vector<uint32_t> resource_indexes;   // resolved: resource_indexes[i] names
                                            // resource_names[i] in Config::resources
  AccessMode mode = AccessMode::kAuto;      // "access.mode": required
  uint32_t max_duration_s = 900;            // "access.max_duration_s": a grant lasts at most
                                            // this long (and never past the token's exp); 1..86400
  StatementRules statements;                // "statements": optional, see StatementRules
  Unmask unmask;                            // "unmask": optional, see Unmask
};

// The JIT grant store (src/grants), "grants"; the section is optional.
struct GrantsConfig {
  std::string log_file;  // "log": append-only grant log; empty (default) keeps grants in memory
                         // only, so a restart forgets them
  bool fsync = true;     // "fsync": fdatasync after each record, so an issued grant survives a
                         // power loss
};

// The audit log (src/audit), "audit"; the section is optional (absent: no audit log, and the
// gateway says so at start-up). Example:
//   "audit": {"dir": "/var/lib/jitgate/audit", "mode": "normal", "fsync_interval_ms": 200,
//             "segment_size_max": 67108864, "queue_bytes": 4194304, "on_full": "block",
//             "statement_bytes_max": 4096, "params_bytes_max": 4096,
//             "chain_key_file": "/etc/jitgate/audit.key"}
enum class AuditMode : uint8_t {
  kNormal,   // "normal": records reach the disk within fsync_interval_ms (group fsync)
  kDurable,  // "durable": a statement is forwarded only once its record is on disk
};
enum class AuditOnFull : uint8_t {
  kBlock,  // "block": a full queue holds the session's next statement until there is room
  kDrop,   // "drop": non-security records (response summaries) are dropped and counted; security
           // records still block
};
struct AuditConfig {
  bool enabled = false;  // "audit" present
  std::string dir;       // "dir": required; created 0700 when missing
  AuditMode mode = AuditMode::kNormal;
  uint32_t fsync_interval_ms = 200;        // "fsync_interval_ms": 1..60000 (normal mode)
  uint64_t segment_size_max = 64u << 20;   // "segment_size_max": 1 MiB..4 GiB
  uint32_t queue_bytes = 4u << 20;         // "queue_bytes": per shard; power of two, 256 KiB..1 GiB
  AuditOnFull on_full = AuditOnFull::kBlock;
  uint32_t statement_bytes_max = 4096;     // "statement_bytes_max": 64..1 MiB of statement text
  uint32_t params_bytes_max = 4096;        // "params_bytes_max": 0..1 MiB of Bind values in all
  std::string chain_key_env;               // "chain_key_env" / "chain_key_file": optional; links
  std::string chain_key_file;              // become HMAC-SHA-256 with this key (32..1024 bytes)
  std::string chain_key;                   // resolved by ResolveSecrets; never logged
};

std::string_view AuditModeName(AuditMode mode);

// How a listener treats its connections.
enum class ListenerMode : uint8_t {
  kRelay,            // "resource": the v0 transparent relay to one resource; no authentication
  kGatewayTls,       // "tls": the gateway (TLS, token authentication, policies, grants)
  kGatewayInsecure,  // "insecure": true: the gateway without TLS; the token crosses the network in
                     // clear, so for local development only
};

std::string_view ListenerModeName(ListenerMode mode);

// A socket clients connect to. A listener has exactly one of "resource" (kRelay), "tls"
// (kGatewayTls) and "insecure": true (kGatewayInsecure):
//   {"name": "pg", "protocol": "postgres", "address": "0.0.0.0:6432",
//    "tls": {"cert": "/etc/jitgate/gateway.crt", "key": "/etc/jitgate/gateway.key"}}
// In a relay every accepted connection is relayed to `resource` (an index into
// Config::resources), which must speak the same protocol. A gateway listener takes the resource
// from the client's database name instead, and requires Config::identity and at least one
// policy; for now it must speak postgres.
struct Listener {
  std::string name;
  Protocol protocol = Protocol::kPostgres;
  Endpoint address;
  ListenerMode mode = ListenerMode::kRelay;
  std::string resource_name;    // kRelay only (empty otherwise)
  uint32_t resource_index = 0;  // kRelay only (0 otherwise, and meaningless)
  std::string tls_cert_file;    // kGatewayTls only: "tls.cert", PEM certificate chain
  std::string tls_key_file;     // kGatewayTls only: "tls.key", PEM private key
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
  uint32_t auth_timeout_ms = 10000;  // gateway listeners: from accept to authenticated (TLS,
                                     // startup, token); a client slower than this is closed;
                                     // 100..600000
  uint32_t startup_packet_size_max = 10000;  // largest StartupMessage accepted (PostgreSQL's own
                                             // limit is 10000); 1024..65536
  uint32_t token_cache_entries = 4096;  // validated tokens cached per shard; 0 disables the
                                        // cache; 0..1048576
  uint32_t cancel_keys_max = 65536;     // CancelRequest keys held for live sessions; 1..16777216
};

struct Config {
  std::string path;          // file it was loaded from ("<inline>" for Parse without a file)
  uint32_t shard_count = 1;  // resolved: "auto" becomes the number of CPUs in the process's
                             // affinity mask (sched_getaffinity), at most 256
  bool shards_auto = true;   // true when the file said "auto" (or nothing)
  bool pin_shards = true;    // pin shard i to the i-th CPU of the process's affinity mask
  bool balance_shards = true;  // hand a new connection to the shard with the fewest sessions
                               // when keeping it would leave the accepting one two or more
                               // above it (src/shard/balancer.h)
  std::vector<Resource> resources;
  std::vector<Listener> listeners;
  std::optional<IdentityProvider> identity;  // "identity": absent when the file has none
  std::vector<Policy> policies;              // "policies": 0..256, file order kept
  GrantsConfig grants;                       // "grants"
  MaskingConfig masking;                     // "masking"
  AuditConfig audit;                         // "audit"
  Limits limits;
};

// Parses `text` as a configuration; `file_name` is used only in error messages.
// Returns InvalidArgumentError("<file>: <json path>: <what was expected>") on any error; unknown
// keys are errors too (a misspelt limit must not silently fall back to its default).
absl::StatusOr<Config> Parse(std::string_view text, std::string_view file_name);

// Reads and parses the file at `path`. A file that cannot be read is NotFoundError /
// PermissionDeniedError naming the path and errno text.
absl::StatusOr<Config> LoadFile(const std::string& path);

// Reads each resource's password_env / password_file into Resource::password. Called once by
// main at start-up, after LoadFile and before any shard starts (and not by `policy check`).
// Errors (InvalidArgumentError / the errno's code) name the resource and the variable or file:
//   resources.orders: password_env: environment variable "ORDERS_DB_PASSWORD" is not set
// A password must be non-empty, at most 1024 bytes, without NUL; a file must be a regular file
// and one trailing "\n" or "\r\n" is dropped. A password file that other users can read
// (mode & 0004) is an error: the secret has already leaked to every local account. A file
// readable by its group (mode & 0040) is accepted with a warning, appended to `warnings` when it
// is not null, for main to log.
absl::Status ResolveSecrets(Config& config, std::vector<std::string>* warnings = nullptr);

}  // namespace jitgate::config

#endif  // JITGATE_CONFIG_H_
