// src/mask/copy.cc: CopyMasker, the COPY TO STDOUT stream masker (contract in copy.h).
//
// Called by the session with each CopyData payload of a COPY OUT. Feed cuts the concatenated
// payloads into rows with a scanner per format whose state survives between calls (text: the
// parity of a trailing backslash run; CSV: inside quotes, after an escape; binary: the item being
// read), so no byte is scanned twice. A row that lies wholly inside one payload is framed straight
// from it; only a row that straddles payloads is collected in row_. Invariant:
// row_.size() <= row_size_max_ <= kPayloadMax, and row_ is empty between rows.
//
// A complete row is written by RowWriter: untouched bytes are copied as they came and only the
// fields the plan changes are spliced in, so a row nothing changes is byte-identical. Rows of a
// plan with no kMask/kScan column are parsed only when they might hold more fields than the plan
// has (counted with memchr first).
#include "src/mask/copy.h"

#include <algorithm>
#include <cstring>

#include "jitgate/check.h"

namespace jitgate::mask {
namespace {

constexpr size_t kNotFound = SIZE_MAX;
// CopyData: 'd', Int32 length (itself included), payload (protocol docs, "Message Formats").
constexpr std::byte kCopyDataType{'d'};
constexpr size_t kFrameHeaderSize = 5;
// The Int32 length covers itself, so a payload may be at most INT32_MAX - 4 bytes.
constexpr size_t kPayloadMax = INT32_MAX - 4;
// COPY "Binary Format": the file header's signature, then Int32 flags and Int32 extension length.
constexpr uint8_t kBinarySignature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
// Flags bits 0-15 are critical (a reader must stop on an unknown one); bit 16 says every tuple
// carries an OID field outside its count (WITH OIDS, removed in PostgreSQL 12): not supported.
constexpr uint32_t kBinaryFlagsRefused = 0x1ffff;
constexpr std::byte kNullLength[4] = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                                      std::byte{0xff}};

inline char Char(std::byte b) { return static_cast<char>(b); }
inline std::byte Byte(char c) { return static_cast<std::byte>(c); }

uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t ReadU32(const std::byte* p) { return ReadU32(reinterpret_cast<const uint8_t*>(p)); }
int16_t ReadI16(const uint8_t* p) { return static_cast<int16_t>((p[0] << 8) | p[1]); }
int16_t ReadI16(const std::byte* p) { return ReadI16(reinterpret_cast<const uint8_t*>(p)); }

void WriteU32(uint32_t value, std::byte* p) {
  p[0] = std::byte(value >> 24);
  p[1] = std::byte(value >> 16);
  p[2] = std::byte(value >> 8);
  p[3] = std::byte(value);
}

void Append(std::span<const std::byte> bytes, std::vector<std::byte>* out) {
  out->insert(out->end(), bytes.begin(), bytes.end());
}

void Append(std::string_view text, std::vector<std::byte>* out) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  out->insert(out->end(), p, p + text.size());
}

bool Equals(std::span<const std::byte> bytes, std::string_view text) {
  return bytes.size() == text.size() &&
         (text.empty() || std::memcmp(bytes.data(), text.data(), text.size()) == 0);
}

// Whether p[0, size) holds at least `count` bytes equal to `c` (memchr, so a wide row costs a
// vector sweep).
bool HasAtLeast(const std::byte* p, size_t size, char c, size_t count) {
  const std::byte* end = p + size;
  for (size_t seen = 0; seen < count; ++seen) {
    const void* hit = std::memchr(p, c, static_cast<size_t>(end - p));
    if (hit == nullptr) {
      return false;
    }
    p = static_cast<const std::byte*>(hit) + 1;
  }
  return true;
}

// Backslashes immediately before p[index], not looking before p[floor].
size_t BackslashesBefore(const std::byte* p, size_t floor, size_t index) {
  size_t i = index;
  while (i > floor && p[i - 1] == std::byte{'\\'}) {
    --i;
  }
  return index - i;
}

// Writes one row as a CopyData frame: the row's bytes are copied as they came except the ranges
// handed to Replace, whose replacement the caller appends to out() right after. A row with no
// replacement is copied whole.
class RowWriter {
 public:
  RowWriter(std::span<const std::byte> row, std::vector<std::byte>* out) : row_(row), out_(out) {}

