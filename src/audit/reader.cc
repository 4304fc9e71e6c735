// src/audit/reader.cc: LinkHasher, SegmentScanner, ChainChecker (pure), and the file layer:
// segment names, HEAD, VerifyLog and LogReader. See reader.h for the contracts.
#include "src/audit/reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "jitgate/check.h"

namespace jitgate::audit {

// ---- LinkHasher ---------------------------------------------------------------------------------

struct LinkHasher::Impl {
  SHA256_CTX inner;  // after the key block XOR ipad (or a fresh state for plain SHA-256)
  SHA256_CTX outer;  // after the key block XOR opad (unused for plain SHA-256)
};

LinkHasher::LinkHasher(std::string_view key)
    : impl_(std::make_unique<Impl>()), keyed_(!key.empty()) {
  JG_CHECK(SHA256_Init(&impl_->inner) == 1);
  if (!keyed_) {
    return;
  }
  constexpr size_t kBlock = 64;  // SHA-256's block size (RFC 2104: B)
  unsigned char block[kBlock] = {};
  if (key.size() > kBlock) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block);
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  unsigned char pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    pad[i] = block[i] ^ 0x36;
  }
  JG_CHECK(SHA256_Update(&impl_->inner, pad, kBlock) == 1);
  for (size_t i = 0; i < kBlock; ++i) {
    pad[i] = block[i] ^ 0x5c;
  }
  JG_CHECK(SHA256_Init(&impl_->outer) == 1 && SHA256_Update(&impl_->outer, pad, kBlock) == 1);
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(pad, sizeof(pad));
}

LinkHasher::~LinkHasher() { OPENSSL_cleanse(impl_.get(), sizeof(Impl)); }

void LinkHasher::Link(std::span<const std::byte> body, std::byte* out) const {
  auto* digest = reinterpret_cast<unsigned char*>(out);
  SHA256_CTX ctx = impl_->inner;
  SHA256_Update(&ctx, body.data(), body.size());
  SHA256_Final(digest, &ctx);
  if (keyed_) {
    ctx = impl_->outer;
    SHA256_Update(&ctx, digest, SHA256_DIGEST_LENGTH);
    SHA256_Final(digest, &ctx);
    OPENSSL_cleanse(&ctx, sizeof(ctx));
  }
}

std::string LinkHex(std::span<const std::byte> link) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(link.size() * 2);
  for (std::byte b : link) {
    out.push_back(kHex[static_cast<uint8_t>(b) >> 4]);
    out.push_back(kHex[static_cast<uint8_t>(b) & 15]);
  }
  return out;
}

// ---- SegmentScanner -----------------------------------------------------------------------------

const char* FrameProblemText(FrameProblem problem) {
  switch (problem) {
    case FrameProblem::kNone:
      return "no problem";
    case FrameProblem::kBadMagic:
      return "the file does not start with the segment magic JGAUDIT1";
    case FrameProblem::kIncomplete:
      return "the frame runs past the end of the file";
    case FrameProblem::kBodyTooSmall:
      return "body_size is smaller than a record header";
    case FrameProblem::kBodyTooLarge:
      return "body_size is larger than the 4 MiB maximum";
    case FrameProblem::kLinkMismatch:
      return "the link does not match the body (record altered, or a keyed log read without its "
             "key / with the wrong key)";
    case FrameProblem::kBadVersion:
      return "the record's format version is not 1";
    case FrameProblem::kUnknownType:
      return "the record type is unknown";
    case FrameProblem::kReservedNotZero:
      return "the header's reserved bytes are not zero";
    case FrameProblem::kMalformedFields:
      return "the fields are malformed (a field runs past the body, or an integer is not 8 bytes)";
  }
  return "unknown problem";
}

SegmentScanner::SegmentScanner(std::span<const std::byte> bytes, uint64_t base_offset,
                               const LinkHasher* hasher)
    : bytes_(bytes), base_offset_(base_offset), hasher_(hasher) {}

SegmentScanner::Result SegmentScanner::Fail(FrameProblem problem) {
  problem_ = problem;
  return problem == FrameProblem::kIncomplete ? Result::kIncomplete : Result::kBroken;
}

