// tests/audit/verify_test.cc: VerifyLog, SegmentScanner and LogReader (src/audit/reader.h).
// A good log passes; each tamper is caught at the right file, offset and seq; the scanner gives
// the same frames whatever prefix it is fed; LogReader follows a live log across rotation.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "jitgate/check.h"
#include "src/audit/reader.h"
#include "tests/audit/audit_test_util.h"
#include "src/audit/record.h"
#include "src/audit/segment.h"

namespace jitgate::audit {
namespace {

using testing::Slurp;
using testing::Spit;
using testing::TempDir;

namespace fs = std::filesystem;

std::span<const std::byte> AsBytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

struct FrameInfo {
  uint64_t offset;
  uint64_t end_offset;
  uint64_t seq;
  RecordType type;
};

std::vector<FrameInfo> FramesOf(const std::string& bytes) {
  std::vector<FrameInfo> frames;
  SegmentScanner scanner(AsBytes(bytes), 0, nullptr);
  Frame frame;
  while (scanner.Next(&frame) == SegmentScanner::Result::kFrame) {
    frames.push_back({frame.offset, frame.end_offset, frame.header.seq, frame.header.type});
  }
  return frames;
}

std::vector<SegmentFile> Segments(const std::string& dir) {
  absl::StatusOr<std::vector<SegmentFile>> segments = ListSegments(dir, nullptr);
  JG_CHECK(segments.ok());
  return *segments;
}

void AppendStatements(SegmentWriter& writer, int count) {
  RecordBuilder builder(4096);
  for (int i = 0; i < count; ++i) {
    builder.Begin(RecordType::kStatement, 0, WallTimeUs(), 3);
    builder.Integer(Field::kStatementSeq, static_cast<uint64_t>(i + 1));
    builder.Text(Field::kText, absl::StrCat("select ", i, " from a_table_with_a_long_name"));
    JG_CHECK(writer.AppendQueued(builder.Finish(), 0) > 0);
  }
}

// A closed log of two epochs in several small segments.
class VerifyTest : public ::testing::Test {
 protected:
  void MakeLog(std::string key = "") {
    options_.dir = tmp_.path() + "/log";
    options_.segment_size_max = 2048;
    options_.chain_key = std::move(key);
    for (int epoch = 0; epoch < 2; ++epoch) {
      absl::StatusOr<std::unique_ptr<SegmentWriter>> writer =
          SegmentWriter::Open(options_, nullptr);
      JG_CHECK(writer.ok());
      AppendStatements(**writer, 30);
      JG_CHECK((*writer)->Close(0).ok());
    }
    segments_ = Segments(dir());
    JG_CHECK(segments_.size() >= 4);
  }
  void SetUp() override { MakeLog(); }

  const std::string& dir() const { return options_.dir; }
  std::string Bytes(size_t segment) const { return Slurp(segments_[segment].path); }
  std::vector<FrameInfo> Frames(size_t segment) const { return FramesOf(Bytes(segment)); }
  void Write(size_t segment, const std::string& bytes) { Spit(segments_[segment].path, bytes); }
  void FlipByte(size_t segment, uint64_t offset, uint8_t mask) {
    std::string bytes = Bytes(segment);
    bytes[offset] = static_cast<char>(bytes[offset] ^ mask);
    Write(segment, bytes);
  }
  VerifyReport Verify(std::string_view key = "") const { return VerifyLog(dir(), key); }
  // Expects a broken log whose first problem is in `file` at `offset` and mentions `what`.
  void ExpectBroken(const VerifyReport& report, const std::string& file, uint64_t offset,
                    std::string_view what) const {
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.error_file, file) << report.error;
    EXPECT_EQ(report.error_offset, offset) << report.error;
    EXPECT_NE(report.error.find(what), std::string::npos) << report.error;
    EXPECT_TRUE(report.error.starts_with(file)) << report.error;
  }

  TempDir tmp_{"audit_verify_"};
  LogOptions options_;
  std::vector<SegmentFile> segments_;
};

TEST_F(VerifyTest, GoodLogPasses) {
  const VerifyReport report = Verify();
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.segments, segments_.size());
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.records, report.last_seq);
  EXPECT_EQ(report.epochs, 2u);
  EXPECT_TRUE(report.last_epoch_closed);
  EXPECT_TRUE(report.notes.empty());
  EXPECT_TRUE(report.error.empty());
}

