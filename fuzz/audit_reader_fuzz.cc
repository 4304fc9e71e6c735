// fuzz/audit_reader_fuzz.cc: libFuzzer target for the audit segment scanner and the chain rules
// (src/audit/reader.h), what `jitgate audit verify`, replay, tail and the writer's recovery run
// over bytes an attacker may have written.
// Input: a segment file's bytes (magic, then frames). Byte 0 of the input also picks, by its low
// bit, whether links are recomputed as SHA-256 or as HMAC-SHA-256 with a fixed key.
// Properties, beyond "no crash or sanitizer report":
//  - every frame returned lies inside the input, in order, with body = header + fields and a
//    kLinkSize link; a problem is sticky (Next returns the same result again);
//  - consumed() never passes the input's size and only grows;
//  - every field of a returned frame walks with FieldReader without reading past its value;
//  - the chain rules (ChainChecker) and GoodFrameAfter accept or refuse without crashing.
// Seed corpus: fuzz/corpus/audit_reader/ (segments written by SegmentWriter, and cut ones).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fuzz/fuzz_target.h"
#include "jitgate/audit.h"
#include "jitgate/check.h"
#include "src/audit/reader.h"

namespace audit = jitgate::audit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const audit::LinkHasher plain("");
  static const audit::LinkHasher keyed("0123456789abcdef0123456789abcdef-fuzz-key");
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const audit::LinkHasher& hasher = size > 0 && (data[0] & 1) != 0 ? keyed : plain;
  for (const audit::LinkHasher* h : {&hasher, static_cast<const audit::LinkHasher*>(nullptr)}) {
    audit::SegmentScanner scanner(bytes, 0, h);
    audit::ChainChecker chain(/*strict=*/true);
    chain.BeginSegment(1, "fuzz.seg");
    audit::Frame frame;
    size_t consumed = 0;
    audit::SegmentScanner::Result result;
    while ((result = scanner.Next(&frame)) == audit::SegmentScanner::Result::kFrame) {
      JG_CHECK(scanner.consumed() >= consumed && scanner.consumed() <= size);
      consumed = scanner.consumed();
      const auto* begin = bytes.data();
      JG_CHECK(frame.body.data() >= begin && frame.body.data() + frame.body.size() <= begin + size);
      JG_CHECK(frame.link.size() == audit::kLinkSize);
      JG_CHECK(frame.link.data() + frame.link.size() <= begin + size);
      JG_CHECK(frame.body.size() >= audit::kRecordHeaderSize);
      JG_CHECK(frame.fields.size() + audit::kRecordHeaderSize == frame.body.size());
      audit::FieldReader fields(frame.fields);
      audit::FieldView field;
      while (fields.Next(&field)) {
        JG_CHECK(field.value.data() >= frame.fields.data() &&
                 field.value.data() + field.value.size() <=
                     frame.fields.data() + frame.fields.size());
      }
      std::string problem;
      (void)chain.Add(frame, &problem);
    }
    JG_CHECK(scanner.consumed() <= size);
    JG_CHECK(scanner.Next(&frame) == result);  // sticky
    if (h != nullptr && size > 0) {
      (void)audit::GoodFrameAfter(bytes, scanner.consumed(), *h);
    }
  }
  return 0;
}