namespace {

// The header and field rules of a complete body (everything but the link).
FrameProblem CheckBody(std::span<const std::byte> body) {
  if (static_cast<uint8_t>(body[0]) != kFormatVersion) {
    return FrameProblem::kBadVersion;
  }
  if (!KnownRecordType(static_cast<RecordType>(body[1]))) {
    return FrameProblem::kUnknownType;
  }
  if (LoadU32(body.data() + 28) != 0) {
    return FrameProblem::kReservedNotZero;
  }
  FieldReader fields(body.subspan(kRecordHeaderSize));
  FieldView field;
  while (fields.Next(&field)) {
    if (IntegerField(field.tag) && field.value.size() != 8) {
      return FrameProblem::kMalformedFields;
    }
  }
  return fields.valid() ? FrameProblem::kNone : FrameProblem::kMalformedFields;
}

bool LinkMatches(const LinkHasher& hasher, std::span<const std::byte> body,
                 std::span<const std::byte> link) {
  std::byte computed[kLinkSize];
  hasher.Link(body, computed);
  return std::memcmp(computed, link.data(), kLinkSize) == 0;
}

}  // namespace

SegmentScanner::Result SegmentScanner::Next(Frame* out) {
  JG_DCHECK(consumed_ <= bytes_.size());
  if (problem_ != FrameProblem::kNone) {
    return problem_ == FrameProblem::kIncomplete ? Result::kIncomplete : Result::kBroken;
  }
  if (base_offset_ == 0 && consumed_ == 0) {
    const size_t have = std::min(bytes_.size(), kSegmentMagicSize);
    if (std::memcmp(bytes_.data(), kSegmentMagic, have) != 0) {
      return Fail(FrameProblem::kBadMagic);
    }
    if (have < kSegmentMagicSize) {
      return Fail(FrameProblem::kIncomplete);
    }
    consumed_ = kSegmentMagicSize;
  }
  const size_t rest = bytes_.size() - consumed_;
  if (rest == 0) {
    return Result::kEnd;
  }
  if (rest < kFramePrefixSize) {
    return Fail(FrameProblem::kIncomplete);
  }
  const std::byte* p = bytes_.data() + consumed_;
  const uint32_t body_size = LoadU32(p);
  if (body_size < kRecordHeaderSize) {
    return Fail(FrameProblem::kBodyTooSmall);
  }
  if (body_size > kBodySizeMax) {
    return Fail(FrameProblem::kBodyTooLarge);
  }
  const size_t frame_size = kFramePrefixSize + body_size + kLinkSize;
  if (rest < frame_size) {
    return Fail(FrameProblem::kIncomplete);
  }
  const std::span<const std::byte> body = bytes_.subspan(consumed_ + kFramePrefixSize, body_size);
  const std::span<const std::byte> link =
      bytes_.subspan(consumed_ + kFramePrefixSize + body_size, kLinkSize);
  if (hasher_ != nullptr && !LinkMatches(*hasher_, body, link)) {
    return Fail(FrameProblem::kLinkMismatch);
  }
  const FrameProblem body_problem = CheckBody(body);
  if (body_problem != FrameProblem::kNone) {
    return Fail(body_problem);
  }
  out->offset = base_offset_ + consumed_;
  out->end_offset = out->offset + frame_size;
  out->header = DecodeRecordHeader(body.data());
  out->body = body;
  out->fields = body.subspan(kRecordHeaderSize);
  out->link = link;
  consumed_ += frame_size;
  JG_DCHECK(consumed_ <= bytes_.size());
  return Result::kFrame;
}

bool GoodFrameAfter(std::span<const std::byte> bytes, size_t from, const LinkHasher& hasher) {
  constexpr size_t kFrameSizeMin = kFramePrefixSize + kRecordHeaderSize + kLinkSize;
  for (size_t at = from + 1; at < bytes.size() && bytes.size() - at >= kFrameSizeMin; ++at) {
    const std::byte* p = bytes.data() + at;
    const uint32_t body_size = LoadU32(p);
    // Cheap filters first: a torn tail is mostly zeros or garbage, rarely a plausible header.
    if (body_size < kRecordHeaderSize || body_size > kBodySizeMax ||
        bytes.size() - at < kFramePrefixSize + body_size + kLinkSize ||
        static_cast<uint8_t>(p[kFramePrefixSize]) != kFormatVersion) {
      continue;
    }
    const std::span<const std::byte> body = bytes.subspan(at + kFramePrefixSize, body_size);
    if (!KnownRecordType(static_cast<RecordType>(body[1])) || LoadU32(body.data() + 28) != 0) {
      continue;
    }
    if (LinkMatches(hasher, body, bytes.subspan(at + kFramePrefixSize + body_size, kLinkSize))) {
      return true;
    }
  }
  return false;
}

