// fuzz/mysql_sql_fuzz.cc: libFuzzer target for the MySQL/MariaDB SQL lexer, splitter,
// fingerprint and classifier (jitgate/parsers/sql/mysql/*.h). The first byte picks the mode
// (NO_BACKSLASH_ESCAPES, ANSI_QUOTES, MariaDB, server version unknown / 8.0.36 / 10.6.11).
// Properties, beyond "no crash or sanitizer report":
//  - the splitter's pieces are contiguous and cover the input exactly;
//  - classifying a piece twice gives the same class, flags and names;
//  - when the whole input classifies as kRead, a naive independent scan (its own comment, string
//    and executable-comment rules; below) finds no write/drop keyword outside strings and
//    comments in any statement not led by SHOW/EXPLAIN/DESCRIBE/DESC/HELP.
// Seed corpus: fuzz/corpus/mysql_sql/.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/sql/mysql/classify.h"

namespace mysql = jitgate::parsers::sql::mysql;
using jitgate::parsers::sql::Statement;
using jitgate::parsers::sql::StatementClass;

namespace {

// The naive oracle: a byte scanner written apart from the lexer, deliberately simple.
class NaiveScan {
 public:
  NaiveScan(std::string_view text, const mysql::LexMode& mode) : text_(text), mode_(mode) {}

  // True when some statement not led by SHOW/EXPLAIN/... holds a write or drop keyword.
  bool FindsVerb() {
    while (pos_ < text_.size()) {
      SkipBlanks();
      if (pos_ >= text_.size()) {
        break;
      }
      const char c = text_[pos_];
      if (c == '\'' || c == '"' || c == '`') {
        SkipQuoted(c);
        prev_word_ = {};
      } else if (IsWordChar(c)) {
        if (Word()) {
          return true;
        }
      } else {
        if (c == ';') {
          lead_ = {};
          lead_seen_ = false;
        }
        prev_word_ = {};
        ++pos_;
      }
    }
    return false;
  }

 private:
  static bool IsWordChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80;
  }
  static bool Is(std::string_view word, std::string_view upper) {
    if (word.size() != upper.size()) {
      return false;
    }
    for (size_t i = 0; i < word.size(); ++i) {
      const char c = (word[i] >= 'a' && word[i] <= 'z') ? static_cast<char>(word[i] - 32) : word[i];
      if (c != upper[i]) {
        return false;
      }
    }
    return true;
  }
  char At(size_t i) const { return i < text_.size() ? text_[i] : '\0'; }

  size_t SkipComment(size_t from, int nest) const {
    size_t i = from;
    while (i < text_.size()) {
      if (nest > 0 && text_[i] == '/' && At(i + 1) == '*') {
        i = SkipComment(i + 2, nest - 1);
        continue;
      }
      if (text_[i] == '*' && At(i + 1) == '/') {
        return i + 2;
      }
      ++i;
    }
    return text_.size();
  }

