#!/usr/bin/env bash
# audit_pg.sh: the audit log end to end against a real PostgreSQL 15: an agent's session through
# the gateway (simple and extended protocol, a refused statement, a masked column), a refused
# token, then `jitgate audit verify | sessions | replay | export` on what was written; a tampered
# copy caught by verify; kill -9 under load in normal mode (restart recovers, verify passes, the
# chain carries on in a new epoch) and in durable mode (every statement the client saw succeed
# is in the log). Env: JITGATE, JG_SOURCE_ROOT. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck disable=SC2317

JG_SOURCE_ROOT=${JG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$JG_SOURCE_ROOT/scripts/lib/db.sh"
jg_test_init

work=$(jg_tmpdir)
pg_port=$(jg_free_port)
gw_port=$(jg_free_port)
unset PGPASSWORD PGUSER PGDATABASE PGSSLMODE PGOPTIONS PGAPPNAME
export PGCONNECT_TIMEOUT=10

jg_log "starting postgres on 127.0.0.1:$pg_port"
jg_pg_start "$work/pg" "$pg_port" || jg_die "postgres did not start"
jg_pg_sql "$pg_port" "CREATE ROLE jitgate LOGIN SUPERUSER" >/dev/null
jg_pg_sql "$pg_port" "CREATE DATABASE shop" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d shop -c "
  CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
  INSERT INTO customers VALUES (1, 'Alice', 'alice@example.com'), (2, 'Bob', 'bob@example.org');
  CREATE TABLE probe (n int PRIMARY KEY);" >/dev/null || jg_die "schema setup failed"

"$JITGATE" token keygen --dir "$work/keys" >/dev/null || jg_die "token keygen failed"
tenant=11111111-2222-4333-8444-555555555555
issuer="https://login.microsoftonline.com/$tenant/v2.0"
audience="api://jitgate-audit"
subject=aaaaaaaa-0000-4000-8000-0000000000a7
token=$("$JITGATE" token mint --dev-key "$work/keys/dev-key.pem" --issuer "$issuer" \
  --audience "$audience" --tenant "$tenant" --role Shop.Agent --subject "$subject") ||
  jg_die "token mint failed"
bad_token=$("$JITGATE" token mint --dev-key "$work/keys/dev-key.pem" --issuer "$issuer" \
  --audience "api://someone-else" --tenant "$tenant" --role Shop.Agent) || jg_die "token mint failed"

audit_dir=$work/audit
write_config() {  # write_config MODE [EXTRA_AUDIT_JSON]
  cat >"$work/jitgate.json" <<EOF
{"shards": 2,
 "listeners": [
   {"name": "dev", "protocol": "postgres", "address": "127.0.0.1:$gw_port", "insecure": true}],
 "identity": {"issuer": "$issuer", "audience": "$audience", "tenant": "$tenant",
              "jwks_file": "$work/keys/jwks.json"},
 "resources": {
   "shop": {"protocol": "postgres", "address": "127.0.0.1:$pg_port", "database": "shop",
            "user": "jitgate"}},
 "masking": {"rules": [{"name": "emails", "columns": ["customers.email"], "strategy": "redact"}]},
 "policies": [
   {"name": "agents", "match": {"roles": ["Shop.Agent"]}, "resources": ["shop"],
    "access": {"mode": "auto"}}],
 "audit": {"dir": "$audit_dir", "mode": "$1", "segment_size_max": 1048576${2:-}},
 "limits": {"auth_timeout_ms": 5000, "shutdown_grace_s": 2}}
EOF
}
gw() { printf "host=127.0.0.1 port=%s user=agent dbname=shop sslmode=disable password=%s" \
  "$gw_port" "${1:-$token}"; }
export_json() { "$JITGATE" audit export "$audit_dir" 2>&1; }

# ---- 1. one agent session, then the tools ---------------------------------------------------
write_config normal
jg_check "policy check accepts the audit section" "$JITGATE" policy check "$work/jitgate.json"
jg_jitgate_up "$work/jitgate.json" "$work/jitgate-1.log" --log-level info
jg_check "audit_ready logged" grep -q 'event=audit_ready' "$work/jitgate-1.log"

out=$(psql -X -A -t "$(gw)" 2>&1 <<'SQL'
SELECT name, email FROM customers ORDER BY id;
DROP TABLE customers;
SELECT count(*) FROM customers;
SQL
)
if grep -q 'Alice|\*\*\*\*' <<<"$out" && grep -q '42501\|refused' <<<"$out" &&
  grep -qx 2 <<<"$out"; then
  jg_pass "agent session: masked read, refused DROP, read again"
else
  jg_fail "agent session" "$out"
fi
psql -X -A -t "$(gw "$bad_token")" -c 'SELECT 1' >"$work/bad.out" 2>&1
jg_check "a wrong-audience token is refused" grep -q 'access token rejected' "$work/bad.out"
# Extended protocol with parameters: pgbench -M extended binds :n.
printf '\\set n random(1, 2)\nSELECT n FROM probe WHERE n = :n;\n' >"$work/ext.sql"
jg_check "pgbench -M extended through the gateway" \
  pgbench -n -M extended -t 5 -c 1 -f "$work/ext.sql" "$(gw)"
printf '\\set n random(1, 2)\nSELECT name FROM customers WHERE id = :n;\n' >"$work/ext2.sql"
jg_check "pgbench -M extended on the masked table" \
  pgbench -n -M extended -t 3 -c 1 -f "$work/ext2.sql" "$(gw)"
jg_check "gateway stops cleanly" jg_jitgate_stop

jg_check "verify passes on the log" "$JITGATE" audit verify "$audit_dir"
"$JITGATE" audit verify "$audit_dir" >"$work/verify.out" 2>&1
jg_check "verify reports a closed epoch" grep -q 'closed' "$work/verify.out"
export_json >"$work/export.jsonl"
jg_check "export lines are JSON" python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    json.loads(line); n += 1
assert n > 10, n' "$work/export.jsonl"
has() {  # has NAME PYTHON-CONDITION-ON-r: some exported record r satisfies it
  jg_check "$1" python3 -c '
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
cond = sys.argv[2]
assert any(eval(cond, {}, {"r": r}) for r in records), cond' "$work/export.jsonl" "$2"
}
has "log_start record" 'r["type"] == "log_start"'
has "log_stop record" 'r["type"] == "log_stop"'
has "grant_issued record names the subject" \
  "r['type'] == 'grant_issued' and r.get('subject') == '$subject' and r.get('resource') == 'shop'"
has "session_open record with identity and client" \
  "r['type'] == 'session_open' and r.get('subject') == '$subject' and 'Shop.Agent' in r.get('roles', []) and r.get('client', '').startswith('127.0.0.1:')"
has "allowed statement with its text and class" \
  "r['type'] == 'statement' and r.get('decision') == 'allow' and 'FROM customers' in r.get('text', '') and r.get('class') == 'read'"
has "refused statement with its rule" \
  "r['type'] == 'statement' and r.get('decision') == 'block' and 'DROP TABLE' in r.get('text', '') and r.get('rule', '') != ''"
has "response to the refusal carries 42501" \
  "r['type'] == 'response' and r.get('sqlstate') == '42501'"
has "response with rows and masked cells" \
  "r['type'] == 'response' and r.get('rows') == 2 and any(m.startswith('email=2') for m in r.get('masked', []))"
has "bind record with parameters" \
  "r['type'] == 'statement' and r.get('kind') == 'bind' and r.get('params') in (['1'], ['2'])"
has "parse record with the statement text" \
  "r['type'] == 'statement' and r.get('kind') == 'parse' and 'WHERE n = \$1' in r.get('text', '')"
has "bind values withheld for a statement on a masked table" \
  "r['type'] == 'statement' and r.get('kind') == 'bind' and r.get('params') == [{'hidden': True}] and 'params_hidden' in r.get('flags', [])"
has "auth_refused record with 28P01" \
  "r['type'] == 'auth_refused' and r.get('sqlstate') == '28P01'"
has "session_close record" "r['type'] == 'session_close' and r.get('statements', 0) >= 3"

"$JITGATE" audit sessions "$audit_dir" >"$work/sessions.out" 2>&1
session_id=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "session_open" and r.get("subject") == sys.argv[2]:
        print(r["session_id"]); break' "$work/export.jsonl" "$subject")
jg_check "sessions lists the agent's session" grep -q "$session_id" "$work/sessions.out"
"$JITGATE" audit replay "$audit_dir" --session "$session_id" >"$work/replay.out" 2>&1
jg_check "replay shows the subject" grep -q "$subject" "$work/replay.out"
jg_check "replay shows the refused DROP" grep -q 'DROP TABLE customers' "$work/replay.out"
jg_check "replay shows the SELECT before the DROP" python3 -c '
import sys
t = open(sys.argv[1]).read()
a, b = t.find("SELECT name, email"), t.find("DROP TABLE customers")
assert 0 <= a < b, (a, b)' "$work/replay.out"
if "$JITGATE" audit replay "$audit_dir" --session 9.9.9 >/dev/null 2>&1; then
  jg_fail "replay of an unknown session fails"
else
  jg_pass "replay of an unknown session fails"
fi

# ---- 2. tampering -------------------------------------------------------------------------------
tamper=$work/tampered
cp -r "$audit_dir" "$tamper"
seg=$(ls "$tamper"/audit-*.seg | head -1)
python3 - "$seg" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.find(b'DROP TABLE customers')
assert i > 0
b[i] ^= 0x20  # DROP -> dROP
open(p, 'wb').write(bytes(b))
PY
if "$JITGATE" audit verify "$tamper" >"$work/tamper.out" 2>&1; then
  jg_fail "verify catches an edited statement text" "$(cat "$work/tamper.out")"
else
  jg_pass "verify catches an edited statement text"
fi
cp -r "$audit_dir" "$work/cut"
seg=$(ls "$work"/cut/audit-*.seg | tail -1)
truncate -s -7 "$seg"
if "$JITGATE" audit verify "$work/cut" >/dev/null 2>&1; then
  jg_fail "verify catches a truncated segment"
else
  jg_pass "verify catches a truncated segment"
fi

# ---- 3. kill -9 under load (normal mode): restart recovers and carries the chain on ------------
jg_jitgate_up "$work/jitgate.json" "$work/jitgate-2.log" --log-level warn
pgbench -n -c 4 -j 2 -T 30 -f "$work/ext.sql" "$(gw)" >"$work/pgbench-kill.log" 2>&1 &
bench_pid=$!
sleep 3
kill -KILL "$JG_JITGATE_PID"
wait "$bench_pid" 2>/dev/null
JG_JITGATE_PID=""
jg_jitgate_up "$work/jitgate.json" "$work/jitgate-3.log" --log-level info
jg_check "restart after kill -9 logs audit_ready" grep -q 'event=audit_ready' "$work/jitgate-3.log"
psql -X -A -t "$(gw)" -c 'SELECT 1' >/dev/null 2>&1
jg_check "gateway stops cleanly after the restart" jg_jitgate_stop
jg_check "verify passes after kill -9 and restart" "$JITGATE" audit verify "$audit_dir"
export_json >"$work/export2.jsonl"
jg_check "the new epoch says the previous one ended without log_stop" python3 -c '
import json, sys
starts = [json.loads(l) for l in open(sys.argv[1]) if "\"log_start\"" in l]
assert len(starts) >= 3, len(starts)
assert "without log_stop" in starts[-1].get("detail", ""), starts[-1]' "$work/export2.jsonl"
jg_check "the log rotated into several segments under load" \
  test "$(ls "$audit_dir"/audit-*.seg | wc -l)" -ge 2

# ---- 4. durable mode: kill -9, every statement the client saw succeed is in the log ----------
rm -rf "$audit_dir"
write_config durable
jg_jitgate_up "$work/jitgate.json" "$work/jitgate-4.log" --log-level warn
(
  for ((n = 1; n <= 100000; n++)); do
    printf 'INSERT INTO probe VALUES (%d);\n\\echo ok %d\n' "$n" "$n"
  done
) | psql -X -q -A -t -v ON_ERROR_STOP=1 "$(gw)" >"$work/durable.out" 2>&1 &
client_pid=$!
sleep 3
kill -KILL "$JG_JITGATE_PID"
wait "$client_pid" 2>/dev/null
JG_JITGATE_PID=""
acked=$(grep -c '^ok ' "$work/durable.out")
jg_log "durable: the client saw $acked inserts succeed before the kill"
if ((acked > 10)); then
  jg_pass "durable: the client made progress before kill -9 ($acked inserts)"
else
  jg_fail "durable: the client made progress before kill -9" "$(tail -3 "$work/durable.out")"
fi
jg_check "durable: verify passes right after kill -9 (nothing torn)" \
  "$JITGATE" audit verify "$audit_dir"
export_json >"$work/export3.jsonl"
jg_check "durable: every acknowledged INSERT is in the log" python3 -c '
import json, re, sys
logged = set()
for l in open(sys.argv[1]):
    r = json.loads(l)
    m = re.match(r"INSERT INTO probe VALUES \((\d+)\)", r.get("text", ""))
    if r["type"] == "statement" and m:
        logged.add(int(m.group(1)))
acked = [int(l.split()[1]) for l in open(sys.argv[2]) if l.startswith("ok ")]
missing = [n for n in acked if n not in logged]
assert acked and not missing, (len(acked), missing[:5])' "$work/export3.jsonl" "$work/durable.out"
jg_jitgate_up "$work/jitgate.json" "$work/jitgate-5.log" --log-level info
jg_check "durable: gateway restarts on the killed log" grep -q 'event=audit_ready' "$work/jitgate-5.log"
jg_check "durable: gateway stops cleanly" jg_jitgate_stop
jg_check "durable: verify passes after the restart" "$JITGATE" audit verify "$audit_dir"

jg_finish
