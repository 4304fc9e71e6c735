// Implementation of jitgate/parsers/pg/encode.h.
#include "jitgate/parsers/pg/encode.h"

#include <cstdint>
#include <cstring>

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

}  // namespace

size_t EncodeErrorResponse(const ErrorFields& fields, std::span<std::byte> out) {
  Writer writer(out);
  writer.Byte(kMsgErrorResponse);
  writer.Skip(4);  // length, filled below
  writer.Field(kFieldSeverity, fields.severity);
  writer.Field(kFieldSeverityV, fields.severity);
  writer.Field(kFieldCode, fields.sqlstate);
  writer.Field(kFieldMessage, fields.message);
  writer.Field(kFieldDetail, fields.detail);
  writer.Field(kFieldHint, fields.hint);
  writer.Byte('\0');
  if (!writer.ok()) {
    return 0;
  }
  // The length counts itself but not the type byte.
  writer.Int32At(1, static_cast<uint32_t>(writer.offset() - 1));
  return writer.offset();
}

}  // namespace jitgate::parsers::pg
