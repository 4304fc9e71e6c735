// src/config/statements.h: the reader of a policy's "statements" object (StatementRules in
// include/jitgate/config.h). Private to src/config; gateway.cc's ReadPolicy calls it.
#ifndef JITGATE_SRC_CONFIG_STATEMENTS_H_
#define JITGATE_SRC_CONFIG_STATEMENTS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "jitgate/config.h"
#include "picojson.h"
#include "src/config/reader.h"

namespace jitgate::config::internal {

// A part of a name pattern: "*" (any: `out` empty) or an identifier of [A-Za-z_][A-Za-z0-9_$]*,
// at most 63 characters, folded to lower case. False when it is neither.
bool ReadPatternPart(absl::string_view part, std::string& out);

// Reads "statements" at `path` into `rules`. A null `value` (the key is absent) leaves the
// defaults and fills the derived class rule names ("statements.default[read]", ...).
absl::Status ReadStatements(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                            StatementRules& rules);

}  // namespace jitgate::config::internal

#endif  // JITGATE_SRC_CONFIG_STATEMENTS_H_
