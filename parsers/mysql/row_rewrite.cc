// Implementation of the row rewriter declared in jitgate/parsers/mysql/encode.h: replaces one
// column of a text or binary row with a value or NULL, into caller memory, and the same-length
// in-place masks. Called by the masker once per masked column; rows are validated first, so a
// malformed row is never half-written.
#include <cstring>

#include "jitgate/parsers/mysql/encode.h"
#include "jitgate/parsers/mysql/resultset.h"

namespace jitgate::parsers::mysql {
namespace {

// Locates column `index` of a valid row; false when the row is malformed or index too large.
template <typename Cursor>
bool FindField(Cursor& cursor, size_t index, Field& target) {
  Field field;
  size_t i = 0;
  bool found = false;
  while (cursor.Next(field)) {
    if (i++ == index) {
      target = field;
      found = true;
    }
  }
  return found && cursor.status() == DecodeStatus::kOk;
}

// out = payload[0, cut) + middle + payload[cut + removed, end). Returns the new size or 0.
size_t Splice(Bytes payload, size_t cut, size_t removed, Bytes prefix, std::string_view body,
              std::span<std::byte> out) {
  const size_t tail = payload.size() - cut - removed;
  const size_t size = cut + prefix.size() + body.size() + tail;
  if (out.size() < size) {
    return 0;
  }
  std::byte* p = out.data();
  std::memcpy(p, payload.data(), cut);
  p += cut;
  if (!prefix.empty()) {
    std::memcpy(p, prefix.data(), prefix.size());
    p += prefix.size();
  }
  if (!body.empty()) {
    std::memcpy(p, body.data(), body.size());
    p += body.size();
  }
  if (tail > 0) {
    std::memcpy(p, payload.data() + cut + removed, tail);
  }
  return size;
}

}  // namespace

size_t RewriteTextRow(Bytes payload, size_t column_count, size_t column_index,
                      const Replacement& replacement, std::span<std::byte> out) {
  TextRowCursor cursor(payload, column_count);
  Field field;
  if (!FindField(cursor, column_index, field)) {
    return 0;
  }
  std::byte prefix[9];
  size_t prefix_size = 0;
  std::string_view body;
  if (replacement.is_null) {
    prefix[0] = static_cast<std::byte>(kLenencNull);
    prefix_size = 1;
  } else {
    prefix_size = EncodeLenenc(replacement.value.size(), prefix);
    body = replacement.value;
  }
  return Splice(payload, field.offset, field.size, Bytes(prefix, prefix_size), body, out);
}

size_t RewriteBinaryRow(Bytes payload, std::span<const uint8_t> types, size_t column_index,
                        const Replacement& replacement, std::span<std::byte> out) {
  BinaryRowCursor cursor(payload, types);
  Field field;
  if (!FindField(cursor, column_index, field)) {
    return 0;
  }
  const uint8_t type = types[column_index];
  std::byte prefix[9];
  size_t prefix_size = 0;
  std::string_view body;
  if (!replacement.is_null) {
    body = replacement.value;
    if (IsLenencType(type)) {
      prefix_size = EncodeLenenc(body.size(), prefix);
    } else {
      InvalidReason why;
      if (type == kMysqlTypeNull || BinaryValueSize(type, AsBytes(body), &why) != body.size() ||
          body.empty()) {
        return 0;  // a fixed or temporal value must be exactly one well-formed encoding
      }
    }
  }
  const size_t size =
      Splice(payload, field.offset, field.size, Bytes(prefix, prefix_size), body, out);
  if (size == 0) {
    return 0;
  }
  // The NULL bitmap starts at byte 1 of the row (after the 0x00 header) and is not moved.
  const size_t bit = column_index + kBinaryRowNullBitmapOffset;
  auto& byte = out[1 + bit / 8];
  const auto mask = static_cast<std::byte>(1u << (bit % 8));
  byte = replacement.is_null ? (byte | mask) : (byte & ~mask);
  return size;
}

bool MaskTextFieldInPlace(std::span<std::byte> payload, size_t column_count, size_t column_index,
                          char fill) {
  TextRowCursor cursor(payload, column_count);
  Field field;
  if (!FindField(cursor, column_index, field)) {
    return false;
  }
  if (!field.is_null && !field.value.empty()) {
    const size_t at =
        static_cast<size_t>(field.value.data() - reinterpret_cast<const char*>(payload.data()));
    std::memset(payload.data() + at, fill, field.value.size());
  }
  return true;
}

bool MaskBinaryFieldInPlace(std::span<std::byte> payload, std::span<const uint8_t> types,
                            size_t column_index, char fill) {
  if (column_index >= types.size() || !IsLenencType(types[column_index])) {
    return false;
  }
  BinaryRowCursor cursor(payload, types);
  Field field;
  if (!FindField(cursor, column_index, field)) {
    return false;
  }
  if (!field.is_null && !field.value.empty()) {
    const size_t at =
        static_cast<size_t>(field.value.data() - reinterpret_cast<const char*>(payload.data()));
    std::memset(payload.data() + at, fill, field.value.size());
  }
  return true;
}

}  // namespace jitgate::parsers::mysql
