// Implementation of src/gateway.h: Build, the grant sweep thread and the policy reload (SIGHUP),
// whose comparison of the running config with the reloaded file is CheckOnlyPoliciesDiffer.
#include "src/audit/segment.h"
#include "src/audit/writer.h"
#include "src/gateway.h"

#include <time.h>

#include <chrono>
#include <string_view>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"
#include "src/auth/keys.h"
#include "src/auth/validator.h"
#include "src/common/log.h"
#include "src/grants/store.h"
#include "src/mask/plan.h"
#include "src/policy/rules.h"
#include "src/policy/table.h"
#include "src/session/cancel_registry.h"
#include "src/tls/context.h"
#include "src/tls/ktls.h"

namespace jitgate {
namespace {

int64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

tls::ClientOptions::Verify VerifyOf(config::BackendTls mode) {
  switch (mode) {
    case config::BackendTls::kVerifyFull:
      return tls::ClientOptions::Verify::kVerifyFull;
    case config::BackendTls::kVerifyCa:
      return tls::ClientOptions::Verify::kVerifyCa;
    default:
      return tls::ClientOptions::Verify::kNone;
  }
}

// This abseil's string_view is its own type, not std::string_view (which config names return).
absl::string_view Av(std::string_view view) { return absl::string_view(view.data(), view.size()); }

// A value in a reload error: strings quoted and escaped, cut after kShownLengthMax bytes.
constexpr size_t kShownLengthMax = 96;

std::string Shown(std::string_view text) {
  const std::string_view head = text.substr(0, kShownLengthMax);
  return absl::StrCat("\"", absl::CHexEscape(Av(head)), head.size() < text.size() ? "...\"" : "\"");
}

std::string Shown(const std::vector<std::string>& list) {
  std::vector<std::string> parts;
  parts.reserve(list.size());
  for (const std::string& item : list) {
    parts.push_back(Shown(item));
  }
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

// The differences between the running config and a reloaded one, one "$.path: running X, file Y"
// each, in the order the fields are compared.
class ConfigDiff {
 public:
  void Text(std::string_view path, std::string_view running, std::string_view file) {
    if (running != file) {
      Add(path, Shown(running), Shown(file));
    }
  }
  void List(std::string_view path, const std::vector<std::string>& running,
            const std::vector<std::string>& file) {
    if (running != file) {
      Add(path, Shown(running), Shown(file));
    }
  }
  void Number(std::string_view path, uint64_t running, uint64_t file) {
    if (running != file) {
      Add(path, absl::StrCat(running), absl::StrCat(file));
    }
  }
  void Flag(std::string_view path, bool running, bool file) {
    if (running != file) {
      Add(path, running ? "true" : "false", file ? "true" : "false");
    }
  }
  void Add(std::string_view path, std::string_view running, std::string_view file) {
    differences_.push_back(absl::StrCat(Av(path), ": running ", Av(running), ", file ", Av(file)));
  }
  bool empty() const { return differences_.empty(); }
  // "<file>: $.a: running 1, file 2; $.b: ... [and N more]; only ..." (at most kShownMax listed).
  std::string Message(std::string_view file_name) const {
    constexpr size_t kShownMax = 4;
    std::string message(file_name);
    for (size_t i = 0; i < differences_.size() && i < kShownMax; ++i) {
      absl::StrAppend(&message, i == 0 ? ": " : "; ", differences_[i]);
    }
    if (differences_.size() > kShownMax) {
      absl::StrAppend(&message, "; and ", differences_.size() - kShownMax, " more");
    }
    absl::StrAppend(&message,
                    "; only \"policies\" can change on reload (restart jitgate to "
                    "change the rest)");
    return message;
  }

 private:
  std::vector<std::string> differences_;
};

// Names of a list of resources or listeners, in order, for the one difference reported when
// they do not line up (then their fields are not compared one by one).
template <typename T>
std::vector<std::string> NamesOf(const std::vector<T>& items) {
  std::vector<std::string> names;
  names.reserve(items.size());
  for (const T& item : items) {
    names.push_back(item.name);
  }
  return names;
}

void CompareResources(const config::Config& running, const config::Config& file, ConfigDiff& diff) {
  if (NamesOf(running.resources) != NamesOf(file.resources)) {
    diff.Add("$.resources", absl::StrCat("names ", Shown(NamesOf(running.resources))),
             absl::StrCat("names ", Shown(NamesOf(file.resources))));
    return;
  }
  for (size_t i = 0; i < running.resources.size(); ++i) {
    const config::Resource& a = running.resources[i];
    const config::Resource& b = file.resources[i];
    const std::string path = absl::StrCat("$.resources.", a.name, ".");
    diff.Text(path + "protocol", config::ProtocolName(a.protocol),
              config::ProtocolName(b.protocol));
    diff.Text(path + "address", a.address.text, b.address.text);
    diff.Text(path + "database", a.database, b.database);
    diff.Text(path + "user", a.user, b.user);
    diff.Text(path + "password_env", a.password_env, b.password_env);
    diff.Text(path + "password_file", a.password_file, b.password_file);
    diff.Text(path + "tls", config::BackendTlsName(a.tls), config::BackendTlsName(b.tls));
    diff.Text(path + "tls_ca", a.tls_ca_file, b.tls_ca_file);
    diff.Text(path + "tls_server_name", a.tls_server_name, b.tls_server_name);
  }
}

void CompareListeners(const config::Config& running, const config::Config& file, ConfigDiff& diff) {
  if (NamesOf(running.listeners) != NamesOf(file.listeners)) {
    diff.Add("$.listeners", absl::StrCat("names ", Shown(NamesOf(running.listeners))),
             absl::StrCat("names ", Shown(NamesOf(file.listeners))));
    return;
  }
  for (size_t i = 0; i < running.listeners.size(); ++i) {
    const config::Listener& a = running.listeners[i];
    const config::Listener& b = file.listeners[i];
    const std::string path = absl::StrCat("$.listeners[", i, "].");
    diff.Text(path + "protocol", config::ProtocolName(a.protocol),
              config::ProtocolName(b.protocol));
    diff.Text(path + "address", a.address.text, b.address.text);
    diff.Text(path + "mode", config::ListenerModeName(a.mode), config::ListenerModeName(b.mode));
    diff.Text(path + "resource", a.resource_name, b.resource_name);
    diff.Text(path + "tls.cert", a.tls_cert_file, b.tls_cert_file);
    diff.Text(path + "tls.key", a.tls_key_file, b.tls_key_file);
  }
}

void CompareIdentity(const config::Config& running, const config::Config& file, ConfigDiff& diff) {
  if (running.identity.has_value() != file.identity.has_value()) {
    diff.Add("$.identity", running.identity.has_value() ? "present" : "absent",
             file.identity.has_value() ? "present" : "absent");
    return;
  }
  if (!running.identity.has_value()) {
    return;
  }
  const config::IdentityProvider& a = *running.identity;
  const config::IdentityProvider& b = *file.identity;
  diff.List("$.identity.issuers", a.issuers, b.issuers);
  diff.List("$.identity.audiences", a.audiences, b.audiences);
  diff.List("$.identity.tenants", a.tenants, b.tenants);
  diff.Text("$.identity.jwks_file", a.jwks_file, b.jwks_file);
  diff.Text("$.identity.jwks_url", a.jwks_url, b.jwks_url);
  diff.Text("$.identity.jwks_ca", a.jwks_ca_file, b.jwks_ca_file);
  diff.Number("$.identity.clock_skew_s", a.clock_skew_s, b.clock_skew_s);
  diff.Number("$.identity.jwks_refresh_s", a.jwks_refresh_s, b.jwks_refresh_s);
  diff.Number("$.identity.unknown_kid_refresh_min_s", a.unknown_kid_refresh_min_s,
              b.unknown_kid_refresh_min_s);
  diff.Flag("$.identity.require_roles_or_scp", a.require_roles_or_scp, b.require_roles_or_scp);
}

void CompareLimits(const config::Limits& a, const config::Limits& b, ConfigDiff& diff) {
  diff.Number("$.limits.sessions_per_shard_max", a.sessions_per_shard_max,
              b.sessions_per_shard_max);
  diff.Number("$.limits.idle_timeout_s", a.idle_timeout_s, b.idle_timeout_s);
  diff.Number("$.limits.connect_timeout_ms", a.connect_timeout_ms, b.connect_timeout_ms);
  diff.Number("$.limits.shutdown_grace_s", a.shutdown_grace_s, b.shutdown_grace_s);
  diff.Number("$.limits.buffer_size", a.buffer_size, b.buffer_size);
  diff.Number("$.limits.buffer_count", a.buffer_count, b.buffer_count);
  diff.Number("$.limits.buffers_in_flight_per_direction_max", a.buffers_in_flight_per_direction_max,
              b.buffers_in_flight_per_direction_max);
  diff.Number("$.limits.send_zc_min_bytes", a.send_zc_min_bytes, b.send_zc_min_bytes);
  diff.Number("$.limits.ring_entries", a.ring_entries, b.ring_entries);
  diff.Number("$.limits.auth_timeout_ms", a.auth_timeout_ms, b.auth_timeout_ms);
  diff.Number("$.limits.startup_packet_size_max", a.startup_packet_size_max,
              b.startup_packet_size_max);
  diff.Number("$.limits.token_cache_entries", a.token_cache_entries, b.token_cache_entries);
  diff.Number("$.limits.cancel_keys_max", a.cancel_keys_max, b.cancel_keys_max);
}

void CompareAudit(const config::AuditConfig& a, const config::AuditConfig& b, ConfigDiff& diff) {
  diff.Flag("$.audit", a.enabled, b.enabled);
  diff.Text("$.audit.dir", a.dir, b.dir);
  diff.Text("$.audit.mode", std::string(config::AuditModeName(a.mode)),
            std::string(config::AuditModeName(b.mode)));
  diff.Number("$.audit.fsync_interval_ms", a.fsync_interval_ms, b.fsync_interval_ms);
  diff.Number("$.audit.segment_size_max", a.segment_size_max, b.segment_size_max);
  diff.Number("$.audit.queue_bytes", a.queue_bytes, b.queue_bytes);
  diff.Flag("$.audit.on_full (drop)", a.on_full == config::AuditOnFull::kDrop,
            b.on_full == config::AuditOnFull::kDrop);
  diff.Number("$.audit.statement_bytes_max", a.statement_bytes_max, b.statement_bytes_max);
  diff.Number("$.audit.params_bytes_max", a.params_bytes_max, b.params_bytes_max);
  diff.Text("$.audit.chain_key_env", a.chain_key_env, b.chain_key_env);
  diff.Text("$.audit.chain_key_file", a.chain_key_file, b.chain_key_file);
}

// OK when `file` differs from `running` in nothing a running gateway cannot follow. Compared,
// field by field: the shard count (as resolved, so "auto" on the same CPUs equals itself) and
// pin_shards; every resource (names and order, protocol, address as written, database, user,
// password_env / password_file, tls, tls_ca, tls_server_name); every listener (names and order,
// protocol, address as written, mode, relay resource, TLS certificate and key paths); the whole
// identity section; grants (log, fsync); every limit. Not compared: policies (what a reload is
// for), the file path, resolved socket addresses (host names were resolved once at start-up and
// stay so), and the contents of files named by path (certificates, keys, CA bundles, password
// files): the running gateway keeps what it read at start-up.
absl::Status CheckOnlyPoliciesDiffer(const config::Config& running, const config::Config& file) {
  ConfigDiff diff;
  diff.Number("$.shards", running.shard_count, file.shard_count);
  diff.Flag("$.pin_shards", running.pin_shards, file.pin_shards);
  diff.Flag("$.balance_shards", running.balance_shards, file.balance_shards);
  CompareListeners(running, file, diff);
  CompareResources(running, file, diff);
  CompareIdentity(running, file, diff);
  diff.Text("$.grants.log", running.grants.log_file, file.grants.log_file);
  diff.Flag("$.grants.fsync", running.grants.fsync, file.grants.fsync);
  diff.Text("$.masking.hash_key_env", running.masking.hash_key_env, file.masking.hash_key_env);
  diff.Text("$.masking.hash_key_file", running.masking.hash_key_file,
            file.masking.hash_key_file);
  CompareAudit(running.audit, file.audit, diff);
  CompareLimits(running.limits, file.limits, diff);
  if (diff.empty()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(diff.Message(file.path));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Build(const config::Config& config) {
  std::unique_ptr<Gateway> gateway(new Gateway());
  bool any_gateway = false;
  for (const config::Listener& listener : config.listeners) {
    any_gateway = any_gateway || listener.mode != config::ListenerMode::kRelay;
  }
  if (!any_gateway) {
    return gateway;
  }
  JG_CHECK(config.identity.has_value());  // config::Parse requires it for gateway listeners
  const config::IdentityProvider& identity = *config.identity;
  session::GatewayEnv& env = gateway->env_;
  env.config = &config;

  auth::KeyProviderOptions key_options;
  key_options.refresh_interval_s = identity.jwks_refresh_s;
  key_options.unknown_kid_refresh_min_s = identity.unknown_kid_refresh_min_s;
  key_options.ca_file = identity.jwks_ca_file;
  if (!identity.jwks_file.empty()) {
    JG_ASSIGN_OR_RETURN(gateway->keys_,
                        auth::KeyProvider::FromFile(identity.jwks_file, key_options));
  } else {
    JG_ASSIGN_OR_RETURN(gateway->keys_, auth::KeyProvider::FromUrl(identity.jwks_url, key_options));
  }
  auth::ValidatorOptions validator_options;
  validator_options.issuers = identity.issuers;
  validator_options.audiences = identity.audiences;
  validator_options.tenants = identity.tenants;
  validator_options.clock_skew_s = identity.clock_skew_s;
  validator_options.require_roles_or_scp = identity.require_roles_or_scp;
  if (absl::Status options_ok = auth::CheckValidatorOptions(validator_options); !options_ok.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.path, ": $.identity: ", options_ok.message()));
  }
  gateway->validator_ =
      std::make_unique<auth::Validator>(std::move(validator_options), gateway->keys_.get());
  JG_ASSIGN_OR_RETURN(gateway->policy_, policy::Table::Compile(config));
  {
    auto snapshot = std::make_shared<session::PolicySnapshot>();
    snapshot->config = std::make_shared<const config::Config>(config);
    snapshot->table = gateway->policy_;
    JG_ASSIGN_OR_RETURN(snapshot->rules, policy::RulesTable::Compile(config));
    for (const config::Policy& policy : config.policies) {
      snapshot->masks.push_back(mask::PolicyMasks::Compile(config.masking, policy));
    }
    snapshot->generation = 1;
    gateway->policies_.Publish(std::move(snapshot));
  }
  JG_ASSIGN_OR_RETURN(gateway->grants_, grants::Store::Open(config.grants, WallMs()));
  if (config.grants.log_file.empty()) {
    JG_LOG(kWarn,
           "event=grants_in_memory detail=\"no grants.log configured: a restart forgets "
           "every grant\"");
  }
  gateway->cancels_ = std::make_unique<session::CancelRegistry>(config.limits.cancel_keys_max);

  env.listener_tls.assign(config.listeners.size(), nullptr);
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const config::Listener& listener = config.listeners[i];
    if (listener.mode != config::ListenerMode::kGatewayTls) {
      continue;
    }
    tls::ServerOptions options;
    options.cert_path = listener.tls_cert_file;
    options.key_path = listener.tls_key_file;
    absl::StatusOr<std::unique_ptr<tls::Context>> context = tls::Context::Server(options);
    if (!context.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listener \"", listener.name, "\": ", context.status().message()));
    }
    env.listener_tls[i] = context->get();
    gateway->tls_contexts_.push_back(*std::move(context));
  }
  env.resource_tls.assign(config.resources.size(), nullptr);
  for (size_t i = 0; i < config.resources.size(); ++i) {
    const config::Resource& resource = config.resources[i];
    if (resource.tls == config::BackendTls::kDisable) {
      continue;
    }
    tls::ClientOptions options;
    options.verify = VerifyOf(resource.tls);
    options.ca_path = resource.tls_ca_file;
    absl::StatusOr<std::unique_ptr<tls::Context>> context = tls::Context::Client(options);
    if (!context.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource \"", resource.name, "\": ", context.status().message()));
    }
    env.resource_tls[i] = context->get();
    gateway->tls_contexts_.push_back(*std::move(context));
  }
  env.policy = gateway->policy_.get();
  env.policies = &gateway->policies_;
  env.grants = gateway->grants_.get();
  env.validator = gateway->validator_.get();
  env.keys = gateway->keys_.get();
  env.cancels = gateway->cancels_.get();
  if (config.audit.enabled) {
    JG_ASSIGN_OR_RETURN(gateway->audit_,
                        audit::Hub::Open(config.audit, config.shard_count, JG_VERSION));
    gateway->audit_builder_ =
        std::make_unique<audit::RecordBuilder>(audit::RecordCapacity(config.audit));
    const audit::RecoveryInfo& recovery = gateway->audit_->recovery();
    JG_LOG(kNotice,
           "event=audit_ready dir=%s mode=%s epoch=%u last_seq=%lu torn_bytes=%lu%s%s chain=%s",
           config.audit.dir.c_str(), std::string(config::AuditModeName(config.audit.mode)).c_str(),
           gateway->audit_->epoch(), static_cast<unsigned long>(recovery.last_seq),
           static_cast<unsigned long>(recovery.torn_bytes),
           recovery.torn_file.empty() ? "" : " torn_file=", recovery.torn_file.c_str(),
           config.audit.chain_key.empty() ? "sha256" : "hmac-sha256");
  } else {
    JG_LOG(kWarn,
           "event=audit_off detail=\"no audit section: sessions and statements are not "
           "recorded\"");
  }
  env.audit = gateway->audit_.get();
  gateway->active_ = true;
  JG_LOG(kNotice, "event=gateway_ready policies=%zu keys=%zu grants_active=%zu tls=\"%s\"",
         config.policies.size(), gateway->keys_->keys()->size(), gateway->grants_->active_count(),
         tls::KernelTlsReport().c_str());
  return gateway;
}

