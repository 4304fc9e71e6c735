// jitgate/parsers/sql/pg/lexer.h: the PostgreSQL 15 SQL tokenizer, byte for byte as the server's
// scan.l cuts text into tokens, in either standard_conforming_strings mode.
//
// Callers: the splitter and fingerprint (split.h), the classifier's off-mode rewrite, the fuzz
// oracle against libpg_query's scanner. No allocation: tokens are offsets into the caller's text.
// Invariant: tokens come in order, never overlap, and offset + length <= text.size().
//
// Security model (PROTOCOLS.md 5.1): any disagreement with the server about where a string,
// comment or dollar quote ends is a bypass. Where the server would raise a lexical error
// (unterminated literal, trailing junk after a number, U&'' with standard_conforming_strings off,
// zero-length "" identifier) the lexer stops with a status; the statement is then unknown.
#ifndef JITGATE_PARSERS_SQL_PG_LEXER_H_
#define JITGATE_PARSERS_SQL_PG_LEXER_H_

#include <cstdint>
#include <string_view>

namespace jitgate::parsers::sql::pg {

// The server-side lexer mode (a GUC the session tracks from ParameterStatus).
struct LexMode {
  // on (default since 9.1): backslash is literal in '...'. off: '...' lexes like E'...'.
  bool standard_conforming_strings = true;
};

enum class TokenKind : uint8_t {
  kWord,            // keyword or unquoted identifier: {ident_start}{ident_cont}*
  kQuotedIdent,     // "..." with "" doubling
  kUnicodeIdent,    // U&"..."
  kString,          // '...' (with standard_conforming_strings on; N'...' after the word N)
  kEscapeString,    // E'...', and '...' with standard_conforming_strings off
  kDollarString,    // $tag$...$tag$
  kUnicodeString,   // U&'...'
  kBitString,       // B'...'
  kHexString,       // X'...'
  kInteger,         // 123
  kDecimal,         // 1.5, .5, 1e10
  kParam,           // $1
  kOperator,        // operators and single-character punctuation: ( ) , ; :: := .. => + <=> ...
  kOther,           // any other single byte the server passes to the grammar as itself (\, $, {)
  kComment,         // -- ... or /* ... */ (nested)
};

enum class LexStatus : uint8_t {
  kOk,
  kUnterminatedString,       // '...', E'...', B'...', X'...', U&'...' without the closing quote
  kUnterminatedIdent,        // "..." or U&"..." without the closing quote
  kUnterminatedComment,      // /* without its matching */
  kUnterminatedDollarQuote,  // $tag$ without the closing $tag$
  kZeroLengthIdent,          // "" (the server: zero-length delimited identifier)
  kTrailingJunk,             // 1a, 1e, $1x, 1.a (PG 15: trailing junk after numeric literal)
  kUnsafeUnicodeString,      // U&'...' with standard_conforming_strings off (server refuses it)
  kNulByte,                  // a NUL byte: the server's C string would end there; tokens before
                             // it are returned, then this (or kUnterminated* if a literal is open)
  kTooLong,                  // text longer than kTextSizeMax
};

std::string_view LexStatusName(LexStatus status);

struct Token {
  TokenKind kind = TokenKind::kOther;
  uint32_t offset = 0;
  uint32_t length = 0;
};

// Offsets are 32-bit; the gateway's frame_size_max is far below this.
inline constexpr size_t kTextSizeMax = 0xFFFFFFF0u;

// True for the kinds whose contents are literal values (left out of the fingerprint).
constexpr bool IsLiteral(TokenKind kind) {
  return kind == TokenKind::kString || kind == TokenKind::kEscapeString ||
         kind == TokenKind::kDollarString || kind == TokenKind::kUnicodeString ||
         kind == TokenKind::kBitString || kind == TokenKind::kHexString ||
         kind == TokenKind::kInteger || kind == TokenKind::kDecimal;
}

// Pull tokenizer. Comments are returned as tokens (kComment); whitespace is skipped.
//   Lexer lexer(text, mode);
//   Token token;
//   while (lexer.Next(&token)) { ... }
//   if (lexer.status() != LexStatus::kOk) { /* error at lexer.error_offset() */ }
class Lexer {
 public:
  Lexer(std::string_view text, LexMode mode);

  // Writes the next token and returns true; false at the end of text or on an error.
  bool Next(Token* token);
  LexStatus status() const { return status_; }
  // Where the failing token starts (valid when status() != kOk).
  uint32_t error_offset() const { return error_offset_; }
  std::string_view text() const { return text_; }

 private:
  bool Fail(LexStatus status, size_t offset);
  // Each returns the end of the token that starts at `start`, or 0 after Fail().
  size_t LexQuoted(size_t start, size_t body, TokenKind kind);
  size_t LexDoubleQuoted(size_t start, size_t body);
  size_t LexDollar(size_t start, size_t tag_end);
  size_t LexBlockComment(size_t start);
  size_t LexNumber(size_t start);
  size_t LexOperator(size_t start);
  size_t LexWordOrPrefixed(size_t start, Token* token);

  std::string_view text_;
  LexMode mode_;
  size_t pos_ = 0;
  LexStatus status_ = LexStatus::kOk;
  uint32_t error_offset_ = 0;
  bool nul_found_ = false;  // text_ was cut at a NUL byte
};

}  // namespace jitgate::parsers::sql::pg

#endif  // JITGATE_PARSERS_SQL_PG_LEXER_H_
