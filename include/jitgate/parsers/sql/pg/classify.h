// jitgate/parsers/sql/pg/classify.h: classifies PostgreSQL SQL text into Statements
// (jitgate/parsers/sql/statement.h), with libpg_query's PostgreSQL 15 parser as the authority.
//
// Callers: the PG session (src/session) for Query and Parse messages, the fuzz targets, tests.
// ClassifyMessage lexes and splits without allocating; each statement is looked up in the
// shard's DecisionCache by fingerprint; only a miss calls libpg_query (about 25 us, allocates).
// Results go into the caller's span; more statements than it holds is reported, never dropped.
// Anything the parser rejects, or our lexer cannot lex, is kUnknown, never kRead.
//
// standard_conforming_strings off: libpg_query always lexes with it on, so on a miss the
// statement is rewritten first (each plain '...' becomes E'...', which the server lexes the same
// way in off mode) and the rewrite is parsed.
#ifndef JITGATE_PARSERS_SQL_PG_CLASSIFY_H_
#define JITGATE_PARSERS_SQL_PG_CLASSIFY_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/sql/pg/cache.h"
#include "jitgate/parsers/sql/pg/lexer.h"
#include "jitgate/parsers/sql/statement.h"

namespace jitgate::parsers::sql::pg {

// The longest statement handed to libpg_query; longer ones are kUnknown with kFlagTooLong.
inline constexpr size_t kStatementSizeMax = 1u << 20;
// The most statements one message may hold (the splitter's stack buffer).
inline constexpr size_t kMessageStatementsMax = 256;

struct ClassifyResult {
  uint32_t statement_count = 0;  // Statements written to `out`
  bool overflow = false;         // more statements than fit: the message must be refused
  LexStatus lex_status = LexStatus::kOk;
  uint32_t cache_hits = 0;
};

// Splits `text` (a simple Query's string, or a Parse message's one statement) and classifies
// each statement into `out`. With a cache, shapes seen before cost a lookup; without one, every
// statement goes to libpg_query. On a lexical error the failing statement, and nothing after
// it, is reported as kUnknown: the server would reject the whole string.
ClassifyResult ClassifyMessage(std::string_view text, LexMode mode, DecisionCache* cache,
                               std::span<Statement> out);

// Classifies one statement's text with libpg_query, no cache (the miss path; allocates).
// `statement` must not hold a top-level ';' (use ClassifyMessage for whole messages); if it does,
// the statements are folded into one result.
void ClassifyStatementUncached(std::string_view statement, LexMode mode, Statement* out);

}  // namespace jitgate::parsers::sql::pg

#endif  // JITGATE_PARSERS_SQL_PG_CLASSIFY_H_
