// fuzz/session_walker_fuzz.cc: libFuzzer target for the forwarding path's frame walker
// (src/session/frame_walker.h), differential: a stream walked in chunks must give what the
// whole stream walked at once gives.
//
// Input: byte 0 picks the walker (bit 0: frontend or backend grammar; bits 1-2: frame_size_max
// 16 / 64 / 4096 / 1 MiB; bits 3-4: capture_max 0 / 8 / 64 / 64 KiB; bit 5: every type is
// interesting, else a fixed set; bit 6: the chunked walk also takes stop_at_boundary steps).
// Bytes 1..7 are chunk sizes, used in turn (0 is an empty chunk); the rest is the stream.
// Properties, beyond "no crash or sanitizer report":
//  - the same final status and InvalidReason either way;
//  - the same sequence of interesting frames (type and body size); a payload delivered whole
//    matches the whole walk's byte for byte, and a truncated one is its first capture_max bytes
//    (only a frame that straddles chunks can be truncated);
//  - when both walks end kOk: every byte walked, the same frame count and boundary state;
//  - a stop_at_boundary step stops exactly at a frame boundary (or walks its whole chunk).
// Seed corpus: fuzz/corpus/session_walker/.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/frame.h"
#include "src/session/frame_walker.h"

namespace pg = jitgate::parsers::pg;
using jitgate::session::FrameWalker;
using jitgate::session::WalkedFrame;

