// parsers/sql/pg/lineage.cc: which output columns of a statement come from sensitive columns
// (jitgate/parsers/sql/pg/lineage.h), on libpg_query's protobuf parse tree.
//
// A query is analysed into a Shape: its named output columns, each with a Value (the sensitive
// names it reaches, and whether it is a plain column reference), plus the FROM items a `*`
// expanded (whose columns are unknown by position but still resolvable by name). FROM items
// become Sources in a Scope; a ColumnRef is resolved against the innermost scope that can
// provide it, through subqueries and CTEs recursively. Anything not modelled turns into an
// opaque Source whose every column may carry everything it read (fail closed).
//
// Depth and total work are bounded (kDepthMax, kWorkMax); past either, the result is not exact
// and every value is derived from "*".
#include "jitgate/parsers/sql/pg/lineage.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "parsers/sql/pg/internal.h"

namespace jitgate::parsers::sql::pg {
namespace {

// libpg_query stops far earlier (its stack depth guard); this bounds our own recursion.
constexpr int kDepthMax = 1000;
// Bounds the whole analysis: CTE chains with `*` (or nested WITH RECURSIVE) can make a shape
// be visited exponentially often. One step per node evaluated, name looked up or row expanded;
// a 64 KiB statement of ordinary shape takes well under this.
constexpr uint32_t kWorkMax = 1u << 17;
// Rounds of WITH RECURSIVE re-analysis before its CTEs become opaque.
constexpr int kRecursiveRoundsMax = 4;

constexpr std::string_view kAllColumns = "*";
constexpr std::string_view kUnnamed = "?column?";

using Names = std::vector<std::string>;

using internal::AsMessage;
using internal::NodeString;
using internal::View;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && Lower(a) == Lower(b);
}

void AddName(Names* names, std::string_view name) {
  const auto it = std::lower_bound(names->begin(), names->end(), name, std::less<>());
  if (it == names->end() || *it != name) {
    names->insert(it, std::string(name));
  }
}

void AddNames(Names* names, const Names& more) {
  for (const std::string& name : more) {
    AddName(names, name);
  }
}

// Calls fn(child) for every non-null message-typed field of `message`: a singular field, each
// item of a repeated field, or the active member of a oneof.
template <typename Fn>
void ForEachChild(const ProtobufCMessage* message, Fn&& fn) {
  internal::ForEachChildMessage(message, [&](const ProtobufCMessage* child) {
    if (child != nullptr) {
      fn(child);
    }
    return true;
  });
}

// What a value may carry. Invariant: column.empty() || names == {column}.
struct Value {
  Names names;             // sensitive column names reached, lower case, sorted, unique
  std::string column;      // non-empty: a plain reference to this sensitive column
  bool whole_row = false;  // includes a whole-row value
};

Value ColumnValue(std::string_view name) {
  Value value;
  value.names.emplace_back(name);
  value.column = std::string(name);
  return value;
}

Value EverythingValue() {
  Value value;
  value.names.emplace_back(kAllColumns);
  value.whole_row = true;
  return value;
}

// `from` becomes part of an expression over `into`: never a plain column any more.
void Absorb(Value* into, const Value& from) {
  AddNames(&into->names, from.names);
  into->whole_row = into->whole_row || from.whole_row;
  into->column.clear();
}

// `value` is one of `into`'s alternatives (ambiguous resolution, the arms of a set operation):
// a plain column stays one only when every non-clean alternative is that same column.
void Alternative(Value* into, const Value& value) {
  std::string column;
  if (into->names.empty()) {
    column = value.column;
  } else if (value.names.empty() || value.column == into->column) {
    column = into->column;
  }
  AddNames(&into->names, value.names);
  into->whole_row = into->whole_row || value.whole_row;
  into->column = column;
}

struct Source;
using SourcePtr = std::shared_ptr<const Source>;

struct NamedValue {
  std::string name;       // output name, as PostgreSQL would name it
  std::string qualifier;  // the table or alias written before a column reference
  Value value;
};

// A query's output as far as it is known.
struct Shape {
  bool exact = true;                // the output columns are `columns`, one to one
  std::vector<NamedValue> columns;  // explicit output columns, in order
  std::vector<SourcePtr> star;      // FROM items a `*` or `t.*` expanded (columns unknown)
  bool opaque = false;              // more columns, unknown: each may carry `taint`
  Value taint;                      // opaque: what any column may carry
};
using ShapePtr = std::shared_ptr<const Shape>;

enum class SourceKind : uint8_t {
  kBase,    // a table or view: its columns are unknown, their names are taken at face value
  kTable,   // a subquery or CTE: `shape`
  kOpaque,  // a function, XMLTABLE, a renamed relation...: every column may carry `taint`
  kJoin,    // an aliased JOIN: `children`
};

struct Source {
  SourceKind kind = SourceKind::kBase;
  std::string name;        // alias, else relation / CTE / function name (as parsed)
  std::string relname;     // kBase: the relation's name (as parsed)
  bool sensitive = false;  // kBase: a sensitive relation
  ShapePtr shape;
  Value taint;
  std::vector<SourcePtr> children;
};

// The FROM items of one query level; `parent` is the enclosing query's (correlation, LATERAL).
struct Scope {
  const Scope* parent = nullptr;
  std::vector<SourcePtr> sources;
};

// The CTEs of one WITH clause; `parent` is the enclosing WITH.
struct CteEnv {
  const CteEnv* parent = nullptr;
  std::vector<std::pair<std::string, SourcePtr>> ctes;
};

// FigureColname (parse_target.c): the name PostgreSQL gives an unnamed target, with its
// strength (2: a real name, 1: a fallback like "case", 0: none).
int FigureName(const PgQuery__Node* node, std::string* name, int depth);

std::string TargetName(const PgQuery__ResTarget& target, int depth) {
  if (!View(target.name).empty()) {
    return std::string(View(target.name));
  }
  std::string name;
  if (FigureName(target.val, &name, depth + 1) == 0) {
    return std::string(kUnnamed);
  }
  return name;
}

// The name of the first output column of a sub-select (EXPR sublink).
std::string FirstTargetName(const PgQuery__SelectStmt* select, int depth) {
  for (int i = 0; select != nullptr && select->op > PG_QUERY__SET_OPERATION__SETOP_NONE; ++i) {
    if (i > kDepthMax) {
      return std::string(kUnnamed);
    }
    select = select->larg;
  }
  if (select == nullptr) {
    return std::string(kUnnamed);
  }
  if (select->n_values_lists > 0) {
    return "column1";
  }
  if (select->n_target_list > 0 &&
      select->target_list[0]->node_case == PG_QUERY__NODE__NODE_RES_TARGET) {
    return TargetName(*select->target_list[0]->res_target, depth + 1);
  }
  return std::string(kUnnamed);
}

const char* SqlValueFunctionName(PgQuery__SQLValueFunctionOp op) {
  switch (op) {
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_DATE:
      return "current_date";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIME:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIME_N:
      return "current_time";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP_N:
      return "current_timestamp";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIME:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIME_N:
      return "localtime";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP_N:
      return "localtimestamp";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_ROLE:
      return "current_role";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_USER:
      return "current_user";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_USER:
      return "user";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_SESSION_USER:
      return "session_user";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_CATALOG:
      return "current_catalog";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_SCHEMA:
      return "current_schema";
    default:
      return nullptr;
  }
}

const char* XmlExprName(PgQuery__XmlExprOp op) {
  switch (op) {
    case PG_QUERY__XML_EXPR_OP__IS_XMLCONCAT:
      return "xmlconcat";
    case PG_QUERY__XML_EXPR_OP__IS_XMLELEMENT:
      return "xmlelement";
    case PG_QUERY__XML_EXPR_OP__IS_XMLFOREST:
      return "xmlforest";
    case PG_QUERY__XML_EXPR_OP__IS_XMLPARSE:
      return "xmlparse";
    case PG_QUERY__XML_EXPR_OP__IS_XMLPI:
      return "xmlpi";
    case PG_QUERY__XML_EXPR_OP__IS_XMLROOT:
      return "xmlroot";
    case PG_QUERY__XML_EXPR_OP__IS_XMLSERIALIZE:
      return "xmlserialize";
    default:
      return nullptr;
  }
}

int Named(std::string* name, std::string_view value) {
  *name = std::string(value);
  return 2;
}

int FigureName(const PgQuery__Node* node, std::string* name, int depth) {
  if (node == nullptr || depth > kDepthMax) {
    return 0;
  }
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_COLUMN_REF: {
      std::string_view last;
      for (size_t i = 0; i < node->column_ref->n_fields; ++i) {
        if (!NodeString(node->column_ref->fields[i]).empty()) {
          last = NodeString(node->column_ref->fields[i]);
        }
      }
      return last.empty() ? 0 : Named(name, last);
    }
    case PG_QUERY__NODE__NODE_A_INDIRECTION: {
      std::string_view last;
      for (size_t i = 0; i < node->a_indirection->n_indirection; ++i) {
        if (!NodeString(node->a_indirection->indirection[i]).empty()) {
          last = NodeString(node->a_indirection->indirection[i]);
        }
      }
      return last.empty() ? FigureName(node->a_indirection->arg, name, depth + 1)
                          : Named(name, last);
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL: {
      const PgQuery__FuncCall& call = *node->func_call;
      return call.n_funcname == 0 ? 0 : Named(name, NodeString(call.funcname[call.n_funcname - 1]));
    }
    case PG_QUERY__NODE__NODE_A_EXPR:
      return node->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NULLIF ? Named(name, "nullif")
                                                                         : 0;
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
      const int strength = FigureName(node->type_cast->arg, name, depth + 1);
      const PgQuery__TypeName* type = node->type_cast->type_name;
      if (strength <= 1 && type != nullptr && type->n_names > 0) {
        *name = std::string(NodeString(type->names[type->n_names - 1]));
        return 1;
      }
      return strength;
    }
    case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
      return FigureName(node->collate_clause->arg, name, depth + 1);
    case PG_QUERY__NODE__NODE_GROUPING_FUNC:
      return Named(name, "grouping");
    case PG_QUERY__NODE__NODE_SUB_LINK:
      switch (node->sub_link->sub_link_type) {
        case PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK:
          return Named(name, "exists");
        case PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK:
          return Named(name, "array");
        case PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK: {
          const PgQuery__Node* sub = node->sub_link->subselect;
          if (sub != nullptr && sub->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
            return Named(name, FirstTargetName(sub->select_stmt, depth + 1));
          }
          return 0;
        }
        default:
          return 0;
      }
    case PG_QUERY__NODE__NODE_CASE_EXPR: {
      const int strength = FigureName(node->case_expr->defresult, name, depth + 1);
      if (strength <= 1) {
        *name = "case";
        return 1;
      }
      return strength;
    }
    case PG_QUERY__NODE__NODE_A_ARRAY_EXPR:
      return Named(name, "array");
    case PG_QUERY__NODE__NODE_ROW_EXPR:
      return Named(name, "row");
    case PG_QUERY__NODE__NODE_COALESCE_EXPR:
      return Named(name, "coalesce");
    case PG_QUERY__NODE__NODE_MIN_MAX_EXPR:
      return Named(name,
                   node->min_max_expr->op == PG_QUERY__MIN_MAX_OP__IS_LEAST ? "least" : "greatest");
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION: {
      const char* function = SqlValueFunctionName(node->sqlvalue_function->op);
      return function == nullptr ? 0 : Named(name, function);
    }
    case PG_QUERY__NODE__NODE_XML_EXPR: {
      const char* function = XmlExprName(node->xml_expr->op);
      return function == nullptr ? 0 : Named(name, function);
    }
    case PG_QUERY__NODE__NODE_XML_SERIALIZE:
      return Named(name, "xmlserialize");
    default:
      return 0;
  }
}

