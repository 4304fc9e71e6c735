// src/auth/token_cache.cc: see token_cache.h. Linear probing with backward-shift deletion (no
// tombstones, so probe lengths stay short however entries come and go).
#include "src/auth/token_cache.h"

#include <cstring>

#include "jitgate/check.h"

namespace jitgate::auth {

TokenCache::TokenCache(size_t capacity, int64_t clock_skew_s)
    : clock_skew_s_(clock_skew_s), entries_(capacity) {
  JG_CHECK(capacity >= 1 && capacity <= (size_t{1} << 24));
  size_t buckets = 2;
  while (buckets < 2 * capacity) {
    buckets *= 2;
  }
  index_.assign(buckets, kEmpty);
  free_slots_.reserve(capacity);
  for (size_t i = capacity; i > 0; --i) {
    free_slots_.push_back(static_cast<int32_t>(i - 1));
  }
  sha256_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  md_ctx_ = EVP_MD_CTX_new();
  JG_CHECK(sha256_ != nullptr && md_ctx_ != nullptr);
}

TokenCache::~TokenCache() {
  EVP_MD_CTX_free(md_ctx_);
  EVP_MD_free(sha256_);
}

TokenDigest TokenCache::Digest(std::string_view token) {
  TokenDigest digest;
  unsigned int size = 0;
  JG_CHECK(EVP_DigestInit_ex2(md_ctx_, sha256_, nullptr) == 1 &&
           EVP_DigestUpdate(md_ctx_, token.data(), token.size()) == 1 &&
           EVP_DigestFinal_ex(md_ctx_, digest.data(), &size) == 1 && size == digest.size());
  return digest;
}

size_t TokenCache::Home(const TokenDigest& digest) const {
  uint64_t bits;
  std::memcpy(&bits, digest.data(), sizeof(bits));
  return static_cast<size_t>(bits) & (index_.size() - 1);
}

size_t TokenCache::FindBucket(const TokenDigest& digest) const {
  const size_t mask = index_.size() - 1;
  for (size_t bucket = Home(digest);; bucket = (bucket + 1) & mask) {
    const int32_t slot = index_[bucket];
    if (slot == kEmpty) {
      return index_.size();
    }
    if (entries_[static_cast<size_t>(slot)].digest == digest) {
      return bucket;
    }
  }
}

void TokenCache::EraseBucket(size_t bucket) {
  const size_t mask = index_.size() - 1;
  size_t hole = bucket;
  for (size_t next = (hole + 1) & mask; index_[next] != kEmpty; next = (next + 1) & mask) {
    const size_t home = Home(entries_[static_cast<size_t>(index_[next])].digest);
    // The entry at `next` may move into the hole unless its home lies cyclically in (hole, next].
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (!stays) {
      index_[hole] = index_[next];
      hole = next;
    }
  }
  index_[hole] = kEmpty;
}

void TokenCache::Remove(size_t bucket) {
  const int32_t slot = index_[bucket];
  EraseBucket(bucket);
  Entry& entry = entries_[static_cast<size_t>(slot)];
  entry.identity.reset();
  entry.referenced = false;
  free_slots_.push_back(slot);
  --size_;
}

int32_t TokenCache::EvictOne() {
  JG_DCHECK(size_ == entries_.size());
  // At most two sweeps: the first clears every referenced bit it passes.
  while (true) {
    Entry& entry = entries_[hand_];
    const size_t slot = hand_;
    hand_ = (hand_ + 1) % entries_.size();
    if (entry.referenced) {
      entry.referenced = false;
      continue;
    }
    const size_t bucket = FindBucket(entry.digest);
    JG_CHECK(bucket < index_.size());
    Remove(bucket);
    JG_DCHECK(free_slots_.back() == static_cast<int32_t>(slot));
    free_slots_.pop_back();
    return static_cast<int32_t>(slot);
  }
}

std::shared_ptr<const Identity> TokenCache::Find(std::string_view token, int64_t now_s) {
  const TokenDigest digest = Digest(token);
  const size_t bucket = FindBucket(digest);
  if (bucket == index_.size()) {
    return nullptr;
  }
  Entry& entry = entries_[static_cast<size_t>(index_[bucket])];
  if (static_cast<__int128>(now_s) >=
      static_cast<__int128>(entry.identity->expires_at_s) + clock_skew_s_) {
    Remove(bucket);
    return nullptr;
  }
  entry.referenced = true;
  return entry.identity;
}

void TokenCache::Insert(std::string_view token, std::shared_ptr<const Identity> identity) {
  JG_CHECK(identity != nullptr);
  const TokenDigest digest = Digest(token);
  const size_t found = FindBucket(digest);
  if (found != index_.size()) {
    Entry& entry = entries_[static_cast<size_t>(index_[found])];
    entry.identity = std::move(identity);
    entry.referenced = true;
    return;
  }
  int32_t slot;
  if (free_slots_.empty()) {
    slot = EvictOne();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Entry& entry = entries_[static_cast<size_t>(slot)];
  entry.digest = digest;
  entry.identity = std::move(identity);
  entry.referenced = false;
  const size_t mask = index_.size() - 1;
  size_t bucket = Home(digest);
  while (index_[bucket] != kEmpty) {
    bucket = (bucket + 1) & mask;
  }
  index_[bucket] = slot;
  ++size_;
}

void TokenCache::AssertInvariants() const {
  JG_CHECK(size_ + free_slots_.size() == entries_.size());
  size_t indexed = 0;
  for (const int32_t slot : index_) {
    if (slot != kEmpty) {
      ++indexed;
      JG_CHECK(entries_[static_cast<size_t>(slot)].identity != nullptr);
    }
  }
  JG_CHECK(indexed == size_);
}

}  // namespace jitgate::auth
