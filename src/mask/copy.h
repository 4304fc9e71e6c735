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
//   text    fields separated by `delimiter` (default tab), rows end with '\n' (a "\r\n" or '\r'
//           ending is kept as it was); backslash escapes (\b \f \n \r \t \v \\ \NNN octal, \xHH,
//           and \<other> = that character) are decoded before masking and the masked value is
//           escaped again; `null_text` (default "\N") is NULL.
//   csv     fields separated by `delimiter` (default ','), quoted with `quote` (default '"'),
//           a quote inside a quoted field doubled (or preceded by `escape` when that differs);
//           a quoted field may hold newlines; an unquoted field equal to `null_text` (default
//           empty) is NULL; a masked non-NULL value is always written quoted. With `header`, the
//           first row is column names and is passed unchanged.
//   binary  the 11-byte signature "PGCOPY\n\377\r\n\0", Int32 flags, Int32 header extension
//           length and the extension; then tuples: Int16 field count (-1 ends the data), per
//           field Int32 length (-1 = NULL) and the bytes in binary format. A damaged header or
//           tuple makes Feed fail.
// Masking per field: kMask -> MaskValue(spec), kScan -> ScanValue(detectors), kMaskAndScan is
// not needed (kMask wins). Every masked cell is counted per column (masked_counts()).
//
// One instance per session (one thread). Allocates only while its row buffer grows.
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
  void Begin(const CopyOptions& options, std::span<const ColumnPlan> columns,
             const Hasher* hasher, size_t row_size_max);

  // Feeds one CopyData payload; appends a CopyData frame for every row it completes. Returns
  // false when the stream cannot be masked (a row over row_size_max, a damaged binary stream):
  // the session must then end (what was appended so far is whole rows and may be sent).
  bool Feed(std::span<const std::byte> data, std::vector<std::byte>* out);

  // CopyDone: a final row without its terminator (text/CSV) is masked and appended; a binary
  // stream cut inside a tuple fails (false).
  bool Finish(std::vector<std::byte>* out);

  // Masked cells per column index since Begin (columns beyond the plan count at the last index).
  std::span<const uint64_t> masked_counts() const { return masked_counts_; }
  uint64_t rows() const { return rows_; }

 private:
  CopyOptions options_;
  std::vector<ColumnPlan> columns_;
  const Hasher* hasher_ = nullptr;
  size_t row_size_max_ = 0;
  std::vector<std::byte> row_;      // the row being collected
  std::vector<uint64_t> masked_counts_;
  uint64_t rows_ = 0;
  // Implementation state (parser position, binary header seen, quoted-field state, ...) is the
  // implementer's: add members here.
};

}  // namespace jitgate::mask

#endif  // JITGATE_SRC_MASK_COPY_H_
