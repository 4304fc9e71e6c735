// tests/parsers/sql/pg_alloc_test.cc: the lexer, splitter, fingerprint and the cached classify
// path allocate nothing (tests/common/alloc_counter.cc counts operator new on this thread).
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "jitgate/parsers/sql/pg/cache.h"
#include "jitgate/parsers/sql/pg/classify.h"
#include "jitgate/parsers/sql/pg/split.h"
#include "tests/common/alloc_counter.h"

namespace jitgate::parsers::sql::pg {
namespace {

constexpr LexMode kOn{.standard_conforming_strings = true};
constexpr std::string_view kText =
    "SELECT a, \"B\", E'x\\'y', $$z$$, U&'q', B'1', X'f', 1.5e3, $1 FROM t /* c /* d */ */ "
    "WHERE id = 42 -- tail\n; UPDATE t SET a = 'v' WHERE id = 7; DELETE FROM t WHERE id = 1";

TEST(PgAlloc, LexerSplitterFingerprint) {
  for (LexMode mode : {kOn, LexMode{.standard_conforming_strings = false}}) {
    const std::string_view text = mode.standard_conforming_strings
                                      ? kText
                                      : std::string_view("SELECT 'a\\'b', 1; SELECT 2");
    testing::AllocationScope scope;
    Lexer lexer(text, mode);
    Token token;
    int tokens = 0;
    while (lexer.Next(&token)) {
      ++tokens;
    }
    std::array<StatementSpan, 8> spans;
    const SplitResult split = SplitStatements(text, mode, 5, spans);
    uint64_t print = 0;
    FingerprintStatement(text.substr(spans[0].offset, spans[0].length), mode, 5, &print);
    EXPECT_EQ(scope.count(), 0u);
    EXPECT_GT(tokens, 3);
    EXPECT_GE(split.count, 2u);
    EXPECT_EQ(print, spans[0].fingerprint);
  }
}

TEST(PgAlloc, CachedClassify) {
  DecisionCache cache(64, 17);  // allocates here, once
  std::array<Statement, 4> out;
  ClassifyMessage(kText, kOn, &cache, out);  // misses: libpg_query allocates
  const std::string again =
      "SELECT a, \"B\", E'', $$$$, U&'', B'', X'', 2.0, $1 FROM t WHERE id = 1; "
      "UPDATE t SET a = 'w' WHERE id = 8; DELETE FROM t WHERE id = 99";
  testing::AllocationScope scope;
  const ClassifyResult result = ClassifyMessage(again, kOn, &cache, out);
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(result.statement_count, 3u);
  EXPECT_EQ(result.cache_hits, 3u);
  EXPECT_EQ(out[2].statement_class, StatementClass::kWrite);
  EXPECT_EQ(again.substr(out[2].offset, out[2].length), "DELETE FROM t WHERE id = 99");
}

}  // namespace
}  // namespace jitgate::parsers::sql::pg
