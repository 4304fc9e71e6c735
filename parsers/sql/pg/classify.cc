// parsers/sql/pg/classify.cc: the classifier's entry points (jitgate/parsers/sql/pg/classify.h)
// and the libpg_query calls: parse to protobuf, unpack, walk (tree_walk.cc), free.
#include "jitgate/parsers/sql/pg/classify.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <array>
#include <cctype>
#include <string>

#include "jitgate/parsers/sql/pg/split.h"
#include "parsers/sql/pg/internal.h"

namespace jitgate::parsers::sql::pg {
namespace internal {

int ClassRank(StatementClass statement_class) {
  switch (statement_class) {
    case StatementClass::kRead:
      return 0;
    case StatementClass::kTransaction:
      return 1;
    case StatementClass::kSession:
      return 2;
    case StatementClass::kWrite:
      return 3;
    case StatementClass::kDdl:
      return 4;
    case StatementClass::kDcl:
      return 5;
    case StatementClass::kDestructive:
      return 6;
    case StatementClass::kAdmin:
      return 7;
    case StatementClass::kUnknown:
      return 8;
  }
  return 8;
}

void RaiseClass(Statement* out, StatementClass statement_class) {
  if (ClassRank(statement_class) > ClassRank(out->statement_class)) {
    out->statement_class = statement_class;
  }
}

void MergeInto(Statement* out, const Statement& inner) {
  RaiseClass(out, inner.statement_class);
  out->flags |= inner.flags & ~kFlagMultiStatement;
  for (uint8_t i = 0; i < inner.relation_count; ++i) {
    out->AddRelation(inner.relations[i].name.schema, inner.relations[i].name.name,
                     inner.relations[i].access);
  }
  for (uint8_t i = 0; i < inner.function_count; ++i) {
    out->AddFunction(inner.functions[i].schema, inner.functions[i].name);
  }
}

bool ClassifyParsed(std::string_view text, Statement* out, int nesting) {
  if (nesting > kNestingMax) {
    out->statement_class = StatementClass::kUnknown;
    return false;
  }
  const std::string copy(text);  // libpg_query wants a C string
  PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(copy.c_str());
  if (parsed.error != nullptr) {
    pg_query_free_protobuf_parse_result(parsed);
    out->statement_class = StatementClass::kUnknown;
    return false;
  }
  PgQuery__ParseResult* tree = pg_query__parse_result__unpack(
      nullptr, parsed.parse_tree.len, reinterpret_cast<const uint8_t*>(parsed.parse_tree.data));
  if (tree == nullptr) {
    pg_query_free_protobuf_parse_result(parsed);
    out->statement_class = StatementClass::kUnknown;
    return false;
  }
  out->statement_class = StatementClass::kRead;  // the walk raises it
  WalkParseResult(*tree, copy, out, nesting);
  if (out->command.empty()) {
    out->statement_class = StatementClass::kUnknown;  // no statement type was recognized
  }
  pg_query__parse_result__free_unpacked(tree, nullptr);
  pg_query_free_protobuf_parse_result(parsed);
  return true;
}

}  // namespace internal

namespace {

// standard_conforming_strings off -> on: each plain '...' (lexed as an escape string in off
// mode) gets an E prefix, with a space before it so that it cannot join a preceding identifier
// (abc'x' is abc then 'x'). N'x' becomes NCHAR E'x', which the server reads as N'x'.
bool RewriteToStandard(std::string_view statement, std::string* out) {
  Lexer lexer(statement, LexMode{.standard_conforming_strings = false});
  Token token;
  size_t copied = 0;
  out->reserve(statement.size() + 16);
  while (lexer.Next(&token)) {
    if (token.kind != TokenKind::kEscapeString || statement[token.offset] != '\'') {
      continue;
    }
    out->append(statement.substr(copied, token.offset - copied));
    const bool after_n = token.offset > 0 && (statement[token.offset - 1] == 'N' ||
                                              statement[token.offset - 1] == 'n');
    // After the one-letter word N (xnstart), complete it to the keyword it stands for.
    bool n_word = false;
    if (after_n) {
      const size_t before = token.offset - 1;
      n_word = before == 0 || !(std::isalnum(static_cast<unsigned char>(statement[before - 1])) ||
                                statement[before - 1] == '_' || statement[before - 1] == '$' ||
                                static_cast<unsigned char>(statement[before - 1]) >= 0x80);
    }
    out->append(n_word ? "CHAR E" : " E");
    copied = token.offset;
  }
  out->append(statement.substr(copied));
  return lexer.status() == LexStatus::kOk;
}

}  // namespace

void ClassifyStatementUncached(std::string_view statement, LexMode mode, Statement* out) {
  out->Reset();
  out->length = static_cast<uint32_t>(statement.size() < kTextSizeMax ? statement.size() : 0);
  if (statement.size() > kStatementSizeMax) {
    out->flags |= kFlagTooLong;
    return;  // kUnknown
  }
  {
    // A NUL would end libpg_query's C string early and hide what follows.
    Lexer lexer(statement, mode);
    Token token;
    while (lexer.Next(&token)) {
    }
    if (lexer.status() != LexStatus::kOk) {
      return;  // kUnknown
    }
  }
  if (mode.standard_conforming_strings) {
    internal::ClassifyParsed(statement, out, 0);
    return;
  }
  std::string rewritten;
  if (RewriteToStandard(statement, &rewritten)) {
    internal::ClassifyParsed(rewritten, out, 0);
  }
}

ClassifyResult ClassifyMessage(std::string_view text, LexMode mode, DecisionCache* cache,
                               std::span<Statement> out) {
  ClassifyResult result;
  std::array<StatementSpan, kMessageStatementsMax> spans;
  const uint64_t seed = cache != nullptr ? cache->seed() : 0;
  const SplitResult split = SplitStatements(text, mode, seed, spans);
  result.lex_status = split.lex_status;
  result.overflow = split.status == SplitStatus::kOverflow || split.count > out.size();
  const uint32_t count = split.count < out.size() ? split.count : static_cast<uint32_t>(out.size());
  for (uint32_t i = 0; i < count; ++i) {
    const StatementSpan& span = spans[i];
    Statement& statement = out[i];
    const bool lex_failed = split.status == SplitStatus::kLexError && i + 1 == split.count;
    const Statement* cached = nullptr;
    if (lex_failed) {
      statement.Reset();  // kUnknown
    } else if (span.length > kStatementSizeMax) {
      statement.Reset();
      statement.flags |= kFlagTooLong;
    } else if (cache != nullptr &&
               (cached = cache->Find(span.fingerprint, span.token_count, mode)) != nullptr) {
      statement.CopyFrom(*cached);
      ++result.cache_hits;
    } else {
      ClassifyStatementUncached(text.substr(span.offset, span.length), mode, &statement);
      if (cache != nullptr) {
        cache->Insert(span.fingerprint, span.token_count, mode, statement);
      }
    }
    statement.offset = span.offset;
    statement.length = span.length;
    if (split.count > 1) {
      statement.flags |= kFlagMultiStatement;
    }
  }
  result.statement_count = count;
  return result;
}

}  // namespace jitgate::parsers::sql::pg
