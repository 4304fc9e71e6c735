// tests/parsers/mysql/packet_test.cc: framing (jitgate/parsers/mysql/packet.h) and the payload
// reader (wire.h): every cut, 16 MiB split packets, sequence checks, limits, staging.
#include "jitgate/parsers/mysql/packet.h"

#include <gtest/gtest.h>

#include <vector>

#include "jitgate/parsers/mysql/wire.h"
#include "tests/parsers/mysql/builder.h"

namespace jitgate::parsers::mysql {
namespace {

using testing::ByteVector;
using testing::Packetize;
using testing::PayloadBuilder;

TEST(MysqlFrame, SmallPacketEveryCut) {
  const auto payload = PayloadBuilder().Int1(0x03).Str("SELECT 1").bytes();
  testing::ExpectFramingAtEveryCut(payload, 0);
  const ByteVector wire = Packetize(payload, 7);
  const Frame frame = DecodeFrame(wire, 1024);
  EXPECT_EQ(frame.status, DecodeStatus::kOk);
  EXPECT_EQ(frame.payload_size, payload.size());
  EXPECT_EQ(frame.packet_count, 1u);
  EXPECT_EQ(frame.first_sequence_id, 7);
  EXPECT_FALSE(frame.split());
}

TEST(MysqlFrame, EmptyPayloadIsAFrame) {
  const ByteVector wire = Packetize({}, 3);
  const Frame frame = DecodeFrame(wire, 1024);
  EXPECT_EQ(frame.status, DecodeStatus::kOk);
  EXPECT_EQ(frame.payload_size, 0u);
  EXPECT_EQ(frame.frame_size, 4u);
}

TEST(MysqlFrame, NeedMoreCountsHeaderAndPayload) {
  const ByteVector wire = Packetize(PayloadBuilder().Str("abcdef").view());
  EXPECT_EQ(DecodeFrame(Bytes(wire).first(1), 100).bytes_needed, 3u);
  EXPECT_EQ(DecodeFrame(Bytes(wire).first(4), 100).bytes_needed, 6u);
  EXPECT_EQ(DecodeFrame(Bytes(wire).first(9), 100).bytes_needed, 1u);
}

TEST(MysqlFrame, TrailingBytesBelongToTheNextFrame) {
  ByteVector wire = Packetize(PayloadBuilder().Str("one").view(), 0);
  const ByteVector next = Packetize(PayloadBuilder().Str("two!").view(), 1);
  wire.insert(wire.end(), next.begin(), next.end());
  const Frame first = DecodeFrame(wire, 100);
  ASSERT_EQ(first.status, DecodeStatus::kOk);
  EXPECT_EQ(first.frame_size, 7u);
  const Frame second = DecodeFrame(Bytes(wire).subspan(first.frame_size), 100);
  ASSERT_EQ(second.status, DecodeStatus::kOk);
  EXPECT_EQ(testing::AsString(second.payload), "two!");
}

TEST(MysqlFrame, AboveMaxIsInvalidBeforeThePayloadArrives) {
  ByteVector header = {std::byte{0x01}, std::byte{0x10}, std::byte{0x00}, std::byte{0x00}};
  const Frame frame = DecodeFrame(header, 0x1000);
  EXPECT_EQ(frame.status, DecodeStatus::kInvalid);
  EXPECT_EQ(frame.reason, InvalidReason::kFrameAboveMax);
  const Frame at_max = DecodeFrame(header, 0x1001);
  EXPECT_EQ(at_max.status, DecodeStatus::kNeedMore);
  EXPECT_EQ(at_max.bytes_needed, 0x1001u);
}

class MysqlSplitPacket : public ::testing::TestWithParam<size_t> {};

// 16 MiB split packets: 0xffffff-byte packets continue the payload; an exact multiple ends with
// an empty packet. Checked one-shot, through the assembler, and with CopyPayload.
TEST_P(MysqlSplitPacket, ReassemblesLogicalPayload) {
  const size_t size = GetParam();
  ByteVector payload(size);
  for (size_t i = 0; i < size; ++i) {
    payload[i] = static_cast<std::byte>(i * 131 + 7);
  }
  const ByteVector wire = Packetize(payload, 250);  // sequence ids wrap past 255
  const Frame frame = DecodeFrame(wire, kLogicalPayloadMax);
  ASSERT_EQ(frame.status, DecodeStatus::kOk);
  EXPECT_TRUE(frame.split());
  EXPECT_EQ(frame.packet_count, size / kPacketPayloadMax + 1);
  EXPECT_EQ(frame.payload_size, size);
  EXPECT_EQ(frame.frame_size, wire.size());
  EXPECT_EQ(frame.first_sequence_id, 250);
  EXPECT_EQ(frame.last_sequence_id, static_cast<uint8_t>(250 + frame.packet_count - 1));
  ByteVector copy(size);
  ASSERT_EQ(CopyPayload(wire, frame, copy), size);
  EXPECT_TRUE(copy == payload);
  // The frame is incomplete until its last byte, including the trailing empty packet.
  for (size_t cut : {size_t{0}, size_t{4}, kPacketPayloadMax + 3, kPacketPayloadMax + 4,
                     wire.size() - 4, wire.size() - 1}) {
    EXPECT_EQ(DecodeFrame(Bytes(wire).first(cut), kLogicalPayloadMax).status,
              DecodeStatus::kNeedMore)
        << cut;
  }
  ByteVector storage(size);
  PacketAssembler assembler(storage);
  size_t offset = 0;
  constexpr size_t kChunk = 1 << 20;  // 1 MiB pieces straddle every header
  PacketAssembler::FeedResult result;
  while (offset < wire.size()) {
    result = assembler.Feed(Bytes(wire).subspan(offset, std::min(kChunk, wire.size() - offset)));
    offset += result.consumed;
    if (result.status != DecodeStatus::kNeedMore) {
      break;
    }
  }
  ASSERT_EQ(result.status, DecodeStatus::kOk);
  EXPECT_EQ(offset, wire.size());
  EXPECT_EQ(assembler.packet_count(), frame.packet_count);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), assembler.payload().begin()));
  // Too small for the staging buffer, or above the frame maximum.
  ByteVector small(size - 1);
  PacketAssembler tight(small);
  EXPECT_EQ(tight.Feed(wire).reason, InvalidReason::kStagingOverflow);
  EXPECT_EQ(DecodeFrame(wire, size - 1).reason, InvalidReason::kFrameAboveMax);
}

