// tests/parsers/encode_test.cc: unit tests of the encoders the gateway uses to speak for itself
// (jitgate/parsers/pg/encode.h, jitgate/parsers/mysql/encode.h) and of the refusal built on them
// (src/shard/refusal.h).
//
// Each encoder is checked against bytes written out by hand from the spec, then for every
// output size below the one it needs (it must return 0), and for its edge cases (empty optional
// fields, embedded NUL, lengths that need all three bytes of a MySQL header). Refusals are
// decoded with the small test-only readers below and checked field by field.
#include "jitgate/parsers/mysql/encode.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jitgate/parsers/pg/encode.h"
#include "src/shard/refusal.h"

namespace jitgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Text(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL ErrorResponse (55.7, 55.8)

// A decoded ErrorResponse: the fields in wire order.
struct PgError {
  uint32_t length = 0;
  std::vector<std::pair<char, std::string>> fields;

  std::optional<std::string> Field(char type) const {
    for (const auto& [t, value] : fields) {
      if (t == type) {
        return value;
      }
    }
    return std::nullopt;
  }
};

// Decodes one whole ErrorResponse occupying all of `bytes`; nullopt (and a test failure naming
// why) if it is malformed.
std::optional<PgError> DecodePgError(std::span<const std::byte> bytes) {
  if (bytes.size() < 6) {
    ADD_FAILURE() << "ErrorResponse shorter than its header: " << bytes.size();
    return std::nullopt;
  }
  if (static_cast<char>(bytes[0]) != 'E') {
    ADD_FAILURE() << "type byte is " << static_cast<int>(bytes[0]);
    return std::nullopt;
  }
  PgError error;
  for (int i = 1; i <= 4; ++i) {
    error.length = (error.length << 8) | static_cast<uint8_t>(bytes[i]);
  }
  if (error.length + 1 != bytes.size()) {
    ADD_FAILURE() << "length field " << error.length << " but " << bytes.size() << " bytes";
    return std::nullopt;
  }
  size_t at = 5;
  while (at < bytes.size() && bytes[at] != std::byte{0}) {
    const char type = static_cast<char>(bytes[at++]);
    std::string value;
    while (at < bytes.size() && bytes[at] != std::byte{0}) {
      value.push_back(static_cast<char>(bytes[at++]));
    }
    if (at == bytes.size()) {
      ADD_FAILURE() << "field " << type << " has no terminating NUL";
      return std::nullopt;
    }
    ++at;  // the value's NUL
    error.fields.emplace_back(type, std::move(value));
  }
  if (at + 1 != bytes.size()) {
    ADD_FAILURE() << "terminator at " << at << " of " << bytes.size();
    return std::nullopt;
  }
  return error;
}

size_t EncodePg(const parsers::pg::ErrorFields& fields, std::vector<std::byte>* out) {
  out->assign(1024, std::byte{0xaa});
  const size_t size = parsers::pg::EncodeErrorResponse(fields, *out);
  out->resize(size);
  return size;
}

TEST(PgEncodeTest, ErrorResponseExactBytes) {
  parsers::pg::ErrorFields fields;
  fields.severity = "FATAL";
  fields.sqlstate = "53300";
  fields.message = "too many";
  std::vector<std::byte> out;
  const size_t size = EncodePg(fields, &out);
  // 'E', int32 length (counts itself, not the type byte), S, V, C, M fields, terminator.
  const std::string expected = std::string("E\0\0\0\x24", 5) + std::string("SFATAL\0", 7) +
                               std::string("VFATAL\0", 7) + std::string("C53300\0", 7) +
                               std::string("Mtoo many\0", 10) + std::string("\0", 1);
  ASSERT_EQ(expected.size(), 37u);
  EXPECT_EQ(size, expected.size());
  EXPECT_EQ(Text(out), expected);
}

TEST(PgEncodeTest, DetailAndHintWhenPresentInOrder) {
  parsers::pg::ErrorFields fields;
  fields.severity = "ERROR";
  fields.sqlstate = "42501";
  fields.message = "m";
  fields.detail = "d1";
  fields.hint = "h22";
  std::vector<std::byte> out;
  EncodePg(fields, &out);
  const std::string expected = std::string("E\0\0\0\x26", 5) + std::string("SERROR\0", 7) +
                               std::string("VERROR\0", 7) + std::string("C42501\0", 7) +
                               std::string("Mm\0", 3) + std::string("Dd1\0", 4) +
                               std::string("Hh22\0", 5) + std::string("\0", 1);
  EXPECT_EQ(Text(out), expected);
  const std::optional<PgError> error = DecodePgError(out);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->length, expected.size() - 1);
}

