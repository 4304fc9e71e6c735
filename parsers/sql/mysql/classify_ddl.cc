// parsers/sql/mysql/classify_ddl.cc: the MySQL classifier's handlers for CREATE, ALTER, DROP,
// SET and LOAD (classify_internal.h): schema objects are kDdl (or kDestructive when data goes),
// users and roles kDcl, servers/UDF libraries/instance and global settings kAdmin. Stored
// programs are kDdl raised by what their bodies contain (VerbScan).
#include <string_view>

#include "parsers/sql/mysql/classify_internal.h"

namespace jitgate::parsers::sql::mysql::internal {
namespace {

bool EqualsFolded(std::string_view text, std::string_view upper) {
  if (text.size() != upper.size()) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 32);
    }
    if (c != upper[i]) {
      return false;
    }
  }
  return true;
}

bool StartsWithFolded(std::string_view text, std::string_view upper) {
  return text.size() >= upper.size() && EqualsFolded(text.substr(0, upper.size()), upper);
}

bool IsObjectKeyword(Keyword keyword) {
  switch (keyword) {
    case Keyword::kTable:
    case Keyword::kIndex:
    case Keyword::kView:
    case Keyword::kDatabase:
    case Keyword::kSchema:
    case Keyword::kProcedure:
    case Keyword::kFunction:
    case Keyword::kTrigger:
    case Keyword::kEvent:
    case Keyword::kUser:
    case Keyword::kRole:
    case Keyword::kServer:
    case Keyword::kTablespace:
    case Keyword::kInstance:
      return true;
    default:
      return false;
  }
}

// Skips OR REPLACE, TEMPORARY, DEFINER = ..., ALGORITHM = ..., SQL SECURITY ..., UNIQUE, ...
// up to the object keyword, which it takes and returns (kNone at the end).
Keyword TakeObject(Cursor& cursor, bool* or_replace) {
  while (!cursor.AtEnd()) {
    const Token token = cursor.Take();
    const Keyword keyword = token.kind == TokenKind::kWord ? token.keyword : Keyword::kNone;
    if (keyword == Keyword::kOr && cursor.PeekIs(Keyword::kReplace)) {
      cursor.Take();
      *or_replace = true;
      continue;
    }
    if (IsObjectKeyword(keyword)) {
      return keyword;
    }
  }
  return Keyword::kNone;
}

void SkipIfExists(Cursor& cursor) {
  if (cursor.PeekIs(Keyword::kIf)) {
    cursor.Take();
    cursor.Accept(Keyword::kNot);
    cursor.Accept(Keyword::kExists);
  }
}

void ScanRest(Ctx& ctx) { ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone); }

void CreateStoredProgram(Ctx& ctx, Keyword object) {
  ctx.Raise(StatementClass::kDdl);
  if (object == Keyword::kFunction) {  // CREATE FUNCTION f RETURNS ... SONAME 'lib.so': a UDF
    Cursor& cursor = *ctx.cursor;
    if (cursor.Peek(1).kind == TokenKind::kWord &&
        EqualsFolded(ctx.Text(cursor.Peek(1)), "RETURNS")) {
      for (size_t ahead = 2; ahead < Cursor::kLookahead; ++ahead) {
        if (cursor.PeekIs(Keyword::kSoname, ahead)) {
          ctx.Raise(StatementClass::kAdmin);
        }
      }
    }
  }
  ctx.Raise(VerbScan(ctx));  // the body runs later: creating it is as risky as what it does
}

}  // namespace

void ClassifyCreate(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  bool or_replace = false;
  const Keyword object = TakeObject(cursor, &or_replace);
  switch (object) {
    case Keyword::kTable:
      ctx.Raise(or_replace ? StatementClass::kDestructive : StatementClass::kDdl);
      SkipIfExists(cursor);
      TakeRelation(ctx, RelationAccess::kDdl);
      if (cursor.Accept(Keyword::kLike)) {
        TakeRelation(ctx, RelationAccess::kRead);
      }
      ScanRest(ctx);
      return;
    case Keyword::kIndex:
      ctx.Raise(StatementClass::kDdl);
      cursor.Take();  // the index name
      if (cursor.Accept(Keyword::kOn)) {
        TakeRelation(ctx, RelationAccess::kDdl);
      }
      ScanRest(ctx);
      return;
    case Keyword::kView:
      ctx.Raise(StatementClass::kDdl);
      SkipIfExists(cursor);
      TakeRelation(ctx, RelationAccess::kDdl);
      ScanRest(ctx);
      return;
    case Keyword::kDatabase:
    case Keyword::kSchema:
    case Keyword::kTablespace:
      ctx.Raise(or_replace ? StatementClass::kDestructive : StatementClass::kDdl);
      ScanRest(ctx);
      return;
    case Keyword::kProcedure:
    case Keyword::kFunction:
    case Keyword::kTrigger:
    case Keyword::kEvent:
      CreateStoredProgram(ctx, object);
      return;
    case Keyword::kUser:
    case Keyword::kRole:
      ctx.Raise(StatementClass::kDcl);
      ScanRest(ctx);
      return;
    case Keyword::kServer:
      ctx.Raise(StatementClass::kAdmin);  // FEDERATED / CONNECT targets
      ScanRest(ctx);
      return;
    default:
      ctx.Raise(StatementClass::kUnknown);
      return;
  }
}

