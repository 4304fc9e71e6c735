// jitgate/parsers/mysql/wire.h: MySQL/MariaDB wire constants, the decode status and reasons
// shared by every MySQL decoder, and the bounds-checked payload reader they are built on.
//
// Pure and header-only. Readers borrow the caller's payload; every view they return points into
// it and must not outlive it. Spec: PROTOCOLS.md section 4; dev.mysql.com/doc/dev/mysql-server/
// latest/page_protocol_basic_dt_integers.html and page_protocol_basic_dt_strings.html ("4.1"),
// include/mysql_com.h (capability and status bits, "4.3", "4.6"), field_types.h ("4.6").
// Invariant of Reader: offset_ <= bytes_.size().
#ifndef JITGATE_PARSERS_MYSQL_WIRE_H_
#define JITGATE_PARSERS_MYSQL_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace jitgate::parsers::mysql {

using Bytes = std::span<const std::byte>;

// Result of every decoder: kNeedMore only from framing; typed decoders see whole payloads.
enum class DecodeStatus : uint8_t { kOk, kNeedMore, kInvalid };

// Why a packet was rejected; one reason per way it can be wrong (becomes a counter, an audit
// field and the session's close reason).
enum class InvalidReason : uint8_t {
  kNone,
  kFrameAboveMax,         // logical payload larger than the configured frame_size_max
  kSequenceMismatch,      // a continuation packet's sequence id does not follow its predecessor
  kEmptyPayload,          // a message that needs at least its header byte has none
  kTruncated,             // a field runs past the end of the payload
  kTrailingBytes,         // bytes left after the last field of a fixed-layout message
  kBadLenencPrefix,       // 0xff where an int<lenenc> was expected
  kUnexpectedNull,        // 0xfb (NULL) where a value is required
  kMissingNul,            // string<NUL> without its terminator
  kWrongHeader,           // first byte is not this message's marker
  kUnsupportedProtocol,   // HandshakeV10 protocol byte != 10, or no CLIENT_PROTOCOL_41
  kBadAuthDataLength,     // auth-plugin-data length outside 0 or 21..255
  kBadFixedFieldsLength,  // ColumnDefinition41 length of fixed fields != 0x0c
  kColumnCountAboveMax,   // column count 0 or above kColumnCountMax
  kBadFieldType,          // a MYSQL_TYPE_* value that has no binary encoding
  kBadTemporalLength,     // DATE/DATETIME/TIMESTAMP not 0/4/7/11, TIME not 0/8/12
  kNullBitmapPadding,     // a NULL-bitmap bit set beyond the last column
  kParamCountAboveMax,    // parameter count above kParamCountMax
  kBadBindFlag,           // new_params_bind_flag other than 0 or 1, or 0 with no known types
  kStagingOverflow,       // a logical payload does not fit the staging buffer
};

// Printable name of a reason, for logs and test failures.
std::string_view InvalidReasonName(InvalidReason reason);

// int<lenenc> prefixes ("4.1", page_protocol_basic_dt_integers.html).
inline constexpr uint8_t kLenencNull = 0xfb;     // NULL in text rows
inline constexpr uint8_t kLenenc2Byte = 0xfc;    // 2-byte value follows
inline constexpr uint8_t kLenenc3Byte = 0xfd;    // 3-byte value follows
inline constexpr uint8_t kLenenc8Byte = 0xfe;    // 8-byte value follows
inline constexpr uint8_t kLenencInvalid = 0xff;  // never a length (an ERR header)

// Capability flags, include/mysql_com.h ("4.3").
inline constexpr uint32_t kClientLongPassword = 1;  // CLIENT_MYSQL; MariaDB servers clear it
inline constexpr uint32_t kClientFoundRows = 1u << 1;
inline constexpr uint32_t kClientLongFlag = 1u << 2;
inline constexpr uint32_t kClientConnectWithDb = 1u << 3;
inline constexpr uint32_t kClientNoSchema = 1u << 4;
inline constexpr uint32_t kClientCompress = 1u << 5;
inline constexpr uint32_t kClientOdbc = 1u << 6;
inline constexpr uint32_t kClientLocalFiles = 1u << 7;
inline constexpr uint32_t kClientIgnoreSpace = 1u << 8;
inline constexpr uint32_t kClientProtocol41 = 1u << 9;
inline constexpr uint32_t kClientInteractive = 1u << 10;
inline constexpr uint32_t kClientSsl = 1u << 11;
inline constexpr uint32_t kClientIgnoreSigpipe = 1u << 12;
inline constexpr uint32_t kClientTransactions = 1u << 13;
inline constexpr uint32_t kClientReserved = 1u << 14;
inline constexpr uint32_t kClientSecureConnection = 1u << 15;
inline constexpr uint32_t kClientMultiStatements = 1u << 16;
inline constexpr uint32_t kClientMultiResults = 1u << 17;
inline constexpr uint32_t kClientPsMultiResults = 1u << 18;
inline constexpr uint32_t kClientPluginAuth = 1u << 19;
inline constexpr uint32_t kClientConnectAttrs = 1u << 20;
inline constexpr uint32_t kClientPluginAuthLenencClientData = 1u << 21;
inline constexpr uint32_t kClientCanHandleExpiredPasswords = 1u << 22;
inline constexpr uint32_t kClientSessionTrack = 1u << 23;
inline constexpr uint32_t kClientDeprecateEof = 1u << 24;
inline constexpr uint32_t kClientOptionalResultsetMetadata = 1u << 25;
inline constexpr uint32_t kClientZstdCompressionAlgorithm = 1u << 26;
inline constexpr uint32_t kClientQueryAttributes = 1u << 27;
inline constexpr uint32_t kMultiFactorAuthentication = 1u << 28;
inline constexpr uint32_t kClientSslVerifyServerCert = 1u << 30;

