// bench/session_bench.cc: the gateway session's cost on the forwarding path, as PgSession runs it
// (src/session/pg_session_backend.cc WalkUp / WalkDown, src/session/pg_session_guard.cc).
// Frame editing, session::FrameEditor (src/session/frame_editor.h), with the session's interest
// sets and hold limits; every callback answers kKeep and every Edit is zero_copy=true, so these
// are the figures of the no-edit fast path:
//  - BM_EditResultStream: a RowDescription + 20000 DataRows + CommandComplete + ReadyForQuery
//    stream in 16 KiB receive buffers, with the down interest set (ReadyForQuery,
//    ParameterStatus, ErrorResponse: DataRows pass by length). What a gateway session adds to
//    each buffer it forwards; bytes/s. Counter copied_bytes: bytes of each stream that went out
//    through the editor's output instead of in place (a chunk ending inside a frame header makes
//    the next chunk copy).
//  - BM_EditPgbenchSelect: one pgbench -S response (T, D, C, Z) per call, the -c 32 workload's
//    shape; items/s = responses edited.
//  - BM_EditQueries: the client side: one simple Query per call with the up interest set
//    (Query, Parse, FunctionCall, Sync), held as a view and kept.
// Guardrails, session::JudgeSql (src/session/guard.h) with a warm GuardScratch (every statement
// shape is in the DecisionCache, so this is classification from cache plus the decision), for a
// session on the default search_path (the policy's SchemaCandidates passed, not needed):
//  - BM_GuardPgbenchSelect: the pgbench -S statement, its aid varying per call (the literal
//    differs, the fingerprint does not), under a policy with the default statement rules.
//  - BM_GuardPgbenchSelectRules: the same under a policy with 10 table rules (exact, s.*, *.t,
//    bare and "*" patterns, allow-list semantics for reads) and 3 function rules.
//  - BM_GuardMultiStatement: a 5-statement simple query string (pgbench's TPC-B-like body) under
//    the default rules; items/s = statements judged.
// A benchmark whose run leaves the fast path (a copy where none is expected, a cache miss, a
// refusal) reports an error instead of a figure.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "jitgate/config.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/sql/pg/lexer.h"
#include "src/policy/rules.h"
#include "src/session/frame_editor.h"
#include "src/session/guard.h"
#include "src/session/pg_session_internal.h"

