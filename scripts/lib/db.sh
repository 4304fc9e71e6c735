# scripts/lib/db.sh: bash helpers that start and stop throwaway database servers and jitgate for
# the integration tests (tests/integration/*.sh), the demo (scripts/demo) and bench/e2e.sh.
#
# Usage:
#   source "$JG_SOURCE_ROOT/scripts/lib/db.sh"
#   trap jg_cleanup EXIT
#
# Contract: every server listens on 127.0.0.1 only, on a private port from jg_free_port, with its
# data in a directory from jg_tmpdir; everything a function starts is recorded by pid and stopped
# by jg_cleanup (never by name). Functions that start processes set globals (JG_PG_PID, ...), so
# call them in the main shell, not inside $(...). jg_free_port and jg_tmpdir are meant for $(...):
# they record what they hand out in a per-shell state file, which survives the subshell.
#
# Functions (details above each):
#   jg_free_port, jg_tmpdir, jg_cleanup
#   jg_pg_start DIR PORT [postgres -c options...], jg_pg_stop [PID]
#   jg_mariadb_start DIR PORT, jg_mariadb_stop [PID]
#   jg_jitgate_start CONFIG LOGFILE [jitgate args...], jg_jitgate_stop [PID]
#   jg_bg_register PID          (a background client jg_cleanup should kill)
#   jg_check NAME CMD..., jg_pass NAME, jg_fail NAME [why], jg_finish
#   jg_test_init, jg_jitgate_up CONFIG LOGFILE [args...]
#   jg_log MSG, jg_die MSG, jg_wait_for SECONDS CMD..., jg_skip_if_no_io_uring [LOGFILE]
#   jg_fd_count PID, jg_pg_sql PORT SQL, jg_my_sql PORT SQL
#
# Requires bash 4+, ss (iproute2), setpriv (util-linux) when run as root, and the server packages
# that scripts/setup installs. Sourcing this file changes no shell options of the caller.

# The JG_* globals below are this library's outputs, read by the scripts that source it.
# shellcheck disable=SC2034

if [[ -n "${_JG_DB_SH_LOADED:-}" ]]; then
  return 0
fi
_JG_DB_SH_LOADED=1

JG_PG_BIN="${JG_PG_BIN:-/usr/lib/postgresql/15/bin}"
JG_PG_PID="" JG_PG_PORT="" JG_PG_DIR=""
JG_MARIADB_PID="" JG_MARIADB_PORT="" JG_MARIADB_DIR="" JG_MARIADB_SOCKET=""
JG_JITGATE_PID="" JG_JITGATE_LOG=""
JG_PASS_COUNT=0 JG_FAIL_COUNT=0
JG_FAILED_NAMES=()
# pid -> kind ("pg", "mariadb", "jitgate", "bg") of every process this shell started and has not
# stopped yet; jg_cleanup stops them in reverse start order.
declare -A _JG_PID_KIND=()
_JG_PID_ORDER=()
# The state file: one "port N", "dir PATH" or "file PATH" line per thing handed out by
# jg_free_port, jg_tmpdir or jg_check.
# $$ is the main shell's pid even inside $(...), so subshells append to the same file.
_JG_STATE_FILE="${TMPDIR:-/tmp}/jg-state.$$"

# jg_log MSG...: a timestamped progress line on stderr.
jg_log() {
  printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# jg_die MSG...: prints an error and exits 1 (jg_cleanup runs if installed as the EXIT trap).
jg_die() {
  printf 'FATAL: %s\n' "$*" >&2
  exit 1
}

# _jg_alive PID: true while PID exists and is not a zombie (an exited child not yet waited for
# still answers kill -0, so that alone is not enough).
_jg_alive() {
  local pid=$1 state
  [[ -n "$pid" && -r /proc/$pid/stat ]] || return 1
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# _jg_wait_exit PID SECONDS: polls until PID has exited; returns 1 on timeout.
_jg_wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while _jg_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
  return 0
}

_jg_track() {  # _jg_track PID KIND
  _JG_PID_KIND[$1]=$2
  _JG_PID_ORDER+=("$1")
}

_jg_untrack() {  # _jg_untrack PID
  unset "_JG_PID_KIND[$1]"
}

# _jg_reap PID: collects the exit status of a child of this shell into _JG_REAPED_STATUS (127
# for a pid that is not our child). Must run in the main shell, never inside $(...).
_JG_REAPED_STATUS=0
_jg_reap() {
  _JG_REAPED_STATUS=0
  wait "$1" 2>/dev/null || _JG_REAPED_STATUS=$?
}

# jg_bg_register PID: records a background process (a client a test started) for jg_cleanup.
jg_bg_register() {
  _jg_track "$1" bg
}

# jg_wait_for SECONDS CMD...: runs CMD every 0.2 s until it succeeds (returns 0) or SECONDS pass
# (returns 1).
jg_wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while ! "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
  return 0
}

