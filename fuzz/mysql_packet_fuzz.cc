// fuzz/mysql_packet_fuzz.cc: libFuzzer target for the MySQL wire decoder
// (jitgate/parsers/mysql/*.h). Input: one option byte, then a byte stream of packets.
// Properties, beyond "no crash or sanitizer report":
//  - differential framing: walking the stream one-shot with DecodeFrame (payloads copied with
//    CopyPayload when split) yields exactly the payloads, sequence ids and final verdict that the
//    staging PacketAssembler yields when fed the same bytes in pseudo-random chunks;
//  - every typed decoder runs on every payload; a kOk result's views lie inside the payload;
//  - the row rewriter's output of a valid text/binary row is again a valid row.
// Seed corpus: fuzz/corpus/mysql_packet/ (the golden captures, tests/data/mysql/).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/mysql/command.h"
#include "jitgate/parsers/mysql/encode.h"
#include "jitgate/parsers/mysql/handshake.h"
#include "jitgate/parsers/mysql/packet.h"
#include "jitgate/parsers/mysql/response.h"
#include "jitgate/parsers/mysql/resultset.h"

namespace my = jitgate::parsers::mysql;

namespace {

constexpr size_t kFrameSizeMax = 1 << 16;
constexpr size_t kFramesMax = 4096;

struct Seen {
  size_t offset;  // into the one-shot copy area
  size_t size;
  uint8_t first_sequence_id;
};

std::byte one_shot_payloads[1 << 20];
Seen one_shot[kFramesMax];
std::byte staging[kFrameSizeMax];
std::byte scratch[kFrameSizeMax + 64];

void CheckInside(std::string_view view, my::Bytes payload) {
  if (view.empty()) {
    return;
  }
  const auto* begin = reinterpret_cast<const char*>(payload.data());
  JG_CHECK(view.data() >= begin && view.data() + view.size() <= begin + payload.size());
}

void RunRowDecoders(my::Bytes payload, uint8_t options) {
  const size_t column_count = 1 + options % 8;
  if (my::ValidateTextRow(payload, column_count) == my::DecodeStatus::kOk) {
    const my::Replacement replacement{(options & 1) != 0, "masked"};
    const size_t size =
        my::RewriteTextRow(payload, column_count, options % column_count, replacement, scratch);
    JG_CHECK(size > 0);
    JG_CHECK(my::ValidateTextRow(std::span(scratch, size), column_count) == my::DecodeStatus::kOk);
  }
  // Binary row types taken from the payload's own tail, so the fuzzer can steer them.
  uint8_t types[8];
  for (size_t i = 0; i < column_count; ++i) {
    types[i] = payload.size() > i ? static_cast<uint8_t>(payload[payload.size() - 1 - i]) : 3;
  }
  const std::span<const uint8_t> row_types(types, column_count);
  if (my::ValidateBinaryRow(payload, row_types) == my::DecodeStatus::kOk) {
    const size_t index = options % column_count;
    const my::Replacement replacement{true, {}};
    const size_t size = my::RewriteBinaryRow(payload, row_types, index, replacement, scratch);
    JG_CHECK(size > 0);
    JG_CHECK(my::ValidateBinaryRow(std::span(scratch, size), row_types) == my::DecodeStatus::kOk);
  }
}

void RunDecoders(my::Bytes payload, uint8_t options) {
  const uint32_t caps = (options & 0x80) != 0 ? 0xffffffffu : my::kClientProtocol41;
  const uint32_t mariadb = (options & 0x40) != 0 ? 0xffffffffu : 0;
  const my::HandshakeV10 hello = my::DecodeHandshakeV10(payload);
  if (hello.status == my::DecodeStatus::kOk) {
    CheckInside(hello.server_version, payload);
    CheckInside(hello.auth_plugin_name, payload);
  }
  const my::HandshakeResponse41 response = my::DecodeHandshakeResponse41(payload);
  if (response.status == my::DecodeStatus::kOk) {
    CheckInside(response.username, payload);
    CheckInside(response.auth_response, payload);
    auto cursor = response.connect_attrs.cursor();
    std::string_view key;
    std::string_view value;
    while (cursor.Next(key, value)) {
      CheckInside(key, payload);
      CheckInside(value, payload);
    }
    JG_CHECK(cursor.ok());  // validated by the decoder
  }
  my::DecodeSslRequest(payload);
  my::DecodeAuthSwitchRequest(payload);
  my::DecodeAuthMoreData(payload);
  my::DecodeOkPacket(payload, caps);
  CheckInside(my::DecodeErrPacket(payload).message, payload);
  my::DecodeEofPacket(payload);
  my::DecodeStmtPrepareOk(payload);
  my::DecodeColumnCount(payload, caps, mariadb);
  const my::ColumnDefinition41 def = my::DecodeColumnDefinition41(payload, mariadb, options & 1);
  if (def.status == my::DecodeStatus::kOk) {
    CheckInside(def.org_table, payload);
    CheckInside(def.org_name, payload);
  }
  my::ValidateCommand(payload, caps, options % 4);
  const my::ComStmtExecute execute = my::DecodeComStmtExecute(payload, caps, options % 4);
  if (execute.status == my::DecodeStatus::kOk) {
    my::ParamCursor cursor(execute.params, execute.params.types);
    my::Field field;
    while (cursor.Next(field)) {
      CheckInside(field.value, payload);
    }
  }
  CheckInside(my::DecodeComQuery(payload, caps).query, payload);
  my::DecodeComChangeUser(payload, caps);
  RunRowDecoders(payload, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t options = data[0];
  const my::Bytes stream(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  // One shot.
  size_t frames = 0;
  size_t copied = 0;
  size_t offset = 0;
  my::Frame frame;
  while (frames < kFramesMax) {
    frame = my::DecodeFrame(stream.subspan(offset), kFrameSizeMax);
    if (frame.status != my::DecodeStatus::kOk) {
      break;
    }
    const std::span<std::byte> out(one_shot_payloads + copied, frame.payload_size);
    JG_CHECK(my::CopyPayload(stream.subspan(offset), frame, out) == frame.payload_size ||
             frame.payload_size == 0);
    if (!frame.split()) {
      JG_CHECK(frame.payload.size() == frame.payload_size);
    }
    one_shot[frames++] = {copied, frame.payload_size, frame.first_sequence_id};
    RunDecoders(out, options);
    copied += frame.payload_size;
    offset += frame.frame_size;
  }
  // Chunked, through the assembler; chunk sizes from a small LCG seeded by the option byte.
  my::PacketAssembler assembler(staging);
  uint32_t lcg = options * 2654435761u + 1;
  size_t chunked_frames = 0;
  size_t at = 0;
  my::PacketAssembler::FeedResult result;
  while (at < stream.size() && chunked_frames < frames + 1) {
    lcg = lcg * 1103515245u + 12345u;
    const size_t chunk = std::min<size_t>(1 + (lcg >> 16) % 64, stream.size() - at);
    result = assembler.Feed(stream.subspan(at, chunk));
    at += result.consumed;
    if (result.status == my::DecodeStatus::kInvalid) {
      break;
    }
    if (result.status == my::DecodeStatus::kOk) {
      JG_CHECK(chunked_frames < frames);
      const Seen& seen = one_shot[chunked_frames++];
      JG_CHECK(assembler.payload().size() == seen.size);
      JG_CHECK(seen.size == 0 || std::memcmp(assembler.payload().data(),
                                             one_shot_payloads + seen.offset, seen.size) == 0);
      JG_CHECK(assembler.first_sequence_id() == seen.first_sequence_id);
      assembler.Reset();
    }
  }
  if (frames < kFramesMax) {
    JG_CHECK(chunked_frames == frames);
    JG_CHECK((frame.status == my::DecodeStatus::kInvalid) ==
             (result.status == my::DecodeStatus::kInvalid));
    if (frame.status == my::DecodeStatus::kInvalid) {
      const bool size_reason = frame.reason == my::InvalidReason::kFrameAboveMax;
      JG_CHECK(size_reason ? result.reason == my::InvalidReason::kStagingOverflow
                           : result.reason == frame.reason);
    }
  }
  return 0;
}
