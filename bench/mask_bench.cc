// bench/mask_bench.cc: throughput of the DataRow masker (src/mask/row.h) and of the session's
// forwarding path through the frame editor (src/session/frame_editor.h), on one core, in bytes
// of input DataRow frames per second.
//  - BM_DecodeOnly_WideRow: DecodeDataRow + a ValueIterator walk over 1 MiB of wide rows (20
//    columns, ~1 KB each: integers, names, timestamps, uuids, 100-300 byte texts, NULLs); the
//    baseline "decode time".
//  - BM_MaskRow_NoSensitive: the same rows through MaskDataRow with every column kKeep (plan.any
//    true). Target: within 5% of BM_DecodeOnly_WideRow.
//  - BM_Editor_NoSensitive: a FrameEditor without 'D' interest over 1 MiB of those rows (the path
//    of results nothing masks).
//  - BM_MaskRow_NameRules: the wide rows with 4 columns kMask (redact, partial, hash, null).
//    Target: >= 2 GB/s. BM_MaskRow_NameRulesNoHash: the same with the hashed column redacted
//    (the HMAC's share of the row's cost).
//  - BM_MaskRow_AllDetectors: text-heavy rows (8 columns of prose with an occasional email, card,
//    phone, ...) all kScan with every detector. Target: >= 300 MB/s.
//  - BM_FrameEditor_MaskStream: 1 MiB of the name-rule rows through a FrameEditor with 'D'
//    interest whose callback runs MaskDataRow (the session's real path).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/frame.h"
#include "src/mask/row.h"
#include "src/mask/value.h"
#include "src/session/frame_editor.h"

namespace jitgate::mask {
namespace {

namespace pg = parsers::pg;
using Bytes = std::vector<std::byte>;

constexpr size_t kStreamSize = size_t{1} << 20;
constexpr size_t kWideColumns = 20;
constexpr size_t kTextColumns = 8;

// Deterministic pseudo-random picks, so every run measures the same bytes.
class Picker {
 public:
  uint32_t Next() {
    state_ = state_ * 1664525u + 1013904223u;
    return state_ >> 8;
  }
  template <size_t N>
  std::string_view From(const char* const (&items)[N]) {
    return items[Next() % N];
  }