TEST_F(VerifyTest, FlippedBitInTheHeader) {
  const FrameInfo f = Frames(1)[3];
  FlipByte(1, f.offset + kFramePrefixSize + 16, 0x04);  // time_us
  const VerifyReport report = Verify();
  ExpectBroken(report, segments_[1].name, f.offset, "the link does not match the body");
  EXPECT_EQ(report.error_seq, f.seq);
  EXPECT_NE(report.error.find(absl::StrCat(" seq ", f.seq, ": ")), std::string::npos);
}

TEST_F(VerifyTest, FlippedBitInAField) {
  const FrameInfo f = Frames(2)[2];
  FlipByte(2, f.offset + kFramePrefixSize + kRecordHeaderSize + 7, 0x20);
  ExpectBroken(Verify(), segments_[2].name, f.offset, "the link does not match the body");
}

TEST_F(VerifyTest, FlippedBitInTheLink) {
  const FrameInfo f = Frames(0).back();
  FlipByte(0, f.end_offset - 1, 0x80);
  ExpectBroken(Verify(), segments_[0].name, f.offset, "the link does not match the body");
}

TEST_F(VerifyTest, FlippedBitsInBodySize) {
  const FrameInfo f = Frames(1)[2];
  FlipByte(1, f.offset + 3, 0x80);  // far too large
  ExpectBroken(Verify(), segments_[1].name, f.offset, "larger than");
  FlipByte(1, f.offset + 3, 0x80);
  ASSERT_TRUE(Verify().ok);
  FlipByte(1, f.offset, 0x01);  // one byte more or less: the link no longer matches
  ExpectBroken(Verify(), segments_[1].name, f.offset, "link does not match");
}

// Removes frame `index` of segment `segment`.
std::string WithoutFrame(const std::string& bytes, const FrameInfo& f) {
  return bytes.substr(0, f.offset) + bytes.substr(f.end_offset);
}

TEST_F(VerifyTest, RemovedRecordInTheMiddle) {
  const std::vector<FrameInfo> frames = Frames(1);
  Write(1, WithoutFrame(Bytes(1), frames[2]));
  const VerifyReport report = Verify();
  ExpectBroken(report, segments_[1].name, frames[2].offset,
               absl::StrCat("seq ", frames[3].seq, " follows seq ", frames[1].seq));
  EXPECT_EQ(report.error_seq, frames[3].seq);
}

TEST_F(VerifyTest, RemovedLastRecordIsCaughtByHead) {
  const size_t last = segments_.size() - 1;
  const std::vector<FrameInfo> frames = Frames(last);
  ASSERT_EQ(frames.back().type, RecordType::kLogStop);
  Write(last, WithoutFrame(Bytes(last), frames.back()));
  const VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.error_file, "HEAD");
  EXPECT_NE(report.error.find(absl::StrCat("the log was cut: HEAD names seq ", frames.back().seq,
                                           " but the log ends at seq ", frames.back().seq - 1)),
            std::string::npos)
      << report.error;
}

TEST_F(VerifyTest, ReorderedPair) {
  const std::vector<FrameInfo> frames = Frames(2);
  ASSERT_GE(frames.size(), 4u);
  const std::string bytes = Bytes(2);
  const FrameInfo& a = frames[1];
  const FrameInfo& b = frames[2];
  Write(2, bytes.substr(0, a.offset) + bytes.substr(b.offset, b.end_offset - b.offset) +
               bytes.substr(a.offset, a.end_offset - a.offset) + bytes.substr(b.end_offset));
  ExpectBroken(Verify(), segments_[2].name, a.offset,
               absl::StrCat("seq ", b.seq, " follows seq ", frames[0].seq));
}

TEST_F(VerifyTest, TruncatedLastSegmentMidFrame) {
  const size_t last = segments_.size() - 1;
  const FrameInfo f = Frames(last).back();
  Write(last, Bytes(last).substr(0, f.offset + 10));
  const VerifyReport report = Verify();
  ExpectBroken(report, segments_[last].name, f.offset, "the last frame is incomplete");
  EXPECT_EQ(report.error_seq, f.seq);
}

TEST_F(VerifyTest, TruncatedMiddleSegmentAtAFrameBoundary) {
  const std::vector<FrameInfo> frames = Frames(1);
  Write(1, Bytes(1).substr(0, frames.back().offset));
  ExpectBroken(Verify(), segments_[2].name, kSegmentMagicSize,
               absl::StrCat("prev_seq is ", frames.back().seq,
                            " but the segment before ends at seq ", frames.back().seq - 1));
}

