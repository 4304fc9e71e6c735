// src/audit/reader.h: reading and verifying audit segments (format: jitgate/audit.h).
//
// Three layers, each usable alone:
//   - LinkHasher: the chain's link function, SHA-256(body) or HMAC-SHA-256(key, body). Shared with
//     the SegmentWriter (segment.h) so the two cannot disagree.
//   - SegmentScanner and ChainChecker: PURE code over bytes (no I/O, no allocation per frame). The
//     scanner walks the frames of one segment's bytes and reports each, or the exact problem; the
//     checker applies the log-wide rules (gapless seq, prev == the link before, segment starts,
//     epochs) record by record. Both must hold on ANY bytes: they are fuzzed
//     (fuzz/audit_reader_fuzz.cc) and never read outside the span they were given.
//   - The file layer: segment names, the HEAD file, VerifyLog (the whole log, first problem only)
//     and LogReader (records in log order over every segment, for replay, export and tail; it reads
//     a live log and stops cleanly at an incomplete last frame, resuming on the next call).
// Callers: SegmentWriter::Open (recovery), the offline tools (cli.cc), tests, the fuzz target.
#ifndef JITGATE_SRC_AUDIT_READER_H_
#define JITGATE_SRC_AUDIT_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "jitgate/audit.h"

namespace jitgate::audit {

// Abseil 20220623 as Debian builds it has its own string_view, which StrCat wants.
inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }

// ---- links --------------------------------------------------------------------------------------

// Computes links. An empty key means SHA-256(body); otherwise HMAC-SHA-256(key, body) (RFC 2104),
// with the inner and outer hash states after the padded key computed once at construction and
// copied per record. Thread-compatible (Link is const and touches no shared state).
class LinkHasher {
 public:
  explicit LinkHasher(std::string_view key);
  ~LinkHasher();
  LinkHasher(const LinkHasher&) = delete;
  LinkHasher& operator=(const LinkHasher&) = delete;

  // Writes the link of `body` into `out` (kLinkSize bytes).
  void Link(std::span<const std::byte> body, std::byte* out) const;
  bool keyed() const { return keyed_; }
  // "sha256" or "hmac-sha256", as the kLogStart detail names the chain.
  const char* name() const { return keyed_ ? "hmac-sha256" : "sha256"; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool keyed_;
};

// Lower-case hex of a link (64 characters).
std::string LinkHex(std::span<const std::byte> link);

// ---- one segment's frames (pure) ----------------------------------------------------------------

// What is wrong with a frame (or the segment's start). kIncomplete is not damage in a live log:
// the writer may not have finished the frame yet.
enum class FrameProblem : uint8_t {
  kNone,
  kBadMagic,         // the segment does not start with kSegmentMagic
  kIncomplete,       // the frame (or the magic) runs past the end of the bytes
  kBodyTooSmall,     // body_size < kRecordHeaderSize
  kBodyTooLarge,     // body_size > kBodySizeMax
  kLinkMismatch,     // the stored link is not the link of the body
  kBadVersion,       // header version != kFormatVersion
  kUnknownType,      // not a RecordType this version defines
  kReservedNotZero,  // header bytes 28..31 are not zero
  kMalformedFields,  // a field runs past the body, or an integer field is not 8 bytes
};

// A sentence for messages ("the link does not match the body (...)").
const char* FrameProblemText(FrameProblem problem);

// One good frame, viewed in the scanned bytes (valid as long as they are).
struct Frame {
  uint64_t offset = 0;      // file offset of the frame's u32 body_size
  uint64_t end_offset = 0;  // file offset just after its link
  RecordHeader header;
  std::span<const std::byte> body;    // header + fields
  std::span<const std::byte> fields;  // after the header
  std::span<const std::byte> link;    // the stored link (kLinkSize bytes)
};

// Walks the frames of one segment's bytes, in order.
// Invariant: consumed() <= bytes.size(); every frame returned lies inside [0, consumed()).
// A problem is sticky: once Next() returned kIncomplete or kBroken it returns the same again.
class SegmentScanner {
 public:
  enum class Result : uint8_t {
    kFrame,       // *out is the next frame
    kEnd,         // the bytes end exactly after the last frame
    kIncomplete,  // the next frame (or the magic) is cut by the end of the bytes
    kBroken,      // the next frame is bad: problem() says how, problem_offset() where
  };

