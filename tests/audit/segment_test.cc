// tests/audit/segment_test.cc: SegmentWriter (src/audit/segment.h) on a temporary directory:
// a new log, reopening (epochs, the chain continues), rotation, torn-tail recovery, damage that
// Open refuses, keyed chains, the directory lock, HEAD.
#include "src/audit/segment.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

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

namespace jitgate::audit {
namespace {

using testing::Slurp;
using testing::Spit;
using testing::TempDir;

namespace fs = std::filesystem;

// A statement record as a shard queues it.
class Records {
 public:
  std::span<const std::byte> Statement(uint64_t session, uint64_t n, std::string_view text) {
    builder_.Begin(RecordType::kStatement, 0, WallTimeUs(), session);
    builder_.Integer(Field::kStatementSeq, n);
    builder_.Text(Field::kKind, "query");
    builder_.Text(Field::kText, text);
    builder_.Text(Field::kDecision, "allow");
    return builder_.Finish();
  }

 private:
  RecordBuilder builder_{8192};
};

struct FrameInfo {
  uint64_t offset;
  uint64_t end_offset;
  RecordHeader header;
  std::string fields;
};

// The frames of a segment file (structure only).
std::vector<FrameInfo> FramesOf(const std::string& bytes) {
  std::vector<FrameInfo> frames;
  SegmentScanner scanner(std::as_bytes(std::span(bytes.data(), bytes.size())), 0, nullptr);
  Frame frame;
  while (scanner.Next(&frame) == SegmentScanner::Result::kFrame) {
    frames.push_back(
        {frame.offset, frame.end_offset, frame.header,
         std::string(reinterpret_cast<const char*>(frame.fields.data()), frame.fields.size())});
  }
  return frames;
}

std::string FieldText(const std::string& fields, Field tag) {
  FieldReader reader(std::as_bytes(std::span(fields.data(), fields.size())));
  FieldView field;
  while (reader.Next(&field)) {
    if (field.tag == tag) {
      return std::string(field.text());
    }
  }
  return "";
}

uint64_t FieldNumber(const std::string& fields, Field tag) {
  FieldReader reader(std::as_bytes(std::span(fields.data(), fields.size())));
  FieldView field;
  uint64_t value = 0;
  while (reader.Next(&field)) {
    if (field.tag == tag && field.integer(&value)) {
      return value;
    }
  }
  return ~uint64_t{0};
}

std::vector<SegmentFile> Segments(const std::string& dir) {
  absl::StatusOr<std::vector<SegmentFile>> segments = ListSegments(dir, nullptr);
  JG_CHECK(segments.ok());
  return *segments;
}

std::unique_ptr<SegmentWriter> OpenOrDie(const LogOptions& options, RecoveryInfo* info) {
  absl::StatusOr<std::unique_ptr<SegmentWriter>> writer = SegmentWriter::Open(options, info);
  EXPECT_TRUE(writer.ok()) << writer.status();
  return writer.ok() ? std::move(*writer) : nullptr;
}

void AppendStatements(SegmentWriter& writer, uint64_t count, size_t text_size = 100) {
  Records records;
  const std::string text(text_size, 'x');
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t before = writer.last_seq();
    const uint64_t seq = writer.AppendQueued(records.Statement(7, i + 1, text), 0);
    EXPECT_EQ(seq, writer.last_seq());
    EXPECT_GE(seq, before + 1);  // + 2 when a kSegmentStart went first
    EXPECT_LE(seq, before + 2);
  }
}

TEST(SegmentWriterTest, NewLogWritesStartRecordsAndVerifies) {
  TempDir tmp("audit_segment_");
  LogOptions options{tmp.log()};
  options.version = "1.2.3";
  RecoveryInfo info;
  auto writer = OpenOrDie(options, &info);
  ASSERT_NE(writer, nullptr);
  EXPECT_TRUE(info.fresh);
  EXPECT_EQ(info.epoch, 1u);
  EXPECT_EQ(info.last_seq, 0u);
  EXPECT_EQ(writer->last_seq(), 2u);     // kSegmentStart, kLogStart
  EXPECT_EQ(writer->durable_seq(), 2u);  // Open syncs its kLogStart
  EXPECT_EQ(fs::status(tmp.log()).permissions() & fs::perms::all, fs::perms::owner_all);
  AppendStatements(*writer, 50);
  EXPECT_EQ(writer->durable_seq(), 2u);
  ASSERT_TRUE(writer->Sync().ok());
  EXPECT_EQ(writer->durable_seq(), 52u);
  ASSERT_TRUE(writer->Close(3).ok());
  EXPECT_EQ(writer->last_seq(), 53u);

  const VerifyReport report = VerifyLog(tmp.log(), "");
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, 53u);
  EXPECT_EQ(report.segments, 1u);
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.last_seq, 53u);
  EXPECT_EQ(report.epochs, 1u);
  EXPECT_TRUE(report.last_epoch_closed);

  const std::vector<SegmentFile> segments = Segments(tmp.log());
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(segments[0].name, "audit-00000000000000000001.seg");
  const std::vector<FrameInfo> frames = FramesOf(Slurp(segments[0].path));
  ASSERT_EQ(frames.size(), 53u);
  EXPECT_EQ(frames[0].header.type, RecordType::kSegmentStart);
  EXPECT_EQ(FieldNumber(frames[0].fields, Field::kSegment), 1u);
  EXPECT_EQ(FieldNumber(frames[0].fields, Field::kPrevSeq), 0u);
  EXPECT_EQ(frames[1].header.type, RecordType::kLogStart);
  EXPECT_EQ(FieldText(frames[1].fields, Field::kVersion), "1.2.3");
  EXPECT_EQ(FieldText(frames[1].fields, Field::kDetail), "chain=sha256; new log");
  EXPECT_EQ(frames[2].header.shard, 0u);
  EXPECT_EQ(frames[2].header.session, 7u);
  EXPECT_EQ(frames[52].header.type, RecordType::kLogStop);
  EXPECT_EQ(FieldNumber(frames[52].fields, Field::kDropped), 3u);

  const std::string head_text = Slurp(tmp.log() + "/HEAD");
  EXPECT_EQ(head_text.size(), kHeadFileSize);
  Head head;
  ASSERT_TRUE(ParseHead(head_text, &head));
  EXPECT_EQ(head.seq, 53u);
}

