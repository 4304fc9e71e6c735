// tests/audit/record_test.cc: unit tests of the queued-record format (jitgate/audit.h) and of
// RecordBuilder, Utf8Cut and the format's names (src/audit/record.h).
//
// Every record the builder makes is read back with DecodeQueuedHeader and FieldReader, the same
// decoders the writer and the offline tools use, so the two sides cannot drift apart.
#include "src/audit/record.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/audit.h"

namespace jitgate::audit {
namespace {

constexpr size_t kCapacity = 4096;

struct DecodedField {
  Field tag;
  std::string value;
};

struct Decoded {
  QueuedHeader header;
  std::vector<DecodedField> fields;
  bool valid = false;
};

Decoded Decode(std::span<const std::byte> record) {
  Decoded out;
  EXPECT_GE(record.size(), kQueuedHeaderSize);
  if (record.size() < kQueuedHeaderSize) {
    return out;
  }
  out.header = DecodeQueuedHeader(record.data());
  FieldReader reader(record.subspan(kQueuedHeaderSize));
  FieldView field;
  while (reader.Next(&field)) {
    out.fields.push_back({field.tag, std::string(field.text())});
  }
  out.valid = reader.valid();
  return out;
}

uint64_t IntegerOf(const DecodedField& field) {
  EXPECT_EQ(field.value.size(), 8u);
  uint64_t value = 0;
  if (field.value.size() == 8) {
    value = LoadU64(reinterpret_cast<const std::byte*>(field.value.data()));
  }
  return value;
}

std::span<const std::byte> AsBytes(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

// ---- header encoding ---------------------------------------------------------------------------

TEST(AuditFormat, QueuedHeaderRoundTrip) {
  std::byte bytes[kQueuedHeaderSize];
  std::memset(bytes, 0xAB, sizeof(bytes));
  const QueuedHeader in{RecordType::kResponse, kFlagSecurity | kFlagTextNormalized,
                        -1234567890123, 0xFEDCBA9876543210ull};
  EncodeQueuedHeader(in, bytes);
  EXPECT_EQ(bytes[0], std::byte{31});
  EXPECT_EQ(bytes[1], std::byte{0});
  EXPECT_EQ(LoadU32(bytes + 4), 0u);  // reserved
  const QueuedHeader out = DecodeQueuedHeader(bytes);
  EXPECT_EQ(out.type, in.type);
  EXPECT_EQ(out.flags, in.flags);
  EXPECT_EQ(out.time_us, in.time_us);
  EXPECT_EQ(out.session, in.session);
}

TEST(AuditFormat, RecordHeaderRoundTrip) {
  RecordHeader in;
  in.type = RecordType::kGrantIssued;
  in.flags = kFlagTruncated;
  in.epoch = 7;
  in.seq = uint64_t{1} << 40;
  in.time_us = 1'700'000'000'000'000;
  in.shard = kShardControl;
  in.session = 99;
  for (size_t i = 0; i < kLinkSize; ++i) {
    in.prev[i] = static_cast<uint8_t>(i * 3);
  }
  std::byte bytes[kRecordHeaderSize];
  std::memset(bytes, 0xCD, sizeof(bytes));
  EncodeRecordHeader(in, bytes);
  EXPECT_EQ(bytes[0], std::byte{kFormatVersion});
  EXPECT_EQ(LoadU32(bytes + 28), 0u);  // reserved
  const RecordHeader out = DecodeRecordHeader(bytes);
  EXPECT_EQ(out.version, kFormatVersion);
  EXPECT_EQ(out.type, in.type);
  EXPECT_EQ(out.flags, in.flags);
  EXPECT_EQ(out.epoch, in.epoch);
  EXPECT_EQ(out.seq, in.seq);
  EXPECT_EQ(out.time_us, in.time_us);
  EXPECT_EQ(out.shard, in.shard);
  EXPECT_EQ(out.session, in.session);
  EXPECT_EQ(std::memcmp(out.prev, in.prev, kLinkSize), 0);
}

// ---- RecordBuilder -----------------------------------------------------------------------------

TEST(RecordBuilder, OutputDecodes) {
  RecordBuilder builder(kCapacity);
  EXPECT_EQ(builder.capacity(), kCapacity);
  builder.Begin(RecordType::kStatement, kFlagSecurity, 1'700'000'000'123'456, 42);
  EXPECT_EQ(builder.size(), kQueuedHeaderSize);
  builder.Integer(Field::kStatementSeq, 3);
  EXPECT_TRUE(builder.Text(Field::kKind, "bind"));
  EXPECT_TRUE(builder.Text(Field::kPortal, ""));
  EXPECT_TRUE(builder.Bytes(Field::kParam, AsBytes(std::string_view("\x00\x01\xff", 3))));
  builder.Marker(Field::kParamNull);
  builder.Marker(Field::kParamHidden);
  builder.AddFlags(kFlagParamsHidden);
  EXPECT_TRUE(builder.Text(Field::kDecision, "allow"));
  const std::span<const std::byte> record = builder.Finish();
  EXPECT_EQ(record.size(), builder.size());
  EXPECT_EQ(record.size(), kQueuedHeaderSize + 7 * kFieldHeaderSize + 8 + 4 + 0 + 3 + 0 + 0 + 5);

  const Decoded decoded = Decode(record);
  EXPECT_TRUE(decoded.valid);
  EXPECT_EQ(decoded.header.type, RecordType::kStatement);
  EXPECT_EQ(decoded.header.flags, kFlagSecurity | kFlagParamsHidden);
  EXPECT_EQ(decoded.header.time_us, 1'700'000'000'123'456);
  EXPECT_EQ(decoded.header.session, 42u);
  ASSERT_EQ(decoded.fields.size(), 7u);
  EXPECT_EQ(decoded.fields[0].tag, Field::kStatementSeq);
  EXPECT_EQ(IntegerOf(decoded.fields[0]), 3u);
  EXPECT_EQ(decoded.fields[1].tag, Field::kKind);
  EXPECT_EQ(decoded.fields[1].value, "bind");
  EXPECT_EQ(decoded.fields[2].tag, Field::kPortal);
  EXPECT_EQ(decoded.fields[2].value, "");
  EXPECT_EQ(decoded.fields[3].tag, Field::kParam);
  EXPECT_EQ(decoded.fields[3].value, std::string("\x00\x01\xff", 3));
  EXPECT_EQ(decoded.fields[4].tag, Field::kParamNull);
  EXPECT_EQ(decoded.fields[4].value.size(), 0u);
  EXPECT_EQ(decoded.fields[5].tag, Field::kParamHidden);
  EXPECT_EQ(decoded.fields[6].tag, Field::kDecision);
  EXPECT_EQ(decoded.fields[6].value, "allow");
}

TEST(RecordBuilder, BeginStartsOver) {
  RecordBuilder builder(kCapacity);
  builder.Begin(RecordType::kStatement, kFlagSecurity, 1, 1);
  builder.Text(Field::kText, std::string(5000, 'x'));  // truncated
  builder.Finish();
  builder.Begin(RecordType::kSessionClose, 0, 2, 9);
  builder.Text(Field::kReason, "client_closed");
  const Decoded decoded = Decode(builder.Finish());
  EXPECT_TRUE(decoded.valid);
  EXPECT_EQ(decoded.header.type, RecordType::kSessionClose);
  EXPECT_EQ(decoded.header.flags, 0u);  // neither the old flags nor the old truncation
  EXPECT_EQ(decoded.header.session, 9u);
  ASSERT_EQ(decoded.fields.size(), 1u);
  EXPECT_EQ(decoded.fields[0].value, "client_closed");
}

TEST(RecordBuilder, IntegerFields) {
  RecordBuilder builder(kCapacity);
  builder.Begin(RecordType::kResponse, 0, 0, 0);
  const uint64_t values[] = {0, 1, 0xFFFFFFFFull, 0x0123456789ABCDEFull, ~uint64_t{0}};
  for (uint64_t value : values) {
    builder.Integer(Field::kRows, value);
  }
  builder.Integer(Field::kExpiresMs, static_cast<uint64_t>(int64_t{-5}));
  const std::span<const std::byte> record = builder.Finish();
  FieldReader reader(record.subspan(kQueuedHeaderSize));
  FieldView field;
  for (uint64_t value : values) {
    ASSERT_TRUE(reader.Next(&field));
    EXPECT_EQ(field.tag, Field::kRows);
    EXPECT_TRUE(IntegerField(field.tag));
    uint64_t got = 0;
    ASSERT_TRUE(field.integer(&got));
    EXPECT_EQ(got, value);
  }
  ASSERT_TRUE(reader.Next(&field));
  uint64_t got = 0;
  ASSERT_TRUE(field.integer(&got));
  EXPECT_EQ(static_cast<int64_t>(got), -5);
  EXPECT_FALSE(reader.Next(&field));
  EXPECT_TRUE(reader.valid());

  // A text field is not an integer, whatever its tag says.
  builder.Begin(RecordType::kResponse, 0, 0, 0);
  builder.Text(Field::kRows, "1234567");
  const std::span<const std::byte> text_record = builder.Finish();
  FieldReader text_reader(text_record.subspan(kQueuedHeaderSize));
  ASSERT_TRUE(text_reader.Next(&field));
  EXPECT_FALSE(field.integer(&got));
}

TEST(RecordBuilder, TextCutAtCapacitySetsTruncated) {
  RecordBuilder builder(kCapacity);
  builder.Begin(RecordType::kStatement, kFlagSecurity, 5, 6);
  EXPECT_EQ(builder.room(), kCapacity - kQueuedHeaderSize - kFieldHeaderSize);
  const std::string big(6000, 'q');
  EXPECT_FALSE(builder.Text(Field::kText, big));
  EXPECT_EQ(builder.size(), kCapacity);
  EXPECT_EQ(builder.room(), 0u);
  // Nothing more fits: no field header is written, the flag stays.
  EXPECT_FALSE(builder.Text(Field::kDecision, "allow"));
  EXPECT_FALSE(builder.Text(Field::kDecision, ""));
  builder.Integer(Field::kRows, 1);
  EXPECT_EQ(builder.size(), kCapacity);
  const Decoded decoded = Decode(builder.Finish());
  EXPECT_TRUE(decoded.valid);
  EXPECT_EQ(decoded.header.flags, kFlagSecurity | kFlagTruncated);
  ASSERT_EQ(decoded.fields.size(), 1u);
  EXPECT_EQ(decoded.fields[0].value, big.substr(0, kCapacity - kQueuedHeaderSize - kFieldHeaderSize));
}

TEST(RecordBuilder, ExactFitIsNotTruncated) {
  RecordBuilder builder(kCapacity);
  builder.Begin(RecordType::kStatement, 0, 0, 0);
  const std::string exact(builder.room(), 'e');
  EXPECT_TRUE(builder.Text(Field::kText, exact));
  EXPECT_EQ(builder.size(), kCapacity);
  EXPECT_EQ(Decode(builder.Finish()).header.flags, 0u);
}

TEST(RecordBuilder, FewerBytesThanAFieldHeaderLeft) {
  RecordBuilder builder(kCapacity);
  builder.Begin(RecordType::kStatement, 0, 0, 0);
  // Leave 3 bytes: not even a field header fits.
  builder.Text(Field::kText, std::string(kCapacity - kQueuedHeaderSize - kFieldHeaderSize - 3, 'a'));
  EXPECT_EQ(builder.size(), kCapacity - 3);
  EXPECT_EQ(builder.room(), 0u);
  EXPECT_FALSE(builder.Text(Field::kDecision, ""));
  EXPECT_EQ(builder.size(), kCapacity - 3);
  const Decoded decoded = Decode(builder.Finish());
  EXPECT_TRUE(decoded.valid);
  EXPECT_EQ(decoded.fields.size(), 1u);
  EXPECT_EQ(decoded.header.flags, kFlagTruncated);

  // 5..12 bytes left: a text header fits, an integer does not.
  builder.Begin(RecordType::kResponse, 0, 0, 0);
  builder.Text(Field::kText, std::string(kCapacity - kQueuedHeaderSize - kFieldHeaderSize - 12, 'a'));
  builder.Integer(Field::kRows, 7);
  EXPECT_EQ(builder.size(), kCapacity - 12);
  EXPECT_TRUE(builder.Text(Field::kDecision, ""));
  const Decoded second = Decode(builder.Finish());
  EXPECT_TRUE(second.valid);
  ASSERT_EQ(second.fields.size(), 2u);
  EXPECT_EQ(second.fields[1].tag, Field::kDecision);
  EXPECT_EQ(second.header.flags, kFlagTruncated);
}

TEST(RecordBuilder, TextLimitedUnderTheLimitIsPlain) {
  RecordBuilder builder(kCapacity);
  builder.Begin(RecordType::kStatement, 0, 0, 0);
  builder.TextLimited(Field::kText, "SELECT 1", 8);
  const Decoded decoded = Decode(builder.Finish());
  EXPECT_EQ(decoded.header.flags, 0u);
  ASSERT_EQ(decoded.fields.size(), 1u);
  EXPECT_EQ(decoded.fields[0].value, "SELECT 1");
}

TEST(RecordBuilder, TextLimitedCutsOnUtf8BoundaryAndAddsTextSize) {
  // "é" is 2 bytes, "€" 3, "😀" 4: a limit inside any of them cuts before it.
  struct Case {
    std::string text;
    size_t limit;
    std::string kept;
  };
  const Case cases[] = {
      {"abcdef", 3, "abc"},
      {"a\xC3\xA9z", 2, "a"},                 // inside é
      {"a\xC3\xA9z", 3, "a\xC3\xA9"},         // just after é
      {"ab\xE2\x82\xAC", 3, "ab"},            // after € 's lead byte
      {"ab\xE2\x82\xAC" "c", 4, "ab"},        // inside €
      {"x\xF0\x9F\x98\x80y", 4, "x"},         // inside 😀, 3 bytes in
      {"x\xF0\x9F\x98\x80y", 5, "x\xF0\x9F\x98\x80"},
      {"\xC3\xA9\xC3\xA9", 1, ""},            // nothing whole fits
      {"hello", 0, ""},
  };
  RecordBuilder builder(kCapacity);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text + " limit " + std::to_string(c.limit));
    builder.Begin(RecordType::kStatement, kFlagSecurity, 0, 0);
    builder.TextLimited(Field::kText, c.text, c.limit);
    builder.Text(Field::kDecision, "allow");
    const Decoded decoded = Decode(builder.Finish());
    EXPECT_TRUE(decoded.valid);
    EXPECT_EQ(decoded.header.flags, kFlagSecurity | kFlagTruncated);
    ASSERT_EQ(decoded.fields.size(), 3u);
    EXPECT_EQ(decoded.fields[0].tag, Field::kText);
    EXPECT_EQ(decoded.fields[0].value, c.kept);
    EXPECT_EQ(decoded.fields[1].tag, Field::kTextSize);
    EXPECT_EQ(IntegerOf(decoded.fields[1]), c.text.size());
    EXPECT_EQ(decoded.fields[2].tag, Field::kDecision);
  }
}

TEST(RecordBuilder, TextLimitedCutsAtCapacityWithRoomForTextSize) {
  RecordBuilder builder(kCapacity);
  builder.Begin(RecordType::kStatement, 0, 0, 0);
  // Under its limit but over the builder's room: cut so that kTextSize still fits.
  std::string text;
  while (text.size() < 2 * kCapacity) {
    text += "\xE2\x82\xAC";  // €
  }
  builder.TextLimited(Field::kText, text, 1u << 20);
  EXPECT_LE(builder.size(), kCapacity);
  const Decoded decoded = Decode(builder.Finish());
  EXPECT_TRUE(decoded.valid);
  EXPECT_EQ(decoded.header.flags, kFlagTruncated);
  ASSERT_EQ(decoded.fields.size(), 2u);
  const std::string& kept = decoded.fields[0].value;
  const size_t fit = kCapacity - kQueuedHeaderSize - 2 * kFieldHeaderSize - 8;
  EXPECT_LE(kept.size(), fit);
  EXPECT_GT(kept.size() + 3, fit);
  EXPECT_EQ(kept.size() % 3, 0u);  // whole characters only
  EXPECT_EQ(kept, text.substr(0, kept.size()));
  EXPECT_EQ(decoded.fields[1].tag, Field::kTextSize);
  EXPECT_EQ(IntegerOf(decoded.fields[1]), text.size());
}

// ---- Utf8Cut -----------------------------------------------------------------------------------

TEST(Utf8Cut, Cases) {
  EXPECT_EQ(Utf8Cut("", 0), 0u);
  EXPECT_EQ(Utf8Cut("", 10), 0u);
  EXPECT_EQ(Utf8Cut("abc", 10), 3u);
  EXPECT_EQ(Utf8Cut("abc", 3), 3u);
  EXPECT_EQ(Utf8Cut("abc", 2), 2u);
  EXPECT_EQ(Utf8Cut("abc", 0), 0u);
  // 2, 3 and 4-byte sequences, the limit at every byte of each.
  const std::string_view two = "a\xC3\xA9";          // a é
  EXPECT_EQ(Utf8Cut(two, 1), 1u);
  EXPECT_EQ(Utf8Cut(two, 2), 1u);
  EXPECT_EQ(Utf8Cut(two, 3), 3u);
  const std::string_view three = "a\xE2\x82\xAC" "b";  // a € b
  EXPECT_EQ(Utf8Cut(three, 1), 1u);
  EXPECT_EQ(Utf8Cut(three, 2), 1u);
  EXPECT_EQ(Utf8Cut(three, 3), 1u);
  EXPECT_EQ(Utf8Cut(three, 4), 4u);
  const std::string_view four = "a\xF0\x9F\x98\x80" "b";  // a 😀 b
  EXPECT_EQ(Utf8Cut(four, 1), 1u);
  EXPECT_EQ(Utf8Cut(four, 2), 1u);
  EXPECT_EQ(Utf8Cut(four, 3), 1u);
  EXPECT_EQ(Utf8Cut(four, 4), 1u);
  EXPECT_EQ(Utf8Cut(four, 5), 5u);
  EXPECT_EQ(Utf8Cut(four, 6), 6u);
  // A sequence at the very start.
  EXPECT_EQ(Utf8Cut("\xF0\x9F\x98\x80", 3), 0u);
  // Invalid text (not validated): a run of continuation bytes steps back at most 3.
  const std::string_view run = "\x80\x80\x80\x80\x80\x80";
  EXPECT_EQ(Utf8Cut(run, 5), 2u);
  EXPECT_EQ(Utf8Cut(run, 2), 0u);
  // A lone lead byte at the cut is a sequence start: kept out.
  EXPECT_EQ(Utf8Cut("ab\xC3", 2), 2u);
}

TEST(Utf8Cut, NeverSplitsASequence) {
  // Mixed text; at every limit the kept prefix ends on a boundary and is as long as possible.
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\xC3\xA9";
  const size_t starts[] = {0, 1, 3, 6, 10, 11, 13};  // sequence starts, and the end
  for (size_t limit = 0; limit <= text.size() + 1; ++limit) {
    size_t expected = 0;
    for (size_t start : starts) {
      if (start <= limit) {
        expected = start;
      }
    }
    EXPECT_EQ(Utf8Cut(text, limit), std::min(expected, text.size())) << "limit " << limit;
  }
}

// ---- FieldReader -------------------------------------------------------------------------------

std::vector<std::byte> FieldBytes(uint8_t tag, uint32_t size, std::string_view value) {
  std::vector<std::byte> out(kFieldHeaderSize + value.size());
  out[0] = static_cast<std::byte>(tag);
  StoreU32(out.data() + 1, size);
  std::memcpy(out.data() + kFieldHeaderSize, value.data(), value.size());
  return out;
}

TEST(FieldReader, EmptyIsValid) {
  FieldReader reader({});
  FieldView field;
  EXPECT_FALSE(reader.Next(&field));
  EXPECT_TRUE(reader.valid());
}

TEST(FieldReader, FieldEndingAtTheEndIsValid) {
  std::vector<std::byte> bytes = FieldBytes(17, 3, "abc");
  const std::vector<std::byte> second = FieldBytes(200, 0, "");  // unknown tag: still walked
  bytes.insert(bytes.end(), second.begin(), second.end());
  FieldReader reader(bytes);
  FieldView field;
  ASSERT_TRUE(reader.Next(&field));
  EXPECT_EQ(field.tag, Field::kMessage);
  EXPECT_EQ(field.text(), "abc");
  ASSERT_TRUE(reader.Next(&field));
  EXPECT_EQ(static_cast<uint8_t>(field.tag), 200);
  EXPECT_TRUE(field.value.empty());
  EXPECT_FALSE(reader.Next(&field));
  EXPECT_TRUE(reader.valid());
}

TEST(FieldReader, RejectsAFieldRunningPastTheEnd) {
  for (uint32_t size : {4u, 100u, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
    SCOPED_TRACE(size);
    std::vector<std::byte> bytes = FieldBytes(18, 2, "ok");
    const std::vector<std::byte> bad = FieldBytes(18, size, "abc");  // says more than it has
    bytes.insert(bytes.end(), bad.begin(), bad.end());
    FieldReader reader(bytes);
    FieldView field;
    ASSERT_TRUE(reader.Next(&field));
    EXPECT_EQ(field.text(), "ok");
    EXPECT_FALSE(reader.Next(&field));
    EXPECT_FALSE(reader.valid());
    // Sticky: the walk does not resume.
    EXPECT_FALSE(reader.Next(&field));
    EXPECT_FALSE(reader.valid());
  }
}

TEST(FieldReader, RejectsATruncatedFieldHeader) {
  const std::vector<std::byte> whole = FieldBytes(18, 0, "");
  for (size_t cut = 1; cut < kFieldHeaderSize; ++cut) {
    SCOPED_TRACE(cut);
    FieldReader reader(std::span<const std::byte>(whole.data(), cut));
    FieldView field;
    EXPECT_FALSE(reader.Next(&field));
    EXPECT_FALSE(reader.valid());
  }
}

// ---- names -------------------------------------------------------------------------------------

constexpr RecordType kDefinedTypes[] = {
    RecordType::kLogStart,     RecordType::kSegmentStart,  RecordType::kLogStop,
    RecordType::kDropped,      RecordType::kSessionOpen,   RecordType::kSessionClose,
    RecordType::kAuthRefused,  RecordType::kGrantIssued,   RecordType::kGrantExpired,
    RecordType::kGrantRevoked, RecordType::kStatement,     RecordType::kResponse,
};

TEST(AuditNames, EveryRecordTypeHasAName) {
  std::set<std::string> names;
  for (RecordType type : kDefinedTypes) {
    const std::string name = RecordTypeName(type);
    EXPECT_NE(name, "unknown") << static_cast<int>(type);
    EXPECT_TRUE(KnownRecordType(type)) << static_cast<int>(type);
    names.insert(name);
  }
  EXPECT_EQ(names.size(), std::size(kDefinedTypes));  // all distinct
  EXPECT_EQ(std::string(RecordTypeName(RecordType::kSessionOpen)), "session_open");
  // Every other byte value is unknown.
  size_t known = 0;
  for (int v = 0; v < 256; ++v) {
    const RecordType type = static_cast<RecordType>(v);
    if (KnownRecordType(type)) {
      ++known;
    } else {
      EXPECT_EQ(std::string(RecordTypeName(type)), "unknown") << v;
    }
  }
  EXPECT_EQ(known, std::size(kDefinedTypes));
}

TEST(AuditNames, EveryFieldHasAName) {
  // Fields are numbered 1..45 without gaps.
  constexpr int kFieldLast = static_cast<int>(Field::kSessionId);
  static_assert(kFieldLast == 45);
  for (int v = 1; v <= kFieldLast; ++v) {
    EXPECT_NE(std::string(FieldName(static_cast<Field>(v))), "unknown") << v;
  }
  EXPECT_EQ(std::string(FieldName(static_cast<Field>(0))), "unknown");
  EXPECT_EQ(std::string(FieldName(static_cast<Field>(kFieldLast + 1))), "unknown");
  EXPECT_EQ(std::string(FieldName(static_cast<Field>(255))), "unknown");
  EXPECT_EQ(std::string(FieldName(Field::kText)), "text");
  // The parameter markers share the name of their list.
  EXPECT_EQ(std::string(FieldName(Field::kParamNull)), FieldName(Field::kParam));
  EXPECT_EQ(std::string(FieldName(Field::kParamHidden)), FieldName(Field::kParam));
}

TEST(AuditNames, IntegerFieldsAreTheU64Ones) {
  const Field integers[] = {
      Field::kExpiresMs, Field::kRows,     Field::kBytesDown,  Field::kDurationUs,
      Field::kStatementSeq, Field::kBackendPid, Field::kDropped, Field::kSegment,
      Field::kTextSize,  Field::kStatements, Field::kCommands, Field::kPrevSeq,
      Field::kShard,     Field::kBytesUp,
  };
  std::set<int> integer_set;
  for (Field field : integers) {
    EXPECT_TRUE(IntegerField(field)) << FieldName(field);
    integer_set.insert(static_cast<int>(field));
  }
  for (int v = 0; v < 256; ++v) {
    if (integer_set.count(v) == 0) {
      EXPECT_FALSE(IntegerField(static_cast<Field>(v))) << v;
    }
  }
}

TEST(WallTimeUs, IsTheWallClock) {
  const int64_t before = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t now = WallTimeUs();
  const int64_t after = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  EXPECT_GE(now, before - 1);
  EXPECT_LE(now, after + 1);
  EXPECT_GT(now, int64_t{1'600'000'000} * 1'000'000);  // after September 2020
}

}  // namespace
}  // namespace jitgate::audit
