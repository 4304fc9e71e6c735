// src/session/cancel_registry.h: the gateway's cancel keys (PROTOCOLS.md 3.5).
//
// Each gateway session gives its client a BackendKeyData of its own: the backend's real process
// id and a secret key drawn by jitgate. A CancelRequest may arrive on any shard (a new
// connection), so the map from the client's (pid, key) to the backend's real key is shared by
// every shard. Cancels and session starts are rare next to queries, so a mutex is the right
// tool; nothing on the per-query path touches this.
// Invariant: entries <= capacity (limits.cancel_keys_max); a session's entry is removed when the
// session closes, so a late cancel never reaches another agent's query.
#ifndef JITGATE_SRC_SESSION_CANCEL_REGISTRY_H_
#define JITGATE_SRC_SESSION_CANCEL_REGISTRY_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace jitgate::session {

struct CancelTarget {
  uint32_t resource_index = 0;
  uint32_t backend_pid = 0;
  std::array<std::byte, 4> backend_key{};  // protocol 3.0 keys are 4 bytes
};

class CancelRegistry {
 public:
  explicit CancelRegistry(size_t capacity) : capacity_(capacity) {}

  // Draws a fresh key for `target` (unguessable, RAND_bytes) and records it. Returns the key the
  // client gets, or nullopt when the registry is full (the client then gets no working cancel
  // key: a zero key that matches nothing).
  std::optional<std::array<std::byte, 4>> Register(const CancelTarget& target);
  void Unregister(uint32_t backend_pid, std::array<std::byte, 4> client_key);
  std::optional<CancelTarget> Find(uint32_t backend_pid, std::array<std::byte, 4> client_key) const;
  size_t size() const;

 private:
  static uint64_t KeyOf(uint32_t pid, std::array<std::byte, 4> key);

  const size_t capacity_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<uint64_t, CancelTarget> entries_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_CANCEL_REGISTRY_H_