TEST(SegmentWriterTest, ReopenStartsANewEpochAndTheChainContinues) {
  TempDir tmp("audit_segment_");
  const LogOptions options{tmp.log()};
  {
    auto writer = OpenOrDie(options, nullptr);
    AppendStatements(*writer, 10);
    ASSERT_TRUE(writer->Close(0).ok());
  }
  RecoveryInfo info;
  {
    auto writer = OpenOrDie(options, &info);
    EXPECT_FALSE(info.fresh);
    EXPECT_TRUE(info.clean);
    EXPECT_EQ(info.epoch, 2u);
    EXPECT_EQ(info.last_seq, 13u);
    EXPECT_EQ(info.torn_bytes, 0u);
    EXPECT_EQ(writer->epoch(), 2u);
    EXPECT_EQ(writer->last_seq(), 14u);
    AppendStatements(*writer, 5);
    // No Close: the destructor flushes, as a crash after a flush would leave it.
  }
  {
    auto writer = OpenOrDie(options, &info);
    EXPECT_FALSE(info.clean);
    EXPECT_EQ(info.epoch, 3u);
    EXPECT_EQ(info.last_seq, 19u);
    ASSERT_TRUE(writer->Close(0).ok());
  }
  const VerifyReport report = VerifyLog(tmp.log(), "");
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, 21u);
  EXPECT_EQ(report.epochs, 3u);
  EXPECT_TRUE(report.last_epoch_closed);
  const std::vector<FrameInfo> frames = FramesOf(Slurp(Segments(tmp.log())[0].path));
  ASSERT_EQ(frames.size(), 21u);
  EXPECT_EQ(frames[13].header.type, RecordType::kLogStart);
  EXPECT_EQ(frames[13].header.epoch, 2u);
  EXPECT_EQ(FieldText(frames[13].fields, Field::kDetail), "chain=sha256; previous epoch closed");
  EXPECT_EQ(frames[19].header.epoch, 3u);
  EXPECT_EQ(FieldText(frames[19].fields, Field::kDetail),
            "chain=sha256; previous epoch ended without log_stop (crash?)");
}

