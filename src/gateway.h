// src/gateway.h: builds what gateway listeners share (session::GatewayEnv) from a loaded config,
// and runs the control-plane chores of the embedded grant store. Called by main only.
//
// Owns the key provider (and its refresh thread), the validator, the compiled policy table, the
// grant store (and its sweep thread: expired grants are recorded once a second), the TLS contexts
// and the cancel registry. Everything is built before the first shard starts and destroyed after
// the last one joined.
#ifndef JITGATE_SRC_GATEWAY_H_
#define JITGATE_SRC_GATEWAY_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "jitgate/config.h"
#include "src/session/gateway_env.h"  // also declares the auth, policy, grants, tls types

namespace jitgate {

class Gateway {
 public:
  // Null env() when no listener is a gateway listener (nothing is built).
  static absl::StatusOr<std::unique_ptr<Gateway>> Build(const config::Config& config);
  ~Gateway();

  const session::GatewayEnv* env() const { return active_ ? &env_ : nullptr; }
  // Starts the key refresh and the grant sweep threads.
  void Start();
  void Stop();

 private:
  Gateway() = default;
  void SweepLoop();

  bool active_ = false;
  session::GatewayEnv env_;
  std::unique_ptr<auth::KeyProvider> keys_;
  std::unique_ptr<auth::Validator> validator_;
  std::shared_ptr<const policy::Table> policy_;
  session::PolicyPublisher policies_;
  std::unique_ptr<grants::Store> grants_;
  std::unique_ptr<session::CancelRegistry> cancels_;
  std::vector<std::unique_ptr<tls::Context>> tls_contexts_;
  std::thread sweeper_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace jitgate

#endif  // JITGATE_SRC_GATEWAY_H_
