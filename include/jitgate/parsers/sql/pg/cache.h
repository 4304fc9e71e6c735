// jitgate/parsers/sql/pg/cache.h: a shard's bounded cache of classification decisions, keyed by
// statement fingerprint (split.h) and lexer mode, so a repeated statement shape is classified
// without calling libpg_query.
//
// One per shard, never shared across threads. Memory is allocated once, in the constructor;
// Find and Insert never allocate. 4-way set associative with LRU replacement inside a set.
// Invariant: every valid entry holds a Statement without kFlagLiteralDependent, not kUnknown.
//
// Not gameable: the fingerprint covers every token except literal contents, so two statements
// with one print parse into the same tree shape except for literal values; results that depended
// on a literal's value (kFlagLiteralDependent: DO bodies, set_config arguments) are refused by
// Insert, and so are kUnknown results (parse errors can hinge on a literal). The seed makes prints unpredictable to a client (choose it at random per process).
#ifndef JITGATE_PARSERS_SQL_PG_CACHE_H_
#define JITGATE_PARSERS_SQL_PG_CACHE_H_

#include <cstdint>
#include <memory>

#include "jitgate/parsers/sql/pg/lexer.h"
#include "jitgate/parsers/sql/statement.h"

namespace jitgate::parsers::sql::pg {

struct DecisionCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t inserts = 0;
  uint64_t refused = 0;  // literal-dependent or unknown results not stored
  uint64_t evictions = 0;
};

class DecisionCache {
 public:
  // Ways per set; capacity is rounded up to a power of two and to at least one set.
  static constexpr uint32_t kWays = 4;

  DecisionCache(uint32_t capacity, uint64_t seed);
  DecisionCache(const DecisionCache&) = delete;
  DecisionCache& operator=(const DecisionCache&) = delete;

  // The seed to fingerprint with (SplitStatements(..., seed(), ...)).
  uint64_t seed() const { return seed_; }
  uint32_t capacity() const { return set_count_ * kWays; }

  // The cached result for this print, or nullptr. The pointer is valid until the next Insert.
  const Statement* Find(uint64_t fingerprint, uint32_t token_count, LexMode mode);
  // Stores `statement` unless it is literal-dependent or kUnknown (then counted as refused). Returns whether
  // it was stored.
  bool Insert(uint64_t fingerprint, uint32_t token_count, LexMode mode, const Statement& statement);
  void Clear();

  const DecisionCacheStats& stats() const { return stats_; }
  void AssertInvariants() const;

 private:
  struct Entry {
    uint64_t fingerprint = 0;
    uint32_t token_count = 0;
    uint32_t last_use = 0;
    bool valid = false;
    bool standard_conforming_strings = true;
    Statement statement;
  };

  Entry* Set(uint64_t fingerprint) const {
    return &entries_[(fingerprint >> 7 & (set_count_ - 1)) * kWays];
  }

  uint64_t seed_;
  uint32_t set_count_;
  uint32_t clock_ = 0;
  std::unique_ptr<Entry[]> entries_;
  DecisionCacheStats stats_;
};

}  // namespace jitgate::parsers::sql::pg

#endif  // JITGATE_PARSERS_SQL_PG_CACHE_H_