TEST_F(VerifyTest, TruncatedMiddleSegmentMidFrame) {
  const FrameInfo f = Frames(1).back();
  Write(1, Bytes(1).substr(0, f.end_offset - 5));
  ExpectBroken(Verify(), segments_[1].name, f.offset, "the segment ends inside a frame");
}

TEST_F(VerifyTest, DeletedMiddleSegment) {
  fs::remove(segments_[1].path);
  ExpectBroken(Verify(), segments_[2].name, kSegmentMagicSize,
               "segment number 3 follows segment number 1");
}

TEST_F(VerifyTest, DeletedFirstSegment) {
  fs::remove(segments_[0].path);
  const VerifyReport report = Verify();
  ExpectBroken(report, segments_[1].name, kSegmentMagicSize,
               absl::StrCat("segments before ", segments_[1].name, " are missing"));
}

TEST_F(VerifyTest, RenamedSegment) {
  const std::string renamed = SegmentFileName(segments_[2].first_seq + 1);
  fs::rename(segments_[2].path, dir() + "/" + renamed);
  ExpectBroken(
      Verify(), renamed, kSegmentMagicSize,
      absl::StrCat("the file name says the segment starts at seq ", segments_[2].first_seq + 1,
                   " but its first record is seq ", segments_[2].first_seq));
}

// Changes one byte of frame `f`'s fields and recomputes its link with `hasher`.
std::string EditAndRelink(const std::string& bytes, const FrameInfo& f, const LinkHasher& hasher) {
  std::string out = bytes;
  const size_t body = f.offset + kFramePrefixSize;
  const size_t body_size = f.end_offset - kLinkSize - body;
  out[body + kRecordHeaderSize + 12] ^= 0x01;
  std::byte link[kLinkSize];
  hasher.Link(AsBytes(out).subspan(body, body_size), link);
  std::memcpy(out.data() + body + body_size, link, kLinkSize);
  return out;
}

TEST_F(VerifyTest, EditedRecordWithRecomputedLinkIsCaughtByTheNextPrev) {
  const std::vector<FrameInfo> frames = Frames(1);
  Write(1, EditAndRelink(Bytes(1), frames[2], LinkHasher("")));
  const VerifyReport report = Verify();
  ExpectBroken(report, segments_[1].name, frames[3].offset,
               absl::StrCat("prev does not match the link of seq ", frames[2].seq));
  EXPECT_EQ(report.error_seq, frames[3].seq);
}

TEST_F(VerifyTest, EditedLastRecordWithRecomputedLinkIsCaughtByHead) {
  const size_t last = segments_.size() - 1;
  const FrameInfo f = Frames(last).back();
  Write(last, EditAndRelink(Bytes(last), f, LinkHasher("")));
  const VerifyReport report = Verify();
  ExpectBroken(report, segments_[last].name, f.offset, "HEAD names seq");
  EXPECT_NE(report.error.find("the log was rewritten"), std::string::npos) << report.error;
}

TEST_F(VerifyTest, HeadNamingAMissingSeq) {
  const VerifyReport good = Verify();
  Spit(dir() + "/HEAD", FormatHead(good.last_seq + 5, std::vector<std::byte>(kLinkSize)));
  const VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.error_file, "HEAD");
  EXPECT_NE(report.error.find(absl::StrCat("HEAD names seq ", good.last_seq + 5)),
            std::string::npos)
      << report.error;
  Spit(dir() + "/HEAD", "garbage");
  EXPECT_NE(Verify().error.find("the HEAD file was damaged"), std::string::npos);
  fs::remove(dir() + "/HEAD");  // HEAD is optional
  EXPECT_TRUE(Verify().ok);
}

TEST_F(VerifyTest, TornFilesAreNotes) {
  Spit(segments_[0].path + ".torn-2", std::string(17, 'x'));
  const VerifyReport report = Verify();
  ASSERT_TRUE(report.ok) << report.error;
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_NE(report.notes[0].find(segments_[0].name + ".torn-2: 17 bytes"), std::string::npos);
}

TEST_F(VerifyTest, MissingOrEmptyDirectory) {
  VerifyReport report = VerifyLog(tmp_.path() + "/nothing", "");
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.error.find("nothing"), std::string::npos);
  fs::create_directory(tmp_.path() + "/empty");
  report = VerifyLog(tmp_.path() + "/empty", "");
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.error.find("no segments"), std::string::npos);
}

