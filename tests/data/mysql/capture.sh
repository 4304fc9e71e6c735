#!/bin/bash
# tests/data/mysql/capture.sh: how the golden captures in this folder were recorded.
# Starts a throwaway MariaDB (scripts/lib/db.sh), runs a mariadb client session and a short sysbench
# oltp_read_write run (server-side prepared statements, so binary rows) through record.py, and
# leaves <name>-0.c2s / <name>-0.s2c in OUT (default /tmp/mysql-capture). Copy them here as
# mariadb_client.{c2s,s2c} and sysbench_ps.{c2s,s2c}. Usage: capture.sh [OUT]
set -u
cd "$(dirname "$0")/../../.."
source scripts/lib/db.sh
trap jg_cleanup EXIT
DIR=$(jg_tmpdir); PORT=$(jg_free_port); RPORT=$(jg_free_port)
jg_mariadb_start "$DIR" "$PORT" || exit 1
OUT=${1:-/tmp/mysql-capture}; rm -rf $OUT; mkdir -p $OUT
REC=tests/data/mysql/record.py
# 1. mariadb client session: DDL, inserts, text result sets of mixed types with NULLs, errors.
python3 $REC $RPORT $PORT $OUT/mariadb 1 & RP=$!; jg_bg_register $RP; sleep 0.5
mariadb --no-defaults --force --skip-ssl -h 127.0.0.1 -P $RPORT -u jg -pjg sbtest -e "
CREATE TABLE types (id INT PRIMARY KEY, ti TINYINT, si SMALLINT, mi MEDIUMINT, bi BIGINT,
  f FLOAT, d DOUBLE, dec1 DECIMAL(10,2), dt DATE, dtm DATETIME(6), ts TIMESTAMP NULL, tm TIME(3),
  y YEAR, c CHAR(5), vc VARCHAR(40), b BLOB, j JSON, bt BIT(8));
INSERT INTO types VALUES (1, -1, 300, 70000, 1234567890123, 1.5, 2.25, 12.34, '2024-02-29',
  '2024-02-29 12:34:56.789012', '2024-03-01 00:00:01', '-838:59:59.000', 2024, 'ab', 'hello',
  x'00ff10', '{\"a\":1}', b'1010'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, 0, 0, 0, 0, 0, 0, 0, '0000-00-00', '2000-01-01 00:00:00', NULL, '00:00:00', 1901, '', '', '', '[]', b'0');
SELECT * FROM types ORDER BY id;
SELECT 1, 'x', NULL, 2.5, NOW() > 0;
SELECT id, vc FROM types WHERE id = 99;
SHOW VARIABLES LIKE 'version%';
USE mysql;
SELECT @@version_comment;
SELECT * FROM no_such_table;
" > $OUT/mariadb.stdout 2>&1; echo "mariadb rc=$?"
wait $RP
# 2. sysbench: prepare directly, then a short recorded run with server-side prepared statements.
SB="sysbench oltp_read_write --mysql-host=127.0.0.1 --mysql-user=jg --mysql-password=jg --mysql-db=sbtest --tables=1 --table-size=20 --threads=1 --mysql-ssl=off"
$SB --mysql-port=$PORT prepare > $OUT/sb_prepare.log 2>&1; echo "prepare rc=$?"
python3 $REC $RPORT $PORT $OUT/sysbench 4 & RP=$!; jg_bg_register $RP; sleep 0.5
$SB --mysql-port=$RPORT --events=2 --db-ps-mode=auto --range_size=5 run > $OUT/sb_run.log 2>&1; echo "run rc=$?"
wait $RP
ls -la $OUT
