// src/config/masking.cc: see masking.h. Reads the masking rules (selectors, strategies, the hash
// key's source, the row limit) and each policy's unmask lists. Every failure names the JSON path
// and what was expected.
//
// Invariant of what ReadMasking produces: each rule has exactly one selector kind (columns, types,
// detectors; "columns" may narrow "detectors"), a non-empty unique name, and a strategy whose
// options are in range; a hash key source is given exactly when some rule hashes.
#include "src/config/masking.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "jitgate/status_macros.h"
#include "src/config/statements.h"

namespace jitgate::config {

std::string_view MaskStrategyName(MaskStrategy strategy) {
  switch (strategy) {
    case MaskStrategy::kRedact:
      return "redact";
    case MaskStrategy::kPartial:
      return "partial";
    case MaskStrategy::kHash:
      return "hash";
    case MaskStrategy::kNull:
      return "null";
  }
  return "redact";
}

namespace internal {
namespace {

// Each rule is matched per column of every RowDescription with masking on; a few dozen is a
// large set.
constexpr size_t kMaskRulesMax = 256;
constexpr size_t kPatternsPerRuleMax = 256;
constexpr size_t kTypesPerRuleMax = 64;
// "schema.table.column" plus slack for "*".
constexpr size_t kColumnPatternLengthMax = 3 * 63 + 2;
constexpr size_t kRedactTextLengthMax = 64;
constexpr uint32_t kKeepMax = 64;

constexpr absl::string_view kMaskingKeys[] = {"rules", "hash_key_env", "hash_key_file",
                                              "row_size_max"};
constexpr absl::string_view kRuleKeys[] = {"name",     "columns", "types", "detectors",
                                           "strategy", "keep",    "text"};
constexpr absl::string_view kUnmaskKeys[] = {"columns", "rules", "detectors"};
constexpr absl::string_view kPatternExpected =
    "a column pattern: \"column\", \"table.column\" or \"schema.table.column\", \"*\" for any "
    "part but not every part (identifiers of [A-Za-z0-9_$], at most 63 characters)";
constexpr absl::string_view kDetectorsExpected =
    "a detector (email, card, ssn, phone, iban, secret)";

absl::StatusOr<ColumnPattern> ReadColumnPattern(const Ctx& ctx, absl::string_view path,
                                                const picojson::value& value) {
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, kPatternExpected, value);
  }
  const std::string& text = value.get<std::string>();
  if (text.empty() || text.size() > kColumnPatternLengthMax) {
    return RangeError(ctx, path, kPatternExpected, value);
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  ColumnPattern pattern;
  pattern.text = text;
  bool ok = false;
  switch (parts.size()) {
    case 1:
      ok = ReadPatternPart(parts[0], pattern.column);
      break;
    case 2:
      ok = ReadPatternPart(parts[0], pattern.table) && ReadPatternPart(parts[1], pattern.column);
      break;
    case 3:
      ok = ReadPatternPart(parts[0], pattern.schema) && ReadPatternPart(parts[1], pattern.table) &&
           ReadPatternPart(parts[2], pattern.column);
      break;
    default:
      break;
  }
  // "*", "*.*", "*.*.*" would mask everything: say so with a type rule or a detector instead.
  if (!ok || (pattern.schema.empty() && pattern.table.empty() && pattern.column.empty())) {
    return RangeError(ctx, path, kPatternExpected, value);
  }
  return pattern;
}

absl::Status ReadColumnPatterns(const Ctx& ctx, absl::string_view path,
                                const picojson::value& value, std::vector<ColumnPattern>& out) {
  if (!value.is<picojson::array>()) {
    return TypeError(ctx, path, "an array of column patterns", value);
  }
  const picojson::array& array = value.get<picojson::array>();
  if (array.empty() || array.size() > kPatternsPerRuleMax) {
    return Invalid(ctx, path,
                   absl::StrCat("expected 1..", kPatternsPerRuleMax, " column patterns, got ",
                                array.size()));
  }
  for (size_t i = 0; i < array.size(); ++i) {
    JG_ASSIGN_OR_RETURN(ColumnPattern pattern,
                        ReadColumnPattern(ctx, absl::StrCat(path, "[", i, "]"), array[i]));
    out.push_back(std::move(pattern));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint8_t> ReadDetectors(const Ctx& ctx, absl::string_view path,
                                      const picojson::value& value) {
  if (!value.is<picojson::array>()) {
    return TypeError(ctx, path, "an array of detectors (email, card, ssn, phone, iban, secret)",
                     value);
  }
  const picojson::array& array = value.get<picojson::array>();
  if (array.empty()) {
    return Invalid(ctx, path, "expected at least one detector");
  }
  uint8_t bits = 0;
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string item_path = absl::StrCat(path, "[", i, "]");
    if (!array[i].is<std::string>()) {
      return TypeError(ctx, item_path, kDetectorsExpected, array[i]);
    }
    const std::string& name = array[i].get<std::string>();
    size_t d = 0;
    while (d < kDetectorNames.size() && name != kDetectorNames[d]) {
      ++d;
    }
    if (d == kDetectorNames.size()) {
      return RangeError(ctx, item_path, kDetectorsExpected, array[i]);
    }
    if ((bits & (1u << d)) != 0) {
      return Invalid(ctx, item_path, absl::StrCat("detector ", Quote(name), " is listed twice"));
    }
    bits = static_cast<uint8_t>(bits | (1u << d));
  }
  return bits;
}

absl::StatusOr<MaskStrategy> ReadStrategy(const Ctx& ctx, absl::string_view path,
                                          const picojson::value& value) {
  constexpr absl::string_view kExpected = R"("redact", "partial", "hash" or "null")";
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, kExpected, value);
  }
  const std::string& text = value.get<std::string>();
  for (MaskStrategy strategy : {MaskStrategy::kRedact, MaskStrategy::kPartial,
                                MaskStrategy::kHash, MaskStrategy::kNull}) {
    if (text == MaskStrategyName(strategy)) {
      return strategy;
    }
  }
  return RangeError(ctx, path, kExpected, value);
}

absl::StatusOr<MaskRule> ReadRule(const Ctx& ctx, absl::string_view path,
                                  const picojson::value& value, size_t index) {
  JG_ASSIGN_OR_RETURN(
      const picojson::object* object,
      AsObject(ctx, path, value,
               "an object with one of columns, types or detectors, and a strategy"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kRuleKeys));
  MaskRule rule;
  rule.name = absl::StrCat("masking.rules[", index, "]");
  if (const picojson::value* name = Find(*object, "name"); name != nullptr) {
    JG_ASSIGN_OR_RETURN(rule.name, ReadName(ctx, absl::StrCat(path, ".name"), *name));
  }
  const picojson::value* columns = Find(*object, "columns");
  const picojson::value* types = Find(*object, "types");
  const picojson::value* detectors = Find(*object, "detectors");
  if (columns == nullptr && types == nullptr && detectors == nullptr) {
    return Invalid(ctx, path,
                   "a rule selects what it masks: give \"columns\", \"types\" or \"detectors\"");
  }
  if (types != nullptr && (columns != nullptr || detectors != nullptr)) {
    return Invalid(ctx, absl::StrCat(path, ".types"),
                   "\"types\" selects on its own: put columns or detectors in another rule");
  }
  if (columns != nullptr) {
    JG_RETURN_IF_ERROR(ReadColumnPatterns(ctx, absl::StrCat(path, ".columns"), *columns,
                                          rule.columns));
  }
  if (types != nullptr) {
    JG_ASSIGN_OR_RETURN(rule.types,
                        ReadTextList(ctx, absl::StrCat(path, ".types"), *types, 1,
                                     kTypesPerRuleMax, 63, "a type name"));
    for (size_t i = 0; i < rule.types.size(); ++i) {
      std::string folded;
      if (!ReadPatternPart(rule.types[i], folded) || folded.empty()) {
        return Invalid(ctx, absl::StrCat(path, ".types[", i, "]"),
                       absl::StrCat("expected a type name ([A-Za-z_][A-Za-z0-9_$]*), got ",
                                    Quote(rule.types[i])));
      }
      rule.types[i] = std::move(folded);
    }
  }
  if (detectors != nullptr) {
    JG_ASSIGN_OR_RETURN(rule.detectors,
                        ReadDetectors(ctx, absl::StrCat(path, ".detectors"), *detectors));
  }
  JG_ASSIGN_OR_RETURN(const picojson::value* strategy, Require(ctx, path, *object, "strategy"));
  JG_ASSIGN_OR_RETURN(rule.strategy,
                      ReadStrategy(ctx, absl::StrCat(path, ".strategy"), *strategy));
  if (const picojson::value* keep = Find(*object, "keep"); keep != nullptr) {
    if (rule.strategy != MaskStrategy::kPartial) {
      return Invalid(ctx, absl::StrCat(path, ".keep"), "\"keep\" goes with strategy \"partial\"");
    }
    JG_RETURN_IF_ERROR(
        ReadOptionalU32(ctx, absl::StrCat(path, ".keep"), keep, 1, kKeepMax, rule.keep));
  }
  if (const picojson::value* text = Find(*object, "text"); text != nullptr) {
    if (rule.strategy != MaskStrategy::kRedact) {
      return Invalid(ctx, absl::StrCat(path, ".text"), "\"text\" goes with strategy \"redact\"");
    }
    JG_ASSIGN_OR_RETURN(rule.text, ReadText(ctx, absl::StrCat(path, ".text"), *text,
                                            kRedactTextLengthMax, "a replacement text"));
  }
  return rule;
}

}  // namespace

