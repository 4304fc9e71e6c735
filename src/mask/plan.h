// src/mask/plan.h: the masking rules in force for one policy (compiled once per configuration),
// and the per-result plan built from a RowDescription: one ColumnPlan per column, decided once,
// applied to every DataRow of the result (row.h).
//
// Which mask a column gets, first match wins:
//   1. a column with a source (RowDescription's table OID and attribute number, for a relation
//      that existed when the session connected) takes the mask the catalog snapshot found for
//      that source column: the first column rule matching schema.table.column, unless the policy
//      unmasks it; view columns inherit from the table columns they are computed from
//      (catalog.h);
//   2. a column without a source (an expression, or a relation created after the catalog was
//      read) is matched by its output name against the column part of every column rule (fail
//      closed: `SELECT lower(email) AS email` is masked), then by what the statement's lineage
//      says it derives from (DerivedSpec: `partial` becomes `redact` for derived values, since
//      `substr(ssn, 1, 4)` would show what partial hides);
//   3. a type rule matching the column's type (domains and enums resolved by the catalog);
//   4. the detector rules (kScan), unless the policy unmasks those detectors;
//   5. kKeep.
// Immutable after Compile; shared by every session of the policy on every shard.
#ifndef JITGATE_SRC_MASK_PLAN_H_
#define JITGATE_SRC_MASK_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jitgate/config.h"
#include "src/mask/copy.h"
#include "src/mask/detect.h"
#include "src/mask/value.h"

namespace jitgate::mask {

inline constexpr uint16_t kNoRule = 0xffff;

// A compiled rule: the spec (its redact_text views `text`).
struct Rule {
  std::string name;
  std::string text;
  MaskSpec spec;
  std::vector<config::ColumnPattern> columns;
  std::vector<std::string> types;
  DetectorSet detectors = 0;
};

// The spec for a value derived from values masked by `a` and `b`: the stricter one (null >
// redact > hash), with partial turned into redact.
MaskSpec StricterSpec(const MaskSpec& a, const MaskSpec& b);
MaskSpec DerivedSpec(const MaskSpec& spec);

class PolicyMasks {
 public:
  // The rules of `masking` minus what `policy` unmasks. `hash_key` empty: no rule hashes (the
  // config reader guarantees a key otherwise).
  static std::shared_ptr<const PolicyMasks> Compile(const config::MaskingConfig& masking,
                                                    const config::Policy& policy);

  bool active() const { return !rules_.empty(); }
  // Column or type rules exist: the session must read the catalog after connecting.
  bool needs_catalog() const { return needs_catalog_; }
  std::span<const Rule> rules() const { return rules_; }
  const Rule& rule(uint16_t index) const { return rules_[index]; }
  // The detectors of detector rules without "columns" (scanned in every column).
  DetectorSet detectors() const { return detectors_; }
  // The spec detector matches take (the strictest of the detector rules' specs).
  const MaskSpec& scan_spec() const { return scan_spec_; }
  uint16_t scan_rule() const { return scan_rule_; }
  uint32_t row_size_max() const { return row_size_max_; }
  // The hash strategy's key (empty when no rule hashes). Hashers are per thread (value.h), so
  // each session makes its own from this.
  std::span<const std::byte> hash_key() const {
    return std::as_bytes(std::span<const char>(hash_key_));
  }
  // Changes whenever anything a session's masking depends on changes (a reload compares it).
  uint64_t fingerprint() const { return fingerprint_; }

  // The first column rule that masks source column schema.table.column (folded names), or
  // kNoRule (also when the policy unmasks the column).
  uint16_t MatchSource(std::string_view schema, std::string_view table,
                       std::string_view column) const;
  // True when the policy unmasks source column schema.table.column: an "unmask" column pattern
  // or a column pattern of a rule it unmasks matches it. Unmasked columns are not scanned by the
  // detectors either (the policy said it may see them).
  bool IsUnmasked(std::string_view schema, std::string_view table, std::string_view column) const;
  // The first column rule whose column part is `name` (or "*"), whatever its table; kNoRule.
  uint16_t MatchName(std::string_view name) const;
  // The detectors that scan a column named `name` (rules with "columns" match it by name).
  DetectorSet DetectorsFor(std::string_view schema, std::string_view table,
                           std::string_view column) const;
  // The first type rule naming `type_name`; kNoRule.
  uint16_t MatchTypeName(std::string_view type_name) const;

 private:
  std::vector<Rule> rules_;
  std::vector<config::ColumnPattern> unmask_columns_;  // "unmask.columns" and the columns of
                                                      // the rules "unmask.rules" names
  bool needs_catalog_ = false;
  DetectorSet detectors_ = 0;
  MaskSpec scan_spec_;
  uint16_t scan_rule_ = kNoRule;
  uint32_t row_size_max_ = 1u << 20;
  std::string hash_key_;
  uint64_t fingerprint_ = 0;
};

}  // namespace jitgate::mask

#endif  // JITGATE_SRC_MASK_PLAN_H_