// Whether a COPY's file name (gram.y: Sconst | STDIN | STDOUT) is the keyword STDOUT. protobuf-c
// gives "" both for STDOUT and for the literal '', so the text decides: the token after the first
// TO outside parentheses (the column list, COPY (query)) that does not follow a '.'.
bool CopyNamesStdout(std::string_view text) {
  Lexer lexer(text, LexMode{.standard_conforming_strings = true});
  Token token;
  int depth = 0;
  bool after_dot = false;
  bool after_to = false;
  while (lexer.Next(&token)) {
    if (token.kind == TokenKind::kComment) {
      continue;
    }
    const std::string_view word = token.kind == TokenKind::kWord
                                      ? text.substr(token.offset, token.length)
                                      : std::string_view();
    if (after_to) {
      return EqualsIgnoreCase(word, "stdout");
    }
    const bool single = token.kind == TokenKind::kOperator && token.length == 1;
    const char c = single ? text[token.offset] : '\0';
    if (c == '(' || c == '[') {
      ++depth;
    } else if ((c == ')' || c == ']') && depth > 0) {
      --depth;
    }
    after_to = depth == 0 && !after_dot && EqualsIgnoreCase(word, "to");
    after_dot = c == '.';
  }
  return false;
}

// defGetString for the node types a COPY option value can be. False for lists, `*`, types.
bool OptionString(const PgQuery__Node* arg, std::string* out) {
  if (arg == nullptr) {
    return false;
  }
  switch (arg->node_case) {
    case PG_QUERY__NODE__NODE_STRING:
      *out = std::string(NodeString(arg));
      return true;
    case PG_QUERY__NODE__NODE_INTEGER:
      *out = std::to_string(arg->integer->ival);
      return true;
    case PG_QUERY__NODE__NODE_FLOAT:
      *out = std::string(View(arg->float_->fval));
      return true;
    case PG_QUERY__NODE__NODE_BOOLEAN:
      *out = arg->boolean->boolval ? "true" : "false";
      return true;
    default:
      return false;
  }
}

// defGetBoolean: no value, true/false/on/off (any case), 0/1. False when it is none of these.
bool OptionBoolean(const PgQuery__Node* arg, bool* out) {
  if (arg == nullptr) {
    *out = true;
    return true;
  }
  if (arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN) {
    *out = arg->boolean->boolval;
    return true;
  }
  if (arg->node_case == PG_QUERY__NODE__NODE_INTEGER) {
    *out = arg->integer->ival != 0;
    return arg->integer->ival == 0 || arg->integer->ival == 1;
  }
  std::string text;
  if (!OptionString(arg, &text)) {
    return false;
  }
  const std::string folded = Lower(text);
  if (folded == "true" || folded == "on") {
    *out = true;
    return true;
  }
  if (folded == "false" || folded == "off") {
    *out = false;
    return true;
  }
  return false;
}

bool OptionByte(const PgQuery__Node* arg, char* out) {
  std::string text;
  if (!OptionString(arg, &text) || text.size() != 1) {
    return false;
  }
  *out = text[0];
  return true;
}

