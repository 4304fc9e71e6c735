// src/main.cc: the jitgate binary. Parses the command line, loads and checks the config, probes
// io_uring, starts one shard per configured core, waits for signals, and on SIGTERM/SIGINT stops
// accepting, lets sessions finish for limits.shutdown_grace_s and exits 0 with a summary. On
// SIGHUP it reloads the policies from the same file (Gateway::Reload), on this thread.
//
// Signals are blocked in every thread and taken synchronously here with sigtimedwait, so no
// handler ever runs inside a shard.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "jitgate/config.h"
#include "ringio/ring.h"
#include "src/audit/cli.h"
#include "src/auth/token_cli.h"
#include "src/common/log.h"
#include "src/gateway.h"
#include "src/policy/cli.h"
#include "src/policy/rules.h"
#include "src/policy/table.h"
#include "src/shard/shard.h"

#ifdef JG_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace jitgate {
namespace {

constexpr const char* kUsage =
    R"(jitgate: identity-aware just-in-time access gateway for PostgreSQL and MySQL.

Usage:
  jitgate --config FILE [--log-level LEVEL]   run the gateway
  jitgate --config FILE --check               validate FILE and exit (0 = valid, 2 = invalid)
  jitgate policy check FILE                   validate FILE and compile its policies
  jitgate policy explain FILE --subject S SQL the decision on each statement of SQL (see README)
  jitgate token keygen|mint ...               development tokens (see `jitgate token --help`)
  jitgate audit verify|replay|sessions|tail|export DIR ...
                                              the audit log (see `jitgate audit --help`)
  jitgate --version                           print the version and build facts
  jitgate --help                              this text

Options:
  --config FILE       the JSON configuration (listeners, resources, limits); see README.md,
                      "Configuration reference"
  --log-level LEVEL   debug | info | warn | error (default info); logs go to stderr, one
                      key=value line per event
  --check             parse and validate the configuration, print a summary, exit

Signals:
  SIGTERM, SIGINT     stop accepting, let sessions finish for limits.shutdown_grace_s, close the
                      rest, print a summary and exit 0; a second signal skips the grace period
  SIGHUP              reload the policies from the --config file: validated and compiled as at
                      start-up, then used from each session's next statement; refused (the
                      running policies stay, event=config_reload_failed says why) if the file is
                      invalid or changes anything but "policies" (listeners, resources, identity,
                      grants, shards and limits need a restart)

A listener with "resource" is a transparent relay (bytes unchanged, no authentication). A
listener with "tls" (or "insecure": true, local development only) is the gateway: clients send an
OIDC access token as their password, the database name picks the resource, a policy grants
just-in-time access, and jitgate signs in to the database with its own credential.
Exit codes: 0 clean stop, 1 start-up failure, 2 usage or config error.
)";

struct Options {
  std::string config_path;
  bool check_only = false;
};

void PrintVersion() {
  std::printf("jitgate %s\n", JG_VERSION);
#ifdef JG_WITH_MIMALLOC
  std::printf("allocator: mimalloc %d\n", mi_version());
#else
  std::printf("allocator: system malloc (sanitizer build)\n");
#endif
  std::printf("io: io_uring, one ring per shard (SINGLE_ISSUER + DEFER_TASKRUN)\n");
}

// Returns -1 to continue, or an exit code.
int ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "jitgate: %s needs a value (see --help)\n", name);
        return nullptr;
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      PrintVersion();
      return 0;
    } else if (arg == "--config" || arg == "-c") {
      const char* path = value("--config");
      if (path == nullptr) {
        return 2;
      }
      options->config_path = path;
    } else if (arg == "--log-level") {
      const char* text = value("--log-level");
      LogLevel level;
      if (text == nullptr || !ParseLogLevel(text, &level)) {
        std::fprintf(stderr, "jitgate: --log-level expects debug, info, warn or error\n");
        return 2;
      }
      SetLogLevel(level);
    } else if (arg == "--check") {
      options->check_only = true;
    } else {
      std::fprintf(stderr, "jitgate: unknown argument \"%s\" (see --help)\n", arg.c_str());
      return 2;
    }
  }
  if (options->config_path.empty()) {
    std::fprintf(stderr, "jitgate: --config FILE is required (see --help)\n");
    return 2;
  }
  return -1;
}

// CPUs this process may run on, in order; shard i is pinned to cpus[i % size].
std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) {
        cpus.push_back(cpu);
      }
    }
  }
  return cpus;
}

