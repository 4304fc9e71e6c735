// Implementation of src/mask/row.h.
#include "src/mask/row.h"

#include <algorithm>
#include <cstring>

#include "jitgate/check.h"
#include "jitgate/parsers/pg/backend.h"

namespace jitgate::mask {
namespace {

namespace pg = parsers::pg;
namespace sqlpg = parsers::sql::pg;

void StoreU32(std::byte* p, uint32_t v) {
  p[0] = std::byte(v >> 24);
  p[1] = std::byte(v >> 16);
  p[2] = std::byte(v >> 8);
  p[3] = std::byte(v);
}

void StoreU16(std::byte* p, uint16_t v) {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v);
}

// The spec of a value derived from the sensitive columns `names` (MatchName over each; "*" or a
// name no rule matches by name: every column rule), or false when none applies.
bool DerivedFrom(const PolicyMasks& masks, std::span<const std::string> names, bool whole_row,
                 MaskSpec* spec, uint16_t* rule) {
  bool found = false;
  const auto take = [&](uint16_t r) {
    const MaskSpec derived = DerivedSpec(masks.rule(r).spec);
    *spec = found ? StricterSpec(*spec, derived) : derived;
    if (!found) {
      *rule = r;
    }
    found = true;
  };
  bool every = whole_row;
  for (const std::string& name : names) {
    if (name == "*") {
      every = true;
      continue;
    }
    const uint16_t r = masks.MatchName(name);
    if (r != kNoRule) {
      take(r);
    } else {
      every = true;  // a sensitive name reached through a rule matching tables, not names
    }
  }
  if (every) {
    const std::span<const Rule> rules = masks.rules();
    for (size_t r = 0; r < rules.size(); ++r) {
      if (rules[r].detectors == 0 && !rules[r].columns.empty()) {
        take(static_cast<uint16_t>(r));
      }
    }
  }
  return found;
}

}  // namespace

void BuildNullPlan(size_t columns, ResultPlan* plan) {
  plan->Clear();
  ColumnPlan null_column;
  null_column.action = ColumnAction::kMask;
  null_column.spec.strategy = Strategy::kNull;
  plan->columns.assign(columns, null_column);
  plan->rules.assign(columns, kNoRule);
  plan->names.assign(columns, "?");
  plan->any = columns > 0;
}

