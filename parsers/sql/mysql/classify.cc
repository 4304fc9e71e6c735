// parsers/sql/mysql/classify.cc: the MySQL/MariaDB classifier's entry points
// (jitgate/parsers/sql/mysql/classify.h), the dispatch on a statement's leading keyword, and the
// read / DML / transaction / PREPARE handlers. DDL, DCL, SET and LOAD live in classify_ddl.cc,
// the shared scanners in classify_scan.cc.
//
// Every handler ends with the cursor at the end of the statement or leaves the rest to
// ScanBody, so nothing after the leading words goes unseen. A piece that swallowed a ';' (a
// stored-program body, or a splitter miscount) is also run through VerbScan as a whole.
#include "jitgate/parsers/sql/mysql/classify.h"

#include <array>

#include "parsers/sql/mysql/classify_internal.h"

namespace jitgate::parsers::sql::mysql {
namespace internal {
namespace {

void Set(Ctx& ctx, StatementClass statement_class) { ctx.Raise(statement_class); }

void ClassifySelect(Ctx& ctx) {
  ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopNone);
}

// UPDATE/DELETE: no WHERE (or a WHERE without a column) is destructive.
void ApplyWhere(Ctx& ctx, const ScanResult& scan) {
  if (!scan.has_where || scan.where_constant) {
    ctx.Flag(kFlagNoWhere);
    Set(ctx, StatementClass::kDestructive);
  } else {
    Set(ctx, StatementClass::kWrite);
  }
}

void SkipModifiers(Cursor& cursor) {
  while (cursor.Accept(Keyword::kLowPriority) || cursor.Accept(Keyword::kHighPriority) ||
         cursor.Accept(Keyword::kDelayed) || cursor.Accept(Keyword::kIgnore) ||
         cursor.Accept(Keyword::kQuick)) {
  }
}

void ClassifyInsert(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  SkipModifiers(cursor);
  cursor.Accept(Keyword::kInto);
  if (!TakeRelation(ctx, RelationAccess::kWrite)) {
    Set(ctx, StatementClass::kUnknown);
  }
  Set(ctx, StatementClass::kWrite);
  ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopNone);
}

void ClassifyUpdate(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  SkipModifiers(cursor);
  // The tables before SET (joins included) are all written, as far as we can tell.
  TakeRelationList(ctx, RelationAccess::kWrite);
  ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kWrite, kStopSet);
  if (!cursor.Accept(Keyword::kSet)) {
    Set(ctx, StatementClass::kUnknown);
  }
  ApplyWhere(ctx, ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopNone));
}

void ClassifyDelete(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  SkipModifiers(cursor);
  if (cursor.Accept(Keyword::kFrom)) {
    TakeRelationList(ctx, RelationAccess::kWrite);  // DELETE FROM t[, u USING ...]
  } else {
    TakeRelationList(ctx, RelationAccess::kWrite);  // DELETE t1, t2 FROM t1 JOIN t2 ...
    if (!cursor.PeekIs(Keyword::kFrom)) {
      Set(ctx, StatementClass::kUnknown);
    }
  }
  ApplyWhere(ctx, ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopNone));
}

// WITH [RECURSIVE] cte AS (...), ... <SELECT | UPDATE | DELETE | TABLE | VALUES>.
void ClassifyWith(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  cursor.Accept(Keyword::kRecursive);
  // CTE names and column lists sit at depth 0, bodies in parentheses; both are scanned.
  while (!cursor.AtEnd()) {
    if (cursor.Peek().kind == TokenKind::kWord && cursor.Peek(1).kind == TokenKind::kLParen &&
        cursor.PeekKeyword() == Keyword::kNone) {
      cursor.Take();  // cte(col, ...): a name, not a function call
      continue;
    }
    ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopVerb | kStopComma);
    if (cursor.Peek().kind == TokenKind::kComma) {
      cursor.Take();
      continue;
    }
    break;
  }
  const Token verb = cursor.Take();
  switch (verb.kind == TokenKind::kWord ? verb.keyword : Keyword::kNone) {
    case Keyword::kSelect:
    case Keyword::kTable:
    case Keyword::kValues:
      ClassifySelect(ctx);
      return;
    case Keyword::kUpdate:
      ctx.Flag(kFlagCteWrite);
      ClassifyUpdate(ctx);
      return;
    case Keyword::kDelete:
      ctx.Flag(kFlagCteWrite);
      ClassifyDelete(ctx);
      return;
    default:
      Set(ctx, StatementClass::kUnknown);
      return;
  }
}

