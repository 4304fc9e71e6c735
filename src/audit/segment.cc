// src/audit/segment.cc: SegmentWriter (segment.h): recovery at Open, framing and chaining in
// the buffer, rotation, flush, sync and HEAD.
#include "src/audit/segment.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"
#include "src/audit/record.h"

namespace jitgate::audit {
namespace {

constexpr size_t kFrameOverhead = kFramePrefixSize + kRecordHeaderSize + kLinkSize;
// The kVersion text is the gateway's version string; the bound keeps a writer record small.
constexpr size_t kVersionSizeMax = 200;

// Fields of the records the writer makes itself (control path: allocation is fine).
class FieldList {
 public:
  void Integer(Field tag, uint64_t value) {
    std::byte v[8];
    StoreU64(v, value);
    Put(tag, v);
  }
  void Text(Field tag, std::string_view value) {
    Put(tag, std::as_bytes(std::span(value.data(), value.size())));
  }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  void Put(Field tag, std::span<const std::byte> value) {
    std::byte head[kFieldHeaderSize];
    head[0] = static_cast<std::byte>(tag);
    StoreU32(head + 1, static_cast<uint32_t>(value.size()));
    bytes_.insert(bytes_.end(), head, head + kFieldHeaderSize);
    bytes_.insert(bytes_.end(), value.begin(), value.end());
  }
  std::vector<std::byte> bytes_;
};

absl::Status ErrnoError(int error, std::string_view what, std::string_view path) {
  return absl::ErrnoToStatus(error, absl::StrCat("audit: ", ToAbsl(what), " ", ToAbsl(path)));
}

// write(2) of all of `data`, looping on short writes and EINTR.
bool WriteAll(int fd, const std::byte* data, size_t size, int* error) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      *error = n < 0 ? errno : ENOSPC;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool PwriteAll(int fd, const char* data, size_t size, off_t offset, int* error) {
  while (size > 0) {
    const ssize_t n = pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      *error = n < 0 ? errno : ENOSPC;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

bool Exists(const std::string& path) {
  struct stat info {};
  return lstat(path.c_str(), &info) == 0;
}

// What scanning the log's last segment(s) found.
struct TornCut {
  SegmentFile segment;
  std::string bytes;
  size_t good_size = 0;  // bytes kept (0 or the magic only: the file is removed)
  bool remove = false;
};

}  // namespace

SegmentWriter::SegmentWriter(const LogOptions& options)
    : options_(options), hasher_(options.chain_key), buffer_(new std::byte[kBufferSize]) {}

SegmentWriter::~SegmentWriter() {
  if (!closed_ && status_.ok()) {
    // Not a clean stop (no kLogStop): keep what is buffered, as a crash after a flush would.
    Flush().IgnoreError();
  }
  for (int fd : {segment_fd_, head_fd_, dir_fd_}) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

void SegmentWriter::AssertInvariants() const {
  JG_DCHECK(durable_seq_ <= flushed_seq_ && flushed_seq_ <= last_seq_);
  JG_DCHECK(buffered_ <= kBufferSize);
}

absl::Status SegmentWriter::Fail(absl::Status status) {
  if (status_.ok()) {
    status_ = std::move(status);
  }
  return status_;
}

absl::StatusOr<std::unique_ptr<SegmentWriter>> SegmentWriter::Open(const LogOptions& options,
                                                                   RecoveryInfo* info) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("audit: the log directory is empty");
  }
  RecoveryInfo local;
  if (info == nullptr) {
    info = &local;
  }
  *info = RecoveryInfo{};
  std::unique_ptr<SegmentWriter> writer(new SegmentWriter(options));
  JG_RETURN_IF_ERROR(writer->OpenDirectory());
  JG_RETURN_IF_ERROR(writer->Recover(info));
  return writer;
}

absl::Status SegmentWriter::OpenDirectory() {
  const std::string& dir = options_.dir;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "cannot create the log directory", dir);
  }
  dir_fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) {
    return ErrnoError(errno, "cannot open the log directory", dir);
  }
  if (flock(dir_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit: another process writes the log in ", dir, " (it holds its lock)"));
    }
    return ErrnoError(errno, "cannot lock the log directory", dir);
  }
  return absl::OkStatus();
}

