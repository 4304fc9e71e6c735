// src/audit/record.h: builds queued records (jitgate/audit.h) in memory owned by the producer.
//
// A shard keeps one RecordBuilder for all of its sessions: Begin() starts a record in the
// builder's buffer (sized once, at construction), the field calls append, Finish() returns the
// queued record to push. Nothing allocates after construction: a field that would not fit is cut
// and the record marked kFlagTruncated, so a record never exceeds capacity_bytes.
// Invariant: kQueuedHeaderSize <= size_ <= capacity, once Begin() was called.
#ifndef JITGATE_SRC_AUDIT_RECORD_H_
#define JITGATE_SRC_AUDIT_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "jitgate/audit.h"

namespace jitgate::audit {

class RecordBuilder {
 public:
  // `capacity_bytes` bounds one queued record (header and fields), at least 4 KiB and at most
  // kBodySizeMax - kRecordHeaderSize + kQueuedHeaderSize.
  explicit RecordBuilder(size_t capacity_bytes);
  RecordBuilder(const RecordBuilder&) = delete;
  RecordBuilder& operator=(const RecordBuilder&) = delete;

  void Begin(RecordType type, uint16_t flags, int64_t time_us, uint64_t session);
  void AddFlags(uint16_t flags) { flags_ |= flags; }

  // A text (or bytes) field, cut to what fits. Returns false when it was cut.
  bool Text(Field field, std::string_view value);
  bool Bytes(Field field, std::span<const std::byte> value);
  // A text cut to at most `limit` bytes (never inside a UTF-8 sequence); when cut, the record is
  // marked kFlagTruncated and a kTextSize field gives the size before the cut.
  void TextLimited(Field field, std::string_view value, size_t limit);
  void Integer(Field field, uint64_t value);
  // An empty-valued marker field (kParamNull, kParamHidden).
  void Marker(Field field) { Text(field, {}); }

  // The record so far (header written with the final flags).
  std::span<const std::byte> Finish();

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  // Bytes still free for field values (after one field header).
  size_t room() const {
    return capacity_ - size_ > kFieldHeaderSize ? capacity_ - size_ - kFieldHeaderSize : 0;
  }

 private:
  std::unique_ptr<std::byte[]> buffer_;
  size_t capacity_;
  size_t size_ = 0;
  QueuedHeader header_{};
  uint16_t flags_ = 0;
};

// The wall clock in Unix epoch microseconds (CLOCK_REALTIME; vDSO, no system call).
int64_t WallTimeUs();

// The largest byte count <= limit that does not end inside a UTF-8 sequence of `text`.
size_t Utf8Cut(std::string_view text, size_t limit);

}  // namespace jitgate::audit

#endif  // JITGATE_SRC_AUDIT_RECORD_H_
