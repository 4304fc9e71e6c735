// Tests of the MySQL/MariaDB classifier (jitgate/parsers/sql/mysql/classify.h): a table of
// statements with their expected class and required flags, evasion attempts included (none that
// writes or drops may come back kRead), relations and functions, and a proof that lexing,
// splitting, fingerprinting and classifying allocate nothing.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/parsers/sql/mysql/classify.h"
#include "tests/common/alloc_counter.h"

namespace jitgate::parsers::sql::mysql {
namespace {

using C = StatementClass;

enum class M { kDefault, kNoBackslash, kAnsi, kMariadb, kMysql80 };

LexMode ModeOf(M m) {
  LexMode mode;
  switch (m) {
    case M::kDefault:
      break;
    case M::kNoBackslash:
      mode.no_backslash_escapes = true;
      break;
    case M::kAnsi:
      mode.ansi_quotes = true;
      break;
    case M::kMariadb:
      mode.mariadb = true;
      mode.server_version = 100611;
      break;
    case M::kMysql80:
      mode.server_version = 80036;
      break;
  }
  return mode;
}

struct Case {
  const char* sql;
  C expected;
  uint32_t flags = 0;  // each must be set
  M mode = M::kDefault;
};

const Case kCases[] = {
    // Reads.
    {"SELECT 1", C::kRead},
    {"select * from t where id = 1", C::kRead},
    {"SELECT a, b FROM db.t1 JOIN t2 ON t1.id = t2.id WHERE x > 3 ORDER BY a LIMIT 10", C::kRead},
    {"(SELECT 1) UNION (SELECT 2)", C::kRead},
    {"SELECT * FROM t FOR UPDATE", C::kRead},
    {"SELECT * FROM t LOCK IN SHARE MODE", C::kRead},
    {"SELECT COUNT(*), MAX(a) FROM t GROUP BY b HAVING COUNT(*) > 1", C::kRead},
    {"SELECT * FROM (SELECT a FROM t) AS x", C::kRead},
    {"SELECT INSERT('abc', 1, 1, 'x'), REPLACE('a', 'b', 'c'), TRUNCATE(1.5, 0)", C::kRead},
    {"SELECT CAST(a AS DECIMAL(10,2)), CONVERT(b, CHAR) FROM t", C::kRead},
    {"SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) FROM t", C::kRead},
    {"SELECT JSON_EXTRACT(doc, '$.a'), ST_AsText(g) FROM t", C::kRead},
    {"SELECT a INTO @x FROM t LIMIT 1", C::kRead},
    {"SELECT t.delete, t.drop FROM t", C::kRead},
    {"SELECT `delete` FROM `drop`", C::kRead},
    {"SELECT 'DROP TABLE t'", C::kRead},
    {"SELECT \"DELETE FROM t\"", C::kRead},
    {"SELECT 1 -- ; DROP TABLE t", C::kRead},
    {"SELECT 1 # ; DROP TABLE t", C::kRead},
    {"SELECT 1 /* ; DROP TABLE t */", C::kRead},
    {"SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t", C::kRead},
    {"SELECT @@global.max_connections, @@session.sql_mode", C::kRead},
    {"SELECT 1--1", C::kRead},
    {"WITH x AS (SELECT 1 AS a) SELECT * FROM x", C::kRead},
    {"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r",
     C::kRead},
    {"TABLE t", C::kRead},
    {"VALUES ROW(1, 2), ROW(3, 4)", C::kRead},
    {"SHOW TABLES", C::kRead},
    {"SHOW CREATE TABLE t", C::kRead},
    {"SHOW GRANTS FOR CURRENT_USER()", C::kRead},
    {"DESCRIBE t", C::kRead},
    {"DESC t", C::kRead},
    {"EXPLAIN SELECT * FROM t", C::kRead},
    {"EXPLAIN FORMAT=JSON SELECT * FROM t", C::kRead},
    {"EXPLAIN DELETE FROM t", C::kRead},
    {"HELP 'contents'", C::kRead},
    {"HANDLER t OPEN", C::kRead},
    {"HANDLER t READ FIRST", C::kRead},
    {"HANDLER t CLOSE", C::kRead},
    {"SELECT * FROM t WHERE a = 'x\\'y'", C::kRead},
    {"SELECT * FROM t WHERE a = 'x''y'", C::kRead, 0, M::kNoBackslash},
    {"SELECT \"a\" FROM t", C::kRead, 0, M::kAnsi},
    {"SELECT _utf8mb4'abc' COLLATE utf8mb4_bin, N'x', X'41', B'1', 0x41, 0b1", C::kRead},
    {"SELECT * FROM t WHERE a IN (1, 2) AND b BETWEEN 1 AND 2 AND c LIKE 'x%'", C::kRead},
    {"SELECT SLEEP(1)", C::kRead},
    {"SELECT 1 /*!90000 ; DROP TABLE t */", C::kRead, 0, M::kMysql80},
    {"SELECT ?", C::kRead},
    {"SELECT a FROM t WHERE b = ? AND c = ?", C::kRead},
    // Writes.
    {"INSERT INTO t VALUES (1, 2)", C::kWrite},
    {"insert into t(a, b) values (1, 2), (3, 4)", C::kWrite},
    {"INSERT t SET a = 1", C::kWrite},
    {"INSERT IGNORE INTO t SELECT * FROM u", C::kWrite},
    {"INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)", C::kWrite},
    {"INSERT LOW_PRIORITY INTO db.t (a) VALUES (1)", C::kWrite},
    {"REPLACE INTO t VALUES (1)", C::kWrite},
    {"REPLACE t SET a = 1", C::kWrite},
    {"UPDATE t SET a = 1 WHERE id = 2", C::kWrite},
    {"UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.a WHERE t2.b = 1", C::kWrite},
    {"UPDATE t SET a = 1 WHERE id IN (SELECT id FROM u)", C::kWrite},
    {"DELETE FROM t WHERE id = 1", C::kWrite},
    {"DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.x = 1", C::kWrite},
    {"DELETE FROM t1 USING t1 JOIN t2 WHERE t1.id = t2.id", C::kWrite},
    {"DELETE FROM t WHERE a = 1 ORDER BY b LIMIT 10", C::kWrite},
    {"CALL p(1, 2)", C::kWrite, kFlagDynamicSql},
    {"CALL db.p()", C::kWrite, kFlagDynamicSql},
    {"DO 1", C::kWrite},
    {"DO SLEEP(1)", C::kWrite},
    {"SELECT my_func(a) FROM t", C::kWrite, kFlagDynamicSql},
    {"SELECT db.f() FROM t", C::kWrite, kFlagDynamicSql},
    {"SELECT NEXTVAL(s)", C::kWrite, 0, M::kMariadb},
    {"WITH x AS (SELECT id FROM u) UPDATE t SET a = 1 WHERE id IN (SELECT id FROM x)", C::kWrite,
     kFlagCteWrite},
    {"WITH x AS (SELECT id FROM u) DELETE FROM t WHERE id IN (SELECT id FROM x)", C::kWrite,
     kFlagCteWrite},
    {"EXPLAIN ANALYZE UPDATE t SET a = 1 WHERE id = 1", C::kWrite},
    {"ANALYZE DELETE FROM t WHERE id = 1", C::kWrite, 0, M::kMariadb},
    // Destructive.
    {"DELETE FROM t", C::kDestructive, kFlagNoWhere},
    {"DELETE FROM t LIMIT 10", C::kDestructive, kFlagNoWhere},
    {"DELETE FROM t ORDER BY id LIMIT 1", C::kDestructive, kFlagNoWhere},
    {"UPDATE t SET a = 1", C::kDestructive, kFlagNoWhere},
    {"UPDATE t SET a = 1 LIMIT 5", C::kDestructive, kFlagNoWhere},
    {"DELETE FROM t WHERE 1=1", C::kDestructive, kFlagNoWhere},
    {"DELETE FROM t WHERE 1", C::kDestructive, kFlagNoWhere},
    {"DELETE FROM t WHERE TRUE", C::kDestructive, kFlagNoWhere},
    {"UPDATE t SET a = 1 WHERE id = 5 OR 1 = 1", C::kDestructive, kFlagNoWhere},
    {"DELETE FROM t WHERE 'a' = 'a'", C::kDestructive, kFlagNoWhere},
    {"DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id", C::kDestructive, kFlagNoWhere},
    {"WITH x AS (SELECT 1) DELETE FROM t", C::kDestructive, kFlagNoWhere | kFlagCteWrite},
    {"EXPLAIN ANALYZE DELETE FROM t", C::kDestructive, kFlagNoWhere},
    {"DROP TABLE t", C::kDestructive},
    {"drop table if exists a, b", C::kDestructive},
    {"DROP TEMPORARY TABLE t", C::kDestructive},
    {"DROP DATABASE d", C::kDestructive},
    {"DROP SCHEMA d", C::kDestructive},
    {"DROP VIEW v", C::kDestructive},
    {"DROP INDEX i ON t", C::kDestructive},
    {"DROP PROCEDURE p", C::kDestructive},
    {"DROP TRIGGER tr", C::kDestructive},
    {"DROP EVENT e", C::kDestructive},
    {"TRUNCATE TABLE t", C::kDestructive},
    {"TRUNCATE t", C::kDestructive},
    {"ALTER TABLE t DROP COLUMN c", C::kDestructive},
    {"ALTER TABLE t TRUNCATE PARTITION p0", C::kDestructive},
    {"ALTER TABLE t DISCARD TABLESPACE", C::kDestructive},
    {"CREATE OR REPLACE TABLE t (a INT)", C::kDestructive, 0, M::kMariadb},
    {"dRoP\tTaBlE t", C::kDestructive},
    {"DROP/**/TABLE t", C::kDestructive},
    {"/*!DROP*/ TABLE t", C::kDestructive, kFlagExecutableComment},
    {"/*!50000 DROP TABLE t */", C::kDestructive, kFlagExecutableComment},
    {"/*!50000 DROP TABLE t */", C::kDestructive, kFlagExecutableComment, M::kMysql80},
    {"/*M!100100 DROP TABLE t */", C::kDestructive, kFlagExecutableComment, M::kMariadb},
    {"/*M! DROP TABLE t */", C::kDestructive, kFlagExecutableComment, M::kMariadb},
    {"SELECT 1 /*!, (DELETE FROM t) */", C::kUnknown},
    {"PREPARE s FROM 'DROP TABLE t'", C::kDestructive, kFlagLiteralDependent | kFlagDynamicSql},
    {"PREPARE s FROM 'DELETE FROM t'", C::kDestructive, kFlagNoWhere | kFlagLiteralDependent},
    {"PREPARE s FROM 'dr\\op table t'", C::kDestructive, kFlagLiteralDependent},
    {"EXECUTE IMMEDIATE 'DROP TABLE t'", C::kDestructive, kFlagLiteralDependent, M::kMariadb},
    {"CREATE PROCEDURE p() BEGIN DROP TABLE t; END", C::kDestructive},
    // DDL.
    {"CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(10) NOT NULL DEFAULT 'x')", C::kDdl},
    {"CREATE TABLE IF NOT EXISTS db.t LIKE db.u", C::kDdl},
    {"CREATE TABLE t AS SELECT * FROM u", C::kDdl},
    {"CREATE TEMPORARY TABLE t (a INT)", C::kDdl},
    {"CREATE TABLE c (id INT, p INT, FOREIGN KEY (p) REFERENCES par(id) ON DELETE CASCADE ON "
     "UPDATE CASCADE)",
     C::kDdl},
    {"CREATE INDEX i ON t (a)", C::kDdl},
    {"CREATE UNIQUE INDEX i ON t (a)", C::kDdl},
    {"CREATE VIEW v AS SELECT * FROM t", C::kDdl},
    {"CREATE OR REPLACE VIEW v AS SELECT 1", C::kDdl},
    {"CREATE DATABASE d", C::kDdl},
    {"CREATE DEFINER = CURRENT_USER PROCEDURE p() BEGIN SELECT 1; END", C::kDdl},
    {"CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x + 1", C::kDdl},
    {"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", C::kDdl},
    {"CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1", C::kDdl},
    {"ALTER TABLE t ADD COLUMN c INT", C::kDdl},
    {"ALTER TABLE t ALTER COLUMN c DROP DEFAULT", C::kDdl},
    {"ALTER TABLE t RENAME TO u", C::kDdl},
    {"ALTER DATABASE d CHARACTER SET utf8mb4", C::kDdl},
    {"ALTER VIEW v AS SELECT 2", C::kDdl},
    {"RENAME TABLE a TO b, c TO d", C::kDdl},
    {"OPTIMIZE TABLE t", C::kDdl},
    {"ANALYZE TABLE t", C::kDdl},
    {"REPAIR TABLE t", C::kDdl},
    {"CHECK TABLE t", C::kDdl},
    // DCL.
    {"GRANT SELECT, INSERT, UPDATE ON db.* TO 'u'@'%'", C::kDcl},
    {"GRANT ALL PRIVILEGES ON *.* TO u WITH GRANT OPTION", C::kDcl},
    {"REVOKE DELETE ON db.t FROM u", C::kDcl},
    {"CREATE USER 'u'@'localhost' IDENTIFIED BY 'p'", C::kDcl},
    {"ALTER USER u IDENTIFIED BY 'p'", C::kDcl},
    {"DROP USER u", C::kDcl},
    {"RENAME USER a TO b", C::kDcl},
    {"CREATE ROLE r", C::kDcl},
    {"DROP ROLE r", C::kDcl},
    {"SET PASSWORD = 'x'", C::kDcl},
    {"SET PASSWORD FOR u = 'x'", C::kDcl},
    {"SET DEFAULT ROLE ALL TO u", C::kDcl},
    // Admin.
    {"SELECT * FROM t INTO OUTFILE '/tmp/x'", C::kAdmin, kFlagIntoOutfile},
    {"SELECT * INTO OUTFILE '/tmp/x' FROM t", C::kAdmin, kFlagIntoOutfile},
    {"SELECT a FROM t INTO DUMPFILE '/tmp/x'", C::kAdmin, kFlagIntoOutfile},
    {"SELECT LOAD_FILE('/etc/passwd')", C::kAdmin, kFlagServerFile},
    {"SELECT load_file(0x2f6574632f706173737764)", C::kAdmin, kFlagServerFile},
    {"SELECT sys_exec('id')", C::kAdmin},
    {"LOAD DATA INFILE '/tmp/x' INTO TABLE t", C::kAdmin, kFlagLoadData},
    {"LOAD DATA LOCAL INFILE 'x.csv' INTO TABLE t FIELDS TERMINATED BY ','", C::kAdmin,
     kFlagLoadData | kFlagLoadDataLocal},
    {"LOAD DATA LOW_PRIORITY LOCAL INFILE 'x' REPLACE INTO TABLE t", C::kAdmin,
     kFlagLoadDataLocal},
    {"LOAD XML LOCAL INFILE 'x.xml' INTO TABLE t", C::kAdmin, kFlagLoadData | kFlagLoadDataLocal},
    {"SET GLOBAL max_connections = 10", C::kAdmin},
    {"SET PERSIST max_connections = 10", C::kAdmin},
    {"SET PERSIST_ONLY max_connections = 10", C::kAdmin},
    {"SET @@global.max_connections = 10", C::kAdmin},
    {"SET @@GLOBAL.read_only = 0", C::kAdmin},
    {"SET @x = 1, GLOBAL y = 2", C::kAdmin},
    {"SET sql_log_bin = 0", C::kAdmin},
    {"SET GLOBAL TRANSACTION ISOLATION LEVEL READ COMMITTED", C::kAdmin},
    {"SET ROLE admin", C::kAdmin, kFlagSetRole},
    {"SET ROLE ALL", C::kAdmin, kFlagSetRole},
    {"KILL 42", C::kAdmin},
    {"KILL QUERY 42", C::kAdmin},
    {"SHUTDOWN", C::kAdmin},
    {"FLUSH PRIVILEGES", C::kAdmin},
    {"FLUSH TABLES WITH READ LOCK", C::kAdmin},
    {"RESET MASTER", C::kAdmin},
    {"RESET REPLICA", C::kAdmin},
    {"CHANGE MASTER TO MASTER_HOST = 'h'", C::kAdmin},
    {"CHANGE REPLICATION SOURCE TO SOURCE_HOST = 'h'", C::kAdmin},
    {"START SLAVE", C::kAdmin},
    {"STOP REPLICA", C::kAdmin},
    {"INSTALL PLUGIN p SONAME 'p.so'", C::kAdmin},
    {"UNINSTALL COMPONENT 'file://x'", C::kAdmin},
    {"CREATE FUNCTION sys_exec RETURNS INTEGER SONAME 'lib_mysqludf_sys.so'", C::kAdmin},
    {"CREATE AGGREGATE FUNCTION f RETURNS STRING SONAME 'x.so'", C::kAdmin},
    {"PREPARE s FROM @q", C::kAdmin, kFlagDynamicSql},
    {"EXECUTE s", C::kAdmin, kFlagDynamicSql},
    {"EXECUTE s USING @a, @b", C::kAdmin, kFlagDynamicSql},
    {"EXECUTE IMMEDIATE CONCAT('DR', 'OP TABLE t')", C::kAdmin, kFlagDynamicSql, M::kMariadb},
    {"PREPARE s FROM 'SELECT 1' 'x'", C::kAdmin, kFlagDynamicSql},
    {"PURGE BINARY LOGS BEFORE NOW()", C::kAdmin},
    {"BINLOG 'base64'", C::kAdmin},
    {"CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h')", C::kAdmin},
    {"CREATE TABLE t (a INT) DATA DIRECTORY = '/tmp'", C::kAdmin, kFlagServerFile},
    {"ALTER INSTANCE ROTATE INNODB MASTER KEY", C::kAdmin},
    {"LOCK INSTANCE FOR BACKUP", C::kAdmin},
    {"CLONE LOCAL DATA DIRECTORY = '/tmp/c'", C::kAdmin},
    {"EXPLAIN SELECT LOAD_FILE('/etc/passwd')", C::kAdmin, kFlagServerFile},
    // Transactions.
    {"BEGIN", C::kTransaction},
    {"BEGIN WORK", C::kTransaction},
    {"START TRANSACTION", C::kTransaction},
    {"START TRANSACTION READ ONLY", C::kTransaction},
    {"COMMIT", C::kTransaction},
    {"ROLLBACK", C::kTransaction},
    {"ROLLBACK TO SAVEPOINT s", C::kTransaction},
    {"SAVEPOINT s", C::kTransaction},
    {"RELEASE SAVEPOINT s", C::kTransaction},
    {"XA START 'x'", C::kTransaction},
    {"LOCK TABLES t READ", C::kTransaction},
    {"UNLOCK TABLES", C::kTransaction},
    {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", C::kTransaction},
    {"SET SESSION TRANSACTION READ ONLY", C::kTransaction},
    // Session.
    {"SET @x = 1", C::kSession},
    {"SET @x := (SELECT COUNT(*) FROM t)", C::kSession},
    {"SET SESSION sql_mode = 'STRICT_ALL_TABLES'", C::kSession},
    {"SET @@session.time_zone = '+00:00'", C::kSession},
    {"SET autocommit = 0", C::kSession},
    {"SET NAMES utf8mb4", C::kSession, kFlagLiteralDependent},
    {"SET CHARACTER SET utf8mb4", C::kSession},
    {"USE db", C::kSession},
    {"DEALLOCATE PREPARE s", C::kSession},
    {"DROP PREPARE s", C::kSession},
    {"SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t", C::kSession, 0, M::kMariadb},
    {"SET STATEMENT max_statement_time = 1 FOR DELETE FROM t", C::kDestructive, 0, M::kMariadb},
    {"PREPARE s FROM 'SELECT * FROM t WHERE id = ?'", C::kRead, kFlagLiteralDependent},
    // Unknown and evasion: never read.
    {"", C::kUnknown},
    {"   ", C::kUnknown},
    {"-- just a comment", C::kUnknown},
    {"DR/**/OP TABLE t", C::kUnknown},
    {"DELIMITER //", C::kUnknown},
    {"FROBNICATE t", C::kUnknown},
    {"SELECT 'unterminated", C::kUnknown},
    {"SELECT /* unterminated", C::kUnknown},
    // Default mode: \' is escaped, so all of it is one string (the server agrees).
    {"SELECT '\\'; DROP TABLE t; -- '", C::kRead},
    {"SELECT * FROM (DELETE FROM t) x", C::kUnknown},
    {"SELECT 1 /*!99999 ' */ DROP TABLE t; -- '*/", C::kUnknown},
    {"SELECT /*+ QB_NAME(`*/ DROP TABLE t; -- `) */ 1", C::kUnknown},
    {"SELECT \"\\\"; DROP TABLE t; -- \"", C::kRead},
    {"BEGIN NOT ATOMIC DELETE FROM t; END", C::kUnknown, 0, M::kMariadb},
    {"WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", C::kUnknown},
    {"X'4g'", C::kUnknown},
    {"PREPARE s FROM 'SELECT 1; DROP TABLE t'", C::kUnknown},
    {"PREPARE s FROM 'PREPARE t FROM ''DROP TABLE x'''", C::kAdmin},  // not looked into twice
    {"SELECT 1 /*! , 2 ", C::kUnknown},
    {"(DELETE FROM t)", C::kUnknown},
};

TEST(MysqlClassifyTest, StatementTable) {
  auto statement = std::make_unique<Statement>();
  size_t count = 0;
  for (const Case& c : kCases) {
    ClassifyText(c.sql, ModeOf(c.mode), statement.get());
    EXPECT_EQ(StatementClassName(statement->statement_class), StatementClassName(c.expected))
        << c.sql;
    EXPECT_EQ(statement->flags & c.flags, c.flags) << c.sql << " flags " << statement->flags;
    ++count;
  }
  EXPECT_GE(count, 150u);
}

// Multi-statement strings: each part is classified; the text is as bad as its worst part.
struct MultiCase {
  const char* sql;
  C expected;
  M mode = M::kDefault;
};

const MultiCase kMultiCases[] = {
    {"SELECT 1; SELECT 2", C::kRead},
    {"SELECT 1; DROP TABLE t", C::kDestructive},
    {"SELECT 1;DELETE FROM t WHERE id=1", C::kWrite},
    {"SELECT 1 /*!50000 ; DROP TABLE t */", C::kDestructive},
    {"SELECT 1 /*!50000 ; DROP TABLE t */", C::kDestructive, M::kMysql80},
    {"SELECT 1 /*M! ; DROP TABLE t */", C::kDestructive, M::kMariadb},
    {"SELECT 1 /*M! ; DROP TABLE t */", C::kRead, M::kMysql80},
    {"SELECT '\\'; DROP TABLE t; -- '", C::kDestructive, M::kNoBackslash},
    {"SELECT \"\\\"; DROP TABLE t; -- \"", C::kDestructive, M::kAnsi},
    {"SELECT 1--1; DROP TABLE t", C::kDestructive},
    {"SELECT 1; SELECT 'x", C::kUnknown},
    {"SET @s = 0x44524f50; PREPARE p FROM @s; EXECUTE p", C::kAdmin},
    {"USE db; SELECT * FROM t", C::kSession},
    {"BEGIN; UPDATE t SET a = 1 WHERE id = 1; COMMIT", C::kWrite},
    {"CREATE PROCEDURE p() BEGIN SELECT 1; END; DROP TABLE t", C::kDestructive},
    {"CREATE TABLE ev (event INT, begin INT); DROP TABLE t", C::kDestructive},
    {"SELECT 1;;", C::kUnknown},
};

TEST(MysqlClassifyTest, MultiStatementStrings) {
  auto statement = std::make_unique<Statement>();
  for (const MultiCase& c : kMultiCases) {
    ClassifyText(c.sql, ModeOf(c.mode), statement.get());
    EXPECT_EQ(StatementClassName(statement->statement_class), StatementClassName(c.expected))
        << c.sql;
  }
}

TEST(MysqlClassifyTest, ClassifyAllReportsEachStatement) {
  std::vector<Piece> pieces(4);
  std::vector<Statement> out(4);
  const std::string_view text = "SELECT 1; DELETE FROM t; SHOW TABLES";
  const ClassifyResult result = ClassifyAll(text, {}, pieces, out);
  ASSERT_EQ(result.count, 3u);
  EXPECT_FALSE(result.overflow);
  EXPECT_EQ(out[0].statement_class, C::kRead);
  EXPECT_EQ(out[1].statement_class, C::kDestructive);
  EXPECT_EQ(out[1].command, "DELETE");
  EXPECT_EQ(text.substr(out[1].offset, out[1].length), " DELETE FROM t;");
  EXPECT_EQ(out[2].statement_class, C::kRead);
  EXPECT_TRUE(out[2].flags & kFlagMultiStatement);
}

TEST(MysqlClassifyTest, RelationsAndFunctions) {
  auto st = std::make_unique<Statement>();
  ClassifyText("SELECT UPPER(a) FROM `db`.`t``x` AS q JOIN u ON q.id = u.id, v", {}, st.get());
  ASSERT_EQ(st->relation_count, 3);
  EXPECT_EQ(st->relations[0].name.schema, "db");
  EXPECT_EQ(st->relations[0].name.name, "t`x");
  EXPECT_EQ(st->relations[0].access, RelationAccess::kRead);
  EXPECT_EQ(st->relations[1].name.name, "u");
  EXPECT_EQ(st->relations[2].name.name, "v");
  ASSERT_EQ(st->function_count, 1);
  EXPECT_EQ(st->functions[0].name, "UPPER");

  ClassifyText("INSERT INTO s.t (a) SELECT b FROM u", {}, st.get());
  ASSERT_EQ(st->relation_count, 2);
  EXPECT_EQ(st->relations[0].name.schema, "s");
  EXPECT_EQ(st->relations[0].access, RelationAccess::kWrite);
  EXPECT_EQ(st->relations[1].access, RelationAccess::kRead);

  ClassifyText("DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.a = 1", {}, st.get());
  ASSERT_GE(st->relation_count, 2);
  EXPECT_EQ(st->relations[0].name.name, "t1");
  EXPECT_EQ(st->relations[0].access, RelationAccess::kWrite);

  ClassifyText("UPDATE a JOIN b ON a.id = b.id SET a.x = 1 WHERE b.y = 2", {}, st.get());
  ASSERT_EQ(st->relation_count, 2);
  EXPECT_EQ(st->relations[1].access, RelationAccess::kWrite);

  ClassifyText("DROP TABLE IF EXISTS x.a, b", {}, st.get());
  ASSERT_EQ(st->relation_count, 2);
  EXPECT_EQ(st->relations[0].access, RelationAccess::kDdl);
  EXPECT_EQ(st->relations[1].name.name, "b");

  ClassifyText("CALL db.proc(1)", {}, st.get());
  ASSERT_EQ(st->function_count, 1);
  EXPECT_EQ(st->functions[0].schema, "db");
  EXPECT_EQ(st->functions[0].name, "proc");
}

TEST(MysqlClassifyTest, ClassifyingTwiceGivesTheSameResult) {
  auto a = std::make_unique<Statement>();
  auto b = std::make_unique<Statement>();
  for (const Case& c : kCases) {
    ClassifyText(c.sql, ModeOf(c.mode), a.get());
    ClassifyText(c.sql, ModeOf(c.mode), b.get());
    EXPECT_EQ(a->statement_class, b->statement_class) << c.sql;
    EXPECT_EQ(a->flags, b->flags) << c.sql;
    EXPECT_EQ(a->relation_count, b->relation_count) << c.sql;
  }
}

TEST(MysqlClassifyTest, LexSplitFingerprintAndClassifyAllocateNothing) {
  auto statement = std::make_unique<Statement>();
  std::vector<Piece> pieces(8);
  std::vector<Statement> out(8);
  uint64_t sink = 0;
  testing::AllocationScope scope;
  for (const Case& c : kCases) {
    const LexMode mode = ModeOf(c.mode);
    Lexer lexer(c.sql, mode);
    while (lexer.Next().kind != TokenKind::kEnd && lexer.error() == LexError::kNone) {
    }
    const SplitResult split = Split(c.sql, mode, pieces);
    for (size_t i = 0; i < split.count; ++i) {
      sink += Fingerprint(c.sql, pieces[i], mode);
    }
    ClassifyText(c.sql, mode, statement.get());
    ClassifyAll(c.sql, mode, pieces, out);
  }
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_NE(sink, 0u);
}

}  // namespace
}  // namespace jitgate::parsers::sql::mysql
