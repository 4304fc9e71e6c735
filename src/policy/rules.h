// src/policy/rules.h: the compiled statement rules of every policy (config::StatementRules), an
// immutable decision table read by shards without locks.
//
// Built on the control thread by RulesTable::Compile from a parsed Config, next to the policy
// Table (table.h), and published together with it: policy indexes are the same in both (the
// policy_index of Table::Decide's AccessDecision is the index Decide below takes). A reload
// compiles new ones and swaps both; a session holds a shared_ptr<const RulesTable> for as long
// as it reads from it. Nothing in a RulesTable changes after Compile.
//
// Decide(policy, statement), for one classified statement (the caller loops over a
// multi-statement string and refuses the whole string if any part is refused):
//   1. Unknown: the class is kUnknown, or kFlagTooLong, or the statement is longer than the
//      policy's statement_length_max, or kFlagNamesOverflow when the policy has table or
//      function rules (the lists it would judge are incomplete): the unknown class rule decides.
//   2. The class rule ("statements.allow[read]", "statements.default[ddl]", ...). A blocked
//      class decides at once: no table or function rule can allow what the class forbids.
//   3. Each relation, in order: the FIRST table rule (file order) whose pattern matches and whose
//      access list holds the relation's access (read / write / ddl) decides for it. No rule
//      matched and the policy has an allow table rule for that access: blocked by the implicit
//      "statements.tables.unlisted[<access>]" rule (allow-lists restrict). Each function: the
//      first matching function rule.
//   4. The most severe result wins (block > review > allow; among equals the first); an allow
//      with no table or function rule involved is the class rule's.
// Names match as PostgreSQL resolves them with its default search_path: a qualified name against
// its schema; an unqualified one as if in pg_catalog or public (the schemas searched by default).
// A session that changes search_path can name other schemas unqualified: the session must track
// search_path before schema-specific rules can be exact (documented gap).
//
// Invariants: every policy has kClassCount class rules at rule indexes 0..kClassCount-1; every
// rule index stored in a pattern set is < rules.size() or kNoRule; each name's "s.t" entries are
// in rule order; the unlisted rules have the largest indexes (so any matching rule beats them).
#ifndef JITGATE_SRC_POLICY_RULES_H_
#define JITGATE_SRC_POLICY_RULES_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "jitgate/config.h"
#include "jitgate/parsers/sql/statement.h"

namespace jitgate::policy {

// What the gateway does with a statement. kReview is refused too until access requests exist
// (its message says that approval would be needed); it is kept apart so audit and the access-
// request work can tell it from a plain block.
enum class Verdict : uint8_t { kAllow, kBlock, kReview };

std::string_view VerdictName(Verdict verdict);  // "allow", "block", "review"

// The result of RulesTable::Decide. Views borrow from the RulesTable.
struct StatementDecision {
  Verdict verdict = Verdict::kBlock;
  uint32_t rule_index = 0;      // into the policy's rules (RulesTable::rule_name(policy, i))
  std::string_view rule_name;   // "statements.block[destructive]", "no-payment-writes", ...
  std::string_view message;     // for the client's ErrorResponse and for explain

  bool allowed() const { return verdict == Verdict::kAllow; }
};

class RulesTable {
 public:
  static constexpr size_t kClassCount = config::StatementRules::kClassCount;
  static constexpr uint32_t kNoRule = UINT32_MAX;

  // Compiles every policy's "statements" (config already validated by config::Parse).
  static absl::StatusOr<std::shared_ptr<const RulesTable>> Compile(const config::Config& config);

  RulesTable(const RulesTable&) = delete;
  RulesTable& operator=(const RulesTable&) = delete;

  // The decision for `statement` under policy `policy_index` (< policy_count(), checked).
  // Allocates nothing, takes no lock; see the file comment for the order of the rules.
  StatementDecision Decide(uint32_t policy_index, const parsers::sql::Statement& statement) const;

  size_t policy_count() const { return policies_.size(); }
  size_t rule_count(uint32_t policy_index) const;
  std::string_view rule_name(uint32_t policy_index, uint32_t rule_index) const;