// Client-only encodings, whose multi-byte characters may contain ASCII bytes (a delimiter, a
// backslash): COPY data in them cannot be cut by byte. Names as pg_char_to_encoding compares
// them (letters and digits only, lower case).
bool IsClientOnlyEncoding(std::string_view name) {
  std::string key;
  for (const char c : Lower(name)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      key.push_back(c);
    }
  }
  static constexpr std::string_view kClientOnly[] = {
      "sjis", "mskanji", "shiftjis",   "win932",  "windows932", "shiftjis2004",
      "big5", "win950",  "windows950", "gbk",     "win936",     "windows936",
      "uhc",  "win949",  "windows949", "gb18030", "johab"};
  return std::find(std::begin(kClientOnly), std::end(kClientOnly), key) != std::end(kClientOnly);
}

void CopyOption(const PgQuery__DefElem& option, CopyInfo* copy) {
  const std::string_view name = View(option.defname);
  bool understood = true;
  if (name == "format") {
    std::string format;
    understood = OptionString(option.arg, &format);
    if (format == "text") {
      copy->format = CopyFormatKind::kText;
    } else if (format == "csv") {
      copy->format = CopyFormatKind::kCsv;
    } else if (format == "binary") {
      copy->format = CopyFormatKind::kBinary;
    } else {
      understood = false;
    }
  } else if (name == "delimiter") {
    understood = OptionByte(option.arg, &copy->delimiter);
  } else if (name == "quote") {
    understood = OptionByte(option.arg, &copy->quote);
  } else if (name == "escape") {
    understood = OptionByte(option.arg, &copy->escape);
  } else if (name == "null") {
    copy->null_given = OptionString(option.arg, &copy->null_text);
    understood = copy->null_given;
  } else if (name == "header") {
    // HEADER MATCH is for COPY FROM only; any other word the server refuses.
    understood = OptionBoolean(option.arg, &copy->header);
  } else if (name == "encoding") {
    std::string encoding;
    understood = OptionString(option.arg, &encoding) && !IsClientOnlyEncoding(encoding);
  } else if (name == "force_quote" || name == "force_not_null" || name == "force_null" ||
             name == "freeze") {
    // Quoting choices and load flags: the framing of the data stays the format's.
  } else {
    understood = false;  // oids, an unknown name, ...: the server refuses or we cannot model it
  }
  copy->options_understood = copy->options_understood && understood;
}

class Analyzer {
 public:
  Analyzer(std::string_view text, const SensitiveNames& names, Lineage* out)
      : text_(text), names_(names), out_(out) {}

  void Run(const PgQuery__Node* statement) {
    Statement(statement);
    Collect(AsMessage(statement), 0);
    for (const OutputColumn& column : out_->columns) {
      for (const std::string& name : column.names) {
        if (name != kAllColumns) {
          AddName(&out_->referenced, name);
        }
      }
    }
    if (overflow_) {
      out_->exact = false;
      out_->whole_row = true;
    }
    out_->written = written_;
    if (!out_->exact) {
      out_->columns.clear();
    }
  }

 private:
  // Counts depth and work for one recursive step; ok() is false past either limit.
  class Step {
   public:
    explicit Step(Analyzer* analyzer) : analyzer_(analyzer) {
      ++analyzer_->depth_;
      ++analyzer_->work_;
      ok_ = analyzer_->depth_ <= kDepthMax && analyzer_->work_ <= kWorkMax;
      analyzer_->overflow_ = analyzer_->overflow_ || !ok_;
    }
    ~Step() { --analyzer_->depth_; }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;
    bool ok() const { return ok_; }

   private:
    Analyzer* analyzer_;
    bool ok_ = false;
  };

  bool Sensitive(std::string_view lower_name) const {
    return std::binary_search(names_.columns.begin(), names_.columns.end(), lower_name,
                              std::less<>());
  }
  bool SensitiveRelation(std::string_view relname) const {
    const std::string lower = Lower(relname);
    return std::binary_search(names_.relations.begin(), names_.relations.end(), lower,
                              std::less<>());
  }
  // A column named `name` of an unknown row type.
  Value FaceValue(std::string_view name) const {
    const std::string lower = Lower(name);
    return Sensitive(lower) ? ColumnValue(lower) : Value();
  }
  // A column named `name` of an opaque row type that may carry `taint`.
  Value OpaqueValue(const Value& taint, std::string_view name) const {
    Value value = taint;
    value.column.clear();
    const std::string lower = Lower(name);
    if (Sensitive(lower)) {
      AddName(&value.names, lower);
    }
    return value;
  }

  void Statement(const PgQuery__Node* node);
  void SetColumns(const Shape& shape);
  void Copy(const PgQuery__CopyStmt& copy);
  void Collect(const ProtobufCMessage* message, int depth);

  Value Eval(const ProtobufCMessage* message, const Scope* scope, const CteEnv* ctes);
  Value EvalNode(const PgQuery__Node* node, const Scope* scope, const CteEnv* ctes) {
    return Eval(AsMessage(node), scope, ctes);
  }
  void EvalList(PgQuery__Node* const* nodes, size_t count, const Scope* scope, const CteEnv* ctes) {
    for (size_t i = 0; i < count; ++i) {
      EvalNode(nodes[i], scope, ctes);
    }
  }
  Value Resolve(const PgQuery__ColumnRef& ref, const Scope* scope);
  bool LookupColumn(const Source& source, std::string_view name, Value* value, bool* definite);
  Value WholeRow(const Source& source);
  Value ShapeTaint(const Shape& shape);

  Shape Query(const PgQuery__Node* node, const Scope* outer, const CteEnv* ctes);
  Shape Select(const PgQuery__SelectStmt& select, const Scope* outer, const CteEnv* ctes);
  Shape Values(const PgQuery__SelectStmt& select, const Scope* outer, const CteEnv* ctes);
  Shape Dml(const PgQuery__Node* node, const Scope* outer, const CteEnv* ctes);
  void TargetList(PgQuery__Node* const* targets, size_t count, const Scope* scope,
                  const CteEnv* ctes, Shape* shape);
  const CteEnv* With(const PgQuery__WithClause* with, const Scope* outer, const CteEnv* ctes,
                     CteEnv* local);
  void FromItem(const PgQuery__Node* node, Scope* scope, const CteEnv* ctes, Shape* shape);
  SourcePtr RangeVarSource(const PgQuery__RangeVar& range_var, const CteEnv* ctes);
  SourcePtr TableSource(std::string name, Shape shape, const PgQuery__Alias* alias);
  SourcePtr OpaqueSource(std::string name, Value taint) const {
    auto source = std::make_shared<Source>();
    source->kind = SourceKind::kOpaque;
    source->name = std::move(name);
    source->taint = std::move(taint);
    return source;
  }
  Shape FailedShape() const {
    Shape shape;
    shape.exact = false;
    shape.opaque = true;
    shape.taint = EverythingValue();
    return shape;
  }

  // A write of `value` into column `column` (empty: unknown) of relation `relation`.
  void Written(const Value& value, std::string_view relation, std::string_view column) {
    if (value.names.empty() && !value.whole_row) {
      return;
    }
    if (!column.empty() && SensitiveRelation(relation) && Sensitive(Lower(column))) {
      return;  // stays in a masked column of a masked relation
    }
    AddNames(&written_, value.names);
    if (value.whole_row) {
      AddName(&written_, kAllColumns);
    }
  }

  std::string_view text_;
  const SensitiveNames& names_;
  Lineage* out_;
  Names written_;
  int depth_ = 0;
  uint32_t work_ = 0;
  bool overflow_ = false;
};