TEST(SegmentWriterTest, RotationChainsSegments) {
  TempDir tmp("audit_segment_");
  LogOptions options{tmp.log()};
  options.segment_size_max = 4096;
  {
    auto writer = OpenOrDie(options, nullptr);
    AppendStatements(*writer, 100, 150);
    ASSERT_TRUE(writer->Close(0).ok());
  }
  {
    // Reopen into a full segment: the kLogStart goes to a new one, still in the new epoch only
    // from the kLogStart on.
    auto writer = OpenOrDie(options, nullptr);
    AppendStatements(*writer, 3, 150);
    ASSERT_TRUE(writer->Close(0).ok());
  }
  const VerifyReport report = VerifyLog(tmp.log(), "");
  ASSERT_TRUE(report.ok) << report.error;
  const std::vector<SegmentFile> segments = Segments(tmp.log());
  ASSERT_GT(segments.size(), 5u);
  EXPECT_EQ(report.segments, segments.size());
  uint64_t prev_last = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string bytes = Slurp(segments[i].path);
    EXPECT_LE(bytes.size(), 4096u + 400) << segments[i].name;
    const std::vector<FrameInfo> frames = FramesOf(bytes);
    ASSERT_GE(frames.size(), 2u);
    EXPECT_EQ(frames[0].header.type, RecordType::kSegmentStart);
    EXPECT_EQ(frames[0].header.seq, segments[i].first_seq);
    EXPECT_EQ(frames[0].header.seq, prev_last + 1);
    EXPECT_EQ(FieldNumber(frames[0].fields, Field::kSegment), i + 1);
    EXPECT_EQ(FieldNumber(frames[0].fields, Field::kPrevSeq), prev_last);
    prev_last = frames.back().header.seq;
  }
  EXPECT_EQ(prev_last, report.last_seq);
}

// Writes a closed log of one segment and returns its path.
std::string WriteSimpleLog(const LogOptions& options, uint64_t statements) {
  auto writer = OpenOrDie(options, nullptr);
  AppendStatements(*writer, statements);
  JG_CHECK(writer->Close(0).ok());
  return Segments(options.dir).back().path;
}

TEST(SegmentWriterTest, TornTailMidFrameIsCutAndKept) {
  TempDir tmp("audit_segment_");
  const LogOptions options{tmp.log()};
  const std::string path = WriteSimpleLog(options, 10);
  std::string bytes = Slurp(path);
  const std::vector<FrameInfo> frames = FramesOf(bytes);
  // Cut the kLogStop frame in its middle, and rewind HEAD as an un-synced crash would leave it.
  const FrameInfo& last = frames.back();
  bytes.resize(last.offset + 20);
  Spit(path, bytes);
  Spit(tmp.log() + "/HEAD", FormatHead(0, std::vector<std::byte>(kLinkSize)));
  RecoveryInfo info;
  auto writer = OpenOrDie(options, &info);
  ASSERT_NE(writer, nullptr);
  EXPECT_FALSE(info.clean);
  EXPECT_EQ(info.torn_bytes, 20u);
  EXPECT_EQ(info.last_seq, last.header.seq - 1);
  EXPECT_EQ(info.torn_file, path + ".torn-2");
  EXPECT_EQ(Slurp(info.torn_file), bytes.substr(last.offset));
  EXPECT_EQ(writer->last_seq(), last.header.seq);  // the new kLogStart took the cut seq
  AppendStatements(*writer, 2);
  ASSERT_TRUE(writer->Close(0).ok());
  const VerifyReport report = VerifyLog(tmp.log(), "");
  ASSERT_TRUE(report.ok) << report.error;
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_NE(report.notes[0].find("torn-2: 20 bytes"), std::string::npos) << report.notes[0];
  const std::vector<FrameInfo> after = FramesOf(Slurp(path));
  EXPECT_EQ(FieldText(after[last.header.seq - 1].fields, Field::kDetail),
            absl::StrCat("chain=sha256; previous epoch ended without log_stop (crash?); "
                         "recovered: 20 torn bytes cut after seq ",
                         last.header.seq - 1));
}