Gateway::~Gateway() { Stop(); }

absl::Status Gateway::Reload(const std::string& path) {
  if (!active_) {
    return absl::FailedPreconditionError("no gateway listener: there are no policies to reload");
  }
  std::lock_guard<std::mutex> lock(reload_mutex_);
  absl::Status status = ReloadPolicies(path);
  if (!status.ok()) {
    const std::string message(status.message());
    JG_LOG(kWarn, "event=config_reload_failed file=%s error=\"%s\" keeping_generation=%lu",
           path.c_str(), absl::CHexEscape(message).c_str(),
           static_cast<unsigned long>(policies_.generation()));
  }
  return status;
}

absl::Status Gateway::ReloadPolicies(const std::string& path) {
  // The same loader and validation as start-up (config::LoadFile; config::Parse checks the
  // policies against the file's own resources). ResolveSecrets is not run: the resources must
  // equal the running ones, so the running config's passwords are the ones the new file names.
  JG_ASSIGN_OR_RETURN(config::Config file, config::LoadFile(path));
  const config::Config& running = *env_.config;
  JG_RETURN_IF_ERROR(CheckOnlyPoliciesDiffer(running, file));

  // The snapshot's config is the running one (resolved addresses and passwords included) with
  // the file's policies, whose resource indexes are valid in it because the resources are equal.
  auto next = std::make_shared<config::Config>(running);
  next->path = file.path;
  next->policies = std::move(file.policies);
  // Masking rules reload with the policies; the hash key stays the running one (its source
  // must not change, CheckOnlyPoliciesDiffer).
  next->masking.rules = std::move(file.masking.rules);
  next->masking.row_size_max = file.masking.row_size_max;
  auto snapshot = std::make_shared<session::PolicySnapshot>();
  JG_ASSIGN_OR_RETURN(snapshot->table, policy::Table::Compile(*next));
  JG_ASSIGN_OR_RETURN(snapshot->rules, policy::RulesTable::Compile(*next));
  const size_t policy_count = next->policies.size();
  for (const config::Policy& policy : next->policies) {
    snapshot->masks.push_back(mask::PolicyMasks::Compile(next->masking, policy));
  }
  snapshot->config = std::move(next);
  snapshot->generation = policies_.generation() + 1;
  const uint64_t generation = snapshot->generation;
  policies_.Publish(std::move(snapshot));
  JG_CHECK(policies_.generation() == generation);
  JG_LOG(kNotice, "event=config_reloaded generation=%lu policies=%zu file=%s",
         static_cast<unsigned long>(generation), policy_count, path.c_str());
  return absl::OkStatus();
}

