#!/usr/bin/env bash
# relay_mysql.sh: real MySQL-protocol clients (the mariadb client, sysbench) through jitgate's
# transparent relay to a real MariaDB server, compared with the same clients connected directly.
#
# Checks: mariadb client output identical both ways (plain TCP: --skip-ssl); a ~200 MB result
# streamed byte-identical both ways; LOAD DATA LOCAL INFILE of ~100 MB whose server-side hash
# equals the source's; sysbench oltp_point_select (prepare, 8 threads for 5 s, cleanup) and a
# 64-thread oltp_read_write run without errors (deadlocks sysbench ignores aside); a client killed mid-result leaves no session, fd
# or server thread behind; clean SIGTERM shutdown, no sanitizer reports.
# Env: JITGATE (binary), JG_SOURCE_ROOT. Exit 0 pass, 1 fail, 77 io_uring unavailable.
set -uo pipefail
# Helper functions here are mostly called through jg_check / jg_wait_for.
# shellcheck disable=SC2317

JG_SOURCE_ROOT=${JG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$JG_SOURCE_ROOT/scripts/lib/db.sh"
jg_test_init

work=$(jg_tmpdir)
my_port=$(jg_free_port)
relay_port=$(jg_free_port)

jg_log "starting mariadbd on 127.0.0.1:$my_port"
jg_mariadb_start "$work/mariadb" "$my_port" || jg_die "mariadbd did not start"

cat >"$work/jitgate.json" <<EOF
{"shards": 2,
 "listeners": [{"name": "my", "protocol": "mysql", "address": "127.0.0.1:$relay_port",
                "resource": "maria"}],
 "resources": {"maria": {"protocol": "mysql", "address": "127.0.0.1:$my_port"}},
 "limits": {"idle_timeout_s": 600, "sessions_per_shard_max": 10000, "shutdown_grace_s": 10}}
EOF
log=$work/jitgate.log
jg_log "starting jitgate on 127.0.0.1:$relay_port -> $my_port"
jg_jitgate_up "$work/jitgate.json" "$log"
jitgate_pid=$JG_JITGATE_PID

# my_at PORT ARGS...: the mariadb client as jg/jg over plain TCP to 127.0.0.1:PORT.
my_at() {
  local port=$1
  shift
  mariadb --no-defaults --skip-ssl --protocol=TCP -h 127.0.0.1 -P "$port" -u jg -pjg "$@"
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

# --- 1. the mariadb client: same script, same output ------------------------------------------
cat >"$work/queries.sql" <<'EOF'
SELECT 1 AS one, 'two' AS two, NULL AS three, 4.5 AS four;
SELECT VERSION() LIKE '%MariaDB%' AS is_mariadb, CURRENT_USER(), DATABASE();
USE sbtest;
CREATE TABLE t_relay (id INT PRIMARY KEY, name VARCHAR(64), amount DECIMAL(10,2), created DATE)
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO t_relay SELECT seq, CONCAT('name ', seq), seq * 1.5, '2024-01-01' + INTERVAL seq DAY
  FROM seq_1_to_2000;
SELECT COUNT(*), SUM(amount), MIN(created), MAX(name) FROM t_relay;
SELECT * FROM t_relay WHERE id % 97 = 0 ORDER BY id;
START TRANSACTION;
UPDATE t_relay SET amount = 0 WHERE id < 10;
SELECT SUM(amount) FROM t_relay;
ROLLBACK;
SELECT SUM(amount) FROM t_relay;
SELECT * FROM no_such_table;
SELECT 'still connected after an error' AS msg;
SELECT CAST('abc' AS SIGNED) AS warned;
SHOW WARNINGS;
PREPARE stmt FROM 'SELECT name, amount FROM t_relay WHERE id = ?';
SET @id = 42;
EXECUTE stmt USING @id;
DEALLOCATE PREPARE stmt;
SELECT MD5(GROUP_CONCAT(MD5(seq) SEPARATOR '')) FROM seq_1_to_50000;
SELECT REPEAT(MD5('jitgate'), 100000) AS big_row;
SELECT REPEAT('é€', 40000) AS wide;
SELECT 'multi\nline', 'tab\there', '"quoted"';
DELIMITER //
CREATE PROCEDURE two_results() BEGIN SELECT 1 AS first_set; SELECT 2 AS second_set; END//
DELIMITER ;
CALL two_results();
DROP PROCEDURE two_results;
DROP TABLE t_relay;
EOF
my_at "$my_port" --force --column-names <"$work/queries.sql" >"$work/direct.out" 2>&1
my_at "$relay_port" --force --column-names <"$work/queries.sql" >"$work/relay.out" 2>&1
jg_check "mariadb script output identical direct vs relay" \
  diff -u "$work/direct.out" "$work/relay.out"
jg_check "mariadb script output is non-trivial" \
  grep -q 'still connected after an error' "$work/relay.out"
jg_check "mariadb -e through the relay" \
  test "$(my_at "$relay_port" -N -B -e 'SELECT 40 + 2' 2>&1)" = 42

# --- 2. a big result streamed (--quick), byte-identical ----------------------------------------
big_sql="SELECT seq, REPEAT(MD5(seq), 6) FROM seq_1_to_1000000"
jg_log "~200 MB result directly and through the relay"
direct_hash=$(my_at "$my_port" --quick -N -B sbtest -e "$big_sql" | hash_stdin)
relay_hash=$(my_at "$relay_port" --quick -N -B sbtest -e "$big_sql" | hash_stdin)
read -r _ big_bytes <<<"$direct_hash"
jg_check "big result is >= 190 MB ($big_bytes bytes)" test "${big_bytes:-0}" -ge 190000000
jg_check "big result through the relay byte-identical to direct" test "$relay_hash" = "$direct_hash"

# --- 3. LOAD DATA LOCAL INFILE ~100 MB -----------------------------------------------------------
jg_log "LOAD DATA LOCAL INFILE of ~100 MB through the relay"
expected_in=$(python3 - "$work/load.txt" <<'EOF'
import hashlib, random, sys
rng = random.Random(20240602)
agg = hashlib.md5()
rows = 100000
with open(sys.argv[1], "w") as f:
    for _ in range(rows):
        v = rng.getrandbits(4000).to_bytes(500, "little").hex()
        f.write(v + "\n")
        agg.update(hashlib.md5(v.encode()).hexdigest().encode())
print(rows, agg.hexdigest())
EOF
)
my_at "$my_port" sbtest -e "CREATE TABLE load_in (id BIGINT AUTO_INCREMENT PRIMARY KEY, v TEXT)"
jg_check "LOAD DATA LOCAL INFILE through the relay" \
  my_at "$relay_port" --local-infile=1 sbtest \
    -e "LOAD DATA LOCAL INFILE '$work/load.txt' INTO TABLE load_in (v)"
server_in=$(my_at "$my_port" sbtest -N -B -e "SET SESSION group_concat_max_len = 1 << 30;
  SELECT CONCAT(COUNT(*), ' ', MD5(GROUP_CONCAT(MD5(v) ORDER BY id SEPARATOR ''))) FROM load_in")
jg_check "server-side content hash equals the source ($expected_in)" \
  test "$server_in" = "$expected_in"
my_at "$my_port" sbtest -e "DROP TABLE load_in"
rm -f "$work/load.txt"

# --- 4. sysbench ------------------------------------------------------------------------------
sb=(sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$relay_port"
  --mysql-user=jg --mysql-password=jg --mysql-db=sbtest --mysql-ssl=off --tables=2
  --table-size=10000)
# sysbench_ok NAME SYSBENCH-ARGS...: passes if sysbench exits 0 without a FATAL line, with
# "reconnects: 0" and more than 0 queries. (sysbench 1.0 aborts with FATAL on any error it does not
# ignore; it ignores deadlocks and lock wait timeouts, "ignored errors", which InnoDB produces under
# oltp_read_write without any relay fault.)
sysbench_ok() {
  local name=$1 out=$work/sysbench.out rc=0 fatal reconnects queries ignored
  shift
  "${sb[@]}" "$@" >"$out" 2>&1 || rc=$?
  fatal=$(grep -c 'FATAL' "$out")
  reconnects=$(sed -nE 's/^ *reconnects: +([0-9]+).*/\1/p' "$out")
  queries=$(sed -nE 's/^ *queries: +([0-9]+).*/\1/p' "$out")
  ignored=$(sed -nE 's/^ *ignored errors: +([0-9]+).*/\1/p' "$out")
  if ((rc == 0 && fatal == 0)) && [[ "${reconnects:-x}" == 0 && "${queries:-0}" -gt 0 ]]; then
    jg_pass "$name ($queries queries, $(sed -nE 's/^ *transactions: +[0-9]+ +\(([0-9.]+) per sec.*/\1/p' "$out") tps, ${ignored:-?} ignored deadlocks)"
  else
    jg_fail "$name" "exit $rc, FATAL lines=$fatal, reconnects=${reconnects:-?}, queries=${queries:-?}"
    tail -n 25 "$out" | sed 's/^/    | /'
  fi
}
jg_log "sysbench oltp_point_select prepare / run / cleanup through the relay"
jg_check "sysbench oltp_point_select prepare" "${sb[@]}" oltp_point_select prepare
sysbench_ok "sysbench oltp_point_select --threads=8 --time=5" \
  oltp_point_select --threads=8 --time=5 run
sysbench_ok "sysbench oltp_read_write --threads=64 --time=3" \
  oltp_read_write --threads=64 --time=3 run
jg_check "sysbench oltp_point_select cleanup" "${sb[@]}" oltp_point_select cleanup
jg_check "sysbench tables gone (checked directly)" \
  test "$(my_at "$my_port" -N -B -e "SELECT COUNT(*) FROM information_schema.tables
           WHERE table_schema = 'sbtest'")" = 0

# --- 5. a client that vanishes mid-result --------------------------------------------------------
jg_log "a client killed mid-result"
sleep 1  # let sysbench's sessions finish closing before taking the baseline
fd_baseline=$(jg_fd_count "$jitgate_pid")
opens_before=$(grep -c 'event=session_open' "$log")
# Not through my_at: a backgrounded function is a subshell, and the kill must hit the client.
mariadb --no-defaults --skip-ssl --protocol=TCP -h 127.0.0.1 -P "$relay_port" -u jg -pjg \
  --quick -N -B sbtest -e "SELECT /* jg_vanish */ REPEAT('x', 1000) FROM seq_1_to_100000000" >"$work/vanish.out" 2>&1 &
vanish_pid=$!
jg_bg_register "$vanish_pid"
jg_check_client_vanishes "$log" "$jitgate_pid" "$opens_before" "$fd_baseline" "$vanish_pid" \
  "$work/vanish.out" SELECT
no_vanish_thread() {
  test "$(my_at "$my_port" -N -B -e "SELECT COUNT(*) FROM information_schema.processlist
           WHERE info LIKE '%jg_vanish%' AND id <> CONNECTION_ID()")" = 0
}
jg_check "no leftover server thread for the vanished client" jg_wait_for 10 no_vanish_thread

# --- 6. every session closed, clean shutdown -----------------------------------------------------
opens=$(grep -c 'event=session_open' "$log")
closes_match() {
  test "$(grep -c 'event=session_close' "$log")" -eq "$opens"
}
jg_check "every session_open has its session_close" jg_wait_for 10 closes_match
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
