// fuzz/pg_lexer_fuzz.cc: differential target: our PostgreSQL lexer (jitgate/parsers/sql/pg/
// lexer.h) against libpg_query's copy of the server's scanner (pg_query_scan).
// Properties, beyond "no crash or sanitizer report":
//  - standard_conforming_strings on: whenever the server's scanner accepts the text, so does
//    ours, with the same tokens (same starts and ends, comments included). Two known, safe
//    differences are allowed: pg_query_scan reports no proper end for U&'' / U&"" tokens (only
//    the start is compared, and the next token must start after our end), and it does not
//    continue a string across a "--" comment ('a' -- c\n'b' is one string in the server, where
//    libpg_query's parser then fails: unknown, fail closed); comparison stops there.
//  - off: libpg_query only scans in on mode, so the text is rewritten as the classifier does
//    (each plain '...' gets " E" before it: E'' is how the server reads '' in off mode) and the
//    rewrite is scanned; every one of our tokens must map onto one scanner token.
//  - the splitter's spans lie inside the text, in order, and never cut a token.
// Seed corpus: fuzz/corpus/pg_lexer/.
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/sql/pg/lexer.h"
#include "jitgate/parsers/sql/pg/split.h"

namespace {

using jitgate::parsers::sql::pg::LexMode;
using jitgate::parsers::sql::pg::Lexer;
using jitgate::parsers::sql::pg::LexStatus;
using jitgate::parsers::sql::pg::Token;
using jitgate::parsers::sql::pg::TokenKind;

struct Span {
  int start;
  int end;
  int token;  // PgQuery__Token, for scanner spans
};

bool IsStringKind(TokenKind kind) {
  return kind == TokenKind::kString || kind == TokenKind::kEscapeString ||
         kind == TokenKind::kBitString || kind == TokenKind::kHexString ||
         kind == TokenKind::kUnicodeString;
}

// Scans `text` with libpg_query; false when its scanner reports an error.
bool Scan(const std::string& text, std::vector<Span>* spans) {
  PgQueryScanResult result = pg_query_scan(text.c_str());
  if (result.error != nullptr) {
    pg_query_free_scan_result(result);
    return false;
  }
  PgQuery__ScanResult* scan = pg_query__scan_result__unpack(
      nullptr, result.pbuf.len, reinterpret_cast<const uint8_t*>(result.pbuf.data));
  JG_CHECK(scan != nullptr);
  for (size_t i = 0; i < scan->n_tokens; ++i) {
    spans->push_back({scan->tokens[i]->start, scan->tokens[i]->end, scan->tokens[i]->token});
  }
  pg_query__scan_result__free_unpacked(scan, nullptr);
  pg_query_free_scan_result(result);
  return true;
}

// Our tokens mapped to positions in the scanned text; `kinds` and `texts` describe them.
void Compare(const std::vector<Span>& ours, const std::vector<TokenKind>& kinds,
             const std::string& scanned, const std::vector<Span>& theirs) {
  size_t j = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    JG_CHECK(j < theirs.size());
    JG_CHECK(theirs[j].start == ours[i].start);
    const int token = theirs[j].token;
    if (token == PG_QUERY__TOKEN__USCONST || token == PG_QUERY__TOKEN__UIDENT) {
      ++j;  // pg_query_scan's end for these is not the token's end
      if (j < theirs.size() && theirs[j].start < ours[i].end) {
        // Only a U&'' continued across a -- comment (see below) may do this.
        JG_CHECK(kinds[i] == TokenKind::kUnicodeString &&
                 theirs[j].token == PG_QUERY__TOKEN__SQL_COMMENT);
        return;
      }
      continue;
    }
    if (theirs[j].end == ours[i].end) {
      ++j;
      continue;
    }
    // A string continued across a -- comment: libpg_query's scanner ends the string before the
    // comment and lexes the rest afresh (the server continues it, in the same state), so its
    // parser fails on the statement (unknown, fail closed). Nothing after this point compares.
    JG_CHECK(IsStringKind(kinds[i]) && theirs[j].end < ours[i].end);
    JG_CHECK(j + 1 < theirs.size() && theirs[j + 1].token == PG_QUERY__TOKEN__SQL_COMMENT);
    JG_CHECK(scanned.substr(ours[i].start, ours[i].end - ours[i].start).find("--") !=
             std::string::npos);
    return;
  }
  JG_CHECK(j == theirs.size());
}

void CheckMode(const std::string& text, bool standard_conforming_strings) {
  Lexer lexer(text, LexMode{.standard_conforming_strings = standard_conforming_strings});
  std::vector<Span> ours;
  std::vector<TokenKind> kinds;
  std::string rewritten;  // the on-mode equivalent of an off-mode text
  size_t copied = 0;
  int shift = 0;
  Token token;
  while (lexer.Next(&token)) {
    JG_CHECK(token.length > 0 && token.offset + token.length <= text.size());
    JG_CHECK(ours.empty() || static_cast<int>(token.offset) >= ours.back().end - shift);
    const bool plain = !standard_conforming_strings && token.kind == TokenKind::kEscapeString &&
                       text[token.offset] == '\'';
    if (plain) {
      rewritten.append(text, copied, token.offset - copied);
      rewritten.append(" E");
      copied = token.offset;
      shift += 2;
    }
    const int start = static_cast<int>(token.offset) + shift - (plain ? 1 : 0);
    ours.push_back({start, static_cast<int>(token.offset + token.length) + shift, 0});
    kinds.push_back(token.kind);
  }
  if (lexer.status() != LexStatus::kOk) {
    return;  // a lexical error: the statement is unknown; nothing to compare
  }
  rewritten.append(text, copied, std::string::npos);
  const std::string& scanned = standard_conforming_strings ? text : rewritten;
  std::vector<Span> theirs;
  if (!Scan(scanned, &theirs)) {
    return;  // the server rejects it (our lexer may be more lenient about escapes): unknown
  }
  Compare(ours, kinds, scanned, theirs);
}

void CheckOnModeErrorsAgree(const std::string& text) {
  // If the server's scanner accepts the text, ours must too (else we would call it unknown
  // where it is not: fail-closed, but a bug). Not checked when the text holds "--": there
  // libpg_query's scanner restarts strings the server continues across a -- comment, so it can
  // accept what the server (and our lexer) call unterminated.
  if (text.find("--") != std::string::npos) {
    return;
  }
  Lexer lexer(text, LexMode{});
  Token token;
  while (lexer.Next(&token)) {
  }
  std::vector<Span> theirs;
  if (lexer.status() != LexStatus::kOk && Scan(text, &theirs)) {
    JG_CHECK(false && "our lexer rejects what the server's scanner accepts");
  }
}

void CheckSplit(const std::string& text) {
  std::array<jitgate::parsers::sql::pg::StatementSpan, 32> spans;
  const auto result = jitgate::parsers::sql::pg::SplitStatements(text, LexMode{}, 1, spans);
  uint64_t previous_end = 0;
  for (uint32_t i = 0; i < result.count; ++i) {
    JG_CHECK(spans[i].offset >= previous_end);
    JG_CHECK(static_cast<uint64_t>(spans[i].offset) + spans[i].length <= text.size());
    previous_end = spans[i].offset + spans[i].length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  CheckSplit(text);
  if (text.find('\0') != std::string::npos) {
    Lexer lexer(text, LexMode{});
    Token token;
    while (lexer.Next(&token)) {
    }
    JG_CHECK(lexer.status() != LexStatus::kOk);  // never lex past a NUL
    return 0;
  }
  CheckMode(text, true);
  CheckMode(text, false);
  CheckOnModeErrorsAgree(text);
  return 0;
}