void Analyzer::SetColumns(const Shape& shape) {
  out_->exact = shape.exact && !shape.opaque && shape.star.empty();
  out_->columns.clear();
  out_->star_relation.clear();
  if (shape.columns.empty() && !shape.opaque && shape.star.size() == 1 &&
      shape.star.front()->kind == SourceKind::kBase) {
    out_->star_relation = shape.star.front()->relname;  // SELECT * FROM one relation
  }
  for (const NamedValue& named : shape.columns) {
    OutputColumn column;
    column.name = named.name;
    column.names = named.value.names;
    column.whole_row = named.value.whole_row;
    if (!named.value.column.empty()) {
      column.origin = TargetOrigin::kColumn;
      column.column = named.value.column;
      column.qualifier = named.qualifier;
    } else if (!named.value.names.empty()) {
      column.origin = TargetOrigin::kDerived;
    }
    out_->columns.push_back(std::move(column));
  }
}

void Analyzer::Statement(const PgQuery__Node* node) {
  const Step step(this);
  if (!step.ok() || node == nullptr) {
    out_->exact = false;
    return;
  }
  out_->exact = true;
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_SELECT_STMT: {
      out_->returns_rows = node->select_stmt->into_clause == nullptr;
      const Shape shape = Select(*node->select_stmt, nullptr, nullptr);
      if (node->select_stmt->into_clause != nullptr) {
        Written(ShapeTaint(shape), {}, {});  // SELECT ... INTO a new table
      }
      SetColumns(shape);
      return;
    }
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
    case PG_QUERY__NODE__NODE_VIEW_STMT:
    case PG_QUERY__NODE__NODE_RULE_STMT:
      Written(Eval(AsMessage(node), nullptr, nullptr), {}, {});  // a new relation holds it
      return;
    case PG_QUERY__NODE__NODE_INSERT_STMT:
      out_->returns_rows = node->insert_stmt->n_returning_list > 0;
      SetColumns(Dml(node, nullptr, nullptr));
      return;
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
      out_->returns_rows = node->update_stmt->n_returning_list > 0;
      SetColumns(Dml(node, nullptr, nullptr));
      return;
    case PG_QUERY__NODE__NODE_DELETE_STMT:
      out_->returns_rows = node->delete_stmt->n_returning_list > 0;
      SetColumns(Dml(node, nullptr, nullptr));
      return;
    case PG_QUERY__NODE__NODE_MERGE_STMT:
      SetColumns(Dml(node, nullptr, nullptr));  // PostgreSQL 15: no RETURNING
      return;
    case PG_QUERY__NODE__NODE_EXPLAIN_STMT: {
      Eval(AsMessage(node), nullptr, nullptr);  // for whole-row references
      out_->returns_rows = true;
      OutputColumn plan;
      plan.name = "QUERY PLAN";
      out_->columns.push_back(std::move(plan));
      return;
    }
    case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT: {
      out_->returns_rows = true;
      const std::string_view name = View(node->variable_show_stmt->name);
      if (name == "all") {
        for (const char* column_name : {"name", "setting", "description"}) {
          OutputColumn column;
          column.name = column_name;
          out_->columns.push_back(std::move(column));
        }
      } else {
        OutputColumn column;
        column.name = std::string(name);
        out_->columns.push_back(std::move(column));
      }
      return;
    }
    case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
      out_->cursor = std::string(View(node->declare_cursor_stmt->portalname));
      out_->declares = true;
      out_->returns_rows = true;
      SetColumns(Query(node->declare_cursor_stmt->query, nullptr, nullptr));
      return;
    case PG_QUERY__NODE__NODE_FETCH_STMT:
      out_->cursor = std::string(View(node->fetch_stmt->portalname));
      out_->returns_rows = !node->fetch_stmt->ismove;
      out_->exact = false;
      return;
    case PG_QUERY__NODE__NODE_PREPARE_STMT: {
      const PgQuery__Node* query = node->prepare_stmt->query;
      if (query == nullptr || query->node_case == PG_QUERY__NODE__NODE_PREPARE_STMT) {
        out_->exact = false;
      } else {
        Statement(query);
      }
      out_->prepared = std::string(View(node->prepare_stmt->name));
      out_->declares = true;
      return;
    }
    case PG_QUERY__NODE__NODE_EXECUTE_STMT:
      out_->prepared = std::string(View(node->execute_stmt->name));
      out_->returns_rows = true;
      out_->exact = false;
      Eval(AsMessage(node), nullptr, nullptr);
      return;
    case PG_QUERY__NODE__NODE_COPY_STMT:
      Copy(*node->copy_stmt);
      return;
    case PG_QUERY__NODE__NODE_CALL_STMT:
      out_->returns_rows = true;  // OUT parameters come back as a row
      out_->exact = false;
      Eval(AsMessage(node), nullptr, nullptr);
      return;
    default:
      Eval(AsMessage(node), nullptr, nullptr);  // no rows; whole-row references still count
      return;
  }
}

void Analyzer::Copy(const PgQuery__CopyStmt& copy) {
  CopyInfo& info = out_->copy;
  info.is_copy = true;
  info.to_stdout =
      !copy.is_from && !copy.is_program && View(copy.filename).empty() && CopyNamesStdout(text_);
  out_->returns_rows = info.to_stdout;
  for (size_t i = 0; i < copy.n_options; ++i) {
    const PgQuery__Node* option = copy.options[i];
    if (option->node_case == PG_QUERY__NODE__NODE_DEF_ELEM) {
      CopyOption(*option->def_elem, &info);
    } else {
      info.options_understood = false;
    }
  }
  if (copy.query != nullptr) {
    info.from_query = true;
    SetColumns(Query(copy.query, nullptr, nullptr));
    return;
  }
  if (copy.relation == nullptr) {
    out_->exact = false;
    return;
  }
  info.relation_schema = std::string(View(copy.relation->schemaname));
  info.relation = std::string(View(copy.relation->relname));
  auto relation = std::make_shared<Source>();
  relation->name = info.relation;
  relation->relname = info.relation;
  relation->sensitive = SensitiveRelation(info.relation);
  for (size_t i = 0; i < copy.n_attlist; ++i) {
    const std::string_view name = NodeString(copy.attlist[i]);
    info.column_list.emplace_back(name);
    OutputColumn column;
    column.name = std::string(name);
    const Value value = FaceValue(name);
    if (!value.column.empty()) {
      column.origin = TargetOrigin::kColumn;
      column.qualifier = info.relation;
      column.column = value.column;
      column.names = value.names;
    }
    out_->columns.push_back(std::move(column));
  }
  // Without a column list every column is copied: not exact, and a whole sensitive row.
  out_->exact = copy.n_attlist > 0;
  if (copy.n_attlist == 0 && relation->sensitive) {
    out_->whole_row = true;
  }
  Scope scope;
  scope.sources.push_back(relation);
  EvalNode(copy.where_clause, &scope, nullptr);
}

