// parsers/sql/pg/internal.h: private interfaces between the classifier's files.
//
// classify.cc owns libpg_query calls and the message-level flow; tree_walk.cc maps a protobuf
// parse tree onto a Statement; plpgsql.cc looks inside DO bodies; functions.cc holds the list of
// risky server functions. Everything here runs on the cache-miss path, where allocation is allowed.
#ifndef JITGATE_PARSERS_SQL_PG_INTERNAL_H_
#define JITGATE_PARSERS_SQL_PG_INTERNAL_H_

#include <cstdint>
#include <string_view>

#include "jitgate/parsers/sql/statement.h"

struct PgQuery__ParseResult;
struct PgQuery__DoStmt;

namespace jitgate::parsers::sql::pg::internal {

// How deep DO bodies and nested statement texts may recurse before the result is kUnknown.
inline constexpr int kNestingMax = 4;

// Rank in the "most dangerous wins" order of statement.h (kUnknown highest).
int ClassRank(StatementClass statement_class);
// Raises `out` to `statement_class` if that is more dangerous.
void RaiseClass(Statement* out, StatementClass statement_class);
// Folds an inner statement's result into `out` (class, flags, names).
void MergeInto(Statement* out, const Statement& inner);

// Parses `text` (standard_conforming_strings on) with libpg_query and classifies every statement
// in it into `out`, which the caller has Reset(). Returns false when the parser rejects the text
// (out is then kUnknown).
bool ClassifyParsed(std::string_view text, Statement* out, int nesting);

// Maps one unpacked parse result onto `out`. `text` is the text that was parsed.
void WalkParseResult(const PgQuery__ParseResult& tree, std::string_view text, Statement* out,
                     int nesting);

// Looks inside a DO block (its statement text, as parsed) with pg_query_parse_plpgsql.
void ClassifyDoBlock(std::string_view do_text, const PgQuery__DoStmt& stmt, Statement* out,
                     int nesting);

// What calling a server function means. `name` is folded and without schema.
struct FunctionRisk {
  StatementClass statement_class;
  uint32_t flags;
};
bool LookupFunctionRisk(std::string_view name, FunctionRisk* risk);
// Settings whose change is an identity or lexer-mode change (SET x / set_config('x', ...)).
bool IsSensitiveSetting(std::string_view name);

}  // namespace jitgate::parsers::sql::pg::internal

#endif  // JITGATE_PARSERS_SQL_PG_INTERNAL_H_