// ---- ChainChecker -------------------------------------------------------------------------------

void ChainChecker::BeginSegment(uint64_t name_seq, std::string_view name) {
  name_seq_ = name_seq;
  name_ = name;
  segment_records_ = 0;
}

namespace {

// The kSegment and kPrevSeq of a kSegmentStart; false when either is missing.
bool SegmentStartFields(std::span<const std::byte> fields, uint64_t* segment, uint64_t* prev_seq) {
  bool have_segment = false;
  bool have_prev = false;
  FieldReader reader(fields);
  FieldView field;
  while (reader.Next(&field)) {
    if (field.tag == Field::kSegment) {
      have_segment = field.integer(segment);
    } else if (field.tag == Field::kPrevSeq) {
      have_prev = field.integer(prev_seq);
    }
  }
  return have_segment && have_prev;
}

}  // namespace

bool ChainChecker::CheckSegmentStart(const Frame& frame, std::string* problem) {
  const RecordHeader& h = frame.header;
  if (h.type != RecordType::kSegmentStart) {
    *problem = absl::StrCat("the segment's first record is a ", RecordTypeName(h.type),
                            ", not a segment_start");
    return false;
  }
  if (h.seq != name_seq_) {
    *problem = absl::StrCat("the file name says the segment starts at seq ", name_seq_,
                            " but its first record is seq ", h.seq, " (file renamed?)");
    return false;
  }
  uint64_t segment = 0;
  uint64_t prev_seq = 0;
  if (!SegmentStartFields(frame.fields, &segment, &prev_seq)) {
    *problem = "the segment_start record lacks its segment or prev_seq field";
    return false;
  }
  if (have_prev_) {
    if (segment != segment_number_ + 1) {
      *problem = absl::StrCat("segment number ", segment, " follows segment number ",
                              segment_number_, " (a segment is missing or out of order)");
      return false;
    }
    if (prev_seq != last_seq_) {
      *problem = absl::StrCat("prev_seq is ", prev_seq, " but the segment before ends at seq ",
                              last_seq_, " (its end was cut, or records are missing)");
      return false;
    }
  } else if (strict_ && (prev_seq != 0 || segment != 1)) {
    *problem =
        absl::StrCat("segments before ", ToAbsl(name_), " are missing (it is segment number ",
                     segment, " and continues after seq ", prev_seq, ")");
    return false;
  }
  return true;
}