// `referenced`: every sensitive name in any ColumnRef or field selection of the tree.
void Analyzer::Collect(const ProtobufCMessage* message, int depth) {
  if (depth > kDepthMax) {
    overflow_ = true;
    return;
  }
  if (message->descriptor == &pg_query__column_ref__descriptor) {
    const auto* ref = reinterpret_cast<const PgQuery__ColumnRef*>(message);
    for (size_t i = 0; i < ref->n_fields; ++i) {
      const std::string lower = Lower(NodeString(ref->fields[i]));
      if (Sensitive(lower)) {
        AddName(&out_->referenced, lower);
      }
    }
    return;
  }
  if (message->descriptor == &pg_query__a__indirection__descriptor) {
    const auto* indirection = reinterpret_cast<const PgQuery__AIndirection*>(message);
    for (size_t i = 0; i < indirection->n_indirection; ++i) {
      const std::string lower = Lower(NodeString(indirection->indirection[i]));
      if (Sensitive(lower)) {
        AddName(&out_->referenced, lower);
      }
    }
  }
  if (message->descriptor == &pg_query__copy_stmt__descriptor) {
    const auto* copy = reinterpret_cast<const PgQuery__CopyStmt*>(message);
    for (size_t i = 0; i < copy->n_attlist; ++i) {
      const std::string lower = Lower(NodeString(copy->attlist[i]));
      if (Sensitive(lower)) {
        AddName(&out_->referenced, lower);
      }
    }
  }
  ForEachChild(message, [&](const ProtobufCMessage* child) { Collect(child, depth + 1); });
}

Value Analyzer::Eval(const ProtobufCMessage* message, const Scope* scope, const CteEnv* ctes) {
  if (message == nullptr) {
    return {};
  }
  const Step step(this);
  if (!step.ok()) {
    return EverythingValue();
  }
  if (message->descriptor == &pg_query__node__descriptor) {
    const auto* node = reinterpret_cast<const PgQuery__Node*>(message);
    switch (node->node_case) {
      case PG_QUERY__NODE__NODE_COLUMN_REF:
        return Resolve(*node->column_ref, scope);
      case PG_QUERY__NODE__NODE_SELECT_STMT:
      case PG_QUERY__NODE__NODE_INSERT_STMT:
      case PG_QUERY__NODE__NODE_UPDATE_STMT:
      case PG_QUERY__NODE__NODE_DELETE_STMT:
      case PG_QUERY__NODE__NODE_MERGE_STMT: {
        Value value = ShapeTaint(Query(node, scope, ctes));
        value.column.clear();
        return value;
      }
      case PG_QUERY__NODE__NODE_A_CONST:
      case PG_QUERY__NODE__NODE_PARAM_REF:
        return {};
      default:
        break;
    }
  } else if (message->descriptor == &pg_query__select_stmt__descriptor) {
    Value value =
        ShapeTaint(Select(*reinterpret_cast<const PgQuery__SelectStmt*>(message), scope, ctes));
    value.column.clear();
    return value;
  } else if (message->descriptor == &pg_query__column_ref__descriptor) {
    return Resolve(*reinterpret_cast<const PgQuery__ColumnRef*>(message), scope);
  }
  // Any other node: an expression over its children (FuncCall, A_Expr, TypeCast, CaseExpr,
  // SubLink, RowExpr, window definitions, ...).
  Value value;
  ForEachChild(message,
               [&](const ProtobufCMessage* child) { Absorb(&value, Eval(child, scope, ctes)); });
  return value;
}

Value Analyzer::Resolve(const PgQuery__ColumnRef& ref, const Scope* scope) {
  std::vector<std::string_view> fields;
  bool star = false;
  for (size_t i = 0; i < ref.n_fields; ++i) {
    const PgQuery__Node* field = ref.fields[i];
    if (field->node_case == PG_QUERY__NODE__NODE_A_STAR && i + 1 == ref.n_fields) {
      star = true;
    } else if (!NodeString(field).empty()) {
      fields.push_back(NodeString(field));
    } else {
      return EverythingValue();  // not a shape the grammar makes
    }
  }
  // The sources named `qualifier` at the innermost level that has any.
  const auto named = [&](std::string_view qualifier) {
    std::vector<SourcePtr> found;
    for (const Scope* level = scope; level != nullptr && found.empty(); level = level->parent) {
      for (const SourcePtr& source : level->sources) {
        if (source->name == qualifier ||
            (source->kind == SourceKind::kBase && source->relname == qualifier)) {
          found.push_back(source);
        }
      }
    }
    return found;
  };
  const auto whole_row = [&](const std::vector<SourcePtr>& sources) {
    Value value;
    for (const SourcePtr& source : sources) {
      Absorb(&value, WholeRow(*source));
    }
    if (!value.names.empty()) {
      value.whole_row = true;
      out_->whole_row = true;
    }
    return value;
  };
  if (star) {
    if (fields.empty()) {  // `*` inside an expression: every row of the innermost FROM list
      for (const Scope* level = scope; level != nullptr; level = level->parent) {
        if (!level->sources.empty()) {
          return whole_row(level->sources);
        }
      }
      return {};
    }
    return whole_row(named(fields.back()));
  }
  const std::string_view name = fields.back();
  if (fields.size() >= 2) {
    const std::string_view qualifier = fields[fields.size() - 2];
    const std::vector<SourcePtr> sources = named(qualifier);
    Value value;
    bool found = false;
    for (const SourcePtr& source : sources) {
      Value candidate;
      bool definite = false;
      if (LookupColumn(*source, name, &candidate, &definite)) {
        Alternative(&value, candidate);
        found = true;
      }
    }
    if (!found) {
      // No such FROM item (a composite column's field, or an error): the name at face value,
      // and the composite column itself when it is sensitive.
      value = FaceValue(name);
      if (fields.size() == 2) {
        Value composite = FaceValue(qualifier);
        composite.column.clear();
        Alternative(&value, composite);
      }
    }
    return value;
  }
  // One name: a column of some FROM item (the innermost that surely has it; items whose columns
  // are unknown only may have it, so outer levels are consulted too), or a whole-row reference.
  Value value;
  bool found = false;
  for (const Scope* level = scope; level != nullptr; level = level->parent) {
    bool definite = false;
    for (const SourcePtr& source : level->sources) {
      Value candidate;
      bool surely = false;
      if (LookupColumn(*source, name, &candidate, &surely)) {
        Alternative(&value, candidate);
        found = true;
        definite = definite || surely;
      }
      if (source->name == name || (source->kind == SourceKind::kBase && source->relname == name)) {
        Alternative(&value, whole_row({source}));
        found = true;
      }
    }
    if (definite) {
      break;
    }
  }
  return found ? value : FaceValue(name);
}

bool Analyzer::LookupColumn(const Source& source, std::string_view name, Value* value,
                            bool* definite) {
  const Step step(this);
  *definite = false;
  if (!step.ok()) {
    *value = EverythingValue();
    return true;
  }
  switch (source.kind) {
    case SourceKind::kBase:
      *value = FaceValue(name);
      return true;
    case SourceKind::kOpaque:
      *value = OpaqueValue(source.taint, name);
      return true;
    case SourceKind::kJoin: {
      bool found = false;
      *value = Value();
      for (const SourcePtr& child : source.children) {
        Value candidate;
        bool surely = false;
        if (LookupColumn(*child, name, &candidate, &surely)) {
          Alternative(value, candidate);
          found = true;
          *definite = *definite || surely;
        }
      }
      return found;
    }
    case SourceKind::kTable:
      break;
  }
  const Shape& shape = *source.shape;
  bool found = false;
  *value = Value();
  for (const NamedValue& column : shape.columns) {
    if (column.name == name) {
      Alternative(value, column.value);
      found = true;
      *definite = true;
    }
  }
  for (const SourcePtr& expanded : shape.star) {
    Value candidate;
    bool surely = false;
    if (LookupColumn(*expanded, name, &candidate, &surely)) {
      Alternative(value, candidate);
      found = true;
      *definite = *definite || surely;
    }
  }
  if (shape.opaque) {
    Alternative(value, OpaqueValue(shape.taint, name));
    found = true;
  }
  return found;
}

