#!/usr/bin/env bash
# bench/e2e.sh: end-to-end throughput/latency benchmark of jitgate against its peers.
#
# Starts PostgreSQL 15 (always with ssl=on; plain targets connect with sslmode=disable) and
# MariaDB on private 127.0.0.1 ports (through scripts/lib/db.sh), a release jitgate relay
# (2 shards, one postgres and one mysql listener), a jitgate gateway (token auth, SCRAM to the
# backend; an insecure and a TLS listener), HAProxy 2.6 (mode tcp, nbthread 2), PgBouncer
# (pool_mode=session) and PgBouncer with client TLS, then measures, interleaved per scenario:
#   tx:      pgbench -S -M {simple,extended} at -c 1 and -c 32 (-j 2)
#              against the pg targets below
#            sysbench oltp_point_select at 1 and 8 threads
#              against direct MariaDB, jitgate, HAProxy
#   connect: pgbench -S -C (a new connection per transaction) at -c CONNECT_CLIENTS
#              against CONNECT_TARGETS (TLS + SCRAM / token on every connection)
#   copy:    psql COPY ... TO STDOUT of a COPY_ROWS-row table mask_copy (id, email, note, card),
#              output counted by wc and discarded, against COPY_TARGETS: "copy" = the whole
#              table (column masks: email partial, card hash; note scanned by the detectors),
#              "copy-detect" = COPY (SELECT note FROM mask_copy) (detectors only); each
#              COPY_REPEATS times, interleaved across targets, median reported
# and prints ONE table to stdout: TPS, avg and p99 latency, ratios to direct, and each proxy's
# CPU cost (utime+stime of the proxy process from /proc/PID/stat, sampled right before and right
# after each measured run); the copy scenario prints a second table right after it (seconds,
# MB/s, ratio to direct, proxy CPU seconds). Progress goes to stderr. Everything started is
# stopped by pid on exit.
#
# Targets (pg; the mysql workload uses direct, jitgate, haproxy):
#   direct          PostgreSQL, user postgres (trust), sslmode=disable
#   direct-tls      PostgreSQL, sslmode=require, role jg_bench with scram-sha-256 (hostssl)
#   jitgate         jitgate relay listener ("resource"), sslmode=disable
#   jitgate-gw      jitgate gateway listener, "insecure": true; PGPASSWORD=<minted token>,
#                   dbname = resource name; jitgate signs in to PostgreSQL with SCRAM (jg_bench)
#   jitgate-gw-open the same gateway listener, resource bench_open, whose policy has
#                   "statements": {"inspect": false}: guardrails off (what they cost = gw vs this)
#   jitgate-gw-mask the same gateway listener, resource bench_mask, policy bench-mask: like
#                   bench-open (inspect false) but with the masking rules on (what masking costs
#                   = this vs gw-open): pgbench_accounts.abalance redacted (every -S row),
#                   mask_copy.email partial, mask_copy.card hash, the content detectors on every
#                   other column. The gateway's other policies unmask every rule, so jitgate-gw,
#                   -gw-open and -gw-tls mask nothing.
#   jitgate-gw-tls  the same gateway on its TLS listener, sslmode=require
#   jitgate-gw-audit a second gateway process, the same config plus an audit log ("audit":
#                   normal mode, group fsync every 200 ms, in the run's temp dir): what the audit
#                   log costs = this vs jitgate-gw
#   haproxy         HAProxy mode tcp, sslmode=disable
#   pgbouncer       PgBouncer session mode, auth_type=trust, sslmode=disable
#   pgbouncer-tls   PgBouncer session mode, client_tls_sslmode=require, auth_type=scram-sha-256
#                   (role jg_bench, SCRAM to PostgreSQL too), sslmode=require
#
# Usage: bench/e2e.sh [--quick]
# Environment:
#   DURATION=10      seconds per measured run (--quick: 3)
#   WARMUP=2         seconds of unmeasured warm-up run right before each measured run (--quick: 1)
#   ROUNDS=1         repeat the whole interleaved matrix N times and pool the results
#   SCALE=10         pgbench -i scale factor (--quick: 1)
#   MY_TABLE_SIZE=100000  sysbench rows in sbtest1 (--quick: 10000)
#   TARGETS="direct jitgate haproxy pgbouncer"  subset/order of targets (any of those above)
#   SCENARIOS="tx"              which scenarios: tx, connect, copy (e.g. SCENARIOS="tx copy")
#   PG_MODES="simple extended"  pgbench -M modes (prepared works too)
#   PG_CLIENTS="1 32"           pgbench -c values (-j is min(c, 2))
#   CONNECT_CLIENTS=8           pgbench -c of the connect scenario (-M simple, -j min(c, 2))
#   CONNECT_TARGETS="direct-tls jitgate-gw-tls pgbouncer-tls"  targets of the connect scenario
#                               (those also in TARGETS run)
#   COPY_ROWS=2000000           rows of mask_copy, >= 1000 (--quick: 200000)
#   COPY_REPEATS=3              measured COPY runs per target and query (median reported)
#   COPY_TARGETS="direct jitgate jitgate-gw-open jitgate-gw-mask"  targets of the copy scenario
#                               (those also in TARGETS run; any pg target works)
#   MY_THREADS="1 8"            sysbench --threads values
#   WORKLOADS="pg mysql"        which workloads to run
#   JITGATE=/path    use this jitgate binary instead of building build-release/src/jitgate
#   JITGATE_LOG_LEVEL=warn   jitgate --log-level (both jitgate processes)
#   JITGATE_SHARDS=2         jitgate shards ("auto" = one per CPU)
#   JITGATE_PIN=true         jitgate pin_shards (true pins shard i to CPU i)
#   OUT=file         also write the table to this file
# Exit status: 0 when every run succeeded, 1 when any run (or a proxy) failed, 2 on bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

QUICK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "e2e: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
if ((QUICK)); then
  : "${DURATION:=3}" "${WARMUP:=1}" "${SCALE:=1}" "${MY_TABLE_SIZE:=10000}" "${COPY_ROWS:=200000}"
fi
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-1}
SCALE=${SCALE:-10}
MY_TABLE_SIZE=${MY_TABLE_SIZE:-100000}
TARGETS=${TARGETS:-"direct jitgate haproxy pgbouncer"}
PG_MODES=${PG_MODES:-"simple extended"}
PG_CLIENTS=${PG_CLIENTS:-"1 32"}
SCENARIOS=${SCENARIOS:-tx}
CONNECT_CLIENTS=${CONNECT_CLIENTS:-8}
CONNECT_TARGETS=${CONNECT_TARGETS:-"direct-tls jitgate-gw-tls pgbouncer-tls"}
COPY_ROWS=${COPY_ROWS:-2000000}
COPY_REPEATS=${COPY_REPEATS:-3}
COPY_TARGETS=${COPY_TARGETS:-"direct jitgate jitgate-gw-open jitgate-gw-mask"}
MY_THREADS=${MY_THREADS:-"1 8"}
WORKLOADS=${WORKLOADS:-"pg mysql"}
JITGATE_LOG_LEVEL=${JITGATE_LOG_LEVEL:-warn}
JITGATE_SHARDS=${JITGATE_SHARDS:-2}
JITGATE_PIN=${JITGATE_PIN:-true}
for v in DURATION WARMUP ROUNDS SCALE MY_TABLE_SIZE CONNECT_CLIENTS COPY_ROWS COPY_REPEATS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "e2e: $v must be a non-negative integer, got '${!v}'" >&2; exit 2; }
done
((DURATION > 0 && ROUNDS > 0 && CONNECT_CLIENTS > 0 && COPY_ROWS > 0 && COPY_REPEATS > 0)) ||
  { echo "e2e: DURATION, ROUNDS, CONNECT_CLIENTS, COPY_ROWS and COPY_REPEATS must be > 0" >&2; exit 2; }