bool ChainChecker::Add(const Frame& frame, std::string* problem) {
  const RecordHeader& h = frame.header;
  if (segment_records_ == 0) {
    if (!CheckSegmentStart(frame, problem)) {
      return false;
    }
  } else if (h.type == RecordType::kSegmentStart) {
    *problem = "a segment_start record in the middle of a segment";
    return false;
  }
  if (have_prev_) {
    if (h.seq != last_seq_ + 1) {
      *problem = absl::StrCat("seq ", h.seq, " follows seq ", last_seq_,
                              " (records are missing, duplicated or reordered)");
      return false;
    }
    if (std::memcmp(h.prev, last_link_, kLinkSize) != 0) {
      *problem = absl::StrCat("prev does not match the link of seq ", last_seq_,
                              " (a record before it was altered, removed or inserted)");
      return false;
    }
    if (h.epoch != last_epoch_ && (h.type != RecordType::kLogStart || h.epoch != last_epoch_ + 1)) {
      *problem = absl::StrCat("epoch ", h.epoch, " after epoch ", last_epoch_,
                              " (epochs change only by one, at a log_start)");
      return false;
    }
    if (h.epoch == last_epoch_ && h.type == RecordType::kLogStart && epoch_started_) {
      *problem = absl::StrCat("a second log_start in epoch ", h.epoch);
      return false;
    }
  } else if (strict_) {
    if (h.seq != 1) {
      *problem = absl::StrCat("the log begins at seq ", h.seq, ", not 1 (records are missing)");
      return false;
    }
    static constexpr uint8_t kZeros[kLinkSize] = {};
    if (std::memcmp(h.prev, kZeros, kLinkSize) != 0) {
      *problem = "the log's first record has a non-zero prev (records before it are missing)";
      return false;
    }
    if (h.epoch != 1) {
      *problem = absl::StrCat("the log's first record is in epoch ", h.epoch, ", not 1");
      return false;
    }
  }
  if (segment_records_ == 0) {
    uint64_t prev_seq = 0;
    SegmentStartFields(frame.fields, &segment_number_, &prev_seq);
  }
  if (records_ == 0) {
    first_seq_ = h.seq;
  }
  if (records_ == 0 || h.epoch != last_epoch_) {
    ++epochs_;
  }
  if (h.type == RecordType::kLogStart) {
    epoch_started_ = true;
  }
  have_prev_ = true;
  last_seq_ = h.seq;
  last_epoch_ = h.epoch;
  last_type_ = h.type;
  std::memcpy(last_link_, frame.link.data(), kLinkSize);
  ++records_;
  ++segment_records_;
  return true;
}

// ---- files --------------------------------------------------------------------------------------

namespace {

constexpr size_t kSeqDigits = 20;  // UINT64_MAX has 20 decimal digits

std::string ErrnoText(int error) { return std::strerror(error); }

}  // namespace

std::string SegmentFileName(uint64_t first_seq) {
  char digits[kSeqDigits + 1];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(first_seq));
  return absl::StrCat(ToAbsl(kSegmentPrefix), digits, ToAbsl(kSegmentSuffix));
}

bool ParseSegmentFileName(std::string_view name, uint64_t* first_seq) {
  if (name.size() != kSegmentPrefix.size() + kSeqDigits + kSegmentSuffix.size() ||
      !name.starts_with(kSegmentPrefix) || !name.ends_with(kSegmentSuffix)) {
    return false;
  }
  uint64_t value = 0;
  for (char c : name.substr(kSegmentPrefix.size(), kSeqDigits)) {
    if (c < '0' || c > '9') {
      return false;
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return false;
    }
    value = value * 10 + digit;
  }
  *first_seq = value;
  return true;
}

absl::StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir,
                                                      std::vector<std::string>* torn_files) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open the audit directory ", dir));
  }
  std::vector<SegmentFile> segments;
  errno = 0;
  while (dirent* entry = readdir(d)) {
    const std::string_view name = entry->d_name;
    uint64_t first_seq = 0;
    if (ParseSegmentFileName(name, &first_seq)) {
      segments.push_back({std::string(name), absl::StrCat(dir, "/", ToAbsl(name)), first_seq});
    } else if (torn_files != nullptr && name.starts_with(kSegmentPrefix) &&
               name.find(".seg.torn-") != std::string_view::npos) {
      torn_files->emplace_back(name);
    }
  }
  const int error = errno;
  closedir(d);
  if (error != 0) {
    return absl::ErrnoToStatus(error, absl::StrCat("cannot list the audit directory ", dir));
  }
  std::sort(segments.begin(), segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.name < b.name; });
  if (torn_files != nullptr) {
    std::sort(torn_files->begin(), torn_files->end());
  }
  return segments;
}

std::string FormatHead(uint64_t seq, std::span<const std::byte> link) {
  std::string text = absl::StrCat(seq, " ", LinkHex(link), "\n");
  JG_CHECK(text.size() <= kHeadFileSize);
  text.resize(kHeadFileSize, ' ');
  return text;
}