 private:
  struct Rule {
    std::string name;
    std::string message;
    Verdict verdict = Verdict::kBlock;
  };
  // Per RelationAccess (read, write, ddl): a rule index, kNoRule for none. Function rules apply
  // to every access and are looked up as reads.
  using PerAccess = std::array<uint32_t, 3>;
  // An "s.t" pattern of a by_name key t: the schema is compared when a qualified name is looked up.
  struct QualifiedEntry {
    std::string schema;
    uint32_t rule = 0;
    uint8_t access_mask = 0;  // bit (1 << RelationAccess)
  };
  // What a by_name key t decides, precomputed: first matching rules (smallest index) per access.
  struct NameRules {
    PerAccess unqualified{};       // t unqualified: "t", "*.t", "public.t", "pg_catalog.t", and the
                                   // set's `unqualified_default` folded in
    PerAccess any_schema{};        // s.t, any s: "t", "*.t"
    uint32_t qualified_begin = 0;  // "s.t" entries in `qualified`, rule order: [begin, end)
    uint32_t qualified_end = 0;
  };
  // A fixed open-addressed hash index from a folded name to a value (an index into a vector of
  // its owner), built once. Load factor at most 1/2, linear probing from the slot the key hashes
  // to, up to the key or an empty slot: a probe is never longer than the longest run of used
  // slots, which only the compiled keys set. A lookup reads the key once, as two words (rules.cc
  // KeyWords) that, with its size, are the key itself up to 16 bytes; a size that no key has is
  // refused before any hashing.
  // Invariant: slots_.size() is 0 or a power of two >= 2 * key count; values < kNoValue.
  class NameIndex {
   public:
    static constexpr uint32_t kNoValue = UINT32_MAX;

    void Build(const std::vector<std::pair<std::string, uint32_t>>& keys);
    uint32_t Find(std::string_view key) const;  // kNoValue when absent

   private:
    struct Slot {
      uint64_t head = 0;  // KeyWords of the key
      uint64_t tail = 0;
      uint32_t size = 0;
      uint32_t offset = 0;        // of the key in keys_ (compared in full above 16 bytes)
      uint32_t value = kNoValue;  // kNoValue: an empty slot
    };
    std::vector<Slot> slots_;
    std::string keys_;        // every key's bytes, back to back
    uint64_t size_mask_ = 0;  // bit min(size, 63) set for each key's size
    size_t slot_mask_ = 0;    // slots_.size() - 1
    uint32_t shift_ = 63;     // slot = hash >> shift_
  };
  // The table or function rules of a policy, by pattern form, with the answer for each form
  // precomputed per access kind: an unqualified name costs one index probe, a qualified one two
  // (name and schema) and a compare per "s.t" pattern of its name.
  struct PatternSet {
    NameIndex by_name;  // "s.t", "*.t", "t" -> names
    std::vector<NameRules> names;
    std::vector<QualifiedEntry> qualified;
    NameIndex by_schema;              // "s.*" -> schemas
    std::vector<PerAccess> schemas;   // "s.*", with `any` folded in
    PerAccess unqualified_default{};  // an unqualified name: "public.*", "pg_catalog.*", `any`
    PerAccess any{};                  // "*", "*.*", and the fallback (Finish)
    bool empty = true;

    // Compile time: Add each pattern in rule order, then Finish once. `fallback` is what Find
    // returns when no pattern matches (the unlisted rules for tables); its indexes are larger
    // than every pattern's rule.
    void Add(const config::NamePattern& pattern, uint32_t rule, uint8_t access_mask);
    void Finish(const PerAccess& fallback);
    // The smallest rule index whose pattern matches `name` for access `access` (a RelationAccess
    // index; 0 for functions), else fallback[access].
    uint32_t Find(const parsers::sql::Name& name, uint32_t access) const;

   private:
    struct Pending {
      std::string schema;
      std::string name;
      uint32_t rule = 0;
      uint8_t access_mask = 0;
    };
    std::vector<Pending> pending_;  // Add's patterns until Finish
  };
  struct CompiledPolicy {
    std::vector<Rule> rules;
    std::array<uint32_t, 3> unlisted_rule{kNoRule, kNoRule, kNoRule};  // per RelationAccess
    uint32_t statement_length_max = 0;
    PatternSet tables;
    PatternSet functions;
  };

  RulesTable() = default;

  static absl::StatusOr<CompiledPolicy> CompilePolicy(const config::Policy& policy);
  StatementDecision Make(const CompiledPolicy& policy, uint32_t rule_index) const;

  std::vector<CompiledPolicy> policies_;
};

}  // namespace jitgate::policy

#endif  // JITGATE_SRC_POLICY_RULES_H_
