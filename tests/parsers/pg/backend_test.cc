// tests/parsers/pg/backend_test.cc: the backend (server -> client) typed decoders of
// jitgate/parsers/pg/backend.h. For each message: the valid form, the frame split at every
// offset, bad lengths, trailing bytes, and the ways its fields can be wrong.
#include "jitgate/parsers/pg/backend.h"

#include <string>

#include "gtest/gtest.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/pg/startup.h"
#include "tests/parsers/pg/test_util.h"

namespace jitgate::parsers::pg {
namespace {

using testing::AsBytes;
using testing::AsString;
using testing::FrameBuilder;
using Payload = std::span<const std::byte>;

std::string Invalid(InvalidReason reason) {
  return std::string("invalid:") + InvalidReasonName(reason);
}

std::string Strings(StringIterator it) {
  std::string out;
  std::string_view s;
  while (it.Next(s)) {
    out += std::string(s) + ",";
  }
  return out;
}

std::string SummarizeAuth(Payload p) {
  Authentication m;
  const InvalidReason r = DecodeAuthentication(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  return std::to_string(m.code) + "|" + AsString(m.data) + "|" + Strings(m.mechanisms());
}

std::string SummarizeKey(Payload p, uint32_t version) {
  BackendKeyData m;
  const InvalidReason r = DecodeBackendKeyData(p, version, m);
  return r != InvalidReason::kNone ? Invalid(r)
                                   : std::to_string(m.process_id) + "|" + AsString(m.secret_key);
}

std::string SummarizeStatus(Payload p) {
  ParameterStatus m;
  const InvalidReason r = DecodeParameterStatus(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : std::string(m.name) + "=" + std::string(m.value);
}

std::string SummarizeReady(Payload p) {
  ReadyForQuery m;
  const InvalidReason r = DecodeReadyForQuery(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : std::string(1, m.status);
}

std::string SummarizeRowDescription(Payload p) {
  RowDescription m;
  const InvalidReason r = DecodeRowDescription(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  std::string out = std::to_string(m.field_count) + ":";
  FieldIterator it = m.fields();
  FieldDescription f;
  while (it.Next(f)) {
    out += std::string(f.name) + "/" + std::to_string(f.table_oid) + "/" +
           std::to_string(f.column_attnum) + "/" + std::to_string(f.type_oid) + "/" +
           std::to_string(f.type_size) + "/" + std::to_string(f.type_modifier) + "/" +
           std::to_string(f.format) + ";";
  }
  return out;
}

std::string SummarizeDataRow(Payload p) {
  DataRow m;
  const InvalidReason r = DecodeDataRow(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  std::string out = std::to_string(m.column_count) + ":";
  ValueIterator it = m.columns();
  Value v;
  while (it.Next(v)) {
    out += v.is_null ? std::string("NULL;") : "'" + std::string(v.text()) + "';";
  }
  return out;
}

std::string SummarizeCommandComplete(Payload p) {
  CommandComplete m;
  const InvalidReason r = DecodeCommandComplete(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : std::string(m.tag);
}

std::string SummarizeNotice(Payload p) {
  NoticeResponse m;
  const InvalidReason r = DecodeNoticeResponse(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  std::string out;
  NoticeFieldIterator it = m.fields();
  NoticeField f;
  while (it.Next(f)) {
    out += std::string(1, f.code) + "=" + std::string(f.value) + ";";
  }
  return out;
}

std::string SummarizeEmpty(Payload p) {
  const InvalidReason r = DecodeEmpty(p);
  return r != InvalidReason::kNone ? Invalid(r) : "empty";
}

std::string SummarizeParamDesc(Payload p) {
  ParameterDescription m;
  const InvalidReason r = DecodeParameterDescription(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  std::string out;
  for (size_t i = 0; i < m.param_count; ++i) {
    out += std::to_string(m.TypeOid(i)) + ",";
  }
  return out;
}

std::string SummarizeCopyResponse(Payload p) {
  CopyResponse m;
  const InvalidReason r = DecodeCopyResponse(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  std::string out = std::to_string(m.overall_format) + ":";
  for (size_t i = 0; i < m.column_count; ++i) {
    out += std::to_string(m.ColumnFormat(i));
  }
  return out;
}

std::string SummarizeNotification(Payload p) {
  NotificationResponse m;
  const InvalidReason r = DecodeNotificationResponse(p, m);
  return r != InvalidReason::kNone ? Invalid(r)
                                   : std::to_string(m.process_id) + "|" + std::string(m.channel) +
                                         "|" + std::string(m.payload);
}

std::string SummarizeNegotiate(Payload p) {
  NegotiateProtocolVersion m;
  const InvalidReason r = DecodeNegotiateProtocolVersion(p, m);
  return r != InvalidReason::kNone
             ? Invalid(r)
             : std::to_string(m.newest_minor_version) + "|" + Strings(m.options());
}

std::string SummarizeFunctionResult(Payload p) {
  FunctionCallResponse m;
  const InvalidReason r = DecodeFunctionCallResponse(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  return m.result.is_null ? "NULL" : "'" + std::string(m.result.text()) + "'";
}

void CheckMessage(const FrameBuilder& builder, const testing::Summarize& summarize,
                  const std::string& expected, bool check_trailing = true) {
  testing::CheckFrame(builder.Build(), Direction::kBackend, summarize, expected);
  if (check_trailing) {
    testing::CheckTrailing(builder, summarize);
  }
}

TEST(PgBackendTest, Authentication) {
  CheckMessage(FrameBuilder('R').Int32(kAuthOk), SummarizeAuth, "0||");
  CheckMessage(FrameBuilder('R').Int32(kAuthCleartextPassword), SummarizeAuth, "3||");
  CheckMessage(FrameBuilder('R').Int32(kAuthMd5Password).Raw("salt"), SummarizeAuth, "5|salt|");
  CheckMessage(FrameBuilder('R').Int32(kAuthGss), SummarizeAuth, "7||");
  CheckMessage(FrameBuilder('R').Int32(kAuthSspi), SummarizeAuth, "9||");
  CheckMessage(FrameBuilder('R').Int32(kAuthGssContinue).Raw("tok"), SummarizeAuth, "8|tok|",
               false);
  CheckMessage(FrameBuilder('R')
                   .Int32(kAuthSasl)
                   .String("SCRAM-SHA-256-PLUS")
                   .String("SCRAM-SHA-256")
                   .Byte(0),
               SummarizeAuth, "10||SCRAM-SHA-256-PLUS,SCRAM-SHA-256,");
  CheckMessage(FrameBuilder('R').Int32(kAuthSaslContinue).Raw("r=abc,s=xyz,i=4096"), SummarizeAuth,
               "11|r=abc,s=xyz,i=4096|", false);
  CheckMessage(FrameBuilder('R').Int32(kAuthSaslFinal).Raw("v=sig"), SummarizeAuth, "12|v=sig|",
               false);
  EXPECT_EQ(SummarizeAuth(AsBytes(FrameBuilder().Int32(4).body())),
            Invalid(InvalidReason::kUnknownAuthCode));
  EXPECT_EQ(SummarizeAuth(AsBytes(FrameBuilder().Int32(5).Raw("sal").body())),
            Invalid(InvalidReason::kTruncated));
  EXPECT_EQ(SummarizeAuth(AsBytes(FrameBuilder().Int32(10).String("SCRAM-SHA-256").body())),
            Invalid(InvalidReason::kMissingTerminator));
  EXPECT_EQ(SummarizeAuth(AsBytes("")), Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('R', Direction::kBackend);
}

TEST(PgBackendTest, BackendKeyData) {
  const auto v30 = [](Payload p) { return SummarizeKey(p, kProtocolVersion30); };
  const auto v32 = [](Payload p) { return SummarizeKey(p, kProtocolVersion32); };
  CheckMessage(FrameBuilder('K').Int32(1234).Raw("abcd"), v30, "1234|abcd", false);
  CheckMessage(FrameBuilder('K').Int32(1234).Raw(std::string(32, 'k')), v32,
               "1234|" + std::string(32, 'k'), false);
  // 3.0 keys are exactly four bytes; 3.2 keys 4..256.
  EXPECT_EQ(v30(AsBytes(FrameBuilder().Int32(1).Raw("abcde").body())),
            Invalid(InvalidReason::kBadKeyLength));
  EXPECT_EQ(v32(AsBytes(FrameBuilder().Int32(1).Raw("abc").body())),
            Invalid(InvalidReason::kBadKeyLength));
  EXPECT_EQ(v32(AsBytes(FrameBuilder().Int32(1).Raw(std::string(257, 'k')).body())),
            Invalid(InvalidReason::kBadKeyLength));
  EXPECT_EQ(v32(AsBytes("ab")), Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('K', Direction::kBackend);
}

TEST(PgBackendTest, ParameterStatusAndReadyForQuery) {
  CheckMessage(FrameBuilder('S').String("server_version").String("15.8"), SummarizeStatus,
               "server_version=15.8");
  EXPECT_EQ(SummarizeStatus(AsBytes(FrameBuilder().String("").String("x").body())),
            Invalid(InvalidReason::kEmptyName));
  EXPECT_EQ(SummarizeStatus(AsBytes(FrameBuilder().String("TimeZone").body())),
            Invalid(InvalidReason::kMissingTerminator));
  for (char status : {kTxIdle, kTxInBlock, kTxFailed}) {
    CheckMessage(FrameBuilder('Z').Byte(status), SummarizeReady, std::string(1, status));
  }
  EXPECT_EQ(SummarizeReady(AsBytes("Q")), Invalid(InvalidReason::kBadEnumByte));
  EXPECT_EQ(SummarizeReady(AsBytes("")), Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('S', Direction::kBackend);
  testing::CheckBadLengths('Z', Direction::kBackend);
}

FrameBuilder Field(FrameBuilder b, std::string_view name, int64_t table, int16_t attnum,
                   int64_t type, int16_t size, int64_t typmod, int16_t format) {
  return b.String(name).Int32(table).Int16(attnum).Int32(type).Int16(size).Int32(typmod).Int16(
      format);
}

TEST(PgBackendTest, RowDescription) {
  FrameBuilder b = FrameBuilder('T').Int16(2);
  b = Field(b, "id", 16384, 1, 23, 4, -1, 0);
  b = Field(b, "?column?", 0, 0, 25, -1, -1, 1);
  CheckMessage(b, SummarizeRowDescription, "2:id/16384/1/23/4/-1/0;?column?/0/0/25/-1/-1/1;");
  CheckMessage(FrameBuilder('T').Int16(0), SummarizeRowDescription, "0:");
  FrameBuilder bad_format = Field(FrameBuilder().Int16(1), "a", 0, 0, 25, -1, -1, 2);
  EXPECT_EQ(SummarizeRowDescription(AsBytes(bad_format.body())),
            Invalid(InvalidReason::kBadFormatCode));
  FrameBuilder too_few = Field(FrameBuilder().Int16(2), "a", 0, 0, 25, -1, -1, 0);
  EXPECT_EQ(SummarizeRowDescription(AsBytes(too_few.body())),
            Invalid(InvalidReason::kMissingTerminator));
  EXPECT_EQ(SummarizeRowDescription(AsBytes(FrameBuilder().Int16(-1).body())),
            Invalid(InvalidReason::kNegativeCount));
  EXPECT_EQ(SummarizeRowDescription(AsBytes(FrameBuilder().Int16(1).String("a").Int32(1).body())),
            Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('T', Direction::kBackend);
}

TEST(PgBackendTest, DataRow) {
  CheckMessage(FrameBuilder('D').Int16(4).Value("1").Value("", true).Value("").Value("hello"),
               SummarizeDataRow, "4:'1';NULL;'';'hello';");
  CheckMessage(FrameBuilder('D').Int16(0), SummarizeDataRow, "0:");
  EXPECT_EQ(SummarizeDataRow(AsBytes(FrameBuilder().Int16(2).Value("a").body())),
            Invalid(InvalidReason::kTruncated));  // fewer columns than the count
  EXPECT_EQ(SummarizeDataRow(AsBytes(FrameBuilder().Int16(1).Int32(-3).body())),
            Invalid(InvalidReason::kNegativeLength));
  EXPECT_EQ(SummarizeDataRow(AsBytes(FrameBuilder().Int16(1).Int32(5).Raw("abc").body())),
            Invalid(InvalidReason::kTruncated));
  EXPECT_EQ(SummarizeDataRow(AsBytes(FrameBuilder().Int16(-1).body())),
            Invalid(InvalidReason::kNegativeCount));
  EXPECT_EQ(SummarizeDataRow(AsBytes("\x00")), Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('D', Direction::kBackend);
}

TEST(PgBackendTest, CommandCompleteAndNotices) {
  CheckMessage(FrameBuilder('C').String("INSERT 0 1"), SummarizeCommandComplete, "INSERT 0 1");
  const FrameBuilder error = FrameBuilder('E')
                                 .Byte('S')
                                 .String("ERROR")
                                 .Byte('C')
                                 .String("42P01")
                                 .Byte('M')
                                 .String("relation \"x\" does not exist")
                                 .Byte('Z')
                                 .String("unknown code kept")
                                 .Byte(0);
  CheckMessage(error, SummarizeNotice,
               "S=ERROR;C=42P01;M=relation \"x\" does not exist;Z=unknown code kept;");
  ErrorResponse decoded;
  ASSERT_EQ(DecodeErrorResponse(AsBytes(error.body()), decoded), InvalidReason::kNone);
  EXPECT_EQ(decoded.Find('C'), "42P01");
  EXPECT_EQ(decoded.Find('D', "-"), "-");
  CheckMessage(FrameBuilder('N').Byte('S').String("NOTICE").Byte(0), SummarizeNotice, "S=NOTICE;");
  CheckMessage(FrameBuilder('N').Byte(0), SummarizeNotice, "");
  EXPECT_EQ(SummarizeNotice(AsBytes(FrameBuilder().Byte('S').String("x").body())),
            Invalid(InvalidReason::kMissingTerminator));
  EXPECT_EQ(SummarizeNotice(AsBytes("Sx")), Invalid(InvalidReason::kMissingTerminator));
  EXPECT_EQ(SummarizeNotice(AsBytes("")), Invalid(InvalidReason::kMissingTerminator));
  testing::CheckBadLengths('C', Direction::kBackend);
  testing::CheckBadLengths('E', Direction::kBackend);
  testing::CheckBadLengths('N', Direction::kBackend);
}

TEST(PgBackendTest, EmptyMessages) {
  for (char type : {kMsgEmptyQueryResponse, kMsgParseComplete, kMsgBindComplete, kMsgCloseComplete,
                    kMsgNoData, kMsgPortalSuspended, kMsgCopyDone}) {
    CheckMessage(FrameBuilder(type), SummarizeEmpty, "empty");
    testing::CheckBadLengths(type, Direction::kBackend);
  }
}

TEST(PgBackendTest, ParameterDescription) {
  CheckMessage(FrameBuilder('t').Int16(2).Int32(23).Int32(25), SummarizeParamDesc, "23,25,");
  EXPECT_EQ(SummarizeParamDesc(AsBytes(FrameBuilder().Int16(2).Int32(23).body())),
            Invalid(InvalidReason::kTruncated));
  EXPECT_EQ(SummarizeParamDesc(AsBytes(FrameBuilder().Int16(-2).body())),
            Invalid(InvalidReason::kNegativeCount));
  testing::CheckBadLengths('t', Direction::kBackend);
}

TEST(PgBackendTest, CopyResponses) {
  for (char type : {kMsgCopyInResponse, kMsgCopyOutResponse, kMsgCopyBothResponse}) {
    CheckMessage(FrameBuilder(type).Byte(0).Int16(2).Int16(0).Int16(0), SummarizeCopyResponse,
                 "0:00");
    CheckMessage(FrameBuilder(type).Byte(1).Int16(2).Int16(1).Int16(0), SummarizeCopyResponse,
                 "1:10");
    testing::CheckBadLengths(type, Direction::kBackend);
  }
  CheckMessage(
      FrameBuilder('d').Raw("row\n"), [](Payload p) { return AsString(p); }, "row\n", false);
  EXPECT_EQ(SummarizeCopyResponse(AsBytes(FrameBuilder().Byte(0).Int16(1).Int16(1).body())),
            Invalid(InvalidReason::kBadFormatCode));  // text overall, binary column
  EXPECT_EQ(SummarizeCopyResponse(AsBytes(FrameBuilder().Byte(2).Int16(0).body())),
            Invalid(InvalidReason::kBadFormatCode));
  EXPECT_EQ(SummarizeCopyResponse(AsBytes(FrameBuilder().Byte(1).Int16(1).Int16(5).body())),
            Invalid(InvalidReason::kBadFormatCode));
}

TEST(PgBackendTest, NotificationAndNegotiation) {
  CheckMessage(FrameBuilder('A').Int32(99).String("jobs").String("{\"id\":1}"),
               SummarizeNotification, "99|jobs|{\"id\":1}");
  EXPECT_EQ(SummarizeNotification(AsBytes(FrameBuilder().Int32(1).String("c").body())),
            Invalid(InvalidReason::kMissingTerminator));
  CheckMessage(FrameBuilder('v').Int32(0).Int32(2).String("_pq_.a").String("_pq_.b"),
               SummarizeNegotiate, "0|_pq_.a,_pq_.b,");
  CheckMessage(FrameBuilder('v').Int32(2).Int32(0), SummarizeNegotiate, "2|");
  EXPECT_EQ(SummarizeNegotiate(AsBytes(FrameBuilder().Int32(0).Int32(-1).body())),
            Invalid(InvalidReason::kNegativeCount));
  EXPECT_EQ(SummarizeNegotiate(AsBytes(FrameBuilder().Int32(0).Int32(2).String("a").body())),
            Invalid(InvalidReason::kMissingTerminator));
  testing::CheckBadLengths('A', Direction::kBackend);
  testing::CheckBadLengths('v', Direction::kBackend);
}

TEST(PgBackendTest, FunctionCallResponse) {
  CheckMessage(FrameBuilder('V').Value("42"), SummarizeFunctionResult, "'42'");
  CheckMessage(FrameBuilder('V').Value("", true), SummarizeFunctionResult, "NULL");
  EXPECT_EQ(SummarizeFunctionResult(AsBytes(FrameBuilder().Int32(-7).body())),
            Invalid(InvalidReason::kNegativeLength));
  EXPECT_EQ(SummarizeFunctionResult(AsBytes("")), Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('V', Direction::kBackend);
}

TEST(PgBackendTest, UnknownTypes) {
  for (char type : {'Q', 'P', 'B', 'F', 'X', 'p', 'f', '\0', '\x7f'}) {
    const Frame got = DecodeFrame(AsBytes(std::string(1, type)), Direction::kBackend, 100);
    EXPECT_EQ(got.reason, InvalidReason::kUnknownType) << static_cast<int>(type);
    EXPECT_EQ(DecodeBackendMessage(type, {}), InvalidReason::kUnknownType);
  }
}

}  // namespace
}  // namespace jitgate::parsers::pg
