// parsers/sql/pg/tree_walk.cc: maps libpg_query's protobuf parse tree onto a Statement.
//
// Every message of the tree is visited through protobuf-c's reflection (field descriptors), so
// no node type can hide a nested statement or a function call from the walk; node types that
// matter are handled explicitly: statements (class and command), RangeVar (relations), FuncCall
// (functions and the risky-function list), CommonTableExpr (writes in WITH), DML (WHERE checks).
// Runs on the cache-miss path only. Depth of the walk is bounded (kDepthMax).
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <cstring>

#include "jitgate/parsers/sql/pg/lexer.h"
#include "parsers/sql/pg/internal.h"

namespace jitgate::parsers::sql::pg::internal {
namespace {

// libpg_query itself stops far earlier (stack depth); this only keeps our recursion bounded.
constexpr int kDepthMax = 3000;

// ASCII case-insensitive comparison of an unquoted word with a lower-case keyword.
bool IsKeyword(std::string_view word, std::string_view keyword) {
  if (word.size() != keyword.size()) {
    return false;
  }
  for (size_t i = 0; i < word.size(); ++i) {
    if ((word[i] | 0x20) != keyword[i]) {
      return false;
    }
  }
  return true;
}

class TreeWalker {
 public:
  TreeWalker(std::string_view text, Statement* out, int nesting)
      : text_(text), out_(out), nesting_(nesting) {}

  void WalkRaw(const PgQuery__RawStmt& raw) {
    raw_ = &raw;
    Visit(AsMessage(raw.stmt));
  }

 private:
  void Visit(const ProtobufCMessage* message);
  void VisitChildren(const ProtobufCMessage* message, const void* skip = nullptr);
  void VisitNode(const PgQuery__Node* node);
  bool VisitStatement(const PgQuery__Node* node);
  void Fixed(const PgQuery__Node* node, const char* command, StatementClass statement_class,
             RelationAccess access);
  void Command(const char* command) {
    if (out_->command.empty()) {
      out_->command = command;
    }
  }
  void Raise(StatementClass statement_class) {
    const bool suppressed = no_exec_ > 0 && (statement_class == StatementClass::kWrite ||
                                             statement_class == StatementClass::kDestructive ||
                                             statement_class == StatementClass::kDdl);
    RaiseClass(out_, suppressed ? StatementClass::kRead : statement_class);
  }
  void AddRangeVar(const PgQuery__RangeVar* range_var, RelationAccess access) {
    if (range_var != nullptr && !View(range_var->relname).empty()) {
      out_->AddRelation(View(range_var->schemaname), View(range_var->relname),
                        no_exec_ > 0 ? RelationAccess::kRead : access);
    }
  }
  void VisitWith(RelationAccess access, const ProtobufCMessage* message,
                 const void* skip = nullptr) {
    const RelationAccess saved = access_;
    access_ = access;
    VisitChildren(message, skip);
    access_ = saved;
  }
  void FuncCall(const PgQuery__FuncCall& call);
  void SetConfig(const PgQuery__FuncCall& call);
  void Dml(const PgQuery__Node* node);
  void WhereCheck(const PgQuery__Node* where);
  void Select(const PgQuery__SelectStmt& select);
  void Explain(const PgQuery__ExplainStmt& explain);
  void Copy(const PgQuery__Node* node);
  // The text of `node` when it is the raw statement being walked (RawStmt location and length),
  // else empty.
  std::string_view StatementText(const PgQuery__Node* node) const {
    if (raw_ == nullptr || raw_->stmt != node || raw_->stmt_location < 0 ||
        static_cast<size_t>(raw_->stmt_location) > text_.size()) {
      return {};
    }
    std::string_view statement = text_.substr(static_cast<size_t>(raw_->stmt_location));
    if (raw_->stmt_len > 0) {
      statement = statement.substr(0, static_cast<size_t>(raw_->stmt_len));
    }
    return statement;
  }
  void VariableSet(const PgQuery__VariableSetStmt& set);
  void Drop(const PgQuery__DropStmt& drop);
  void AlterTable(const PgQuery__AlterTableStmt& alter);
  void Do(const PgQuery__Node* node);
  bool VisitSimpleStatement(const PgQuery__Node* node);
  bool ByName(const PgQuery__Node* node);

