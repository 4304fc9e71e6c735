#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2016  # functions run through jg_check; SQL with literal $s
# masking_pg.sh: result masking end to end against a real PostgreSQL 15: agents authenticate to
# jitgate with minted tokens; the "agents" policy sees sensitive values masked, the "support"
# policy unmasks some of them. Checks, for the agents: column rules by name and by source column
# (aliases, views over the table, SELECT *, joins, CTEs and subqueries), expressions over masked
# columns (lower(), ||, substr, casts, CASE, COALESCE, row_to_json, json_agg, to_jsonb, scalar
# sub-selects), every detector (email, card with Luhn, SSN, phone, IBAN, secrets) in a free-text
# column, every strategy (redact, partial, hash stable across sessions, null) and typed masks
# (uuid, date, int, numeric stay valid values), binary-format results through libpq, extended
# protocol with Describe-less Execute of a named statement (pgraw.py), DECLARE/FETCH cursors and
# PREPARE/EXECUTE, RETURNING rows, COPY TO STDOUT in text, CSV and binary (libpq), values echoed
# by errors (unique violation DETAIL, not-null "Failing row contains") and by RAISE NOTICE and
# NOTIFY; a 1 GiB result streamed through with the gateway's memory bounded; the first row of a
# slow result (pg_sleep between rows) arriving before the query ends; pgbench through a masking
# policy with 0 failures; and the "support" policy sees what it unmasks. Env: JITGATE,
# JG_SOURCE_ROOT. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

