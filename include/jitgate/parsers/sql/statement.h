// jitgate/parsers/sql/statement.h: what the SQL classifiers of both dialects report about one
// statement. The contract the policy table (src/policy) builds on.
//
// Producers: parsers/sql/pg_classify (libpg_query's PostgreSQL 15 parser is the authority) and
// parsers/sql/mysql_classify (our own, on our lexer). Both fill a caller-provided Statement:
// fixed capacity, no allocation; names are copied (normalized) into its own storage, so a
// Statement outlives the text it describes. Overflow of any list is reported (kFlagNamesOverflow),
// never truncated silently. Anything not understood is kUnknown, never kRead.
#ifndef JITGATE_PARSERS_SQL_STATEMENT_H_
#define JITGATE_PARSERS_SQL_STATEMENT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace jitgate::parsers::sql {

enum class Dialect : uint8_t { kPostgres, kMysql };

// One class per statement. When a statement does several things (a CTE that writes, a SELECT
// that calls a file function), the class is the most dangerous one, in this order:
// kAdmin > kDestructive > kDcl > kDdl > kWrite > kSession > kTransaction > kRead; kUnknown wins
// over all.
enum class StatementClass : uint8_t {
  kRead,         // SELECT, SHOW, EXPLAIN (without ANALYZE of a write), VALUES, TABLE
  kWrite,        // INSERT, UPDATE/DELETE with WHERE, MERGE, COPY FROM STDIN, REPLACE, CALL
  kDdl,          // CREATE/ALTER (not SYSTEM)/COMMENT/... of schema objects
  kDcl,          // GRANT, REVOKE, CREATE/ALTER/DROP ROLE|USER, ALTER DEFAULT PRIVILEGES
  kDestructive,  // DROP, TRUNCATE, DELETE or UPDATE without WHERE
  kAdmin,        // ALTER SYSTEM, COPY PROGRAM / server files, SET ROLE / SESSION AUTHORIZATION,
                 // LOAD DATA (LOCAL) INFILE, INTO OUTFILE/DUMPFILE, server file functions,
                 // dynamic SQL that cannot be seen into, SET GLOBAL, KILL, SHUTDOWN, ...
  kTransaction,  // BEGIN, COMMIT, ROLLBACK, SAVEPOINT, START TRANSACTION, PREPARE TRANSACTION
  kSession,      // SET (session-local), RESET, DISCARD, USE, DEALLOCATE, LISTEN, ...
  kUnknown,      // could not be parsed or is not understood: policy default is to refuse
};

inline constexpr size_t kStatementClassCount = 9;

std::string_view StatementClassName(StatementClass statement_class);  // "read", "write", ...

// Facts that policies and audit care about, independent of the class.
enum StatementFlag : uint32_t {
  kFlagNoWhere = 1u << 0,             // DELETE / UPDATE without WHERE (or WHERE CURRENT OF)
  kFlagCteWrite = 1u << 1,            // a data-modifying statement inside WITH
  kFlagSelectInto = 1u << 2,          // SELECT ... INTO (PG: creates a table)
  kFlagCopyProgram = 1u << 3,         // COPY ... TO/FROM PROGRAM
  kFlagServerFile = 1u << 4,          // COPY to/from a server file, pg_read_file, lo_import,
                                      // LOAD_FILE(), ... (server-side file access)
  kFlagIntoOutfile = 1u << 5,         // MySQL SELECT ... INTO OUTFILE / DUMPFILE
  kFlagLoadData = 1u << 6,            // MySQL LOAD DATA [LOCAL] INFILE, LOAD XML
  kFlagLoadDataLocal = 1u << 7,       // ... with LOCAL (client file)
  kFlagSetRole = 1u << 8,             // SET ROLE, SET SESSION AUTHORIZATION
  kFlagSetConfig = 1u << 9,           // set_config() called
  kFlagAlterSystem = 1u << 10,        // ALTER SYSTEM
  kFlagDynamicSql = 1u << 11,         // DO, EXECUTE, PREPARE ... FROM, CALL of a procedure whose
                                      // body is not visible, dblink-style remote SQL
  kFlagExecutableComment = 1u << 12,  // MySQL /*! ... */ or /*M! ... */ present (inspected as code)
  kFlagMultiStatement = 1u << 13,     // this statement came from a multi-statement string
  kFlagTooLong = 1u << 14,            // longer than the inspection limit: class is kUnknown
  kFlagNamesOverflow = 1u << 15,      // more relations/functions than fit: lists are incomplete
  kFlagLiteralDependent = 1u << 16,   // the result depended on a literal's content (e.g.
                                      // set_config('role', ...), a DO body): never cache it by a
                                      // literal-free fingerprint
};

// How a statement touches a relation.
enum class RelationAccess : uint8_t { kRead, kWrite, kDdl };

// A name as the server resolves it: unquoted identifiers folded (PG: lower case; MySQL: as
// written, compared case-insensitively), quotes removed. `schema` is empty when not qualified.
struct Name {
  std::string_view schema;
  std::string_view name;
};

struct RelationRef {
  Name name;
  RelationAccess access = RelationAccess::kRead;
};

inline constexpr size_t kRelationsMax = 32;
inline constexpr size_t kFunctionsMax = 32;
inline constexpr size_t kNameStorageSize = 2048;

// The classification of one statement. Views in `relations`/`functions` point into `storage_`,
// so copy a Statement only with CopyFrom (which re-points them).
struct Statement {
  StatementClass statement_class = StatementClass::kUnknown;
  uint32_t flags = 0;
  std::string_view command;  // static text naming the top-level command: "SELECT", "DELETE"...
  uint32_t offset = 0;       // where the statement starts in the text it was split from
  uint32_t length = 0;
  uint8_t relation_count = 0;
  uint8_t function_count = 0;
  std::array<RelationRef, kRelationsMax> relations{};
  std::array<Name, kFunctionsMax> functions{};

  // Copies `text` into storage; returns a view of the copy, or an empty view (and sets
  // kFlagNamesOverflow) when storage is full.
  std::string_view Intern(std::string_view text);
  // Adds a relation / function (names are interned); on overflow sets kFlagNamesOverflow.
  void AddRelation(std::string_view schema, std::string_view name, RelationAccess access);
  void AddFunction(std::string_view schema, std::string_view name);
  void Reset();
  void CopyFrom(const Statement& other);

 private:
  uint16_t storage_used_ = 0;
  std::array<char, kNameStorageSize> storage_{};
};

}  // namespace jitgate::parsers::sql

#endif  // JITGATE_PARSERS_SQL_STATEMENT_H_