  std::string_view text_;
  Statement* out_;
  int nesting_;
  const PgQuery__RawStmt* raw_ = nullptr;
  int depth_ = 0;
  int cte_ = 0;      // inside a WITH query
  int no_exec_ = 0;  // inside EXPLAIN without ANALYZE: planned, not run
  RelationAccess access_ = RelationAccess::kRead;
};

void TreeWalker::Visit(const ProtobufCMessage* message) {
  if (message == nullptr) {
    return;
  }
  if (++depth_ > kDepthMax) {
    RaiseClass(out_, StatementClass::kUnknown);
  } else if (message->descriptor == &pg_query__node__descriptor) {
    VisitNode(reinterpret_cast<const PgQuery__Node*>(message));
  } else if (message->descriptor == &pg_query__range_var__descriptor) {
    AddRangeVar(reinterpret_cast<const PgQuery__RangeVar*>(message), access_);
    VisitChildren(message);
  } else {
    VisitChildren(message);
  }
  --depth_;
}

// Every message-typed field: singular, repeated, or the active member of a oneof.
void TreeWalker::VisitChildren(const ProtobufCMessage* message, const void* skip) {
  ForEachChildMessage(message, [&](const ProtobufCMessage* child) {
    if (child != skip) {
      Visit(child);
    }
    return true;
  });
}

void TreeWalker::VisitNode(const PgQuery__Node* node) {
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_FUNC_CALL:
      FuncCall(*node->func_call);
      return;
    case PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR:
      ++cte_;
      VisitChildren(AsMessage(node));
      --cte_;
      return;
    case PG_QUERY__NODE__NODE_SELECT_STMT:
      Select(*node->select_stmt);
      return;
    case PG_QUERY__NODE__NODE_INSERT_STMT:
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
    case PG_QUERY__NODE__NODE_DELETE_STMT:
    case PG_QUERY__NODE__NODE_MERGE_STMT:
      Dml(node);
      return;
    default:
      break;
  }
  if (!VisitStatement(node)) {
    VisitChildren(AsMessage(node));
  }
}

void TreeWalker::FuncCall(const PgQuery__FuncCall& call) {
  std::string_view schema;
  std::string_view name;
  if (call.n_funcname >= 1) {
    name = NodeString(call.funcname[call.n_funcname - 1]);
  }
  if (call.n_funcname >= 2) {
    schema = NodeString(call.funcname[call.n_funcname - 2]);
  }
  out_->AddFunction(schema, name);
  FunctionRisk risk;
  if (LookupFunctionRisk(name, &risk)) {
    RaiseClass(out_, risk.statement_class);  // not suppressed by EXPLAIN: planning may fold calls
    out_->flags |= risk.flags;
  } else if (name == "set_config") {
    SetConfig(call);
  }
  VisitChildren(AsMessage(&call));
}

// set_config(name, value, is_local): the function form of SET. Whether it is an identity change
// depends on a literal, so the result must never be cached by a literal-free fingerprint.
void TreeWalker::SetConfig(const PgQuery__FuncCall& call) {
  out_->flags |= kFlagSetConfig | kFlagLiteralDependent;
  std::string_view setting;
  bool constant = false;
  if (call.n_args >= 1 && call.args[0]->node_case == PG_QUERY__NODE__NODE_A_CONST) {
    const PgQuery__AConst* value = call.args[0]->a_const;
    if (value->val_case == PG_QUERY__A__CONST__VAL_SVAL && value->sval != nullptr) {
      setting = View(value->sval->sval);
      constant = true;
    }
  }
  const bool sensitive = !constant || IsSensitiveSetting(setting);
  RaiseClass(out_, sensitive ? StatementClass::kAdmin : StatementClass::kSession);
  if (sensitive && (!constant || setting == "role" || setting == "session_authorization")) {
    out_->flags |= kFlagSetRole;
  }
}

void TreeWalker::Select(const PgQuery__SelectStmt& select) {
  Command(select.n_values_lists > 0 ? "VALUES" : "SELECT");
  Raise(StatementClass::kRead);
  if (select.into_clause != nullptr && no_exec_ == 0) {
    out_->flags |= kFlagSelectInto;
    Raise(StatementClass::kDdl);
    AddRangeVar(select.into_clause->rel, RelationAccess::kDdl);
  }
  const void* skip = select.into_clause != nullptr ? select.into_clause->rel : nullptr;
  VisitWith(RelationAccess::kRead, AsMessage(&select), skip);
}

// INSERT / UPDATE / DELETE / MERGE wherever they appear (top level, WITH, rule actions, PREPARE,
// EXPLAIN ANALYZE, COPY (...) TO).
void TreeWalker::Dml(const PgQuery__Node* node) {
  const PgQuery__RangeVar* target = nullptr;
  const PgQuery__Node* where = nullptr;
  bool has_where_clause = true;
  const ProtobufCMessage* message = nullptr;
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_INSERT_STMT:
      Command("INSERT");
      target = node->insert_stmt->relation;
      message = AsMessage(node->insert_stmt);
      break;
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
      Command("UPDATE");
      target = node->update_stmt->relation;
      where = node->update_stmt->where_clause;
      has_where_clause = false;
      message = AsMessage(node->update_stmt);
      break;
    case PG_QUERY__NODE__NODE_DELETE_STMT:
      Command("DELETE");
      target = node->delete_stmt->relation;
      where = node->delete_stmt->where_clause;
      has_where_clause = false;
      message = AsMessage(node->delete_stmt);
      break;
    default:
      Command("MERGE");
      target = node->merge_stmt->relation;
      message = AsMessage(node->merge_stmt);
      break;
  }
  Raise(StatementClass::kWrite);
  if (cte_ > 0 && no_exec_ == 0) {
    out_->flags |= kFlagCteWrite;
  }
  if (!has_where_clause) {
    WhereCheck(where);
  }
  AddRangeVar(target, RelationAccess::kWrite);
  VisitWith(RelationAccess::kRead, message, target);
}

