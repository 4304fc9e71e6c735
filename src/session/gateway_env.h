// src/session/gateway_env.h: what every gateway session reads and never owns: the config, the
// compiled policy table, the grant store, the token validator and keys, TLS contexts and the
// cancel registry. Built once by main (the control plane) before the shards start; shared by all
// shards read-only (the grant store and the cancel registry are internally synchronized, and
// are touched only when a session starts or ends, never per query).
#ifndef JITGATE_SRC_SESSION_GATEWAY_ENV_H_
#define JITGATE_SRC_SESSION_GATEWAY_ENV_H_

#include <memory>
#include <vector>

#include "jitgate/config.h"

namespace jitgate::auth {
class Validator;
class KeyProvider;
}  // namespace jitgate::auth
namespace jitgate::policy {
class Table;
}  // namespace jitgate::policy
namespace jitgate::grants {
class Store;
}  // namespace jitgate::grants
namespace jitgate::tls {
class Context;
}  // namespace jitgate::tls

namespace jitgate::session {

class CancelRegistry;

struct GatewayEnv {
  const config::Config* config = nullptr;
  const policy::Table* policy = nullptr;
  grants::Store* grants = nullptr;
  const auth::Validator* validator = nullptr;
  const auth::KeyProvider* keys = nullptr;
  CancelRegistry* cancels = nullptr;
  // By listener index: the server context of a TLS gateway listener, else null.
  std::vector<const tls::Context*> listener_tls;
  // By resource index: the client context of a resource reached over TLS, else null.
  std::vector<const tls::Context*> resource_tls;
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_GATEWAY_ENV_H_
