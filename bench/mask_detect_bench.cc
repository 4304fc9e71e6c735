// bench/mask_detect_bench.cc: throughput of the content detectors (src/mask/detect.h) and of
// the value masker (src/mask/value.h) on one core.
//  - BM_DetectAll_TextHeavy: every detector over ~1 MiB of realistic column text (prose,
//    addresses, order ids, dates, versions, amounts) with an occasional email, card, phone,
//    SSN, IBAN or key (about one per 2 KiB). Target: >= 300 MB/s (detect.h).
//  - BM_DetectAll_NoMatch: the same text with every match removed: the sweep's own cost.
//  - BM_DetectEmailOnly: only the email detector over the text-heavy input.
//  - BM_MaskValue_Partial / BM_MaskValue_Hash: one 40-byte text value per iteration.
//  - BM_ScanValue_Text: ScanValue over 200-byte text cells, one match in four.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "src/mask/detect.h"
#include "src/mask/value.h"

namespace jitgate::mask {
namespace {

constexpr size_t kCorpusSize = 1 << 20;

// Deterministic pseudo-random picks, so every run measures the same bytes.
class Picker {
 public:
  uint32_t Next() {
    state_ = state_ * 1664525u + 1013904223u;
    return state_ >> 8;
  }
  template <size_t N>
  const char* From(const char* const (&items)[N]) {
    return items[Next() % N];
  }

 private:
  uint32_t state_ = 12345;
};

const char* const kFiller[] = {
    "The customer asked to change the delivery address to 221B Baker Street, London NW1 6XE. ",
    "Order ORD-2024-000123 shipped on 2024-01-15 via carrier UPS, tracking 1Z999AA10123456784. ",
    "Refund of 129.99 EUR approved by agent #4417 after review of ticket 88213. ",
    "Upgraded the client from version 10.15.7 to 11.2.3; build 20240115.1 passed all checks. ",
    "Meeting notes: discuss the Q3 roadmap, hiring for the platform team, and the budget. ",
    "Invoice INV-20240115-0042 totals 1,234,567.89 USD, due 2024-02-14, net 30 days. ",
    "Sensor 7 reported 23.5 C at 12:30:45 and 24.1 C at 12:45:00; humidity 41 percent. ",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. ",
    "Shipping to 1600 Amphitheatre Parkway, Mountain View, CA 94043, United States. ",
    "User agent Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0. ",
    "Package weight 2.75 kg, dimensions 30x20x15 cm, insured value 250 dollars. ",
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

std::string MakeCorpus(bool with_matches) {
  Picker picker;
  std::string text;
  size_t since_match = 0;
  while (text.size() < kCorpusSize) {
    if (with_matches && since_match > 2048) {
      text += picker.From(kMatches);
      since_match = 0;
    }
    const size_t before = text.size();
    text += picker.From(kFiller);
    since_match += text.size() - before;
  }
  return text;
}

const std::string& TextHeavy() {
  static const std::string text = MakeCorpus(true);
  return text;
}
const std::string& NoMatch() {
  static const std::string text = MakeCorpus(false);
  return text;
}

void Detect(benchmark::State& state, const std::string& text, DetectorSet set) {
  std::vector<DetectedSpan> spans(4096);
  size_t found = 0;
  for (auto _ : state) {
    found = FindSensitive(text, set, spans.data(), spans.size());
    benchmark::DoNotOptimize(found);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["matches"] = static_cast<double>(found);
}

void BM_DetectAll_TextHeavy(benchmark::State& state) { Detect(state, TextHeavy(), kAllDetectors); }
BENCHMARK(BM_DetectAll_TextHeavy);

void BM_DetectAll_NoMatch(benchmark::State& state) { Detect(state, NoMatch(), kAllDetectors); }
BENCHMARK(BM_DetectAll_NoMatch);

void BM_DetectEmailOnly(benchmark::State& state) {
  Detect(state, TextHeavy(), DetectorBit(Detector::kEmail));
}
BENCHMARK(BM_DetectEmailOnly);

std::span<const std::byte> Bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

const std::vector<std::byte>& Key() {
  static const std::vector<std::byte> key(32, std::byte{0x42});
  return key;
}

void BM_MaskValue_Partial(benchmark::State& state) {
  const std::string value = "4111-1111-1111-1234 J\xc3\xb6rg M\xc3\xbcller, Berlin";
  const MaskSpec spec{Strategy::kPartial, 4};
  std::vector<std::byte> out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(MaskValue(spec, ValueKind::kText, -1, 0, Bytes(value), nullptr, &out));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * value.size()));
}
BENCHMARK(BM_MaskValue_Partial);

void BM_MaskValue_Hash(benchmark::State& state) {
  const std::string value = "jane.smith@example.org, customer 88213";
  const MaskSpec spec{Strategy::kHash};
  const Hasher hasher(Key());
  std::vector<std::byte> out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(MaskValue(spec, ValueKind::kText, -1, 0, Bytes(value), &hasher, &out));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_MaskValue_Hash);

void BM_ScanValue_Text(benchmark::State& state) {
  // 256 cells of ~200 bytes, every fourth with one match.
  Picker picker;
  std::vector<std::string> cells;
  size_t total = 0;
  for (int k = 0; k < 256; ++k) {
    std::string cell = picker.From(kFiller);
    cell += picker.From(kFiller);
    if (k % 4 == 0) cell += picker.From(kMatches);
    total += cell.size();
    cells.push_back(std::move(cell));
  }
  const MaskSpec spec{Strategy::kRedact};
  const Hasher hasher(Key());
  std::vector<std::byte> out;
  out.reserve(4096);
  for (auto _ : state) {
    for (const std::string& cell : cells) {
      out.clear();
      MaskOutcome outcome;
      benchmark::DoNotOptimize(
          ScanValue(kAllDetectors, spec, ValueKind::kText, -1, 0, Bytes(cell), &hasher, &out, &outcome));
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * cells.size()));
}
BENCHMARK(BM_ScanValue_Text);

}  // namespace
}  // namespace jitgate::mask

BENCHMARK_MAIN();