  void SkipBlanks() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      const unsigned char after = static_cast<unsigned char>(At(pos_ + 2));
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '#' || (c == '-' && At(pos_ + 1) == '-' && (after <= 0x20 || after == 0x7f))) {
        while (pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != '\0') {
          ++pos_;
        }
      } else if (c == '*' && At(pos_ + 1) == '/' && in_exec_) {
        in_exec_ = false;
        pos_ += 2;
      } else if (c == '/' && At(pos_ + 1) == '*') {
        OpenComment();
      } else {
        return;
      }
    }
  }

  void OpenComment() {
    size_t body = pos_ + 2;
    const bool exec = At(body) == '!' || (mode_.mariadb && At(body) == 'M' && At(body + 1) == '!');
    if (!exec) {
      pos_ = SkipComment(body, 0);
      return;
    }
    body += At(body) == '!' ? 1 : 2;
    size_t digits = 0;
    while (digits < 6 && At(body + digits) >= '0' && At(body + digits) <= '9') {
      ++digits;
    }
    if (digits >= 5) {
      const size_t used = (mode_.mariadb && digits == 6) ? 6 : 5;
      uint32_t version = 0;
      for (size_t i = 0; i < used; ++i) {
        version = version * 10 + static_cast<uint32_t>(At(body + i) - '0');
      }
      if (mode_.server_version != 0 && (digits == 5 || mode_.mariadb) &&
          version > mode_.server_version) {
        pos_ = SkipComment(body, 1);
        return;
      }
      body += used;
    }
    in_exec_ = true;
    pos_ = body;
  }

  void SkipQuoted(char quote) {
    const bool backslash = quote != '`' && !(quote == '"' && mode_.ansi_quotes) &&
                           !mode_.no_backslash_escapes;
    ++pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '\\' && backslash) {
        ++pos_;
      } else if (c == quote) {
        if (At(pos_) != quote) {
          return;
        }
        ++pos_;
      }
    }
  }

  bool NextIsParen() {
    const size_t saved = pos_;
    const bool saved_exec = in_exec_;
    SkipBlanks();
    const bool paren = At(pos_) == '(';
    pos_ = saved;
    in_exec_ = saved_exec;
    return paren;
  }

  bool Word() {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsWordChar(text_[pos_])) {
      ++pos_;
    }
    const std::string_view word = text_.substr(start, pos_ - start);
    const char before = start > 0 ? text_[start - 1] : ' ';
    if (before == '.' || before == '@') {
      prev_word_ = {};
      return false;
    }
    if (!lead_seen_) {
      lead_seen_ = true;
      lead_ = word;
    }
    const std::string_view prev = prev_word_;
    prev_word_ = word;
    if (Is(lead_, "SHOW") || Is(lead_, "EXPLAIN") || Is(lead_, "DESCRIBE") || Is(lead_, "DESC") ||
        Is(lead_, "HELP")) {
      return false;
    }
    if (Is(word, "DROP") || Is(word, "ALTER") || Is(word, "CREATE") || Is(word, "RENAME") ||
        Is(word, "GRANT") || Is(word, "REVOKE") || Is(word, "LOAD") || Is(word, "OUTFILE") ||
        Is(word, "DUMPFILE")) {
      return true;
    }
    if (Is(word, "DELETE")) {
      return !Is(prev, "ON");
    }
    if (Is(word, "UPDATE")) {
      return !Is(prev, "FOR") && !Is(prev, "ON") && !Is(prev, "KEY");
    }
    if (Is(word, "INSERT") || Is(word, "REPLACE") || Is(word, "TRUNCATE")) {
      return !NextIsParen();
    }
    return false;
  }

  std::string_view text_;
  mysql::LexMode mode_;
  size_t pos_ = 0;
  bool in_exec_ = false;
  std::string_view lead_;
  bool lead_seen_ = false;
  std::string_view prev_word_;
};

mysql::LexMode ModeFrom(uint8_t selector) {
  mysql::LexMode mode;
  mode.no_backslash_escapes = selector & 1;
  mode.ansi_quotes = selector & 2;
  mode.mariadb = selector & 4;
  mode.fold_identifiers = selector & 32;
  switch ((selector >> 3) & 3) {
    case 1:
      mode.server_version = 80036;
      break;
    case 2:
      mode.server_version = 100611;
      break;
    default:
      mode.server_version = 0;
      break;
  }
  return mode;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const mysql::LexMode mode = ModeFrom(data[0]);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  std::array<mysql::Piece, 32> pieces;
  const mysql::SplitResult split = mysql::Split(text, mode, pieces);
  JG_CHECK(split.count >= 1 && split.count <= pieces.size());
  size_t covered = 0;
  for (size_t i = 0; i < split.count; ++i) {
    JG_CHECK(pieces[i].offset == covered);
    covered += pieces[i].length;
  }
  JG_CHECK(covered == text.size());

  static auto first = std::make_unique<Statement>();
  static auto second = std::make_unique<Statement>();
  for (size_t i = 0; i < split.count; ++i) {
    (void)mysql::Fingerprint(text, pieces[i], mode);
    mysql::ClassifyPiece(text, pieces[i], mode, first.get());
    mysql::ClassifyPiece(text, pieces[i], mode, second.get());
    JG_CHECK(first->statement_class == second->statement_class);
    JG_CHECK(first->flags == second->flags);
    JG_CHECK(first->relation_count == second->relation_count);
    JG_CHECK(first->function_count == second->function_count);
    if (pieces[i].flags & (mysql::kPieceLexError | mysql::kPieceEmpty)) {
      JG_CHECK(first->statement_class == StatementClass::kUnknown);
    }
  }

  mysql::ClassifyText(text, mode, first.get());
  if (first->statement_class == StatementClass::kRead) {
    JG_CHECK(!NaiveScan(text, mode).FindsVerb());
  }
  return 0;
}
