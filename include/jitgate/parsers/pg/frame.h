// jitgate/parsers/pg/frame.h: framing of the PostgreSQL v3 wire protocol, shared by the frontend
// (client -> server) and backend (server -> client) decoders.
//
// Owns: the decode status and InvalidReason enums, the frame header decoder (`DecodeFrame`), the
// per-session staging buffer for frames that straddle receive buffers (`FrameStager`), and the
// bounds-checked `Reader` and value iterator that every typed decoder is built on.
// Callers: the session state machines (src/session/), tests, fuzz targets and benchmarks.
// Pure: no allocation, no I/O, no exceptions. Every view returned borrows from the caller's bytes
// (or from the stager's storage) and must not outlive them.
//
// Spec: PostgreSQL docs 55.2 "Message Flow" and 55.7 "Message Formats". A tagged message is
// Byte1 type, Int32 length (counts itself, not the type byte), then length - 4 bytes of body.
// Start-up packets (55.2.1) have no type byte: Int32 length (counts itself), then the body.
// All integers are big-endian.
#ifndef JITGATE_PARSERS_PG_FRAME_H_
#define JITGATE_PARSERS_PG_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace jitgate::parsers::pg {

// Outcome of decoding peer bytes (STYLE.md "Errors", tier 1).
enum class DecodeStatus : uint8_t { kOk, kNeedMore, kInvalid };

// Each way peer bytes can be wrong. The name (InvalidReasonName) becomes a counter, an audit field
// and the session's close reason, so values are never reused.
enum class InvalidReason : uint8_t {
  kNone,
  kLengthBelowHeader,     // length field < 4 (tagged) or < 8 (start-up packet)
  kLengthAboveMax,        // frame larger than the configured frame_size_max
  kLengthAboveTypeLimit,  // above the server's own limit for this type (postgres.c SocketBackend)
  kUnknownType,           // type byte not defined for this direction (55.7)
  kTruncated,             // a field runs past the end of the message
  kTrailingBytes,         // bytes left inside the message after its last field
  kMissingTerminator,     // a String (55.7 "Data Types") without its NUL
  kNegativeCount,         // an Int16/Int32 count below zero
  kNegativeLength,        // a value length below -1 (-1 alone means NULL)
  kCountMismatch,         // counts that must agree do not (Bind formats vs parameters, ...)
  kBadFormatCode,         // a format code other than 0 (text) or 1 (binary)
  kBadEnumByte,           // Describe/Close target not 'S'/'P', ReadyForQuery status not I/T/E
  kUnknownAuthCode,       // Authentication request code not in 55.7
  kBadKeyLength,          // cancel key not 4 bytes (3.0) or 4..256 bytes (3.2)
  kMissingUser,           // StartupMessage without the required "user" parameter
  kUnsupportedProtocol,   // start-up code that is neither a request nor protocol 3.x
  kNotStartupMessage,     // a start-up packet decoder given another kind of packet
  kEmptyName,             // an empty parameter or option name where the spec forbids one
  kDuplicateParameter,    // StartupMessage naming user/database/options/replication twice
};

// A stable lower-case name for counters and logs ("length_above_max").
const char* InvalidReasonName(InvalidReason reason);

// Which grammar a byte stream follows.
enum class Direction : uint8_t {
  kStartup,   // client's untagged start-up packets (SSLRequest, StartupMessage, ...)
  kFrontend,  // client -> server tagged messages
  kBackend,   // server -> client tagged messages
};

// 55.7: Byte1 type + Int32 length.
inline constexpr size_t kTaggedHeaderSize = 5;
// 55.2.1: start-up packets carry only the Int32 length.
inline constexpr size_t kStartupLengthSize = 4;
// postgres.c SocketBackend: PQ_SMALL_MESSAGE_LIMIT caps the frontend messages that have no reason
// to be large (Close, Describe, Execute, Flush, Sync, Terminate, CopyDone, CopyFail).
inline constexpr uint32_t kSmallMessageLimit = 10000;
// auth.c PG_MAX_AUTH_TOKEN_LENGTH: the server reads 'p' (password/SASL/GSS) bodies up to this.
inline constexpr uint32_t kAuthMessageLimit = 65535;

