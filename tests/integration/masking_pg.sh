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
    CREATE TABLE big (id int, payload text, email text);
    CREATE TABLE feed (id serial, body text);" >/dev/null || jg_die "schema setup failed"
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
    "statements": {"allow": ["read", "write", "ddl", "session", "transaction"]}},
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