  // Copies the row up to `begin`; row bytes [begin, end) are not copied. Calls come in row order.
  std::vector<std::byte>* Replace(size_t begin, size_t end) {
    JG_DCHECK(copied_ <= begin && begin <= end && end <= row_.size());
    if (!started_) {
      frame_start_ = out_->size();
      out_->resize(frame_start_ + kFrameHeaderSize);
      started_ = true;
    }
    Append(row_.subspan(copied_, begin - copied_), out_);
    copied_ = end;
    return out_;
  }

  // Ends the frame; false (nothing appended) when the row outgrew one CopyData message.
  bool Finish() {
    if (!started_) {
      frame_start_ = out_->size();
      out_->resize(frame_start_ + kFrameHeaderSize);
    }
    Append(row_.subspan(copied_), out_);
    const size_t payload_size = out_->size() - frame_start_ - kFrameHeaderSize;
    if (payload_size > kPayloadMax) {
      out_->resize(frame_start_);
      return false;
    }
    (*out_)[frame_start_] = kCopyDataType;
    WriteU32(static_cast<uint32_t>(payload_size + 4), out_->data() + frame_start_ + 1);
    return true;
  }

 private:
  std::span<const std::byte> row_;
  std::vector<std::byte>* out_;
  size_t frame_start_ = 0;
  size_t copied_ = 0;
  bool started_ = false;
};

// The text format's one-letter escapes (COPY "Text Format"): kEscapeLetters[k] stands for
// kEscapedBytes[k], both ways.
constexpr std::string_view kEscapeLetters = "bfnrtv";
constexpr std::string_view kEscapedBytes = "\b\f\n\r\t\v";

int HexDigit(char d) {
  return d >= '0' && d <= '9'   ? d - '0'
         : d >= 'a' && d <= 'f' ? d - 'a' + 10
         : d >= 'A' && d <= 'F' ? d - 'A' + 10
                                : -1;
}

// The end of the text-format field that starts at p[begin]: the first delimiter no backslash
// escapes, or `size` (a lone backslash at the very end ends it too, Finish only). memchr finds
// delimiters and backslashes; the next delimiter is remembered, so escapes cost no rescans.
size_t TextFieldEnd(const std::byte* p, size_t begin, size_t size, char delimiter) {
  size_t delimiter_at = begin;  // valid when >= i
  bool searched = false;
  for (size_t i = begin; i < size;) {
    if (!searched || delimiter_at < i) {
      const void* hit = std::memchr(p + i, delimiter, size - i);
      delimiter_at =
          hit == nullptr ? size : static_cast<size_t>(static_cast<const std::byte*>(hit) - p);
      searched = true;
    }
    const void* backslash = std::memchr(p + i, '\\', delimiter_at - i);
    if (backslash == nullptr) {
      return delimiter_at;
    }
    i = static_cast<size_t>(static_cast<const std::byte*>(backslash) - p) +
        2;  // and what it escapes
  }
  return size;
}

// Decodes a text-format field's backslash escapes as COPY FROM does (CopyReadAttributesText):
// \NNN takes 1-3 octal digits, \xHH 1-2 hex digits ("\x" alone is 'x'), \<other> is that
// character, and a lone backslash at the very end is dropped.
void DecodeText(std::span<const std::byte> raw, std::vector<std::byte>* value) {
  value->clear();
  const size_t size = raw.size();
  for (size_t i = 0; i < size;) {
    // The run up to the next backslash is copied as it is.
    const void* hit = std::memchr(raw.data() + i, '\\', size - i);
    const size_t backslash =
        hit == nullptr ? size
                       : static_cast<size_t>(static_cast<const std::byte*>(hit) - raw.data());
    value->insert(value->end(), raw.begin() + static_cast<ptrdiff_t>(i),
                  raw.begin() + static_cast<ptrdiff_t>(backslash));
    i = backslash + 1;
    if (i >= size) {
      break;
    }
    char c = Char(raw[i++]);
    if (const size_t k = kEscapeLetters.find(c); k != std::string_view::npos) {
      c = kEscapedBytes[k];
    } else if (c >= '0' && c <= '7') {
      unsigned octal = static_cast<unsigned>(c - '0');
      for (int digits = 1; digits < 3 && i < size && Char(raw[i]) >= '0' && Char(raw[i]) <= '7';
           ++digits) {
        octal = (octal << 3) + static_cast<unsigned>(Char(raw[i++]) - '0');
      }
      c = static_cast<char>(octal & 0xff);
    } else if (c == 'x' && i < size && HexDigit(Char(raw[i])) >= 0) {
      unsigned hex = static_cast<unsigned>(HexDigit(Char(raw[i++])));
      if (i < size && HexDigit(Char(raw[i])) >= 0) {
        hex = (hex << 4) + static_cast<unsigned>(HexDigit(Char(raw[i++])));
      }
      c = static_cast<char>(hex);
    }
    value->push_back(Byte(c));
  }
}