// Counts ColumnRef nodes below a predicate (reflection walk, bounded like the main one).
int CountColumnRefs(const ProtobufCMessage* message, int depth) {
  if (message == nullptr || depth > kDepthMax) {
    return 1;  // too deep to tell: assume it depends on rows
  }
  if (message->descriptor == &pg_query__column_ref__descriptor) {
    return 1;
  }
  // Only "none" versus "some" matters to callers, so the walk stops at the first one.
  int count = 0;
  ForEachChildMessage(message, [&](const ProtobufCMessage* child) {
    count += child == nullptr ? 0 : CountColumnRefs(child, depth + 1);
    return count == 0;
  });
  return count;
}

// True when a predicate cannot depend on the row: no column at all (WHERE true, WHERE 1=1,
// WHERE 1=2 alike, so the answer never depends on a literal), `col = col`, or an OR with such an
// arm.
bool RowIndependent(const PgQuery__Node* where) {
  if (where == nullptr) {
    return true;
  }
  if (CountColumnRefs(AsMessage(where), 0) == 0) {
    return true;
  }
  if (where->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR &&
      where->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR) {
    for (size_t i = 0; i < where->bool_expr->n_args; ++i) {
      if (RowIndependent(where->bool_expr->args[i])) {
        return true;
      }
    }
  }
  if (where->node_case == PG_QUERY__NODE__NODE_A_EXPR && where->a_expr->lexpr != nullptr &&
      where->a_expr->rexpr != nullptr && where->a_expr->n_name == 1 &&
      NodeString(where->a_expr->name[0]) == "=") {
    const PgQuery__Node* left = where->a_expr->lexpr;
    const PgQuery__Node* right = where->a_expr->rexpr;
    if (left->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
        right->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
      // Same column on both sides: compare their field names.
      const PgQuery__ColumnRef* a = left->column_ref;
      const PgQuery__ColumnRef* b = right->column_ref;
      bool same = a->n_fields == b->n_fields && a->n_fields > 0;
      for (size_t i = 0; same && i < a->n_fields; ++i) {
        same = NodeString(a->fields[i]) == NodeString(b->fields[i]) &&
               !NodeString(a->fields[i]).empty();
      }
      return same;
    }
  }
  return false;
}

void TreeWalker::WhereCheck(const PgQuery__Node* where) {
  if (no_exec_ > 0) {
    return;
  }
  const bool current_of =
      where != nullptr && where->node_case == PG_QUERY__NODE__NODE_CURRENT_OF_EXPR;
  if (!current_of && RowIndependent(where)) {
    out_->flags |= kFlagNoWhere;
    Raise(StatementClass::kDestructive);
  }
}

