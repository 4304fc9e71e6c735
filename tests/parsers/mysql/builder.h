// tests/parsers/mysql/builder.h (test-only): builds MySQL payloads and packets byte by byte, and
// the split-at-every-offset check every message test runs.
#ifndef JITGATE_TESTS_PARSERS_MYSQL_BUILDER_H_
#define JITGATE_TESTS_PARSERS_MYSQL_BUILDER_H_

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "jitgate/parsers/mysql/packet.h"
#include "jitgate/parsers/mysql/wire.h"

namespace jitgate::parsers::mysql::testing {

using ByteVector = std::vector<std::byte>;

class PayloadBuilder {
 public:
  PayloadBuilder& Int(uint64_t value, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      bytes_.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
    }
    return *this;
  }
  PayloadBuilder& Int1(uint64_t v) { return Int(v, 1); }
  PayloadBuilder& Int2(uint64_t v) { return Int(v, 2); }
  PayloadBuilder& Int4(uint64_t v) { return Int(v, 4); }
  PayloadBuilder& Int8(uint64_t v) { return Int(v, 8); }
  PayloadBuilder& Lenenc(uint64_t v) {
    if (v < 0xfb) {
      return Int1(v);
    }
    if (v <= 0xffff) {
      return Int1(0xfc).Int(v, 2);
    }
    if (v <= 0xffffff) {
      return Int1(0xfd).Int(v, 3);
    }
    return Int1(0xfe).Int(v, 8);
  }
  PayloadBuilder& Str(std::string_view s) {
    for (char c : s) {
      bytes_.push_back(static_cast<std::byte>(c));
    }
    return *this;
  }
  PayloadBuilder& Nul(std::string_view s) { return Str(s).Int1(0); }
  PayloadBuilder& LenStr(std::string_view s) { return Lenenc(s.size()).Str(s); }
  PayloadBuilder& Null() { return Int1(0xfb); }
  PayloadBuilder& Zeros(size_t n) {
    bytes_.insert(bytes_.end(), n, std::byte{0});
    return *this;
  }
  const ByteVector& bytes() const { return bytes_; }
  Bytes view() const { return bytes_; }

 private:
  ByteVector bytes_;
};

// Wraps a logical payload into packets (split at 0xffffff, with the trailing empty packet when
// the size is a multiple of it), sequence ids from `sequence_id`.
inline ByteVector Packetize(Bytes payload, uint8_t sequence_id = 0) {
  ByteVector out;
  size_t offset = 0;
  while (true) {
    const size_t size = std::min(payload.size() - offset, kPacketPayloadMax);
    out.push_back(static_cast<std::byte>(size & 0xff));
    out.push_back(static_cast<std::byte>((size >> 8) & 0xff));
    out.push_back(static_cast<std::byte>((size >> 16) & 0xff));
    out.push_back(static_cast<std::byte>(sequence_id++));
    out.insert(out.end(), payload.begin() + offset, payload.begin() + offset + size);
    offset += size;
    if (size < kPacketPayloadMax) {
      return out;
    }
  }
}

inline std::string_view AsString(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Frames `payload`; every prefix is kNeedMore with a positive bytes_needed, the whole is kOk
// with the same payload, and the assembler fed in two pieces at every cut yields it too.
inline void ExpectFramingAtEveryCut(Bytes payload, uint8_t sequence_id = 1) {
  const ByteVector wire = Packetize(payload, sequence_id);
  const Bytes all(wire);
  for (size_t cut = 0; cut < wire.size(); ++cut) {
    const Frame part = DecodeFrame(all.first(cut), kLogicalPayloadMax);
    ASSERT_EQ(part.status, DecodeStatus::kNeedMore) << "cut " << cut;
    ASSERT_GT(part.bytes_needed, 0u) << "cut " << cut;
    ASSERT_LE(part.bytes_needed, wire.size() - cut) << "cut " << cut;
    std::vector<std::byte> storage(payload.size() + 1);
    PacketAssembler assembler(storage);
    const auto first = assembler.Feed(all.first(cut));
    ASSERT_EQ(first.status, DecodeStatus::kNeedMore) << "cut " << cut;
    ASSERT_EQ(first.consumed, cut);
    const auto second = assembler.Feed(all.subspan(cut));
    ASSERT_EQ(second.status, DecodeStatus::kOk) << "cut " << cut;
    ASSERT_EQ(second.consumed, wire.size() - cut);
    ASSERT_EQ(AsString(assembler.payload()), AsString(payload)) << "cut " << cut;
    ASSERT_EQ(assembler.first_sequence_id(), sequence_id);
  }
  const Frame whole = DecodeFrame(all, kLogicalPayloadMax);
  ASSERT_EQ(whole.status, DecodeStatus::kOk);
  ASSERT_EQ(whole.frame_size, wire.size());
  ASSERT_EQ(whole.first_sequence_id, sequence_id);
  if (!whole.split()) {
    ASSERT_EQ(AsString(whole.payload), AsString(payload));
  }
}

// Every strict prefix of a valid payload must decode as kInvalid (never crash, never kOk),
// unless `prefix_may_be_valid` says a shorter form is legal too.
template <typename Decode>
void ExpectPrefixesInvalid(Bytes payload, Decode decode,
                           size_t prefix_may_be_valid_from = ~size_t{0}) {
  for (size_t n = 0; n < payload.size(); ++n) {
    const auto result = decode(payload.first(n));
    if (n >= prefix_may_be_valid_from) {
      continue;
    }
    EXPECT_EQ(result.status, DecodeStatus::kInvalid) << "prefix " << n;
    EXPECT_NE(result.reason, InvalidReason::kNone) << "prefix " << n;
  }
}

}  // namespace jitgate::parsers::mysql::testing

#endif  // JITGATE_TESTS_PARSERS_MYSQL_BUILDER_H_