TEST(SegmentWriterTest, TornTailOfZerosAndGarbageIsCut) {
  TempDir tmp("audit_segment_");
  const LogOptions options{tmp.log()};
  const std::string path = WriteSimpleLog(options, 10);
  std::string bytes = Slurp(path);
  const size_t good = bytes.size();
  // A half-written frame (its body_size, some header bytes), then preallocated zeros.
  const std::string partial = bytes.substr(FramesOf(bytes)[3].offset, 30);
  Spit(path, bytes + partial + std::string(4096, '\0'));
  RecoveryInfo info;
  auto writer = OpenOrDie(options, &info);
  ASSERT_NE(writer, nullptr);
  EXPECT_TRUE(info.clean);
  EXPECT_EQ(info.torn_bytes, 30u + 4096u);
  ASSERT_TRUE(writer->Close(0).ok());
  EXPECT_GT(Slurp(path).size(), good);
  const VerifyReport report = VerifyLog(tmp.log(), "");
  EXPECT_TRUE(report.ok) << report.error;
}

TEST(SegmentWriterTest, BadFrameFollowedOnlyByZerosIsTorn) {
  TempDir tmp("audit_segment_");
  const LogOptions options{tmp.log()};
  const std::string path = WriteSimpleLog(options, 10);
  std::string bytes = Slurp(path);
  const FrameInfo last = FramesOf(bytes).back();
  // The last frame's body partly never reached the disk (a page of zeros): its link fails.
  std::fill(bytes.begin() + static_cast<long>(last.offset) + 40, bytes.end() - 10, '\0');
  Spit(path, bytes + std::string(100, '\0'));
  Spit(tmp.log() + "/HEAD", FormatHead(0, std::vector<std::byte>(kLinkSize)));
  RecoveryInfo info;
  auto writer = OpenOrDie(options, &info);
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(info.torn_bytes, last.end_offset - last.offset + 100);
  ASSERT_TRUE(writer->Close(0).ok());
  EXPECT_TRUE(VerifyLog(tmp.log(), "").ok);
}

TEST(SegmentWriterTest, DamageInTheMiddleRefusesOpen) {
  TempDir tmp("audit_segment_");
  const LogOptions options{tmp.log()};
  const std::string path = WriteSimpleLog(options, 10);
  std::string bytes = Slurp(path);
  const FrameInfo target = FramesOf(bytes)[5];
  bytes[target.offset + 4 + kRecordHeaderSize + 3] ^= 0x01;
  Spit(path, bytes);
  absl::StatusOr<std::unique_ptr<SegmentWriter>> writer = SegmentWriter::Open(options, nullptr);
  ASSERT_FALSE(writer.ok());
  const std::string message(writer.status().message());
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find(absl::StrCat("offset ", target.offset, " seq 6")), std::string::npos)
      << message;
  EXPECT_NE(message.find("link does not match"), std::string::npos) << message;
  EXPECT_NE(message.find("jitgate audit verify"), std::string::npos) << message;
  EXPECT_EQ(Slurp(path), bytes);  // nothing was repaired
}

TEST(SegmentWriterTest, WholeLastSegmentTornIsRemoved) {
  TempDir tmp("audit_segment_");
  LogOptions options{tmp.log()};
  options.segment_size_max = 2048;
  {
    auto writer = OpenOrDie(options, nullptr);
    AppendStatements(*writer, 40);
    ASSERT_TRUE(writer->Sync().ok());
  }  // no Close
  std::vector<SegmentFile> segments = Segments(tmp.log());
  ASSERT_GE(segments.size(), 3u);
  // The last segment only got half its magic; HEAD was older.
  Spit(segments.back().path, "JGAU");
  Spit(tmp.log() + "/HEAD", FormatHead(0, std::vector<std::byte>(kLinkSize)));
  RecoveryInfo info;
  auto writer = OpenOrDie(options, &info);
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(info.torn_bytes, 4u);
  EXPECT_EQ(info.last_seq, segments.back().first_seq - 1);
  ASSERT_TRUE(writer->Close(0).ok());
  const VerifyReport report = VerifyLog(tmp.log(), "");
  EXPECT_TRUE(report.ok) << report.error;
}

TEST(SegmentWriterTest, HeadBeyondTheLogRefusesOpen) {
  TempDir tmp("audit_segment_");
  const LogOptions options{tmp.log()};
  const std::string path = WriteSimpleLog(options, 10);
  std::string bytes = Slurp(path);
  const std::vector<FrameInfo> frames = FramesOf(bytes);
  bytes.resize(frames[8].end_offset);  // cut at a frame boundary: no torn tail to see
  Spit(path, bytes);
  absl::StatusOr<std::unique_ptr<SegmentWriter>> writer = SegmentWriter::Open(options, nullptr);
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("the log was cut"), absl::string_view::npos)
      << writer.status();
}

