// parsers/sql/mysql/classify_internal.h: what the classifier's files share (private): the token
// cursor with bounded lookahead, the per-statement context, and the scanning helpers.
//
// classify.cc dispatches on the leading keyword; classify_ddl.cc handles CREATE/ALTER/DROP/
// SET/...; classify_scan.cc walks statement bodies (relations, functions, WHERE, INTO, verbs);
// functions.cc knows the built-in and dangerous function names.
// Cursor invariant: head_ <= filled_ <= head_ + kLookahead.
#ifndef JITGATE_PARSERS_SQL_MYSQL_CLASSIFY_INTERNAL_H_
#define JITGATE_PARSERS_SQL_MYSQL_CLASSIFY_INTERNAL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/sql/mysql/classify.h"
#include "jitgate/parsers/sql/mysql/lexer.h"
#include "jitgate/parsers/sql/statement.h"

namespace jitgate::parsers::sql::mysql::internal {

// Tokens of one statement with up to kLookahead tokens of lookahead. Executable comment
// boundaries are dropped (and remembered); the first ';' ends the stream (and is remembered).
class Cursor {
 public:
  static constexpr size_t kLookahead = 8;
  explicit Cursor(Lexer lexer, bool stop_at_semicolon = true)
      : lexer_(lexer), stop_at_semicolon_(stop_at_semicolon) {}

  const Token& Peek(size_t ahead = 0);
  Token Take();
  bool AtEnd() { return Peek().kind == TokenKind::kEnd || Peek().kind == TokenKind::kError; }
  // The keyword of a word token (never of a word right after '.'), else kNone.
  Keyword PeekKeyword(size_t ahead = 0);
  bool PeekIs(Keyword keyword, size_t ahead = 0) { return PeekKeyword(ahead) == keyword; }
  // Takes the next token if it is `keyword`.
  bool Accept(Keyword keyword);
  std::string_view Text(const Token& token) const { return lexer_.TokenText(token); }

  bool saw_exec() const { return saw_exec_; }
  bool saw_error() const { return saw_error_; }
  bool stopped_at_semicolon() const { return stopped_at_semicolon_; }
  LexError error() const { return lexer_.error(); }
  // After the stream ended at a ';': whether any token follows it in the piece.
  bool MoreAfterSemicolon();

 private:
  Token Pull();

  Lexer lexer_;
  bool stop_at_semicolon_;
  Token end_token_{};
  std::array<Token, kLookahead> ring_{};
  size_t head_ = 0;
  size_t filled_ = 0;
  bool ended_ = false;
  bool saw_exec_ = false;
  bool saw_error_ = false;
  bool stopped_at_semicolon_ = false;
};

// What a statement has done so far. The class is the most dangerous seen.
struct Ctx {
  Ctx(Cursor* cursor_in, Statement* out_in, LexMode mode_in, int nesting_in)
      : cursor(cursor_in), out(out_in), mode(mode_in), nesting(nesting_in) {}

  void Raise(StatementClass statement_class);
  void Flag(uint32_t flag) { out->flags |= flag; }
  std::string_view Text(const Token& token) const { return cursor->Text(token); }

  Cursor* cursor;
  Statement* out;
  LexMode mode;
  int nesting;  // 0 for the statement itself, 1 inside a PREPARE literal
  StatementClass statement_class = StatementClass::kRead;
};

// How ScanBody treats statement keywords (DELETE, DROP, ...) it meets.
enum class VerbPolicy : uint8_t {
  kUnknown,  // a read or DML body cannot hold one: the statement is kUnknown
  kIgnore,   // DDL, SHOW, GRANT: the words are part of its syntax
};

// Where ScanBody stops, beyond the end of the statement (always at depth 0).
enum ScanStop : uint8_t {
  kStopNone = 0,
  kStopComma = 1u << 0,  // SET a = 1, b = 2
  kStopVerb = 1u << 1,   // WITH ... <SELECT|UPDATE|DELETE|...>
  kStopFor = 1u << 2,    // MariaDB SET STATEMENT ... FOR <statement>
  kStopSet = 1u << 3,    // UPDATE <tables> SET
};

struct ScanResult {
  bool has_where = false;
  bool where_constant = false;  // WHERE (or one of its OR terms) names no column
};

// Walks tokens to the end (or a stop): parens, FROM/JOIN relations (`from_access`), INTO
// OUTFILE/DUMPFILE, function calls, WHERE at depth 0.
ScanResult ScanBody(Ctx& ctx, VerbPolicy verbs, RelationAccess from_access, uint8_t stops);

// Takes a possibly qualified name (word or `quoted`, optionally `.` name) and adds it as a
// relation; false (nothing taken) when the next token is not a name.
bool TakeRelation(Ctx& ctx, RelationAccess access);
// Takes a comma-separated list of table references with optional aliases.
void TakeRelationList(Ctx& ctx, RelationAccess access);

// The most dangerous class the statement keywords in the rest of the cursor imply (for stored
// program bodies and pieces that swallowed a ';'); sets flags it finds (LOAD DATA, PREPARE...).
StatementClass VerbScan(Ctx& ctx);

// Dispatches on the leading keyword at the cursor (classify.cc).
void ClassifyStatement(Ctx& ctx);
// Handlers in classify_ddl.cc.
void ClassifyCreate(Ctx& ctx);
void ClassifyAlter(Ctx& ctx);
void ClassifyDrop(Ctx& ctx);
void ClassifySet(Ctx& ctx);
void ClassifyLoad(Ctx& ctx);
// PREPARE / EXECUTE IMMEDIATE: the cursor is at the source (classify.cc).
void ClassifyPreparedSource(Ctx& ctx);

// functions.cc: a built-in function (or syntax word that takes parentheses).
bool IsKnownFunction(std::string_view name);
enum class FunctionRisk : uint8_t { kNone, kServerFile, kAdmin, kWrite };
FunctionRisk FunctionRiskOf(std::string_view name);

// Decodes a quoted identifier (strips quotes, undoubles) into `buffer`; returns the view.
std::string_view DecodeQuotedIdent(std::string_view quoted, std::span<char> buffer);
// True for keywords MySQL reserves (cannot name a table unquoted), of those we know.
bool IsReserved(Keyword keyword);

}  // namespace jitgate::parsers::sql::mysql::internal

#endif  // JITGATE_PARSERS_SQL_MYSQL_CLASSIFY_INTERNAL_H_