// One decoded frame header. With kOk, `payload` is the body (after the length field) and
// `frame_size` the whole frame (type byte, if any, and length included). With kNeedMore,
// `bytes_needed` (> 0) more bytes beyond those given are needed before the answer can change;
// `frame_size` is known once the header is complete. With kInvalid, `reason` says why.
struct Frame {
  DecodeStatus status = DecodeStatus::kNeedMore;
  InvalidReason reason = InvalidReason::kNone;
  char type = 0;  // the type byte; 0 for start-up packets
  std::span<const std::byte> payload;
  size_t frame_size = 0;
  size_t bytes_needed = 0;
};

// True when `type` is a message type byte defined for `direction` (always false for kStartup).
bool IsKnownType(Direction direction, char type);

// Decodes the frame at the start of `bytes`. Frames above `frame_size_max` bytes (whole frame)
// are kInvalid (kLengthAboveMax); frontend types also obey the server's per-type limits. A prefix
// of a valid frame is always kNeedMore, never kInvalid; an invalid header is reported as soon as
// the bytes that make it invalid are present (the type byte alone, or the 5-byte header).
Frame DecodeFrame(std::span<const std::byte> bytes, Direction direction, size_t frame_size_max);

// The per-session staging buffer (STYLE.md "Ownership and buffers"): frames lying wholly inside
// one input buffer are returned as views into it (zero-copy); a frame that straddles buffers is
// copied into caller-provided storage whose size is the frame size maximum.
// Invariant: staged_size <= frame_size (once known) <= capacity.
class FrameStager {
 public:
  // `storage` outlives the stager; its size is frame_size_max for every frame decoded.
  FrameStager(std::span<std::byte> storage, Direction direction)
      : storage_(storage), direction_(direction) {}

  // Returns the next frame of the stream formed by the staged bytes followed by `input`, and
  // advances `input` past the bytes it used. kOk: `payload` views `input`'s old bytes or the
  // storage, valid until the next call. kNeedMore: all of `input` was consumed; call again with
  // the next buffer. kInvalid is sticky: every later call returns the same frame.
  Frame Next(std::span<const std::byte>& input);

  // Switches the grammar (start-up -> frontend after the StartupMessage). Only between frames:
  // returns false (and changes nothing) while bytes of a partial frame are staged.
  bool SetDirection(Direction direction);

  // Forgets staged bytes and a sticky error (session reuse).
  void Reset();

  size_t staged_size() const { return staged_size_; }
  size_t capacity() const { return storage_.size(); }
  Direction direction() const { return direction_; }
  // The invariant above; tests and debug builds check it.
  bool AssertInvariants() const;

 private:
  std::span<std::byte> storage_;
  Direction direction_;
  size_t staged_size_ = 0;
  bool delivered_ = false;  // the staged bytes form a frame already returned
  Frame invalid_;           // status kInvalid once the stream is broken
};

// ---------------------------------------------------------------------------------------------
// Byte readers shared by the typed decoders (inline: they sit on the hot path).

namespace internal {
inline uint16_t LoadUint16(const std::byte* p) {
  return static_cast<uint16_t>((static_cast<uint16_t>(p[0]) << 8) | static_cast<uint16_t>(p[1]));
}
inline uint32_t LoadUint32(const std::byte* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}
}  // namespace internal

