# Sourced by the bench sections (after `cd` to the repo root, with BIN set): a private
# Postgres in a temporary folder ($tmp), a migrated database "bench" ($url), all removed on
# exit, with the daemon whose pid a section puts in $daemon. pg_stat_statements is loaded;
# BENCH_DRIVER_URL is the same database as role bench_driver, for a driver's own statements.
#   bench_db            the production schema
#   bench_db test       plus the test reconciler's tables (tests/support/test_schema.sql)
# shellcheck shell=bash
# shellcheck source=../../scripts/pg.sh
. scripts/pg.sh
daemon=

bench_db__cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	pg_stop "$tmp/pg"
	rm -rf "$tmp"
}

bench_db() {
	tmp=$(mktemp -d /tmp/vibn-bench.XXXXXX) || return 1
	chmod 755 "$tmp"
	trap bench_db__cleanup EXIT
	trap 'exit 130' INT TERM
	PG_PRELOAD=pg_stat_statements pg_start "$tmp/pg" >/dev/null || return 1
	url="postgresql://postgres@127.0.0.1:$PGPORT/bench"
	"$PGBIN/psql" -qX -c "CREATE DATABASE bench" >/dev/null || return 1
	DATABASE_URL=$url "$BIN/vibnctl" migrate >/dev/null || return 1
	# The drivers connect as their own role, so that pg_stat_statements tells the daemon's
	# statements (role postgres) from theirs.
	"$PGBIN/psql" -qX -v ON_ERROR_STOP=1 -d "$url" \
		-c "CREATE EXTENSION pg_stat_statements" \
		-c "CREATE ROLE bench_driver LOGIN SUPERUSER" >/dev/null || return 1
	export BENCH_DRIVER_URL="postgresql://bench_driver@127.0.0.1:$PGPORT/bench"
	if [ "${1:-}" = test ]; then
		"$PGBIN/psql" -qX -v ON_ERROR_STOP=1 -d "$url" -f tests/support/test_schema.sql \
			>/dev/null || return 1
	fi
}
