#!/usr/bin/env bash
# tests/data/pg/record.sh: re-records the golden PostgreSQL captures in tests/data/pg/.
#
# Starts a throwaway PostgreSQL 15 (scripts/lib/db.sh), puts tests/data/pg/record.py between it
# and real clients, and records: psql simple-protocol sessions (DDL, DML, NULLs, errors, notices,
# COPY both ways, LISTEN/NOTIFY, a multi-statement Query), psql through SCRAM-SHA-256 and MD5
# password authentication, and pgbench in simple, extended and prepared modes. Every capture is
# <name>.<connection>.c2s / .s2c; tests/parsers/pg/capture_test.cc walks them all.
# Usage: tests/data/pg/record.sh   (from anywhere; needs root or the postgres binaries as us)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../../../scripts/lib/db.sh
source "$root/scripts/lib/db.sh"
trap jg_cleanup EXIT

dir=$(jg_tmpdir)
pg_port=$(jg_free_port)
jg_pg_start "$dir/pg" "$pg_port" password_encryption=scram-sha-256
export PGHOST=127.0.0.1 PGSSLMODE=disable PGGSSENCMODE=disable PGCONNECT_TIMEOUT=10
psql_admin() { psql -X -q -p "$pg_port" -U postgres -d postgres "$@"; }

# Password-authenticated users: SCRAM first in pg_hba.conf, then MD5 (hashed as md5).
psql_admin -c "CREATE ROLE scram_user LOGIN PASSWORD 'scram-pw'"
psql_admin -c "SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'md5-pw'"
hba="$dir/pg/pgdata/pg_hba.conf"
{ printf 'host all scram_user 127.0.0.1/32 scram-sha-256\n'
  printf 'host all md5_user 127.0.0.1/32 md5\n'
  cat "$hba"; } >"$hba.new"
cat "$hba.new" >"$hba"
psql_admin -c "SELECT pg_reload_conf()" >/dev/null
pgbench -q -i -s 1 -p "$pg_port" -U postgres postgres >/dev/null 2>&1

# record NAME CMD...: runs CMD against a fresh relay, then stops the relay.
record() {
  local name=$1 port
  shift
  port=$(jg_free_port)
  rm -f "$here/$name".*.c2s "$here/$name".*.s2c
  python3 "$here/record.py" --listen "$port" --upstream "$pg_port" --out "$here/$name" &
  local relay=$!
  jg_bg_register "$relay"
  jg_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || jg_die "relay did not start"
  # The probe above was connection 0 (empty streams): drop it once the real run is done.
  RELAY_PORT=$port "$@"
  sleep 0.5
  kill -TERM "$relay" 2>/dev/null || true
  wait "$relay" 2>/dev/null || true
  rm -f "$here/$name.0.c2s" "$here/$name.0.s2c"
}

psql_session() {
  psql -X -v ON_ERROR_STOP=0 -p "$RELAY_PORT" -U postgres -d postgres -f - <<'SQL' >/dev/null 2>&1
CREATE TABLE users (id int PRIMARY KEY, email text, note text, score numeric);
INSERT INTO users VALUES (1, 'alice@example.com', NULL, 1.5), (2, 'bob@example.com', 'x', NULL);
INSERT INTO users VALUES (1, 'dup@example.com', NULL, 0);
SELECT id, email, note, score, id * 2 AS twice, repeat('y', 100) AS wide FROM users ORDER BY id;
SELECT 1; SELECT 'two', NULL::text;
DO $$BEGIN RAISE NOTICE 'hello from DO'; END$$;
SELECT * FROM no_such_table;
BEGIN;
UPDATE users SET note = 'n' WHERE id = 2;
SELECT 1/0;
ROLLBACK;
COPY users TO STDOUT;
COPY users (id, email) FROM STDIN;
3	carol@example.com
\.
LISTEN jobs;
NOTIFY jobs, 'payload-1';
SELECT generate_series(1, 50) AS n, md5(generate_series(1, 50)::text) AS h;
SET application_name = 'capture';
DROP TABLE users;
SQL
}

scram_session() {
  PGPASSWORD=scram-pw psql -X -p "$RELAY_PORT" -U scram_user -d postgres \
    -c "SELECT current_user" >/dev/null
}

md5_session() {
  PGPASSWORD=md5-pw psql -X -p "$RELAY_PORT" -U md5_user -d postgres \
    -c "SELECT session_user" >/dev/null
}

pgbench_session() {
  pgbench -n -t 8 -c 1 -M "$1" -p "$RELAY_PORT" -U postgres postgres >/dev/null 2>&1
}

record psql_simple psql_session
record psql_scram scram_session
record psql_md5 md5_session
record pgbench_simple pgbench_session simple
record pgbench_extended pgbench_session extended
record pgbench_prepared pgbench_session prepared
ls -l "$here"/*.c2s "$here"/*.s2c
du -ch "$here"/*.c2s "$here"/*.s2c | tail -1
