// jitgate/status_macros.h: early-return helpers for absl::Status on the control plane
// (config, start-up probes). Abseil 20220623 ships none, so these are ours.
#ifndef JITGATE_STATUS_MACROS_H_
#define JITGATE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define JG_STATUS_CONCAT_INNER_(a, b) a##b
#define JG_STATUS_CONCAT_(a, b) JG_STATUS_CONCAT_INNER_(a, b)

// Evaluates expr (an absl::Status); returns it from the enclosing function if it is not OK.
#define JG_RETURN_IF_ERROR(expr)         \
  do {                                   \
    ::absl::Status jg_status_ = (expr);  \
    if (!jg_status_.ok()) [[unlikely]] { \
      return jg_status_;                 \
    }                                    \
  } while (false)

// Evaluates rexpr (an absl::StatusOr<T>); on error returns its status, else moves the value into
// lhs, which may be a declaration: JG_ASSIGN_OR_RETURN(auto ring, Ring::Create(options));
#define JG_ASSIGN_OR_RETURN(lhs, rexpr) \
  JG_ASSIGN_OR_RETURN_IMPL_(JG_STATUS_CONCAT_(jg_statusor_, __LINE__), lhs, rexpr)

#define JG_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) [[unlikely]] {                    \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = std::move(statusor).value()

#endif  // JITGATE_STATUS_MACROS_H_
