// parsers/sql/pg/plpgsql.cc: looks inside DO blocks with libpg_query's PL/pgSQL parser.
//
// pg_query_parse_plpgsql answers in JSON only, and parsers/ has no JSON library; the answer's
// shape is fixed by libpg_query, so this file reads exactly two things from it: the presence of
// dynamic-SQL statement kinds (EXECUTE, FOR ... IN EXECUTE, OPEN/RETURN QUERY ... EXECUTE), and
// every "query":"..." string (each PLpgSQL_expr: SQL statements, conditions, assignments). The
// patterns include the JSON quotes, which inside a string value are always escaped, so text of a
// query can never fake a key. Each query is classified by the real parser and folded in.
// Miss path only: allocation allowed.
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <string>

#include "parsers/sql/pg/internal.h"

namespace jitgate::parsers::sql::pg::internal {
namespace {

void AppendUtf8(std::string* out, uint32_t code) {
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

bool Hex4(std::string_view json, size_t at, uint32_t* value) {
  if (at + 4 > json.size()) {
    return false;
  }
  uint32_t v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    const char c = json[i];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (digit < 0) {
      return false;
    }
    v = v * 16 + static_cast<uint32_t>(digit);
  }
  *value = v;
  return true;
}

// Decodes the JSON string whose body starts at `at` (just past its opening quote). Returns the
// index past the closing quote, or 0 when malformed.
size_t DecodeJsonString(std::string_view json, size_t at, std::string* out) {
  size_t i = at;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '"') {
      return i + 1;
    }
    if (c != '\\') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= json.size()) {
      return 0;
    }
    const char e = json[i + 1];
    i += 2;
    switch (e) {
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'u': {
        uint32_t code = 0;
        if (!Hex4(json, i, &code)) {
          return 0;
        }
        i += 4;
        uint32_t low = 0;
        if (code >= 0xD800 && code < 0xDC00 && i + 6 <= json.size() && json[i] == '\\' &&
            json[i + 1] == 'u' && Hex4(json, i + 2, &low) && low >= 0xDC00 && low < 0xE000) {
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        AppendUtf8(out, code);
        break;
      }
      default:
        out->push_back(e);  // \" \\ \/
        break;
    }
  }
  return 0;
}

// A PL/pgSQL expression is a statement ("DELETE FROM t"), an expression ("x > 1") or an
// assignment ("x := 1 + 2"); try them in that order. What parses in none is kUnknown.
void ClassifyEmbedded(const std::string& query, Statement* out, int nesting) {
  Statement inner;
  if (ClassifyParsed(query, &inner, nesting)) {
    MergeInto(out, inner);
    return;
  }
  inner.Reset();
  if (ClassifyParsed("SELECT " + query, &inner, nesting)) {
    MergeInto(out, inner);
    return;
  }
  const size_t assign = query.find(":=");
  inner.Reset();
  if (assign != std::string::npos &&
      ClassifyParsed("SELECT " + query.substr(assign + 2), &inner, nesting)) {
    MergeInto(out, inner);
    return;
  }
  RaiseClass(out, StatementClass::kUnknown);
}

bool IsPlpgsql(const PgQuery__DoStmt& stmt) {
  for (size_t i = 0; i < stmt.n_args; ++i) {
    const PgQuery__Node* arg = stmt.args[i];
    if (arg->node_case != PG_QUERY__NODE__NODE_DEF_ELEM || arg->def_elem->defname == nullptr ||
        std::string_view(arg->def_elem->defname) != "language") {
      continue;
    }
    const PgQuery__Node* value = arg->def_elem->arg;
    if (value == nullptr || value->node_case != PG_QUERY__NODE__NODE_STRING ||
        value->string->sval == nullptr || std::string_view(value->string->sval) != "plpgsql") {
      return false;
    }
  }
  return true;
}

}  // namespace

void ClassifyDoBlock(std::string_view do_text, const PgQuery__DoStmt& stmt, Statement* out,
                     int nesting) {
  if (!IsPlpgsql(stmt)) {
    RaiseClass(out, StatementClass::kAdmin);  // another language: nothing we can look into
    return;
  }
  if (nesting >= kNestingMax) {
    RaiseClass(out, StatementClass::kUnknown);
    return;
  }
  const std::string text(do_text);
  PgQueryPlpgsqlParseResult result = pg_query_parse_plpgsql(text.c_str());
  if (result.error != nullptr || result.plpgsql_funcs == nullptr) {
    RaiseClass(out, StatementClass::kUnknown);
    pg_query_free_plpgsql_parse_result(result);
    return;
  }
  const std::string_view json = result.plpgsql_funcs;
  if (json.find("\"PLpgSQL_stmt_dynexecute\"") != std::string_view::npos ||
      json.find("\"PLpgSQL_stmt_dynfors\"") != std::string_view::npos ||
      json.find("\"dynquery\"") != std::string_view::npos) {
    out->flags |= kFlagDynamicSql;
    RaiseClass(out, StatementClass::kAdmin);  // EXECUTE of a string: opaque
  }
  constexpr std::string_view kQueryKey = "\"query\":\"";
  size_t at = json.find(kQueryKey);
  while (at != std::string_view::npos) {
    std::string query;
    const size_t end = DecodeJsonString(json, at + kQueryKey.size(), &query);
    if (end == 0) {
      RaiseClass(out, StatementClass::kUnknown);
      break;
    }
    ClassifyEmbedded(query, out, nesting + 1);
    at = json.find(kQueryKey, end);
  }
  pg_query_free_plpgsql_parse_result(result);
}

}  // namespace jitgate::parsers::sql::pg::internal
