// parsers/sql/pg/internal.h: private interfaces between the classifier's files.
//
// classify.cc owns libpg_query calls and the message-level flow; tree_walk.cc maps a protobuf
// parse tree onto a Statement; plpgsql.cc looks inside DO bodies; functions.cc holds the list of
// risky server functions. Everything here runs on the cache-miss path, where allocation is allowed.
// The protobuf parse-tree helpers at the end are shared with lineage.cc.
#ifndef JITGATE_PARSERS_SQL_PG_INTERNAL_H_
#define JITGATE_PARSERS_SQL_PG_INTERNAL_H_

#include <pg_query/pg_query.pb-c.h>

#include <cstdint>
#include <cstring>
#include <string_view>

#include "jitgate/parsers/sql/statement.h"

struct PgQuery__ParseResult;
struct PgQuery__DoStmt;

namespace jitgate::parsers::sql::pg::internal {

// How deep DO bodies and nested statement texts may recurse before the result is kUnknown.
inline constexpr int kNestingMax = 4;

// Rank in the "most dangerous wins" order of statement.h (kUnknown highest).
int ClassRank(StatementClass statement_class);
// Raises `out` to `statement_class` if that is more dangerous.
void RaiseClass(Statement* out, StatementClass statement_class);
// Folds an inner statement's result into `out` (class, flags, names).
void MergeInto(Statement* out, const Statement& inner);

// Parses `text` (standard_conforming_strings on) with libpg_query and classifies every statement
// in it into `out`, which the caller has Reset(). Returns false when the parser rejects the text
// (out is then kUnknown).
bool ClassifyParsed(std::string_view text, Statement* out, int nesting);

// Maps one unpacked parse result onto `out`. `text` is the text that was parsed.
void WalkParseResult(const PgQuery__ParseResult& tree, std::string_view text, Statement* out,
                     int nesting);

// Looks inside a DO block (its statement text, as parsed) with pg_query_parse_plpgsql.
void ClassifyDoBlock(std::string_view do_text, const PgQuery__DoStmt& stmt, Statement* out,
                     int nesting);

// What calling a server function means. `name` is folded and without schema.
struct FunctionRisk {
  StatementClass statement_class;
  uint32_t flags;
};
bool LookupFunctionRisk(std::string_view name, FunctionRisk* risk);
// Settings whose change is an identity or lexer-mode change (SET x / set_config('x', ...)).
bool IsSensitiveSetting(std::string_view name);

// ---- the protobuf parse tree (tree_walk.cc, lineage.cc) ----------------------------------------

inline std::string_view View(const char* text) {
  return text == nullptr ? std::string_view() : text;
}

inline const ProtobufCMessage* AsMessage(const void* message) {
  return static_cast<const ProtobufCMessage*>(message);
}

// The String value of a Node, or empty.
inline std::string_view NodeString(const PgQuery__Node* node) {
  if (node != nullptr && node->node_case == PG_QUERY__NODE__NODE_STRING &&
      node->string != nullptr) {
    return View(node->string->sval);
  }
  return {};
}

// Calls fn(child) for every message-typed field of `message`: a singular field (child may be
// null), each item of a repeated field, or the active member of a oneof. Stops when fn returns
// false. The one place the parse-tree walks read protobuf-c's field layout.
template <typename Fn>
void ForEachChildMessage(const ProtobufCMessage* message, Fn&& fn) {
  const ProtobufCMessageDescriptor* descriptor = message->descriptor;
  const char* base = reinterpret_cast<const char*>(message);
  for (unsigned i = 0; i < descriptor->n_fields; ++i) {
    const ProtobufCFieldDescriptor& field = descriptor->fields[i];
    if (field.type != PROTOBUF_C_TYPE_MESSAGE) {
      continue;
    }
    if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
      uint32_t active = 0;
      std::memcpy(&active, base + field.quantifier_offset, sizeof(active));
      if (active != field.id) {
        continue;
      }
    }
    if (field.label == PROTOBUF_C_LABEL_REPEATED) {
      size_t count = 0;
      std::memcpy(&count, base + field.quantifier_offset, sizeof(count));
      const ProtobufCMessage* const* items = nullptr;
      std::memcpy(&items, base + field.offset, sizeof(items));
      for (size_t k = 0; k < count && items != nullptr; ++k) {
        if (!fn(items[k])) {
          return;
        }
      }
    } else {
      const ProtobufCMessage* child = nullptr;
      std::memcpy(&child, base + field.offset, sizeof(child));
      if (!fn(child)) {
        return;
      }
    }
  }
}

}  // namespace jitgate::parsers::sql::pg::internal

#endif  // JITGATE_PARSERS_SQL_PG_INTERNAL_H_
