// tests/parsers/sql/pg_classify_test.cc: the PostgreSQL classifier on a table of statements
// (expected class and flags), evasion attempts included, the decision cache, and the names
// (relations, functions) a statement reports.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "jitgate/parsers/sql/pg/cache.h"
#include "jitgate/parsers/sql/pg/classify.h"

// libpg_query 15-4.0.0 leaks a few bytes (strdup in pg_query_raw_parse) when
// pg_query_parse_plpgsql fails; LeakSanitizer is told to ignore only that frame.
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() { return "leak:pg_query_raw_parse\n"; }

namespace jitgate::parsers::sql::pg {
namespace {

using C = StatementClass;

constexpr LexMode kOn{.standard_conforming_strings = true};
constexpr LexMode kOff{.standard_conforming_strings = false};

struct Case {
  std::string_view sql;
  C expected;
  uint32_t flags = 0;  // flags that must be set
  bool off = false;    // standard_conforming_strings off
};

// The class of a whole message: the most dangerous of its statements (as a policy would see it).
int Rank(C c) {
  constexpr std::array<C, 9> order = {C::kRead, C::kTransaction, C::kSession, C::kWrite, C::kDdl,
                                      C::kDcl,  C::kDestructive, C::kAdmin,   C::kUnknown};
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] == c) {
      return static_cast<int>(i);
    }
  }
  return 8;
}

struct MessageClass {
  C statement_class = C::kRead;
  uint32_t flags = 0;
  uint32_t count = 0;
};

MessageClass Classify(std::string_view sql, LexMode mode, DecisionCache* cache = nullptr) {
  static std::array<Statement, 16> out;
  const ClassifyResult result = ClassifyMessage(sql, mode, cache, out);
  MessageClass message;
  message.count = result.statement_count;
  if (result.statement_count == 0) {
    message.statement_class = C::kUnknown;  // nothing to run: callers treat it as unknown too
  }
  for (uint32_t i = 0; i < result.statement_count; ++i) {
    if (Rank(out[i].statement_class) > Rank(message.statement_class)) {
      message.statement_class = out[i].statement_class;
    }
    message.flags |= out[i].flags;
  }
  return message;
}

const Case kCases[] = {
#include "tests/parsers/sql/pg_classify_cases.inc"
};

TEST(PgClassify, Table) {
  EXPECT_GE(std::size(kCases), 150u);
  for (const Case& c : kCases) {
    const MessageClass got = Classify(c.sql, c.off ? kOff : kOn);
    EXPECT_EQ(StatementClassName(got.statement_class), StatementClassName(c.expected)) << c.sql;
    EXPECT_EQ(got.flags & c.flags, c.flags) << c.sql << " flags 0x" << std::hex << got.flags;
  }
}

TEST(PgClassify, NothingThatWritesIsRead) {
  for (const Case& c : kCases) {
    if (c.expected != C::kRead) {
      EXPECT_NE(Classify(c.sql, c.off ? kOff : kOn).statement_class, C::kRead) << c.sql;
    }
  }
}

TEST(PgClassify, CachedEqualsUncached) {
  DecisionCache cache(256, 0x1234);
  for (int round = 0; round < 2; ++round) {
    for (const Case& c : kCases) {
      const LexMode mode = c.off ? kOff : kOn;
      const MessageClass uncached = Classify(c.sql, mode);
      const MessageClass cached = Classify(c.sql, mode, &cache);
      EXPECT_EQ(cached.statement_class, uncached.statement_class) << c.sql;
      EXPECT_EQ(cached.flags, uncached.flags) << c.sql;
    }
  }
  EXPECT_GT(cache.stats().hits, 0u);
  EXPECT_GT(cache.stats().refused, 0u);
  cache.AssertInvariants();
}

TEST(PgClassify, CacheIsNotGameable) {
  DecisionCache cache(64, 99);
  // Same fingerprint, different meaning only through a literal: never served from the cache.
  EXPECT_EQ(Classify("SELECT set_config('search_path', 'x', false)", kOn, &cache).statement_class,
            C::kSession);
  EXPECT_EQ(Classify("SELECT set_config('role', 'admin', false)", kOn, &cache).statement_class,
            C::kAdmin);
  EXPECT_EQ(Classify("DO $$BEGIN PERFORM 1; END$$", kOn, &cache).statement_class, C::kRead);
  EXPECT_EQ(Classify("DO $$BEGIN DROP TABLE t; END$$", kOn, &cache).statement_class,
            C::kDestructive);
  // A repeated shape is served from the cache.
  Classify("SELECT * FROM t WHERE id = 1", kOn, &cache);
  const uint64_t hits = cache.stats().hits;
  EXPECT_EQ(Classify("SELECT * FROM t WHERE id = 2", kOn, &cache).statement_class, C::kRead);
  EXPECT_EQ(cache.stats().hits, hits + 1);
  // COPY to or from '' is a server file or program like any other name: the parse tree gives ""
  // for STDIN / STDOUT too, and an empty name classified as STDOUT was served from the cache
  // for 'id' (fuzz/corpus/pg_classify/copy_empty_*).
  EXPECT_EQ(Classify("COPY t TO PROGRAM ''", kOn, &cache).statement_class, C::kAdmin);
  EXPECT_EQ(Classify("COPY t TO PROGRAM 'id'", kOn, &cache).statement_class, C::kAdmin);
  EXPECT_EQ(Classify("COPY t FROM ''", kOn, &cache).statement_class, C::kAdmin);
  const MessageClass server_file = Classify("COPY t FROM '/etc/passwd'", kOn, &cache);
  EXPECT_EQ(server_file.statement_class, C::kAdmin);
  EXPECT_NE(server_file.flags & kFlagServerFile, 0u);
  EXPECT_EQ(Classify("COPY t FROM STDIN", kOn, &cache).statement_class, C::kWrite);
  // Modes do not share entries: in off mode this hides a DROP inside one string literal... and
  // in on mode the DROP is real.
  EXPECT_EQ(Classify("SELECT 'a\\'; DROP TABLE t; --'", kOff, &cache).statement_class, C::kRead);
  EXPECT_EQ(Classify("SELECT 'a\\'; DROP TABLE t; --'", kOn, &cache).statement_class,
            C::kDestructive);
}

