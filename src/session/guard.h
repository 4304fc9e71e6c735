// src/session/guard.h: the statement guardrail of a PostgreSQL gateway session: the judgement of
// the SQL in Query and Parse messages (and of FunctionCall) against the policy's compiled
// statement rules (src/policy/rules.h), and the wire mechanics of a refusal.
//
// A refused message is not answered by the gateway itself. It is replaced, on its way to the
// database, by one that cannot parse: a "marker" statement naming the refusal. PostgreSQL then
// fails it in order with everything else the client pipelined, so the protocol state stays the
// database's own: inside a transaction block the transaction is aborted as for any failed
// statement (status 'E'; a later COMMIT rolls back), an extended-protocol batch is skipped to its
// Sync, and ReadyForQuery carries the real status. On the way back the marker's syntax error is
// replaced by the refusal: ErrorResponse SQLSTATE 42501, "jitgate: " + the rule's message, the
// rule's name in DETAIL. The marker is `jitgate_blocked_<nonce>_<seq>`: a random per-process
// nonce a client cannot guess, and a per-session sequence number that pairs each error with its
// refusal (a marker the database skipped, because an earlier message of its batch failed, is
// passed over).
//
// Judgement is per message: every statement of a multi-statement Query string is classified and
// decided; the first one refused refuses the whole message (none of it runs). Classification goes
// through the shard's DecisionCache (repeated shapes cost a lookup). When the lexer mode is not
// certain (a statement that may have changed standard_conforming_strings is still in flight) and
// the text holds a backslash, the text is judged in both modes and must pass both.
// Owned by one shard thread (GuardScratch); the functions are pure otherwise.
#ifndef JITGATE_SRC_SESSION_GUARD_H_
#define JITGATE_SRC_SESSION_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jitgate/config.h"
#include "jitgate/parsers/sql/pg/cache.h"
#include "jitgate/parsers/sql/pg/lexer.h"
#include "jitgate/parsers/sql/statement.h"
#include "src/policy/rules.h"

namespace jitgate::session {

// A shard's classification state, shared by its sessions (one thread).
struct GuardScratch {
  explicit GuardScratch(uint64_t seed, uint32_t cache_capacity = 4096);
  parsers::sql::pg::DecisionCache cache;
  std::vector<parsers::sql::Statement> statements;  // kMessageStatementsMax
};

// The outcome of judging one message.
struct Judgement {
  bool allowed = true;
  policy::StatementDecision decision;  // the refusing decision (views into the RulesTable)
  std::string hard_message;            // HardRefusal's message (decision.message is empty)
  uint32_t statement_index = 0;        // which statement refused (0-based)
  uint32_t statement_count = 0;
  parsers::sql::StatementClass statement_class = parsers::sql::StatementClass::kUnknown;
  std::string_view command;  // static text: "DROP TABLE", "SELECT", ...
  uint32_t flags = 0;
  uint32_t cache_hits = 0;
};

// Judges the SQL `text` of a Query (any number of statements) or a Parse (one) under policy
// `policy_index` of `rules`. `both_modes`: judge under both standard_conforming_strings settings.
// search_path: rules match an unqualified name as if the default search_path applied. Once the
// session may have changed it (`*search_path_unknown`; set here, before the next statement is
// judged, by any session statement such as SET or RESET and by set_config() or dynamic SQL),
// an unqualified relation or function name could live in any schema: each statement must then
// pass with its unqualified names put in each of `schemas` in turn (SchemaCandidates: every
// schema the policy's rules name, plus one they do not), which covers every schema a name could
// resolve to. Empty `schemas`: no rule names a schema, so where a name resolves cannot matter.
Judgement JudgeSql(const policy::RulesTable& rules, uint32_t policy_index, std::string_view text,
                   parsers::sql::pg::LexMode mode, bool both_modes,
                   std::span<const std::string> schemas, bool* search_path_unknown,
                   GuardScratch* scratch);

// The schemas to judge unqualified names in when search_path is unknown (see JudgeSql), for a
// policy's statement rules; empty when no rule names a schema (then the schema cannot matter).
std::vector<std::string> SchemaCandidates(const config::StatementRules& rules);

// A message the gateway cannot look into: a FunctionCall (the fast-path interface names a
// function by OID only) or a statement longer than the gateway holds. Judged as an unknown
// statement (the policy's unknown rule, kFlagTooLong for `too_long`).
Judgement JudgeOpaque(const policy::RulesTable& rules, uint32_t policy_index,
                      std::string_view command, bool too_long, GuardScratch* scratch);

// A refusal that no rule made (the session's policy is gone after a reload, a message holding
// more statements than the gateway inspects). `rule_name` must be static text.
Judgement HardRefusal(std::string_view rule_name, std::string_view message);

// The marker nonce of this process (random, drawn once).
uint64_t MarkerNonce();
std::string MarkerText(uint64_t nonce, uint64_t seq);
// The sequence number of a marker of `nonce` inside `message` (a server error text), if any.
std::optional<uint64_t> FindMarker(std::string_view message, uint64_t nonce);

// Frames the gateway sends in place of a refused message.
void AppendQueryFrame(std::string_view text, std::vector<std::byte>* out);
void AppendParseFrame(std::string_view statement_name, std::string_view text,
                      std::vector<std::byte>* out);
// The ErrorResponse a client gets for a refused message (severity ERROR, SQLSTATE 42501).
std::vector<std::byte> RefusalError(const Judgement& judgement, std::string_view policy_name);

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_GUARD_H_
