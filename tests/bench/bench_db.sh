# Sourced by the bench sections (after `cd` to the repo root, with BIN set): a private
# Postgres in a temporary folder ($tmp), a migrated database "bench" ($url), all removed on
# exit, with the daemon whose pid a section puts in $daemon.
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
	pg_start "$tmp/pg" >/dev/null || return 1
	url="postgresql://postgres@127.0.0.1:$PGPORT/bench"
	"$PGBIN/psql" -qX -c "CREATE DATABASE bench" >/dev/null || return 1
	DATABASE_URL=$url "$BIN/vibnctl" migrate >/dev/null || return 1
	if [ "${1:-}" = test ]; then
		"$PGBIN/psql" -qX -v ON_ERROR_STOP=1 -d "$url" -f tests/support/test_schema.sql \
			>/dev/null || return 1
	fi
}
