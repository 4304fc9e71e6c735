#!/usr/bin/env bash
# gateway_pg.sh: the PostgreSQL gateway end to end: real clients (psql, pgbench, libpq through
# tests/integration/pgprobe.c) authenticate to jitgate with minted access tokens over TLS,
# jitgate grants access from policy and signs in to a real PostgreSQL 15 with its own credential
# (SCRAM-SHA-256, md5, and SCRAM over verify-full TLS to the server).
#
# Checks: sslmode=require and verify-full; a plaintext StartupMessage refused on the TLS listener;
# the insecure listener; every token defect refused with 28P01 (expired, not yet valid, wrong
# audience / issuer / tenant, unknown kid, bad signature, alg none, HS256 signed with the public
# key, truncated, 64 KiB, groups overage) and unauthorized identities with 28000; unknown
# resource 3D000; approval policies refused; startup parameters passed except identity ones;
# pgbench simple/extended/prepared with zero failures; cancel of pg_sleep through the gateway;
# grant expiry cutting an idle and a busy session with 57P01 within the promised time; a restart
# reloading the grant log; clean SIGTERM. Env: JITGATE, JG_SOURCE_ROOT. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck disable=SC2317

JG_SOURCE_ROOT=${JG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$JG_SOURCE_ROOT/scripts/lib/db.sh"
jg_test_init
# Failed checks print their command; tokens are long and not interesting there. (Runs the
# command in a subshell: not for commands that wait for this shell's children.)
jg_check_quiet() {
  local name=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  if ((rc == 0)); then
    jg_pass "$name"
  else
    jg_fail "$name" "exit status $rc"
    tail -n 15 <<<"$out" | sed -E 's/eyJ[A-Za-z0-9_.-]{20,}/<token>/g; s/^/    | /' | cut -c1-300
  fi
  return $rc
}

work=$(jg_tmpdir)
pg_port=$(jg_free_port)
gw_port=$(jg_free_port)
dev_port=$(jg_free_port)
unset PGPASSWORD PGUSER PGDATABASE PGSSLMODE PGOPTIONS
export PGCONNECT_TIMEOUT=10

# ---- PKI: a CA, the gateway's certificate (localhost, 127.0.0.1), the database's, another CA.
pki=$work/pki
mkdir -p "$pki"
make_ca() {  # make_ca NAME
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$pki/$1.key" -out "$pki/$1.pem" >/dev/null 2>&1
}
make_cert() {  # make_cert CA NAME
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$pki/$2.key" \
    -out "$pki/$2.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$pki/$2.ext" &&
    openssl x509 -req -in "$pki/$2.csr" -CA "$pki/$1.pem" -CAkey "$pki/$1.key" -CAcreateserial \
      -days 2 -extfile "$pki/$2.ext" -out "$pki/$2.pem" >/dev/null 2>&1
}
make_ca ca && make_ca other-ca && make_cert ca gateway && make_cert ca db ||
  jg_die "openssl could not make the test certificates"
chmod 0600 "$pki"/*.key
chown postgres: "$pki/db.key" "$pki/db.pem" 2>/dev/null || true
chmod 0755 "$pki"

jg_log "starting postgres (TLS on) on 127.0.0.1:$pg_port"
jg_pg_start "$work/pg" "$pg_port" ssl=on ssl_cert_file="$pki/db.pem" ssl_key_file="$pki/db.key" ||
  jg_die "postgres did not start"
# The gateway's roles: SCRAM (default), md5; pg_hba lines ahead of initdb's trust lines.
jg_pg_sql "$pg_port" "CREATE ROLE jitgate LOGIN PASSWORD 'gw-secret-1'" >/dev/null
jg_pg_sql "$pg_port" "SET password_encryption = 'md5'; CREATE ROLE jitgate_md5 LOGIN PASSWORD 'gw-secret-2'" >/dev/null
jg_pg_sql "$pg_port" "CREATE DATABASE orders OWNER jitgate" >/dev/null
hba=$work/pg/pgdata/pg_hba.conf
{
  printf 'hostssl all jitgate 127.0.0.1/32 scram-sha-256\n'
  printf 'host all jitgate 127.0.0.1/32 scram-sha-256\n'
  printf 'host all jitgate_md5 127.0.0.1/32 md5\n'
  cat "$hba"
} >"$hba.new" && mv "$hba.new" "$hba" && chown postgres: "$hba"
jg_pg_sql "$pg_port" "SELECT pg_reload_conf()" >/dev/null

# ---- identity: a dev key and its JWKS, a second key the gateway does not know.
"$JITGATE" token keygen --dir "$work/keys" >/dev/null || jg_die "token keygen failed"
"$JITGATE" token keygen --dir "$work/otherkeys" >/dev/null || jg_die "token keygen failed"
tenant=11111111-2222-4333-8444-555555555555
issuer="https://login.microsoftonline.com/$tenant/v2.0"
audience="api://jitgate-test"
mint() {  # mint [extra mint flags...]: a good token for the reader agent unless overridden
  "$JITGATE" token mint --dev-key "$work/keys/dev-key.pem" --issuer "$issuer" \
    --audience "$audience" --tenant "$tenant" --role Orders.Read \
    --subject aaaaaaaa-0000-4000-8000-000000000001 "$@"
}

cat >"$work/jitgate.json" <<EOF
{"shards": 2,
 "listeners": [
   {"name": "pg", "protocol": "postgres", "address": "127.0.0.1:$gw_port",
    "tls": {"cert": "$pki/gateway.pem", "key": "$pki/gateway.key"}},
   {"name": "dev", "protocol": "postgres", "address": "127.0.0.1:$dev_port", "insecure": true}],
 "identity": {"issuer": "$issuer", "audience": "$audience", "tenant": "$tenant",
              "jwks_file": "$work/keys/jwks.json", "clock_skew_s": 30,
              "unknown_kid_refresh_min_s": 1},
 "resources": {
   "orders": {"protocol": "postgres", "address": "127.0.0.1:$pg_port", "database": "orders",
              "user": "jitgate", "password_env": "JG_TEST_DB_PASSWORD"},
   "orders_tls": {"protocol": "postgres", "address": "127.0.0.1:$pg_port", "database": "orders",
                  "user": "jitgate", "password_env": "JG_TEST_DB_PASSWORD",
                  "tls": "verify-full", "tls_ca": "$pki/ca.pem", "tls_server_name": "localhost"},
   "orders_md5": {"protocol": "postgres", "address": "127.0.0.1:$pg_port", "database": "orders",
                  "user": "jitgate_md5", "password_file": "$work/md5.password"},
   "orders_brief": {"protocol": "postgres", "address": "127.0.0.1:$pg_port",
                    "database": "orders", "user": "jitgate",
                    "password_env": "JG_TEST_DB_PASSWORD"},
   "orders_gated": {"protocol": "postgres", "address": "127.0.0.1:$pg_port",
                    "database": "orders", "user": "jitgate",
                    "password_env": "JG_TEST_DB_PASSWORD"}},
 "policies": [
   {"name": "brief", "match": {"roles": ["Orders.Read"]}, "resources": ["orders_brief"],
    "access": {"mode": "auto", "max_duration_s": 3}},
   {"name": "readers", "match": {"roles": ["Orders.Read"]},
    "resources": ["orders", "orders_tls", "orders_md5"],
    "access": {"mode": "auto", "max_duration_s": 900}},
   {"name": "gated", "match": {"roles": ["Orders.Read"]}, "resources": ["orders_gated"],
    "access": {"mode": "approval", "max_duration_s": 900}}],
 "grants": {"log": "$work/grants.log", "fsync": true},
 "limits": {"auth_timeout_ms": 5000}}
EOF
printf 'gw-secret-2\n' >"$work/md5.password"
chmod 0600 "$work/md5.password"
export JG_TEST_DB_PASSWORD=gw-secret-1
jg_check "policy check accepts the config" "$JITGATE" policy check "$work/jitgate.json"

log=$work/jitgate.log
jg_log "starting jitgate gateway on 127.0.0.1:$gw_port (TLS) and :$dev_port (insecure)"
jg_jitgate_up "$work/jitgate.json" "$log" --log-level info
jitgate_pid=$JG_JITGATE_PID

cc -O2 -Wall -Werror -o "$work/pgprobe" "$JG_SOURCE_ROOT/tests/integration/pgprobe.c" \
  $(pkg-config --cflags --libs libpq) || jg_die "pgprobe did not build"
probe=$work/pgprobe
token=$(mint) || jg_die "token mint failed"
gw="host=127.0.0.1 port=$gw_port user=agent sslmode=require"

# expect_sqlstate CODE CONNINFO: the connection (or its first query) fails with SQLSTATE CODE.
expect_sqlstate() {
  local code=$1 out
  out=$("$probe" query "$2" "SELECT 1" 2>&1)
  echo "$out"
  grep -q "sqlstate=$code" <<<"$out"
}
# conn TOKEN [DB] [extra]: the TLS listener's conninfo for TOKEN.
conn() { printf "%s dbname=%s password=%s %s" "$gw" "${2:-orders}" "$1" "${3:-}"; }

# ---- connecting
jg_check_quiet "psql over TLS runs a query as the gateway's role" \
  bash -c "psql -X -A -t '$(conn "$token")' -c 'SELECT current_user' | tee /dev/stderr |
    grep -qx jitgate"
jg_check_quiet "libpq verify-full against the gateway's certificate" \
  "$probe" query "host=localhost hostaddr=127.0.0.1 port=$gw_port user=agent dbname=orders \
    sslmode=verify-full sslrootcert=$pki/ca.pem password=$token" "SELECT 41 + 1"
jg_check_quiet "libpq verify-full with another CA fails on the client side" \
  bash -c "! '$probe' query 'host=localhost hostaddr=127.0.0.1 port=$gw_port user=agent \
    dbname=orders sslmode=verify-full sslrootcert=$pki/other-ca.pem password=$token' 'SELECT 1'"
jg_check_quiet "params: TLS on, server_version passed, our cancel key" \
  bash -c "'$probe' params '$(conn "$token")' | tee /dev/stderr | grep -q 'ssl=on'"
jg_check_quiet "plaintext StartupMessage on the TLS listener: 28000" \
  expect_sqlstate 28000 "host=127.0.0.1 port=$gw_port user=agent dbname=orders sslmode=disable \
    password=$token"
jg_check_quiet "insecure listener (local development) works without TLS" \
  "$probe" query "host=127.0.0.1 port=$dev_port user=agent dbname=orders sslmode=disable \
    password=$token" "SELECT 1"
jg_check_quiet "resource over verify-full TLS to the database (SCRAM-SHA-256-PLUS)" \
  bash -c "'$probe' query '$(conn "$token" orders_tls)' \
    'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' | tee /dev/stderr | grep -qx t"
jg_check_quiet "resource with an md5 role from a password file" \
  bash -c "'$probe' query '$(conn "$token" orders_md5)' 'SELECT current_user' | grep -qx jitgate_md5"
jg_check_quiet "unknown resource: 3D000" expect_sqlstate 3D000 "$(conn "$token" nosuchdb)"
jg_check_quiet "approval policy: 28000 saying approval is required" \
  bash -c "'$probe' query '$(conn "$token" orders_gated)' 'SELECT 1' | grep -q 'sqlstate=28000.*approval'"
jg_check_quiet "startup parameters reach the backend, identity ones do not" \
  bash -c "PGOPTIONS='-c role=postgres -c search_path=audit_test -c session_authorization=postgres' \
    PGAPPNAME=jg-app '$probe' query '$(conn "$token")' \
    \"SELECT current_user || ',' || current_setting('search_path') || ',' || current_setting('application_name')\" \
    | tee /dev/stderr | grep -qx 'jitgate,audit_test,jg-app'"

# ---- token defects: 28P01, never a crash
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
sig_flipped=$(python3 -c '
import sys; t = sys.argv[1]; h, p, s = t.split(".")
c = "A" if s[5] != "A" else "B"
print(".".join([h, p, s[:5] + c + s[6:]]))' "$token")
header_none=$(printf '{"alg":"none","typ":"JWT","kid":"x"}' | b64url)
payload=$(cut -d. -f2 <<<"$token")
openssl pkey -in "$work/keys/dev-key.pem" -pubout -out "$work/pub.pem" 2>/dev/null
header_hs=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
hs_sig=$(printf '%s.%s' "$header_hs" "$payload" |
  openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$work/pub.pem")" -binary | b64url)
big_claim=$(python3 -c 'print("x" * 65536)')
other_kid=$("$JITGATE" token mint --dev-key "$work/otherkeys/dev-key.pem" --issuer "$issuer" \
  --audience "$audience" --tenant "$tenant" --role Orders.Read --kid unknown-kid-1)
declare -A bad_tokens=(
  [expired]=$(mint --ttl-s -120)
  [not_yet_valid]=$(mint --nbf-s 600)
  [wrong_audience]=$("$JITGATE" token mint --dev-key "$work/keys/dev-key.pem" --issuer "$issuer" \
    --audience api://someone-else --tenant "$tenant" --role Orders.Read)
  [wrong_issuer]=$("$JITGATE" token mint --dev-key "$work/keys/dev-key.pem" \
    --issuer "https://login.microsoftonline.com/$tenant/v2.1" --audience "$audience" \
    --tenant "$tenant" --role Orders.Read)
  [wrong_tenant]=$("$JITGATE" token mint --dev-key "$work/keys/dev-key.pem" --issuer "$issuer" \
    --audience "$audience" --tenant 99999999-2222-4333-8444-555555555555 --role Orders.Read)
  [unknown_kid]=$other_kid
  [bad_signature]=$sig_flipped
  [alg_none]="$header_none.$payload."
  [hs256_public_key]="$header_hs.$payload.$hs_sig"
  [truncated]=${token:0:$((${#token} - 20))}
  [groups_overage]=$(mint --claim '_claim_names={"groups":"src1"}')
  [not_a_jwt]=hello
)
for name in "${!bad_tokens[@]}"; do
  jg_check_quiet "token defect $name: 28P01" expect_sqlstate 28P01 "$(conn "${bad_tokens[$name]}")"
done
big=$(mint --claim "pad=\"$big_claim\"")
jg_check_quiet "a 64 KiB token: 28P01 (too large), not a crash" \
  expect_sqlstate 28P01 "$(conn "$big")"
medium=$(mint --claim "pad=\"${big_claim:0:20000}\"")
jg_check_quiet "a 27 KiB token (over token_size_max, under the message limit): 28P01" \
  expect_sqlstate 28P01 "$(conn "$medium")"
jg_check_quiet "a token with no role or group: 28000 (no policy)" \
  expect_sqlstate 28000 "$(conn "$(mint --drop-claim roles --scope Orders.Read)")"
# Key rotation: the issuer publishes a second key; a token signed with it is accepted once the
# unknown kid has triggered a refresh of the key set (at most once a second in this config).
python3 - "$work/keys/jwks.json" "$work/otherkeys/jwks.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a["keys"] += b["keys"]
json.dump(a, open(sys.argv[1] + ".new", "w"))
PY
mv "$work/keys/jwks.json.new" "$work/keys/jwks.json"
sleep 1.2
rotated=$("$JITGATE" token mint --dev-key "$work/otherkeys/dev-key.pem" --issuer "$issuer" \
  --audience "$audience" --tenant "$tenant" --role Orders.Read)
jg_check_quiet "a token signed with a newly published key is accepted after a key refresh" \
  "$probe" query "$(conn "$rotated")" "SELECT 1"
jg_check_quiet "jitgate still serving after the hostile tokens" \
  "$probe" query "$(conn "$token")" "SELECT 1"

# ---- pgbench through the gateway (the schema is made directly on the server)
PGPASSWORD=gw-secret-1 pgbench -i -s 1 -q -h 127.0.0.1 -p "$pg_port" -U jitgate orders \
  >"$work/pgbench-init.log" 2>&1 || jg_die "pgbench -i failed"
for mode in simple extended prepared; do
  jg_check_quiet "pgbench -S -M $mode through the TLS gateway: no failures" \
    bash -c "PGPASSWORD='$token' PGSSLMODE=require pgbench -n -S -M $mode -c 4 -j 2 -t 300 \
      -h 127.0.0.1 -p $gw_port -U agent orders 2>&1 | tee /dev/stderr |
      grep -q 'number of failed transactions: 0'"
done
jg_check_quiet "pgbench TPC-B through the TLS gateway: no failures" \
  bash -c "PGPASSWORD='$token' PGSSLMODE=require pgbench -n -c 4 -j 2 -t 100 \
    -h 127.0.0.1 -p $gw_port -U agent orders 2>&1 | grep -q 'number of failed transactions: 0'"
jg_check_quiet "pgbench -C (a new TLS session + token + SCRAM per transaction): no failures" \
  bash -c "PGPASSWORD='$token' PGSSLMODE=require pgbench -n -S -C -c 2 -j 2 -t 50 \
    -h 127.0.0.1 -p $gw_port -U agent orders 2>&1 | grep -q 'number of failed transactions: 0'"

# ---- cancel through the gateway: the CancelRequest may land on any shard
jg_check_quiet "cancel of pg_sleep(10) through the gateway: 57014" \
  "$probe" cancel "$(conn "$token")" "SELECT pg_sleep(10)" 500
jg_check_quiet "cancel over the insecure listener too" \
  "$probe" cancel "host=127.0.0.1 port=$dev_port user=agent dbname=orders sslmode=disable \
    password=$token" "SELECT pg_sleep(10)" 300

# ---- grant expiry: orders_brief grants last 3 s
grant_cut_ok() {  # grant_cut_ok OUTPUT_FILE: 57P01 naming the grant
  grep -q "sqlstate=57P01" "$1" && grep -q "grant g-" "$1"
}
"$probe" idle "$(conn "$token" orders_brief)" 20 >"$work/idle.out" 2>&1 &
idle_pid=$!
"$probe" hold "$(conn "$token" orders_brief)" 20 20 >"$work/hold.out" 2>&1 &
hold_pid=$!
wait "$idle_pid"
wait "$hold_pid"
cat "$work/idle.out" "$work/hold.out"
jg_check_quiet "grant expiry cuts an idle session with 57P01 naming the grant" grant_cut_ok "$work/idle.out"
jg_check_quiet "grant expiry cuts a busy session with 57P01" grant_cut_ok "$work/hold.out"
jg_check_quiet "the idle session was cut within 3 s + 100 ms of its grant" \
  bash -c "ms=\$(sed -nE 's/.*closed after_ms=([0-9]+).*/\1/p' '$work/idle.out'); \
    echo \"closed after \$ms ms\"; test -n \"\$ms\" && test \"\$ms\" -le 3400"
jg_check_quiet "the busy session's last query ran less than 100 ms before the cut" \
  bash -c "ms=\$(sed -nE 's/.*after_ms=([0-9]+).*/\1/p' '$work/hold.out'); \
    echo \"\$ms ms\"; test -n \"\$ms\" && test \"\$ms\" -le 150"
jg_check_quiet "the cut was logged" grep -q 'event=grant_expired_cut' "$log"

# ---- restart: grants survive in the log
grant_before=$(sed -nE 's/.*event=grant .*resource=orders policy=readers grant=(g-[0-9a-f]+).*/\1/p' "$log" | tail -1)
jg_check_quiet "a grant for orders was issued ($grant_before)" test -n "$grant_before"
jg_check "SIGTERM: jitgate exits 0" jg_jitgate_stop "$jitgate_pid"
jg_check_quiet "reconnects hit the token cache (summary token_cache_hits > 0)" \
  grep -qE 'event=summary .*token_cache_hits=[1-9]' "$log"
jg_check_quiet "the grant log holds the issued grant" grep -q "$grant_before" "$work/grants.log"
jg_jitgate_up "$work/jitgate.json" "$log.2" --log-level info
jitgate_pid=$JG_JITGATE_PID
jg_check_quiet "after the restart a connection works" "$probe" query "$(conn "$token")" "SELECT 1"
jg_check_quiet "and reuses the grant issued before the restart" \
  grep -qE "event=grant .*grant=$grant_before" "$log.2"
jg_check_quiet "no sanitizer report in the logs" bash -c "! grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' '$log' '$log.2'"
jg_check "SIGTERM: jitgate exits 0 again" jg_jitgate_stop "$jitgate_pid"
jg_pg_stop
jg_finish
