// Tests of the PostgreSQL start-up packet header decoder (jitgate/parsers/pg/startup.h): each
// request kind, every split of the header, and each way a header can be wrong.
#include <string>

#include "gtest/gtest.h"
#include "jitgate/parsers/pg/startup.h"

namespace jitgate::parsers::pg {
namespace {

std::string Header(uint32_t length, uint32_t code) {
  std::string out(8, '\0');
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<char>(length >> (24 - 8 * i));
    out[4 + i] = static_cast<char>(code >> (24 - 8 * i));
  }
  return out;
}

StartupHeader Decode(const std::string& bytes) {
  return DecodeStartupHeader(
      std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

TEST(PgStartupTest, DecodesEachRequestKind) {
  EXPECT_EQ(Decode(Header(8, kSslRequestCode)).kind, StartupKind::kSslRequest);
  EXPECT_EQ(Decode(Header(8, kGssEncRequestCode)).kind, StartupKind::kGssEncRequest);
  EXPECT_EQ(Decode(Header(16, kCancelRequestCode)).kind, StartupKind::kCancelRequest);
  // Protocol 3.2 cancel keys are variable length (up to 256 bytes).
  EXPECT_EQ(Decode(Header(16 + 28, kCancelRequestCode)).kind, StartupKind::kCancelRequest);
  const StartupHeader startup = Decode(Header(40, 196608) + "user");
  EXPECT_EQ(startup.kind, StartupKind::kStartupMessage);
  EXPECT_EQ(startup.length, 40u);
  EXPECT_EQ(startup.code, 196608u);
  EXPECT_EQ(Decode(Header(9, 196610)).kind, StartupKind::kStartupMessage);  // 3.2
}

TEST(PgStartupTest, NeedsEightBytesAtEverySplit) {
  const std::string whole = Header(8, kSslRequestCode);
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    EXPECT_EQ(Decode(whole.substr(0, cut)).kind, StartupKind::kNeedMore) << cut;
  }
  EXPECT_EQ(Decode(whole).kind, StartupKind::kSslRequest);
}

TEST(PgStartupTest, RejectsBadLengthsAndProtocols) {
  EXPECT_EQ(Decode(Header(0, 196608)).invalid_reason, StartupInvalidReason::kLengthBelowHeader);
  EXPECT_EQ(Decode(Header(7, 196608)).invalid_reason, StartupInvalidReason::kLengthBelowHeader);
  EXPECT_EQ(Decode(Header(kStartupPacketSizeMax + 1, 196608)).invalid_reason,
            StartupInvalidReason::kLengthAboveMax);
  EXPECT_EQ(Decode(Header(0xffffffff, 196608)).invalid_reason,
            StartupInvalidReason::kLengthAboveMax);
  EXPECT_EQ(Decode(Header(12, kSslRequestCode)).invalid_reason,
            StartupInvalidReason::kRequestLengthWrong);
  EXPECT_EQ(Decode(Header(12, kCancelRequestCode)).invalid_reason,
            StartupInvalidReason::kRequestLengthWrong);
  EXPECT_EQ(Decode(Header(40, 0x00020000)).invalid_reason,
            StartupInvalidReason::kUnsupportedProtocol);
  EXPECT_EQ(Decode(Header(40, 0x00040000)).kind, StartupKind::kInvalid);
  EXPECT_EQ(Decode(Header(kStartupPacketSizeMax, 196608)).kind, StartupKind::kStartupMessage);
}

}  // namespace
}  // namespace jitgate::parsers::pg
