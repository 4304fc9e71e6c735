// src/audit/segment.h: SegmentWriter, the only code that writes audit segment files and HEAD
// (format: jitgate/audit.h).
//
// Owned and called by one thread, the audit writer (src/audit/writer.cc), which drains the
// shards' queues into Append*, and calls Flush/Sync on its fsync schedule and Close at shutdown.
// Not thread-safe.
//
// Appends build each frame directly in a buffer sized once at Open (kBufferSize, which holds the
// largest frame); nothing reaches the kernel until the buffer is full, Flush() or Sync(). One
// write(2) per flush. Links come from a LinkHasher (reader.h), the same code verify uses.
// Invariant: durable_seq <= flushed_seq <= last_seq, and buffered_ <= kBufferSize.
//
// Failure model: a failed write, fsync or file creation after Open (disk full, EIO) makes the
// writer failed: the error is kept (status()) and returned by every later Flush/Sync/Close, and
// Append* return 0 and append nothing. The caller decides what to do (the gateway fails closed);
// the next Open recovers whatever was half-written.
#ifndef JITGATE_SRC_AUDIT_SEGMENT_H_
#define JITGATE_SRC_AUDIT_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jitgate/audit.h"
#include "src/audit/reader.h"

namespace jitgate::audit {

struct LogOptions {
  std::string dir;                       // created 0700 when missing (its parent must exist)
  uint64_t segment_size_max = 64 << 20;  // a segment is rotated before it would grow past this
  std::string chain_key;        // empty: links are SHA-256; else HMAC-SHA-256 with this key
  std::string version = "dev";  // the gateway's version, recorded in kLogStart
};

// What Open found and did.
struct RecoveryInfo {
  bool fresh = false;       // no segment existed: a new log
  bool clean = false;       // the previous epoch ended with kLogStop
  uint64_t torn_bytes = 0;  // bytes cut from the end of the log (0: none)
  std::string torn_file;    // where they were saved ("<segment>.torn-<epoch>"), when torn_bytes
  uint32_t epoch = 0;       // the epoch this writer writes (1 for a new log)
  uint64_t last_seq = 0;    // the last good record found before this epoch's kLogStart
};

class SegmentWriter {
 public:
  // Frames are built here; large enough for the largest frame (4 MiB body + prefix + link).
  static constexpr size_t kBufferSize = (4u << 20) + 64 * 1024;
  static_assert(kBufferSize >= kFramePrefixSize + kBodySizeMax + kLinkSize);

  // Opens DIR (mkdir 0700 if missing; flock'ed so that one writer at a time uses it), finds its
  // segments, scans the last one fully (frames, links, the chain from its first record) and
  // positions after its last good record. A torn tail (an incomplete frame at the end, or damage
  // after which no good frame starts anywhere) is copied to "<segment>.torn-<epoch>", cut away
  // (a segment left with no record is removed) and reported in *info. Damage with a good frame
  // after it is not repaired: Open fails naming the segment, the offset and the problem. Then
  // appends a kLogStart (epoch = the last record's + 1, or 1; kVersion, kDetail "chain=...; ...")
  // and syncs it. `info` may be null.
  static absl::StatusOr<std::unique_ptr<SegmentWriter>> Open(const LogOptions& options,
                                                             RecoveryInfo* info);
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Appends one record (RecordHeader{type, flags, epoch, seq = last + 1, time_us, shard,
  // session, prev = the last link} + `fields`, the bytes after a queued record's QueuedHeader)
  // to the buffer, rotating first when the segment would grow past segment_size_max (the old
  // segment is flushed and fdatasync'ed, the new one starts with a kSegmentStart, the directory
  // is fsync'ed). Returns the record's seq, or 0 when the writer has failed (status()).
  // Preconditions: kRecordHeaderSize + fields.size() <= kBodySizeMax; `type` is not one the
  // writer makes itself (kLogStart, kSegmentStart, kLogStop).
  uint64_t Append(RecordType type, uint16_t flags, int64_t time_us, uint32_t shard,
                  uint64_t session, std::span<const std::byte> fields);
  // Appends a queued record as a shard pushed it (QueuedHeader + fields).
  // Precondition: queued.size() >= kQueuedHeaderSize.
  uint64_t AppendQueued(std::span<const std::byte> queued, uint32_t shard);

  // Writes everything buffered with write(2) (looping on short writes and EINTR).
  absl::Status Flush();
  // Flush, fdatasync the segment, then rewrite HEAD ("<seq> <link hex>\n", kHeadFileSize bytes,
  // pwrite at offset 0; HEAD itself is fdatasync'ed only on rotation and Close). Afterwards
  // durable_seq() == last_seq().
  absl::Status Sync();
  // Appends a kLogStop (kDropped = dropped_total), syncs, fdatasyncs HEAD and closes the files.
  // Later calls return the first result again.
  absl::Status Close(uint64_t dropped_total);

  uint64_t last_seq() const { return last_seq_; }
  uint64_t durable_seq() const { return durable_seq_; }
  uint32_t epoch() const { return epoch_; }
  // Ok, or the error that made the writer failed.
  const absl::Status& status() const { return status_; }
  // The segment being written (its file name) and its size including the buffered bytes.
  const std::string& segment_name() const { return segment_name_; }
  uint64_t segment_size() const { return segment_size_; }

 private:
  explicit SegmentWriter(const LogOptions& options);

  // Recovery and the first kLogStart (Open's work).
  absl::Status Recover(RecoveryInfo* info);
  absl::Status OpenDirectory();
  absl::Status CutTornTail(const SegmentFile& segment, const std::string& bytes, size_t good_size,
                           uint32_t new_epoch, RecoveryInfo* info);
  // Creates segment number `number` starting at seq last_seq_ + 1 and appends its kSegmentStart.
  absl::Status StartSegment(uint64_t number);
  // Rotates when a frame of `frame_size` bytes would not fit the current segment.
  absl::Status MakeRoom(size_t frame_size);
  // The frame, built in the buffer (the caller made room). Returns the seq.
  uint64_t Put(RecordType type, uint16_t flags, int64_t time_us, uint32_t shard, uint64_t session,
               std::span<const std::byte> fields);
  uint64_t PutWriterRecord(RecordType type, std::span<const std::byte> fields);
  absl::Status WriteHead(bool sync);
  absl::Status Fail(absl::Status status);
  void AssertInvariants() const;

  LogOptions options_;
  LinkHasher hasher_;
  absl::Status status_;
  bool closed_ = false;
  int dir_fd_ = -1;
  int segment_fd_ = -1;
  int head_fd_ = -1;
  std::string segment_name_;
  uint64_t segment_number_ = 0;
  uint64_t segment_size_ = 0;     // on disk + buffered
  uint64_t segment_records_ = 0;  // in the current segment, its kSegmentStart included
  uint32_t epoch_ = 0;
  uint64_t last_seq_ = 0;
  uint64_t flushed_seq_ = 0;
  uint64_t durable_seq_ = 0;
  std::byte last_link_[kLinkSize] = {};
  std::byte durable_link_[kLinkSize] = {};
  std::unique_ptr<std::byte[]> buffer_;
  size_t buffered_ = 0;
};

}  // namespace jitgate::audit

#endif  // JITGATE_SRC_AUDIT_SEGMENT_H_
