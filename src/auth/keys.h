// src/auth/keys.h: the signing keys tokens are verified with (a JWKS, RFC 7517) and the provider
// that keeps them current.
//
// KeySet is immutable once parsed: shard threads look keys up by kid concurrently without locks
// (an EVP_PKEY used only to verify is safe to share across threads). KeyProvider owns the
// current set as an atomic shared_ptr: readers load it and never block; a control thread (the
// provider's own background thread) replaces it on refresh and keeps the last good set when a
// fetch or parse fails. Invariant: keys() is never null after a factory returned the provider,
// and generation() counts the successful loads (>= 1).
#ifndef JITGATE_SRC_AUTH_KEYS_H_
#define JITGATE_SRC_AUTH_KEYS_H_

#include <openssl/evp.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace jitgate::auth {

// Limits on what a JWKS may hold. Entra publishes a handful of keys; the bounds keep a hostile or
// mistaken document from costing memory or verification time.
inline constexpr size_t kJwksSizeMax = size_t{1} << 20;  // bytes of JSON (also the HTTP limit)
inline constexpr size_t kKeyCountMax = 256;              // usable keys in one set
inline constexpr size_t kKidSizeMax = 256;               // bytes of one kid
inline constexpr int kRsaBitsMin = 2048;                 // PROTOCOLS.md 1.8 item 3
inline constexpr int kRsaBitsMax = 8192;                 // bounds the cost of one verify

// Which verifier a key serves. RS256 needs kRsa, ES256 needs kEcP256 (never chosen by the token).
enum class KeyFamily : uint8_t { kRsa, kEcP256 };

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// One public signing key.
struct Key {
  std::string kid;
  KeyFamily family = KeyFamily::kRsa;
  EvpPkeyPtr pkey;
  // The JWKS `issuer` property (Entra v2), possibly containing "{tenantid}"; empty when absent.
  std::string issuer;
};

class KeySet {
 public:
  // Parses a JWKS document {"keys": [...]}. RSA keys need `n` and `e` (modulus 2048..8192 bits,
  // odd exponent >= 3); EC keys need `crv` P-256 and 32-byte `x`, `y` naming a point on the
  // curve. Keys with `use` other than "sig", with another `kty` or `crv`, or with an `alg` other
  // than RS256 (RSA) / ES256 (EC) are skipped. A malformed key of a supported type, a repeated or
  // missing kid, or no usable key at all is an InvalidArgumentError naming the key.
  static absl::StatusOr<std::shared_ptr<const KeySet>> Parse(std::string_view jwks_json);

  // Builds a set from keys already made (tests, fuzzers, the dev minter). Kids must differ.
  static absl::StatusOr<std::shared_ptr<const KeySet>> FromKeys(std::vector<Key> keys);

  // The key named `kid`, or null. `kid` is only ever a lookup key (PROTOCOLS.md 1.9).
  const Key* Find(std::string_view kid) const;

  size_t size() const { return keys_.size(); }
  size_t skipped_count() const { return skipped_count_; }

 private:
  KeySet() = default;
  static absl::StatusOr<std::shared_ptr<const KeySet>> Make(std::vector<Key> keys,
                                                            size_t skipped_count);
  std::vector<Key> keys_;  // sorted by kid
  size_t skipped_count_ = 0;
};

// How a KeyProvider fetches and refreshes.
struct KeyProviderOptions {
  // Background reload period.
  int64_t refresh_interval_s = 3600;
  // RequestRefresh (an unknown kid) reloads at most once per this period (PROTOCOLS.md 1.5).
  int64_t unknown_kid_refresh_min_s = 300;
  // HTTPS only: a PEM file of trusted CAs; empty means the system store.
  std::string ca_file;
  int64_t connect_timeout_ms = 5000;
  // Each read waits at most this long, and the whole response at most 3 times this long.
  int64_t read_timeout_ms = 10000;
};

class KeyProvider {
 public:
  // Loads the JWKS file at `path` now (an error if it cannot be read or parsed). Refreshes
  // re-read the file.
  static absl::StatusOr<std::unique_ptr<KeyProvider>> FromFile(std::string path,
                                                               KeyProviderOptions options = {});
  // Fetches `url` (https://host[:port]/path) now (an error if the fetch or parse fails).
  // Refreshes fetch it again.
  static absl::StatusOr<std::unique_ptr<KeyProvider>> FromUrl(std::string url,
                                                              KeyProviderOptions options = {});
  // A provider that never refreshes (tests, fuzzers).
  static std::unique_ptr<KeyProvider> FromKeySet(std::shared_ptr<const KeySet> keys);

  ~KeyProvider();  // Stops the background thread.
  KeyProvider(const KeyProvider&) = delete;
  KeyProvider& operator=(const KeyProvider&) = delete;

  // The current set; never null. Lock-free for readers (any thread).
  std::shared_ptr<const KeySet> keys() const { return keys_.load(std::memory_order_acquire); }

  // Increases by one on every successful load; 1 after the factory's load.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Asks the background thread for a reload because a token named an unknown kid. Never blocks
  // on I/O (any thread). Honoured at most once per unknown_kid_refresh_min_s; requests while a
  // reload is pending or within that period are dropped. Returns whether this call was accepted.
  // Served once Start() has run.
  bool RequestRefresh() const;

  // Reloads now on the calling thread (control plane); keeps the last good set on failure.
  absl::Status Reload();

  // Starts / stops the background refresh thread. Stop joins it; both are idempotent.
  void Start();
  void Stop();

 private:
  enum class Source : uint8_t { kFixed, kFile, kUrl };
  KeyProvider(Source source, std::string location, KeyProviderOptions options);
  absl::StatusOr<std::shared_ptr<const KeySet>> Load() const;
  void Run();

  const Source source_;
  const std::string location_;  // path or URL
  const KeyProviderOptions options_;
  std::atomic<std::shared_ptr<const KeySet>> keys_;
  std::atomic<uint64_t> generation_{0};
  // Steady-clock ms of the last accepted RequestRefresh; INT64_MIN before the first.
  mutable std::atomic<int64_t> last_request_ms_;
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;
  mutable bool refresh_requested_ = false;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::thread thread_;
};

}  // namespace jitgate::auth

#endif  // JITGATE_SRC_AUTH_KEYS_H_
