// parsers/sql/mysql/lexer.cc: the MySQL/MariaDB lexer of jitgate/parsers/sql/mysql/lexer.h.
//
// Follows the server's lexer (sql/sql_lex.cc, lex_one_token): `#` and `-- ` (dashes followed by a
// space, a control byte or the end) run to the newline; `/* */` does not nest, except that a
// versioned comment the server skips may hold one nested `/* */` (consume_comment(lip, 1));
// `/*!` and `/*M!` (MariaDB) contents are code; strings take backslash escapes unless
// NO_BACKSLASH_ESCAPES, and doubled quotes always; X'..' and B'..' take no escapes.
#include "jitgate/parsers/sql/mysql/lexer.h"

#include <cstring>
#include <string_view>

#include "parsers/sql/mysql/char_class.h"

namespace jitgate::parsers::sql::mysql {

using internal::ClassOf;
using internal::IsDigit;
using internal::IsHexDigit;
using internal::IsIdentChar;

std::string_view LexErrorName(LexError error) {
  switch (error) {
    case LexError::kNone:
      return "none";
    case LexError::kUnterminatedString:
      return "unterminated string";
    case LexError::kUnterminatedIdent:
      return "unterminated quoted identifier";
    case LexError::kUnterminatedComment:
      return "unterminated comment";
    case LexError::kBadHexOrBitString:
      return "bad hex or bit string";
    case LexError::kNestedExecComment:
      return "nested executable comment";
    case LexError::kBadByte:
      return "NUL or control byte";
    case LexError::kHintAmbiguous:
      return "optimizer hint with quoted */";
    case LexError::kVersionAmbiguous:
      return "versioned comment depends on the server version";
  }
  return "unknown";
}

namespace {

// Where a block comment whose body starts at `from` ends (the index after `*/`), allowing
// `nest_levels` nested `/* */` inside (consume_comment's remaining_recursions_permitted).
size_t FindEnd(std::string_view text, size_t from, size_t end, int nest_levels) {
  size_t pos = from;
  while (pos < end) {
    const char c = text[pos++];
    if (nest_levels > 0 && c == '/' && pos < end && text[pos] == '*') {
      const size_t inner = FindEnd(text, pos + 1, end, nest_levels - 1);
      if (inner == std::string_view::npos) {
        return inner;
      }
      pos = inner;
      continue;
    }
    if (c == '*' && pos < end && text[pos] == '/') {
      return pos + 1;
    }
  }
  return std::string_view::npos;
}

// The end of a `/*+ */` hint when quoted parts (' " `) may hold `*/`, as the hint scanner reads.
size_t FindHintEnd(std::string_view text, size_t from, size_t end) {
  size_t pos = from;
  char quote = 0;
  while (pos < end) {
    const char c = text[pos++];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '*' && pos < end && text[pos] == '/') {
      return pos + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

size_t FindCommentEnd(std::string_view text, size_t from, size_t end) {
  return FindEnd(text, from, end, 0);
}

Lexer::Lexer(std::string_view text, LexMode mode, size_t begin, size_t end, bool in_exec,
             bool end_in_exec_ok)
    : text_(text),
      mode_(mode),
      pos_(begin),
      end_(end <= text.size() ? end : text.size()),
      in_exec_(in_exec),
      end_in_exec_ok_(end_in_exec_ok) {
  if (pos_ > end_) {
    pos_ = end_;
  }
}


Token Lexer::Fail(LexError error, size_t start) {
  if (error_ == LexError::kNone) {
    error_ = error;
  }
  pos_ = end_;
  Token token;
  token.offset = static_cast<uint32_t>(start);
  token.kind = TokenKind::kError;
  return token;
}

Token Lexer::Next() {
  if (error_ != LexError::kNone) {
    return Fail(error_, pos_);
  }
  Token exec;
  if (!SkipSpaceAndComments(&exec)) {
    return Fail(error_, pos_);
  }
  if (exec.kind != TokenKind::kEnd) {
    return exec;
  }
  const size_t start = pos_;
  if (pos_ >= end_) {
    if (in_exec_ && !end_in_exec_ok_) {
      return Fail(LexError::kUnterminatedComment, start);
    }
    return Make(TokenKind::kEnd, start);
  }
  const char c = text_[pos_];
  switch (ClassOf(c)) {
    case internal::kCcIdent:
      return LexWord(start);
    case internal::kCcDigit:
      return LexNumber(start);
    case internal::kCcQuote:
      if (c == '`' || (c == '"' && mode_.ansi_quotes)) {
        return LexQuoted(start, c, TokenKind::kQuotedIdent);
      }
      return LexQuoted(start, c, TokenKind::kString);
    case internal::kCcBad:
      return Fail(LexError::kBadByte, start);
    default:
      break;
  }
  if (c == '@') {
    return LexVariable(start);
  }
  if (c == '.' && pos_ + 1 < end_ && IsDigit(text_[pos_ + 1]) &&
      !(pos_ > 0 && (IsIdentChar(text_[pos_ - 1]) || text_[pos_ - 1] == '`'))) {
    return LexNumber(start);
  }
  return LexOperator(start);
}

// Returns false on error (error_ set). Stops at the next token, or fills *exec_token with a
// kExecOpen / kExecClose token.
bool Lexer::SkipSpaceAndComments(Token* exec_token) {
  exec_token->kind = TokenKind::kEnd;
  while (pos_ < end_) {
    const char c = text_[pos_];
    if (ClassOf(c) == internal::kCcSpace) {
      ++pos_;
      continue;
    }
    const char next = pos_ + 1 < end_ ? text_[pos_ + 1] : '\0';
    if (c == '#') {
      SkipLineComment();
      continue;
    }
    if (c == '-' && next == '-') {
      const uint8_t after = pos_ + 2 < end_ ? static_cast<uint8_t>(text_[pos_ + 2]) : 0;
      if (after <= 0x20 || after == 0x7f) {  // MySQL: "-- " needs a space or control char
        SkipLineComment();
        continue;
      }
      return true;
    }
    if (c == '/' && next == '*') {
      if (!StartBlockComment(exec_token)) {
        return false;
      }
      if (exec_token->kind != TokenKind::kEnd) {
        return true;
      }
      continue;
    }
    if (c == '*' && next == '/' && in_exec_) {
      const size_t start = pos_;
      pos_ += 2;
      if (exec_versioned_ && exec_plain_end_ != pos_) {
        error_ = LexError::kVersionAmbiguous;
        return false;
      }
      *exec_token = Make(TokenKind::kExecClose, start);
      exec_token->flags |= kTokenInExec;
      in_exec_ = false;
      exec_versioned_ = false;
      return true;
    }
    return true;
  }
  return true;
}

// `#` or `-- ` comment: to the newline. A NUL also stops it (the server's loop does), and is
// then reported as a bad byte.
bool Lexer::SkipLineComment() {
  while (pos_ < end_ && text_[pos_] != '\n' && text_[pos_] != '\0') {
    ++pos_;
  }
  return true;
}

bool Lexer::StartBlockComment(Token* exec_token) {
  const size_t start = pos_;
  const char third = pos_ + 2 < end_ ? text_[pos_ + 2] : '\0';
  const char fourth = pos_ + 3 < end_ ? text_[pos_ + 3] : '\0';
  if (third == '!') {
    return OpenExecComment(start, start + 3, exec_token);
  }
  if (mode_.mariadb && third == 'M' && fourth == '!') {
    return OpenExecComment(start, start + 4, exec_token);
  }
  const size_t plain_end = FindEnd(text_, start + 2, end_, 0);
  if (third == '+') {
    // Hints after SELECT/INSERT/... are read by the hint scanner, which honours quotes;
    // elsewhere `/*+` is a plain comment. Where the two disagree, refuse to guess.
    if (FindHintEnd(text_, start + 3, end_) != plain_end) {
      error_ = plain_end == std::string_view::npos ? LexError::kUnterminatedComment
                                                   : LexError::kHintAmbiguous;
      return false;
    }
  }
  if (plain_end == std::string_view::npos) {
    error_ = LexError::kUnterminatedComment;
    return false;
  }
  pos_ = plain_end;
  return true;
}

bool Lexer::OpenExecComment(size_t start, size_t digits_at, Token* exec_token) {
  if (in_exec_) {
    error_ = LexError::kNestedExecComment;
    return false;
  }
  size_t digit_count = 0;
  while (digit_count < 6 && digits_at + digit_count < end_ &&
         IsDigit(text_[digits_at + digit_count])) {
    ++digit_count;
  }
  if (digit_count < 5) {  // not a version: the contents are code on every server
    pos_ = digits_at;
    in_exec_ = true;
    *exec_token = Make(TokenKind::kExecOpen, start);
    return true;
  }
  // MySQL reads exactly 5 digits; MariaDB (and newer MySQL) may read 6. With a 6th digit or an
  // unknown version we cannot be sure what the server does: lex as code, and require that
  // skipping the comment would have ended it at the same `*/`.
  const size_t version_digits = (mode_.mariadb && digit_count == 6) ? 6 : 5;
  uint32_t version = 0;
  for (size_t i = 0; i < version_digits; ++i) {
    version = version * 10 + static_cast<uint32_t>(text_[digits_at + i] - '0');
  }
  const bool certain = mode_.server_version != 0 && (digit_count == 5 || mode_.mariadb);
  if (certain && version > mode_.server_version) {  // skipped like a comment, one nesting level
    const size_t skipped_end = FindEnd(text_, digits_at, end_, 1);
    if (skipped_end == std::string_view::npos) {
      error_ = LexError::kUnterminatedComment;
      return false;
    }
    pos_ = skipped_end;
    return true;
  }
  exec_versioned_ = !certain;
  exec_plain_end_ = FindEnd(text_, digits_at, end_, 1);
  pos_ = digits_at + version_digits;
  in_exec_ = true;
  *exec_token = Make(TokenKind::kExecOpen, start);
  return true;
}

Token Lexer::LexWord(size_t start) {
  while (pos_ < end_ && IsIdentChar(text_[pos_])) {
    ++pos_;
  }
  const size_t size = pos_ - start;
  if (size == 1 && pos_ < end_ && text_[pos_] == '\'') {
    const char prefix = text_[start];
    if (prefix == 'x' || prefix == 'X') {
      return LexHexOrBit(start, true);
    }
    if (prefix == 'b' || prefix == 'B') {
      return LexHexOrBit(start, false);
    }
    if (prefix == 'n' || prefix == 'N') {
      Token token = LexQuoted(pos_, '\'', TokenKind::kString);
      token.length = static_cast<uint32_t>(pos_ - start);
      token.offset = static_cast<uint32_t>(start);
      return token;
    }
  }
  if (start > 0 && text_[start - 1] == '.') {
    return Make(TokenKind::kWord, start, Keyword::kNone, kTokenAfterDot);
  }
  return Make(TokenKind::kWord, start, LookupKeyword(text_.substr(start, size)));
}

Token Lexer::LexNumber(size_t start) {
  if (text_[pos_] == '0' && pos_ + 1 < end_ && (text_[pos_ + 1] == 'x' || text_[pos_ + 1] == 'b')) {
    const bool hex = text_[pos_ + 1] == 'x';
    size_t scan = pos_ + 2;
    while (scan < end_ && (hex ? IsHexDigit(text_[scan]) : (text_[scan] == '0' || text_[scan] == '1'))) {
      ++scan;
    }
    if (scan > pos_ + 2 && (scan >= end_ || !IsIdentChar(text_[scan]))) {
      pos_ = scan;
      return Make(TokenKind::kNumber, start);
    }
    return LexWord(start);  // 0xZZ, 0b12: an identifier
  }
  while (pos_ < end_ && IsDigit(text_[pos_])) {
    ++pos_;
  }
  if (pos_ < end_ && text_[pos_] == '.') {
    ++pos_;
    while (pos_ < end_ && IsDigit(text_[pos_])) {
      ++pos_;
    }
  }
  if (pos_ < end_ && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    size_t scan = pos_ + 1;
    if (scan < end_ && (text_[scan] == '+' || text_[scan] == '-')) {
      ++scan;
    }
    if (scan < end_ && IsDigit(text_[scan])) {
      pos_ = scan;
      while (pos_ < end_ && IsDigit(text_[pos_])) {
        ++pos_;
      }
      return Make(TokenKind::kNumber, start);
    }
  }
  const bool integer_only = text_[start] != '.' &&
                            text_.substr(start, pos_ - start).find('.') == std::string_view::npos;
  if (integer_only && pos_ < end_ && IsIdentChar(text_[pos_])) {
    return LexWord(start);  // 1abc is an identifier in MySQL
  }
  return Make(TokenKind::kNumber, start);
}

Token Lexer::LexQuoted(size_t start, char quote, TokenKind kind) {
  const bool backslash = kind == TokenKind::kString && !mode_.no_backslash_escapes;
  pos_ = start + 1;
  while (pos_ < end_) {
    // Jump to the next quote; a backslash before it (when escapes apply) is handled bytewise.
    const char* base = text_.data();
    const void* found = std::memchr(base + pos_, quote, end_ - pos_);
    const size_t quote_at = found ? static_cast<const char*>(found) - base : end_;
    if (backslash) {
      const void* slash = std::memchr(base + pos_, '\\', quote_at - pos_);
      if (slash != nullptr) {
        pos_ = static_cast<size_t>(static_cast<const char*>(slash) - base) + 2;
        continue;
      }
    }
    if (quote_at >= end_) {
      break;
    }
    pos_ = quote_at + 1;
    if (pos_ < end_ && text_[pos_] == quote) {
      ++pos_;
      continue;
    }
    return Make(kind, start);
  }
  pos_ = end_;
  return Fail(kind == TokenKind::kString ? LexError::kUnterminatedString
                                         : LexError::kUnterminatedIdent,
              start);
}

Token Lexer::LexHexOrBit(size_t start, bool hex) {
  pos_ = start + 2;  // after X'
  while (pos_ < end_ && (hex ? IsHexDigit(text_[pos_]) : (text_[pos_] == '0' || text_[pos_] == '1'))) {
    ++pos_;
  }
  if (pos_ >= end_ || text_[pos_] != '\'') {
    return Fail(LexError::kBadHexOrBitString, start);
  }
  ++pos_;
  return Make(hex ? TokenKind::kHexString : TokenKind::kBitString, start);
}

Token Lexer::LexVariable(size_t start) {
  ++pos_;
  if (pos_ < end_ && text_[pos_] == '@') {
    ++pos_;
    while (pos_ < end_ && (IsIdentChar(text_[pos_]) || text_[pos_] == '.')) {
      ++pos_;
    }
    return Make(TokenKind::kSysVar, start);
  }
  if (pos_ < end_ && (IsIdentChar(text_[pos_]) || text_[pos_] == '.')) {
    while (pos_ < end_ && (IsIdentChar(text_[pos_]) || text_[pos_] == '.')) {
      ++pos_;
    }
    return Make(TokenKind::kUserVar, start);
  }
  return Make(TokenKind::kOperator, start);  // @'quoted', @`quoted`: '@' then the quoted token
}

Token Lexer::LexOperator(size_t start) {
  const char c = text_[pos_];
  ++pos_;
  switch (c) {
    case '(':
      return Make(TokenKind::kLParen, start);
    case ')':
      return Make(TokenKind::kRParen, start);
    case ',':
      return Make(TokenKind::kComma, start);
    case '.':
      return Make(TokenKind::kDot, start);
    case ';':
      return Make(TokenKind::kSemicolon, start);
    case '?':
      return Make(TokenKind::kParam, start);
    default:
      break;
  }
  // Multi-char operators: <=> ->> <= >= <> != << >> := && || ->
  const char next = pos_ < end_ ? text_[pos_] : '\0';
  const char third = pos_ + 1 < end_ ? text_[pos_ + 1] : '\0';
  switch (c) {
    case '<':
      if (next == '=' && third == '>') {
        pos_ += 2;
      } else if (next == '=' || next == '>' || next == '<') {
        ++pos_;
      }
      break;
    case '-':
      if (next == '>') {
        pos_ += third == '>' ? 2 : 1;
      }
      break;
    case '>':
      pos_ += (next == '=' || next == '>') ? 1 : 0;
      break;
    case '!':
    case ':':
      pos_ += next == '=' ? 1 : 0;
      break;
    case '&':
    case '|':
      pos_ += next == c ? 1 : 0;
      break;
    default:
      break;
  }
  return Make(TokenKind::kOperator, start);
}

}  // namespace jitgate::parsers::sql::mysql
