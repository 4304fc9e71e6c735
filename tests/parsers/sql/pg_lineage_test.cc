// tests/parsers/sql/pg_lineage_test.cc: AnalyzeLineage on statements whose output columns are
// plain sensitive columns, expressions over them, whole rows, sub-selects, CTEs, set operations,
// RETURNING, cursors, prepared statements and COPY; and on text it must refuse.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "jitgate/parsers/sql/pg/lineage.h"

namespace jitgate::parsers::sql::pg {
namespace {

using O = TargetOrigin;
using Names = std::vector<std::string>;

constexpr LexMode kOn{.standard_conforming_strings = true};
constexpr LexMode kOff{.standard_conforming_strings = false};

const std::string kColumns[] = {"card", "email", "ssn"};
const std::string kRelations[] = {"customers"};

Lineage Analyze(std::string_view sql, LexMode mode = kOn) {
  return AnalyzeLineage(sql, mode, SensitiveNames{.columns = kColumns, .relations = kRelations});
}

// One output column, checked field by field so that a failure names the field.
void ExpectColumn(const OutputColumn& column, O origin, std::string_view name, const Names& names,
                  std::string_view qualifier = "") {
  EXPECT_EQ(column.origin, origin) << "column " << column.name;
  EXPECT_EQ(column.name, name);
  EXPECT_EQ(column.names, names) << "column " << column.name;
  EXPECT_EQ(column.qualifier, qualifier) << "column " << column.name;
  if (origin == O::kColumn) {
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(column.column, names[0]);
  } else {
    EXPECT_TRUE(column.column.empty());
  }
}

// Analyses a statement that must parse, return rows and be exact with `count` columns.
Lineage Exact(std::string_view sql, size_t count, LexMode mode = kOn) {
  Lineage lineage = Analyze(sql, mode);
  EXPECT_TRUE(lineage.parsed) << sql;
  EXPECT_TRUE(lineage.returns_rows) << sql;
  EXPECT_TRUE(lineage.exact) << sql;
  EXPECT_EQ(lineage.columns.size(), count) << sql;
  return lineage;
}

TEST(LineageTest, PlainColumnsAndAliases) {
  Lineage l = Exact("SELECT id, email FROM customers", 2);
  ASSERT_EQ(l.columns.size(), 2u);
  ExpectColumn(l.columns[0], O::kClean, "id", {});
  ExpectColumn(l.columns[1], O::kColumn, "email", {"email"});
  EXPECT_EQ(l.referenced, Names({"email"}));
  EXPECT_FALSE(l.whole_row);

  l = Exact("SELECT email AS contact FROM customers", 1);
  ExpectColumn(l.columns[0], O::kColumn, "contact", {"email"});

  l = Exact("SELECT c.email FROM customers c", 1);
  ExpectColumn(l.columns[0], O::kColumn, "email", {"email"}, "c");

  l = Exact("SELECT public.customers.ssn FROM public.customers", 1);
  ExpectColumn(l.columns[0], O::kColumn, "ssn", {"ssn"}, "customers");

  l = Exact("SELECT \"EMAIL\" FROM customers", 1);  // compared case-insensitively, named as is
  ExpectColumn(l.columns[0], O::kColumn, "EMAIL", {"email"});
}

TEST(LineageTest, Expressions) {
  Lineage l = Exact("SELECT lower(email) FROM customers", 1);
  ExpectColumn(l.columns[0], O::kDerived, "lower", {"email"});

  l = Exact("SELECT email || '' FROM customers", 1);
  ExpectColumn(l.columns[0], O::kDerived, "?column?", {"email"});

  l = Exact("SELECT substr(ssn, 1, 5) FROM customers", 1);
  ExpectColumn(l.columns[0], O::kDerived, "substr", {"ssn"});

  l = Exact("SELECT CAST(card AS text) FROM customers", 1);
  ExpectColumn(l.columns[0], O::kDerived, "card", {"card"});

  l = Exact("SELECT card::text, 'x'::text, 1::int FROM customers", 3);
  ExpectColumn(l.columns[0], O::kDerived, "card", {"card"});
  ExpectColumn(l.columns[1], O::kClean, "text", {});
  ExpectColumn(l.columns[2], O::kClean, "int4", {});

  l = Exact(
      "SELECT CASE WHEN id > 1 THEN ssn ELSE 'x' END, CASE WHEN true THEN 1 ELSE card END "
      "FROM customers",
      2);
  ExpectColumn(l.columns[0], O::kDerived, "case", {"ssn"});
  ExpectColumn(l.columns[1], O::kDerived, "card", {"card"});

  l = Exact("SELECT coalesce(email, ssn), greatest(1, 2), nullif(card, '') FROM customers", 3);
  ExpectColumn(l.columns[0], O::kDerived, "coalesce", {"email", "ssn"});
  ExpectColumn(l.columns[1], O::kClean, "greatest", {});
  ExpectColumn(l.columns[2], O::kDerived, "nullif", {"card"});

  l = Exact("SELECT ARRAY[email], ROW(ssn, 1), email IS NULL, email COLLATE \"C\" FROM customers",
            4);
  ExpectColumn(l.columns[0], O::kDerived, "array", {"email"});
  ExpectColumn(l.columns[1], O::kDerived, "row", {"ssn"});
  ExpectColumn(l.columns[2], O::kDerived, "?column?", {"email"});
  ExpectColumn(l.columns[3], O::kDerived, "email", {"email"});

  l = Exact(
      "SELECT count(ssn), string_agg(email, ',' ORDER BY id), "
      "row_number() OVER (ORDER BY card), current_user FROM customers",
      4);
  ExpectColumn(l.columns[0], O::kDerived, "count", {"ssn"});
  ExpectColumn(l.columns[1], O::kDerived, "string_agg", {"email"});
  ExpectColumn(l.columns[2], O::kDerived, "row_number", {"card"});
  ExpectColumn(l.columns[3], O::kClean, "current_user", {});
}

TEST(LineageTest, AggregateWithoutSensitiveArgumentIsClean) {
  Lineage l = Exact("SELECT count(*) FROM customers WHERE ssn LIKE '1%'", 1);
  ExpectColumn(l.columns[0], O::kClean, "count", {});
  EXPECT_EQ(l.referenced, Names({"ssn"}));
  EXPECT_FALSE(l.whole_row);
}

TEST(LineageTest, WholeRowReferences) {
  Lineage l = Exact("SELECT row_to_json(c) FROM customers c", 1);
  ExpectColumn(l.columns[0], O::kDerived, "row_to_json", {"*"});
  EXPECT_TRUE(l.columns[0].whole_row);
  EXPECT_TRUE(l.whole_row);

  l = Exact("SELECT json_agg(c) FROM customers AS c", 1);
  ExpectColumn(l.columns[0], O::kDerived, "json_agg", {"*"});
  EXPECT_TRUE(l.whole_row);

  l = Exact("SELECT to_jsonb(c.*), hstore(customers) FROM customers c, customers", 2);
  ExpectColumn(l.columns[0], O::kDerived, "to_jsonb", {"*"});
  ExpectColumn(l.columns[1], O::kDerived, "hstore", {"*"});

  l = Exact("SELECT c FROM customers c", 1);  // the bare alias is the whole row
  ExpectColumn(l.columns[0], O::kDerived, "c", {"*"});
  l = Exact("SELECT customers::text FROM customers c", 1);  // the relation name too (fail closed)
  ExpectColumn(l.columns[0], O::kDerived, "customers", {"*"});

  // A row of a subquery: its sensitive columns can be named.
  l = Exact("SELECT row_to_json(s) FROM (SELECT id, lower(email) AS e FROM customers) s", 1);
  ExpectColumn(l.columns[0], O::kDerived, "row_to_json", {"email"});
  EXPECT_TRUE(l.whole_row);

  // A row of a relation that is not sensitive is clean.
  l = Exact("SELECT row_to_json(o) FROM orders o", 1);
  ExpectColumn(l.columns[0], O::kClean, "row_to_json", {});
  EXPECT_FALSE(l.whole_row);

  // Anywhere in the statement.
  l = Exact("SELECT id FROM customers c WHERE row_to_json(c)::text LIKE '%@%'", 1);
  ExpectColumn(l.columns[0], O::kClean, "id", {});
  EXPECT_TRUE(l.whole_row);
}

TEST(LineageTest, ScalarSubSelects) {
  Lineage l = Exact("SELECT (SELECT ssn FROM customers LIMIT 1)", 1);
  ExpectColumn(l.columns[0], O::kDerived, "ssn", {"ssn"});

  l = Exact(
      "SELECT EXISTS (SELECT 1 FROM customers WHERE email = 'a'), "
      "ARRAY(SELECT card FROM customers) AS cards",
      2);
  ExpectColumn(l.columns[0], O::kClean, "exists", {});
  ExpectColumn(l.columns[1], O::kDerived, "cards", {"card"});
  EXPECT_EQ(l.referenced, Names({"card", "email"}));

  // Correlated: the inner query reaches the outer FROM item.
  l = Exact(
      "SELECT (SELECT max(o.total) || c.email FROM orders o WHERE o.cid = c.id) "
      "FROM customers c",
      1);
  ExpectColumn(l.columns[0], O::kDerived, "?column?", {"email"});
}

TEST(LineageTest, FromSubqueries) {
  Lineage l = Exact("SELECT x FROM (SELECT lower(email) AS x FROM customers) s", 1);
  ExpectColumn(l.columns[0], O::kDerived, "x", {"email"});

  l = Exact("SELECT e FROM (SELECT email AS e FROM customers) s", 1);
  ExpectColumn(l.columns[0], O::kColumn, "e", {"email"});

  l = Exact("SELECT s.e, s.id FROM (SELECT email AS e, id FROM customers) AS s", 2);
  ExpectColumn(l.columns[0], O::kColumn, "e", {"email"}, "s");
  ExpectColumn(l.columns[1], O::kClean, "id", {});  // qualifier: kColumn only

  // A name that is harmless in the outer query can still be derived inside.
  l = Exact("SELECT id FROM (SELECT ssn AS id FROM customers) t", 1);
  ExpectColumn(l.columns[0], O::kColumn, "id", {"ssn"});

  // Alias column lists rename in order.
  l = Exact("SELECT a, b FROM (SELECT id, upper(card) FROM customers) AS s(a, b)", 2);
  ExpectColumn(l.columns[0], O::kClean, "a", {});
  ExpectColumn(l.columns[1], O::kDerived, "b", {"card"});

  // Through a `*` of a subquery, names still resolve.
  l = Exact("SELECT email, id FROM (SELECT * FROM customers) s", 2);
  ExpectColumn(l.columns[0], O::kColumn, "email", {"email"});
  ExpectColumn(l.columns[1], O::kClean, "id", {});

  l = Exact("SELECT x FROM (SELECT * FROM (SELECT md5(ssn) AS x FROM customers) a) b", 1);
  ExpectColumn(l.columns[0], O::kDerived, "x", {"ssn"});

  // VALUES in FROM.
  l = Exact("SELECT a FROM (VALUES (1), (2)) v(a)", 1);
  ExpectColumn(l.columns[0], O::kClean, "a", {});

  // A LATERAL function over a whole row.
  l = Exact("SELECT e.value FROM customers c, LATERAL jsonb_each(to_jsonb(c)) AS e", 1);
  ExpectColumn(l.columns[0], O::kDerived, "value", {"*"});
}

TEST(LineageTest, Joins) {
  Lineage l = Exact(
      "SELECT c.email, o.total, o.id FROM customers c JOIN orders o ON o.cid = c.id "
      "AND c.ssn <> ''",
      3);
  ExpectColumn(l.columns[0], O::kColumn, "email", {"email"}, "c");
  ExpectColumn(l.columns[1], O::kClean, "total", {});
  ExpectColumn(l.columns[2], O::kClean, "id", {});
  EXPECT_EQ(l.referenced, Names({"email", "ssn"}));

  l = Exact("SELECT j.x FROM ((SELECT lower(card) AS x FROM customers) a CROSS JOIN orders) AS j",
            1);
  ExpectColumn(l.columns[0], O::kDerived, "x", {"card"});

  // Ambiguous between a derived subquery column and a table: fail closed.
  l = Exact("SELECT x FROM orders, (SELECT ssn || '' AS x FROM customers) s", 1);
  ExpectColumn(l.columns[0], O::kDerived, "x", {"ssn"});
}

TEST(LineageTest, Ctes) {
  Lineage l = Exact(
      "WITH a AS (SELECT email AS e, lower(ssn) AS s FROM customers), "
      "b AS (SELECT e AS f, s FROM a) SELECT f, s, upper(f) FROM b",
      3);
  ExpectColumn(l.columns[0], O::kColumn, "f", {"email"});
  ExpectColumn(l.columns[1], O::kDerived, "s", {"ssn"});
  ExpectColumn(l.columns[2], O::kDerived, "upper", {"email"});

  l = Exact("WITH a(x) AS (SELECT card FROM customers) SELECT x FROM a", 1);
  ExpectColumn(l.columns[0], O::kColumn, "x", {"card"});

  // A CTE named like a table hides it.
  l = Exact("WITH customers AS (SELECT 1 AS email) SELECT email FROM customers", 1);
  ExpectColumn(l.columns[0], O::kClean, "email", {});

  // Recursive: taint flows around the cycle.
  l = Exact(
      "WITH RECURSIVE r(n, v) AS (SELECT 1, ''::text UNION ALL "
      "SELECT n + 1, v || (SELECT ssn FROM customers LIMIT 1) FROM r WHERE n < 3) "
      "SELECT n, v FROM r",
      2);
  EXPECT_EQ(l.columns[1].origin, O::kDerived);
  EXPECT_EQ(l.columns[1].names, Names({"ssn"}));

  // A data-modifying CTE's RETURNING.
  l = Exact("WITH d AS (DELETE FROM customers RETURNING ssn) SELECT ssn FROM d", 1);
  ExpectColumn(l.columns[0], O::kColumn, "ssn", {"ssn"});
}

TEST(LineageTest, SetOperations) {
  Lineage l = Exact("SELECT email, id FROM customers UNION SELECT 'x', 1", 2);
  ExpectColumn(l.columns[0], O::kColumn, "email", {"email"});
  ExpectColumn(l.columns[1], O::kClean, "id", {});

  l = Exact(
      "SELECT email AS a FROM customers UNION ALL SELECT lower(ssn) FROM customers "
      "EXCEPT SELECT card FROM customers",
      1);
  ExpectColumn(l.columns[0], O::kDerived, "a", {"card", "email", "ssn"});

  // Two different plain columns in one output column: not one column any more.
  l = Exact("SELECT email FROM customers INTERSECT SELECT ssn FROM customers", 1);
  ExpectColumn(l.columns[0], O::kDerived, "email", {"email", "ssn"});

  // Arms of different shapes, or with `*`: not exact.
  l = Analyze("SELECT * FROM customers UNION SELECT * FROM customers");
  EXPECT_TRUE(l.parsed);
  EXPECT_FALSE(l.exact);
  EXPECT_TRUE(l.columns.empty());
  l = Analyze("SELECT email, id FROM customers UNION SELECT email FROM customers");
  EXPECT_FALSE(l.exact);
}

TEST(LineageTest, StarIsNotExact) {
  Lineage l = Analyze("SELECT * FROM customers");
  EXPECT_TRUE(l.parsed);
  EXPECT_TRUE(l.returns_rows);
  EXPECT_FALSE(l.exact);
  EXPECT_TRUE(l.columns.empty());

  l = Analyze("SELECT c.*, lower(email) FROM customers c");
  EXPECT_FALSE(l.exact);
  EXPECT_EQ(l.referenced, Names({"email"}));

  l = Analyze("TABLE customers");
  EXPECT_TRUE(l.returns_rows);
  EXPECT_FALSE(l.exact);

  // A subquery whose shape is unknown: its columns carry everything it read.
  l = Exact("SELECT x FROM (SELECT lower(ssn) AS x FROM customers UNION SELECT * FROM t) s", 1);
  ExpectColumn(l.columns[0], O::kDerived, "x", {"ssn"});
}

TEST(LineageTest, Values) {
  Lineage l = Exact("VALUES (1, 'a'), (2, 'b')", 2);
  ExpectColumn(l.columns[0], O::kClean, "column1", {});
  ExpectColumn(l.columns[1], O::kClean, "column2", {});

  l = Exact("VALUES ((SELECT email FROM customers LIMIT 1), 1)", 2);
  ExpectColumn(l.columns[0], O::kDerived, "column1", {"email"});
  ExpectColumn(l.columns[1], O::kClean, "column2", {});
}

TEST(LineageTest, Returning) {
  Lineage l = Exact(
      "UPDATE customers SET email = lower(email) WHERE id = 1 "
      "RETURNING id, email, md5(ssn) AS h",
      3);
  ExpectColumn(l.columns[0], O::kClean, "id", {});
  ExpectColumn(l.columns[1], O::kColumn, "email", {"email"});
  ExpectColumn(l.columns[2], O::kDerived, "h", {"ssn"});

  l = Exact("DELETE FROM customers c USING orders o WHERE o.cid = c.id RETURNING c.card", 1);
  ExpectColumn(l.columns[0], O::kColumn, "card", {"card"}, "c");

  l = Exact("INSERT INTO customers (email) VALUES ('a') RETURNING row_to_json(customers)", 1);
  ExpectColumn(l.columns[0], O::kDerived, "row_to_json", {"*"});
  EXPECT_TRUE(l.whole_row);

  l = Analyze("INSERT INTO customers (email) VALUES ('a') RETURNING *");
  EXPECT_TRUE(l.returns_rows);
  EXPECT_FALSE(l.exact);

  l = Analyze("INSERT INTO log SELECT ssn FROM customers");
  EXPECT_TRUE(l.parsed);
  EXPECT_FALSE(l.returns_rows);
  EXPECT_TRUE(l.exact);
  EXPECT_TRUE(l.columns.empty());
  EXPECT_EQ(l.referenced, Names({"ssn"}));
}

TEST(LineageTest, CursorsAndPreparedStatements) {
  Lineage l = Analyze("DECLARE c1 CURSOR FOR SELECT lower(email) AS m FROM customers");
  EXPECT_TRUE(l.parsed);
  EXPECT_TRUE(l.declares);
  EXPECT_EQ(l.cursor, "c1");
  EXPECT_TRUE(l.returns_rows);
  EXPECT_TRUE(l.exact);
  ASSERT_EQ(l.columns.size(), 1u);
  ExpectColumn(l.columns[0], O::kDerived, "m", {"email"});

  l = Analyze("FETCH 10 FROM c1");
  EXPECT_EQ(l.cursor, "c1");
  EXPECT_FALSE(l.declares);
  EXPECT_TRUE(l.returns_rows);
  EXPECT_FALSE(l.exact);
  EXPECT_TRUE(l.columns.empty());

  l = Analyze("MOVE NEXT IN c1");
  EXPECT_EQ(l.cursor, "c1");
  EXPECT_FALSE(l.returns_rows);
  EXPECT_FALSE(l.exact);

  l = Analyze("PREPARE p1 (int) AS SELECT ssn, id FROM customers WHERE id = $1");
  EXPECT_TRUE(l.declares);
  EXPECT_EQ(l.prepared, "p1");
  EXPECT_TRUE(l.exact);
  ASSERT_EQ(l.columns.size(), 2u);
  ExpectColumn(l.columns[0], O::kColumn, "ssn", {"ssn"});

  l = Analyze("PREPARE \"P2\" AS UPDATE customers SET id = 2 RETURNING upper(card)");
  EXPECT_EQ(l.prepared, "P2");  // as PostgreSQL folds it
  ASSERT_EQ(l.columns.size(), 1u);
  ExpectColumn(l.columns[0], O::kDerived, "upper", {"card"});

  l = Analyze("EXECUTE p1(5)");
  EXPECT_EQ(l.prepared, "p1");
  EXPECT_FALSE(l.declares);
  EXPECT_TRUE(l.returns_rows);
  EXPECT_FALSE(l.exact);
}

TEST(LineageTest, OtherStatements) {
  Lineage l = Exact("EXPLAIN SELECT row_to_json(c) FROM customers c", 1);
  ExpectColumn(l.columns[0], O::kClean, "QUERY PLAN", {});

  l = Exact("SHOW search_path", 1);
  ExpectColumn(l.columns[0], O::kClean, "search_path", {});

  l = Analyze("SET search_path = public");
  EXPECT_TRUE(l.parsed);
  EXPECT_FALSE(l.returns_rows);

  l = Analyze("CALL refresh(1)");
  EXPECT_TRUE(l.returns_rows);
  EXPECT_FALSE(l.exact);

  l = Analyze("SELECT ssn INTO TEMP t FROM customers");
  EXPECT_TRUE(l.parsed);
  EXPECT_FALSE(l.returns_rows);
  EXPECT_EQ(l.referenced, Names({"ssn"}));

  l = Analyze("CREATE VIEW v AS SELECT row_to_json(c) FROM customers c");
  EXPECT_FALSE(l.returns_rows);
  EXPECT_TRUE(l.whole_row);
}

TEST(LineageTest, CopyTable) {
  Lineage l = Analyze(
      "COPY public.customers (id, email) TO STDOUT WITH (FORMAT csv, HEADER, "
      "DELIMITER ';', QUOTE '''', ESCAPE '\\', NULL 'n/a')");
  ASSERT_TRUE(l.parsed);
  EXPECT_TRUE(l.copy.is_copy);
  EXPECT_TRUE(l.copy.to_stdout);
  EXPECT_TRUE(l.returns_rows);
  EXPECT_FALSE(l.copy.from_query);
  EXPECT_EQ(l.copy.relation_schema, "public");
  EXPECT_EQ(l.copy.relation, "customers");
  EXPECT_EQ(l.copy.column_list, Names({"id", "email"}));
  EXPECT_EQ(l.copy.format, CopyFormatKind::kCsv);
  EXPECT_TRUE(l.copy.header);
  EXPECT_EQ(l.copy.delimiter, ';');
  EXPECT_EQ(l.copy.quote, '\'');
  EXPECT_EQ(l.copy.escape, '\\');
  EXPECT_TRUE(l.copy.null_given);
  EXPECT_EQ(l.copy.null_text, "n/a");
  EXPECT_TRUE(l.copy.options_understood);
  EXPECT_TRUE(l.exact);
  ASSERT_EQ(l.columns.size(), 2u);
  ExpectColumn(l.columns[0], O::kClean, "id", {});
  ExpectColumn(l.columns[1], O::kColumn, "email", {"email"}, "customers");
  EXPECT_EQ(l.referenced, Names({"email"}));

  // The old option syntax.
  l = Analyze(
      "COPY customers TO STDOUT WITH CSV HEADER DELIMITER AS '|' NULL AS '' "
      "FORCE QUOTE *");
  EXPECT_TRUE(l.copy.to_stdout);
  EXPECT_EQ(l.copy.format, CopyFormatKind::kCsv);
  EXPECT_TRUE(l.copy.header);
  EXPECT_EQ(l.copy.delimiter, '|');
  EXPECT_TRUE(l.copy.null_given);
  EXPECT_EQ(l.copy.null_text, "");
  EXPECT_TRUE(l.copy.options_understood);
  EXPECT_FALSE(l.exact);  // every column of a sensitive table
  EXPECT_TRUE(l.whole_row);

  l = Analyze("COPY BINARY customers TO STDOUT");
  EXPECT_EQ(l.copy.format, CopyFormatKind::kBinary);
  l = Analyze("COPY customers TO STDOUT (FORMAT binary)");
  EXPECT_EQ(l.copy.format, CopyFormatKind::kBinary);
  l = Analyze("COPY customers TO STDOUT (FORMAT text, HEADER false)");
  EXPECT_EQ(l.copy.format, CopyFormatKind::kText);
  EXPECT_FALSE(l.copy.header);
  EXPECT_TRUE(l.copy.options_understood);
  l = Analyze("COPY customers TO STDOUT USING DELIMITERS ','");
  EXPECT_EQ(l.copy.delimiter, ',');
}

TEST(LineageTest, CopyOptionsNotUnderstood) {
  for (const char* sql : {
           "COPY customers TO STDOUT (DELIMITER '||')",
           "COPY customers TO STDOUT (QUOTE '')",
           "COPY customers TO STDOUT (FORMAT json)",
           "COPY customers TO STDOUT (HEADER maybe)",
           "COPY customers TO STDOUT (HEADER match)",
           "COPY customers TO STDOUT (ENCODING 'SJIS')",
           "COPY customers TO STDOUT (OIDS true)",
           "COPY customers TO STDOUT (FORCE_QUOTE *, DELIMITER 'ab')",
       }) {
    const Lineage l = Analyze(sql);
    EXPECT_TRUE(l.parsed) << sql;
    EXPECT_FALSE(l.copy.options_understood) << sql;
  }
  const Lineage l = Analyze("COPY customers TO STDOUT (ENCODING 'LATIN1', FORCE_QUOTE (email))");
  EXPECT_TRUE(l.copy.options_understood);
}

TEST(LineageTest, CopyQueryAndDirections) {
  Lineage l = Analyze("COPY (SELECT id, lower(email) FROM customers) TO STDOUT (FORMAT csv)");
  EXPECT_TRUE(l.copy.is_copy);
  EXPECT_TRUE(l.copy.from_query);
  EXPECT_TRUE(l.copy.to_stdout);
  EXPECT_TRUE(l.returns_rows);
  EXPECT_TRUE(l.copy.relation.empty());
  EXPECT_TRUE(l.exact);
  ASSERT_EQ(l.columns.size(), 2u);
  ExpectColumn(l.columns[1], O::kDerived, "lower", {"email"});

  l = Analyze("COPY (SELECT * FROM customers) TO STDOUT");
  EXPECT_TRUE(l.copy.from_query);
  EXPECT_FALSE(l.exact);

  l = Analyze("COPY customers FROM STDIN");
  EXPECT_TRUE(l.copy.is_copy);
  EXPECT_FALSE(l.copy.to_stdout);
  EXPECT_FALSE(l.returns_rows);

  l = Analyze("COPY customers TO '/tmp/x'");
  EXPECT_FALSE(l.copy.to_stdout);
  l = Analyze("COPY customers TO ''");  // a server file, even if empty
  EXPECT_FALSE(l.copy.to_stdout);
  l = Analyze("COPY customers TO PROGRAM 'cat'");
  EXPECT_FALSE(l.copy.to_stdout);
  l = Analyze("COPY s.\"to\" (a) TO /* c */ stdout");
  EXPECT_TRUE(l.copy.to_stdout);
}

TEST(LineageTest, StandardConformingStringsOff) {
  // With the setting off, '\'' is one quote character: the statement is one string then FROM.
  Lineage l = Exact("SELECT 'a\\'b' || email FROM customers", 1, kOff);
  ExpectColumn(l.columns[0], O::kDerived, "?column?", {"email"});

  // The same text with it on ends the string at the backslash-quote: a syntax error.
  EXPECT_FALSE(Analyze("SELECT 'a\\'b' || email FROM customers").parsed);

  // N'...' stays a national character literal; a backslash inside hides nothing.
  l = Exact("SELECT N'x\\\\', ssn FROM customers", 2, kOff);
  ExpectColumn(l.columns[1], O::kColumn, "ssn", {"ssn"});

  l = Analyze("COPY customers TO STDOUT (DELIMITER '\\t')", kOff);
  EXPECT_TRUE(l.copy.options_understood);
  EXPECT_EQ(l.copy.delimiter, '\t');
  l = Analyze("COPY customers TO STDOUT (DELIMITER '\\t')", kOn);
  EXPECT_FALSE(l.copy.options_understood);  // two bytes: backslash and t
}

TEST(LineageTest, RefusedText) {
  for (const char* sql : {"", ";", "SELECT FROM WHERE", "SELECT 1; SELECT email FROM customers",
                          "SELECT 'unterminated", "SELEC email"}) {
    const Lineage l = Analyze(sql);
    EXPECT_FALSE(l.parsed) << sql;
    EXPECT_FALSE(l.exact) << sql;
    EXPECT_TRUE(l.columns.empty()) << sql;
  }
  // A NUL byte would end libpg_query's C string early.
  const std::string with_nul("SELECT 1\0; SELECT email FROM customers", 38);
  EXPECT_FALSE(Analyze(with_nul).parsed);
}

TEST(LineageTest, ReferencedEverywhere) {
  const Lineage l = Exact(
      "SELECT id FROM customers c JOIN orders o ON o.card = c.card "
      "WHERE c.id IN (SELECT id FROM customers WHERE ssn > '5') "
      "ORDER BY email",
      1);
  ExpectColumn(l.columns[0], O::kClean, "id", {});
  EXPECT_EQ(l.referenced, Names({"card", "email", "ssn"}));
  EXPECT_FALSE(l.whole_row);
}

TEST(LineageTest, DeepNestingIsBounded) {
  std::string sql = "SELECT ";
  for (int i = 0; i < 200; ++i) {
    sql += "lower(";
  }
  sql += "email";
  for (int i = 0; i < 200; ++i) {
    sql += ")";
  }
  sql += " FROM customers";
  const Lineage l = Exact(sql, 1);
  ExpectColumn(l.columns[0], O::kDerived, "lower", {"email"});
}

TEST(LineageTest, LargeStatementOfOrdinaryShapeStaysExact) {
  std::string sql = "SELECT email FROM customers WHERE id IN (0";
  for (int i = 1; i < 10000; ++i) {
    sql += "," + std::to_string(i);
  }
  sql += ")";
  const Lineage l = Exact(sql, 1);
  ExpectColumn(l.columns[0], O::kColumn, "email", {"email"});
  EXPECT_FALSE(l.whole_row);
}

TEST(LineageTest, ExponentialCteChainFailsClosed) {
  // Each CTE expands the previous one four times over: 4^24 paths to `x`.
  std::string sql = "WITH a0 AS (SELECT * FROM customers)";
  for (int i = 1; i < 25; ++i) {
    const std::string previous = "a" + std::to_string(i - 1);
    sql += ", a" + std::to_string(i) + " AS (SELECT * FROM " + previous + " p, " + previous +
           " q, " + previous + " r, " + previous + " s)";
  }
  sql += " SELECT x FROM a24";
  const Lineage l = Analyze(sql);
  EXPECT_TRUE(l.parsed);
  EXPECT_TRUE(l.returns_rows);
  EXPECT_FALSE(l.exact);
  EXPECT_TRUE(l.whole_row);
}

}  // namespace
TEST(LineageTest, WrittenValuesOfMaskedColumns) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Analyze("SELECT email FROM customers").written, V{});
  EXPECT_EQ(Analyze("INSERT INTO notes (n) SELECT email FROM customers").written, V{"email"});
  EXPECT_EQ(Analyze("INSERT INTO notes SELECT lower(ssn) FROM customers").written, V{"ssn"});
  EXPECT_EQ(Analyze("INSERT INTO notes VALUES ((SELECT card FROM customers LIMIT 1))").written,
            V{"card"});
  EXPECT_EQ(Analyze("INSERT INTO notes VALUES ('x')").written, V{});
  // Into a masked column of a masked relation: the mask still applies there.
  EXPECT_EQ(Analyze("INSERT INTO customers (id, email) SELECT id, email FROM leads").written,
            V{});
  EXPECT_EQ(Analyze("INSERT INTO customers (id, name) SELECT id, email FROM leads").written,
            V{"email"});
  EXPECT_EQ(Analyze("UPDATE customers SET email = lower(email)").written, V{});
  EXPECT_EQ(Analyze("UPDATE customers SET name = email").written, V{"email"});
  EXPECT_EQ(Analyze("UPDATE orders SET note = (SELECT ssn FROM customers LIMIT 1)").written,
            V{"ssn"});
  EXPECT_EQ(Analyze("UPDATE customers SET name = 'x' WHERE ssn = '1'").written, V{});
  EXPECT_EQ(Analyze("CREATE TABLE copy AS SELECT ssn AS s FROM customers").written, V{"ssn"});
  EXPECT_EQ(Analyze("SELECT email INTO TEMP t FROM customers").written, V{"email"});
  EXPECT_EQ(Analyze("CREATE VIEW v AS SELECT id, card AS c FROM customers").written, V{"card"});
  EXPECT_FALSE(Analyze("CREATE MATERIALIZED VIEW m AS SELECT * FROM customers").written.empty());
  EXPECT_FALSE(Analyze("CREATE TABLE t AS SELECT c FROM customers c").written.empty());
  EXPECT_EQ(Analyze("CREATE TABLE t (a int)").written, V{});
}

TEST(LineageTest, StarOfOneRelation) {
  EXPECT_EQ(Analyze("SELECT * FROM customers").star_relation, "customers");
  EXPECT_EQ(Analyze("COPY (SELECT * FROM customers WHERE id > 1) TO STDOUT").star_relation,
            "customers");
  EXPECT_EQ(Analyze("SELECT id, * FROM customers").star_relation, "");
  EXPECT_EQ(Analyze("SELECT * FROM customers, orders").star_relation, "");
  EXPECT_EQ(Analyze("SELECT * FROM (SELECT email FROM customers) s").star_relation, "");
}

}  // namespace jitgate::parsers::sql::pg
