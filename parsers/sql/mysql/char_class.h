// parsers/sql/mysql/char_class.h: the 256-entry byte class table the MySQL lexer dispatches on
// (private to parsers/sql/mysql). Mirrors the server's state map for utf8mb4: bytes >= 0x80 are
// identifier bytes; NUL and control characters other than the six whitespace bytes are errors.
#ifndef JITGATE_PARSERS_SQL_MYSQL_CHAR_CLASS_H_
#define JITGATE_PARSERS_SQL_MYSQL_CHAR_CLASS_H_

#include <array>
#include <cstdint>

namespace jitgate::parsers::sql::mysql::internal {

enum CharClass : uint8_t {
  kCcOperator,  // punctuation without a rule of its own
  kCcSpace,     // ' ', \t, \n, \v, \f, \r
  kCcBad,       // NUL and other control bytes (0x01-0x1f, 0x7f)
  kCcIdent,     // A-Z a-z _ $ and every byte >= 0x80
  kCcDigit,     // 0-9
  kCcQuote,     // ' " `
};

constexpr std::array<uint8_t, 256> BuildCharClasses() {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    uint8_t cls = kCcOperator;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r') {
      cls = kCcSpace;
    } else if (c < 0x20 || c == 0x7f) {
      cls = kCcBad;
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$' ||
               c >= 0x80) {
      cls = kCcIdent;
    } else if (c >= '0' && c <= '9') {
      cls = kCcDigit;
    } else if (c == '\'' || c == '"' || c == '`') {
      cls = kCcQuote;
    }
    table[c] = cls;
  }
  return table;
}

inline constexpr std::array<uint8_t, 256> kCharClass = BuildCharClasses();

constexpr std::array<bool, 256> BuildIdentChars() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[c] = kCharClass[c] == kCcIdent || kCharClass[c] == kCcDigit;
  }
  return table;
}
inline constexpr std::array<bool, 256> kIdentChar = BuildIdentChars();

inline uint8_t ClassOf(char c) { return kCharClass[static_cast<uint8_t>(c)]; }
inline bool IsIdentChar(char c) { return kIdentChar[static_cast<uint8_t>(c)]; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace jitgate::parsers::sql::mysql::internal

#endif  // JITGATE_PARSERS_SQL_MYSQL_CHAR_CLASS_H_
