// jitgate/audit.h: the audit record format (version 1), as shards queue it and as segment files
// hold it. This header is the contract between the producers (shard sessions, the control
// thread), the writer (src/audit/writer), and every reader (`jitgate audit verify|replay|tail|
// export`, tests, an auditor's own tools). All integers are little-endian.
//
// A shard encodes a record into its queue as a *queued record*:
//   QueuedHeader (24 bytes: type, flags, time_us, session) followed by fields.
// The writer turns it into a *body* by putting the log's own header in front of the fields:
//   RecordHeader (72 bytes) followed by the same fields, unchanged.
// On disk a segment file is the 8-byte kSegmentMagic followed by frames:
//   u32 body_size | body (body_size bytes) | link (32 bytes)
// where link = SHA-256(body), or HMAC-SHA-256(key, body) when the log has a chain key, and every
// body's `prev` is the link of the record before it (zeros for the first record of the log). A
// segment's first record is a kSegmentStart naming the segment and the last seq of the segment
// before, and its `prev` is the last link of that segment: the chain runs across segments.
// `seq` starts at 1 and grows by one per record over the whole log (gapless).
//
// Fields: u8 tag (Field) | u32 size | size bytes. Integer fields are 8 bytes (u64 / i64 LE).
// Text fields are raw bytes (UTF-8 as the client sent them; not validated). Repeated fields
// (kGroup, kRole, kParam, kMasked) appear once per value, in order. Readers skip unknown tags
// (a newer writer may add fields); an unknown record type or version is reported, not skipped.
#ifndef JITGATE_AUDIT_H_
#define JITGATE_AUDIT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace jitgate::audit {

inline constexpr uint8_t kFormatVersion = 1;
inline constexpr char kSegmentMagic[8] = {'J', 'G', 'A', 'U', 'D', 'I', 'T', '1'};
inline constexpr size_t kSegmentMagicSize = sizeof(kSegmentMagic);
inline constexpr size_t kLinkSize = 32;
inline constexpr size_t kFramePrefixSize = 4;  // u32 body_size
inline constexpr size_t kQueuedHeaderSize = 24;
inline constexpr size_t kRecordHeaderSize = 72;
inline constexpr size_t kFieldHeaderSize = 5;  // u8 tag + u32 size
// No body is larger than this (the writer refuses bigger queued records; readers treat a larger
// body_size as a broken frame).
inline constexpr uint32_t kBodySizeMax = 4u << 20;

// Segment file names: "audit-<first seq, 20 digits>.seg", so that names sort in log order.
inline constexpr std::string_view kSegmentPrefix = "audit-";
inline constexpr std::string_view kSegmentSuffix = ".seg";
// The head file beside the segments: the last seq and link the writer made durable, as text
// "<seq> <link hex>\n" (padded with spaces to kHeadFileSize). An anchor for verify: a log that
// ends before the head's seq, or whose record at that seq has another link, was cut.
inline constexpr std::string_view kHeadFileName = "HEAD";
inline constexpr size_t kHeadFileSize = 96;

enum class RecordType : uint8_t {
  // Written by the writer itself.
  kLogStart = 1,      // a gateway process began writing (kVersion, kDetail: clean / recovered)
  kSegmentStart = 2,  // first record of every segment (kSegment, kPrevSeq)
  kLogStop = 3,       // clean shutdown (kDropped: records dropped over the epoch)
  kDropped = 4,       // non-security records a full queue dropped (kShard, kDropped)
  // Sessions (shard threads).
  kSessionOpen = 10,   // identity, grant, resource, client, listener, TLS, backend pid
  kSessionClose = 11,  // kReason, kSqlstate/kMessage when the session was ended with an error,
                       // kStatements, kRows, kBytesUp, kBytesDown, kDurationUs
  kAuthRefused = 12,   // kClient, kReason, kSqlstate, kMessage; identity fields when known
  // Grants.
  kGrantIssued = 20,   // kGrant, kSubject, kResource, kPolicy, kExpiresMs, kDetail (new/reused)
  kGrantExpired = 21,  // kGrant, kSubject, kResource, kReason
  kGrantRevoked = 22,  // kGrant, kSubject, kResource, kReason
  // Statements (shard threads).
  kStatement = 30,  // kStatementSeq, kKind, kText / kStatementName / kPortal / kParam...,
                    // kDecision, kRule, kCommand, kClass, kPolicy, kMessage (refusal)
  kResponse = 31,   // kStatementSeq (the last statement it answers), kStatements (answered),
                    // kRows, kCommands, kBytesDown, kDurationUs, kSqlstate (first error),
                    // kMasked... ("column=count")
};

