// fuzz/pg_lineage_fuzz.cc: libFuzzer target for the result masker's statement lineage
// (jitgate/parsers/sql/pg/lineage.h).
// Input: first byte's low bit picks standard_conforming_strings (1 = on), the rest is SQL (cut
// at 64 KiB: libpg_query's own stack depth guard is what bounds deeper inputs).
// Properties, beyond "no crash or sanitizer report":
//  - `referenced` and every column's `names` are sorted and unique;
//  - kClean columns have no names, kDerived ones have some, kColumn ones exactly `column`;
//  - columns are listed only when exact; exact with no columns is a statement without targets
//    (no rows, or a SELECT with an empty target list);
//  - an unparsed text says nothing: not exact, no rows, no names;
//  - every attributable name of a column is also in `referenced`;
//  - the analysis is deterministic.
// Seed corpus: fuzz/corpus/pg_lineage/.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/sql/pg/lineage.h"

namespace pg = jitgate::parsers::sql::pg;

namespace {

constexpr size_t kInputSizeMax = 64 * 1024;

const std::string kColumns[] = {"card", "email", "id", "ssn", "x"};
const std::string kRelations[] = {"c", "customers", "t"};

bool SortedUnique(const std::vector<std::string>& names) {
  return std::adjacent_find(names.begin(), names.end(),
                            [](const std::string& a, const std::string& b) { return a >= b; }) ==
         names.end();
}

bool Contains(const std::vector<std::string>& sorted, const std::string& name) {
  return std::binary_search(sorted.begin(), sorted.end(), name);
}

bool ContainsSelect(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return lower.find("select") != std::string::npos;
}

bool SameColumns(const pg::Lineage& a, const pg::Lineage& b) {
  if (a.columns.size() != b.columns.size()) {
    return false;
  }
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const pg::OutputColumn& x = a.columns[i];
    const pg::OutputColumn& y = b.columns[i];
    if (x.origin != y.origin || x.name != y.name || x.qualifier != y.qualifier ||
        x.names != y.names || x.column != y.column || x.whole_row != y.whole_row) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > kInputSizeMax) {
    return 0;
  }
  const pg::LexMode mode{.standard_conforming_strings = (data[0] & 1) != 0};
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const pg::SensitiveNames names{.columns = kColumns, .relations = kRelations};
  const pg::Lineage lineage = pg::AnalyzeLineage(text, mode, names);

  JG_CHECK(SortedUnique(lineage.referenced));
  if (!lineage.parsed) {
    JG_CHECK(!lineage.exact && !lineage.returns_rows && lineage.columns.empty());
    JG_CHECK(lineage.referenced.empty() && !lineage.whole_row && !lineage.copy.is_copy);
    return 0;
  }
  JG_CHECK(lineage.exact || lineage.columns.empty());
  JG_CHECK(!lineage.exact || !lineage.columns.empty() || !lineage.returns_rows ||
           ContainsSelect(text));
  for (const pg::OutputColumn& column : lineage.columns) {
    JG_CHECK(SortedUnique(column.names));
    switch (column.origin) {
      case pg::TargetOrigin::kClean:
        JG_CHECK(column.names.empty() && column.column.empty() && column.qualifier.empty());
        break;
      case pg::TargetOrigin::kColumn:
        JG_CHECK(column.names.size() == 1 && column.names[0] == column.column);
        break;
      case pg::TargetOrigin::kDerived:
        JG_CHECK(!column.names.empty() && column.column.empty() && column.qualifier.empty());
        break;
    }
    for (const std::string& name : column.names) {
      JG_CHECK(name == "*" || Contains(lineage.referenced, name));
    }
  }
  if (lineage.copy.is_copy && !lineage.copy.from_query) {
    JG_CHECK(lineage.copy.column_list.size() == lineage.columns.size() || !lineage.exact);
  }

  const pg::Lineage again = pg::AnalyzeLineage(text, mode, names);
  JG_CHECK(again.parsed == lineage.parsed && again.exact == lineage.exact &&
           again.returns_rows == lineage.returns_rows && again.whole_row == lineage.whole_row &&
           again.referenced == lineage.referenced && again.cursor == lineage.cursor &&
           again.prepared == lineage.prepared && SameColumns(again, lineage));
  return 0;
}
