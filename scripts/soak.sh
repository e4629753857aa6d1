#!/usr/bin/env bash
# make soak: the chaos soak (tests/soak/soak.py) with vibnd from the sanitizer build, on a
# private Postgres that it starts and always removes. Prints the summary table; exit 0 when
# every check passed. Knobs: SOAK_WORKSPACES (1000), SOAK_SECONDS (chaos phase, 240),
# SOAK_SETTLE (deadline for convergence afterwards, 240), SOAK_KILLS (10), SOAK_WORKERS (32
# per replica), SOAK_SEED. Logs stay in .var/soak/.
set -u
cd "$(dirname "$0")/.."
root=$PWD
VIBN_BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
out=$root/.var/soak

echo "soak: building the sanitizer build of vibnd (make SANITIZE=1)..."
make --no-print-directory SANITIZE=1 -j2 all >/dev/null || exit 1

tmp=$(mktemp -d /tmp/vibn-soak.XXXXXX)
chmod 755 "$tmp"
# shellcheck source=pg.sh
. scripts/pg.sh
cleanup() {
	trap - EXIT INT TERM
	pg_stop "$tmp/pg"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo interrupted; exit 130' INT TERM
pg_start "$tmp/pg" || exit 1

rm -rf "$out"
mkdir -p "$out"
/usr/bin/python3 tests/soak/soak.py --bin "$VIBN_BIN" --vibnd "$root/build/asan/bin/vibnd" \
	--admin-url "$PG_ADMIN_URL" --pgctl "$tmp/pg/pgctl" --out "$out" \
	--workspaces "${SOAK_WORKSPACES:-1000}" --seconds "${SOAK_SECONDS:-240}" \
	--settle "${SOAK_SETTLE:-240}" --kills "${SOAK_KILLS:-10}" --workers "${SOAK_WORKERS:-32}" \
	${SOAK_SEED:+--seed "$SOAK_SEED"}