void ClassifyAlter(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  bool or_replace = false;
  const Keyword object = TakeObject(cursor, &or_replace);
  switch (object) {
    case Keyword::kTable: {
      ctx.Raise(StatementClass::kDdl);
      TakeRelation(ctx, RelationAccess::kDdl);
      while (!cursor.AtEnd()) {
        const Token token = cursor.Take();
        const Keyword keyword = token.kind == TokenKind::kWord ? token.keyword : Keyword::kNone;
        if ((keyword == Keyword::kDrop && !cursor.PeekIs(Keyword::kDefault)) ||
            keyword == Keyword::kTruncate || keyword == Keyword::kDiscard) {
          ctx.Raise(StatementClass::kDestructive);  // DROP COLUMN/PARTITION, TRUNCATE PARTITION
        } else if (keyword == Keyword::kDirectory) {
          ctx.Flag(kFlagServerFile);
          ctx.Raise(StatementClass::kAdmin);
        } else if (keyword == Keyword::kRename && cursor.PeekIs(Keyword::kTo)) {
          cursor.Take();
          TakeRelation(ctx, RelationAccess::kDdl);
        }
      }
      return;
    }
    case Keyword::kUser:
    case Keyword::kRole:
      ctx.Raise(StatementClass::kDcl);
      ScanRest(ctx);
      return;
    case Keyword::kInstance:
    case Keyword::kServer:
      ctx.Raise(StatementClass::kAdmin);
      ScanRest(ctx);
      return;
    case Keyword::kEvent:
    case Keyword::kProcedure:
    case Keyword::kFunction:
      ctx.Raise(StatementClass::kDdl);
      ctx.Raise(VerbScan(ctx));
      return;
    case Keyword::kDatabase:
    case Keyword::kSchema:
    case Keyword::kView:
    case Keyword::kTablespace:
      ctx.Raise(StatementClass::kDdl);
      ScanRest(ctx);
      return;
    default:
      ctx.Raise(StatementClass::kUnknown);
      return;
  }
}

void ClassifyDrop(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  cursor.Accept(Keyword::kTemporary);
  const Token object_token = cursor.Take();
  const Keyword object =
      object_token.kind == TokenKind::kWord ? object_token.keyword : Keyword::kNone;
  switch (object) {
    case Keyword::kUser:
    case Keyword::kRole:
      ctx.Raise(StatementClass::kDcl);
      break;
    case Keyword::kPrepare:
      ctx.Raise(StatementClass::kSession);  // DROP PREPARE = DEALLOCATE PREPARE
      break;
    case Keyword::kTable:
    case Keyword::kTables:
    case Keyword::kView:
      ctx.Raise(StatementClass::kDestructive);
      SkipIfExists(cursor);
      TakeRelationList(ctx, RelationAccess::kDdl);
      break;
    case Keyword::kIndex:
      ctx.Raise(StatementClass::kDestructive);
      cursor.Take();
      if (cursor.Accept(Keyword::kOn)) {
        TakeRelation(ctx, RelationAccess::kDdl);
      }
      break;
    default:  // DATABASE, SCHEMA, PROCEDURE, FUNCTION, TRIGGER, EVENT, SERVER, anything else
      ctx.Raise(StatementClass::kDestructive);
      break;
  }
  ScanRest(ctx);
}