void Gateway::Start() {
  if (!active_) {
    return;
  }
  keys_->Start();
  sweeper_ = std::thread([this] { SweepLoop(); });
}

void Gateway::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sweeper_.joinable()) {
    sweeper_.join();
  }
  if (keys_ != nullptr) {
    keys_->Stop();
  }
  if (audit_ != nullptr) {
    audit_->Stop();
    const audit::HubStats stats = audit_->stats();
    JG_LOG(kNotice, "event=audit_stopped records=%lu fsyncs=%lu dropped=%lu",
           static_cast<unsigned long>(stats.records), static_cast<unsigned long>(stats.syncs),
           static_cast<unsigned long>(stats.dropped));
  }
}

void Gateway::StartAudit(std::vector<std::function<void()>> wakes) {
  if (audit_ == nullptr) {
    return;
  }
  for (uint32_t i = 0; i < wakes.size() && i < audit_->shard_count(); ++i) {
    audit_->SetShardWake(i, std::move(wakes[i]));
  }
  audit_->Start();
}

void Gateway::SweepLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) {
      break;
    }
    lock.unlock();
    const std::vector<std::shared_ptr<const grants::Grant>> expired =
        grants_->SweepExpired(WallMs());
    if (audit_ != nullptr) {
      for (const std::shared_ptr<const grants::Grant>& grant : expired) {
        audit::RecordBuilder& b = *audit_builder_;
        b.Begin(audit::RecordType::kGrantExpired, audit::kFlagSecurity, audit::WallTimeUs(), 0);
        b.Text(audit::Field::kGrant, grant->id);
        b.Text(audit::Field::kSubject, grant->subject);
        b.Text(audit::Field::kResource, grant->resource);
        b.Text(audit::Field::kPolicy, grant->policy);
        b.Integer(audit::Field::kExpiresMs, static_cast<uint64_t>(grant->expires_at_ms));
        b.Text(audit::Field::kReason, "expired");
        audit_->EmitControl(b.Finish());
      }
    }
    lock.lock();
  }
}

}  // namespace jitgate
