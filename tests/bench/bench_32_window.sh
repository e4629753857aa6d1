#!/usr/bin/env bash
# Signups against Coolify's own rate-limit window (driver: tests/bench/window_bench.py):
# WINDOW_WS signups (default 120) at vibnd's default Coolify budget against vibn-sim limiting
# Coolify to its default 200 requests a minute, next to the bound (the same burst with no
# limit, since all its Coolify calls fit in one window); the 429 answers (at most 3).
set -u
cd "$(dirname "$0")/../.."
BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
for b in vibnd vibnctl vibn-sim; do
	[ -x "$BIN/$b" ] || { echo "bench_window: $BIN/$b is not built (make)" >&2; exit 1; }
done

. tests/bench/bench_db.sh
bench_db || exit 1
BENCH_TMP=$tmp /usr/bin/python3 tests/bench/window_bench.py "$url" "$BIN"
