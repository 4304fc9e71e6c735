// src/config/gateway.cc: see gateway.h. Reads the sections the PostgreSQL gateway needs:
// "identity" (who issues tokens, read by src/auth), "policies" (who may reach which resource,
// compiled by src/policy), "grants" (src/grants' log) and each resource's backend login and TLS.
// Secrets are never read here: Parse keeps only the names of the variable or file, and
// ResolveSecrets (secrets.cc) reads them at start-up.
//
// Invariant of what these readers produce: every policy has a unique name, at least one non-empty
// match list and 1..256 distinct resource indexes, each < resources.size() and naming a postgres
// resource with a user; an identity has 1..16 issuers, 1..16 audiences and exactly one of jwks_file
// and jwks_url.
#include "src/config/gateway.h"

#include <algorithm>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"
#include "src/config/masking.h"
#include "src/config/statements.h"

namespace jitgate::config {
namespace internal {
namespace {

// A policy is checked on every connection attempt (src/policy precomputes per resource), so the
// count bounds compile work and memory, not the hot path.
constexpr size_t kPolicyCountMax = 256;
// Per policy: groups, roles and subjects each, and resources.
constexpr size_t kMatchEntriesMax = 256;
constexpr size_t kPolicyResourcesMax = 256;
// Group object ids and oids are 36-character GUIDs; app role values are at most 120 characters in
// Entra. 256 leaves room for other providers.
constexpr size_t kMatchEntryLengthMax = 256;
// Issuer and audience URLs; tenant ids (GUIDs or domain names).
constexpr size_t kIssuersMax = 16;
constexpr size_t kAudiencesMax = 16;
constexpr size_t kTenantsMax = 64;
constexpr size_t kUrlLengthMax = 512;
constexpr size_t kTenantLengthMax = 253;
// PostgreSQL identifiers (database and role names) are at most NAMEDATALEN - 1 = 63 bytes.
constexpr size_t kPgIdentifierLengthMax = 63;
// POSIX leaves environment variable names unbounded; 128 is plenty and keeps messages short.
constexpr size_t kEnvNameLengthMax = 128;
// RFC 1035 section 2.3.4.
constexpr size_t kHostNameLengthMax = 253;

constexpr absl::string_view kIdentityKeys[] = {
    "issuer",       "issuers",        "audience",
    "audiences",    "tenant",         "tenants",
    "jwks_file",    "jwks_url",       "jwks_ca",
    "clock_skew_s", "jwks_refresh_s", "unknown_kid_refresh_min_s",
    "require_roles_or_scp"};
constexpr absl::string_view kPolicyKeys[] = {"name", "match", "resources", "access",
                                             "statements", "unmask"};
constexpr absl::string_view kMatchKeys[] = {"groups", "roles", "subjects"};
constexpr absl::string_view kAccessKeys[] = {"mode", "max_duration_s"};
constexpr absl::string_view kGrantsKeys[] = {"log", "fsync"};

bool IsEnvName(absl::string_view name) {
  if (name.empty() || name.size() > kEnvNameLengthMax || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// The host part of an address ResolveEndpoint accepted: "db:5432" -> "db", "[::1]:5432" -> "::1".
std::string HostOf(absl::string_view address) {
  if (!address.empty() && address.front() == '[') {
    return std::string(address.substr(1, address.find(']') - 1));
  }
  return std::string(address.substr(0, address.rfind(':')));
}

absl::StatusOr<BackendTls> ReadBackendTls(const Ctx& ctx, absl::string_view path,
                                          const picojson::value& value) {
  constexpr absl::string_view kExpected =
      R"("disable", "require", "verify-ca" or "verify-full")";
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, kExpected, value);
  }
  const std::string& text = value.get<std::string>();
  for (const BackendTls tls : {BackendTls::kDisable, BackendTls::kRequire, BackendTls::kVerifyCa,
                               BackendTls::kVerifyFull}) {
    if (text == BackendTlsName(tls)) {
      return tls;
    }
  }
  return RangeError(ctx, path, kExpected, value);
}

absl::Status ReadPassword(const Ctx& ctx, absl::string_view path, const picojson::object& object,
                          Resource& resource) {
  const picojson::value* env = Find(object, "password_env");
  const picojson::value* file = Find(object, "password_file");
  if (env != nullptr && file != nullptr) {
    return Invalid(ctx, absl::StrCat(path, ".password_file"),
                   "give at most one of \"password_env\" and \"password_file\"");
  }
  if ((env != nullptr || file != nullptr) && resource.user.empty()) {
    return Invalid(ctx, absl::StrCat(path, env != nullptr ? ".password_env" : ".password_file"),
                   "a password needs \"user\" (the login it belongs to)");
  }
  if (env != nullptr) {
    const std::string env_path = absl::StrCat(path, ".password_env");
    constexpr absl::string_view kExpected =
        "an environment variable name ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters)";
    if (!env->is<std::string>()) {
      return TypeError(ctx, env_path, kExpected, *env);
    }
    if (!IsEnvName(env->get<std::string>())) {
      return RangeError(ctx, env_path, kExpected, *env);
    }
    resource.password_env = env->get<std::string>();
  }
  if (file != nullptr) {
    JG_ASSIGN_OR_RETURN(resource.password_file,
                        ReadPath(ctx, absl::StrCat(path, ".password_file"), *file));
  }
  return absl::OkStatus();
}

absl::Status ReadBackendTlsFields(const Ctx& ctx, absl::string_view path,
                                  const picojson::object& object, Resource& resource) {
  if (const picojson::value* tls = Find(object, "tls"); tls != nullptr) {
    JG_ASSIGN_OR_RETURN(resource.tls, ReadBackendTls(ctx, absl::StrCat(path, ".tls"), *tls));
  }
  const bool verify =
      resource.tls == BackendTls::kVerifyCa || resource.tls == BackendTls::kVerifyFull;
  const picojson::value* ca = Find(object, "tls_ca");
  if (ca != nullptr && !verify) {
    return Invalid(ctx, absl::StrCat(path, ".tls_ca"),
                   "\"tls_ca\" is used only with \"tls\": \"verify-ca\" or \"verify-full\"");
  }
  if (ca == nullptr && verify) {
    return Invalid(ctx, path,
                   absl::StrCat("\"tls\": \"", AbslView(BackendTlsName(resource.tls)),
                                "\" needs \"tls_ca\" (the CA bundle that signed the server's "
                                "certificate)"));
  }
  if (ca != nullptr) {
    JG_ASSIGN_OR_RETURN(resource.tls_ca_file, ReadPath(ctx, absl::StrCat(path, ".tls_ca"), *ca));
  }
  const picojson::value* server_name = Find(object, "tls_server_name");
  if (server_name != nullptr && resource.tls == BackendTls::kDisable) {
    return Invalid(ctx, absl::StrCat(path, ".tls_server_name"),
                   "\"tls_server_name\" needs \"tls\" other than \"disable\"");
  }
  if (server_name != nullptr) {
    JG_ASSIGN_OR_RETURN(resource.tls_server_name,
                        ReadText(ctx, absl::StrCat(path, ".tls_server_name"), *server_name,
                                 kHostNameLengthMax, "a host name"));
  } else if (resource.tls != BackendTls::kDisable) {
    resource.tls_server_name = HostOf(resource.address.text);
  }
  return absl::OkStatus();
}

// "issuer": "x" or "issuers": ["x", ...] (not both) into `out`.
absl::Status ReadOneOrMany(const Ctx& ctx, absl::string_view path, const picojson::object& object,
                           absl::string_view one_key, absl::string_view many_key, bool required,
                           size_t count_max, size_t length_max, absl::string_view what,
                           std::vector<std::string>& out) {
  const picojson::value* one = Find(object, one_key);
  const picojson::value* many = Find(object, many_key);
  if (one != nullptr && many != nullptr) {
    return Invalid(ctx, path,
                   absl::StrCat("give \"", one_key, "\" or \"", many_key, "\", not both"));
  }
  if (one != nullptr) {
    JG_ASSIGN_OR_RETURN(std::string text,
                        ReadText(ctx, absl::StrCat(path, ".", one_key), *one, length_max, what));
    out.push_back(std::move(text));
    return absl::OkStatus();
  }
  if (many != nullptr) {
    JG_ASSIGN_OR_RETURN(out, ReadTextList(ctx, absl::StrCat(path, ".", many_key), *many, 1,
                                          count_max, length_max, what));
    return absl::OkStatus();
  }
  if (required) {
    return Invalid(ctx, path,
                   absl::StrCat("missing key \"", one_key, "\" (or \"", many_key, "\")"));
  }
  return absl::OkStatus();
}

absl::Status ReadJwks(const Ctx& ctx, absl::string_view path, const picojson::object& object,
                      IdentityProvider& identity) {
  const picojson::value* file = Find(object, "jwks_file");
  const picojson::value* url = Find(object, "jwks_url");
  if ((file == nullptr) == (url == nullptr)) {
    return Invalid(ctx, path,
                   absl::StrCat("expected exactly one of \"jwks_file\" and \"jwks_url\" (where "
                                "the token signing keys come from), got ",
                                file == nullptr ? "none" : "both"));
  }
  if (file != nullptr) {
    JG_ASSIGN_OR_RETURN(identity.jwks_file, ReadPath(ctx, absl::StrCat(path, ".jwks_file"), *file));
  } else {
    const std::string url_path = absl::StrCat(path, ".jwks_url");
    JG_ASSIGN_OR_RETURN(identity.jwks_url,
                        ReadText(ctx, url_path, *url, kUrlLengthMax, "an https:// URL"));
    // The key set is the root of trust for every token: fetching it in clear would let anyone on
    // the path sign tokens.
    if (identity.jwks_url.rfind("https://", 0) != 0 || identity.jwks_url.size() == 8) {
      return RangeError(ctx, url_path, "an https:// URL", *url);
    }
  }
  if (const picojson::value* ca = Find(object, "jwks_ca"); ca != nullptr) {
    if (url == nullptr) {
      return Invalid(ctx, absl::StrCat(path, ".jwks_ca"),
                     "\"jwks_ca\" is used only with \"jwks_url\"");
    }
    JG_ASSIGN_OR_RETURN(identity.jwks_ca_file, ReadPath(ctx, absl::StrCat(path, ".jwks_ca"), *ca));
  }
  return absl::OkStatus();
}

// The resources a policy lists, resolved to indexes: each exists, speaks postgres, has a user and
// appears once.
absl::Status ReadPolicyResources(const Ctx& ctx, absl::string_view path,
                                 const picojson::value& value, std::span<const Resource> resources,
                                 Policy& policy) {
  if (!value.is<picojson::array>()) {
    return TypeError(ctx, path, "an array of resource names", value);
  }
  const picojson::array& array = value.get<picojson::array>();
  if (array.empty() || array.size() > kPolicyResourcesMax) {
    return Invalid(ctx, path,
                   absl::StrCat("expected 1 to ", kPolicyResourcesMax, " resources, got ",
                                array.size()));
  }
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string item_path = absl::StrCat(path, "[", i, "]");
    if (!array[i].is<std::string>()) {
      return TypeError(ctx, item_path, "the name of a resource", array[i]);
    }
    const std::string& name = array[i].get<std::string>();
    auto it = std::find_if(resources.begin(), resources.end(),
                           [&](const Resource& resource) { return resource.name == name; });
    if (it == resources.end()) {
      std::vector<absl::string_view> names;
      for (size_t r = 0; r < resources.size() && r < kNamesListedMax; ++r) {
        names.push_back(resources[r].name);
      }
      return Invalid(ctx, item_path,
                     absl::StrCat("no resource named ", Quote(name),
                                  " (resources: ", absl::StrJoin(names, ", "),
                                  resources.size() > kNamesListedMax ? ", ...)" : ")"));
    }
    if (it->protocol != Protocol::kPostgres) {
      return Invalid(ctx, item_path,
                     absl::StrCat("resource ", Quote(name), " speaks ",
                                  AbslView(ProtocolName(it->protocol)),
                                  "; policies cover postgres resources for now"));
    }
    if (it->user.empty()) {
      return Invalid(ctx, item_path,
                     absl::StrCat("resource ", Quote(name),
                                  " has no \"user\": the gateway needs a login for each resource "
                                  "a policy names"));
    }
    if (std::find(policy.resource_names.begin(), policy.resource_names.end(), name) !=
        policy.resource_names.end()) {
      return Invalid(ctx, item_path, absl::StrCat("resource ", Quote(name), " is listed twice"));
    }
    policy.resource_names.push_back(name);
    policy.resource_indexes.push_back(static_cast<uint32_t>(it - resources.begin()));
  }
  return absl::OkStatus();
}

absl::Status ReadMatch(const Ctx& ctx, absl::string_view path, const picojson::value& value,
                       Policy& policy) {
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, path, value, "an object with groups, roles or subjects"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kMatchKeys));
  const struct {
    absl::string_view key;
    absl::string_view what;
    std::vector<std::string>* out;
  } lists[] = {
      {"groups", "a group object id", &policy.match_groups},
      {"roles", "an app role", &policy.match_roles},
      {"subjects", "a subject (oid) or client application id", &policy.match_subjects},
  };
  for (const auto& list : lists) {
    if (const picojson::value* item = Find(*object, list.key); item != nullptr) {
      JG_ASSIGN_OR_RETURN(*list.out,
                          ReadTextList(ctx, absl::StrCat(path, ".", list.key), *item, 0,
                                       kMatchEntriesMax, kMatchEntryLengthMax, list.what));
    }
  }
  if (policy.match_groups.empty() && policy.match_roles.empty() &&
      policy.match_subjects.empty()) {
    return Invalid(ctx, path,
                   "expected at least one non-empty list of \"groups\", \"roles\" or \"subjects\" "
                   "(a policy that matches nobody is a mistake)");
  }
  return absl::OkStatus();
}