# jg_free_port: prints a TCP port on 127.0.0.1 that nothing uses (listening or connected) and that
# this shell has not handed out before. Ports are drawn at random from 20000-60000, preferring the
# part below the kernel's ephemeral range (so outgoing connections cannot grab it before the
# server binds it).
jg_free_port() {
  local lo=20000 hi=60000 eph_lo port try
  if read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
    if ((eph_lo > lo + 1000 && eph_lo <= hi)); then
      hi=$((eph_lo - 1))
    fi
  fi
  for ((try = 0; try < 500; try++)); do
    port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    if [[ -f "$_JG_STATE_FILE" ]] && grep -qx "port $port" "$_JG_STATE_FILE"; then
      continue
    fi
    if [[ -n "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]]; then
      continue
    fi
    echo "port $port" >>"$_JG_STATE_FILE"
    echo "$port"
    return 0
  done
  echo "jg_free_port: no free port found in $lo-$hi" >&2
  return 1
}

# jg_tmpdir: creates a temporary directory (mode 0755, so server users can traverse it), records it
# for removal by jg_cleanup and prints its path.
jg_tmpdir() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/jg.XXXXXX") || return 1
  chmod 0755 "$dir"
  echo "dir $dir" >>"$_JG_STATE_FILE"
  echo "$dir"
}

# _jg_as USER CMD...: runs CMD as USER when we are root (exec'ing, so a background `&` gets the
# server's own pid), else as ourselves.
_jg_as() {
  local user=$1
  shift
  if [[ $(id -u) -eq 0 ]]; then
    exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
  else
    exec "$@"
  fi
}

# _jg_traversable_by USER DIR: true if USER can reach DIR (x on every ancestor).
_jg_traversable_by() {
  if [[ $(id -u) -ne 0 ]]; then
    return 0
  fi
  setpriv --reuid="$1" --regid="$1" --init-groups -- test -x "$2"
}

# jg_pg_start DIR PORT [extra postgres -c options...]: initdb into DIR/pgdata (superuser postgres,
# trust auth, UTF8, C locale) and starts postgres in the background on 127.0.0.1:PORT with its
# unix socket in DIR, log in DIR/postgres.log. Extra options are "name=value" (a leading "-c" is
# accepted too). Sets JG_PG_PID, JG_PG_PORT, JG_PG_DIR. Waits <= 30 s for pg_isready; on failure
# prints the log and returns 1.
jg_pg_start() {
  local dir=$1 port=$2
  shift 2 || { echo "usage: jg_pg_start DIR PORT [name=value...]" >&2; return 1; }
  local opts=() opt
  for opt in "$@"; do
    [[ "$opt" == -c ]] && continue
    opts+=(-c "$opt")
  done
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd)
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir"
    if ! _jg_traversable_by postgres "$dir"; then
      echo "jg_pg_start: user postgres cannot reach $dir (use a directory from jg_tmpdir)" >&2
      return 1
    fi
  fi
  if ! (_jg_as postgres "$JG_PG_BIN/initdb" -D "$dir/pgdata" -U postgres --auth=trust \
      --encoding=UTF8 --locale=C --no-sync) >"$dir/initdb.log" 2>&1; then
    echo "jg_pg_start: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    return 1
  fi
  # initdb --auth=trust already trusts local and host lines; say it explicitly for 127.0.0.1.
  printf 'host all all 127.0.0.1/32 trust\n' >>"$dir/pgdata/pg_hba.conf"
  (_jg_as postgres "$JG_PG_BIN/postgres" -D "$dir/pgdata" \
    -c listen_addresses=127.0.0.1 -c port="$port" -c unix_socket_directories="$dir" \
    -c max_connections=1200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c shared_buffers=256MB -c ssl=off "${opts[@]}") >>"$dir/postgres.log" 2>&1 &
  JG_PG_PID=$!
  JG_PG_PORT=$port
  JG_PG_DIR=$dir
  _jg_track "$JG_PG_PID" pg
  local deadline=$((SECONDS + 30))
  while ! pg_isready -q -h 127.0.0.1 -p "$port" -t 1 >/dev/null 2>&1; do
    if ! _jg_alive "$JG_PG_PID" || ((SECONDS >= deadline)); then
      echo "jg_pg_start: postgres on port $port did not become ready; log:" >&2
      cat "$dir/postgres.log" >&2
      jg_pg_stop "$JG_PG_PID" >/dev/null 2>&1
      return 1
    fi
    sleep 0.2
  done
  return 0
}

