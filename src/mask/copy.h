// src/mask/copy.h: masks the rows of a COPY ... TO STDOUT stream (text, CSV and binary formats)
// as they pass, so COPY is no way around the column masks (PROTOCOLS.md 3.11: COPY output
// bypasses DataRow).
//
// The session feeds the payloads of the CopyData messages in order (Feed) and CopyDone (Finish).
// Row boundaries need not match message boundaries (PostgreSQL sends one row per CopyData, but
// nothing in the protocol promises it): the masker cuts the concatenated stream into rows itself
// and emits each row, masked, as one CopyData message of its own ('d', Int32 length, bytes).
// A row is held until it is complete (at most row_size_max bytes); an unmasked row is copied
// out unchanged. Columns have one plan entry each (CopyColumn); a row with more fields than the
// plan has them NULLed (fail closed), a row with fewer keeps what it has.
//
// Formats (PostgreSQL docs, COPY, "File Formats"):
//   text    fields separated by `delimiter` (default tab), rows end with a '\n' that no backslash
//           escapes (a "\r\n" ending is kept as it was; a bare '\r' is data, since the server
//           writes CR as \r); backslash escapes (\b \f \n \r \t \v \\ \NNN octal, \xHH, and
//           \<other> = that character) are decoded before masking and the masked value is
//           escaped again as the server escapes; a field whose raw text is `null_text` (default
//           "\N") is NULL. With `header` (PostgreSQL 15+), the first row passes unchanged.
//           The bytes are read as ASCII-safe (UTF-8 and every server encoding); a client
//           encoding whose multibyte characters may hold a backslash byte (SJIS, BIG5, GBK,
//           UHC, GB18030) cannot be split safely and is the session's to refuse.
//   csv     fields separated by `delimiter` (default ','), quoted with `quote` (default '"'),
//           a quote inside a quoted field doubled (or preceded by `escape` when that differs);
//           a quoted field may hold newlines; an unquoted field equal to `null_text` (default
//           empty) is NULL; a masked non-NULL value is always written quoted. With `header`, the
//           first row is column names and is passed unchanged.
//   binary  the 11-byte signature "PGCOPY\n\377\r\n\0", Int32 flags, Int32 header extension
//           length and the extension (emitted unchanged as a CopyData of its own); then tuples:
//           Int16 field count (-1 ends the data: the trailer, emitted as its own CopyData), per
//           field Int32 length (-1 = NULL) and the bytes in binary format; a masked field is
//           written with its new length. A damaged header or tuple makes Feed fail, and so do
//           critical flag bits (0-15) and the OID flag (bit 16, gone since PostgreSQL 12).
// Masking per field: kMask -> MaskValue(spec), kScan -> ScanValue(detectors), kMaskAndScan is
// not needed (kMask wins). Every masked cell is counted per column (masked_counts()).
//
// Masking is asked with format 0 and the decoded value in text and CSV, format 1 in binary
// (ColumnPlan::format is not read here).
//
// One instance per session (one thread). Allocates only while its row and value buffers grow.
#ifndef JITGATE_SRC_MASK_COPY_H_
#define JITGATE_SRC_MASK_COPY_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "src/mask/detect.h"
#include "src/mask/value.h"

namespace jitgate::mask {

enum class ColumnAction : uint8_t {
  kKeep,  // passes unchanged
  kMask,  // masked with `spec`
  kScan,  // scanned with `detectors`; matches masked with `spec`
};

// What to do with one column of a result (DataRow) or of a COPY stream.
struct ColumnPlan {
  ColumnAction action = ColumnAction::kKeep;
  MaskSpec spec;
  DetectorSet detectors = 0;  // kScan
  ValueKind kind = ValueKind::kText;
  int32_t typmod = -1;
  int16_t format = 0;  // 0 text, 1 binary (COPY: binary when the COPY is)
};

enum class CopyFormat : uint8_t { kText, kCsv, kBinary };

struct CopyOptions {
  CopyFormat format = CopyFormat::kText;
  char delimiter = '\t';   // CSV default ','
  char quote = '"';        // CSV only
  char escape = '"';       // CSV only; default = quote
  std::string null_text = "\\N";  // CSV default ""
  bool header = false;     // CSV (and text, PostgreSQL 15+) HEADER: first row passes unchanged
};

class CopyMasker {
 public:
  CopyMasker() = default;

  // Starts a COPY stream. `columns` is copied. `hasher` may be null when no column hashes.
  // `row_size_max` bounds one row as it arrives (its line ending or, in binary, its field count
  // and lengths included; the binary header counts as a row) and is capped at what one CopyData
  // message can carry. Options PostgreSQL would refuse (a text delimiter that is a backslash,
  // a letter, a digit or '.', a newline or carriage return in a delimiter, quote, escape or
  // null_text, a CSV quote equal to the delimiter, a delimiter or quote inside null_text) make
  // every later Feed fail: the stream cannot be parsed as the server wrote it.
  void Begin(const CopyOptions& options, std::span<const ColumnPlan> columns,
             const Hasher* hasher, size_t row_size_max);

