#!/usr/bin/env bash
# vibn-sim raw throughput for GET /api/v1/orgs/{org} with keep-alive (wrk, same machine),
# with 10,000 orgs seeded so lookups run at size. Target: 20,000 requests/s, so the
# simulator is never the bottleneck of later benchmarks.
#   DURATION (default 10s)  CONNECTIONS (default 50)  ORGS (default 10000)
set -u
BIN=${VIBN_BIN:-bin}
TARGET=20000
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
ORGS=${ORGS:-10000}

if ! command -v wrk >/dev/null; then
	echo "wrk is not installed (Debian: apt-get install wrk)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/vibn-bench-sim.XXXXXX)
"$BIN/vibn-sim" >"$tmp/out" 2>"$tmp/err" &
pid=$!
cleanup() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

for _ in $(seq 100); do
	grep -q '^vibn-sim ready' "$tmp/out" && break
	sleep 0.1
done
gitea=$(sed -n 's/^vibn-sim ready gitea=\([^ ]*\) .*/\1/p' "$tmp/out")
if [ -z "$gitea" ]; then
	echo "vibn-sim did not start: $(cat "$tmp/err")" >&2
	exit 1
fi

# Seed over one keep-alive connection; bench-org is the one wrk reads.
/usr/bin/python3 - "$gitea" "$ORGS" <<'PY' || exit 1
import http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(u.hostname, u.port)
names = ["bench-org"] + ["org-%05d" % i for i in range(int(sys.argv[2]) - 1)]
for name in names:
    conn.request("POST", "/api/v1/admin/users/vibn-admin/orgs", json.dumps({"username": name}),
                 {"Authorization": "token gitea-token", "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.status != 201:
        sys.exit("seeding %s: HTTP %d" % (name, r.status))
PY

cmd=(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: token gitea-token"
	"$gitea/api/v1/orgs/bench-org")
"${cmd[@]}" >"$tmp/wrk" 2>&1
rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk")
bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$tmp/wrk")
errors=$(grep -E '^ *Socket errors' "$tmp/wrk")
if [ -z "$rps" ]; then
	cat "$tmp/wrk" >&2
	exit 1
fi
echo "command: ${cmd[*]:0:5} '${cmd[5]}' ${cmd[6]/127.0.0.1:*\/api/127.0.0.1:PORT/api}"
echo "orgs seeded: $ORGS; non-2xx answers: ${bad:-0}${errors:+; $errors}"
awk -v r="$rps" -v t="$TARGET" 'BEGIN {
	printf "vibn-sim GET /api/v1/orgs/{org}: %.0f requests/s (target >= %d: %.2fx)\n", r, t, r / t }'
[ -z "$bad" ] || exit 1
