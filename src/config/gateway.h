// src/config/gateway.h: the readers of the gateway's sections (identity, policies, grants, a
// resource's backend fields) and the rules that tie them to listeners. Private to src/config;
// config.cc's ParseWithLookup calls them after the resources and before the listeners.
#ifndef JITGATE_SRC_CONFIG_GATEWAY_H_
#define JITGATE_SRC_CONFIG_GATEWAY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "jitgate/config.h"
#include "picojson.h"
#include "src/config/reader.h"

namespace jitgate::config::internal {

// A resource's database, user, password_env / password_file, tls, tls_ca and tls_server_name
// (`resource.name` and `resource.address` are already read; the keys are already checked).
absl::Status ReadResourceBackend(const Ctx& ctx, absl::string_view path,
                                 const picojson::object& object, Resource& resource);

// "identity" (may be absent: null `value`) into config.identity.
absl::Status ReadIdentity(const Ctx& ctx, const picojson::value* value, Config& config);

// "policies" (may be absent) into config.policies; config.resources must be read already.
absl::Status ReadPolicies(const Ctx& ctx, const picojson::value* value, Config& config);

// "grants" (may be absent).
absl::Status ReadGrants(const Ctx& ctx, const picojson::value* value, GrantsConfig& grants);

// A gateway listener at `path` needs config.identity and at least one policy.
absl::Status CheckGatewayListener(const Ctx& ctx, absl::string_view path, const Config& config);

}  // namespace jitgate::config::internal

#endif  // JITGATE_SRC_CONFIG_GATEWAY_H_