namespace jitgate::session {
namespace {

namespace pg = parsers::pg;
namespace sqlpg = parsers::sql::pg;

// A receive buffer's size (the shard's buffer-ring entries).
constexpr size_t kBufferSize = 16384;
// Distinct aid literals cycled through by the guardrail benchmarks.
constexpr size_t kVariantCount = 1024;

void Frame(char type, const std::string& body, std::string* out) {
  out->push_back(type);
  const uint32_t length = static_cast<uint32_t>(body.size() + 4);
  for (int i = 0; i < 4; ++i) {
    out->push_back(static_cast<char>(length >> (24 - 8 * i)));
  }
  *out += body;
}

std::string Int16(int v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }
std::string Int32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string RowDescription(int columns) {
  std::string body = Int16(columns);
  for (int c = 0; c < columns; ++c) {
    body += "col" + std::to_string(c) + std::string(1, '\0');
    body += Int32(16384) + Int16(c + 1) + Int32(25) + Int16(-1) + Int32(0xffffffffu) + Int16(0);
  }
  std::string out;
  Frame('T', body, &out);
  return out;
}

std::string DataRow(const std::vector<std::string>& values) {
  std::string body = Int16(static_cast<int>(values.size()));
  for (const std::string& v : values) {
    body += Int32(static_cast<uint32_t>(v.size())) + v;
  }
  std::string out;
  Frame('D', body, &out);
  return out;
}

std::string Tail() {
  std::string out;
  Frame('C', std::string("SELECT 1") + '\0', &out);
  Frame('Z', "I", &out);
  return out;
}

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// The session's backend-side editor (PgSession's constructor).
FrameEditor DownEditor() {
  FrameEditor editor(pg::Direction::kBackend, internal::kFrameSizeMax, internal::kReplyHoldMax);
  editor.SetInterest(pg::kMsgReadyForQuery);
  editor.SetInterest(pg::kMsgParameterStatus);
  editor.SetInterest(pg::kMsgBackendErrorResponse);
  return editor;
}

// The session's client-side editor.
FrameEditor UpEditor() {
  FrameEditor editor(pg::Direction::kFrontend, internal::kFrameSizeMax,
                     internal::kStatementHoldMax);
  for (char type : {pg::kMsgQuery, pg::kMsgParse, pg::kMsgFunctionCall, pg::kMsgSync}) {
    editor.SetInterest(type);
  }
  return editor;
}

void BM_EditResultStream(benchmark::State& state) {
  std::string stream = RowDescription(4);
  for (int i = 0; i < 20000; ++i) {
    stream += DataRow({std::to_string(i), std::to_string(int64_t{i} * 7919),
                       "customer-" + std::to_string(i % 97), std::string(100, 'x')});
  }
  stream += Tail();
  const auto bytes = Bytes(stream);
  FrameEditor editor = DownEditor();
  std::vector<std::byte> out;
  out.reserve(kBufferSize + 64);
  uint64_t ready = 0;
  const auto keep = [&](const EditFrame& frame, std::vector<std::byte>*) {
    ready += frame.type == pg::kMsgReadyForQuery;
    return FrameAction::kKeep;
  };
  size_t copied = 0;
  size_t total = 0;
  for (auto _ : state) {
    editor.Reset();
    copied = 0;
    total = 0;
    for (size_t at = 0; at < bytes.size(); at += kBufferSize) {
      out.clear();
      const auto chunk = bytes.subspan(at, std::min(kBufferSize, bytes.size() - at));
      const EditResult result = editor.Edit(chunk, true, false, &out, keep);
      benchmark::DoNotOptimize(result);
      copied += out.size();
      total += result.forward + out.size();
    }
  }
  benchmark::DoNotOptimize(ready);
  if (total != bytes.size() || !editor.at_boundary()) {
    state.SkipWithError("the edited stream is not the input stream");
  }
  state.counters["copied_bytes"] = static_cast<double>(copied);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_EditResultStream);

void BM_EditPgbenchSelect(benchmark::State& state) {
  const std::string response = RowDescription(1) + DataRow({"-2736"}) + Tail();
  const auto bytes = Bytes(response);
  FrameEditor editor = DownEditor();
  std::vector<std::byte> out;
  uint64_t ready = 0;
  uint64_t slow = 0;
  for (auto _ : state) {
    out.clear();
    const EditResult result =
        editor.Edit(bytes, true, false, &out, [&](const EditFrame& frame, std::vector<std::byte>*) {
          ready += frame.type == pg::kMsgReadyForQuery;
          return FrameAction::kKeep;
        });
    slow += result.forward != bytes.size() || !out.empty();
    benchmark::DoNotOptimize(result);
  }
  benchmark::DoNotOptimize(ready);
  if (slow != 0) {
    state.SkipWithError("a response left the zero-copy path");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_EditPgbenchSelect);

void BM_EditQueries(benchmark::State& state) {
  std::string query;
  Frame(pg::kMsgQuery,
        std::string("SELECT abalance FROM pgbench_accounts WHERE aid = 48213;") + '\0', &query);
  const auto bytes = Bytes(query);
  FrameEditor editor = UpEditor();
  std::vector<std::byte> out;
  uint64_t statements = 0;
  uint64_t slow = 0;
  for (auto _ : state) {
    out.clear();
    const EditResult result =
        editor.Edit(bytes, true, false, &out, [&](const EditFrame& frame, std::vector<std::byte>*) {
          statements += !frame.payload.empty();
          return FrameAction::kKeep;
        });
    slow += result.forward != bytes.size() || !out.empty();
    benchmark::DoNotOptimize(result);
  }
  benchmark::DoNotOptimize(statements);
  if (slow != 0) {
    state.SkipWithError("a Query left the zero-copy path");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EditQueries);

// ---------------------------------------------------------------------------------------------
// Guardrails.

// Policy 0 ("defaults") has no "statements"; policy 1 ("ruled") has table and function rules
// that the pgbench tables pass (public.pgbench_accounts exactly, the rest by the "*" read rule).
constexpr uint32_t kDefaultsPolicy = 0;
constexpr uint32_t kRuledPolicy = 1;

constexpr char kConfigJson[] = R"({
  "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:6432",
                 "insecure": true}],
  "identity": {"issuer": "https://i/", "audience": "api://jitgate", "jwks_file": "/k.json"},
  "resources": {"bench": {"protocol": "postgres", "address": "127.0.0.1:5432", "user": "gw"}},
  "policies": [
    {"name": "defaults", "match": {"groups": ["g"]}, "resources": ["bench"],
     "access": {"mode": "auto"}},
    {"name": "ruled", "match": {"groups": ["h"]}, "resources": ["bench"],
     "access": {"mode": "auto"},
     "statements": {
       "tables": [
         {"match": "payments.*", "access": ["write"], "action": "block", "name": "no-payment-writes"},
         {"match": "hr.salaries", "action": "block"},
         {"match": "*.audit_log", "access": ["write", "ddl"], "action": "block"},
         {"match": "secrets", "action": "block"},
         {"match": "vault.*", "action": "block"},
         {"match": "*.api_keys", "action": "block"},
         {"match": "billing.invoices", "access": ["write"], "action": "review"},
         {"match": "public.pgbench_accounts", "access": ["read", "write"], "action": "allow"},
         {"match": "reporting.*", "access": ["read"], "action": "allow"},
         {"match": "*", "access": ["read"], "action": "allow"}],
       "functions": [
         {"match": "pg_read_file", "action": "block", "name": "no-files"},
         {"match": "dblink.*", "action": "block"},
         {"match": "pg_catalog.pg_sleep", "action": "review"}]}}
  ]
})";