// Record flags.
inline constexpr uint16_t kFlagSecurity = 1u << 0;      // never dropped: a full queue blocks
inline constexpr uint16_t kFlagTruncated = 1u << 1;     // text or parameters were cut at a limit
inline constexpr uint16_t kFlagParamsHidden = 1u << 2;  // parameter values withheld (masking)
inline constexpr uint16_t kFlagTextNormalized = 1u << 3;  // constants in kText replaced by ?

enum class Field : uint8_t {
  kSubject = 1,
  kApp = 2,
  kGroup = 3,  // repeated
  kRole = 4,   // repeated
  kTenant = 5,
  kTokenId = 6,
  kGrant = 7,
  kExpiresMs = 8,  // i64: Unix epoch milliseconds
  kPolicy = 9,
  kResource = 10,
  kClient = 11,  // "address:port"
  kListener = 12,
  kTlsVersion = 13,
  kTlsCipher = 14,
  kReason = 15,
  kSqlstate = 16,
  kMessage = 17,
  kText = 18,  // statement text (Query, Parse)
  kStatementName = 19,
  kPortal = 20,
  kParam = 21,        // repeated: one Bind parameter value (text or binary, as sent)
  kParamNull = 22,    // repeated with kParam: a NULL parameter (size 0), keeps positions
  kParamHidden = 23,  // repeated with kParam: a withheld value (size 0)
  kDecision = 24,     // "allow", "block", "review"
  kRule = 25,
  kCommand = 26,  // "SELECT", "INSERT", ...
  kClass = 27,    // "read", "write", ...
  kRows = 28,     // u64
  kBytesDown = 29,   // u64
  kDurationUs = 30,  // u64
  kMasked = 31,      // repeated: "column=count"
  kStatementSeq = 32,  // u64: the statement's number in its session (from 1)
  kKind = 33,          // "query", "parse", "bind", "function_call"
  kBackendPid = 34,    // u64
  kDropped = 35,       // u64
  kSegment = 36,       // u64: segment number (from 1)
  kDetail = 37,
  kTextSize = 38,      // u64: the size before truncation (with kFlagTruncated)
  kStatements = 39,    // u64
  kCommands = 40,      // u64
  kVersion = 41,
  kPrevSeq = 42,       // u64
  kShard = 43,         // u64
  kBytesUp = 44,       // u64
  kSessionId = 45,     // the session's global id "<epoch>.<shard>.<session>" (kSessionOpen)
};

// The fixed front of a queued record. `size` is not stored: the queue frames its entries.
struct QueuedHeader {
  RecordType type;
  uint16_t flags;
  int64_t time_us;   // wall clock, Unix epoch microseconds
  uint64_t session;  // the shard's session id; 0 for records of no session
};

// The fixed front of a body on disk.
//   0 u8 version | 1 u8 type | 2 u16 flags | 4 u32 epoch | 8 u64 seq | 16 i64 time_us
//   | 24 u32 shard | 28 u32 reserved (0) | 32 u64 session | 40 u8[32] prev
// `epoch` counts gateway process starts over the log's life (from 1); a session is named
// "<epoch>.<shard>.<session>" (shard kShardControl: the control thread).
struct RecordHeader {
  uint8_t version = kFormatVersion;
  RecordType type{};
  uint16_t flags = 0;
  uint32_t epoch = 0;
  uint64_t seq = 0;
  int64_t time_us = 0;
  uint32_t shard = 0;
  uint64_t session = 0;
  uint8_t prev[kLinkSize] = {};
};
inline constexpr uint32_t kShardControl = 0xFFFFFFFFu;

