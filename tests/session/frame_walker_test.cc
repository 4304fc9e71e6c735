// tests/session/frame_walker_test.cc: FrameWalker (src/session/frame_walker.h), the forwarding
// path's frame follower: a stream cut into chunks anywhere gives the callbacks of the whole
// stream; capture truncation; a bad header is sticky; stop_at_boundary stops exactly at the end
// of the frame in flight.
#include "src/session/frame_walker.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/parsers/pg/frame.h"

namespace jitgate::session {
namespace {

namespace pg = parsers::pg;
using Bytes = std::vector<std::byte>;

constexpr size_t kFrameSizeMax = 1 << 20;
constexpr size_t kCaptureMax = 1 << 16;

void Put32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(std::byte(v >> shift));
  }
}

Bytes Frame(char type, std::string_view body) {
  Bytes out;
  out.push_back(std::byte(type));
  Put32(out, static_cast<uint32_t>(body.size() + 4));
  for (char c : body) {
    out.push_back(std::byte(c));
  }
  return out;
}

// A frame with a raw length field (for invalid headers).
Bytes Header(char type, uint32_t length) {
  Bytes out;
  out.push_back(std::byte(type));
  Put32(out, length);
  return out;
}

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

struct Seen {
  char type = 0;
  Bytes payload;
  uint32_t body_size = 0;
  bool truncated = false;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& seen) {
  return os << "{'" << seen.type << "' " << seen.payload.size() << "/" << seen.body_size
            << (seen.truncated ? " truncated" : "") << "}";
}

struct WalkResult {
  std::vector<Seen> seen;
  FrameWalker::Status status = FrameWalker::Status::kOk;
  pg::InvalidReason reason = pg::InvalidReason::kNone;
  size_t walked = 0;  // total over the chunks
  uint64_t frames = 0;
  bool at_boundary = false;
};

struct WalkerSpec {
  pg::Direction direction = pg::Direction::kBackend;
  size_t frame_size_max = kFrameSizeMax;
  size_t capture_max = kCaptureMax;
  std::string_view interest = "ZSDn";
};

FrameWalker MakeWalker(const WalkerSpec& spec) {
  FrameWalker walker(spec.direction, spec.frame_size_max, spec.capture_max);
  for (char type : spec.interest) {
    walker.SetInterest(type);
  }
  return walker;
}

// Walks `bytes` cut at `cuts` (increasing offsets), stopping at the first kInvalid.
WalkResult Walk(std::span<const std::byte> bytes, const std::vector<size_t>& cuts,
         const WalkerSpec& spec = {}) {
  FrameWalker walker = MakeWalker(spec);
  WalkResult run;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(bytes.size());
  for (size_t end : ends) {
    size_t walked = 0;
    run.status = walker.Advance(bytes.subspan(from, end - from), false, &walked,
                                [&](const WalkedFrame& frame) {
                                  run.seen.push_back(Seen{
                                      frame.type, Bytes(frame.payload.begin(), frame.payload.end()),
                                      frame.body_size, frame.truncated});
                                });
    EXPECT_LE(walked, end - from);
    run.walked += walked;
    if (run.status == FrameWalker::Status::kInvalid) {
      break;
    }
    EXPECT_EQ(walked, end - from);  // kOk walks the whole chunk
    from = end;
  }
  run.reason = walker.reason();
  run.frames = walker.frames();
  run.at_boundary = walker.at_boundary();
  return run;
}

void ExpectSameCallbacks(const WalkResult& whole, const WalkResult& split, const std::string& where) {
  EXPECT_EQ(split.seen, whole.seen) << where;
  EXPECT_EQ(split.status, whole.status) << where;
  EXPECT_EQ(split.reason, whole.reason) << where;
  EXPECT_EQ(split.at_boundary, whole.at_boundary) << where;
  if (whole.status == FrameWalker::Status::kOk) {
    EXPECT_EQ(split.frames, whole.frames) << where;
    EXPECT_EQ(split.walked, whole.walked) << where;
  }
}

