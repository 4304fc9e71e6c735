// tests/parsers/pg/encode_test.cc: the encoders of jitgate/parsers/pg/encode.h checked by
// decoding their output with the typed decoders (backend.h), byte-exact against the spec where
// short, refusing every too-small buffer; and the DataRow rewriter and in-place overwrite.
#include "jitgate/parsers/pg/encode.h"

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/startup.h"
#include "tests/parsers/pg/test_util.h"

namespace jitgate::parsers::pg {
namespace {

using testing::AsBytes;
using testing::AsString;
using testing::FrameBuilder;
using Encoder = std::function<size_t(std::span<std::byte>)>;

// Runs `encode` into a roomy buffer, checks every smaller buffer returns 0, returns the frame.
std::string Encode(const Encoder& encode) {
  std::vector<std::byte> out(4096);
  const size_t size = encode(out);
  EXPECT_GT(size, 0u);
  for (size_t small = 0; small < size; ++small) {
    std::vector<std::byte> tight(small);
    EXPECT_EQ(encode(tight), 0u) << small;
  }
  const std::string frame = AsString(std::span(out).first(size));
  const Frame decoded = DecodeFrame(AsBytes(frame), Direction::kBackend, 4096);
  EXPECT_EQ(decoded.status, DecodeStatus::kOk);
  EXPECT_EQ(decoded.frame_size, frame.size());
  return frame;
}

std::span<const std::byte> Body(const std::string& frame) {
  return AsBytes(frame).subspan(kTaggedHeaderSize);
}

TEST(PgEncodeTest, Notices) {
  const ErrorFields fields{.severity = "WARNING", .sqlstate = "01000", .message = "careful"};
  const std::string notice =
      Encode([&](std::span<std::byte> out) { return EncodeNoticeResponse(fields, out); });
  EXPECT_EQ(notice[0], 'N');
  NoticeResponse decoded;
  ASSERT_EQ(DecodeNoticeResponse(Body(notice), decoded), InvalidReason::kNone);
  EXPECT_EQ(decoded.Find('V'), "WARNING");
  EXPECT_EQ(decoded.Find('M'), "careful");
  const std::string error =
      Encode([&](std::span<std::byte> out) { return EncodeErrorResponse(fields, out); });
  EXPECT_EQ(error[0], 'E');
  EXPECT_EQ(error.substr(1), notice.substr(1));
}

TEST(PgEncodeTest, Authentication) {
  EXPECT_EQ(Encode(EncodeAuthenticationOk), FrameBuilder('R').Int32(0).Build());
  EXPECT_EQ(Encode(EncodeAuthenticationCleartextPassword), FrameBuilder('R').Int32(3).Build());
  const std::array<std::byte, 4> salt{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  EXPECT_EQ(
      Encode([&](std::span<std::byte> out) { return EncodeAuthenticationMd5Password(salt, out); }),
      FrameBuilder('R').Int32(5).Raw("\x01\x02\x03\x04").Build());
  const std::array<std::string_view, 2> mechanisms{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
  const std::string sasl =
      Encode([&](std::span<std::byte> out) { return EncodeAuthenticationSasl(mechanisms, out); });
  Authentication auth;
  ASSERT_EQ(DecodeAuthentication(Body(sasl), auth), InvalidReason::kNone);
  EXPECT_EQ(auth.code, kAuthSasl);
  EXPECT_EQ(auth.mechanism_count, 2u);
  const std::array<std::string_view, 1> empty{""};
  std::vector<std::byte> out(64);
  EXPECT_EQ(EncodeAuthenticationSasl(empty, out), 0u);
  EXPECT_EQ(Encode([](std::span<std::byte> o) {
              return EncodeAuthenticationSaslContinue(AsBytes("r=1,s=2,i=4096"), o);
            }),
            FrameBuilder('R').Int32(11).Raw("r=1,s=2,i=4096").Build());
  EXPECT_EQ(Encode([](std::span<std::byte> o) {
              return EncodeAuthenticationSaslFinal(AsBytes("v=abc"), o);
            }),
            FrameBuilder('R').Int32(12).Raw("v=abc").Build());
}

TEST(PgEncodeTest, SessionMessages) {
  EXPECT_EQ(Encode([](std::span<std::byte> o) { return EncodeReadyForQuery('T', o); }),
            FrameBuilder('Z').Byte('T').Build());
  std::vector<std::byte> out(64);
  EXPECT_EQ(EncodeReadyForQuery('x', out), 0u);
  EXPECT_EQ(Encode([](std::span<std::byte> o) {
              return EncodeParameterStatus("client_encoding", "UTF8", o);
            }),
            FrameBuilder('S').String("client_encoding").String("UTF8").Build());
  EXPECT_EQ(
      Encode([](std::span<std::byte> o) { return EncodeBackendKeyData(77, AsBytes("abcd"), o); }),
      FrameBuilder('K').Int32(77).Raw("abcd").Build());
  const std::string key32(32, 'k');
  const std::string keydata =
      Encode([&](std::span<std::byte> o) { return EncodeBackendKeyData(78, AsBytes(key32), o); });
  BackendKeyData key;
  ASSERT_EQ(DecodeBackendKeyData(Body(keydata), kProtocolVersion32, key), InvalidReason::kNone);
  EXPECT_EQ(AsString(key.secret_key), key32);
  EXPECT_EQ(EncodeBackendKeyData(1, AsBytes("abc"), out), 0u);
  EXPECT_EQ(Encode([](std::span<std::byte> o) { return EncodeCommandComplete("SELECT 3", o); }),
            FrameBuilder('C').String("SELECT 3").Build());
}

TEST(PgEncodeTest, RewriteDataRow) {
  const std::string row_frame = FrameBuilder('D')
                                    .Int16(4)
                                    .Value("1")
                                    .Value("alice@example.com")
                                    .Value("", true)
                                    .Value("x")
                                    .Build();
  DataRow row;
  ASSERT_EQ(DecodeDataRow(Body(row_frame), row), InvalidReason::kNone);
  const std::array<ColumnRewrite, 4> rewrites{
      ColumnRewrite{},
      ColumnRewrite{ColumnAction::kReplace, AsBytes("a***@example.com")},
      ColumnRewrite{ColumnAction::kReplace, AsBytes("filled")},
      ColumnRewrite{ColumnAction::kNull, {}},
  };
  const std::string expected = FrameBuilder('D')
                                   .Int16(4)
                                   .Value("1")
                                   .Value("a***@example.com")
                                   .Value("filled")
                                   .Value("", true)
                                   .Build();
  EXPECT_EQ(RewrittenDataRowSize(row, rewrites), expected.size());
  EXPECT_EQ(Encode([&](std::span<std::byte> o) { return RewriteDataRow(row, rewrites, o); }),
            expected);
  // All kKeep reproduces the row.
  const std::array<ColumnRewrite, 4> keep{};
  EXPECT_EQ(Encode([&](std::span<std::byte> o) { return RewriteDataRow(row, keep, o); }),
            row_frame);
  // One rewrite per column, no more, no fewer.
  std::vector<std::byte> out(256);
  EXPECT_EQ(RewriteDataRow(row, std::span(rewrites).first(3), out), 0u);
  EXPECT_EQ(RewrittenDataRowSize(row, std::span(rewrites).first(3)), 0u);
}

TEST(PgEncodeTest, OverwriteColumnInPlace) {
  std::string frame =
      FrameBuilder('D').Int16(3).Value("secret").Value("", true).Value("ok").Build();
  std::span<std::byte> payload(reinterpret_cast<std::byte*>(frame.data()) + kTaggedHeaderSize,
                               frame.size() - kTaggedHeaderSize);
  EXPECT_TRUE(OverwriteColumnInPlace(payload, 0, AsBytes("******")));
  EXPECT_EQ(frame, FrameBuilder('D').Int16(3).Value("******").Value("", true).Value("ok").Build());
  EXPECT_FALSE(OverwriteColumnInPlace(payload, 0, AsBytes("short")));  // length differs
  EXPECT_FALSE(OverwriteColumnInPlace(payload, 1, AsBytes("")));       // NULL column
  EXPECT_FALSE(OverwriteColumnInPlace(payload, 3, AsBytes("ok")));     // no such column
  EXPECT_TRUE(OverwriteColumnInPlace(payload, 2, AsBytes("no")));
  EXPECT_EQ(frame.substr(frame.size() - 2), "no");
}

}  // namespace
}  // namespace jitgate::parsers::pg
