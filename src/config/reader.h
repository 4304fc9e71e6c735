// src/config/reader.h: typed reads of a picojson tree with path-precise errors, shared by the
// section readers of src/config (config.cc: shards, limits, resources, listeners; gateway.cc:
// identity, policies, grants and the cross-section rules). Private to src/config.
//
// Every error is InvalidArgumentError("<file>: <json path>: <what was expected>"); values echoed
// in a message go through Quote(), so messages stay bounded and printable. Nothing here throws:
// is<T>() before every get<T>().
#ifndef JITGATE_SRC_CONFIG_READER_H_
#define JITGATE_SRC_CONFIG_READER_H_

#ifndef PICOJSON_USE_INT64
#error "build with picojson_dep from the root meson.build (it defines PICOJSON_USE_INT64)"
#endif

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "picojson.h"
#include "src/config/config_internal.h"

namespace jitgate::config::internal {

// Names appear in logs, audit records and JSON paths, so they are short and need no quoting.
inline constexpr size_t kNameLengthMax = 64;
// Error messages that list names (resources: a, b, ...) list at most this many.
inline constexpr size_t kNamesListedMax = 8;
// File paths: PATH_MAX.
inline constexpr size_t kPathLengthMax = 4096;

// Debian's abseil 20220623 has its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0), which
// StrCat and friends take; the public API speaks std::string_view. Converted here.
inline absl::string_view AbslView(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

// What every reader needs: the file name for messages and how to resolve host names.
struct Ctx {
  absl::string_view file_name;
  HostLookup lookup;
};

absl::Status Invalid(const Ctx& ctx, absl::string_view path, absl::string_view what);

// [A-Za-z0-9_-], 1..kNameLengthMax characters.
bool IsValidName(absl::string_view name);

// $.resources.main, or $.resources["a b"] for a key that is not a valid name.
std::string Child(absl::string_view path, absl::string_view key);

// "expected <expected>, got <type>[ <value>]" (for a value of the wrong type).
absl::Status TypeError(const Ctx& ctx, absl::string_view path, absl::string_view expected,
                       const picojson::value& value);
// "expected <expected>, got <value>" (for a value of the right type outside its range).
absl::Status RangeError(const Ctx& ctx, absl::string_view path, absl::string_view expected,
                        const picojson::value& value);

// The member `key` of `object`, or null.
const picojson::value* Find(const picojson::object& object, absl::string_view key);
// The member `key`, or `missing key "<key>"` at `path`.
absl::StatusOr<const picojson::value*> Require(const Ctx& ctx, absl::string_view path,
                                               const picojson::object& object,
                                               absl::string_view key);
absl::StatusOr<const picojson::object*> AsObject(const Ctx& ctx, absl::string_view path,
                                                 const picojson::value& value,
                                                 absl::string_view expected);

// A misspelt key must not silently fall back to a default, so every key must be known.
absl::Status CheckKeys(const Ctx& ctx, absl::string_view path, const picojson::object& object,
                       std::span<const absl::string_view> known);

// An integer in [min, max]. Integral doubles (1e3, 2.0) are accepted; 1.5 is not.
absl::StatusOr<int64_t> ReadInteger(const Ctx& ctx, absl::string_view path,
                                    const picojson::value& value, int64_t min, int64_t max,
                                    absl::string_view expected);
// "an integer between min and max", read into a uint32_t; `value` null keeps `out`.
absl::Status ReadOptionalU32(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                             uint32_t min, uint32_t max, uint32_t& out);
// true or false; `value` null keeps `out`.
absl::Status ReadOptionalBool(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                              bool& out);

// A name (IsValidName).
absl::StatusOr<std::string> ReadName(const Ctx& ctx, absl::string_view path,
                                     const picojson::value& value);

// A string of 1..length_max printable ASCII characters (0x20..0x7e); `what` names it in the
// message ("a file path", "an issuer").
absl::StatusOr<std::string> ReadText(const Ctx& ctx, absl::string_view path,
                                     const picojson::value& value, size_t length_max,
                                     absl::string_view what);

// A file path: ReadText with kPathLengthMax.
absl::StatusOr<std::string> ReadPath(const Ctx& ctx, absl::string_view path,
                                     const picojson::value& value);

// An array of 0..count_max texts (ReadText each); `min_count` entries at least.
absl::StatusOr<std::vector<std::string>> ReadTextList(const Ctx& ctx, absl::string_view path,
                                                      const picojson::value& value,
                                                      size_t min_count, size_t count_max,
                                                      size_t length_max, absl::string_view what);

}  // namespace jitgate::config::internal

#endif  // JITGATE_SRC_CONFIG_READER_H_
