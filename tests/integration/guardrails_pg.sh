#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2016  # functions run through jg_check; SQL with literal $s
# guardrails_pg.sh: the statement guardrails end to end: agents authenticate to jitgate with
# minted tokens (TLS and insecure listeners), jitgate judges every Query, Parse and FunctionCall
# against the policy's statement rules and passes the allowed ones to a real PostgreSQL 15 whose
# gateway role is a SUPERUSER (so whatever got through would run).
#
# Checks: the refusal on the wire (ERROR, 42501, "jitgate: " + the rule's message, the rule's
# name and the policy in DETAIL, ReadyForQuery, the session usable after it) and that it agrees
# with `jitgate policy explain`; inside a transaction block the refusal aborts it ('E', 25P02
# until ROLLBACK, COMMIT rolls back: psql and libpq); a multi-statement string with one refused
# statement runs none of it; extended protocol (a refused Parse skips to Sync, pipelined batches
# after the Sync run, a refused named statement is never prepared); FunctionCall refused as an
# unknown statement (allowed where the policy allows unknown); COPY FROM STDIN a write, COPY
# PROGRAM / server files admin; table rules (block, review, allow-lists) and function rules;
# evasion attempts (comments, case, quoted and U& identifiers, dollar quoting, DO, CTE writes,
# PREPARE/EXECUTE, SET ROLE, set_config, ALTER SYSTEM, standard_conforming_strings off from the
# start-up options, a SET of it racing the next pipelined Query, E'' strings, statements of
# 200 KiB and 2 MiB) over both listeners; afterwards every sentinel table still holds its rows
# (read directly on the server) and the server's log_statement=all csvlog shows no DROP, DELETE,
# TRUNCATE, COPY PROGRAM, ALTER SYSTEM, ... from the gateway beyond the statements meant to pass;
# pgbench -S and TPC-B with 0 failures; SIGHUP reload under load (pgbench sees the new decision,
# an open session sees it at its next statement, no session dropped, a broken file keeps the old
# decisions, event=config_reload_failed). Env: JITGATE, JG_SOURCE_ROOT. Exit 0 pass, 1 fail,
# 77 skip.
set -uo pipefail