INSTANTIATE_TEST_SUITE_P(Sizes, MysqlSplitPacket,
                         ::testing::Values(kPacketPayloadMax, kPacketPayloadMax + 1,
                                           2 * kPacketPayloadMax + 10));

TEST(MysqlFrame, ContinuationMustFollowSequence) {
  ByteVector payload(kPacketPayloadMax + 5, std::byte{'x'});
  ByteVector wire = Packetize(payload, 4);
  wire[kPacketHeaderSize + kPacketPayloadMax + 3] = std::byte{9};  // should be 5
  EXPECT_EQ(DecodeFrame(wire, kLogicalPayloadMax).reason, InvalidReason::kSequenceMismatch);
  ByteVector storage(payload.size());
  PacketAssembler assembler(storage);
  const auto result = assembler.Feed(wire);
  EXPECT_EQ(result.status, DecodeStatus::kInvalid);
  EXPECT_EQ(result.reason, InvalidReason::kSequenceMismatch);
  assembler.Reset();
  EXPECT_EQ(assembler.Feed(Packetize(PayloadBuilder().Str("ok").view())).status, DecodeStatus::kOk);
}

TEST(MysqlFrame, AssemblerStopsAtFrameEnd) {
  ByteVector wire = Packetize(PayloadBuilder().Str("first").view(), 0);
  const ByteVector next = Packetize(PayloadBuilder().Str("second").view(), 1);
  wire.insert(wire.end(), next.begin(), next.end());
  ByteVector storage(64);
  PacketAssembler assembler(storage);
  for (size_t i = 0; i < 8; ++i) {  // byte by byte
    const auto r = assembler.Feed(Bytes(wire).subspan(i, 1));
    ASSERT_EQ(r.consumed, 1u);
    ASSERT_EQ(r.status, i == 8 ? DecodeStatus::kOk : DecodeStatus::kNeedMore) << i;
  }
  const auto last = assembler.Feed(Bytes(wire).subspan(8));
  EXPECT_EQ(last.status, DecodeStatus::kOk);
  EXPECT_EQ(last.consumed, 1u);
  EXPECT_EQ(testing::AsString(assembler.payload()), "first");
  assembler.Reset();
  EXPECT_EQ(assembler.Feed(Bytes(wire).subspan(9)).status, DecodeStatus::kOk);
  EXPECT_EQ(testing::AsString(assembler.payload()), "second");
  EXPECT_EQ(assembler.first_sequence_id(), 1);
}