TEST(PgEncodeTest, EmptyDetailAndHintAreOmitted) {
  parsers::pg::ErrorFields fields;
  fields.severity = "FATAL";
  fields.sqlstate = "08006";
  fields.message = "down";
  std::vector<std::byte> out;
  EncodePg(fields, &out);
  const std::optional<PgError> error = DecodePgError(out);
  ASSERT_TRUE(error.has_value());
  std::string types;
  for (const auto& field : error->fields) {
    types.push_back(field.first);
  }
  EXPECT_EQ(types, "SVCM");
  EXPECT_EQ(error->Field('S'), "FATAL");
  EXPECT_EQ(error->Field('V'), "FATAL");
  EXPECT_EQ(error->Field('C'), "08006");
  EXPECT_EQ(error->Field('M'), "down");
}

TEST(PgEncodeTest, OnlyHintPresent) {
  parsers::pg::ErrorFields fields;
  fields.sqlstate = "XX000";
  fields.message = "m";
  fields.hint = "try again";
  std::vector<std::byte> out;
  EncodePg(fields, &out);
  const std::optional<PgError> error = DecodePgError(out);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->Field('S'), "ERROR");  // the default severity
  EXPECT_FALSE(error->Field('D').has_value());
  EXPECT_EQ(error->Field('H'), "try again");
}

TEST(PgEncodeTest, TooSmallBufferReturnsZeroForEverySizeBelowNeeded) {
  parsers::pg::ErrorFields fields;
  fields.severity = "FATAL";
  fields.sqlstate = "53300";
  fields.message = "too many connections";
  fields.detail = "detail";
  fields.hint = "hint";
  std::vector<std::byte> reference;
  const size_t needed = EncodePg(fields, &reference);
  ASSERT_GT(needed, 0u);
  for (size_t size = 0; size < needed; ++size) {
    std::vector<std::byte> out(size, std::byte{0xaa});
    EXPECT_EQ(parsers::pg::EncodeErrorResponse(fields, out), 0u) << "size " << size;
  }
  std::vector<std::byte> exact(needed);
  EXPECT_EQ(parsers::pg::EncodeErrorResponse(fields, exact), needed);
  EXPECT_EQ(exact, reference);
}

TEST(PgEncodeTest, EmbeddedNulEndsTheValue) {
  parsers::pg::ErrorFields fields;
  fields.severity = "FATAL";
  fields.sqlstate = "08006";
  const std::string message("abc\0def", 7);
  fields.message = message;
  const std::string hint("h\0ignored", 9);
  fields.hint = hint;
  std::vector<std::byte> out;
  EncodePg(fields, &out);
  const std::string expected = std::string("E\0\0\0\x22", 5) + std::string("SFATAL\0", 7) +
                               std::string("VFATAL\0", 7) + std::string("C08006\0", 7) +
                               std::string("Mabc\0", 5) + std::string("Hh\0", 3) +
                               std::string("\0", 1);
  EXPECT_EQ(Text(out), expected);
  ASSERT_TRUE(DecodePgError(out).has_value());
}

TEST(PgEncodeTest, LongMessageNeedsAThreeByteLength) {
  parsers::pg::ErrorFields fields;
  fields.severity = "ERROR";
  fields.sqlstate = "XX000";
  const std::string message(70000, 'x');
  fields.message = message;
  std::vector<std::byte> out(80000);
  const size_t size = parsers::pg::EncodeErrorResponse(fields, out);
  ASSERT_EQ(size, 1 + 4 + 7 + 7 + 7 + (1 + 70000 + 1) + 1);
  out.resize(size);
  const std::optional<PgError> error = DecodePgError(out);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->Field('M'), message);
}

// ---------------------------------------------------------------------------------------------
// MySQL ERR packet (Protocol::Packet, ERR_Packet)

struct MysqlPacket {
  uint32_t payload_length = 0;
  uint8_t sequence_id = 0;
  std::vector<std::byte> payload;
};

