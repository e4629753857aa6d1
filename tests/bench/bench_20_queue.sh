#!/usr/bin/env bash
# Queue benchmark on a private Postgres:
#  1. enqueue-to-claim latency (p50, p99) on an idle vibnd (test reconciler, 8 workers);
#  2. throughput with the no-op reconciler and 8 workers, next to pgbench running the same
#     claim + complete SQL (vibn_claim, vibn_complete) with 8 clients on the same server.
# Targets: p50 <= 5 ms, p99 <= 50 ms, throughput >= 0.5 x pgbench.
#   BENCH_ITEMS (default 20000)  BENCH_SAMPLES (default 500)
set -u
cd "$(dirname "$0")/../.."
BUILD=${VIBN_BUILD:-build/release}
BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
TOOL=$BUILD/bench/queue_bench
ITEMS=${BENCH_ITEMS:-20000}
SAMPLES=${BENCH_SAMPLES:-500}
[ -x "$TOOL" ] || { echo "bench_queue: $TOOL is not built (make tests)" >&2; exit 1; }

# The test reconciler's tables (not in the production schema), and the daemon that has it.
. tests/bench/bench_db.sh
bench_db test || exit 1
VIBND_TEST=${VIBN_BUILD:-build/release}/tests/vibnd-test
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

start_daemon() { # reconciler
	DATABASE_URL=$url VIBN_RECONCILER=$1 VIBN_WEBHOOKS=off VIBN_WORKERS=8 VIBN_LISTEN=127.0.0.1:$port \
		"$VIBND_TEST" 2>"$tmp/vibnd-$1.log" &
	daemon=$!
	for _ in $(seq 200); do
		curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "bench_queue: vibnd did not become ready" >&2
	cat "$tmp/vibnd-$1.log" >&2
	exit 1
}
stop_daemon() {
	kill -TERM "$daemon" && wait "$daemon"
	daemon=
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Workspaces (their triggers enqueue them); then an empty queue.
"$PGBIN/psql" -qX -d "$url" -v ON_ERROR_STOP=1 >/dev/null <<SQL || exit 1
INSERT INTO vibn_workspaces (slug, owner) SELECT 'bench-' || i, 'u' FROM generate_series(1, $ITEMS) i;
DELETE FROM vibn_reconcile_queue;
SQL

# 1. Latency on an idle daemon.
start_daemon test
read -r n p50 p99 max < <("$TOOL" latency "$url" "$SAMPLES") || exit 1
stop_daemon
echo "enqueue-to-claim latency, idle vibnd, $n samples:"
printf '  p50 %6.2f ms   limit  5 ms   (%sx of limit)\n' "$p50" "$(ratio "$p50" 5)"
printf '  p99 %6.2f ms   limit 50 ms   (%sx of limit)\n' "$p99" "$(ratio "$p99" 50)"
printf '  max %6.2f ms\n' "$max"

# 2. Throughput: vibnd (noop reconciler) draining ITEMS ...
"$PGBIN/psql" -qX -d "$url" -c "DELETE FROM vibn_reconcile_queue" -c "VACUUM ANALYZE vibn_reconcile_queue" >/dev/null
start_daemon noop
read -r items secs rate < <("$TOOL" drain "$url") || exit 1
stop_daemon

# ... and pgbench running the same two statements, 8 clients, the same number of items.
cat >"$tmp/claim.sql" <<'SQL'
SELECT coalesce((SELECT claimed_ws FROM vibn_claim('pgbench/' || :client_id, '30 seconds')), '00000000-0000-0000-0000-000000000000') AS ws \gset
SELECT vibn_complete(:ws, 'pgbench/' || :client_id);
SQL
"$PGBIN/psql" -qX -d "$url" -c "VACUUM ANALYZE vibn_reconcile_queue" \
	-c "INSERT INTO vibn_reconcile_queue (workspace_id, priority, run_at, reason) SELECT id, 1, now(), 'bench' FROM vibn_workspaces" >/dev/null
pgb=$("$PGBIN/pgbench" -n -M extended -c 8 -j 2 -t $((ITEMS / 8)) -f "$tmp/claim.sql" "$url" 2>&1)
tps=$(echo "$pgb" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')
left=$("$PGBIN/psql" -qXAt -d "$url" -c "SELECT count(*) FROM vibn_reconcile_queue")
if [ -z "$tps" ]; then
	echo "bench_queue: pgbench failed:" >&2
	echo "$pgb" >&2
	exit 1
fi
echo "queue throughput, $items items, 8 workers / 8 pgbench clients, claim + complete:"
printf '  vibnd (noop reconciler)  %8.0f items/s  (%s s)\n' "$rate" "$secs"
printf '  pgbench (same SQL)       %8.0f items/s  (%s left over)\n' "$tps" "$left"
printf '  ratio vibnd/pgbench      %8s          limit >= 0.50\n' "$(ratio "$rate" "$tps")"
