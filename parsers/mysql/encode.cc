// Implementation of jitgate/parsers/mysql/encode.h: the packet encoders (the row rewriter is in
// row_rewrite.cc).
#include "jitgate/parsers/mysql/encode.h"

#include <cstring>

namespace jitgate::parsers::mysql {
namespace {

constexpr size_t kHeaderSize = 4;                  // 3-byte payload length + sequence id ("4.1")
constexpr size_t kOnePacketPayloadMax = 0xfffffe;  // 0xffffff would announce a continuation

// Appends to a payload after a reserved header; any overflow makes the whole encode fail.
class Writer {
 public:
  explicit Writer(std::span<std::byte> out) : out_(out), offset_(kHeaderSize) {}
  void Byte(uint8_t b) {
    if (Room(1)) {
      out_[offset_++] = static_cast<std::byte>(b);
    }
  }
  void Int(uint64_t value, size_t n) {
    if (Room(n)) {
      for (size_t i = 0; i < n; ++i) {
        out_[offset_++] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
      }
    }
  }
  void Str(std::string_view s) {
    if (Room(s.size()) && !s.empty()) {
      std::memcpy(out_.data() + offset_, s.data(), s.size());
      offset_ += s.size();
    }
  }
  void Zeros(size_t n) {
    if (Room(n)) {
      std::memset(out_.data() + offset_, 0, n);
      offset_ += n;
    }
  }
  void Lenenc(uint64_t value) {
    if (Room(LenencSize(value))) {
      offset_ += EncodeLenenc(value, out_.subspan(offset_));
    }
  }
  // Writes the header; returns the packet size or 0 on overflow.
  size_t Finish(uint8_t sequence_id) {
    const size_t payload = offset_ - kHeaderSize;
    if (failed_ || payload > kOnePacketPayloadMax) {
      return 0;
    }
    EncodePacketHeader(payload, sequence_id, out_);
    return offset_;
  }

