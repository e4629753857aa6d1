#!/usr/bin/env bash
# Drift repair runs (sweeps) of vibnd against vibn-sim, on a private Postgres (driver:
# tests/bench/sweep_bench.py); about 6 minutes on 2 cores:
#  1. SWEEP_FULL_WS full workspaces (default 200: owner and admin with Gitea accounts, a repo,
#     an app) converged, then resynced at each of SWEEP_LATENCY_MS (default "0,20") of
#     simulator latency: 0 mutating calls, reads per workspace next to the design's minimum
#     (list calls for orgs and projects), at 20 ms time next to the latency bound (target
#     0.8 of it; budgets raised);
#  2. SWEEP_SCALE_WS converged signup workspaces (default 100,000) seeded straight into the
#     database and vibn-sim (POST /_sim/seed), then a resync over all of them: vibnd's peak
#     resident memory (VmHWM) next to 32 MB, reads per workspace, 0 mutating calls, 0 rows,
#     and the size of vibn-sim's GET /projects body (one, unpaginated: far over 8 MiB);
#  3. the same workspaces made full in the database: `vibnctl resync --plan`, the calls one
#     run needs per upstream and their time at the default budgets, and the paced spread.
set -u
cd "$(dirname "$0")/../.."
BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
for b in vibnd vibnctl vibn-sim; do
	[ -x "$BIN/$b" ] || { echo "bench_sweep: $BIN/$b is not built (make)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/vibn-bench.XXXXXX)
chmod 755 "$tmp"
. scripts/pg.sh
cleanup() {
	pg_stop "$tmp/pg"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pg_start "$tmp/pg" >/dev/null || exit 1
url="postgresql://postgres@127.0.0.1:$PGPORT/bench"
"$PGBIN/psql" -qX -c "CREATE DATABASE bench" >/dev/null || exit 1
DATABASE_URL=$url "$BIN/vibnctl" migrate >/dev/null || exit 1
BENCH_TMP=$tmp /usr/bin/python3 tests/bench/sweep_bench.py "$url" "$BIN"
