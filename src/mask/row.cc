// Implementation of src/mask/row.h.
#include "src/mask/row.h"

#include <algorithm>
#include <cstring>

#include "absl/container/inlined_vector.h"
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
  plan->Finish();
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
  }
  plan->Finish();
  return fields.error() == pg::InvalidReason::kNone;
}

void ResultPlan::Finish() {
  actions.resize(columns.size());
  any = false;
  first_active = columns.size();
  for (size_t i = 0; i < columns.size(); ++i) {
    actions[i] = static_cast<uint8_t>(columns[i].action);
    if (columns[i].action != ColumnAction::kKeep && !any) {
      any = true;
      first_active = i;
    }
  }
}

bool MaskDataRow(const ResultPlan& plan, std::span<const std::byte> payload, const Hasher* hasher,
                 std::vector<std::byte>* out, std::span<uint64_t> masked_counts, bool* invalid) {
  const auto fail = [&]() {
    if (invalid != nullptr) {
      *invalid = true;
    }
    return false;
  };
  if (payload.size() < 2) {
    return fail();
  }
  const uint16_t count = static_cast<uint16_t>((static_cast<unsigned>(payload[0]) << 8) |
                                               static_cast<unsigned>(payload[1]));
  if ((count & 0x8000) != 0) {
    return fail();
  }
  const std::byte* raw = payload.data() + 2;
  const size_t raw_size = payload.size() - 2;
  const size_t columns = plan.columns.size();
  const bool mismatch = count != columns;
  const bool packed = plan.actions.size() == columns;
  const size_t frame_start = out->size();
  bool changed = false;
  size_t run_start = 0;  // untouched bytes [run_start, value_start) not yet copied (changed)
  absl::InlinedVector<uint16_t, 16> masked;  // columns masked in this row
  size_t offset = 0;
  // Columns before the first active one are only walked (unless the row does not fit the plan).
  const size_t skip = mismatch ? 0 : std::min<size_t>(plan.first_active, count);
  for (size_t i = 0; i < count; ++i) {
    const size_t value_start = offset;
    if (raw_size - offset < 4) {
      if (changed) {
        out->resize(frame_start);
      }
      return fail();
    }
    const int32_t length = static_cast<int32_t>((static_cast<uint32_t>(raw[offset]) << 24) |
                                                (static_cast<uint32_t>(raw[offset + 1]) << 16) |
                                                (static_cast<uint32_t>(raw[offset + 2]) << 8) |
                                                static_cast<uint32_t>(raw[offset + 3]));
    offset += 4;
    if (length < -1 || (length > 0 && raw_size - offset < static_cast<size_t>(length))) {
      if (changed) {
        out->resize(frame_start);
      }
      return fail();
    }
    const bool null = length == -1;
    const size_t value_size = null ? 0 : static_cast<size_t>(length);
    offset += value_size;
    if (i < skip || null) {
      continue;
    }
    ColumnAction action = ColumnAction::kMask;  // a mismatched row: every value NULL
    if (!mismatch) {
      action = packed ? static_cast<ColumnAction>(plan.actions[i]) : plan.columns[i].action;
      if (action == ColumnAction::kKeep) {
        continue;
      }
    }
    const std::span<const std::byte> value(raw + value_start + 4, value_size);
    // Where the new value's length field goes: after the header and the untouched run.
    const auto flush_run = [&]() {
      if (!changed) {
        changed = true;
        const size_t at = out->size();
        out->resize(at + 7);
        (*out)[at] = std::byte{'D'};
        StoreU16(out->data() + at + 5, count);
        out->insert(out->end(), raw, raw + value_start);
      } else {
        out->insert(out->end(), raw + run_start, raw + value_start);
      }
    };
    bool replaced = true;
    MaskOutcome outcome = MaskOutcome::kNull;
    size_t length_at = 0;
    if (mismatch) {
      flush_run();
      length_at = out->size();
      out->resize(length_at + 4);
    } else {
      const ColumnPlan& column = plan.columns[i];
      if (action == ColumnAction::kMask) {
        flush_run();
        length_at = out->size();
        out->resize(length_at + 4);
        outcome = MaskValue(column.spec, column.kind, column.typmod, column.format, value, hasher,
                            out);
      } else {
        // A scan changes the row only when it finds something: scan into the tail first.
        const size_t mark = out->size();
        out->resize(mark + 4);
        replaced = ScanValue(column.detectors, column.spec, column.kind, column.typmod,
                             column.format, value, hasher, out, &outcome);
        if (!replaced) {
          out->resize(mark);
        } else {
          // Put the header (first change) or the untouched run in front of the new value.
          std::vector<std::byte>::difference_type prefix = 0;
          if (!changed) {
            changed = true;
            std::byte header[7];
            header[0] = std::byte{'D'};
            StoreU16(header + 5, count);
            out->insert(out->begin() + static_cast<ptrdiff_t>(mark), raw, raw + value_start);
            out->insert(out->begin() + static_cast<ptrdiff_t>(mark), header, header + 7);
            prefix = static_cast<ptrdiff_t>(7 + value_start);
          } else {
            out->insert(out->begin() + static_cast<ptrdiff_t>(mark), raw + run_start,
                        raw + value_start);
            prefix = static_cast<ptrdiff_t>(value_start - run_start);
          }
          length_at = mark + static_cast<size_t>(prefix);
        }
      }
    }
    if (!replaced) {
      continue;
    }
    if (outcome == MaskOutcome::kNull) {
      out->resize(length_at + 4);
      StoreU32(out->data() + length_at, 0xffffffffu);
    } else {
      StoreU32(out->data() + length_at, static_cast<uint32_t>(out->size() - length_at - 4));
    }
    run_start = offset;
    masked.push_back(static_cast<uint16_t>(i));
  }
  if (offset != raw_size) {
    if (changed) {
      out->resize(frame_start);
    }
    return fail();
  }
  if (!changed) {
    return false;
  }
  // Counted only now: a row that turns out malformed is not forwarded, and counts nothing.
  if (!masked_counts.empty()) {
    for (uint16_t i : masked) {
      ++masked_counts[std::min<size_t>(i, masked_counts.size() - 1)];
    }
  }
  out->insert(out->end(), raw + run_start, raw + raw_size);
  StoreU32(out->data() + frame_start + 1, static_cast<uint32_t>(out->size() - frame_start - 1));
  return true;
}

}  // namespace jitgate::mask
