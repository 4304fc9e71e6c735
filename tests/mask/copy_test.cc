// tests/mask/copy_test.cc: CopyMasker (src/mask/copy.h) on byte streams: text, CSV and binary
// COPY output cut into one CopyData per row, escapes and quoting, headers, line endings, NULLed
// extra fields, limits, Finish, and every stream fed split at every byte offset (which must give
// what one Feed gives). The masking tests rely on MaskValue/ScanValue (src/mask/value.cc).
#include "src/mask/copy.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jitgate::mask {
namespace {

using Bytes = std::vector<std::byte>;

std::span<const std::byte> AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// What one masking run produced: the CopyData payloads, in order, and the return values.
struct Result {
  std::vector<std::string> rows;
  bool fed = true;       // every Feed returned true
  bool finished = true;  // Finish returned true (false when a Feed failed and Finish was skipped)
  std::vector<uint64_t> masked_counts;
  uint64_t row_count = 0;
};

// Splits `out` into CopyData frames; every frame must be well-formed.
std::vector<std::string> Frames(const Bytes& out) {
  std::vector<std::string> payloads;
  size_t pos = 0;
  while (pos < out.size()) {
    EXPECT_GE(out.size() - pos, 5u);
    if (out.size() - pos < 5) {
      break;
    }
    EXPECT_EQ(out[pos], std::byte{'d'});
    const uint32_t length = (uint32_t(out[pos + 1]) << 24) | (uint32_t(out[pos + 2]) << 16) |
                            (uint32_t(out[pos + 3]) << 8) | uint32_t(out[pos + 4]);
    EXPECT_GE(length, 4u);
    EXPECT_LE(length - 4, out.size() - pos - 5);
    if (length < 4 || length - 4 > out.size() - pos - 5) {
      break;
    }
    payloads.emplace_back(reinterpret_cast<const char*>(out.data() + pos + 5), length - 4);
    pos += 1 + length;
  }
  return payloads;
}

// Feeds `stream` in pieces cut at `cuts` (ascending offsets), then Finish.
Result Mask(const CopyOptions& options, const std::vector<ColumnPlan>& plan,
            std::string_view stream, std::vector<size_t> cuts = {}, size_t row_size_max = 1 << 20,
            const Hasher* hasher = nullptr) {
  CopyMasker masker;
  masker.Begin(options, plan, hasher, row_size_max);
  Bytes out;
  Result run;
  size_t pos = 0;
  cuts.push_back(stream.size());
  for (size_t cut : cuts) {
    if (!masker.Feed(AsBytes(stream.substr(pos, cut - pos)), &out)) {
      run.fed = false;
      break;
    }
    pos = cut;
  }
  if (run.fed) {
    run.finished = masker.Finish(&out);
  } else {
    run.finished = false;
  }
  run.rows = Frames(out);
  run.masked_counts.assign(masker.masked_counts().begin(), masker.masked_counts().end());
  run.row_count = masker.rows();
  return run;
}

// Runs the stream whole, then split in two at every offset and byte by byte: all must agree.
Result MaskEverySplit(const CopyOptions& options, const std::vector<ColumnPlan>& plan,
                      std::string_view stream, size_t row_size_max = 1 << 20) {
  const Result whole = Mask(options, plan, stream, {}, row_size_max);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    const Result split = Mask(options, plan, stream, {cut}, row_size_max);
    EXPECT_EQ(split.rows, whole.rows) << "cut at " << cut;
    EXPECT_EQ(split.fed && split.finished, whole.fed && whole.finished) << "cut at " << cut;
    EXPECT_EQ(split.masked_counts, whole.masked_counts) << "cut at " << cut;
  }
  std::vector<size_t> every;
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    every.push_back(cut);
  }
  const Result bytewise = Mask(options, plan, stream, every, row_size_max);
  EXPECT_EQ(bytewise.rows, whole.rows);
  EXPECT_EQ(bytewise.fed && bytewise.finished, whole.fed && whole.finished);
  return whole;
}

std::vector<ColumnPlan> Keep(size_t count) { return std::vector<ColumnPlan>(count); }

ColumnPlan MaskColumn(Strategy strategy, ValueKind kind = ValueKind::kText) {
  ColumnPlan column;
  column.action = ColumnAction::kMask;
  column.spec.strategy = strategy;
  column.kind = kind;
  return column;
}

