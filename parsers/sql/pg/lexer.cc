// parsers/sql/pg/lexer.cc: the PostgreSQL 15 tokenizer (jitgate/parsers/sql/pg/lexer.h).
//
// Each rule cites the scan.l definition it mirrors (src/backend/parser/scan.l, REL_15). The
// scanner is flex with longest-match semantics; the comments say where that matters.
#include "jitgate/parsers/sql/pg/lexer.h"

#include <array>
#include <cstring>

namespace jitgate::parsers::sql::pg {
namespace {

enum CharClass : uint8_t {
  kSpace = 1 << 0,       // space [ \t\n\r\f] (PG 15: no \v)
  kIdentStart = 1 << 1,  // ident_start [A-Za-z\200-\377_]
  kIdentCont = 1 << 2,   // ident_cont [A-Za-z\200-\377_0-9\$]
  kDigit = 1 << 3,       // digit [0-9]
  kOpChar = 1 << 4,      // op_chars [\~\!\@\#\^\&\|\`\?\+\-\*\/\%\<\>\=]
  kDolqCont = 1 << 5,    // dolq_cont [A-Za-z\200-\377_0-9] (no $)
};

constexpr std::array<uint8_t, 256> MakeClassTable() {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    uint8_t bits = 0;
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
    if (alpha) {
      bits |= kIdentStart | kIdentCont | kDolqCont;
    }
    if (c >= '0' && c <= '9') {
      bits |= kDigit | kIdentCont | kDolqCont;
    }
    if (c == '$') {
      bits |= kIdentCont;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      bits |= kSpace;
    }
    for (const char* op = "~!@#^&|`?+-*/%<>="; *op != '\0'; ++op) {
      if (c == static_cast<unsigned char>(*op)) {
        bits |= kOpChar;
      }
    }
    table[static_cast<size_t>(c)] = bits;
  }
  return table;
}

constexpr std::array<uint8_t, 256> kClass = MakeClassTable();

inline bool Is(char c, uint8_t bits) { return (kClass[static_cast<unsigned char>(c)] & bits) != 0; }

// The characters that stop the trailing-+/- trimming of an operator (scan.l {operator} action).
inline bool IsOperatorKeepSign(char c) {
  return c == '~' || c == '!' || c == '@' || c == '#' || c == '^' || c == '&' || c == '|' ||
         c == '`' || c == '?' || c == '%';
}

}  // namespace

std::string_view LexStatusName(LexStatus status) {
  switch (status) {
    case LexStatus::kOk:
      return "ok";
    case LexStatus::kUnterminatedString:
      return "unterminated_string";
    case LexStatus::kUnterminatedIdent:
      return "unterminated_ident";
    case LexStatus::kUnterminatedComment:
      return "unterminated_comment";
    case LexStatus::kUnterminatedDollarQuote:
      return "unterminated_dollar_quote";
    case LexStatus::kZeroLengthIdent:
      return "zero_length_ident";
    case LexStatus::kTrailingJunk:
      return "trailing_junk";
    case LexStatus::kUnsafeUnicodeString:
      return "unsafe_unicode_string";
    case LexStatus::kNulByte:
      return "nul_byte";
    case LexStatus::kTooLong:
      return "too_long";
  }
  return "unknown";
}

Lexer::Lexer(std::string_view text, LexMode mode) : text_(text), mode_(mode) {
  if (text.size() > kTextSizeMax) {
    Fail(LexStatus::kTooLong, 0);
    return;
  }
  // The server's C string ends at a NUL: lex only what comes before it, as the server would, and
  // then report the NUL (a literal open across it is unterminated).
  const void* nul = text.empty() ? nullptr : std::memchr(text.data(), '\0', text.size());
  if (nul != nullptr) {
    text_ = text.substr(0, static_cast<size_t>(static_cast<const char*>(nul) - text.data()));
    nul_found_ = true;
  }
}

bool Lexer::Fail(LexStatus status, size_t offset) {
  status_ = status;
  error_offset_ = static_cast<uint32_t>(offset);
  pos_ = text_.size();
  return false;
}