// Escapes a value for the text format as the server does (CopyAttributeOutText): the control
// characters with a letter by their letter, a backslash and the delimiter by a backslash.
void EncodeText(std::span<const std::byte> value, char delimiter, std::vector<std::byte>* out) {
  for (std::byte b : value) {
    const char c = Char(b);
    const size_t k = kEscapedBytes.find(c);
    if (k != std::string_view::npos) {
      out->push_back(Byte('\\'));
      out->push_back(Byte(kEscapeLetters[k]));
    } else if (c == '\\' || c == delimiter) {
      out->push_back(Byte('\\'));
      out->push_back(b);
    } else {
      out->push_back(b);
    }
  }
}

}  // namespace

void CopyMasker::Begin(const CopyOptions& options, std::span<const ColumnPlan> columns,
                       const Hasher* hasher, size_t row_size_max) {
  options_ = options;
  columns_.assign(columns.begin(), columns.end());
  hasher_ = hasher;
  row_size_max_ = std::min(row_size_max, kPayloadMax);
  row_.clear();
  masked_counts_.assign(std::max<size_t>(columns_.size(), 1), 0);
  rows_ = 0;
  begun_ = true;
  finished_ = false;
  failed_ = !OptionsValid();
  any_masking_ = std::any_of(columns_.begin(), columns_.end(), [](const ColumnPlan& column) {
    return column.action != ColumnAction::kKeep;
  });
  header_pending_ = options_.header && options_.format != CopyFormat::kBinary;
  held_escape_ = false;
  in_quote_ = false;
  last_was_escape_ = false;
  phase_ = BinaryPhase::kSignature;
  binary_row_ = BinaryRow::kHeader;
  item_have_ = 0;
  item_need_ = 0;
  fields_left_ = 0;
}

// The checks PostgreSQL makes on COPY's options (ProcessCopyOptions): a stream written with
// options it refuses never comes, and our parser relies on the same separations.
bool CopyMasker::OptionsValid() const {
  const CopyOptions& o = options_;
  if (o.format == CopyFormat::kBinary) {
    return true;
  }
  const auto line_break = [](char c) { return c == '\n' || c == '\r'; };
  const std::string_view null_text = o.null_text;
  if (line_break(o.delimiter) || null_text.find_first_of("\r\n") != std::string_view::npos ||
      null_text.find(o.delimiter) != std::string_view::npos) {
    return false;
  }
  if (o.format == CopyFormat::kText) {
    return std::string_view("\\.abcdefghijklmnopqrstuvwxyz0123456789").find(o.delimiter) ==
           std::string_view::npos;
  }
  return !line_break(o.quote) && !line_break(o.escape) && o.quote != o.delimiter &&
         null_text.find(o.quote) == std::string_view::npos;
}

bool CopyMasker::Fail() {
  failed_ = true;
  return false;
}