  // Feeds one CopyData payload; appends a CopyData frame for every row it completes. Returns
  // false when the stream cannot be masked (a row over row_size_max, a damaged binary stream,
  // bytes after the binary trailer, invalid options): the session must then end (what was
  // appended so far is whole rows and may be sent). Once false, always false.
  bool Feed(std::span<const std::byte> data, std::vector<std::byte>* out);

  // CopyDone: a final row without its terminator (text/CSV) is masked and appended; a binary
  // stream cut inside its header or a tuple, or a CSV stream cut inside a quoted field, fails
  // (false). A binary stream that ends between tuples without its trailer is accepted. Feed and
  // Finish may not be called again until the next Begin.
  bool Finish(std::vector<std::byte>* out);

  // Masked (changed) cells per column index since Begin. Its size is the plan's column count,
  // or 1 for an empty plan; fields beyond the plan (NULLed) count at the last index.
  std::span<const uint64_t> masked_counts() const { return masked_counts_; }
  // Data rows emitted since Begin (not the header row, not the binary header or trailer).
  uint64_t rows() const { return rows_; }

 private:
  // Where the binary scanner is: the item it is reading (PostgreSQL docs, COPY, "Binary
  // Format"). Integer items are staged in item_ byte by byte when they straddle Feed calls.
  enum class BinaryPhase : uint8_t {
    kSignature,        // 11 bytes
    kFlags,            // Int32
    kExtensionLength,  // Int32
    kExtension,        // item_need_ bytes
    kFieldCount,       // Int16; -1 is the trailer
    kFieldLength,      // Int32; -1 is NULL
    kFieldData,        // item_need_ bytes
    kEnd,              // after the trailer: nothing may follow
  };
  // What the binary scanner completed last.
  enum class BinaryRow : uint8_t { kHeader, kTuple, kTrailer };
  // One cell's fate after the plan has been applied to it.
  enum class Cell : uint8_t { kKeep, kValue, kNull };

  bool Fail();
  bool OptionsValid() const;
  // Row scanners: look for the end of the row that begins at the start of row_ (when row_ holds
  // bytes) or at `pos`, in p[pos, limit). Return one past the row's last byte, or kNotFound
  // after consuming everything (their state then describes the position `limit`).
  size_t ScanText(const std::byte* p, size_t pos, size_t limit) const;
  size_t ScanCsv(const std::byte* p, size_t pos, size_t limit);
  size_t ScanBinary(const std::byte* p, size_t pos, size_t limit);
  bool OnBinaryInteger();  // a staged integer item is complete; true when it ends a row
  bool EndBinaryField();   // true when it was the tuple's last field
  void Hold(const std::byte* p, size_t size);

  // Row writers: one CopyData frame per row; false when the rewritten row does not fit one.
  bool EmitRow(std::span<const std::byte> row, bool terminated, std::vector<std::byte>* out);
  bool EmitTextRow(std::span<const std::byte> row, bool terminated, std::vector<std::byte>* out);
  bool EmitCsvRow(std::span<const std::byte> row, bool terminated, std::vector<std::byte>* out);
  bool EmitBinaryTuple(std::span<const std::byte> row, std::vector<std::byte>* out);
  // True when a text or CSV row of `content_size` bytes (its line ending excluded) goes out as
  // it came: no fields for an empty plan, or no masking column and no field beyond the plan's.
  bool KeepsTextRow(const std::byte* p, size_t content_size) const;
  // Applies the plan to the non-NULL value of field `index`; kValue leaves it in masked_.
  Cell MaskCell(size_t index, std::span<const std::byte> value, int16_t format);
  bool Masks(size_t index) const;
  void CountMasked(size_t index);

  CopyOptions options_;
  std::vector<ColumnPlan> columns_;
  const Hasher* hasher_ = nullptr;
  size_t row_size_max_ = 0;
  std::vector<std::byte> row_;      // the row being collected (empty between rows)
  std::vector<std::byte> value_;    // a decoded text/CSV field
  std::vector<std::byte> masked_;   // what MaskValue/ScanValue made of it
  std::vector<uint64_t> masked_counts_;
  uint64_t rows_ = 0;

  bool begun_ = false;
  bool finished_ = false;
  bool failed_ = false;
  bool any_masking_ = false;     // some column is kMask or kScan: every row is parsed
  bool header_pending_ = false;  // text/CSV HEADER row not yet passed
  bool held_escape_ = false;     // text: row_ ends in an odd run of backslashes
  bool in_quote_ = false;        // CSV: the scan position is inside quotes
  bool last_was_escape_ = false; // CSV: ... right after an escape character inside quotes
  BinaryPhase phase_ = BinaryPhase::kSignature;
  BinaryRow binary_row_ = BinaryRow::kHeader;
  uint8_t item_have_ = 0;        // bytes of the current integer (or signature) item seen
  uint8_t item_[4] = {};
  size_t item_need_ = 0;         // kExtension, kFieldData: bytes still to come
  int32_t fields_left_ = 0;      // kFieldLength, kFieldData: fields of the tuple still to come
};

}  // namespace jitgate::mask

#endif  // JITGATE_SRC_MASK_COPY_H_
