// src/auth/token_cache.h: a shard's cache of validated tokens, so a reconnecting agent costs a
// SHA-256 and a lookup instead of a signature check.
//
// One per shard; not thread-safe; used only on its shard's thread. Capacity is fixed at
// construction and every table is allocated then: Find and Insert allocate nothing beyond the
// shared_ptr copies they store or return (OpenSSL 3.0 itself mallocs one digest context per
// SHA-256 in EVP_DigestInit_ex2, freed at the next; the 3.0 API offers no allocation-free
// SHA-256 that is not deprecated). Keyed by SHA-256 of the token, compared on all 32 bytes
// (the token itself is never kept). Only successful verdicts are inserted. An entry is a miss, and
// is dropped, once now_s >= identity->expires_at_s + clock_skew_s. Replacement is CLOCK (second
// chance). Invariant: size() + free slots == capacity() and the index holds exactly size()
// entries, in an open-addressing table of at least 2 * capacity() buckets.
#ifndef JITGATE_SRC_AUTH_TOKEN_CACHE_H_
#define JITGATE_SRC_AUTH_TOKEN_CACHE_H_

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "jitgate/identity.h"

namespace jitgate::auth {

using TokenDigest = std::array<uint8_t, 32>;

class TokenCache {
 public:
  // `capacity` entries (>= 1, <= 2^24); `clock_skew_s` as in ValidatorOptions.
  TokenCache(size_t capacity, int64_t clock_skew_s);
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // The identity validated earlier for exactly this token, or null (never seen, evicted, or
  // expired at now_s; an expired entry is removed).
  std::shared_ptr<const Identity> Find(std::string_view token, int64_t now_s);

  // Remembers a successful verdict's identity for `token` (replacing an entry for the same token),
  // evicting one entry if the cache is full. `identity` must not be null.
  void Insert(std::string_view token, std::shared_ptr<const Identity> identity);

  size_t size() const { return size_; }
  size_t capacity() const { return entries_.size(); }
  void AssertInvariants() const;

 private:
  struct Entry {
    TokenDigest digest{};
    std::shared_ptr<const Identity> identity;  // null = free slot
    bool referenced = false;                   // CLOCK's second-chance bit
  };
  static constexpr int32_t kEmpty = -1;

  TokenDigest Digest(std::string_view token);
  size_t Home(const TokenDigest& digest) const;
  // Bucket of `digest` in index_, or npos-like index_.size() when absent.
  size_t FindBucket(const TokenDigest& digest) const;
  void EraseBucket(size_t bucket);
  void Remove(size_t bucket);
  int32_t EvictOne();

  const int64_t clock_skew_s_;
  std::vector<Entry> entries_;
  std::vector<int32_t> index_;       // entry numbers, kEmpty; size is a power of two
  std::vector<int32_t> free_slots_;  // reserved to capacity
  size_t size_ = 0;
  size_t hand_ = 0;
  EVP_MD_CTX* md_ctx_ = nullptr;
  EVP_MD* sha256_ = nullptr;
};

}  // namespace jitgate::auth

#endif  // JITGATE_SRC_AUTH_TOKEN_CACHE_H_