TEST(SegmentWriterTest, KeyedChain) {
  TempDir tmp("audit_segment_");
  LogOptions options{tmp.log()};
  options.chain_key = std::string(32, 'k');
  {
    auto writer = OpenOrDie(options, nullptr);
    AppendStatements(*writer, 5);
    ASSERT_TRUE(writer->Close(0).ok());
  }
  {
    auto writer = OpenOrDie(options, nullptr);  // recovery checks links with the key
    ASSERT_NE(writer, nullptr);
    ASSERT_TRUE(writer->Close(0).ok());
  }
  const VerifyReport report = VerifyLog(tmp.log(), options.chain_key);
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.epochs, 2u);
  const std::vector<FrameInfo> frames = FramesOf(Slurp(Segments(tmp.log())[0].path));
  EXPECT_EQ(FieldText(frames[1].fields, Field::kDetail), "chain=hmac-sha256; new log");
  // The same directory opened without the key is damage at the first record, not a torn tail.
  LogOptions unkeyed{tmp.log()};
  EXPECT_FALSE(SegmentWriter::Open(unkeyed, nullptr).ok());
}

TEST(SegmentWriterTest, OneWriterPerDirectory) {
  TempDir tmp("audit_segment_");
  const LogOptions options{tmp.log()};
  auto first = OpenOrDie(options, nullptr);
  absl::StatusOr<std::unique_ptr<SegmentWriter>> second = SegmentWriter::Open(options, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(first->Close(0).ok());
  first.reset();
  EXPECT_TRUE(SegmentWriter::Open(options, nullptr).ok());
}

TEST(SegmentWriterTest, BigRecordsAndBufferFlushes) {
  TempDir tmp("audit_segment_");
  LogOptions options{tmp.log()};
  options.segment_size_max = 1 << 20;
  auto writer = OpenOrDie(options, nullptr);
  std::vector<std::byte> fields(kBodySizeMax - kRecordHeaderSize, std::byte{'a'});
  fields[0] = static_cast<std::byte>(Field::kText);
  StoreU32(fields.data() + 1, static_cast<uint32_t>(fields.size() - kFieldHeaderSize));
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(writer->Append(RecordType::kStatement, 0, 1, 0, 1, fields), 0u);
  }
  AppendStatements(*writer, 3);
  ASSERT_TRUE(writer->Close(0).ok());
  const VerifyReport report = VerifyLog(tmp.log(), "");
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.records, 2u + 3u * 2 + 1u + 3u + 1u);  // each big record gets its own segment
}

TEST(SegmentWriterTest, WriteErrorsFailTheWriter) {
  TempDir tmp("audit_segment_");
  const LogOptions options{tmp.log()};
  auto writer = OpenOrDie(options, nullptr);
  ASSERT_NE(writer, nullptr);
  // Replace the segment's descriptor under the writer with a read-only one: write(2) fails.
  const std::string path = Segments(tmp.log())[0].path;
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int victim = -1;
  for (int candidate = 3; candidate < 64; ++candidate) {
    char link[256];
    const std::string proc = absl::StrCat("/proc/self/fd/", candidate);
    const ssize_t n = readlink(proc.c_str(), link, sizeof(link) - 1);
    if (n > 0 && candidate != fd &&
        fs::path(std::string(link, static_cast<size_t>(n))) == fs::canonical(path) &&
        (fcntl(candidate, F_GETFL) & O_ACCMODE) == O_WRONLY) {
      victim = candidate;
    }
  }
  ASSERT_GE(victim, 0);
  ASSERT_EQ(dup2(fd, victim), victim);
  close(fd);
  AppendStatements(*writer, 1);
  const absl::Status status = writer->Flush();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(path), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("cannot write"), absl::string_view::npos) << status;
  EXPECT_EQ(writer->Sync(), status);
  Records records;
  EXPECT_EQ(writer->AppendQueued(records.Statement(1, 1, "x"), 0), 0u);
  EXPECT_EQ(writer->Close(0), status);
}

}  // namespace
}  // namespace jitgate::audit