// A backend stream: interesting frames (Z, S, D, the empty-bodied n) between others.
Bytes BackendStream() {
  return Concat({Frame('R', std::string("\0\0\0\0", 4)), Frame('S', std::string("TimeZone\0UTC\0", 13)),
                 Frame('K', "pidkeyxx"), Frame('Z', "I"), Frame('T', std::string(30, 't')),
                 Frame('D', "row one"), Frame('n', ""), Frame('1', ""), Frame('D', std::string(70, 'r')),
                 Frame('C', std::string("SELECT 2\0", 9)), Frame('Z', "T")});
}

TEST(FrameWalkerTest, WholeStreamCallbacks) {
  const Bytes stream = BackendStream();
  const WalkResult whole = Walk(stream, {});
  EXPECT_EQ(whole.status, FrameWalker::Status::kOk);
  EXPECT_EQ(whole.frames, 11u);
  EXPECT_TRUE(whole.at_boundary);
  EXPECT_EQ(whole.walked, stream.size());
  std::string types;
  for (const Seen& seen : whole.seen) {
    types.push_back(seen.type);
    EXPECT_FALSE(seen.truncated);
    EXPECT_EQ(seen.payload.size(), seen.body_size);
  }
  EXPECT_EQ(types, "SZDnDZ");
  const Bytes row = Frame('D', "row one");
  EXPECT_EQ(whole.seen[2].payload, Bytes(row.begin() + 5, row.end()));
  EXPECT_TRUE(whole.seen[3].payload.empty());
}

TEST(FrameWalkerTest, OneCutAtEveryOffsetMatchesWhole) {
  const Bytes stream = BackendStream();
  const WalkResult whole = Walk(stream, {});
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    ExpectSameCallbacks(whole, Walk(stream, {cut}), "cut " + std::to_string(cut));
  }
}

TEST(FrameWalkerTest, TwoCutsAtEveryPairOfOffsetsMatchWhole) {
  const Bytes stream = BackendStream();
  const WalkResult whole = Walk(stream, {});
  for (size_t first = 0; first <= stream.size(); ++first) {
    for (size_t second = first; second <= stream.size(); ++second) {
      const WalkResult split = Walk(stream, {first, second});
      if (split.seen != whole.seen || split.status != whole.status) {
        ExpectSameCallbacks(whole, split,
                            "cuts " + std::to_string(first) + "," + std::to_string(second));
        return;
      }
    }
  }
}

TEST(FrameWalkerTest, ByteAtATimeMatchesWhole) {
  const Bytes stream = BackendStream();
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); ++i) {
    cuts.push_back(i);
  }
  ExpectSameCallbacks(Walk(stream, {}), Walk(stream, cuts), "byte at a time");
}

TEST(FrameWalkerTest, FrontendStreamCutAnywhere) {
  const Bytes stream = Concat({Frame('Q', std::string("select 1\0", 9)),
                               Frame('P', std::string("\0select $1\0\0\0", 13)),
                               Frame('B', std::string(12, '\0')), Frame('E', std::string(5, '\0')),
                               Frame('S', ""), Frame('X', "")});
  WalkerSpec spec;
  spec.direction = pg::Direction::kFrontend;
  spec.interest = "QPFX";
  const WalkResult whole = Walk(stream, {}, spec);
  ASSERT_EQ(whole.status, FrameWalker::Status::kOk);
  ASSERT_EQ(whole.seen.size(), 3u);
  EXPECT_EQ(whole.seen[2].type, 'X');
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    ExpectSameCallbacks(whole, Walk(stream, {cut}, spec), "cut " + std::to_string(cut));
  }
}

// ---------------------------------------------------------------------------------------------
// Capture.

