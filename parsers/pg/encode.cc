// Implementation of jitgate/parsers/pg/encode.h: a bounds-checked Writer, the message encoders
// and the DataRow rewriter.
#include "jitgate/parsers/pg/encode.h"

#include <cstdint>
#include <cstring>

#include "jitgate/parsers/pg/startup.h"

namespace jitgate::parsers::pg {
namespace {

// Appends bytes at `*offset` if they fit; returns false (and writes nothing) otherwise.
class Writer {
 public:
  explicit Writer(std::span<std::byte> out) : out_(out) {}

  void Byte(char value) {
    if (ok_ && offset_ < out_.size()) {
      out_[offset_++] = static_cast<std::byte>(value);
    } else {
      ok_ = false;
    }
  }

  // A C string: the value up to its first NUL, then a NUL.
  void CString(std::string_view value) {
    const size_t nul = value.find('\0');
    if (nul != std::string_view::npos) {
      value = value.substr(0, nul);
    }
    if (!ok_ || out_.size() - offset_ < value.size() + 1) {
      ok_ = false;
      return;
    }
    std::memcpy(out_.data() + offset_, value.data(), value.size());
    offset_ += value.size();
    out_[offset_++] = std::byte{0};
  }

  void Field(char type, std::string_view value) {
    if (!value.empty()) {
      Byte(type);
      CString(value);
    }
  }

  void Int16(uint16_t value) {
    Byte(static_cast<char>(value >> 8));
    Byte(static_cast<char>(value));
  }

  void Int32(uint32_t value) {
    for (int i = 0; i < 4; ++i) {
      Byte(static_cast<char>(value >> (24 - 8 * i)));
    }
  }

  void Bytes(std::span<const std::byte> bytes) {
    if (!ok_ || out_.size() - offset_ < bytes.size()) {
      ok_ = false;
      return;
    }
    if (!bytes.empty()) {
      std::memcpy(out_.data() + offset_, bytes.data(), bytes.size());
    }
    offset_ += bytes.size();
  }

  // Starts a message: type byte and a placeholder length.
  void Begin(char type) {
    Byte(type);
    Skip(4);
  }

  // Fills the length (counts itself, not the type byte); returns the frame size or 0.
  size_t End() {
    if (!ok_) {
      return 0;
    }
    Int32At(1, static_cast<uint32_t>(offset_ - 1));
    return offset_;
  }

  void Int32At(size_t at, uint32_t value) {
    for (int i = 0; i < 4; ++i) {
      out_[at + i] = static_cast<std::byte>(value >> (24 - 8 * i));
    }
  }

  void Skip(size_t count) {
    if (ok_ && out_.size() - offset_ >= count) {
      offset_ += count;
    } else {
      ok_ = false;
    }
  }

  bool ok() const { return ok_; }
  size_t offset() const { return offset_; }