absl::Status ReadAccess(const Ctx& ctx, absl::string_view path, const picojson::value& value,
                        Policy& policy) {
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, path, value, "an object with mode and max_duration_s"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kAccessKeys));
  JG_ASSIGN_OR_RETURN(const picojson::value* mode, Require(ctx, path, *object, "mode"));
  const std::string mode_path = absl::StrCat(path, ".mode");
  constexpr absl::string_view kExpected = R"("auto" or "approval")";
  if (!mode->is<std::string>()) {
    return TypeError(ctx, mode_path, kExpected, *mode);
  }
  if (mode->get<std::string>() == "auto") {
    policy.mode = AccessMode::kAuto;
  } else if (mode->get<std::string>() == "approval") {
    policy.mode = AccessMode::kApproval;
  } else {
    return RangeError(ctx, mode_path, kExpected, *mode);
  }
  // A day: longer-lived access is a standing grant, which just-in-time access exists to avoid.
  return ReadOptionalU32(ctx, absl::StrCat(path, ".max_duration_s"),
                         Find(*object, "max_duration_s"), 1, 86400, policy.max_duration_s);
}

absl::StatusOr<Policy> ReadPolicy(const Ctx& ctx, absl::string_view path,
                                  const picojson::value& value,
                                  std::span<const Resource> resources,
                                  const MaskingConfig& masking) {
  JG_ASSIGN_OR_RETURN(
      const picojson::object* object,
      AsObject(ctx, path, value, "an object with name, match, resources and access"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kPolicyKeys));
  JG_ASSIGN_OR_RETURN(const picojson::value* name, Require(ctx, path, *object, "name"));
  JG_ASSIGN_OR_RETURN(const picojson::value* match, Require(ctx, path, *object, "match"));
  JG_ASSIGN_OR_RETURN(const picojson::value* listed, Require(ctx, path, *object, "resources"));
  JG_ASSIGN_OR_RETURN(const picojson::value* access, Require(ctx, path, *object, "access"));
  Policy policy;
  JG_ASSIGN_OR_RETURN(policy.name, ReadName(ctx, absl::StrCat(path, ".name"), *name));
  JG_RETURN_IF_ERROR(ReadMatch(ctx, absl::StrCat(path, ".match"), *match, policy));
  JG_RETURN_IF_ERROR(
      ReadPolicyResources(ctx, absl::StrCat(path, ".resources"), *listed, resources, policy));
  JG_RETURN_IF_ERROR(ReadAccess(ctx, absl::StrCat(path, ".access"), *access, policy));
  JG_RETURN_IF_ERROR(ReadStatements(ctx, absl::StrCat(path, ".statements"),
                                    Find(*object, "statements"), policy.statements));
  JG_RETURN_IF_ERROR(ReadUnmask(ctx, absl::StrCat(path, ".unmask"), Find(*object, "unmask"),
                                masking, policy.unmask));
  JG_DCHECK(policy.resource_names.size() == policy.resource_indexes.size());
  return policy;
}

}  // namespace