void TreeWalker::Explain(const PgQuery__ExplainStmt& explain) {
  Command("EXPLAIN");
  Raise(StatementClass::kRead);
  bool analyze = false;
  for (size_t i = 0; i < explain.n_options; ++i) {
    const PgQuery__Node* option = explain.options[i];
    // Any ANALYZE option counts, whatever its value: (ANALYZE 'off') and (ANALYZE 'on') share a
    // fingerprint, so the answer must not depend on the literal.
    if (option->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
        View(option->def_elem->defname) == "analyze") {
      analyze = true;
    }
  }
  no_exec_ += analyze ? 0 : 1;
  VisitChildren(AsMessage(&explain));
  no_exec_ -= analyze ? 0 : 1;
}

// Whether a COPY statement's copy_file_name (gram.y: Sconst | STDIN | STDOUT) is the keyword
// STDIN or STDOUT. The parse tree cannot tell: protobuf-c gives "" both for a NULL filename
// (STDIN / STDOUT) and for the literal '' (a server file, checked for pg_read_server_files or
// pg_write_server_files), so the text is read. The file name is the token after the first TO or
// FROM outside parentheses (a column list, or the query of COPY (...) TO) that does not follow
// a '.' (attr_name may be any keyword: COPY s.from FROM STDIN), past an optional PROGRAM.
// `text` is one COPY statement as parsed (standard_conforming_strings on).
bool CopyNamesStdio(std::string_view text) {
  Lexer lexer(text, LexMode{.standard_conforming_strings = true});
  Token token;
  int depth = 0;
  bool after_dot = false;
  bool after_direction = false;
  while (lexer.Next(&token)) {
    if (token.kind == TokenKind::kComment) {
      continue;
    }
    const std::string_view word = token.kind == TokenKind::kWord
                                      ? text.substr(token.offset, token.length)
                                      : std::string_view();
    if (after_direction) {
      if (IsKeyword(word, "program")) {
        continue;
      }
      return IsKeyword(word, "stdin") || IsKeyword(word, "stdout");
    }
    if (token.kind == TokenKind::kOperator && token.length == 1) {
      const char c = text[token.offset];
      depth += (c == '(' || c == '[') ? 1 : 0;
      depth -= (c == ')' || c == ']') && depth > 0 ? 1 : 0;
    }
    after_direction =
        depth == 0 && !after_dot && (IsKeyword(word, "to") || IsKeyword(word, "from"));
    after_dot =
        token.kind == TokenKind::kOperator && token.length == 1 && text[token.offset] == '.';
  }
  return false;  // no file name found: not STDIN / STDOUT
}

void TreeWalker::Copy(const PgQuery__Node* node) {
  const PgQuery__CopyStmt& copy = *node->copy_stmt;
  Command("COPY");
  RelationAccess access = copy.is_from ? RelationAccess::kWrite : RelationAccess::kRead;
  // The same shape with '' and with 'x' must get the same answer (the decision cache keys on a
  // print without literal contents), and '' names a server file as much as 'x' does. PROGRAM
  // never goes with STDIN / STDOUT (gram.y refuses it), so is_program alone decides.
  bool server_side = copy.is_program || !View(copy.filename).empty();
  if (!server_side) {
    const std::string_view copy_text = StatementText(node);
    // A COPY that is not the statement being walked (one nested in a BEGIN ATOMIC body, which
    // the server refuses anyway) has no text of its own here: server-side, to be safe.
    server_side = copy_text.empty() || !CopyNamesStdio(copy_text);
  }
  if (server_side) {
    Raise(StatementClass::kAdmin);
    out_->flags |= copy.is_program ? kFlagCopyProgram : kFlagServerFile;
  } else {
    Raise(copy.is_from ? StatementClass::kWrite : StatementClass::kRead);
  }
  AddRangeVar(copy.relation, access);
  VisitWith(RelationAccess::kRead, AsMessage(&copy), copy.relation);
}

void TreeWalker::VariableSet(const PgQuery__VariableSetStmt& set) {
  const std::string_view name = View(set.name);
  Command(set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
                  set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL
              ? "RESET"
              : "SET");
  if (name == "role" || name == "session_authorization") {
    out_->flags |= kFlagSetRole;
    Raise(StatementClass::kAdmin);
  } else if (IsSensitiveSetting(name)) {
    Raise(StatementClass::kAdmin);
  } else if (set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI &&
             (name == "TRANSACTION" || name == "TRANSACTION SNAPSHOT")) {
    Raise(StatementClass::kTransaction);
  } else {
    Raise(StatementClass::kSession);
  }
  VisitChildren(AsMessage(&set));
}

