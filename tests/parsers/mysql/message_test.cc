// tests/parsers/mysql/message_test.cc: typed views of connection-phase packets, OK/ERR/EOF and
// commands (handshake.h, response.h, command.h): valid forms, every cut through the framing,
// every truncation, bad lengths, trailing bytes.
#include <gtest/gtest.h>

#include "jitgate/parsers/mysql/command.h"
#include "jitgate/parsers/mysql/encode.h"
#include "jitgate/parsers/mysql/handshake.h"
#include "jitgate/parsers/mysql/response.h"
#include "tests/parsers/mysql/builder.h"

namespace jitgate::parsers::mysql {
namespace {

using testing::PayloadBuilder;

PayloadBuilder MariaDbGreeting() {
  const uint32_t caps = kClientProtocol41 | kClientSecureConnection | kClientPluginAuth |
                        kClientConnectAttrs | kClientDeprecateEof | kClientSsl;
  return PayloadBuilder()
      .Int1(0x0a)
      .Nul("5.5.5-10.11.6-MariaDB")
      .Int4(42)
      .Str("abcdefgh")
      .Int1(0)
      .Int2(caps & 0xffff)
      .Int1(45)
      .Int2(2)
      .Int2(caps >> 16)
      .Int1(21)
      .Zeros(6)
      .Int4(kMariaDbClientProgress | kMariaDbClientCacheMetadata)
      .Str("ijklmnopqrst")
      .Int1(0)
      .Nul("mysql_native_password");
}

TEST(MysqlHandshake, MariaDbGreeting) {
  const auto payload = MariaDbGreeting().bytes();
  const HandshakeV10 h = DecodeHandshakeV10(payload);
  ASSERT_EQ(h.status, DecodeStatus::kOk) << InvalidReasonName(h.reason);
  EXPECT_EQ(h.server_version, "5.5.5-10.11.6-MariaDB");
  EXPECT_EQ(h.connection_id, 42u);
  EXPECT_EQ(h.auth_plugin_data_part1, "abcdefgh");
  EXPECT_EQ(h.auth_plugin_data_part2, std::string_view("ijklmnopqrst\0", 13));
  EXPECT_EQ(h.mariadb_capabilities, kMariaDbClientProgress | kMariaDbClientCacheMetadata);
  EXPECT_EQ(h.charset, 45);
  EXPECT_EQ(h.status_flags, 2);
  EXPECT_TRUE(h.capabilities & kClientDeprecateEof);
  EXPECT_EQ(h.auth_plugin_name, kMysqlNativePassword);
  testing::ExpectFramingAtEveryCut(payload, 0);
  // Every truncation is invalid, except that the plugin name may lack its NUL (bug #59453).
  testing::ExpectPrefixesInvalid(Bytes(payload), DecodeHandshakeV10, payload.size() - 22);
  auto trailing = MariaDbGreeting().Str("x").bytes();
  EXPECT_EQ(DecodeHandshakeV10(trailing).reason, InvalidReason::kTrailingBytes);
  auto v9 = payload;
  v9[0] = std::byte{9};
  EXPECT_EQ(DecodeHandshakeV10(v9).reason, InvalidReason::kUnsupportedProtocol);
}

TEST(MysqlHandshake, EncodedGreetingRoundTrips) {
  std::byte out[256];
  HandshakeV10Fields fields;
  fields.server_version = "8.0.36-jitgate";
  fields.connection_id = 7;
  fields.auth_plugin_data = "0123456789abcdefghij";
  fields.capabilities = kClientLongPassword | kClientDeprecateEof | kClientSsl;
  const size_t size = EncodeHandshakeV10(fields, out);
  ASSERT_GT(size, 4u);
  const Frame frame = DecodeFrame(Bytes(out, size), 1024);
  ASSERT_EQ(frame.status, DecodeStatus::kOk);
  EXPECT_EQ(frame.first_sequence_id, 0);
  const HandshakeV10 h = DecodeHandshakeV10(frame.payload);
  ASSERT_EQ(h.status, DecodeStatus::kOk) << InvalidReasonName(h.reason);
  EXPECT_EQ(h.server_version, "8.0.36-jitgate");
  EXPECT_EQ(h.auth_plugin_name, kCachingSha2Password);
  EXPECT_EQ(std::string(h.auth_plugin_data_part1) + std::string(h.auth_plugin_data_part2),
            std::string("0123456789abcdefghij\0", 21));
  EXPECT_TRUE(h.capabilities & kClientPluginAuth);
  EXPECT_EQ(EncodeHandshakeV10(fields, std::span<std::byte>(out, 20)), 0u);
  fields.auth_plugin_data = "short";
  EXPECT_EQ(EncodeHandshakeV10(fields, out), 0u);
}

PayloadBuilder Response(uint32_t caps, bool lenenc_auth = true) {
  PayloadBuilder b;
  b.Int4(caps).Int4(1 << 24).Int1(45).Zeros(19).Int4(kMariaDbClientProgress).Nul("alice");
  if (lenenc_auth) {
    b.LenStr("0123456789abcdefghij");
  } else if (caps & kClientSecureConnection) {
    b.Int1(20).Str("0123456789abcdefghij");
  } else {
    b.Nul("0123456789abcdefghij");
  }
  if (caps & kClientConnectWithDb) {
    b.Nul("shop");
  }
  if (caps & kClientPluginAuth) {
    b.Nul("caching_sha2_password");
  }
  if (caps & kClientConnectAttrs) {
    b.Lenenc(30).LenStr("_client_name").LenStr("libmysql").LenStr("_pid").LenStr("12");
  }
  return b;
}

TEST(MysqlHandshake, ResponseAllAuthForms) {
  const uint32_t base = kClientProtocol41 | kClientConnectWithDb | kClientPluginAuth;
  for (const auto& [caps, lenenc] :
       {std::pair{base | kClientPluginAuthLenencClientData | kClientConnectAttrs, true},
        std::pair{base | kClientSecureConnection, false}, std::pair{base, false}}) {
    const auto payload = Response(caps, lenenc).bytes();
    const HandshakeResponse41 r = DecodeHandshakeResponse41(payload);
    ASSERT_EQ(r.status, DecodeStatus::kOk) << InvalidReasonName(r.reason) << " caps " << caps;
    EXPECT_EQ(r.username, "alice");
    EXPECT_EQ(r.auth_response, "0123456789abcdefghij");
    EXPECT_EQ(r.database, "shop");
    EXPECT_EQ(r.auth_plugin_name, kCachingSha2Password);
    EXPECT_EQ(r.max_packet_size, 1u << 24);
    EXPECT_EQ(r.mariadb_capabilities, kMariaDbClientProgress);  // CLIENT_LONG_PASSWORD clear
    testing::ExpectFramingAtEveryCut(payload);
    if (caps & kClientConnectAttrs) {
      auto cursor = r.connect_attrs.cursor();
      std::string_view k;
      std::string_view v;
      ASSERT_TRUE(cursor.Next(k, v));
      EXPECT_EQ(k, "_client_name");
      EXPECT_EQ(v, "libmysql");
      ASSERT_TRUE(cursor.Next(k, v));
      EXPECT_EQ(v, "12");
      EXPECT_FALSE(cursor.Next(k, v));
      EXPECT_TRUE(cursor.ok());
    }
    // Truncations are invalid up to the end of the auth response (later fields are optional).
    testing::ExpectPrefixesInvalid(Bytes(payload), DecodeHandshakeResponse41, 32 + 6 + 21);
    const auto trailing = Response(caps, lenenc).Int1(0x55).Int1(0x55).bytes();
    EXPECT_EQ(DecodeHandshakeResponse41(trailing).status, DecodeStatus::kInvalid);
  }
  // A connect-attribute block whose pair overruns it.
  const auto bad_attrs = PayloadBuilder()
                             .Int4(kClientProtocol41 | kClientConnectAttrs)
                             .Int4(0)
                             .Int1(8)
                             .Zeros(23)
                             .Nul("u")
                             .Nul("")
                             .Lenenc(3)
                             .Lenenc(5)
                             .Str("ab")
                             .bytes();
  EXPECT_EQ(DecodeHandshakeResponse41(bad_attrs).reason, InvalidReason::kTruncated);
}

TEST(MysqlHandshake, SslRequest) {
  const auto payload = PayloadBuilder()
                           .Int4(kClientProtocol41 | kClientSsl)
                           .Int4(1 << 24)
                           .Int1(33)
                           .Zeros(23)
                           .bytes();
  ASSERT_TRUE(IsSslRequest(payload));
  const SslRequest ssl = DecodeSslRequest(payload);
  EXPECT_EQ(ssl.status, DecodeStatus::kOk);
  EXPECT_EQ(ssl.charset, 33);
  testing::ExpectFramingAtEveryCut(payload);
  testing::ExpectPrefixesInvalid(Bytes(payload), DecodeSslRequest);
  const auto no_ssl = PayloadBuilder().Int4(kClientProtocol41).Int4(0).Int1(33).Zeros(23).bytes();
  EXPECT_FALSE(IsSslRequest(no_ssl));
  EXPECT_EQ(DecodeSslRequest(no_ssl).status, DecodeStatus::kInvalid);
  const auto longer = PayloadBuilder().Int4(kClientSsl).Int4(0).Int1(33).Zeros(24).bytes();
  EXPECT_FALSE(IsSslRequest(longer));
  EXPECT_EQ(DecodeSslRequest(longer).reason, InvalidReason::kTrailingBytes);
}

TEST(MysqlAuth, SwitchAndMoreData) {
  const auto sw = PayloadBuilder().Int1(0xfe).Nul("caching_sha2_password").Str("nonce").bytes();
  const AuthSwitchRequest request = DecodeAuthSwitchRequest(sw);
  ASSERT_EQ(request.status, DecodeStatus::kOk);
  EXPECT_EQ(request.plugin_name, kCachingSha2Password);
  EXPECT_EQ(request.plugin_data, "nonce");
  testing::ExpectFramingAtEveryCut(sw, 2);
  EXPECT_TRUE(DecodeAuthSwitchRequest(PayloadBuilder().Int1(0xfe).bytes()).old_method);
  EXPECT_EQ(DecodeAuthSwitchRequest(PayloadBuilder().Int1(0xfe).Str("x").bytes()).reason,
            InvalidReason::kMissingNul);
  EXPECT_EQ(DecodeAuthSwitchRequest({}).reason, InvalidReason::kEmptyPayload);
  EXPECT_EQ(DecodeAuthSwitchResponse(PayloadBuilder().Str("scrambled").bytes()).data, "scrambled");

  std::byte out[64];
  size_t size = EncodePerformFullAuth(4, out);
  ASSERT_EQ(size, 6u);
  AuthMoreData more = DecodeAuthMoreData(Bytes(out + 4, size - 4));
  EXPECT_TRUE(more.perform_full_auth());
  EXPECT_FALSE(more.fast_auth_success());
  EXPECT_TRUE(DecodeAuthMoreData(PayloadBuilder().Int1(1).Int1(3).bytes()).fast_auth_success());
  EXPECT_EQ(DecodeAuthMoreData(PayloadBuilder().Int1(2).bytes()).reason,
            InvalidReason::kWrongHeader);
  size = EncodeAuthSwitchRequest(2, kCachingSha2Password, "nonce", out);
  const AuthSwitchRequest round = DecodeAuthSwitchRequest(Bytes(out + 4, size - 4));
  EXPECT_EQ(round.plugin_name, kCachingSha2Password);
  EXPECT_EQ(round.plugin_data, "nonce");
  size = EncodeAuthMoreData(3, "-----BEGIN PUBLIC KEY-----", out);
  EXPECT_EQ(DecodeAuthMoreData(Bytes(out + 4, size - 4)).data, "-----BEGIN PUBLIC KEY-----");
}

TEST(MysqlResponse, OkBothEofModesAndSessionTrack) {
  const auto ok = PayloadBuilder()
                      .Int1(0)
                      .Lenenc(300)
                      .Lenenc(70000)
                      .Int2(0x4002)
                      .Int2(1)
                      .LenStr("info")
                      .LenStr("\x01\x02xy")
                      .bytes();
  const OkPacket p = DecodeOkPacket(ok, kClientSessionTrack);
  ASSERT_EQ(p.status, DecodeStatus::kOk) << InvalidReasonName(p.reason);
  EXPECT_EQ(p.affected_rows, 300u);
  EXPECT_EQ(p.last_insert_id, 70000u);
  EXPECT_EQ(p.warnings, 1);
  EXPECT_EQ(p.info, "info");
  EXPECT_EQ(p.session_state_changes, "\x01\x02xy");
  testing::ExpectFramingAtEveryCut(ok);
  EXPECT_EQ(DecodeOkPacket(PayloadBuilder()
                               .Int1(0)
                               .Lenenc(1)
                               .Lenenc(2)
                               .Int2(2)
                               .Int2(0)
                               .Str("Rows matched: 1")
                               .bytes(),
                           0)
                .info,
            "Rows matched: 1");
  // The 0xfe OK that ends rows under CLIENT_DEPRECATE_EOF, and the classic EOF.
  const auto fe_ok = PayloadBuilder().Int1(0xfe).Int1(0).Int1(0).Int2(0x22).Int2(0).bytes();
  EXPECT_TRUE(IsResultSetEnd(fe_ok, kClientDeprecateEof));
  EXPECT_TRUE(IsEofPacket(fe_ok));  // 7 bytes: also an EOF shape
  EXPECT_EQ(DecodeOkPacket(fe_ok, kClientDeprecateEof).status_flags, 0x22);
  const auto eof = PayloadBuilder().Int1(0xfe).Int2(3).Int2(0x0a).bytes();
  const EofPacket e = DecodeEofPacket(eof);
  ASSERT_EQ(e.status, DecodeStatus::kOk);
  EXPECT_EQ(e.warnings, 3);
  EXPECT_EQ(e.status_flags, 0x0a);
  testing::ExpectPrefixesInvalid(Bytes(eof), DecodeEofPacket);
  EXPECT_EQ(DecodeEofPacket(PayloadBuilder().Int1(0xfe).Int2(3).Int2(0).Int1(0).bytes()).reason,
            InvalidReason::kTrailingBytes);
  EXPECT_EQ(DecodeOkPacket(PayloadBuilder().Int1(0).Int1(0xff).bytes(), 0).reason,
            InvalidReason::kBadLenencPrefix);
  EXPECT_EQ(DecodeOkPacket(PayloadBuilder().Int1(7).bytes(), 0).reason,
            InvalidReason::kWrongHeader);
  testing::ExpectPrefixesInvalid(
      Bytes(ok), [](Bytes b) { return DecodeOkPacket(b, kClientSessionTrack); }, 7);
  std::byte out[64];
  OkFields fields;
  fields.affected_rows = 5;
  fields.info = "done";
  size_t size = EncodeOkPacket(1, fields, kClientSessionTrack, out);
  const OkPacket round = DecodeOkPacket(Bytes(out + 4, size - 4), kClientSessionTrack);
  EXPECT_EQ(round.affected_rows, 5u);
  EXPECT_EQ(round.info, "done");
  size = EncodeEofPacket(5, 1, kServerMoreResultsExists, out);
  EXPECT_EQ(DecodeEofPacket(Bytes(out + 4, size - 4)).status_flags, kServerMoreResultsExists);
  EXPECT_EQ(EncodeEofPacket(5, 1, 0, std::span<std::byte>(out, 8)), 0u);
}

TEST(MysqlResponse, ErrWithAndWithoutSqlState) {
  const auto err =
      PayloadBuilder().Int1(0xff).Int2(1146).Str("#42S02Table 'x' doesn't exist").bytes();
  const ErrPacket e = DecodeErrPacket(err);
  ASSERT_EQ(e.status, DecodeStatus::kOk);
  EXPECT_EQ(e.error_code, 1146);
  EXPECT_EQ(e.sql_state, "42S02");
  EXPECT_EQ(e.message, "Table 'x' doesn't exist");
  testing::ExpectFramingAtEveryCut(err);
  const auto bare_payload = PayloadBuilder().Int1(0xff).Int2(1040).Str("Too many").bytes();
  const ErrPacket bare = DecodeErrPacket(bare_payload);
  EXPECT_EQ(bare.sql_state, "");
  EXPECT_EQ(bare.message, "Too many");
  EXPECT_TRUE(
      DecodeErrPacket(PayloadBuilder().Int1(0xff).Int2(0xffff).Str("\x01\x01").bytes()).progress);
  EXPECT_EQ(DecodeErrPacket(PayloadBuilder().Int1(0xff).Int1(1).bytes()).reason,
            InvalidReason::kTruncated);
  std::byte out[64];
  const size_t size = EncodeErrPacket(1, 1045, "28000", "Access denied", out);
  const ErrPacket round = DecodeErrPacket(Bytes(out + 4, size - 4));
  EXPECT_EQ(round.error_code, 1045);
  EXPECT_EQ(round.sql_state, "28000");
}

TEST(MysqlResponse, StmtPrepareOk) {
  const auto ok = PayloadBuilder().Int1(0).Int4(9).Int2(3).Int2(2).Int1(0).Int2(1).bytes();
  const StmtPrepareOk p = DecodeStmtPrepareOk(ok);
  ASSERT_EQ(p.status, DecodeStatus::kOk);
  EXPECT_EQ(p.statement_id, 9u);
  EXPECT_EQ(p.column_count, 3);
  EXPECT_EQ(p.param_count, 2);
  EXPECT_EQ(p.warnings, 1);
  testing::ExpectPrefixesInvalid(Bytes(ok), DecodeStmtPrepareOk);
  testing::ExpectFramingAtEveryCut(ok);
  EXPECT_EQ(DecodeStmtPrepareOk(
                PayloadBuilder().Int1(0).Int4(9).Int2(3).Int2(2).Int1(0).Int2(1).Int2(0).bytes())
                .reason,
            InvalidReason::kTrailingBytes);
}

}  // namespace
}  // namespace jitgate::parsers::mysql