bool CopyMasker::Feed(std::span<const std::byte> data, std::vector<std::byte>* out) {
  JG_CHECK(begun_ && !finished_);
  if (failed_) {
    return false;
  }
  const std::byte* p = data.data();
  const size_t size = data.size();
  size_t pos = 0;
  while (pos < size) {
    JG_DCHECK(row_.size() <= row_size_max_);
    // A row may take only what is left of row_size_max: the scan never looks further.
    const size_t limit = pos + std::min(size - pos, row_size_max_ - row_.size());
    size_t end = kNotFound;
    switch (options_.format) {
      case CopyFormat::kText:
        end = ScanText(p, pos, limit);
        break;
      case CopyFormat::kCsv:
        end = ScanCsv(p, pos, limit);
        break;
      case CopyFormat::kBinary:
        end = ScanBinary(p, pos, limit);
        break;
    }
    if (failed_) {
      return false;
    }
    if (end == kNotFound) {
      if (limit < size) {
        return Fail();  // the row is longer than row_size_max
      }
      Hold(p + pos, size - pos);
      return true;
    }
    bool emitted = false;
    if (row_.empty()) {
      emitted = EmitRow(data.subspan(pos, end - pos), true, out);
    } else {
      row_.insert(row_.end(), p + pos, p + end);
      emitted = EmitRow(row_, true, out);
      row_.clear();
    }
    if (!emitted) {
      return Fail();
    }
    held_escape_ = false;
    pos = end;
  }
  return true;
}

bool CopyMasker::Finish(std::vector<std::byte>* out) {
  JG_CHECK(begun_ && !finished_);
  finished_ = true;
  if (failed_) {
    return false;
  }
  if (row_.empty()) {
    return true;
  }
  // Binary: the stream stops inside its header or a tuple. CSV: inside quotes (PostgreSQL's
  // "unterminated CSV quoted field"); its last field's extent is unknown.
  if (options_.format == CopyFormat::kBinary ||
      (options_.format == CopyFormat::kCsv && in_quote_)) {
    return Fail();
  }
  const bool emitted = EmitRow(row_, false, out);
  row_.clear();
  return emitted || Fail();
}

void CopyMasker::Hold(const std::byte* p, size_t size) {
  if (options_.format == CopyFormat::kText) {
    const size_t run = BackslashesBefore(p, 0, size);
    const bool odd = run % 2 == 1;
    held_escape_ = run == size ? held_escape_ != odd : odd;
  }
  row_.insert(row_.end(), p, p + size);
}

// Text rows end at a '\n' preceded by an even run of backslashes (COPY FROM's CopyReadLineText:
// a backslash quotes the next character, a newline too).
size_t CopyMasker::ScanText(const std::byte* p, size_t pos, size_t limit) const {
  size_t from = pos;
  while (from < limit) {
    const void* hit = std::memchr(p + from, '\n', limit - from);
    if (hit == nullptr) {
      return kNotFound;
    }
    const size_t newline = static_cast<size_t>(static_cast<const std::byte*>(hit) - p);
    const size_t run = BackslashesBefore(p, pos, newline);
    // A run reaching back to pos continues the held bytes' own trailing run.
    const bool escaped = (run % 2 == 1) != (run == newline - pos && held_escape_);
    if (!escaped) {
      return newline + 1;
    }
    from = newline + 1;
  }
  return kNotFound;
}

// CSV rows end at a '\n' outside quotes. The quote state follows CopyReadLineText: the quote
// character toggles it, except right after an odd run of escape characters inside quotes (when
// escape differs from quote; when they are equal, a doubled quote toggles twice).
size_t CopyMasker::ScanCsv(const std::byte* p, size_t pos, size_t limit) {
  const char quote = options_.quote;
  const char escape = options_.escape;
  size_t i = pos;
  size_t newline = kNotFound;  // the first '\n' at or after i, when known
  while (i < limit) {
    if (!in_quote_) {
      if (newline == kNotFound || newline < i) {
        const void* hit = std::memchr(p + i, '\n', limit - i);
        newline =
            hit == nullptr ? limit : static_cast<size_t>(static_cast<const std::byte*>(hit) - p);
      }
      const void* q = std::memchr(p + i, quote, newline - i);
      if (q == nullptr) {
        if (newline == limit) {
          return kNotFound;
        }
        last_was_escape_ = false;
        return newline + 1;
      }
      i = static_cast<size_t>(static_cast<const std::byte*>(q) - p) + 1;
      in_quote_ = true;
    } else if (escape == quote) {
      const void* q = std::memchr(p + i, quote, limit - i);
      if (q == nullptr) {
        return kNotFound;
      }
      i = static_cast<size_t>(static_cast<const std::byte*>(q) - p) + 1;
      in_quote_ = false;
    } else {
      for (; i < limit && in_quote_; ++i) {
        const char c = Char(p[i]);
        if (c == escape) {
          last_was_escape_ = !last_was_escape_;
        } else {
          in_quote_ = c != quote || last_was_escape_;
          last_was_escape_ = false;
        }
      }
    }
  }
  return kNotFound;
}

