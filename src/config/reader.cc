// src/config/reader.cc: see reader.h.
#include "src/config/reader.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"

namespace jitgate::config::internal {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

absl::string_view TypeName(const picojson::value& value) {
  if (value.is<picojson::null>()) {
    return "null";
  }
  if (value.is<bool>()) {
    return "boolean";
  }
  if (value.is<double>()) {
    return "number";
  }
  if (value.is<std::string>()) {
    return "string";
  }
  if (value.is<picojson::array>()) {
    return "array";
  }
  return "object";
}

// The offending value for "got ..." after a range check: numbers and strings as written (strings
// quoted and cut), anything else by its type.
std::string Describe(const picojson::value& value) {
  if (value.is<int64_t>()) {
    return absl::StrCat(value.get<int64_t>());
  }
  if (value.is<double>()) {
    return absl::StrFormat("%.15g", value.get<double>());  // 1.0000001 must not print as 1
  }
  if (value.is<std::string>()) {
    return Quote(value.get<std::string>());
  }
  if (value.is<bool>()) {
    return value.get<bool>() ? "true" : "false";
  }
  return std::string(TypeName(value));
}

bool IsPrintable(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= ' ' && c < 0x7f; });
}

}  // namespace

absl::Status Invalid(const Ctx& ctx, absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(ctx.file_name, ": ", path, ": ", what));
}

bool IsValidName(absl::string_view name) {
  return !name.empty() && name.size() <= kNameLengthMax &&
         std::all_of(name.begin(), name.end(), IsNameChar);
}

std::string Child(absl::string_view path, absl::string_view key) {
  if (IsValidName(key)) {
    return absl::StrCat(path, ".", key);
  }
  return absl::StrCat(path, "[", Quote(key), "]");
}

absl::Status TypeError(const Ctx& ctx, absl::string_view path, absl::string_view expected,
                       const picojson::value& value) {
  const bool scalar = value.is<double>() || value.is<std::string>() || value.is<bool>();
  return Invalid(ctx, path,
                 absl::StrCat("expected ", expected, ", got ", TypeName(value),
                              scalar ? absl::StrCat(" ", Describe(value)) : std::string()));
}

absl::Status RangeError(const Ctx& ctx, absl::string_view path, absl::string_view expected,
                        const picojson::value& value) {
  return Invalid(ctx, path, absl::StrCat("expected ", expected, ", got ", Describe(value)));
}

const picojson::value* Find(const picojson::object& object, absl::string_view key) {
  auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &it->second;
}

absl::StatusOr<const picojson::value*> Require(const Ctx& ctx, absl::string_view path,
                                               const picojson::object& object,
                                               absl::string_view key) {
  const picojson::value* value = Find(object, key);
  if (value == nullptr) {
    return Invalid(ctx, path, absl::StrCat("missing key \"", key, "\""));
  }
  return value;
}

absl::StatusOr<const picojson::object*> AsObject(const Ctx& ctx, absl::string_view path,
                                                 const picojson::value& value,
                                                 absl::string_view expected) {
  if (!value.is<picojson::object>()) {
    return TypeError(ctx, path, expected, value);
  }
  return &value.get<picojson::object>();
}

absl::Status CheckKeys(const Ctx& ctx, absl::string_view path, const picojson::object& object,
                       std::span<const absl::string_view> known) {
  for (const auto& [key, value] : object) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Invalid(ctx, path,
                     absl::StrCat("unknown key ", Quote(key),
                                  " (known keys: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ReadInteger(const Ctx& ctx, absl::string_view path,
                                    const picojson::value& value, int64_t min, int64_t max,
                                    absl::string_view expected) {
  JG_DCHECK(min <= max);
  if (!value.is<double>()) {
    return TypeError(ctx, path, expected, value);
  }
  if (value.is<int64_t>()) {
    const int64_t n = value.get<int64_t>();
    if (n < min || n > max) {
      return RangeError(ctx, path, expected, value);
    }
    return n;
  }
  // Not int64: stored as a finite double (JsonContext rejects inf), so get<double> converts
  // nothing.
  const double d = value.get<double>();
  if (d != std::trunc(d) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    return RangeError(ctx, path, expected, value);
  }
  return static_cast<int64_t>(d);
}

absl::Status ReadOptionalU32(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                             uint32_t min, uint32_t max, uint32_t& out) {
  if (value == nullptr) {
    return absl::OkStatus();
  }
  JG_ASSIGN_OR_RETURN(
      const int64_t n,
      ReadInteger(ctx, path, *value, min, max,
                  absl::StrCat("an integer between ", min, " and ", max)));
  out = static_cast<uint32_t>(n);
  return absl::OkStatus();
}

absl::Status ReadOptionalBool(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                              bool& out) {
  if (value == nullptr) {
    return absl::OkStatus();
  }
  if (!value->is<bool>()) {
    return TypeError(ctx, path, "true or false", *value);
  }
  out = value->get<bool>();
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadName(const Ctx& ctx, absl::string_view path,
                                     const picojson::value& value) {
  constexpr absl::string_view kExpected = "a name of 1 to 64 characters from [A-Za-z0-9_-]";
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, kExpected, value);
  }
  if (!IsValidName(value.get<std::string>())) {
    return RangeError(ctx, path, kExpected, value);
  }
  return value.get<std::string>();
}

absl::StatusOr<std::string> ReadText(const Ctx& ctx, absl::string_view path,
                                     const picojson::value& value, size_t length_max,
                                     absl::string_view what) {
  const std::string expected =
      absl::StrCat(what, " (1 to ", length_max, " printable ASCII characters)");
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, expected, value);
  }
  const std::string& text = value.get<std::string>();
  if (text.empty() || text.size() > length_max || !IsPrintable(text)) {
    return RangeError(ctx, path, expected, value);
  }
  return text;
}

absl::StatusOr<std::string> ReadPath(const Ctx& ctx, absl::string_view path,
                                     const picojson::value& value) {
  return ReadText(ctx, path, value, kPathLengthMax, "a file path");
}

absl::StatusOr<std::vector<std::string>> ReadTextList(const Ctx& ctx, absl::string_view path,
                                                      const picojson::value& value,
                                                      size_t min_count, size_t count_max,
                                                      size_t length_max, absl::string_view what) {
  JG_DCHECK(min_count <= count_max);
  if (!value.is<picojson::array>()) {
    return TypeError(ctx, path, absl::StrCat("an array of ", what), value);
  }
  const picojson::array& array = value.get<picojson::array>();
  if (array.size() < min_count || array.size() > count_max) {
    return Invalid(ctx, path,
                   absl::StrCat("expected ", min_count, " to ", count_max, " entries, got ",
                                array.size()));
  }
  std::vector<std::string> texts;
  texts.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    JG_ASSIGN_OR_RETURN(std::string text, ReadText(ctx, absl::StrCat(path, "[", i, "]"),
                                                   array[i], length_max, what));
    texts.push_back(std::move(text));
  }
  return texts;
}

}  // namespace jitgate::config::internal