Value Analyzer::WholeRow(const Source& source) {
  const Step step(this);
  if (!step.ok()) {
    return EverythingValue();
  }
  switch (source.kind) {
    case SourceKind::kBase:
      return source.sensitive ? EverythingValue() : Value();
    case SourceKind::kOpaque:
      return source.taint;
    case SourceKind::kJoin: {
      Value value;
      for (const SourcePtr& child : source.children) {
        Absorb(&value, WholeRow(*child));
      }
      return value;
    }
    case SourceKind::kTable:
      break;
  }
  return ShapeTaint(*source.shape);
}

// Everything any row of `shape` may carry.
Value Analyzer::ShapeTaint(const Shape& shape) {
  Value value;
  for (const NamedValue& column : shape.columns) {
    Absorb(&value, column.value);
  }
  for (const SourcePtr& expanded : shape.star) {
    Absorb(&value, WholeRow(*expanded));
  }
  if (shape.opaque) {
    Absorb(&value, shape.taint);
  }
  return value;
}

Shape Analyzer::Query(const PgQuery__Node* node, const Scope* outer, const CteEnv* ctes) {
  if (node == nullptr) {
    return FailedShape();
  }
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_SELECT_STMT:
      return Select(*node->select_stmt, outer, ctes);
    case PG_QUERY__NODE__NODE_INSERT_STMT:
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
    case PG_QUERY__NODE__NODE_DELETE_STMT:
    case PG_QUERY__NODE__NODE_MERGE_STMT:
      return Dml(node, outer, ctes);
    default: {
      Shape shape = FailedShape();
      shape.taint = Eval(AsMessage(node), outer, ctes);
      return shape;
    }
  }
}

const CteEnv* Analyzer::With(const PgQuery__WithClause* with, const Scope* outer,
                             const CteEnv* ctes, CteEnv* local) {
  if (with == nullptr) {
    return ctes;
  }
  local->parent = ctes;
  std::vector<const PgQuery__CommonTableExpr*> items;
  for (size_t i = 0; i < with->n_ctes; ++i) {
    if (with->ctes[i]->node_case == PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR) {
      items.push_back(with->ctes[i]->common_table_expr);
    }
  }
  const auto alias_of = [](const PgQuery__CommonTableExpr& cte, PgQuery__Alias* storage) {
    storage->n_colnames = cte.n_aliascolnames;
    storage->colnames = cte.aliascolnames;
    return cte.n_aliascolnames > 0 ? storage : nullptr;
  };
  if (!with->recursive) {
    for (const PgQuery__CommonTableExpr* cte : items) {
      PgQuery__Alias alias = PG_QUERY__ALIAS__INIT;
      const std::string name(View(cte->ctename));
      Shape shape = Query(cte->ctequery, outer, local);
      local->ctes.emplace_back(name, TableSource(name, std::move(shape), alias_of(*cte, &alias)));
    }
    return local;
  }
  // WITH RECURSIVE: any CTE may name itself or a later one. Each starts opaque and clean; every
  // round re-analyses all with the taints so far, until no taint grows.
  std::vector<Value> taints(items.size());
  std::vector<SourcePtr> results(items.size());
  bool converged = false;
  for (int round = 0; round < kRecursiveRoundsMax && !converged; ++round) {
    local->ctes.clear();
    for (size_t i = 0; i < items.size(); ++i) {
      local->ctes.emplace_back(std::string(View(items[i]->ctename)),
                               OpaqueSource(std::string(View(items[i]->ctename)), taints[i]));
    }
    converged = true;
    for (size_t i = 0; i < items.size(); ++i) {
      PgQuery__Alias alias = PG_QUERY__ALIAS__INIT;
      Shape shape = Query(items[i]->ctequery, outer, local);
      Value grown = taints[i];
      Absorb(&grown, ShapeTaint(shape));
      if (grown.names != taints[i].names || grown.whole_row != taints[i].whole_row) {
        converged = false;
        taints[i] = std::move(grown);
      }
      results[i] = TableSource(std::string(View(items[i]->ctename)), std::move(shape),
                               alias_of(*items[i], &alias));
    }
  }
  local->ctes.clear();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string name(View(items[i]->ctename));
    local->ctes.emplace_back(name, converged ? results[i] : OpaqueSource(name, taints[i]));
  }
  return local;
}

// A subquery or CTE as a FROM item; alias column names rename its columns in order.
SourcePtr Analyzer::TableSource(std::string name, Shape shape, const PgQuery__Alias* alias) {
  if (alias != nullptr && alias->n_colnames > 0) {
    if (!shape.star.empty() || shape.opaque || alias->n_colnames > shape.columns.size()) {
      return OpaqueSource(std::move(name), ShapeTaint(shape));  // positions unknown
    }
    for (size_t i = 0; i < alias->n_colnames; ++i) {
      shape.columns[i].name = std::string(NodeString(alias->colnames[i]));
    }
  }
  auto source = std::make_shared<Source>();
  source->kind = SourceKind::kTable;
  source->name = std::move(name);
  source->shape = std::make_shared<const Shape>(std::move(shape));
  return source;
}

SourcePtr Analyzer::RangeVarSource(const PgQuery__RangeVar& range_var, const CteEnv* ctes) {
  const std::string relname(View(range_var.relname));
  const PgQuery__Alias* alias = range_var.alias;
  std::string name = alias != nullptr && !View(alias->aliasname).empty()
                         ? std::string(View(alias->aliasname))
                         : relname;
  if (View(range_var.schemaname).empty() && View(range_var.catalogname).empty()) {
    for (const CteEnv* env = ctes; env != nullptr; env = env->parent) {
      for (const auto& [cte_name, cte] : env->ctes) {
        if (cte_name != relname) {
          continue;
        }
        if (cte->kind == SourceKind::kTable) {
          return TableSource(std::move(name), *cte->shape, alias);
        }
        auto copy = std::make_shared<Source>(*cte);
        copy->name = std::move(name);
        return copy;
      }
    }
  }
  const bool sensitive = SensitiveRelation(relname);
  if (alias != nullptr && alias->n_colnames > 0) {
    // FROM customers AS c(a, b): which column became `a` is not known here.
    return OpaqueSource(std::move(name), sensitive ? EverythingValue() : Value());
  }
  auto source = std::make_shared<Source>();
  source->kind = SourceKind::kBase;
  source->name = std::move(name);
  source->relname = relname;
  source->sensitive = sensitive;
  return source;
}

