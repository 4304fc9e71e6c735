// parsers/sql/mysql/classify_scan.cc: the token cursor and the body scanners the MySQL
// classifier's handlers share (classify_internal.h): relations after FROM/JOIN, function calls,
// INTO OUTFILE/DUMPFILE, WHERE presence and constant WHERE terms, statement keywords where
// none may be, and the coarse VerbScan for stored-program bodies.
#include <algorithm>
#include <array>

#include "parsers/sql/mysql/classify_internal.h"

namespace jitgate::parsers::sql::mysql {

StatementClass MoreDangerous(StatementClass a, StatementClass b) {
  // Rank by statement.h: kUnknown > kAdmin > kDestructive > kDcl > kDdl > kWrite > kSession >
  // kTransaction > kRead.
  static constexpr uint8_t kRank[kStatementClassCount] = {
      /*kRead*/ 0, /*kWrite*/ 4, /*kDdl*/ 5, /*kDcl*/ 6, /*kDestructive*/ 7, /*kAdmin*/ 8,
      /*kTransaction*/ 1, /*kSession*/ 2, /*kUnknown*/ 9};
  return kRank[static_cast<size_t>(a)] >= kRank[static_cast<size_t>(b)] ? a : b;
}

namespace internal {

Token Cursor::Pull() {
  for (;;) {
    Token token = lexer_.Next();
    switch (token.kind) {
      case TokenKind::kExecOpen:
      case TokenKind::kExecClose:
        saw_exec_ = true;
        continue;
      case TokenKind::kError:
        saw_error_ = true;
        ended_ = true;
        end_token_ = token;
        return token;
      case TokenKind::kEnd:
        ended_ = true;
        end_token_ = token;
        return token;
      case TokenKind::kSemicolon:
        if (stop_at_semicolon_) {
          stopped_at_semicolon_ = true;
          ended_ = true;
          end_token_ = token;
          end_token_.kind = TokenKind::kEnd;
          return end_token_;
        }
        return token;
      default:
        return token;
    }
  }
}

const Token& Cursor::Peek(size_t ahead) {
  while (filled_ - head_ <= ahead) {
    ring_[filled_ % kLookahead] = ended_ ? end_token_ : Pull();
    ++filled_;
  }
  return ring_[(head_ + ahead) % kLookahead];
}

Token Cursor::Take() {
  const Token token = Peek();
  if (token.kind != TokenKind::kEnd && token.kind != TokenKind::kError) {
    ++head_;
  }
  return token;
}

Keyword Cursor::PeekKeyword(size_t ahead) {
  const Token& token = Peek(ahead);
  return token.kind == TokenKind::kWord ? token.keyword : Keyword::kNone;
}

bool Cursor::Accept(Keyword keyword) {
  if (PeekKeyword() != keyword) {
    return false;
  }
  Take();
  return true;
}

bool Cursor::MoreAfterSemicolon() {
  if (!stopped_at_semicolon_) {
    return false;
  }
  for (;;) {
    const Token token = lexer_.Next();
    if (token.kind == TokenKind::kEnd) {
      return false;
    }
    if (token.kind != TokenKind::kExecOpen && token.kind != TokenKind::kExecClose &&
        token.kind != TokenKind::kSemicolon) {
      return true;
    }
  }
}

void Ctx::Raise(StatementClass raised) { statement_class = MoreDangerous(statement_class, raised); }

std::string_view DecodeQuotedIdent(std::string_view quoted, std::span<char> buffer) {
  if (quoted.size() < 2) {
    return {};
  }
  const char quote = quoted.front();
  size_t used = 0;
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    if (used == buffer.size()) {
      return {};
    }
    buffer[used++] = quoted[i];
    if (quoted[i] == quote) {
      ++i;
    }
  }
  return std::string_view(buffer.data(), used);
}

namespace {

constexpr Keyword kReservedList[] = {
    Keyword::kAdd,       Keyword::kAll,       Keyword::kAlter,      Keyword::kAnalyze,
    Keyword::kAnd,       Keyword::kAs,        Keyword::kBy,         Keyword::kCall,
    Keyword::kCase,      Keyword::kChange,    Keyword::kCharacter,  Keyword::kCheck,
    Keyword::kColumn,    Keyword::kCreate,    Keyword::kCross,      Keyword::kDatabase,
    Keyword::kDefault,   Keyword::kDelayed,   Keyword::kDelete,     Keyword::kDesc,
    Keyword::kDescribe,  Keyword::kDrop,      Keyword::kDumpfile,   Keyword::kEach,
    Keyword::kElse,      Keyword::kElseif,    Keyword::kExcept,     Keyword::kExists,
    Keyword::kExplain,   Keyword::kFalse,     Keyword::kFor,        Keyword::kFrom,
    Keyword::kGet,       Keyword::kGrant,     Keyword::kGroup,      Keyword::kHaving,
    Keyword::kHighPriority, Keyword::kIf,     Keyword::kIgnore,     Keyword::kIn,
    Keyword::kIndex,     Keyword::kInfile,    Keyword::kInner,      Keyword::kInsert,
    Keyword::kIntersect, Keyword::kInto,      Keyword::kIs,         Keyword::kIterate,
    Keyword::kJoin,      Keyword::kKey,       Keyword::kKill,       Keyword::kLeave,
    Keyword::kLeft,      Keyword::kLike,      Keyword::kLimit,      Keyword::kLoad,
    Keyword::kLock,      Keyword::kLoop,      Keyword::kLowPriority, Keyword::kNatural,
    Keyword::kNot,       Keyword::kNull,      Keyword::kOn,         Keyword::kOptimize,
    Keyword::kOr,        Keyword::kOrder,     Keyword::kOuter,      Keyword::kOutfile,
    Keyword::kPartition, Keyword::kProcedure, Keyword::kPurge,      Keyword::kRead,
    Keyword::kRecursive, Keyword::kRelease,   Keyword::kRename,     Keyword::kRepeat,
    Keyword::kReplace,   Keyword::kResignal,  Keyword::kRevoke,     Keyword::kRight,
    Keyword::kSchema,    Keyword::kSelect,    Keyword::kSet,        Keyword::kShow,
    Keyword::kSignal,    Keyword::kStraightJoin, Keyword::kTable,   Keyword::kThen,
    Keyword::kTrigger,   Keyword::kTrue,      Keyword::kUnion,      Keyword::kUnlock,
    Keyword::kUntil,     Keyword::kUpdate,    Keyword::kUse,        Keyword::kUsing,
    Keyword::kValues,    Keyword::kWhere,     Keyword::kWhile,      Keyword::kWith,
    Keyword::kXor,
};

constexpr std::array<bool, 512> BuildReserved() {
  std::array<bool, 512> table{};
  for (Keyword keyword : kReservedList) {
    table[static_cast<size_t>(keyword)] = true;
  }
  return table;
}
constexpr std::array<bool, 512> kReserved = BuildReserved();

// Keywords that double as built-in function names when '(' follows.
bool IsFunctionKeyword(Keyword keyword) {
  switch (keyword) {
    case Keyword::kInsert:
    case Keyword::kReplace:
    case Keyword::kTruncate:
    case Keyword::kIf:
    case Keyword::kLeft:
    case Keyword::kRight:
    case Keyword::kDatabase:
    case Keyword::kSchema:
    case Keyword::kUser:
    case Keyword::kCharset:
    case Keyword::kFormat:
    case Keyword::kPassword:
    case Keyword::kRepeat:
    case Keyword::kDefault:
    case Keyword::kValues:
    case Keyword::kCharacter:
      return true;
    default:
      return false;
  }
}

bool EndsWhereClause(Keyword keyword) {
  switch (keyword) {
    case Keyword::kGroup:
    case Keyword::kOrder:
    case Keyword::kLimit:
    case Keyword::kHaving:
    case Keyword::kUnion:
    case Keyword::kExcept:
    case Keyword::kIntersect:
    case Keyword::kFor:
    case Keyword::kLock:
    case Keyword::kInto:
      return true;
    default:
      return false;
  }
}

bool IsMainVerb(Keyword keyword) {
  switch (keyword) {
    case Keyword::kSelect:
    case Keyword::kUpdate:
    case Keyword::kDelete:
    case Keyword::kInsert:
    case Keyword::kReplace:
    case Keyword::kTable:
    case Keyword::kValues:
      return true;
    default:
      return false;
  }
}

// A statement keyword in a position only a statement can have. `prev` is the keyword before,
// `next_is_paren` whether '(' follows (then INSERT/REPLACE/TRUNCATE are functions).
StatementClass VerbClass(Keyword keyword, Keyword prev, bool next_is_paren) {
  switch (keyword) {
    case Keyword::kDrop:
      return StatementClass::kDestructive;
    case Keyword::kTruncate:
      return next_is_paren ? StatementClass::kRead : StatementClass::kDestructive;
    case Keyword::kDelete:
      return prev == Keyword::kOn ? StatementClass::kRead : StatementClass::kWrite;
    case Keyword::kUpdate:
      return (prev == Keyword::kFor || prev == Keyword::kOn || prev == Keyword::kKey)
                 ? StatementClass::kRead
                 : StatementClass::kWrite;
    case Keyword::kInsert:
    case Keyword::kReplace:
      return next_is_paren ? StatementClass::kRead : StatementClass::kWrite;
    case Keyword::kCreate:
    case Keyword::kAlter:
    case Keyword::kRename:
      return StatementClass::kDdl;
    case Keyword::kGrant:
    case Keyword::kRevoke:
      return StatementClass::kDcl;
    case Keyword::kLoad:
    case Keyword::kKill:
    case Keyword::kShutdown:
    case Keyword::kInstall:
    case Keyword::kUninstall:
    case Keyword::kBinlog:
    case Keyword::kOutfile:
    case Keyword::kDumpfile:
      return StatementClass::kAdmin;
    default:
      return StatementClass::kRead;
  }
}

// Takes one name part; returns its decoded text (empty when it is not a name).
std::string_view TakeNamePart(Ctx& ctx, std::span<char> buffer) {
  const Token& token = ctx.cursor->Peek();
  if (token.kind == TokenKind::kQuotedIdent) {
    const Token taken = ctx.cursor->Take();
    const std::string_view decoded = DecodeQuotedIdent(ctx.Text(taken), buffer);
    if (decoded.empty()) {
      ctx.Flag(kFlagNamesOverflow);
    }
    return decoded;
  }
  if (token.kind == TokenKind::kWord && !kReserved[static_cast<size_t>(token.keyword)]) {
    return ctx.Text(ctx.cursor->Take());
  }
  return {};
}

void HandleFunction(Ctx& ctx, std::string_view schema, std::string_view name, VerbPolicy verbs) {
  ctx.out->AddFunction(schema, name);
  switch (FunctionRiskOf(name)) {
    case FunctionRisk::kServerFile:
      ctx.Flag(kFlagServerFile);
      ctx.Raise(StatementClass::kAdmin);
      return;
    case FunctionRisk::kAdmin:
      ctx.Raise(StatementClass::kAdmin);
      return;
    case FunctionRisk::kWrite:
      ctx.Raise(StatementClass::kWrite);
      return;
    case FunctionRisk::kNone:
      break;
  }
  if (verbs == VerbPolicy::kUnknown && (!schema.empty() || !IsKnownFunction(name))) {
    ctx.Flag(kFlagDynamicSql);  // a stored function or UDF: its body may write
    ctx.Raise(StatementClass::kWrite);
  }
}

// A word at the cursor's front was just taken: is it a function call?
bool MaybeFunction(Ctx& ctx, const Token& word, VerbPolicy verbs) {
  Cursor& cursor = *ctx.cursor;
  if (word.keyword != Keyword::kNone && !IsFunctionKeyword(word.keyword)) {
    return false;
  }
  if (cursor.Peek().kind == TokenKind::kLParen) {
    if (word.keyword == Keyword::kNone || FunctionRiskOf(ctx.Text(word)) != FunctionRisk::kNone) {
      HandleFunction(ctx, {}, ctx.Text(word), verbs);
    }
    return true;
  }
  if (word.keyword == Keyword::kNone && cursor.Peek().kind == TokenKind::kDot &&
      cursor.Peek(1).kind == TokenKind::kWord && cursor.Peek(2).kind == TokenKind::kLParen) {
    cursor.Take();
    const Token name = cursor.Take();
    HandleFunction(ctx, ctx.Text(word), ctx.Text(name), verbs);
    return true;
  }
  return false;
}

struct WhereState {
  bool active = false;
  bool term_has_column = false;
  void EndTerm(ScanResult* result) {
    if (active && !term_has_column) {
      result->where_constant = true;
    }
    term_has_column = false;
  }
};

}  // namespace

bool IsReserved(Keyword keyword) { return kReserved[static_cast<size_t>(keyword)]; }

bool TakeRelation(Ctx& ctx, RelationAccess access) {
  std::array<char, 256> first_buffer;
  std::array<char, 256> second_buffer;
  const std::string_view first = TakeNamePart(ctx, first_buffer);
  if (first.empty()) {
    return false;
  }
  Cursor& cursor = *ctx.cursor;
  if (cursor.Peek().kind == TokenKind::kDot) {
    const Token& after = cursor.Peek(1);
    if (after.kind == TokenKind::kWord || after.kind == TokenKind::kQuotedIdent) {
      cursor.Take();
      const Token& part = cursor.Peek();
      std::string_view second;
      if (part.kind == TokenKind::kWord) {
        second = ctx.Text(cursor.Take());  // after '.', any word is a name
      } else {
        second = TakeNamePart(ctx, second_buffer);
      }
      ctx.out->AddRelation(first, second, access);
      return true;
    }
    if (after.kind == TokenKind::kOperator) {  // DELETE t.* FROM ...
      cursor.Take();
      cursor.Take();
    }
  }
  ctx.out->AddRelation({}, first, access);
  return true;
}

void TakeRelationList(Ctx& ctx, RelationAccess access) {
  Cursor& cursor = *ctx.cursor;
  for (;;) {
    if (!TakeRelation(ctx, access)) {
      return;
    }
    if (cursor.Accept(Keyword::kAs) ||
        (cursor.Peek().kind == TokenKind::kWord && cursor.PeekKeyword() == Keyword::kNone) ||
        cursor.Peek().kind == TokenKind::kQuotedIdent) {
      cursor.Take();  // the alias
    }
    if (cursor.Peek().kind != TokenKind::kComma) {
      return;
    }
    const Token& next = cursor.Peek(1);
    if (next.kind != TokenKind::kQuotedIdent &&
        !(next.kind == TokenKind::kWord && !IsReserved(next.keyword))) {
      return;
    }
    cursor.Take();
  }
}

ScanResult ScanBody(Ctx& ctx, VerbPolicy verbs, RelationAccess from_access, uint8_t stops) {
  Cursor& cursor = *ctx.cursor;
  ScanResult result;
  WhereState where;
  uint32_t depth = 0;
  bool in_from = false;
  Keyword prev = Keyword::kNone;
  while (!cursor.AtEnd()) {
    const Token& peeked = cursor.Peek();
    const Keyword kw = cursor.PeekKeyword();
    if (depth == 0 && (((stops & kStopComma) && peeked.kind == TokenKind::kComma) ||
                       ((stops & kStopFor) && kw == Keyword::kFor) ||
                       ((stops & kStopSet) && kw == Keyword::kSet) ||
                       ((stops & kStopVerb) && IsMainVerb(kw)))) {
      break;
    }
    const Token token = cursor.Take();
    switch (token.kind) {
      case TokenKind::kLParen:
        ++depth;
        break;
      case TokenKind::kRParen:
        depth = depth > 0 ? depth - 1 : 0;
        break;
      case TokenKind::kQuotedIdent:
        where.term_has_column = true;
        break;
      case TokenKind::kComma:
        if (depth == 0 && in_from) {  // FROM a JOIN b ON ..., c
          TakeRelationList(ctx, from_access);
        }
        break;
      case TokenKind::kOperator:
        if (depth == 0 && where.active && ctx.Text(token) == "||") {
          where.EndTerm(&result);
        }
        break;
      case TokenKind::kWord:
        break;
      default:
        break;
    }
    if (token.kind != TokenKind::kWord) {
      prev = Keyword::kNone;
      continue;
    }
    if (MaybeFunction(ctx, token, verbs)) {
      prev = token.keyword;
      continue;
    }
    switch (kw) {
      case Keyword::kNone:
        where.term_has_column = true;
        break;
      case Keyword::kFrom:
        in_from = in_from || depth == 0;
        TakeRelationList(ctx, depth == 0 ? from_access : RelationAccess::kRead);
        break;
      case Keyword::kJoin:
      case Keyword::kStraightJoin:
        TakeRelationList(ctx, depth == 0 ? from_access : RelationAccess::kRead);
        break;
      case Keyword::kInto:
        if (cursor.PeekIs(Keyword::kOutfile) || cursor.PeekIs(Keyword::kDumpfile)) {
          cursor.Take();
          ctx.Flag(kFlagIntoOutfile);
          ctx.Raise(StatementClass::kAdmin);
        }
        break;
      case Keyword::kWhere:
        if (depth == 0) {
          in_from = false;
          result.has_where = true;
          where.active = true;
          where.term_has_column = false;
        }
        break;
      case Keyword::kOr:
      case Keyword::kXor:
        if (depth == 0 && where.active) {
          where.EndTerm(&result);
        }
        break;
      case Keyword::kDirectory:  // CREATE TABLE ... DATA DIRECTORY = '/any/server/path'
        ctx.Flag(kFlagServerFile);
        ctx.Raise(StatementClass::kAdmin);
        break;
      default:
        if (depth == 0 && EndsWhereClause(kw)) {
          in_from = false;
          if (where.active) {
            where.EndTerm(&result);
            where.active = false;
          }
        }
        if (verbs == VerbPolicy::kUnknown &&
            VerbClass(kw, prev, cursor.Peek().kind == TokenKind::kLParen) !=
                StatementClass::kRead) {
          ctx.Raise(StatementClass::kUnknown);
        }
        break;
    }
    prev = kw;
  }
  where.EndTerm(&result);
  return result;
}

StatementClass VerbScan(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  StatementClass found = StatementClass::kRead;
  Keyword prev = Keyword::kNone;
  while (!cursor.AtEnd()) {
    const Token token = cursor.Take();
    const Keyword kw = token.kind == TokenKind::kWord ? token.keyword : Keyword::kNone;
    const bool next_is_paren = cursor.Peek().kind == TokenKind::kLParen;
    if (kw == Keyword::kNone && token.kind == TokenKind::kWord && next_is_paren) {
      const FunctionRisk risk = FunctionRiskOf(ctx.Text(token));
      if (risk == FunctionRisk::kServerFile) {
        ctx.Flag(kFlagServerFile);
      }
      if (risk == FunctionRisk::kServerFile || risk == FunctionRisk::kAdmin) {
        found = MoreDangerous(found, StatementClass::kAdmin);
      }
    }
    if (kw == Keyword::kPrepare || kw == Keyword::kExecute || kw == Keyword::kCall) {
      ctx.Flag(kFlagDynamicSql);
      found = MoreDangerous(found, kw == Keyword::kCall ? StatementClass::kWrite
                                                        : StatementClass::kAdmin);
    }
    if (kw == Keyword::kLoad && (cursor.PeekIs(Keyword::kData) || cursor.PeekIs(Keyword::kXml))) {
      ctx.Flag(kFlagLoadData);
    }
    if (kw == Keyword::kSet && (cursor.PeekIs(Keyword::kGlobal) || cursor.PeekIs(Keyword::kPersist))) {
      found = MoreDangerous(found, StatementClass::kAdmin);
    }
    if (kw == Keyword::kOutfile || kw == Keyword::kDumpfile) {
      ctx.Flag(kFlagIntoOutfile);
    }
    found = MoreDangerous(found, VerbClass(kw, prev, next_is_paren));
    prev = kw;
  }
  if (cursor.saw_error()) {
    found = StatementClass::kUnknown;
  }
  return found;
}

}  // namespace internal
}  // namespace jitgate::parsers::sql::mysql