 private:
  bool Room(size_t n) {
    failed_ = failed_ || out_.size() < offset_ || out_.size() - offset_ < n;
    return !failed_;
  }
  std::span<std::byte> out_;
  size_t offset_;
  bool failed_ = false;
};

}  // namespace

size_t EncodePacketHeader(size_t payload_size, uint8_t sequence_id, std::span<std::byte> out) {
  if (out.size() < kHeaderSize || payload_size >= 0xffffff) {
    return 0;
  }
  out[0] = static_cast<std::byte>(payload_size & 0xff);
  out[1] = static_cast<std::byte>((payload_size >> 8) & 0xff);
  out[2] = static_cast<std::byte>((payload_size >> 16) & 0xff);
  out[3] = static_cast<std::byte>(sequence_id);
  return kHeaderSize;
}

size_t LenencSize(uint64_t value) {
  if (value < kLenencNull) {
    return 1;
  }
  if (value <= 0xffff) {
    return 3;
  }
  return value <= 0xffffff ? 4 : 9;
}

size_t EncodeLenenc(uint64_t value, std::span<std::byte> out) {
  const size_t size = LenencSize(value);
  if (out.size() < size) {
    return 0;
  }
  if (size == 1) {
    out[0] = static_cast<std::byte>(value);
    return 1;
  }
  out[0] = static_cast<std::byte>(size == 3   ? kLenenc2Byte
                                  : size == 4 ? kLenenc3Byte
                                              : kLenenc8Byte);
  for (size_t i = 1; i < size; ++i) {
    out[i] = static_cast<std::byte>((value >> (8 * (i - 1))) & 0xff);
  }
  return size;
}

size_t EncodeOkPacket(uint8_t sequence_id, const OkFields& ok, uint32_t capabilities,
                      std::span<std::byte> out) {
  Writer w(out);
  w.Byte(ok.header);
  w.Lenenc(ok.affected_rows);
  w.Lenenc(ok.last_insert_id);
  w.Int(ok.status_flags, 2);
  w.Int(ok.warnings, 2);
  if ((capabilities & kClientSessionTrack) != 0) {
    w.Lenenc(ok.info.size());
  }
  w.Str(ok.info);
  return w.Finish(sequence_id);
}

size_t EncodeEofPacket(uint8_t sequence_id, uint16_t warnings, uint16_t status_flags,
                       std::span<std::byte> out) {
  Writer w(out);
  w.Byte(0xfe);
  w.Int(warnings, 2);
  w.Int(status_flags, 2);
  return w.Finish(sequence_id);
}

size_t EncodeHandshakeV10(const HandshakeV10Fields& fields, std::span<std::byte> out) {
  constexpr size_t kScrambleSize = 20;  // 8 in part 1, 12 + NUL in part 2 ("4.2")
  if (fields.auth_plugin_data.size() != kScrambleSize) {
    return 0;
  }
  const uint32_t caps =
      fields.capabilities | kClientProtocol41 | kClientPluginAuth | kClientSecureConnection;
  Writer w(out);
  w.Byte(0x0a);  // protocol version 10
  w.Str(fields.server_version);
  w.Byte(0);
  w.Int(fields.connection_id, 4);
  w.Str(fields.auth_plugin_data.substr(0, 8));
  w.Byte(0);
  w.Int(caps & 0xffff, 2);
  w.Byte(fields.charset);
  w.Int(fields.status_flags, 2);
  w.Int(caps >> 16, 2);
  w.Byte(kScrambleSize + 1);
  w.Zeros(6);
  w.Int((caps & kClientLongPassword) == 0 ? fields.mariadb_capabilities : 0, 4);
  w.Str(fields.auth_plugin_data.substr(8));
  w.Byte(0);
  w.Str(fields.auth_plugin_name);
  w.Byte(0);
  return w.Finish(0);
}

size_t EncodeAuthSwitchRequest(uint8_t sequence_id, std::string_view plugin_name,
                               std::string_view plugin_data, std::span<std::byte> out) {
  Writer w(out);
  w.Byte(0xfe);
  w.Str(plugin_name);
  w.Byte(0);
  w.Str(plugin_data);
  return w.Finish(sequence_id);
}

size_t EncodeAuthMoreData(uint8_t sequence_id, std::string_view data, std::span<std::byte> out) {
  Writer w(out);
  w.Byte(0x01);
  w.Str(data);
  return w.Finish(sequence_id);
}

size_t EncodePerformFullAuth(uint8_t sequence_id, std::span<std::byte> out) {
  constexpr char kPerformFullAuth = 0x04;  // caching_sha2_password ("4.4")
  return EncodeAuthMoreData(sequence_id, std::string_view(&kPerformFullAuth, 1), out);
}

size_t EncodeErrPacket(uint8_t sequence_id, uint16_t error_code, std::string_view sqlstate,
                       std::string_view message, std::span<std::byte> out) {
  // A payload of exactly 0xffffff announces a continuation packet, so one packet holds at most
  // 0xfffffe bytes; longer messages are cut.
  constexpr size_t kPayloadSizeMax = 0xfffffe;
  const bool with_state = sqlstate.size() == 5;
  size_t payload = 1 + 2 + (with_state ? 6 : 0) + message.size();
  if (payload > kPayloadSizeMax) {
    message = message.substr(0, kPayloadSizeMax - (payload - message.size()));
    payload = kPayloadSizeMax;
  }
  if (out.size() < kHeaderSize + payload) {
    return 0;
  }
  std::byte* p = out.data();
  p[0] = static_cast<std::byte>(payload & 0xff);
  p[1] = static_cast<std::byte>((payload >> 8) & 0xff);
  p[2] = static_cast<std::byte>((payload >> 16) & 0xff);
  p[3] = static_cast<std::byte>(sequence_id);
  p[4] = static_cast<std::byte>(kErrHeader);
  p[5] = static_cast<std::byte>(error_code & 0xff);  // int<2>, little endian
  p[6] = static_cast<std::byte>(error_code >> 8);
  size_t offset = 7;
  if (with_state) {
    p[offset++] = static_cast<std::byte>('#');
    std::memcpy(p + offset, sqlstate.data(), 5);
    offset += 5;
  }
  std::memcpy(p + offset, message.data(), message.size());
  return offset + message.size();
}

}  // namespace jitgate::parsers::mysql