ColumnPlan ScanColumn(DetectorSet detectors) {
  ColumnPlan column;
  column.action = ColumnAction::kScan;
  column.detectors = detectors;
  column.spec.strategy = Strategy::kRedact;
  return column;
}

CopyOptions Text() { return CopyOptions{}; }

CopyOptions Csv() {
  CopyOptions options;
  options.format = CopyFormat::kCsv;
  options.delimiter = ',';
  options.null_text = "";
  return options;
}

CopyOptions Binary() {
  CopyOptions options;
  options.format = CopyFormat::kBinary;
  return options;
}

// ---- text -----------------------------------------------------------------------------------

TEST(CopyText, KeptRowsAreReframedOnePerCopyData) {
  const Result run = MaskEverySplit(Text(), Keep(2), "a\tb\nc\td\n\t\n");
  EXPECT_TRUE(run.fed && run.finished);
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\tb\n", "c\td\n", "\t\n"}));
  EXPECT_EQ(run.row_count, 3u);
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{0, 0}));
}

TEST(CopyText, EscapesPassUnchangedAndDoNotSplit) {
  // \t, \\, \N (NULL), octal, hex, an escaped delimiter and an escaped newline are all data.
  const std::string stream =
      "x\\ty\t\\\\\t\\N\n"
      "\\101\\x41\t\\\tz\t\\\n"
      "next\n";
  const Result run = MaskEverySplit(Text(), Keep(3), stream);
  EXPECT_EQ(run.rows,
            (std::vector<std::string>{"x\\ty\t\\\\\t\\N\n", "\\101\\x41\t\\\tz\t\\\nnext\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{0, 0, 0}));
}

TEST(CopyText, EvenBackslashRunEndsTheRow) {
  const Result run = MaskEverySplit(Text(), Keep(1), "a\\\\\nb\\\\\\\nc\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\\\\\n", "b\\\\\\\nc\n"}));
}

TEST(CopyText, CrLfEndingsAreKept) {
  const Result run = MaskEverySplit(Text(), Keep(2), "a\tb\r\nc\td\r\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\tb\r\n", "c\td\r\n"}));
  // An extra field before "\r\n" is NULLed and the ending stays.
  const Result extra = MaskEverySplit(Text(), Keep(1), "a\tb\r\n");
  EXPECT_EQ(extra.rows, (std::vector<std::string>{"a\t\\N\r\n"}));
}

TEST(CopyText, SeveralRowsInOneFeedAndRowsAcrossFeeds) {
  const Result run = Mask(Text(), Keep(1), "r1\nr2\nr3", {1, 7});
  EXPECT_TRUE(run.fed && run.finished);
  EXPECT_EQ(run.rows, (std::vector<std::string>{"r1\n", "r2\n", "r3"}));
}

TEST(CopyText, ExtraFieldsAreNulledAndCounted) {
  const Result run = MaskEverySplit(Text(), Keep(2), "a\tb\tc\td\n1\t2\n\\N\t\\N\t\\N\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\tb\t\\N\t\\N\n", "1\t2\n", "\\N\t\\N\t\\N\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{0, 2}));
}

TEST(CopyText, EscapedDelimitersAreNotExtraFields) {
  const Result run = MaskEverySplit(Text(), Keep(2), "a\\\tb\tc\\\td\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\\\tb\tc\\\td\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{0, 0}));
}

TEST(CopyText, FewerFieldsKeepWhatTheyHave) {
  const Result run = MaskEverySplit(Text(), Keep(3), "a\n\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\n", "\n"}));
}

TEST(CopyText, EmptyPlanTakesEmptyRowsAndNullsAnythingElse) {
  const Result run = MaskEverySplit(Text(), Keep(0), "\n\nx\ty\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"\n", "\n", "\\N\t\\N\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{2}));
}

