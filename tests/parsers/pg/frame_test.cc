// tests/parsers/pg/frame_test.cc: the frame header decoder and the staging buffer of
// jitgate/parsers/pg/frame.h: header errors in each direction, the "need N more bytes" contract,
// a multi-frame stream fed in every chunking, sticky errors and the direction switch.
#include "jitgate/parsers/pg/frame.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/parsers/pg/startup.h"
#include "tests/parsers/pg/test_util.h"

namespace jitgate::parsers::pg {
namespace {

using testing::AsBytes;
using testing::AsString;
using testing::FrameBuilder;

struct Seen {
  char type;
  std::string payload;
  bool operator==(const Seen&) const = default;
};

// Feeds `stream` to a stager in chunks of `chunk` bytes; returns the frames and the final status.
std::vector<Seen> FeedChunked(const std::string& stream, size_t chunk, Direction direction,
                              size_t capacity, DecodeStatus* last) {
  std::vector<std::byte> storage(capacity);
  FrameStager stager(storage, direction);
  std::vector<Seen> seen;
  *last = DecodeStatus::kNeedMore;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    std::span<const std::byte> input = AsBytes(stream).subspan(at);
    input = input.first(std::min(chunk, input.size()));
    for (;;) {
      const Frame frame = stager.Next(input);
      EXPECT_TRUE(stager.AssertInvariants());
      *last = frame.status;
      if (frame.status != DecodeStatus::kOk) {
        break;
      }
      seen.push_back({frame.type, AsString(frame.payload)});
    }
    if (*last == DecodeStatus::kInvalid) {
      break;
    }
  }
  return seen;
}

std::string BackendStream() {
  std::string s;
  s += FrameBuilder('1').Build();
  s += FrameBuilder('2').Build();
  s += FrameBuilder('T')
           .Int16(1)
           .String("a")
           .Int32(0)
           .Int16(0)
           .Int32(25)
           .Int16(-1)
           .Int32(-1)
           .Int16(0)
           .Build();
  for (int i = 0; i < 5; ++i) {
    s += FrameBuilder('D').Int16(1).Value(std::string(static_cast<size_t>(i * 7), 'x')).Build();
  }
  s += FrameBuilder('C').String("SELECT 5").Build();
  s += FrameBuilder('Z').Byte('I').Build();
  return s;
}

TEST(PgFrameTest, NeedMoreCountsTheMissingBytes) {
  const std::string frame = FrameBuilder('Q').String("SELECT 1").Build();
  Frame got = DecodeFrame({}, Direction::kFrontend, 100);
  EXPECT_EQ(got.status, DecodeStatus::kNeedMore);
  EXPECT_EQ(got.bytes_needed, kTaggedHeaderSize);
  got = DecodeFrame(AsBytes(frame).first(3), Direction::kFrontend, 100);
  EXPECT_EQ(got.bytes_needed, 2u);
  got = DecodeFrame(AsBytes(frame).first(7), Direction::kFrontend, 100);
  EXPECT_EQ(got.frame_size, frame.size());
  EXPECT_EQ(got.bytes_needed, frame.size() - 7);
  const std::string two = frame + "Q";
  got = DecodeFrame(AsBytes(two), Direction::kFrontend, 100);
  EXPECT_EQ(got.status, DecodeStatus::kOk);
  EXPECT_EQ(got.frame_size, frame.size());  // the next frame's first byte is not read
  EXPECT_EQ(AsString(got.payload), std::string("SELECT 1\0", 9));
}

TEST(PgFrameTest, HeaderErrors) {
  EXPECT_EQ(DecodeFrame(AsBytes("q"), Direction::kFrontend, 100).reason,
            InvalidReason::kUnknownType);
  EXPECT_EQ(DecodeFrame(AsBytes("Z"), Direction::kFrontend, 100).reason,
            InvalidReason::kUnknownType);  // ReadyForQuery is backend-only
  EXPECT_EQ(DecodeFrame(AsBytes("Q"), Direction::kBackend, 100).reason,
            InvalidReason::kUnknownType);  // Query is frontend-only
  EXPECT_EQ(DecodeFrame(AsBytes("Q"), Direction::kFrontend, 100).status, DecodeStatus::kNeedMore);
  // Length counts itself: 4 is the smallest, the frame is then 5 bytes.
  EXPECT_EQ(
      DecodeFrame(AsBytes(FrameBuilder('S').BuildWithLength(4)), Direction::kFrontend, 5).status,
      DecodeStatus::kOk);
  EXPECT_EQ(
      DecodeFrame(AsBytes(FrameBuilder('S').BuildWithLength(5)), Direction::kFrontend, 5).reason,
      InvalidReason::kLengthAboveMax);
  EXPECT_EQ(DecodeFrame(AsBytes(FrameBuilder('D').BuildWithLength(0xffffffffu)),
                        Direction::kBackend, size_t{1} << 40)
                .status,
            DecodeStatus::kNeedMore);  // a 4 GiB DataRow is legal framing if the cap allows it
  EXPECT_EQ(DecodeFrame(AsBytes(FrameBuilder('X').BuildWithLength(kSmallMessageLimit + 1)),
                        Direction::kFrontend, 1 << 20)
                .reason,
            InvalidReason::kLengthAboveTypeLimit);
  EXPECT_EQ(DecodeFrame(AsBytes(FrameBuilder('p').BuildWithLength(kAuthMessageLimit + 1)),
                        Direction::kFrontend, 1 << 20)
                .reason,
            InvalidReason::kLengthAboveTypeLimit);
  EXPECT_EQ(DecodeFrame(AsBytes(FrameBuilder('Q').BuildWithLength(kSmallMessageLimit + 1)),
                        Direction::kFrontend, 1 << 20)
                .status,
            DecodeStatus::kNeedMore);
  for (int type = 0; type < 256; ++type) {
    EXPECT_FALSE(IsKnownType(Direction::kStartup, static_cast<char>(type)));
  }
  EXPECT_STREQ(InvalidReasonName(InvalidReason::kLengthAboveMax), "length_above_max");
}

TEST(PgFrameTest, StagerMatchesOneShotForEveryChunkSize) {
  const std::string stream = BackendStream();
  DecodeStatus last;
  const std::vector<Seen> whole =
      FeedChunked(stream, stream.size(), Direction::kBackend, 256, &last);
  ASSERT_EQ(whole.size(), 10u);
  EXPECT_EQ(last, DecodeStatus::kNeedMore);
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    EXPECT_EQ(FeedChunked(stream, chunk, Direction::kBackend, 256, &last), whole) << chunk;
    EXPECT_EQ(last, DecodeStatus::kNeedMore);
  }
}

