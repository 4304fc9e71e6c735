#!/usr/bin/env bash
# relay_pg.sh: real PostgreSQL clients (psql, pgbench) through jitgate's transparent relay to a
# real PostgreSQL 15 server, compared with the same clients connected directly.
#
# Checks: psql output identical both ways; pgbench -i, -S (simple, extended, prepared) and TPC-B
# with zero failed transactions; a >= 1 GiB COPY TO STDOUT byte-identical both ways; a ~300 MB COPY
# FROM STDIN whose server-side hash equals the source's; 1000 sessions open at once; a client
# killed mid-result leaves no session, fd or backend behind; clean SIGTERM shutdown, no sanitizer
# reports. Env: JITGATE (binary), JG_SOURCE_ROOT. Exit 0 pass, 1 fail, 77 io_uring unavailable.
set -uo pipefail
# Helper functions here are mostly called through jg_check / jg_wait_for.
# shellcheck disable=SC2317

JG_SOURCE_ROOT=${JG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$JG_SOURCE_ROOT/scripts/lib/db.sh"
jg_test_init

work=$(jg_tmpdir)
pg_port=$(jg_free_port)
relay_port=$(jg_free_port)
export PGUSER=postgres PGDATABASE=postgres PGCONNECT_TIMEOUT=10

jg_log "starting postgres on 127.0.0.1:$pg_port"
jg_pg_start "$work/pg" "$pg_port" || jg_die "postgres did not start"

cat >"$work/jitgate.json" <<EOF
{"shards": 2,
 "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:$relay_port",
                "resource": "main"}],
 "resources": {"main": {"protocol": "postgres", "address": "127.0.0.1:$pg_port"}},
 "limits": {"idle_timeout_s": 600, "sessions_per_shard_max": 10000, "shutdown_grace_s": 10}}
EOF
log=$work/jitgate.log
jg_log "starting jitgate on 127.0.0.1:$relay_port -> $pg_port"
jg_jitgate_up "$work/jitgate.json" "$log"
jitgate_pid=$JG_JITGATE_PID

# psql_at PORT ARGS...: psql without ~/.psqlrc against 127.0.0.1:PORT.
psql_at() {
  local port=$1
  shift
  psql -X -h 127.0.0.1 -p "$port" "$@"
}

# backends_of_app NAME: prints how many backends have application_name NAME.
backends_of_app() {
  jg_pg_sql "$pg_port" "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1'"
}

# no_backend_of_app NAME: true if no backend has application_name NAME.
no_backend_of_app() {
  test "$(backends_of_app "$1")" = 0
}

# hash_stdin: prints "<sha256 hex> <byte count>" of stdin.
hash_stdin() {
  python3 -c '
import hashlib, sys
h = hashlib.sha256(); n = 0
while True:
    b = sys.stdin.buffer.read(1 << 20)
    if not b:
        break
    h.update(b); n += len(b)
print(h.hexdigest(), n)'
}

# --- 1. psql: the same script gives the same output directly and through the relay ------------
cat >"$work/queries.sql" <<'EOF'
\pset pager off
SELECT 1 AS one, 'two' AS two, NULL AS three, 4.5::float8 AS four;
SELECT version() ~ '^PostgreSQL 15' AS is_pg15, current_user, current_database();
CREATE TABLE t_relay (id int PRIMARY KEY, name text, amount numeric(10,2), created date);
INSERT INTO t_relay SELECT i, 'name ' || i, i * 1.5, date '2024-01-01' + i
  FROM generate_series(1, 2000) i;
SELECT count(*), sum(amount), min(created), max(name) FROM t_relay;
SELECT * FROM t_relay WHERE id % 97 = 0 ORDER BY id;
BEGIN;
UPDATE t_relay SET amount = 0 WHERE id < 10;
SELECT sum(amount) FROM t_relay;
ROLLBACK;
SELECT sum(amount) FROM t_relay;
SELECT 1/0;
SELECT 'still connected after an error' AS msg;
DO $$ BEGIN RAISE NOTICE 'a notice from the server'; END $$;
PREPARE q(int) AS SELECT name, amount FROM t_relay WHERE id = $1;
EXECUTE q(42);
EXECUTE q(1999);
SELECT md5(string_agg(md5(i::text), '')), length(string_agg(md5(i::text), ''))
  FROM generate_series(1, 50000) i;
SELECT string_agg(md5(i::text), '') FROM generate_series(1, 3000) i;
SELECT repeat('é€', 40000) AS wide;
SELECT E'multi\nline', E'tab\there', '"quoted"';
\copy (SELECT id, name, amount FROM t_relay ORDER BY id LIMIT 50) TO STDOUT
\copy (SELECT id, name FROM t_relay ORDER BY id DESC LIMIT 5) TO STDOUT WITH (FORMAT csv, HEADER)
LISTEN jg_channel;
NOTIFY jg_channel, 'payload';
SELECT count(*) FROM pg_stat_activity WHERE datname = 'nosuchdb';
DROP TABLE t_relay;
EOF
psql_at "$pg_port" -v ON_ERROR_STOP=0 -f "$work/queries.sql" >"$work/direct.out" 2>&1
psql_at "$relay_port" -v ON_ERROR_STOP=0 -f "$work/queries.sql" >"$work/relay.out" 2>&1
# Asynchronous notifications name the sending backend's pid, which differs.
sed -i -E 's/server process with PID [0-9]+/server process with PID N/' \
  "$work/direct.out" "$work/relay.out"