((COPY_ROWS >= 1000)) || { echo "e2e: COPY_ROWS must be >= 1000 (rows 100 and 1000 are checked)" >&2; exit 2; }
ALL_TARGETS="direct direct-tls jitgate jitgate-gw jitgate-gw-open jitgate-gw-mask jitgate-gw-tls jitgate-gw-audit haproxy pgbouncer pgbouncer-tls"
for t in $TARGETS $CONNECT_TARGETS $COPY_TARGETS; do
  [[ " $ALL_TARGETS " == *" $t "* ]] || { echo "e2e: unknown target '$t' (known: $ALL_TARGETS)" >&2; exit 2; }
done
for s in $SCENARIOS; do
  case $s in tx | connect | copy) ;; *) echo "e2e: unknown scenario '$s' (known: tx connect copy)" >&2; exit 2 ;; esac
done

log() { printf '[e2e %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
has_target() { [[ " $TARGETS " == *" $1 "* ]]; }
has_workload() { [[ " $WORKLOADS " == *" $1 "* ]]; }
has_scenario() { [[ " $SCENARIOS " == *" $1 "* ]]; }
has_jitgate_target() { has_target jitgate || has_target jitgate-gw || has_target jitgate-gw-tls || has_target jitgate-gw-open || has_target jitgate-gw-mask || has_target jitgate-gw-audit; }
# The gateway targets need the pg workload; TLS to PostgreSQL needs openssl for the certificate.
has_gw_target() { has_workload pg && { has_target jitgate-gw || has_target jitgate-gw-tls || has_target jitgate-gw-open || has_target jitgate-gw-mask || has_target jitgate-gw-audit; }; }
# The copy scenario runs COPY_TARGETS that are in TARGETS (pg workload only).
copy_targets() { local t; for t in $COPY_TARGETS; do has_target "$t" && printf '%s\n' "$t"; done; return 0; }
has_copy() { has_workload pg && has_scenario copy && [[ -n $(copy_targets) ]]; }

for tool in pgbench psql sysbench haproxy pgbouncer openssl awk sort wc; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup)"
done
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------
# jitgate binary: build a release one unless JITGATE is given.
if has_jitgate_target && [[ -z ${JITGATE:-} ]]; then
  log "building release jitgate in $ROOT/build-release"
  (
    cd "$ROOT"
    if [[ ! -f build-release/build.ninja ]]; then
      meson setup build-release --buildtype=release -Dtests=disabled
    fi
    ninja -C build-release src/jitgate
  ) >&2 || die "building jitgate failed (set JITGATE=/path, or TARGETS without jitgate*)"
  JITGATE=$ROOT/build-release/src/jitgate
fi
if has_jitgate_target; then
  [[ -x $JITGATE ]] || die "JITGATE=$JITGATE is not an executable"
  JITGATE=$(realpath "$JITGATE")
  export JITGATE
fi

[[ -f $ROOT/scripts/lib/db.sh ]] || die "$ROOT/scripts/lib/db.sh not found"
# shellcheck source=scripts/lib/db.sh
source "$ROOT/scripts/lib/db.sh"

# ---------------------------------------------------------------------------------------------
# Cleanup: our own proxies by pid, then whatever db.sh started.
HAPROXY_PID=
PGBOUNCER_PIDS=() # both PgBouncers (plain, TLS)
stop_pid() { # stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL; reaps our child.
  local pid=$1 name=$2 i
  [[ -n $pid ]] || return 0
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "$name (pid $pid) ignored SIGTERM, killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$HAPROXY_PID" haproxy
  local p
  for p in "${PGBOUNCER_PIDS[@]}"; do stop_pid "$p" pgbouncer; done
  jg_cleanup || true
  exit "$rc"
}
trap on_exit EXIT
trap 'log "interrupted, stopping everything"; exit 130' INT
trap 'log "terminated, stopping everything"; exit 143' TERM

TMP=$(jg_tmpdir)
log "temp dir $TMP"

cpu_ticks() { # cpu_ticks PID: utime+stime of the whole process (all threads), in clock ticks;
  # -1 when PID is gone or a zombie. Fields after the ')' that ends comm start at field 3 (state),
  # so utime (field 14) is $12 and stime (15) is $13.
  local v
  v=$(awk '{ sub(/^.*\) /, ""); if ($1 == "Z" || $1 == "X") print -1; else print $12 + $13 }' \
    "/proc/$1/stat" 2>/dev/null) || v=
  echo "${v:--1}"
}
alive() { (($(cpu_ticks "$1") >= 0)); }
now() { date +%s.%N; }