// EXPLAIN / DESCRIBE / DESC: read unless ANALYZE, which runs the statement.
void ClassifyExplain(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  bool analyze = false;
  for (;;) {
    if (cursor.Accept(Keyword::kAnalyze)) {
      analyze = true;
    } else if (cursor.Accept(Keyword::kFormat)) {
      if (cursor.Peek().kind == TokenKind::kOperator) {
        cursor.Take();
      }
      cursor.Take();
    } else if (cursor.PeekKeyword() == Keyword::kNone && cursor.Peek().kind == TokenKind::kWord &&
               cursor.Peek(1).kind == TokenKind::kWord) {
      cursor.Take();  // EXTENDED, PARTITIONS
    } else {
      break;
    }
  }
  const Keyword inner = cursor.PeekKeyword();
  const bool statement = inner == Keyword::kSelect || inner == Keyword::kInsert ||
                         inner == Keyword::kUpdate || inner == Keyword::kDelete ||
                         inner == Keyword::kReplace || inner == Keyword::kWith ||
                         inner == Keyword::kTable || inner == Keyword::kValues ||
                         cursor.Peek().kind == TokenKind::kLParen;
  if (analyze) {
    ClassifyStatement(ctx);
    return;
  }
  if (!statement) {  // EXPLAIN t, DESCRIBE t [col], EXPLAIN FOR CONNECTION n
    TakeRelation(ctx, RelationAccess::kRead);
    ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
    return;
  }
  // Not executed: the statement's own class does not apply, but what functions reveal does
  // (the optimizer may evaluate constant subqueries).
  Ctx inner_ctx(ctx.cursor, ctx.out, ctx.mode, ctx.nesting);
  ClassifyStatement(inner_ctx);
  if (inner_ctx.statement_class == StatementClass::kUnknown ||
      (ctx.out->flags & (kFlagServerFile | kFlagIntoOutfile))) {
    Set(ctx, inner_ctx.statement_class);
  }
  ctx.out->flags &= ~kFlagNoWhere;
}

void ClassifyAnalyze(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  const Keyword next = cursor.PeekKeyword();
  if (next == Keyword::kTable || next == Keyword::kLocal ||
      (cursor.Peek().kind == TokenKind::kWord && next == Keyword::kNone)) {
    Set(ctx, StatementClass::kDdl);  // ANALYZE [NO_WRITE_TO_BINLOG | LOCAL] TABLE t
    while (!cursor.AtEnd() && !cursor.PeekIs(Keyword::kTable)) {
      cursor.Take();
    }
    cursor.Accept(Keyword::kTable);
    TakeRelationList(ctx, RelationAccess::kDdl);
    ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
    return;
  }
  if (cursor.Accept(Keyword::kFormat)) {  // MariaDB ANALYZE FORMAT=JSON <statement>
    cursor.Take();
    cursor.Take();
  }
  ClassifyStatement(ctx);  // MariaDB ANALYZE <statement> runs it
}

void ClassifyHandler(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  TakeRelation(ctx, RelationAccess::kRead);
  const Keyword action = cursor.PeekKeyword();
  if (action != Keyword::kOpen && action != Keyword::kRead && action != Keyword::kClose) {
    Set(ctx, StatementClass::kUnknown);
  }
  ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopNone);
}

void ClassifyCall(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  const Token& name = cursor.Peek();
  if (name.kind == TokenKind::kWord || name.kind == TokenKind::kQuotedIdent) {
    const Token first = cursor.Take();
    if (cursor.Peek().kind == TokenKind::kDot && cursor.Peek(1).kind == TokenKind::kWord) {
      cursor.Take();
      ctx.out->AddFunction(ctx.Text(first), ctx.Text(cursor.Take()));
    } else {
      ctx.out->AddFunction({}, ctx.Text(first));
    }
  }
  ctx.Flag(kFlagDynamicSql);  // the procedure body is not visible
  Set(ctx, StatementClass::kWrite);
  ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopNone);
}

// Leading words that decide alone, and the rest of the statement holds no statement keyword.
void ClassifySimple(Ctx& ctx, StatementClass statement_class) {
  Set(ctx, statement_class);
  ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopNone);
}

void ClassifyAdmin(Ctx& ctx) {
  Set(ctx, StatementClass::kAdmin);
  ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
}

