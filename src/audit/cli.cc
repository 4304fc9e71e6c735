// src/audit/cli.cc: the offline audit tools (cli.h): argument parsing, the human and JSON
// renderings of records, and the five commands. Read-only over the log (reader.h).
#include "src/audit/cli.h"

#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "jitgate/audit.h"
#include "src/audit/reader.h"

namespace jitgate::audit {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitBroken = 1;
constexpr int kExitUsage = 2;
// tail and export --follow look for new records this often.
constexpr useconds_t kPollUs = 100 * 1000;

constexpr char kUsage[] =
    "usage: jitgate audit verify DIR [--key-file F]\n"
    "       jitgate audit replay DIR --session EPOCH.SHARD.SESSION [--key-file F]\n"
    "       jitgate audit sessions DIR [--key-file F]\n"
    "       jitgate audit export DIR [--from SEQ] [--follow] [--key-file F]\n"
    "       jitgate audit tail DIR [--json] [--from-start] [--key-file F]\n";

void Put(FILE* f, std::string_view text) { std::fwrite(text.data(), 1, text.size(), f); }

// ---- arguments ----------------------------------------------------------------------------------

struct Args {
  std::string command;
  std::string dir;
  std::string key_file;
  std::string session;
  uint64_t from_seq = 1;
  bool follow = false;
  bool json = false;
  bool from_start = false;
};

bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) {
    return false;
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || value > (UINT64_MAX - 9) / 10) {
      return false;
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = value;
  return true;
}

// Parses argv after "audit"; false with *problem set on a usage error.
bool ParseArgs(int argc, char** argv, Args* args, std::string* problem) {
  if (argc < 3) {
    *problem = argc < 2 ? "a command is required" : "the log directory is required";
    return false;
  }
  args->command = argv[1];
  args->dir = argv[2];
  const std::string& c = args->command;
  for (int i = 3; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--key-file" && has_value) {
      args->key_file = argv[++i];
    } else if (arg == "--session" && has_value && c == "replay") {
      args->session = argv[++i];
    } else if (arg == "--from" && has_value && c == "export") {
      if (!ParseU64(argv[++i], &args->from_seq)) {
        *problem = absl::StrCat("--from wants a seq, not \"", argv[i], "\"");
        return false;
      }
    } else if (arg == "--follow" && c == "export") {
      args->follow = true;
    } else if (arg == "--json" && c == "tail") {
      args->json = true;
    } else if (arg == "--from-start" && c == "tail") {
      args->from_start = true;
    } else {
      *problem = absl::StrCat("unexpected argument \"", ToAbsl(arg), "\" for audit ", c);
      return false;
    }
  }
  if (c == "replay" && args->session.empty()) {
    *problem = "audit replay needs --session EPOCH.SHARD.SESSION";
    return false;
  }
  return true;
}

// ---- rendering ----------------------------------------------------------------------------------

// The length of the valid UTF-8 sequence at text[i], or 0 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t Utf8SequenceSize(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  size_t size;
  uint8_t low = 0x80;
  uint8_t high = 0xBF;
  if (b0 < 0x80) {
    return 1;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    size = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    size = 3;
    low = b0 == 0xE0 ? 0xA0 : 0x80;
    high = b0 == 0xED ? 0x9F : 0xBF;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    size = 4;
    low = b0 == 0xF0 ? 0x90 : 0x80;
    high = b0 == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (text.size() - i < size || byte(i + 1) < low || byte(i + 1) > high) {
    return 0;
  }
  for (size_t k = 2; k < size; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return size;
}

void AppendHexByte(uint8_t b, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back(kHex[b >> 4]);
  out->push_back(kHex[b & 15]);
}

// A JSON string (RFC 8259) of raw bytes; bytes outside valid UTF-8 become the text \xNN.
void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < text.size();) {
    const uint8_t b = static_cast<uint8_t>(text[i]);
    const size_t n = Utf8SequenceSize(text, i);
    if (n == 0) {
      out->append("\\\\x");
      AppendHexByte(b, out);
      ++i;
      continue;
    }
    if (n > 1) {
      out->append(text.substr(i, n));
      i += n;
      continue;
    }
    switch (b) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (b < 0x20 || b == 0x7F) {
          out->append("\\u00");
          AppendHexByte(b, out);
        } else {
          out->push_back(static_cast<char>(b));
        }
    }
    ++i;
  }
  out->push_back('"');
}