 private:
  uint32_t state_ = 12345;
};

const char* const kNames[] = {"Alice Martin", "Bob O'Neil", "Carol Jimenez", "Dmitri Volkov",
                              "Eve Nakamura", "Frank Osei", "Grace Hopper", "Hiro Tanaka"};
const char* const kCities[] = {"London", "Berlin", "Mountain View", "Lagos", "Osaka", "Lyon"};
const char* const kFiller[] = {
    "The customer asked to change the delivery address to 221B Baker Street, London NW1 6XE. ",
    "Order ORD-2024-000123 shipped on 2024-01-15 via carrier UPS, tracking 1Z999AA10123456784. ",
    "Refund of 129.99 EUR approved by agent #4417 after review of ticket 88213. ",
    "Upgraded the client from version 10.15.7 to 11.2.3; build 20240115.1 passed all checks. ",
    "Meeting notes: discuss the Q3 roadmap, hiring for the platform team, and the budget. ",
    "Invoice INV-20240115-0042 totals 1,234,567.89 USD, due 2024-02-14, net 30 days. ",
    "Sensor 7 reported 23.5 C at 12:30:45 and 24.1 C at 12:45:00; humidity 41 percent. ",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. ",
    "Customer prefers contact in the evening; notes say do not call before 6 pm. ",
};
const char* const kMatches[] = {
    "Contact jane.smith@example.org for details. ",
    "Card on file 4111 1111 1111 1111, expires 12/26. ",
    "Call back at (415) 555-2671 or +44 20 7946 0958. ",
    "SSN provided: 123-45-6789. ",
    "Wire to GB82WEST12345698765432 by Friday. ",
    "Leaked key AKIAIOSFODNN7EXAMPLE rotated. ",
};

void PutU16(Bytes* out, uint16_t v) {
  out->push_back(std::byte(v >> 8));
  out->push_back(std::byte(v));
}

void PutU32(Bytes* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(std::byte(v >> shift));
  }
}

// Appends one DataRow frame of `values` (nullptr: NULL).
void PutRow(const std::vector<std::string>& values, const std::vector<bool>& nulls, Bytes* out) {
  const size_t start = out->size();
  out->push_back(std::byte{'D'});
  PutU32(out, 0);
  PutU16(out, static_cast<uint16_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    if (nulls[i]) {
      PutU32(out, 0xffffffffu);
      continue;
    }
    PutU32(out, static_cast<uint32_t>(values[i].size()));
    for (char c : values[i]) {
      out->push_back(std::byte(static_cast<uint8_t>(c)));
    }
  }
  const uint32_t length = static_cast<uint32_t>(out->size() - start - 1);
  for (int k = 0; k < 4; ++k) {
    (*out)[start + 1 + static_cast<size_t>(k)] = std::byte(length >> (24 - 8 * k));
  }
}

// Prose of about `size` bytes; a match every `match_every` pieces (0: never).
std::string Prose(Picker& picker, size_t size, uint32_t match_every) {
  std::string text;
  while (text.size() < size) {
    if (match_every != 0 && picker.Next() % match_every == 0) {
      text += picker.From(kMatches);
    } else {
      text += picker.From(kFiller);
    }
  }
  return text;
}

// Column layout of the wide rows; the four sensitive ones are 3 (email), 4 (card), 5 (ssn) and
// 12 (secret note).
std::vector<std::string> WideValues(Picker& picker, uint32_t n, std::vector<bool>* nulls) {
  std::vector<std::string> v;
  v.push_back(std::to_string(100000 + n));                            // 0 id int4
  v.push_back(std::to_string(uint64_t{9000000000} + n * 7919u));      // 1 account int8
  v.push_back(std::string(picker.From(kNames)));                      // 2 name
  v.push_back("user" + std::to_string(n) + "@example.com");           // 3 email
  v.push_back("4111-1111-1111-" + std::to_string(1000 + n % 9000));   // 4 card
  v.push_back("123-45-" + std::to_string(1000 + n % 9000));           // 5 ssn
  v.push_back("2024-01-15 12:30:45.123456+00");                       // 6 created_at
  v.push_back("2024-02-14 08:00:00+00");                              // 7 updated_at
  v.push_back("123e4567-e89b-12d3-a456-4266141" + std::to_string(74000 + n % 1000));  // 8 uuid
  v.push_back(std::string(picker.From(kCities)));                     // 9 city
  v.push_back("t");                                                   // 10 active
  v.push_back(std::to_string(n % 1000) + ".99");                      // 11 amount
  v.push_back(Prose(picker, 60, 0));                                  // 12 secret note
  v.push_back(Prose(picker, 300, 0));                                 // 13 description
  v.push_back(Prose(picker, 200, 0));                                 // 14 comment
  v.push_back("");                                                    // 15 NULL (below)
  v.push_back(std::to_string(n % 97));                                // 16 int2
  v.push_back("{\"k\": " + std::to_string(n) + ", \"tag\": \"blue\"}");  // 17 json
  v.push_back(Prose(picker, 100, 0));                                 // 18 address
  v.push_back("ok");                                                  // 19 status
  nulls->assign(v.size(), false);
  (*nulls)[15] = true;
  return v;
}

struct Stream {
  Bytes bytes;                                 // DataRow frames back to back
  std::vector<std::span<const std::byte>> bodies;  // each frame's body
};

template <typename MakeRow>
Stream MakeStream(MakeRow make_row) {
  Stream stream;
  Picker picker;
  std::vector<bool> nulls;
  for (uint32_t n = 0; stream.bytes.size() < kStreamSize; ++n) {
    PutRow(make_row(picker, n, &nulls), nulls, &stream.bytes);
  }
  size_t at = 0;
  while (at < stream.bytes.size()) {
    const uint32_t length = pg::internal::LoadUint32(stream.bytes.data() + at + 1);
    stream.bodies.push_back(std::span<const std::byte>(stream.bytes).subspan(at + 5, length - 4));
    at += 1 + length;
  }
  return stream;
}

const Stream& WideRows() {
  static const Stream stream = MakeStream(WideValues);
  return stream;
}

const Stream& TextRows() {
  static const Stream stream =
      MakeStream([](Picker& picker, uint32_t, std::vector<bool>* nulls) {
        std::vector<std::string> v;
        for (size_t i = 0; i < kTextColumns; ++i) {
          v.push_back(Prose(picker, 80 + picker.Next() % 160, 24));
        }
        nulls->assign(v.size(), false);
        return v;
      });
  return stream;
}

const Hasher& BenchHasher() {
  static const Bytes key(32, std::byte{0x42});
  static const Hasher hasher(key);
  return hasher;
}

ResultPlan PlanOf(std::vector<ColumnPlan> columns) {
  ResultPlan plan;
  plan.columns = std::move(columns);
  plan.rules.assign(plan.columns.size(), kNoRule);
  plan.names.assign(plan.columns.size(), "c");
  plan.Finish();    // packed actions and the first active column, as BuildPlan leaves them
  plan.any = true;  // a session calls the masker only then (an all-keep plan has any false)
  return plan;
}

ResultPlan KeepPlan() { return PlanOf(std::vector<ColumnPlan>(kWideColumns)); }

// `hash` false: the hashed column is redacted instead (to tell the HMAC's share).
ResultPlan NameRulePlan(bool hash = true) {
  std::vector<ColumnPlan> columns(kWideColumns);
  const auto mask = [&](size_t i, Strategy strategy) {
    columns[i].action = ColumnAction::kMask;
    columns[i].spec.strategy = strategy;
  };
  mask(3, Strategy::kRedact);
  mask(4, Strategy::kPartial);
  mask(5, hash ? Strategy::kHash : Strategy::kRedact);
  mask(12, Strategy::kNull);
  return PlanOf(std::move(columns));
}

ResultPlan ScanPlan() {
  std::vector<ColumnPlan> columns(kTextColumns);
  for (ColumnPlan& c : columns) {
    c.action = ColumnAction::kScan;
    c.detectors = kAllDetectors;
  }
  return PlanOf(std::move(columns));
}

size_t InputBytes(const Stream& stream) { return stream.bytes.size(); }

void BM_DecodeOnly_WideRow(benchmark::State& state) {
  const Stream& stream = WideRows();
  for (auto _ : state) {
    size_t total = 0;
    for (std::span<const std::byte> body : stream.bodies) {
      pg::DataRow row;
      if (pg::DecodeDataRow(body, row) != pg::InvalidReason::kNone) {
        state.SkipWithError("bad row");
        return;
      }
      pg::ValueIterator it = row.columns();
      pg::Value value;
      while (it.Next(value)) {
        total += value.is_null ? 1 : value.bytes.size();
      }
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * InputBytes(stream)));
  state.counters["rows"] = static_cast<double>(stream.bodies.size());
}
BENCHMARK(BM_DecodeOnly_WideRow);

void MaskRows(benchmark::State& state, const Stream& stream, const ResultPlan& plan) {
  std::vector<uint64_t> counts(plan.columns.size(), 0);
  Bytes out;
  out.reserve(2 * kStreamSize);
  size_t changed = 0;
  for (auto _ : state) {
    out.clear();
    changed = 0;
    for (std::span<const std::byte> body : stream.bodies) {
      changed += MaskDataRow(plan, body, &BenchHasher(), &out, counts) ? 1 : 0;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * InputBytes(stream)));
  state.counters["changed_rows"] = static_cast<double>(changed);
  state.counters["rows"] = static_cast<double>(stream.bodies.size());
}

void BM_MaskRow_NoSensitive(benchmark::State& state) { MaskRows(state, WideRows(), KeepPlan()); }
BENCHMARK(BM_MaskRow_NoSensitive);

void BM_MaskRow_NameRules(benchmark::State& state) { MaskRows(state, WideRows(), NameRulePlan()); }
BENCHMARK(BM_MaskRow_NameRules);

void BM_MaskRow_NameRulesNoHash(benchmark::State& state) {
  MaskRows(state, WideRows(), NameRulePlan(false));
}
BENCHMARK(BM_MaskRow_NameRulesNoHash);

void BM_MaskRow_AllDetectors(benchmark::State& state) { MaskRows(state, TextRows(), ScanPlan()); }
BENCHMARK(BM_MaskRow_AllDetectors);

void BM_Editor_NoSensitive(benchmark::State& state) {
  const Stream& stream = WideRows();
  session::FrameEditor editor(pg::Direction::kBackend, 1 << 20, 1 << 20);
  Bytes out;
  for (auto _ : state) {
    out.clear();
    const session::EditResult result = editor.Edit(
        stream.bytes, true, false, &out,
        [](const session::EditFrame&, Bytes*) { return session::FrameAction::kKeep; });
    benchmark::DoNotOptimize(result.forward);
    if (result.forward != stream.bytes.size()) {
      state.SkipWithError("not all forwarded");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * InputBytes(stream)));
}
BENCHMARK(BM_Editor_NoSensitive);

void BM_FrameEditor_MaskStream(benchmark::State& state) {
  const Stream& stream = WideRows();
  const ResultPlan plan = NameRulePlan();
  std::vector<uint64_t> counts(plan.columns.size(), 0);
  session::FrameEditor editor(pg::Direction::kBackend, 1 << 20, 1 << 20);
  editor.SetInterest(pg::kMsgDataRow);
  Bytes out;
  out.reserve(2 * kStreamSize);
  for (auto _ : state) {
    out.clear();
    const session::EditResult result = editor.Edit(
        stream.bytes, true, false, &out, [&](const session::EditFrame& frame, Bytes* append) {
          return MaskDataRow(plan, frame.payload, &BenchHasher(), append, counts)
                     ? session::FrameAction::kDrop
                     : session::FrameAction::kKeep;
        });
    benchmark::DoNotOptimize(out.data());
    if (result.invalid || !editor.at_boundary()) {
      state.SkipWithError("stream not edited whole");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * InputBytes(stream)));
  state.counters["out_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_FrameEditor_MaskStream);

}  // namespace
}  // namespace jitgate::mask

BENCHMARK_MAIN();