absl::Status SegmentWriter::Recover(RecoveryInfo* info) {
  const std::string& dir = options_.dir;
  JG_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(dir, nullptr));
  const std::string head_path = absl::StrCat(dir, "/", ToAbsl(kHeadFileName));
  Head head;
  absl::StatusOr<std::string> head_text = ReadFile(head_path);
  if (head_text.ok() && !head_text->empty() && !ParseHead(*head_text, &head)) {
    return absl::DataLossError(absl::StrCat(
        "audit: ", head_path, " is not \"<seq> <link hex>\": run `jitgate audit verify ", dir,
        "` and move the directory aside"));
  }
  const std::string advice =
      absl::StrCat(": run `jitgate audit verify ", dir,
                   "` and move the directory aside (the gateway starts a new log in an empty one)");

  // Scan from the last segment back while a segment holds no good record.
  std::vector<TornCut> cuts;
  bool found = false;
  RecordType last_type{};
  uint32_t last_epoch = 0;
  while (!segments.empty() && !found) {
    const SegmentFile segment = segments.back();
    segments.pop_back();
    JG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(segment.path));
    const std::span<const std::byte> span = std::as_bytes(std::span(bytes.data(), bytes.size()));
    ChainChecker checker(/*strict=*/false);
    checker.BeginSegment(segment.first_seq, segment.name);
    SegmentScanner scanner(span, 0, &hasher_);
    Frame frame;
    SegmentScanner::Result result;
    std::string problem;
    while ((result = scanner.Next(&frame)) == SegmentScanner::Result::kFrame) {
      if (!checker.Add(frame, &problem)) {
        return absl::DataLossError(absl::StrCat("audit: ", segment.path, " offset ", frame.offset,
                                                " seq ", frame.header.seq, ": ", problem, advice));
      }
    }
    if (result == SegmentScanner::Result::kBroken &&
        GoodFrameAfter(span, scanner.problem_offset(), hasher_)) {
      return absl::DataLossError(
          absl::StrCat("audit: ", segment.path, " offset ", scanner.problem_offset(), " seq ",
                       checker.last_seq() + 1, ": ", FrameProblemText(scanner.problem()),
                       ", and good records follow, so this is not a torn write", advice));
    }
    const size_t good_size = scanner.consumed();
    if (checker.segment_records() > 0) {
      found = true;
      last_seq_ = checker.last_seq();
      last_epoch = checker.last_epoch();
      last_type = checker.last_type();
      std::memcpy(last_link_, checker.last_link().data(), kLinkSize);
      segment_number_ = checker.segment_number();
      segment_name_ = segment.name;
      segment_size_ = good_size;
      segment_records_ = checker.segment_records();
    }
    if (good_size < bytes.size() || checker.segment_records() == 0) {
      cuts.push_back({segment, std::move(bytes), good_size, checker.segment_records() == 0});
    }
  }
  if (!found && head.seq > 0) {
    return absl::DataLossError(absl::StrCat("audit: ", head_path, " names seq ", head.seq,
                                            " but the directory holds no record: the log was "
                                            "deleted or cut",
                                            advice));
  }
  if (head.seq > last_seq_) {
    return absl::DataLossError(absl::StrCat("audit: the log was cut: ", head_path, " names seq ",
                                            head.seq, " but the last segment ends at seq ",
                                            last_seq_, advice));
  }
  const uint32_t new_epoch = found ? last_epoch + 1 : 1;
  info->fresh = !found;
  info->clean = found && last_type == RecordType::kLogStop;
  info->last_seq = last_seq_;
  info->epoch = new_epoch;
  for (const TornCut& cut : cuts) {
    JG_RETURN_IF_ERROR(
        CutTornTail(cut.segment, cut.bytes, cut.remove ? 0 : cut.good_size, new_epoch, info));
  }

  head_fd_ = open(head_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (head_fd_ < 0) {
    return ErrnoError(errno, "cannot open", head_path);
  }
  epoch_ = found ? last_epoch : new_epoch;
  flushed_seq_ = durable_seq_ = last_seq_;
  std::memcpy(durable_link_, last_link_, kLinkSize);
  if (found) {
    const std::string path = absl::StrCat(dir, "/", segment_name_);
    segment_fd_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (segment_fd_ < 0) {
      return ErrnoError(errno, "cannot open", path);
    }
  } else {
    JG_RETURN_IF_ERROR(StartSegment(1));
  }

  std::string detail = absl::StrCat("chain=", hasher_.name());
  if (!found) {
    absl::StrAppend(&detail, "; new log");
  } else if (info->clean) {
    absl::StrAppend(&detail, "; previous epoch closed");
  } else {
    absl::StrAppend(&detail, "; previous epoch ended without log_stop (crash?)");
  }
  if (info->torn_bytes > 0) {
    absl::StrAppend(&detail, "; recovered: ", info->torn_bytes, " torn bytes cut after seq ",
                    info->last_seq);
  }
  FieldList fields;
  fields.Text(Field::kVersion, std::string_view(options_.version).substr(0, kVersionSizeMax));
  fields.Text(Field::kDetail, detail);
  JG_RETURN_IF_ERROR(MakeRoom(kFrameOverhead + fields.bytes().size()));
  epoch_ = new_epoch;  // the epoch changes at the kLogStart, not at a kSegmentStart before it
  PutWriterRecord(RecordType::kLogStart, fields.bytes());
  return Sync();
}

