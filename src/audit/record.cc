// src/audit/record.cc: RecordBuilder and the format's names.
#include "src/audit/record.h"

#include <time.h>

#include <algorithm>

#include "jitgate/check.h"

namespace jitgate::audit {

RecordBuilder::RecordBuilder(size_t capacity_bytes)
    : buffer_(new std::byte[capacity_bytes]), capacity_(capacity_bytes) {
  JG_CHECK(capacity_bytes >= 4096);
  JG_CHECK(capacity_bytes <= kBodySizeMax - kRecordHeaderSize + kQueuedHeaderSize);
}

void RecordBuilder::Begin(RecordType type, uint16_t flags, int64_t time_us, uint64_t session) {
  header_ = QueuedHeader{type, 0, time_us, session};
  flags_ = flags;
  size_ = kQueuedHeaderSize;
}

bool RecordBuilder::Bytes(Field field, std::span<const std::byte> value) {
  JG_DCHECK(size_ >= kQueuedHeaderSize);
  if (capacity_ - size_ < kFieldHeaderSize) {
    flags_ |= kFlagTruncated;
    return false;
  }
  const size_t take = std::min(value.size(), room());
  std::byte* p = buffer_.get() + size_;
  p[0] = static_cast<std::byte>(field);
  StoreU32(p + 1, static_cast<uint32_t>(take));
  if (take > 0) {
    std::memcpy(p + kFieldHeaderSize, value.data(), take);
  }
  size_ += kFieldHeaderSize + take;
  if (take < value.size()) {
    flags_ |= kFlagTruncated;
    return false;
  }
  return true;
}

bool RecordBuilder::Text(Field field, std::string_view value) {
  return Bytes(field, std::as_bytes(std::span<const char>(value.data(), value.size())));
}

void RecordBuilder::TextLimited(Field field, std::string_view value, size_t limit) {
  if (value.size() <= limit && value.size() <= room()) {
    Text(field, value);
    return;
  }
  // Leave room for the kTextSize field after the cut text.
  const size_t fit = room() > kFieldHeaderSize + 8 ? room() - kFieldHeaderSize - 8 : 0;
  const size_t cut = Utf8Cut(value, std::min(limit, fit));
  Text(field, value.substr(0, cut));
  flags_ |= kFlagTruncated;
  Integer(Field::kTextSize, value.size());
}

void RecordBuilder::Integer(Field field, uint64_t value) {
  if (capacity_ - size_ < kFieldHeaderSize + 8) {
    flags_ |= kFlagTruncated;
    return;
  }
  std::byte* p = buffer_.get() + size_;
  p[0] = static_cast<std::byte>(field);
  StoreU32(p + 1, 8);
  StoreU64(p + kFieldHeaderSize, value);
  size_ += kFieldHeaderSize + 8;
}

std::span<const std::byte> RecordBuilder::Finish() {
  JG_DCHECK(size_ >= kQueuedHeaderSize && size_ <= capacity_);
  header_.flags = flags_;
  EncodeQueuedHeader(header_, buffer_.get());
  return {buffer_.get(), size_};
}

int64_t WallTimeUs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

size_t Utf8Cut(std::string_view text, size_t limit) {
  if (limit >= text.size()) {
    return text.size();
  }
  size_t cut = limit;
  // Step back over continuation bytes (10xxxxxx), at most 3, to the start of a sequence.
  for (int i = 0; i < 3 && cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80; ++i) {
    --cut;
  }
  return cut;
}

const char* RecordTypeName(RecordType type) {
  switch (type) {
    case RecordType::kLogStart: return "log_start";
    case RecordType::kSegmentStart: return "segment_start";
    case RecordType::kLogStop: return "log_stop";
    case RecordType::kDropped: return "dropped";
    case RecordType::kSessionOpen: return "session_open";
    case RecordType::kSessionClose: return "session_close";
    case RecordType::kAuthRefused: return "auth_refused";
    case RecordType::kGrantIssued: return "grant_issued";
    case RecordType::kGrantExpired: return "grant_expired";
    case RecordType::kGrantRevoked: return "grant_revoked";
    case RecordType::kStatement: return "statement";
    case RecordType::kResponse: return "response";
  }
  return "unknown";
}

bool KnownRecordType(RecordType type) {
  return std::string_view(RecordTypeName(type)) != "unknown";
}

const char* FieldName(Field field) {
  switch (field) {
    case Field::kSubject: return "subject";
    case Field::kApp: return "app";
    case Field::kGroup: return "groups";
    case Field::kRole: return "roles";
    case Field::kTenant: return "tenant";
    case Field::kTokenId: return "token_id";
    case Field::kGrant: return "grant";
    case Field::kExpiresMs: return "expires_ms";
    case Field::kPolicy: return "policy";
    case Field::kResource: return "resource";
    case Field::kClient: return "client";
    case Field::kListener: return "listener";
    case Field::kTlsVersion: return "tls_version";
    case Field::kTlsCipher: return "tls_cipher";
    case Field::kReason: return "reason";
    case Field::kSqlstate: return "sqlstate";
    case Field::kMessage: return "message";
    case Field::kText: return "text";
    case Field::kStatementName: return "statement_name";
    case Field::kPortal: return "portal";
    case Field::kParam: return "params";
    case Field::kParamNull: return "params";
    case Field::kParamHidden: return "params";
    case Field::kDecision: return "decision";
    case Field::kRule: return "rule";
    case Field::kCommand: return "command";
    case Field::kClass: return "class";
    case Field::kRows: return "rows";
    case Field::kBytesDown: return "bytes_down";
    case Field::kDurationUs: return "duration_us";
    case Field::kMasked: return "masked";
    case Field::kStatementSeq: return "statement_seq";
    case Field::kKind: return "kind";
    case Field::kBackendPid: return "backend_pid";
    case Field::kDropped: return "dropped";
    case Field::kSegment: return "segment";
    case Field::kDetail: return "detail";
    case Field::kTextSize: return "text_size";
    case Field::kStatements: return "statements";
    case Field::kCommands: return "commands";
    case Field::kVersion: return "version";
    case Field::kPrevSeq: return "prev_seq";
    case Field::kShard: return "shard";
    case Field::kBytesUp: return "bytes_up";
    case Field::kSessionId: return "session_id";
  }
  return "unknown";
}

bool IntegerField(Field field) {
  switch (field) {
    case Field::kExpiresMs:
    case Field::kRows:
    case Field::kBytesDown:
    case Field::kDurationUs:
    case Field::kStatementSeq:
    case Field::kBackendPid:
    case Field::kDropped:
    case Field::kSegment:
    case Field::kTextSize:
    case Field::kStatements:
    case Field::kCommands:
    case Field::kPrevSeq:
    case Field::kShard:
    case Field::kBytesUp:
      return true;
    default:
      return false;
  }
}

}  // namespace jitgate::audit
