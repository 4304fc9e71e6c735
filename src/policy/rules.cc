// src/policy/rules.cc: see rules.h. Compile runs on the control thread; Decide runs on shard
// threads and only reads.
#include "src/policy/rules.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "jitgate/check.h"

namespace jitgate::policy {
namespace {

using parsers::sql::Name;
using parsers::sql::RelationAccess;
using parsers::sql::Statement;
using parsers::sql::StatementClass;

constexpr uint8_t kAllAccess = 0b111;
// The schemas PostgreSQL's default search_path resolves an unqualified name in.
constexpr absl::string_view kImplicitSchemas[] = {"pg_catalog", "public"};
constexpr absl::string_view kAccessNames[] = {"read", "write", "ddl"};
constexpr absl::string_view kAccessPlurals[] = {"reads", "writes", "DDL"};

constexpr absl::string_view kReviewSuffix =
    " (this needs an approver's approval; access requests are not available yet, so it is "
    "refused)";

absl::string_view AbslView(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

// What each class covers, for generated messages.
constexpr absl::string_view kClassDescriptions[] = {
    "read statements",
    "write statements",
    "DDL statements (CREATE, ALTER, COMMENT ... of schema objects)",
    "DCL statements (GRANT, REVOKE, role changes)",
    "destructive statements (DROP, TRUNCATE, DELETE or UPDATE without WHERE)",
    "administrative statements (server files and programs, ALTER SYSTEM, SET ROLE, dynamic SQL)",
    "transaction control statements",
    "session statements (SET, RESET, DISCARD, ...)",
    "statements the gateway cannot classify (or longer than it inspects)",
};
static_assert(std::size(kClassDescriptions) == RulesTable::kClassCount);

Verdict ToVerdict(config::StatementAction action) {
  switch (action) {
    case config::StatementAction::kAllow:
      return Verdict::kAllow;
    case config::StatementAction::kBlock:
      return Verdict::kBlock;
    case config::StatementAction::kReview:
      return Verdict::kReview;
  }
  return Verdict::kBlock;
}

// block > review > allow.
int Severity(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllow:
      return 0;
    case Verdict::kReview:
      return 1;
    case Verdict::kBlock:
      return 2;
  }
  return 2;
}

std::string AccessList(uint8_t mask) {
  std::vector<absl::string_view> names;
  for (size_t a = 0; a < std::size(kAccessPlurals); ++a) {
    if ((mask & (1u << a)) != 0) {
      names.push_back(kAccessPlurals[a]);
    }
  }
  return absl::StrJoin(names, ", ");
}

std::string Finish(Verdict verdict, std::string message) {
  if (verdict == Verdict::kReview) {
    absl::StrAppend(&message, kReviewSuffix);
  }
  return message;
}

std::string ClassMessage(const config::Policy& policy, size_t c, Verdict verdict) {
  const std::string& custom = policy.statements.class_messages[c];
  if (!custom.empty()) {
    return Finish(verdict, custom);
  }
  const absl::string_view what = verdict == Verdict::kAllow ? "allowed" : "not allowed";
  return Finish(verdict, absl::StrCat(kClassDescriptions[c], " are ", what, " by policy \"",
                                      policy.name, "\""));
}

std::string NameRuleMessage(const config::Policy& policy, const config::NameRule& rule,
                            bool tables, Verdict verdict) {
  if (!rule.message.empty()) {
    return Finish(verdict, rule.message);
  }
  const absl::string_view what = verdict == Verdict::kAllow ? "allowed" : "not allowed";
  if (tables) {
    return Finish(verdict, absl::StrCat(AccessList(rule.access_mask), " on tables matching \"",
                                        rule.match.text, "\" are ", what, " by policy \"",
                                        policy.name, "\""));
  }
  return Finish(verdict, absl::StrCat("calls of functions matching \"", rule.match.text, "\" are ",
                                      what, " by policy \"", policy.name, "\""));
}

}  // namespace

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllow:
      return "allow";
    case Verdict::kBlock:
      return "block";
    case Verdict::kReview:
      return "review";
  }
  return "block";
}