absl::Status ReadResourceBackend(const Ctx& ctx, absl::string_view path,
                                 const picojson::object& object, Resource& resource) {
  resource.database = resource.name;
  if (const picojson::value* database = Find(object, "database"); database != nullptr) {
    JG_ASSIGN_OR_RETURN(resource.database,
                        ReadText(ctx, absl::StrCat(path, ".database"), *database,
                                 kPgIdentifierLengthMax, "a database name"));
  } else if (resource.database.size() > kPgIdentifierLengthMax) {
    return Invalid(ctx, path,
                   absl::StrCat("the resource name is longer than ", kPgIdentifierLengthMax,
                                " bytes, so it cannot be the database name: give \"database\""));
  }
  if (const picojson::value* user = Find(object, "user"); user != nullptr) {
    JG_ASSIGN_OR_RETURN(resource.user, ReadText(ctx, absl::StrCat(path, ".user"), *user,
                                                kPgIdentifierLengthMax, "a user name"));
  }
  JG_RETURN_IF_ERROR(ReadPassword(ctx, path, object, resource));
  return ReadBackendTlsFields(ctx, path, object, resource);
}

absl::Status ReadIdentity(const Ctx& ctx, const picojson::value* value, Config& config) {
  constexpr absl::string_view kPath = "$.identity";
  if (value == nullptr) {
    return absl::OkStatus();
  }
  JG_ASSIGN_OR_RETURN(
      const picojson::object* object,
      AsObject(ctx, kPath, *value, "an object (issuer, audience, jwks_file or jwks_url, ...)"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, kPath, *object, kIdentityKeys));
  IdentityProvider identity;
  JG_RETURN_IF_ERROR(ReadOneOrMany(ctx, kPath, *object, "issuer", "issuers", true, kIssuersMax,
                                   kUrlLengthMax, "an issuer", identity.issuers));
  JG_RETURN_IF_ERROR(ReadOneOrMany(ctx, kPath, *object, "audience", "audiences", true,
                                   kAudiencesMax, kUrlLengthMax, "an audience",
                                   identity.audiences));
  JG_RETURN_IF_ERROR(ReadOneOrMany(ctx, kPath, *object, "tenant", "tenants", false, kTenantsMax,
                                   kTenantLengthMax, "a tenant id", identity.tenants));
  JG_RETURN_IF_ERROR(ReadJwks(ctx, kPath, *object, identity));
  // Skew beyond 10 minutes hides a broken clock rather than tolerating a drifting one.
  JG_RETURN_IF_ERROR(ReadOptionalU32(ctx, "$.identity.clock_skew_s", Find(*object, "clock_skew_s"),
                                     0, 600, identity.clock_skew_s));
  // At least a minute (a provider's key endpoint is rate limited), at most a day (Entra rolls its
  // signing keys with days of overlap).
  JG_RETURN_IF_ERROR(ReadOptionalU32(ctx, "$.identity.jwks_refresh_s",
                                     Find(*object, "jwks_refresh_s"), 60, 86400,
                                     identity.jwks_refresh_s));
  JG_RETURN_IF_ERROR(ReadOptionalU32(ctx, "$.identity.unknown_kid_refresh_min_s",
                                     Find(*object, "unknown_kid_refresh_min_s"), 1, 86400,
                                     identity.unknown_kid_refresh_min_s));
  JG_RETURN_IF_ERROR(ReadOptionalBool(ctx, "$.identity.require_roles_or_scp",
                                      Find(*object, "require_roles_or_scp"),
                                      identity.require_roles_or_scp));
  config.identity = std::move(identity);
  return absl::OkStatus();
}

