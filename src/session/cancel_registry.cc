// Implementation of src/session/cancel_registry.h.
#include "src/session/cancel_registry.h"

#include <openssl/rand.h>

#include <cstring>

namespace jitgate::session {

uint64_t CancelRegistry::KeyOf(uint32_t pid, std::array<std::byte, 4> key) {
  uint32_t k = 0;
  std::memcpy(&k, key.data(), sizeof(k));
  return (uint64_t{pid} << 32) | k;
}

std::optional<std::array<std::byte, 4>> CancelRegistry::Register(const CancelTarget& target) {
  absl::MutexLock lock(&mutex_);
  if (entries_.size() >= capacity_) {
    return std::nullopt;
  }
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::array<std::byte, 4> key{};
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) !=
        1) {
      return std::nullopt;  // no randomness: no cancel key rather than a guessable one
    }
    if (entries_.try_emplace(KeyOf(target.backend_pid, key), target).second) {
      return key;
    }
  }
  return std::nullopt;
}

void CancelRegistry::Unregister(uint32_t backend_pid, std::array<std::byte, 4> client_key) {
  absl::MutexLock lock(&mutex_);
  entries_.erase(KeyOf(backend_pid, client_key));
}

std::optional<CancelTarget> CancelRegistry::Find(uint32_t backend_pid,
                                                 std::array<std::byte, 4> client_key) const {
  absl::MutexLock lock(&mutex_);
  const auto it = entries_.find(KeyOf(backend_pid, client_key));
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second;
}

size_t CancelRegistry::size() const {
  absl::MutexLock lock(&mutex_);
  return entries_.size();
}

}  // namespace jitgate::session