namespace {

constexpr size_t kChunkSizeCount = 7;
constexpr size_t kHeaderSize = 1 + kChunkSizeCount;
constexpr std::array<size_t, 4> kFrameSizeMaxChoices = {16, 64, 4096, size_t{1} << 20};
constexpr std::array<size_t, 4> kCaptureMaxChoices = {0, 8, 64, 64 * 1024};

// One delivered frame; `payload` is copied (views die with their chunk).
struct Seen {
  char type = 0;
  uint32_t body_size = 0;
  bool truncated = false;
  std::vector<std::byte> payload;
};

struct Walk {
  std::vector<Seen> seen;
  FrameWalker::Status status = FrameWalker::Status::kOk;
  pg::InvalidReason reason = pg::InvalidReason::kNone;
  size_t walked = 0;
  uint64_t frames = 0;
  bool at_boundary = true;
};

FrameWalker MakeWalker(uint8_t flags) {
  const pg::Direction direction =
      (flags & 1) != 0 ? pg::Direction::kFrontend : pg::Direction::kBackend;
  FrameWalker walker(direction, kFrameSizeMaxChoices[(flags >> 1) & 3],
                     kCaptureMaxChoices[(flags >> 3) & 3]);
  if ((flags & 0x20) != 0) {
    for (int type = 0; type < 256; ++type) {
      walker.SetInterest(static_cast<char>(type));
    }
  } else if (direction == pg::Direction::kFrontend) {
    for (char type : {'Q', 'P', 'F', 'X'}) {  // what PgSession's up walker watches
      walker.SetInterest(type);
    }
  } else {
    for (char type : {'Z', 'S', 'D', 'n'}) {  // 'n' (NoData) has an empty body
      walker.SetInterest(type);
    }
  }
  return walker;
}

void Record(Walk* walk, const WalkedFrame& frame) {
  JG_CHECK(frame.payload.size() <= frame.body_size);
  JG_CHECK(frame.truncated == (frame.payload.size() < frame.body_size));
  walk->seen.push_back(Seen{frame.type, frame.body_size, frame.truncated,
                            std::vector<std::byte>(frame.payload.begin(), frame.payload.end())});
}

void Finish(const FrameWalker& walker, Walk* walk) {
  walk->reason = walker.reason();
  walk->frames = walker.frames();
  walk->at_boundary = walker.at_boundary();
  JG_CHECK((walk->status == FrameWalker::Status::kInvalid) ==
           (walk->reason != pg::InvalidReason::kNone));
}

Walk WalkWhole(uint8_t flags, std::span<const std::byte> stream) {
  FrameWalker walker = MakeWalker(flags);
  Walk walk;
  walk.status = walker.Advance(stream, false, &walk.walked,
                               [&](const WalkedFrame& frame) { Record(&walk, frame); });
  JG_CHECK(walk.walked <= stream.size());
  Finish(walker, &walk);
  return walk;
}

Walk WalkChunked(uint8_t flags, std::span<const uint8_t, kChunkSizeCount> sizes,
                 std::span<const std::byte> stream) {
  FrameWalker walker = MakeWalker(flags);
  const bool stops = (flags & 0x40) != 0;
  // Sizes of 0 give empty chunks; all of them 0 means one chunk (else no progress).
  const bool all_zero = std::all_of(sizes.begin(), sizes.end(), [](uint8_t s) { return s == 0; });
  Walk walk;
  const auto record = [&](const WalkedFrame& frame) { Record(&walk, frame); };
  size_t at = 0;
  for (size_t step = 0;; ++step) {
    const size_t want = all_zero ? stream.size() : sizes[step % kChunkSizeCount];
    const std::span<const std::byte> chunk =
        stream.subspan(at, std::min(want, stream.size() - at));
    // Every other chunk, when asked: first walk only to the next boundary, then the rest.
    const bool stop = stops && step % 2 == 1;
    size_t walked = 0;
    walk.status = walker.Advance(chunk, stop, &walked, record);
    JG_CHECK(walked <= chunk.size());
    walk.walked += walked;
    at += walked;
    if (walk.status == FrameWalker::Status::kInvalid) {
      break;
    }
    if (walked < chunk.size()) {
      // Only a stop_at_boundary step stops early, and only at a boundary.
      JG_CHECK(stop && walker.at_boundary());
      size_t more = 0;
      walk.status = walker.Advance(chunk.subspan(walked), false, &more, record);
      walk.walked += more;
      at += more;
      if (walk.status == FrameWalker::Status::kInvalid) {
        break;
      }
      JG_CHECK(more == chunk.size() - walked);
    }
    if (at == stream.size()) {
      break;
    }
  }
  Finish(walker, &walk);
  return walk;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderSize) {
    return 0;
  }
  const uint8_t flags = data[0];
  const std::span<const uint8_t, kChunkSizeCount> sizes(data + 1, kChunkSizeCount);
  const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data + kHeaderSize),
                                          size - kHeaderSize);
  const size_t capture_max = kCaptureMaxChoices[(flags >> 3) & 3];

  const Walk whole = WalkWhole(flags, stream);
  const Walk chunked = WalkChunked(flags, sizes, stream);

  JG_CHECK(chunked.status == whole.status);
  JG_CHECK(chunked.reason == whole.reason);
  JG_CHECK(chunked.seen.size() == whole.seen.size());
  for (size_t i = 0; i < whole.seen.size(); ++i) {
    const Seen& a = whole.seen[i];
    const Seen& b = chunked.seen[i];
    JG_CHECK(a.type == b.type && a.body_size == b.body_size);
    // The whole walk holds every frame it delivers inside its one chunk: never truncated.
    JG_CHECK(!a.truncated && a.payload.size() == a.body_size);
    if (b.truncated) {
      JG_CHECK(b.payload.size() == capture_max && capture_max < b.body_size);
    } else {
      JG_CHECK(b.payload.size() == b.body_size);
    }
    JG_CHECK(b.payload.empty() ||
             std::memcmp(a.payload.data(), b.payload.data(), b.payload.size()) == 0);
  }
  if (whole.status == FrameWalker::Status::kOk) {
    JG_CHECK(whole.walked == stream.size() && chunked.walked == stream.size());
    JG_CHECK(chunked.frames == whole.frames);
    JG_CHECK(chunked.at_boundary == whole.at_boundary);
  }
  return 0;
}