// After a closing quote at `after - 1`: {quotecontinue} = {whitespace_with_newline}{quote}, where
// whitespace_with_newline = {horiz_whitespace}*{newline}{special_whitespace}* and only "--"
// comments count as whitespace there (not /* */). Returns the index just past the re-opening
// quote, or 0 when the literal ends here (state xqs falls back to INITIAL).
static size_t QuoteContinuation(std::string_view s, size_t after) {
  const size_t n = s.size();
  size_t j = after;
  bool newline = false;
  while (j < n) {
    const char c = s[j];
    if (c == ' ' || c == '\t' || c == '\f') {
      ++j;
    } else if (c == '\n' || c == '\r') {
      newline = true;
      ++j;
    } else if (c == '-' && j + 1 < n && s[j + 1] == '-') {
      size_t k = j + 2;
      while (k < n && s[k] != '\n' && s[k] != '\r') {
        ++k;
      }
      if (k >= n) {
        return 0;  // a comment must end in a newline to be part of the continuation
      }
      j = k;
    } else {
      break;
    }
  }
  if (newline && j < n && s[j] == '\'') {
    return j + 1;
  }
  return 0;
}

// States xq (''-doubling), xe (backslash escapes and ''), xus (like xq), xb/xh ([^']*, no
// doubling: B'1''0' is B'1' followed by '0'). A continuation stays in the same state.
size_t Lexer::LexQuoted(size_t start, size_t body, TokenKind kind) {
  const std::string_view s = text_;
  const size_t n = s.size();
  const bool backslash = kind == TokenKind::kEscapeString;
  const bool doubling = kind != TokenKind::kBitString && kind != TokenKind::kHexString;
  size_t i = body;
  for (;;) {
    if (backslash) {
      while (i < n && s[i] != '\'' && s[i] != '\\') {
        ++i;
      }
    } else {
      const void* quote = i < n ? std::memchr(s.data() + i, '\'', n - i) : nullptr;
      i = quote == nullptr ? n : static_cast<size_t>(static_cast<const char*>(quote) - s.data());
    }
    if (i >= n) {
      Fail(LexStatus::kUnterminatedString, start);
      return 0;
    }
    if (s[i] == '\\') {  // xeescape / xeoctesc / xehexesc / xeunicode: \ and at least one byte
      if (i + 1 >= n) {
        Fail(LexStatus::kUnterminatedString, start);
        return 0;
      }
      i += 2;
      continue;
    }
    if (doubling && i + 1 < n && s[i + 1] == '\'') {  // xqdouble
      i += 2;
      continue;
    }
    const size_t resumed = QuoteContinuation(s, i + 1);
    if (resumed == 0) {
      return i + 1;
    }
    i = resumed;
  }
}

// States xd / xui: "" doubles; an empty identifier is an error.
size_t Lexer::LexDoubleQuoted(size_t start, size_t body) {
  const std::string_view s = text_;
  const size_t n = s.size();
  size_t i = body;
  for (;;) {
    const void* quote = i < n ? std::memchr(s.data() + i, '"', n - i) : nullptr;
    if (quote == nullptr) {
      Fail(LexStatus::kUnterminatedIdent, start);
      return 0;
    }
    i = static_cast<size_t>(static_cast<const char*>(quote) - s.data());
    if (i + 1 < n && s[i + 1] == '"') {  // xddouble (longest match beats xdstop)
      i += 2;
      continue;
    }
    if (i == body) {
      Fail(LexStatus::kZeroLengthIdent, start);
      return 0;
    }
    return i + 1;
  }
}

// xdolq: the body ends at the first occurrence of the opening delimiter. Inside the body the
// scanner matches {dolqdelim} and gives back its last '$', so no '$' can be skipped and a plain
// substring search finds the same end.
size_t Lexer::LexDollar(size_t start, size_t tag_end) {
  const std::string_view delimiter = text_.substr(start, tag_end - start);
  const size_t found = text_.find(delimiter, tag_end);
  if (found == std::string_view::npos) {
    Fail(LexStatus::kUnterminatedDollarQuote, start);
    return 0;
  }
  return found + delimiter.size();
}