bool ParseHead(std::string_view text, Head* head) {
  const size_t space = text.find(' ');
  if (space == 0 || space == std::string_view::npos || space > kSeqDigits) {
    return false;
  }
  uint64_t seq = 0;
  for (char c : text.substr(0, space)) {
    if (c < '0' || c > '9' || seq > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
      return false;
    }
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  std::string_view rest = text.substr(space + 1);
  if (rest.size() < kLinkSize * 2 + 1 || rest[kLinkSize * 2] != '\n') {
    return false;
  }
  for (size_t i = 0; i < kLinkSize; ++i) {
    uint8_t byte = 0;
    for (size_t k = 0; k < 2; ++k) {
      const char c = rest[i * 2 + k];
      uint8_t nibble;
      if (c >= '0' && c <= '9') {
        nibble = static_cast<uint8_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        nibble = static_cast<uint8_t>(c - 'a' + 10);
      } else {
        return false;
      }
      byte = static_cast<uint8_t>(byte << 4 | nibble);
    }
    head->link[i] = std::byte{byte};
  }
  for (char c : rest.substr(kLinkSize * 2 + 1)) {
    if (c != ' ') {
      return false;
    }
  }
  head->seq = seq;
  return true;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  }
  struct stat info {};
  std::string bytes;
  if (fstat(fd, &info) == 0 && info.st_size > 0) {
    bytes.reserve(static_cast<size_t>(info.st_size));
  }
  char chunk[1 << 16];
  while (true) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int error = errno;
      close(fd);
      return absl::ErrnoToStatus(error, absl::StrCat("cannot read ", path));
    }
    if (n == 0) {
      break;
    }
    bytes.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return bytes;
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  absl::StatusOr<std::string> key = ReadFile(path);
  if (!key.ok()) {
    return key.status();
  }
  if (!key->empty() && key->back() == '\n') {
    key->pop_back();
    if (!key->empty() && key->back() == '\r') {
      key->pop_back();
    }
  }
  if (key->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the key file ", path, " is empty"));
  }
  return key;
}

// ---- VerifyLog ----------------------------------------------------------------------------------

namespace {

void SetError(VerifyReport* report, std::string_view file, uint64_t offset, uint64_t seq,
              std::string_view what) {
  report->ok = false;
  report->error_file = std::string(file);
  report->error_offset = offset;
  report->error_seq = seq;
  report->error = absl::StrCat(ToAbsl(file), " offset ", offset, " seq ", seq, ": ", ToAbsl(what));
}

// The problem sentence for a scanner stop in segment `index` of `count`.
std::string ScanProblemText(FrameProblem problem, bool last_segment) {
  if (problem != FrameProblem::kIncomplete) {
    return FrameProblemText(problem);
  }
  return last_segment
             ? "the last frame is incomplete (a torn write: the gateway stopped while writing, or "
               "the file was cut; the gateway cuts a torn tail at its next start)"
             : "the segment ends inside a frame (the file was cut)";
}

}  // namespace

