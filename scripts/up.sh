#!/usr/bin/env bash
# make up: the demo's stack (private Postgres under .var/up/, vibn-sim, vibnd) with the
# example manifests applied, left running until Ctrl-C. Prints the URLs, the admin secret, a
# sign-in link to the settings page for each example workspace, and the export lines that
# point vibnctl at it. VIBND_PORT=N picks vibnd's port (default: a free one); UP_DIR=DIR
# keeps the stack's data and logs in DIR instead of .var/up/ (the tests use their own).
set -u
cd "$(dirname "$0")/.."
root=$PWD
VIBN_BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
export VIBN_BIN
dir=${UP_DIR:-$root/.var/up}
# shellcheck source=stack.sh
. scripts/stack.sh

stopping=0
finish() {
	local rc=$?
	trap - EXIT INT TERM
	echo
	echo "stopping vibnd (SIGTERM, graceful), vibn-sim and Postgres..."
	stack_stop
	echo "stopped. Logs: $dir/{vibnd.log,vibn-sim.log,pg/postgres.log}"
	exit "$rc"
}
trap finish EXIT
trap 'stopping=1' INT TERM

rm -rf "$dir"
# A fresh admin secret each time: the settings page's operator sign-in and admin API access.
STACK_ADMIN_SECRET=$(/usr/bin/python3 -c 'import secrets; print(secrets.token_hex(16))')
export STACK_ADMIN_SECRET
echo "starting Postgres, vibn-sim and vibnd under $dir ..."
stack_start "$dir" || { echo "the stack did not start; logs in $dir/" >&2; exit 1; }
users=$(grep -rhoE '(owner|user):[[:space:]]*[A-Za-z0-9_.-]+' manifests/examples/ |
	awk '{ print $2 }' | sort -u)
for u in $users; do
	sim_post /_sim/users "{\"username\":\"$u\",\"email\":\"$u@example.com\"}" >/dev/null ||
		{ echo "seeding Gitea user $u failed" >&2; exit 1; }
done
"$VIBN_BIN/vibnctl" apply -f manifests/examples/ || exit 1
# One sign-in link per example workspace: the settings page is one click away. They work
# once, for an hour; `vibnctl login-link --workspace SLUG` makes more.
links=
slugs=$("$VIBN_BIN/vibnctl" get workspaces -o json |
	/usr/bin/python3 -c 'import json, sys; print(" ".join(w["slug"] for w in json.load(sys.stdin)["items"]))') ||
	{ echo "listing the workspaces failed" >&2; exit 1; }
for slug in $slugs; do
	link=$("$VIBN_BIN/vibnctl" login-link --workspace "$slug" --ttl 1h --url "$VIBND_URL" \
		2>>"$dir/login-links.log") ||
		{ echo "login link for $slug failed" >&2; exit 1; }
	links="$links$(printf '  %-10s %s' "$slug" "$link")
"
done

cat <<EOF

vibn is up (vibnd runs the "workspace" reconciler against vibn-sim):
  vibnd      $VIBND_URL   /healthz /readyz /metrics /webhooks/gitea
  gitea      $SIM_GITEA/api/v1   (vibn-sim; token gitea-token, admin vibn-admin)
  coolify    $SIM_COOLIFY/api/v1   (vibn-sim; token coolify-token, server vibnsimlocalhostserver01)
  simulator  $SIM_GITEA/_sim/state  (control API: vibn-sim --help)
  logs       $dir/vibnd.log  $dir/vibn-sim.log

The settings page ($VIBND_URL/ui/): open a one-time sign-in link (valid for an hour, once):
$links
  or sign in as the operator ("Operator sign-in") with the admin secret:
  ADMIN_MIGRATE_SECRET=$STACK_ADMIN_SECRET

Point vibnctl at it from another shell:

$(stack_env)

then for example:
  vibnctl get workspaces
  vibnctl login-link --workspace acme          # another one-time sign-in link
  curl -X POST "\$SIM_GITEA/_sim/users" -d '{"username":"erin","email":"erin@example.com"}'
  vibnctl signup --user u-erin --email erin@example.com --gitea-user erin
  curl -X POST "\$SIM_GITEA/_sim/drift" -d '{"action":"delete_repo","org":"vibn-acme","repo":"web"}'
  vibnctl describe workspace acme

Ctrl-C stops everything.
EOF
# Watch the children: if one dies, say so and stop the rest.
# (Ctrl-C in a terminal reaches them too, and they stop gracefully on SIGINT.)
while [ "$stopping" -eq 0 ] && kill -0 "$STACK_VIBND_PID" 2>/dev/null &&
	kill -0 "$STACK_SIM_PID" 2>/dev/null; do
	sleep 0.5
done
[ "$stopping" -eq 0 ] && sleep 0.5
[ "$stopping" -eq 1 ] && exit 0
echo "a process exited unexpectedly; see $dir/" >&2
exit 1