jg_check "psql script output identical direct vs relay" diff -u "$work/direct.out" "$work/relay.out"
jg_check "psql script output is non-trivial" grep -q 'still connected after an error' \
  "$work/relay.out"
jg_check "psql with sslmode=disable through the relay" \
  test "$(PGSSLMODE=disable psql_at "$relay_port" -A -t -c 'SELECT 40 + 2' 2>&1)" = 42
jg_check "psql with sslmode=require fails cleanly (server has no TLS)" \
  bash -c "! PGSSLMODE=require psql -X -A -t -h 127.0.0.1 -p $relay_port -c 'SELECT 1'"
jg_check "relay still serves after the TLS refusal" \
  test "$(psql_at "$relay_port" -A -t -c 'SELECT 7' 2>&1)" = 7

# --- 2. pgbench ------------------------------------------------------------------------------
# pgbench_ok NAME PGBENCH-ARGS...: pgbench through the relay; passes if it exits 0, processed
# more than 0 transactions and reports 0 failed ones.
pgbench_ok() {
  local name=$1 out=$work/pgbench.out rc=0 processed failed
  shift
  pgbench -h 127.0.0.1 -p "$relay_port" "$@" >"$out" 2>&1 || rc=$?
  processed=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$out")
  failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$out")
  if ((rc == 0)) && [[ "${processed:-0}" -gt 0 && "${failed:-x}" == 0 ]]; then
    jg_pass "$name ($processed transactions, $(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$out") tps)"
  else
    jg_fail "$name" "exit $rc, processed=${processed:-?}, failed=${failed:-?}"
    tail -n 25 "$out" | sed 's/^/    | /'
  fi
}

jg_log "pgbench -i -s 5 through the relay"
jg_check "pgbench -i -s 5 through the relay" \
  pgbench -h 127.0.0.1 -p "$relay_port" -i -s 5 -q
jg_check "pgbench_accounts has 500000 rows (checked directly)" \
  test "$(jg_pg_sql "$pg_port" 'SELECT count(*) FROM pgbench_accounts')" = 500000
jg_log "pgbench -S -c 32 -j 2 -T 5 (simple, extended), -M prepared, TPC-B"
pgbench_ok "pgbench -S -c 32 -j 2 -T 5 simple protocol" -n -S -c 32 -j 2 -T 5
pgbench_ok "pgbench -S -c 32 -j 2 -T 5 -M extended" -n -S -c 32 -j 2 -T 5 -M extended
pgbench_ok "pgbench -S -c 16 -j 2 -T 3 -M prepared" -n -S -c 16 -j 2 -T 3 -M prepared
pgbench_ok "pgbench TPC-B -c 8 -j 2 -T 3" -n -c 8 -j 2 -T 3
pgbench_ok "pgbench -C (connection per transaction) -c 4 -T 2" -n -S -C -c 4 -j 2 -T 2

# --- 3. COPY out >= 1 GiB, byte-identical ----------------------------------------------------
# 1,200,000 rows of 960 hex characters + newline = 1,153,200,000 bytes.
copy_out_sql="COPY (SELECT i, repeat(md5(i::text), 30) FROM generate_series(1, 1200000) i) TO STDOUT"
jg_log "COPY out ~1.15 GB directly"
t0=$SECONDS
direct_hash=$(psql_at "$pg_port" -c "$copy_out_sql" | hash_stdin)
t1=$SECONDS
jg_log "COPY out through the relay (direct took $((t1 - t0)) s)"
relay_hash=$(psql_at "$relay_port" -c "$copy_out_sql" | hash_stdin)
jg_log "relay took $((SECONDS - t1)) s"
read -r _ direct_bytes <<<"$direct_hash"
jg_check "COPY out is at least 1 GiB ($direct_bytes bytes)" test "${direct_bytes:-0}" -ge 1073741824
jg_check "COPY out through the relay byte-identical to direct" \
  test "$relay_hash" = "$direct_hash"