TEST(CopyText, OtherDelimiterAndNullText) {
  CopyOptions options = Text();
  options.delimiter = '|';
  options.null_text = "NULL";
  const Result run = MaskEverySplit(options, Keep(1), "a|NULL\nb|c\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a|NULL\n", "b|NULL\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{1}));
}

TEST(CopyText, HeaderRowPassesUnchanged) {
  CopyOptions options = Text();
  options.header = true;
  const Result run = MaskEverySplit(options, Keep(1), "id\tname\n1\tbob\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"id\tname\n", "1\t\\N\n"}));
  EXPECT_EQ(run.row_count, 1u);
}

TEST(CopyText, FinishEmitsThePartialLastRow) {
  const Result run = MaskEverySplit(Text(), Keep(1), "a\nb\tc");
  EXPECT_TRUE(run.fed && run.finished);
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\n", "b\t\\N"}));
  // A trailing lone backslash stays with its row.
  const Result backslash = MaskEverySplit(Text(), Keep(1), "a\\");
  EXPECT_EQ(backslash.rows, (std::vector<std::string>{"a\\"}));
}

TEST(CopyText, RowSizeMax) {
  // 5 bytes with the newline fit; 6 do not, whole or split, and rows before it are emitted.
  const Result fits = MaskEverySplit(Text(), Keep(1), "abcd\nefgh\n", 5);
  EXPECT_TRUE(fits.fed && fits.finished);
  EXPECT_EQ(fits.rows.size(), 2u);
  const Result over = MaskEverySplit(Text(), Keep(1), "abcd\nefghi\nxy\n", 5);
  EXPECT_FALSE(over.fed);
  EXPECT_EQ(over.rows, (std::vector<std::string>{"abcd\n"}));
  // A partial row over the limit fails in Feed, before its end arrives.
  const Result held = Mask(Text(), Keep(1), "abcdef", {3}, 5);
  EXPECT_FALSE(held.fed);
}

TEST(CopyText, FailureIsSticky) {
  CopyMasker masker;
  masker.Begin(Text(), Keep(1), nullptr, 4);
  Bytes out;
  EXPECT_FALSE(masker.Feed(AsBytes("abcdef\n"), &out));
  EXPECT_FALSE(masker.Feed(AsBytes("a\n"), &out));
  EXPECT_FALSE(masker.Finish(&out));
  EXPECT_TRUE(out.empty());
}

TEST(CopyText, OptionsPostgresRefusesFail) {
  for (char delimiter : {'\\', 'a', 'n', '5', '.', '\n', '\r'}) {
    CopyOptions options = Text();
    options.delimiter = delimiter;
    const Result run = Mask(options, Keep(1), "a\n");
    EXPECT_FALSE(run.fed) << "delimiter " << int{delimiter};
    EXPECT_TRUE(run.rows.empty());
  }
  CopyOptions options = Text();
  options.null_text = "x\ty";  // holds the delimiter
  EXPECT_FALSE(Mask(options, Keep(1), "a\n").fed);
}

TEST(CopyText, BeginStartsOver) {
  CopyMasker masker;
  Bytes out;
  masker.Begin(Text(), Keep(1), nullptr, 100);
  EXPECT_TRUE(masker.Feed(AsBytes("a\tb\npartial"), &out));
  masker.Begin(Text(), Keep(1), nullptr, 100);
  out.clear();
  EXPECT_TRUE(masker.Feed(AsBytes("c\n"), &out));
  EXPECT_TRUE(masker.Finish(&out));
  EXPECT_EQ(Frames(out), (std::vector<std::string>{"c\n"}));
  EXPECT_EQ(masker.masked_counts()[0], 0u);
  EXPECT_EQ(masker.rows(), 1u);
}

// ---- CSV ------------------------------------------------------------------------------------

TEST(CopyCsv, QuotedDelimitersQuotesAndNewlinesStayInTheirField) {
  const std::string stream =
      "1,\"a,b\",\"say \"\"hi\"\"\",\"line1\nline2\"\n"
      "2,,\"\",x\"y,z\"w\n";
  const Result run = MaskEverySplit(Csv(), Keep(4), stream);
  EXPECT_EQ(run.rows, (std::vector<std::string>{"1,\"a,b\",\"say \"\"hi\"\"\",\"line1\nline2\"\n",
                                                "2,,\"\",x\"y,z\"w\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{0, 0, 0, 0}));
}

TEST(CopyCsv, ExtraFieldsAreNulledUnquoted) {
  // A quoted empty string is a value (NULLed, counted); an unquoted empty field is NULL already.
  const Result run = MaskEverySplit(Csv(), Keep(1), "a,\"b,c\"\nd,\"\"\ne,\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a,\n", "d,\n", "e,\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{2}));
}

TEST(CopyCsv, EscapeOtherThanQuote) {
  CopyOptions options = Csv();
  options.escape = '\\';
  // \" inside quotes is a quote; \\ an escape; a backslash outside quotes is plain data.
  const std::string stream = "\"a\\\"b,\\\\\",c\\\nd\n";
  const Result run = MaskEverySplit(options, Keep(2), stream);
  EXPECT_EQ(run.rows, (std::vector<std::string>{"\"a\\\"b,\\\\\",c\\\n", "d\n"}));
  const Result extra = MaskEverySplit(options, Keep(1), stream);
  EXPECT_EQ(extra.rows, (std::vector<std::string>{"\"a\\\"b,\\\\\",\n", "d\n"}));
}

TEST(CopyCsv, HeaderRowAndCrLf) {
  CopyOptions options = Csv();
  options.header = true;
  const Result run = MaskEverySplit(options, Keep(1), "\"id\",\"na,me\"\r\n1,x\r\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"\"id\",\"na,me\"\r\n", "1,\r\n"}));
  EXPECT_EQ(run.row_count, 1u);
}

TEST(CopyCsv, FinishInsideQuotesFails) {
  const Result run = MaskEverySplit(Csv(), Keep(1), "a\n\"open\n");
  EXPECT_TRUE(run.fed);
  EXPECT_FALSE(run.finished);
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\n"}));
  const Result closed = MaskEverySplit(Csv(), Keep(1), "a\n\"closed\"");
  EXPECT_TRUE(closed.finished);
  EXPECT_EQ(closed.rows, (std::vector<std::string>{"a\n", "\"closed\""}));
}

TEST(CopyCsv, QuotedRowOverRowSizeMax) {
  const Result run = MaskEverySplit(Csv(), Keep(1), "\"ab\ncd\"\n\"x\nyyyyyy\"\n", 8);
  EXPECT_FALSE(run.fed);
  EXPECT_EQ(run.rows, (std::vector<std::string>{"\"ab\ncd\"\n"}));
}

TEST(CopyCsv, OptionsPostgresRefusesFail) {
  CopyOptions same = Csv();
  same.quote = ',';
  EXPECT_FALSE(Mask(same, Keep(1), "a\n").fed);
  CopyOptions quote_in_null = Csv();
  quote_in_null.null_text = "\"";
  EXPECT_FALSE(Mask(quote_in_null, Keep(1), "a\n").fed);
}

// ---- binary ---------------------------------------------------------------------------------

std::string Int16(int16_t v) {
  return {static_cast<char>(static_cast<uint16_t>(v) >> 8), static_cast<char>(v & 0xff)};
}

std::string Int32(int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  return {static_cast<char>(u >> 24), static_cast<char>(u >> 16), static_cast<char>(u >> 8),
          static_cast<char>(u)};
}

std::string BinaryHeader(std::string_view extension = {}, uint32_t flags = 0) {
  std::string header("PGCOPY\n\xff\r\n\0", 11);
  header += Int32(static_cast<int32_t>(flags));
  header += Int32(static_cast<int32_t>(extension.size()));
  header += extension;
  return header;
}

std::string Tuple(const std::vector<std::optional<std::string>>& fields) {
  std::string tuple = Int16(static_cast<int16_t>(fields.size()));
  for (const auto& field : fields) {
    tuple += field ? Int32(static_cast<int32_t>(field->size())) + *field : Int32(-1);
  }
  return tuple;
}

const std::string kTrailer = Int16(-1);

TEST(CopyBinary, HeaderTuplesAndTrailerPassUnchanged) {
  const std::string header = BinaryHeader("ext!");
  const std::string t1 = Tuple({"alice", std::nullopt, ""});
  const std::string t2 = Tuple({"", "bob", std::string("\0\n\t", 3)});
  const std::string t0 = Tuple({});
  const Result run = MaskEverySplit(Binary(), Keep(3), header + t1 + t2 + t0 + kTrailer);
  EXPECT_TRUE(run.fed && run.finished);
  EXPECT_EQ(run.rows, (std::vector<std::string>{header, t1, t2, t0, kTrailer}));
  EXPECT_EQ(run.row_count, 3u);
}

TEST(CopyBinary, ExtraFieldsAreNulled) {
  const Result run = MaskEverySplit(Binary(), Keep(1),
                                    BinaryHeader() + Tuple({"a", "b", std::nullopt}) + kTrailer);
  EXPECT_EQ(run.rows, (std::vector<std::string>{
                          BinaryHeader(), Tuple({"a", std::nullopt, std::nullopt}), kTrailer}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{1}));
}

TEST(CopyBinary, DamagedStreamsFail) {
  std::string bad_signature = BinaryHeader();
  bad_signature[7] = 'x';
  const std::vector<std::string> damaged = {
      bad_signature,
      BinaryHeader({}, 1),         // a critical flag
      BinaryHeader({}, 1u << 16),  // OIDs
      BinaryHeader() + Int16(-2),
      BinaryHeader() + Int16(1) + Int32(-2),
      BinaryHeader() + kTrailer + "x",
      std::string("PGCOPY\n\xff\r\n\0", 11) + Int32(0) + Int32(-1),
  };
  for (const std::string& stream : damaged) {
    const Result run = MaskEverySplit(Binary(), Keep(1), stream);
    EXPECT_FALSE(run.fed);
  }
  // Rows before the damage are emitted.
  const Result run = Mask(Binary(), Keep(1), BinaryHeader() + Tuple({"a"}) + Int16(-7));
  EXPECT_FALSE(run.fed);
  EXPECT_EQ(run.rows, (std::vector<std::string>{BinaryHeader(), Tuple({"a"})}));
}

TEST(CopyBinary, FinishInsideATupleFails) {
  const std::string tuple = Tuple({"abc", "de"});
  for (size_t cut = 1; cut < tuple.size(); ++cut) {
    const Result run = Mask(Binary(), Keep(2), BinaryHeader() + tuple.substr(0, cut));
    EXPECT_TRUE(run.fed);
    EXPECT_FALSE(run.finished) << "cut at " << cut;
  }
  const Result header_only = Mask(Binary(), Keep(2), BinaryHeader().substr(0, 15));
  EXPECT_FALSE(header_only.finished);
  const Result no_trailer = Mask(Binary(), Keep(2), BinaryHeader() + tuple);
  EXPECT_TRUE(no_trailer.finished);
  EXPECT_EQ(no_trailer.rows.size(), 2u);
  const Result empty = Mask(Binary(), Keep(2), "");
  EXPECT_TRUE(empty.finished);
  EXPECT_TRUE(empty.rows.empty());
}

TEST(CopyBinary, RowSizeMax) {
  const std::string big = Tuple({std::string(100, 'x')});
  const Result fits =
      MaskEverySplit(Binary(), Keep(1), BinaryHeader() + big + kTrailer, big.size());
  EXPECT_TRUE(fits.fed && fits.finished);
  const Result over =
      MaskEverySplit(Binary(), Keep(1), BinaryHeader() + big + kTrailer, big.size() - 1);
  EXPECT_FALSE(over.fed);
  EXPECT_EQ(over.rows, (std::vector<std::string>{BinaryHeader()}));
  // A length far past the limit fails as soon as the limit is passed.
  const Result huge =
      Mask(Binary(), Keep(1), BinaryHeader() + Int16(1) + Int32(INT32_MAX) + std::string(100, 'z'),
           {}, 64);
  EXPECT_FALSE(huge.fed);
}

// ---- masking (MaskValue/ScanValue) ----------------------------------------------------------

TEST(CopyMask, TextNullAndRedact) {
  const std::vector<ColumnPlan> plan = {ColumnPlan{}, MaskColumn(Strategy::kNull),
                                        MaskColumn(Strategy::kRedact)};
  const Result run =
      MaskEverySplit(Text(), plan, "1\tsecret\tname\n2\t\\N\t\\N\n3\tx\\ty\ta\\tb\n");
  EXPECT_EQ(run.rows,
            (std::vector<std::string>{"1\t\\N\t****\n", "2\t\\N\t\\N\n", "3\t\\N\t****\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{0, 2, 2}));
}

TEST(CopyMask, TextMaskedValueIsEscapedAgain) {
  ColumnPlan column = MaskColumn(Strategy::kRedact);
  column.spec.redact_text = "a\\b|c";
  CopyOptions options = Text();
  options.delimiter = '|';
  const Result run = MaskEverySplit(options, {column, ColumnPlan{}}, "x|y\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"a\\\\b\\|c|y\n"}));
}

TEST(CopyMask, TextScanSeesTheDecodedValue) {
  const std::vector<ColumnPlan> plan = {ScanColumn(DetectorBit(Detector::kEmail)), ColumnPlan{}};
  // "\100" (octal) and "\x40" (hex) are '@': only the decoded field holds an email. The masked
  // field's own tab ("\t") comes back escaped; the kept field stays as it came.
  const Result run = MaskEverySplit(
      Text(), plan, "mail\\tbob\\100example.com\tk\\\\\nann\\x40example.org\t1\nno match\t2\n");
  ASSERT_EQ(run.rows.size(), 3u);
  EXPECT_EQ(run.rows[0], "mail\\t****\tk\\\\\n");
  EXPECT_EQ(run.rows[1], "****\t1\n");
  EXPECT_EQ(run.rows[2], "no match\t2\n");
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{2, 0}));
}

TEST(CopyMask, CsvNullRedactAndQuoting) {
  ColumnPlan quoted = MaskColumn(Strategy::kRedact);
  quoted.spec.redact_text = "x\"y,z";
  const std::vector<ColumnPlan> plan = {MaskColumn(Strategy::kNull), MaskColumn(Strategy::kRedact),
                                        quoted, ColumnPlan{}};
  const Result run =
      MaskEverySplit(Csv(), plan, "a,\"b,\nc\",d,\"e,f\"\n,,,\n\"\",\"\",\"\",\"\"\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{",\"****\",\"x\"\"y,z\",\"e,f\"\n", ",,,\n",
                                                ",\"****\",\"x\"\"y,z\",\"\"\n"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{2, 2, 2, 0}));
}

TEST(CopyMask, CsvEscapedOutputWithOtherEscape) {
  ColumnPlan column = MaskColumn(Strategy::kRedact);
  column.spec.redact_text = "q\"e\\";
  CopyOptions options = Csv();
  options.escape = '\\';
  const Result run = MaskEverySplit(options, {column}, "plain\n");
  EXPECT_EQ(run.rows, (std::vector<std::string>{"\"q\\\"e\\\\\"\n"}));
}

TEST(CopyMask, CsvScanSeesTheUnquotedValue) {
  const std::vector<ColumnPlan> plan = {ScanColumn(DetectorBit(Detector::kEmail)), ColumnPlan{}};
  const Result run = MaskEverySplit(Csv(), plan, "\"to: \"\"bob@example.com\"\", ok\",1\n");
  ASSERT_EQ(run.rows.size(), 1u);
  EXPECT_EQ(run.rows[0].find("example"), std::string::npos) << run.rows[0];
  EXPECT_EQ(run.rows[0].substr(run.rows[0].size() - 3), ",1\n");
}

TEST(CopyMask, BinaryNullAndRedact) {
  const std::vector<ColumnPlan> plan = {MaskColumn(Strategy::kNull), MaskColumn(Strategy::kRedact),
                                        ColumnPlan{}};
  const std::string stream = BinaryHeader() + Tuple({"s1", "name", "k"}) +
                             Tuple({std::nullopt, std::nullopt, "k"}) + kTrailer;
  const Result run = MaskEverySplit(Binary(), plan, stream);
  EXPECT_EQ(run.rows,
            (std::vector<std::string>{BinaryHeader(), Tuple({std::nullopt, "****", "k"}),
                                      Tuple({std::nullopt, std::nullopt, "k"}), kTrailer}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{1, 1, 0}));
}

TEST(CopyMask, BinaryScan) {
  const std::vector<ColumnPlan> plan = {ScanColumn(DetectorBit(Detector::kEmail))};
  const std::string stream =
      BinaryHeader() + Tuple({"reach me at bob@example.com"}) + Tuple({"nothing"}) + kTrailer;
  const Result run = MaskEverySplit(Binary(), plan, stream);
  ASSERT_EQ(run.rows.size(), 4u);
  EXPECT_EQ(run.rows[1].find("example"), std::string::npos);
  EXPECT_EQ(run.rows[2], Tuple({"nothing"}));
  EXPECT_EQ(run.masked_counts, (std::vector<uint64_t>{1}));
}

}  // namespace
}  // namespace jitgate::mask