VerifyReport VerifyLog(const std::string& dir, std::string_view key) {
  VerifyReport report;
  std::vector<std::string> torn;
  absl::StatusOr<std::vector<SegmentFile>> segments = ListSegments(dir, &torn);
  if (!segments.ok()) {
    report.error = std::string(segments.status().message());
    return report;
  }
  for (const std::string& name : torn) {
    absl::StatusOr<std::string> bytes = ReadFile(absl::StrCat(dir, "/", name));
    report.notes.push_back(
        absl::StrCat(name, ": ", bytes.ok() ? absl::StrCat(bytes->size(), " bytes") : "unreadable",
                     " cut from a torn tail when the gateway restarted (kept for inspection)"));
  }
  Head head;
  bool have_head = false;
  absl::StatusOr<std::string> head_text = ReadFile(absl::StrCat(dir, "/", ToAbsl(kHeadFileName)));
  if (head_text.ok()) {
    if (!ParseHead(*head_text, &head)) {
      report.error = absl::StrCat(dir, "/", ToAbsl(kHeadFileName),
                                  ": not \"<seq> <link hex>\" (the HEAD file was damaged)");
      report.error_file = std::string(kHeadFileName);
      return report;
    }
    have_head = true;
  } else if (!absl::IsNotFound(head_text.status())) {
    report.error = std::string(head_text.status().message());
    return report;
  }
  if (segments->empty()) {
    report.error = have_head ? absl::StrCat("no segments in ", dir, ", but HEAD names seq ",
                                            head.seq, ": the log was deleted")
                             : absl::StrCat("no segments (audit-<first seq>.seg) in ", dir);
    return report;
  }
  const LinkHasher hasher(key);
  ChainChecker checker(/*strict=*/true);
  bool head_found = !have_head || head.seq == 0;
  std::string problem;
  for (size_t i = 0; i < segments->size(); ++i) {
    const SegmentFile& segment = (*segments)[i];
    const bool last = i + 1 == segments->size();
    absl::StatusOr<std::string> bytes = ReadFile(segment.path);
    if (!bytes.ok()) {
      SetError(&report, segment.name, 0, checker.last_seq() + 1,
               std::string(bytes.status().message()));
      return report;
    }
    checker.BeginSegment(segment.first_seq, segment.name);
    SegmentScanner scanner(std::as_bytes(std::span(bytes->data(), bytes->size())), 0, &hasher);
    Frame frame;
    SegmentScanner::Result result;
    while ((result = scanner.Next(&frame)) == SegmentScanner::Result::kFrame) {
      if (!checker.Add(frame, &problem)) {
        SetError(&report, segment.name, frame.offset, frame.header.seq, problem);
        return report;
      }
      if (have_head && frame.header.seq == head.seq) {
        if (std::memcmp(frame.link.data(), head.link, kLinkSize) != 0) {
          SetError(&report, segment.name, frame.offset, frame.header.seq,
                   absl::StrCat("HEAD names seq ", head.seq, " with link ", LinkHex(head.link),
                                " but the log's record has link ", LinkHex(frame.link),
                                " (the log was rewritten)"));
          return report;
        }
        head_found = true;
      }
    }
    if (result != SegmentScanner::Result::kEnd) {
      SetError(&report, segment.name, scanner.problem_offset(), checker.last_seq() + 1,
               ScanProblemText(scanner.problem(), last));
      return report;
    }
    if (checker.segment_records() == 0) {
      SetError(&report, segment.name, scanner.offset(), checker.last_seq() + 1,
               "the segment holds no records");
      return report;
    }
  }
  if (!head_found) {
    report.error =
        absl::StrCat("the log was cut: HEAD names seq ", head.seq, " but the log ends at seq ",
                     checker.last_seq(), " (records the gateway had made durable are gone)");
    report.error_file = std::string(kHeadFileName);
    report.error_seq = head.seq;
    return report;
  }
  report.ok = true;
  report.records = checker.records();
  report.segments = segments->size();
  report.first_seq = checker.first_seq();
  report.last_seq = checker.last_seq();
  report.epochs = checker.epochs();
  report.last_epoch_closed = checker.last_type() == RecordType::kLogStop;
  return report;
}

// ---- LogReader ----------------------------------------------------------------------------------

LogReader::LogReader(std::string dir, const LinkHasher* hasher, uint64_t from_seq)
    : dir_(std::move(dir)), hasher_(hasher), from_seq_(from_seq), checker_(/*strict=*/false) {}

LogReader::~LogReader() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

LogReader::Result LogReader::Broken(std::string message) {
  broken_ = true;
  error_ = std::move(message);
  return Result::kBroken;
}

bool LogReader::OpenSegment(size_t index) {
  if (fd_ >= 0) {
    close(fd_);
  }
  segment_index_ = index;
  const SegmentFile& segment = segments_[index];
  fd_ = open(segment.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd_ < 0) {
    error_ = absl::StrCat("cannot open ", segment.path, ": ", ErrnoText(errno));
    return false;
  }
  buffer_.clear();
  buffer_offset_ = 0;
  consumed_ = 0;
  segment_open_ = true;
  checker_.BeginSegment(segment.first_seq, segment.name);
  return true;
}

