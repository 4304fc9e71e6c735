// tests/auth/jg_token_main.cc: `jg_token keygen|mint ...`, i.e. `jitgate token ...` as its own
// test-only executable (src/main.cc dispatches the same way once wired).
#include "src/auth/token_cli.h"

int main(int argc, char** argv) {
  // argv[0] plays "token", as RunTokenCommand expects.
  return jitgate::auth::RunTokenCommand(argc, argv);
}