# jg_pg_stop [PID]: fast shutdown (SIGINT) of PID (default JG_PG_PID); waits <= 30 s, then SIGKILL
# (returns 1 then).
jg_pg_stop() {
  local pid=${1:-$JG_PG_PID} rc=0
  [[ -n "$pid" ]] || return 0
  if _jg_alive "$pid"; then
    kill -INT "$pid" 2>/dev/null
    if ! _jg_wait_exit "$pid" 30; then
      echo "jg_pg_stop: postgres $pid still running after 30 s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null
      _jg_wait_exit "$pid" 5
      rc=1
    fi
  fi
  _jg_reap "$pid"
  _jg_untrack "$pid"
  if [[ "$pid" == "$JG_PG_PID" ]]; then
    JG_PG_PID=""
  fi
  return $rc
}

# jg_mariadb_start DIR PORT: mariadb-install-db into DIR/data and starts mariadbd in the
# background on 127.0.0.1:PORT (socket DIR/mariadb.sock, log DIR/mariadb.log). Creates users
# 'jg'@'%' and 'jg'@'127.0.0.1' (password jg, all privileges) and database sbtest; root@localhost
# has no password (use the socket or TCP). Sets JG_MARIADB_PID, JG_MARIADB_PORT, JG_MARIADB_DIR,
# JG_MARIADB_SOCKET. Waits <= 30 s for mariadb-admin ping over TCP; on failure prints the log and
# returns 1.
jg_mariadb_start() {
  local dir=$1 port=$2
  [[ -n "$dir" && -n "$port" ]] || { echo "usage: jg_mariadb_start DIR PORT" >&2; return 1; }
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd)
  local user_opt=()
  if [[ $(id -u) -eq 0 ]]; then
    user_opt=(--user=root)
  fi
  if ! mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$dir/data" \
      --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
      >"$dir/install.log" 2>&1; then
    echo "jg_mariadb_start: mariadb-install-db failed:" >&2
    cat "$dir/install.log" >&2
    return 1
  fi
  mariadbd --no-defaults "${user_opt[@]}" --datadir="$dir/data" --socket="$dir/mariadb.sock" \
    --pid-file="$dir/mariadb.pid" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --max-connections=1200 --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=128M \
    --innodb-log-file-size=64M --skip-log-bin --log-error="$dir/mariadb.log" \
    >>"$dir/mariadb.log" 2>&1 &
  JG_MARIADB_PID=$!
  JG_MARIADB_PORT=$port
  JG_MARIADB_DIR=$dir
  JG_MARIADB_SOCKET=$dir/mariadb.sock
  _jg_track "$JG_MARIADB_PID" mariadb
  local deadline=$((SECONDS + 30))
  while ! mariadb-admin --no-defaults -h 127.0.0.1 -P "$port" -u root --connect-timeout=1 \
      ping >/dev/null 2>&1; do
    if ! _jg_alive "$JG_MARIADB_PID" || ((SECONDS >= deadline)); then
      echo "jg_mariadb_start: mariadbd on port $port did not become ready; log:" >&2
      cat "$dir/mariadb.log" >&2
      jg_mariadb_stop "$JG_MARIADB_PID" >/dev/null 2>&1
      return 1
    fi
    sleep 0.2
  done
  if ! mariadb --no-defaults -S "$dir/mariadb.sock" -u root -e "
      CREATE USER 'jg'@'%' IDENTIFIED BY 'jg';
      CREATE USER 'jg'@'127.0.0.1' IDENTIFIED BY 'jg';
      GRANT ALL PRIVILEGES ON *.* TO 'jg'@'%' WITH GRANT OPTION;
      GRANT ALL PRIVILEGES ON *.* TO 'jg'@'127.0.0.1' WITH GRANT OPTION;
      CREATE DATABASE sbtest;
      FLUSH PRIVILEGES;" >>"$dir/install.log" 2>&1; then
    echo "jg_mariadb_start: creating user jg / database sbtest failed:" >&2
    cat "$dir/install.log" >&2
    return 1
  fi
  return 0
}