absl::Status ReadMasking(const Ctx& ctx, const picojson::value* value, MaskingConfig& masking) {
  constexpr absl::string_view kPath = "$.masking";
  if (value == nullptr) {
    return absl::OkStatus();
  }
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, kPath, *value, "an object with rules (and hash_key_env)"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, kPath, *object, kMaskingKeys));
  bool hashes = false;
  if (const picojson::value* rules = Find(*object, "rules"); rules != nullptr) {
    if (!rules->is<picojson::array>()) {
      return TypeError(ctx, "$.masking.rules", "an array of masking rules", *rules);
    }
    const picojson::array& array = rules->get<picojson::array>();
    if (array.size() > kMaskRulesMax) {
      return Invalid(ctx, "$.masking.rules",
                     absl::StrCat("expected at most ", kMaskRulesMax, " rules, got ",
                                  array.size()));
    }
    for (size_t i = 0; i < array.size(); ++i) {
      const std::string path = absl::StrCat("$.masking.rules[", i, "]");
      JG_ASSIGN_OR_RETURN(MaskRule rule, ReadRule(ctx, path, array[i], i));
      for (size_t e = 0; e < masking.rules.size(); ++e) {
        if (masking.rules[e].name == rule.name) {
          return Invalid(ctx, absl::StrCat(path, ".name"),
                         absl::StrCat("duplicate rule name ", Quote(rule.name),
                                      " (also $.masking.rules[", e, "])"));
        }
      }
      hashes = hashes || rule.strategy == MaskStrategy::kHash;
      masking.rules.push_back(std::move(rule));
    }
  }
  const picojson::value* key_env = Find(*object, "hash_key_env");
  const picojson::value* key_file = Find(*object, "hash_key_file");
  if (key_env != nullptr && key_file != nullptr) {
    return Invalid(ctx, kPath, "give one of \"hash_key_env\" and \"hash_key_file\", not both");
  }
  if (key_env != nullptr) {
    JG_ASSIGN_OR_RETURN(masking.hash_key_env,
                        ReadText(ctx, "$.masking.hash_key_env", *key_env, 255,
                                 "an environment variable name"));
  }
  if (key_file != nullptr) {
    JG_ASSIGN_OR_RETURN(masking.hash_key_file, ReadPath(ctx, "$.masking.hash_key_file", *key_file));
  }
  if (hashes && key_env == nullptr && key_file == nullptr) {
    return Invalid(ctx, kPath,
                   "a rule uses strategy \"hash\": give \"hash_key_env\" or \"hash_key_file\" (the "
                   "HMAC key, 32..1024 bytes)");
  }
  // A row is held whole to be masked: 64 KiB covers ordinary rows, 64 MiB bounds what one
  // session may hold.
  return ReadOptionalU32(ctx, "$.masking.row_size_max", Find(*object, "row_size_max"), 65536,
                         64u << 20, masking.row_size_max);
}