TEST(PgClassify, NamesAreFolded) {
  std::array<Statement, 2> out;
  ClassifyMessage("SELECT PG_CATALOG.\"PG_READ_FILE\"(x), U&\"\\0070g_ls_dir\"(y) FROM "
                  "Public.\"MyTable\" JOIN other o ON true",
                  kOn, nullptr, out);
  const Statement& s = out[0];
  EXPECT_EQ(s.statement_class, C::kAdmin);  // pg_ls_dir, spelled in Unicode escapes
  ASSERT_EQ(s.function_count, 2);
  EXPECT_EQ(s.functions[0].schema, "pg_catalog");
  EXPECT_EQ(s.functions[0].name, "PG_READ_FILE");  // quoted: not folded, not the real function
  EXPECT_EQ(s.functions[1].name, "pg_ls_dir");
  ASSERT_EQ(s.relation_count, 2);
  EXPECT_EQ(s.relations[0].name.schema, "public");
  EXPECT_EQ(s.relations[0].name.name, "MyTable");
  EXPECT_EQ(s.relations[1].name.name, "other");
}

TEST(PgClassify, RelationAccess) {
  std::array<Statement, 2> out;
  ClassifyMessage("WITH d AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM d, c", kOn,
                  nullptr, out);
  const Statement& s = out[0];
  EXPECT_EQ(s.statement_class, C::kDestructive);
  ASSERT_EQ(s.relation_count, 4);  // a CTE's name (d) is reported like a relation
  auto access = [&](std::string_view name) {
    for (uint8_t i = 0; i < s.relation_count; ++i) {
      if (s.relations[i].name.name == name) {
        return static_cast<int>(s.relations[i].access);
      }
    }
    return -1;
  };
  EXPECT_EQ(access("a"), static_cast<int>(RelationAccess::kWrite));
  EXPECT_EQ(access("b"), static_cast<int>(RelationAccess::kWrite));
  EXPECT_EQ(access("c"), static_cast<int>(RelationAccess::kRead));
  EXPECT_EQ(access("d"), static_cast<int>(RelationAccess::kRead));
  ClassifyMessage("DROP TABLE s.x, y", kOn, nullptr, out);
  ASSERT_EQ(out[0].relation_count, 2);
  EXPECT_EQ(out[0].relations[0].name.schema, "s");
  EXPECT_EQ(out[0].relations[0].access, RelationAccess::kDdl);
}

TEST(PgClassify, OverflowIsReported) {
  std::array<Statement, 2> out;
  const ClassifyResult result = ClassifyMessage("SELECT 1; SELECT 2; DROP TABLE t", kOn, nullptr, out);
  EXPECT_TRUE(result.overflow);
  EXPECT_EQ(result.statement_count, 2u);
  std::string many = "SELECT ";
  for (int i = 0; i < 40; ++i) {
    many += "f" + std::to_string(i) + "(), ";
  }
  many += "1";
  ClassifyMessage(many, kOn, nullptr, out);
  EXPECT_TRUE(out[0].flags & kFlagNamesOverflow);
  EXPECT_EQ(out[0].function_count, kFunctionsMax);
}

TEST(PgClassify, OffsetsAndCommand) {
  std::array<Statement, 4> out;
  const std::string_view text = " SELECT 1 ;\n DELETE FROM t WHERE id = 3 ";
  const ClassifyResult result = ClassifyMessage(text, kOn, nullptr, out);
  ASSERT_EQ(result.statement_count, 2u);
  EXPECT_EQ(text.substr(out[1].offset, out[1].length), "DELETE FROM t WHERE id = 3");
  EXPECT_EQ(out[1].command, "DELETE");
  EXPECT_EQ(out[0].command, "SELECT");
  EXPECT_TRUE(out[1].flags & kFlagMultiStatement);
  EXPECT_EQ(out[1].statement_class, C::kWrite);
}

}  // namespace
}  // namespace jitgate::parsers::sql::pg
