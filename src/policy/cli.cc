// src/policy/cli.cc: see cli.h. Each subcommand is one function in kCommands; `explain` slots in
// beside `check`.
#include "src/policy/cli.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "jitgate/config.h"
#include "src/policy/table.h"

namespace jitgate::policy {
namespace {

constexpr char kUsage[] =
    "usage: jitgate policy check FILE\n"
    "  check FILE   validate the configuration FILE and compile its policies\n"
    "               (exit 0 = valid, 1 = invalid, 2 = usage error)\n";

int Usage(const std::string& problem) {
  std::fprintf(stderr, "jitgate policy: %s\n%s", problem.c_str(), kUsage);
  return kExitUsage;
}

// `policy check FILE`: args are what follows "check".
int Check(int argc, char** argv) {
  if (argc != 1) {
    return Usage(argc == 0 ? "check needs a FILE" : "check takes exactly one FILE");
  }
  const std::string path = argv[0];
  absl::StatusOr<config::Config> config = config::LoadFile(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(config.status().message().size()),
                 config.status().message().data());
    return kExitFailed;
  }
  absl::StatusOr<std::shared_ptr<const Table>> table = Table::Compile(*config);
  if (!table.ok()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(table.status().message().size()),
                 table.status().message().data());
    return kExitFailed;
  }
  std::printf("%s: ok (%zu listeners, %zu resources, %zu policies)\n", path.c_str(),
              config->listeners.size(), config->resources.size(), config->policies.size());
  std::fflush(stdout);
  return kExitOk;
}

struct Command {
  std::string_view name;
  int (*run)(int argc, char** argv);  // the arguments after the subcommand
};

constexpr Command kCommands[] = {
    {"check", Check},
};

}  // namespace

int RunPolicyCommand(int argc, char** argv) {
  if (argc < 2 || argv == nullptr || argv[1] == nullptr) {
    return Usage("missing subcommand");
  }
  const std::string_view name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  for (const Command& command : kCommands) {
    if (command.name == name) {
      return command.run(argc - 2, argv + 2);
    }
  }
  return Usage("unknown subcommand \"" + std::string(name.substr(0, 64)) + "\"");
}

}  // namespace jitgate::policy