// Adds the sources of one FROM item to `scope`. Sub-selects see the items before them (as with
// LATERAL; without it the server would refuse the reference, so this only errs towards taint).
void Analyzer::FromItem(const PgQuery__Node* node, Scope* scope, const CteEnv* ctes, Shape* shape) {
  const Step step(this);
  if (!step.ok() || node == nullptr) {
    scope->sources.push_back(OpaqueSource("", EverythingValue()));
    shape->exact = false;
    return;
  }
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_RANGE_VAR:
      scope->sources.push_back(RangeVarSource(*node->range_var, ctes));
      return;
    case PG_QUERY__NODE__NODE_RANGE_SUBSELECT: {
      const PgQuery__RangeSubselect& sub = *node->range_subselect;
      std::string name = sub.alias != nullptr ? std::string(View(sub.alias->aliasname)) : "";
      scope->sources.push_back(
          TableSource(std::move(name), Query(sub.subquery, scope, ctes), sub.alias));
      return;
    }
    case PG_QUERY__NODE__NODE_RANGE_FUNCTION: {
      const PgQuery__RangeFunction& function = *node->range_function;
      std::string name;
      if (function.alias != nullptr) {
        name = std::string(View(function.alias->aliasname));
      } else if (function.n_functions == 1 &&
                 function.functions[0]->node_case == PG_QUERY__NODE__NODE_LIST &&
                 function.functions[0]->list->n_items > 0) {
        std::string figured;
        if (FigureName(function.functions[0]->list->items[0], &figured, 0) > 0) {
          name = std::move(figured);
        }
      }
      scope->sources.push_back(OpaqueSource(std::move(name), Eval(AsMessage(node), scope, ctes)));
      return;
    }
    case PG_QUERY__NODE__NODE_RANGE_TABLE_FUNC: {
      const PgQuery__RangeTableFunc& table = *node->range_table_func;
      std::string name = table.alias != nullptr ? std::string(View(table.alias->aliasname)) : "";
      scope->sources.push_back(OpaqueSource(std::move(name), Eval(AsMessage(node), scope, ctes)));
      return;
    }
    case PG_QUERY__NODE__NODE_RANGE_TABLE_SAMPLE:
      FromItem(node->range_table_sample->relation, scope, ctes, shape);
      EvalList(node->range_table_sample->args, node->range_table_sample->n_args, scope, ctes);
      EvalNode(node->range_table_sample->repeatable, scope, ctes);
      return;
    case PG_QUERY__NODE__NODE_JOIN_EXPR: {
      const PgQuery__JoinExpr& join = *node->join_expr;
      const size_t first = scope->sources.size();
      FromItem(join.larg, scope, ctes, shape);
      FromItem(join.rarg, scope, ctes, shape);
      EvalNode(join.quals, scope, ctes);
      const PgQuery__Alias* alias = join.alias != nullptr ? join.alias : join.join_using_alias;
      if (alias != nullptr) {
        auto joined = std::make_shared<Source>();
        joined->kind = SourceKind::kJoin;
        joined->name = std::string(View(alias->aliasname));
        joined->children.assign(scope->sources.begin() + static_cast<ptrdiff_t>(first),
                                scope->sources.end());
        if (alias->n_colnames > 0) {
          scope->sources.push_back(OpaqueSource(joined->name, WholeRow(*joined)));
        } else {
          scope->sources.push_back(std::move(joined));
        }
      }
      return;
    }
    default:
      // Not modelled: every column may carry what it reads.
      scope->sources.push_back(OpaqueSource("", Eval(AsMessage(node), scope, ctes)));
      shape->exact = false;
      return;
  }
}

void Analyzer::TargetList(PgQuery__Node* const* targets, size_t count, const Scope* scope,
                          const CteEnv* ctes, Shape* shape) {
  for (size_t i = 0; i < count; ++i) {
    const PgQuery__Node* item = targets[i];
    if (item->node_case != PG_QUERY__NODE__NODE_RES_TARGET) {
      Eval(AsMessage(item), scope, ctes);
      shape->exact = false;
      continue;
    }
    const PgQuery__ResTarget& target = *item->res_target;
    const PgQuery__Node* val = target.val;
    const PgQuery__ColumnRef* ref =
        val != nullptr && val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF ? val->column_ref
                                                                            : nullptr;
    if (ref != nullptr && ref->n_fields > 0 &&
        ref->fields[ref->n_fields - 1]->node_case == PG_QUERY__NODE__NODE_A_STAR) {
      // `*` or `t.*`: expands to columns this analysis cannot list.
      shape->exact = false;
      if (ref->n_fields == 1) {
        for (const Scope* level = scope; level != nullptr; level = level->parent) {
          if (!level->sources.empty()) {
            shape->star.insert(shape->star.end(), level->sources.begin(), level->sources.end());
            break;
          }
        }
      } else {
        const std::string_view qualifier = NodeString(ref->fields[ref->n_fields - 2]);
        bool found = false;
        for (const Scope* level = scope; level != nullptr && !found; level = level->parent) {
          for (const SourcePtr& source : level->sources) {
            if (source->name == qualifier ||
                (source->kind == SourceKind::kBase && source->relname == qualifier)) {
              shape->star.push_back(source);
              found = true;
            }
          }
        }
        if (!found) {
          shape->star.push_back(OpaqueSource(std::string(qualifier), EverythingValue()));
        }
      }
      continue;
    }
    NamedValue named;
    named.value = EvalNode(val, scope, ctes);
    named.name = TargetName(target, 0);
    if (ref != nullptr && ref->n_fields >= 2) {
      named.qualifier = std::string(NodeString(ref->fields[ref->n_fields - 2]));
    }
    shape->columns.push_back(std::move(named));
  }
}

Shape Analyzer::Values(const PgQuery__SelectStmt& select, const Scope* outer, const CteEnv* ctes) {
  Shape shape;
  for (size_t row = 0; row < select.n_values_lists; ++row) {
    const PgQuery__Node* list = select.values_lists[row];
    if (list->node_case != PG_QUERY__NODE__NODE_LIST) {
      Eval(AsMessage(list), outer, ctes);
      shape.exact = false;
      continue;
    }
    if (row == 0) {
      for (size_t i = 0; i < list->list->n_items; ++i) {
        NamedValue column;
        column.name = "column" + std::to_string(i + 1);
        shape.columns.push_back(std::move(column));
      }
    }
    if (list->list->n_items != shape.columns.size()) {
      shape.exact = false;  // the server refuses VALUES lists of different lengths
    }
    for (size_t i = 0; i < list->list->n_items; ++i) {
      const Value value = EvalNode(list->list->items[i], outer, ctes);
      if (i < shape.columns.size()) {
        Absorb(&shape.columns[i].value, value);  // a VALUES column is never a plain column
      } else {
        Absorb(&shape.taint, value);
      }
    }
  }
  if (!shape.exact) {
    shape.opaque = true;
    shape.taint = ShapeTaint(shape);
  }
  return shape;
}

Shape Analyzer::Select(const PgQuery__SelectStmt& select, const Scope* outer, const CteEnv* ctes) {
  const Step step(this);
  if (!step.ok()) {
    return FailedShape();
  }
  CteEnv local;
  ctes = With(select.with_clause, outer, ctes, &local);
  Shape shape;
  if (select.op > PG_QUERY__SET_OPERATION__SETOP_NONE) {
    if (select.larg == nullptr || select.rarg == nullptr) {
      return FailedShape();
    }
    Shape left = Select(*select.larg, outer, ctes);
    Shape right = Select(*select.rarg, outer, ctes);
    EvalList(select.sort_clause, select.n_sort_clause, outer, ctes);
    EvalNode(select.limit_offset, outer, ctes);
    EvalNode(select.limit_count, outer, ctes);
    const bool exact = left.exact && right.exact && !left.opaque && !right.opaque &&
                       left.star.empty() && right.star.empty() &&
                       left.columns.size() == right.columns.size();
    if (!exact) {
      shape.exact = false;
      shape.opaque = true;
      Absorb(&shape.taint, ShapeTaint(left));
      Absorb(&shape.taint, ShapeTaint(right));
      return shape;
    }
    shape = std::move(left);
    for (size_t i = 0; i < shape.columns.size(); ++i) {
      Alternative(&shape.columns[i].value, right.columns[i].value);
    }
    return shape;
  }
  if (select.n_values_lists > 0) {
    return Values(select, outer, ctes);
  }
  Scope scope;
  scope.parent = outer;
  for (size_t i = 0; i < select.n_from_clause; ++i) {
    FromItem(select.from_clause[i], &scope, ctes, &shape);
  }
  EvalNode(select.where_clause, &scope, ctes);
  EvalList(select.group_clause, select.n_group_clause, &scope, ctes);
  EvalNode(select.having_clause, &scope, ctes);
  EvalList(select.window_clause, select.n_window_clause, &scope, ctes);
  EvalList(select.distinct_clause, select.n_distinct_clause, &scope, ctes);
  EvalList(select.sort_clause, select.n_sort_clause, &scope, ctes);
  EvalNode(select.limit_offset, &scope, ctes);
  EvalNode(select.limit_count, &scope, ctes);
  TargetList(select.target_list, select.n_target_list, &scope, ctes, &shape);
  return shape;
}

