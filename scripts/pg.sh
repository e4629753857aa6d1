# Private Postgres for tests, benchmarks and the demo. Source it, then:
#   pg_start DIR   initdb into DIR/data, start on a free port (socket in DIR), export PG* vars
#                  and PG_ADMIN_URL; writes DIR/pgctl, a wrapper for "pg_ctl start|stop|restart"
#   pg_stop DIR    stop it (fast, then immediate)
# As root, initdb and postgres refuse to run, so they run as the unprivileged user "nobody".

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN

pg__as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

pg__free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
	local dir=$1 port try opts
	mkdir -p "$dir" && chmod 700 "$dir" || return 1
	[ "$(id -u)" -eq 0 ] && chown nobody "$dir"
	if ! pg__as "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C \
		--no-sync >"$dir/initdb.log" 2>&1; then
		echo "pg: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		return 1
	fi
	for try in 1 2 3 4 5; do
		port=$(pg__free_port)
		opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off"
		opts="$opts -c synchronous_commit=off -c full_page_writes=off -c max_connections=400"
		opts="$opts -c shared_buffers=256MB -c log_min_messages=warning"
		# PG_PRELOAD: libraries to load at start (the benches count statements with
		# pg_stat_statements, top-level and nested); none unless asked.
		[ -n "${PG_PRELOAD:-}" ] &&
			opts="$opts -c shared_preload_libraries=$PG_PRELOAD -c pg_stat_statements.track=all"
		if pg__as "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o "$opts" \
			start >/dev/null 2>&1; then
			export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
			export PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$port/postgres"
			# The server options (port, socket folder, ...) go with every command: without
			# them "pgctl stop; pgctl start" would bring Postgres back on the default port
			# and socket, where nothing looks for it (restart alone reuses them).
			cat >"$dir/pgctl" <<WRAP
#!/bin/sh
# pgctl start|stop|restart|status: controls the test Postgres in $dir/data
# (port $port, socket folder $dir)
if [ "\$(id -u)" -eq 0 ]; then
	exec runuser -u nobody -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -m fast -o "$opts" "\$@"
fi
exec "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -m fast -o "$opts" "\$@"
WRAP
			chmod 755 "$dir/pgctl"
			return 0
		fi
	done
	echo "pg: postgres did not start; its log:" >&2
	tail -20 "$dir/postgres.log" >&2
	return 1
}

pg_stop() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] || return 0
	pg__as "$PGBIN/pg_ctl" -D "$dir/data" -w -t 20 -m fast stop >/dev/null 2>&1 ||
		pg__as "$PGBIN/pg_ctl" -D "$dir/data" -w -t 20 -m immediate stop >/dev/null 2>&1
}
