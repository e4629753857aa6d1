# The local stack of `make demo` and `make up`: a private Postgres, vibn-sim in place of
# Gitea and Coolify, and vibnd pointed at both. Source it (bash), then:
#   stack_start DIR   start everything with its data and logs under DIR; exports
#                     DATABASE_URL, SIM_GITEA, SIM_COOLIFY, VIBND_URL, STACK_DIR; vibnd gets
#                     STACK_ADMIN_SECRET as its ADMIN_MIGRATE_SECRET when that is set
#   stack_stop        stop vibnd (SIGTERM, graceful), vibn-sim and Postgres; keeps DIR's logs
#   stack_env         print the export lines that point vibnctl (and curl) at the stack
#   sim_post PATH JSON  POST to the simulator's control API (Gitea port)
# Needs VIBN_BIN (the folder of the binaries; make sets it) and curl, python3.

# shellcheck source=pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

STACK_WEBHOOK_SECRET=${STACK_WEBHOOK_SECRET:-demo-webhook-secret}
STACK_SIM_PID=
STACK_VIBND_PID=
STACK_PGDIR=
STACK_PGTMP=

stack__free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until "$@" succeeds, at most $1 seconds (polled every 0.1 s).
stack__wait() {
	local secs=$1 deadline
	shift
	deadline=$(($(date +%s%N) + secs * 1000000000))
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

stack__sim_ready() { grep -q '^vibn-sim ready' "$STACK_DIR/vibn-sim.out" 2>/dev/null; }
stack__vibnd_ready() { curl -fsS -o /dev/null --max-time 2 "$VIBND_URL/readyz" 2>/dev/null; }

sim_post() {
	curl -fsS --max-time 10 -H 'Content-Type: application/json' -X POST -d "$2" "$SIM_GITEA$1"
}

stack_start() {
	local dir=$1 line port
	STACK_DIR=$dir
	export STACK_DIR
	mkdir -p "$dir" || return 1
	# As root, Postgres runs as "nobody", which must reach its folder; when the checkout is
	# somewhere nobody cannot enter (e.g. /root), the data goes to /tmp behind a symlink.
	STACK_PGDIR=$dir/pg
	if [ "$(id -u)" -eq 0 ] && ! runuser -u nobody -- test -x "$dir" 2>/dev/null; then
		STACK_PGTMP=$(mktemp -d /tmp/vibn-pg.XXXXXX) || return 1
		chmod 755 "$STACK_PGTMP"
		STACK_PGDIR=$STACK_PGTMP/pg
		ln -sfn "$STACK_PGDIR" "$dir/pg"
	fi
	pg_start "$STACK_PGDIR" || return 1
	DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres"
	export DATABASE_URL

	"$VIBN_BIN/vibn-sim" --seed 1 >"$dir/vibn-sim.out" 2>"$dir/vibn-sim.log" &
	STACK_SIM_PID=$!
	if ! stack__wait 10 stack__sim_ready; then
		echo "vibn-sim did not start; its log:" >&2
		tail -20 "$dir/vibn-sim.log" >&2
		return 1
	fi
	line=$(grep '^vibn-sim ready' "$dir/vibn-sim.out")
	SIM_GITEA=$(echo "$line" | sed -n 's/.* gitea=\([^ ]*\).*/\1/p')
	SIM_COOLIFY=$(echo "$line" | sed -n 's/.* coolify=\([^ ]*\).*/\1/p')
	export SIM_GITEA SIM_COOLIFY

	"$VIBN_BIN/vibnctl" migrate >"$dir/migrate.log" 2>&1 || {
		cat "$dir/migrate.log" >&2
		return 1
	}

	port=${VIBND_PORT:-$(stack__free_port)}
	VIBND_URL="http://127.0.0.1:$port"
	export VIBND_URL
	# vibnd's own URL is the org webhooks' target, so the simulator's deliveries reach it.
	env GITEA_API_URL="$SIM_GITEA/api/v1" GITEA_API_TOKEN=gitea-token \
		GITEA_ADMIN_USER=vibn-admin GITEA_WEBHOOK_SECRET="$STACK_WEBHOOK_SECRET" \
		COOLIFY_URL="$SIM_COOLIFY" COOLIFY_API_TOKEN=coolify-token \
		COOLIFY_SERVER_UUID=vibnsimlocalhostserver01 VIBN_LISTEN="127.0.0.1:$port" \
		VIBN_COOLIFY_DEPLOY_KEY_UUID=vibnsimdeploykey00000001 \
		VIBN_PUBLIC_URL="$VIBND_URL" VIBN_WORKERS="${VIBN_WORKERS:-4}" \
		VIBN_RESYNC_INTERVAL="${VIBN_RESYNC_INTERVAL:-600}" \
		VIBN_WEBHOOK_SPOOL_DIR="$dir/webhook-spool" \
		${STACK_ADMIN_SECRET:+ADMIN_MIGRATE_SECRET="$STACK_ADMIN_SECRET"} \
		"$VIBN_BIN/vibnd" >"$dir/vibnd.log" 2>&1 &
	STACK_VIBND_PID=$!
	if ! stack__wait 15 stack__vibnd_ready; then
		echo "vibnd did not become ready; its log:" >&2
		tail -20 "$dir/vibnd.log" >&2
		return 1
	fi
}

# Sends SIGTERM to pid and waits up to secs for it to exit, then SIGKILL.
stack__term() {
	local pid=$1 secs=$2 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

stack_stop() {
	stack__term "$STACK_VIBND_PID" 35
	STACK_VIBND_PID=
	stack__term "$STACK_SIM_PID" 5
	STACK_SIM_PID=
	if [ -n "$STACK_PGDIR" ]; then
		pg_stop "$STACK_PGDIR"
		STACK_PGDIR=
	fi
	if [ -n "$STACK_PGTMP" ]; then
		rm -f "$STACK_DIR/pg"
		mkdir -p "$STACK_DIR/pg"
		cp "$STACK_PGTMP/pg/postgres.log" "$STACK_DIR/pg/" 2>/dev/null
		rm -rf "$STACK_PGTMP"
		STACK_PGTMP=
	fi
}

stack_env() {
	cat <<EOF
export DATABASE_URL='$DATABASE_URL'
export PATH='$VIBN_BIN':"\$PATH"
export VIBND_URL='$VIBND_URL' SIM_GITEA='$SIM_GITEA' SIM_COOLIFY='$SIM_COOLIFY'
export VIBN_PUBLIC_URL='$VIBND_URL'
EOF
}