void TreeWalker::Drop(const PgQuery__DropStmt& drop) {
  Command("DROP");
  Raise(StatementClass::kDestructive);
  switch (drop.remove_type) {
    case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE:
    case PG_QUERY__OBJECT_TYPE__OBJECT_VIEW:
    case PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW:
    case PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE:
    case PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE:
    case PG_QUERY__OBJECT_TYPE__OBJECT_INDEX:
      for (size_t i = 0; i < drop.n_objects; ++i) {
        const PgQuery__Node* object = drop.objects[i];
        if (object->node_case != PG_QUERY__NODE__NODE_LIST || object->list->n_items == 0) {
          continue;
        }
        const PgQuery__List& names = *object->list;
        const std::string_view schema =
            names.n_items >= 2 ? NodeString(names.items[names.n_items - 2]) : std::string_view();
        out_->AddRelation(schema, NodeString(names.items[names.n_items - 1]), RelationAccess::kDdl);
      }
      break;
    default:
      break;
  }
  VisitWith(RelationAccess::kDdl, AsMessage(&drop));
}

void TreeWalker::AlterTable(const PgQuery__AlterTableStmt& alter) {
  Command("ALTER");
  Raise(StatementClass::kDdl);
  for (size_t i = 0; i < alter.n_cmds; ++i) {
    const PgQuery__Node* cmd = alter.cmds[i];
    if (cmd->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD &&
        (cmd->alter_table_cmd->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn ||
         cmd->alter_table_cmd->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumnRecurse)) {
      Raise(StatementClass::kDestructive);  // drops a column's data
    }
  }
  VisitWith(RelationAccess::kDdl, AsMessage(&alter));
}

void TreeWalker::Do(const PgQuery__Node* node) {
  Command("DO");
  out_->flags |= kFlagDynamicSql | kFlagLiteralDependent;
  Raise(StatementClass::kRead);
  std::string_view do_text = StatementText(node);
  if (do_text.empty()) {
    do_text = text_;
  }
  ClassifyDoBlock(do_text, *node->do_stmt, out_, nesting_);
}

// Statement types whose class follows from the node type alone.
void TreeWalker::Fixed(const PgQuery__Node* node, const char* command,
                       StatementClass statement_class, RelationAccess access) {
  Command(command);
  Raise(statement_class);
  VisitWith(access, AsMessage(node));
}

}  // namespace

namespace {

using C = StatementClass;
using A = RelationAccess;

// Returns true when `node` is a statement (then fully handled), false for any other node.
bool TreeWalker::VisitStatement(const PgQuery__Node* node) {
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
      Explain(*node->explain_stmt);
      return true;
    case PG_QUERY__NODE__NODE_COPY_STMT:
      Copy(node);
      return true;
    case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
      VariableSet(*node->variable_set_stmt);
      return true;
    case PG_QUERY__NODE__NODE_DROP_STMT:
      Drop(*node->drop_stmt);
      return true;
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
      AlterTable(*node->alter_table_stmt);
      return true;
    case PG_QUERY__NODE__NODE_DO_STMT:
      Do(node);
      return true;
    case PG_QUERY__NODE__NODE_EXECUTE_STMT:
      Command("EXECUTE");
      if (no_exec_ == 0) {
        out_->flags |= kFlagDynamicSql;  // the prepared body is not visible here
        Raise(C::kAdmin);
      }
      VisitChildren(AsMessage(node));
      return true;
    case PG_QUERY__NODE__NODE_PREPARE_STMT:
      Command("PREPARE");
      out_->flags |= kFlagDynamicSql;
      Raise(C::kSession);
      VisitChildren(AsMessage(node));  // the inner statement sets the class it will run with
      return true;
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
      if (node->create_table_as_stmt->is_select_into) {
        out_->flags |= kFlagSelectInto;
      }
      Command(node->create_table_as_stmt->is_select_into ? "SELECT" : "CREATE TABLE AS");
      Raise(C::kDdl);
      if (node->create_table_as_stmt->into != nullptr) {
        AddRangeVar(node->create_table_as_stmt->into->rel, A::kDdl);
      }
      VisitWith(A::kRead, AsMessage(node),
                node->create_table_as_stmt->into ? node->create_table_as_stmt->into->rel : nullptr);
      return true;
    case PG_QUERY__NODE__NODE_CALL_STMT:
      out_->flags |= kFlagDynamicSql;  // the procedure body is not visible here
      Fixed(node, "CALL", C::kWrite, A::kRead);
      return true;
    case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
      Fixed(node, "TRUNCATE", C::kDestructive, A::kWrite);
      return true;
    case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
      out_->flags |= kFlagAlterSystem;
      Fixed(node, "ALTER SYSTEM", C::kAdmin, A::kRead);
      return true;
    case PG_QUERY__NODE__NODE_VACUUM_STMT:
      Fixed(node, node->vacuum_stmt->is_vacuumcmd ? "VACUUM" : "ANALYZE",
            node->vacuum_stmt->is_vacuumcmd ? C::kAdmin : C::kWrite, A::kWrite);
      return true;
    default:
      break;
  }
  return VisitSimpleStatement(node);
}

}  // namespace

