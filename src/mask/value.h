// src/mask/value.h: the masking strategies, applied to one PostgreSQL value in text or binary
// format, so that what the client receives is still a valid value of the column's type.
//
// Strategies (config "strategy"):
//   kRedact   a fixed text for text-like types (MaskSpec::redact_text, default "****"); for other
//             types a fixed valid value: 0 for numbers, false, 1970-01-01, 00:00:00, the nil
//             uuid, "{}"-free JSON string "****", empty bytea, 0.0.0.0/32, ...
//   kPartial  text-like types: every character except the last `keep` alphanumerics becomes '*'
//             (one '*' per UTF-8 character; ASCII punctuation and spaces stay, so
//             "4111-1111-1111-1234" -> "****-****-****-1234"); other types: as kRedact
//   kHash     keyed HMAC-SHA-256 of the value's bytes (Hasher), stable for one key so joins and
//             group-bys still work (integers, bool, uuid, date and jsonb in binary are MACed as
//             their text form, so both formats give the same result): text-like -> "h" + 15 lower-case hex (16 characters, cut to
//             the typmod's length when that is shorter), uuid -> a uuid made of the MAC's first
//             16 bytes (version 4 and variant bits set), integers -> a non-negative number of
//             the type's width, numeric -> a 12-digit integer, date -> a date in 1970..2069,
//             timestamp[tz] -> midnight of that date, bool -> a MAC bit, bytea -> 16 MAC bytes,
//             json/jsonb -> the text form as a JSON string; other types: NULL
//   kNull     NULL
// Types the masker does not know (ValueKind::kOther: arrays, records, ranges, geometric types,
// user-defined types, ...) cannot take an arbitrary replacement (the client may parse it), so a
// kOther value to be masked is always NULL: what cannot be masked is nulled, never passed through.
// Text-like kinds are text, varchar, bpchar, name, unknown and xml ("char", oid, money and
// interval are kOther). Dates and timestamps are written in ISO style (DateStyle ISO). For varchar(n) and char(n)
// the result is kept within n characters (typmod - 4); a bpchar(n) result is padded with spaces
// to n characters when the input was that wide.
//
// Pure functions; the Hasher holds an HMAC key (OpenSSL) and is read-only after construction, so
// one instance may be shared by the sessions of a shard (not across threads: it keeps a reusable
// MAC context).
#ifndef JITGATE_SRC_MASK_VALUE_H_
#define JITGATE_SRC_MASK_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "src/mask/detect.h"

