#!/usr/bin/env bash
# Webhook ingestion benchmark on a private Postgres: wrk (Debian's, with a Lua script) sends
# one fixed, correctly signed `repository` delivery with a unique X-Gitea-Delivery per
# request to vibnd; each 202 means the dedup row and the enqueue were committed. The
# workspace is reconciled meanwhile by the test reconciler taking 50 ms a run (a short real
# reconcile: a few upstream calls), so the queue sees leases, dirty marks and follow-ups. Side by side: the same wrk against GET /healthz (a static 200) on the same
# server, the limit of this machine. Targets: >= 5000 deliveries/s and >= 0.25 x static.
#   BENCH_SECONDS (default 5)  BENCH_CONNS (default 32)  BENCH_API_CONNS (default: vibnd's, 2)
#   BENCH_RECONCILER (default test; noop: runs back to back, as fast as the queue goes)
set -u
cd "$(dirname "$0")/../.."
BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-32}
API_CONNS=${BENCH_API_CONNS:-2}
SECRET=bench-webhook-secret
command -v wrk >/dev/null || { echo "bench_webhooks: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

# The test reconciler's tables (not in the production schema), and the daemon that has it.
. tests/bench/bench_db.sh
bench_db test || exit 1
VIBND_TEST=${VIBN_BUILD:-build/release}/tests/vibnd-test
"$PGBIN/psql" -qX -d "$url" -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u');
INSERT INTO vibn_test_behaviour (workspace_id, sleep_ms) SELECT id, 50 FROM vibn_workspaces;
SQL
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

DATABASE_URL=$url VIBN_RECONCILER=${BENCH_RECONCILER:-test} VIBN_WORKERS=2 VIBN_LISTEN=127.0.0.1:$port \
	GITEA_WEBHOOK_SECRET=$SECRET VIBN_API_CONNECTIONS=$API_CONNS VIBN_WEBHOOK_SPOOL_DIR="$tmp/spool" "$VIBND_TEST" 2>"$tmp/vibnd.log" &
daemon=$!
for _ in $(seq 200); do
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
	sleep 0.05
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "bench_webhooks: vibnd not ready" >&2; cat "$tmp/vibnd.log" >&2; exit 1; }

# The delivery: a repository "deleted" event as Gitea sends it, signed once.
body='{"action":"deleted","repository":{"id":7,"name":"web","full_name":"vibn-acme/web","owner":{"id":3,"login":"vibn-acme","username":"vibn-acme"},"private":true},"organization":{"id":3,"login":"vibn-acme","username":"vibn-acme"},"sender":{"id":1,"login":"alice","username":"alice"}}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
cat >"$tmp/hook.lua" <<LUA
local body = [[$body]]
local n = 0
local prefix = ""
local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end
function init(args)
	prefix = (args[1] or "run") .. "-" .. tostring(tid) .. "-"
end
function request()
	n = n + 1
	return wrk.format("POST", "/webhooks/gitea", {
		["Content-Type"] = "application/json",
		["X-Gitea-Event"] = "repository",
		["X-Gitea-Signature"] = "$sig",
		["X-Gitea-Delivery"] = prefix .. n,
	}, body)
end
LUA

# wrk output -> "rate p50_ms p99_ms non2xx requests"
summarize() {
	awk '
	function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/requests in/ { reqs = $1 }
	/^Requests\/sec:/ { rate = $2 }
	END { printf "%s %s %s %d %s\n", rate, p50, p99, bad, reqs }'
}

wrk -t2 -c"$CONNS" -d1s --latency -s "$tmp/hook.lua" "http://127.0.0.1:$port" -- warm >/dev/null 2>&1
read -r hrate hp50 hp99 hbad hreqs < <(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$tmp/hook.lua" \
	"http://127.0.0.1:$port" -- main 2>&1 | tee "$tmp/wrk-hook.txt" | summarize)
read -r srate sp50 sp99 sbad _ < <(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency \
	"http://127.0.0.1:$port/healthz" 2>&1 | tee "$tmp/wrk-static.txt" | summarize)
stored=$("$PGBIN/psql" -qXAt -d "$url" -c "SELECT count(*) FROM vibn_webhook_deliveries WHERE delivery_id LIKE 'main-%'")
if [ -z "$hrate" ] || [ -z "$srate" ] || [ "$hbad" -ne 0 ] || [ "$sbad" -ne 0 ]; then
	echo "bench_webhooks: wrk failed or got errors:" >&2
	cat "$tmp/wrk-hook.txt" "$tmp/wrk-static.txt" >&2
	exit 1
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
runs=$("$PGBIN/psql" -qXAt -d "$url" -c "SELECT count(*) FROM vibn_test_runs")
echo "webhook ingestion, wrk -t2 -c$CONNS -d${SECS}s, $API_CONNS API database connections, ${BENCH_RECONCILER:-test} reconciler ($runs runs):"
printf '  signed deliveries (202)  %8.0f /s   p50 %6.2f ms   p99 %6.2f ms   limit >= 5000/s (%sx)\n' \
	"$hrate" "$hp50" "$hp99" "$(ratio "$hrate" 5000)"
printf '  static GET /healthz      %8.0f /s   p50 %6.2f ms   p99 %6.2f ms\n' "$srate" "$sp50" "$sp99"
printf '  ratio webhooks/static    %8s          limit >= 0.25\n' "$(ratio "$hrate" "$srate")"
printf '  delivery rows committed  %8s of %s requests answered\n' "$stored" "$hreqs"