// Text for a terminal: valid UTF-8 kept, newlines and tabs kept when `multiline` (else quotes
// become \"), backslashes doubled, every other control byte and every invalid byte shown as \xNN
// (no escape sequence reaches the terminal).
std::string Printable(std::string_view text, bool multiline) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const uint8_t b = static_cast<uint8_t>(text[i]);
    const size_t n = Utf8SequenceSize(text, i);
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    const bool keep = n == 1 && b >= 0x20 && b != 0x7F && b != '\\' && (b != '"' || multiline);
    if (keep || (multiline && (b == '\n' || b == '\t'))) {
      out.push_back(static_cast<char>(b));
    } else if (b == '\\') {
      out.append("\\\\");
    } else if (b == '"' && !multiline) {
      out.append("\\\"");
    } else {
      out.append("\\x");
      AppendHexByte(b, &out);
    }
    ++i;
  }
  return out;
}

// "2026-12-02T07:40:01.123456Z" (UTC).
std::string FormatTimeUs(int64_t time_us) {
  int64_t seconds = time_us / 1000000;
  int64_t micros = time_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  const time_t t = static_cast<time_t>(seconds);
  tm parts{};
  if (gmtime_r(&t, &parts) == nullptr) {
    return absl::StrCat("@", time_us, "us");
  }
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(micros));
  return text;
}

std::string SessionName(const RecordHeader& h) {
  return absl::StrCat(h.epoch, ".", h.shard, ".", h.session);
}

constexpr const char* kFlagNames[] = {"security", "truncated", "params_hidden", "text_normalized"};

std::string FieldKey(Field tag) {
  const std::string_view name = FieldName(tag);
  return name == "unknown" ? absl::StrCat("field_", static_cast<int>(tag)) : std::string(name);
}

bool RepeatedField(Field tag) {
  switch (tag) {
    case Field::kGroup:
    case Field::kRole:
    case Field::kParam:
    case Field::kParamNull:
    case Field::kParamHidden:
    case Field::kMasked:
      return true;
    default:
      return false;
  }
}

// One JSON value of a field.
std::string FieldJson(const FieldView& field) {
  std::string out;
  uint64_t value = 0;
  if (field.tag == Field::kParamNull) {
    out = "null";
  } else if (field.tag == Field::kParamHidden) {
    out = "{\"hidden\":true}";
  } else if (IntegerField(field.tag) && field.integer(&value)) {
    out = field.tag == Field::kExpiresMs ? absl::StrCat(static_cast<int64_t>(value))
                                         : absl::StrCat(value);
  } else {
    AppendJsonString(field.text(), &out);
  }
  return out;
}

// The record as one JSON object (cli.h describes the shape), without a newline.
std::string RecordJson(const LogRecord& record) {
  const RecordHeader& h = record.header;
  std::string out = absl::StrCat("{\"seq\":", h.seq, ",\"epoch\":", h.epoch, ",\"time\":\"",
                                 FormatTimeUs(h.time_us), "\",\"type\":\"", RecordTypeName(h.type),
                                 "\",\"shard\":", h.shard);
  if (h.session != 0) {
    absl::StrAppend(&out, ",\"session\":\"", SessionName(h), "\"");
  }
  out.append(",\"flags\":[");
  bool first = true;
  for (int bit = 0; bit < 16; ++bit) {
    if ((h.flags & (1u << bit)) == 0) {
      continue;
    }
    absl::StrAppend(&out, first ? "" : ",", "\"",
                    bit < 4 ? std::string(kFlagNames[bit]) : absl::StrCat("bit", bit), "\"");
    first = false;
  }
  out.append("]");
  // Fields grouped by key, in order of first appearance.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  std::vector<bool> repeated;
  FieldReader reader(record.fields);
  FieldView field;
  while (reader.Next(&field)) {
    const std::string key = FieldKey(field.tag);
    size_t g = 0;
    while (g < groups.size() && groups[g].first != key) {
      ++g;
    }
    if (g == groups.size()) {
      groups.push_back({key, {}});
      repeated.push_back(RepeatedField(field.tag));
    }
    groups[g].second.push_back(FieldJson(field));
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& [key, values] = groups[g];
    absl::StrAppend(&out, ",\"", key, "\":");
    if (!repeated[g] && values.size() == 1) {
      out.append(values[0]);
      continue;
    }
    out.append("[");
    for (size_t v = 0; v < values.size(); ++v) {
      absl::StrAppend(&out, v == 0 ? "" : ",", values[v]);
    }
    out.append("]");
  }
  absl::StrAppend(&out, ",\"link\":\"", LinkHex(record.link), "\"}");
  return out;
}