# jg_mariadb_stop [PID]: SIGTERM to PID (default JG_MARIADB_PID); waits <= 30 s, then SIGKILL
# (returns 1 then).
jg_mariadb_stop() {
  local pid=${1:-$JG_MARIADB_PID} rc=0
  [[ -n "$pid" ]] || return 0
  if _jg_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    if ! _jg_wait_exit "$pid" 30; then
      echo "jg_mariadb_stop: mariadbd $pid still running after 30 s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null
      _jg_wait_exit "$pid" 5
      rc=1
    fi
  fi
  _jg_reap "$pid"
  _jg_untrack "$pid"
  if [[ "$pid" == "$JG_MARIADB_PID" ]]; then
    JG_MARIADB_PID=""
  fi
  return $rc
}

# _jg_io_uring_unavailable LOGFILE: true if jitgate's log says io_uring cannot be used.
_jg_io_uring_unavailable() {
  [[ -f "$1" ]] && grep -qiE 'io_uring.*(disabled|unavailable|not (supported|available|permitted))|io_uring_disabled' "$1"
}

# jg_jitgate_start CONFIG LOGFILE [extra jitgate args...]: starts "$JITGATE" --config CONFIG in
# the background, stdout and stderr to LOGFILE; sets JG_JITGATE_PID and JG_JITGATE_LOG. Waits
# <= 20 s for a line containing "event=ready". If jitgate exits first (or never gets ready) prints
# the log and returns 1 -- or 77 when the log says io_uring is unavailable (callers may `exit 77`).
jg_jitgate_start() {
  local config=$1 logfile=$2
  shift 2 || { echo "usage: jg_jitgate_start CONFIG LOGFILE [args...]" >&2; return 1; }
  if [[ -z "${JITGATE:-}" || ! -x "$JITGATE" ]]; then
    echo "jg_jitgate_start: JITGATE='${JITGATE:-}' is not an executable" >&2
    return 1
  fi
  "$JITGATE" --config "$config" "$@" >"$logfile" 2>&1 &
  JG_JITGATE_PID=$!
  JG_JITGATE_LOG=$logfile
  _jg_track "$JG_JITGATE_PID" jitgate
  local deadline=$((SECONDS + 20)) pid=$JG_JITGATE_PID
  while ! grep -q 'event=ready' "$logfile" 2>/dev/null; do
    if ! _jg_alive "$pid" || ((SECONDS >= deadline)); then
      if _jg_alive "$pid"; then
        echo "jg_jitgate_start: no event=ready within 20 s; log:" >&2
        kill -KILL "$pid" 2>/dev/null
        _jg_wait_exit "$pid" 5
        _jg_reap "$pid"
      else
        _jg_reap "$pid"
        echo "jg_jitgate_start: jitgate exited (status $_JG_REAPED_STATUS) before ready; log:" >&2
      fi
      cat "$logfile" >&2
      _jg_untrack "$pid"
      JG_JITGATE_PID=""
      if _jg_io_uring_unavailable "$logfile"; then
        return 77
      fi
      return 1
    fi
    sleep 0.1
  done
  return 0
}

# jg_jitgate_stop [PID]: SIGTERM to PID (default JG_JITGATE_PID); waits <= 30 s for it to exit
# and returns its exit status. If it does not exit: SIGKILL and return 1.
jg_jitgate_stop() {
  local pid=${1:-$JG_JITGATE_PID} rc=0
  [[ -n "$pid" ]] || return 0
  if _jg_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    if ! _jg_wait_exit "$pid" 30; then
      echo "jg_jitgate_stop: jitgate $pid still running 30 s after SIGTERM; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null
      _jg_wait_exit "$pid" 5
      _jg_reap "$pid"
      _jg_untrack "$pid"
      [[ "$pid" == "$JG_JITGATE_PID" ]] && JG_JITGATE_PID=""
      return 1
    fi
  fi
  _jg_reap "$pid"
  rc=$_JG_REAPED_STATUS
  _jg_untrack "$pid"
  if [[ "$pid" == "$JG_JITGATE_PID" ]]; then
    JG_JITGATE_PID=""
  fi
  return "$rc"
}

