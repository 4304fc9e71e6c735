// fuzz/pg_classify_fuzz.cc: libFuzzer target for the PostgreSQL classifier
// (jitgate/parsers/sql/pg/classify.h) and its decision cache.
// Input: first byte's low bit picks standard_conforming_strings (1 = on), the rest is SQL.
// Properties, beyond "no crash or sanitizer report":
//  - classifying through a cache that persists across inputs (so shapes seen in earlier inputs
//    are served from it) gives what the uncached classifier gives, for every statement, class,
//    flags and names alike. One allowance: where libpg_query rejects a statement (kUnknown) that
//    shares its shape with one it accepted, the cache may answer with the accepted one (such
//    rejections hinge on a literal, e.g. a string continued across a -- comment, which the real
//    server accepts or rejects without running anything).
//  - nothing outside the text is referenced: spans lie within it.
// Seed corpus: fuzz/corpus/pg_classify/.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/sql/pg/cache.h"
#include "jitgate/parsers/sql/pg/classify.h"

namespace pg = jitgate::parsers::sql::pg;
namespace sql = jitgate::parsers::sql;

// libpg_query 15-4.0.0 leaks a few bytes (strdup in pg_query_raw_parse) when
// pg_query_parse_plpgsql fails; LeakSanitizer is told to ignore only that frame.
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() { return "leak:pg_query_raw_parse\n"; }

namespace {

bool SameNames(const sql::Statement& a, const sql::Statement& b) {
  if (a.relation_count != b.relation_count || a.function_count != b.function_count) {
    return false;
  }
  for (uint8_t i = 0; i < a.relation_count; ++i) {
    if (a.relations[i].name.name != b.relations[i].name.name ||
        a.relations[i].name.schema != b.relations[i].name.schema ||
        a.relations[i].access != b.relations[i].access) {
      return false;
    }
  }
  for (uint8_t i = 0; i < a.function_count; ++i) {
    if (a.functions[i].name != b.functions[i].name ||
        a.functions[i].schema != b.functions[i].schema) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static pg::DecisionCache cache(1024, 0x5eed);
  static std::array<sql::Statement, 8> cached;
  static std::array<sql::Statement, 8> uncached;
  const pg::LexMode mode{.standard_conforming_strings = (data[0] & 1) != 0};
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const pg::ClassifyResult a = pg::ClassifyMessage(text, mode, &cache, cached);
  const pg::ClassifyResult b = pg::ClassifyMessage(text, mode, nullptr, uncached);
  JG_CHECK(a.statement_count == b.statement_count && a.overflow == b.overflow);
  for (uint32_t i = 0; i < a.statement_count; ++i) {
    const sql::Statement& x = cached[i];
    const sql::Statement& y = uncached[i];
    JG_CHECK(x.offset == y.offset && x.length == y.length);
    JG_CHECK(static_cast<size_t>(x.offset) + x.length <= text.size());
    if (y.statement_class == sql::StatementClass::kUnknown) {
      continue;
    }
    JG_CHECK(x.statement_class == y.statement_class);
    JG_CHECK(x.flags == y.flags);
    JG_CHECK(x.command == y.command);
    JG_CHECK(SameNames(x, y));
  }
  cache.AssertInvariants();
  return 0;
}
