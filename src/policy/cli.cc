// src/policy/cli.cc: see cli.h. Each subcommand is one function in kCommands.
#include "src/policy/cli.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "jitgate/config.h"
#include "jitgate/identity.h"
#include "jitgate/parsers/sql/pg/classify.h"
#include "jitgate/parsers/sql/statement.h"
#include "src/policy/rules.h"
#include "src/policy/table.h"

namespace jitgate::policy {
namespace {

constexpr char kUsage[] =
    "usage: jitgate policy check FILE\n"
    "       jitgate policy explain FILE --subject S [--group G]... [--role R]... [--app-id A]\n"
    "                              [--resource NAME] SQL\n"
    "  check FILE   validate the configuration FILE and compile its policies\n"
    "               (exit 0 = valid, 1 = invalid, 2 = usage error)\n"
    "  explain      the policy the identity gets for the resource (default: the only one),\n"
    "               and per statement of SQL its class, flags, names and the deciding rule\n"
    "               (exit 0 = all allowed, 1 = any refused, 2 = usage or config error)\n";

int Usage(const std::string& problem) {
  std::fprintf(stderr, "jitgate policy: %s\n%s", problem.c_str(), kUsage);
  return kExitUsage;
}

// `policy check FILE`: args are what follows "check".
int Check(int argc, char** argv) {
  if (argc != 1) {
    return Usage(argc == 0 ? "check needs a FILE" : "check takes exactly one FILE");
  }
  const std::string path = argv[0];
  absl::StatusOr<config::Config> config = config::LoadFile(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(config.status().message().size()),
                 config.status().message().data());
    return kExitFailed;
  }
  absl::StatusOr<std::shared_ptr<const Table>> table = Table::Compile(*config);
  if (!table.ok()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(table.status().message().size()),
                 table.status().message().data());
    return kExitFailed;
  }
  absl::StatusOr<std::shared_ptr<const RulesTable>> rules = RulesTable::Compile(*config);
  if (!rules.ok()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(rules.status().message().size()),
                 rules.status().message().data());
    return kExitFailed;
  }
  std::printf("%s: ok (%zu listeners, %zu resources, %zu policies)\n", path.c_str(),
              config->listeners.size(), config->resources.size(), config->policies.size());
  std::fflush(stdout);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// `policy explain`.

// A statement's text, bounded for printing.
constexpr size_t kSqlShownMax = 200;

constexpr struct {
  uint32_t flag;
  std::string_view name;
} kFlagNames[] = {
    {parsers::sql::kFlagNoWhere, "no_where"},
    {parsers::sql::kFlagCteWrite, "cte_write"},
    {parsers::sql::kFlagSelectInto, "select_into"},
    {parsers::sql::kFlagCopyProgram, "copy_program"},
    {parsers::sql::kFlagServerFile, "server_file"},
    {parsers::sql::kFlagIntoOutfile, "into_outfile"},
    {parsers::sql::kFlagLoadData, "load_data"},
    {parsers::sql::kFlagLoadDataLocal, "load_data_local"},
    {parsers::sql::kFlagSetRole, "set_role"},
    {parsers::sql::kFlagSetConfig, "set_config"},
    {parsers::sql::kFlagAlterSystem, "alter_system"},
    {parsers::sql::kFlagDynamicSql, "dynamic_sql"},
    {parsers::sql::kFlagExecutableComment, "executable_comment"},
    {parsers::sql::kFlagMultiStatement, "multi_statement"},
    {parsers::sql::kFlagTooLong, "too_long"},
    {parsers::sql::kFlagNamesOverflow, "names_overflow"},
    {parsers::sql::kFlagLiteralDependent, "literal_dependent"},
};