namespace {

// Session variables whose change is an administrative act (replication, binary log, identity).
bool IsSensitiveVariable(std::string_view name) {
  static constexpr std::string_view kSensitive[] = {
      "SQL_LOG_BIN",  "SQL_LOG_OFF",      "GTID_NEXT",           "PSEUDO_THREAD_ID",
      "PSEUDO_SLAVE_MODE", "PSEUDO_REPLICA_MODE", "DEBUG",     "GTID_SEQ_NO",
      "TIMESTAMP_ABUSE_GUARD", "SERVER_ID", "SKIP_REPLICATION", "WSREP_ON",
  };
  for (std::string_view sensitive : kSensitive) {
    if (EqualsFolded(name, sensitive)) {
      return true;
    }
  }
  return false;
}

// One `[scope] target = value` of a SET list: the class it implies.
StatementClass AssignmentClass(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  if (cursor.Accept(Keyword::kGlobal) || cursor.Accept(Keyword::kPersist) ||
      cursor.Accept(Keyword::kPersistOnly)) {
    return StatementClass::kAdmin;
  }
  if (!cursor.Accept(Keyword::kSession)) {
    cursor.Accept(Keyword::kLocal);
  }
  const Token& target = cursor.Peek();
  if (target.kind == TokenKind::kSysVar) {
    std::string_view name = ctx.Text(target).substr(2);
    if (name.empty() || StartsWithFolded(name, "GLOBAL.") || StartsWithFolded(name, "PERSIST")) {
      return StatementClass::kAdmin;
    }
    if (StartsWithFolded(name, "SESSION.")) {
      name.remove_prefix(8);
    } else if (StartsWithFolded(name, "LOCAL.")) {
      name.remove_prefix(6);
    }
    return IsSensitiveVariable(name) ? StatementClass::kAdmin : StatementClass::kSession;
  }
  if (target.kind == TokenKind::kWord && IsSensitiveVariable(ctx.Text(target))) {
    return StatementClass::kAdmin;
  }
  return StatementClass::kSession;
}

}  // namespace

void ClassifySet(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  const Keyword first = cursor.PeekKeyword();
  const Keyword second = cursor.PeekKeyword(1);
  if (first == Keyword::kRole) {
    ctx.Flag(kFlagSetRole);
    ctx.Raise(StatementClass::kAdmin);
  } else if ((first == Keyword::kDefault && second == Keyword::kRole) ||
             first == Keyword::kPassword) {
    ctx.Raise(StatementClass::kDcl);
  } else if (first == Keyword::kTransaction ||
             ((first == Keyword::kSession || first == Keyword::kLocal) &&
              second == Keyword::kTransaction)) {
    ctx.Raise(StatementClass::kTransaction);
  } else if (first == Keyword::kGlobal && second == Keyword::kTransaction) {
    ctx.Raise(StatementClass::kAdmin);
  } else if (first == Keyword::kNames || first == Keyword::kCharset ||
             first == Keyword::kCharacter) {
    ctx.Flag(kFlagLiteralDependent);  // which charset matters to the lexer (PROTOCOLS.md 5.3)
    ctx.Raise(StatementClass::kSession);
  } else if (first == Keyword::kStatement) {  // MariaDB SET STATEMENT v = x FOR <statement>
    cursor.Take();
    ctx.Raise(StatementClass::kSession);
    while (!cursor.AtEnd() && !cursor.PeekIs(Keyword::kFor)) {
      ctx.Raise(AssignmentClass(ctx));
      ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopComma | kStopFor);
      if (cursor.Peek().kind == TokenKind::kComma) {
        cursor.Take();
      }
    }
    if (!cursor.Accept(Keyword::kFor)) {
      ctx.Raise(StatementClass::kUnknown);
      return;
    }
    ClassifyStatement(ctx);
    return;
  } else {
    while (!cursor.AtEnd()) {
      ctx.Raise(AssignmentClass(ctx));
      ScanBody(ctx, VerbPolicy::kUnknown, RelationAccess::kRead, kStopComma);
      if (cursor.Peek().kind != TokenKind::kComma) {
        break;
      }
      cursor.Take();
    }
    return;
  }
  ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);
}

void ClassifyLoad(Ctx& ctx) {
  Cursor& cursor = *ctx.cursor;
  const Keyword what = cursor.PeekKeyword();
  ctx.Raise(StatementClass::kAdmin);
  if (what != Keyword::kData && what != Keyword::kXml) {
    ScanBody(ctx, VerbPolicy::kIgnore, RelationAccess::kRead, kStopNone);  // LOAD INDEX
    return;
  }
  cursor.Take();
  ctx.Flag(kFlagLoadData);
  while (!cursor.AtEnd() && !cursor.PeekIs(Keyword::kInfile)) {
    if (cursor.Take().keyword == Keyword::kLocal) {
      ctx.Flag(kFlagLoadDataLocal);
    }
  }
  while (!cursor.AtEnd()) {
    const Token token = cursor.Take();
    if (token.kind == TokenKind::kWord && token.keyword == Keyword::kTable) {
      TakeRelation(ctx, RelationAccess::kWrite);
    }
  }
}

}  // namespace jitgate::parsers::sql::mysql::internal