// MariaDB extended capabilities, in the HandshakeV10 filler and the HandshakeResponse41
// filler (bits 32.. of the 64-bit capability set, MariaDB KB "Connection" / "4.8").
inline constexpr uint32_t kMariaDbClientProgress = 1u << 0;
inline constexpr uint32_t kMariaDbClientStmtBulkOperations = 1u << 2;
inline constexpr uint32_t kMariaDbClientExtendedMetadata = 1u << 3;
inline constexpr uint32_t kMariaDbClientCacheMetadata = 1u << 4;
inline constexpr uint32_t kMariaDbClientBulkUnitResults = 1u << 5;

// Server status flags, include/mysql_com.h SERVER_STATUS_* ("4.6").
inline constexpr uint16_t kServerStatusInTrans = 1;
inline constexpr uint16_t kServerStatusAutocommit = 2;
inline constexpr uint16_t kServerMoreResultsExists = 8;
inline constexpr uint16_t kServerStatusNoGoodIndexUsed = 16;
inline constexpr uint16_t kServerStatusNoIndexUsed = 32;
inline constexpr uint16_t kServerStatusCursorExists = 64;
inline constexpr uint16_t kServerStatusLastRowSent = 128;
inline constexpr uint16_t kServerStatusDbDropped = 256;
inline constexpr uint16_t kServerStatusNoBackslashEscapes = 512;
inline constexpr uint16_t kServerStatusMetadataChanged = 1024;
inline constexpr uint16_t kServerQueryWasSlow = 2048;
inline constexpr uint16_t kServerPsOutParams = 4096;
inline constexpr uint16_t kServerStatusInTransReadonly = 8192;
inline constexpr uint16_t kServerSessionStateChanged = 16384;

// Column types, include/field_types.h enum_field_types ("4.6", binary protocol widths).
inline constexpr uint8_t kMysqlTypeDecimal = 0;
inline constexpr uint8_t kMysqlTypeTiny = 1;
inline constexpr uint8_t kMysqlTypeShort = 2;
inline constexpr uint8_t kMysqlTypeLong = 3;
inline constexpr uint8_t kMysqlTypeFloat = 4;
inline constexpr uint8_t kMysqlTypeDouble = 5;
inline constexpr uint8_t kMysqlTypeNull = 6;
inline constexpr uint8_t kMysqlTypeTimestamp = 7;
inline constexpr uint8_t kMysqlTypeLonglong = 8;
inline constexpr uint8_t kMysqlTypeInt24 = 9;
inline constexpr uint8_t kMysqlTypeDate = 10;
inline constexpr uint8_t kMysqlTypeTime = 11;
inline constexpr uint8_t kMysqlTypeDatetime = 12;
inline constexpr uint8_t kMysqlTypeYear = 13;
inline constexpr uint8_t kMysqlTypeNewdate = 14;
inline constexpr uint8_t kMysqlTypeVarchar = 15;
inline constexpr uint8_t kMysqlTypeBit = 16;
inline constexpr uint8_t kMysqlTypeTimestamp2 = 17;  // server-internal, never on the wire
inline constexpr uint8_t kMysqlTypeDatetime2 = 18;   // server-internal
inline constexpr uint8_t kMysqlTypeTime2 = 19;       // server-internal
inline constexpr uint8_t kMysqlTypeTypedArray = 20;  // replication only
inline constexpr uint8_t kMysqlTypeVector = 242;     // MySQL 9.0
inline constexpr uint8_t kMysqlTypeInvalid = 243;
inline constexpr uint8_t kMysqlTypeBool = 244;  // placeholder, never on the wire
inline constexpr uint8_t kMysqlTypeJson = 245;
inline constexpr uint8_t kMysqlTypeNewdecimal = 246;
inline constexpr uint8_t kMysqlTypeEnum = 247;
inline constexpr uint8_t kMysqlTypeSet = 248;
inline constexpr uint8_t kMysqlTypeTinyBlob = 249;
inline constexpr uint8_t kMysqlTypeMediumBlob = 250;
inline constexpr uint8_t kMysqlTypeLongBlob = 251;
inline constexpr uint8_t kMysqlTypeBlob = 252;
inline constexpr uint8_t kMysqlTypeVarString = 253;
inline constexpr uint8_t kMysqlTypeString = 254;
inline constexpr uint8_t kMysqlTypeGeometry = 255;

