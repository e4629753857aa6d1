#!/usr/bin/env bash
# The workspace reconciler in vibnd against vibn-sim, on a private Postgres
# (driver: tests/bench/reconcile_bench.py):
#  1. signup burst: BENCH_WS workspaces (default 10,000) in one transaction, time until all
#     are Ready at simulator latency 0 and BENCH_LATENCY_MS (default 20), budgets raised;
#     API calls per workspace next to the design's minimum. Targets: >= 500 workspaces/s at
#     latency 0; >= 0.8 x workers / (calls on the critical path x latency) at 20 ms;
#  2. BENCH_BUDGET_WS workspaces (default 200; 1,000 takes ~5.5 min) at the default budgets:
#     the Coolify budget binds, expected vs measured;
#  3. a resync of the converged workspaces: 0 mutating calls, reads per workspace, seconds.
set -u
cd "$(dirname "$0")/../.."
BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
for b in vibnd vibnctl vibn-sim; do
	[ -x "$BIN/$b" ] || { echo "bench_reconcile: $BIN/$b is not built (make)" >&2; exit 1; }
done

. tests/bench/bench_db.sh
bench_db || exit 1
BENCH_TMP=$tmp /usr/bin/python3 tests/bench/reconcile_bench.py "$url" "$BIN"
