// jitgate/parsers/sql/mysql/lexer.h: the MySQL/MariaDB SQL lexer, tokenizing exactly as the
// server does (PROTOCOLS.md 5.3) in the sql_mode the session runs with.
//
// Callers: the splitter and fingerprint (splitter.h), the classifier (classify.h), tests, fuzz
// and bench. Pull-based: Next() returns one token at a time, views into the caller's text, no
// allocation. Comments and whitespace produce no tokens; executable comments (`/*!`, `/*!NNNNN`
// when the version allows, MariaDB `/*M!`) produce kExecOpen / kExecClose around their contents,
// which are lexed as code. Once an error is found the lexer keeps returning kError.
// Invariant: begin <= position <= end <= text.size().
#ifndef JITGATE_PARSERS_SQL_MYSQL_LEXER_H_
#define JITGATE_PARSERS_SQL_MYSQL_LEXER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "jitgate/parsers/sql/mysql/keywords.h"

namespace jitgate::parsers::sql::mysql {

// How the server lexes: from sql_mode (OK status flag 512 is NO_BACKSLASH_ESCAPES) and the
// server flavour and version (from the handshake).
struct LexMode {
  bool no_backslash_escapes = false;  // sql_mode NO_BACKSLASH_ESCAPES: `\` is an ordinary char
  bool ansi_quotes = false;           // sql_mode ANSI_QUOTES: "..." is an identifier
  bool mariadb = false;               // `/*M!` executes (MariaDB); MySQL treats it as a comment
  // Server version as MYSQL_VERSION_ID (80036, 100611). 0 = unknown: versioned executable
  // comments are lexed as code, and an input whose boundaries would differ if they were skipped
  // is an error (kVersionAmbiguous), so no version can hide a statement from us.
  uint32_t server_version = 0;
  // lower_case_table_names != 0: table names compare case-insensitively, so the fingerprint
  // folds identifiers. Default 0 (Linux): they are case-sensitive and kept as written.
  bool fold_identifiers = false;
};

enum class TokenKind : uint8_t {
  kEnd,
  kWord,         // unquoted keyword or identifier (keyword != Keyword::kNone for keywords)
  kQuotedIdent,  // `ident` (or "ident" under ANSI_QUOTES); quotes included in the view
  kString,       // '...' or "..." (N'...' starts at the N); quotes included
  kHexString,    // X'0A1b'
  kBitString,    // B'0101'
  kNumber,       // 12, 1.5e3, .5, 0x1F, 0b101
  kUserVar,      // @name (unquoted; @'quoted' is kOperator '@' then kString)
  kSysVar,       // @@name, @@global.name
  kParam,        // ?
  kOperator,     // one punctuation or multi-char operator (<=>, :=, ->>, ...)
  kLParen,
  kRParen,
  kComma,
  kDot,
  kSemicolon,
  kExecOpen,   // /*! , /*!NNNNN , /*M! , /*M!NNNNNN (code follows)
  kExecClose,  // the */ that ends an executable comment
  kError,      // see Lexer::error()
};

enum class LexError : uint8_t {
  kNone,
  kUnterminatedString,
  kUnterminatedIdent,
  kUnterminatedComment,      // /* ... or /*! ... without */
  kBadHexOrBitString,        // X'..' / B'..' with a bad digit or no closing quote
  kNestedExecComment,        // /*! inside /*!
  kBadByte,                  // NUL or a control character outside strings and comments
  kHintAmbiguous,            // /*+ ... */ whose end differs if quotes inside count
  kVersionAmbiguous,         // unknown server version and /*!NNNNN changes the boundaries
};

std::string_view LexErrorName(LexError error);

inline constexpr uint8_t kTokenInExec = 1u << 0;    // inside an executable comment
inline constexpr uint8_t kTokenAfterDot = 1u << 1;  // word directly after '.': never a keyword

struct Token {
  uint32_t offset = 0;
  uint32_t length = 0;
  TokenKind kind = TokenKind::kEnd;
  uint8_t flags = 0;
  Keyword keyword = Keyword::kNone;
};

static_assert(sizeof(Token) == 12 && offsetof(Token, length) == 4 && offsetof(Token, kind) == 8 &&
                  offsetof(Token, flags) == 9 && offsetof(Token, keyword) == 10,
              "Lexer::Make packs Token as two words");

// Lexes text[begin, end). `in_exec` says the range starts inside an executable comment (a
// statement split at a ';' inside one); `end_in_exec_ok` accepts ending inside one.
class Lexer {
 public:
  Lexer(std::string_view text, LexMode mode) : Lexer(text, mode, 0, text.size(), false, false) {}
  Lexer(std::string_view text, LexMode mode, size_t begin, size_t end, bool in_exec,
        bool end_in_exec_ok);

  // The next token; kEnd at the end, kError (repeatedly) after an error.
  Token Next();

  LexError error() const { return error_; }
  bool in_exec() const { return in_exec_; }
  size_t position() const { return pos_; }
  std::string_view text() const { return text_; }
  std::string_view TokenText(const Token& token) const {
    return text_.substr(token.offset, token.length);
  }

 private:
  // Built as two wide stores: byte-wise field stores followed by the caller's wide reload of
  // the returned struct stall store forwarding (measured: half the lexer's time).
  Token Make(TokenKind kind, size_t start, Keyword keyword = Keyword::kNone,
             uint8_t extra_flags = 0) {
    const uint64_t low = static_cast<uint64_t>(start) | (static_cast<uint64_t>(pos_ - start) << 32);
    const uint32_t flags = (in_exec_ ? kTokenInExec : 0) | extra_flags;
    const uint32_t high = static_cast<uint32_t>(kind) | (flags << 8) |
                          (static_cast<uint32_t>(keyword) << 16);
    Token token;
    std::memcpy(static_cast<void*>(&token), &low, sizeof(low));
    std::memcpy(reinterpret_cast<char*>(static_cast<void*>(&token)) + sizeof(low), &high,
                sizeof(high));
    return token;
  }
  Token Fail(LexError error, size_t start);
  bool SkipSpaceAndComments(Token* exec_token);
  bool SkipLineComment();
  bool StartBlockComment(Token* exec_token);
  bool OpenExecComment(size_t start, size_t digits_at, Token* exec_token);
  Token LexWord(size_t start);
  Token LexNumber(size_t start);
  Token LexQuoted(size_t start, char quote, TokenKind kind);
  Token LexHexOrBit(size_t start, bool hex);
  Token LexVariable(size_t start);
  Token LexOperator(size_t start);

  std::string_view text_;
  LexMode mode_;
  size_t pos_;
  size_t end_;
  bool in_exec_;
  bool end_in_exec_ok_;
  size_t exec_plain_end_ = 0;  // unknown version: where the comment would end if skipped
  bool exec_versioned_ = false;
  LexError error_ = LexError::kNone;
};

// Finds the `*/` closing a block comment whose body starts at `from`; npos when missing.
size_t FindCommentEnd(std::string_view text, size_t from, size_t end);

}  // namespace jitgate::parsers::sql::mysql

#endif  // JITGATE_PARSERS_SQL_MYSQL_LEXER_H_
