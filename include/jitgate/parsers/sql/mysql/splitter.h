// jitgate/parsers/sql/mysql/splitter.h: splits a MySQL/MariaDB multi-statement string
// (CLIENT_MULTI_STATEMENTS) into statements, and fingerprints a statement's shape.
//
// Callers: the classifier (classify.h), the session's policy check, tests, fuzz, bench.
// A statement ends at a `;` outside strings and comments — including a `;` inside an executable
// comment, which the server obeys — except inside the BEGIN ... END body of a stored program
// (CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT) or a MariaDB compound statement. Pieces are
// contiguous and cover the input exactly: piece[0].offset == 0, piece[i].offset +
// piece[i].length == piece[i+1].offset, and the last ends at text.size() (trailing blanks and
// comments belong to the last statement). No allocation: pieces go into a caller's span.
#ifndef JITGATE_PARSERS_SQL_MYSQL_SPLITTER_H_
#define JITGATE_PARSERS_SQL_MYSQL_SPLITTER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/sql/mysql/lexer.h"

namespace jitgate::parsers::sql::mysql {

inline constexpr uint8_t kPieceStartsInExec = 1u << 0;  // starts inside /*! ... */
inline constexpr uint8_t kPieceEndsInExec = 1u << 1;    // its ';' lies inside /*! ... */
inline constexpr uint8_t kPieceEmpty = 1u << 2;         // no tokens but ';' (the server errors)
inline constexpr uint8_t kPieceLexError = 1u << 3;      // the lexer failed in it: runs to the end

struct Piece {
  uint32_t offset = 0;
  uint32_t length = 0;
  uint8_t flags = 0;
  LexError error = LexError::kNone;
};

struct SplitResult {
  size_t count = 0;       // pieces written
  bool overflow = false;  // more statements than `out` holds: the last piece runs to the end
};

// Splits `text` (at most 4 GiB). An empty or blank text gives one empty piece.
SplitResult Split(std::string_view text, LexMode mode, std::span<Piece> out);

// A lexer over one piece, in the state the splitter found at its start.
Lexer PieceLexer(std::string_view text, const Piece& piece, LexMode mode);

// 64-bit hash of the piece's token stream with literal contents left out: keywords fold to
// upper case, identifiers are compared decoded (`t` == t) and folded only when
// mode.fold_identifiers, every literal (string, number, hex, bit) and `?` hashes as one
// placeholder, executable
// comment boundaries count. Lex errors hash in, so a broken statement never shares a shape
// with a sound one.
uint64_t Fingerprint(std::string_view text, const Piece& piece, LexMode mode);

// Fingerprint of a whole text taken as one statement.
uint64_t Fingerprint(std::string_view text, LexMode mode);

}  // namespace jitgate::parsers::sql::mysql

#endif  // JITGATE_PARSERS_SQL_MYSQL_SPLITTER_H_
