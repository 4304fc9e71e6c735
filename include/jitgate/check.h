// jitgate/check.h: always-on and debug-only assertions.
//
// JG_CHECK(cond) guards invariants of our own state; it is never used on peer bytes or on results a
// peer can make the kernel return (those are handled, see STYLE.md "Assertions"). Failure prints
// the condition and location to stderr and aborts; the failure path is out of line so a check costs
// one predictable branch on the hot path.
#ifndef JITGATE_CHECK_H_
#define JITGATE_CHECK_H_

namespace jitgate::internal {
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);
}  // namespace jitgate::internal

#define JG_CHECK(cond)                                             \
  do {                                                             \
    if (!(cond)) [[unlikely]] {                                    \
      ::jitgate::internal::CheckFailed(#cond, __FILE__, __LINE__); \
    }                                                              \
  } while (false)

#ifdef NDEBUG
#define JG_DCHECK(cond) \
  do {                  \
  } while (false && (cond))
#else
#define JG_DCHECK(cond) JG_CHECK(cond)
#endif

#endif  // JITGATE_CHECK_H_