namespace {

struct SimpleStatement {
  PgQuery__Node__NodeCase node_case;
  const char* command;
  StatementClass statement_class;
  RelationAccess access;
};

// Statement types whose class follows from the type alone. Types not listed here fall back to
// ByName (Create*/Alter*/Define* -> ddl, Drop* -> destructive) and otherwise are kUnknown.
constexpr SimpleStatement kSimpleStatements[] = {
    {PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT, "SHOW", C::kRead, A::kRead},
    {PG_QUERY__NODE__NODE_FETCH_STMT, "FETCH", C::kRead, A::kRead},
    {PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT, "DECLARE", C::kRead, A::kRead},
    {PG_QUERY__NODE__NODE_TRANSACTION_STMT, "TRANSACTION", C::kTransaction, A::kRead},
    {PG_QUERY__NODE__NODE_CONSTRAINTS_SET_STMT, "SET CONSTRAINTS", C::kTransaction, A::kRead},
    {PG_QUERY__NODE__NODE_DISCARD_STMT, "DISCARD", C::kSession, A::kRead},
    {PG_QUERY__NODE__NODE_LISTEN_STMT, "LISTEN", C::kSession, A::kRead},
    {PG_QUERY__NODE__NODE_UNLISTEN_STMT, "UNLISTEN", C::kSession, A::kRead},
    {PG_QUERY__NODE__NODE_NOTIFY_STMT, "NOTIFY", C::kSession, A::kRead},
    {PG_QUERY__NODE__NODE_DEALLOCATE_STMT, "DEALLOCATE", C::kSession, A::kRead},
    {PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT, "CLOSE", C::kSession, A::kRead},
    {PG_QUERY__NODE__NODE_LOCK_STMT, "LOCK", C::kWrite, A::kWrite},
    {PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT, "REFRESH MATERIALIZED VIEW", C::kWrite, A::kWrite},
    {PG_QUERY__NODE__NODE_CLUSTER_STMT, "CLUSTER", C::kAdmin, A::kWrite},
    {PG_QUERY__NODE__NODE_REINDEX_STMT, "REINDEX", C::kAdmin, A::kWrite},
    {PG_QUERY__NODE__NODE_CHECK_POINT_STMT, "CHECKPOINT", C::kAdmin, A::kRead},
    {PG_QUERY__NODE__NODE_LOAD_STMT, "LOAD", C::kAdmin, A::kRead},
    {PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT, "CREATE EXTENSION", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_EXTENSION_STMT, "ALTER EXTENSION", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_EXTENSION_CONTENTS_STMT, "ALTER EXTENSION", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_PLANG_STMT, "CREATE LANGUAGE", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_EVENT_TRIG_STMT, "CREATE EVENT TRIGGER", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_EVENT_TRIG_STMT, "ALTER EVENT TRIGGER", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_TABLE_SPACE_STMT, "CREATE TABLESPACE", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_SUBSCRIPTION_STMT, "CREATE SUBSCRIPTION", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_SUBSCRIPTION_STMT, "ALTER SUBSCRIPTION", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_DROP_SUBSCRIPTION_STMT, "DROP SUBSCRIPTION", C::kAdmin, A::kDdl},
    {PG_QUERY__NODE__NODE_GRANT_STMT, "GRANT", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_GRANT_ROLE_STMT, "GRANT", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_ROLE_STMT, "CREATE ROLE", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_ROLE_STMT, "ALTER ROLE", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_ROLE_SET_STMT, "ALTER ROLE", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_DROP_ROLE_STMT, "DROP ROLE", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT, "ALTER DEFAULT PRIVILEGES", C::kDcl,
     A::kDdl},
    {PG_QUERY__NODE__NODE_REASSIGN_OWNED_STMT, "REASSIGN OWNED", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_SEC_LABEL_STMT, "SECURITY LABEL", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_OWNER_STMT, "ALTER OWNER", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_POLICY_STMT, "CREATE POLICY", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_POLICY_STMT, "ALTER POLICY", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_USER_MAPPING_STMT, "CREATE USER MAPPING", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_ALTER_USER_MAPPING_STMT, "ALTER USER MAPPING", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_DROP_USER_MAPPING_STMT, "DROP USER MAPPING", C::kDcl, A::kDdl},
    {PG_QUERY__NODE__NODE_DROP_OWNED_STMT, "DROP OWNED", C::kDestructive, A::kDdl},
    {PG_QUERY__NODE__NODE_DROPDB_STMT, "DROP DATABASE", C::kDestructive, A::kDdl},
    {PG_QUERY__NODE__NODE_DROP_TABLE_SPACE_STMT, "DROP TABLESPACE", C::kDestructive, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_STMT, "CREATE TABLE", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_VIEW_STMT, "CREATE VIEW", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_INDEX_STMT, "CREATE INDEX", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT, "CREATE FUNCTION", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_RULE_STMT, "CREATE RULE", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_TRIG_STMT, "CREATE TRIGGER", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_COMMENT_STMT, "COMMENT", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_RENAME_STMT, "ALTER", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT, "CREATE SCHEMA", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATE_SEQ_STMT, "CREATE SEQUENCE", C::kDdl, A::kDdl},
    {PG_QUERY__NODE__NODE_CREATEDB_STMT, "CREATE DATABASE", C::kDdl, A::kDdl},
};

}  // namespace