std::optional<MysqlPacket> DecodeMysqlPacket(std::span<const std::byte> bytes) {
  if (bytes.size() < 4) {
    ADD_FAILURE() << "packet shorter than its header: " << bytes.size();
    return std::nullopt;
  }
  MysqlPacket packet;
  packet.payload_length = static_cast<uint32_t>(static_cast<uint8_t>(bytes[0])) |
                          static_cast<uint32_t>(static_cast<uint8_t>(bytes[1])) << 8 |
                          static_cast<uint32_t>(static_cast<uint8_t>(bytes[2])) << 16;
  packet.sequence_id = static_cast<uint8_t>(bytes[3]);
  if (packet.payload_length + 4 != bytes.size()) {
    ADD_FAILURE() << "payload length " << packet.payload_length << " but " << bytes.size()
                  << " bytes";
    return std::nullopt;
  }
  packet.payload.assign(bytes.begin() + 4, bytes.end());
  return packet;
}

uint16_t ErrCode(const MysqlPacket& packet) {
  return static_cast<uint16_t>(static_cast<uint8_t>(packet.payload[1]) |
                               static_cast<uint8_t>(packet.payload[2]) << 8);
}

TEST(MysqlEncodeTest, ErrPacketWithSqlstateExactBytes) {
  std::vector<std::byte> out(256, std::byte{0xaa});
  const size_t size = parsers::mysql::EncodeErrPacket(2, 1045, "28000", "denied", out);
  // payload: 0xff, code 1045 = 0x0415 little endian, '#', SQLSTATE, message.
  const std::string expected =
      std::string("\x0f\x00\x00\x02", 4) + std::string("\xff\x15\x04", 3) + "#28000" + "denied";
  ASSERT_EQ(size, expected.size());
  out.resize(size);
  EXPECT_EQ(Text(out), expected);
}

TEST(MysqlEncodeTest, ErrPacketWithoutSqlstateExactBytes) {
  std::vector<std::byte> out(256, std::byte{0xaa});
  const size_t size = parsers::mysql::EncodeErrPacket(0, 1040, "", "Too many connections", out);
  const std::string expected =
      std::string("\x17\x00\x00\x00", 4) + std::string("\xff\x10\x04", 3) + "Too many connections";
  ASSERT_EQ(size, expected.size());
  out.resize(size);
  EXPECT_EQ(Text(out), expected);
}

TEST(MysqlEncodeTest, EmptyMessage) {
  std::vector<std::byte> out(16);
  const size_t size = parsers::mysql::EncodeErrPacket(7, 1105, "", "", out);
  ASSERT_EQ(size, 7u);
  out.resize(size);
  EXPECT_EQ(Text(out), std::string("\x03\x00\x00\x07\xff\x51\x04", 7));
}

TEST(MysqlEncodeTest, SequenceIdIsWrittenVerbatim) {
  for (const int id : {0, 1, 127, 128, 255}) {
    std::vector<std::byte> out(64);
    const size_t size =
        parsers::mysql::EncodeErrPacket(static_cast<uint8_t>(id), 1105, "HY000", "x", out);
    ASSERT_GT(size, 4u);
    EXPECT_EQ(static_cast<uint8_t>(out[3]), id);
  }
}

TEST(MysqlEncodeTest, LengthIsThreeBytesLittleEndian) {
  const std::string message(70000, 'm');  // payload 70003 = 0x011173
  std::vector<std::byte> out(80000);
  const size_t size = parsers::mysql::EncodeErrPacket(1, 1105, "", message, out);
  ASSERT_EQ(size, 4u + 70003u);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 0x73);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x11);
  EXPECT_EQ(static_cast<uint8_t>(out[2]), 0x01);
  EXPECT_EQ(static_cast<uint8_t>(out[3]), 1);
  out.resize(size);
  const std::optional<MysqlPacket> packet = DecodeMysqlPacket(out);
  ASSERT_TRUE(packet.has_value());
  EXPECT_EQ(ErrCode(*packet), 1105);
  EXPECT_EQ(Text(std::span(packet->payload).subspan(3)), message);
}

