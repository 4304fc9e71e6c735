// Implementation of src/mask/plan.h: compiling the masking rules of one policy.
#include "src/mask/plan.h"

#include <openssl/sha.h>

#include <cstring>
#include <utility>

#include "jitgate/check.h"

namespace jitgate::mask {
namespace {

Strategy StrategyOf(config::MaskStrategy strategy) {
  switch (strategy) {
    case config::MaskStrategy::kRedact:
      return Strategy::kRedact;
    case config::MaskStrategy::kPartial:
      return Strategy::kPartial;
    case config::MaskStrategy::kHash:
      return Strategy::kHash;
    case config::MaskStrategy::kNull:
      return Strategy::kNull;
  }
  return Strategy::kNull;
}

// How much a strategy hides: a derived value takes the one that hides most.
int Strictness(Strategy strategy) {
  switch (strategy) {
    case Strategy::kNull:
      return 3;
    case Strategy::kRedact:
      return 2;
    case Strategy::kHash:
      return 1;
    case Strategy::kPartial:
      return 0;
  }
  return 3;
}

bool PartMatches(const std::string& pattern, std::string_view name) {
  return pattern.empty() || pattern == name;
}

bool PatternMatches(const config::ColumnPattern& pattern, std::string_view schema,
                    std::string_view table, std::string_view column) {
  return PartMatches(pattern.schema, schema) && PartMatches(pattern.table, table) &&
         PartMatches(pattern.column, column);
}

void Mix(uint64_t* h, std::string_view text) {
  // FNV-1a over a length-prefixed field: enough to tell two rule sets apart.
  const uint64_t size = text.size();
  for (size_t i = 0; i < sizeof(size); ++i) {
    *h = (*h ^ ((size >> (8 * i)) & 0xff)) * 1099511628211ull;
  }
  for (unsigned char c : text) {
    *h = (*h ^ c) * 1099511628211ull;
  }
}

}  // namespace

MaskSpec StricterSpec(const MaskSpec& a, const MaskSpec& b) {
  return Strictness(b.strategy) > Strictness(a.strategy) ? b : a;
}

MaskSpec DerivedSpec(const MaskSpec& spec) {
  MaskSpec derived = spec;
  if (derived.strategy == Strategy::kPartial) {
    derived.strategy = Strategy::kRedact;
    derived.redact_text = "****";
  }
  return derived;
}

std::shared_ptr<const PolicyMasks> PolicyMasks::Compile(const config::MaskingConfig& masking,
                                                        const config::Policy& policy) {
  auto masks = std::make_shared<PolicyMasks>();
  masks->rules_.reserve(masking.rules.size());
  uint64_t h = 14695981039346656037ull;
  for (const config::MaskRule& source : masking.rules) {
    bool skipped = false;
    for (const std::string& name : policy.unmask.rules) {
      skipped = skipped || name == source.name;
    }
    if (skipped) {
      if (source.detectors == 0) {
        masks->unmask_columns_.insert(masks->unmask_columns_.end(), source.columns.begin(),
                                      source.columns.end());
      }
      continue;
    }
    Rule rule;
    rule.name = source.name;
    rule.text = source.text;
    rule.spec.strategy = StrategyOf(source.strategy);
    rule.spec.keep = source.keep;
    rule.columns = source.columns;
    rule.types = source.types;
    rule.detectors = static_cast<DetectorSet>(source.detectors & ~policy.unmask.detectors);
    if (source.detectors != 0 && rule.detectors == 0) {
      continue;  // every detector of the rule is unmasked
    }
    masks->rules_.push_back(std::move(rule));
    Mix(&h, source.name);
    Mix(&h, source.text);
    Mix(&h, config::MaskStrategyName(source.strategy));
    Mix(&h, std::to_string(source.keep));
    Mix(&h, std::to_string(masks->rules_.back().detectors));
    for (const config::ColumnPattern& pattern : source.columns) {
      Mix(&h, pattern.text);
    }
    for (const std::string& type : source.types) {
      Mix(&h, type);
    }
  }
  JG_CHECK(masks->rules_.size() < kNoRule);
  // The specs view the rules' own texts: set them once the vector no longer moves.
  for (size_t i = 0; i < masks->rules_.size(); ++i) {
    Rule& rule = masks->rules_[i];
    rule.spec.redact_text = rule.text;
    masks->needs_catalog_ = masks->needs_catalog_ || rule.detectors == 0;
    if (rule.detectors != 0 && rule.columns.empty()) {
      masks->detectors_ = static_cast<DetectorSet>(masks->detectors_ | rule.detectors);
    }
    if (rule.detectors != 0) {
      if (masks->scan_rule_ == kNoRule) {
        masks->scan_spec_ = rule.spec;
        masks->scan_rule_ = static_cast<uint16_t>(i);
      } else if (Strictness(rule.spec.strategy) > Strictness(masks->scan_spec_.strategy)) {
        masks->scan_spec_ = rule.spec;
        masks->scan_rule_ = static_cast<uint16_t>(i);
      }
    }
  }
  masks->unmask_columns_.insert(masks->unmask_columns_.end(), policy.unmask.columns.begin(),
                                policy.unmask.columns.end());
  for (const config::ColumnPattern& pattern : policy.unmask.columns) {
    Mix(&h, pattern.text);
  }
  masks->row_size_max_ = masking.row_size_max;
  masks->hash_key_ = masking.hash_key;
  Mix(&h, std::to_string(masking.row_size_max));
  // The key itself is not mixed in (the fingerprint is logged); a digest of it is.
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(masking.hash_key.data()), masking.hash_key.size(),
         digest);
  Mix(&h, std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  masks->fingerprint_ = h;
  return masks;
}

bool PolicyMasks::IsUnmasked(std::string_view schema, std::string_view table,
                             std::string_view column) const {
  for (const config::ColumnPattern& pattern : unmask_columns_) {
    if (PatternMatches(pattern, schema, table, column)) {
      return true;
    }
  }
  return false;
}

uint16_t PolicyMasks::MatchSource(std::string_view schema, std::string_view table,
                                  std::string_view column) const {
  for (const config::ColumnPattern& pattern : unmask_columns_) {
    if (PatternMatches(pattern, schema, table, column)) {
      return kNoRule;
    }
  }
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (rule.detectors != 0) {
      continue;
    }
    for (const config::ColumnPattern& pattern : rule.columns) {
      if (PatternMatches(pattern, schema, table, column)) {
        return static_cast<uint16_t>(i);
      }
    }
  }
  return kNoRule;
}

