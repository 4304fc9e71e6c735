// tests/policy/policy_cli_main.cc: a test-only `jitgate policy ...` until src/main.cc dispatches
// to RunPolicyCommand: `policy_cli check FILE` behaves as `jitgate policy check FILE`.
#include "src/policy/cli.h"

int main(int argc, char** argv) {
  // argv[0] is this program; RunPolicyCommand wants argv[0] == "policy".
  char policy[] = "policy";
  argv[0] = policy;
  return jitgate::policy::RunPolicyCommand(argc, argv);
}
