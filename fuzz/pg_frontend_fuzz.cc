// fuzz/pg_frontend_fuzz.cc: libFuzzer target for the PostgreSQL client (frontend) stream:
// start-up packets (jitgate/parsers/pg/startup.h), framing and the staging buffer (frame.h), and
// every typed decoder of jitgate/parsers/pg/frontend.h.
// Input: byte 0 seeds the chunk sizes and, by its low bit, whether the stream starts in the
// start-up phase (then the grammar switches to tagged messages after a valid StartupMessage,
// as a session does); the rest is the client's byte stream.
// Properties, beyond "no crash or sanitizer report":
//  - differential: feeding the stream through a FrameStager in chunks (sizes derived from the
//    input) yields exactly the frames, and the final status and reason, of one-shot DecodeFrame;
//  - every frontend decoder (all four 'p' forms included) runs on every frame's payload; a
//    decoded Bind/FunctionCall iterates its values to their count without error.
// Seed corpus: fuzz/corpus/pg_frontend/ (golden captures from tests/data/pg and small frames).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/pg/startup.h"

namespace pg = jitgate::parsers::pg;

namespace {

constexpr size_t kFrameSizeMax = 4096;  // small, so the limit itself is reachable

struct Seen {
  char type;
  std::span<const std::byte> payload;
};

void CheckValues(pg::ValueIterator it, uint16_t count) {
  pg::Value value;
  size_t seen = 0;
  while (it.Next(value)) {
    ++seen;
  }
  JG_CHECK(it.error() == pg::InvalidReason::kNone && seen == count);
}

// Every frontend decoder on one payload, whatever its type byte.
void RunAllDecoders(char type, std::span<const std::byte> p) {
  pg::Query query;
  pg::DecodeQuery(p, query);
  pg::Parse parse;
  if (pg::DecodeParse(p, parse) == pg::InvalidReason::kNone && parse.param_type_count > 0) {
    parse.ParamTypeOid(parse.param_type_count - 1u);
  }
  pg::Bind bind;
  if (pg::DecodeBind(p, bind) == pg::InvalidReason::kNone) {
    CheckValues(bind.params(), bind.param_count);
    for (size_t i = 0; i <= bind.param_count; ++i) {
      const int16_t format = bind.ParamFormat(i);
      JG_CHECK(format == 0 || format == 1);
    }
    bind.ResultFormat(7);
  }
  pg::Describe describe;
  pg::DecodeDescribe(p, describe);
  pg::Close close;
  pg::DecodeClose(p, close);
  pg::Execute execute;
  pg::DecodeExecute(p, execute);
  pg::CopyData copy_data;
  pg::DecodeCopyData(p, copy_data);
  pg::CopyFail copy_fail;
  pg::DecodeCopyFail(p, copy_fail);
  pg::FunctionCall call;
  if (pg::DecodeFunctionCall(p, call) == pg::InvalidReason::kNone) {
    CheckValues(call.args(), call.arg_count);
  }
  pg::PasswordMessage password;
  pg::DecodePasswordMessage(p, password);
  pg::SaslInitialResponse initial;
  if (pg::DecodeSaslInitialResponse(p, initial) == pg::InvalidReason::kNone) {
    JG_CHECK(initial.has_response || initial.response.empty());
  }
  pg::SaslResponse sasl;
  pg::DecodeSaslResponse(p, sasl);
  pg::GssResponse gss;
  pg::DecodeGssResponse(p, gss);
  pg::DecodeEmpty(p);
  pg::DecodeFrontendMessage(type, p);
}

// A start-up packet: the body decoders; returns true when tagged messages follow.
bool RunStartupDecoders(std::span<const std::byte> payload) {
  pg::StartupMessage startup;
  const bool is_startup = pg::DecodeStartupPayload(payload, startup) == pg::InvalidReason::kNone;
  if (is_startup) {
    JG_CHECK(!startup.user.empty());
    JG_CHECK(startup.Find("user") == startup.user);
    pg::StartupParamIterator it = startup.params();
    pg::StartupParam param;
    while (it.Next(param)) {
    }
    JG_CHECK(it.error() == pg::InvalidReason::kNone);
  }
  return is_startup;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  uint32_t rng = 0x9e3779b9u ^ data[0];
  const pg::Direction first_direction =
      (data[0] & 1) != 0 ? pg::Direction::kStartup : pg::Direction::kFrontend;
  const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data + 1), size - 1);

  // One shot: DecodeFrame straight over the stream.
  std::vector<Seen> whole;
  pg::Frame last;
  pg::Direction direction = first_direction;
  for (size_t at = 0;;) {
    last = pg::DecodeFrame(stream.subspan(at), direction, kFrameSizeMax);
    if (last.status != pg::DecodeStatus::kOk) {
      break;
    }
    JG_CHECK(last.frame_size <= kFrameSizeMax);
    whole.push_back({last.type, last.payload});
    if (direction == pg::Direction::kStartup) {
      if (RunStartupDecoders(last.payload)) {
        direction = pg::Direction::kFrontend;
      }
    } else {
      RunAllDecoders(last.type, last.payload);
    }
    at += last.frame_size;
  }

  // Chunked, through the stager, switching grammar at the same frame.
  std::vector<std::byte> storage(kFrameSizeMax);
  pg::FrameStager stager(storage, first_direction);
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
      pg::StartupMessage startup;
      if (stager.direction() == pg::Direction::kStartup &&
          pg::DecodeStartupPayload(chunked_last.payload, startup) == pg::InvalidReason::kNone) {
        JG_CHECK(stager.SetDirection(pg::Direction::kFrontend));
      }
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
