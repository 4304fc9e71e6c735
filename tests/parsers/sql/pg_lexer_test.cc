// tests/parsers/sql/pg_lexer_test.cc: the PostgreSQL lexer (every literal form, both
// standard_conforming_strings modes, unterminated input), the splitter and the fingerprint.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "jitgate/parsers/sql/pg/lexer.h"
#include "jitgate/parsers/sql/pg/split.h"

namespace jitgate::parsers::sql::pg {
namespace {

constexpr LexMode kOn{.standard_conforming_strings = true};
constexpr LexMode kOff{.standard_conforming_strings = false};

struct Lexed {
  std::vector<std::string> texts;
  std::vector<TokenKind> kinds;
  LexStatus status;
};

Lexed Lex(std::string_view text, LexMode mode = kOn) {
  Lexed lexed;
  Lexer lexer(text, mode);
  Token token;
  while (lexer.Next(&token)) {
    EXPECT_LE(token.offset + token.length, text.size());
    lexed.texts.emplace_back(text.substr(token.offset, token.length));
    lexed.kinds.push_back(token.kind);
  }
  lexed.status = lexer.status();
  return lexed;
}

std::vector<std::string> Texts(std::string_view text, LexMode mode = kOn) {
  return Lex(text, mode).texts;
}

using V = std::vector<std::string>;

TEST(PgLexer, WordsNumbersOperators) {
  EXPECT_EQ(Texts("SELECT a$b, _x1 FROM t"), (V{"SELECT", "a$b", ",", "_x1", "FROM", "t"}));
  EXPECT_EQ(Texts("1 1.5 .5 1.e5 1e-3 1..2"), (V{"1", "1.5", ".5", "1.e5", "1e-3", "1", "..", "2"}));
  EXPECT_EQ(Texts("1.2.3"), (V{"1.2", ".3"}));
  EXPECT_EQ(Texts("a::int := b => c <> d != e <= f"),
            (V{"a", "::", "int", ":=", "b", "=>", "c", "<>", "d", "!=", "e", "<=", "f"}));
  EXPECT_EQ(Texts("x+-1 x@-1 x<=>y x*--c\n"), (V{"x", "+", "-", "1", "x", "@-", "1", "x", "<=>", "y",
                                               "x", "*", "--c"}));
  EXPECT_EQ(Texts("x=/*c*/1"), (V{"x", "=", "/*c*/", "1"}));
  EXPECT_EQ(Texts("# ~ ` ?"), (V{"#", "~", "`", "?"}));
  EXPECT_EQ(Texts("$1 $23"), (V{"$1", "$23"}));
  EXPECT_EQ(Lex("$1").kinds[0], TokenKind::kParam);
  EXPECT_EQ(Texts("\\ { $"), (V{"\\", "{", "$"}));
  EXPECT_EQ(Lex("\\").kinds[0], TokenKind::kOther);
}

TEST(PgLexer, TrailingJunkIsAnError) {
  for (std::string_view text : {"1a", "1e", "1e+", "0x1F", "1.a", "$1a", "1_000"}) {
    EXPECT_EQ(Lex(text).status, LexStatus::kTrailingJunk) << text;
  }
}

TEST(PgLexer, StandardStrings) {
  EXPECT_EQ(Texts("'a''b' 'c'"), (V{"'a''b'", "'c'"}));
  EXPECT_EQ(Texts("'a\\' x"), (V{"'a\\'", "x"}));  // backslash is literal with scs on
  EXPECT_EQ(Lex("'x'").kinds[0], TokenKind::kString);
  // Continuation needs a newline between the parts; -- comments may sit in it, /* */ may not.
  EXPECT_EQ(Texts("'a'\n'b'"), (V{"'a'\n'b'"}));
  EXPECT_EQ(Texts("'a' -- c\n  'b'"), (V{"'a' -- c\n  'b'"}));
  EXPECT_EQ(Texts("'a' 'b'"), (V{"'a'", "'b'"}));
  EXPECT_EQ(Texts("'a' /**/\n'b'"), (V{"'a'", "/**/", "'b'"}));
  EXPECT_EQ(Texts("'a' -- c"), (V{"'a'", "-- c"}));
  EXPECT_EQ(Lex("'abc").status, LexStatus::kUnterminatedString);
  EXPECT_EQ(Lex("'abc''").status, LexStatus::kUnterminatedString);
}

TEST(PgLexer, OffModeStrings) {
  EXPECT_EQ(Texts("'a\\'b' x", kOff), (V{"'a\\'b'", "x"}));
  EXPECT_EQ(Lex("'a'", kOff).kinds[0], TokenKind::kEscapeString);
  // The classic hidden statement: one string in off mode, a string and a DROP in on mode.
  const std::string_view evasion = "SELECT 'a\\'; DROP TABLE t; --'";
  EXPECT_EQ(Texts(evasion, kOff), (V{"SELECT", "'a\\'; DROP TABLE t; --'"}));
  EXPECT_EQ(Texts(evasion, kOn), (V{"SELECT", "'a\\'", ";", "DROP", "TABLE", "t", ";", "--'"}));
  EXPECT_EQ(Lex("'a\\", kOff).status, LexStatus::kUnterminatedString);
  EXPECT_EQ(Lex("U&'a'", kOff).status, LexStatus::kUnsafeUnicodeString);
  // A continuation stays in its state: escapes apply in the continued part too.
  EXPECT_EQ(Texts("E'a'\n'\\'' x"), (V{"E'a'\n'\\''", "x"}));
}

TEST(PgLexer, EscapeBitHexNational) {
  EXPECT_EQ(Texts("E'\\'' e'\\\\' E'a''b'"), (V{"E'\\''", "e'\\\\'", "E'a''b'"}));
  EXPECT_EQ(Lex("E'x'").kinds[0], TokenKind::kEscapeString);
  EXPECT_EQ(Lex("E'\\").status, LexStatus::kUnterminatedString);
  // B'' and X'' have no '' doubling: B'1''0' is B'1' then '0'.
  EXPECT_EQ(Texts("B'1''0'"), (V{"B'1'", "'0'"}));
  EXPECT_EQ(Texts("x'ff' X'00'"), (V{"x'ff'", "X'00'"}));
  EXPECT_EQ(Lex("b'1'").kinds[0], TokenKind::kBitString);
  EXPECT_EQ(Lex("X'1'").kinds[0], TokenKind::kHexString);
  EXPECT_EQ(Texts("N'x'"), (V{"N", "'x'"}));
  EXPECT_EQ(Texts("te'x'"), (V{"te", "'x'"}));  // a prefix only at the token's start
}

TEST(PgLexer, UnicodeStringsAndIdents) {
  EXPECT_EQ(Texts("U&'d\\0061t''a' UESCAPE '!'"), (V{"U&'d\\0061t''a'", "UESCAPE", "'!'"}));
  EXPECT_EQ(Lex("u&'x'").kinds[0], TokenKind::kUnicodeString);
  EXPECT_EQ(Texts("U&\"\\0070g_read_file\"(1)"), (V{"U&\"\\0070g_read_file\"", "(", "1", ")"}));
  EXPECT_EQ(Lex("U&\"a\"").kinds[0], TokenKind::kUnicodeIdent);
  EXPECT_EQ(Texts("U&x"), (V{"U", "&", "x"}));
  EXPECT_EQ(Lex("U&'x").status, LexStatus::kUnterminatedString);
  EXPECT_EQ(Lex("U&\"x").status, LexStatus::kUnterminatedIdent);
}

TEST(PgLexer, QuotedIdentifiers) {
  EXPECT_EQ(Texts("\"a\"\"b\" \"\"\"\""), (V{"\"a\"\"b\"", "\"\"\"\""}));
  EXPECT_EQ(Lex("\"x\"").kinds[0], TokenKind::kQuotedIdent);
  EXPECT_EQ(Lex("\"\"").status, LexStatus::kZeroLengthIdent);
  EXPECT_EQ(Lex("\"abc").status, LexStatus::kUnterminatedIdent);
}

TEST(PgLexer, DollarQuotes) {
  EXPECT_EQ(Texts("$$a'b$$ $t$x$$y$t$ $_1$ $_1$"), (V{"$$a'b$$", "$t$x$$y$t$", "$_1$ $_1$"}));
  EXPECT_EQ(Texts("$a$ $b$ $a$"), (V{"$a$ $b$ $a$"}));
  EXPECT_EQ(Texts("1$a$ $a$"), (V{"1", "$a$ $a$"}));  // after a number, $ starts a quote
  EXPECT_EQ(Texts("x$a$ + 1"), (V{"x$a$", "+", "1"}));  // after an identifier it does not
  EXPECT_EQ(Texts("$1$"), (V{"$1", "$"}));            // the tag cannot start with a digit
  EXPECT_EQ(Texts("$abc"), (V{"$", "abc"}));          // dolqfailed
  EXPECT_EQ(Texts("$A$x$a$y$A$"), (V{"$A$x$a$y$A$"}));  // tags are case-sensitive
  EXPECT_EQ(Lex("$$x").status, LexStatus::kUnterminatedDollarQuote);
  EXPECT_EQ(Lex("$q$x$q").status, LexStatus::kUnterminatedDollarQuote);
  EXPECT_EQ(Lex("$$x$$").kinds[0], TokenKind::kDollarString);
}

TEST(PgLexer, Comments) {
  EXPECT_EQ(Texts("a /* x /* y */ z */ b"), (V{"a", "/* x /* y */ z */", "b"}));
  EXPECT_EQ(Texts("a -- x\r\nb"), (V{"a", "-- x", "b"}));
  EXPECT_EQ(Texts("DR/**/OP"), (V{"DR", "/**/", "OP"}));
  EXPECT_EQ(Texts("/*/ */x"), (V{"/*/ */", "x"}));
  EXPECT_EQ(Lex("/* a /* b */").status, LexStatus::kUnterminatedComment);
  EXPECT_EQ(Lex("/*").status, LexStatus::kUnterminatedComment);
}

TEST(PgLexer, NulByteAndVerticalTab) {
  EXPECT_EQ(Lex(std::string_view("SELECT 1\0; DROP", 16)).status, LexStatus::kNulByte);
  EXPECT_EQ(Texts("a\vb"), (V{"a", "\v", "b"}));  // \v is not whitespace in PG 15
}

std::vector<std::string> Split(std::string_view text, LexMode mode = kOn,
                               SplitStatus expected = SplitStatus::kOk) {
  std::array<StatementSpan, 8> spans;
  const SplitResult result = SplitStatements(text, mode, 7, spans);
  EXPECT_EQ(result.status, expected) << text;
  std::vector<std::string> out;
  for (uint32_t i = 0; i < result.count; ++i) {
    out.emplace_back(text.substr(spans[i].offset, spans[i].length));
  }
  return out;
}

TEST(PgSplit, Statements) {
  EXPECT_EQ(Split("SELECT 1; DROP TABLE t"), (V{"SELECT 1", "DROP TABLE t"}));
  EXPECT_EQ(Split(";; SELECT 1 ;  ; -- c\n; /* x */"), (V{"SELECT 1"}));
  EXPECT_EQ(Split("SELECT ';' ; SELECT $$;$$; SELECT \";\"; SELECT 1 /*;*/ -- ;"),
            (V{"SELECT ';'", "SELECT $$;$$", "SELECT \";\"", "SELECT 1"}));
  EXPECT_EQ(Split("CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2); SELECT 3"),
            (V{"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)", "SELECT 3"}));
  EXPECT_EQ(Split("/* lead */ SELECT 1 /* inner */ + 2 -- tail"), (V{"SELECT 1 /* inner */ + 2"}));
  EXPECT_EQ(Split("SELECT 'a\\'; DROP TABLE t; --'", kOff), (V{"SELECT 'a\\'; DROP TABLE t; --'"}));
  EXPECT_EQ(Split("SELECT 'a\\'; DROP TABLE t; --'", kOn),
            (V{"SELECT 'a\\'", "DROP TABLE t"}));
  EXPECT_EQ(Split(""), V{});
}

TEST(PgSplit, LexErrorAndOverflow) {
  EXPECT_EQ(Split("SELECT 1; SELECT 'x", kOn, SplitStatus::kLexError), (V{"SELECT 1", "SELECT 'x"}));
  EXPECT_EQ(Split("SELECT 1; $$", kOn, SplitStatus::kLexError), (V{"SELECT 1", "$$"}));
  std::array<StatementSpan, 2> spans;
  const SplitResult result = SplitStatements("SELECT 1; SELECT 2; SELECT 3", kOn, 0, spans);
  EXPECT_EQ(result.status, SplitStatus::kOverflow);
  EXPECT_EQ(result.count, 2u);
}

uint64_t Print(std::string_view text, LexMode mode = kOn, uint64_t seed = 7) {
  uint64_t print = 0;
  EXPECT_TRUE(FingerprintStatement(text, mode, seed, &print)) << text;
  return print;
}

TEST(PgFingerprint, SameShapeSamePrint) {
  EXPECT_EQ(Print("SELECT * FROM t WHERE id = 1"), Print("SELECT * FROM t WHERE id = 2"));
  EXPECT_EQ(Print("SELECT * FROM t WHERE id = 1"), Print("select *  from T /* c */ where ID=99"));
  EXPECT_EQ(Print("SELECT 'a'"), Print("SELECT $$zzz$$"));
  EXPECT_EQ(Print("SELECT 'a'"), Print("SELECT E'\\n'"));
  EXPECT_EQ(Print("SELECT a+-1"), Print("SELECT a + - 1"));  // "+-" is trimmed to "+" then "-"
  EXPECT_EQ(Print("INSERT INTO t VALUES ('a''b', 3.5)"), Print("INSERT INTO t VALUES ('', 0.1)"));
  // The splitter gives the same print as FingerprintStatement.
  std::array<StatementSpan, 4> spans;
  SplitStatements("SELECT 1; SELECT * FROM t WHERE id = 5", kOn, 7, spans);
  EXPECT_EQ(spans[1].fingerprint, Print("SELECT * FROM t WHERE id = 1"));
}

TEST(PgFingerprint, DifferentShapesDiffer) {
  const std::vector<std::string_view> shapes = {
      "SELECT * FROM t WHERE id = 1", "SELECT * FROM u WHERE id = 1",
      "SELECT * FROM t WHERE id = $1", "SELECT * FROM t WHERE id = 1.5",
      "SELECT * FROM \"T\" WHERE id = 1", "SELECT * FROM \"t\" WHERE id = 1",
      "SELECT * FROM t WHERE id > 1", "DELETE FROM t WHERE id = 1",
      "SELECT 1", "SELECT 1; DROP TABLE x", "SELECT 'a' 'b'", "SELECT 'a'\n'b'",
      "SELECT B'1'", "SELECT X'1'", "SELECT U&'1'", "SELECT dr op", "SELECT drop",
      "SELECT a.b", "SELECT ab", "SELECT a+-1", "SELECT a@-1",
  };
  for (size_t i = 0; i < shapes.size(); ++i) {
    for (size_t j = i + 1; j < shapes.size(); ++j) {
      uint64_t a = 0;
      uint64_t b = 0;
      FingerprintStatement(shapes[i], kOn, 7, &a);
      FingerprintStatement(shapes[j], kOn, 7, &b);
      EXPECT_NE(a, b) << shapes[i] << " vs " << shapes[j];
    }
  }
  EXPECT_NE(Print("SELECT 'x'", kOn), Print("SELECT 'x'", kOff));
  EXPECT_NE(Print("SELECT 1", kOn, 1), Print("SELECT 1", kOn, 2));
}

TEST(PgFingerprint, MultiStatementNeverSharesWithItsFirst) {
  std::array<StatementSpan, 4> spans;
  const SplitResult result = SplitStatements("SELECT 1; DROP TABLE x", kOn, 7, spans);
  ASSERT_EQ(result.count, 2u);
  EXPECT_EQ(spans[0].fingerprint, Print("SELECT 1"));
  EXPECT_NE(spans[1].fingerprint, Print("SELECT 1"));
  uint64_t whole = 0;
  FingerprintStatement("SELECT 1; DROP TABLE x", kOn, 7, &whole);
  EXPECT_NE(whole, Print("SELECT 1"));
}

}  // namespace
}  // namespace jitgate::parsers::sql::pg
