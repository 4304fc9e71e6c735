#!/usr/bin/env bash
# relay_edge.sh: jitgate's behaviour at the edges, with real clients and a real PostgreSQL 15:
# backend down or not answering (PostgreSQL and MySQL clients get an error naming jitgate, jitgate
# keeps running), idle timeout, sessions_per_shard_max refusals (PostgreSQL 53300 "too many",
# MySQL 1040), SIGTERM with an open idle session (exit 0 within the grace period, event=summary),
# listen address in use, config errors (exit 2 naming the JSON path), --version and --help.
# Env: JITGATE (binary), JG_SOURCE_ROOT. Exit 0 pass, 1 fail, 77 io_uring unavailable.
set -uo pipefail
# Helper functions here are mostly called through jg_check / jg_wait_for.
# shellcheck disable=SC2317

JG_SOURCE_ROOT=${JG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$JG_SOURCE_ROOT/scripts/lib/db.sh"
jg_test_init

work=$(jg_tmpdir)
pg_port=$(jg_free_port)
export PGUSER=postgres PGDATABASE=postgres PGCONNECT_TIMEOUT=10

jg_log "starting postgres on 127.0.0.1:$pg_port"
# client_connection_check_interval: backends notice a vanished client even while idle in a query.
jg_pg_start "$work/pg" "$pg_port" client_connection_check_interval=1000 ||
  jg_die "postgres did not start"

# start_relay NAME SHARDS LISTENERS RESOURCES LIMITS: writes $work/NAME.json from the JSON
# fragments and starts jitgate with log $work/NAME.log (sets log=...).
start_relay() {
  local name=$1
  cat >"$work/$name.json" <<EOF
{"shards": $2, "listeners": [$3], "resources": {$4}, "limits": {$5}}
EOF
  log=$work/$name.log
  jg_jitgate_up "$work/$name.json" "$log"
}

psql_relay() {  # psql_relay PORT ARGS...: psql against the relay at 127.0.0.1:PORT
  local port=$1
  shift
  psql -X -A -t -h 127.0.0.1 -p "$port" "$@"
}

psql_relay_nossl() {  # psql_relay_nossl PORT ARGS...: psql_relay without the SSLRequest
  PGSSLMODE=disable psql_relay "$@"
}

my_relay() {  # my_relay PORT ARGS...: the mariadb client as jg/jg against 127.0.0.1:PORT
  local port=$1
  shift
  mariadb --no-defaults --skip-ssl --protocol=TCP -h 127.0.0.1 -P "$port" -u jg -pjg \
    --connect-timeout=10 "$@"
}

# output_has FILE REGEX...: true if FILE matches every (case-insensitive, extended) REGEX.
output_has() {
  local file=$1 re
  shift
  for re in "$@"; do
    grep -qiE -- "$re" "$file" || { echo "no /$re/ in:"; cat "$file"; return 1; }
  done
}

# check_refused NAME OUT REGEXES CMD...: runs CMD, expects it to fail and its output (stdout and
# stderr, kept in OUT) to match every one of the |-separated, case-insensitive REGEXES.
check_refused() {
  local name=$1 out=$2 regexes=$3 rc=0 re
  shift 3
  "$@" >"$out" 2>&1 || rc=$?
  if ((rc == 0)); then
    jg_fail "$name" "the client succeeded, expected an error"
    sed 's/^/    | /' "$out"
    return 1
  fi
  IFS='|' read -r -a res <<<"$regexes"
  for re in "${res[@]}"; do
    if ! grep -qiE -- "$re" "$out"; then
      jg_fail "$name" "client output lacks /$re/"
      sed 's/^/    | /' "$out"
      return 1
    fi
  done
  jg_pass "$name: $(grep -iE -- "${res[0]}" "$out" | head -n 1)"
}

# pg_backends_of_app NAME: how many PostgreSQL backends have application_name NAME.
pg_backends_of_app() {
  jg_pg_sql "$pg_port" "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1'"
}

# hold_idle_psql PORT APPNAME: starts a psql that connects through the relay, runs SELECT 1 and
# then waits idle for more input on a FIFO. Sets held_pid and held_fd; close held_fd (release_psql)
# to end it. The psql gets none of the other holders' FIFO fds, so each sees EOF on its own.
open_hold_fds=()
hold_idle_psql() {
  local fifo=$work/hold.$RANDOM.$RANDOM.fifo
  mkfifo "$fifo"
  (
    for fd in "${open_hold_fds[@]}"; do
      exec {fd}>&-
    done
    PGAPPNAME=$2 exec psql -X -A -t -h 127.0.0.1 -p "$1" -f - <"$fifo" >"$fifo.out" 2>&1
  ) &
  held_pid=$!
  jg_bg_register "$held_pid"
  exec {held_fd}>"$fifo"
  open_hold_fds+=("$held_fd")
  echo 'SELECT 1;' >&"$held_fd"
}

# release_psql FD PID: ends a psql started by hold_idle_psql (EOF on its input) and waits for it.
release_psql() {
  local fd=$1 i
  exec {fd}>&-
  for i in "${!open_hold_fds[@]}"; do
    [[ "${open_hold_fds[i]}" == "$1" ]] && unset "open_hold_fds[i]"
  done
  wait "$2" 2>/dev/null
}

exited() {  # exited PID: true once PID has exited
  ! _jg_alive "$1"
}

elapsed_since() {  # elapsed_since EPOCH_MS: prints milliseconds since EPOCH_MS
  echo $(($(date +%s%3N) - $1))
}

# --- 1. backend down / not answering -----------------------------------------------------------
jg_log "backend down: resources whose ports have nothing listening"
dead_pg=$(jg_free_port)
dead_my=$(jg_free_port)
blackhole=$(jg_free_port)
relay_pg=$(jg_free_port)
relay_my=$(jg_free_port)
relay_bh=$(jg_free_port)
# A listener with backlog 0 whose single accept-queue slot is taken by its own connection: further
# SYNs are dropped, so connect(2) to it hangs until jitgate's connect_timeout_ms.
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
time.sleep(600)' "$blackhole" >"$work/blackhole.out" 2>&1 &
jg_bg_register $!
jg_wait_for 10 grep -q ready "$work/blackhole.out" || jg_die "blackhole listener did not start"
start_relay down 1 \
  "{\"name\": \"pg\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1:$relay_pg\", \"resource\": \"pgdown\"},
   {\"name\": \"my\", \"protocol\": \"mysql\", \"address\": \"127.0.0.1:$relay_my\", \"resource\": \"mydown\"},
   {\"name\": \"bh\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1:$relay_bh\", \"resource\": \"hole\"}" \
  "\"pgdown\": {\"protocol\": \"postgres\", \"address\": \"127.0.0.1:$dead_pg\"},
   \"mydown\": {\"protocol\": \"mysql\", \"address\": \"127.0.0.1:$dead_my\"},
   \"hole\": {\"protocol\": \"postgres\", \"address\": \"127.0.0.1:$blackhole\"}" \
  "\"connect_timeout_ms\": 1000, \"shutdown_grace_s\": 2"
down_pid=$JG_JITGATE_PID
check_refused "psql, backend refusing: error names jitgate and says unavailable" \
  "$work/down_pg.out" 'jitgate|unavailable' psql_relay "$relay_pg" -c 'SELECT 1'
check_refused "psql with sslmode=disable, backend refusing: same error" \
  "$work/down_pg2.out" 'jitgate|unavailable' psql_relay_nossl "$relay_pg" -c 'SELECT 1'
jg_check "jitgate still running after the refusals" _jg_alive "$down_pid"
check_refused "mariadb, backend refusing: error names jitgate" \
  "$work/down_my.out" 'jitgate' my_relay "$relay_my" -e 'SELECT 1'
jg_check "jitgate still running after the MySQL refusal" _jg_alive "$down_pid"
t0=$(date +%s%3N)
check_refused "psql, backend not answering (connect_timeout_ms=1000): error names jitgate" \
  "$work/down_bh.out" 'jitgate|unavailable' psql_relay "$relay_bh" -c 'SELECT 1'
bh_ms=$(elapsed_since "$t0")
jg_check "the connect timeout error came after ~1 s, not the client's 10 s ($bh_ms ms)" \
  test "$bh_ms" -lt 8000
check_refused "psql, backend refusing, once more" \
  "$work/down_pg3.out" 'jitgate|unavailable' psql_relay "$relay_pg" -c 'SELECT 1'
jg_check "log: session_close reason=backend_connect_failed" \
  grep -q 'reason=backend_connect_failed' "$log"
jg_jitgate_stop
jg_check "jitgate (backend down) exits 0 on SIGTERM" test $? = 0

# --- 2. idle timeout ---------------------------------------------------------------------------
jg_log "idle timeout: idle_timeout_s=2"
relay=$(jg_free_port)
start_relay idle 1 \
  "{\"name\": \"pg\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1:$relay\", \"resource\": \"main\"}" \
  "\"main\": {\"protocol\": \"postgres\", \"address\": \"127.0.0.1:$pg_port\"}" \
  "\"idle_timeout_s\": 2, \"shutdown_grace_s\": 2"
PGAPPNAME=jg_idle psql_relay "$relay" -c 'SELECT 11' -c '\! sleep 5' -c 'SELECT 22' \
  >"$work/idle.out" 2>&1
jg_check "idle session: the first query ran" grep -qx 11 "$work/idle.out"
jg_check "idle session: the query after 5 s idle found the connection closed" \
  bash -c "! grep -qx 22 '$work/idle.out' && grep -qiE 'closed|lost|terminat' '$work/idle.out'"
jg_check "log: session_close reason=idle_timeout" grep -q 'reason=idle_timeout' "$log"
idle_gone() {
  test "$(pg_backends_of_app jg_idle)" = 0
}
jg_check "the idle session's backend is gone" jg_wait_for 10 idle_gone
idle_closes=$(grep -c 'reason=idle_timeout' "$log")
PGAPPNAME=jg_chatty psql_relay "$relay" -c 'SELECT 1' -c '\! sleep 1' -c 'SELECT 2' \
  -c '\! sleep 1' -c 'SELECT 3' -c '\! sleep 1' -c 'SELECT 4' -c '\! sleep 1' -c 'SELECT 5' \
  >"$work/chatty.out" 2>&1
jg_check "a session with traffic every second survives 4 s (idle_timeout_s=2)" \
  grep -qx 5 "$work/chatty.out"
jg_check "no further idle_timeout close" test "$(grep -c 'reason=idle_timeout' "$log")" = "$idle_closes"
jg_jitgate_stop
jg_check "jitgate (idle) exits 0 on SIGTERM" test $? = 0

# --- 3. sessions_per_shard_max -----------------------------------------------------------------
jg_log "sessions_per_shard_max=3 with one shard"
relay=$(jg_free_port)
relay_my=$(jg_free_port)
start_relay max 1 \
  "{\"name\": \"pg\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1:$relay\", \"resource\": \"main\"},
   {\"name\": \"my\", \"protocol\": \"mysql\", \"address\": \"127.0.0.1:$relay_my\", \"resource\": \"mydown\"}" \
  "\"main\": {\"protocol\": \"postgres\", \"address\": \"127.0.0.1:$pg_port\"},
   \"mydown\": {\"protocol\": \"mysql\", \"address\": \"127.0.0.1:$dead_my\"}" \
  "\"sessions_per_shard_max\": 3, \"shutdown_grace_s\": 2"
hold_pids=() hold_fds=()
for i in 1 2 3; do
  hold_idle_psql "$relay" jg_hold
  hold_pids+=("$held_pid")
  hold_fds+=("$held_fd")
done
three_held() {
  test "$(pg_backends_of_app jg_hold)" = 3
}
jg_check "three sessions held open through the relay" jg_wait_for 15 three_held
check_refused "4th psql is refused with 'too many'" "$work/max_pg.out" 'too many' \
  psql_relay "$relay" -c 'SELECT 1'
check_refused "4th psql (sslmode=disable) is refused with 'too many'" "$work/max_pg2.out" \
  'too many' psql_relay_nossl "$relay" -c 'SELECT 1'
jg_check "the 53300 refusal is logged as event=refused reason=sessions_per_shard_max" \
  grep -q 'event=refused.*reason=sessions_per_shard_max' "$log"
check_refused "a MySQL client on the same shard is refused with error 1040" "$work/max_my.out" \
  '1040' my_relay "$relay_my" -e 'SELECT 1'
jg_check "the held sessions still work" \
  test "$(pg_backends_of_app jg_hold)" = 3
for i in 0 1 2; do
  release_psql "${hold_fds[i]}" "${hold_pids[i]}"
done
jg_check "held sessions printed their SELECT 1" \
  bash -c "test \$(cat $work/hold.*.fifo.out | grep -cx 1) = 3"
hold_gone() {
  test "$(pg_backends_of_app jg_hold)" = 0
}
jg_wait_for 10 hold_gone
slot_free() {
  test "$(psql_relay "$relay" -c 'SELECT 33')" = 33
}
jg_check "after the holders leave, a new session is accepted again" jg_wait_for 10 slot_free
jg_jitgate_stop
jg_check "jitgate (max) exits 0 on SIGTERM" test $? = 0

# --- 4. SIGTERM with an open idle session ------------------------------------------------------
jg_log "SIGTERM with an idle session open, shutdown_grace_s=4"
relay=$(jg_free_port)
start_relay term 2 \
  "{\"name\": \"pg\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1:$relay\", \"resource\": \"main\"}" \
  "\"main\": {\"protocol\": \"postgres\", \"address\": \"127.0.0.1:$pg_port\"}" \
  "\"shutdown_grace_s\": 4"
term_pid=$JG_JITGATE_PID
hold_idle_psql "$relay" jg_term
term_held() {
  test "$(pg_backends_of_app jg_term)" = 1
}
jg_check "idle session open through the relay" jg_wait_for 15 term_held
t0=$(date +%s%3N)
kill -TERM "$term_pid"
sleep 0.5
PGCONNECT_TIMEOUT=2 psql_relay "$relay" -c 'SELECT 44' >"$work/term_new.out" 2>&1
jg_check "during the grace period a new session is not served" \
  bash -c "! grep -qx 44 '$work/term_new.out'"
jg_check "jitgate exits within grace + 4 s" jg_wait_for 8 exited "$term_pid"
jg_wait_for 30 exited "$term_pid"
term_ms=$(elapsed_since "$t0")
jg_jitgate_stop "$term_pid"
term_rc=$?
jg_check "SIGTERM: exit status 0 (was $term_rc after $term_ms ms)" test "$term_rc" = 0
jg_check "SIGTERM: event=summary logged" grep -q 'event=summary' "$log"
grep 'event=summary' "$log" | sed 's/^/    | /'
jg_check "SIGTERM: the idle session closed with reason=shutdown" grep -q 'reason=shutdown' "$log"
term_gone() {
  test "$(pg_backends_of_app jg_term)" = 0
}
jg_check "SIGTERM: the idle session's backend is gone" jg_wait_for 10 term_gone
release_psql "$held_fd" "$held_pid"

# --- 5. listen address in use -------------------------------------------------------------------
jg_log "listen address already in use"
cat >"$work/inuse.json" <<EOF
{"shards": 1,
 "listeners": [{"name": "pg", "protocol": "postgres", "address": "127.0.0.1:$pg_port", "resource": "main"}],
 "resources": {"main": {"protocol": "postgres", "address": "127.0.0.1:$dead_pg"}}}
EOF
rc=0
timeout 20 "$JITGATE" --config "$work/inuse.json" >"$work/inuse.out" 2>&1 || rc=$?
jg_check "a listener on a port in use: jitgate exits non-zero (status $rc)" \
  test "$rc" -ne 0 -a "$rc" -ne 124
jg_check "... and says which address" grep -q "$pg_port" "$work/inuse.out"
sed 's/^/    | /' "$work/inuse.out" | tail -n 3

# --- 6. config errors ---------------------------------------------------------------------------
jg_log "config errors"
good_listener="{\"name\": \"pg\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1:$relay\", \"resource\": \"main\"}"
good_resources="{\"main\": {\"protocol\": \"postgres\", \"address\": \"127.0.0.1:$pg_port\"}}"
# config_error NAME JSON REGEX...: jitgate with JSON as its config exits 2 and its stderr matches
# every REGEX (fixed strings).
config_error() {
  local name=$1 file=$work/bad_$RANDOM.json rc=0 re
  printf '%s\n' "$2" >"$file"
  shift 2
  timeout 5 "$JITGATE" --config "$file" >"$file.stdout" 2>"$file.stderr" || rc=$?
  if ((rc != 2)); then
    jg_fail "config error, $name: exit 2" "exit status $rc"
    sed 's/^/    | /' "$file.stderr"
    return
  fi
  for re in "$file" "$@"; do
    if ! grep -qF -- "$re" "$file.stderr"; then
      jg_fail "config error, $name" "stderr lacks '$re'"
      sed 's/^/    | /' "$file.stderr"
      return
    fi
  done
  jg_pass "config error, $name: $(head -n 1 "$file.stderr")"
}
config_error "address is a number" \
  "{\"listeners\": [{\"name\": \"pg\", \"protocol\": \"postgres\", \"address\": 5432, \"resource\": \"main\"}], \"resources\": $good_resources}" \
  '$.listeners[0].address'
config_error "second listener's address has no port" \
  "{\"listeners\": [$good_listener, {\"name\": \"pg2\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1\", \"resource\": \"main\"}], \"resources\": $good_resources}" \
  '$.listeners[1].address'
config_error "unknown limit" \
  "{\"listeners\": [$good_listener], \"resources\": $good_resources, \"limits\": {\"idle_timeout_sec\": 5}}" \
  '$.limits' 'idle_timeout_sec'
config_error "limit of the wrong type" \
  "{\"listeners\": [$good_listener], \"resources\": $good_resources, \"limits\": {\"idle_timeout_s\": \"soon\"}}" \
  '$.limits.idle_timeout_s'
config_error "listener names an unknown resource" \
  "{\"listeners\": [{\"name\": \"pg\", \"protocol\": \"postgres\", \"address\": \"127.0.0.1:$relay\", \"resource\": \"nope\"}], \"resources\": $good_resources}" \
  '$.listeners[0].resource'
config_error "listener and resource protocols differ" \
  "{\"listeners\": [{\"name\": \"pg\", \"protocol\": \"mysql\", \"address\": \"127.0.0.1:$relay\", \"resource\": \"main\"}], \"resources\": $good_resources}" \
  '$.listeners[0]'
config_error "not JSON" '{"shards": 2,' ''
printf '%s\n' "{\"listeners\": [$good_listener], \"resources\": $good_resources}" >"$work/good.json"
rc=0
timeout 10 "$JITGATE" --config "$work/good.json" --check >"$work/check_good.out" 2>&1 || rc=$?
jg_check "--check on a valid config exits 0 (was $rc)" test "$rc" = 0
rc=0
printf '%s\n' '{"listeners": [], "resources": {}, "shards": "many"}' >"$work/bad_check.json"
timeout 10 "$JITGATE" --config "$work/bad_check.json" --check >"$work/check_bad.out" 2>&1 || rc=$?
jg_check "--check on an invalid config exits 2 (was $rc)" test "$rc" = 2
rc=0
timeout 10 "$JITGATE" --config "$work/no_such_file.json" >/dev/null 2>"$work/nofile.err" || rc=$?
jg_check "config file missing: exit 2 (was $rc)" test "$rc" = 2
jg_check "config file missing: stderr names the file" grep -qF "$work/no_such_file.json" "$work/nofile.err"
rc=0
timeout 10 "$JITGATE" >"$work/noargs.out" 2>&1 || rc=$?
jg_check "no --config: exits non-zero (was $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
jg_check "no --config: says --config is needed" grep -qF -- '--config' "$work/noargs.out"

# --- 7. --version and --help --------------------------------------------------------------------
rc=0
timeout 10 "$JITGATE" --version >"$work/version.out" 2>&1 || rc=$?
jg_check "--version exits 0 (was $rc)" test "$rc" = 0
jg_check "--version prints 'jitgate' and a version number: $(head -n 1 "$work/version.out")" \
  grep -qiE 'jitgate.*[0-9]+\.[0-9]+' "$work/version.out"
rc=0
timeout 10 "$JITGATE" --help >"$work/help.out" 2>&1 || rc=$?
jg_check "--help exits 0 (was $rc)" test "$rc" = 0
jg_check "--help mentions --config and --log-level" \
  output_has "$work/help.out" '--config' '--log-level'

jg_check "no sanitizer reports in any jitgate log" \
  bash -c "! grep -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' $work/*.log $work/*.out"
jg_finish