// Each session holds two descriptors; raise the soft limit to the hard one and say so if even
// that is short of what the configured limits allow.
void RaiseFileLimit(const config::Config& config) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
  const uint64_t wanted =
      uint64_t{config.shard_count} * (config.limits.sessions_per_shard_max + 64) * 2 + 64;
  if (limit.rlim_cur < wanted) {
    JG_LOG(kWarn,
           "event=fd_limit_low limit=%lu wanted=%lu hint=\"raise LimitNOFILE / ulimit -n or "
           "lower limits.sessions_per_shard_max\"",
           static_cast<unsigned long>(limit.rlim_cur), static_cast<unsigned long>(wanted));
  }
}

std::string ListenerSummary(const config::Config& config) {
  std::vector<std::string> parts;
  for (const config::Listener& listener : config.listeners) {
    parts.push_back(listener.name + "@" + listener.address.text + "->" +
                    (listener.mode == config::ListenerMode::kRelay
                         ? listener.resource_name
                         : std::string(config::ListenerModeName(listener.mode))));
  }
  return absl::StrJoin(parts, ",");
}

int Run(const config::Config& config, const std::string& config_path) {
  if (absl::Status probe = ringio::ProbeIoUring(); !probe.ok()) {
    std::fprintf(stderr, "jitgate: io_uring unavailable: %s\n", probe.ToString().c_str());
    return 1;
  }
  RaiseFileLimit(config);
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Build(config);
  if (!gateway.ok()) {
    std::fprintf(stderr, "jitgate: %s\n", std::string(gateway.status().message()).c_str());
    return 1;
  }
  (*gateway)->Start();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every shard thread
  signal(SIGPIPE, SIG_IGN);                       // sends use MSG_NOSIGNAL; belt and braces

  const std::vector<int> cpus = AllowedCpus();
  // Declared before the shards: they use it until they are joined.
  std::unique_ptr<shard::Balancer> balancer;
  if (config.balance_shards && config.shard_count > 1) {
    balancer = std::make_unique<shard::Balancer>(config.shard_count);
  }
  std::vector<std::unique_ptr<shard::Shard>> shards;
  for (uint32_t i = 0; i < config.shard_count; ++i) {
    const int cpu = config.pin_shards && !cpus.empty() ? cpus[i % cpus.size()] : -1;
    shards.push_back(
        std::make_unique<shard::Shard>(i, cpu, config, (*gateway)->env(), balancer.get()));
  }
  if (balancer != nullptr) {
    // Installed before any shard runs; the balancer hands a shard nothing (so never wakes it)
    // before the shard opens its inbox at the end of its set-up.
    for (uint32_t i = 0; i < shards.size(); ++i) {
      shard::Shard* target = shards[i].get();
      balancer->SetWake(i, [target] { target->Poke(); });
    }
  }
  for (auto& s : shards) {
    s->Start();
  }
  bool ready = true;
  for (uint32_t i = 0; i < shards.size(); ++i) {
    if (absl::Status status = shards[i]->WaitReady(); !status.ok()) {
      std::fprintf(stderr, "jitgate: shard %u failed to start: %s\n", i, status.ToString().c_str());
      ready = false;
    }
  }
  if (!ready) {
    for (auto& s : shards) {
      s->RequestStop(true);
      s->Join();
    }
    return 1;
  }
  {
    std::vector<std::function<void()>> wakes;
    for (auto& s : shards) {
      shard::Shard* target = s.get();
      wakes.push_back([target] { target->Poke(); });
    }
    (*gateway)->StartAudit(std::move(wakes));
  }
  JG_LOG(kNotice, "event=ready version=%s shards=%u pinned=%s listeners=%s", JG_VERSION,
         config.shard_count, config.pin_shards ? "yes" : "no", ListenerSummary(config).c_str());

  int stop_signals = 0;
  for (;;) {
    bool all_finished = true;
    for (auto& s : shards) {
      all_finished = all_finished && s->finished();
    }
    if (all_finished) {
      break;
    }
    const timespec poll_interval{0, 50 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &poll_interval);
    if (sig == SIGHUP) {
      if ((*gateway)->env() != nullptr) {
        (void)(*gateway)->Reload(config_path);  // logs config_reloaded or config_reload_failed
      } else {
        JG_LOG(kNotice,
               "event=sighup action=ignored detail=\"no gateway listener, so no policies: "
               "nothing to reload (relay listeners change only with a restart)\"");
      }
    } else if (sig == SIGTERM || sig == SIGINT) {
      ++stop_signals;
      JG_LOG(kNotice, "event=stopping signal=%s grace_s=%u", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             stop_signals > 1 ? 0 : config.limits.shutdown_grace_s);
      for (auto& s : shards) {
        s->RequestStop(stop_signals > 1);
      }
    }
  }
  shard::ShardStats total;
  for (uint32_t i = 0; i < shards.size(); ++i) {
    shard::Shard* s = shards[i].get();
    s->Join();
    const shard::ShardStats& st = s->stats();
    if (shards.size() > 1) {
      JG_LOG(kNotice, "event=shard_summary shard=%u sessions=%lu handed_off=%lu adopted=%lu", i,
             st.sessions_opened, st.handed_off, st.adopted);
    }
    total.sessions_opened += st.sessions_opened;
    total.sessions_closed += st.sessions_closed;
    total.sessions_refused += st.sessions_refused;
    total.bytes_up += st.bytes_up;
    total.bytes_down += st.bytes_down;
    total.recv_enobufs += st.recv_enobufs;
    total.backpressure_pauses += st.backpressure_pauses;
    total.stale_completions += st.stale_completions;
    total.gateway.tokens_validated += st.gateway.tokens_validated;
    total.gateway.token_cache_hits += st.gateway.token_cache_hits;
    total.gateway.auth_refusals += st.gateway.auth_refusals;
    total.gateway.grants_issued += st.gateway.grants_issued;
    total.gateway.grants_expired_cut += st.gateway.grants_expired_cut;
    total.gateway.cancels_forwarded += st.gateway.cancels_forwarded;
    total.gateway.statements += st.gateway.statements;
    total.gateway.statements_refused += st.gateway.statements_refused;
    total.gateway.guard_cache_hits += st.gateway.guard_cache_hits;
    total.gateway.rows_masked += st.gateway.rows_masked;
    total.gateway.cells_masked += st.gateway.cells_masked;
    total.gateway.audit_records += st.gateway.audit_records;
    total.gateway.audit_waits += st.gateway.audit_waits;
  }
  (*gateway)->Stop();
  JG_LOG(kNotice,
         "event=summary sessions=%lu closed=%lu refused=%lu bytes_up=%lu bytes_down=%lu "
         "enobufs=%lu backpressure_pauses=%lu stale_completions=%lu tokens_validated=%lu "
         "token_cache_hits=%lu auth_refusals=%lu grants=%lu grant_cuts=%lu cancels=%lu "
         "statements=%lu statements_refused=%lu guard_cache_hits=%lu rows_masked=%lu "
         "cells_masked=%lu audit_records=%lu audit_waits=%lu",
         total.sessions_opened, total.sessions_closed, total.sessions_refused, total.bytes_up,
         total.bytes_down, total.recv_enobufs, total.backpressure_pauses, total.stale_completions,
         total.gateway.tokens_validated, total.gateway.token_cache_hits,
         total.gateway.auth_refusals, total.gateway.grants_issued, total.gateway.grants_expired_cut,
         total.gateway.cancels_forwarded, total.gateway.statements,
         total.gateway.statements_refused, total.gateway.guard_cache_hits,
         total.gateway.rows_masked, total.gateway.cells_masked, total.gateway.audit_records,
         total.gateway.audit_waits);
  return 0;
}

}  // namespace
}  // namespace jitgate

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "token") == 0) {
    return jitgate::auth::RunTokenCommand(argc - 1, argv + 1);
  }
  if (argc >= 2 && std::strcmp(argv[1], "policy") == 0) {
    return jitgate::policy::RunPolicyCommand(argc - 1, argv + 1);
  }
  if (argc >= 2 && std::strcmp(argv[1], "audit") == 0) {
    return jitgate::audit::RunAuditCommand(argc - 1, argv + 1);
  }
  jitgate::Options options;
  if (const int rc = jitgate::ParseArgs(argc, argv, &options); rc >= 0) {
    return rc;
  }
  absl::StatusOr<jitgate::config::Config> config = jitgate::config::LoadFile(options.config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "jitgate: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (options.check_only) {
    // As strict as `jitgate policy check`: the policies must compile too.
    if (!config->policies.empty()) {
      if (auto table = jitgate::policy::Table::Compile(*config); !table.ok()) {
        std::fprintf(stderr, "jitgate: %s\n", std::string(table.status().message()).c_str());
        return 2;
      }
      if (auto rules = jitgate::policy::RulesTable::Compile(*config); !rules.ok()) {
        std::fprintf(stderr, "jitgate: %s\n", std::string(rules.status().message()).c_str());
        return 2;
      }
    }
    std::printf("%s: valid; %u shard(s), %zu listener(s), %zu resource(s)\n",
                options.config_path.c_str(), config->shard_count, config->listeners.size(),
                config->resources.size());
    return 0;
  }
  std::vector<std::string> warnings;
  if (absl::Status secrets = jitgate::config::ResolveSecrets(*config, &warnings); !secrets.ok()) {
    std::fprintf(stderr, "jitgate: %s: %s\n", options.config_path.c_str(),
                 std::string(secrets.message()).c_str());
    return 2;
  }
  for (const std::string& warning : warnings) {
    JG_LOG(kWarn, "event=config_warning detail=\"%s\"", warning.c_str());
  }
  return jitgate::Run(*config, options.config_path);
}
