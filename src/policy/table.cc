// src/policy/table.cc: see table.h. Compile runs on the control thread; FindResource and Decide
// run on shard threads and only read.
#include "src/policy/table.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "jitgate/check.h"

namespace jitgate::policy {
namespace {

absl::string_view AbslView(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

// Any entry of `values` in `set`.
bool AnyIn(const absl::flat_hash_set<std::string>& set, const std::vector<std::string>& values) {
  if (set.empty()) {
    return false;
  }
  for (const std::string& value : values) {
    if (set.contains(absl::string_view(value))) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Table>> Table::Compile(const config::Config& config) {
  std::shared_ptr<Table> table(new Table());
  const size_t resource_count = config.resources.size();
  table->resource_names_.reserve(resource_count);
  table->resource_by_name_.reserve(resource_count);
  for (uint32_t r = 0; r < resource_count; ++r) {
    const std::string& name = config.resources[r].name;
    if (!table->resource_by_name_.emplace(name, r).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(config.path, ": resource \"", name, "\" appears twice"));
    }
    table->resource_names_.push_back(name);
  }
  table->candidates_.resize(resource_count);
  table->policies_.reserve(config.policies.size());
  for (uint32_t p = 0; p < config.policies.size(); ++p) {
    const config::Policy& policy = config.policies[p];
    if (policy.resource_indexes.size() != policy.resource_names.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          config.path, ": policy \"", policy.name, "\": resource names and indexes differ"));
    }
    CompiledPolicy compiled;
    compiled.name = policy.name;
    compiled.mode = policy.mode;
    compiled.max_duration_s = policy.max_duration_s;
    compiled.groups.insert(policy.match_groups.begin(), policy.match_groups.end());
    compiled.roles.insert(policy.match_roles.begin(), policy.match_roles.end());
    compiled.subjects.insert(policy.match_subjects.begin(), policy.match_subjects.end());
    for (size_t i = 0; i < policy.resource_indexes.size(); ++i) {
      const uint32_t r = policy.resource_indexes[i];
      if (r >= resource_count || config.resources[r].name != policy.resource_names[i]) {
        return absl::InvalidArgumentError(
            absl::StrCat(config.path, ": policy \"", policy.name, "\": resource \"",
                         policy.resource_names[i], "\" does not resolve"));
      }
      std::vector<uint32_t>& candidates = table->candidates_[r];
      if (candidates.empty() || candidates.back() != p) {  // a resource listed twice counts once
        candidates.push_back(p);
      }
    }
    table->policies_.push_back(std::move(compiled));
  }
  return std::shared_ptr<const Table>(std::move(table));
}

std::optional<uint32_t> Table::FindResource(std::string_view database) const {
  auto it = resource_by_name_.find(AbslView(database));
  if (it == resource_by_name_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::string_view Table::resource_name(uint32_t resource_index) const {
  JG_CHECK(resource_index < resource_names_.size());
  return resource_names_[resource_index];
}

bool Table::Matches(const CompiledPolicy& policy, const Identity& who) const {
  if (AnyIn(policy.groups, who.groups) || AnyIn(policy.roles, who.roles)) {
    return true;
  }
  if (policy.subjects.empty()) {
    return false;
  }
  return (!who.subject.empty() && policy.subjects.contains(absl::string_view(who.subject))) ||
         (!who.app_id.empty() && policy.subjects.contains(absl::string_view(who.app_id)));
}

AccessDecision Table::Decide(const Identity& who, uint32_t resource_index) const {
  JG_CHECK(resource_index < candidates_.size());
  for (const uint32_t p : candidates_[resource_index]) {
    JG_DCHECK(p < policies_.size());
    const CompiledPolicy& policy = policies_[p];
    if (!Matches(policy, who)) {
      continue;
    }
    AccessDecision decision;
    decision.outcome = policy.mode == config::AccessMode::kAuto
                           ? AccessDecision::Outcome::kAuto
                           : AccessDecision::Outcome::kApprovalRequired;
    decision.policy_index = p;
    decision.max_duration_s = policy.max_duration_s;
    decision.policy_name = policy.name;
    return decision;
  }
  return AccessDecision{};
}

}  // namespace jitgate::policy
