// src/policy/rules.cc: see rules.h. Compile runs on the control thread; Decide runs on shard
// threads and only reads.
#include "src/policy/rules.h"

#include <algorithm>
#include <utility>

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

void RulesTable::PatternSet::Add(const config::NamePattern& pattern, uint32_t rule,
                                 uint8_t access_mask) {
  empty = false;
  if (!pattern.name.empty()) {
    by_name[pattern.name].push_back(Entry{pattern.schema, rule, access_mask});
  } else if (!pattern.schema.empty()) {
    by_schema[pattern.schema].push_back(Entry{"", rule, access_mask});
  } else {
    any.push_back(Entry{"", rule, access_mask});
  }
}

void RulesTable::PatternSet::Finish() {
  // Up to this many schemas a linear scan of short strings is cheaper than hashing the name.
  constexpr size_t kSchemaListMax = 8;
  if (by_schema.size() <= kSchemaListMax) {
    for (const auto& [schema, entries] : by_schema) {
      schema_list.emplace_back(schema, entries);
    }
  }
  for (const absl::string_view implicit : kImplicitSchemas) {
    if (auto it = by_schema.find(implicit); it != by_schema.end()) {
      implicit_schema_entries.insert(implicit_schema_entries.end(), it->second.begin(),
                                     it->second.end());
    }
  }
  std::sort(implicit_schema_entries.begin(), implicit_schema_entries.end(),
            [](const Entry& a, const Entry& b) { return a.rule < b.rule; });
}

uint32_t RulesTable::PatternSet::Find(const Name& name, uint8_t access_bit) const {
  if (empty) {
    return kNoRule;
  }
  const absl::string_view schema = AbslView(name.schema);
  uint32_t best = kNoRule;
  // Each list is in rule order: its first entry that applies is its candidate.
  auto first_in = [&](const std::vector<Entry>& entries, bool check_schema) {
    for (const Entry& entry : entries) {
      if (entry.rule >= best) {
        return;
      }
      if ((entry.access_mask & access_bit) == 0) {
        continue;
      }
      if (check_schema && !entry.schema.empty()) {
        const absl::string_view want(entry.schema);
        const bool matches =
            schema.empty() ? std::find(std::begin(kImplicitSchemas), std::end(kImplicitSchemas),
                                       want) != std::end(kImplicitSchemas)
                           : want == schema;
        if (!matches) {
          continue;
        }
      }
      best = entry.rule;
      return;
    }
  };
  if (!by_name.empty()) {
    if (auto it = by_name.find(AbslView(name.name)); it != by_name.end()) {
      first_in(it->second, true);
    }
  }
  if (schema.empty()) {
    first_in(implicit_schema_entries, false);
  } else if (!schema_list.empty()) {
    for (const auto& [listed, entries] : schema_list) {
      if (absl::string_view(listed) == schema) {
        first_in(entries, false);
        break;
      }
    }
  } else if (!by_schema.empty()) {
    if (auto it = by_schema.find(schema); it != by_schema.end()) {
      first_in(it->second, false);
    }
  }
  first_in(any, false);
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
  compiled.tables.Finish();
  compiled.functions.Finish();
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
      const auto access = static_cast<uint32_t>(relation.access);
      JG_DCHECK(access < 3);
      uint32_t rule = policy.tables.Find(relation.name, static_cast<uint8_t>(1u << access));
      if (rule == kNoRule) {
        rule = policy.unlisted_rule[access];
      }
      if (rule != kNoRule) {
        consider(rule);
      }
    }
  }
  if (!policy.functions.empty) {
    for (uint32_t i = 0; i < statement.function_count && best_severity < 2; ++i) {
      const uint32_t rule = policy.functions.Find(statement.functions[i], kAllAccess);
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