TEST(FrameWalkerTest, CaptureTruncation) {
  const std::string body = "0123456789abcdefghij";  // 20 bytes
  const Bytes stream = Concat({Frame('D', body), Frame('Z', "I")});
  WalkerSpec spec;
  spec.capture_max = 8;
  // Whole in one chunk: a view into the chunk, never truncated.
  WalkResult run = Walk(stream, {}, spec);
  ASSERT_EQ(run.seen.size(), 2u);
  EXPECT_EQ(run.seen[0].payload.size(), 20u);
  EXPECT_FALSE(run.seen[0].truncated);
  // Straddling: the first capture_max bytes, flagged.
  for (size_t cut = 1; cut < 25; ++cut) {
    run = Walk(stream, {cut}, spec);
    ASSERT_EQ(run.seen.size(), 2u) << cut;
    EXPECT_EQ(run.seen[0].body_size, 20u) << cut;
    EXPECT_TRUE(run.seen[0].truncated) << cut;
    EXPECT_EQ(run.seen[0].payload, Bytes(stream.begin() + 5, stream.begin() + 13)) << cut;
    EXPECT_EQ(run.seen[1], (Seen{'Z', {std::byte{'I'}}, 1, false})) << cut;
  }
}

TEST(FrameWalkerTest, CaptureOfExactlyCaptureMaxIsNotTruncated) {
  const Bytes stream = Frame('D', "12345678");
  WalkerSpec spec;
  spec.capture_max = 8;
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    const WalkResult run = Walk(stream, {cut}, spec);
    ASSERT_EQ(run.seen.size(), 1u);
    EXPECT_FALSE(run.seen[0].truncated) << cut;
    EXPECT_EQ(run.seen[0].payload.size(), 8u) << cut;
  }
}

TEST(FrameWalkerTest, CaptureBufferIsReusedAcrossFrames) {
  WalkerSpec spec;
  spec.capture_max = 8;
  const Bytes stream = Concat({Frame('D', "first row!"), Frame('D', "2nd")});
  const WalkResult run = Walk(stream, {3, 16}, spec);  // both frames straddle
  ASSERT_EQ(run.seen.size(), 2u);
  EXPECT_EQ(run.seen[0].payload, Bytes(stream.begin() + 5, stream.begin() + 13));
  EXPECT_TRUE(run.seen[0].truncated);
  EXPECT_EQ(run.seen[1], (Seen{'D', {std::byte{'2'}, std::byte{'n'}, std::byte{'d'}}, 3, false}));
}

// ---------------------------------------------------------------------------------------------
// Invalid headers.

void ExpectInvalidEverywhere(const Bytes& stream, pg::InvalidReason reason, size_t good_frames,
                             const WalkerSpec& spec = {}) {
  const WalkResult whole = Walk(stream, {}, spec);
  EXPECT_EQ(whole.status, FrameWalker::Status::kInvalid);
  EXPECT_EQ(whole.reason, reason) << pg::InvalidReasonName(whole.reason);
  EXPECT_EQ(whole.frames, good_frames);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    ExpectSameCallbacks(whole, Walk(stream, {cut}, spec), "cut " + std::to_string(cut));
  }
}

TEST(FrameWalkerTest, UnknownTypeIsInvalid) {
  const Bytes good = Concat({Frame('Z', "I"), Frame('D', "x")});
  ExpectInvalidEverywhere(Concat({good, Frame('!', "junk")}), pg::InvalidReason::kUnknownType, 2);
  const WalkResult run = Walk(Concat({good, Frame('!', "junk")}), {});
  EXPECT_EQ(run.walked, good.size());  // the whole chunk: stops at the bad frame
  EXPECT_EQ(run.seen.size(), 2u);
}

TEST(FrameWalkerTest, LengthBelowHeaderIsInvalid) {
  ExpectInvalidEverywhere(Concat({Frame('Z', "I"), Header('D', 3), Bytes(8, std::byte{0})}),
                          pg::InvalidReason::kLengthBelowHeader, 1);
}

TEST(FrameWalkerTest, LengthAboveMaxIsInvalid) {
  WalkerSpec spec;
  spec.frame_size_max = 64;
  const Bytes fits = Frame('D', std::string(59, 'a'));  // 64 bytes
  ASSERT_EQ(fits.size(), 64u);
  const WalkResult run = Walk(fits, {}, spec);
  EXPECT_EQ(run.status, FrameWalker::Status::kOk);
  ExpectInvalidEverywhere(Concat({fits, Frame('D', std::string(60, 'a'))}),
                          pg::InvalidReason::kLengthAboveMax, 1, spec);
  // The header alone is enough to tell.
  ExpectInvalidEverywhere(Concat({fits, Header('D', 1000)}), pg::InvalidReason::kLengthAboveMax,
                          1, spec);
}