namespace {

uint64_t Load64(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

uint32_t Load32(const char* p) {
  uint32_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

// A key as two words: for up to 16 bytes its first and last 8 (4 below 8 bytes; three bytes
// packed below 4), loads that overlap rather than read past it, so that with the size they are
// the key. Above 16 bytes the earlier bytes are folded into `head` and a full compare confirms.
struct KeyWords {
  uint64_t head = 0;
  uint64_t tail = 0;
};

[[gnu::always_inline]] inline KeyWords Words(std::string_view key) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  const char* p = key.data();
  const size_t n = key.size();
  KeyWords words;
  if (n > 16) {
    uint64_t folded = 0;
    for (size_t i = 0; i + 16 < n; i += 8) {
      folded = (folded ^ Load64(p + i)) * kMul;
    }
    words.head = Load64(p + n - 16) ^ folded;
    words.tail = Load64(p + n - 8);
  } else if (n >= 8) {
    words.head = Load64(p);
    words.tail = Load64(p + n - 8);
  } else if (n >= 4) {
    words.head = Load32(p);
    words.tail = Load32(p + n - 4);
  } else if (n > 0) {
    words.head = (uint64_t{static_cast<uint8_t>(p[0])} << 16) |
                 (uint64_t{static_cast<uint8_t>(p[n / 2])} << 8) | static_cast<uint8_t>(p[n - 1]);
  }
  return words;
}

// One multiply; the slot is taken from the top bits, where every input bit has reached.
[[gnu::always_inline]] inline uint64_t Hash(KeyWords words, size_t size) {
  constexpr uint64_t kMul = 0xa0761d6478bd642full;
  return (words.head ^ ((words.tail << 29) | (words.tail >> 35)) ^ size) * kMul;
}

// Byte equality without a library call for keys of up to 16 bytes (the same overlapping loads).
[[gnu::always_inline]] inline bool SameBytes(std::string_view x, std::string_view y) {
  const size_t n = x.size();
  if (n != y.size()) {
    return false;
  }
  const char* p = x.data();
  const char* q = y.data();
  if (n > 16) {
    return std::memcmp(p, q, n) == 0;
  }
  if (n >= 8) {
    return Load64(p) == Load64(q) && Load64(p + n - 8) == Load64(q + n - 8);
  }
  if (n >= 4) {
    return Load32(p) == Load32(q) && Load32(p + n - 4) == Load32(q + n - 4);
  }
  return n == 0 || (p[0] == q[0] && p[n / 2] == q[n / 2] && p[n - 1] == q[n - 1]);
}

bool IsImplicitSchema(std::string_view schema) {
  for (const absl::string_view implicit : kImplicitSchemas) {
    if (SameBytes(schema, std::string_view(implicit.data(), implicit.size()))) {
      return true;
    }
  }
  return false;
}

}  // namespace

void RulesTable::NameIndex::Build(const std::vector<std::pair<std::string, uint32_t>>& keys) {
  slots_.clear();
  keys_.clear();
  size_mask_ = 0;
  if (keys.empty()) {
    return;
  }
  size_t size = 2;
  shift_ = 63;
  while (size < 2 * keys.size()) {
    size <<= 1;
    --shift_;
  }
  slots_.assign(size, Slot{});
  slot_mask_ = size - 1;
  for (const auto& [key, value] : keys) {
    JG_CHECK(value != kNoValue);
    const KeyWords words = Words(key);
    const Slot slot{words.head, words.tail, static_cast<uint32_t>(key.size()),
                    static_cast<uint32_t>(keys_.size()), value};
    keys_.append(key);
    size_mask_ |= uint64_t{1} << (key.size() < 63 ? key.size() : 63);
    size_t i = Hash(words, key.size()) >> shift_;
    while (slots_[i].value != kNoValue) {
      i = (i + 1) & (size - 1);
    }
    slots_[i] = slot;
  }
  JG_CHECK(slots_.size() >= 2 * keys.size() && (size_t{1} << (64 - shift_)) == slots_.size());
}

[[gnu::always_inline]] inline uint32_t RulesTable::NameIndex::Find(std::string_view key) const {
  const size_t n = key.size();
  if (((size_mask_ >> (n < 63 ? n : 63)) & 1) == 0) {
    return kNoValue;  // also when there are no keys
  }
  const KeyWords words = Words(key);
  // Terminates: at most half the slots are used.
  for (size_t i = Hash(words, n) >> shift_;; i = (i + 1) & slot_mask_) {
    const Slot& slot = slots_[i];
    if (slot.value == kNoValue) {
      return kNoValue;
    }
    if (slot.head == words.head && slot.tail == words.tail && slot.size == n &&
        (n <= 16 || std::memcmp(keys_.data() + slot.offset, key.data(), n) == 0)) {
      return slot.value;
    }
  }
}

void RulesTable::PatternSet::Add(const config::NamePattern& pattern, uint32_t rule,
                                 uint8_t access_mask) {
  JG_CHECK(pending_.empty() || pending_.back().rule < rule);
  empty = false;
  pending_.push_back(Pending{pattern.schema, pattern.name, rule, access_mask});
}

void RulesTable::PatternSet::Finish(const PerAccess& fallback) {
  // Lowers each access kind of `first` to `rule` where the pattern lists that access.
  auto lower = [](PerAccess& first, uint32_t rule, uint8_t access_mask) {
    for (size_t a = 0; a < first.size(); ++a) {
      if ((access_mask & (1u << a)) != 0 && rule < first[a]) {
        first[a] = rule;
      }
    }
  };
  any = fallback;
  for (const Pending& pattern : pending_) {
    if (pattern.name.empty() && pattern.schema.empty()) {
      lower(any, pattern.rule, pattern.access_mask);
    }
  }
  unqualified_default = any;
  for (const Pending& pattern : pending_) {
    if (pattern.name.empty() && IsImplicitSchema(pattern.schema)) {
      lower(unqualified_default, pattern.rule, pattern.access_mask);
    }
  }
  // "s.*": one PerAccess per schema, `any` folded in.
  absl::flat_hash_map<std::string, uint32_t> schema_of;
  std::vector<std::pair<std::string, uint32_t>> schema_keys;
  schemas.clear();
  for (const Pending& pattern : pending_) {
    if (!pattern.name.empty() || pattern.schema.empty()) {
      continue;
    }
    const auto [it, inserted] =
        schema_of.try_emplace(pattern.schema, static_cast<uint32_t>(schemas.size()));
    if (inserted) {
      schemas.push_back(any);
      schema_keys.emplace_back(pattern.schema, it->second);
    }
    lower(schemas[it->second], pattern.rule, pattern.access_mask);
  }
  by_schema.Build(schema_keys);
  // Names: the unqualified answer in full; for qualified ones the any-schema part, and the
  // "s.t" entries (in rule order, pending_ is) whose schema Find compares.
  absl::flat_hash_map<std::string, uint32_t> name_of;
  std::vector<std::pair<std::string, uint32_t>> name_keys;
  std::vector<std::vector<const Pending*>> with_schema;
  names.clear();
  for (const Pending& pattern : pending_) {
    if (pattern.name.empty()) {
      continue;
    }
    const auto [it, inserted] =
        name_of.try_emplace(pattern.name, static_cast<uint32_t>(names.size()));
    if (inserted) {
      NameRules rules;
      rules.unqualified = unqualified_default;
      rules.any_schema.fill(kNoRule);
      names.push_back(rules);
      with_schema.emplace_back();
      name_keys.emplace_back(pattern.name, it->second);
    }
    NameRules& rules = names[it->second];
    if (pattern.schema.empty()) {
      lower(rules.any_schema, pattern.rule, pattern.access_mask);
    } else {
      with_schema[it->second].push_back(&pattern);
    }
    if (pattern.schema.empty() || IsImplicitSchema(pattern.schema)) {
      lower(rules.unqualified, pattern.rule, pattern.access_mask);
    }
  }
  qualified.clear();
  for (size_t k = 0; k < names.size(); ++k) {
    names[k].qualified_begin = static_cast<uint32_t>(qualified.size());
    for (const Pending* pattern : with_schema[k]) {
      qualified.push_back(QualifiedEntry{pattern->schema, pattern->rule, pattern->access_mask});
    }
    names[k].qualified_end = static_cast<uint32_t>(qualified.size());
  }
  by_name.Build(name_keys);
  pending_.clear();
  pending_.shrink_to_fit();
}

uint32_t RulesTable::PatternSet::Find(const Name& name, uint32_t access) const {
  JG_DCHECK(access < 3);
  if (name.schema.empty()) {
    const uint32_t k = by_name.Find(name.name);
    return k == NameIndex::kNoValue ? unqualified_default[access] : names[k].unqualified[access];
  }
  const uint32_t s = by_schema.Find(name.schema);
  uint32_t best = s == NameIndex::kNoValue ? any[access] : schemas[s][access];
  const uint32_t k = by_name.Find(name.name);
  if (k != NameIndex::kNoValue) {
    const NameRules& rules = names[k];
    best = std::min(best, rules.any_schema[access]);
    // In rule order: the first that applies is the candidate.
    for (uint32_t i = rules.qualified_begin; i < rules.qualified_end; ++i) {
      const QualifiedEntry& entry = qualified[i];
      if (entry.rule >= best) {
        break;
      }
      if ((entry.access_mask & (1u << access)) != 0 && SameBytes(entry.schema, name.schema)) {
        best = entry.rule;
        break;
      }
    }
  }
  return best;
}

absl::StatusOr<RulesTable::CompiledPolicy> RulesTable::CompilePolicy(
    const config::Policy& policy) {
  const config::StatementRules& statements = policy.statements;
  CompiledPolicy compiled;
  compiled.statement_length_max = statements.statement_length_max;
  compiled.rules.reserve(kClassCount + 3 + statements.tables.size() +
                         statements.functions.size());
  for (size_t c = 0; c < kClassCount; ++c) {
    Rule rule;
    rule.verdict = ToVerdict(statements.class_actions[c]);
    rule.name = statements.class_rule_names[c].empty()
                    ? absl::StrCat("statements.default[", AbslView(config::kStatementClassNames[c]),
                                   "]")
                    : statements.class_rule_names[c];
    rule.message = ClassMessage(policy, c, rule.verdict);
    compiled.rules.push_back(std::move(rule));
  }
  uint8_t allow_access = 0;  // access kinds some allow table rule lists
  for (const config::NameRule& table : statements.tables) {
    if (table.access_mask == 0 || (table.access_mask & ~kAllAccess) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy \"", policy.name, "\": rule \"", table.name, "\": bad access"));
    }
    const auto index = static_cast<uint32_t>(compiled.rules.size());
    Rule rule;
    rule.verdict = ToVerdict(table.action);
    rule.name = table.name;
    rule.message = NameRuleMessage(policy, table, true, rule.verdict);
    compiled.rules.push_back(std::move(rule));
    compiled.tables.Add(table.match, index, table.access_mask);
    if (table.action == config::StatementAction::kAllow) {
      allow_access = static_cast<uint8_t>(allow_access | table.access_mask);
    }
  }
  for (const config::NameRule& function : statements.functions) {
    const auto index = static_cast<uint32_t>(compiled.rules.size());
    Rule rule;
    rule.verdict = ToVerdict(function.action);
    rule.name = function.name;
    rule.message = NameRuleMessage(policy, function, false, rule.verdict);
    compiled.rules.push_back(std::move(rule));
    compiled.functions.Add(function.match, index, kAllAccess);
  }
  for (size_t a = 0; a < std::size(kAccessNames); ++a) {
    if ((allow_access & (1u << a)) == 0) {
      continue;
    }
    compiled.unlisted_rule[a] = static_cast<uint32_t>(compiled.rules.size());
    Rule rule;
    rule.verdict = Verdict::kBlock;
    rule.name = absl::StrCat("statements.tables.unlisted[", kAccessNames[a], "]");
    rule.message = absl::StrCat("policy \"", policy.name, "\" allows ", kAccessPlurals[a],
                                " only on the tables its allow rules list, and this is not one");
    compiled.rules.push_back(std::move(rule));
  }
  // The unlisted rules come last, so they lose to every matching table rule.
  compiled.tables.Finish(compiled.unlisted_rule);
  compiled.functions.Finish(PerAccess{kNoRule, kNoRule, kNoRule});
  return compiled;
}

