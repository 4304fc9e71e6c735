#!/usr/bin/env bash
# Runs every micro benchmark binary given on the command line, one after another.
# BENCH_ARGS adds Google Benchmark flags, e.g. BENCH_ARGS=--benchmark_min_time=0.05
set -euo pipefail
for exe in "$@"; do
  echo "== $(basename "$exe")"
  # shellcheck disable=SC2086
  "$exe" ${BENCH_ARGS:-}
done
