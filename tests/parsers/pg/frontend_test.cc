// tests/parsers/pg/frontend_test.cc: the frontend (client -> server) typed decoders of
// jitgate/parsers/pg/frontend.h and the start-up packet bodies of startup.h. For each message:
// the valid form, the frame split at every offset, bad lengths, trailing bytes, and the ways its
// fields can be wrong.
#include "jitgate/parsers/pg/frontend.h"

#include <string>

#include "gtest/gtest.h"
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

std::string Values(ValueIterator it) {
  std::string out;
  Value value;
  while (it.Next(value)) {
    out += value.is_null ? std::string("NULL") : "'" + std::string(value.text()) + "'";
    out += ";";
  }
  return it.error() == InvalidReason::kNone ? out : Invalid(it.error());
}

std::string SummarizeQuery(Payload p) {
  Query m;
  const InvalidReason r = DecodeQuery(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : "Q " + std::string(m.query);
}

std::string SummarizeParse(Payload p) {
  Parse m;
  const InvalidReason r = DecodeParse(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  std::string out = "P " + std::string(m.statement) + "|" + std::string(m.query) + "|";
  for (size_t i = 0; i < m.param_type_count; ++i) {
    out += std::to_string(m.ParamTypeOid(i)) + ",";
  }
  return out;
}

std::string SummarizeBind(Payload p) {
  Bind m;
  const InvalidReason r = DecodeBind(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  std::string out = "B " + std::string(m.portal) + "|" + std::string(m.statement) + "|";
  for (size_t i = 0; i < m.param_count; ++i) {
    out += std::to_string(m.ParamFormat(i));
  }
  out += "|" + Values(m.params()) + "|" + std::to_string(m.result_format_count) + ":";
  for (size_t i = 0; i < 3; ++i) {
    out += std::to_string(m.ResultFormat(i));
  }
  return out;
}

std::string SummarizeTargeted(Payload p) {
  Describe m;
  const InvalidReason r = DecodeDescribe(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : std::string(1, m.target) + std::string(m.name);
}

std::string SummarizeExecute(Payload p) {
  Execute m;
  const InvalidReason r = DecodeExecute(p, m);
  return r != InvalidReason::kNone ? Invalid(r)
                                   : std::string(m.portal) + "/" + std::to_string(m.max_rows);
}

std::string SummarizeEmpty(Payload p) {
  const InvalidReason r = DecodeEmpty(p);
  return r != InvalidReason::kNone ? Invalid(r) : "empty";
}

std::string SummarizeCopyData(Payload p) {
  CopyData m;
  const InvalidReason r = DecodeCopyData(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : AsString(m.data);
}

std::string SummarizeCopyFail(Payload p) {
  CopyFail m;
  const InvalidReason r = DecodeCopyFail(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : std::string(m.message);
}

std::string SummarizeFunctionCall(Payload p) {
  FunctionCall m;
  const InvalidReason r = DecodeFunctionCall(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  return std::to_string(m.function_oid) + "|" + std::to_string(m.ArgFormat(0)) + "|" +
         Values(m.args()) + "|" + std::to_string(m.result_format);
}

std::string SummarizePassword(Payload p) {
  PasswordMessage m;
  const InvalidReason r = DecodePasswordMessage(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : std::string(m.password);
}

std::string SummarizeSaslInitial(Payload p) {
  SaslInitialResponse m;
  const InvalidReason r = DecodeSaslInitialResponse(p, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  return std::string(m.mechanism) + "|" + (m.has_response ? AsString(m.response) : "none");
}

std::string SummarizeSaslResponse(Payload p) {
  SaslResponse m;
  const InvalidReason r = DecodeSaslResponse(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : AsString(m.data);
}

std::string SummarizeGssResponse(Payload p) {
  GssResponse m;
  const InvalidReason r = DecodeGssResponse(p, m);
  return r != InvalidReason::kNone ? Invalid(r) : AsString(m.data);
}

void CheckMessage(const FrameBuilder& builder, const testing::Summarize& summarize,
                  const std::string& expected, bool check_trailing = true) {
  testing::CheckFrame(builder.Build(), Direction::kFrontend, summarize, expected);
  if (check_trailing) {
    testing::CheckTrailing(builder, summarize);
  }
}

TEST(PgFrontendTest, Query) {
  CheckMessage(FrameBuilder('Q').String("SELECT 1; SELECT 2"), SummarizeQuery,
               "Q SELECT 1; SELECT 2");
  EXPECT_EQ(SummarizeQuery(AsBytes("SELECT 1")), Invalid(InvalidReason::kMissingTerminator));
  EXPECT_EQ(SummarizeQuery(AsBytes("")), Invalid(InvalidReason::kMissingTerminator));
  testing::CheckBadLengths('Q', Direction::kFrontend);
}

TEST(PgFrontendTest, Parse) {
  CheckMessage(FrameBuilder('P').String("s1").String("SELECT $1, $2").Int16(2).Int32(23).Int32(0),
               SummarizeParse, "P s1|SELECT $1, $2|23,0,");
  CheckMessage(FrameBuilder('P').String("").String("BEGIN").Int16(0), SummarizeParse, "P |BEGIN|");
  const std::string negative = FrameBuilder().String("").String("q").Int16(-1).body();
  EXPECT_EQ(SummarizeParse(AsBytes(negative)), Invalid(InvalidReason::kNegativeCount));
  const std::string short_oids = FrameBuilder().String("").String("q").Int16(2).Int32(1).body();
  EXPECT_EQ(SummarizeParse(AsBytes(short_oids)), Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('P', Direction::kFrontend);
}

FrameBuilder BindFrame() {
  return FrameBuilder('B')
      .String("p1")
      .String("s1")
      .Int16(3)
      .Int16(0)
      .Int16(1)
      .Int16(0)
      .Int16(3)
      .Value("42")
      .Value("", true)
      .Value("\x01\x02")
      .Int16(1)
      .Int16(1);
}

TEST(PgFrontendTest, Bind) {
  CheckMessage(BindFrame(), SummarizeBind, "B p1|s1|010|'42';NULL;'\x01\x02';|1:111");
  // Zero format codes: all text; one code applies to all.
  CheckMessage(FrameBuilder('B').String("").String("").Int16(0).Int16(1).Value("x").Int16(0),
               SummarizeBind, "B ||0|'x';|0:000");
  CheckMessage(FrameBuilder('B')
                   .String("")
                   .String("")
                   .Int16(1)
                   .Int16(1)
                   .Int16(2)
                   .Value("a")
                   .Value("b")
                   .Int16(0),
               SummarizeBind, "B ||11|'a';'b';|0:000");
}

TEST(PgFrontendTest, BindRejectsBadFields) {
  const auto body = [](FrameBuilder b) { return SummarizeBind(AsBytes(b.body())); };
  // Two format codes for three parameters.
  EXPECT_EQ(body(FrameBuilder().String("").String("").Int16(2).Int16(0).Int16(0).Int16(3)),
            Invalid(InvalidReason::kCountMismatch));
  EXPECT_EQ(body(FrameBuilder().String("").String("").Int16(1).Int16(2).Int16(0).Int16(0)),
            Invalid(InvalidReason::kBadFormatCode));
  EXPECT_EQ(body(FrameBuilder().String("").String("").Int16(-1)),
            Invalid(InvalidReason::kNegativeCount));
  EXPECT_EQ(body(FrameBuilder().String("").String("").Int16(0).Int16(-2)),
            Invalid(InvalidReason::kNegativeCount));
  EXPECT_EQ(body(FrameBuilder().String("").String("").Int16(0).Int16(1).Int32(-2).Int16(0)),
            Invalid(InvalidReason::kNegativeLength));
  EXPECT_EQ(body(FrameBuilder().String("").String("").Int16(0).Int16(1).Int32(10).Raw("abc")),
            Invalid(InvalidReason::kTruncated));
  EXPECT_EQ(body(FrameBuilder().String("").String("").Int16(0).Int16(1).Value("a")),
            Invalid(InvalidReason::kTruncated));  // result format count missing
  EXPECT_EQ(body(FrameBuilder().String("portal")), Invalid(InvalidReason::kMissingTerminator));
  testing::CheckBadLengths('B', Direction::kFrontend);
}

TEST(PgFrontendTest, DescribeAndClose) {
  CheckMessage(FrameBuilder('D').Byte('S').String("s1"), SummarizeTargeted, "Ss1");
  CheckMessage(FrameBuilder('D').Byte('P').String(""), SummarizeTargeted, "P");
  CheckMessage(FrameBuilder('C').Byte('S').String("s2"), SummarizeTargeted, "Ss2");
  EXPECT_EQ(SummarizeTargeted(AsBytes(FrameBuilder().Byte('X').String("a").body())),
            Invalid(InvalidReason::kBadEnumByte));
  EXPECT_EQ(SummarizeTargeted(AsBytes("")), Invalid(InvalidReason::kTruncated));
  Close close;
  EXPECT_EQ(DecodeClose(AsBytes(std::string("P\0", 2)), close), InvalidReason::kNone);
  EXPECT_EQ(close.target, kTargetPortal);
  testing::CheckBadLengths('D', Direction::kFrontend);
  testing::CheckBadLengths('C', Direction::kFrontend);
}

TEST(PgFrontendTest, Execute) {
  CheckMessage(FrameBuilder('E').String("").Int32(0), SummarizeExecute, "/0");
  CheckMessage(FrameBuilder('E').String("c1").Int32(100), SummarizeExecute, "c1/100");
  EXPECT_EQ(SummarizeExecute(AsBytes(std::string("c1\0\0\0", 5))),
            Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('E', Direction::kFrontend);
}

TEST(PgFrontendTest, EmptyMessages) {
  for (char type : {kMsgSync, kMsgFlush, kMsgTerminate, kMsgCopyDone}) {
    CheckMessage(FrameBuilder(type), SummarizeEmpty, "empty");
    testing::CheckBadLengths(type, Direction::kFrontend);
  }
}

TEST(PgFrontendTest, Copy) {
  CheckMessage(FrameBuilder('d').Raw("1\tfoo\n"), SummarizeCopyData, "1\tfoo\n", false);
  CheckMessage(FrameBuilder('d'), SummarizeCopyData, "", false);
  CheckMessage(FrameBuilder('f').String("client gave up"), SummarizeCopyFail, "client gave up");
  testing::CheckBadLengths('d', Direction::kFrontend);
  testing::CheckBadLengths('f', Direction::kFrontend);
}

TEST(PgFrontendTest, FunctionCall) {
  CheckMessage(
      FrameBuilder('F').Int32(952).Int16(1).Int16(1).Int16(2).Value("ab").Value("", true).Int16(1),
      SummarizeFunctionCall, "952|1|'ab';NULL;|1");
  EXPECT_EQ(
      SummarizeFunctionCall(AsBytes(FrameBuilder().Int32(1).Int16(0).Int16(0).Int16(7).body())),
      Invalid(InvalidReason::kBadFormatCode));
  EXPECT_EQ(SummarizeFunctionCall(
                AsBytes(FrameBuilder().Int32(1).Int16(2).Int16(0).Int16(0).Int16(1).body())),
            Invalid(InvalidReason::kCountMismatch));
  testing::CheckBadLengths('F', Direction::kFrontend);
}

TEST(PgFrontendTest, PasswordFamily) {
  CheckMessage(FrameBuilder('p').String("md5abcdef"), SummarizePassword, "md5abcdef");
  CheckMessage(FrameBuilder('p').String("SCRAM-SHA-256").Value("n,,n=,r=abc"), SummarizeSaslInitial,
               "SCRAM-SHA-256|n,,n=,r=abc");
  CheckMessage(FrameBuilder('p').String("SCRAM-SHA-256").Int32(-1), SummarizeSaslInitial,
               "SCRAM-SHA-256|none");
  CheckMessage(FrameBuilder('p').Raw("c=biws,r=abc,p=xyz"), SummarizeSaslResponse,
               "c=biws,r=abc,p=xyz", false);
  CheckMessage(FrameBuilder('p').Raw("\x60\x82gss"), SummarizeGssResponse, "\x60\x82gss", false);
  EXPECT_EQ(SummarizeSaslInitial(AsBytes(FrameBuilder().String("M").Int32(-5).body())),
            Invalid(InvalidReason::kNegativeLength));
  EXPECT_EQ(SummarizeSaslInitial(AsBytes(FrameBuilder().String("").Int32(-1).body())),
            Invalid(InvalidReason::kEmptyName));
  EXPECT_EQ(SummarizeSaslInitial(AsBytes(FrameBuilder().String("M").Int32(9).Raw("ab").body())),
            Invalid(InvalidReason::kTruncated));
  testing::CheckBadLengths('p', Direction::kFrontend);
}

TEST(PgFrontendTest, TypeLimitsAndUnknownTypes) {
  // A Sync claiming 20000 bytes is refused on its header, before any body arrives.
  const Frame sync = DecodeFrame(AsBytes(FrameBuilder('S').BuildWithLength(20000)),
                                 Direction::kFrontend, testing::kTestFrameSizeMax);
  EXPECT_EQ(sync.reason, InvalidReason::kLengthAboveTypeLimit);
  for (char type : {'T', 'Z', 'R', 'K', '1', 'A', '\0', '\xff'}) {
    const Frame got = DecodeFrame(AsBytes(std::string(1, type)), Direction::kFrontend, 100);
    EXPECT_EQ(got.reason, InvalidReason::kUnknownType) << static_cast<int>(type);
    EXPECT_EQ(DecodeFrontendMessage(type, {}), InvalidReason::kUnknownType);
  }
}

// ---------------------------------------------------------------------------------------------
// Start-up packet bodies (startup.h)

std::string SummarizeStartup(Payload payload) {
  StartupMessage m;
  const InvalidReason r = DecodeStartupPayload(payload, m);
  if (r != InvalidReason::kNone) {
    return Invalid(r);
  }
  std::string out = std::to_string(m.protocol_version) + " user=" + std::string(m.user) +
                    " db=" + std::string(m.database) + " opt=" + std::string(m.options) + " |";
  StartupParamIterator it = m.params();
  StartupParam param;
  while (it.Next(param)) {
    out += std::string(param.name) + "=" + std::string(param.value) + ";";
  }
  return out;
}

TEST(PgStartupBodyTest, StartupMessageParameters) {
  const FrameBuilder builder = FrameBuilder()
                                   .Int32(kProtocolVersion30)
                                   .String("user")
                                   .String("alice")
                                   .String("database")
                                   .String("app")
                                   .String("application_name")
                                   .String("psql")
                                   .Byte(0);
  const std::string expected =
      "196608 user=alice db=app opt= |user=alice;database=app;application_name=psql;";
  testing::CheckFrame(builder.Build(), Direction::kStartup, SummarizeStartup, expected);
  testing::CheckTrailing(builder, SummarizeStartup);
  StartupMessage m;
  const std::string packet = builder.Build();
  ASSERT_EQ(DecodeStartupMessage(AsBytes(packet), m), InvalidReason::kNone);
  EXPECT_EQ(m.Find("application_name"), "psql");
  EXPECT_EQ(m.Find("options", "none"), "none");
  // A GUC given twice: the server applies the last value, and so does Find.
  const std::string twice = FrameBuilder()
                                .Int32(kProtocolVersion30)
                                .String("user")
                                .String("u")
                                .String("TimeZone")
                                .String("UTC")
                                .String("TimeZone")
                                .String("CET")
                                .Byte(0)
                                .Build();
  ASSERT_EQ(DecodeStartupMessage(AsBytes(twice), m), InvalidReason::kNone);
  EXPECT_EQ(m.Find("TimeZone"), "CET");
  EXPECT_EQ(SummarizeStartup(AsBytes(FrameBuilder()
                                         .Int32(kProtocolVersion32)
                                         .String("user")
                                         .String("u")
                                         .String("options")
                                         .String("-c x=y")
                                         .Byte(0)
                                         .body())),
            "196610 user=u db= opt=-c x=y |user=u;options=-c x=y;");
}

TEST(PgStartupBodyTest, StartupMessageErrors) {
  const auto body = [](FrameBuilder b) { return SummarizeStartup(AsBytes(b.body())); };
  EXPECT_EQ(body(FrameBuilder().Int32(kProtocolVersion30).String("database").String("x").Byte(0)),
            Invalid(InvalidReason::kMissingUser));
  EXPECT_EQ(body(FrameBuilder()
                     .Int32(kProtocolVersion30)
                     .String("user")
                     .String("alice")
                     .String("user")
                     .String("postgres")
                     .Byte(0)),
            Invalid(InvalidReason::kDuplicateParameter));
  EXPECT_EQ(body(FrameBuilder()
                     .Int32(kProtocolVersion30)
                     .String("user")
                     .String("a")
                     .String("replication")
                     .String("false")
                     .String("replication")
                     .String("database")
                     .Byte(0)),
            Invalid(InvalidReason::kDuplicateParameter));
  EXPECT_EQ(body(FrameBuilder().Int32(kProtocolVersion30).String("user").String("x")),
            Invalid(InvalidReason::kMissingTerminator));
  EXPECT_EQ(body(FrameBuilder().Int32(kProtocolVersion30).String("user")),
            Invalid(InvalidReason::kMissingTerminator));
  EXPECT_EQ(body(FrameBuilder().Int32(0x00020000).Byte(0)),
            Invalid(InvalidReason::kUnsupportedProtocol));
  EXPECT_EQ(body(FrameBuilder().Int32(kSslRequestCode)),
            Invalid(InvalidReason::kNotStartupMessage));
  EXPECT_EQ(body(FrameBuilder().Int16(3)), Invalid(InvalidReason::kTruncated));
  // Whole-packet form: the length must match the bytes.
  StartupMessage m;
  const std::string packet =
      FrameBuilder().Int32(kProtocolVersion30).String("user").String("u").Byte(0).Build();
  EXPECT_EQ(DecodeStartupMessage(AsBytes(packet + "z"), m), InvalidReason::kTrailingBytes);
  EXPECT_EQ(DecodeStartupMessage(AsBytes(packet.substr(0, packet.size() - 1)), m),
            InvalidReason::kTruncated);
  // Start-up frames: below the 8-byte header, above the 10000-byte cap.
  for (uint32_t length : {0u, 4u, 7u}) {
    const Frame got = DecodeFrame(AsBytes(FrameBuilder().BuildWithLength(length)),
                                  Direction::kStartup, testing::kTestFrameSizeMax);
    EXPECT_EQ(got.reason, InvalidReason::kLengthBelowHeader) << length;
  }
  const Frame big = DecodeFrame(AsBytes(FrameBuilder().BuildWithLength(kStartupPacketSizeMax + 1)),
                                Direction::kStartup, testing::kTestFrameSizeMax);
  EXPECT_EQ(big.reason, InvalidReason::kLengthAboveMax);
}

TEST(PgStartupBodyTest, CancelRequestKeys) {
  CancelRequest cancel;
  const std::string key30 =
      FrameBuilder().Int32(kCancelRequestCode).Int32(4242).Raw("abcd").Build();
  ASSERT_EQ(DecodeCancelRequest(AsBytes(key30), cancel), InvalidReason::kNone);
  EXPECT_EQ(cancel.process_id, 4242u);
  EXPECT_EQ(AsString(cancel.secret_key), "abcd");
  const std::string key32 =
      FrameBuilder().Int32(kCancelRequestCode).Int32(7).Raw(std::string(32, 'k')).Build();
  ASSERT_EQ(DecodeCancelRequest(AsBytes(key32), cancel), InvalidReason::kNone);
  EXPECT_EQ(cancel.secret_key.size(), 32u);
  const std::string short_key =
      FrameBuilder().Int32(kCancelRequestCode).Int32(7).Raw("abc").Build();
  EXPECT_EQ(DecodeCancelRequest(AsBytes(short_key), cancel), InvalidReason::kBadKeyLength);
  const std::string long_key =
      FrameBuilder().Int32(kCancelRequestCode).Int32(7).Raw(std::string(257, 'k')).Build();
  EXPECT_EQ(DecodeCancelRequest(AsBytes(long_key), cancel), InvalidReason::kBadKeyLength);
  const std::string not_cancel = FrameBuilder().Int32(kSslRequestCode).Build();
  EXPECT_EQ(DecodeCancelRequest(AsBytes(not_cancel), cancel), InvalidReason::kNotStartupMessage);
}

}  // namespace
}  // namespace jitgate::parsers::pg