// The record as one human line: time, seq, type, session, then name=value per field.
std::string RecordLine(const LogRecord& record) {
  const RecordHeader& h = record.header;
  std::string out =
      absl::StrCat(FormatTimeUs(h.time_us), " seq ", h.seq, " ", RecordTypeName(h.type));
  if (h.session != 0) {
    absl::StrAppend(&out, " session=", SessionName(h));
  } else if (h.shard != kShardControl) {
    absl::StrAppend(&out, " shard=", h.shard);
  }
  FieldReader reader(record.fields);
  FieldView field;
  while (reader.Next(&field)) {
    uint64_t value = 0;
    if (field.tag == Field::kParamNull) {
      out.append(" param=NULL");
    } else if (field.tag == Field::kParamHidden) {
      out.append(" param=<hidden>");
    } else if (IntegerField(field.tag) && field.integer(&value)) {
      absl::StrAppend(&out, " ", FieldKey(field.tag), "=", value);
    } else {
      const std::string key = field.tag == Field::kParam ? "param" : FieldKey(field.tag);
      absl::StrAppend(&out, " ", key, "=\"", Printable(field.text(), false), "\"");
    }
  }
  return out;
}

// ---- the session view used by replay and sessions -----------------------------------------------

// The fields of one record gathered by tag: texts joined for repeated tags, integers parsed.
struct Fields {
  std::map<Field, std::vector<std::string>> texts;
  std::map<Field, uint64_t> numbers;
  std::vector<std::string> params;  // rendered: 'value', NULL, <hidden>

  explicit Fields(std::span<const std::byte> bytes) {
    FieldReader reader(bytes);
    FieldView field;
    while (reader.Next(&field)) {
      uint64_t value = 0;
      if (field.tag == Field::kParam) {
        params.push_back(absl::StrCat("'", Printable(field.text(), false), "'"));
      } else if (field.tag == Field::kParamNull) {
        params.push_back("NULL");
      } else if (field.tag == Field::kParamHidden) {
        params.push_back("<hidden>");
      } else if (IntegerField(field.tag) && field.integer(&value)) {
        numbers[field.tag] = value;
      } else {
        texts[field.tag].push_back(std::string(field.text()));
      }
    }
  }
  std::string Text(Field tag) const {
    auto it = texts.find(tag);
    if (it == texts.end()) {
      return "";
    }
    std::string out;
    for (size_t i = 0; i < it->second.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ", ", Printable(it->second[i], false));
    }
    return out;
  }
  bool Has(Field tag) const { return texts.count(tag) > 0 || numbers.count(tag) > 0; }
  uint64_t Number(Field tag) const {
    auto it = numbers.find(tag);
    return it == numbers.end() ? 0 : it->second;
  }
};

// " name=value" for each present text field.
void AppendTexts(const Fields& f, std::initializer_list<std::pair<const char*, Field>> names,
                 std::string* out) {
  for (const auto& [name, tag] : names) {
    if (f.Has(tag)) {
      absl::StrAppend(out, " ", name, "=", f.Text(tag));
    }
  }
}

