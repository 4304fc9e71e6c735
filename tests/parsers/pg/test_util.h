// tests/parsers/pg/test_util.h: test-only helpers for the PostgreSQL wire decoder tests: a frame
// builder (bytes from the spec's field list, length filled in) and the split/length/trailing
// checks every message goes through (STYLE.md "Tests").
#ifndef JITGATE_TESTS_PARSERS_PG_TEST_UTIL_H_
#define JITGATE_TESTS_PARSERS_PG_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/parsers/pg/frame.h"

namespace jitgate::parsers::pg::testing {

inline std::span<const std::byte> AsBytes(std::string_view text) {
  return std::span(reinterpret_cast<const std::byte*>(text.data()), text.size());
}

inline std::string AsString(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Builds one frame: the type byte (none when type == 0, a start-up packet), an Int32 length
// filled in by Build(), then the fields in order.
class FrameBuilder {
 public:
  explicit FrameBuilder(char type = 0) : type_(type) {}

  FrameBuilder& Byte(uint8_t value) {
    body_.push_back(static_cast<char>(value));
    return *this;
  }
  FrameBuilder& Int16(int16_t value) {
    const auto v = static_cast<uint16_t>(value);
    body_.push_back(static_cast<char>(v >> 8));
    body_.push_back(static_cast<char>(v));
    return *this;
  }
  FrameBuilder& Int32(int64_t value) {
    const auto v = static_cast<uint32_t>(value);
    for (int i = 0; i < 4; ++i) {
      body_.push_back(static_cast<char>(v >> (24 - 8 * i)));
    }
    return *this;
  }
  // A String: the bytes and a NUL.
  FrameBuilder& String(std::string_view value) {
    body_.append(value);
    body_.push_back('\0');
    return *this;
  }
  FrameBuilder& Raw(std::string_view value) {
    body_.append(value);
    return *this;
  }
  // A length-prefixed value; NULL when `is_null`.
  FrameBuilder& Value(std::string_view value, bool is_null = false) {
    if (is_null) {
      return Int32(-1);
    }
    Int32(static_cast<int64_t>(value.size()));
    return Raw(value);
  }

  std::string Build() const { return BuildWithLength(static_cast<uint32_t>(body_.size() + 4)); }
  std::string BuildWithLength(uint32_t length) const {
    std::string out;
    if (type_ != 0) {
      out.push_back(type_);
    }
    for (int i = 0; i < 4; ++i) {
      out.push_back(static_cast<char>(length >> (24 - 8 * i)));
    }
    return out + body_;
  }
  const std::string& body() const { return body_; }

 private:
  char type_;
  std::string body_;
};

// Decodes one payload with a typed decoder and renders the result (or "invalid:<reason>") as
// text, so two decodes can be compared for identical output.
using Summarize = std::function<std::string(std::span<const std::byte> payload)>;

inline constexpr size_t kTestFrameSizeMax = 1 << 20;

// Every check of STYLE.md for one valid frame: whole decode; every prefix kNeedMore with the
// right bytes_needed; split at every offset through a FrameStager gives the identical summary
// (and the zero-copy path the same); the frame after the split in the same input still decodes.
inline void CheckFrame(const std::string& frame, Direction direction, const Summarize& summarize,
                       const std::string& expected) {
  const Frame whole = DecodeFrame(AsBytes(frame), direction, kTestFrameSizeMax);
  ASSERT_EQ(whole.status, DecodeStatus::kOk) << InvalidReasonName(whole.reason);
  EXPECT_EQ(whole.frame_size, frame.size());
  EXPECT_EQ(summarize(whole.payload), expected);
  for (size_t cut = 0; cut < frame.size(); ++cut) {
    const Frame prefix = DecodeFrame(AsBytes(frame).first(cut), direction, kTestFrameSizeMax);
    ASSERT_EQ(prefix.status, DecodeStatus::kNeedMore) << "cut " << cut;
    ASSERT_GT(prefix.bytes_needed, 0u);
    ASSERT_LE(cut + prefix.bytes_needed, frame.size()) << "cut " << cut;
  }
  // Two copies back to back, split at every offset of the first: staged, then zero-copy.
  const std::string stream = frame + frame;
  std::vector<std::byte> storage(frame.size());  // capacity exactly one frame: tightest case
  for (size_t cut = 0; cut <= frame.size(); ++cut) {
    FrameStager stager(storage, direction);
    std::span<const std::byte> first = AsBytes(stream).first(cut);
    std::span<const std::byte> second = AsBytes(stream).subspan(cut);
    Frame got = stager.Next(first);
    if (cut < frame.size()) {
      ASSERT_EQ(got.status, DecodeStatus::kNeedMore) << "cut " << cut;
      ASSERT_TRUE(first.empty());
      ASSERT_TRUE(stager.AssertInvariants());
      got = stager.Next(second);
    }
    ASSERT_EQ(got.status, DecodeStatus::kOk) << "cut " << cut;
    EXPECT_EQ(got.type, whole.type);
    EXPECT_EQ(summarize(got.payload), expected) << "cut " << cut;
    // Whatever the cut, the second copy is what is left of `second`.
    std::span<const std::byte>& rest = second;
    const Frame again = stager.Next(rest);
    ASSERT_EQ(again.status, DecodeStatus::kOk) << "cut " << cut;
    EXPECT_EQ(summarize(again.payload), expected);
    EXPECT_TRUE(rest.empty());
  }
}

// The length-field checks: 0 and 3 are below the header, one byte above the maximum is refused.
inline void CheckBadLengths(char type, Direction direction) {
  for (uint32_t length : {0u, 1u, 3u}) {
    const std::string frame = FrameBuilder(type).BuildWithLength(length);
    const Frame got = DecodeFrame(AsBytes(frame), direction, kTestFrameSizeMax);
    EXPECT_EQ(got.status, DecodeStatus::kInvalid) << type << " length " << length;
    EXPECT_EQ(got.reason, InvalidReason::kLengthBelowHeader) << type;
  }
  const std::string big = FrameBuilder(type).BuildWithLength(kTestFrameSizeMax);  // 1 + length
  const Frame got = DecodeFrame(AsBytes(big), direction, kTestFrameSizeMax);
  EXPECT_EQ(got.status, DecodeStatus::kInvalid) << type;
  EXPECT_TRUE(got.reason == InvalidReason::kLengthAboveMax ||
              got.reason == InvalidReason::kLengthAboveTypeLimit)
      << type;
  const std::string at_max = FrameBuilder(type).BuildWithLength(kTestFrameSizeMax - 1);
  const Frame fits = DecodeFrame(AsBytes(at_max), direction, kTestFrameSizeMax);
  EXPECT_NE(fits.reason, InvalidReason::kLengthAboveMax) << type;
}

// A message body with one extra byte must be refused by its decoder as kTrailingBytes.
inline void CheckTrailing(const FrameBuilder& builder, const Summarize& summarize) {
  const std::string body = builder.body() + "x";
  EXPECT_EQ(summarize(AsBytes(body)), "invalid:trailing_bytes");
}

}  // namespace jitgate::parsers::pg::testing

#endif  // JITGATE_TESTS_PARSERS_PG_TEST_UTIL_H_
