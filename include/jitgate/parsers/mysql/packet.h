// jitgate/parsers/mysql/packet.h: MySQL packet framing (3-byte length + sequence id), logical
// payloads split over 16 MiB packets, sequence-id checking, and the fixed-capacity assembler for
// packets that straddle receive buffers.
//
// Called by the MySQL session on every received buffer; pure. Spec: PROTOCOLS.md 4.1,
// dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html ("Sending More Than
// 16Mb"). A payload of exactly 0xffffff bytes means another packet continues the logical payload;
// a logical payload that is a multiple of 0xffffff ends with an empty packet.
// Invariant of PacketAssembler: payload_size_ <= storage_.size() and header_have_ <= 4.
#ifndef JITGATE_PARSERS_MYSQL_PACKET_H_
#define JITGATE_PARSERS_MYSQL_PACKET_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "jitgate/parsers/mysql/wire.h"

namespace jitgate::parsers::mysql {

inline constexpr size_t kPacketHeaderSize = 4;  // int<3> payload_length, int<1> sequence_id
// The largest payload of one packet; a packet this long is continued by the next ("4.1").
inline constexpr size_t kPacketPayloadMax = 0xffffff;
// max_allowed_packet cannot exceed 1 GiB on either server ("4.1"), so no logical payload may.
inline constexpr size_t kLogicalPayloadMax = size_t{1} << 30;

// One logical packet found at the start of a byte range.
struct Frame {
  DecodeStatus status = DecodeStatus::kNeedMore;
  InvalidReason reason = InvalidReason::kNone;
  uint8_t first_sequence_id = 0;  // of the first physical packet
  uint8_t last_sequence_id = 0;   // of the last one (== first unless split)
  uint32_t packet_count = 0;      // physical packets making up the logical payload (>= 1 on kOk)
  // The payload when it is one packet (zero-copy); empty when split (see CopyPayload).
  Bytes payload;
  size_t payload_size = 0;  // logical payload bytes (headers excluded)
  size_t frame_size = 0;    // wire bytes of the whole logical packet, headers included
  // kNeedMore: at least this many more bytes are required before the frame can complete.
  size_t bytes_needed = 0;
  bool split() const { return packet_count > 1; }
};

// Decodes the logical packet at the start of `bytes`. A logical payload larger than
// `frame_size_max` is kInvalid (kFrameAboveMax) as soon as its declared lengths say so, before
// its bytes arrive. Continuation packets must carry consecutive sequence ids (kSequenceMismatch).
// Only headers are read; payload bytes are not touched.
Frame DecodeFrame(Bytes bytes, size_t frame_size_max);

// Copies the logical payload of `frame` (decoded kOk from `bytes`) into `out`, without the
// packet headers. Returns the payload size, or 0 with nothing written when `out` is too small.
size_t CopyPayload(Bytes bytes, const Frame& frame, std::span<std::byte> out);

// The sequence id that follows `id` (wraps at 255, "4.1").
constexpr uint8_t NextSequenceId(uint8_t id) { return static_cast<uint8_t>(id + 1); }

// Tracks sequence ids across one exchange: a command starts at 0 and each packet, in either
// direction, takes the next id. Check() says whether `id` is the expected one and advances.
class SequenceTracker {
 public:
  // A new command (or the server greeting) restarts numbering at 0.
  void Reset() { expected_ = 0; }
  uint8_t expected() const { return expected_; }
  bool Check(uint8_t id) {
    const bool match = id == expected_;
    expected_ = NextSequenceId(id);
    return match;
  }

 private:
  uint8_t expected_ = 0;
};

// Assembles one logical payload from bytes arriving in arbitrary pieces (packets straddling
// buffers, payloads spanning split packets) into caller-provided storage of frame_size_max
// bytes. Feed() consumes at most up to the end of the current logical packet, so bytes after it
// stay with the caller; once it returns kOk, payload() holds the whole logical payload until
// Reset().
class PacketAssembler {
 public:
  struct FeedResult {
    DecodeStatus status = DecodeStatus::kNeedMore;
    InvalidReason reason = InvalidReason::kNone;
    size_t consumed = 0;  // bytes of the input taken (all of them on kNeedMore)
  };

  explicit PacketAssembler(std::span<std::byte> storage) : storage_(storage) {}

  FeedResult Feed(Bytes bytes);
  // Starts over for the next logical packet (also after kInvalid).
  void Reset();
  Bytes payload() const { return Bytes(storage_.data(), payload_size_); }
  uint8_t first_sequence_id() const { return first_sequence_id_; }
  uint8_t last_sequence_id() const { return last_sequence_id_; }
  uint32_t packet_count() const { return packet_count_; }
  bool complete() const { return complete_; }
  void AssertInvariants() const;

 private:
  // Consumes header bytes; returns false when the header is still incomplete.
  bool TakeHeader(Bytes bytes, size_t& offset, FeedResult& result);

  std::span<std::byte> storage_;
  std::byte header_[kPacketHeaderSize] = {};
  size_t header_have_ = 0;       // bytes of the current packet header collected
  size_t packet_remaining_ = 0;  // payload bytes of the current packet still to come
  size_t payload_size_ = 0;      // logical payload bytes collected so far
  uint32_t packet_count_ = 0;
  uint8_t first_sequence_id_ = 0;
  uint8_t last_sequence_id_ = 0;
  bool last_packet_ = false;  // the current packet is shorter than 0xffffff
  bool complete_ = false;
  bool failed_ = false;
};

}  // namespace jitgate::parsers::mysql

#endif  // JITGATE_PARSERS_MYSQL_PACKET_H_