std::string FormatDurationUs(uint64_t us) {
  char text[32];
  if (us < 1000) {
    std::snprintf(text, sizeof(text), "%" PRIu64 " us", us);
  } else if (us < 1000000) {
    std::snprintf(text, sizeof(text), "%.1f ms", static_cast<double>(us) / 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%.1f s", static_cast<double>(us) / 1e6);
  }
  return text;
}

void ReplayOpen(const LogRecord& r, const Fields& f, std::string* out) {
  absl::StrAppend(out, "session ", SessionName(r.header), " opened ",
                  FormatTimeUs(r.header.time_us), " (seq ", r.header.seq, ")\n  who     ");
  AppendTexts(f,
              {{"subject", Field::kSubject},
               {"app", Field::kApp},
               {"groups", Field::kGroup},
               {"roles", Field::kRole},
               {"tenant", Field::kTenant},
               {"token", Field::kTokenId}},
              out);
  out->append("\n  from    ");
  AppendTexts(f,
              {{"client", Field::kClient},
               {"listener", Field::kListener},
               {"tls", Field::kTlsVersion},
               {"cipher", Field::kTlsCipher}},
              out);
  out->append("\n  target  ");
  AppendTexts(f, {{"resource", Field::kResource}, {"policy", Field::kPolicy}}, out);
  if (f.Has(Field::kBackendPid)) {
    absl::StrAppend(out, " backend_pid=", f.Number(Field::kBackendPid));
  }
  if (f.Has(Field::kGrant) || f.Has(Field::kExpiresMs)) {
    out->append("\n  grant   ");
    AppendTexts(f, {{"id", Field::kGrant}}, out);
    if (f.Has(Field::kExpiresMs)) {
      absl::StrAppend(
          out, " expires=", FormatTimeUs(static_cast<int64_t>(f.Number(Field::kExpiresMs)) * 1000));
    }
  }
  out->append("\n");
}

void ReplayStatement(const LogRecord& r, const Fields& f, std::string* out) {
  absl::StrAppend(out, "statement ", f.Number(Field::kStatementSeq), " at ",
                  FormatTimeUs(r.header.time_us), " (seq ", r.header.seq, ")");
  AppendTexts(f,
              {{"kind", Field::kKind},
               {"decision", Field::kDecision},
               {"rule", Field::kRule},
               {"class", Field::kClass},
               {"command", Field::kCommand},
               {"policy", Field::kPolicy}},
              out);
  if ((r.header.flags & kFlagTruncated) != 0) {
    absl::StrAppend(out, " (truncated from ", f.Number(Field::kTextSize), " bytes)");
  }
  if ((r.header.flags & kFlagTextNormalized) != 0) {
    out->append(" (constants replaced by ?)");
  }
  out->append("\n");
  if (auto it = f.texts.find(Field::kText); it != f.texts.end()) {
    std::string text = Printable(it->second.front(), true);
    size_t start = 0;
    while (start <= text.size()) {
      const size_t end = std::min(text.find('\n', start), text.size());
      absl::StrAppend(out, "    | ", text.substr(start, end - start), "\n");
      start = end + 1;
    }
  }
  if (f.Has(Field::kStatementName) || f.Has(Field::kPortal)) {
    out->append("   ");
    AppendTexts(f, {{"statement", Field::kStatementName}, {"portal", Field::kPortal}}, out);
    out->append("\n");
  }
  if (!f.params.empty()) {
    out->append("    params:");
    for (size_t i = 0; i < f.params.size(); ++i) {
      absl::StrAppend(out, " $", i + 1, "=", f.params[i]);
    }
    out->append("\n");
  }
  if (f.Has(Field::kMessage)) {
    absl::StrAppend(out, "    refused: ", f.Text(Field::kMessage), "\n");
  }
}

void ReplayResponse(const Fields& f, std::string* out) {
  absl::StrAppend(out, "    -> ", f.Number(Field::kRows), " rows, ", f.Number(Field::kCommands),
                  " commands, ", f.Number(Field::kBytesDown), " bytes, ",
                  FormatDurationUs(f.Number(Field::kDurationUs)));
  if (f.Number(Field::kStatements) > 1) {
    absl::StrAppend(out, " (answers ", f.Number(Field::kStatements), " statements)");
  }
  if (f.Has(Field::kSqlstate)) {
    absl::StrAppend(out, ", error ", f.Text(Field::kSqlstate));
  }
  if (f.Has(Field::kMasked)) {
    absl::StrAppend(out, ", masked ", f.Text(Field::kMasked));
  }
  out->append("\n");
}

void ReplayClose(const LogRecord& r, const Fields& f, std::string* out) {
  absl::StrAppend(out, "closed ", FormatTimeUs(r.header.time_us), " (seq ", r.header.seq, ")");
  AppendTexts(
      f, {{"reason", Field::kReason}, {"sqlstate", Field::kSqlstate}, {"message", Field::kMessage}},
      out);
  absl::StrAppend(out, "\n  ", f.Number(Field::kStatements), " statements, ",
                  f.Number(Field::kRows), " rows, ", f.Number(Field::kBytesUp), " bytes up, ",
                  f.Number(Field::kBytesDown), " bytes down, lasted ",
                  FormatDurationUs(f.Number(Field::kDurationUs)), "\n");
}

// ---- commands -----------------------------------------------------------------------------------

struct Context {
  FILE* out;
  FILE* err;
  const std::atomic<bool>* stop;
  std::unique_ptr<LinkHasher> hasher;  // null without --key-file (except verify)
  std::string key;
};

bool Stopped(const Context& ctx) {
  return ctx.stop != nullptr && ctx.stop->load(std::memory_order_relaxed);
}

int Verify(const Args& args, Context& ctx) {
  const VerifyReport report = VerifyLog(args.dir, ctx.key);
  for (const std::string& note : report.notes) {
    Put(ctx.out, absl::StrCat("note: ", note, "\n"));
  }
  if (!report.ok) {
    Put(ctx.err, absl::StrCat("audit verify: broken: ", report.error, "\n"));
    return kExitBroken;
  }
  Put(ctx.out,
      absl::StrCat("ok: ", report.records, " records in ", report.segments, " segments, seq ",
                   report.first_seq, "..", report.last_seq, ", ", report.epochs,
                   " epochs; last epoch ", report.last_epoch_closed ? "closed" : "open", "\n"));
  return kExitOk;
}

// Reads every record now in the log, calling `fn` for each; false (message printed) on a break.
template <typename Fn>
bool ForEachRecord(const Args& args, Context& ctx, const char* command, Fn fn) {
  LogReader reader(args.dir, ctx.hasher.get(), 1);
  LogRecord record;
  LogReader::Result result;
  while ((result = reader.Next(&record)) == LogReader::Result::kRecord) {
    fn(record);
  }
  if (result == LogReader::Result::kBroken) {
    Put(ctx.err, absl::StrCat("audit ", command, ": broken: ", reader.error(), "\n"));
    return false;
  }
  return true;
}

int Replay(const Args& args, Context& ctx) {
  uint64_t epoch = 0;
  uint64_t shard = 0;
  uint64_t session = 0;
  const std::string& id = args.session;
  const size_t dot1 = id.find('.');
  const size_t dot2 = dot1 == std::string::npos ? dot1 : id.find('.', dot1 + 1);
  if (dot2 == std::string::npos || !ParseU64(std::string_view(id).substr(0, dot1), &epoch) ||
      !ParseU64(std::string_view(id).substr(dot1 + 1, dot2 - dot1 - 1), &shard) ||
      !ParseU64(std::string_view(id).substr(dot2 + 1), &session) || session == 0) {
    Put(ctx.err, absl::StrCat("audit replay: \"", id,
                              "\" is not a session id EPOCH.SHARD.SESSION (e.g. 2.0.17)\n"));
    return kExitUsage;
  }
  const VerifyReport report = VerifyLog(args.dir, ctx.key);
  if (!report.ok) {
    Put(ctx.err, absl::StrCat("audit replay: the log does not verify, refusing to replay it: ",
                              report.error, "\n"));
    return kExitBroken;
  }
  std::string text;
  uint64_t matched = 0;
  const bool ok = ForEachRecord(args, ctx, "replay", [&](const LogRecord& r) {
    const RecordHeader& h = r.header;
    if (h.epoch != epoch || h.shard != shard || h.session != session) {
      return;
    }
    ++matched;
    const Fields f(r.fields);
    switch (h.type) {
      case RecordType::kSessionOpen:
        ReplayOpen(r, f, &text);
        break;
      case RecordType::kStatement:
        ReplayStatement(r, f, &text);
        break;
      case RecordType::kResponse:
        ReplayResponse(f, &text);
        break;
      case RecordType::kSessionClose:
        ReplayClose(r, f, &text);
        break;
      default:
        absl::StrAppend(&text, RecordLine(r), "\n");
        break;
    }
  });
  if (!ok) {
    return kExitBroken;
  }
  if (matched == 0) {
    Put(ctx.err,
        absl::StrCat("audit replay: no session ", id, " in ", args.dir,
                     "; list the session ids with `jitgate audit sessions ", args.dir, "`\n"));
    return kExitBroken;
  }
  Put(ctx.out, text);
  return kExitOk;
}

int Sessions(const Args& args, Context& ctx) {
  struct Summary {
    std::string id;
    int64_t open_us = 0;
    bool opened = false;
    std::string subject;
    std::string resource;
    uint64_t statements = 0;
    std::string close = "(no close record)";
  };
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, size_t> index;
  std::vector<Summary> sessions;
  const bool ok = ForEachRecord(args, ctx, "sessions", [&](const LogRecord& r) {
    const RecordHeader& h = r.header;
    if (h.session == 0) {
      return;
    }
    auto [it, added] = index.try_emplace({h.epoch, h.shard, h.session}, sessions.size());
    if (added) {
      sessions.push_back(Summary{SessionName(h), h.time_us});
    }
    Summary& s = sessions[it->second];
    if (h.type == RecordType::kSessionOpen || h.type == RecordType::kAuthRefused) {
      const Fields f(r.fields);
      s.opened = true;
      s.open_us = h.time_us;
      s.subject = f.Text(Field::kSubject);
      s.resource = f.Text(Field::kResource);
      if (h.type == RecordType::kAuthRefused) {
        s.close = absl::StrCat("auth refused: ", f.Text(Field::kReason));
      }
    } else if (h.type == RecordType::kStatement) {
      ++s.statements;
    } else if (h.type == RecordType::kSessionClose) {
      const Fields f(r.fields);
      s.close = f.Has(Field::kReason) ? f.Text(Field::kReason) : "closed";
    }
  });
  if (!ok) {
    return kExitBroken;
  }
  std::string text = "SESSION\tOPENED\tSUBJECT\tRESOURCE\tSTATEMENTS\tCLOSE\n";
  for (const Summary& s : sessions) {
    absl::StrAppend(&text, s.id, "\t", FormatTimeUs(s.open_us), "\t",
                    s.subject.empty() ? "-" : s.subject, "\t",
                    s.resource.empty() ? "-" : s.resource, "\t", s.statements, "\t", s.close, "\n");
  }
  Put(ctx.out, text);
  return kExitOk;
}

// export and tail: prints records as they land; follows when `follow`.
int Stream(const Args& args, Context& ctx, bool json, bool follow, bool skip_existing,
           uint64_t from_seq) {
  LogReader reader(args.dir, ctx.hasher.get(), from_seq);
  const char* command = args.command.c_str();
  if (skip_existing && reader.SkipToEnd() == LogReader::Result::kBroken) {
    Put(ctx.err, absl::StrCat("audit ", command, ": broken: ", reader.error(), "\n"));
    return kExitBroken;
  }
  LogRecord record;
  while (true) {
    LogReader::Result result;
    std::string lines;
    while ((result = reader.Next(&record)) == LogReader::Result::kRecord) {
      absl::StrAppend(&lines, json ? RecordJson(record) : RecordLine(record), "\n");
      if (lines.size() >= (64u << 10)) {
        Put(ctx.out, lines);
        lines.clear();
      }
    }
    Put(ctx.out, lines);
    std::fflush(ctx.out);
    if (result == LogReader::Result::kBroken) {
      Put(ctx.err, absl::StrCat("audit ", command, ": broken: ", reader.error(), "\n"));
      return kExitBroken;
    }
    if (!follow || Stopped(ctx)) {
      return kExitOk;
    }
    usleep(kPollUs);
  }
}

}  // namespace