// ---- little-endian helpers ---------------------------------------------------------------------
inline void StoreU16(std::byte* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void StoreU32(std::byte* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void StoreU64(std::byte* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint16_t LoadU16(const std::byte* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t LoadU32(const std::byte* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t LoadU64(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is little-endian");

inline void EncodeQueuedHeader(const QueuedHeader& h, std::byte* out) {
  out[0] = static_cast<std::byte>(h.type);
  out[1] = std::byte{0};
  StoreU16(out + 2, h.flags);
  StoreU32(out + 4, 0);
  StoreU64(out + 8, static_cast<uint64_t>(h.time_us));
  StoreU64(out + 16, h.session);
}

inline QueuedHeader DecodeQueuedHeader(const std::byte* in) {
  QueuedHeader h;
  h.type = static_cast<RecordType>(in[0]);
  h.flags = LoadU16(in + 2);
  h.time_us = static_cast<int64_t>(LoadU64(in + 8));
  h.session = LoadU64(in + 16);
  return h;
}

inline void EncodeRecordHeader(const RecordHeader& h, std::byte* out) {
  out[0] = static_cast<std::byte>(h.version);
  out[1] = static_cast<std::byte>(h.type);
  StoreU16(out + 2, h.flags);
  StoreU32(out + 4, h.epoch);
  StoreU64(out + 8, h.seq);
  StoreU64(out + 16, static_cast<uint64_t>(h.time_us));
  StoreU32(out + 24, h.shard);
  StoreU32(out + 28, 0);
  StoreU64(out + 32, h.session);
  std::memcpy(out + 40, h.prev, kLinkSize);
}

// `in` holds at least kRecordHeaderSize bytes.
inline RecordHeader DecodeRecordHeader(const std::byte* in) {
  RecordHeader h;
  h.version = static_cast<uint8_t>(in[0]);
  h.type = static_cast<RecordType>(in[1]);
  h.flags = LoadU16(in + 2);
  h.epoch = LoadU32(in + 4);
  h.seq = LoadU64(in + 8);
  h.time_us = static_cast<int64_t>(LoadU64(in + 16));
  h.shard = LoadU32(in + 24);
  h.session = LoadU64(in + 32);
  std::memcpy(h.prev, in + 40, kLinkSize);
  return h;
}

// One field of a record, viewed in place.
struct FieldView {
  Field tag{};
  std::span<const std::byte> value;
  std::string_view text() const {
    return {reinterpret_cast<const char*>(value.data()), value.size()};
  }
  // Integer fields: false when the value is not 8 bytes.
  bool integer(uint64_t* out) const {
    if (value.size() != 8) {
      return false;
    }
    *out = LoadU64(value.data());
    return true;
  }
};

// Walks the fields after a header. A field whose size runs past the end makes the walk stop with
// valid() false: the record is malformed.
class FieldReader {
 public:
  explicit FieldReader(std::span<const std::byte> fields) : rest_(fields) {}
  // The next field; false at the end or on a malformed field.
  bool Next(FieldView* out) {
    if (rest_.empty()) {
      return false;
    }
    if (rest_.size() < kFieldHeaderSize) {
      valid_ = false;
      rest_ = {};
      return false;
    }
    const uint32_t size = LoadU32(rest_.data() + 1);
    if (size > rest_.size() - kFieldHeaderSize) {
      valid_ = false;
      rest_ = {};
      return false;
    }
    out->tag = static_cast<Field>(rest_[0]);
    out->value = rest_.subspan(kFieldHeaderSize, size);
    rest_ = rest_.subspan(kFieldHeaderSize + size);
    return true;
  }
  bool valid() const { return valid_; }

 private:
  std::span<const std::byte> rest_;
  bool valid_ = true;
};

// Names for logs, replay and JSON export ("session_open", "text", ...); "unknown" otherwise.
const char* RecordTypeName(RecordType type);
const char* FieldName(Field field);
// True for the types this version defines.
bool KnownRecordType(RecordType type);
// True for fields whose value is an 8-byte integer.
bool IntegerField(Field field);

}  // namespace jitgate::audit

#endif  // JITGATE_AUDIT_H_
