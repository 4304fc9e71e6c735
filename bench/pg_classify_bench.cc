// bench/pg_classify_bench.cc: PostgreSQL SQL classification costs.
//   BM_ClassifyCached    a typical ~100-byte statement whose shape is cached: lex + split +
//                        fingerprint + cache lookup + copy of the result (target < 150 ns)
//   BM_LexLong           lexer throughput over long statements (target >= 1 GB/s)
//   BM_SplitLong         splitter + fingerprint over the same text
//   BM_ClassifyMiss      the cache-miss path: libpg_query parse + tree walk
#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <string>

#include "jitgate/parsers/sql/pg/cache.h"
#include "jitgate/parsers/sql/pg/classify.h"
#include "jitgate/parsers/sql/pg/split.h"

namespace {

namespace pg = jitgate::parsers::sql::pg;
namespace sql = jitgate::parsers::sql;

constexpr pg::LexMode kOn{.standard_conforming_strings = true};

// 100 bytes, the shape an ORM sends.
constexpr std::string_view kTypical =
    "SELECT id, name, email, created_at FROM users WHERE tenant_id = 42 AND status = 'active' LIMIT 50";

void BM_ClassifyCached(benchmark::State& state) {
  pg::DecisionCache cache(1024, 0x9e3779b97f4a7c15ull);
  std::array<sql::Statement, 4> out;
  pg::ClassifyMessage(kTypical, kOn, &cache, out);  // warm: one miss
  for (auto _ : state) {
    const pg::ClassifyResult result = pg::ClassifyMessage(kTypical, kOn, &cache, out);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(out[0].statement_class);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kTypical.size()));
  state.counters["hit_ratio"] =
      static_cast<double>(cache.stats().hits) /
      static_cast<double>(cache.stats().hits + cache.stats().misses);
}
BENCHMARK(BM_ClassifyCached);

// Long statements: a bulk INSERT (token-dense) and a statement carrying a large text value.
std::string LongInsert() {
  std::string text = "INSERT INTO events (id, kind, payload, score) VALUES ";
  char row[128];
  for (int i = 0; i < 4000; ++i) {
    // snprintf, not operator+: GCC 12 -O3 raises a false -Wrestrict on chained string concat.
    const int size = std::snprintf(row, sizeof(row),
                                   "(%d, 'click', '{\"page\": \"/home\", \"n\": %d}', 0.5),", i,
                                   i * 7);
    text.append(row, static_cast<size_t>(size));
  }
  text.back() = ';';
  return text;
}

std::string LongLiteral() {
  std::string text = "INSERT INTO docs (body) VALUES ('";
  for (int i = 0; i < 20000; ++i) {
    text += "lorem ipsum dolor sit amet, ''quoted'' ";
  }
  text += "')";
  return text;
}

void LexAll(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    pg::Lexer lexer(text, kOn);
    pg::Token token;
    uint32_t count = 0;
    while (lexer.Next(&token)) {
      ++count;
    }
    benchmark::DoNotOptimize(count);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}

void BM_LexLongInsert(benchmark::State& state) { LexAll(state, LongInsert()); }
BENCHMARK(BM_LexLongInsert);

void BM_LexLongLiteral(benchmark::State& state) { LexAll(state, LongLiteral()); }
BENCHMARK(BM_LexLongLiteral);

void BM_SplitLongInsert(benchmark::State& state) {
  const std::string text = LongInsert();
  std::array<pg::StatementSpan, 4> spans;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pg::SplitStatements(text, kOn, 1, spans));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_SplitLongInsert);

void BM_ClassifyMiss(benchmark::State& state) {
  std::array<sql::Statement, 4> out;
  for (auto _ : state) {
    const pg::ClassifyResult result = pg::ClassifyMessage(kTypical, kOn, nullptr, out);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyMiss);

void BM_ClassifyMissCteWrite(benchmark::State& state) {
  constexpr std::string_view text =
      "WITH moved AS (DELETE FROM queue WHERE run_at < now() RETURNING *) "
      "INSERT INTO archive SELECT * FROM moved";
  std::array<sql::Statement, 4> out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pg::ClassifyMessage(text, kOn, nullptr, out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyMissCteWrite);

void BM_ClassifyMissDoBlock(benchmark::State& state) {
  constexpr std::string_view text =
      "DO $$BEGIN UPDATE t SET a = 1 WHERE id = 2; PERFORM pg_sleep(0); END$$";
  std::array<sql::Statement, 4> out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pg::ClassifyMessage(text, kOn, nullptr, out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyMissDoBlock);

}  // namespace

BENCHMARK_MAIN();