# jg_cleanup: stops everything this shell started and has not stopped (newest first: clients,
# jitgate, then servers), then removes the jg_tmpdir directories. Install with
# `trap jg_cleanup EXIT`; it keeps the exit status of the script. With JG_KEEP_TMP=1 in the
# environment the directories (logs, server data) are kept for debugging and their paths printed.
jg_cleanup() {
  local rc=$? i pid kind line
  trap - EXIT
  for ((i = ${#_JG_PID_ORDER[@]} - 1; i >= 0; i--)); do
    pid=${_JG_PID_ORDER[i]}
    kind=${_JG_PID_KIND[$pid]:-}
    [[ -n "$kind" ]] || continue
    case "$kind" in
      pg) jg_pg_stop "$pid" >/dev/null 2>&1 || true ;;
      mariadb) jg_mariadb_stop "$pid" >/dev/null 2>&1 || true ;;
      jitgate) jg_jitgate_stop "$pid" >/dev/null 2>&1 || true ;;
      *)
        if _jg_alive "$pid"; then
          kill -TERM "$pid" 2>/dev/null
          _jg_wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
        fi
        _jg_reap "$pid"
        _jg_untrack "$pid"
        ;;
    esac
  done
  _JG_PID_ORDER=()
  if [[ -f "$_JG_STATE_FILE" ]]; then
    while read -r kind line; do
      if [[ "$kind" == file && -n "$line" ]]; then
        rm -f -- "$line"
      elif [[ "$kind" == dir && -n "$line" && -d "$line" ]]; then
        if [[ -n "${JG_KEEP_TMP:-}" ]]; then
          echo "jg_cleanup: keeping $line (JG_KEEP_TMP is set)" >&2
        else
          rm -rf -- "$line"
        fi
      fi
    done <"$_JG_STATE_FILE"
    rm -f -- "$_JG_STATE_FILE"
  fi
  return $rc
}

# jg_skip_if_no_io_uring [LOGFILE]: exits 77 (meson: skipped) when io_uring is disabled for every
# process (kernel.io_uring_disabled = 2) or when LOGFILE (jitgate's log) says it is unavailable.
jg_skip_if_no_io_uring() {
  local disabled
  disabled=$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)
  if [[ "$disabled" == 2 ]]; then
    echo "SKIP: io_uring is disabled (kernel.io_uring_disabled = 2)"
    exit 77
  fi
  if [[ -n "${1:-}" ]] && _jg_io_uring_unavailable "$1"; then
    echo "SKIP: jitgate reports io_uring unavailable"
    exit 77
  fi
}