size_t CopyMasker::ScanBinary(const std::byte* p, size_t pos, size_t limit) {
  size_t i = pos;
  while (i < limit) {
    switch (phase_) {
      case BinaryPhase::kSignature:
        if (p[i] != std::byte{kBinarySignature[item_have_]}) {
          Fail();
          return kNotFound;
        }
        ++i;
        if (++item_have_ == sizeof(kBinarySignature)) {
          item_have_ = 0;
          phase_ = BinaryPhase::kFlags;
        }
        break;
      case BinaryPhase::kExtension:
      case BinaryPhase::kFieldData: {
        const size_t take = std::min(limit - i, item_need_);
        i += take;
        item_need_ -= take;
        if (item_need_ > 0) {
          break;
        }
        if (phase_ == BinaryPhase::kExtension) {
          phase_ = BinaryPhase::kFieldCount;
          binary_row_ = BinaryRow::kHeader;
          return i;
        }
        if (EndBinaryField()) {
          return i;
        }
        break;
      }
      case BinaryPhase::kEnd:
        Fail();  // bytes after the trailer
        return kNotFound;
      default: {
        const size_t item_size = phase_ == BinaryPhase::kFieldCount ? 2 : 4;
        if (item_have_ == 0 && limit - i >= item_size) {
          std::memcpy(item_, p + i, item_size);  // whole: the common case
          i += item_size;
        } else {
          item_[item_have_++] = static_cast<uint8_t>(p[i++]);
          if (item_have_ < item_size) {
            break;
          }
          item_have_ = 0;
        }
        const bool row_done = OnBinaryInteger();
        if (failed_) {
          return kNotFound;
        }
        if (row_done) {
          return i;
        }
        break;
      }
    }
  }
  return kNotFound;
}

bool CopyMasker::OnBinaryInteger() {
  switch (phase_) {
    case BinaryPhase::kFlags:
      if ((ReadU32(item_) & kBinaryFlagsRefused) != 0) {
        return Fail();
      }
      phase_ = BinaryPhase::kExtensionLength;
      return false;
    case BinaryPhase::kExtensionLength: {
      const auto length = static_cast<int32_t>(ReadU32(item_));
      if (length < 0) {
        return Fail();
      }
      if (length == 0) {
        phase_ = BinaryPhase::kFieldCount;
        binary_row_ = BinaryRow::kHeader;
        return true;
      }
      item_need_ = static_cast<size_t>(length);
      phase_ = BinaryPhase::kExtension;
      return false;
    }
    case BinaryPhase::kFieldCount: {
      const int16_t count = ReadI16(item_);
      if (count < -1) {
        return Fail();
      }
      if (count <= 0) {
        phase_ = count < 0 ? BinaryPhase::kEnd : BinaryPhase::kFieldCount;
        binary_row_ = count < 0 ? BinaryRow::kTrailer : BinaryRow::kTuple;
        return true;
      }
      fields_left_ = count;
      phase_ = BinaryPhase::kFieldLength;
      return false;
    }
    case BinaryPhase::kFieldLength: {
      const auto length = static_cast<int32_t>(ReadU32(item_));
      if (length < -1) {
        return Fail();
      }
      if (length <= 0) {
        return EndBinaryField();
      }
      item_need_ = static_cast<size_t>(length);
      phase_ = BinaryPhase::kFieldData;
      return false;
    }
    default:
      JG_CHECK(false);  // only integer phases stage an item
      return false;
  }
}

bool CopyMasker::EndBinaryField() {
  JG_DCHECK(fields_left_ > 0);
  if (--fields_left_ > 0) {
    phase_ = BinaryPhase::kFieldLength;
    return false;
  }
  phase_ = BinaryPhase::kFieldCount;
  binary_row_ = BinaryRow::kTuple;
  return true;
}