TEST_F(VerifyTest, EmptySegmentIsBroken) {
  Spit(dir() + "/" + SegmentFileName(Verify().last_seq + 1), std::string(kSegmentMagic, 8));
  EXPECT_NE(Verify().error.find("the segment holds no records"), std::string::npos);
}

class KeyedVerifyTest : public VerifyTest {
 protected:
  void SetUp() override { MakeLog(std::string(40, 'K')); }
};

TEST_F(KeyedVerifyTest, PassesWithItsKeyOnly) {
  ASSERT_TRUE(Verify(options_.chain_key).ok) << Verify(options_.chain_key).error;
  ExpectBroken(Verify(), segments_[0].name, kSegmentMagicSize, "read without its key");
  ExpectBroken(Verify(std::string(40, 'L')), segments_[0].name, kSegmentMagicSize,
               "with the wrong key");
}

TEST_F(KeyedVerifyTest, EditedRecordRelinkedWithSha256IsCaughtWithTheKey) {
  const std::vector<FrameInfo> frames = Frames(1);
  Write(1, EditAndRelink(Bytes(1), frames[2], LinkHasher("")));
  ExpectBroken(Verify(options_.chain_key), segments_[1].name, frames[2].offset,
               "the link does not match the body");
}

// ---- the scanner on its own --------------------------------------------------------------------

TEST_F(VerifyTest, EveryPrefixScansAsAPrefix) {
  const std::string bytes = Bytes(1);
  const std::vector<FrameInfo> whole = FramesOf(bytes);
  const LinkHasher hasher("");
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    SegmentScanner scanner(AsBytes(bytes).first(cut), 0, &hasher);
    Frame frame;
    size_t n = 0;
    SegmentScanner::Result result;
    while ((result = scanner.Next(&frame)) == SegmentScanner::Result::kFrame) {
      ASSERT_LT(n, whole.size());
      EXPECT_EQ(frame.offset, whole[n].offset);
      EXPECT_EQ(frame.header.seq, whole[n].seq);
      ++n;
    }
    const bool at_boundary = cut == kSegmentMagicSize || (n > 0 && whole[n - 1].end_offset == cut);
    EXPECT_EQ(result,
              at_boundary ? SegmentScanner::Result::kEnd : SegmentScanner::Result::kIncomplete)
        << cut;
    EXPECT_EQ(scanner.Next(&frame), result);  // sticky
    // Resuming from the consumed offset gives the rest.
    SegmentScanner rest(AsBytes(bytes).subspan(scanner.consumed()), scanner.offset(), &hasher);
    while (rest.Next(&frame) == SegmentScanner::Result::kFrame) {
      ASSERT_LT(n, whole.size());
      EXPECT_EQ(frame.offset, whole[n].offset);
      ++n;
    }
    EXPECT_EQ(n, whole.size());
  }
}

TEST_F(VerifyTest, GoodFrameAfterFindsOnlyRealFrames) {
  const std::string bytes = Bytes(1);
  const std::vector<FrameInfo> frames = FramesOf(bytes);
  const LinkHasher hasher("");
  EXPECT_TRUE(GoodFrameAfter(AsBytes(bytes), frames[1].offset, hasher));
  EXPECT_FALSE(GoodFrameAfter(AsBytes(bytes), frames.back().offset, hasher));
  const std::string zeros = bytes.substr(0, frames[1].offset) + std::string(5000, '\0');
  EXPECT_FALSE(GoodFrameAfter(AsBytes(zeros), frames[1].offset, hasher));
}

TEST(SegmentNamesTest, ParseAndFormat) {
  uint64_t seq = 0;
  EXPECT_EQ(SegmentFileName(57), "audit-00000000000000000057.seg");
  EXPECT_TRUE(ParseSegmentFileName("audit-00000000000000000057.seg", &seq));
  EXPECT_EQ(seq, 57u);
  EXPECT_TRUE(ParseSegmentFileName(SegmentFileName(UINT64_MAX), &seq));
  EXPECT_EQ(seq, UINT64_MAX);
  EXPECT_FALSE(ParseSegmentFileName("audit-99999999999999999999.seg", &seq));  // overflow
  EXPECT_FALSE(ParseSegmentFileName("audit-0000000000000000005x.seg", &seq));
  EXPECT_FALSE(ParseSegmentFileName("audit-00000000000000000057.seg.torn-2", &seq));
  EXPECT_FALSE(ParseSegmentFileName("audit-57.seg", &seq));
  Head head;
  const std::vector<std::byte> link(kLinkSize, std::byte{0xAB});
  ASSERT_TRUE(ParseHead(FormatHead(12345, link), &head));
  EXPECT_EQ(head.seq, 12345u);
  std::string abab;
  for (int i = 0; i < 32; ++i) {
    abab += "ab";
  }
  EXPECT_EQ(LinkHex(link), abab);
  EXPECT_EQ(LinkHex(head.link), abab);
  EXPECT_FALSE(ParseHead("12 abc\n", &head));
}