uint16_t PolicyMasks::MatchName(std::string_view name) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (rule.detectors != 0) {
      continue;
    }
    for (const config::ColumnPattern& pattern : rule.columns) {
      if (!pattern.column.empty() && pattern.column == name) {
        // Unmasked only when every column of that name is unmasked for the policy.
        bool unmasked = false;
        for (const config::ColumnPattern& u : unmask_columns_) {
          unmasked = unmasked || (u.schema.empty() && u.table.empty() && u.column == name);
        }
        if (!unmasked) {
          return static_cast<uint16_t>(i);
        }
      }
    }
  }
  return kNoRule;
}

DetectorSet PolicyMasks::DetectorsFor(std::string_view schema, std::string_view table,
                                      std::string_view column) const {
  DetectorSet set = detectors_;
  for (const Rule& rule : rules_) {
    if (rule.detectors == 0 || rule.columns.empty()) {
      continue;
    }
    for (const config::ColumnPattern& pattern : rule.columns) {
      // Without a source (schema and table empty) a narrowed detector applies by name.
      const bool match = schema.empty() && table.empty()
                             ? (pattern.column.empty() || pattern.column == column)
                             : PatternMatches(pattern, schema, table, column);
      if (match) {
        set = static_cast<DetectorSet>(set | rule.detectors);
        break;
      }
    }
  }
  return set;
}

uint16_t PolicyMasks::MatchTypeName(std::string_view type_name) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    for (const std::string& type : rules_[i].types) {
      if (type == type_name) {
        return static_cast<uint16_t>(i);
      }
    }
  }
  return kNoRule;
}

}  // namespace jitgate::mask
