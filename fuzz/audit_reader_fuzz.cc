// fuzz/audit_reader_fuzz.cc: the audit log's pure reading layer (src/audit/reader.h) on any
// bytes: SegmentScanner, ChainChecker, GoodFrameAfter, ParseHead, ParseSegmentFileName; what
// `jitgate audit verify`, replay, tail and the writer's recovery run over bytes an attacker may
// have written.
//
// Input: a log's bytes, cut into segments before each occurrence of the segment magic after the
// first byte (a plain segment file is one segment; concatenated files are several). Each segment
// is scanned three times: with links recomputed as SHA-256, as HMAC with kFuzzKey (the keyed
// seeds use it), and structure only (no link check, so mutations get past the hash).
// Oracles, beyond "no crash or sanitizer report":
//  - frames lie inside the bytes, back to back from the magic, body = header + fields, and every
//    field walks inside its frame; a problem is sticky;
//  - scanning a prefix (at a third, half, and all but one byte), then resuming at the scanner's
//    offset, gives exactly the frames, the stop and the problem of one whole scan (what
//    LogReader does on a live log);
//  - the chain rules accept no more records than the scanner gave;
//  - a HEAD that parses formats and parses back to itself; a segment name that parses formats
//    back to itself.
// Seed corpus: fuzz/corpus/audit_reader/ (segments written by SegmentWriter, cut and broken ones).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/audit.h"
#include "jitgate/check.h"
#include "src/audit/reader.h"