TEST(FrameWalkerTest, InvalidIsSticky) {
  FrameWalker walker = MakeWalker({});
  size_t walked = 99;
  int calls = 0;
  const auto count = [&](const WalkedFrame&) { ++calls; };
  const Bytes bad = Frame('!', "");
  EXPECT_EQ(walker.Advance(bad, false, &walked, count), FrameWalker::Status::kInvalid);
  EXPECT_EQ(walker.reason(), pg::InvalidReason::kUnknownType);
  const Bytes good = Frame('Z', "I");
  EXPECT_EQ(walker.Advance(good, false, &walked, count), FrameWalker::Status::kInvalid);
  EXPECT_EQ(walked, 0u);
  EXPECT_EQ(walker.Advance(good, true, &walked, count), FrameWalker::Status::kInvalid);
  EXPECT_EQ(walked, 0u);
  EXPECT_EQ(calls, 0);
  // Reset forgets the error and keeps the interest set.
  walker.Reset();
  EXPECT_EQ(walker.reason(), pg::InvalidReason::kNone);
  EXPECT_EQ(walker.Advance(good, false, &walked, count), FrameWalker::Status::kOk);
  EXPECT_EQ(walked, good.size());
  EXPECT_EQ(calls, 1);
}

// The per-type body limits (frame.cc TypeLimit: Sync, Flush, Close, ... at most
// kSmallMessageLimit) hold on the fast path (a whole frame inside the chunk) as on the slow path
// (a header that straddles chunks): a frontend Sync of length 10001 is refused both ways, one of
// length 10000 accepted both ways. (Regression: the fast path used to skip them.)
TEST(FrameWalkerTest, FrontendTypeLimitSameWholeOrSplit) {
  WalkerSpec spec;
  spec.direction = pg::Direction::kFrontend;
  spec.interest = "Q";
  const Bytes stream = Frame('S', std::string(pg::kSmallMessageLimit - 3, '\0'));  // length 10001
  const WalkResult whole = Walk(stream, {}, spec);
  const WalkResult split = Walk(stream, {3}, spec);
  EXPECT_EQ(split.status, FrameWalker::Status::kInvalid);
  EXPECT_EQ(split.reason, pg::InvalidReason::kLengthAboveTypeLimit);
  EXPECT_EQ(whole.status, split.status);
  EXPECT_EQ(whole.reason, split.reason);
  const Bytes fits = Frame('S', std::string(pg::kSmallMessageLimit - 4, '\0'));  // length 10000
  EXPECT_EQ(Walk(fits, {}, spec).status, FrameWalker::Status::kOk);
  EXPECT_EQ(Walk(fits, {3}, spec).status, FrameWalker::Status::kOk);
}

// ---------------------------------------------------------------------------------------------
// stop_at_boundary.

TEST(FrameWalkerTest, StopAtBoundaryBetweenFramesWalksNothing) {
  FrameWalker walker = MakeWalker({});
  const Bytes stream = Concat({Frame('Z', "I"), Frame('D', "abc")});
  size_t walked = 99;
  int calls = 0;
  EXPECT_EQ(walker.Advance(stream, true, &walked, [&](const WalkedFrame&) { ++calls; }),
            FrameWalker::Status::kOk);
  EXPECT_EQ(walked, 0u);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(walker.at_boundary());
  EXPECT_EQ(walker.frames(), 0u);
}