TEST(MysqlSequence, TrackerWrapsAndResets) {
  SequenceTracker tracker;
  EXPECT_TRUE(tracker.Check(0));
  EXPECT_TRUE(tracker.Check(1));
  EXPECT_FALSE(tracker.Check(3));
  EXPECT_EQ(tracker.expected(), 4);
  EXPECT_EQ(NextSequenceId(255), 0);
  tracker.Reset();
  EXPECT_EQ(tracker.expected(), 0);
}

TEST(MysqlReader, LenencAllPrefixes) {
  const auto b = PayloadBuilder()
                     .Int1(0xfa)
                     .Int1(0xfc)
                     .Int2(0xfb)
                     .Int1(0xfd)
                     .Int(0x123456, 3)
                     .Int1(0xfe)
                     .Int8(0x0102030405060708)
                     .Int1(0xfb)
                     .bytes();
  Reader r(b);
  EXPECT_EQ(r.Lenenc(), 0xfau);
  EXPECT_EQ(r.Lenenc(), 0xfbu);
  EXPECT_EQ(r.Lenenc(), 0x123456u);
  EXPECT_EQ(r.Lenenc(), 0x0102030405060708u);
  bool is_null = false;
  EXPECT_EQ(r.Lenenc(&is_null), 0u);
  EXPECT_TRUE(is_null);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.AtEnd());
  const auto bad = PayloadBuilder().Int1(0xff).bytes();
  Reader r2(bad);
  r2.Lenenc();
  EXPECT_EQ(r2.reason(), InvalidReason::kBadLenencPrefix);
  const auto null = PayloadBuilder().Int1(0xfb).bytes();
  Reader r3(null);
  r3.Lenenc();
  EXPECT_EQ(r3.reason(), InvalidReason::kUnexpectedNull);
  for (const auto& truncated :
       {PayloadBuilder().Int1(0xfc).Int1(1).bytes(), PayloadBuilder().Int1(0xfd).Int2(1).bytes(),
        PayloadBuilder().Int1(0xfe).Int4(1).bytes(), ByteVector{}}) {
    Reader r4(truncated);
    r4.Lenenc();
    EXPECT_EQ(r4.reason(), InvalidReason::kTruncated);
  }
}

TEST(MysqlReader, StringsAndStickyFailure) {
  const auto b = PayloadBuilder().Nul("abc").LenStr("de").Str("rest").bytes();
  Reader r(b);
  EXPECT_EQ(r.NulString(), "abc");
  EXPECT_EQ(r.LenencString(), "de");
  EXPECT_EQ(r.Rest(), "rest");
  EXPECT_TRUE(r.ok());
  const auto no_nul = PayloadBuilder().Str("abc").bytes();
  Reader r2(no_nul);
  EXPECT_EQ(r2.NulString(), "");
  EXPECT_EQ(r2.reason(), InvalidReason::kMissingNul);
  EXPECT_EQ(r2.Int4(), 0u);  // sticky
  EXPECT_EQ(r2.reason(), InvalidReason::kMissingNul);
  const auto long_string = PayloadBuilder().Lenenc(10).Str("short").bytes();
  Reader r3(long_string);
  r3.LenencString();
  EXPECT_EQ(r3.reason(), InvalidReason::kTruncated);
  EXPECT_EQ(InvalidReasonName(InvalidReason::kTruncated), "truncated");
}

}  // namespace
}  // namespace jitgate::parsers::mysql