absl::StatusOr<std::shared_ptr<const RulesTable>> RulesTable::Compile(
    const config::Config& config) {
  std::shared_ptr<RulesTable> table(new RulesTable());
  table->policies_.reserve(config.policies.size());
  for (const config::Policy& policy : config.policies) {
    absl::StatusOr<CompiledPolicy> compiled = CompilePolicy(policy);
    if (!compiled.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(config.path, ": ", compiled.status().message()));
    }
    table->policies_.push_back(*std::move(compiled));
  }
  return std::shared_ptr<const RulesTable>(std::move(table));
}

size_t RulesTable::rule_count(uint32_t policy_index) const {
  JG_CHECK(policy_index < policies_.size());
  return policies_[policy_index].rules.size();
}

std::string_view RulesTable::rule_name(uint32_t policy_index, uint32_t rule_index) const {
  JG_CHECK(policy_index < policies_.size());
  JG_CHECK(rule_index < policies_[policy_index].rules.size());
  return policies_[policy_index].rules[rule_index].name;
}

StatementDecision RulesTable::Make(const CompiledPolicy& policy, uint32_t rule_index) const {
  JG_DCHECK(rule_index < policy.rules.size());
  const Rule& rule = policy.rules[rule_index];
  return StatementDecision{rule.verdict, rule_index, rule.name, rule.message};
}

