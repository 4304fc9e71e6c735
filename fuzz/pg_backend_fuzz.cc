// fuzz/pg_backend_fuzz.cc: libFuzzer target for the PostgreSQL backend (server -> client) stream:
// framing (jitgate/parsers/pg/frame.h), the staging buffer, and every typed decoder of
// jitgate/parsers/pg/backend.h, plus the DataRow rewriter (encode.h).
// Input: byte 0 seeds the chunk sizes, the rest is the server's byte stream.
// Properties, beyond "no crash or sanitizer report":
//  - differential: feeding the stream through a FrameStager in chunks (sizes derived from the
//    input) yields exactly the frames, and the final status and reason, of one-shot DecodeFrame;
//  - every backend decoder runs on every frame's payload; a decoded DataRow/RowDescription
//    iterates to its count without error, and rewriting a DataRow with every column kept gives
//    back the frame's own bytes.
// Seed corpus: fuzz/corpus/pg_backend/ (golden captures from tests/data/pg and small frames).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/pg/startup.h"

namespace pg = jitgate::parsers::pg;

namespace {

constexpr size_t kFrameSizeMax = 4096;  // small, so the limit itself is reachable

struct Seen {
  char type;
  std::span<const std::byte> payload;
};

void CheckDataRow(const pg::Frame& frame) {
  pg::DataRow row;
  if (pg::DecodeDataRow(frame.payload, row) != pg::InvalidReason::kNone) {
    return;
  }
  pg::ValueIterator it = row.columns();
  pg::Value value;
  size_t count = 0;
  while (it.Next(value)) {
    ++count;
  }
  JG_CHECK(it.error() == pg::InvalidReason::kNone && count == row.column_count);
  std::vector<pg::ColumnRewrite> keep(row.column_count);
  std::vector<std::byte> out(pg::RewrittenDataRowSize(row, keep));
  JG_CHECK(out.size() == frame.frame_size);
  JG_CHECK(pg::RewriteDataRow(row, keep, out) == frame.frame_size);
  JG_CHECK(std::memcmp(out.data() + pg::kTaggedHeaderSize, frame.payload.data(),
                       frame.payload.size()) == 0);
}

void CheckRowDescription(std::span<const std::byte> payload) {
  pg::RowDescription description;
  if (pg::DecodeRowDescription(payload, description) != pg::InvalidReason::kNone) {
    return;
  }
  pg::FieldIterator it = description.fields();
  pg::FieldDescription field;
  size_t count = 0;
  while (it.Next(field)) {
    ++count;
  }
  JG_CHECK(it.error() == pg::InvalidReason::kNone && count == description.field_count);
}

// Every backend decoder on one payload, whatever its type byte.
void RunAllDecoders(const pg::Frame& frame) {
  const std::span<const std::byte> p = frame.payload;
  pg::Authentication auth;
  if (pg::DecodeAuthentication(p, auth) == pg::InvalidReason::kNone) {
    pg::StringIterator it = auth.mechanisms();
    std::string_view name;
    uint32_t count = 0;
    while (it.Next(name)) {
      ++count;
    }
    JG_CHECK(count == auth.mechanism_count);
  }
  pg::BackendKeyData key;
  pg::DecodeBackendKeyData(p, pg::kProtocolVersion30, key);
  pg::DecodeBackendKeyData(p, pg::kProtocolVersion32, key);
  pg::ParameterStatus status;
  pg::DecodeParameterStatus(p, status);
  pg::ReadyForQuery ready;
  pg::DecodeReadyForQuery(p, ready);
  CheckRowDescription(p);
  if (frame.type == pg::kMsgDataRow) {
    CheckDataRow(frame);
  } else {
    pg::DataRow row;
    pg::DecodeDataRow(p, row);
  }
  pg::CommandComplete complete;
  pg::DecodeCommandComplete(p, complete);
  pg::ErrorResponse error;
  if (pg::DecodeErrorResponse(p, error) == pg::InvalidReason::kNone) {
    pg::NoticeFieldIterator it = error.fields();
    pg::NoticeField field;
    while (it.Next(field)) {
    }
    JG_CHECK(it.error() == pg::InvalidReason::kNone);
    error.Find('M');
  }
  pg::ParameterDescription description;
  if (pg::DecodeParameterDescription(p, description) == pg::InvalidReason::kNone &&
      description.param_count > 0) {
    description.TypeOid(description.param_count - 1u);
  }
  pg::CopyResponse copy;
  pg::DecodeCopyResponse(p, copy);
  pg::NotificationResponse notification;
  pg::DecodeNotificationResponse(p, notification);
  pg::NegotiateProtocolVersion negotiate;
  if (pg::DecodeNegotiateProtocolVersion(p, negotiate) == pg::InvalidReason::kNone) {
    pg::StringIterator it = negotiate.options();
    std::string_view name;
    uint32_t count = 0;
    while (it.Next(name)) {
      ++count;
    }
    JG_CHECK(count == negotiate.option_count);
  }
  pg::FunctionCallResponse result;
  pg::DecodeFunctionCallResponse(p, result);
  pg::DecodeEmpty(p);
  pg::DecodeBackendMessage(frame.type, p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  uint32_t rng = 0x9e3779b9u ^ data[0];
  const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data + 1), size - 1);

  // One shot: DecodeFrame straight over the stream.
  std::vector<Seen> whole;
  pg::Frame last;
  for (size_t at = 0;;) {
    last = pg::DecodeFrame(stream.subspan(at), pg::Direction::kBackend, kFrameSizeMax);
    if (last.status != pg::DecodeStatus::kOk) {
      break;
    }
    JG_CHECK(last.frame_size >= pg::kTaggedHeaderSize && last.frame_size <= kFrameSizeMax);
    whole.push_back({last.type, last.payload});
    RunAllDecoders(last);
    at += last.frame_size;
  }

  // Chunked, through the stager.
  std::vector<std::byte> storage(kFrameSizeMax);
  pg::FrameStager stager(storage, pg::Direction::kBackend);
  size_t index = 0;
  pg::Frame chunked_last;
  for (size_t at = 0; at <= stream.size();) {
    rng = rng * 1664525u + 1013904223u;
    const size_t chunk = std::min<size_t>(1 + (rng >> 24) % 64, stream.size() - at);
    std::span<const std::byte> input = stream.subspan(at, chunk);
    at += chunk;
    for (;;) {
      chunked_last = stager.Next(input);
      JG_CHECK(stager.AssertInvariants());
      if (chunked_last.status != pg::DecodeStatus::kOk) {
        break;
      }
      JG_CHECK(index < whole.size());
      JG_CHECK(chunked_last.type == whole[index].type);
      JG_CHECK(chunked_last.payload.size() == whole[index].payload.size());
      JG_CHECK(std::memcmp(chunked_last.payload.data(), whole[index].payload.data(),
                           chunked_last.payload.size()) == 0);
      ++index;
    }
    if (chunked_last.status == pg::DecodeStatus::kInvalid || chunk == 0) {
      break;
    }
  }
  JG_CHECK(index == whole.size());
  JG_CHECK(chunked_last.status == last.status);
  JG_CHECK(chunked_last.reason == last.reason);
  return 0;
}