bool TreeWalker::VisitSimpleStatement(const PgQuery__Node* node) {
  for (const SimpleStatement& simple : kSimpleStatements) {
    if (simple.node_case == node->node_case) {
      Fixed(node, simple.command, simple.statement_class, simple.access);
      return true;
    }
  }
  return ByName(node);
}

// The fallback for the many CREATE/ALTER/DROP variants: the message type's name says what it is.
// Any other statement type is not understood: kUnknown.
bool TreeWalker::ByName(const PgQuery__Node* node) {
  const ProtobufCMessageDescriptor* descriptor = node->base.descriptor;
  const char* base = reinterpret_cast<const char*>(node);
  const ProtobufCMessage* child = nullptr;
  for (unsigned i = 0; i < descriptor->n_fields; ++i) {
    const ProtobufCFieldDescriptor& field = descriptor->fields[i];
    if (field.id == static_cast<uint32_t>(node->node_case) &&
        field.type == PROTOBUF_C_TYPE_MESSAGE) {
      std::memcpy(&child, base + field.offset, sizeof(child));
    }
  }
  if (child == nullptr) {
    return false;
  }
  const std::string_view name = View(child->descriptor->short_name);
  if (name.size() < 4 || name.substr(name.size() - 4) != "Stmt") {
    return false;  // an expression or helper node: the generic walk continues into it
  }
  StatementClass statement_class = StatementClass::kUnknown;
  if (name.starts_with("Create") || name.starts_with("Alter") || name.starts_with("Define") ||
      name.starts_with("Import") || name.starts_with("Composite")) {
    statement_class = StatementClass::kDdl;
  } else if (name.starts_with("Drop")) {
    statement_class = StatementClass::kDestructive;
  }
  Fixed(node, child->descriptor->short_name, statement_class, RelationAccess::kDdl);
  return true;
}

void WalkParseResult(const PgQuery__ParseResult& tree, std::string_view text, Statement* out,
                     int nesting) {
  if (tree.n_stmts == 0) {
    RaiseClass(out, StatementClass::kUnknown);  // nothing the parser saw as a statement
    return;
  }
  for (size_t i = 0; i < tree.n_stmts; ++i) {
    if (tree.stmts[i] == nullptr || tree.stmts[i]->stmt == nullptr) {
      RaiseClass(out, StatementClass::kUnknown);
      continue;
    }
    TreeWalker walker(text, out, nesting);
    walker.WalkRaw(*tree.stmts[i]);
  }
}

}  // namespace jitgate::parsers::sql::pg::internal
