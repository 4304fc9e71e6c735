// tests/auth/token_cache_test.cc: the per-shard token cache (src/auth/token_cache.h): hits,
// misses, expiry with skew, CLOCK eviction, no allocation after construction, and a randomized
// run against a map.
#include "src/auth/token_cache.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/alloc_counter.h"

namespace jitgate::auth {
namespace {

// OpenSSL allocates with its own malloc hooks, which the operator-new counter does not see;
// these count them too. Installed before main (and so before OpenSSL allocates anything).
thread_local uint64_t openssl_allocation_count = 0;
void* CountedMalloc(size_t size, const char*, int) {
  ++openssl_allocation_count;
  return std::malloc(size);
}
void* CountedRealloc(void* memory, size_t size, const char*, int) {
  ++openssl_allocation_count;
  return std::realloc(memory, size);
}
void CountedFree(void* memory, const char*, int) { std::free(memory); }
const bool openssl_hooks_installed =
    CRYPTO_set_mem_functions(CountedMalloc, CountedRealloc, CountedFree) == 1;

std::shared_ptr<const Identity> MakeIdentity(const std::string& subject, int64_t exp_s) {
  auto identity = std::make_shared<Identity>();
  identity->subject = subject;
  identity->expires_at_s = exp_s;
  return identity;
}

TEST(TokenCacheTest, HitsAndMisses) {
  TokenCache cache(8, 60);
  EXPECT_EQ(cache.Find("token-a", 0), nullptr);
  const auto a = MakeIdentity("a", 1000);
  cache.Insert("token-a", a);
  EXPECT_EQ(cache.Find("token-a", 0), a);
  EXPECT_EQ(cache.Find("token-b", 0), nullptr);
  EXPECT_EQ(cache.Find("token-", 0), nullptr);
  EXPECT_EQ(cache.Find("", 0), nullptr);
  EXPECT_EQ(cache.size(), 1u);
  const auto a2 = MakeIdentity("a2", 1000);
  cache.Insert("token-a", a2);  // same token: replaced, not added
  EXPECT_EQ(cache.Find("token-a", 0), a2);
  EXPECT_EQ(cache.size(), 1u);
  cache.AssertInvariants();
}

TEST(TokenCacheTest, ExpiresWithSkew) {
  TokenCache cache(8, 60);
  cache.Insert("t", MakeIdentity("x", 1000));
  EXPECT_NE(cache.Find("t", 1059), nullptr);
  EXPECT_EQ(cache.Find("t", 1060), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Find("t", 0), nullptr);  // removed, not just hidden
  cache.AssertInvariants();
}

TEST(TokenCacheTest, EvictsUnreferencedEntriesFirst) {
  TokenCache cache(4, 0);
  for (int i = 0; i < 4; ++i) {
    cache.Insert("t" + std::to_string(i), MakeIdentity(std::to_string(i), 1000));
  }
  EXPECT_EQ(cache.size(), 4u);
  // t0, t1, t3 get a second chance; t2 does not.
  EXPECT_NE(cache.Find("t0", 0), nullptr);
  EXPECT_NE(cache.Find("t1", 0), nullptr);
  EXPECT_NE(cache.Find("t3", 0), nullptr);
  cache.Insert("t4", MakeIdentity("4", 1000));
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.Find("t2", 0), nullptr);
  EXPECT_NE(cache.Find("t4", 0), nullptr);
  EXPECT_NE(cache.Find("t0", 0), nullptr);
  cache.AssertInvariants();
}

TEST(TokenCacheTest, DoesNotAllocateAfterConstruction) {
  std::vector<std::string> tokens;
  std::vector<std::shared_ptr<const Identity>> identities;
  for (int i = 0; i < 100; ++i) {
    tokens.push_back("eyJhbGciOiJSUzI1NiJ9.payload-" + std::to_string(i) + ".signature");
    identities.push_back(MakeIdentity(std::to_string(i), 1000 + i));
  }
  TokenCache cache(32, 60);
  ASSERT_TRUE(openssl_hooks_installed);
  const uint64_t openssl_before = openssl_allocation_count;
  jitgate::testing::AllocationScope scope;
  int digests = 0;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      ++digests;
      if (cache.Find(tokens[i], 1000) == nullptr) {
        ++digests;
        cache.Insert(tokens[i], identities[i]);
      }
    }
  }
  EXPECT_EQ(scope.count(), 0u);
  // OpenSSL 3.0 allocates its provider's digest context on every EVP_DigestInit (one block per
  // SHA-256, freed at the next); the cache itself allocates nothing.
  EXPECT_LE(openssl_allocation_count - openssl_before, static_cast<uint64_t>(digests));
  EXPECT_EQ(cache.size(), 32u);
}

TEST(TokenCacheTest, RandomizedAgainstAMap) {
  std::mt19937 random(7);
  TokenCache cache(64, 5);
  std::map<std::string, std::shared_ptr<const Identity>> inserted;  // latest per token
  for (int op = 0; op < 20000; ++op) {
    const std::string token = "tok" + std::to_string(random() % 200);
    const int64_t now_s = op / 100;
    if (random() % 2 == 0) {
      auto identity = MakeIdentity(token, now_s + static_cast<int64_t>(random() % 50));
      cache.Insert(token, identity);
      inserted[token] = identity;
    } else {
      const std::shared_ptr<const Identity> found = cache.Find(token, now_s);
      if (found != nullptr) {
        ASSERT_EQ(found, inserted[token]) << token;
        ASSERT_LT(now_s, found->expires_at_s + 5);
      }
    }
    ASSERT_LE(cache.size(), cache.capacity());
    if (op % 1000 == 0) {
      cache.AssertInvariants();
    }
  }
  cache.AssertInvariants();
}

}  // namespace
}  // namespace jitgate::auth