wait_tcp() { # wait_tcp PORT PID NAME: until 127.0.0.1:PORT accepts, PID is alive; 15 s max.
  local port=$1 pid=$2 name=$3 i
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || { log "$name (pid $pid) exited during start-up"; return 1; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "$name did not listen on 127.0.0.1:$port within 15 s"
  return 1
}

# Prefix that runs a command as the postgres user when we are root. It is a plain command (not a
# function), so `"${AS_POSTGRES[@]}" cmd &` makes $! the pid of cmd itself (setpriv execs).
AS_POSTGRES=()
if [[ $(id -u) -eq 0 ]]; then AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi

# ---------------------------------------------------------------------------------------------
# Servers.
# libpq defaults to sslmode=prefer and the server has ssl=on: every client says what it wants
# (run_pgbench sets PGSSLMODE per target); no password leaks in from the caller's environment.
unset PGPASSWORD PGPASSFILE PGSSLMODE PGREQUIRESSL PGGSSENCMODE
export PGSSLMODE=disable PGGSSENCMODE=disable
# One self-signed RSA-2048 certificate for localhost/127.0.0.1; each TLS server gets its own copy
# (sslmode=require checks no certificate, so every TLS target does the same handshake work).
make_cert() { # make_cert DIR: DIR/server.key (0600) and DIR/server.pem
  mkdir -p "$1" &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
      -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
      -keyout "$1/server.key" -out "$1/server.pem" >"$1/openssl.log" 2>&1 &&
    chmod 0600 "$1/server.key"
}
# The SCRAM role of direct-tls and pgbouncer-tls, and the gateway's own backend login.
BENCH_ROLE=jg_bench
BENCH_PASSWORD=jg-bench-$RANDOM$RANDOM
PG_PORT='' MY_PORT=''
if has_workload pg; then
  PG_PORT=$(jg_free_port)
  make_cert "$TMP/pki" || { cat "$TMP/pki/openssl.log" >&2; die "openssl could not make a certificate"; }
  mkdir -p "$TMP/pgtls"
  cp "$TMP/pki/server.key" "$TMP/pki/server.pem" "$TMP/pgtls/"
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$TMP/pgtls"; fi
  log "starting PostgreSQL (ssl=on) on 127.0.0.1:$PG_PORT"
  jg_pg_start "$TMP/pg" "$PG_PORT" ssl=on ssl_cert_file="$TMP/pgtls/server.pem" \
    ssl_key_file="$TMP/pgtls/server.key" || die "PostgreSQL did not start"
  log "pgbench -i -s $SCALE"
  PGCONNECT_TIMEOUT=10 pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres \
    >"$TMP/pgbench-init.log" 2>&1 || { cat "$TMP/pgbench-init.log" >&2; die "pgbench -i failed"; }
  if has_copy; then
    # The copy scenario's table, made directly on PostgreSQL before the GRANT below: ~100-byte
    # text rows (ids, an address-like email, a ~65-byte note with words and numbers; one note in
    # 1000 mentions an email, which the content detectors find), a card number on 1 row in 100
    # (NULL otherwise).
    log "creating mask_copy ($COPY_ROWS rows)"
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
      -c 'CREATE TABLE mask_copy (id int, email text, note text, card text)' \
      -c "INSERT INTO mask_copy
            SELECT i, 'user' || i || '@example.com',
                   'order ' || i || ' shipped from depot ' || (i % 97) || ' after ' || (i % 13) ||
                     ' days, status confirmed' ||
                     CASE WHEN i % 1000 = 0 THEN ', contact ops' || i || '@example.org' ELSE '' END,
                   CASE WHEN i % 100 = 0 THEN '4111 1111 1111 1111' END
            FROM generate_series(1, $COPY_ROWS) AS i" >&2 ||
      die "creating mask_copy failed"
  fi
  psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'VACUUM ANALYZE' >&2 ||
    die "VACUUM ANALYZE failed"
  # The role logs in with scram-sha-256 over TCP: its lines go ahead of initdb's trust lines
  # (the first matching line wins).
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -c "SET password_encryption = 'scram-sha-256'" \
    -c "CREATE ROLE $BENCH_ROLE LOGIN PASSWORD '$BENCH_PASSWORD'" \
    -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO $BENCH_ROLE" >&2 ||
    die "creating role $BENCH_ROLE failed"
  hba=$TMP/pg/pgdata/pg_hba.conf
  {
    printf 'hostssl all %s 127.0.0.1/32 scram-sha-256\n' "$BENCH_ROLE"
    printf 'host all %s 127.0.0.1/32 scram-sha-256\n' "$BENCH_ROLE"
    cat "$hba"
  } >"$hba.new" || die "writing $hba.new failed"
  mv "$hba.new" "$hba" || die "replacing $hba failed"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$hba"; fi
  psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'SELECT pg_reload_conf()' \
    >/dev/null || die "pg_reload_conf failed"
fi
if has_workload mysql; then
  MY_PORT=$(jg_free_port)
  log "starting MariaDB on 127.0.0.1:$MY_PORT"
  jg_mariadb_start "$TMP/mariadb" "$MY_PORT" || die "MariaDB did not start"
fi
SB_COMMON=(oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=jg
  --mysql-password=jg --mysql-db=sbtest --tables=1 --table-size="$MY_TABLE_SIZE")
if has_workload mysql; then
  log "sysbench prepare ($MY_TABLE_SIZE rows)"
  sysbench "${SB_COMMON[@]}" --mysql-port="$MY_PORT" prepare >"$TMP/sysbench-prepare.log" 2>&1 ||
    { cat "$TMP/sysbench-prepare.log" >&2; die "sysbench prepare failed"; }
fi

# ---------------------------------------------------------------------------------------------
# Proxies. PROXY_PID[target] / PG_TARGET_PORT[target] / MY_TARGET_PORT[target]; a proxy that
# fails to start leaves its pid empty and all its rows FAILED.
declare -A PROXY_PID=() PG_TARGET_PORT=() MY_TARGET_PORT=()
PG_TARGET_PORT[direct]=$PG_PORT
PG_TARGET_PORT[direct-tls]=$PG_PORT
MY_TARGET_PORT[direct]=$MY_PORT
START_FAILED=0

if has_target jitgate; then
  J_PG_PORT=$(jg_free_port)
  J_MY_PORT=$(jg_free_port)
  listeners=() resources=()
  if has_workload pg; then
    listeners+=("{\"name\": \"pg\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1:$J_PG_PORT\", \"resource\": \"main\"}")
    resources+=("\"main\": {\"protocol\": \"postgres\", \"address\": \"127.0.0.1:$PG_PORT\"}")
  fi
  if has_workload mysql; then
    listeners+=("{\"name\": \"my\", \"protocol\": \"mysql\", \"address\": \"127.0.0.1:$J_MY_PORT\", \"resource\": \"maria\"}")
    resources+=("\"maria\": {\"protocol\": \"mysql\", \"address\": \"127.0.0.1:$MY_PORT\"}")
  fi
  {
    printf '{"shards": %s, "pin_shards": %s,\n "listeners": [' "$JITGATE_SHARDS" "$JITGATE_PIN"
    (IFS=,; printf '%s' "${listeners[*]}")
    printf '],\n "resources": {'
    (IFS=,; printf '%s' "${resources[*]}")
    printf '}}\n'
  } >"$TMP/jitgate.json"
  log "starting jitgate $JITGATE (pg 127.0.0.1:$J_PG_PORT, mysql 127.0.0.1:$J_MY_PORT)"
  # event=ready prints at every log level; warn keeps per-connection lines out of the way.
  if jg_jitgate_start "$TMP/jitgate.json" "$TMP/jitgate.log" --log-level "$JITGATE_LOG_LEVEL" &&
    [[ -n ${JG_JITGATE_PID:-} ]]; then
    PROXY_PID[jitgate]=$JG_JITGATE_PID
    PG_TARGET_PORT[jitgate]=$J_PG_PORT
    MY_TARGET_PORT[jitgate]=$J_MY_PORT
  else
    log "jitgate did not start (its log is above); its rows will be FAILED"
    START_FAILED=1
  fi
fi

# The gateway: its own jitgate process (same shards and pinning as the relay) with an insecure
# and a TLS listener, one resource "bench" (database postgres, logged in as BENCH_ROLE with
# SCRAM), one auto policy, a grant log with fsync (the default). Clients send a token minted
# with a dev key as their password; one token for every connection (the per-shard token cache
# then skips the signature check after a shard's first connection, as for an agent that
# reconnects with the token it holds).
# Masking: the rules below apply to every policy that does not unmask them; bench and
# bench-open unmask every rule (they measure the gateway without masking), bench-mask unmasks
# nothing. Column rules come first (the first rule selecting a column decides), the detector
# rule scans every other column. The hash key (64 bytes) reaches jitgate through its environment.
GW_TOKEN=
GW_MASK_RULES='"balances", "emails", "cards", "content"'
if has_gw_target; then
  GW_DIR=$TMP/jitgate-gw
  mkdir -p "$GW_DIR"
  G_PORT=$(jg_free_port)
  GT_PORT=$(jg_free_port)
  gw_tenant=11111111-2222-4333-8444-555555555555
  gw_issuer="https://login.microsoftonline.com/$gw_tenant/v2.0"
  gw_audience=api://jitgate-bench
  make_cert "$GW_DIR" || { cat "$GW_DIR/openssl.log" >&2; die "openssl could not make a certificate"; }
  "$JITGATE" token keygen --dir "$GW_DIR/keys" >"$GW_DIR/keygen.log" 2>&1 ||
    { cat "$GW_DIR/keygen.log" >&2; die "jitgate token keygen failed"; }
  GW_TOKEN=$("$JITGATE" token mint --dev-key "$GW_DIR/keys/dev-key.pem" --issuer "$gw_issuer" \
    --audience "$gw_audience" --tenant "$gw_tenant" --role Bench.Read \
    --subject aaaaaaaa-0000-4000-8000-0000000be0c1 --ttl-s 86400 2>"$GW_DIR/mint.log") ||
    { cat "$GW_DIR/mint.log" >&2; die "jitgate token mint failed"; }
  cat >"$GW_DIR/jitgate.json" <<EOF
{"shards": $JITGATE_SHARDS, "pin_shards": $JITGATE_PIN,
 "listeners": [
   {"name": "gw", "protocol": "postgres", "address": "127.0.0.1:$G_PORT", "insecure": true},
   {"name": "gwtls", "protocol": "postgres", "address": "127.0.0.1:$GT_PORT",
    "tls": {"cert": "$GW_DIR/server.pem", "key": "$GW_DIR/server.key"}}],
 "identity": {"issuer": "$gw_issuer", "audience": "$gw_audience", "tenant": "$gw_tenant",
              "jwks_file": "$GW_DIR/keys/jwks.json"},
 "resources": {
   "bench": {"protocol": "postgres", "address": "127.0.0.1:$PG_PORT", "database": "postgres",
             "user": "$BENCH_ROLE", "password_env": "JG_BENCH_DB_PASSWORD"},
   "bench_open": {"protocol": "postgres", "address": "127.0.0.1:$PG_PORT", "database": "postgres",
                  "user": "$BENCH_ROLE", "password_env": "JG_BENCH_DB_PASSWORD"},
   "bench_mask": {"protocol": "postgres", "address": "127.0.0.1:$PG_PORT", "database": "postgres",
                  "user": "$BENCH_ROLE", "password_env": "JG_BENCH_DB_PASSWORD"}},
 "masking": {"hash_key_env": "JG_BENCH_MASK_KEY",
   "rules": [
     {"name": "balances", "columns": ["pgbench_accounts.abalance"], "strategy": "redact"},
     {"name": "emails", "columns": ["mask_copy.email"], "strategy": "partial", "keep": 4},
     {"name": "cards", "columns": ["mask_copy.card"], "strategy": "hash"},
     {"name": "content", "detectors": ["email", "card", "ssn", "phone", "iban", "secret"],
      "strategy": "redact"}]},
 "policies": [
   {"name": "bench", "match": {"roles": ["Bench.Read"]}, "resources": ["bench"],
    "access": {"mode": "auto", "max_duration_s": 86400},
    "unmask": {"rules": [$GW_MASK_RULES]}},
   {"name": "bench-open", "match": {"roles": ["Bench.Read"]}, "resources": ["bench_open"],
    "access": {"mode": "auto", "max_duration_s": 86400}, "statements": {"inspect": false},
    "unmask": {"rules": [$GW_MASK_RULES]}},
   {"name": "bench-mask", "match": {"roles": ["Bench.Read"]}, "resources": ["bench_mask"],
    "access": {"mode": "auto", "max_duration_s": 86400}, "statements": {"inspect": false}}],
 "grants": {"log": "$GW_DIR/grants.log", "fsync": true}}
EOF
  log "starting jitgate gateway (insecure 127.0.0.1:$G_PORT, TLS 127.0.0.1:$GT_PORT)"
  gw_mask_key=$(openssl rand -hex 32) || die "openssl rand failed"
  if JG_BENCH_DB_PASSWORD=$BENCH_PASSWORD JG_BENCH_MASK_KEY=$gw_mask_key \
    jg_jitgate_start "$GW_DIR/jitgate.json" "$GW_DIR/jitgate.log" \
    --log-level "$JITGATE_LOG_LEVEL" && [[ -n ${JG_JITGATE_PID:-} ]]; then
    PROXY_PID[jitgate-gw]=$JG_JITGATE_PID
    PROXY_PID[jitgate-gw-tls]=$JG_JITGATE_PID
    PROXY_PID[jitgate-gw-open]=$JG_JITGATE_PID
    PROXY_PID[jitgate-gw-mask]=$JG_JITGATE_PID
    PG_TARGET_PORT[jitgate-gw]=$G_PORT
    PG_TARGET_PORT[jitgate-gw-open]=$G_PORT
    PG_TARGET_PORT[jitgate-gw-mask]=$G_PORT
    PG_TARGET_PORT[jitgate-gw-tls]=$GT_PORT
  else
    log "jitgate gateway did not start (its log is above); its rows will be FAILED"
    START_FAILED=1
  fi
  if has_target jitgate-gw-audit; then
    # The same gateway with an audit log: its own ports, grant log and audit directory.
    GA_PORT=$(jg_free_port)
    GAT_PORT=$(jg_free_port)
    sed -e "s/127.0.0.1:$G_PORT\"/127.0.0.1:$GA_PORT\"/" -e "s/127.0.0.1:$GT_PORT\"/127.0.0.1:$GAT_PORT\"/" \
      -e "s#\"log\": \"$GW_DIR/grants.log\"#\"log\": \"$GW_DIR/grants-audit.log\"#" \
      -e "s#^ \"grants\":# \"audit\": {\"dir\": \"$GW_DIR/audit\", \"mode\": \"normal\"},\n \"grants\":#" \
      "$GW_DIR/jitgate.json" >"$GW_DIR/jitgate-audit.json"
    grep -q '"audit"' "$GW_DIR/jitgate-audit.json" || die "could not write the audit gateway's config"
    log "starting jitgate gateway with an audit log (insecure 127.0.0.1:$GA_PORT)"
    gw_pid=${JG_JITGATE_PID:-}
    if JG_BENCH_DB_PASSWORD=$BENCH_PASSWORD JG_BENCH_MASK_KEY=$gw_mask_key \
      jg_jitgate_start "$GW_DIR/jitgate-audit.json" "$GW_DIR/jitgate-audit.log" \
      --log-level "$JITGATE_LOG_LEVEL" && [[ -n ${JG_JITGATE_PID:-} ]]; then
      PROXY_PID[jitgate-gw-audit]=$JG_JITGATE_PID
      PG_TARGET_PORT[jitgate-gw-audit]=$GA_PORT
    else
      log "jitgate gateway with audit did not start (its log is above); its rows will be FAILED"
      START_FAILED=1
    fi
    JG_JITGATE_PID=$gw_pid
  fi
fi

if has_target haproxy; then
  H_PG_PORT=$(jg_free_port)
  H_MY_PORT=$(jg_free_port)
  {
    cat <<EOF
global
    nbthread 2
    maxconn 4000
    log stderr format short local0 warning
defaults
    mode tcp
    log global
    maxconn 4000
    timeout connect 10s
    timeout client 1h
    timeout server 1h
EOF
    if has_workload pg; then
      printf 'listen pg\n    bind 127.0.0.1:%s\n    server pg 127.0.0.1:%s\n' "$H_PG_PORT" "$PG_PORT"
    fi
    if has_workload mysql; then
      printf 'listen my\n    bind 127.0.0.1:%s\n    server my 127.0.0.1:%s\n' "$H_MY_PORT" "$MY_PORT"
    fi
  } >"$TMP/haproxy.cfg"
  haproxy -c -q -f "$TMP/haproxy.cfg" >&2 || die "haproxy rejected $TMP/haproxy.cfg"
  log "starting haproxy (pg 127.0.0.1:$H_PG_PORT, mysql 127.0.0.1:$H_MY_PORT)"
  haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  first_port=$H_PG_PORT
  has_workload pg || first_port=$H_MY_PORT
  if wait_tcp "$first_port" "$HAPROXY_PID" haproxy; then
    PROXY_PID[haproxy]=$HAPROXY_PID
    PG_TARGET_PORT[haproxy]=$H_PG_PORT
    MY_TARGET_PORT[haproxy]=$H_MY_PORT
  else
    tail -n 20 "$TMP/haproxy.log" >&2 || true
    START_FAILED=1
  fi
fi

# start_pgbouncer TARGET DIR [extra pgbouncer.ini lines...]: a session-mode PgBouncer in front
# of PostgreSQL's database postgres; sets PROXY_PID[TARGET] and PG_TARGET_PORT[TARGET] (or
# START_FAILED). DIR/userlist.txt must exist.
start_pgbouncer() {
  local target=$1 dir=$2 port pid line
  shift 2
  port=$(jg_free_port)
  {
    cat <<EOF
[databases]
postgres = host=127.0.0.1 port=$PG_PORT dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = session
max_client_conn = 200
default_pool_size = 50
max_db_connections = 0
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
EOF
    for line in "$@"; do printf '%s\n' "$line"; done
  } >"$dir/pgbouncer.ini"
  chmod a+r "$dir/pgbouncer.ini"
  # PgBouncer refuses to run as root: run it as postgres, which must reach, read and write DIR.
  if [[ $(id -u) -eq 0 ]]; then
    chown -R postgres: "$dir"
    "${AS_POSTGRES[@]}" test -w "$dir" || die "user postgres cannot write $dir"
  fi
  log "starting $target (127.0.0.1:$port, pool_mode=session)"
  "${AS_POSTGRES[@]}" pgbouncer "$dir/pgbouncer.ini" >"$dir/pgbouncer.out" 2>&1 &
  pid=$!
  PGBOUNCER_PIDS+=("$pid")
  if wait_tcp "$port" "$pid" "$target"; then
    PROXY_PID[$target]=$pid
    PG_TARGET_PORT[$target]=$port
  else
    tail -n 20 "$dir/pgbouncer.out" "$dir/pgbouncer.log" >&2 2>/dev/null || true
    START_FAILED=1
  fi
}

if has_target pgbouncer && has_workload pg; then
  BDIR=$TMP/pgbouncer
  mkdir -p "$BDIR"
  printf '"postgres" ""\n' >"$BDIR/userlist.txt"
  chmod a+r "$BDIR/userlist.txt"
  start_pgbouncer pgbouncer "$BDIR" 'auth_type = trust'
fi

if has_target pgbouncer-tls && has_workload pg; then
  BTDIR=$TMP/pgbouncer-tls
  make_cert "$BTDIR" || { cat "$BTDIR/openssl.log" >&2; die "openssl could not make a certificate"; }
  # A plain password: PgBouncer checks the client's SCRAM proof and does SCRAM to the server.
  printf '"%s" "%s"\n' "$BENCH_ROLE" "$BENCH_PASSWORD" >"$BTDIR/userlist.txt"
  chmod 0600 "$BTDIR/userlist.txt"
  start_pgbouncer pgbouncer-tls "$BTDIR" 'auth_type = scram-sha-256' \
    'client_tls_sslmode = require' "client_tls_key_file = $BTDIR/server.key" \
    "client_tls_cert_file = $BTDIR/server.pem"
fi

# ---------------------------------------------------------------------------------------------
# Runs. Each measured run appends its numbers to the accumulators keyed "scenario|target".
declare -A ACC_TX=() ACC_DUR=() ACC_LATSUM=() ACC_P99SUM=() ACC_N=() ACC_TICKS=() ACC_WALL=()
declare -A FAILED=()
RUN_SCENARIOS=()
ANY_FAILED=$START_FAILED

record() { # record KEY TX EFFECTIVE_SECONDS AVG_MS P99_MS TICKS WALL_SECONDS
  local k=$1
  ACC_TX[$k]=$((${ACC_TX[$k]:-0} + $2))
  ACC_DUR[$k]=$(awk -v a="${ACC_DUR[$k]:-0}" -v b="$3" 'BEGIN { printf "%.6f", a + b }')
  ACC_LATSUM[$k]=$(awk -v a="${ACC_LATSUM[$k]:-0}" -v n="$2" -v l="$4" 'BEGIN { printf "%.6f", a + n * l }')
  ACC_P99SUM[$k]=$(awk -v a="${ACC_P99SUM[$k]:-0}" -v b="$5" 'BEGIN { printf "%.6f", a + b }')
  ACC_N[$k]=$((${ACC_N[$k]:-0} + 1))
  ACC_TICKS[$k]=$((${ACC_TICKS[$k]:-0} + $6))
  ACC_WALL[$k]=$(awk -v a="${ACC_WALL[$k]:-0}" -v b="$7" 'BEGIN { printf "%.6f", a + b }')
}
show_output() { # show_output FILE: the error lines and the tail of a failed client's output.
  { grep -m 5 -iE 'error|fatal|abort|fail' "$1" || true; tail -n 3 "$1"; } | sed 's/^/    | /' >&2
}
fail_run() { # fail_run KEY WHY
  FAILED[$1]=1
  ANY_FAILED=1
  log "FAILED $1: $2"
}

# measure KEY TARGET CMD...: runs CMD with the target proxy's CPU sampled around it; sets
# M_RC, M_TICKS (-1 for direct), M_WALL; CMD's stdout+stderr go to $TMP/run.out. CMD gets
# MEASURE_LIMIT seconds (default DURATION + 120).
measure() {
  local target=$2 pid=${PROXY_PID[$2]:-} t0 t1 c0=-1 c1=-1
  shift 2
  [[ -n $pid ]] && c0=$(cpu_ticks "$pid")
  t0=$(now)
  M_RC=0
  timeout --foreground -k 5 "${MEASURE_LIMIT:-$((DURATION + 120))}" "$@" >"$TMP/run.out" 2>&1 || M_RC=$?
  t1=$(now)
  [[ -n $pid ]] && c1=$(cpu_ticks "$pid")
  M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
  M_TICKS=-1
  if [[ -n $pid ]]; then
    if ((c0 < 0 || c1 < 0)); then
      ((M_RC != 0)) || M_RC=98 # the proxy is gone: the run cannot count
      log "$target (pid $pid) is not running"
    else
      M_TICKS=$((c1 - c0))
    fi
  fi
}

target_ready() { # target_ready KEY TARGET PORT: fail the row when the target has no live port.
  local key=$1 target=$2 port=$3
  if [[ -z $port ]]; then fail_run "$key" "$target is not running"; return 1; fi
  if [[ $target != direct* ]] && ! alive "${PROXY_PID[$target]}"; then
    fail_run "$key" "$target (pid ${PROXY_PID[$target]}) has exited"; return 1
  fi
}

# show_jitgate_log TARGET: after a failed run of a jitgate target, the last lines of its log.
show_jitgate_log() {
  local f
  case $1 in
    jitgate) f=$TMP/jitgate.log ;;
    jitgate-gw | jitgate-gw-tls | jitgate-gw-open | jitgate-gw-mask) f=$GW_DIR/jitgate.log ;;
    jitgate-gw-audit) f=$GW_DIR/jitgate-audit.log ;;
    *) return 0 ;;
  esac
  [[ -f $f ]] || return 0
  sleep 0.5 # a dying jitgate may still be writing its last words (e.g. std::terminate's)
  log "last lines of $f:"
  tail -n 8 "$f" | sed -E 's/eyJ[A-Za-z0-9_.-]{20,}/<token>/g; s/^/    | /' | cut -c1-300 >&2
}