StatementDecision RulesTable::Decide(uint32_t policy_index, const Statement& statement) const {
  JG_CHECK(policy_index < policies_.size());
  const CompiledPolicy& policy = policies_[policy_index];
  constexpr auto kUnknownRule = static_cast<uint32_t>(StatementClass::kUnknown);
  const auto class_index = static_cast<uint32_t>(statement.statement_class);
  if (class_index >= kClassCount || statement.statement_class == StatementClass::kUnknown ||
      (statement.flags & parsers::sql::kFlagTooLong) != 0 ||
      statement.length > policy.statement_length_max ||
      ((statement.flags & parsers::sql::kFlagNamesOverflow) != 0 &&
       !(policy.tables.empty && policy.functions.empty))) {
    return Make(policy, kUnknownRule);
  }
  const Rule& class_rule = policy.rules[class_index];
  if (class_rule.verdict == Verdict::kBlock) {
    return Make(policy, class_index);
  }
  // The deciding rule so far: the class rule unless a table or function rule is as severe.
  uint32_t best = class_index;
  int best_severity = Severity(class_rule.verdict);
  uint32_t first_allow = kNoRule;  // the first allow table/function rule that matched
  auto consider = [&](uint32_t rule_index) {
    const int severity = Severity(policy.rules[rule_index].verdict);
    if (severity == 0) {
      first_allow = std::min(first_allow, rule_index);
    } else if (severity > best_severity) {
      best = rule_index;
      best_severity = severity;
    }
  };
  if (!policy.tables.empty) {
    for (uint32_t i = 0; i < statement.relation_count && best_severity < 2; ++i) {
      const parsers::sql::RelationRef& relation = statement.relations[i];
      // No matching rule gives the unlisted rule of that access, if any (PatternSet fallback).
      const uint32_t rule =
          policy.tables.Find(relation.name, static_cast<uint32_t>(relation.access));
      if (rule != kNoRule) {
        consider(rule);
      }
    }
  }
  if (!policy.functions.empty) {
    for (uint32_t i = 0; i < statement.function_count && best_severity < 2; ++i) {
      const uint32_t rule = policy.functions.Find(statement.functions[i], 0);
      if (rule != kNoRule) {
        consider(rule);
      }
    }
  }
  if (best_severity == 0 && first_allow != kNoRule) {
    return Make(policy, first_allow);
  }
  return Make(policy, best);
}

}  // namespace jitgate::policy
