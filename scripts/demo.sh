#!/usr/bin/env bash
# make demo: the whole product on loopback in well under a minute. Starts a private Postgres
# (.var/demo/), vibn-sim in place of Gitea and Coolify, and vibnd; applies
# manifests/examples/; waits for every workspace to be Ready; runs a signup; deletes a repo
# in the simulator (which sends Gitea's signed webhook) and shows vibnd repair it; then
# stops everything. Logs stay in .var/demo/.
set -u
cd "$(dirname "$0")/.."
root=$PWD
VIBN_BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
export VIBN_BIN
dir=$root/.var/demo
# shellcheck source=stack.sh
. scripts/stack.sh

t0=$(date +%s%N)
elapsed() { awk -v n="$(date +%s%N)" -v t="$t0" 'BEGIN { printf "%5.1fs", (n - t) / 1e9 }'; }
# Bold and red only on a terminal: a log file or CI gets plain text.
if [ -t 1 ]; then B=$'\033[1m' R=$'\033[31m' N=$'\033[0m'; else B='' R='' N=''; fi
say() { printf '%s[%s]%s %s\n' "$B" "$(elapsed)" "$N" "$*"; }
indent() { sed 's/^/          /'; }
die() {
	printf '%sdemo failed:%s %s\n' "$R" "$N" "$*" >&2
	echo "logs: $dir/" >&2
	exit 1
}
ctl() { "$VIBN_BIN/vibnctl" "$@"; }

finish() {
	local rc=$?
	trap - EXIT INT TERM
	say "stopping vibnd (SIGTERM, graceful), vibn-sim and Postgres"
	stack_stop
	if [ "$rc" -eq 0 ]; then
		say "done. Logs: $dir/{vibnd.log,vibn-sim.log,pg/postgres.log}"
	fi
	exit "$rc"
}
trap finish EXIT
trap 'echo; exit 130' INT TERM

# Prints "READY TOTAL" and the slugs that are Ready, from vibnctl get workspaces -o json.
ready_counts() {
	ctl get workspaces -o json | /usr/bin/python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
ok = [w["slug"] for w in items if w["ready"] == "True"]
print(len(ok), len(items), " ".join(ok))'
}

# Waits until every workspace is Ready, printing each one as it gets there.
seen=" "
wait_all_ready() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000)) n total slugs s
	while :; do
		read -r n total slugs < <(ready_counts) || die "vibnctl get workspaces failed"
		for s in $slugs; do
			case $seen in *" $s "*) continue ;; esac
			seen="$seen$s "
			printf '          %s  Ready  %s (%d/%d)\n' "$(elapsed)" "$s" "$n" "$total"
		done
		[ "$n" -eq "$total" ] && [ "$total" -gt 0 ] && return 0
		[ "$(date +%s%N)" -lt "$deadline" ] || die "not every workspace was Ready after $1 s"
		sleep 0.1
	done
}

# Whether org/repo exists in the simulated Gitea; prints its id when it does.
repo_id() {
	curl -fsS --max-time 5 "$SIM_GITEA/_sim/state" | /usr/bin/python3 -c '
import json, sys
org, repo = sys.argv[1], sys.argv[2]
for o in json.load(sys.stdin)["gitea"]["orgs"]:
    if o.get("username", o.get("name")) == org:
        for r in o.get("repos", []):
            if r["name"] == repo:
                print(r.get("id", "?"))
                sys.exit(0)
sys.exit(1)' "$1" "$2"
}

echo
echo "  vibn demo: vibnd keeping workspaces converged on Gitea and Coolify (simulated)"
echo

rm -rf "$dir"
say "starting Postgres, vibn-sim and vibnd (data and logs in .var/demo/)"
stack_start "$dir" || die "the stack did not start"
echo "          postgres  $DATABASE_URL"
echo "          gitea     $SIM_GITEA    coolify  $SIM_COOLIFY   (vibn-sim)"
echo "          vibnd     $VIBND_URL  (/healthz /readyz /metrics /webhooks/gitea)"