// xc: /* ... */ nests (xcstart inside xc increments the depth).
size_t Lexer::LexBlockComment(size_t start) {
  const std::string_view s = text_;
  const size_t n = s.size();
  size_t depth = 1;
  size_t i = start + 2;
  while (i + 1 < n) {
    if (s[i] == '/' && s[i + 1] == '*') {
      ++depth;
      i += 2;
    } else if (s[i] == '*' && s[i + 1] == '/') {
      i += 2;
      if (--depth == 0) {
        return i;
      }
    } else {
      ++i;
    }
  }
  Fail(LexStatus::kUnterminatedComment, start);
  return 0;
}

// integer, decimal, decimalfail (1..2 is 1 then ..), real, realfail and the PG 15 *_junk rules:
// a number directly followed by an identifier character is an error.
size_t Lexer::LexNumber(size_t start) {
  const std::string_view s = text_;
  const size_t n = s.size();
  size_t i = start;
  while (i < n && Is(s[i], kDigit)) {
    ++i;
  }
  if (i < n && s[i] == '.') {
    if (i > start && i + 1 < n && s[i + 1] == '.') {
      return i;  // decimalfail: give back the ".."
    }
    ++i;
    while (i < n && Is(s[i], kDigit)) {
      ++i;
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < n && (s[j] == '+' || s[j] == '-')) {
      ++j;
    }
    if (j >= n || !Is(s[j], kDigit)) {
      Fail(LexStatus::kTrailingJunk, start);  // realfail / integer_junk
      return 0;
    }
    while (j < n && Is(s[j], kDigit)) {
      ++j;
    }
    i = j;
  }
  if (i < n && Is(s[i], kIdentStart)) {
    Fail(LexStatus::kTrailingJunk, start);
    return 0;
  }
  return i;
}

// {operator}: a run of op_chars, cut before any "/*" or "--" inside it, then trailing + and -
// trimmed unless the operator holds one of ~ ! @ # ^ & | ` ? % (so "=-1" is "=" "-" "1").
size_t Lexer::LexOperator(size_t start) {
  const std::string_view s = text_;
  const size_t n = s.size();
  size_t end = start;
  while (end < n && Is(s[end], kOpChar)) {
    ++end;
  }
  for (size_t k = start; k + 1 < end; ++k) {
    if ((s[k] == '/' && s[k + 1] == '*') || (s[k] == '-' && s[k + 1] == '-')) {
      end = k;
      break;
    }
  }
  size_t nchars = end - start;
  if (nchars > 1 && (s[start + nchars - 1] == '+' || s[start + nchars - 1] == '-')) {
    bool keep = false;
    for (size_t k = start; k + 1 < start + nchars; ++k) {
      keep = keep || IsOperatorKeepSign(s[k]);
    }
    if (!keep) {
      do {
        --nchars;
      } while (nchars > 1 && (s[start + nchars - 1] == '+' || s[start + nchars - 1] == '-'));
    }
  }
  return start + nchars;
}

// Identifiers and the prefixed literals that start like one: B'', X'', E'', N'', U&'', U&"".
size_t Lexer::LexWordOrPrefixed(size_t start, Token* token) {
  const std::string_view s = text_;
  const size_t n = s.size();
  const char c = s[start];
  const char next = start + 1 < n ? s[start + 1] : '\0';
  if (next == '\'') {
    switch (c) {
      case 'b':
      case 'B':
        token->kind = TokenKind::kBitString;
        return LexQuoted(start, start + 2, TokenKind::kBitString);
      case 'x':
      case 'X':
        token->kind = TokenKind::kHexString;
        return LexQuoted(start, start + 2, TokenKind::kHexString);
      case 'e':
      case 'E':
        token->kind = TokenKind::kEscapeString;
        return LexQuoted(start, start + 2, TokenKind::kEscapeString);
      case 'n':
      case 'N':
        token->kind = TokenKind::kWord;  // xnstart: yyless(1), the keyword NCHAR, then '...'
        return start + 1;
      default:
        break;
    }
  }
  if ((c == 'u' || c == 'U') && next == '&' && start + 2 < n) {
    if (s[start + 2] == '\'') {
      if (!mode_.standard_conforming_strings) {
        Fail(LexStatus::kUnsafeUnicodeString, start);
        return 0;
      }
      token->kind = TokenKind::kUnicodeString;
      return LexQuoted(start, start + 3, TokenKind::kUnicodeString);
    }
    if (s[start + 2] == '"') {
      token->kind = TokenKind::kUnicodeIdent;
      return LexDoubleQuoted(start, start + 3);
    }
  }
  token->kind = TokenKind::kWord;
  size_t i = start + 1;
  while (i < n && Is(s[i], kIdentCont)) {
    ++i;
  }
  return i;
}

