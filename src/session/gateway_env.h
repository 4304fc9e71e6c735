// src/session/gateway_env.h: what every gateway session reads and never owns: the config, the
// compiled policies, the grant store, the token validator and keys, TLS contexts and the cancel
// registry. Built once by main (the control plane) before the shards start; shared by all
// shards read-only (the grant store and the cancel registry are internally synchronized, and
// are touched only when a session starts or ends, never per query).
//
// Policies are the one part that changes while shards run: a reload (SIGHUP) compiles a new
// PolicySnapshot off the hot path and publishes it through the PolicyPublisher. A session takes
// the current snapshot when it starts and, before judging each statement, compares the
// publisher's generation (one relaxed atomic load) with its own; only when it moved does it take
// the new snapshot (a short mutex). A snapshot is immutable and lives as long as a session
// holds it.
#ifndef JITGATE_SRC_SESSION_GATEWAY_ENV_H_
#define JITGATE_SRC_SESSION_GATEWAY_ENV_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "jitgate/config.h"

namespace jitgate::auth {
class Validator;
class KeyProvider;
}  // namespace jitgate::auth
namespace jitgate::policy {
class Table;
class RulesTable;
}  // namespace jitgate::policy
namespace jitgate::grants {
class Store;
}  // namespace jitgate::grants
namespace jitgate::tls {
class Context;
}  // namespace jitgate::tls
namespace jitgate::mask {
class PolicyMasks;
}  // namespace jitgate::mask
namespace jitgate::audit {
class Hub;
}  // namespace jitgate::audit

namespace jitgate::session {

class CancelRegistry;

// One generation of compiled policies: the access table and the statement rules, compiled from
// the same config, so their policy indexes agree. `config` is the config they were compiled
// from (its policies; resources and listeners always equal the running config's, a reload that
// changes those is refused).
struct PolicySnapshot {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const policy::Table> table;
  std::shared_ptr<const policy::RulesTable> rules;
  // Per policy (config->policies order): its masking rules; may be empty (sessions then compile
  // their own), see CompileMasks.
  std::vector<std::shared_ptr<const mask::PolicyMasks>> masks;
  uint64_t generation = 0;  // 1 for the start-up snapshot, +1 per successful reload
};

// Publishes PolicySnapshots from the control thread to the shards.
class PolicyPublisher {
 public:
  // The generation of the current snapshot; cheap enough to call per statement.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The current snapshot (never null once the first Publish happened).
  std::shared_ptr<const PolicySnapshot> Current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  // Replaces the current snapshot; `snapshot->generation` must be above the current one.
  void Publish(std::shared_ptr<const PolicySnapshot> snapshot) {
    const uint64_t generation = snapshot->generation;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = std::move(snapshot);
    }
    generation_.store(generation, std::memory_order_release);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const PolicySnapshot> current_;
  std::atomic<uint64_t> generation_{0};
};

struct GatewayEnv {
  const config::Config* config = nullptr;
  // The start-up policy table (resources only: FindResource); decisions use policies->Current().
  const policy::Table* policy = nullptr;
  const PolicyPublisher* policies = nullptr;
  grants::Store* grants = nullptr;
  const auth::Validator* validator = nullptr;
  const auth::KeyProvider* keys = nullptr;
  CancelRegistry* cancels = nullptr;
  // By listener index: the server context of a TLS gateway listener, else null.
  std::vector<const tls::Context*> listener_tls;
  // By resource index: the client context of a resource reached over TLS, else null.
  std::vector<const tls::Context*> resource_tls;
  // The audit log (its per-shard channels are each used by one shard); null: no audit log.
  audit::Hub* audit = nullptr;
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_GATEWAY_ENV_H_
