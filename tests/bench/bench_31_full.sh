#!/usr/bin/env bash
# Full workspaces created by vibnd against vibn-sim, on a private Postgres (driver:
# tests/bench/full_bench.py): the critical path of one full workspace measured in round
# trips, then FULL_WS (default 200) at FULL_LATENCY_MS (default 20) next to the latency
# bound and issue 17's target. About a minute on 2 cores.
set -u
cd "$(dirname "$0")/../.."
BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
for b in vibnd vibnctl vibn-sim; do
	[ -x "$BIN/$b" ] || { echo "bench_full: $BIN/$b is not built (make)" >&2; exit 1; }
done

. tests/bench/bench_db.sh
bench_db || exit 1
BENCH_TMP=$tmp /usr/bin/python3 tests/bench/full_bench.py "$url" "$BIN"
