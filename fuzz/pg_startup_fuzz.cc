// fuzz/pg_startup_fuzz.cc: libFuzzer target for the PostgreSQL start-up packet header decoder
// (jitgate/parsers/pg/startup.h).
// Properties, beyond "no crash or sanitizer report":
//  - fewer than 8 bytes is kNeedMore, and every prefix of 8+ bytes decodes as the first 8 do
//    (the decoder never reads past the header);
//  - a valid result respects its kind's length rules; an invalid one names a reason.
// Seed corpus: fuzz/corpus/pg_startup/.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/startup.h"

namespace pg = jitgate::parsers::pg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const pg::StartupHeader header = pg::DecodeStartupHeader(bytes);
  if (size < pg::kStartupHeaderSize) {
    JG_CHECK(header.kind == pg::StartupKind::kNeedMore);
    return 0;
  }
  const pg::StartupHeader first8 = pg::DecodeStartupHeader(bytes.first(pg::kStartupHeaderSize));
  JG_CHECK(first8.kind == header.kind && first8.length == header.length &&
           first8.code == header.code && first8.invalid_reason == header.invalid_reason);
  switch (header.kind) {
    case pg::StartupKind::kNeedMore:
      JG_CHECK(false && "8 bytes are always enough");
      break;
    case pg::StartupKind::kSslRequest:
    case pg::StartupKind::kGssEncRequest:
      JG_CHECK(header.length == pg::kStartupHeaderSize);
      break;
    case pg::StartupKind::kCancelRequest:
      JG_CHECK(header.length >= 16 && header.length <= pg::kStartupPacketSizeMax);
      break;
    case pg::StartupKind::kStartupMessage:
      JG_CHECK((header.code >> 16) == pg::kProtocolMajor3);
      JG_CHECK(header.length >= 8 && header.length <= pg::kStartupPacketSizeMax);
      break;
    case pg::StartupKind::kInvalid:
      JG_CHECK(header.invalid_reason != pg::StartupInvalidReason::kNone);
      break;
  }
  return 0;
}