// The parsed config and its compiled statement rules.
struct Guardrails {
  config::Config config;
  std::shared_ptr<const policy::RulesTable> rules;
};

Guardrails CompileRules() {
  absl::StatusOr<config::Config> config = config::Parse(kConfigJson, "session_bench.json");
  if (!config.ok()) {
    std::fprintf(stderr, "session_bench config: %s\n", config.status().ToString().c_str());
    std::abort();
  }
  absl::StatusOr<std::shared_ptr<const policy::RulesTable>> rules =
      policy::RulesTable::Compile(*config);
  if (!rules.ok()) {
    std::fprintf(stderr, "session_bench rules: %s\n", rules.status().ToString().c_str());
    std::abort();
  }
  return Guardrails{*std::move(config), *std::move(rules)};
}

// kVariantCount texts from `make(aid)`, the aids spread over pgbench's scale-1 range.
template <typename Make>
std::vector<std::string> Variants(Make make) {
  std::vector<std::string> texts;
  texts.reserve(kVariantCount);
  uint32_t x = 48213;
  for (size_t i = 0; i < kVariantCount; ++i) {
    x = x * 1103515245u + 12345u;
    texts.push_back(make(1 + (x >> 8) % 100000));
  }
  return texts;
}

// JudgeSql over `texts` in turn, as a session that kept the default search_path calls it (with
// the policy's SchemaCandidates); every call must be allowed with every statement from cache,
// and none may make the search_path unknown.
void JudgeLoop(benchmark::State& state, uint32_t policy_index,
               const std::vector<std::string>& texts) {
  const Guardrails guardrails = CompileRules();
  const policy::RulesTable& rules = *guardrails.rules;
  const std::vector<std::string> schemas =
      SchemaCandidates(guardrails.config.policies[policy_index].statements);
  bool search_path_unknown = false;
  GuardScratch scratch(0x5eed5eed5eed5eedull);
  const sqlpg::LexMode mode{.standard_conforming_strings = true};
  for (const std::string& text : texts) {  // warm the cache
    (void)JudgeSql(rules, policy_index, text, mode, false, schemas, &search_path_unknown, &scratch);
  }
  uint64_t statements = 0;
  uint64_t slow = 0;
  size_t next = 0;
  for (auto _ : state) {
    const Judgement judgement = JudgeSql(rules, policy_index, texts[next], mode, false, schemas,
                                         &search_path_unknown, &scratch);
    next = (next + 1) % texts.size();
    statements += judgement.statement_count;
    slow += !judgement.allowed || judgement.cache_hits != judgement.statement_count;
    benchmark::DoNotOptimize(judgement.decision);
  }
  if (slow != 0 || search_path_unknown) {
    state.SkipWithError("a statement was refused, missed the decision cache or left search_path");
  }
  state.SetItemsProcessed(static_cast<int64_t>(statements));
}

std::string PgbenchSelect(uint32_t aid) {
  return "SELECT abalance FROM pgbench_accounts WHERE aid = " + std::to_string(aid) + ";";
}

void BM_GuardPgbenchSelect(benchmark::State& state) {
  JudgeLoop(state, kDefaultsPolicy, Variants(PgbenchSelect));
}
BENCHMARK(BM_GuardPgbenchSelect);

void BM_GuardPgbenchSelectRules(benchmark::State& state) {
  JudgeLoop(state, kRuledPolicy, Variants(PgbenchSelect));
}
BENCHMARK(BM_GuardPgbenchSelectRules);

// pgbench's TPC-B-like body without BEGIN / END: 2 writes by aid, a read, 2 more writes.
std::string MultiStatement(uint32_t aid) {
  const std::string a = std::to_string(aid);
  const std::string t = std::to_string(aid % 10 + 1);
  const std::string delta = std::to_string(aid % 5000);
  return "UPDATE pgbench_accounts SET abalance = abalance + " + delta + " WHERE aid = " + a +
         "; SELECT abalance FROM pgbench_accounts WHERE aid = " + a +
         "; UPDATE pgbench_tellers SET tbalance = tbalance + " + delta + " WHERE tid = " + t +
         "; UPDATE pgbench_branches SET bbalance = bbalance + " + delta + " WHERE bid = 1" +
         "; INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (" + t + ", 1, " + a +
         ", " + delta + ", CURRENT_TIMESTAMP);";
}

void BM_GuardMultiStatement(benchmark::State& state) {
  JudgeLoop(state, kDefaultsPolicy, Variants(MultiStatement));
}
BENCHMARK(BM_GuardMultiStatement);

}  // namespace
}  // namespace jitgate::session
BENCHMARK_MAIN();