int RunAuditCommandTo(int argc, char** argv, FILE* out, FILE* err, const std::atomic<bool>* stop) {
  Args args;
  std::string problem;
  if (!ParseArgs(argc, argv, &args, &problem)) {
    Put(err, absl::StrCat("audit: ", problem, "\n", kUsage));
    return kExitUsage;
  }
  Context ctx{out, err, stop, nullptr, ""};
  if (!args.key_file.empty()) {
    absl::StatusOr<std::string> key = ReadKeyFile(args.key_file);
    if (!key.ok()) {
      Put(err, absl::StrCat("audit ", args.command, ": ", key.status().message(), "\n"));
      return kExitUsage;
    }
    ctx.key = std::move(*key);
    ctx.hasher = std::make_unique<LinkHasher>(ctx.key);
  }
  const std::string& c = args.command;
  if (c == "verify") {
    return Verify(args, ctx);
  }
  if (c == "replay") {
    return Replay(args, ctx);
  }
  if (c == "sessions") {
    return Sessions(args, ctx);
  }
  if (c == "export") {
    return Stream(args, ctx, /*json=*/true, args.follow, /*skip_existing=*/false, args.from_seq);
  }
  if (c == "tail") {
    return Stream(args, ctx, args.json, /*follow=*/true, !args.from_start, 1);
  }
  Put(err, absl::StrCat("audit: unknown command \"", c, "\"\n", kUsage));
  return kExitUsage;
}

int RunAuditCommand(int argc, char** argv) {
  return RunAuditCommandTo(argc, argv, stdout, stderr, nullptr);
}

}  // namespace jitgate::audit
