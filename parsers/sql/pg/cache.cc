// parsers/sql/pg/cache.cc: the decision cache (jitgate/parsers/sql/pg/cache.h).
#include "jitgate/parsers/sql/pg/cache.h"

#include "jitgate/check.h"

namespace jitgate::parsers::sql::pg {

DecisionCache::DecisionCache(uint32_t capacity, uint64_t seed) : seed_(seed) {
  uint32_t sets = 1;
  while (sets * kWays < capacity && sets < (1u << 24)) {
    sets <<= 1;
  }
  set_count_ = sets;
  entries_.reset(new Entry[static_cast<size_t>(set_count_) * kWays]);
}

const Statement* DecisionCache::Find(uint64_t fingerprint, uint32_t token_count, LexMode mode) {
  Entry* set = Set(fingerprint);
  for (uint32_t way = 0; way < kWays; ++way) {
    Entry& entry = set[way];
    if (entry.valid && entry.fingerprint == fingerprint && entry.token_count == token_count &&
        entry.standard_conforming_strings == mode.standard_conforming_strings) {
      entry.last_use = ++clock_;
      ++stats_.hits;
      return &entry.statement;
    }
  }
  ++stats_.misses;
  return nullptr;
}

bool DecisionCache::Insert(uint64_t fingerprint, uint32_t token_count, LexMode mode,
                           const Statement& statement) {
  // Unknown results are not stored either: whether the parser accepts a statement can depend on
  // a literal (E'\u12' is an error, E'\u0012' is not), and a cached kUnknown would refuse every
  // statement of that shape.
  if ((statement.flags & kFlagLiteralDependent) || statement.statement_class == StatementClass::kUnknown) {
    ++stats_.refused;
    return false;
  }
  Entry* set = Set(fingerprint);
  Entry* victim = &set[0];
  for (uint32_t way = 0; way < kWays; ++way) {
    Entry& entry = set[way];
    if (!entry.valid) {
      victim = &entry;
      break;
    }
    if (entry.fingerprint == fingerprint && entry.token_count == token_count &&
        entry.standard_conforming_strings == mode.standard_conforming_strings) {
      victim = &entry;  // replace the same key
      break;
    }
    // Unsigned distance from the clock: the largest is the least recently used.
    if (clock_ - entry.last_use > clock_ - victim->last_use) {
      victim = &entry;
    }
  }
  if (victim->valid && victim->fingerprint != fingerprint) {
    ++stats_.evictions;
  }
  victim->fingerprint = fingerprint;
  victim->token_count = token_count;
  victim->standard_conforming_strings = mode.standard_conforming_strings;
  victim->last_use = ++clock_;
  victim->statement.CopyFrom(statement);
  victim->statement.flags &= ~kFlagMultiStatement;  // a fact of the message, not of the shape
  victim->statement.offset = 0;
  victim->statement.length = 0;
  victim->valid = true;
  ++stats_.inserts;
  return true;
}

void DecisionCache::Clear() {
  for (uint32_t i = 0; i < set_count_ * kWays; ++i) {
    entries_[i].valid = false;
  }
}

void DecisionCache::AssertInvariants() const {
  JG_CHECK(set_count_ > 0 && (set_count_ & (set_count_ - 1)) == 0);
  for (uint32_t i = 0; i < set_count_ * kWays; ++i) {
    JG_CHECK(!entries_[i].valid || (!(entries_[i].statement.flags & kFlagLiteralDependent) &&
                                     entries_[i].statement.statement_class != StatementClass::kUnknown));
  }
}

}  // namespace jitgate::parsers::sql::pg