void ClassifyBegin(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  if (cursor.PeekIs(Keyword::kNot)) {  // MariaDB BEGIN NOT ATOMIC ... END: a program
    Set(ctx, StatementClass::kUnknown);
    return;
  }
  cursor.Accept(Keyword::kWork);
  ClassifySimple(ctx, StatementClass::kTransaction);
}

void ClassifyStartStop(Ctx& ctx, bool start) {
  Cursor& cursor = *ctx.cursor;
  if (start && cursor.Accept(Keyword::kTransaction)) {
    ClassifySimple(ctx, StatementClass::kTransaction);
    return;
  }
  ClassifyAdmin(ctx);  // START/STOP SLAVE | REPLICA | GROUP_REPLICATION
}

void ClassifyLock(Ctx& ctx, bool lock) {
  Cursor& cursor = *ctx.cursor;
  if (cursor.Accept(Keyword::kInstance)) {
    ClassifyAdmin(ctx);  // LOCK INSTANCE FOR BACKUP
    return;
  }
  Set(ctx, StatementClass::kTransaction);
  if (lock && (cursor.Accept(Keyword::kTables) || cursor.Accept(Keyword::kTable))) {
    TakeRelationList(ctx, RelationAccess::kRead);
  }
  ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
}

void ClassifyPrepare(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  cursor.Take();  // the statement name
  if (!cursor.Accept(Keyword::kFrom)) {
    Set(ctx, StatementClass::kUnknown);
    return;
  }
  ClassifyPreparedSource(ctx);
}

void ClassifyExecute(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  if (cursor.Accept(Keyword::kImmediate)) {  // MariaDB EXECUTE IMMEDIATE <expr>
    ClassifyPreparedSource(ctx);
    return;
  }
  ctx.Flag(kFlagDynamicSql);  // which statement runs is session state we do not track here
  ClassifyAdmin(ctx);
}

void ClassifyByKeyword(Ctx& ctx, Keyword keyword) {
  switch (keyword) {
    case Keyword::kSelect:
    case Keyword::kTable:
    case Keyword::kValues:
      return ClassifySelect(ctx);
    case Keyword::kWith:
      return ClassifyWith(ctx);
    case Keyword::kInsert:
    case Keyword::kReplace:
      return ClassifyInsert(ctx);
    case Keyword::kUpdate:
      return ClassifyUpdate(ctx);
    case Keyword::kDelete:
      return ClassifyDelete(ctx);
    case Keyword::kShow:
    case Keyword::kHelp:
      Set(ctx, StatementClass::kRead);
      ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
      return;
    case Keyword::kExplain:
    case Keyword::kDescribe:
    case Keyword::kDesc:
      return ClassifyExplain(ctx);
    case Keyword::kAnalyze:
      return ClassifyAnalyze(ctx);
    case Keyword::kHandler:
      return ClassifyHandler(ctx);
    case Keyword::kCall:
      return ClassifyCall(ctx);
    case Keyword::kDo:
      return ClassifySimple(ctx, StatementClass::kWrite);
    case Keyword::kCreate:
      return ClassifyCreate(ctx);
    case Keyword::kAlter:
      return ClassifyAlter(ctx);
    case Keyword::kDrop:
      return ClassifyDrop(ctx);
    case Keyword::kTruncate:
      ctx.cursor->Accept(Keyword::kTable);
      Set(ctx, StatementClass::kDestructive);
      TakeRelation(ctx, RelationAccess::kDdl);
      ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
      return;
    case Keyword::kRename:
      if (ctx.cursor->PeekIs(Keyword::kUser)) {
        Set(ctx, StatementClass::kDcl);
        ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
        return;
      }
      Set(ctx, ctx.cursor->Accept(Keyword::kTable) ? StatementClass::kDdl
                                                   : StatementClass::kUnknown);
      while (!ctx.cursor->AtEnd()) {
        if (!TakeRelation(ctx, RelationAccess::kDdl)) {
          ctx.cursor->Take();  // TO, ','
        }
      }
      return;
    case Keyword::kOptimize:
    case Keyword::kRepair:
    case Keyword::kCheck:
    case Keyword::kChecksum:
      Set(ctx, StatementClass::kDdl);
      while (!ctx.cursor->AtEnd() && !ctx.cursor->Accept(Keyword::kTable)) {
        ctx.cursor->Take();
      }
      TakeRelationList(ctx, RelationAccess::kDdl);
      ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
      return;
    case Keyword::kGrant:
    case Keyword::kRevoke:
      Set(ctx, StatementClass::kDcl);
      ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
      return;
    case Keyword::kSet:
      return ClassifySet(ctx);
    case Keyword::kLoad:
      return ClassifyLoad(ctx);
    case Keyword::kKill:
    case Keyword::kShutdown:
    case Keyword::kRestart:
    case Keyword::kFlush:
    case Keyword::kReset:
    case Keyword::kPurge:
    case Keyword::kChange:
    case Keyword::kInstall:
    case Keyword::kUninstall:
    case Keyword::kBinlog:
    case Keyword::kClone:
    case Keyword::kImport:
    case Keyword::kCache:
      return ClassifyAdmin(ctx);
    case Keyword::kStart:
      return ClassifyStartStop(ctx, true);
    case Keyword::kStop:
      return ClassifyStartStop(ctx, false);
    case Keyword::kBegin:
      return ClassifyBegin(ctx);
    case Keyword::kCommit:
    case Keyword::kRollback:
    case Keyword::kSavepoint:
    case Keyword::kRelease:
    case Keyword::kXa:
      return ClassifySimple(ctx, StatementClass::kTransaction);
    case Keyword::kLock:
      return ClassifyLock(ctx, true);
    case Keyword::kUnlock:
      return ClassifyLock(ctx, false);
    case Keyword::kUse:
    case Keyword::kSignal:
    case Keyword::kResignal:
    case Keyword::kGet:
      return ClassifySimple(ctx, StatementClass::kSession);
    case Keyword::kDeallocate:
      return ClassifySimple(ctx, StatementClass::kSession);
    case Keyword::kPrepare:
      return ClassifyPrepare(ctx);
    case Keyword::kExecute:
      return ClassifyExecute(ctx);
    default:
      Set(ctx, StatementClass::kUnknown);
      return;
  }
}

}  // namespace