absl::Status SegmentWriter::CutTornTail(const SegmentFile& segment, const std::string& bytes,
                                        size_t good_size, uint32_t new_epoch, RecoveryInfo* info) {
  JG_CHECK(good_size <= bytes.size());
  const size_t torn_size = bytes.size() - good_size;
  if (torn_size > 0) {
    std::string torn_path = absl::StrCat(segment.path, ".torn-", new_epoch);
    for (int k = 2; Exists(torn_path); ++k) {
      torn_path = absl::StrCat(segment.path, ".torn-", new_epoch, ".", k);
    }
    const int fd = open(torn_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      return ErrnoError(errno, "cannot create", torn_path);
    }
    int error = 0;
    const bool written = WriteAll(fd, reinterpret_cast<const std::byte*>(bytes.data()) + good_size,
                                  torn_size, &error) &&
                         (fdatasync(fd) == 0 || ((error = errno), false));
    close(fd);
    if (!written) {
      return ErrnoError(error, "cannot write", torn_path);
    }
    info->torn_bytes += torn_size;
    if (info->torn_file.empty()) {
      info->torn_file = torn_path;
    }
  }
  if (good_size == 0 || good_size <= kSegmentMagicSize) {
    if (unlink(segment.path.c_str()) != 0) {
      return ErrnoError(errno, "cannot remove the empty segment", segment.path);
    }
  } else {
    const int fd = open(segment.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return ErrnoError(errno, "cannot open", segment.path);
    }
    const bool cut = ftruncate(fd, static_cast<off_t>(good_size)) == 0 && fdatasync(fd) == 0;
    const int error = errno;
    close(fd);
    if (!cut) {
      return ErrnoError(error, "cannot cut the torn tail of", segment.path);
    }
  }
  if (fsync(dir_fd_) != 0) {
    return ErrnoError(errno, "cannot fsync the log directory", options_.dir);
  }
  return absl::OkStatus();
}

absl::Status SegmentWriter::StartSegment(uint64_t number) {
  JG_CHECK(buffered_ == 0);
  const std::string name = SegmentFileName(last_seq_ + 1);
  const std::string path = absl::StrCat(options_.dir, "/", name);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(ErrnoError(errno, "cannot create the segment", path));
  }
  if (segment_fd_ >= 0) {
    close(segment_fd_);
  }
  segment_fd_ = fd;
  segment_name_ = name;
  segment_number_ = number;
  segment_size_ = 0;
  segment_records_ = 0;
  if (fsync(dir_fd_) != 0) {
    return Fail(ErrnoError(errno, "cannot fsync the log directory", options_.dir));
  }
  std::memcpy(buffer_.get(), kSegmentMagic, kSegmentMagicSize);
  buffered_ = kSegmentMagicSize;
  segment_size_ = kSegmentMagicSize;
  FieldList fields;
  fields.Integer(Field::kSegment, number);
  fields.Integer(Field::kPrevSeq, last_seq_);
  PutWriterRecord(RecordType::kSegmentStart, fields.bytes());
  return absl::OkStatus();
}

absl::Status SegmentWriter::MakeRoom(size_t frame_size) {
  if (segment_size_ + frame_size > options_.segment_size_max && segment_records_ > 1) {
    // Rotate: the old segment is complete and durable before the new one exists, so a reader
    // that sees the new file has all of the old one.
    JG_RETURN_IF_ERROR(Flush());
    if (fdatasync(segment_fd_) != 0) {
      return Fail(
          ErrnoError(errno, "cannot fdatasync", absl::StrCat(options_.dir, "/", segment_name_)));
    }
    durable_seq_ = last_seq_;
    std::memcpy(durable_link_, last_link_, kLinkSize);
    JG_RETURN_IF_ERROR(WriteHead(/*sync=*/true));
    JG_RETURN_IF_ERROR(StartSegment(segment_number_ + 1));
  }
  if (buffered_ + frame_size > kBufferSize) {
    JG_RETURN_IF_ERROR(Flush());
  }
  return absl::OkStatus();
}

