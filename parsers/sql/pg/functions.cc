// parsers/sql/pg/functions.cc: the server functions whose call changes a statement's class, and
// the settings whose change is sensitive. Names are as the server resolves them (folded, schema
// stripped: pg_catalog.PG_READ_FILE and U&"\0070g_read_file" both arrive here as pg_read_file).
// Lists are short and searched only on the cache-miss path.
#include <array>
#include <cctype>

#include "parsers/sql/pg/internal.h"

namespace jitgate::parsers::sql::pg::internal {
namespace {

struct FunctionEntry {
  std::string_view name;
  StatementClass statement_class;
  uint32_t flags;
};

constexpr StatementClass kAdmin = StatementClass::kAdmin;
constexpr StatementClass kWrite = StatementClass::kWrite;
constexpr StatementClass kSession = StatementClass::kSession;

constexpr std::array kFunctions = {
    // Server-side file access (pg_read_server_files / pg_write_server_files, adminpack).
    FunctionEntry{"pg_read_file", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_read_binary_file", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_ls_dir", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_stat_file", kAdmin, kFlagServerFile},
    FunctionEntry{"lo_import", kAdmin, kFlagServerFile},
    FunctionEntry{"lo_export", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_file_write", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_file_read", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_file_rename", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_file_unlink", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_file_sync", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_logdir_ls", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_ls_logdir", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_ls_waldir", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_ls_tmpdir", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_ls_archive_statusdir", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_ls_logicalsnapdir", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_ls_logicalmapdir", kAdmin, kFlagServerFile},
    FunctionEntry{"pg_ls_replslotdir", kAdmin, kFlagServerFile},
    // Backends, configuration, WAL and replication.
    FunctionEntry{"pg_terminate_backend", kAdmin, 0},
    FunctionEntry{"pg_cancel_backend", kAdmin, 0},
    FunctionEntry{"pg_reload_conf", kAdmin, 0},
    FunctionEntry{"pg_rotate_logfile", kAdmin, 0},
    FunctionEntry{"pg_promote", kAdmin, 0},
    FunctionEntry{"pg_switch_wal", kAdmin, 0},
    FunctionEntry{"pg_create_restore_point", kAdmin, 0},
    FunctionEntry{"pg_backup_start", kAdmin, 0},
    FunctionEntry{"pg_backup_stop", kAdmin, 0},
    FunctionEntry{"pg_start_backup", kAdmin, 0},
    FunctionEntry{"pg_stop_backup", kAdmin, 0},
    FunctionEntry{"pg_create_physical_replication_slot", kAdmin, 0},
    FunctionEntry{"pg_create_logical_replication_slot", kAdmin, 0},
    FunctionEntry{"pg_drop_replication_slot", kAdmin, 0},
    FunctionEntry{"pg_copy_physical_replication_slot", kAdmin, 0},
    FunctionEntry{"pg_copy_logical_replication_slot", kAdmin, 0},
    FunctionEntry{"pg_replication_slot_advance", kAdmin, 0},
    FunctionEntry{"pg_logical_emit_message", kAdmin, 0},
    FunctionEntry{"pg_log_backend_memory_contexts", kAdmin, 0},
    FunctionEntry{"pg_wal_replay_pause", kAdmin, 0},
    FunctionEntry{"pg_wal_replay_resume", kAdmin, 0},
    FunctionEntry{"pg_import_system_collations", kAdmin, 0},
    FunctionEntry{"pg_stat_reset", kAdmin, 0},
    FunctionEntry{"pg_stat_reset_shared", kAdmin, 0},
    FunctionEntry{"pg_stat_reset_single_table_counters", kAdmin, 0},
    FunctionEntry{"pg_stat_reset_single_function_counters", kAdmin, 0},
    FunctionEntry{"pg_stat_reset_slru", kAdmin, 0},
    FunctionEntry{"pg_stat_reset_replication_slot", kAdmin, 0},
    FunctionEntry{"pg_replication_origin_create", kAdmin, 0},
    FunctionEntry{"pg_replication_origin_drop", kAdmin, 0},
    FunctionEntry{"pg_replication_origin_advance", kAdmin, 0},
    FunctionEntry{"pg_replication_origin_session_setup", kAdmin, 0},
    // Functions that run SQL given as a string: opaque to us.
    FunctionEntry{"dblink", kAdmin, kFlagDynamicSql},
    FunctionEntry{"dblink_exec", kAdmin, kFlagDynamicSql},
    FunctionEntry{"dblink_open", kAdmin, kFlagDynamicSql},
    FunctionEntry{"dblink_send_query", kAdmin, kFlagDynamicSql},
    FunctionEntry{"dblink_connect", kAdmin, kFlagDynamicSql},
    FunctionEntry{"dblink_connect_u", kAdmin, kFlagDynamicSql},
    FunctionEntry{"query_to_xml", kAdmin, kFlagDynamicSql},
    FunctionEntry{"query_to_xmlschema", kAdmin, kFlagDynamicSql},
    FunctionEntry{"query_to_xml_and_xmlschema", kAdmin, kFlagDynamicSql},
    FunctionEntry{"ts_stat", kAdmin, kFlagDynamicSql},
    // Functions that write (sequences, large objects) or signal other sessions.
    FunctionEntry{"setval", kWrite, 0},
    FunctionEntry{"nextval", kWrite, 0},
    FunctionEntry{"lo_create", kWrite, 0},
    FunctionEntry{"lo_creat", kWrite, 0},
    FunctionEntry{"lo_unlink", kWrite, 0},
    FunctionEntry{"lo_put", kWrite, 0},
    FunctionEntry{"lo_from_bytea", kWrite, 0},
    FunctionEntry{"lo_truncate", kWrite, 0},
    FunctionEntry{"lowrite", kWrite, 0},
    FunctionEntry{"pg_notify", kSession, 0},
};

constexpr std::array<std::string_view, 9> kSensitiveSettings = {
    "role",                           // SET ROLE
    "session_authorization",          // SET SESSION AUTHORIZATION
    "standard_conforming_strings",    // changes how the lexer must read the next message
    "client_encoding",                // SET NAMES: non-UTF8 encodings break byte-level lexing
    "default_transaction_read_only",  // the server-side read-only backstop
    "transaction_read_only",
    "session_replication_role",  // 'replica' disables triggers and rules
    "backslash_quote",
    "escape_string_warning",
};

bool EqualsFolded(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != static_cast<unsigned char>(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool LookupFunctionRisk(std::string_view name, FunctionRisk* risk) {
  for (const FunctionEntry& entry : kFunctions) {
    if (entry.name == name) {
      *risk = {entry.statement_class, entry.flags};
      return true;
    }
  }
  return false;
}

bool IsSensitiveSetting(std::string_view name) {
  // A set_config() argument is a string, compared case-insensitively like a GUC name.
  for (std::string_view setting : kSensitiveSettings) {
    if (EqualsFolded(name, setting)) {
      return true;
    }
  }
  return false;
}

}  // namespace jitgate::parsers::sql::pg::internal