# jg_test_init: the common start of an integration test script. Installs `trap jg_cleanup EXIT`
# (and TERM/INT traps that exit, so it runs then too),
# skips (exit 77) when io_uring is disabled, requires JITGATE to be an executable (exit 1 if not)
# and raises the soft open-file limit to the hard limit (1000 relayed sessions need > 2000 fds).
jg_test_init() {
  trap jg_cleanup EXIT
  # Turn a meson timeout (SIGTERM) or ^C into a normal exit, so jg_cleanup runs.
  trap 'exit 143' TERM
  trap 'exit 130' INT
  jg_skip_if_no_io_uring ""
  if [[ -z "${JITGATE:-}" || ! -x "$JITGATE" ]]; then
    jg_die "JITGATE='${JITGATE:-}' is not an executable (meson test sets it; or export it)"
  fi
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# jg_jitgate_up CONFIG LOGFILE [args...]: jg_jitgate_start, exiting 77 if io_uring is unavailable
# and 1 on any other failure. For tests whose every check needs a running jitgate.
jg_jitgate_up() {
  local rc=0
  jg_jitgate_start "$@" || rc=$?
  if ((rc == 77)); then
    echo "SKIP: jitgate reports io_uring unavailable"
    exit 77
  fi
  ((rc == 0)) || jg_die "jitgate did not start (config $1)"
}

# jg_pass NAME / jg_fail NAME [WHY...]: record one check's outcome.
jg_pass() {
  JG_PASS_COUNT=$((JG_PASS_COUNT + 1))
  echo "PASS $1"
}

jg_fail() {
  local name=$1
  shift
  JG_FAIL_COUNT=$((JG_FAIL_COUNT + 1))
  JG_FAILED_NAMES+=("$name")
  echo "FAIL $name${*:+: $*}"
}

# jg_check NAME CMD...: runs CMD (output captured), prints "PASS NAME" or "FAIL NAME" plus the
# last 30 lines of CMD's output, and counts the result. Returns CMD's status.
jg_check() {
  local name=$1 out rc=0
  shift
  out=$(mktemp "${TMPDIR:-/tmp}/jg-check.XXXXXX")
  echo "file $out" >>"$_JG_STATE_FILE"
  "$@" >"$out" 2>&1 || rc=$?
  if ((rc == 0)); then
    jg_pass "$name"
  else
    jg_fail "$name" "exit status $rc from: $*"
    tail -n 30 "$out" | sed 's/^/    | /'
  fi
  rm -f -- "$out"
  return $rc
}

# jg_finish: prints the totals and exits 0 if no check failed, else 1.
jg_finish() {
  echo "== $JG_PASS_COUNT passed, $JG_FAIL_COUNT failed${JG_FAILED_NAMES[*]:+ (${JG_FAILED_NAMES[*]})}"
  if ((JG_FAIL_COUNT > 0 || JG_PASS_COUNT == 0)); then
    exit 1
  fi
  exit 0
}

# jg_fd_count PID: prints how many file descriptors PID has open.
jg_fd_count() {
  local entries=(/proc/"$1"/fd/*)
  [[ -e "${entries[0]}" ]] || { echo 0; return 0; }
  echo "${#entries[@]}"
}

# jg_fds_at_most PID N: true when PID has at most N open descriptors.
jg_fds_at_most() {
  (($(jg_fd_count "$1") <= $2))
}

# jg_check_client_vanishes LOG JITGATE_PID OPENS_BEFORE FD_BASELINE CLIENT_PID OUTPUT WHAT
# For a client started in the background (CLIENT_PID) that streams a large result of 'x' bytes
# into OUTPUT: waits until it streams, kills it with SIGKILL mid-result, then checks that jitgate
# logged the close of that session (the first session_open after OPENS_BEFORE in LOG) and that
# its descriptor count is back to FD_BASELINE. WHAT names the result in the check lines.
jg_check_client_vanishes() {
  local log=$1 pid=$2 opens_before=$3 fd_baseline=$4 client_pid=$5 output=$6 what=$7
  local session_line shard session
  jg_wait_for 20 jg_output_starts_with_x "$output"
  jg_check "the big $what started streaming" jg_output_starts_with_x "$output"
  kill -KILL "$client_pid"
  wait "$client_pid" 2>/dev/null
  session_line=$(grep 'event=session_open' "$log" | sed -n "$((opens_before + 1))p")
  shard=$(sed -nE 's/.* shard=([0-9]+).*/\1/p' <<<"$session_line")
  session=$(sed -nE 's/.* session=([0-9]+).*/\1/p' <<<"$session_line")
  jg_check "session_open logged for the vanishing client (shard=$shard session=$session)" \
    test -n "$shard" -a -n "$session"
  jg_check "session_close logged for it" \
    jg_wait_for 10 grep -qE "event=session_close shard=$shard session=$session( |$)" "$log"
  grep -E "event=session_close shard=$shard session=$session( |$)" "$log" | sed 's/^/    | /'
  jg_check "jitgate fds back to baseline ($fd_baseline) after the kill" \
    jg_wait_for 10 jg_fds_at_most "$pid" "$fd_baseline"
}

jg_output_starts_with_x() {
  test "$(head -c 8 "$1")" = xxxxxxxx
}

# jg_pg_sql PORT SQL: runs SQL as postgres on 127.0.0.1:PORT, unaligned tuples-only output.
jg_pg_sql() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

# jg_my_sql PORT SQL: runs SQL as jg/jg on 127.0.0.1:PORT (no TLS), batch output without headers.
jg_my_sql() {
  mariadb --no-defaults --skip-ssl -h 127.0.0.1 -P "$1" -u jg -pjg -N -B -e "$2"
}