// A table has at most 4096 columns (MySQL "Limits on Table Column Count"); a result set of
// expressions is bounded the same way, so a larger count is hostile.
inline constexpr uint64_t kColumnCountMax = 4096;
// A prepared statement has at most 65535 placeholders (num_params is int<2>).
inline constexpr uint64_t kParamCountMax = 65535;

// Bounds-checked little-endian reader over one payload. The first failed read makes the reader
// fail and sticks: later reads return zero/empty views, and reason() says why.
class Reader {
 public:
  explicit Reader(Bytes bytes) : bytes_(bytes) {}

  bool ok() const { return reason_ == InvalidReason::kNone; }
  InvalidReason reason() const { return reason_; }
  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }
  bool AtEnd() const { return offset_ == bytes_.size(); }
  // The first byte not yet read, without consuming it (0 at the end).
  uint8_t Peek() const { return AtEnd() ? 0 : static_cast<uint8_t>(bytes_[offset_]); }
  void Fail(InvalidReason reason) {
    if (ok()) {
      reason_ = reason;
    }
  }

  // int<n>, n <= 8.
  uint64_t Int(size_t n) {
    if (!ok() || remaining() < n) {
      Fail(InvalidReason::kTruncated);
      return 0;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) {
      value |= uint64_t{static_cast<uint8_t>(bytes_[offset_ + i])} << (8 * i);
    }
    offset_ += n;
    return value;
  }
  uint8_t Int1() { return static_cast<uint8_t>(Int(1)); }
  uint16_t Int2() { return static_cast<uint16_t>(Int(2)); }
  uint32_t Int3() { return static_cast<uint32_t>(Int(3)); }
  uint32_t Int4() { return static_cast<uint32_t>(Int(4)); }
  uint64_t Int8() { return Int(8); }

  // int<lenenc>. Sets *is_null on 0xfb when is_null is given; otherwise 0xfb fails.
  uint64_t Lenenc(bool* is_null = nullptr) {
    if (is_null != nullptr) {
      *is_null = false;
    }
    const uint8_t first = Int1();
    if (first < kLenencNull) {
      return first;
    }
    switch (first) {
      case kLenencNull:
        if (is_null == nullptr) {
          Fail(InvalidReason::kUnexpectedNull);
        } else {
          *is_null = true;
        }
        return 0;
      case kLenenc2Byte:
        return Int(2);
      case kLenenc3Byte:
        return Int(3);
      case kLenenc8Byte:
        return Int(8);
      default:
        Fail(InvalidReason::kBadLenencPrefix);
        return 0;
    }
  }

  // string[n].
  std::string_view Fixed(uint64_t n) {
    if (!ok() || remaining() < n) {
      Fail(InvalidReason::kTruncated);
      return {};
    }
    const std::string_view out(reinterpret_cast<const char*>(bytes_.data()) + offset_, n);
    offset_ += n;
    return out;
  }
  // string<lenenc>; NULL allowed only when is_null is given.
  std::string_view LenencString(bool* is_null = nullptr) {
    const uint64_t size = Lenenc(is_null);
    return ok() ? Fixed(size) : std::string_view{};
  }
  // string<NUL>; the terminator is consumed and not part of the view.
  std::string_view NulString() {
    if (!ok()) {
      return {};
    }
    const char* start = reinterpret_cast<const char*>(bytes_.data()) + offset_;
    const void* nul = std::memchr(start, 0, remaining());
    if (nul == nullptr) {
      Fail(InvalidReason::kMissingNul);
      return {};
    }
    const size_t size = static_cast<size_t>(static_cast<const char*>(nul) - start);
    offset_ += size + 1;
    return {start, size};
  }
  // string<EOF>: the rest of the payload.
  std::string_view Rest() { return ok() ? Fixed(remaining()) : std::string_view{}; }
  // Fails with kTrailingBytes unless everything was read.
  void ExpectEnd() {
    if (ok() && !AtEnd()) {
      Fail(InvalidReason::kTrailingBytes);
    }
  }

 private:
  Bytes bytes_;
  size_t offset_ = 0;
  InvalidReason reason_ = InvalidReason::kNone;
};

// Views a string_view's bytes (payload slices are handed around as either).
inline Bytes AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Ends a typed decode: copies the reader's verdict into `out` (a view struct with `status` and
// `reason` fields) and returns it.
template <typename T>
T FinishDecode(T out, const Reader& reader) {
  out.reason = reader.reason();
  out.status = reader.ok() ? DecodeStatus::kOk : DecodeStatus::kInvalid;
  return out;
}

// Ends a typed decode as invalid for `reason`.
template <typename T>
T RejectDecode(T out, InvalidReason reason) {
  out.reason = reason;
  out.status = DecodeStatus::kInvalid;
  return out;
}

}  // namespace jitgate::parsers::mysql

#endif  // JITGATE_PARSERS_MYSQL_WIRE_H_