# The Gitea users the manifests name must exist, as they would in a real Gitea.
users=$(grep -rhoE '(owner|user):[[:space:]]*[A-Za-z0-9_.-]+' manifests/examples/ |
	awk '{ print $2 }' | sort -u | tr '\n' ' ')
for u in $users erin; do
	sim_post /_sim/users "{\"username\":\"$u\",\"email\":\"$u@example.com\"}" >/dev/null ||
		die "seeding Gitea user $u"
done
say "seeded the Gitea users the manifests name: $users(and erin, for the signup)"

say "vibnctl apply -f manifests/examples/"
ctl apply -f manifests/examples/ 2>&1 | indent
[ "${PIPESTATUS[0]}" -eq 0 ] || die "vibnctl apply failed"

say "waiting for every workspace to be Ready (each one: Gitea org, members, repos, org webhook, Coolify project, apps)"
wait_all_ready 40

say "vibnctl get workspaces"
ctl get workspaces | indent

say "vibnctl signup --user u-erin --email erin@example.com --gitea-user erin   (what the web app does at first sign-in)"
ts=$(date +%s%N)
slug=$(ctl signup --user u-erin --email erin@example.com --gitea-user erin) || die "signup failed"
echo "          workspace $slug"
wait_all_ready 20
ms=$((($(date +%s%N) - ts) / 1000000))
ctl get workspaces "$slug" | indent
echo "          converged ${ms} ms after the signup"

say "drift: someone deletes repo vibn-acme/web in Gitea's web UI"
before=$(repo_id vibn-acme web) || die "vibn-acme/web is not there to delete"
curl -fsS --max-time 5 -o /dev/null "$SIM_GITEA/_sim/deliveries" || true
ts=$(date +%s%N)
sim_post /_sim/drift '{"action":"delete_repo","org":"vibn-acme","repo":"web"}' >/dev/null ||
	die "the simulator refused the drift"
echo "          repo id $before deleted; Gitea now sends the org webhook (repository, deleted), signed"

# The delivery's answer tells whether vibnd took it (2xx) or not.
delivery_status() {
	curl -fsS --max-time 5 "$SIM_GITEA/_sim/deliveries" | /usr/bin/python3 -c '
import json, sys
for d in reversed(json.load(sys.stdin)):
    if d["event"] == "repository" and d.get("action") == "deleted":
        print(d["status"], d["ms"])
        sys.exit(0)
sys.exit(1)'
}
stack__wait 10 delivery_status >/dev/null || die "no webhook delivery was recorded"
read -r status dms < <(delivery_status)
dms=$(printf "%.0f" "$dms")
how=webhook
if [ "$status" -ge 200 ] && [ "$status" -lt 300 ]; then
	echo "          delivery answered $status by vibnd in ${dms} ms: signature verified, acme queued"
else
	echo "          delivery answered $status: this vibnd has no webhook receiver yet;"
	echo "          asking for a drift repair run instead: vibnctl resync acme"
	ctl resync acme | indent
	how=resync
fi
repo_back() { after=$(repo_id vibn-acme web); }
stack__wait 30 repo_back || die "vibn-acme/web was not repaired within 30 s"
ms=$((($(date +%s%N) - ts) / 1000000))
say "repaired: vibn-acme/web is back (new repo id $after) ${ms} ms after the deletion, driven by the $how"
ctl describe workspace acme 2>&1 | grep -E '^[[:space:]]*(TYPE|ReposSynced|Ready)[[:space:]]' | indent
echo "          and the event it left (vibnctl events acme):"
ctl events acme 2>&1 | grep -E '^LAST SEEN|[[:space:]]Recreated[[:space:]]' | indent

say "the daemon's metrics (excerpt of $VIBND_URL/metrics)"
curl -fsS --max-time 5 "$VIBND_URL/metrics" |
	grep -E '^(controller_runtime_reconcile_total|vibn_upstream_requests_total|vibn_webhook_deliveries_total)' |
	grep -v ' 0$' | head -14 | indent