  // `bytes` are a segment file's bytes from file offset `base_offset`; at 0 they must start with
  // the magic, else with a frame. `hasher` null: links are not recomputed (structure only).
  SegmentScanner(std::span<const std::byte> bytes, uint64_t base_offset, const LinkHasher* hasher);

  Result Next(Frame* out);

  FrameProblem problem() const { return problem_; }
  // File offset of the frame (or magic) at fault; meaningful after kIncomplete or kBroken.
  uint64_t problem_offset() const { return base_offset_ + consumed_; }
  // File offset where the next frame starts (after the last good one).
  uint64_t offset() const { return base_offset_ + consumed_; }
  // Bytes of the span consumed by good frames (and the magic).
  size_t consumed() const { return consumed_; }

 private:
  Result Fail(FrameProblem problem);

  std::span<const std::byte> bytes_;
  uint64_t base_offset_;
  const LinkHasher* hasher_;
  size_t consumed_ = 0;
  FrameProblem problem_ = FrameProblem::kNone;
};

// True when a good frame (complete, in-range size, version 1, known type, zero reserved bytes,
// matching link under `hasher`) starts at any offset in (from, bytes.size()). Recovery uses it to
// tell a torn tail (nothing good after the damage) from damage in the middle.
bool GoodFrameAfter(std::span<const std::byte> bytes, size_t from, const LinkHasher& hasher);

// The log-wide rules, applied record by record over the segments in order (pure):
//   - a segment's first record is a kSegmentStart whose seq is the one its file name gives, with
//     kSegment = the previous segment's number + 1 (1 for the first) and kPrevSeq = the last seq of
//     the segment before (0 for the first); no kSegmentStart elsewhere;
//   - seq = previous seq + 1, and prev = the previous record's link (zeros before seq 1);
//   - epochs never decrease and change only at a kLogStart, by one; an epoch has one kLogStart
//     (a new log's first epoch begins with its kSegmentStart, then its kLogStart).
// `strict` (verify): the log must begin with seq 1 in segment 1. Not strict (a reader that starts
// at a later segment): the first record seen begins the chain.
class ChainChecker {
 public:
  explicit ChainChecker(bool strict) : strict_(strict) {}

  // A new segment file begins; `name_seq` is the first seq its name gives, `name` its file name
  // (for messages).
  void BeginSegment(uint64_t name_seq, std::string_view name);
  // Checks `frame` against the records before it; false with *problem set (a sentence without
  // location) when a rule is broken. The checker then stays where it was.
  bool Add(const Frame& frame, std::string* problem);

  uint64_t records() const { return records_; }
  uint64_t first_seq() const { return first_seq_; }
  uint64_t last_seq() const { return last_seq_; }
  uint32_t last_epoch() const { return last_epoch_; }
  uint32_t epochs() const { return epochs_; }
  RecordType last_type() const { return last_type_; }
  // Records of the current segment so far.
  uint64_t segment_records() const { return segment_records_; }
  // The kSegment number of the current segment (0 before its kSegmentStart was accepted).
  uint64_t segment_number() const { return segment_records_ == 0 ? 0 : segment_number_; }
  std::span<const std::byte, kLinkSize> last_link() const { return last_link_; }

 private:
  bool CheckSegmentStart(const Frame& frame, std::string* problem);

  bool strict_;
  bool have_prev_ = false;
  uint64_t records_ = 0;
  uint64_t first_seq_ = 0;
  uint64_t last_seq_ = 0;
  uint32_t last_epoch_ = 0;
  uint32_t epochs_ = 0;
  RecordType last_type_{};
  bool epoch_started_ = false;  // the last epoch's kLogStart was seen
  std::byte last_link_[kLinkSize] = {};
  uint64_t name_seq_ = 0;
  std::string_view name_;
  uint64_t segment_number_ = 0;  // of the last segment whose start was accepted
  uint64_t segment_records_ = 0;
};

// ---- files --------------------------------------------------------------------------------------

// "audit-<first seq, 20 digits>.seg".
std::string SegmentFileName(uint64_t first_seq);
// True when `name` is exactly a segment file name; sets *first_seq.
bool ParseSegmentFileName(std::string_view name, uint64_t* first_seq);

struct SegmentFile {
  std::string name;  // "audit-00000000000000000001.seg"
  std::string path;  // dir + "/" + name
  uint64_t first_seq = 0;
};
// The segments of `dir` in log order, and (when torn_files is not null) the names of the
// "<segment>.torn-<epoch>" files recovery left. A missing directory is NotFound.
absl::StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir,
                                                      std::vector<std::string>* torn_files);