# --- 4. COPY FROM STDIN ~300 MB ------------------------------------------------------------------
jg_log "COPY FROM STDIN of ~300 MB through the relay"
# Each line is one value of 1000 hex characters; expected = md5 of the concatenated per-row md5s.
expected_in=$(python3 - "$work/copy_in.txt" <<'EOF'
import hashlib, random, sys
rng = random.Random(20240601)
agg = hashlib.md5()
rows = 300000
with open(sys.argv[1], "w") as f:
    for _ in range(rows):
        v = rng.getrandbits(4000).to_bytes(500, "little").hex()
        f.write(v + "\n")
        agg.update(hashlib.md5(v.encode()).hexdigest().encode())
print(rows, agg.hexdigest())
EOF
)
jg_pg_sql "$pg_port" "CREATE TABLE copy_in (id bigserial, v text)" >/dev/null
jg_check "COPY FROM STDIN through the relay" \
  psql_at "$relay_port" -v ON_ERROR_STOP=1 -c "COPY copy_in (v) FROM STDIN" <"$work/copy_in.txt"
server_in=$(jg_pg_sql "$pg_port" \
  "SELECT count(*) || ' ' || md5(string_agg(md5(v), '' ORDER BY id)) FROM copy_in")
jg_check "server-side content hash equals the source ($expected_in)" \
  test "$server_in" = "$expected_in"
rm -f "$work/copy_in.txt"
jg_pg_sql "$pg_port" "DROP TABLE copy_in" >/dev/null

# --- 5. 1000 sessions open at the same time ------------------------------------------------------
jg_log "1000 concurrent pgbench sessions through the relay"
fd_baseline=$(jg_fd_count "$jitgate_pid")
echo 'SELECT pg_sleep(8);' >"$work/sleep.sql"
PGAPPNAME=jg_thousand pgbench -h 127.0.0.1 -p "$relay_port" -n -c 1000 -j 2 -t 1 \
  -f "$work/sleep.sql" >"$work/pgbench1000.out" 2>&1 &
bench_pid=$!
jg_bg_register "$bench_pid"
peak_sessions=0 peak_fds=0
while _jg_alive "$bench_pid"; do
  n=$(backends_of_app jg_thousand 2>/dev/null || echo 0)
  fd_now=$(jg_fd_count "$jitgate_pid")
  ((n > peak_sessions)) && peak_sessions=$n
  ((fd_now > peak_fds)) && peak_fds=$fd_now
  ((peak_sessions >= 1000 && peak_fds >= fd_baseline + 2000)) && break
  sleep 0.5
done
wait "$bench_pid"
bench_rc=$?
jg_check "1000 backends concurrently connected through the relay (peak $peak_sessions)" \
  test "$peak_sessions" -ge 1000
jg_check "jitgate held >= 2000 more fds at the peak ($peak_fds vs baseline $fd_baseline)" \
  test "$peak_fds" -ge $((fd_baseline + 2000))
jg_check "pgbench -c 1000 finished all 1000 transactions (exit $bench_rc)" \
  grep -q 'number of transactions actually processed: 1000/1000' "$work/pgbench1000.out"
if ! grep -q 'number of transactions actually processed: 1000/1000' "$work/pgbench1000.out"; then
  tail -n 20 "$work/pgbench1000.out" | sed 's/^/    | /'
fi
jg_check "jitgate fds back to baseline after the 1000 sessions" \
  jg_wait_for 15 jg_fds_at_most "$jitgate_pid" "$fd_baseline"

# --- 6. a client that vanishes mid-result --------------------------------------------------------
jg_log "a client killed mid-result"
fd_baseline=$(jg_fd_count "$jitgate_pid")
opens_before=$(grep -c 'event=session_open' "$log")
# Not through psql_at: a backgrounded function is a subshell, and the kill must hit the client.
PGAPPNAME=jg_vanish psql -X -h 127.0.0.1 -p "$relay_port" \
  -c "COPY (SELECT repeat('x', 1000 + 0 * generate_series(1, 100000000))) TO STDOUT" \
  >"$work/vanish.out" 2>&1 &
vanish_pid=$!
jg_bg_register "$vanish_pid"
jg_check_client_vanishes "$log" "$jitgate_pid" "$opens_before" "$fd_baseline" "$vanish_pid" \
  "$work/vanish.out" COPY
jg_check "no leftover backend for the vanished client" \
  jg_wait_for 10 no_backend_of_app jg_vanish

# --- 7. every session closed, clean shutdown -----------------------------------------------------
opens=$(grep -c 'event=session_open' "$log")
closes_match() {
  test "$(grep -c 'event=session_close' "$log")" -eq "$opens"
}
jg_check "every session_open has its session_close" \
  jg_wait_for 10 closes_match
jg_check "jitgate still running after all of the above" _jg_alive "$jitgate_pid"
jg_jitgate_stop
stop_rc=$?
jg_check "SIGTERM: jitgate exits 0" test "$stop_rc" = 0
jg_check "SIGTERM: event=summary logged" grep -q 'event=summary' "$log"
jg_check "no sanitizer reports in the log" \
  bash -c "! grep -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' '$log'"
echo "jitgate log: $(wc -l <"$log") lines, $opens sessions; last lines:"
tail -n 3 "$log" | sed 's/^/    | /'
jg_finish
