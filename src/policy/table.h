// src/policy/table.h: the compiled policy table, read-only after Compile.
//
// Built on the control thread from a parsed Config (at start-up and on reload) and shared with
// every shard as a shared_ptr<const Table>; shards read it from many threads at once without
// locks, so nothing in it changes after Compile. Called by the PostgreSQL session at login:
// FindResource(database from the StartupMessage), then Decide(identity, resource).
//
// Matching rule: the FIRST policy in file order that lists the resource and matches the identity
// decides. A policy matches when any of its groups is in who.groups, or any of its roles is in
// who.roles, or who.subject or who.app_id is in its subjects. Comparisons are exact (claim values
// are case-sensitive object ids and role values).
//
// Invariant: for every resource r, candidates_[r] lists policy indexes in increasing order, each
// < policies_.size(), and exactly the policies whose resources include r.
#ifndef JITGATE_SRC_POLICY_TABLE_H_
#define JITGATE_SRC_POLICY_TABLE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "jitgate/config.h"
#include "jitgate/identity.h"

namespace jitgate::policy {

// What Decide concluded for one (identity, resource).
struct AccessDecision {
  enum class Outcome : uint8_t {
    kAuto,              // a grant may be issued on the spot (src/grants Store::IssueAuto)
    kApprovalRequired,  // the deciding policy needs an approver first
    kNoPolicy,          // no policy lists the resource and matches the identity: refuse
  };
  // Outcome::kNoPolicy's policy_index.
  static constexpr uint32_t kNoPolicyIndex = UINT32_MAX;

  Outcome outcome = Outcome::kNoPolicy;
  uint32_t policy_index = kNoPolicyIndex;  // into Config::policies (same order)
  uint32_t max_duration_s = 0;             // the deciding policy's; 0 for kNoPolicy
  std::string_view policy_name;            // borrows from the Table; empty for kNoPolicy
};

class Table {
 public:
  // Compiles `config` (already validated by config::Parse). InvalidArgumentError if a policy's
  // resource indexes do not match config.resources (a Config not built by Parse).
  static absl::StatusOr<std::shared_ptr<const Table>> Compile(const config::Config& config);

  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // The index into Config::resources of the resource named `database` (a client's StartupMessage
  // names the resource by its resource name), or nullopt. Any protocol: Decide never grants a
  // resource no policy names, and policies name only postgres resources. Allocates nothing.
  std::optional<uint32_t> FindResource(std::string_view database) const;

  // The decision for `who` on resource `resource_index` (< resource_count(), checked). Allocates
  // nothing; the returned policy_name borrows from this Table.
  AccessDecision Decide(const Identity& who, uint32_t resource_index) const;

  size_t resource_count() const { return resource_names_.size(); }
  size_t policy_count() const { return policies_.size(); }
  // The resource's name as in the config (for logs and grants).
  std::string_view resource_name(uint32_t resource_index) const;

 private:
  // One policy's match sets; std::string keys looked up by absl::string_view (heterogeneous,
  // no temporary string).
  struct CompiledPolicy {
    std::string name;
    config::AccessMode mode = config::AccessMode::kAuto;
    uint32_t max_duration_s = 0;
    absl::flat_hash_set<std::string> groups;
    absl::flat_hash_set<std::string> roles;
    absl::flat_hash_set<std::string> subjects;
  };

  Table() = default;

  bool Matches(const CompiledPolicy& policy, const Identity& who) const;

  std::vector<std::string> resource_names_;
  absl::flat_hash_map<std::string, uint32_t> resource_by_name_;
  std::vector<CompiledPolicy> policies_;
  std::vector<std::vector<uint32_t>> candidates_;  // per resource: policy indexes, file order
};

}  // namespace jitgate::policy

#endif  // JITGATE_SRC_POLICY_TABLE_H_