// The HEAD file: "<seq> <link hex>\n" padded with spaces to kHeadFileSize.
struct Head {
  uint64_t seq = 0;
  std::byte link[kLinkSize] = {};
};
std::string FormatHead(uint64_t seq, std::span<const std::byte> link);
bool ParseHead(std::string_view text, Head* head);

// Reads a whole file (segments, HEAD, key files).
absl::StatusOr<std::string> ReadFile(const std::string& path);
// A chain key file: its bytes, without one trailing "\n" or "\r\n" (as the gateway reads
// audit.chain_key_file); an empty key is an error.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path);

// ---- verify -------------------------------------------------------------------------------------

struct VerifyReport {
  bool ok = false;
  uint64_t records = 0;
  uint64_t segments = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint32_t epochs = 0;
  bool last_epoch_closed = false;  // the log's last record is a kLogStop
  // The first problem, with its location: "audit-...seg offset 1234 seq 57: the link does not
  // match the body (...)". Empty when ok.
  std::string error;
  std::string error_file;     // the segment (or "HEAD") at fault; empty when ok
  uint64_t error_offset = 0;  // file offset of the frame at fault
  uint64_t error_seq = 0;     // seq of the record at fault, 0 when it has none
  // Not errors: torn tails recovery cut away ("audit-...seg.torn-3: ... bytes").
  std::vector<std::string> notes;
};

// Verifies the whole log in `dir` with chain key `key` (empty: SHA-256 links): every segment's
// frames and links, the ChainChecker rules, segment names, and HEAD (when present: its seq must
// exist in the log with that exact link). Stops at the first problem. Never throws; I/O errors
// are problems too.
VerifyReport VerifyLog(const std::string& dir, std::string_view key);

// ---- records in order --------------------------------------------------------------------------

// One record as LogReader returns it; the views are valid until the next call on the reader.
struct LogRecord {
  RecordHeader header;
  std::span<const std::byte> fields;
  std::span<const std::byte> link;
  std::string_view segment;  // file name
  uint64_t offset = 0;       // of the frame in its segment
};

// Reads the records of a log in order, over every segment, checking the chain as it goes
// (ChainChecker, not strict when it starts past the first segment). With a hasher, links are
// recomputed; without one only prev == the previous record's stored link is checked (a keyed log
// can be read without its key). Works on a live log: Next() returns kEnd at the current end (an
// incomplete last frame included) and picks up new bytes and new segments on the next call.
class LogReader {
 public:
  enum class Result : uint8_t { kRecord, kEnd, kBroken };

  // Starts at the first record with seq >= from_seq (1: the whole log). `hasher` may be null and
  // must outlive the reader.
  LogReader(std::string dir, const LinkHasher* hasher, uint64_t from_seq);
  ~LogReader();
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  Result Next(LogRecord* out);
  // Skips every record there is now (tail starting at the end); returns kEnd or kBroken.
  Result SkipToEnd();
  // After kBroken: "<file> offset N: <what>".
  const std::string& error() const { return error_; }
  uint64_t last_seq() const { return checker_.last_seq(); }

 private:
  bool Refill();  // reads what was appended to the current segment; false on I/O error
  bool OpenSegment(size_t index);
  Result Broken(std::string message);

  std::string dir_;
  const LinkHasher* hasher_;
  uint64_t from_seq_;
  ChainChecker checker_;
  std::vector<SegmentFile> segments_;
  size_t segment_index_ = 0;
  bool segment_open_ = false;
  int fd_ = -1;
  std::string buffer_;  // bytes of the current segment from file offset buffer_offset_
  uint64_t buffer_offset_ = 0;
  size_t consumed_ = 0;  // of buffer_
  std::string error_;
  bool broken_ = false;
};

}  // namespace jitgate::audit

#endif  // JITGATE_SRC_AUDIT_READER_H_