absl::Status ReadUnmask(const Ctx& ctx, absl::string_view path, const picojson::value* value,
                        const MaskingConfig& masking, Unmask& unmask) {
  if (value == nullptr) {
    return absl::OkStatus();
  }
  if (value->is<picojson::array>()) {
    return ReadColumnPatterns(ctx, path, *value, unmask.columns);
  }
  JG_ASSIGN_OR_RETURN(
      const picojson::object* object,
      AsObject(ctx, path, *value, "an array of column patterns, or an object with columns, "
                                  "rules and detectors"));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, path, *object, kUnmaskKeys));
  if (const picojson::value* columns = Find(*object, "columns"); columns != nullptr) {
    JG_RETURN_IF_ERROR(
        ReadColumnPatterns(ctx, absl::StrCat(path, ".columns"), *columns, unmask.columns));
  }
  if (const picojson::value* rules = Find(*object, "rules"); rules != nullptr) {
    JG_ASSIGN_OR_RETURN(unmask.rules, ReadTextList(ctx, absl::StrCat(path, ".rules"), *rules, 1,
                                                   kMaskRulesMax, 64, "a masking rule name"));
    for (size_t i = 0; i < unmask.rules.size(); ++i) {
      bool found = false;
      for (const MaskRule& rule : masking.rules) {
        found = found || rule.name == unmask.rules[i];
      }
      if (!found) {
        return Invalid(ctx, absl::StrCat(path, ".rules[", i, "]"),
                       absl::StrCat("no masking rule is named ", Quote(unmask.rules[i]),
                                    " ($.masking.rules)"));
      }
    }
  }
  if (const picojson::value* detectors = Find(*object, "detectors"); detectors != nullptr) {
    JG_ASSIGN_OR_RETURN(unmask.detectors,
                        ReadDetectors(ctx, absl::StrCat(path, ".detectors"), *detectors));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace jitgate::config
