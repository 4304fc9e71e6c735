// src/config/json_reader.h: bytes to a picojson tree, bounded for untrusted input (private to
// src/config; config.cc is the only caller, and src/config the only user of picojson).
#ifndef JITGATE_SRC_CONFIG_JSON_READER_H_
#define JITGATE_SRC_CONFIG_JSON_READER_H_

// picojson's value layout depends on PICOJSON_USE_INT64; every includer must agree.
#ifndef PICOJSON_USE_INT64
#error "build with picojson_dep from the root meson.build (it defines PICOJSON_USE_INT64)"
#endif

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "picojson.h"

namespace jitgate::config::internal {

// Parses `text` as one JSON value followed only by whitespace. Bounds: nesting at most 16 arrays
// and objects deep, numbers finite (integers that fit int64 are kept as int64), no key twice in
// one object. Errors are InvalidArgumentError("<file_name>: syntax error at line N near: ...") or
// ("<file_name>: line N: <what>"). Never throws.
absl::StatusOr<picojson::value> ReadJson(absl::string_view text, absl::string_view file_name);

}  // namespace jitgate::config::internal

#endif  // JITGATE_SRC_CONFIG_JSON_READER_H_