void ClassifyStatement(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  size_t parens = 0;
  while (cursor.Peek().kind == TokenKind::kLParen) {  // (SELECT ...) UNION (SELECT ...)
    cursor.Take();
    ++parens;
  }
  const Token first = cursor.Take();
  const Keyword keyword = first.kind == TokenKind::kWord ? first.keyword : Keyword::kNone;
  if (ctx.out->command.empty()) {
    ctx.out->command = KeywordText(keyword);
  }
  if (keyword == Keyword::kNone || (parens > 0 && keyword != Keyword::kSelect &&
                                    keyword != Keyword::kWith && keyword != Keyword::kTable &&
                                    keyword != Keyword::kValues)) {
    Set(ctx, StatementClass::kUnknown);
    return;
  }
  ClassifyByKeyword(ctx, keyword);
}

namespace {

// Decodes a string literal token (backslash escapes per mode, doubled quotes) into `buffer`.
// Returns false when it does not fit.
bool DecodeString(std::string_view literal, LexMode mode, std::span<char> buffer, size_t* size) {
  if (!literal.empty() && (literal.front() == 'N' || literal.front() == 'n')) {
    literal.remove_prefix(1);
  }
  const char quote = literal.front();
  size_t used = 0;
  for (size_t i = 1; i + 1 < literal.size(); ++i) {
    char c = literal[i];
    if (c == '\\' && !mode.no_backslash_escapes) {
      const char escaped = literal[++i];
      switch (escaped) {
        case '0': c = '\0'; break;
        case 'b': c = '\b'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'Z': c = '\x1a'; break;
        case '%':
        case '_':  // kept with their backslash
          if (used == buffer.size()) {
            return false;
          }
          buffer[used++] = '\\';
          c = escaped;
          break;
        default: c = escaped; break;
      }
    } else if (c == quote) {
      ++i;  // doubled quote
    }
    if (used == buffer.size()) {
      return false;
    }
    buffer[used++] = c;
  }
  *size = used;
  return true;
}

}  // namespace