TEST(PgFrameTest, StagerErrorsAreStickyAndCapped) {
  // The 40-byte DataRow does not fit a 32-byte staging buffer: refused on its header.
  const std::string stream = FrameBuilder('Z').Byte('I').Build() +
                             FrameBuilder('D').Int16(1).Value(std::string(29, 'x')).Build();
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    DecodeStatus last;
    const std::vector<Seen> seen = FeedChunked(stream, chunk, Direction::kBackend, 32, &last);
    EXPECT_EQ(seen.size(), 1u) << chunk;
    EXPECT_EQ(last, DecodeStatus::kInvalid) << chunk;
  }
  std::vector<std::byte> storage(64);
  FrameStager stager(storage, Direction::kFrontend);
  std::span<const std::byte> input = AsBytes("Zjunk");
  EXPECT_EQ(stager.Next(input).reason, InvalidReason::kUnknownType);
  std::span<const std::byte> good = AsBytes(FrameBuilder('S').Build());
  EXPECT_EQ(stager.Next(good).reason, InvalidReason::kUnknownType);  // sticky
  stager.Reset();
  const std::string sync = FrameBuilder('S').Build();
  good = AsBytes(sync);
  EXPECT_EQ(stager.Next(good).status, DecodeStatus::kOk);
}

TEST(PgFrameTest, StartupThenFrontend) {
  const std::string startup =
      FrameBuilder().Int32(kProtocolVersion30).String("user").String("u").Byte(0).Build();
  const std::string query = FrameBuilder('Q').String("SELECT 1").Build();
  const std::string stream = startup + query;
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    std::vector<std::byte> storage(128);
    FrameStager stager(storage, Direction::kStartup);
    std::vector<Seen> seen;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      std::span<const std::byte> input =
          AsBytes(stream).subspan(at, std::min(chunk, stream.size() - at));
      for (;;) {
        const Frame frame = stager.Next(input);
        ASSERT_NE(frame.status, DecodeStatus::kInvalid) << chunk;
        if (frame.status != DecodeStatus::kOk) {
          break;
        }
        seen.push_back({frame.type, AsString(frame.payload)});
        if (stager.direction() == Direction::kStartup) {
          ASSERT_TRUE(stager.SetDirection(Direction::kFrontend));
        }
      }
    }
    ASSERT_EQ(seen.size(), 2u) << chunk;
    EXPECT_EQ(seen[0].type, 0);
    EXPECT_EQ(seen[0].payload, startup.substr(4));
    EXPECT_EQ(seen[1].type, 'Q');
  }
  // While a partial frame is staged the grammar cannot change.
  std::vector<std::byte> storage(128);
  FrameStager stager(storage, Direction::kStartup);
  std::span<const std::byte> input = AsBytes(startup).first(6);
  EXPECT_EQ(stager.Next(input).status, DecodeStatus::kNeedMore);
  EXPECT_FALSE(stager.SetDirection(Direction::kFrontend));
  EXPECT_EQ(stager.staged_size(), 6u);
}

}  // namespace
}  // namespace jitgate::parsers::pg