bool CopyMasker::EmitRow(std::span<const std::byte> row, bool terminated,
                         std::vector<std::byte>* out) {
  if (header_pending_) {
    header_pending_ = false;
    return RowWriter(row, out).Finish();
  }
  switch (options_.format) {
    case CopyFormat::kText:
      ++rows_;
      return EmitTextRow(row, terminated, out);
    case CopyFormat::kCsv:
      ++rows_;
      return EmitCsvRow(row, terminated, out);
    case CopyFormat::kBinary:
      if (binary_row_ != BinaryRow::kTuple) {
        return RowWriter(row, out).Finish();
      }
      ++rows_;
      return EmitBinaryTuple(row, out);
  }
  return false;
}

bool CopyMasker::Masks(size_t index) const {
  return index >= columns_.size() || columns_[index].action != ColumnAction::kKeep;
}

void CopyMasker::CountMasked(size_t index) {
  ++masked_counts_[std::min(index, masked_counts_.size() - 1)];
}

CopyMasker::Cell CopyMasker::MaskCell(size_t index, std::span<const std::byte> value,
                                      int16_t format) {
  if (index >= columns_.size()) {
    return Cell::kNull;  // a field the plan does not know: fail closed
  }
  const ColumnPlan& column = columns_[index];
  masked_.clear();
  MaskOutcome outcome = MaskOutcome::kNull;
  switch (column.action) {
    case ColumnAction::kKeep:
      return Cell::kKeep;
    case ColumnAction::kMask:
      outcome =
          MaskValue(column.spec, column.kind, column.typmod, format, value, hasher_, &masked_);
      break;
    case ColumnAction::kScan:
      if (!ScanValue(column.detectors, column.spec, column.kind, column.typmod, format, value,
                     hasher_, &masked_, &outcome)) {
        return Cell::kKeep;
      }
      break;
  }
  return outcome == MaskOutcome::kNull ? Cell::kNull : Cell::kValue;
}

bool CopyMasker::KeepsTextRow(const std::byte* p, size_t content_size) const {
  // An empty line is a row of no fields for an empty plan (COPY of zero columns), else one field.
  const bool no_fields = content_size == 0 && columns_.empty();
  // Without masking columns only extra fields change anything; fewer raw delimiters than
  // columns (escaped ones included) means there are none.
  return no_fields || (!any_masking_ && !columns_.empty() &&
                       !HasAtLeast(p, content_size, options_.delimiter, columns_.size()));
}

bool CopyMasker::EmitTextRow(std::span<const std::byte> row, bool terminated,
                             std::vector<std::byte>* out) {
  const std::byte* p = row.data();
  size_t content_size = row.size();
  if (terminated) {
    JG_DCHECK(content_size > 0 && p[content_size - 1] == std::byte{'\n'});
    --content_size;
    // "\r\n": the '\r' belongs to the ending unless a backslash escapes it.
    if (content_size > 0 && p[content_size - 1] == std::byte{'\r'} &&
        BackslashesBefore(p, 0, content_size - 1) % 2 == 0) {
      --content_size;
    }
  }
  const char delimiter = options_.delimiter;
  RowWriter writer(row, out);
  if (KeepsTextRow(p, content_size)) {
    return writer.Finish();
  }
  size_t begin = 0;
  for (size_t index = 0;; ++index) {
    const size_t end = TextFieldEnd(p, begin, content_size, delimiter);
    const std::span<const std::byte> raw = row.subspan(begin, end - begin);
    if (Masks(index) && !Equals(raw, options_.null_text)) {
      DecodeText(raw, &value_);
      const Cell cell = MaskCell(index, value_, 0);
      if (cell != Cell::kKeep) {
        std::vector<std::byte>* o = writer.Replace(begin, end);
        if (cell == Cell::kNull) {
          Append(options_.null_text, o);
        } else {
          EncodeText(masked_, delimiter, o);
        }
        CountMasked(index);
      }
    }
    if (end >= content_size) {
      break;
    }
    begin = end + 1;
  }
  return writer.Finish();
}

