// src/mask/row.h: the plan of one result (built once from its RowDescription, plan.h says which
// mask each column gets) and the DataRow masker that applies it to each row in one pass.
//
// MaskDataRow reads a row where it lies (a view into the receive buffer or the session's hold
// buffer) and writes nothing unless a value changes: an untouched row costs the walk over its
// column lengths and the scans its plan asks for. A changed row is written whole into the
// caller's buffer (memory the session owns), as a new DataRow frame: values that keep their
// length are copied beside the masked ones, and a length change costs nothing more than the new
// frame length.
// Fail closed: a row whose column count differs from the plan's has every value NULLed.
#ifndef JITGATE_SRC_MASK_ROW_H_
#define JITGATE_SRC_MASK_ROW_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "jitgate/parsers/sql/pg/lineage.h"
#include "src/mask/catalog.h"
#include "src/mask/copy.h"
#include "src/mask/plan.h"

namespace jitgate::mask {

struct ResultPlan {
  std::vector<ColumnPlan> columns;
  std::vector<uint16_t> rules;      // beside columns: the rule that masks it (kNoRule: none, or
                                    // the scan rule for kScan)
  std::vector<std::string> names;   // beside columns: output names, for counts and logs
  std::vector<uint8_t> actions;     // beside columns: their ColumnAction, packed for the row loop
  size_t first_active = 0;          // the first column that is not kKeep
  bool any = false;                 // some column is not kKeep
  void Clear() {
    columns.clear();
    rules.clear();
    names.clear();
    actions.clear();
    first_active = 0;
    any = false;
  }
  // Fills `actions`, `first_active` and `any` from `columns` (BuildPlan does; a plan built by
  // hand must call it).
  void Finish();
};

// What the statement that produced a result says about its expression columns (lineage.h).
struct Derivation {
  bool known = false;  // the statement was analysed (else: nothing derives from masked data)
  bool exact = false;  // `columns` are the result's columns, one to one
  std::vector<parsers::sql::pg::OutputColumn> columns;
  std::vector<std::string> referenced;
  bool whole_row = false;
  std::string star_relation;  // lineage.h: the output is SELECT * of this relation
  bool mentions_sensitive_relation = false;  // the text names a relation with masked columns
  void Clear() {
    known = exact = whole_row = mentions_sensitive_relation = false;
    columns.clear();
    referenced.clear();
    star_relation.clear();
  }
};

// Builds the plan of a result from its RowDescription body `row_description` (decoded again
// here). `result_formats`: the Bind's result format codes when the description came from a
// Describe of the statement (empty: the description's own format codes; one code: all columns;
// else one per column). `catalog` may be null (no column or type rules). Returns false when the
// description does not decode (the caller treats the session's stream as broken).
bool BuildPlan(const PolicyMasks& masks, const CatalogSnapshot* catalog,
               std::span<const std::byte> row_description, std::span<const int16_t> result_formats,
               const Derivation* derivation, ResultPlan* plan);

// A plan for a result the masker knows nothing about (no description): every one of `columns`
// values NULLed. Used when rows arrive that no RowDescription announced.
void BuildNullPlan(size_t columns, ResultPlan* plan);

// Masks one DataRow body. Returns false when no value changes (nothing appended). Else appends
// the whole new frame ('D', length, body) to `out` and adds 1 to masked_counts[i] for every
// masked value of column i (masked_counts has plan.columns.size() entries, or is empty).
// One walk over the row: columns before plan.first_active cost a length read each, untouched
// values after a change are copied in runs. A body that does not decode returns false with
// *invalid set (when given): the caller must not forward it (it could hide values).
bool MaskDataRow(const ResultPlan& plan, std::span<const std::byte> payload, const Hasher* hasher,
                 std::vector<std::byte>* out, std::span<uint64_t> masked_counts,
                 bool* invalid = nullptr);

}  // namespace jitgate::mask

#endif  // JITGATE_SRC_MASK_ROW_H_
