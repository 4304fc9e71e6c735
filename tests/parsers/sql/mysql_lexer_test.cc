// Tests of the MySQL/MariaDB lexer, splitter and fingerprint (jitgate/parsers/sql/mysql/lexer.h,
// splitter.h): every literal and comment form in each sql_mode, executable comments by version,
// hints, errors, statement boundaries and shapes.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/parsers/sql/mysql/lexer.h"
#include "jitgate/parsers/sql/mysql/splitter.h"

namespace jitgate::parsers::sql::mysql {
namespace {

char KindLetter(TokenKind kind) {
  switch (kind) {
    case TokenKind::kWord: return 'W';
    case TokenKind::kQuotedIdent: return 'Q';
    case TokenKind::kString: return 'S';
    case TokenKind::kHexString: return 'X';
    case TokenKind::kBitString: return 'B';
    case TokenKind::kNumber: return 'N';
    case TokenKind::kUserVar: return 'U';
    case TokenKind::kSysVar: return 'V';
    case TokenKind::kParam: return '?';
    case TokenKind::kOperator: return 'O';
    case TokenKind::kLParen: return '(';
    case TokenKind::kRParen: return ')';
    case TokenKind::kComma: return ',';
    case TokenKind::kDot: return '.';
    case TokenKind::kSemicolon: return ';';
    case TokenKind::kExecOpen: return '<';
    case TokenKind::kExecClose: return '>';
    case TokenKind::kError: return 'E';
    case TokenKind::kEnd: return '$';
  }
  return '#';
}

// "W:SELECT N:1" for each token; "E" on error.
std::string Lex(std::string_view text, LexMode mode = {}) {
  Lexer lexer(text, mode);
  std::string out;
  for (;;) {
    const Token token = lexer.Next();
    if (token.kind == TokenKind::kEnd) {
      break;
    }
    if (!out.empty()) {
      out += ' ';
    }
    out += KindLetter(token.kind);
    if (token.kind == TokenKind::kError) {
      break;
    }
    out += ':';
    out += lexer.TokenText(token);
  }
  return out;
}

LexError ErrorOf(std::string_view text, LexMode mode = {}) {
  Lexer lexer(text, mode);
  while (true) {
    const Token token = lexer.Next();
    if (token.kind == TokenKind::kEnd || token.kind == TokenKind::kError) {
      return lexer.error();
    }
  }
}

LexMode NoBackslash() {
  LexMode mode;
  mode.no_backslash_escapes = true;
  return mode;
}
LexMode AnsiQuotes() {
  LexMode mode;
  mode.ansi_quotes = true;
  return mode;
}
LexMode Version(uint32_t version, bool mariadb = false) {
  LexMode mode;
  mode.server_version = version;
  mode.mariadb = mariadb;
  return mode;
}

TEST(MysqlLexerTest, WordsNumbersAndOperators) {
  EXPECT_EQ(Lex("SELECT a,b FROM t"), "W:SELECT W:a ,:, W:b W:FROM W:t");
  EXPECT_EQ(Lex("1 1.5 .5 1e3 1.5E-3 0x1F 0b101"), "N:1 N:1.5 N:.5 N:1e3 N:1.5E-3 N:0x1F N:0b101");
  EXPECT_EQ(Lex("1abc 0xZZ 0b12 1e"), "W:1abc W:0xZZ W:0b12 W:1e");
  EXPECT_EQ(Lex("a<=>b a->>'$.x' a:=1 a!=b a||b"),
            "W:a O:<=> W:b W:a O:->> S:'$.x' W:a O::= N:1 W:a O:!= W:b W:a O:|| W:b");
  EXPECT_EQ(Lex("t.col db.t.`c`"), "W:t .:. W:col W:db .:. W:t .:. Q:`c`");
  EXPECT_EQ(Lex("? ?"), "?:? ?:?");
}

TEST(MysqlLexerTest, KeywordsFoldCaseAndNotAfterDot) {
  Lexer lexer("dRoP t.drop", {});
  EXPECT_EQ(lexer.Next().keyword, Keyword::kDrop);
  EXPECT_EQ(lexer.Next().keyword, Keyword::kNone);  // t
  lexer.Next();                                       // .
  const Token after_dot = lexer.Next();
  EXPECT_EQ(after_dot.keyword, Keyword::kNone);
  EXPECT_TRUE(after_dot.flags & kTokenAfterDot);
  EXPECT_EQ(LookupKeyword("select"), Keyword::kSelect);
  EXPECT_EQ(LookupKeyword("SeLeCt"), Keyword::kSelect);
  EXPECT_EQ(LookupKeyword("selec"), Keyword::kNone);
  EXPECT_EQ(LookupKeyword("PERSIST_ONLY"), Keyword::kPersistOnly);
  EXPECT_EQ(KeywordText(Keyword::kDelete), "DELETE");
}

TEST(MysqlLexerTest, StringsWithEscapesAndDoubling) {
  EXPECT_EQ(Lex("'a''b' 'c\\'d' \"e\\\"f\" \"g\"\"h\""),
            "S:'a''b' S:'c\\'d' S:\"e\\\"f\" S:\"g\"\"h\"");
  // NO_BACKSLASH_ESCAPES: the backslash is ordinary, so '\' ends at its second quote.
  EXPECT_EQ(Lex("'a\\' b", NoBackslash()), "S:'a\\' W:b");
  EXPECT_EQ(Lex("'a\\' b"), "E");  // default mode: \' escapes, the string never ends
  EXPECT_EQ(ErrorOf("'a\\' b"), LexError::kUnterminatedString);
}

TEST(MysqlLexerTest, AnsiQuotesMakeDoubleQuotesIdentifiers) {
  EXPECT_EQ(Lex("\"a\"\"b\"", AnsiQuotes()), "Q:\"a\"\"b\"");
  EXPECT_EQ(Lex("\"a\\\" x", AnsiQuotes()), "Q:\"a\\\" W:x");  // no backslash in identifiers
  EXPECT_EQ(Lex("\"a\\\" x\""), "S:\"a\\\" x\"");
  EXPECT_EQ(ErrorOf("\"abc", AnsiQuotes()), LexError::kUnterminatedIdent);
}

TEST(MysqlLexerTest, BacktickIdentifiers) {
  EXPECT_EQ(Lex("`a``b` `sel ect`"), "Q:`a``b` Q:`sel ect`");
  EXPECT_EQ(Lex("`a\\` x`"), "Q:`a\\` W:x E");  // no escapes in backticks: then unterminated
  EXPECT_EQ(ErrorOf("`abc"), LexError::kUnterminatedIdent);
}

TEST(MysqlLexerTest, IntroducersNationalHexBit) {
  EXPECT_EQ(Lex("_utf8mb4'x' _binary'\\''"), "W:_utf8mb4 S:'x' W:_binary S:'\\''");
  EXPECT_EQ(Lex("N'abc' n'd''e'"), "S:N'abc' S:n'd''e'");
  EXPECT_EQ(Lex("X'0aF1' x'' B'0101' b'1'"), "X:X'0aF1' X:x'' B:B'0101' B:b'1'");
  EXPECT_EQ(ErrorOf("X'0g'"), LexError::kBadHexOrBitString);
  EXPECT_EQ(ErrorOf("B'012'"), LexError::kBadHexOrBitString);
  EXPECT_EQ(ErrorOf("X'\\'"), LexError::kBadHexOrBitString);  // no escapes in hex strings
}

TEST(MysqlLexerTest, Variables) {
  EXPECT_EQ(Lex("@x @a.b$c @@global.max_connections @@sql_mode"),
            "U:@x U:@a.b$c V:@@global.max_connections V:@@sql_mode");
  EXPECT_EQ(Lex("@'quoted' @`q`"), "O:@ S:'quoted' O:@ Q:`q`");
}

TEST(MysqlLexerTest, LineComments) {
  EXPECT_EQ(Lex("SELECT 1 # comment\n, 2"), "W:SELECT N:1 ,:, N:2");
  EXPECT_EQ(Lex("SELECT 1 -- comment\n, 2"), "W:SELECT N:1 ,:, N:2");
  EXPECT_EQ(Lex("SELECT 1 --\tx\n"), "W:SELECT N:1");
  EXPECT_EQ(Lex("SELECT 1 --"), "W:SELECT N:1");  // the end counts as a control char
  // "--" without a space is two minus signs: SELECT 1--1 is arithmetic.
  EXPECT_EQ(Lex("SELECT 1--1"), "W:SELECT N:1 O:- O:- N:1");
}

TEST(MysqlLexerTest, BlockCommentsDoNotNest) {
  EXPECT_EQ(Lex("SELECT /* a /* b */ 1"), "W:SELECT N:1");
  EXPECT_EQ(Lex("DR/**/OP"), "W:DR W:OP");  // a comment splits a keyword into two words
  EXPECT_EQ(ErrorOf("SELECT /* x"), LexError::kUnterminatedComment);
  EXPECT_EQ(Lex("SELECT 2*/ 3"), "W:SELECT N:2 O:* O:/ N:3");  // */ outside a comment
}

TEST(MysqlLexerTest, ExecutableComments) {
  EXPECT_EQ(Lex("/*!DROP*/ TABLE t"), "<:/*! W:DROP >:*/ W:TABLE W:t");
  EXPECT_EQ(Lex("SELECT /*!50700 1 */", Version(80036)), "W:SELECT <:/*!50700 N:1 >:*/");
  EXPECT_EQ(Lex("SELECT /*!90000 1 */ 2", Version(80036)), "W:SELECT N:2");
  EXPECT_EQ(Lex("SELECT /*!50700 1 */", Version(0)), "W:SELECT <:/*!50700 N:1 >:*/");
  // A skipped versioned comment may hold one nested comment (the server's consume_comment).
  EXPECT_EQ(Lex("SELECT /*!90000 /* x */ DROP */ 2", Version(80036)), "W:SELECT N:2");
  EXPECT_EQ(ErrorOf("/*! SELECT 1"), LexError::kUnterminatedComment);
  EXPECT_EQ(ErrorOf("/*! /*! 1 */ */"), LexError::kNestedExecComment);
  // Inside an executed comment a plain comment ends at its own */.
  EXPECT_EQ(Lex("/*! 1 /* c */ 2 */"), "<:/*! N:1 N:2 >:*/");
}

TEST(MysqlLexerTest, UnknownVersionRefusesBoundaryGames) {
  // Executed, the string swallows "*/ DROP TABLE t; -- "; skipped, DROP is code. Refuse.
  EXPECT_EQ(ErrorOf("SELECT 1 /*!99999 ' */ DROP TABLE t; -- '*/"), LexError::kVersionAmbiguous);
  // With the version known, lex as that server does.
  EXPECT_EQ(Lex("SELECT 1 /*!99999 ' */ DROP", Version(80036)), "W:SELECT N:1 W:DROP");
  EXPECT_EQ(ErrorOf("SELECT 1 /*!50000 ' */ DROP", Version(80036)),
            LexError::kUnterminatedString);
}

TEST(MysqlLexerTest, MariadbExecutableComments) {
  EXPECT_EQ(Lex("/*M!100100 DROP */ x", Version(100611, true)), "<:/*M!100100 W:DROP >:*/ W:x");
  EXPECT_EQ(Lex("/*M!110500 DROP */ x", Version(100611, true)), "W:x");
  EXPECT_EQ(Lex("/*M! DROP */ x", Version(100611, true)), "<:/*M! W:DROP >:*/ W:x");
  EXPECT_EQ(Lex("/*M! DROP */ x", Version(80036)), "W:x");  // MySQL: an ordinary comment
}

TEST(MysqlLexerTest, OptimizerHints) {
  EXPECT_EQ(Lex("SELECT /*+ MAX_EXECUTION_TIME(10) */ 1"), "W:SELECT N:1");
  EXPECT_EQ(ErrorOf("SELECT /*+ QB_NAME(`*/ DROP TABLE t; -- `) */ 1"), LexError::kHintAmbiguous);
  EXPECT_EQ(ErrorOf("SELECT /*+ x"), LexError::kUnterminatedComment);
}

TEST(MysqlLexerTest, BadBytes) {
  EXPECT_EQ(ErrorOf(std::string_view("SELECT \0 1", 10)), LexError::kBadByte);
  EXPECT_EQ(ErrorOf("SELECT \x01"), LexError::kBadByte);
  EXPECT_EQ(Lex(std::string_view("SELECT 'a\0b'", 12)), std::string("W:SELECT S:'a\0b'", 16));
  EXPECT_EQ(Lex("SELECT \xc3\xa9t\xc3\xa9"), "W:SELECT W:\xc3\xa9t\xc3\xa9");
}

std::vector<std::string> Pieces(std::string_view text, LexMode mode = {}) {
  std::vector<Piece> pieces(16);
  const SplitResult result = Split(text, mode, pieces);
  std::vector<std::string> out;
  size_t covered = 0;
  for (size_t i = 0; i < result.count; ++i) {
    EXPECT_EQ(pieces[i].offset, covered);
    covered += pieces[i].length;
    std::string piece(text.substr(pieces[i].offset, pieces[i].length));
    if (pieces[i].flags & kPieceEmpty) {
      piece += "<empty>";
    }
    if (pieces[i].flags & kPieceLexError) {
      piece += "<error>";
    }
    out.push_back(piece);
  }
  EXPECT_EQ(covered, text.size());
  return out;
}

using Strings = std::vector<std::string>;

TEST(MysqlSplitterTest, SplitsOnTopLevelSemicolons) {
  EXPECT_EQ(Pieces("SELECT 1; SELECT 2"), (Strings{"SELECT 1;", " SELECT 2"}));
  EXPECT_EQ(Pieces("SELECT 1;  "), (Strings{"SELECT 1;  "}));
  EXPECT_EQ(Pieces("SELECT ';'; SELECT `;` # ;\n"), (Strings{"SELECT ';';", " SELECT `;` # ;\n"}));
  EXPECT_EQ(Pieces("SELECT 1;;SELECT 2"), (Strings{"SELECT 1;", ";<empty>", "SELECT 2"}));
  EXPECT_EQ(Pieces(""), (Strings{"<empty>"}));
}

TEST(MysqlSplitterTest, SemicolonsInsideExecutableCommentsCount) {
  EXPECT_EQ(Pieces("SELECT 1 /*!50000 ; DROP TABLE t */"),
            (Strings{"SELECT 1 /*!50000 ;", " DROP TABLE t */"}));
  EXPECT_EQ(Pieces("SELECT 1 /* ; DROP TABLE t */"), (Strings{"SELECT 1 /* ; DROP TABLE t */"}));
}

TEST(MysqlSplitterTest, EscapedQuoteHidingASemicolonDependsOnMode) {
  const std::string_view text = "SELECT '\\'; DROP TABLE t; -- '";
  EXPECT_EQ(Pieces(text), (Strings{"SELECT '\\'; DROP TABLE t; -- '"}));
  EXPECT_EQ(Pieces(text, NoBackslash()),
            (Strings{"SELECT '\\';", " DROP TABLE t; -- '"}));  // a trailing comment joins
}

TEST(MysqlSplitterTest, UnterminatedRunsToTheEnd) {
  EXPECT_EQ(Pieces("SELECT 1; SELECT 'x; DROP TABLE t"),
            (Strings{"SELECT 1;", " SELECT 'x; DROP TABLE t<error>"}));
}

TEST(MysqlSplitterTest, StoredProgramBodiesStayWhole) {
  EXPECT_EQ(Pieces("CREATE PROCEDURE p() BEGIN SELECT 1; IF 1 THEN DELETE FROM t; END IF; "
                   "END; SELECT 2"),
            (Strings{"CREATE PROCEDURE p() BEGIN SELECT 1; IF 1 THEN DELETE FROM t; END IF; END;",
                     " SELECT 2"}));
  EXPECT_EQ(Pieces("CREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1; SELECT 2"),
            (Strings{"CREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;",
                     " SELECT 2"}));
  EXPECT_EQ(Pieces("BEGIN; SELECT 1"), (Strings{"BEGIN;", " SELECT 1"}));
  EXPECT_EQ(Pieces("BEGIN NOT ATOMIC SELECT 1; END; SELECT 2"),
            (Strings{"BEGIN NOT ATOMIC SELECT 1; END;", " SELECT 2"}));
}

TEST(MysqlSplitterTest, OverflowPutsTheRestInTheLastPiece) {
  std::vector<Piece> pieces(2);
  const SplitResult result = Split("SELECT 1; SELECT 2; DROP TABLE t", {}, pieces);
  EXPECT_TRUE(result.overflow);
  ASSERT_EQ(result.count, 2u);
  EXPECT_EQ(pieces[1].offset + pieces[1].length, 32u);
}

TEST(MysqlFingerprintTest, LiteralsDoNotMatterShapesDo) {
  const LexMode mode;
  EXPECT_EQ(Fingerprint("SELECT * FROM t WHERE id = 1", mode),
            Fingerprint("select *  from t /* c */ where id = 'abc'", mode));
  EXPECT_EQ(Fingerprint("SELECT `t`.a FROM `t`", mode), Fingerprint("SELECT t.a FROM t", mode));
  EXPECT_EQ(Fingerprint("SELECT 0x10, X'ff'", mode), Fingerprint("SELECT 0x20, X'00'", mode));
  EXPECT_NE(Fingerprint("SELECT * FROM t", mode), Fingerprint("SELECT * FROM u", mode));
  EXPECT_NE(Fingerprint("SELECT * FROM t", mode), Fingerprint("SELECT * FROM T", mode));
  LexMode fold;
  fold.fold_identifiers = true;
  EXPECT_EQ(Fingerprint("SELECT * FROM t", fold), Fingerprint("SELECT * FROM T", fold));
  EXPECT_NE(Fingerprint("SELECT 1", mode), Fingerprint("SELECT 1, 2", mode));
  EXPECT_NE(Fingerprint("SELECT 1", mode), Fingerprint("/*!SELECT 1*/", mode));
  EXPECT_NE(Fingerprint("SELECT 'a", mode), Fingerprint("SELECT 'a'", mode));
  EXPECT_NE(Fingerprint("DELETE FROM t", mode), Fingerprint("DELETE FROM t WHERE 1", mode));
}

}  // namespace
}  // namespace jitgate::parsers::sql::mysql