absl::Status ReadPolicies(const Ctx& ctx, const picojson::value* value, Config& config) {
  constexpr absl::string_view kPath = "$.policies";
  if (value == nullptr) {
    return absl::OkStatus();
  }
  if (!value->is<picojson::array>()) {
    return TypeError(ctx, kPath, "an array of policies", *value);
  }
  const picojson::array& array = value->get<picojson::array>();
  if (array.size() > kPolicyCountMax) {
    return Invalid(ctx, kPath,
                   absl::StrCat("expected at most ", kPolicyCountMax, " policies, got ",
                                array.size()));
  }
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string path = absl::StrCat(kPath, "[", i, "]");
    JG_ASSIGN_OR_RETURN(Policy policy, ReadPolicy(ctx, path, array[i], config.resources, config.masking));
    for (size_t e = 0; e < config.policies.size(); ++e) {
      if (config.policies[e].name == policy.name) {
        return Invalid(ctx, absl::StrCat(path, ".name"),
                       absl::StrCat("duplicate policy name ", Quote(policy.name),
                                    " (also $.policies[", e, "])"));
      }
    }
    config.policies.push_back(std::move(policy));
  }
  return absl::OkStatus();
}

absl::Status ReadGrants(const Ctx& ctx, const picojson::value* value, GrantsConfig& grants) {
  constexpr absl::string_view kPath = "$.grants";
  if (value == nullptr) {
    return absl::OkStatus();
  }
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, kPath, *value, "an object with log and fsync"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, kPath, *object, kGrantsKeys));
  if (const picojson::value* log = Find(*object, "log"); log != nullptr) {
    JG_ASSIGN_OR_RETURN(grants.log_file, ReadPath(ctx, "$.grants.log", *log));
  }
  return ReadOptionalBool(ctx, "$.grants.fsync", Find(*object, "fsync"), grants.fsync);
}

