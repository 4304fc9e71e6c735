// src/gateway.h: builds what gateway listeners share (session::GatewayEnv) from a loaded config,
// runs the control-plane chores of the embedded grant store, and reloads the policies (SIGHUP).
// Called by main only, on the control thread.
//
// Owns the key provider (and its refresh thread), the validator, the compiled policy table, the
// published policy snapshots, the grant store (and its sweep thread: expired grants are recorded
// once a second), the TLS contexts and the cancel registry. Everything is built before the first
// shard starts and destroyed after the last one joined.
//
// Invariant: policies_.generation() == 1 + the number of successful Reload calls, and every
// published snapshot's config equals the running config (*env_.config) except for `policies`
// and `path`.
#ifndef JITGATE_SRC_GATEWAY_H_
#define JITGATE_SRC_GATEWAY_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jitgate/config.h"
#include "src/session/gateway_env.h"  // also declares the auth, policy, grants, tls types

namespace jitgate::audit {
class Hub;
class RecordBuilder;
}  // namespace jitgate::audit

namespace jitgate {

class Gateway {
 public:
  // Null env() when no listener is a gateway listener (nothing is built).
  static absl::StatusOr<std::unique_ptr<Gateway>> Build(const config::Config& config);
  ~Gateway();

  const session::GatewayEnv* env() const { return active_ ? &env_ : nullptr; }
  // Starts the key refresh and the grant sweep threads.
  void Start();
  // Stops them, and the audit writer (after the shards stopped: it drains their queues).
  void Stop();

  // The audit log (null when the config has no "audit" or no gateway listener). Its writer
  // starts with StartAudit, once every shard can be woken (`wakes`, by shard index).
  audit::Hub* audit() const { return audit_.get(); }
  void StartAudit(std::vector<std::function<void()>> wakes);

  // Reloads the policies from the configuration file at `path` (SIGHUP): loads and validates it as
  // start-up does (config::LoadFile, then both policy compilers; secrets are not read again, the
  // running resources keep theirs), refuses it when anything but "policies" differs from the
  // running config (resources, listeners, identity, grants, shards, limits: sessions could not
  // follow), and otherwise publishes the compiled policies as generation + 1. Sessions pick the
  // new snapshot up at their next statement. On any error the current snapshot stays and the
  // status names the file and the JSON path ("<file>: $.resources.orders.address: ..."). Logs
  // event=config_reloaded or event=config_reload_failed. Control thread only: compiling takes
  // milliseconds and must never run on a shard. FailedPreconditionError when env() is null.
  absl::Status Reload(const std::string& path);

 private:
  Gateway() = default;
  void SweepLoop();
  absl::Status ReloadPolicies(const std::string& path);

  bool active_ = false;
  session::GatewayEnv env_;
  std::unique_ptr<auth::KeyProvider> keys_;
  std::unique_ptr<auth::Validator> validator_;
  std::shared_ptr<const policy::Table> policy_;
  session::PolicyPublisher policies_;
  std::mutex reload_mutex_;  // one Reload at a time (main calls it from one thread anyway)
  std::unique_ptr<grants::Store> grants_;
  std::unique_ptr<audit::Hub> audit_;
  std::unique_ptr<audit::RecordBuilder> audit_builder_;  // the sweep thread's records
  std::unique_ptr<session::CancelRegistry> cancels_;
  std::vector<std::unique_ptr<tls::Context>> tls_contexts_;
  std::thread sweeper_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace jitgate

#endif  // JITGATE_SRC_GATEWAY_H_
