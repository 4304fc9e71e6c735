// Micro benchmarks of the MySQL/MariaDB SQL path (jitgate/parsers/sql/mysql/*.h): classify ns per
// statement (a ~100-byte statement and a long multi-row INSERT), lexer throughput in bytes/s on
// long statements, splitter and fingerprint costs.
#include <string>

#include "benchmark/benchmark.h"
#include "jitgate/parsers/sql/mysql/classify.h"

namespace jitgate::parsers::sql::mysql {
namespace {

const std::string kShort =
    "SELECT id, name, email FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = 42 LIMIT 1";

std::string LongInsert() {
  std::string text = "INSERT INTO events (id, kind, payload, created_at) VALUES ";
  for (int i = 0; i < 2000; ++i) {
    text += (i ? ", (" : "(") + std::to_string(i) +
            ", 'click', '{\"x\": 1, \"path\": \"/a/b\\'c\"}', '2024-01-01 00:00:00')";
  }
  return text;
}

std::string LongSelect() {
  std::string text = "SELECT ";
  for (int i = 0; i < 400; ++i) {
    text += (i ? ", " : "") + std::string("COALESCE(t.col_") + std::to_string(i) +
            ", 0) /* c */ AS `alias_" + std::to_string(i) + "`";
  }
  return text + " FROM db.t WHERE t.a = 'x' AND t.b IN (1, 2, 3)";
}

void BM_ClassifyShort(benchmark::State& state) {
  Statement statement;
  for (auto _ : state) {
    ClassifyText(kShort, {}, &statement);
    benchmark::DoNotOptimize(statement.statement_class);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kShort.size()));
}
BENCHMARK(BM_ClassifyShort);

void BM_FingerprintShort(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(Fingerprint(kShort, LexMode{}));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FingerprintShort);

void BM_ClassifyLong(benchmark::State& state) {
  const std::string text = state.range(0) == 0 ? LongInsert() : LongSelect();
  Statement statement;
  for (auto _ : state) {
    ClassifyText(text, {}, &statement);
    benchmark::DoNotOptimize(statement.statement_class);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ClassifyLong)->Arg(0)->Arg(1);

void BM_LexLong(benchmark::State& state) {
  const std::string text = state.range(0) == 0 ? LongInsert() : LongSelect();
  for (auto _ : state) {
    Lexer lexer(text, {});
    size_t tokens = 0;
    while (lexer.Next().kind != TokenKind::kEnd) {
      ++tokens;
    }
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_LexLong)->Arg(0)->Arg(1);

void BM_SplitMulti(benchmark::State& state) {
  std::string text;
  for (int i = 0; i < 64; ++i) {
    text += "UPDATE t SET a = 'x;y' WHERE id = " + std::to_string(i) + "; ";
  }
  Piece pieces[kStatementsMax];
  for (auto _ : state) {
    benchmark::DoNotOptimize(Split(text, {}, pieces).count);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_SplitMulti);

}  // namespace
}  // namespace jitgate::parsers::sql::mysql
BENCHMARK_MAIN();