absl::Status CheckGatewayListener(const Ctx& ctx, absl::string_view path, const Config& config) {
  if (!config.identity.has_value()) {
    return Invalid(ctx, path,
                   "a gateway listener needs an \"identity\" section (who issues the tokens "
                   "agents log in with); give \"resource\" for a relay");
  }
  if (config.policies.empty()) {
    return Invalid(ctx, path,
                   "a gateway listener needs at least one policy in \"policies\" (without one "
                   "every login is refused)");
  }
  return absl::OkStatus();
}

}  // namespace internal

std::string_view BackendTlsName(BackendTls tls) {
  switch (tls) {
    case BackendTls::kDisable:
      return "disable";
    case BackendTls::kRequire:
      return "require";
    case BackendTls::kVerifyCa:
      return "verify-ca";
    case BackendTls::kVerifyFull:
      return "verify-full";
  }
  return "unknown";
}

std::string_view AccessModeName(AccessMode mode) {
  switch (mode) {
    case AccessMode::kAuto:
      return "auto";
    case AccessMode::kApproval:
      return "approval";
  }
  return "unknown";
}

std::string_view ListenerModeName(ListenerMode mode) {
  switch (mode) {
    case ListenerMode::kRelay:
      return "relay";
    case ListenerMode::kGatewayTls:
      return "gateway-tls";
    case ListenerMode::kGatewayInsecure:
      return "gateway-insecure";
  }
  return "unknown";
}

}  // namespace jitgate::config