# pg_client TARGET: how pgbench logs in through TARGET: sets PGC_USER, PGC_DB, PGC_SSLMODE and
# PGC_PASSWORD (empty for trust).
pg_client() {
  PGC_USER=postgres PGC_DB=postgres PGC_SSLMODE=disable PGC_PASSWORD=
  case $1 in
    direct-tls | pgbouncer-tls) PGC_USER=$BENCH_ROLE PGC_SSLMODE=require PGC_PASSWORD=$BENCH_PASSWORD ;;
    jitgate-gw | jitgate-gw-audit) PGC_USER=agent PGC_DB=bench PGC_PASSWORD=$GW_TOKEN ;;
    jitgate-gw-open) PGC_USER=agent PGC_DB=bench_open PGC_PASSWORD=$GW_TOKEN ;;
    jitgate-gw-mask) PGC_USER=agent PGC_DB=bench_mask PGC_PASSWORD=$GW_TOKEN ;;
    jitgate-gw-tls) PGC_USER=agent PGC_DB=bench PGC_SSLMODE=require PGC_PASSWORD=$GW_TOKEN ;;
  esac
}

run_pgbench() { # run_pgbench SCENARIO TARGET MODE CLIENTS [extra pgbench flags...]
  local scenario=$1 target=$2 mode=$3 clients=$4 key="$1|$2" port=${PG_TARGET_PORT[$2]:-}
  local jobs=$((clients < 2 ? clients : 2)) tps tx failed stats n avg p99
  shift 4
  target_ready "$key" "$target" "$port" || return 0
  pg_client "$target"
  # Exported for pgbench only while this function runs; the password never shows in argv.
  local -x PGSSLMODE=$PGC_SSLMODE PGPASSWORD=$PGC_PASSWORD PGCONNECT_TIMEOUT=10
  [[ -n $PGPASSWORD ]] || unset PGPASSWORD
  local base=(pgbench -n -S -M "$mode" "$@" -c "$clients" -j "$jobs" -h 127.0.0.1 -p "$port"
    -U "$PGC_USER")
  if ((WARMUP > 0)); then
    if ! timeout --foreground -k 5 $((WARMUP + 120)) "${base[@]}" -T "$WARMUP" "$PGC_DB" \
      >"$TMP/warmup.out" 2>&1; then
      show_output "$TMP/warmup.out"
      show_jitgate_log "$target"
      fail_run "$key" "warm-up pgbench failed"
      return 0
    fi
  fi
  rm -f "$TMP"/pglog.*
  measure "$key" "$target" "${base[@]}" -T "$DURATION" \
    --log --log-prefix="$TMP/pglog" "$PGC_DB"
  tps=$(awk '/^tps = / { print $3; exit }' "$TMP/run.out")
  tx=$(awk -F': ' '/^number of transactions actually processed/ { print $2; exit }' "$TMP/run.out")
  failed=$(awk -F': ' '/^number of failed transactions/ { split($2, a, " "); print a[1]; exit }' "$TMP/run.out")
  if ((M_RC != 0)) || [[ -z $tps || -z $tx || ${failed:-0} != 0 || $tx == 0 ]]; then
    show_output "$TMP/run.out"
    show_jitgate_log "$target"
    fail_run "$key" "pgbench exit $M_RC, tps='$tps' tx='$tx' failed='${failed:-}'"
    return 0
  fi
  # Per-transaction log: client_id transaction_no time(us) script_no time_epoch time_us.
  stats=$(cat "$TMP"/pglog.* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n |
    awk '{ v[NR] = $1; s += $1 } END {
           if (NR == 0) { print "0 0 0"; exit }
           i = int(0.99 * NR); if (i < 0.99 * NR) i++; if (i < 1) i = 1
           printf "%d %.3f %.3f\n", NR, s / NR / 1000, v[i] / 1000 }')
  rm -f "$TMP"/pglog.*
  read -r n avg p99 <<<"$stats"
  if ((n == 0)); then fail_run "$key" "pgbench wrote no per-transaction log"; return 0; fi
  # Effective seconds = tx / tps (pgbench's tps excludes initial connection time).
  record "$key" "$tx" "$(awk -v t="$tx" -v r="$tps" 'BEGIN { printf "%.6f", t / r }')" \
    "$avg" "$p99" "$M_TICKS" "$M_WALL"
  log "  $scenario $target: tps=$tps avg=${avg}ms p99=${p99}ms proxy_ticks=$M_TICKS"
}

