// The out-of-line failure path of JG_CHECK.
#include "jitgate/check.h"

#include <cstdio>
#include <cstdlib>

namespace jitgate::internal {

void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "jitgate: check failed: %s at %s:%d\n", condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace jitgate::internal