bool LogReader::Refill() {
  // Drop what was consumed once it is most of the buffer, so a long tail stays bounded.
  if (consumed_ > (1u << 20) && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    buffer_offset_ += consumed_;
    consumed_ = 0;
  }
  constexpr size_t kChunk = 1 << 20;
  bool grew = false;
  while (true) {
    const size_t old_size = buffer_.size();
    buffer_.resize(old_size + kChunk);
    const ssize_t n = pread(fd_, buffer_.data() + old_size, kChunk,
                            static_cast<off_t>(buffer_offset_ + old_size));
    const int error = errno;
    buffer_.resize(old_size + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n < 0 && error == EINTR) {
      continue;
    }
    if (n < 0) {
      error_ = absl::StrCat("cannot read ", segments_[segment_index_].path, ": ", ErrnoText(error));
      return false;
    }
    if (n == 0) {
      return grew;
    }
    grew = true;
  }
}

LogReader::Result LogReader::Next(LogRecord* out) {
  if (broken_) {
    return Result::kBroken;
  }
  while (true) {
    if (!segment_open_) {
      absl::StatusOr<std::vector<SegmentFile>> listed = ListSegments(dir_, nullptr);
      if (!listed.ok()) {
        return Broken(std::string(listed.status().message()));
      }
      segments_ = std::move(*listed);
      if (segments_.empty()) {
        return Result::kEnd;
      }
      size_t start = 0;
      for (size_t i = 0; i < segments_.size(); ++i) {
        if (segments_[i].first_seq <= from_seq_) {
          start = i;
        }
      }
      if (!OpenSegment(start)) {
        return Broken(error_);
      }
    }
    const SegmentFile& segment = segments_[segment_index_];
    const std::span<const std::byte> rest =
        std::as_bytes(std::span(buffer_.data() + consumed_, buffer_.size() - consumed_));
    SegmentScanner scanner(rest, buffer_offset_ + consumed_, hasher_);
    Frame frame;
    const SegmentScanner::Result result = scanner.Next(&frame);
    if (result == SegmentScanner::Result::kFrame) {
      consumed_ += scanner.consumed();
      std::string problem;
      if (!checker_.Add(frame, &problem)) {
        return Broken(absl::StrCat(segment.name, " offset ", frame.offset, " seq ",
                                   frame.header.seq, ": ", problem));
      }
      if (frame.header.seq < from_seq_) {
        continue;
      }
      out->header = frame.header;
      out->fields = frame.fields;
      out->link = frame.link;
      out->segment = segment.name;
      out->offset = frame.offset;
      return Result::kRecord;
    }
    if (result == SegmentScanner::Result::kBroken) {
      return Broken(absl::StrCat(segment.name, " offset ", scanner.problem_offset(), " seq ",
                                 checker_.last_seq() + 1, ": ",
                                 FrameProblemText(scanner.problem())));
    }
    // The end of what the segment holds now (kEnd, or an incomplete frame the writer may still
    // be writing): read what was appended since, else move to the next segment if there is one.
    if (scanner.consumed() > 0) {
      consumed_ += scanner.consumed();  // the magic
    }
    if (Refill()) {
      continue;
    }
    if (!error_.empty()) {
      return Broken(error_);
    }
    absl::StatusOr<std::vector<SegmentFile>> listed = ListSegments(dir_, nullptr);
    if (!listed.ok()) {
      return Broken(std::string(listed.status().message()));
    }
    const std::string current = segment.name;
    size_t next = listed->size();
    for (size_t i = 0; i < listed->size(); ++i) {
      if ((*listed)[i].name > current) {
        next = i;
        break;
      }
    }
    if (next == listed->size()) {
      return Result::kEnd;
    }
    // The writer finishes a segment before it creates the next: read once more, then the
    // segment must end exactly at a frame boundary.
    if (Refill()) {
      continue;
    }
    if (consumed_ != buffer_.size() || checker_.segment_records() == 0) {
      return Broken(
          absl::StrCat(current, " offset ", buffer_offset_ + consumed_,
                       checker_.segment_records() == 0
                           ? ": the segment holds no records, and a later one exists"
                           : ": the segment ends inside a frame, and a later one exists"));
    }
    segments_ = std::move(*listed);
    if (!OpenSegment(next)) {
      return Broken(error_);
    }
  }
}

LogReader::Result LogReader::SkipToEnd() {
  const uint64_t from = from_seq_;
  from_seq_ = std::numeric_limits<uint64_t>::max();
  LogRecord record;
  const Result result = Next(&record);
  from_seq_ = from;
  return result;
}

}  // namespace jitgate::audit