namespace {

using jitgate::audit::ChainChecker;
using jitgate::audit::Frame;
using jitgate::audit::LinkHasher;
using jitgate::audit::SegmentScanner;
namespace audit = jitgate::audit;

constexpr std::string_view kFuzzKey = "0123456789abcdef0123456789abcdef-fuzz-key";

struct Seen {
  uint64_t offset;
  uint64_t end_offset;
  uint64_t seq;
};

// Scans `bytes` whole; returns the frames and the final result.
SegmentScanner::Result ScanWhole(std::span<const std::byte> bytes, std::vector<Seen>* frames,
                                 ChainChecker* checker, SegmentScanner* out_scanner) {
  SegmentScanner& scanner = *out_scanner;
  Frame frame;
  SegmentScanner::Result result;
  uint64_t expected_offset = audit::kSegmentMagicSize;
  std::string problem;
  while ((result = scanner.Next(&frame)) == SegmentScanner::Result::kFrame) {
    JG_CHECK(frame.offset == expected_offset);
    JG_CHECK(frame.end_offset <= bytes.size());
    JG_CHECK(frame.body.size() >= audit::kRecordHeaderSize &&
             frame.body.size() <= audit::kBodySizeMax);
    JG_CHECK(frame.end_offset - frame.offset ==
             audit::kFramePrefixSize + frame.body.size() + audit::kLinkSize);
    JG_CHECK(frame.body.data() >= bytes.data() &&
             frame.link.data() + audit::kLinkSize <= bytes.data() + bytes.size());
    JG_CHECK(frame.fields.size() + audit::kRecordHeaderSize == frame.body.size());
    JG_CHECK(audit::KnownRecordType(frame.header.type));
    audit::FieldReader fields(frame.fields);
    audit::FieldView field;
    while (fields.Next(&field)) {
      JG_CHECK(field.value.data() >= frame.fields.data() &&
               field.value.data() + field.value.size() <=
                   frame.fields.data() + frame.fields.size());
    }
    JG_CHECK(fields.valid());  // the scanner refuses malformed fields
    frames->push_back({frame.offset, frame.end_offset, frame.header.seq});
    expected_offset = frame.end_offset;
    checker->Add(frame, &problem);
  }
  JG_CHECK(scanner.offset() == expected_offset || (frames->empty() && scanner.offset() == 0));
  JG_CHECK(scanner.Next(&frame) == result);  // sticky
  return result;
}

// Scans `bytes` in two pieces cut at `cut` and checks the result equals the whole scan.
void CheckResumed(std::span<const std::byte> bytes, const LinkHasher* hasher, size_t cut,
                  const std::vector<Seen>& whole, const SegmentScanner& scanner,
                  ChainChecker* loose) {
  SegmentScanner first(bytes.first(cut), 0, hasher);
  Frame frame;
  std::string problem;
  size_t n = 0;
  while (first.Next(&frame) == SegmentScanner::Result::kFrame) {
    JG_CHECK(n < whole.size() && frame.offset == whole[n].offset &&
             frame.end_offset == whole[n].end_offset && frame.header.seq == whole[n].seq);
    if (loose != nullptr) {
      loose->Add(frame, &problem);
    }
    ++n;
  }
  JG_CHECK(first.consumed() <= cut);
  SegmentScanner rest(bytes.subspan(first.consumed()), first.offset(), hasher);
  SegmentScanner::Result rest_result;
  while ((rest_result = rest.Next(&frame)) == SegmentScanner::Result::kFrame) {
    JG_CHECK(n < whole.size() && frame.offset == whole[n].offset &&
             frame.end_offset == whole[n].end_offset);
    ++n;
  }
  JG_CHECK(n == whole.size());
  JG_CHECK(rest.problem() == scanner.problem());
  JG_CHECK(rest.offset() == scanner.offset());
}

void CheckSegment(std::span<const std::byte> bytes, const LinkHasher* hasher, ChainChecker* strict,
                  ChainChecker* loose) {
  strict->BeginSegment(1, "audit-00000000000000000001.seg");
  if (loose != nullptr) {
    loose->BeginSegment(1, "audit-00000000000000000001.seg");
  }
  std::vector<Seen> whole;
  SegmentScanner scanner(bytes, 0, hasher);
  const SegmentScanner::Result result = ScanWhole(bytes, &whole, strict, &scanner);
  JG_CHECK(strict->segment_records() <= whole.size());
  if (result == SegmentScanner::Result::kBroken) {
    JG_CHECK(scanner.problem() != audit::FrameProblem::kNone &&
             scanner.problem() != audit::FrameProblem::kIncomplete);
    if (hasher != nullptr) {
      audit::GoodFrameAfter(bytes, scanner.problem_offset(), *hasher);
    }
  }
  for (size_t cut : {bytes.size() / 3, bytes.size() / 2, bytes.empty() ? 0 : bytes.size() - 1}) {
    CheckResumed(bytes, hasher, cut, whole, scanner, cut == bytes.size() / 2 ? loose : nullptr);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> log = std::as_bytes(std::span(data, size));
  static const LinkHasher sha256("");
  static const LinkHasher keyed(kFuzzKey);

  // Segments: cut before each magic after the first byte (at most 8, to bound the work).
  std::vector<size_t> starts = {0};
  for (size_t i = 1; i + audit::kSegmentMagicSize <= log.size() && starts.size() < 8; ++i) {
    if (std::memcmp(log.data() + i, audit::kSegmentMagic, audit::kSegmentMagicSize) == 0) {
      starts.push_back(i);
    }
  }
  for (const LinkHasher* h : {&sha256, &keyed, static_cast<const LinkHasher*>(nullptr)}) {
    ChainChecker strict(/*strict=*/true);
    ChainChecker loose(/*strict=*/false);
    for (size_t s = 0; s < starts.size(); ++s) {
      const size_t end = s + 1 < starts.size() ? starts[s + 1] : log.size();
      CheckSegment(log.subspan(starts[s], end - starts[s]), h, &strict, &loose);
    }
    JG_CHECK(strict.first_seq() <= strict.last_seq());
  }

  const std::string_view text(reinterpret_cast<const char*>(log.data()), log.size());
  audit::Head head;
  if (audit::ParseHead(text, &head)) {
    audit::Head again;
    JG_CHECK(audit::ParseHead(audit::FormatHead(head.seq, head.link), &again));
    JG_CHECK(again.seq == head.seq && std::memcmp(again.link, head.link, audit::kLinkSize) == 0);
  }
  uint64_t first_seq = 0;
  if (audit::ParseSegmentFileName(text, &first_seq)) {
    JG_CHECK(audit::SegmentFileName(first_seq) == text);
  }
  return 0;
}