bool Lexer::Next(Token* token) {
  const std::string_view s = text_;
  const size_t n = s.size();
  while (pos_ < n && Is(s[pos_], kSpace)) {
    ++pos_;
  }
  if (pos_ >= n) {
    if (nul_found_ && status_ == LexStatus::kOk) {
      Fail(LexStatus::kNulByte, n);
    }
    return false;
  }
  const size_t start = pos_;
  const char c = s[start];
  const char next = start + 1 < n ? s[start + 1] : '\0';
  size_t end = 0;
  token->kind = TokenKind::kOperator;
  if (Is(c, kIdentStart)) {
    end = LexWordOrPrefixed(start, token);
  } else if (Is(c, kDigit) || (c == '.' && Is(next, kDigit))) {
    end = LexNumber(start);
    token->kind = TokenKind::kInteger;
    for (size_t k = start; end != 0 && k < end; ++k) {
      if (s[k] == '.' || s[k] == 'e' || s[k] == 'E') {
        token->kind = TokenKind::kDecimal;
        break;
      }
    }
  } else if (c == '\'') {
    token->kind =
        mode_.standard_conforming_strings ? TokenKind::kString : TokenKind::kEscapeString;
    end = LexQuoted(start, start + 1, token->kind);
  } else if (c == '"') {
    token->kind = TokenKind::kQuotedIdent;
    end = LexDoubleQuoted(start, start + 1);
  } else if (c == '-' && next == '-') {
    token->kind = TokenKind::kComment;
    end = start + 2;
    while (end < n && s[end] != '\n' && s[end] != '\r') {
      ++end;
    }
  } else if (c == '/' && next == '*') {
    token->kind = TokenKind::kComment;
    end = LexBlockComment(start);
  } else if (c == '$') {
    if (Is(next, kDigit)) {  // param \${integer}; param_junk is an error
      end = start + 1;
      while (end < n && Is(s[end], kDigit)) {
        ++end;
      }
      token->kind = TokenKind::kParam;
      if (end < n && Is(s[end], kIdentStart)) {
        return Fail(LexStatus::kTrailingJunk, start);
      }
    } else {
      size_t tag_end = start + 1;
      if (next == '$' || Is(next, kIdentStart)) {
        while (tag_end < n && Is(s[tag_end], kDolqCont)) {
          ++tag_end;
        }
      }
      if (tag_end < n && s[tag_end] == '$') {  // dolqdelim
        token->kind = TokenKind::kDollarString;
        end = LexDollar(start, tag_end + 1);
      } else {  // dolqfailed: only the '$' is consumed, as {other}
        token->kind = TokenKind::kOther;
        end = start + 1;
      }
    }
  } else if (Is(c, kOpChar)) {
    end = LexOperator(start);
  } else if (c == ':') {
    end = start + ((next == ':' || next == '=') ? 2 : 1);  // typecast, colon_equals, self
  } else if (c == '.') {
    end = start + (next == '.' ? 2 : 1);  // dot_dot, self
  } else if (c == ',' || c == '(' || c == ')' || c == '[' || c == ']' || c == ';') {
    end = start + 1;  // self
  } else if (c == '\0') {
    return Fail(LexStatus::kNulByte, start);
  } else {
    token->kind = TokenKind::kOther;  // {other}
    end = start + 1;
  }
  if (end == 0) {
    return false;  // a Lex* helper failed
  }
  token->offset = static_cast<uint32_t>(start);
  token->length = static_cast<uint32_t>(end - start);
  pos_ = end;
  return true;
}

}  // namespace jitgate::parsers::sql::pg