bool CopyMasker::EmitCsvRow(std::span<const std::byte> row, bool terminated,
                            std::vector<std::byte>* out) {
  const std::byte* p = row.data();
  size_t content_size = row.size();
  if (terminated) {
    JG_DCHECK(content_size > 0 && p[content_size - 1] == std::byte{'\n'});
    --content_size;
    // The '\n' is outside quotes, so a '\r' right before it is too: a "\r\n" ending.
    if (content_size > 0 && p[content_size - 1] == std::byte{'\r'}) {
      --content_size;
    }
  }
  const char delimiter = options_.delimiter;
  const char quote = options_.quote;
  const char escape = options_.escape;
  RowWriter writer(row, out);
  if (KeepsTextRow(p, content_size)) {
    return writer.Finish();
  }
  size_t begin = 0;
  for (size_t index = 0;; ++index) {
    // One field as CopyReadAttributesCSV reads it: quoted sections may appear anywhere in it;
    // inside them an escape before an escape or a quote makes that character literal.
    bool saw_quote = false;
    bool in_quote = false;
    size_t end = begin;
    value_.clear();
    while (end < content_size) {
      const char c = Char(p[end]);
      if (!in_quote) {
        if (c == delimiter) {
          break;
        }
        if (c == quote) {
          in_quote = saw_quote = true;
        } else {
          value_.push_back(p[end]);
        }
        ++end;
        continue;
      }
      if (c == escape && end + 1 < content_size &&
          (Char(p[end + 1]) == escape || Char(p[end + 1]) == quote)) {
        value_.push_back(p[end + 1]);
        end += 2;
        continue;
      }
      if (c == quote) {
        in_quote = false;
      } else {
        value_.push_back(p[end]);
      }
      ++end;
    }
    const std::span<const std::byte> raw = row.subspan(begin, end - begin);
    if (Masks(index) && (saw_quote || !Equals(raw, options_.null_text))) {
      const Cell cell = MaskCell(index, value_, 0);
      if (cell != Cell::kKeep) {
        std::vector<std::byte>* o = writer.Replace(begin, end);
        if (cell == Cell::kNull) {
          Append(options_.null_text, o);
        } else {
          // Always quoted, as CopyAttributeOutCSV writes a quoted value: the quote and the
          // escape character are preceded by the escape character (a doubled quote when equal).
          o->push_back(Byte(quote));
          for (std::byte b : masked_) {
            if (Char(b) == quote || Char(b) == escape) {
              o->push_back(Byte(escape));
            }
            o->push_back(b);
          }
          o->push_back(Byte(quote));
        }
        CountMasked(index);
      }
    }
    if (end >= content_size) {
      break;
    }
    begin = end + 1;
  }
  return writer.Finish();
}

bool CopyMasker::EmitBinaryTuple(std::span<const std::byte> row, std::vector<std::byte>* out) {
  const std::byte* p = row.data();
  JG_DCHECK(row.size() >= 2);
  const int16_t count = ReadI16(p);
  RowWriter writer(row, out);
  if (!any_masking_ && static_cast<size_t>(count) <= columns_.size()) {
    return writer.Finish();
  }
  size_t offset = 2;
  for (size_t index = 0; index < static_cast<size_t>(count); ++index) {
    // ScanBinary has walked this tuple: every length is >= -1 and its bytes are all here.
    JG_DCHECK(offset + 4 <= row.size());
    const auto length = static_cast<int32_t>(ReadU32(p + offset));
    const size_t field_end = offset + 4 + static_cast<size_t>(std::max(length, 0));
    JG_DCHECK(length >= -1 && field_end <= row.size());
    if (length >= 0 && Masks(index)) {
      const Cell cell = MaskCell(index, row.subspan(offset + 4, field_end - offset - 4), 1);
      if (cell != Cell::kKeep) {
        std::vector<std::byte>* o = writer.Replace(offset, field_end);
        if (cell == Cell::kNull || masked_.size() > static_cast<size_t>(INT32_MAX)) {
          Append(kNullLength, o);
        } else {
          o->resize(o->size() + 4);
          WriteU32(static_cast<uint32_t>(masked_.size()), o->data() + o->size() - 4);
          Append(masked_, o);
        }
        CountMasked(index);
      }
    }
    offset = field_end;
  }
  JG_DCHECK(offset == row.size());
  return writer.Finish();
}

}  // namespace jitgate::mask
