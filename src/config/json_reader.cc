// src/config/json_reader.cc: see json_reader.h. A parse context of our own replaces picojson's
// default_parse_context (which recurses without bound on nested objects, throws on numbers out of
// double's range and keeps the last of repeated keys); picojson's grammar is used unchanged.
#include "src/config/json_reader.h"

#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "jitgate/check.h"
#include "src/config/config_internal.h"

namespace jitgate::config::internal {
namespace {

// The deepest valid document nests 4 levels ($.listeners[0].name); 16 leaves room and bounds the
// recursion of the parser and of picojson's value destructor.
constexpr uint32_t kJsonDepthMax = 16;

// State shared by the nested contexts of one document.
struct JsonState {
  uint32_t depth_left = kJsonDepthMax;
  std::string error;  // set when a context (not picojson's grammar) rejects the input
  bool number_out_of_range = false;
};

// A picojson parse context like picojson::default_parse_context, fixed for untrusted input:
// objects count toward the depth limit (picojson 1.3 counts only arrays, so {"a":{"a":... recursed
// until the stack overflowed), a number outside double's range is an error (picojson's
// value(double) throws on inf, and std::terminate is not an error message), and a repeated key is
// an error instead of silently replacing the first value. Method names are picojson's.
class JsonContext {
 public:
  JsonContext(picojson::value* out, JsonState* state) : out_(out), state_(state) {}
  JsonContext(const JsonContext&) = delete;
  JsonContext& operator=(const JsonContext&) = delete;

  bool set_null() {
    *out_ = picojson::value();
    return true;
  }
  bool set_bool(bool b) {
    *out_ = picojson::value(b);
    return true;
  }
  bool set_int64(int64_t i) {
    *out_ = picojson::value(i);
    return true;
  }
  // picojson ignores this result (it returns true after set_number), so the error is also checked
  // after the parse; the value stays null.
  bool set_number(double f) {
    if (!std::isfinite(f)) {
      state_->number_out_of_range = true;
      return false;
    }
    *out_ = picojson::value(f);
    return true;
  }
  template <typename Iter>
  bool parse_string(picojson::input<Iter>& in) {
    *out_ = picojson::value(picojson::string_type, false);
    return picojson::_parse_string(out_->get<std::string>(), in);
  }
  bool parse_array_start() { return Enter(picojson::array_type); }
  template <typename Iter>
  bool parse_array_item(picojson::input<Iter>& in, size_t) {
    JG_DCHECK(out_->is<picojson::array>());
    picojson::array& array = out_->get<picojson::array>();
    array.emplace_back();
    JsonContext item(&array.back(), state_);
    return picojson::_parse(item, in);
  }
  bool parse_array_stop(size_t) { return Leave(); }
  bool parse_object_start() { return Enter(picojson::object_type); }
  template <typename Iter>
  bool parse_object_item(picojson::input<Iter>& in, const std::string& key) {
    JG_DCHECK(out_->is<picojson::object>());
    auto [it, inserted] = out_->get<picojson::object>().try_emplace(key);
    if (!inserted) {
      state_->error = absl::StrCat("key ", Quote(key), " appears twice in one object");
      return false;
    }
    JsonContext item(&it->second, state_);
    return picojson::_parse(item, in);
  }
  bool parse_object_stop() { return Leave(); }

 private:
  bool Enter(int type) {
    if (state_->depth_left == 0) {
      state_->error = absl::StrCat("nesting deeper than ", kJsonDepthMax, " levels");
      return false;
    }
    --state_->depth_left;
    *out_ = picojson::value(type, false);
    return true;
  }
  bool Leave() {
    JG_DCHECK(state_->depth_left < kJsonDepthMax);
    ++state_->depth_left;
    return true;
  }

  picojson::value* out_;
  JsonState* state_;
};

// Up to kQuotedLengthMax printable characters from the parse position to the end of the line,
// like picojson's own "near: " text.
std::string NearText(picojson::input<const char*>& in) {
  std::string near;
  for (int ch = in.getc(); ch != -1 && ch != '\n' && near.size() < kQuotedLengthMax;
       ch = in.getc()) {
    if (ch >= ' ' && ch < 0x7f) {
      near.push_back(static_cast<char>(ch));
    }
  }
  return near;
}

}  // namespace

absl::StatusOr<picojson::value> ReadJson(absl::string_view text, absl::string_view file_name) {
  picojson::value root;
  JsonState state;
  JsonContext context(&root, &state);
  picojson::input<const char*> in(text.data(), text.data() + text.size());
  if (!picojson::_parse(context, in)) {
    const int line = in.line();
    if (!state.error.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ": line ", line, ": ", state.error));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": syntax error at line ", line, " near: ", NearText(in)));
  }
  if (state.number_out_of_range) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": a number is out of range (beyond +-1.7e308)"));
  }
  in.skip_ws();
  if (in.getc() != -1) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": syntax error at line ", in.line(),
                                                   ": text after the top-level object"));
  }
  return root;
}

}  // namespace jitgate::config::internal