// INSERT / UPDATE / DELETE / MERGE: the RETURNING list, with the target relation in scope.
Shape Analyzer::Dml(const PgQuery__Node* node, const Scope* outer, const CteEnv* ctes) {
  const Step step(this);
  if (!step.ok()) {
    return FailedShape();
  }
  Shape shape;
  CteEnv local;
  Scope scope;
  scope.parent = outer;
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_INSERT_STMT: {
      const PgQuery__InsertStmt& insert = *node->insert_stmt;
      ctes = With(insert.with_clause, outer, ctes, &local);
      const std::string target =
          insert.relation != nullptr ? std::string(View(insert.relation->relname)) : "";
      if (insert.select_stmt != nullptr &&
          insert.select_stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT &&
          insert.n_cols > 0) {
        // Positionally: the i-th output goes into the i-th listed column.
        const Shape source = Query(insert.select_stmt, outer, ctes);
        if (source.exact && !source.opaque && source.star.empty() &&
            source.columns.size() == insert.n_cols) {
          for (size_t i = 0; i < insert.n_cols; ++i) {
            const std::string_view column =
                insert.cols[i]->node_case == PG_QUERY__NODE__NODE_RES_TARGET
                    ? View(insert.cols[i]->res_target->name)
                    : std::string_view();
            Written(source.columns[i].value, target, column);
          }
        } else {
          Written(ShapeTaint(source), target, {});
        }
      } else if (insert.select_stmt != nullptr) {
        Written(EvalNode(insert.select_stmt, outer, ctes), target, {});
      }
      if (insert.relation != nullptr) {
        scope.sources.push_back(RangeVarSource(*insert.relation, nullptr));
        auto excluded = std::make_shared<Source>(*scope.sources.back());
        excluded->name = "excluded";
        scope.sources.push_back(std::move(excluded));
      }
      Eval(AsMessage(insert.on_conflict_clause), &scope, ctes);
      scope.sources.resize(scope.sources.empty() ? 0 : 1);
      TargetList(insert.returning_list, insert.n_returning_list, &scope, ctes, &shape);
      return shape;
    }
    case PG_QUERY__NODE__NODE_UPDATE_STMT: {
      const PgQuery__UpdateStmt& update = *node->update_stmt;
      ctes = With(update.with_clause, outer, ctes, &local);
      if (update.relation != nullptr) {
        scope.sources.push_back(RangeVarSource(*update.relation, nullptr));
      }
      for (size_t i = 0; i < update.n_from_clause; ++i) {
        FromItem(update.from_clause[i], &scope, ctes, &shape);
      }
      const std::string target =
          update.relation != nullptr ? std::string(View(update.relation->relname)) : "";
      for (size_t i = 0; i < update.n_target_list; ++i) {
        const PgQuery__Node* item = update.target_list[i];
        const Value value = EvalNode(item, &scope, ctes);
        const std::string_view column = item->node_case == PG_QUERY__NODE__NODE_RES_TARGET
                                            ? View(item->res_target->name)
                                            : std::string_view();
        Written(value, target, column);
      }
      EvalNode(update.where_clause, &scope, ctes);
      TargetList(update.returning_list, update.n_returning_list, &scope, ctes, &shape);
      return shape;
    }
    case PG_QUERY__NODE__NODE_DELETE_STMT: {
      const PgQuery__DeleteStmt& del = *node->delete_stmt;
      ctes = With(del.with_clause, outer, ctes, &local);
      if (del.relation != nullptr) {
        scope.sources.push_back(RangeVarSource(*del.relation, nullptr));
      }
      for (size_t i = 0; i < del.n_using_clause; ++i) {
        FromItem(del.using_clause[i], &scope, ctes, &shape);
      }
      EvalNode(del.where_clause, &scope, ctes);
      TargetList(del.returning_list, del.n_returning_list, &scope, ctes, &shape);
      return shape;
    }
    case PG_QUERY__NODE__NODE_MERGE_STMT: {
      const PgQuery__MergeStmt& merge = *node->merge_stmt;
      ctes = With(merge.with_clause, outer, ctes, &local);
      if (merge.relation != nullptr) {
        scope.sources.push_back(RangeVarSource(*merge.relation, nullptr));
      }
      FromItem(merge.source_relation, &scope, ctes, &shape);
      EvalNode(merge.join_condition, &scope, ctes);
      for (size_t i = 0; i < merge.n_merge_when_clauses; ++i) {
        // Inserted and updated values alike; which column each goes to is not modelled.
        Written(EvalNode(merge.merge_when_clauses[i], &scope, ctes),
                merge.relation != nullptr ? View(merge.relation->relname) : std::string_view(),
                {});
      }
      return shape;
    }
    default:
      return FailedShape();
  }
}

// Lexes `statement` in `mode` (rejecting what the server's lexer rejects, and NUL bytes) and,
// for standard_conforming_strings off, rewrites each plain '...' (an escape string in that mode)
// as E'...' so that libpg_query, which lexes with it on, reads the same values. A plain string
// after the standalone word N (N'...', lexed as the word then the string) becomes NCHAR E'...'.
bool PrepareText(std::string_view statement, LexMode mode, std::string* out) {
  Lexer lexer(statement, mode);
  Token token;
  Token previous;
  bool have_previous = false;
  size_t copied = 0;
  out->clear();
  out->reserve(statement.size() + 16);
  while (lexer.Next(&token)) {
    if (!mode.standard_conforming_strings && token.kind == TokenKind::kEscapeString &&
        statement[token.offset] == '\'') {
      const bool national =
          have_previous && previous.kind == TokenKind::kWord && previous.length == 1 &&
          previous.offset + 1 == token.offset &&
          (statement[previous.offset] == 'n' || statement[previous.offset] == 'N');
      out->append(statement.substr(copied, token.offset - copied));
      out->append(national ? "CHAR E" : " E");
      copied = token.offset;
    }
    previous = token;
    have_previous = true;
  }
  if (lexer.status() != LexStatus::kOk) {
    return false;
  }
  out->append(statement.substr(copied));
  return true;
}

}  // namespace

Lineage AnalyzeLineage(std::string_view statement, LexMode mode, const SensitiveNames& names) {
  Lineage out;
  std::string text;
  if (!PrepareText(statement, mode, &text)) {
    return out;
  }
  PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(text.c_str());
  if (parsed.error != nullptr) {
    pg_query_free_protobuf_parse_result(parsed);
    return out;
  }
  PgQuery__ParseResult* tree = pg_query__parse_result__unpack(
      nullptr, parsed.parse_tree.len, reinterpret_cast<const uint8_t*>(parsed.parse_tree.data));
  if (tree != nullptr) {
    if (tree->n_stmts == 1 && tree->stmts[0] != nullptr && tree->stmts[0]->stmt != nullptr) {
      out.parsed = true;
      Analyzer analyzer(text, names, &out);
      analyzer.Run(tree->stmts[0]->stmt);
    }
    pg_query__parse_result__free_unpacked(tree, nullptr);
  }
  pg_query_free_protobuf_parse_result(parsed);
  return out;
}

}  // namespace jitgate::parsers::sql::pg
