// Implementation of jitgate/parsers/mysql/resultset.h: column count, column definitions, text
// and binary row cursors, binary value widths.
#include "jitgate/parsers/mysql/resultset.h"

namespace jitgate::parsers::mysql {

ColumnCount DecodeColumnCount(Bytes payload, uint32_t capabilities, uint32_t mariadb_capabilities) {
  ColumnCount out;
  Reader r(payload);
  out.column_count = r.Lenenc();
  const bool metadata_byte = (capabilities & kClientOptionalResultsetMetadata) != 0 ||
                             (mariadb_capabilities & kMariaDbClientCacheMetadata) != 0;
  if (metadata_byte && r.ok() && r.remaining() == 1) {
    out.metadata_follows = r.Int1();
  }
  r.ExpectEnd();
  out.reason = r.reason();
  if (r.ok() && (out.column_count == 0 || out.column_count > kColumnCountMax)) {
    out.reason = InvalidReason::kColumnCountAboveMax;
  }
  out.status = out.reason == InvalidReason::kNone ? DecodeStatus::kOk : DecodeStatus::kInvalid;
  return out;
}

namespace {

// MariaDB extended metadata: pairs of int<1> key and string<lenenc> value.
void CheckExtendedMetadata(std::string_view block, Reader& outer) {
  Reader r(AsBytes(block));
  while (r.ok() && !r.AtEnd()) {
    r.Int1();
    r.LenencString();
  }
  if (!r.ok()) {
    outer.Fail(r.reason());
  }
}

}  // namespace

ColumnDefinition41 DecodeColumnDefinition41(Bytes payload, uint32_t mariadb_capabilities,
                                            bool field_list) {
  ColumnDefinition41 out;
  Reader r(payload);
  out.catalog = r.LenencString();
  out.schema = r.LenencString();
  out.table = r.LenencString();
  out.org_table = r.LenencString();
  out.name = r.LenencString();
  out.org_name = r.LenencString();
  if ((mariadb_capabilities & kMariaDbClientExtendedMetadata) != 0) {
    out.extended_metadata = r.LenencString();
    CheckExtendedMetadata(out.extended_metadata, r);
  }
  const uint64_t fixed_length = r.Lenenc();
  if (r.ok() && fixed_length != kColumnDefinitionFixedLength) {
    r.Fail(InvalidReason::kBadFixedFieldsLength);
  }
  out.charset = r.Int2();
  out.column_length = r.Int4();
  out.type = r.Int1();
  out.flags = r.Int2();
  out.decimals = r.Int1();
  r.Int2();  // filler
  if (field_list && r.ok() && !r.AtEnd()) {
    out.default_values = r.LenencString();
  }
  r.ExpectEnd();
  out.reason = r.reason();
  out.status = r.ok() ? DecodeStatus::kOk : DecodeStatus::kInvalid;
  return out;
}

bool TextRowCursor::Next(Field& field) {
  if (!reader_.ok() || column_index_ >= column_count_) {
    return false;
  }
  field.offset = reader_.offset();
  field.value = reader_.LenencString(&field.is_null);
  field.size = reader_.offset() - field.offset;
  if (!reader_.ok()) {
    return false;
  }
  ++column_index_;
  return true;
}

DecodeStatus TextRowCursor::status() const {
  if (!reader_.ok()) {
    return DecodeStatus::kInvalid;
  }
  if (column_index_ < column_count_) {
    return reader_.AtEnd() ? DecodeStatus::kInvalid : DecodeStatus::kNeedMore;
  }
  return reader_.AtEnd() ? DecodeStatus::kOk : DecodeStatus::kInvalid;
}

DecodeStatus ValidateTextRow(Bytes payload, size_t column_count, InvalidReason* reason) {
  TextRowCursor cursor(payload, column_count);
  Field field;
  while (cursor.Next(field)) {
  }
  InvalidReason why = cursor.reason();
  if (why == InvalidReason::kNone && cursor.column_index() < column_count) {
    why = InvalidReason::kTruncated;
  } else if (why == InvalidReason::kNone && cursor.status() != DecodeStatus::kOk) {
    why = InvalidReason::kTrailingBytes;
  }
  if (reason != nullptr) {
    *reason = why;
  }
  return why == InvalidReason::kNone ? DecodeStatus::kOk : DecodeStatus::kInvalid;
}

namespace {

// Width class of each type byte; 0 = unknown. Built once at compile time so BinaryValueSize is a
// table lookup plus, for lenenc and temporal types, one prefix read.
enum Width : uint8_t { kUnknown, kZero, kOne, kTwo, kFour, kEight, kDate, kTime, kLenenc };

constexpr Width TypeWidth(uint8_t type) {
  switch (type) {
    case kMysqlTypeNull:
      return kZero;
    case kMysqlTypeTiny:
      return kOne;
    case kMysqlTypeShort:
    case kMysqlTypeYear:
      return kTwo;
    case kMysqlTypeLong:
    case kMysqlTypeInt24:
    case kMysqlTypeFloat:
      return kFour;
    case kMysqlTypeLonglong:
    case kMysqlTypeDouble:
      return kEight;
    case kMysqlTypeDate:
    case kMysqlTypeNewdate:
    case kMysqlTypeDatetime:
    case kMysqlTypeTimestamp:
      return kDate;
    case kMysqlTypeTime:
      return kTime;
    case kMysqlTypeDecimal:
    case kMysqlTypeVarchar:
    case kMysqlTypeBit:
    case kMysqlTypeVector:
    case kMysqlTypeJson:
    case kMysqlTypeNewdecimal:
    case kMysqlTypeEnum:
    case kMysqlTypeSet:
    case kMysqlTypeTinyBlob:
    case kMysqlTypeMediumBlob:
    case kMysqlTypeLongBlob:
    case kMysqlTypeBlob:
    case kMysqlTypeVarString:
    case kMysqlTypeString:
    case kMysqlTypeGeometry:
      return kLenenc;
    default:
      return kUnknown;
  }
}

struct WidthTable {
  Width width[256];
  constexpr WidthTable() : width() {
    for (int i = 0; i < 256; ++i) {
      width[i] = TypeWidth(static_cast<uint8_t>(i));
    }
  }
};
constexpr WidthTable kWidths;

size_t Fail(InvalidReason* reason, InvalidReason why) {
  *reason = why;
  return 0;
}

}  // namespace

bool IsBinaryType(uint8_t type) { return kWidths.width[type] != kUnknown; }
bool IsLenencType(uint8_t type) { return kWidths.width[type] == kLenenc; }

size_t BinaryValueSize(uint8_t type, Bytes bytes, InvalidReason* reason) {
  *reason = InvalidReason::kNone;
  size_t size = 0;
  switch (kWidths.width[type]) {
    case kUnknown:
      return Fail(reason, InvalidReason::kBadFieldType);
    case kZero:
      return 0;
    case kOne:
      size = 1;
      break;
    case kTwo:
      size = 2;
      break;
    case kFour:
      size = 4;
      break;
    case kEight:
      size = 8;
      break;
    case kDate:
    case kTime: {
      if (bytes.empty()) {
        return Fail(reason, InvalidReason::kTruncated);
      }
      const auto length = static_cast<uint8_t>(bytes[0]);
      const bool date = kWidths.width[type] == kDate;
      const bool valid = date ? (length == 0 || length == 4 || length == 7 || length == 11)
                              : (length == 0 || length == 8 || length == 12);
      if (!valid) {
        return Fail(reason, InvalidReason::kBadTemporalLength);
      }
      size = 1 + size_t{length};
      break;
    }
    case kLenenc: {
      Reader r(bytes);
      r.LenencString();
      if (!r.ok()) {
        return Fail(reason, r.reason());
      }
      return r.offset();
    }
  }
  if (bytes.size() < size) {
    return Fail(reason, InvalidReason::kTruncated);
  }
  return size;
}

bool NullBitmapPaddingClear(Bytes bitmap, size_t count, size_t offset) {
  for (size_t bit = count + offset; bit < bitmap.size() * 8; ++bit) {
    if ((static_cast<uint8_t>(bitmap[bit / 8]) >> (bit % 8) & 1) != 0) {
      return false;
    }
  }
  return true;
}

BinaryRowCursor::BinaryRowCursor(Bytes payload, std::span<const uint8_t> types)
    : reader_(payload), payload_(payload), types_(types) {
  if (reader_.AtEnd()) {
    reader_.Fail(InvalidReason::kEmptyPayload);
    return;
  }
  if (reader_.Int1() != kBinaryRowHeader) {
    reader_.Fail(InvalidReason::kWrongHeader);
    return;
  }
  const size_t bitmap_size = NullBitmapSize(types.size(), kBinaryRowNullBitmapOffset);
  const size_t at = reader_.offset();
  reader_.Fixed(bitmap_size);
  if (reader_.ok()) {
    null_bitmap_ = payload.subspan(at, bitmap_size);
    if (!NullBitmapPaddingClear(null_bitmap_, types.size(), kBinaryRowNullBitmapOffset)) {
      reader_.Fail(InvalidReason::kNullBitmapPadding);
    }
  }
}

bool BinaryRowCursor::Next(Field& field) {
  if (!reader_.ok() || column_index_ >= types_.size()) {
    return false;
  }
  field.offset = reader_.offset();
  field.is_null = NullBit(null_bitmap_, column_index_, kBinaryRowNullBitmapOffset);
  field.size = 0;
  field.value = {};
  if (!field.is_null) {
    const uint8_t type = types_[column_index_];
    InvalidReason why;
    const size_t size = BinaryValueSize(type, payload_.subspan(field.offset), &why);
    if (why != InvalidReason::kNone) {
      reader_.Fail(why);
      return false;
    }
    const std::string_view encoded = reader_.Fixed(size);
    field.size = size;
    // A lenenc value's view excludes its length prefix, like text rows.
    field.value =
        kWidths.width[type] == kLenenc ? Reader(AsBytes(encoded)).LenencString() : encoded;
  }
  ++column_index_;
  return true;
}

DecodeStatus BinaryRowCursor::status() const {
  if (!reader_.ok() || (column_index_ == types_.size() && !reader_.AtEnd())) {
    return DecodeStatus::kInvalid;
  }
  return column_index_ == types_.size() ? DecodeStatus::kOk : DecodeStatus::kNeedMore;
}

DecodeStatus ValidateBinaryRow(Bytes payload, std::span<const uint8_t> types,
                               InvalidReason* reason) {
  BinaryRowCursor cursor(payload, types);
  Field field;
  while (cursor.Next(field)) {
  }
  InvalidReason why = cursor.reason();
  if (why == InvalidReason::kNone && cursor.status() != DecodeStatus::kOk) {
    why = InvalidReason::kTrailingBytes;
  }
  if (reason != nullptr) {
    *reason = why;
  }
  return why == InvalidReason::kNone ? DecodeStatus::kOk : DecodeStatus::kInvalid;
}

}  // namespace jitgate::parsers::mysql
