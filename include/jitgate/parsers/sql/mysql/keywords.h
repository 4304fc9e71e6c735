// jitgate/parsers/sql/mysql/keywords.h: the MySQL/MariaDB words the lexer recognises as keywords
// (only those the splitter and classifier act on; every other word is an identifier to us).
//
// The list is one X-macro, so the enum and the lookup table cannot drift. Lookup is
// case-insensitive through a constexpr open-addressing table (parsers/sql/mysql/keywords.cc),
// no allocation. Whether a word is *used* as a keyword is the classifier's business (MySQL lets
// non-reserved words be identifiers; words right after '.' are never keywords).
#ifndef JITGATE_PARSERS_SQL_MYSQL_KEYWORDS_H_
#define JITGATE_PARSERS_SQL_MYSQL_KEYWORDS_H_

#include <cstdint>
#include <string_view>

namespace jitgate::parsers::sql::mysql {

#define JG_MYSQL_KEYWORDS(X)                                                                    \
  X(Add, "ADD") X(Aggregate, "AGGREGATE") X(All, "ALL") X(Alter, "ALTER") X(Analyze, "ANALYZE") \
  X(And, "AND") X(As, "AS") X(Atomic, "ATOMIC") X(Begin, "BEGIN") X(Binlog, "BINLOG")           \
  X(By, "BY") X(Cache, "CACHE") X(Call, "CALL") X(Case, "CASE") X(Change, "CHANGE")             \
  X(Character, "CHARACTER") X(Charset, "CHARSET") X(Check, "CHECK") X(Checksum, "CHECKSUM")     \
  X(Clone, "CLONE") X(Close, "CLOSE") X(Column, "COLUMN") X(Commit, "COMMIT")                   \
  X(Component, "COMPONENT") X(Create, "CREATE") X(Cross, "CROSS") X(Data, "DATA")               \
  X(Database, "DATABASE") X(Deallocate, "DEALLOCATE") X(Default, "DEFAULT")                     \
  X(Definer, "DEFINER") X(Delayed, "DELAYED") X(Delete, "DELETE") X(Desc, "DESC")               \
  X(Describe, "DESCRIBE") X(Diagnostics, "DIAGNOSTICS") X(Directory, "DIRECTORY")               \
  X(Discard, "DISCARD") X(Do, "DO") X(Drop, "DROP") X(Dumpfile, "DUMPFILE")                     \
  X(Duplicate, "DUPLICATE") X(Else, "ELSE") X(End, "END") X(Event, "EVENT")                     \
  X(Execute, "EXECUTE") X(Explain, "EXPLAIN") X(False, "FALSE") X(Flush, "FLUSH")               \
  X(For, "FOR") X(Format, "FORMAT") X(From, "FROM") X(Function, "FUNCTION") X(Get, "GET")       \
  X(Global, "GLOBAL") X(Grant, "GRANT") X(Group, "GROUP") X(Handler, "HANDLER")                 \
  X(Having, "HAVING") X(Help, "HELP") X(HighPriority, "HIGH_PRIORITY") X(If, "IF")              \
  X(Ignore, "IGNORE") X(Immediate, "IMMEDIATE") X(Import, "IMPORT") X(In, "IN")                 \
  X(Index, "INDEX") X(Infile, "INFILE") X(Inner, "INNER") X(Insert, "INSERT")                   \
  X(Install, "INSTALL") X(Instance, "INSTANCE") X(Intersect, "INTERSECT") X(Except, "EXCEPT")   \
  X(Exists, "EXISTS") X(Elseif, "ELSEIF") X(Each, "EACH")                                         \
  X(Into, "INTO") X(Is, "IS") X(Iterate, "ITERATE") X(Join, "JOIN") X(Key, "KEY")               \
  X(Kill, "KILL") X(Leave, "LEAVE") X(Left, "LEFT") X(Like, "LIKE") X(Limit, "LIMIT")           \
  X(Load, "LOAD") X(Local, "LOCAL") X(Lock, "LOCK") X(Loop, "LOOP")                             \
  X(LowPriority, "LOW_PRIORITY") X(Master, "MASTER") X(Names, "NAMES") X(Natural, "NATURAL")    \
  X(Not, "NOT") X(Null, "NULL") X(On, "ON") X(Open, "OPEN") X(Optimize, "OPTIMIZE") X(Or, "OR") \
  X(Order, "ORDER") X(Outer, "OUTER") X(Outfile, "OUTFILE") X(Partition, "PARTITION")           \
  X(Password, "PASSWORD") X(Persist, "PERSIST") X(PersistOnly, "PERSIST_ONLY")                  \
  X(Plugin, "PLUGIN") X(Prepare, "PREPARE") X(Procedure, "PROCEDURE") X(Purge, "PURGE")         \
  X(Quick, "QUICK") X(Read, "READ") X(Recursive, "RECURSIVE") X(Release, "RELEASE")             \
  X(Rename, "RENAME") X(Repair, "REPAIR") X(Repeat, "REPEAT") X(Replace, "REPLACE")             \
  X(Replica, "REPLICA") X(Replication, "REPLICATION") X(Reset, "RESET") X(Resignal, "RESIGNAL") \
  X(Restart, "RESTART") X(Return, "RETURN") X(Revoke, "REVOKE") X(Right, "RIGHT")               \
  X(Role, "ROLE") X(Rollback, "ROLLBACK") X(Row, "ROW") X(Savepoint, "SAVEPOINT")               \
  X(Schema, "SCHEMA") X(Select, "SELECT") X(Server, "SERVER") X(Session, "SESSION")             \
  X(Set, "SET") X(Show, "SHOW") X(Shutdown, "SHUTDOWN") X(Signal, "SIGNAL") X(Slave, "SLAVE")   \
  X(Soname, "SONAME") X(Start, "START") X(Statement, "STATEMENT") X(Stop, "STOP")               \
  X(StraightJoin, "STRAIGHT_JOIN") X(Table, "TABLE") X(Tables, "TABLES")                        \
  X(Tablespace, "TABLESPACE") X(Temporary, "TEMPORARY") X(Then, "THEN") X(To, "TO")                         \
  X(Transaction, "TRANSACTION") X(Trigger, "TRIGGER") X(True, "TRUE") X(Truncate, "TRUNCATE")   \
  X(Uninstall, "UNINSTALL") X(Union, "UNION") X(Unlock, "UNLOCK") X(Until, "UNTIL")             \
  X(Update, "UPDATE") X(Use, "USE") X(User, "USER") X(Using, "USING") X(Value, "VALUE")         \
  X(Values, "VALUES") X(View, "VIEW") X(Where, "WHERE") X(While, "WHILE") X(With, "WITH")       \
  X(Work, "WORK") X(Xa, "XA") X(Xml, "XML") X(Xor, "XOR")

enum class Keyword : uint16_t {
  kNone,
#define JG_MYSQL_KEYWORD_ENUM(id, text) k##id,
  JG_MYSQL_KEYWORDS(JG_MYSQL_KEYWORD_ENUM)
#undef JG_MYSQL_KEYWORD_ENUM
};

// The keyword `word` spells (ASCII case-insensitive), or Keyword::kNone.
Keyword LookupKeyword(std::string_view word);

// The upper-case spelling of a keyword ("" for kNone).
std::string_view KeywordText(Keyword keyword);

}  // namespace jitgate::parsers::sql::mysql

#endif  // JITGATE_PARSERS_SQL_MYSQL_KEYWORDS_H_