TEST(FrameWalkerTest, StopAtBoundaryFinishesTheFrameInFlight) {
  const Bytes first = Frame('D', "the first row");
  const Bytes next = Concat({Frame('C', std::string("SELECT 1\0", 9)), Frame('Z', "I")});
  // Cut the first frame anywhere inside it (header or body).
  for (size_t cut = 1; cut < first.size(); ++cut) {
    FrameWalker walker = MakeWalker({});
    std::vector<Seen> seen;
    const auto record = [&](const WalkedFrame& frame) {
      seen.push_back(Seen{frame.type, Bytes(frame.payload.begin(), frame.payload.end()),
                          frame.body_size, frame.truncated});
    };
    size_t walked = 0;
    ASSERT_EQ(walker.Advance(std::span(first).first(cut), false, &walked, record),
              FrameWalker::Status::kOk);
    ASSERT_EQ(walked, cut);
    EXPECT_FALSE(walker.at_boundary()) << cut;
    const Bytes rest = Concat({Bytes(first.begin() + static_cast<ptrdiff_t>(cut), first.end()), next});
    ASSERT_EQ(walker.Advance(rest, true, &walked, record), FrameWalker::Status::kOk);
    EXPECT_EQ(walked, first.size() - cut) << cut;
    EXPECT_TRUE(walker.at_boundary()) << cut;
    ASSERT_EQ(seen.size(), 1u) << cut;
    EXPECT_EQ(seen[0].payload, Bytes(first.begin() + 5, first.end())) << cut;
    EXPECT_EQ(walker.frames(), 1u);
    // Again at the boundary: nothing; without the stop, the rest goes through.
    ASSERT_EQ(walker.Advance(next, true, &walked, record), FrameWalker::Status::kOk);
    EXPECT_EQ(walked, 0u);
    ASSERT_EQ(walker.Advance(next, false, &walked, record), FrameWalker::Status::kOk);
    EXPECT_EQ(walked, next.size());
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].type, 'Z');
    EXPECT_EQ(walker.frames(), 3u);
  }
}

TEST(FrameWalkerTest, StopAtBoundaryWithAnEmptyBodiedFrameInFlight) {
  const Bytes first = Frame('n', "");
  for (size_t cut = 1; cut < first.size(); ++cut) {
    FrameWalker walker = MakeWalker({});
    int calls = 0;
    size_t walked = 0;
    const auto count = [&](const WalkedFrame& frame) {
      EXPECT_EQ(frame.type, 'n');
      EXPECT_TRUE(frame.payload.empty());
      ++calls;
    };
    ASSERT_EQ(walker.Advance(std::span(first).first(cut), false, &walked, count),
              FrameWalker::Status::kOk);
    const Bytes rest = Concat({Bytes(first.begin() + static_cast<ptrdiff_t>(cut), first.end()),
                               Frame('Z', "I")});
    ASSERT_EQ(walker.Advance(rest, true, &walked, count), FrameWalker::Status::kOk);
    EXPECT_EQ(walked, first.size() - cut) << cut;
    EXPECT_EQ(calls, 1) << cut;
    EXPECT_TRUE(walker.at_boundary());
  }
}

TEST(FrameWalkerTest, StopAtBoundaryWithTooFewBytesWalksThemAll) {
  FrameWalker walker = MakeWalker({});
  const Bytes frame = Frame('D', "0123456789");
  size_t walked = 0;
  int calls = 0;
  const auto count = [&](const WalkedFrame&) { ++calls; };
  ASSERT_EQ(walker.Advance(std::span(frame).first(2), false, &walked, count),
            FrameWalker::Status::kOk);
  ASSERT_EQ(walker.Advance(std::span(frame).subspan(2, 6), true, &walked, count),
            FrameWalker::Status::kOk);
  EXPECT_EQ(walked, 6u);
  EXPECT_FALSE(walker.at_boundary());
  EXPECT_EQ(calls, 0);
  ASSERT_EQ(walker.Advance(std::span(frame).subspan(8), true, &walked, count),
            FrameWalker::Status::kOk);
  EXPECT_EQ(walked, frame.size() - 8);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(walker.at_boundary());
}

TEST(FrameWalkerTest, ResetStartsANewStream) {
  FrameWalker walker = MakeWalker({});
  const Bytes frame = Frame('Z', "I");
  size_t walked = 0;
  int calls = 0;
  const auto count = [&](const WalkedFrame&) { ++calls; };
  ASSERT_EQ(walker.Advance(std::span(frame).first(3), false, &walked, count),
            FrameWalker::Status::kOk);
  walker.Reset();
  EXPECT_TRUE(walker.at_boundary());
  EXPECT_EQ(walker.frames(), 0u);
  ASSERT_EQ(walker.Advance(frame, false, &walked, count), FrameWalker::Status::kOk);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(walker.frames(), 1u);
}

}  // namespace
}  // namespace jitgate::session