uint64_t SegmentWriter::Put(RecordType type, uint16_t flags, int64_t time_us, uint32_t shard,
                            uint64_t session, std::span<const std::byte> fields) {
  const size_t body_size = kRecordHeaderSize + fields.size();
  const size_t frame_size = kFramePrefixSize + body_size + kLinkSize;
  JG_CHECK(buffered_ + frame_size <= kBufferSize);
  std::byte* p = buffer_.get() + buffered_;
  StoreU32(p, static_cast<uint32_t>(body_size));
  RecordHeader header;
  header.type = type;
  header.flags = flags;
  header.epoch = epoch_;
  header.seq = last_seq_ + 1;
  header.time_us = time_us;
  header.shard = shard;
  header.session = session;
  std::memcpy(header.prev, last_link_, kLinkSize);
  std::byte* body = p + kFramePrefixSize;
  EncodeRecordHeader(header, body);
  if (!fields.empty()) {
    std::memcpy(body + kRecordHeaderSize, fields.data(), fields.size());
  }
  std::byte* link = body + body_size;
  hasher_.Link({body, body_size}, link);
  std::memcpy(last_link_, link, kLinkSize);
  buffered_ += frame_size;
  segment_size_ += frame_size;
  last_seq_ = header.seq;
  ++segment_records_;
  AssertInvariants();
  return last_seq_;
}

uint64_t SegmentWriter::PutWriterRecord(RecordType type, std::span<const std::byte> fields) {
  return Put(type, 0, WallTimeUs(), kShardControl, 0, fields);
}

uint64_t SegmentWriter::Append(RecordType type, uint16_t flags, int64_t time_us, uint32_t shard,
                               uint64_t session, std::span<const std::byte> fields) {
  JG_CHECK(fields.size() <= kBodySizeMax - kRecordHeaderSize);
  JG_CHECK(type != RecordType::kLogStart && type != RecordType::kSegmentStart &&
           type != RecordType::kLogStop);
  if (!status_.ok() || closed_) [[unlikely]] {
    return 0;
  }
  if (!MakeRoom(kFrameOverhead + fields.size()).ok()) [[unlikely]] {
    return 0;
  }
  return Put(type, flags, time_us, shard, session, fields);
}

uint64_t SegmentWriter::AppendQueued(std::span<const std::byte> queued, uint32_t shard) {
  JG_CHECK(queued.size() >= kQueuedHeaderSize);
  const QueuedHeader header = DecodeQueuedHeader(queued.data());
  return Append(header.type, header.flags, header.time_us, shard, header.session,
                queued.subspan(kQueuedHeaderSize));
}

absl::Status SegmentWriter::Flush() {
  if (!status_.ok()) {
    return status_;
  }
  if (buffered_ == 0) {
    return absl::OkStatus();
  }
  int error = 0;
  if (!WriteAll(segment_fd_, buffer_.get(), buffered_, &error)) {
    return Fail(ErrnoError(error, "cannot write", absl::StrCat(options_.dir, "/", segment_name_)));
  }
  buffered_ = 0;
  flushed_seq_ = last_seq_;
  AssertInvariants();
  return absl::OkStatus();
}

absl::Status SegmentWriter::Sync() {
  JG_RETURN_IF_ERROR(Flush());
  if (durable_seq_ == last_seq_) {
    return absl::OkStatus();
  }
  if (fdatasync(segment_fd_) != 0) {
    return Fail(
        ErrnoError(errno, "cannot fdatasync", absl::StrCat(options_.dir, "/", segment_name_)));
  }
  durable_seq_ = last_seq_;
  std::memcpy(durable_link_, last_link_, kLinkSize);
  return WriteHead(/*sync=*/false);
}

absl::Status SegmentWriter::WriteHead(bool sync) {
  const std::string text = FormatHead(durable_seq_, durable_link_);
  int error = 0;
  if (!PwriteAll(head_fd_, text.data(), text.size(), 0, &error) ||
      (sync && fdatasync(head_fd_) != 0 && ((error = errno), true))) {
    return Fail(
        ErrnoError(error, "cannot write", absl::StrCat(options_.dir, "/", ToAbsl(kHeadFileName))));
  }
  return absl::OkStatus();
}

absl::Status SegmentWriter::Close(uint64_t dropped_total) {
  if (closed_) {
    return status_;
  }
  if (status_.ok()) {
    FieldList fields;
    fields.Integer(Field::kDropped, dropped_total);
    if (MakeRoom(kFrameOverhead + fields.bytes().size()).ok()) {
      PutWriterRecord(RecordType::kLogStop, fields.bytes());
      if (Sync().ok()) {
        WriteHead(/*sync=*/true).IgnoreError();
      }
    }
  }
  closed_ = true;
  for (int* fd : {&segment_fd_, &head_fd_, &dir_fd_}) {
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
  }
  return status_;
}

}  // namespace jitgate::audit