absl::string_view AbslView(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

std::string FlagList(uint32_t flags) {
  std::vector<absl::string_view> names;
  for (const auto& entry : kFlagNames) {
    if ((flags & entry.flag) != 0) {
      names.push_back(AbslView(entry.name));
    }
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

std::string NameText(const parsers::sql::Name& name) {
  return name.schema.empty() ? std::string(name.name)
                             : absl::StrCat(AbslView(name.schema), ".", AbslView(name.name));
}

std::string_view AccessName(parsers::sql::RelationAccess access) {
  switch (access) {
    case parsers::sql::RelationAccess::kRead:
      return "read";
    case parsers::sql::RelationAccess::kWrite:
      return "write";
    case parsers::sql::RelationAccess::kDdl:
      return "ddl";
  }
  return "ddl";
}

std::string ListOr(const std::vector<std::string>& items) {
  return items.empty() ? "none" : absl::StrJoin(items, ", ");
}

struct ExplainArgs {
  std::string file;
  std::string sql;
  std::string resource;
  Identity who;
  bool sql_given = false;
};

// Parses what follows "explain"; returns an empty string or the usage problem.
std::string ParseExplainArgs(int argc, char** argv, ExplainArgs& args) {
  std::vector<std::string> positional;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string* target = nullptr;
    std::vector<std::string>* list = nullptr;
    if (arg == "--subject") {
      target = &args.who.subject;
    } else if (arg == "--app-id") {
      target = &args.who.app_id;
    } else if (arg == "--resource") {
      target = &args.resource;
    } else if (arg == "--group") {
      list = &args.who.groups;
    } else if (arg == "--role") {
      list = &args.who.roles;
    } else if (arg.size() > 2 && arg.substr(0, 2) == "--") {
      return absl::StrCat("explain: unknown option \"", AbslView(arg.substr(0, 64)), "\"");
    } else {
      positional.emplace_back(arg);
      continue;
    }
    if (i + 1 >= argc) {
      return absl::StrCat("explain: ", AbslView(arg), " needs a value");
    }
    const std::string value = argv[++i];
    if (target != nullptr) {
      if (!target->empty()) {
        return absl::StrCat("explain: ", AbslView(arg), " given twice");
      }
      *target = value;
    } else {
      list->push_back(value);
    }
  }
  if (positional.size() != 2) {
    return "explain needs a FILE and one SQL argument (quote the SQL)";
  }
  if (args.who.subject.empty()) {
    return "explain needs --subject";
  }
  args.file = positional[0];
  args.sql = positional[1];
  return "";
}

// Prints one statement's explanation; returns whether it is allowed.
bool PrintStatement(const RulesTable& rules, uint32_t policy_index, std::string_view sql,
                    const parsers::sql::Statement& statement, uint32_t number, uint32_t count) {
  const StatementDecision decision = rules.Decide(policy_index, statement);
  std::string_view text;
  if (statement.offset <= sql.size()) {
    text = sql.substr(statement.offset, statement.length);
  }
  std::vector<std::string> relations;
  for (uint32_t r = 0; r < statement.relation_count; ++r) {
    relations.push_back(absl::StrCat(NameText(statement.relations[r].name), " (",
                                     AbslView(AccessName(statement.relations[r].access)), ")"));
  }
  std::vector<std::string> functions;
  for (uint32_t f = 0; f < statement.function_count; ++f) {
    functions.push_back(NameText(statement.functions[f]));
  }
  const std::string out = absl::StrCat(
      "statement ", number, " of ", count, ": ", AbslView(VerdictName(decision.verdict)), "\n",
      "  sql: ", AbslView(text.substr(0, kSqlShownMax)), text.size() > kSqlShownMax ? "..." : "",
      "\n", "  class: ", AbslView(parsers::sql::StatementClassName(statement.statement_class)),
      statement.command.empty() ? "" : absl::StrCat(" (", AbslView(statement.command), ")"), "\n",
      "  flags: ", FlagList(statement.flags), "\n", "  relations: ", ListOr(relations), "\n",
      "  functions: ", ListOr(functions), "\n", "  rule: ", AbslView(decision.rule_name), "\n",
      "  message: ", AbslView(decision.message), "\n");
  std::fputs(out.c_str(), stdout);
  return decision.allowed();
}

int PrintError(absl::string_view message, int code) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

// `policy explain FILE --subject S ... SQL`.
int Explain(int argc, char** argv) {
  ExplainArgs args;
  if (const std::string problem = ParseExplainArgs(argc, argv, args); !problem.empty()) {
    return Usage(problem);
  }
  absl::StatusOr<config::Config> config = config::LoadFile(args.file);
  if (!config.ok()) {
    return PrintError(config.status().message(), kExitUsage);
  }
  absl::StatusOr<std::shared_ptr<const Table>> table = Table::Compile(*config);
  if (!table.ok()) {
    return PrintError(table.status().message(), kExitUsage);
  }
  absl::StatusOr<std::shared_ptr<const RulesTable>> rules = RulesTable::Compile(*config);
  if (!rules.ok()) {
    return PrintError(rules.status().message(), kExitUsage);
  }
  if (args.resource.empty()) {
    if (config->resources.size() != 1) {
      return Usage(absl::StrCat("explain: ", config->resources.size(),
                                " resources in the file: name one with --resource"));
    }
    args.resource = config->resources[0].name;
  }
  const std::optional<uint32_t> resource = (*table)->FindResource(args.resource);
  if (!resource.has_value()) {
    return PrintError(absl::StrCat(args.file, ": no resource named \"", args.resource.substr(0, 64),
                                   "\""),
                      kExitUsage);
  }
  const AccessDecision access = (*table)->Decide(args.who, *resource);
  std::printf("resource: %s\n", args.resource.c_str());
  if (access.outcome == AccessDecision::Outcome::kNoPolicy) {
    std::printf("policy: none: no policy lists %s and matches this identity; login refused\n",
                args.resource.c_str());
    std::fflush(stdout);
    return kExitFailed;
  }
  std::printf("policy: %.*s (access %s, grants up to %u s)\n",
              static_cast<int>(access.policy_name.size()), access.policy_name.data(),
              access.outcome == AccessDecision::Outcome::kAuto ? "auto" : "approval",
              access.max_duration_s);
  std::vector<parsers::sql::Statement> statements(parsers::sql::pg::kMessageStatementsMax);
  const parsers::sql::pg::ClassifyResult classified = parsers::sql::pg::ClassifyMessage(
      args.sql, parsers::sql::pg::LexMode{}, nullptr, std::span(statements));
  if (classified.overflow) {
    std::printf("statements: more than %zu in one string; the gateway refuses it whole\n",
                parsers::sql::pg::kMessageStatementsMax);
    std::fflush(stdout);
    return kExitFailed;
  }
  if (classified.statement_count == 0) {
    std::printf("statements: none (empty query)\n");
    std::fflush(stdout);
    return kExitOk;
  }
  uint32_t refused = 0;
  for (uint32_t i = 0; i < classified.statement_count; ++i) {
    if (!PrintStatement(**rules, access.policy_index, args.sql, statements[i], i + 1,
                        classified.statement_count)) {
      ++refused;
    }
  }
  if (refused == 0) {
    std::printf("result: allowed (%u of %u statements)\n", classified.statement_count,
                classified.statement_count);
  } else {
    std::printf("result: refused (%u of %u statements refused; the gateway runs none of them)\n",
                refused, classified.statement_count);
  }
  std::fflush(stdout);
  return refused == 0 ? kExitOk : kExitFailed;
}

struct Command {
  std::string_view name;
  int (*run)(int argc, char** argv);  // the arguments after the subcommand
};

constexpr Command kCommands[] = {
    {"check", Check},
    {"explain", Explain},
};

}  // namespace

int RunPolicyCommand(int argc, char** argv) {
  if (argc < 2 || argv == nullptr || argv[1] == nullptr) {
    return Usage("missing subcommand");
  }
  const std::string_view name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  for (const Command& command : kCommands) {
    if (command.name == name) {
      return command.run(argc - 2, argv + 2);
    }
  }
  return Usage("unknown subcommand \"" + std::string(name.substr(0, 64)) + "\"");
}

}  // namespace jitgate::policy
