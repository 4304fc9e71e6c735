// Implementation of src/gateway.h.
#include "src/gateway.h"

#include <time.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"
#include "src/auth/keys.h"
#include "src/auth/validator.h"
#include "src/common/log.h"
#include "src/grants/store.h"
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
    JG_ASSIGN_OR_RETURN(gateway->keys_, auth::KeyProvider::FromFile(identity.jwks_file, key_options));
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
    snapshot->generation = 1;
    gateway->policies_.Publish(std::move(snapshot));
  }
  JG_ASSIGN_OR_RETURN(gateway->grants_, grants::Store::Open(config.grants, WallMs()));
  if (config.grants.log_file.empty()) {
    JG_LOG(kWarn, "event=grants_in_memory detail=\"no grants.log configured: a restart forgets "
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
  gateway->active_ = true;
  JG_LOG(kNotice, "event=gateway_ready policies=%zu keys=%zu grants_active=%zu tls=\"%s\"",
         config.policies.size(), gateway->keys_->keys()->size(), gateway->grants_->active_count(),
         tls::KernelTlsReport().c_str());
  return gateway;
}

Gateway::~Gateway() { Stop(); }

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
}

void Gateway::SweepLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) {
      break;
    }
    lock.unlock();
    grants_->SweepExpired(WallMs());
    lock.lock();
  }
}

}  // namespace jitgate