// ---- LogReader on a live log --------------------------------------------------------------------

TEST(LogReaderTest, FollowsALiveLogAcrossRotationAndIncompleteFrames) {
  TempDir tmp("audit_verify_");
  LogOptions options;
  options.dir = tmp.path() + "/log";
  options.segment_size_max = 2048;
  absl::StatusOr<std::unique_ptr<SegmentWriter>> writer = SegmentWriter::Open(options, nullptr);
  ASSERT_TRUE(writer.ok());
  const LinkHasher hasher("");
  LogReader reader(options.dir, &hasher, 1);
  LogRecord record;
  uint64_t next_seq = 1;
  const auto drain = [&] {
    LogReader::Result result;
    while ((result = reader.Next(&record)) == LogReader::Result::kRecord) {
      EXPECT_EQ(record.header.seq, next_seq);
      ++next_seq;
    }
    EXPECT_EQ(result, LogReader::Result::kEnd) << reader.error();
  };
  drain();
  EXPECT_EQ(next_seq, 3u);
  for (int round = 0; round < 5; ++round) {
    AppendStatements(**writer, 7);
    ASSERT_TRUE((*writer)->Flush().ok());
    drain();
    EXPECT_EQ(next_seq, (*writer)->last_seq() + 1);
  }
  ASSERT_GT(Segments(options.dir).size(), 2u);
  // A frame the writer has only half written: the reader waits, then reads it whole.
  AppendStatements(**writer, 1);
  ASSERT_TRUE((*writer)->Close(0).ok());
  const std::string path = Segments(options.dir).back().path;
  const std::string bytes = Slurp(path);
  const std::vector<FrameInfo> frames = FramesOf(bytes);
  Spit(path, bytes.substr(0, frames.back().offset + 30));
  drain();
  EXPECT_EQ(next_seq, frames.back().seq);
  Spit(path, bytes);
  drain();
  EXPECT_EQ(next_seq, frames.back().seq + 1);

  // From a later seq, starting in a later segment.
  LogReader later(options.dir, nullptr, frames.back().seq - 1);
  ASSERT_EQ(later.Next(&record), LogReader::Result::kRecord) << later.error();
  EXPECT_EQ(record.header.seq, frames.back().seq - 1);
  // SkipToEnd leaves nothing.
  LogReader at_end(options.dir, nullptr, 1);
  EXPECT_EQ(at_end.SkipToEnd(), LogReader::Result::kEnd);
  EXPECT_EQ(at_end.Next(&record), LogReader::Result::kEnd);
  EXPECT_EQ(at_end.last_seq(), frames.back().seq);
}

TEST(LogReaderTest, ReportsABrokenChain) {
  TempDir tmp("audit_verify_");
  LogOptions options;
  options.dir = tmp.path() + "/log";
  absl::StatusOr<std::unique_ptr<SegmentWriter>> writer = SegmentWriter::Open(options, nullptr);
  ASSERT_TRUE(writer.ok());
  AppendStatements(**writer, 5);
  ASSERT_TRUE((*writer)->Close(0).ok());
  const std::string path = Segments(options.dir)[0].path;
  const std::vector<FrameInfo> frames = FramesOf(Slurp(path));
  const std::string bytes = Slurp(path);
  Spit(path, WithoutFrame(bytes, frames[3]));
  LogReader reader(options.dir, nullptr, 1);
  LogRecord record;
  int records = 0;
  LogReader::Result result;
  while ((result = reader.Next(&record)) == LogReader::Result::kRecord) {
    ++records;
  }
  EXPECT_EQ(records, 3);
  EXPECT_EQ(result, LogReader::Result::kBroken);
  EXPECT_NE(reader.error().find(absl::StrCat("offset ", frames[3].offset)), std::string::npos)
      << reader.error();
  EXPECT_EQ(reader.Next(&record), LogReader::Result::kBroken);
}

}  // namespace
}  // namespace jitgate::audit