bool BuildPlan(const PolicyMasks& masks, const CatalogSnapshot* catalog,
               std::span<const std::byte> row_description, std::span<const int16_t> result_formats,
               const Derivation* derivation, ResultPlan* plan) {
  plan->Clear();
  pg::RowDescription description;
  if (pg::DecodeRowDescription(row_description, description) != pg::InvalidReason::kNone) {
    return false;
  }
  const size_t count = description.field_count;
  if (result_formats.size() > 1 && result_formats.size() != count) {
    return false;  // the server would have refused such a Bind
  }
  plan->columns.resize(count);
  plan->rules.assign(count, kNoRule);
  plan->names.resize(count);
  const bool exact = derivation != nullptr && derivation->known && derivation->exact &&
                     derivation->columns.size() == count;
  const bool tainted = derivation != nullptr && derivation->known &&
                       (!derivation->referenced.empty() || derivation->whole_row);
  pg::FieldIterator fields = description.fields();
  pg::FieldDescription field;
  for (size_t i = 0; fields.Next(field); ++i) {
    ColumnPlan& column = plan->columns[i];
    uint16_t& rule = plan->rules[i];
    plan->names[i] = std::string(field.name);
    const uint32_t type = catalog != nullptr ? catalog->BaseType(field.type_oid) : field.type_oid;
    column.kind = KindOfType(type);
    column.typmod = field.type_modifier;
    column.format = result_formats.empty()      ? field.format
                    : result_formats.size() == 1 ? result_formats[0]
                                                 : result_formats[i];
    // 1. A source column the catalog knows.
    const bool known_source = catalog != nullptr && field.table_oid != 0 &&
                              field.table_oid <= catalog->relation_oid_max;
    bool unmasked = false;
    if (known_source) {
      if (const SourceMask* source = catalog->FindSource(field.table_oid, field.column_attnum)) {
        unmasked = source->unmasked;
        if (!unmasked) {
          column.action = ColumnAction::kMask;
          column.spec = source->spec;
          rule = source->rule;
        }
      }
    } else {
      // 2. No source: the output name, then what the statement says it derives from.
      std::string folded(field.name);
      std::transform(folded.begin(), folded.end(), folded.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (const uint16_t r = masks.MatchName(folded); r != kNoRule) {
        column.action = ColumnAction::kMask;
        column.spec = DerivedSpec(masks.rule(r).spec);
        rule = r;
      } else if (exact) {
        const sqlpg::OutputColumn& out = derivation->columns[i];
        if (out.origin != sqlpg::TargetOrigin::kClean &&
            DerivedFrom(masks, out.names, false, &column.spec, &rule)) {
          column.action = ColumnAction::kMask;
        }
      } else if (tainted &&
                 DerivedFrom(masks, derivation->referenced, derivation->whole_row, &column.spec,
                             &rule)) {
        column.action = ColumnAction::kMask;
      }
    }
    // 3. The column's type.
    if (column.action == ColumnAction::kKeep && catalog != nullptr) {
      if (auto it = catalog->type_rules.find(field.type_oid); it != catalog->type_rules.end()) {
        column.action = ColumnAction::kMask;
        column.spec = masks.rule(it->second).spec;
        rule = it->second;
      } else if (auto base = catalog->type_rules.find(type); base != catalog->type_rules.end()) {
        column.action = ColumnAction::kMask;
        column.spec = masks.rule(base->second).spec;
        rule = base->second;
      }
    }
    // 4. The detectors.
    if (column.action == ColumnAction::kKeep && !unmasked) {
      const DetectorSet detectors =
          masks.DetectorsFor(std::string_view(), std::string_view(), plan->names[i]);
      if (detectors != 0) {
        column.action = ColumnAction::kScan;
        column.detectors = detectors;
        column.spec = masks.scan_spec();
        rule = masks.scan_rule();
      }
    }
    plan->any = plan->any || column.action != ColumnAction::kKeep;
  }
  return fields.error() == pg::InvalidReason::kNone;
}

bool MaskDataRow(const ResultPlan& plan, std::span<const std::byte> payload, const Hasher* hasher,
                 std::vector<std::byte>* out, std::span<uint64_t> masked_counts) {
  pg::DataRow row;
  if (pg::DecodeDataRow(payload, row) != pg::InvalidReason::kNone) {
    return false;  // the frame editor's caller decodes it too and ends the stream
  }
  JG_DCHECK(masked_counts.size() == plan.columns.size());
  const bool mismatch = row.column_count != plan.columns.size();
  const size_t frame_start = out->size();
  bool changed = false;
  size_t value_start = 0;  // offset in columns_raw of the current value's length field
  // The new frame's header and the row's values before `offset`, written at `at` (the end of
  // `out`, or before a value already masked there).
  const auto begin_copy = [&](size_t at, size_t offset) {
    changed = true;
    std::byte header[7];
    header[0] = std::byte{'D'};
    StoreU16(header + 5, row.column_count);
    out->insert(out->begin() + static_cast<ptrdiff_t>(at), row.columns_raw.begin(),
                row.columns_raw.begin() + static_cast<ptrdiff_t>(offset));
    out->insert(out->begin() + static_cast<ptrdiff_t>(at), header, header + 7);
  };
  pg::ValueIterator it = row.columns();
  pg::Value value;
  for (size_t i = 0; it.Next(value); ++i) {
    const size_t next_start = it.offset();
    const std::span<const std::byte> raw_value =
        row.columns_raw.subspan(value_start, next_start - value_start);
    bool masked = false;
    if (!value.is_null && (mismatch || plan.columns[i].action != ColumnAction::kKeep)) {
      const ColumnPlan* column = mismatch ? nullptr : &plan.columns[i];
      if (!changed && (mismatch || column->action == ColumnAction::kMask)) {
        begin_copy(out->size(), value_start);  // a masked value always changes the row
      }
      size_t length_at = out->size();
      out->resize(length_at + 4);
      MaskOutcome outcome = MaskOutcome::kNull;
      bool replaced = true;
      if (mismatch) {
        outcome = MaskOutcome::kNull;
      } else if (column->action == ColumnAction::kMask) {
        outcome = MaskValue(column->spec, column->kind, column->typmod, column->format,
                            value.bytes, hasher, out);
      } else {
        replaced = ScanValue(column->detectors, column->spec, column->kind, column->typmod,
                             column->format, value.bytes, hasher, out, &outcome);
      }
      if (!replaced) {
        out->resize(length_at);
      } else {
        masked = true;
        if (!changed) {
          // The first change is a scan's: the header and the values before go in front of it.
          begin_copy(length_at, value_start);
          length_at += 7 + value_start;
        }
        if (outcome == MaskOutcome::kNull) {
          out->resize(length_at + 4);
          StoreU32(out->data() + length_at, 0xffffffffu);
        } else {
          StoreU32(out->data() + length_at, static_cast<uint32_t>(out->size() - length_at - 4));
        }
      }
    }
    if (masked) {
      if (!masked_counts.empty()) {
        ++masked_counts[std::min(i, masked_counts.size() - 1)];
      }
    } else if (changed) {
      out->insert(out->end(), raw_value.begin(), raw_value.end());
    }
    value_start = next_start;
  }
  if (!changed) {
    return false;
  }
  StoreU32(out->data() + frame_start + 1, static_cast<uint32_t>(out->size() - frame_start - 1));
  return true;
}

}  // namespace jitgate::mask
