// src/config/masking.h: the readers of "masking" (MaskingConfig) and of a policy's "unmask"
// (Unmask), include/jitgate/config.h. Private to src/config.
#ifndef JITGATE_SRC_CONFIG_MASKING_H_
#define JITGATE_SRC_CONFIG_MASKING_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "jitgate/config.h"
#include "picojson.h"
#include "src/config/reader.h"

namespace jitgate::config::internal {

// Reads "$.masking" (null `value`: absent, the defaults: no rules).
absl::Status ReadMasking(const Ctx& ctx, const picojson::value* value, MaskingConfig& masking);

// Reads a policy's "unmask" at `path`; rule names must name rules of `masking`.
absl::Status ReadUnmask(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                        const MaskingConfig& masking, Unmask& unmask);

}  // namespace jitgate::config::internal

#endif  // JITGATE_SRC_CONFIG_MASKING_H_