TEST(MysqlEncodeTest, TooSmallBufferReturnsZeroForEverySizeBelowNeeded) {
  for (const std::string_view sqlstate : {std::string_view(""), std::string_view("HY000")}) {
    const std::string_view message = "jitgate: the database is unavailable";
    std::vector<std::byte> reference(256);
    const size_t needed = parsers::mysql::EncodeErrPacket(0, 1105, sqlstate, message, reference);
    ASSERT_EQ(needed, 4 + 3 + (sqlstate.empty() ? 0 : 6) + message.size());
    reference.resize(needed);
    for (size_t size = 0; size < needed; ++size) {
      std::vector<std::byte> out(size, std::byte{0xaa});
      EXPECT_EQ(parsers::mysql::EncodeErrPacket(0, 1105, sqlstate, message, out), 0u)
          << "size " << size << " sqlstate '" << sqlstate << "'";
    }
    std::vector<std::byte> exact(needed);
    EXPECT_EQ(parsers::mysql::EncodeErrPacket(0, 1105, sqlstate, message, exact), needed);
    EXPECT_EQ(exact, reference);
  }
}

// A payload of exactly 0xffffff bytes means "a continuation packet follows" (Protocol::Packet:
// "If a MySQL client or server wants to send data, it splits the data into packets of size
// 2^24-1 bytes ... until the payload of a packet is less than 2^24-1 bytes"). An ERR packet is
// one packet, so a message too long for it must be cut to a payload of at most 0xfffffe.
TEST(MysqlEncodeTest, OverlongMessageIsCutToOneCompletePacket) {
  const std::string message(0x1000000, 'z');
  std::vector<std::byte> out(0x1000000 + 16);
  const size_t size = parsers::mysql::EncodeErrPacket(0, 1105, "", message, out);
  ASSERT_GT(size, 4u);
  const uint32_t payload = static_cast<uint32_t>(static_cast<uint8_t>(out[0])) |
                           static_cast<uint32_t>(static_cast<uint8_t>(out[1])) << 8 |
                           static_cast<uint32_t>(static_cast<uint8_t>(out[2])) << 16;
  EXPECT_EQ(size, payload + 4u);
  EXPECT_LT(payload, 0xffffffu) << "a payload of 0xffffff announces a continuation packet";
}

// ---------------------------------------------------------------------------------------------
// src/shard/refusal.h

std::vector<std::byte> Refusal(config::Protocol protocol, shard::CloseReason reason,
                               std::string_view detail) {
  std::vector<std::byte> out(512, std::byte{0xaa});  // the size of a session's refusal buffer
  const size_t size = shard::EncodeRefusal(protocol, reason, detail, out);
  EXPECT_GT(size, 0u);
  out.resize(size);
  return out;
}

TEST(RefusalTest, PostgresSessionsMaxIsFatal53300) {
  const std::vector<std::byte> bytes =
      Refusal(config::Protocol::kPostgres, shard::CloseReason::kSessionsMax, "");
  const std::optional<PgError> error = DecodePgError(bytes);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->Field('S'), "FATAL");
  EXPECT_EQ(error->Field('V'), "FATAL");
  EXPECT_EQ(error->Field('C'), "53300");
  ASSERT_TRUE(error->Field('M').has_value());
  EXPECT_THAT(*error->Field('M'), HasSubstr("jitgate"));
  EXPECT_THAT(*error->Field('M'), HasSubstr("sessions_per_shard_max"));
}

TEST(RefusalTest, PostgresConnectFailuresAre08006WithDetail) {
  for (const shard::CloseReason reason :
       {shard::CloseReason::kBackendConnectFailed, shard::CloseReason::kBackendConnectTimeout}) {
    const std::vector<std::byte> bytes = Refusal(config::Protocol::kPostgres, reason,
                                                 "resource \"orders\" at 10.0.0.5:5432: refused");
    const std::optional<PgError> error = DecodePgError(bytes);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->Field('S'), "FATAL");
    EXPECT_EQ(error->Field('C'), "08006");
    ASSERT_TRUE(error->Field('M').has_value());
    const std::string message = *error->Field('M');
    EXPECT_THAT(message, HasSubstr("jitgate"));
    EXPECT_THAT(message, HasSubstr("unavailable"));
    EXPECT_THAT(message, HasSubstr("resource \"orders\" at 10.0.0.5:5432: refused"));
  }
}