run_sysbench() { # run_sysbench SCENARIO TARGET THREADS
  local scenario=$1 target=$2 threads=$3 key="$1|$2" port=${MY_TARGET_PORT[$2]:-}
  local tx tps avg p99 errs
  target_ready "$key" "$target" "$port" || return 0
  local base=(sysbench "${SB_COMMON[@]}" --mysql-port="$port" --threads="$threads"
    --percentile=99 --histogram=on --report-interval=0 --rand-type=uniform)
  if ((WARMUP > 0)); then
    if ! timeout --foreground -k 5 $((WARMUP + 120)) "${base[@]}" --time="$WARMUP" run >"$TMP/warmup.out" 2>&1; then
      show_output "$TMP/warmup.out"
      fail_run "$key" "warm-up sysbench failed"
      return 0
    fi
  fi
  measure "$key" "$target" "${base[@]}" --time="$DURATION" run
  #     transactions:                        123 (12.30 per sec.)
  read -r tx tps < <(awk '/^ *transactions:/ { gsub(/\(/, "", $3); print $2, $3; exit }' "$TMP/run.out") || true
  # sysbench prints latencies with 2 decimals (10 us steps), so compute avg = sum / events, and
  # p99 from its latency histogram (3 decimals, buckets ~2% wide; its own 99th percentile comes
  # from the same histogram).
  avg=$(awk '/^ *total number of events:/ { n = $5 } /^ *sum:/ { s = $2 }
             END { if (n > 0) printf "%.3f", s / n }' "$TMP/run.out")
  p99=$(awk '/^ +[0-9.]+ \|[* ]*[0-9]+$/ { v[++k] = $1; c[k] = $NF; t += $NF }
             END { if (t == 0) exit; need = 0.99 * t
                   for (i = 1; i <= k; i++) { cum += c[i]; if (cum >= need) { printf "%.3f", v[i]; exit } } }' \
    "$TMP/run.out")
  [[ -n $p99 ]] || p99=$(awk '/^ *99th percentile:/ { print $3; exit }' "$TMP/run.out")
  errs=$(awk '/^ *ignored errors:/ { print $3; exit }' "$TMP/run.out")
  if ((M_RC != 0)) || [[ -z ${tx:-} || -z ${tps:-} || -z $avg || -z $p99 || ${errs:-0} != 0 || $tx == 0 ]] ||
    grep -q 'FATAL' "$TMP/run.out"; then
    show_output "$TMP/run.out"
    fail_run "$key" "sysbench exit $M_RC, tx='${tx:-}' errors='${errs:-}'"
    return 0
  fi
  record "$key" "$tx" "$(awk -v t="$tx" -v r="$tps" 'BEGIN { printf "%.6f", t / r }')" \
    "$avg" "$p99" "$M_TICKS" "$M_WALL"
  log "  $scenario $target: tps=$tps avg=${avg}ms p99=${p99}ms proxy_ticks=$M_TICKS"
}

# The copy scenario: one psql per run, COPY ... TO STDOUT, its output counted by `wc -l -c`
# (lines = rows; bytes = what the client received) and thrown away. Samples per key go to
# COPY_SECS / COPY_TICKS / COPY_BYTES (space-separated, one per run); the table shows medians.
declare -A COPY_QUERY=([copy]="COPY mask_copy TO STDOUT"
  [copy-detect]="COPY (SELECT note FROM mask_copy) TO STDOUT")
COPY_SCENARIOS=()
has_copy && COPY_SCENARIOS=(copy copy-detect)
declare -A COPY_SECS=() COPY_TICKS=() COPY_BYTES=() COPY_SAMPLE=()
COPY_LIMIT=600 # seconds one COPY may take
# copy_psql PORT USER DB SQL FILTER...: psql's COPY output piped to FILTER; fails when either does.
copy_psql() {
  local port=$1 user=$2 db=$3 sql=$4
  shift 4
  set -o pipefail
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -c "$sql" | "$@"
}
export -f copy_psql
copy_env() { # copy_env TARGET: exports the target's PGSSLMODE/PGPASSWORD (caller's local -x).
  pg_client "$1"
  PGSSLMODE=$PGC_SSLMODE PGPASSWORD=$PGC_PASSWORD PGCONNECT_TIMEOUT=10
  [[ -n $PGPASSWORD ]] || unset PGPASSWORD
  return 0
}
# The masked field of line 100 of "copy" and of line 1000 (a note with an email) must differ
# from what PostgreSQL itself sends through jitgate-gw-mask, and match it through every other
# target; every target must deliver COPY_ROWS lines.
copy_fields_masked() { # copy_fields_masked SCENARIO SAMPLE: 0 when SAMPLE shows masking.
  local clear=${COPY_SAMPLE[$1|@pg]} l100 l1000 c100 c1000
  l100=$(sed -n 1p <<<"$2") l1000=$(sed -n 2p <<<"$2")
  c100=$(sed -n 1p <<<"$clear") c1000=$(sed -n 2p <<<"$clear")
  if [[ $1 == copy ]]; then
    # email partial, card hashed, the note's email redacted.
    [[ $(cut -f2 <<<"$l100") != "$(cut -f2 <<<"$c100")" &&
      $(cut -f4 <<<"$l100") != "$(cut -f4 <<<"$c100")" && $(cut -f4 <<<"$l100") != '\N' &&
      $(cut -f3 <<<"$l1000") != "$(cut -f3 <<<"$c1000")" && $l1000 != *@example.org* ]]
  else
    [[ $l1000 != "$c1000" && $l1000 != *@example.org* ]]
  fi
}
# copy_check SCENARIO TARGET ("@pg" = PostgreSQL itself, as postgres): an unmeasured run that
# also warms the page cache and the target; keeps lines 100 and 1000 and the row count.
copy_check() {
  local scenario=$1 target=$2 key="$1|$2" port rows sample out
  if [[ $target == @pg ]]; then
    port=$PG_PORT
    pg_client direct
  else
    port=${PG_TARGET_PORT[$target]:-}
    target_ready "$key" "$target" "$port" || return 0
  fi
  local -x PGSSLMODE PGPASSWORD PGCONNECT_TIMEOUT
  copy_env "${target/#@pg/direct}"
  if ! timeout --foreground -k 5 "$COPY_LIMIT" bash -c 'copy_psql "$@"' copy "$port" "$PGC_USER" \
    "$PGC_DB" "${COPY_QUERY[$scenario]}" awk 'NR == 100 || NR == 1000 { print } END { print NR }' \
    >"$TMP/copycheck.out" 2>&1; then
    show_output "$TMP/copycheck.out"
    show_jitgate_log "$target"
    fail_run "$key" "check COPY failed"
    return 0
  fi
  out=$(cat "$TMP/copycheck.out")
  rows=$(tail -n 1 <<<"$out")
  sample=$(head -n -1 <<<"$out")
  COPY_SAMPLE[$key]=$sample
  log "  check $scenario $target: $rows rows; lines 100, 1000:"
  awk '{ print "    | " substr($0, 1, 200) }' <<<"$sample" >&2
  [[ $target == @pg ]] && return 0
  if [[ $rows != "$COPY_ROWS" ]]; then
    show_jitgate_log "$target"
    fail_run "$key" "COPY delivered $rows rows, not $COPY_ROWS"
  elif [[ $target == jitgate-gw-mask ]]; then
    copy_fields_masked "$scenario" "$sample" || fail_run "$key" "masking did not change the sampled rows"
  elif [[ $sample != "${COPY_SAMPLE[$scenario|@pg]}" ]]; then
    fail_run "$key" "the sampled rows differ from PostgreSQL's"
  fi
}

run_copy() { # run_copy SCENARIO TARGET: one measured COPY.
  local scenario=$1 target=$2 key="$1|$2" port=${PG_TARGET_PORT[$2]:-} lines bytes
  [[ -z ${FAILED[$key]:-} ]] || { log "  (skipped: $key already FAILED)"; return 0; }
  target_ready "$key" "$target" "$port" || return 0
  local -x PGSSLMODE PGPASSWORD PGCONNECT_TIMEOUT
  copy_env "$target"
  MEASURE_LIMIT=$COPY_LIMIT measure "$key" "$target" bash -c 'copy_psql "$@"' copy "$port" \
    "$PGC_USER" "$PGC_DB" "${COPY_QUERY[$scenario]}" wc -l -c
  read -r lines bytes < <(awk 'NF == 2 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { l = $1; b = $2 }
                               END { print l, b }' "$TMP/run.out") || true
  if ((M_RC != 0)) || [[ ${lines:-} != "$COPY_ROWS" || -z ${bytes:-} ]]; then
    show_output "$TMP/run.out"
    show_jitgate_log "$target"
    fail_run "$key" "COPY exit $M_RC, lines='${lines:-}' (want $COPY_ROWS) bytes='${bytes:-}'"
    return 0
  fi
  COPY_SECS[$key]+="$M_WALL "
  COPY_TICKS[$key]+="$M_TICKS "
  COPY_BYTES[$key]+="$bytes "
  log "  $scenario $target: ${M_WALL}s $bytes bytes proxy_ticks=$M_TICKS"
}

# The scenario list, and for each the targets that apply.
declare -A SC_KIND=() SC_ARG1=() SC_ARG2=()
if has_workload pg && has_scenario tx; then
  for c in $PG_CLIENTS; do
    for m in $PG_MODES; do
      s="pg -S $m c$c"
      RUN_SCENARIOS+=("$s"); SC_KIND[$s]=pg; SC_ARG1[$s]=$m; SC_ARG2[$s]=$c
    done
  done
fi
if has_workload mysql && has_scenario tx; then
  for t in $MY_THREADS; do
    s="my point_select t$t"
    RUN_SCENARIOS+=("$s"); SC_KIND[$s]=mysql; SC_ARG1[$s]=$t
  done
fi
if has_workload pg && has_scenario connect; then
  s="pg -S -C c$CONNECT_CLIENTS"
  RUN_SCENARIOS+=("$s"); SC_KIND[$s]=pgconnect; SC_ARG1[$s]=simple; SC_ARG2[$s]=$CONNECT_CLIENTS
fi
((${#RUN_SCENARIOS[@]} + ${#COPY_SCENARIOS[@]} > 0)) ||
  die "no scenarios (WORKLOADS='$WORKLOADS' SCENARIOS='$SCENARIOS' TARGETS='$TARGETS' COPY_TARGETS='$COPY_TARGETS')"
targets_for() { # targets_for SCENARIO INDEX: applicable targets, rotated by INDEX.
  local all=() t i n
  for t in $TARGETS; do
    case ${SC_KIND[$1]} in
      mysql) [[ $t == direct || $t == jitgate || $t == haproxy ]] || continue ;;
      pgconnect) [[ " $CONNECT_TARGETS " == *" $t "* ]] || continue ;;
    esac
    all+=("$t")
  done
  n=${#all[@]}
  for ((i = 0; i < n; i++)); do printf '%s\n' "${all[(i + $2) % n]}"; done
}

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
  log "WARNING: load average $LOAD_START exceeds $(nproc) cores: expect noisy numbers (try ROUNDS=2)"
fi
total=0
for s in "${RUN_SCENARIOS[@]}"; do total=$((total + $(targets_for "$s" 0 | wc -l))); done
total=$((total * ROUNDS))
copy_n=$(copy_targets | wc -l)
copy_total=$((${#COPY_SCENARIOS[@]} * copy_n * COPY_REPEATS * ROUNDS))
log "$total runs of ${DURATION}s (+${WARMUP}s warm-up each): about $((total * (DURATION + WARMUP + 1) / 60 + 1)) min"
((copy_total == 0)) || log "and $copy_total COPY runs of $COPY_ROWS rows (+ $((${#COPY_SCENARIOS[@]} * (copy_n + 1))) check runs)"
total=$((total + copy_total))
mapfile -t COPY_ORDER < <(copy_targets)
if ((${#COPY_SCENARIOS[@]} > 0)); then
  log "copy: check runs (unmeasured: row count, lines 100 and 1000 compared with PostgreSQL's)"
  for s in "${COPY_SCENARIOS[@]}"; do
    copy_check "$s" @pg
    for t in "${COPY_ORDER[@]}"; do copy_check "$s" "$t"; done
  done
fi
run=0 idx=0 copy_idx=0
for ((round = 1; round <= ROUNDS; round++)); do
  for s in "${RUN_SCENARIOS[@]}"; do
    # Rotating the target order per scenario spreads position effects (e.g. cache state, noise
    # bursts) over all targets; every target of one scenario runs back to back.
    mapfile -t order < <(targets_for "$s" "$idx")
    idx=$((idx + 1))
    for t in "${order[@]}"; do
      run=$((run + 1))
      log "[$run/$total] round $round: $s -> $t"
      if [[ ${SC_KIND[$s]} == pg ]]; then
        run_pgbench "$s" "$t" "${SC_ARG1[$s]}" "${SC_ARG2[$s]}"
      elif [[ ${SC_KIND[$s]} == pgconnect ]]; then
        run_pgbench "$s" "$t" "${SC_ARG1[$s]}" "${SC_ARG2[$s]}" -C
      else
        run_sysbench "$s" "$t" "${SC_ARG1[$s]}"
      fi
    done
  done
  # COPY: each repetition runs every target once per query, the order rotated per repetition.
  for ((rep = 1; rep <= (${#COPY_SCENARIOS[@]} > 0 ? COPY_REPEATS : 0); rep++)); do
    for s in "${COPY_SCENARIOS[@]}"; do
      n=${#COPY_ORDER[@]}
      for ((i = 0; i < n; i++)); do
        t=${COPY_ORDER[(i + copy_idx) % n]}
        run=$((run + 1))
        log "[$run/$total] round $round: $s $rep/$COPY_REPEATS -> $t"
        run_copy "$s" "$t"
      done
      copy_idx=$((copy_idx + 1))
    done
  done
done

# ---------------------------------------------------------------------------------------------
# The table.
row_values() { # row_values KEY: "tps avg p99 cpu_us_per_tx cpu_pct" or nothing when failed/absent.
  local k=$1
  [[ -n ${FAILED[$k]:-} || -z ${ACC_TX[$k]:-} ]] && return 0
  awk -v tx="${ACC_TX[$k]}" -v dur="${ACC_DUR[$k]}" -v ls="${ACC_LATSUM[$k]}" \
    -v ps="${ACC_P99SUM[$k]}" -v n="${ACC_N[$k]}" -v ticks="${ACC_TICKS[$k]}" \
    -v wall="${ACC_WALL[$k]}" -v hz="$CLK_TCK" 'BEGIN {
      cpu = "-"; pct = "-"
      if (ticks >= 0) { cpu = sprintf("%.1f", ticks / hz / tx * 1e6); pct = sprintf("%.0f", ticks / hz / wall * 100) }
      printf "%.1f %.3f %.3f %s %s\n", tx / dur, ls / tx, ps / n, cpu, pct }'
}

# reference_of SCENARIO TARGET: the target whose row `x dir`, `+avg ms` and `+p99 ms` compare
# with: a TLS proxy with direct-tls (same client-side work: TLS and a password check), direct-tls
# with direct (what TLS and SCRAM cost PostgreSQL) when direct runs in SCENARIO, everything else
# with direct; none (itself) for direct, and for direct-tls without direct.
reference_of() {
  case $2 in
    direct) ;;
    direct-tls) targets_for "$1" 0 | grep -qx direct && echo direct ;;
    *-tls) echo direct-tls ;;
    *) echo direct ;;
  esac
  return 0
}

print_table() {
  local fmt='%-22s %-14s %10s %7s %8s %8s %8s %8s %10s %6s\n' s t vals d_vals ref
  local params="DURATION=${DURATION}s WARMUP=${WARMUP}s ROUNDS=$ROUNDS SCENARIOS=\"$SCENARIOS\""
  has_workload pg && params+=" pgbench-scale=$SCALE"
  has_workload mysql && params+=" sysbench-rows=$MY_TABLE_SIZE"
  ((${#COPY_SCENARIOS[@]} == 0)) || params+=" copy-rows=$COPY_ROWS COPY_REPEATS=$COPY_REPEATS"
  printf '# jitgate e2e bench: %s, %s cores, load avg %s -> %s, %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$(nproc)" "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg)" "$params"
  ((${#RUN_SCENARIOS[@]} > 0)) || { print_copy_table; return 0; }
  # shellcheck disable=SC2059
  printf "$fmt" scenario target TPS 'x dir' 'avg ms' '+avg ms' 'p99 ms' '+p99 ms' 'cpu us/tx' 'cpu %'
  for s in "${RUN_SCENARIOS[@]}"; do
    while read -r t; do
      ref=$(reference_of "$s" "$t")
      d_vals=
      [[ -n $ref ]] && d_vals=$(row_values "$s|$ref")
      vals=$(row_values "$s|$t")
      if [[ -z $vals ]]; then
        # shellcheck disable=SC2059
        printf "$fmt" "$s" "$t" FAILED - - - - - - -
        continue
      fi
      awk -v s="$s" -v t="$t" -v v="$vals" -v d="$d_vals" -v ref="$ref" -v fmt="$fmt" 'BEGIN {
        split(v, a, " "); nd = split(d, b, " ")
        ratio = "-"; davg = "-"; dp99 = "-"
        if (nd == 5) {
          ratio = sprintf("%.2f", a[1] / b[1])
          davg = sprintf("%+.3f", a[2] - b[2]); dp99 = sprintf("%+.3f", a[3] - b[3])
        } else if (ref == "") { ratio = "1.00" }
        printf fmt, s, t, sprintf("%.0f", a[1]), ratio, sprintf("%.3f", a[2]), davg,
          sprintf("%.3f", a[3]), dp99, a[4], a[5] }'
    done < <(targets_for "$s" 0)
  done
  printf '# x dir = TPS / reference TPS; +avg/+p99 = latency added vs the reference, which is direct-tls\n'
  printf '# for *-tls proxies, direct for direct-tls and every other target (1.00: no reference run).\n'
  printf '# cpu us/tx = proxy process utime+stime microseconds per transaction (per connection in -C\n'
  printf '# scenarios, whose TPS is connections/s); cpu %% = proxy CPU over the run (100 = one core).\n'
  printf '# pgbench latencies from its per-transaction logs; sysbench avg = latency sum / events, p99 from its histogram.\n'
  print_copy_table
}

median() { # median VALUES...: the middle value (mean of the middle two for an even count).
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
copy_values() { # copy_values KEY: "seconds ticks bytes runs" (medians) or nothing when failed/absent.
  local k=$1
  [[ -n ${FAILED[$k]:-} || -z ${COPY_SECS[$k]:-} ]] && return 0
  # shellcheck disable=SC2086
  printf '%s %s %s %s\n' "$(median ${COPY_SECS[$k]})" "$(median ${COPY_TICKS[$k]})" \
    "$(median ${COPY_BYTES[$k]})" "$(wc -w <<<"${COPY_SECS[$k]}")"
}
# The copy scenario's table, right after the main one.
print_copy_table() {
  ((${#COPY_SCENARIOS[@]} > 0)) || return 0
  local fmt='%-12s %-16s %9s %8s %8s %6s %8s %6s %5s\n' s t vals d_vals
  printf '# copy: psql COPY ... TO STDOUT | wc -l -c, %s rows; median of the runs per target\n' "$COPY_ROWS"
  # shellcheck disable=SC2059
  printf "$fmt" scenario target 'MB out' seconds 'MB/s' 'x dir' 'cpu s' 'cpu %' runs
  for s in "${COPY_SCENARIOS[@]}"; do
    d_vals=$(copy_values "$s|direct")
    for t in "${COPY_ORDER[@]}"; do
      vals=$(copy_values "$s|$t")
      if [[ -z $vals ]]; then
        # shellcheck disable=SC2059
        printf "$fmt" "$s" "$t" FAILED - - - - - -
        continue
      fi
      awk -v s="$s" -v t="$t" -v v="$vals" -v d="$d_vals" -v hz="$CLK_TCK" -v fmt="$fmt" 'BEGIN {
        split(v, a, " "); nd = split(d, b, " ")
        ratio = "-"; cpu = "-"; pct = "-"
        if (t == "direct") ratio = "1.00"; else if (nd == 4) ratio = sprintf("%.2f", b[1] / a[1])
        if (a[2] >= 0) { cpu = sprintf("%.2f", a[2] / hz); pct = sprintf("%.0f", a[2] / hz / a[1] * 100) }
        printf fmt, s, t, sprintf("%.1f", a[3] / 1e6), sprintf("%.3f", a[1]),
          sprintf("%.1f", a[3] / 1e6 / a[1]), ratio, cpu, pct, a[4] }'
    done
  done
  printf '# copy = COPY mask_copy TO STDOUT (id, email, note, card: ~100 B/row); copy-detect = COPY (SELECT note\n'
  printf '# FROM mask_copy) TO STDOUT. jitgate-gw-mask masks email (partial), card (hash), and runs the detectors\n'
  printf '# on note; every other target sends what PostgreSQL sends. seconds = wall time of one psql run\n'
  printf '# (connect + COPY); MB out = bytes the client received (1 MB = 10^6 B; masking changes it);\n'
  printf '# x dir = direct seconds / target seconds (the same rows: throughput ratio); cpu s = proxy\n'
  printf '# utime+stime per run (10 ms ticks), cpu %% = cpu s / seconds. Each value is its own median.\n'
}

if [[ -n ${OUT:-} ]]; then
  print_table | tee "$OUT"
else
  print_table
fi

if ((ANY_FAILED)); then
  log "some runs FAILED (see above)"
  exit 1
fi
log "done"
