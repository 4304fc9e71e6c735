// tests/parsers/mysql/resultset_test.cc: column count, ColumnDefinition41, text and binary rows
// with every type's width, the row rewriter (encode.h), and commands with binary parameters
// (COM_STMT_EXECUTE, COM_QUERY with query attributes).
#include "jitgate/parsers/mysql/resultset.h"

#include <gtest/gtest.h>

#include <vector>

#include "jitgate/parsers/mysql/command.h"
#include "jitgate/parsers/mysql/encode.h"
#include "tests/parsers/mysql/builder.h"

namespace jitgate::parsers::mysql {
namespace {

using testing::PayloadBuilder;

TEST(MysqlResultSet, ColumnCount) {
  const auto one = PayloadBuilder().Lenenc(3).bytes();
  EXPECT_EQ(DecodeColumnCount(one, 0).column_count, 3u);
  EXPECT_EQ(DecodeColumnCount(PayloadBuilder().Lenenc(0).bytes(), 0).reason,
            InvalidReason::kColumnCountAboveMax);
  EXPECT_EQ(DecodeColumnCount(PayloadBuilder().Lenenc(5000).bytes(), 0).reason,
            InvalidReason::kColumnCountAboveMax);
  EXPECT_EQ(DecodeColumnCount(PayloadBuilder().Lenenc(3).Int1(0).bytes(), 0).reason,
            InvalidReason::kTrailingBytes);
  const ColumnCount cached =
      DecodeColumnCount(PayloadBuilder().Lenenc(3).Int1(0).bytes(), 0, kMariaDbClientCacheMetadata);
  EXPECT_EQ(cached.status, DecodeStatus::kOk);
  EXPECT_EQ(cached.metadata_follows, 0);
  EXPECT_EQ(DecodeColumnCount({}, 0).reason, InvalidReason::kTruncated);
}

PayloadBuilder Definition(bool extended) {
  PayloadBuilder b;
  b.LenStr("def").LenStr("shop").LenStr("c").LenStr("customers").LenStr("mail").LenStr("email");
  if (extended) {
    b.Lenenc(6).Int1(0).LenStr("json");
  }
  return b.Lenenc(0x0c).Int2(45).Int4(255).Int1(kMysqlTypeVarString).Int2(0x1001).Int1(0).Int2(0);
}

TEST(MysqlResultSet, ColumnDefinition41) {
  for (bool extended : {false, true}) {
    const auto payload = Definition(extended).bytes();
    const uint32_t mariadb = extended ? kMariaDbClientExtendedMetadata : 0;
    const ColumnDefinition41 d = DecodeColumnDefinition41(payload, mariadb);
    ASSERT_EQ(d.status, DecodeStatus::kOk) << InvalidReasonName(d.reason);
    EXPECT_EQ(d.catalog, "def");
    EXPECT_EQ(d.schema, "shop");
    EXPECT_EQ(d.table, "c");
    EXPECT_EQ(d.org_table, "customers");
    EXPECT_EQ(d.name, "mail");
    EXPECT_EQ(d.org_name, "email");
    EXPECT_EQ(d.charset, 45);
    EXPECT_EQ(d.column_length, 255u);
    EXPECT_EQ(d.type, kMysqlTypeVarString);
    EXPECT_EQ(d.flags, 0x1001);
    testing::ExpectFramingAtEveryCut(payload);
    testing::ExpectPrefixesInvalid(Bytes(payload),
                                   [&](Bytes b) { return DecodeColumnDefinition41(b, mariadb); });
    auto trailing = Definition(extended).Int1(1).bytes();
    EXPECT_EQ(DecodeColumnDefinition41(trailing, mariadb).reason, InvalidReason::kTrailingBytes);
  }
  const auto bad_fixed = PayloadBuilder()
                             .LenStr("def")
                             .Lenenc(0)
                             .Lenenc(0)
                             .Lenenc(0)
                             .Lenenc(0)
                             .Lenenc(0)
                             .Lenenc(0x0b)
                             .Zeros(12)
                             .bytes();
  EXPECT_EQ(DecodeColumnDefinition41(bad_fixed).reason, InvalidReason::kBadFixedFieldsLength);
  const auto field_list = Definition(false).LenStr("dflt").bytes();
  EXPECT_EQ(DecodeColumnDefinition41(field_list, 0, true).default_values, "dflt");
}

TEST(MysqlResultSet, TextRows) {
  const auto row =
      PayloadBuilder().LenStr("1").Null().LenStr("").LenStr(std::string(300, 'x')).bytes();
  TextRowCursor cursor(row, 4);
  Field f;
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_EQ(f.value, "1");
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_TRUE(f.is_null);
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_FALSE(f.is_null);
  EXPECT_EQ(f.value, "");
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_EQ(f.value.size(), 300u);
  EXPECT_EQ(f.size, 303u);
  EXPECT_FALSE(cursor.Next(f));
  EXPECT_EQ(cursor.status(), DecodeStatus::kOk);
  testing::ExpectFramingAtEveryCut(row);
  for (size_t n = 0; n < row.size(); ++n) {
    EXPECT_EQ(ValidateTextRow(Bytes(row).first(n), 4), DecodeStatus::kInvalid) << n;
  }
  EXPECT_EQ(ValidateTextRow(row, 3), DecodeStatus::kInvalid);  // trailing bytes
  InvalidReason why;
  EXPECT_EQ(ValidateTextRow(PayloadBuilder().Int1(0xff).bytes(), 1, &why), DecodeStatus::kInvalid);
  EXPECT_EQ(why, InvalidReason::kBadLenencPrefix);
}

// One value of every type with a binary encoding, and the bytes it takes.
struct TypedValue {
  uint8_t type;
  std::vector<std::byte> encoded;
};

std::vector<TypedValue> EveryType() {
  auto v = [](PayloadBuilder b) { return b.bytes(); };
  return {
      {kMysqlTypeTiny, v(PayloadBuilder().Int1(0x80))},
      {kMysqlTypeShort, v(PayloadBuilder().Int2(300))},
      {kMysqlTypeYear, v(PayloadBuilder().Int2(2024))},
      {kMysqlTypeLong, v(PayloadBuilder().Int4(70000))},
      {kMysqlTypeInt24, v(PayloadBuilder().Int4(70000))},
      {kMysqlTypeFloat, v(PayloadBuilder().Int4(0x3fc00000))},
      {kMysqlTypeLonglong, v(PayloadBuilder().Int8(1234567890123))},
      {kMysqlTypeDouble, v(PayloadBuilder().Int8(0x4002000000000000))},
      {kMysqlTypeDate, v(PayloadBuilder().Int1(4).Int2(2024).Int1(2).Int1(29))},
      {kMysqlTypeDate, v(PayloadBuilder().Int1(0))},
      {kMysqlTypeDatetime,
       v(PayloadBuilder().Int1(7).Int2(2024).Int1(2).Int1(29).Int1(12).Int1(34).Int1(56))},
      {kMysqlTypeDatetime, v(PayloadBuilder().Int1(11).Int2(2024).Zeros(4).Int1(1).Int4(789012))},
      {kMysqlTypeTimestamp, v(PayloadBuilder().Int1(4).Int2(2000).Int1(1).Int1(1))},
      {kMysqlTypeTime, v(PayloadBuilder().Int1(8).Int1(1).Int4(34).Int1(22).Int1(59).Int1(59))},
      {kMysqlTypeTime, v(PayloadBuilder().Int1(12).Int1(0).Int4(0).Zeros(3).Int4(1000))},
      {kMysqlTypeTime, v(PayloadBuilder().Int1(0))},
      {kMysqlTypeNewdecimal, v(PayloadBuilder().LenStr("12.34"))},
      {kMysqlTypeVarString, v(PayloadBuilder().LenStr("hello"))},
      {kMysqlTypeString, v(PayloadBuilder().LenStr(""))},
      {kMysqlTypeBlob, v(PayloadBuilder().LenStr(std::string(260, 'b')))},
      {kMysqlTypeJson, v(PayloadBuilder().LenStr("{\"a\":1}"))},
      {kMysqlTypeGeometry, v(PayloadBuilder().LenStr(std::string(25, 'g')))},
      {kMysqlTypeBit, v(PayloadBuilder().LenStr("\x0a"))},
      {kMysqlTypeEnum, v(PayloadBuilder().LenStr("red"))},
  };
}

TEST(MysqlResultSet, BinaryRowEveryTypeWidth) {
  const auto values = EveryType();
  std::vector<uint8_t> types;
  for (const auto& t : values) {
    types.push_back(t.type);
    InvalidReason why;
    EXPECT_EQ(BinaryValueSize(t.type, t.encoded, &why), t.encoded.size()) << int{t.type};
    EXPECT_EQ(why, InvalidReason::kNone);
  }
  types.push_back(kMysqlTypeLong);  // a NULL column
  PayloadBuilder row;
  row.Int1(0);
  std::vector<std::byte> bitmap(NullBitmapSize(types.size(), 2));
  const size_t null_bit = values.size() + 2;
  bitmap[null_bit / 8] = static_cast<std::byte>(1 << (null_bit % 8));
  for (auto b : bitmap) {
    row.Int1(static_cast<uint8_t>(b));
  }
  for (const auto& t : values) {
    for (auto b : t.encoded) {
      row.Int1(static_cast<uint8_t>(b));
    }
  }
  const auto payload = row.bytes();
  BinaryRowCursor cursor(payload, types);
  Field f;
  size_t i = 0;
  while (cursor.Next(f)) {
    if (i < values.size()) {
      EXPECT_FALSE(f.is_null);
      EXPECT_EQ(f.size, values[i].encoded.size()) << i;
    } else {
      EXPECT_TRUE(f.is_null);
    }
    ++i;
  }
  EXPECT_EQ(i, types.size());
  EXPECT_EQ(cursor.status(), DecodeStatus::kOk);
  testing::ExpectFramingAtEveryCut(payload);
  for (size_t n = 0; n < payload.size(); ++n) {
    ASSERT_EQ(ValidateBinaryRow(Bytes(payload).first(n), types), DecodeStatus::kInvalid) << n;
  }
  auto trailing = payload;
  trailing.push_back(std::byte{0});
  EXPECT_EQ(ValidateBinaryRow(trailing, types), DecodeStatus::kInvalid);
  // Bad temporal lengths, unknown types, padding bits, wrong header.
  InvalidReason why;
  for (uint8_t bad : {1, 5, 8, 12}) {
    const std::byte date[] = {
        static_cast<std::byte>(bad), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}};
    EXPECT_EQ(BinaryValueSize(kMysqlTypeDate, date, &why), 0u);
    EXPECT_EQ(why, InvalidReason::kBadTemporalLength);
  }
  EXPECT_EQ(BinaryValueSize(kMysqlTypeTime, PayloadBuilder().Int1(7).Zeros(7).bytes(), &why), 0u);
  EXPECT_EQ(why, InvalidReason::kBadTemporalLength);
  EXPECT_EQ(BinaryValueSize(kMysqlTypeTime2, PayloadBuilder().Zeros(8).bytes(), &why), 0u);
  EXPECT_EQ(why, InvalidReason::kBadFieldType);
  const uint8_t one_long[] = {kMysqlTypeLong};
  EXPECT_EQ(ValidateBinaryRow(PayloadBuilder().Int1(0).Int1(0x08).bytes(), one_long, &why),
            DecodeStatus::kInvalid);
  EXPECT_EQ(why, InvalidReason::kNullBitmapPadding);
  EXPECT_EQ(ValidateBinaryRow(PayloadBuilder().Int1(1).Int1(0).Int4(1).bytes(), one_long, &why),
            DecodeStatus::kInvalid);
  EXPECT_EQ(why, InvalidReason::kWrongHeader);
}

TEST(MysqlRewrite, TextRowReplaceNullAndInPlace) {
  const auto row = PayloadBuilder().LenStr("7").LenStr("alice@example.com").Null().bytes();
  std::vector<std::byte> out(row.size() + 16);
  size_t size = RewriteTextRow(row, 3, 1, Replacement{false, "***"}, out);
  ASSERT_GT(size, 0u);
  EXPECT_EQ(testing::AsString(Bytes(out).first(size)),
            testing::AsString(PayloadBuilder().LenStr("7").LenStr("***").Null().view()));
  size = RewriteTextRow(row, 3, 1, Replacement{true, {}}, out);
  EXPECT_EQ(testing::AsString(Bytes(out).first(size)),
            testing::AsString(PayloadBuilder().LenStr("7").Null().Null().view()));
  size = RewriteTextRow(row, 3, 2, Replacement{false, std::string(300, 'z')}, out);
  EXPECT_EQ(size, 0u);                                                   // does not fit
  EXPECT_EQ(RewriteTextRow(row, 3, 3, Replacement{true, {}}, out), 0u);  // no such column
  EXPECT_EQ(RewriteTextRow(Bytes(row).first(5), 3, 0, Replacement{true, {}}, out), 0u);
  auto in_place = row;
  ASSERT_TRUE(MaskTextFieldInPlace(in_place, 3, 1, '#'));
  EXPECT_EQ(
      testing::AsString(in_place),
      testing::AsString(PayloadBuilder().LenStr("7").LenStr(std::string(17, '#')).Null().view()));
  // Rewritten into a packet: header in front, payload after.
  std::vector<std::byte> packet(64);
  size = RewriteTextRow(row, 3, 0, Replacement{false, "8"}, std::span(packet).subspan(4));
  ASSERT_EQ(EncodePacketHeader(size, 3, packet), 4u);
  const Frame frame = DecodeFrame(Bytes(packet).first(4 + size), 1024);
  EXPECT_EQ(frame.status, DecodeStatus::kOk);
  EXPECT_EQ(ValidateTextRow(frame.payload, 3), DecodeStatus::kOk);
}

TEST(MysqlRewrite, BinaryRowReplaceNullAndInPlace) {
  const uint8_t types[] = {kMysqlTypeLonglong, kMysqlTypeVarString, kMysqlTypeDate};
  const auto row = PayloadBuilder()
                       .Int1(0)
                       .Int1(0)
                       .Int8(42)
                       .LenStr("secret")
                       .Int1(4)
                       .Int2(2024)
                       .Int1(1)
                       .Int1(2)
                       .bytes();
  std::vector<std::byte> out(row.size() + 16);
  size_t size = RewriteBinaryRow(row, types, 1, Replacement{false, "xx"}, out);
  ASSERT_GT(size, 0u);
  EXPECT_EQ(ValidateBinaryRow(Bytes(out).first(size), types), DecodeStatus::kOk);
  size = RewriteBinaryRow(row, types, 1, Replacement{true, {}}, out);
  const auto expected_null =
      PayloadBuilder().Int1(0).Int1(0x08).Int8(42).Int1(4).Int2(2024).Int1(1).Int1(2).bytes();
  EXPECT_EQ(testing::AsString(Bytes(out).first(size)), testing::AsString(expected_null));
  // NULL back to a value: the bit clears and the value is inserted.
  std::vector<std::byte> back(row.size() + 16);
  size = RewriteBinaryRow(expected_null, types, 1, Replacement{false, "secret"}, back);
  EXPECT_EQ(testing::AsString(Bytes(back).first(size)), testing::AsString(row));
  const auto eight = PayloadBuilder().Int8(0).bytes();
  size = RewriteBinaryRow(row, types, 0, Replacement{false, testing::AsString(eight)}, out);
  EXPECT_EQ(size, row.size());
  EXPECT_EQ(RewriteBinaryRow(row, types, 0, Replacement{false, "1234"}, out), 0u);  // width
  const auto zero_date = PayloadBuilder().Int1(0).bytes();
  size = RewriteBinaryRow(row, types, 2, Replacement{false, testing::AsString(zero_date)}, out);
  EXPECT_EQ(ValidateBinaryRow(Bytes(out).first(size), types), DecodeStatus::kOk);
  auto in_place = row;
  ASSERT_TRUE(MaskBinaryFieldInPlace(in_place, types, 1, '*'));
  EXPECT_FALSE(MaskBinaryFieldInPlace(in_place, types, 0, '*'));  // not string-like
  BinaryRowCursor cursor(in_place, types);
  Field f;
  cursor.Next(f);
  cursor.Next(f);
  EXPECT_EQ(f.value, "******");
}

TEST(MysqlCommand, NamesAndFixedCommands) {
  EXPECT_EQ(CommandName(kComQuery), "COM_QUERY");
  EXPECT_EQ(CommandName(kComResetConnection), "COM_RESET_CONNECTION");
  EXPECT_EQ(CommandName(kComStmtBulkExecute), "COM_STMT_BULK_EXECUTE");
  EXPECT_EQ(CommandName(0x40), "");
  const auto close = PayloadBuilder().Int1(kComStmtClose).Int4(5).bytes();
  EXPECT_EQ(DecodeComFixed(close).statement_id, 5u);
  testing::ExpectPrefixesInvalid(Bytes(close), DecodeComFixed);
  EXPECT_EQ(DecodeComFixed(PayloadBuilder().Int1(kComPing).Int1(0).bytes()).reason,
            InvalidReason::kTrailingBytes);
  EXPECT_EQ(DecodeComFixed(PayloadBuilder().Int1(kComSetOption).Int2(0).bytes()).option,
            kMysqlOptionMultiStatementsOn);
  const ComFixed fetch =
      DecodeComFixed(PayloadBuilder().Int1(kComStmtFetch).Int4(2).Int4(100).bytes());
  EXPECT_EQ(fetch.row_count, 100u);
  EXPECT_EQ(ValidateCommand(PayloadBuilder().Int1(0x40).bytes(), 0, 0), DecodeStatus::kInvalid);
  const auto init = PayloadBuilder().Int1(kComInitDb).Str("shop").bytes();
  EXPECT_EQ(DecodeComInitDb(init).schema, "shop");
  const auto fl = PayloadBuilder().Int1(kComFieldList).Nul("t").Str("%").bytes();
  EXPECT_EQ(DecodeComFieldList(fl).table, "t");
  const auto dump =
      PayloadBuilder().Int1(kComBinlogDump).Int4(4).Int2(0).Int4(2).Str("bin.1").bytes();
  EXPECT_EQ(DecodeComBinlogDump(dump).binlog_filename, "bin.1");
  const auto change = PayloadBuilder()
                          .Int1(kComChangeUser)
                          .Nul("bob")
                          .Int1(3)
                          .Str("abc")
                          .Nul("db")
                          .Int2(45)
                          .Nul("mysql_native_password")
                          .bytes();
  const ComChangeUser cu = DecodeComChangeUser(change, kClientSecureConnection | kClientPluginAuth);
  ASSERT_EQ(cu.status, DecodeStatus::kOk) << InvalidReasonName(cu.reason);
  EXPECT_EQ(cu.username, "bob");
  EXPECT_EQ(cu.auth_response, "abc");
  EXPECT_EQ(cu.database, "db");
  EXPECT_EQ(cu.auth_plugin_name, kMysqlNativePassword);
  const auto long_data =
      PayloadBuilder().Int1(kComStmtSendLongData).Int4(1).Int2(0).Str("blob").bytes();
  EXPECT_EQ(DecodeComStmtSendLongData(long_data).data, "blob");
}

TEST(MysqlCommand, StmtExecuteWithAndWithoutTypes) {
  const auto execute = PayloadBuilder()
                           .Int1(kComStmtExecute)
                           .Int4(3)
                           .Int1(0)
                           .Int4(1)
                           .Int1(0x02)  // NULL bitmap: param 1 is NULL
                           .Int1(1)
                           .Int2(kMysqlTypeLonglong | kParamFlagUnsigned)
                           .Int2(kMysqlTypeVarString)
                           .Int2(kMysqlTypeVarString)
                           .Int8(99)
                           .LenStr("x")
                           .bytes();
  const ComStmtExecute e = DecodeComStmtExecute(execute, 0, 3);
  ASSERT_EQ(e.status, DecodeStatus::kOk) << InvalidReasonName(e.reason);
  EXPECT_EQ(e.statement_id, 3u);
  EXPECT_EQ(e.iteration_count, 1u);
  EXPECT_EQ(e.params.types.size(), 6u);
  ParamCursor cursor(e.params, {});
  Field f;
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_EQ(cursor.type(), kMysqlTypeLonglong | kParamFlagUnsigned);
  EXPECT_EQ(f.size, 8u);
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_TRUE(f.is_null);
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_EQ(f.value, "x");
  EXPECT_EQ(cursor.status(), DecodeStatus::kOk);
  EXPECT_EQ(ValidateCommand(execute, 0, 3), DecodeStatus::kOk);
  EXPECT_EQ(ValidateCommand(execute, 0, 2), DecodeStatus::kInvalid);
  testing::ExpectFramingAtEveryCut(execute, 0);
  // Re-execute without rebinding: types come from the caller.
  const auto again = PayloadBuilder()
                         .Int1(kComStmtExecute)
                         .Int4(3)
                         .Int1(0)
                         .Int4(1)
                         .Int1(0)
                         .Int1(0)
                         .Int8(7)
                         .LenStr("a")
                         .LenStr("b")
                         .bytes();
  const ComStmtExecute e2 = DecodeComStmtExecute(again, 0, 3);
  ASSERT_EQ(e2.status, DecodeStatus::kOk);
  ParamCursor without(e2.params, {});
  EXPECT_FALSE(without.Next(f));
  EXPECT_EQ(without.reason(), InvalidReason::kBadBindFlag);
  ParamCursor with(e2.params, e.params.types);
  size_t n = 0;
  while (with.Next(f)) {
    ++n;
  }
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(with.status(), DecodeStatus::kOk);
  EXPECT_EQ(
      DecodeComStmtExecute(
          PayloadBuilder().Int1(kComStmtExecute).Int4(3).Int1(0).Int4(1).Int1(0).Int1(2).bytes(), 0,
          1)
          .reason,
      InvalidReason::kBadBindFlag);
}

TEST(MysqlCommand, QueryWithAndWithoutAttributes) {
  const auto plain = PayloadBuilder().Int1(kComQuery).Str("SELECT 1").bytes();
  EXPECT_EQ(DecodeComQuery(plain, 0).query, "SELECT 1");
  const auto no_attrs =
      PayloadBuilder().Int1(kComQuery).Lenenc(0).Lenenc(1).Str("SELECT 2").bytes();
  EXPECT_EQ(DecodeComQuery(no_attrs, kClientQueryAttributes).query, "SELECT 2");
  const auto attrs = PayloadBuilder()
                         .Int1(kComQuery)
                         .Lenenc(2)
                         .Lenenc(1)
                         .Int1(0)
                         .Int1(1)
                         .Int2(kMysqlTypeVarString)
                         .LenStr("trace_id")
                         .Int2(kMysqlTypeLong)
                         .LenStr("n")
                         .LenStr("abc-123")
                         .Int4(5)
                         .Str("SELECT 3")
                         .bytes();
  const ComQuery q = DecodeComQuery(attrs, kClientQueryAttributes);
  ASSERT_EQ(q.status, DecodeStatus::kOk) << InvalidReasonName(q.reason);
  EXPECT_TRUE(q.has_attributes);
  EXPECT_EQ(q.query, "SELECT 3");
  ParamCursor cursor(q.attributes, {});
  Field f;
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_EQ(cursor.name(), "trace_id");
  EXPECT_EQ(f.value, "abc-123");
  ASSERT_TRUE(cursor.Next(f));
  EXPECT_EQ(cursor.name(), "n");
  testing::ExpectFramingAtEveryCut(attrs, 0);
  for (size_t n = 1; n < attrs.size() - 8; ++n) {
    EXPECT_EQ(DecodeComQuery(Bytes(attrs).first(n), kClientQueryAttributes).status,
              DecodeStatus::kInvalid)
        << n;
  }
}

}  // namespace
}  // namespace jitgate::parsers::mysql
