// src/config/audit.h: the reader of "audit" (AuditConfig, include/jitgate/config.h). Private to
// src/config.
#ifndef JITGATE_SRC_CONFIG_AUDIT_H_
#define JITGATE_SRC_CONFIG_AUDIT_H_

#include "absl/status/status.h"
#include "jitgate/config.h"
#include "picojson.h"
#include "src/config/reader.h"

namespace jitgate::config::internal {

// Reads "$.audit" (null `value`: absent, audit off).
absl::Status ReadAudit(const Ctx& ctx, const picojson::value* value, AuditConfig& audit);

}  // namespace jitgate::config::internal

#endif  // JITGATE_SRC_CONFIG_AUDIT_H_
