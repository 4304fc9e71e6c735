// jitgate/parsers/sql/pg/lineage.h: where the output columns of a PostgreSQL statement come
// from, for the result masker (src/mask, src/session).
//
// RowDescription gives a column's source table and attribute only for plain column references
// (aliases and subqueries keep it); an expression (`lower(email)`, `email || ''`,
// `row_to_json(c)`, `json_agg(c.ssn)`, `substr(ssn, 1, 5)`, `CAST(card AS text)`) arrives with
// table OID 0. So the masker asks this analysis which output columns of a statement are derived
// from sensitive columns, by name: the caller says which column names and which relation names
// are sensitive (folded lower case), the analysis walks libpg_query's parse tree.
//
// A target is
//   kColumn  a bare column reference whose last name is a sensitive column (`email`, `c.email`,
//            `public.customers.email`), or one that reaches such a column through a FROM
//            subquery or CTE column (then `column` is the source name);
//   kDerived any other expression that mentions a sensitive column, a derived column of a FROM
//            subquery/CTE, a whole-row reference to a relation or alias (`c`, `c.*` inside an
//            expression, `customers`), or a sub-select that does;
//   kClean   anything else.
// `names` lists every sensitive column name the target reaches (for kColumn: one).
// Output columns map one to one to the top-level target list when `exact`; a top-level `*`
// (or `t.*`), a set operation whose arms disagree in shape, or any form the walk does not model
// clears `exact`, and the caller must then treat every expression column as derived from all of
// `referenced` (fail closed).
// Statements that return rows: SELECT (with CTEs, set operations, VALUES), INSERT/UPDATE/DELETE/
// MERGE ... RETURNING, EXPLAIN (no data: kClean), DECLARE c CURSOR FOR <query>, EXECUTE name,
// FETCH/MOVE, COPY (query) TO STDOUT, COPY table [(cols)] TO STDOUT, SHOW.
// DECLARE and PREPARE describe the rows the cursor / prepared statement will return (FETCH and
// EXECUTE are not exact: the caller keeps the declaring statement's Lineage by name).
// Statements that return no rows and that the analysis understands (DDL, SET, DML without
// RETURNING) are exact with no columns; CALL returns rows (OUT parameters) and is not exact.
// Names (output names, qualifiers, cursor, prepared, relation) are as PostgreSQL folds them
// (unquoted lower-cased, quoted kept); comparisons with SensitiveNames fold ASCII letters to lower
// case (fail closed: "Email" counts as email), and `names`/`referenced` hold lower-case names.
// `referenced` lists every sensitive column name appearing anywhere in the statement,
// including WHERE/ORDER BY (an inference channel the caller may log), and `whole_row` is set
// when a whole-row reference to a sensitive relation appears anywhere (also for COPY of a whole
// sensitive relation, and when the analysis hit its depth or work limit).
//
// Allocates (libpg_query, strings). Runs on the masker's slow path only: callers first check
// with the lexer that the text names something sensitive at all.
#ifndef JITGATE_PARSERS_SQL_PG_LINEAGE_H_
#define JITGATE_PARSERS_SQL_PG_LINEAGE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jitgate/parsers/sql/pg/lexer.h"

namespace jitgate::parsers::sql::pg {

// What the caller treats as sensitive. Both lists hold folded (lower-case) names, sorted and
// unique (binary search). Relations are bare names (no schema): a relation named like a
// sensitive one in any schema counts (fail closed).
struct SensitiveNames {
  std::span<const std::string> columns;
  std::span<const std::string> relations;
};

enum class TargetOrigin : uint8_t { kClean, kColumn, kDerived };

struct OutputColumn {
  TargetOrigin origin = TargetOrigin::kClean;
  std::string name;                // the output column's name as PostgreSQL would name it
                                   // ("?column?" for unnamed expressions), folded
  std::string qualifier;           // kColumn: the table or alias written before the column, folded
                                   // (empty when none)
  std::vector<std::string> names;  // sensitive column names reached (sorted, unique); "*" stands
                                   // for every sensitive column (a whole row none of whose
                                   // sensitive columns can be named, e.g. row_to_json(c) of a
                                   // sensitive relation); empty exactly when kClean
  std::string column;              // kColumn: the sensitive source column (== names[0]), also
                                   // when reached through a subquery or CTE alias; else empty
  bool whole_row = false;          // the value includes a whole-row reference (row_to_json(c))
};

enum class CopyFormatKind : uint8_t { kText, kCsv, kBinary };

// COPY ... TO STDOUT (to_stdout false for COPY FROM, or TO a file/program).
struct CopyInfo {
  bool is_copy = false;
  bool to_stdout = false;
  bool from_query = false;      // COPY (query) TO: `columns` of the Lineage are the query's
  std::string relation_schema;  // COPY table: folded; empty when unqualified
  std::string relation;         // COPY table: folded
  std::vector<std::string> column_list;           // COPY table (a, b): folded; empty = every column
  CopyFormatKind format = CopyFormatKind::kText;  // FORMAT, or the old BINARY / CSV keywords
  char delimiter = 0;                             // 0: the format's default
  char quote = 0;                                 // 0: default '"'
  char escape = 0;                                // 0: default (the quote)
  bool null_given = false;
  std::string null_text;  // NULL 'x' when null_given
  bool header = false;
  bool options_understood = true;  // false: an option value the analysis cannot model (a
                                   // multi-byte delimiter, ...): the caller should refuse
};

struct Lineage {
  bool parsed = false;        // false: libpg_query rejected the text, or it holds != 1 statement
  bool returns_rows = false;  // a statement kind listed above
  bool exact = false;
  std::vector<OutputColumn> columns;    // when exact
  std::vector<std::string> referenced;  // sorted, unique
  bool whole_row = false;
  // DECLARE name CURSOR ...: the cursor's name (folded); FETCH/MOVE name: the cursor it reads;
  // EXECUTE name / PREPARE name AS ...: the prepared statement's name. Empty otherwise.
  std::string cursor;
  std::string prepared;
  bool declares = false;  // DECLARE or PREPARE (the name is defined by this statement)
  // The output is exactly `SELECT * FROM <this relation>` (as parsed; not exact): the caller may
  // know its columns (COPY (SELECT * FROM t) TO STDOUT carries no column metadata).
  std::string star_relation;
  CopyInfo copy;
  // Sensitive column names whose values this statement writes into the database somewhere a
  // mask may not follow them: INSERT (its query or VALUES; positions whose target is a
  // sensitive column of a sensitive relation are not counted), UPDATE SET (likewise), MERGE,
  // CREATE TABLE AS, SELECT INTO, CREATE [MATERIALIZED] VIEW, CREATE RULE. "*" stands for a
  // whole row. Sorted, unique. The masker refuses such statements (the copy would be read back
  // unmasked from a relation no rule names).
  std::vector<std::string> written;
};

// Analyses one statement (a Parse's text, or one statement of a Query split by the caller).
// `mode` as in ClassifyMessage. Never fails: anything it cannot parse is parsed == false.
Lineage AnalyzeLineage(std::string_view statement, LexMode mode, const SensitiveNames& names);

}  // namespace jitgate::parsers::sql::pg

#endif  // JITGATE_PARSERS_SQL_PG_LINEAGE_H_