TEST(RefusalTest, PostgresEmptyDetailHasNoTrailingSeparator) {
  const std::vector<std::byte> bytes =
      Refusal(config::Protocol::kPostgres, shard::CloseReason::kBackendConnectFailed, "");
  const std::optional<PgError> error = DecodePgError(bytes);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->Field('M'), "jitgate: the database is unavailable");
}

TEST(RefusalTest, PostgresOutOfFilesIs53000) {
  const std::vector<std::byte> bytes =
      Refusal(config::Protocol::kPostgres, shard::CloseReason::kOutOfFiles, "Too many open files");
  const std::optional<PgError> error = DecodePgError(bytes);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->Field('C'), "53000");
  EXPECT_THAT(*error->Field('M'), HasSubstr("jitgate"));
}

TEST(RefusalTest, MysqlSessionsMaxIs1040) {
  const std::vector<std::byte> bytes =
      Refusal(config::Protocol::kMysql, shard::CloseReason::kSessionsMax, "");
  const std::optional<MysqlPacket> packet = DecodeMysqlPacket(bytes);
  ASSERT_TRUE(packet.has_value());
  EXPECT_EQ(packet->sequence_id, 0);
  ASSERT_GE(packet->payload.size(), 3u);
  EXPECT_EQ(static_cast<uint8_t>(packet->payload[0]), 0xff);
  EXPECT_EQ(ErrCode(*packet), 1040);
  const std::string message = Text(std::span(packet->payload).subspan(3));
  // Before the handshake the server sends the bare form: no '#' + SQLSTATE.
  EXPECT_THAT(message, Not(::testing::StartsWith("#")));
  EXPECT_THAT(message, HasSubstr("jitgate"));
}

TEST(RefusalTest, MysqlOtherReasonsAre1105) {
  for (const shard::CloseReason reason :
       {shard::CloseReason::kBackendConnectFailed, shard::CloseReason::kBackendConnectTimeout,
        shard::CloseReason::kOutOfFiles, shard::CloseReason::kInternal}) {
    const std::vector<std::byte> bytes =
        Refusal(config::Protocol::kMysql, reason, "resource \"shop\": refused");
    const std::optional<MysqlPacket> packet = DecodeMysqlPacket(bytes);
    ASSERT_TRUE(packet.has_value());
    EXPECT_EQ(packet->sequence_id, 0);
    EXPECT_EQ(static_cast<uint8_t>(packet->payload[0]), 0xff);
    EXPECT_EQ(ErrCode(*packet), 1105);
    const std::string message = Text(std::span(packet->payload).subspan(3));
    EXPECT_THAT(message, HasSubstr("jitgate"));
    EXPECT_THAT(message, HasSubstr("resource \"shop\": refused"));
  }
}

// A session's refusal buffer is 512 bytes and the relay checks the encoding fit: a long detail
// (a long resource name or address) must be cut, never make EncodeRefusal return 0.
TEST(RefusalTest, LongDetailStillFitsTheSessionBuffer) {
  const std::string detail(4000, 'd');
  for (const config::Protocol protocol : {config::Protocol::kPostgres, config::Protocol::kMysql}) {
    std::vector<std::byte> out(512);
    const size_t size =
        shard::EncodeRefusal(protocol, shard::CloseReason::kBackendConnectFailed, detail, out);
    EXPECT_GT(size, 0u);
    EXPECT_LE(size, out.size());
    out.resize(size);
    if (protocol == config::Protocol::kPostgres) {
      const std::optional<PgError> error = DecodePgError(out);
      ASSERT_TRUE(error.has_value());
      EXPECT_THAT(*error->Field('M'), HasSubstr("jitgate"));
    } else {
      ASSERT_TRUE(DecodeMysqlPacket(out).has_value());
    }
  }
}

TEST(RefusalTest, TooSmallOutputReturnsZero) {
  for (const config::Protocol protocol : {config::Protocol::kPostgres, config::Protocol::kMysql}) {
    std::vector<std::byte> reference(512);
    const size_t needed =
        shard::EncodeRefusal(protocol, shard::CloseReason::kSessionsMax, "", reference);
    ASSERT_GT(needed, 0u);
    for (size_t size = 0; size < needed; ++size) {
      std::vector<std::byte> out(size);
      EXPECT_EQ(shard::EncodeRefusal(protocol, shard::CloseReason::kSessionsMax, "", out), 0u)
          << "size " << size;
    }
  }
}

}  // namespace
}  // namespace jitgate
