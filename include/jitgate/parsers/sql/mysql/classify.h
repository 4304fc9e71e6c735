// jitgate/parsers/sql/mysql/classify.h: the MySQL/MariaDB statement classifier (ours; no packaged
// parser exists). Fills the dialect-neutral Statement (jitgate/parsers/sql/statement.h).
//
// Callers: the MySQL session's COM_QUERY / COM_STMT_PREPARE check, tests, fuzz, bench. Works on
// the token stream of lexer.h, one statement (splitter.h piece) at a time, with a few tokens of
// lookahead; no allocation, no size limit but PREPARE/EXECUTE IMMEDIATE literals
// (kPreparedTextMax). Fail-closed: a lex error, an empty statement, a leading word we do not know,
// or a write/DDL keyword where a read cannot have one gives kUnknown, never kRead.
#ifndef JITGATE_PARSERS_SQL_MYSQL_CLASSIFY_H_
#define JITGATE_PARSERS_SQL_MYSQL_CLASSIFY_H_

#include <cstddef>
#include <span>
#include <string_view>

#include "jitgate/parsers/sql/mysql/lexer.h"
#include "jitgate/parsers/sql/mysql/splitter.h"
#include "jitgate/parsers/sql/statement.h"

namespace jitgate::parsers::sql::mysql {

// PREPARE ... FROM '<text>' and EXECUTE IMMEDIATE '<text>' are classified by their decoded text;
// a longer text is kUnknown + kFlagTooLong.
inline constexpr size_t kPreparedTextMax = 4096;

// Classifies one piece of `text` (from Split) into *out (Reset first; offset/length set).
void ClassifyPiece(std::string_view text, const Piece& piece, LexMode mode, Statement* out);

struct ClassifyResult {
  size_t count = 0;       // statements written to `out`
  bool overflow = false;  // more statements than `pieces`/`out` hold: refuse the whole text
};

// Splits `text` and classifies each statement; `pieces` is scratch of at least out.size().
// With more than one statement each gets kFlagMultiStatement.
ClassifyResult ClassifyAll(std::string_view text, LexMode mode, std::span<Piece> pieces,
                           std::span<Statement> out);

// The whole text as one decision: the most dangerous class over its statements (kUnknown on
// overflow of kStatementsMax), flags OR-ed, names merged; command is the first statement's.
inline constexpr size_t kStatementsMax = 64;
void ClassifyText(std::string_view text, LexMode mode, Statement* out);

// The more dangerous of two classes, by the order in statement.h (kUnknown wins).
StatementClass MoreDangerous(StatementClass a, StatementClass b);

}  // namespace jitgate::parsers::sql::mysql

#endif  // JITGATE_PARSERS_SQL_MYSQL_CLASSIFY_H_