void ClassifyPreparedSource(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  ctx.Flag(kFlagDynamicSql);
  const Token& source = cursor.Peek();
  const bool literal = source.kind == TokenKind::kString && cursor.Peek(1).kind == TokenKind::kEnd;
  if (!literal || ctx.nesting > 0) {
    ClassifyAdmin(ctx);  // PREPARE s FROM @var, EXECUTE IMMEDIATE CONCAT(...): not visible
    return;
  }
  const Token token = cursor.Take();
  std::array<char, kPreparedTextMax> buffer;
  size_t size = 0;
  if (!DecodeString(ctx.Text(token), ctx.mode, buffer, &size)) {
    ctx.Flag(kFlagTooLong);
    Set(ctx, StatementClass::kUnknown);
    return;
  }
  ctx.Flag(kFlagLiteralDependent);
  const std::string_view text(buffer.data(), size);
  std::array<Piece, 4> pieces;
  const SplitResult split = Split(text, ctx.mode, pieces);
  if (split.overflow || split.count != 1) {
    Set(ctx, StatementClass::kUnknown);  // a prepared statement is exactly one statement
  }
  for (size_t i = 0; i < split.count; ++i) {
    Cursor inner_cursor(PieceLexer(text, pieces[i], ctx.mode));
    Ctx inner(&inner_cursor, ctx.out, ctx.mode, ctx.nesting + 1);
    ClassifyStatement(inner);
    if (inner_cursor.saw_error() || !inner_cursor.AtEnd()) {
      inner.Raise(StatementClass::kUnknown);
    }
    if (inner_cursor.saw_exec()) {
      ctx.Flag(kFlagExecutableComment);
    }
    Set(ctx, inner.statement_class);
  }
}

}  // namespace internal

using internal::Ctx;
using internal::Cursor;

void ClassifyPiece(std::string_view text, const Piece& piece, LexMode mode, Statement* out) {
  out->Reset();
  out->offset = piece.offset;
  out->length = piece.length;
  Cursor cursor(PieceLexer(text, piece, mode));
  Ctx ctx(&cursor, out, mode, 0);
  if (piece.flags & (kPieceEmpty | kPieceLexError)) {
    ctx.Raise(StatementClass::kUnknown);
  }
  internal::ClassifyStatement(ctx);
  if (cursor.saw_error()) {
    ctx.Raise(StatementClass::kUnknown);
  }
  if (cursor.MoreAfterSemicolon()) {  // a body with ';' inside: scan all of it coarsely
    Cursor whole(PieceLexer(text, piece, mode), /*stop_at_semicolon=*/false);
    Ctx coarse(&whole, out, mode, 0);
    ctx.Raise(internal::VerbScan(coarse));
  }
  if (cursor.saw_exec()) {
    out->flags |= kFlagExecutableComment;
  }
  out->statement_class = ctx.statement_class;
}

ClassifyResult ClassifyAll(std::string_view text, LexMode mode, std::span<Piece> pieces,
                           std::span<Statement> out) {
  ClassifyResult result;
  const size_t capacity = pieces.size() < out.size() ? pieces.size() : out.size();
  const SplitResult split = Split(text, mode, pieces.first(capacity));
  result.overflow = split.overflow;
  for (size_t i = 0; i < split.count; ++i) {
    ClassifyPiece(text, pieces[i], mode, &out[i]);
    if (split.count > 1) {
      out[i].flags |= kFlagMultiStatement;
    }
  }
  result.count = split.count;
  return result;
}

void ClassifyText(std::string_view text, LexMode mode, Statement* out) {
  std::array<Piece, kStatementsMax> pieces;
  const SplitResult split = Split(text, mode, pieces);
  if (split.count == 1 && !split.overflow) {  // the common case: no merging needed
    ClassifyPiece(text, pieces[0], mode, out);
    return;
  }
  Statement one;
  out->Reset();
  out->length = static_cast<uint32_t>(text.size());
  StatementClass combined = StatementClass::kRead;
  for (size_t i = 0; i < split.count; ++i) {
    ClassifyPiece(text, pieces[i], mode, &one);
    combined = MoreDangerous(combined, one.statement_class);
    out->flags |= one.flags;
    if (i == 0) {
      out->command = one.command;
    }
    for (uint8_t r = 0; r < one.relation_count; ++r) {
      out->AddRelation(one.relations[r].name.schema, one.relations[r].name.name,
                       one.relations[r].access);
    }
    for (uint8_t f = 0; f < one.function_count; ++f) {
      out->AddFunction(one.functions[f].schema, one.functions[f].name);
    }
  }
  if (split.count > 1) {
    out->flags |= kFlagMultiStatement;
  }
  if (split.overflow || split.count == 0) {
    combined = StatementClass::kUnknown;
  }
  out->statement_class = combined;
}

}  // namespace jitgate::parsers::sql::mysql