 private:
  std::span<std::byte> out_;
  size_t offset_ = 0;
  bool ok_ = true;
};

// ErrorResponse and NoticeResponse share their layout (55.7, fields 55.8).
size_t EncodeNotice(char type, const ErrorFields& fields, std::span<std::byte> out) {
  Writer writer(out);
  writer.Begin(type);
  writer.Field(kFieldSeverity, fields.severity);
  writer.Field(kFieldSeverityV, fields.severity);
  writer.Field(kFieldCode, fields.sqlstate);
  writer.Field(kFieldMessage, fields.message);
  writer.Field(kFieldDetail, fields.detail);
  writer.Field(kFieldHint, fields.hint);
  writer.Byte('\0');
  return writer.End();
}

size_t EncodeAuthentication(uint32_t code, std::span<const std::byte> data,
                            std::span<std::byte> out) {
  Writer writer(out);
  writer.Begin(kMsgAuthentication);
  writer.Int32(code);
  writer.Bytes(data);
  return writer.End();
}

}  // namespace

size_t EncodeErrorResponse(const ErrorFields& fields, std::span<std::byte> out) {
  return EncodeNotice(kMsgErrorResponse, fields, out);
}

size_t EncodeNoticeResponse(const ErrorFields& fields, std::span<std::byte> out) {
  return EncodeNotice(kMsgNoticeResponse, fields, out);
}

size_t EncodeAuthenticationOk(std::span<std::byte> out) {
  return EncodeAuthentication(kAuthOk, {}, out);
}

size_t EncodeAuthenticationCleartextPassword(std::span<std::byte> out) {
  return EncodeAuthentication(kAuthCleartextPassword, {}, out);
}

size_t EncodeAuthenticationMd5Password(std::span<const std::byte, kMd5SaltSize> salt,
                                       std::span<std::byte> out) {
  return EncodeAuthentication(kAuthMd5Password, salt, out);
}

size_t EncodeAuthenticationSasl(std::span<const std::string_view> mechanisms,
                                std::span<std::byte> out) {
  Writer writer(out);
  writer.Begin(kMsgAuthentication);
  writer.Int32(kAuthSasl);
  for (std::string_view mechanism : mechanisms) {
    if (mechanism.empty() || mechanism.find('\0') != std::string_view::npos) {
      return 0;  // would end the list early
    }
    writer.CString(mechanism);
  }
  writer.Byte('\0');
  return writer.End();
}

size_t EncodeAuthenticationSaslContinue(std::span<const std::byte> data, std::span<std::byte> out) {
  return EncodeAuthentication(kAuthSaslContinue, data, out);
}

size_t EncodeAuthenticationSaslFinal(std::span<const std::byte> data, std::span<std::byte> out) {
  return EncodeAuthentication(kAuthSaslFinal, data, out);
}

size_t EncodeReadyForQuery(char status, std::span<std::byte> out) {
  if (status != kTxIdle && status != kTxInBlock && status != kTxFailed) {
    return 0;
  }
  Writer writer(out);
  writer.Begin(kMsgReadyForQuery);
  writer.Byte(status);
  return writer.End();
}

size_t EncodeParameterStatus(std::string_view name, std::string_view value,
                             std::span<std::byte> out) {
  Writer writer(out);
  writer.Begin(kMsgParameterStatus);
  writer.CString(name);
  writer.CString(value);
  return writer.End();
}

size_t EncodeBackendKeyData(uint32_t process_id, std::span<const std::byte> secret_key,
                            std::span<std::byte> out) {
  if (secret_key.size() < kCancelKeySizeMin || secret_key.size() > kCancelKeySizeMax) {
    return 0;
  }
  Writer writer(out);
  writer.Begin(kMsgBackendKeyData);
  writer.Int32(process_id);
  writer.Bytes(secret_key);
  return writer.End();
}

size_t EncodeCommandComplete(std::string_view tag, std::span<std::byte> out) {
  Writer writer(out);
  writer.Begin(kMsgCommandComplete);
  writer.CString(tag);
  return writer.End();
}

// ---------------------------------------------------------------------------------------------
// DataRow rewriting

size_t RewrittenDataRowSize(const DataRow& row, std::span<const ColumnRewrite> rewrites) {
  if (rewrites.size() != row.column_count) {
    return 0;
  }
  size_t size = kTaggedHeaderSize + 2;
  ValueIterator it = row.columns();
  Value value;
  for (const ColumnRewrite& rewrite : rewrites) {
    if (!it.Next(value)) {
      return 0;  // not a decoded row
    }
    size += 4;
    switch (rewrite.action) {
      case ColumnAction::kKeep:
        size += value.bytes.size();
        break;
      case ColumnAction::kNull:
        break;
      case ColumnAction::kReplace:
        size += rewrite.value.size();
        break;
    }
  }
  // The Int32 length field (size - 1) must stay positive as a signed value.
  constexpr size_t kLengthMax = 0x7fffffff;
  return size - 1 <= kLengthMax ? size : 0;
}

size_t RewriteDataRow(const DataRow& row, std::span<const ColumnRewrite> rewrites,
                      std::span<std::byte> out) {
  const size_t size = RewrittenDataRowSize(row, rewrites);
  if (size == 0 || out.size() < size) {
    return 0;
  }
  Writer writer(out);
  writer.Begin(kMsgDataRow);
  writer.Int16(row.column_count);
  ValueIterator it = row.columns();
  Value value;
  for (const ColumnRewrite& rewrite : rewrites) {
    it.Next(value);  // cannot fail: RewrittenDataRowSize walked the same columns
    std::span<const std::byte> bytes = value.bytes;
    bool is_null = value.is_null;
    if (rewrite.action == ColumnAction::kNull) {
      is_null = true;
    } else if (rewrite.action == ColumnAction::kReplace) {
      is_null = false;
      bytes = rewrite.value;
    }
    writer.Int32(is_null ? 0xffffffffu : static_cast<uint32_t>(bytes.size()));
    if (!is_null) {
      writer.Bytes(bytes);
    }
  }
  const size_t written = writer.End();
  return written == size ? written : 0;
}

bool OverwriteColumnInPlace(std::span<std::byte> payload, size_t column_index,
                            std::span<const std::byte> value) {
  DataRow row;
  if (DecodeDataRow(payload, row) != InvalidReason::kNone || column_index >= row.column_count) {
    return false;
  }
  ValueIterator it = row.columns();
  Value column;
  for (size_t i = 0; i <= column_index; ++i) {
    it.Next(column);
  }
  if (column.is_null || column.bytes.size() != value.size()) {
    return false;
  }
  const size_t at = static_cast<size_t>(column.bytes.data() - payload.data());
  if (!value.empty()) {
    std::memmove(payload.data() + at, value.data(), value.size());
  }
  return true;
}

}  // namespace jitgate::parsers::pg
