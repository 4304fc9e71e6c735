// parsers/mysql/invariant.h (private): the assertion the MySQL parsers use for their own state.
//
// parsers/ links nothing (no logging, no jitgate_common), so a broken invariant traps instead of
// printing through JG_CHECK. Never used on peer bytes: those are handled and reported.
#ifndef JITGATE_PARSERS_MYSQL_INVARIANT_H_
#define JITGATE_PARSERS_MYSQL_INVARIANT_H_

#define JG_MYSQL_INVARIANT(cond) \
  do {                           \
    if (!(cond)) [[unlikely]] {  \
      __builtin_trap();          \
    }                            \
  } while (false)

#endif  // JITGATE_PARSERS_MYSQL_INVARIANT_H_