JG_SOURCE_ROOT=${JG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$JG_SOURCE_ROOT/scripts/lib/db.sh"
jg_test_init
started_s=$SECONDS

work=$(jg_tmpdir)
pg_port=$(jg_free_port)
gw_port=$(jg_free_port)
dev_port=$(jg_free_port)
unset PGPASSWORD PGUSER PGDATABASE PGSSLMODE PGOPTIONS PGAPPNAME
export PGCONNECT_TIMEOUT=10

# clip TEXT: at most 200 characters of TEXT for a failure report, with its length if cut.
clip() {
  if ((${#1} > 200)); then
    printf '%s... (%d bytes)' "${1:0:200}" "${#1}"
  else
    printf '%s' "$1"
  fi
}

# ---- the server: log_statement=all into a csvlog, so what reached it can be read back.
jg_log "starting postgres on 127.0.0.1:$pg_port (log_statement=all, csvlog)"
jg_pg_start "$work/pg" "$pg_port" logging_collector=on log_destination=csvlog \
  log_directory=log log_filename=postgresql log_statement=all ||
  jg_die "postgres did not start"
csvlog=$work/pg/pgdata/log/postgresql.csv
db() {  # db SQL: SQL run directly on the server (not through jitgate) as postgres in shop
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d shop -c "$1"
}
jg_pg_sql "$pg_port" "CREATE ROLE jitgate LOGIN SUPERUSER" >/dev/null
jg_pg_sql "$pg_port" "CREATE DATABASE shop" >/dev/null
db "CREATE SCHEMA payments;
    CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c');
    CREATE TABLE sentinel (id int PRIMARY KEY, note text);
    INSERT INTO sentinel VALUES (1,'one'),(2,'two'),(3,'three');
    CREATE TABLE t_race (id int); INSERT INTO t_race VALUES (1),(2),(3);
    CREATE TABLE payments.ledger (id int PRIMARY KEY, amount int);
    INSERT INTO payments.ledger VALUES (1,100),(2,250);
    CREATE TABLE notes (n text); CREATE TABLE vault (secret text); INSERT INTO vault VALUES ('s');
    CREATE SEQUENCE s;" >/dev/null || jg_die "schema setup failed"
pgbench -i -s 1 -q -h 127.0.0.1 -p "$pg_port" -U postgres shop >"$work/pgbench-init.log" 2>&1 ||
  jg_die "pgbench -i failed"
printf '999\tpwned\n' >"$work/rows.txt"
# Where COPY TO PROGRAM / TO a file would write if they reached the server (writable by it).
srv=$work/srv
mkdir -p "$srv" && chmod 0777 "$srv"
chmod 0644 "$work/rows.txt"
sentinel_expected="3,3,3,2,350,one/two/three,100000"
sentinels() {  # the sentinel tables' row counts and contents, read directly
  db "SELECT (SELECT count(*) FROM t) || ',' || (SELECT count(*) FROM sentinel) || ',' ||
      (SELECT count(*) FROM t_race) || ',' || (SELECT count(*) FROM payments.ledger) || ',' ||
      (SELECT sum(amount) FROM payments.ledger) || ',' ||
      (SELECT string_agg(note, '/' ORDER BY id) FROM sentinel) || ',' ||
      (SELECT count(*) FROM pgbench_accounts)"
}
sentinels_match() {
  local got
  got=$(sentinels)
  echo "got $got"
  test "$got" = "$sentinel_expected"
}
jg_check "sentinel tables hold their rows before the test ($sentinel_expected)" sentinels_match

# ---- PKI (the TLS listener's certificate) and identity
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/gw.key" -out "$work/gw.pem" >/dev/null 2>&1 || jg_die "openssl failed"
chmod 0600 "$work/gw.key"
"$JITGATE" token keygen --dir "$work/keys" >/dev/null || jg_die "token keygen failed"
tenant=11111111-2222-4333-8444-555555555555
issuer="https://login.microsoftonline.com/$tenant/v2.0"
audience="api://jitgate-guardrails"
subject=aaaaaaaa-0000-4000-8000-0000000000a1
token=$("$JITGATE" token mint --dev-key "$work/keys/dev-key.pem" --issuer "$issuer" \
  --audience "$audience" --tenant "$tenant" --role Shop.Agent --subject "$subject") ||
  jg_die "token mint failed"

# write_config FILE BENCH_STATEMENTS: the configuration, with BENCH_STATEMENTS as the "bench"
# policy's statement rules (the reload changes only those).
write_config() {
  local res name resources=""
  for name in shop shop_ro shop_short shop_dba shop_lenient bench; do
    res="\"$name\": {\"protocol\": \"postgres\", \"address\": \"127.0.0.1:$pg_port\",
                    \"database\": \"shop\", \"user\": \"jitgate\"}"
    resources+="${resources:+, }$res"
  done
  cat >"$1.new" <<EOF
{"shards": 2,
 "listeners": [
   {"name": "pg", "protocol": "postgres", "address": "127.0.0.1:$gw_port",
    "tls": {"cert": "$work/gw.pem", "key": "$work/gw.key"}},
   {"name": "dev", "protocol": "postgres", "address": "127.0.0.1:$dev_port", "insecure": true}],
 "identity": {"issuer": "$issuer", "audience": "$audience", "tenant": "$tenant",
              "jwks_file": "$work/keys/jwks.json"},
 "resources": {$resources},
 "policies": [
   {"name": "agents", "match": {"roles": ["Shop.Agent"]}, "resources": ["shop"],
    "access": {"mode": "auto"},
    "statements": {
      "tables": [
        {"match": "payments.*", "access": ["write"], "action": "block",
         "message": "payments are read-only for agents", "name": "no-payment-writes"},
        {"match": "public.vault", "access": ["read"], "action": "review",
         "message": "vault reads need an approver", "name": "vault-reads"}],
      "functions": [
        {"match": "nextval", "action": "block", "message": "sequences are reserved",
         "name": "no-sequences"}]}},
   {"name": "readers", "match": {"roles": ["Shop.Agent"]}, "resources": ["shop_ro"],
    "access": {"mode": "auto"},
    "statements": {"block": ["write"],
      "tables": [{"match": "public.*", "access": ["read"], "action": "allow",
                  "name": "public-reads"}]}},
   {"name": "short", "match": {"roles": ["Shop.Agent"]}, "resources": ["shop_short"],
    "access": {"mode": "auto"}, "statements": {"statement_length_max": 4096}},
   {"name": "dba", "match": {"roles": ["Shop.Agent"]}, "resources": ["shop_dba"],
    "access": {"mode": "auto"},
    "statements": {"allow": ["read", "write", "admin", "transaction", "session"],
      "functions": [
        {"match": "pg_read_file", "action": "block", "message": "server files are off limits",
         "name": "no-server-files"},
        {"match": "pg_catalog.pg_read_binary_file", "action": "block",
         "message": "server files are off limits", "name": "no-server-files-binary"}]}},
   {"name": "lenient", "match": {"roles": ["Shop.Agent"]}, "resources": ["shop_lenient"],
    "access": {"mode": "auto"}, "statements": {"unknown": "allow"}},
   {"name": "bench", "match": {"roles": ["Shop.Agent"]}, "resources": ["bench"],
    "access": {"mode": "auto"}, "statements": $2}],
 "limits": {"auth_timeout_ms": 5000}}
EOF
  mv "$1.new" "$1"
}
config=$work/jitgate.json
bench_open='{}'
bench_closed='{"tables": [{"match": "public.pgbench_accounts", "access": ["read"],
  "action": "block", "message": "accounts are closed to agents", "name": "no-accounts-reads"}]}'
write_config "$config" "$bench_open"
jg_check "policy check accepts the config" "$JITGATE" policy check "$config"

log=$work/jitgate.log
jg_log "starting jitgate on 127.0.0.1:$gw_port (TLS) and :$dev_port (insecure)"
jg_jitgate_up "$config" "$log" --log-level info
jitgate_pid=$JG_JITGATE_PID

# shellcheck disable=SC2046  # pkg-config prints several flags
cc -O2 -Wall -Werror -o "$work/pgprobe" "$JG_SOURCE_ROOT/tests/integration/pgprobe.c" \
  $(pkg-config --cflags --libs libpq) || jg_die "pgprobe did not build"
probe=$work/pgprobe
tls() { printf "host=127.0.0.1 port=%s user=agent dbname=%s sslmode=require password=%s %s" \
  "$gw_port" "$1" "$token" "${2:-}"; }
dev() { printf "host=127.0.0.1 port=%s user=agent dbname=%s sslmode=disable password=%s %s" \
  "$dev_port" "$1" "$token" "${2:-}"; }

# ---- reply predicates: a reply is one line of `pgprobe script|pipeline|burst` (pgprobe.md)
# without its "q=N " prefix.

# is_refusal REPLY RULES POLICY [TX]: a refusal by one of RULES ("a|b") of POLICY: ERROR 42501,
# one error and no other result, message "jitgate: ...", DETAIL naming the rule in double quotes
# and the policy; TX the transaction status after it (default I; '-' inside a pipeline).
is_refusal() {
  local reply=$1 policy=$3 tx=${4:-I} detail rule rules
  [[ $reply == "error tx=$tx errors=1 results_ok=0 sqlstate=42501 severity=ERROR message=jitgate: "* ]] ||
    return 1
  detail=${reply##* detail=}
  [[ $detail == *"$policy"* ]] || return 1
  IFS='|' read -r -a rules <<<"$2"
  for rule in "${rules[@]}"; do
    [[ $detail == *"\"$rule\""* ]] && return 0
  done
  return 1
}
# one_of WORD "A|B|...": WORD is literally one of the alternatives.
one_of() {
  local alternative alternatives
  IFS='|' read -r -a alternatives <<<"$2"
  for alternative in "${alternatives[@]}"; do
    [[ $1 == "$alternative" ]] && return 0
  done
  return 1
}
# is_ok REPLY TX [VALUE]: succeeded, transaction status TX, first value VALUE (when given).
is_ok() {
  [[ $1 == "ok tx=$2 "* ]] || return 1
  (($# < 3)) || [[ $1 == *" value=$3" ]]
}
# is_error REPLY SQLSTATE TX: failed with SQLSTATE (not a refusal), status TX.
is_error() {
  [[ $1 == "error tx=$3 "*" sqlstate=$2 "* && $1 != *"message=jitgate: "* ]]
}
# explain_refusal SQL RESOURCE: prints "RULE<TAB>MESSAGE" of the first refused statement of SQL
# according to `jitgate policy explain` (nothing if it allows SQL).
explain_refusal() {
  "$JITGATE" policy explain "$config" --subject "$subject" --role Shop.Agent --resource "$2" \
    "$1" 2>/dev/null | awk '
      /^statement [0-9]+ of [0-9]+: (block|review)/ { on = 1; next }
      /^statement / { if (rule != "") exit; on = 0 }
      on && /^  rule: / && rule == "" { rule = substr($0, 9) }
      on && /^  message: / && message == "" { message = substr($0, 12) }
      END { if (rule != "") printf "%s\t%s\n", rule, message }'
}

# A session plan: step NAME WANT SQL appends one command; run_plan CONNINFO OUT runs them all on
# one `pgprobe script` session; judge_plan RESOURCE OUT EXPLAIN [SUMMARY] checks each reply.
# WANT: "refused RULES POLICY [TX]", "ok TX [VALUE]" or "error SQLSTATE TX".
plan_names=() plan_wants=() plan_sqls=()
plan_reset() { plan_names=() plan_wants=() plan_sqls=(); }
step() {
  plan_names+=("$1")
  plan_wants+=("$2")
  plan_sqls+=("$3")
}
run_plan() {  # run_plan CONNINFO OUT: replies in OUT (first line: ok connected ...)
  printf '%s\n' "${plan_sqls[@]}" | "$probe" script "$1" >"$2" 2>>"$work/probe.err"
}
# reply_matches REPLY WANT SQL RESOURCE EXPLAIN: the WANT test, plus (EXPLAIN=1, a refusal, SQL
# short enough for a command line) agreement with policy explain on rule and message. Sets
# mismatch_why.
reply_matches() {
  local reply=$1 want=$2 sql=$3 resource=$4 use_explain=$5 kind a b c explained message
  mismatch_why=""
  read -r kind a b c <<<"$want"
  case $kind in
    refused)
      is_refusal "$reply" "$a" "$b" "${c:-I}" || { mismatch_why="want a refusal by $a of $b"; return 1; }
      if ((use_explain)) && [[ $sql != \\fn* ]] && ((${#sql} < 100000)); then
        explained=$(explain_refusal "${sql#\\x }" "$resource")
        if ! one_of "${explained%%$'\t'*}" "$a"; then
          mismatch_why="policy explain says: ${explained:-allowed}"
          return 1
        fi
        message=${explained#*$'\t'}
        if [[ $reply != *" message=jitgate: $message detail="* ]]; then
          mismatch_why="message differs from policy explain's: jitgate: $message"
          return 1
        fi
      fi
      ;;
    ok)
      read -r kind a c <<<"$want"
      if [[ -n $c ]]; then
        is_ok "$reply" "$a" "$c" || { mismatch_why="want ok tx=$a value=$c"; return 1; }
      else
        is_ok "$reply" "$a" || { mismatch_why="want ok tx=$a"; return 1; }
      fi
      ;;
    error) is_error "$reply" "$a" "$b" || { mismatch_why="want error $a tx=$b"; return 1; } ;;
    *) mismatch_why="bad WANT: $want"; return 1 ;;
  esac
  return 0
}
# judge_plan RESOURCE OUT EXPLAIN [SUMMARY]: one check per step; with SUMMARY one check for them
# all, named SUMMARY, listing the failing steps.
judge_plan() {
  local resource=$1 out=$2 use_explain=$3 summary=${4:-} i reply bad=0 replies
  mapfile -t replies <"$out"
  if [[ ${replies[0]:-} != "ok connected "* ]]; then
    jg_fail "${summary:-session to $resource}" "could not connect: ${replies[0]:-nothing}"
    return 1
  fi
  for i in "${!plan_sqls[@]}"; do
    reply=${replies[i + 1]:-"(no reply: the session ended)"}
    if reply_matches "$reply" "${plan_wants[i]}" "${plan_sqls[i]}" "$resource" "$use_explain"; then
      [[ -n $summary ]] || jg_pass "${plan_names[i]}"
    else
      bad=$((bad + 1))
      [[ -n $summary ]] || jg_fail "${plan_names[i]}"
      printf '    | step %d: %s\n    | sent: %s\n    | got:  %s\n    | why:  %s\n' \
        "$((i + 1))" "${plan_names[i]}" "$(clip "${plan_sqls[i]}")" "$(clip "$reply")" \
        "$mismatch_why"
    fi
  done
  if [[ -n $summary ]]; then
    if ((bad == 0)); then
      jg_pass "$summary (${#plan_sqls[@]} commands)"
    else
      jg_fail "$summary" "$bad of ${#plan_sqls[@]} commands differ"
    fi
  fi
  return 0
}

# Statements meant to pass that a naive grep of the server log would take for an attack: the
# server-log check skips exactly these texts.
allowed_texts=()

kib200=$(head -c $((200 * 1024)) /dev/zero | tr '\0' x)
mib2=$(head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' x)

# ---- 1. the refusal on the wire, and evasion attempts (policy "agents", resource shop)
D='statements.default[destructive]'
A='statements.default[admin]'
plan_reset
step "refusal: DROP TABLE refused by $D (42501, jitgate: message, DETAIL)" "refused $D agents" \
  "DROP TABLE t"
step "the session is usable after a refusal" "ok I after-refusal" "SELECT 'after-refusal'"
step "comment before the keyword: /* x */ DROP TABLE t" "refused $D agents" "/* x */ DROP TABLE t"
step "comment between keywords: DROP/*x*/TABLE t" "refused $D agents" "DROP/*x*/TABLE t"
step "case games: dRoP tAbLe t" "refused $D agents" "dRoP tAbLe t"
step "quoted, qualified name: DROP TABLE public.\"t\"" "refused $D agents" 'DROP TABLE public."t"'
step "unicode-escaped identifier: DROP TABLE U&\"\\0074\"" "refused $D agents" 'DROP TABLE U&"\0074"'
step "DROP ... IF EXISTS ... CASCADE, mixed case" "refused $D agents" \
  "DrOp TaBlE IF EXISTS sentinel CASCADE"
step "TRUNCATE" "refused $D agents" "TRUNCATE sentinel"
step "DELETE without WHERE" "refused $D agents" "DELETE FROM sentinel"
step "DELETE with WHERE true" "refused $D agents" "DELETE FROM t WHERE true"
step "UPDATE without WHERE" "refused $D agents" "UPDATE sentinel SET note = 'x'"
step "CTE write: WITH x AS (DELETE FROM t RETURNING *) SELECT" "refused $D agents" \
  "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"
step "EXPLAIN ANALYZE DELETE (it runs the DELETE)" "refused $D agents" \
  "EXPLAIN ANALYZE DELETE FROM t"
step "PREPARE p AS DELETE FROM t" "refused $D agents" "PREPARE p AS DELETE FROM t"
step "PREPARE p2 AS DELETE FROM t; EXECUTE p2" "refused $D agents" \
  "PREPARE p2 AS DELETE FROM t; EXECUTE p2"
step "EXECUTE of a prepared statement" "refused $A agents" "EXECUTE p"
step "a DROP hidden after a SELECT" "refused $D agents" "SELECT 1; DROP TABLE t"
step "a TRUNCATE hidden after a SELECT of the table" "refused $D agents" \
  "SELECT * FROM sentinel; TRUNCATE sentinel"
step "lower case, comment, no space: select 1;/* hi */delete from t" "refused $D agents" \
  "select 1;/* hi */delete from t"
step "nested comments: /* /* */ ' */ DROP ... (the quote is inside the comment)" \
  "refused $D agents" "/* /* */ ' */ DROP TABLE t; --'"
step "\$\$ inside an identifier is no dollar quote: AS x\$\$; DROP ..." "refused $D agents" \
  'SELECT 1 AS x$$; DROP TABLE t; --$$'
step "\$a\$ inside an identifier: AS x\$a\$; DROP ..." "refused $D agents" \
  'SELECT 1 AS x$a$; DROP TABLE t; --$a$'
step "a comment opener inside a comment: /* -- */; DROP ..." "refused $D agents" \
  "SELECT 1 /* -- */; DROP TABLE t"
step "a comment opener inside a string: '--'; DROP ..." "refused $D agents" \
  "SELECT '--'; DROP TABLE t"
step "unicode escape with UESCAPE: DROP TABLE U&\"!0074\" UESCAPE '!'" "refused $D agents" \
  "DROP TABLE U&\"!0074\" UESCAPE '!'"
step "BEGIN; DROP TABLE t; COMMIT in one string" "refused $D agents" "BEGIN; DROP TABLE t; COMMIT"
step "standard_conforming_strings on: 'a\\'; DROP ... is two statements" "refused $D agents" \
  "SELECT 'a\\'; DROP TABLE t; --'"
step "E'a\\\\\\\\'; DROP ... is two statements" "refused $D agents" "SELECT E'a\\\\'; DROP TABLE t; --'"
step "SET standard_conforming_strings = off; SELECT 'a\\'; DROP ... (one string)" \
  "refused $A agents" "SET standard_conforming_strings = off; SELECT 'a\\'; DROP TABLE t; --'"
step "DO block with dynamic SQL" "refused $A agents" "DO \$\$ BEGIN EXECUTE 'DROP TABLE t'; END \$\$"
step "DO block, tagged dollar quote, concatenated keyword" "refused $A agents" \
  "DO \$x\$ BEGIN EXECUTE 'DR' || 'OP TABLE t'; END \$x\$"
step "SQL run from a string: query_to_xml('DROP TABLE t', ...)" "refused $A agents" \
  "SELECT query_to_xml('DROP TABLE t', true, true, '')"
step "pg_read_file (admin: its class decides before any function rule)" "refused $A agents" \
  "SELECT pg_read_file('/etc/passwd')"
step "COPY ... TO PROGRAM" "refused $A agents" "COPY t TO PROGRAM 'touch $srv/pwned'"
step "COPY ... FROM a server file" "refused $A agents" "COPY t FROM '$work/rows.txt'"
step "COPY ... TO a server file" "refused $A agents" "COPY (SELECT 1) TO '$srv/out.txt'"
step "SET ROLE postgres" "refused $A agents" "SET ROLE postgres"
step "SET SESSION AUTHORIZATION" "refused $A agents" "SET SESSION AUTHORIZATION postgres"
step "set_config('role', ...)" "refused $A agents" "SELECT set_config('role','postgres',false)"
step "pg_catalog.set_config('session_authorization', ...)" "refused $A agents" \
  "SELECT pg_catalog.set_config('session_authorization','postgres',false)"
step "ALTER SYSTEM" "refused $A agents" "ALTER SYSTEM SET work_mem = '77MB'"
step "pg_terminate_backend of its own backend" "refused $A agents" \
  "SELECT pg_terminate_backend(pg_backend_pid())"
step "CREATE EXTENSION" "refused $A agents" "CREATE EXTENSION dblink"
step "CREATE FUNCTION (ddl)" "refused statements.default[ddl] agents" \
  "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"
step "CREATE FUNCTION with a DROP in its body" "refused statements.default[ddl] agents" \
  "CREATE OR REPLACE FUNCTION g() RETURNS void LANGUAGE plpgsql AS \$\$ BEGIN DROP TABLE t; END \$\$"
step "SELECT INTO (creates a table)" "refused statements.default[ddl] agents" \
  "SELECT * INTO newtab FROM t"
step "ALTER TABLE RENAME" "refused statements.default[ddl] agents" "ALTER TABLE t RENAME TO t2"
step "GRANT (dcl)" "refused statements.default[dcl] agents" "GRANT ALL ON t TO PUBLIC"
step "DR/**/OP is no statement: unknown" "refused statements.default[unknown] agents" \
  "DR/**/OP TABLE t"
step "table rule: INSERT INTO payments.ledger" "refused no-payment-writes agents" \
  "INSERT INTO payments.ledger VALUES (9, 1)"
step "table rule, upper case: PAYMENTS.LEDGER" "refused no-payment-writes agents" \
  "INSERT INTO PAYMENTS.LEDGER VALUES (9, 1)"
step "table rule, quoted: \"payments\".\"ledger\"" "refused no-payment-writes agents" \
  'INSERT INTO "payments"."ledger" VALUES (9, 1)'
step "table rule, unicode escape: U&\"p\\0061yments\".ledger" "refused no-payment-writes agents" \
  'INSERT INTO U&"p\0061yments".ledger VALUES (9, 1)'
step "table rule, CTE write into payments" "refused no-payment-writes agents" \
  "WITH x AS (INSERT INTO payments.ledger VALUES (9, 1) RETURNING *) SELECT * FROM x"
step "table rule: UPDATE payments.ledger ... WHERE" "refused no-payment-writes agents" \
  "UPDATE payments.ledger SET amount = 0 WHERE id = 1"
step "table rule: COPY payments.ledger FROM STDIN" "refused no-payment-writes agents" \
  "COPY payments.ledger FROM STDIN"
step "review rule: reads of public.vault need an approver" "refused vault-reads agents" \
  "SELECT * FROM vault"
step "function rule: nextval" "refused no-sequences agents" "SELECT nextval('s')"
step "function rule, qualified and upper case: PG_CATALOG.NEXTVAL" \
  "refused no-sequences agents" "SELECT PG_CATALOG.NEXTVAL('s')"
step "extended protocol: Parse of DROP TABLE" "refused $D agents" '\x DROP TABLE t'
step "extended protocol: CTE DELETE" "refused $D agents" \
  '\x WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x'
step "extended protocol: DO block" "refused $A agents" \
  "\\x DO \$\$ BEGIN EXECUTE 'DROP TABLE t'; END \$\$"
step "extended protocol: INSERT INTO payments.ledger" "refused no-payment-writes agents" \
  '\x INSERT INTO payments.ledger VALUES (9, 1)'
step "extended protocol: COPY TO PROGRAM" "refused $A agents" \
  "\\x COPY t TO PROGRAM 'touch $srv/pwned'"
step "SET ROLE did not happen: current_user is still jitgate" "ok I jitgate" "SELECT current_user"
step "the session is still usable after every attempt" "ok I still-here" "SELECT 'still-here'"
evasion_count=${#plan_sqls[@]}
run_plan "$(dev shop)" "$work/evasion-dev.out"
judge_plan shop "$work/evasion-dev.out" 1
# The same attempts over TLS (the session owns the bytes there: another forwarding path).
run_plan "$(tls shop)" "$work/evasion-tls.out"
judge_plan shop "$work/evasion-tls.out" 1 "over the TLS listener: the same $evasion_count commands"

# Statements that must still run (and that quote what they do not do).
plan_reset
step "allowed: read" "ok I 3" "SELECT count(*) FROM sentinel"
step "allowed: read of payments (only writes are blocked)" "ok I 100" \
  "SELECT amount FROM payments.ledger ORDER BY id"
step "allowed: INSERT" "ok I" "INSERT INTO notes(n) VALUES ('allowed-write')"
step "allowed: UPDATE with WHERE" "ok I" \
  "UPDATE notes SET n = 'allowed-update' WHERE n = 'allowed-write'"
step "allowed: DELETE with WHERE" "ok I" "DELETE FROM notes WHERE n = 'allowed-update'"
step "allowed: a DROP inside a comment" "ok I 1" "SELECT 1 -- ; DROP TABLE t"
step "allowed: a DROP inside a dollar-quoted string" "ok I ; DROP TABLE t; " \
  "SELECT \$\$; DROP TABLE t; \$\$"
step "allowed: E'a\\'; DROP ...' is one string" "ok I a'; DROP TABLE t; --" \
  "SELECT E'a\\'; DROP TABLE t; --'"
step "allowed: 'a\\'' ; DROP ...' is one string when standard_conforming_strings is on" \
  "ok I a\\' ; DROP TABLE t; --" "SELECT 'a\\'' ; DROP TABLE t; --'"
step "allowed: U&'\\0027; DROP ...' is one string" "ok I '; DROP TABLE t; --" \
  "SELECT U&'\\0027; DROP TABLE t; --'"
step "allowed: a doubled quote inside a quoted identifier" "ok I 1" \
  'SELECT 1 AS "a""; DROP TABLE t; --"'
step "allowed: SET search_path (session)" "ok I" "SET search_path = public"
step "allowed: transaction statements" "ok T" "BEGIN"
step "allowed: SAVEPOINT" "ok T" "SAVEPOINT a"
step "allowed: ROLLBACK TO SAVEPOINT" "ok T" "ROLLBACK TO SAVEPOINT a"
step "allowed: COMMIT" "ok I" "COMMIT"
step "allowed: extended protocol SELECT" "ok I 42" '\x SELECT 42'
step "allowed: a 200 KiB statement (under statement_length_max, 1 MiB by default)" "ok I 204800" \
  "SELECT length('$kib200')"
for sql in "${plan_sqls[@]}"; do
  allowed_texts+=("$sql")
done
run_plan "$(dev shop)" "$work/allowed.out"
judge_plan shop "$work/allowed.out" 0

# Long statements: the 200 KiB ones straddle many receive buffers (and the gateway's capture).
U='statements.default[unknown]'
plan_reset
step "200 KiB SELECT then DROP: refused" "refused $D|$U agents" \
  "SELECT length('$kib200'); DROP TABLE sentinel"
step "2 MiB SELECT (over statement_length_max): refused as unknown" "refused $U agents" \
  "SELECT length('$mib2')"
step "2 MiB SELECT then DROP: refused" "refused $U|$D agents" \
  "SELECT length('$mib2'); DROP TABLE sentinel"
step "2 MiB DROP with a long trailing string: refused" "refused $U|$D agents" \
  "DROP TABLE sentinel; SELECT length('$mib2')"
step "extended protocol, 2 MiB Parse: refused as unknown" "refused $U agents" \
  "\\x SELECT length('$mib2')"
step "the session is usable after the long statements" "ok I after-long" "SELECT 'after-long'"
run_plan "$(dev shop)" "$work/long.out"
judge_plan shop "$work/long.out" 0
run_plan "$(tls shop)" "$work/long-tls.out"
judge_plan shop "$work/long-tls.out" 0 "long statements over the TLS listener"
plan_reset
step "statement_length_max 4096: a 5000-byte statement is refused as unknown" \
  "refused $U short" "SELECT length('$(head -c 5000 /dev/zero | tr '\0' x)')"
step "statement_length_max 4096: a 3000-byte statement runs" "ok I 3000" \
  "SELECT length('$(head -c 3000 /dev/zero | tr '\0' x)')"
run_plan "$(dev shop_short)" "$work/short.out"
judge_plan shop_short "$work/short.out" 1

# standard_conforming_strings off from the start-up options: the classifier must lex as the
# server does, told by the server's ParameterStatus.
plan_reset
step "options -c standard_conforming_strings=off reach the server" "ok I off" \
  "SHOW standard_conforming_strings"
step "scs off: 'a\\'; DROP ...' is one string and runs" "ok I a'; DROP TABLE t; --" \
  "SELECT 'a\\'; DROP TABLE t; --'"
step "scs off: 'a\\'' ; DROP ... is two statements: refused" "refused $D agents" \
  "SELECT 'a\\'' ; DROP TABLE t; --'"
step "scs off: E'a\\\\\\\\'; DROP ... is two statements: refused" "refused $D agents" \
  "SELECT E'a\\\\'; DROP TABLE t; --'"
allowed_texts+=("SELECT 'a\\'; DROP TABLE t; --'")
run_plan "$(dev shop "options='-c standard_conforming_strings=off'")" "$work/scs-off.out"
judge_plan shop "$work/scs-off.out" 0

# Policy "dba" allows admin, so function rules and a SET of standard_conforming_strings are
# reachable.
plan_reset
step "dba: function rule no-server-files blocks pg_read_file" "refused no-server-files dba" \
  "SELECT pg_read_file('/etc/passwd')"
step "dba: PG_CATALOG.PG_READ_FILE" "refused no-server-files dba" \
  "SELECT PG_CATALOG.PG_READ_FILE('/etc/passwd')"
step "dba: quoted \"pg_read_file\"" "refused no-server-files dba" \
  "SELECT \"pg_read_file\"('/etc/passwd')"
step "dba: pg_read_file in FROM" "refused no-server-files dba" \
  "SELECT * FROM pg_read_file('/etc/passwd')"
step "dba: pg_read_file in a subquery" "refused no-server-files dba" \
  "SELECT x FROM (SELECT pg_read_file('/etc/passwd') AS x) s"
step "dba: pg_read_binary_file (qualified rule, unqualified call)" \
  "refused no-server-files-binary dba" "SELECT pg_read_binary_file('/etc/passwd')"
step "dba: destructive is still blocked" "refused $D dba" "DROP TABLE t_race"
step "dba: SET standard_conforming_strings = off (admin allowed)" "ok I" \
  "SET standard_conforming_strings = off"
step "dba: the classifier follows: 'a\\'' ; DROP ... refused" "refused $D dba" \
  "SELECT 'a\\'' ; DROP TABLE t_race; --'"
step "dba: and 'a\\'; DROP ...' is one string" "ok I a'; DROP TABLE t_race; --" \
  "SELECT 'a\\'; DROP TABLE t_race; --'"
step "dba: SET standard_conforming_strings = on" "ok I" "SET standard_conforming_strings = on"
step "dba: the classifier follows back: 'a\\'; DROP ... refused" "refused $D dba" \
  "SELECT 'a\\'; DROP TABLE t_race; --'"
allowed_texts+=("SELECT 'a\\'; DROP TABLE t_race; --'")
run_plan "$(dev shop_dba)" "$work/dba.out"
judge_plan shop_dba "$work/dba.out" 0

# A SET of standard_conforming_strings and the next Query written together: the gateway judges
# the second before the server's ParameterStatus says the mode changed.
race_check() {  # race_check NAME OUT: q=2 refused by destructive of dba, q=1 and q=3 ran
  local out=$2 q1 q2 q3
  q1=$(sed -n 's/^q=1 //p' "$out") q2=$(sed -n 's/^q=2 //p' "$out") q3=$(sed -n 's/^q=3 //p' "$out")
  if is_ok "$q1" I && is_refusal "$q2" "$D" dba && is_ok "$q3" I 1; then
    jg_pass "$1"
  else
    jg_fail "$1"
    sed 's/^/    | got:  /' "$out"
  fi
}
"$probe" burst "$(dev shop_dba "options='-c standard_conforming_strings=off'")" \
  "SET standard_conforming_strings = on" "SELECT 'a\\'; DROP TABLE t_race; --'" "SELECT 1" \
  >"$work/race1.out" 2>>"$work/probe.err"
race_check "pipelined: SET scs = on, then 'a\\'; DROP ... (one string only under off): refused" \
  "$work/race1.out"
"$probe" burst "$(dev shop_dba)" \
  "SET standard_conforming_strings = off" "SELECT 'a\\'' ; DROP TABLE t_race; --'" "SELECT 1" \
  >"$work/race2.out" 2>>"$work/probe.err"
race_check "pipelined: SET scs = off, then 'a\\'' ; DROP ... (one string only under on): refused" \
  "$work/race2.out"
"$probe" burst "$(dev shop)" "SELECT 1" "DROP TABLE t" "SELECT 2" "DELETE FROM t" "SELECT 3" \
  >"$work/burst.out" 2>>"$work/probe.err"
jg_check "pipelined simple queries: each refusal answers its own Query, the rest run" \
  bash -c "cat '$work/burst.out'; grep -q '^q=1 ok tx=I .* value=1\$' '$work/burst.out' &&
    grep -q '^q=2 error tx=I errors=1 results_ok=0 sqlstate=42501 ' '$work/burst.out' &&
    grep -q '^q=3 ok tx=I .* value=2\$' '$work/burst.out' &&
    grep -q '^q=4 error tx=I errors=1 results_ok=0 sqlstate=42501 ' '$work/burst.out' &&
    grep -q '^q=5 ok tx=I .* value=3\$' '$work/burst.out' && grep -qx 'ok tx=I' '$work/burst.out'"

# ---- 2. transactions: a refusal aborts the block as any failed statement does
cat >"$work/tx.sql" <<'EOF'
\set VERBOSITY verbose
BEGIN;
INSERT INTO notes(n) VALUES ('tx-psql');
DROP TABLE t;
SELECT 1;
COMMIT;
SELECT 'after-' || 'commit';
EOF
PGPASSWORD=$token psql -X -v ON_ERROR_STOP=0 -f "$work/tx.sql" \
  "host=127.0.0.1 port=$gw_port user=agent dbname=shop sslmode=require" >"$work/tx-psql.out" 2>&1
psql_out() { cat "$work/tx-psql.out"; grep -qE "$1" "$work/tx-psql.out"; }
jg_check "psql: the refusal reads ERROR: 42501: jitgate: <the rule's message>" \
  psql_out '^psql:.*ERROR:  42501: jitgate: destructive statements'
jg_check "psql: DETAIL names the rule and the policy" \
  psql_out '^DETAIL: .*"statements\.default\[destructive\]".*agents'
jg_check "psql: the next statement in the block fails with 25P02" \
  psql_out 'ERROR:  25P02: current transaction is aborted'
jg_check "psql: COMMIT of the aborted block answers ROLLBACK" psql_out '^ROLLBACK$'
jg_check "psql: the session goes on after the block" psql_out '^ after-commit$'
jg_check "psql: the write before the refusal was not committed" \
  test "$(db "SELECT count(*) FROM notes WHERE n = 'tx-psql'")" = 0

plan_reset
step "tx: BEGIN" "ok T" "BEGIN"
step "tx: INSERT in the block" "ok T" "INSERT INTO notes(n) VALUES ('tx-probe-1')"
step "tx: a refused DELETE leaves the block failed (status E)" "refused $D agents E" \
  "DELETE FROM t"
step "tx: then every statement fails with 25P02" "error 25P02 E" "SELECT 1"
step "tx: ROLLBACK works" "ok I" "ROLLBACK"
step "tx: BEGIN again" "ok T" "BEGIN"
step "tx: INSERT in the second block" "ok T" "INSERT INTO notes(n) VALUES ('tx-probe-2')"
step "tx: a refused extended-protocol Parse fails the block too" "refused $D agents E" \
  '\x DROP TABLE t'
step "tx: COMMIT of the failed block rolls back" "ok I" "COMMIT"
step "tx: neither block's INSERT is there" "ok I 0" \
  "SELECT count(*) FROM notes WHERE n LIKE 'tx-probe%'"
step "multi-statement: INSERT then DROP in one string: refused, nothing returned" \
  "refused $D agents" "INSERT INTO notes(n) VALUES ('multi'); DROP TABLE t"
step "multi-statement: SELECT then DROP: refused, no SELECT result either" \
  "refused $D agents" "SELECT 'multi-select'; DROP TABLE t"
step "multi-statement: the INSERT before the DROP did not run" "ok I 0" \
  "SELECT count(*) FROM notes WHERE n = 'multi'"
run_plan "$(tls shop)" "$work/tx.out"
judge_plan shop "$work/tx.out" 0
jg_check "the refused transactions and multi-statement string left no rows (read directly)" \
  test "$(db "SELECT count(*) FROM notes WHERE n IN ('tx-probe-1', 'tx-probe-2', 'multi')")" = 0

# ---- 3. extended protocol: libpq pipeline mode
pipeline_check() {  # pipeline_check NAME OUT EXPECTED_LINE_PATTERNS...
  local name=$1 out=$2 i=0 line pattern fail=0
  shift 2
  mapfile -t lines <"$out"
  for pattern in "$@"; do
    line=${lines[i]:-"(missing)"}
    # shellcheck disable=SC2053
    if [[ $pattern == refusal:* ]]; then
      is_refusal "${line#q=* }" "${pattern#refusal:}" agents - || fail=1
    elif [[ $line != $pattern ]]; then
      fail=1
    fi
    i=$((i + 1))
  done
  ((${#lines[@]} == $#)) || fail=1
  if ((fail == 0)); then
    jg_pass "$name"
  else
    jg_fail "$name"
    printf '    | want: %s\n' "$@"
    sed 's/^/    | got:  /' "$out"
  fi
}
"$probe" pipeline "$(tls shop)" "SELECT 1" "DELETE FROM t" "SELECT 2" --sync \
  "SELECT 3" "INSERT INTO notes(n) VALUES ('after-sync')" --sync >"$work/pipe1.out" 2>>"$work/probe.err"
pipeline_check "pipeline: a refused Parse errors, its batch is skipped to Sync, the next batch runs" \
  "$work/pipe1.out" "q=1 ok *value=1" "refusal:$D" "q=3 aborted" "sync=1 ok" \
  "q=4 ok *value=3" "q=5 ok *cmd=INSERT_0_1 *" "sync=2 ok" "ok tx=I"
jg_check "pipeline: the INSERT after the Sync committed (read directly)" \
  test "$(db "SELECT count(*) FROM notes WHERE n = 'after-sync'")" = 1
"$probe" pipeline "$(dev shop)" "BEGIN" "INSERT INTO notes(n) VALUES ('pipe-tx')" \
  "DROP TABLE t" "SELECT 1" --sync "COMMIT" --sync >"$work/pipe2.out" 2>>"$work/probe.err"
pipeline_check "pipeline in a transaction block: refusal, then COMMIT answers ROLLBACK" \
  "$work/pipe2.out" "q=1 ok *cmd=BEGIN *" "q=2 ok *cmd=INSERT_0_1 *" "refusal:$D" "q=4 aborted" \
  "sync=1 ok" "q=5 ok *cmd=ROLLBACK *" "sync=2 ok" "ok tx=I"
jg_check "pipeline: the block's INSERT was not committed (read directly)" \
  test "$(db "SELECT count(*) FROM notes WHERE n = 'pipe-tx'")" = 0
"$probe" pipeline "$(dev shop)" "prepare:s1:DELETE FROM t" "exec:s1" --sync "exec:s1" --sync \
  "SELECT count(*) FROM t" >"$work/pipe3.out" 2>>"$work/probe.err"
pipeline_check "pipeline: a refused named statement is never prepared (26000 after the Sync)" \
  "$work/pipe3.out" "refusal:$D" "q=2 aborted" "sync=1 ok" \
  "q=3 error *sqlstate=26000 *" "sync=2 ok" "q=4 ok *value=3" "sync=3 ok" "ok tx=I"

plan_reset
step "named Parse refused: DELETE FROM t as s2" "refused $D agents" '\prepare s2 DELETE FROM t'
step "the refused named statement was never prepared: 26000" "error 26000 I" '\execp s2'
step "named 2 MiB Parse refused as unknown" "refused $U agents" \
  "\\prepare big SELECT length('$mib2')"
step "the refused 2 MiB named statement was never prepared: 26000" "error 26000 I" '\execp big'
step "the session goes on after the refused named statements" "ok I after-big" \
  "SELECT 'after-big'"
run_plan "$(dev shop)" "$work/named.out"
judge_plan shop "$work/named.out" 0

# ---- 4. FunctionCall (fast path): judged as an unknown statement
int4pl=$(db "SELECT 'int4pl'::regproc::oid")
lo_creat=$(db "SELECT 'lo_creat'::regproc::oid")
plan_reset
step "fast path: FunctionCall int4pl refused as unknown" "refused $U agents" "\\fn $int4pl 2 3"
step "fast path: FunctionCall lo_creat (libpq's lo_* path) refused as unknown" \
  "refused $U agents" "\\fn $lo_creat 393216"
step "fast path: the session is usable after it" "ok I alive" "SELECT 'alive'"
run_plan "$(tls shop)" "$work/fn.out"
judge_plan shop "$work/fn.out" 0
plan_reset
step "fast path: FunctionCall refused under dba too (unknown still blocked)" \
  "refused $U dba" "\\fn $int4pl 2 3"
run_plan "$(dev shop_dba)" "$work/fn-dba.out"
judge_plan shop_dba "$work/fn-dba.out" 0
plan_reset
step "fast path: a policy with \"unknown\": \"allow\" lets FunctionCall through (2+3)" "ok I 5" \
  "\\fn $int4pl 2 3"
run_plan "$(dev shop_lenient)" "$work/fn-lenient.out"
judge_plan shop_lenient "$work/fn-lenient.out" 0

# ---- 5. COPY and the readers policy (writes blocked, reads of public.* only)
copy_in() {  # copy_in RESOURCE ROWS...: COPY notes(n) FROM STDIN through the TLS listener
  local resource=$1
  shift
  printf '%s\n' "$@" | PGPASSWORD=$token psql -X -v VERBOSITY=verbose \
    "host=127.0.0.1 port=$gw_port user=agent dbname=$resource sslmode=require" \
    -c 'COPY notes(n) FROM STDIN' 2>&1
}
copy_allowed() { copy_in shop copy-1 copy-2 | tee /dev/stderr | grep -qx 'COPY 2'; }
copy_refused() {
  local out
  out=$(copy_in shop_ro copy-ro)
  echo "$out"
  grep -q 'ERROR:  42501: jitgate: ' <<<"$out" &&
    grep -qF '"statements.block[write]"' <<<"$out" && ! grep -q '^COPY' <<<"$out"
}
jg_check "COPY FROM STDIN is a write, allowed by default (COPY 2)" copy_allowed
jg_check "the copied rows arrived (read directly)" \
  test "$(db "SELECT count(*) FROM notes WHERE n LIKE 'copy-%'")" = 2
jg_check "readers: COPY FROM STDIN refused by statements.block[write]" copy_refused
jg_check "readers: no row was copied (read directly)" \
  test "$(db "SELECT count(*) FROM notes WHERE n = 'copy-ro'")" = 0
plan_reset
step "readers: reads of public.* run (allow rule public-reads)" "ok I 3" \
  "SELECT count(*) FROM public.sentinel"
step "readers: reads outside public.* refused by the implicit unlisted rule" \
  "refused statements.tables.unlisted[read] readers" "SELECT * FROM payments.ledger"
step "readers: INSERT refused by statements.block[write]" "refused statements.block[write] readers" \
  "INSERT INTO notes(n) VALUES ('ro')"
step "readers: COPY TO STDOUT is a read and runs" "ok I" "COPY sentinel TO STDOUT"
run_plan "$(tls shop_ro)" "$work/readers.out"
judge_plan shop_ro "$work/readers.out" 1

# search_path: once the session set it, an unqualified name must pass the rules in every schema
# they name (payments.ledger here), so the write is refused; a qualified public name still runs.
# Inside a block that is rolled back, in case it reached the server.
printf '%s\n' "BEGIN" "SET LOCAL search_path = payments" \
  "INSERT INTO ledger VALUES (9, 1) RETURNING 'reached'" "ROLLBACK" |
  "$probe" script "$(dev shop)" >"$work/gap.out" 2>>"$work/probe.err"
jg_check "SET search_path = payments, then INSERT INTO ledger: refused by no-payment-writes" \
  grep -q 'sqlstate=42501.*no-payment-writes' <(sed -n 4p "$work/gap.out")

# ---- 6. the hard check: nothing refused reached the server
jg_check "every sentinel table still holds its rows, read directly ($sentinel_expected)" \
  sentinels_match
objects_untouched() {
  local got
  got=$(db "SELECT (to_regclass('public.t2') IS NULL) AND (to_regclass('public.newtab') IS NULL)
      AND (SELECT count(*) FROM pg_proc WHERE proname IN ('f', 'g')) = 0
      AND (SELECT count(*) FROM pg_extension WHERE extname = 'dblink') = 0
      AND (SELECT relacl IS NULL FROM pg_class WHERE relname = 't')
      AND (SELECT count(*) FROM pg_largeobject_metadata) = 0")
  echo "$got"
  test "$got" = t
}
jg_check "nothing the attempts would have made or changed exists (t2, newtab, f, g, dblink, ACL, large objects)" \
  objects_untouched
jg_check "COPY TO PROGRAM did not run (no $srv/pwned), no server file was written" \
  test ! -e "$srv/pwned" -a ! -e "$srv/out.txt"
jg_check "ALTER SYSTEM did not reach the server (postgresql.auto.conf has no work_mem)" \
  bash -c "! grep -q work_mem '$work/pg/pgdata/postgresql.auto.conf'"

# ---- 7. pgbench through the gateway with guardrails on
jg_check "pgbench -S -c 8 -T 5 through the TLS gateway: 0 failures" \
  bash -c "PGPASSWORD='$token' PGSSLMODE=require pgbench -n -S -c 8 -j 2 -T 5 \
    -h 127.0.0.1 -p $gw_port -U agent bench 2>&1 | tee /dev/stderr |
    grep -q 'number of failed transactions: 0 ' && exit \${PIPESTATUS[0]}"
jg_check "pgbench TPC-B (UPDATE ... WHERE, INSERT) -c 4 -T 3 under the default rules: 0 failures" \
  bash -c "PGPASSWORD='$token' pgbench -n -c 4 -j 2 -T 3 -h 127.0.0.1 -p $dev_port -U agent \
    bench 2>&1 | tee /dev/stderr | grep -q 'number of failed transactions: 0 ' &&
    exit \${PIPESTATUS[0]}"

# ---- 8. reload under load
printf '\\set bid random(1, 1)\nSELECT bbalance FROM pgbench_branches WHERE bid = :bid;\n' \
  >"$work/branches.sql"
coproc PROBE { exec "$probe" script "$(dev bench)" 2>>"$work/probe.err"; }
# shellcheck disable=SC2153  # PROBE_PID is set by coproc
probe_pid=$PROBE_PID
jg_bg_register "$probe_pid"
probe_in=${PROBE[1]} probe_out=${PROBE[0]}
IFS= read -r -t 15 connected <&"$probe_out" || connected="(no reply)"
ask() {  # ask SQL: one command on the open session; its reply in $reply
  printf '%s\n' "$1" >&"$probe_in"
  IFS= read -r -t 15 reply <&"$probe_out" || reply="(no reply within 15 s)"
}
ask_check() {  # ask_check NAME WANT SQL
  ask "$3"
  if reply_matches "$reply" "$2" "$3" bench 0; then
    jg_pass "$1"
  else
    jg_fail "$1"
    printf '    | sent: %s\n    | got:  %s\n    | why:  %s\n' "$3" "$reply" "$mismatch_why"
  fi
}
# wait_reply SECONDS WANT SQL: asks SQL every 0.1 s until the reply matches WANT.
wait_reply() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    ask "$3"
    reply_matches "$reply" "$2" "$3" bench 0 && return 0
    sleep 0.1
  done
  return 1
}
accounts="SELECT aid FROM pgbench_accounts WHERE aid = 1"
jg_check "reload: an open session on bench (${connected%% ssl=*})" \
  test "${connected%% *}" = ok
ask "SELECT pg_backend_pid()"
backend_pid=${reply##* value=}
ask_check "reload: before, reads of pgbench_accounts run" "ok I 1" "$accounts"
reloads_before=$(grep -c 'event=config_reloaded' "$log")
failed_before=$(grep -c 'event=config_reload_failed' "$log")

PGPASSWORD=$token PGSSLMODE=require pgbench -n -S -c 8 -j 2 -T 10 -h 127.0.0.1 -p "$gw_port" \
  -U agent bench >"$work/reload-bench-s.out" 2>&1 &
bench_s_pid=$!
jg_bg_register "$bench_s_pid"
PGPASSWORD=$token pgbench -n -c 2 -j 1 -T 10 -f "$work/branches.sql" -h 127.0.0.1 \
  -p "$dev_port" -U agent bench >"$work/reload-bench-b.out" 2>&1 &
bench_b_pid=$!
jg_bg_register "$bench_b_pid"
sleep 2
write_config "$config" "$bench_closed"
kill -HUP "$jitgate_pid"
jg_check "reload: SIGHUP with reads of pgbench_accounts blocked: event=config_reloaded" \
  jg_wait_for 5 bash -c "(( \$(grep -c 'event=config_reloaded' '$log') > $reloads_before ))"
wait_check() {  # wait_check NAME SECONDS WANT SQL: wait_reply as a check, the last reply shown
  if wait_reply "$2" "$3" "$4"; then
    jg_pass "$1"
  else
    jg_fail "$1" "no matching reply within $2 s"
    printf '    | sent: %s\n    | got:  %s\n    | why:  %s\n' "$4" "$reply" "$mismatch_why"
  fi
}
wait_check "reload: the open session sees the new decision at its next statement (no-accounts-reads)" \
  5 "refused no-accounts-reads bench" "$accounts"
ask_check "reload: the same session still runs what stays allowed" "ok I 1" "SELECT 1"
ask_check "reload: on the same backend (not reconnected)" "ok I $backend_pid" \
  "SELECT pg_backend_pid()"
wait "$bench_s_pid"
bench_s_rc=$?
jg_check "reload: pgbench -S sees the refusals start (clients abort on 42501 jitgate: ...)" \
  bash -c "cat '$work/reload-bench-s.out'; grep -q 'aborted in command .*jitgate: accounts are closed to agents' '$work/reload-bench-s.out' &&
    grep -qE 'number of transactions actually processed: [1-9]' '$work/reload-bench-s.out'"
jg_check "reload: pgbench -S saw statement errors only, no connection error (exit $bench_s_rc)" \
  bash -c "! grep -iE 'server closed|connection to server|could not (send|receive)|SSL|terminat|FATAL' \
    '$work/reload-bench-s.out'"

# A broken file keeps the old (closed) decisions.
printf '{"shards": 2, "listeners": [' >"$config.new" && mv "$config.new" "$config"
kill -HUP "$jitgate_pid"
jg_check "reload: a file that is not JSON: event=config_reload_failed" \
  jg_wait_for 5 bash -c "(( \$(grep -c 'event=config_reload_failed' '$log') > $failed_before ))"
grep 'event=config_reload_failed' "$log" | tail -1 | cut -c1-300 | sed 's/^/    | /'
ask_check "reload: after the failed reload the old decision holds (reads still blocked)" \
  "refused no-accounts-reads bench" "$accounts"

write_config "$config" "$bench_open"
kill -HUP "$jitgate_pid"
wait_check "reload back: the open session's reads run again" 5 "ok I 1" "$accounts"

# A valid JSON file with an invalid policy keeps the old (open) decisions.
write_config "$config" '{"block": ["reads"]}'
failed_mid=$(grep -c 'event=config_reload_failed' "$log")
kill -HUP "$jitgate_pid"
jg_check "reload: an invalid statement class: event=config_reload_failed" \
  jg_wait_for 5 bash -c "(( \$(grep -c 'event=config_reload_failed' '$log') > $failed_mid ))"
grep 'event=config_reload_failed' "$log" | tail -1 | cut -c1-300 | sed 's/^/    | /'
ask_check "reload: after it the open decisions hold (reads run)" "ok I 1" "$accounts"
ask_check "reload: and destructive is still refused" "refused $D bench" "DELETE FROM pgbench_history"
ask_check "reload: the session survived every reload on the same backend" "ok I $backend_pid" \
  "SELECT pg_backend_pid()"
bench_b_alive=no
_jg_alive "$bench_b_pid" && bench_b_alive=yes
write_config "$config" "$bench_open"
wait "$bench_b_pid"
bench_b_rc=$?
jg_check "reload: pgbench on allowed statements ran through all four reloads: exit 0, 0 failures" \
  bash -c "cat '$work/reload-bench-b.out'; echo 'running after the last reload: $bench_b_alive';
    test $bench_b_alive = yes && test $bench_b_rc = 0 &&
    grep -q 'number of failed transactions: 0 ' '$work/reload-bench-b.out'"
exec {probe_in}>&-
wait "$probe_pid" 2>/dev/null
jg_check "reload: the open session ended normally" test $? = 0

# ---- 9. the server log: what reached PostgreSQL from the gateway's role
printf '%s\0' "${allowed_texts[@]}" >"$work/allowed.txt"
cat >"$work/logcheck.py" <<'PY'
import csv, re, sys
csv.field_size_limit(1 << 30)
log, allowed_file = sys.argv[1:3]
allowed = set(open(allowed_file, encoding="utf-8").read().split("\0"))
danger = re.compile(r"\b(drop|delete|truncate)\b|\bto\s+program\b|\balter\s+system\b|"
                    r"pg_read_file|pg_read_binary_file|set_config|\bset\s+role\b|"
                    r"\bsession\s+authorization\b|\bdo\s+\$|pg_terminate_backend|nextval|"
                    r"payments\.ledger\s+(values|from\s+stdin)|u&\"p", re.I)
statements, markers, bad, fastpath = 0, 0, [], {}
example = ""
for rec in csv.reader(open(log, encoding="utf-8", errors="replace", newline="")):
    if len(rec) < 14 or rec[1] != "jitgate":
        continue
    message = rec[13]
    m = re.match(r"(statement|execute [^:]*): (.*)\Z", message, re.S)
    if m:
        statements += 1
        text = m.group(2)
        if danger.search(text) and text not in allowed:
            bad.append(text)
        continue
    m = re.match(r'fastpath function call: "([^"]+)"', message)
    if m:
        fastpath[m.group(1)] = fastpath.get(m.group(1), 0) + 1
    if len(rec) > 19 and "jitgate_blocked_" in rec[19]:
        markers += 1
        example = example or rec[19][:120]
print(f"gateway statements logged: {statements}; refusal markers the server failed: {markers}")
print(f"a marker as the server saw it: {example}")
print(f"fast-path calls: {fastpath}")
for text in bad:
    print(f"REACHED THE SERVER: {text[:300]}")
sys.exit(0 if statements > 1000 and not bad and fastpath == {"int4pl": 1} else 1)
PY
jg_check "server log (log_statement=all): no refused statement, DROP/DELETE/TRUNCATE, COPY PROGRAM, ALTER SYSTEM, ... and only the allowed FunctionCall reached PostgreSQL" \
  python3 "$work/logcheck.py" "$csvlog" "$work/allowed.txt"
jg_check "sentinel tables after everything, read directly ($sentinel_expected)" sentinels_match
jg_check "no sanitizer report in jitgate's log" \
  bash -c "! grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' '$log'"
jg_check "SIGTERM: jitgate exits 0" jg_jitgate_stop "$jitgate_pid"
jg_pg_stop
jg_log "guardrails_pg ran in $((SECONDS - started_s)) s"
jg_finish
