// src/policy/cli.h: `jitgate policy ...`, the operator's commands on a configuration's policies.
//
// src/main.cc calls RunPolicyCommand when its first argument is "policy" (tests/policy builds a
// small executable that does the same). Runs on the main thread before anything starts; prints
// to stdout/stderr and returns the process exit code.
//
//   jitgate policy check FILE    load FILE and compile its policies; prints
//                                "FILE: ok (N listeners, N resources, N policies)", exit 0;
//                                any error printed to stderr as-is, exit 1
//   jitgate policy explain FILE --subject S [--group G]... [--role R]... [--app-id A]
//                          [--resource NAME] SQL
//                                the policy the identity gets for the resource (as the gateway
//                                decides at login, Table::Decide; --resource may be left out when
//                                the file has one resource), then for each statement of SQL
//                                (classified by the PostgreSQL classifier, standard_conforming_
//                                strings on) its decision, class, flags, relations, functions
//                                and the deciding rule with its message (RulesTable::Decide).
//                                Exit 0 when every statement is allowed, 1 when any is refused
//                                (block or review) or no policy matches, 2 on a usage error or a
//                                config that does not load.
// Usage errors print the usage to stderr and exit 2; "policy help" prints it to stdout, exit 0.
#ifndef JITGATE_SRC_POLICY_CLI_H_
#define JITGATE_SRC_POLICY_CLI_H_

namespace jitgate::policy {

// Exit codes of RunPolicyCommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the command ran and found an error (an invalid config)
inline constexpr int kExitUsage = 2;   // the command line is wrong

// argv[0] is "policy"; argv[1] the subcommand. Returns the exit code.
int RunPolicyCommand(int argc, char** argv);

}  // namespace jitgate::policy

#endif  // JITGATE_SRC_POLICY_CLI_H_