JG_SOURCE_ROOT=${JG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$JG_SOURCE_ROOT/scripts/lib/db.sh"
jg_test_init
started_s=$SECONDS

work=$(jg_tmpdir)
pg_port=$(jg_free_port)
gw_port=$(jg_free_port)
unset PGPASSWORD PGUSER PGDATABASE PGSSLMODE PGOPTIONS PGAPPNAME
export PGCONNECT_TIMEOUT=10

jg_log "starting postgres on 127.0.0.1:$pg_port"
jg_pg_start "$work/pg" "$pg_port" || jg_die "postgres did not start"
db() {  # db SQL: run directly on the server as postgres in shop
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d shop -c "$1"
}
jg_pg_sql "$pg_port" "CREATE ROLE jitgate LOGIN SUPERUSER" >/dev/null
jg_pg_sql "$pg_port" "CREATE DATABASE shop" >/dev/null
db "CREATE SCHEMA crm;
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text UNIQUE,
      ssn text, card text, phone text, notes text, token uuid, born date, salary numeric,
      pin int, api_key text);
    INSERT INTO customers VALUES
      (1, 'Alice', 'alice@example.com', '123-45-6789', '4111 1111 1111 1111', '+14155550123',
       'call me at +1 415 555 0199 or mail alice.w@corp.example', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
       '1980-05-17', 123456.78, 4321, 'AKIAIOSFODNN7EXAMPLE'),
      (2, 'Bob', 'bob@example.org', '234-56-7890', '5500-0000-0000-0004', '+442071838750',
       'IBAN GB82WEST12345698765432 card 4012888888881881', 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22',
       '1975-11-02', 98000, 1234, 'ghp_0123456789abcdefghijABCDEFGHIJ012345');
    CREATE VIEW customer_contacts AS SELECT id, name, email AS contact, lower(ssn) AS tax_id FROM customers;
    CREATE VIEW contacts_of_contacts AS SELECT id, contact FROM customer_contacts;
    CREATE TABLE crm.leads (id int, email text, score int);
    INSERT INTO crm.leads VALUES (1, 'lead@example.net', 7);
    CREATE TABLE orders (id int, customer_id int, total numeric);
    INSERT INTO orders VALUES (10, 1, 99.5), (11, 2, 12);
    CREATE TABLE feed (id serial, body text);
    INSERT INTO feed (body) VALUES
      ('token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2J5dGVz here'),
      ('-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA7
-----END RSA PRIVATE KEY-----'),
      ('nothing to see: order 12345, version 1.2.3, 2024-01-15');
    CREATE FUNCTION leak(int) RETURNS void LANGUAGE plpgsql AS \$\$
      BEGIN RAISE NOTICE 'ssn=% mail=%', (SELECT ssn FROM customers WHERE id = \$1),
                                        (SELECT email FROM customers WHERE id = \$1); END \$\$;" \
  >/dev/null || jg_die "schema setup failed"
pgbench -i -s 1 -q -h 127.0.0.1 -p "$pg_port" -U postgres shop >"$work/pgbench-init.log" 2>&1 ||
  jg_die "pgbench -i failed"

"$JITGATE" token keygen --dir "$work/keys" >/dev/null || jg_die "token keygen failed"
tenant=11111111-2222-4333-8444-555555555555
issuer="https://login.microsoftonline.com/$tenant/v2.0"
audience="api://jitgate-masking"
mint() {  # mint ROLE
  "$JITGATE" token mint --dev-key "$work/keys/dev-key.pem" --issuer "$issuer" \
    --audience "$audience" --tenant "$tenant" --role "$1" \
    --subject aaaaaaaa-0000-4000-8000-0000000000b1
}
agent_token=$(mint Shop.Agent) || jg_die "token mint failed"
support_token=$(mint Shop.Support) || jg_die "token mint failed"

export JG_MASK_KEY=0123456789abcdef0123456789abcdef-masking-key
config=$work/jitgate.json
cat >"$config" <<EOF
{"shards": 2,
 "listeners": [
   {"name": "dev", "protocol": "postgres", "address": "127.0.0.1:$gw_port", "insecure": true}],
 "identity": {"issuer": "$issuer", "audience": "$audience", "tenant": "$tenant",
              "jwks_file": "$work/keys/jwks.json"},
 "resources": {
   "shop": {"protocol": "postgres", "address": "127.0.0.1:$pg_port", "database": "shop",
            "user": "jitgate"},
   "shop_support": {"protocol": "postgres", "address": "127.0.0.1:$pg_port", "database": "shop",
            "user": "jitgate"}},
 "masking": {"hash_key_env": "JG_MASK_KEY",
   "rules": [
     {"name": "emails", "columns": ["*.email"], "strategy": "partial", "keep": 4},
     {"name": "ssn", "columns": ["customers.ssn"], "strategy": "redact", "text": "[ssn]"},
     {"name": "cards", "columns": ["public.customers.card"], "strategy": "hash"},
     {"name": "phones", "columns": ["customers.phone"], "strategy": "null"},
     {"name": "ids", "columns": ["customers.token"], "strategy": "hash"},
     {"name": "born", "columns": ["customers.born", "customers.salary", "customers.pin"],
      "strategy": "redact"},
     {"name": "keys", "columns": ["customers.api_key"], "strategy": "redact"},
     {"name": "content", "detectors": ["email", "card", "ssn", "phone", "iban", "secret"],
      "strategy": "redact", "text": "[hidden]"}]},
 "policies": [
   {"name": "agents", "match": {"roles": ["Shop.Agent"]}, "resources": ["shop"],
    "access": {"mode": "auto"},
    "statements": {"allow": ["read", "write", "ddl", "session", "transaction", "admin"]}},
   {"name": "support", "match": {"roles": ["Shop.Support"]}, "resources": ["shop_support"],
    "access": {"mode": "auto"},
    "unmask": {"columns": ["customers.email", "customers.phone"], "rules": ["ssn"]}}],
 "limits": {"auth_timeout_ms": 5000}}
EOF
jg_check "policy check accepts the masking config" "$JITGATE" policy check "$config"

log=$work/jitgate.log
jg_jitgate_up "$config" "$log" --log-level info
gw() { printf "host=127.0.0.1 port=%s user=agent dbname=%s sslmode=disable password=%s" \
  "$gw_port" "${1:-shop}" "${2:-$agent_token}"; }
q() {  # q SQL: through the gateway as the agent, unaligned, no headers
  psql -X -q -A -t -v ON_ERROR_STOP=1 "$(gw)" -c "$1" 2>&1
}
qs() {  # qs SQL: as support
  psql -X -q -A -t -v ON_ERROR_STOP=1 "$(gw shop_support "$support_token")" -c "$1" 2>&1
}

# want NAME EXPECTED SQL: the agent's output of SQL is exactly EXPECTED (NULL shows as <null>).
want() {
  local got
  got=$(psql -X -q -A -t -P null='<null>' -v ON_ERROR_STOP=1 "$(gw)" -c "$3" 2>&1)
  if [[ "$got" == "$2" ]]; then
    jg_pass "$1"
  else
    jg_fail "$1" "sql: $3" "want: $2" "got:  $got"
  fi
}
# want_support NAME EXPECTED SQL: the same as the support identity.
want_support() {
  local got
  got=$(psql -X -q -A -t -P null='<null>' -v ON_ERROR_STOP=1 \
    "$(gw shop_support "$support_token")" -c "$3" 2>&1)
  if [[ "$got" == "$2" ]]; then
    jg_pass "$1"
  else
    jg_fail "$1" "sql: $3" "want: $2" "got:  $got"
  fi
}
# lacks NAME TEXT WANT CMD...: the output of CMD (stdout and stderr; it may fail) does not
# contain TEXT and does contain WANT (the message that would have carried TEXT).
lacks() {
  local name=$1 text=$2 wanted=$3 out
  shift 3
  out=$("$@" 2>&1)
  if [[ "$out" != *"$text"* && "$out" == *"$wanted"* ]]; then
    jg_pass "$name"
  else
    jg_fail "$name" "output must not contain '$text' and must contain '$wanted':" \
      "$(printf '%s' "$out" | head -c 600)"
  fi
}

a_email='*****@******e.com'
b_email='***@******e.org'

jg_log "---- column rules: names, sources, aliases, views"
want "name rule (*.email), partial keep 4" "$a_email" "SELECT email FROM customers WHERE id = 1"
want "alias keeps the source" "$a_email" "SELECT email AS contact FROM customers WHERE id = 1"
want "qualified and aliased table" "$b_email" "SELECT c.email FROM customers c WHERE c.id = 2"
want "source rule with its own text" "[ssn]" "SELECT ssn AS x FROM customers WHERE id = 1"
want "null strategy" "<null>" "SELECT phone FROM customers WHERE id = 1"
want "typed masks stay valid values" "1970-01-01|0|0" \
  "SELECT born, salary, pin FROM customers WHERE id = 1"
want "secret column redacted" "****" "SELECT api_key FROM customers WHERE id = 2"
want "every schema's email (crm.leads)" "****@******e.net" "SELECT email FROM crm.leads"
want "view column aliasing a masked column" "$a_email" \
  "SELECT contact FROM customer_contacts WHERE id = 1"
want "view column computed from a masked column" "[ssn]" \
  "SELECT tax_id FROM customer_contacts WHERE id = 1"
want "view over a view" "$b_email" "SELECT contact FROM contacts_of_contacts WHERE id = 2"
want "join" "10|$a_email
11|$b_email" "SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id"
want "CTE" "$a_email" "WITH x AS (SELECT email AS e FROM customers) SELECT e FROM x LIMIT 1"
want "unmasked columns pass" "1|Alice" "SELECT id, name FROM customers WHERE id = 1"
select_star() {
  local row
  row=$(psql -X -q -A -t -P null='<null>' "$(gw)" -c "SELECT * FROM customers WHERE id = 1")
  echo "$row"
  [[ "$row" =~ ^1\|Alice\|\*\*\*\*\*@\*\*\*\*\*\*e\.com\|\[ssn\]\|h[0-9a-f]{15}\|\<null\>\|call\ me\ at\ \[hidden\]\ or\ mail\ \[hidden\]\|[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\|1970-01-01\|0\|0\|\*\*\*\*$ ]]
}
jg_check "SELECT * masks every sensitive column with its strategy (uuid hashed to a uuid)" select_star

jg_log "---- hash: stable across sessions and shards, joinable, keyed"
hash_stable() {
  local a b c
  a=$(q "SELECT card FROM customers ORDER BY id")
  b=$(q "SELECT card FROM customers ORDER BY id")
  c=$(psql -X -q -A -t "$(gw shop_support "$support_token")" -c "SELECT card FROM customers ORDER BY id")
  printf '%s\n--\n%s\n--\n%s\n' "$a" "$b" "$c"
  [[ "$a" == "$b" && "$a" == "$c" && "$a" =~ ^h[0-9a-f]{15}$'\n'h[0-9a-f]{15}$ ]] &&
    [[ "${a%%$'\n'*}" != "${a##*$'\n'}" ]]
}
jg_check "hashed cards: the same token every session, distinct per value" hash_stable
group_by_hash() {
  local got
  got=$(q "SELECT card, count(*) FROM (SELECT card FROM customers UNION ALL SELECT card FROM customers) s GROUP BY card ORDER BY 1")
  echo "$got"
  [[ $(wc -l <<<"$got") -eq 2 && "$got" == *"|2"* ]]
}
jg_check "group by a hashed column still groups" group_by_hash

jg_log "---- expressions over masked columns"
want "lower(email)" "****" "SELECT lower(email) FROM customers WHERE id = 1"
want "email || ''" "****" "SELECT email || '' FROM customers WHERE id = 1"
want "substr(ssn, 1, 3)" "[ssn]" "SELECT substr(ssn, 1, 3) FROM customers WHERE id = 1"
want "substr(email, 1, 5) (partial degraded to redact)" "****" \
  "SELECT substr(email, 1, 5) FROM customers WHERE id = 1"
want "CASE" "****" "SELECT CASE WHEN id > 0 THEN email END FROM customers WHERE id = 1"
want "COALESCE" "****" "SELECT coalesce(email, 'none') FROM customers WHERE id = 1"
want "scalar sub-select" "[ssn]" "SELECT (SELECT ssn FROM customers WHERE id = 2)"
want "subquery column" "****" "SELECT y FROM (SELECT upper(email) AS y FROM customers) s LIMIT 1"
cast_hashed() {
  local got
  got=$(q "SELECT card::text FROM customers WHERE id = 1")
  echo "$got"
  [[ "$got" =~ ^h[0-9a-f]{15}$ ]]
}
jg_check "card::text is still hashed" cast_hashed
want "row_to_json(c) (whole row: the strictest mask)" "<null>" \
  "SELECT row_to_json(c) FROM customers c WHERE id = 1"
want "to_jsonb(c.*)" "<null>" "SELECT to_jsonb(c.*) FROM customers c WHERE id = 1"
want "json_agg(email)" '"****"' "SELECT json_agg(email) FROM customers"
want "string_agg(ssn)" "[ssn]" "SELECT string_agg(ssn, ',') FROM customers"
want "count(*) with a predicate on a masked column is not masked" "1" \
  "SELECT count(*) FROM customers WHERE ssn LIKE '123%'"
want "a value computed without masked columns passes" "2|Alice Bob" \
  "SELECT count(*), string_agg(name, ' ' ORDER BY id) FROM customers"

jg_log "---- detectors"
want "detectors in free text (phone, email)" "call me at [hidden] or mail [hidden]" \
  "SELECT notes FROM customers WHERE id = 1"
want "detectors in free text (IBAN, card)" "IBAN [hidden] card [hidden]" \
  "SELECT notes FROM customers WHERE id = 2"
want "JWT in text" "token [hidden] here" "SELECT body FROM feed WHERE id = 1"
want "private key block" "[hidden]" "SELECT body FROM feed WHERE id = 2"
want "no false positives on ids, versions, dates" "nothing to see: order 12345, version 1.2.3, 2024-01-15" \
  "SELECT body FROM feed WHERE id = 3"
want "a literal is scanned too" "my card [hidden], my ssn [hidden]" \
  "SELECT 'my card 4111111111111111, my ssn 123-45-6789'"
want "a Luhn-invalid number is not a card" "4111111111111112" "SELECT '4111111111111112'"
want "SSN area 666 is not an SSN" "666-12-3456" "SELECT '666-12-3456'"
want "IBAN with a wrong check digit passes" "GB83WEST12345698765432" \
  "SELECT 'GB83WEST12345698765432'"

jg_log "---- cursors, prepared statements, RETURNING"
cursor_fetch() {
  local got
  got=$(psql -X -q -A -t "$(gw)" -c "BEGIN" \
    -c "DECLARE c CURSOR FOR SELECT lower(email), id FROM customers ORDER BY id" \
    -c "FETCH ALL FROM c" -c "COMMIT" 2>&1)
  echo "$got"
  [[ "$got" == $'****|1\n****|2' ]]
}
jg_check "FETCH from a cursor over an expression on a masked column" cursor_fetch
prepared_execute() {
  local got
  got=$(psql -X -q -A -t "$(gw)" -c "PREPARE p AS SELECT upper(ssn) FROM customers WHERE id = 1" \
    -c "EXECUTE p" 2>&1)
  echo "$got"
  [[ "$got" == "[ssn]" ]]
}
jg_check "EXECUTE of an SQL prepared statement" prepared_execute
want "RETURNING" "$a_email|[ssn]" \
  "UPDATE customers SET name = name WHERE id = 1 RETURNING email, ssn"
fetch_count() {
  local got
  got=$(psql -X -q -A -t -v FETCH_COUNT=1 "$(gw)" -c "SELECT lower(email) FROM customers ORDER BY id")
  echo "$got"
  [[ "$got" == $'****\n****' ]]
}
jg_check "psql FETCH_COUNT (its own cursor) path" fetch_count

jg_log "---- COPY TO STDOUT"
copy_text() {
  local got
  got=$(q "COPY customers (id, email, ssn, phone, notes) TO STDOUT" | sort)
  echo "$got"
  [[ "$got" == "1	$a_email	[ssn]	\N	call me at [hidden] or mail [hidden]
2	$b_email	[ssn]	\N	IBAN [hidden] card [hidden]" ]]
}
jg_check "COPY table (columns) TO STDOUT, text" copy_text
copy_csv() {
  local got
  got=$(q "COPY (SELECT id, email, lower(ssn) FROM customers ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)")
  echo "$got"
  [[ "$got" == "id,email,lower
1,\"$a_email\",\"[ssn]\"
2,\"$b_email\",\"[ssn]\"" ]]
}
jg_check "COPY (query) TO STDOUT, CSV with header" copy_csv
copy_whole_table() {
  local got
  got=$(q "COPY customers TO STDOUT")
  echo "$got"
  [[ "$got" != *alice* && "$got" != *123-45* && "$got" != *4111* && "$got" != *AKIA* &&
     "$got" == *"1970-01-01"* ]]
}
jg_check "COPY table TO STDOUT masks every column (typed)" copy_whole_table
copy_star_query() {
  local got
  got=$(q "COPY (SELECT * FROM customers ORDER BY id) TO STDOUT")
  echo "$got"
  [[ "$got" != *alice* && "$got" != *123-45* && "$got" != *a0eebc99* && "$got" != *1980-05* &&
     "$got" != *123456.78* && "$got" != *4321* && "$got" == 1$'\t'Alice$'\t'* ]]
}
jg_check "COPY (SELECT * FROM t) TO STDOUT is masked as COPY t" copy_star_query
copy_opaque_query() {
  local got
  got=$(q "COPY (SELECT *, 1 AS one FROM customers c JOIN orders o ON o.customer_id = c.id) TO STDOUT")
  echo "$got"
  [[ "$got" != *alice* && "$got" != *123-45* && "$got" != *a0eebc99* && "$got" != *1980-05* &&
     "$got" != *4321* && "$got" == *'\N'* ]]
}
jg_check "COPY of a query whose columns cannot be told apart: every value NULL" copy_opaque_query
copy_binary() {
  psql -X -q "$(gw)" -c "COPY customers TO STDOUT (FORMAT binary)" >"$work/copy.bin" 2>&1 ||
    return 1
  od -c "$work/copy.bin" | head -3
  head -c 11 "$work/copy.bin" | od -An -c | grep -q 'P   G   C   O   P   Y' &&
    ! grep -aq -e alice -e 123-45 -e 4111 -e AKIA -e 555 "$work/copy.bin" &&
    [[ $(tail -c 2 "$work/copy.bin" | od -An -tx1 | tr -d ' ') == ffff ]]
}
jg_check "COPY TO STDOUT binary: valid stream, no sensitive bytes" copy_binary
copy_binary_query() {
  psql -X -q "$(gw)" -c "COPY (SELECT id, email, notes FROM customers) TO STDOUT (FORMAT binary)" \
    >"$work/copyq.bin" 2>&1 || return 1
  ! grep -aq -e alice -e bob@ -e 555 -e GB82 "$work/copyq.bin"
}
jg_check "COPY (query) TO STDOUT binary" copy_binary_query

jg_log "---- values echoed by errors, notices and notifications"
lacks "unique violation DETAIL" "alice@example.com" "Key (email)=(****) already exists" \
  psql -X -q "$(gw)" -c "INSERT INTO customers (id, name, email) VALUES (3, 'x', 'alice@example.com')"
lacks "not-null violation 'Failing row contains'" "carol@" "Failing row contains (****)" \
  psql -X -q "$(gw)" -c "INSERT INTO customers (id, name, email) VALUES (5, NULL, 'carol@example.com')"
lacks "a cast error echoes the value" "123-45-6789" 'type integer: "****"' \
  psql -X -q "$(gw)" -c "SELECT ssn::int FROM customers WHERE id = 1"
lacks "a data exception echoes a masked number" "123456.78" 'type date: "****"' \
  psql -X -q "$(gw)" -c "SELECT salary::text::date FROM customers WHERE id = 1"
lacks "RAISE NOTICE" "123-45-6789" "NOTICE:  ssn=[hidden] mail=[hidden]" \
  psql -X -q "$(gw)" -c "SELECT leak(1)"
lacks "NOTIFY payload" "234-56-7890" 'with payload "[hidden]"' psql -X -q "$(gw)" -c "LISTEN ch" \
  -c "SELECT pg_notify('ch', (SELECT ssn FROM customers WHERE id = 2))" -c "SELECT 1"

jg_log "---- the support policy unmasks"
want_support "unmasked columns and rules in clear" "alice@example.com|123-45-6789|+14155550123" \
  "SELECT email, ssn, phone FROM customers WHERE id = 1"
want_support "what it does not unmask stays masked" "1970-01-01" \
  "SELECT born FROM customers WHERE id = 1"
want_support "detectors still run on other columns" "IBAN [hidden] card [hidden]" \
  "SELECT notes FROM customers WHERE id = 2"

jg_log "---- masked values cannot be copied into the database"
refused_copy() {  # refused_copy NAME SQL: refused by masking.no-copy (42501), nothing written
  local out
  out=$(psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$(gw)" -c "$2" 2>&1)
  if [[ "$out" == *"42501"* && "$out" == *"masking.no-copy"* ]]; then
    jg_pass "$1"
  else
    jg_fail "$1" "sql: $2" "$out"
  fi
}
refused_copy "CREATE TABLE AS renaming a masked column" \
  "CREATE TABLE leak AS SELECT email AS e FROM customers"
refused_copy "CREATE TEMP TABLE AS SELECT * of a masked table" \
  "CREATE TEMP TABLE leak2 AS SELECT * FROM customers"
refused_copy "SELECT INTO" "SELECT ssn INTO TEMP leak3 FROM customers"
refused_copy "INSERT ... SELECT into an unmasked table" "INSERT INTO feed (body) SELECT ssn FROM customers"
refused_copy "UPDATE SET from a masked column" \
  "UPDATE orders SET total = (SELECT pin FROM customers LIMIT 1) WHERE id = 10"
refused_copy "CREATE VIEW renaming a masked column" "CREATE VIEW leak4 AS SELECT ssn AS s FROM customers"
want "an UPDATE keeping a masked column in place runs" "" \
  "UPDATE customers SET email = lower(email) WHERE id = 99"
nothing_copied() {
  local got
  got=$(db "SELECT count(*) FROM pg_class WHERE relname LIKE 'leak%'")
  echo "relations named leak*: $got"
  [[ "$got" == 0 ]]
}
jg_check "no leak relation exists (read directly)" nothing_copied

jg_log "---- pgbench through a masking policy"
pgbench_ok() {  # pgbench_ok NAME ARGS...: 0 failed transactions, some processed
  local name=$1 out
  shift
  out=$(PGPASSWORD=$agent_token pgbench -h 127.0.0.1 -p "$gw_port" -U agent "$@" shop 2>&1)
  if grep -qE '^number of failed transactions: 0 ' <<<"$out" &&
     grep -qE '^number of transactions actually processed: [1-9]' <<<"$out"; then
    jg_pass "$name ($(grep -oE 'tps = [0-9.]+' <<<"$out" | head -1))"
  else
    jg_fail "$name" "$(tail -5 <<<"$out")"
  fi
}
pgbench_ok "pgbench -S -c 8 simple" -n -S -c 8 -j 2 -T 3
pgbench_ok "pgbench -S -c 8 extended" -n -S -c 8 -j 2 -T 3 -M extended
pgbench_ok "pgbench -S -c 8 prepared" -n -S -c 8 -j 2 -T 3 -M prepared
pgbench_ok "pgbench TPC-B -c 4" -n -c 4 -j 2 -T 3

jg_log "---- a 1 GiB result streams through with bounded memory"
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$JG_JITGATE_PID/status"; }
# count_stream: prints "<bytes> <lines> <lines with a raw email> <lines masked>" of stdin.
count_stream() {
  python3 -c '
import sys
n = lines = raw = masked = 0
for line in sys.stdin.buffer:
    n += len(line); lines += 1
    if b"@example.com" in line: raw += 1
    if b"****" in line or b"[hidden]" in line: masked += 1
print(n, lines, raw, masked)'
}
# watch_rss FILE: samples the gateway's RSS (KiB) every 0.2 s into FILE until killed.
watch_rss() { while :; do rss_kb >>"$1"; sleep 0.2; done; }
big_select="SELECT i, repeat(md5(i::text), 30) AS payload, 'user' || i || '@example.com' AS email
  FROM generate_series(1, 1200000) i"
stream_check() {  # stream_check NAME MODE: MODE rows (DataRow via a cursor) or copy
  local name=$1 mode=$2 before peak counts bytes lines raw masked
  before=$(rss_kb)
  : >"$work/rss.$mode"
  watch_rss "$work/rss.$mode" &
  local watcher=$!
  if [[ $mode == rows ]]; then
    counts=$(psql -X -q -A -t -v FETCH_COUNT=20000 "$(gw)" -c "$big_select" | count_stream)
  else
    counts=$(psql -X -q "$(gw)" -c "COPY ($big_select) TO STDOUT" | count_stream)
  fi
  kill "$watcher" 2>/dev/null
  wait "$watcher" 2>/dev/null
  peak=$(sort -n "$work/rss.$mode" | tail -1)
  read -r bytes lines raw masked <<<"$counts"
  jg_log "$name: $bytes bytes, $lines rows, $raw raw, $masked masked; RSS $before KiB -> peak $peak KiB"
  if ((bytes >= 1073741824 && lines == 1200000 && raw == 0 && masked == lines &&
       peak - before < 131072)); then
    jg_pass "$name (${bytes} bytes, RSS +$(((peak - before) / 1024)) MiB)"
  else
    jg_fail "$name" "bytes=$bytes lines=$lines raw=$raw masked=$masked rss_before=$before peak=$peak"
  fi
}
stream_check "1 GiB of DataRows, every row masked, memory bounded" rows
stream_check "1 GiB COPY TO STDOUT scanned by the detectors, memory bounded" copy

jg_log "---- the first row of a slow result arrives before the query ends"
slow_first_row() {
  # Rows of 20 kB, one a second. The server flushes its 8 kB send buffer as each row fills it, so
  # a row is complete on the wire when the next one starts; through the gateway the first row
  # must arrive when it does directly (not at the end), and every row go through the masker (the
  # email column).
  local sql="query SELECT i, repeat('z', 20000) AS pad, 'a' || i || '@example.com' AS email, pg_sleep(1) FROM generate_series(1, 4) i"
  local direct="host=127.0.0.1 port=$pg_port user=jitgate dbname=shop sslmode=disable"
  printf '%s\n' "$sql" | python3 "$JG_SOURCE_ROOT/tests/integration/pgraw.py" -t "$direct" \
    >"$work/slow-direct.out" 2>&1
  printf '%s\n' "$sql" | python3 "$JG_SOURCE_ROOT/tests/integration/pgraw.py" -t "$(gw)" \
    >"$work/slow.out" 2>&1
  local first_direct first done_at
  first_direct=$(awk '$2 == "D" { sub("t=", "", $1); print $1; exit }' "$work/slow-direct.out")
  first=$(awk '$2 == "D" { sub("t=", "", $1); print $1; exit }' "$work/slow.out")
  done_at=$(awk '$2 == "C" { sub("t=", "", $1); print $1; exit }' "$work/slow.out")
  echo "first row: direct t=$first_direct ms, through jitgate t=$first ms; CommandComplete t=$done_at ms"
  grep -E '^t=[0-9]+ D ' "$work/slow.out" | cut -c1-60
  [[ -n "$first" && -n "$done_at" && -n "$first_direct" ]] && ((done_at - first >= 1500)) &&
    ((first - first_direct < 500)) && ! grep -q '@example.com' "$work/slow.out" &&
    [[ $(grep -c "'\*\*\*\*'" "$work/slow.out") -eq 4 ]]
}
jg_check "the first masked row of a slow result arrives as directly, long before the end" slow_first_row

jg_log "---- extended protocol: binary results, Describe-less Execute, pipelines (pgraw)"
raw() {  # raw OUT: runs the pgraw script on stdin through the gateway as the agent
  python3 "$JG_SOURCE_ROOT/tests/integration/pgraw.py" "$(gw)" >"$1" 2>&1
}
raw_binary() {
  printf '%s\n' \
    "parse s1 SELECT id, email, token, born, pin, notes FROM customers WHERE id = 1" \
    "bind p1 s1 1 1 1 1 1 1" "execute p1" "sync" "wait" \
    "parse s1b SELECT email FROM customers WHERE id = 2" "bind p1b s1b 1" "execute p1b" "sync" | raw "$work/raw1.out"
  cat "$work/raw1.out"
  local hex_a hex_b hex_notes
  hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
  hex_a=$(hex "$a_email") hex_b=$(hex "$b_email")
  hex_notes=$(hex "call me at [hidden] or mail [hidden]")
  grep -q -e alice -e "$(hex alice)" "$work/raw1.out" && return 1
  # id 1 as int4, the masked email text, a 16-byte uuid, 1970-01-01 = -10957 days, pin 0.
  grep -qE "^D x'00000001' x'$hex_a' x'[0-9a-f]{32}' x'ffffd533' x'00000000' x'$hex_notes'$" \
    "$work/raw1.out" && grep -qE "^D x'$hex_b'$" "$work/raw1.out" &&
    ! grep -q '^T ' "$work/raw1.out"  # the gateway's own Describe is not forwarded
}
jg_check "binary-format results of a never-described statement (Parse/Bind/Execute, no Describe)" raw_binary
raw_described_statement() {
  printf '%s\n' \
    "parse s2 SELECT ssn, lower(email) FROM customers WHERE id = \$1" "describe S s2" "sync" "wait" \
    "bindp p2 s2 2" "execute p2" "sync" "wait" \
    "bindp p3 s2 1" "execute p3" "sync" | raw "$work/raw2.out"
  cat "$work/raw2.out"
  [[ $(grep -c "^D '\[ssn\]' '\*\*\*\*'$" "$work/raw2.out") == 2 ]]
}
jg_check "Bind/Execute of a statement described once (its description reused)" raw_described_statement
raw_error_batch() {
  printf '%s\n' \
    "parse e1 SELECT 1/0" "bind pe e1" "execute pe" "sync" \
    "parse e2 SELECT email FROM customers WHERE id = 1" "bind pe2 e2" "execute pe2" "sync" \
    "query SELECT ssn FROM customers WHERE id = 2" | raw "$work/raw3.out"
  cat "$work/raw3.out"
  grep -q "^E sqlstate=22012" "$work/raw3.out" &&
    grep -qE "^D '\*\*\*\*\*@\*\*\*\*\*\*e\.com'$" "$work/raw3.out" &&
    grep -qE "^D '\[ssn\]'$" "$work/raw3.out" && ! grep -q -e alice -e 234-56 "$work/raw3.out"
}
jg_check "an error in a pipelined batch, then the next batch and a Query still masked" raw_error_batch
raw_reparse() {
  # The unnamed statement re-parsed with other columns: the old description must not be used.
  printf '%s\n' \
    "parse - SELECT id FROM customers WHERE id = 1" "describe S -" "sync" "wait" \
    "parse - SELECT ssn FROM customers WHERE id = 1" "bind - -" "execute -" "sync" | raw "$work/raw4.out"
  cat "$work/raw4.out"
  grep -qE "^D '\[ssn\]'$" "$work/raw4.out" && ! grep -q 123-45 "$work/raw4.out"
}
jg_check "a re-parsed statement is not masked with its old description" raw_reparse

jg_log "masking_pg took $((SECONDS - started_s)) s"
jg_finish
