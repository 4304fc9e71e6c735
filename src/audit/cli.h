// src/audit/cli.h: the offline audit tools, `jitgate audit verify|replay|sessions|export|tail`.
//
// main.cc hands `jitgate audit ...` to RunAuditCommand. The tools only read the log (reader.h);
// they work on a live log (a running gateway may be appending) and never change it.
//
//   audit verify DIR [--key-file F]
//       "ok: N records in S segments, seq A..B, E epochs; last epoch open|closed" (exit 0), or
//       "audit verify: broken: <first problem>" on stderr (exit 1). Notes (torn tails recovery
//       kept aside) go to stdout.
//   audit replay DIR --session ID [--key-file F]
//       ID is "<epoch>.<shard>.<session>". Verifies the whole log first and refuses (exit 1) to
//       replay one that does not verify; then prints the session as it happened: identity,
//       origin, resource, grant, each statement with its decision and its response, the close.
//   audit sessions DIR [--key-file F]
//       One line per session: id, open time, subject, resource, statements, close reason.
//   audit export DIR [--from SEQ] [--follow] [--key-file F]
//       JSON lines, one object per record (see below).
//   audit tail DIR [--json] [--from-start] [--key-file F]
//       Follows the live log (polls every 100 ms, follows rotation), one line per record, human
//       text or JSON; starts at the end unless --from-start; runs until SIGINT/SIGTERM.
// Without --key-file, links are not recomputed by replay/sessions/export/tail (a keyed log can be
// read without its key), but the chain (seq, prev == the previous link) is still checked;
// `verify` without a key treats the log as SHA-256-linked.
//
// Exit status: 0 ok, 1 the log is broken or the session is unknown, 2 usage errors.
//
// JSON export, one line per record:
//   {"seq":N,"epoch":E,"time":"2026-12-02T07:40:01.123456Z","type":"statement","shard":0,
//    "session":"E.S.N","flags":["security","truncated"],<fields>,"link":"<hex>"}
// "session" is absent when the record has none. Each field is keyed by its FieldName; integer
// fields are numbers, text fields strings; repeated fields (groups, roles, params, masked) are
// arrays, as is any other field that occurs more than once. "params" holds a string per value,
// null for a NULL parameter and {"hidden":true} for a withheld one. Unknown fields appear as
// "field_<tag>". Strings follow RFC 8259; a byte that is not part of valid UTF-8 is written as
// the four characters \xNN (in JSON source: "\\xNN"), so the output is always valid UTF-8 (a
// client text that itself contained "\x" followed by two hex digits reads the same).
#ifndef JITGATE_SRC_AUDIT_CLI_H_
#define JITGATE_SRC_AUDIT_CLI_H_

#include <atomic>
#include <cstdio>

namespace jitgate::audit {

// Runs `audit ...` with stdout and stderr; argv[0] is "audit". Returns the exit status.
int RunAuditCommand(int argc, char** argv);

// The same, writing to `out` and `err`. The following commands (tail, export --follow) return 0
// once `stop` (when not null) reads true; they check it at every poll.
int RunAuditCommandTo(int argc, char** argv, FILE* out, FILE* err, const std::atomic<bool>* stop);

}  // namespace jitgate::audit

#endif  // JITGATE_SRC_AUDIT_CLI_H_
