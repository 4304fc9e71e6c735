// jitgate/parsers/mysql/resultset.h: result-set packets: column count, ColumnDefinition41, text
// rows and binary rows, and the binary-protocol value widths shared with COM_STMT_EXECUTE.
//
// Decoders take one whole logical payload; row cursors yield one field view at a time and check
// every bound, so a truncated or padded row is reported, never over-read. Spec: PROTOCOLS.md 4.6;
// dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset.html,
// page_protocol_com_query_response_text_resultset_column_definition.html,
// page_protocol_binary_resultset.html (NULL bitmap offset 2), page_protocol_binary_resultset.html
// #sect_protocol_binary_resultset_row_value (value widths).
#ifndef JITGATE_PARSERS_MYSQL_RESULTSET_H_
#define JITGATE_PARSERS_MYSQL_RESULTSET_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "jitgate/parsers/mysql/wire.h"

namespace jitgate::parsers::mysql {

inline constexpr uint64_t kColumnDefinitionFixedLength = 0x0c;  // int<lenenc> 0x0c ("4.6")
inline constexpr uint8_t kBinaryRowHeader = 0x00;               // ("4.6")
inline constexpr size_t kBinaryRowNullBitmapOffset = 2;         // result rows ("4.6")
inline constexpr size_t kExecuteNullBitmapOffset = 0;           // COM_STMT_EXECUTE ("4.5")

// Bytes of a NULL bitmap for `count` fields starting at bit `offset`.
constexpr size_t NullBitmapSize(size_t count, size_t offset) { return (count + offset + 7) / 8; }

// Column-count packet: int<lenenc>, plus a metadata_follows byte with
// CLIENT_OPTIONAL_RESULTSET_METADATA (MySQL) or MARIADB_CLIENT_CACHE_METADATA (MariaDB; 0 means
// the column definitions are omitted and the ones from COM_STMT_PREPARE apply). The count must
// be 1..kColumnCountMax.
struct ColumnCount {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  uint64_t column_count = 0;
  uint8_t metadata_follows = 1;
};
ColumnCount DecodeColumnCount(Bytes payload, uint32_t capabilities,
                              uint32_t mariadb_capabilities = 0);

// Protocol::ColumnDefinition41.
struct ColumnDefinition41 {
  DecodeStatus status = DecodeStatus::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  std::string_view catalog;  // always "def"
  std::string_view schema;
  std::string_view table;      // alias
  std::string_view org_table;  // real table; empty for expressions
  std::string_view name;       // alias
  std::string_view org_name;   // real column
  uint16_t charset = 0;        // collation id; 63 = binary
  uint32_t column_length = 0;
  uint8_t type = 0;  // kMysqlType*
  uint16_t flags = 0;
  uint8_t decimals = 0;
  // MARIADB_CLIENT_EXTENDED_METADATA: (int<1> key, string<lenenc> value) pairs, key 0 the
  // data type name ("json", "uuid"...), 1 the format name; validated, kept raw.
  std::string_view extended_metadata;
  std::string_view default_values;  // COM_FIELD_LIST responses only
};
// `mariadb_capabilities` are the negotiated MariaDB ones (MARIADB_CLIENT_EXTENDED_METADATA adds a
// string<lenenc> after org_name); `field_list` accepts the trailing default-values string of
// COM_FIELD_LIST responses.
ColumnDefinition41 DecodeColumnDefinition41(Bytes payload, uint32_t mariadb_capabilities = 0,
                                            bool field_list = false);

// One field of a row: where it sits in the payload (for the row rewriter) and its value view.
struct Field {
  bool is_null = false;
  std::string_view value;  // text: the lenenc body; binary: the encoded value (see below)
  size_t offset = 0;       // first byte of the field's encoding within the payload
  size_t size = 0;         // bytes of the encoding (prefix included; 0 for binary NULLs)
};

// Walks a text row: per column string<lenenc>, or 0xfb for NULL. Next() returns false after the
// last column or on a defect; status() then says which (kOk only if exactly column_count fields
// filled the payload).
class TextRowCursor {
 public:
  TextRowCursor(Bytes payload, size_t column_count)
      : reader_(payload), column_count_(column_count) {}
  bool Next(Field& field);
  DecodeStatus status() const;
  InvalidReason reason() const { return reader_.reason(); }
  size_t column_index() const { return column_index_; }

 private:
  Reader reader_;
  size_t column_count_;
  size_t column_index_ = 0;
};
// Walks a whole text row; kOk iff it has exactly `column_count` well-formed fields.
DecodeStatus ValidateTextRow(Bytes payload, size_t column_count, InvalidReason* reason = nullptr);

// Bytes of the binary encoding of a non-NULL value of `type` at the start of `bytes`, or 0 with
// *reason set when it is malformed (unknown type, bad temporal length, truncated lenenc).
// Fixed widths: TINY 1; SHORT, YEAR 2; LONG, INT24, FLOAT 4; LONGLONG, DOUBLE 8; NULL 0 (reported
// as size 0 with no reason). DATE/DATETIME/TIMESTAMP: length byte 0/4/7/11 + fields; TIME:
// 0/8/12 + fields. Everything else (strings, DECIMAL, BLOBs, JSON, GEOMETRY, BIT, ENUM, SET):
// string<lenenc>.
size_t BinaryValueSize(uint8_t type, Bytes bytes, InvalidReason* reason);
// True for types BinaryValueSize knows.
bool IsBinaryType(uint8_t type);
// True for types whose binary value is a string<lenenc>.
bool IsLenencType(uint8_t type);

// Walks a binary row: 0x00 header, NULL bitmap of (column_count + 9) / 8 bytes with bit offset 2,
// then non-NULL values by `types` (one kMysqlType* per column, from the ColumnDefinitions).
// A Field's value is the encoded bytes (a lenenc value's prefix excluded).
class BinaryRowCursor {
 public:
  BinaryRowCursor(Bytes payload, std::span<const uint8_t> types);
  bool Next(Field& field);
  DecodeStatus status() const;
  InvalidReason reason() const { return reader_.reason(); }
  Bytes null_bitmap() const { return null_bitmap_; }

 private:
  Reader reader_;
  Bytes payload_;
  std::span<const uint8_t> types_;
  Bytes null_bitmap_;
  size_t column_index_ = 0;
};
DecodeStatus ValidateBinaryRow(Bytes payload, std::span<const uint8_t> types,
                               InvalidReason* reason = nullptr);

// True when NULL-bitmap bit (index + offset) is set.
inline bool NullBit(Bytes bitmap, size_t index, size_t offset) {
  const size_t bit = index + offset;
  return (static_cast<uint8_t>(bitmap[bit / 8]) >> (bit % 8) & 1) != 0;
}
// True when no bit at or beyond (count + offset) is set (padding must be zero).
bool NullBitmapPaddingClear(Bytes bitmap, size_t count, size_t offset);

}  // namespace jitgate::parsers::mysql

#endif  // JITGATE_PARSERS_MYSQL_RESULTSET_H_
