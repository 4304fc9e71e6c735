// jitgate/parsers/sql/pg/split.h: splits a PostgreSQL multi-statement string (a simple Query) into
// statements and computes each statement's fingerprint, in one pass of the lexer.
//
// Callers: the classifier (classify.h) and its decision cache (cache.h). No allocation: results go
// into a caller-provided span. Invariant per span: offset + length <= text.size(), spans in order
// and disjoint; each starts at its first non-comment token and ends after its last token.
//
// Splitting: a ';' token at parenthesis depth 0 ends a statement (inside parentheses only CREATE
// RULE ... DO (a; b) may hold ';', and anything else there is a syntax error, so the statement is
// unknown either way), nor inside a BEGIN ATOMIC ... END function body. Statements with no tokens but comments are skipped, as the server does.
//
// Fingerprint: a 64-bit hash of the statement's token stream without comments and whitespace,
// with literal *contents* left out (only their kind counts), keywords and unquoted identifiers
// ASCII-lower-cased as the server folds them, quoted identifiers and operators as written.
// `SELECT * FROM t WHERE id = 1` and `... id = 2` share a print; `SELECT 'a' 'b'` (two tokens) and
// `SELECT 'a'\n'b'` (one continued string) do not. The mode and a caller-chosen seed enter the
// hash, so prints from different modes never match and an attacker who does not know the seed
// cannot aim for collisions.
#ifndef JITGATE_PARSERS_SQL_PG_SPLIT_H_
#define JITGATE_PARSERS_SQL_PG_SPLIT_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/sql/pg/lexer.h"

namespace jitgate::parsers::sql::pg {

// No default member initializers: arrays of spans live on the classifier's stack and must not
// be cleared on every call.
struct StatementSpan {
  uint32_t offset;       // first token of the statement
  uint32_t length;       // up to the end of its last token (the ';' excluded)
  uint32_t token_count;  // tokens without comments
  uint64_t fingerprint;
};

enum class SplitStatus : uint8_t {
  kOk,
  kOverflow,  // more statements than `out` holds; `count` spans were written, text not finished
  kLexError,  // the lexer stopped (see lex_status); the last span covers the failing statement,
              // from its start to the end of the text, with fingerprint 0
};

struct SplitResult {
  SplitStatus status = SplitStatus::kOk;
  LexStatus lex_status = LexStatus::kOk;
  uint32_t count = 0;         // spans written
  uint32_t error_offset = 0;  // where the lexer stopped (kLexError)
};

// Splits `text` into statements. A lexical error ends the split: the server rejects the whole
// string in that case, so every statement in it must be treated as unknown by the caller.
SplitResult SplitStatements(std::string_view text, LexMode mode, uint64_t seed,
                            std::span<StatementSpan> out);

// The fingerprint of one statement's text (the same value SplitStatements gives its span); 0 and
// a false return on a lexical error.
bool FingerprintStatement(std::string_view statement, LexMode mode, uint64_t seed,
                          uint64_t* fingerprint);

}  // namespace jitgate::parsers::sql::pg

#endif  // JITGATE_PARSERS_SQL_PG_SPLIT_H_