namespace jitgate::mask {

// PostgreSQL built-in type OIDs the masker knows (pg_type.dat).
inline constexpr uint32_t kOidBool = 16;
inline constexpr uint32_t kOidBytea = 17;
inline constexpr uint32_t kOidChar = 18;  // "char" (one byte)
inline constexpr uint32_t kOidName = 19;
inline constexpr uint32_t kOidInt8 = 20;
inline constexpr uint32_t kOidInt2 = 21;
inline constexpr uint32_t kOidInt4 = 23;
inline constexpr uint32_t kOidText = 25;
inline constexpr uint32_t kOidOid = 26;
inline constexpr uint32_t kOidJson = 114;
inline constexpr uint32_t kOidXml = 142;
inline constexpr uint32_t kOidFloat4 = 700;
inline constexpr uint32_t kOidFloat8 = 701;
inline constexpr uint32_t kOidUnknown = 705;
inline constexpr uint32_t kOidMoney = 790;
inline constexpr uint32_t kOidInet = 869;
inline constexpr uint32_t kOidCidr = 650;
inline constexpr uint32_t kOidBpchar = 1042;
inline constexpr uint32_t kOidVarchar = 1043;
inline constexpr uint32_t kOidDate = 1082;
inline constexpr uint32_t kOidTime = 1083;
inline constexpr uint32_t kOidTimestamp = 1114;
inline constexpr uint32_t kOidTimestamptz = 1184;
inline constexpr uint32_t kOidInterval = 1186;
inline constexpr uint32_t kOidNumeric = 1700;
inline constexpr uint32_t kOidUuid = 2950;
inline constexpr uint32_t kOidJsonb = 3802;

enum class ValueKind : uint8_t {
  kText,  // text, varchar, bpchar, name, unknown, xml: the bytes are the characters
  kBytea,
  kJson,
  kJsonb,
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kNumeric,
  kFloat4,
  kFloat8,
  kDate,
  kTime,
  kTimestamp,
  kTimestamptz,
  kUuid,
  kInet,
  kOther,  // anything else: masked values become NULL
};

// The kind of a built-in type OID (kOther for the rest). Domains and enums are resolved to
// their base type by the catalog loader before this is asked.
ValueKind KindOfType(uint32_t type_oid);
// "text", "int4", ... for logs and tests.
std::string_view ValueKindName(ValueKind kind);
// True for kinds whose text format can hold free text (detectors run on these in binary too):
// kText, kJson, kJsonb.
bool IsTextLike(ValueKind kind);

enum class Strategy : uint8_t { kRedact, kPartial, kHash, kNull };
std::string_view StrategyName(Strategy strategy);  // "redact", "partial", "hash", "null"

struct MaskSpec {
  Strategy strategy = Strategy::kRedact;
  uint32_t keep = 4;                  // kPartial: trailing alphanumerics kept
  std::string_view redact_text = "****";  // kRedact on text-like kinds (printable ASCII)
};

// The HMAC key of the "hash" strategy (32..1024 bytes from config; longer than 64 is hashed). Not thread-safe (one per
// shard); construction never fails for a key of a valid size (JG_CHECK).
class Hasher {
 public:
  explicit Hasher(std::span<const std::byte> key);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  // HMAC-SHA-256(key, data).
  void Mac(std::span<const std::byte> data, std::span<std::byte, 32> mac) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What one value became.
enum class MaskOutcome : uint8_t {
  kValue,  // `out` holds the new value's bytes (possibly the same length as the input)
  kNull,   // the value is now NULL
};

// Masks one non-NULL value of kind `kind` in `format` (0 text, 1 binary) whose bytes are
// `value`, appending the new value's bytes to `out` (nothing is appended for kNull).
// `typmod` is RowDescription's type modifier (-1 when none). `hasher` may be null only when
// spec.strategy != kHash (then kHash gives kNull). Never fails: whatever cannot be masked
// faithfully becomes NULL.
MaskOutcome MaskValue(const MaskSpec& spec, ValueKind kind, int32_t typmod, int16_t format,
                      std::span<const std::byte> value, const Hasher* hasher,
                      std::vector<std::byte>* out);

// Masks the detected spans inside a text-like value (FindSensitive's output): each span is
// replaced as `spec` says (kRedact: redact_text; kPartial: '*' except its last `keep`
// alphanumerics; kHash: the hash token of the span's bytes), the text between spans is kept.
// kNull (or a spec that cannot apply) gives kNull for the whole value. Appends to `out`.
MaskOutcome MaskSpans(const MaskSpec& spec, std::span<const std::byte> value,
                      std::span<const DetectedSpan> spans, const Hasher* hasher,
                      std::vector<std::byte>* out);

// Scans a value of `kind`/`format` with `detectors` and masks what it finds: text-like kinds,
// json and jsonb (both formats) are scanned as text and their spans masked with MaskSpans (in
// JSON a match inside a string stays inside it, a match outside one, a bare number, becomes a
// string; the result of a text kind is kept within its typmod); int8 and numeric (both
// formats, through the decimal digits of their integer part) and bytea (raw, escape or decoded
// hex) are, on a match, masked whole with MaskValue, since a '*' inside a number is no number.
// A kOther text value with a match becomes NULL. Kinds that cannot hold a match
// (bool, int2, int4, floats, dates, times, uuid, inet) are left alone. kOther in binary format
// cannot be scanned: it becomes NULL. Returns false (nothing appended) when the value is left
// unchanged, true when `*outcome` and `out` hold its replacement. More than `spans_max` (64)
// matches in one value: the whole value is masked with MaskValue.
bool ScanValue(DetectorSet detectors, const MaskSpec& spec, ValueKind kind, int32_t typmod,
               int16_t format, std::span<const std::byte> value, const Hasher* hasher,
               std::vector<std::byte>* out, MaskOutcome* outcome);

}  // namespace jitgate::mask

#endif  // JITGATE_SRC_MASK_VALUE_H_