// A bounds-checked cursor over one message body. The first failing read records its reason and
// every later read fails too, so a decoder may read all fields and check `error()` once.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  bool Byte(uint8_t& out);
  bool Int16(int16_t& out);
  bool Int32(int32_t& out);
  // A non-negative Int16 count (kNegativeCount otherwise).
  bool Count16(uint16_t& out);
  // A String: bytes up to a NUL (kMissingTerminator if none), the NUL consumed.
  bool String(std::string_view& out);
  // Exactly `size` raw bytes.
  bool Bytes(size_t size, std::span<const std::byte>& out);
  // All remaining bytes.
  std::span<const std::byte> Rest();
  // kTrailingBytes unless every byte was read; returns the final error (kNone on success).
  InvalidReason Finish();
  // Records `reason` unless an earlier error is recorded; returns false.
  bool Fail(InvalidReason reason);

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }
  InvalidReason error() const { return error_; }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  std::span<const std::byte> bytes_;
  size_t offset_ = 0;
  InvalidReason error_ = InvalidReason::kNone;
};

// One length-prefixed value (55.7 Bind parameters, DataRow columns, FunctionCall arguments):
// Int32 length, -1 = NULL with no bytes following.
struct Value {
  bool is_null = false;
  std::span<const std::byte> bytes;
  // The value as text (for text-format values and tests).
  std::string_view text() const {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
};

// Walks `count` values in `raw`. Each step checks its bounds; after Next returns false, error()
// is kNone when all `count` values were read, otherwise the reason (kTruncated, kNegativeLength).
class ValueIterator {
 public:
  ValueIterator() = default;
  ValueIterator(std::span<const std::byte> raw, uint16_t count) : raw_(raw), count_(count) {}

  bool Next(Value& out) {
    if (index_ == count_ || error_ != InvalidReason::kNone) {
      return false;
    }
    if (raw_.size() - offset_ < 4) {
      error_ = InvalidReason::kTruncated;
      return false;
    }
    const int32_t length = static_cast<int32_t>(internal::LoadUint32(raw_.data() + offset_));
    offset_ += 4;
    if (length < 0) {
      if (length != -1) {
        error_ = InvalidReason::kNegativeLength;
        return false;
      }
      out.is_null = true;
      out.bytes = {};
    } else {
      if (static_cast<size_t>(length) > raw_.size() - offset_) {
        error_ = InvalidReason::kTruncated;
        return false;
      }
      out.is_null = false;
      out.bytes = raw_.subspan(offset_, static_cast<size_t>(length));
      offset_ += static_cast<size_t>(length);
    }
    ++index_;
    return true;
  }

  size_t index() const { return index_; }
  size_t offset() const { return offset_; }  // bytes of `raw` consumed so far
  InvalidReason error() const { return error_; }

 private:
  std::span<const std::byte> raw_;
  size_t offset_ = 0;
  uint16_t count_ = 0;
  uint16_t index_ = 0;
  InvalidReason error_ = InvalidReason::kNone;
};

// Walks `count` consecutive Strings (SASL mechanism names, NegotiateProtocolVersion options).
class StringIterator {
 public:
  StringIterator() = default;
  StringIterator(std::span<const std::byte> raw, uint32_t count) : reader_(raw), count_(count) {}

  bool Next(std::string_view& out) {
    if (index_ == count_ || !reader_.String(out)) {
      return false;
    }
    ++index_;
    return true;
  }
  InvalidReason error() const { return reader_.error(); }

 private:
  Reader reader_{{}};
  uint32_t count_ = 0;
  uint32_t index_ = 0;
};

// Format code n of an array of Int16 codes `raw` (55.7 Bind): 0 codes = all text, 1 code = all
// columns, otherwise one per column. Out-of-range indexes read as text (0).
int16_t ResolveFormat(std::span<const std::byte> raw, size_t index);

// Validates an Int16[count] format array: each code 0 or 1.
InvalidReason CheckFormats(std::span<const std::byte> raw);

// Reads an Int16 count of Int16 format codes and the codes (Bind, FunctionCall, CopyResponse).
bool ReadFormats(Reader& reader, uint16_t& count, std::span<const std::byte>& raw);

}  // namespace jitgate::parsers::pg

#endif  // JITGATE_PARSERS_PG_FRAME_H_
