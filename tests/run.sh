#!/usr/bin/env bash
# Runs the whole suite against a private Postgres that it starts and always removes (on
# failure and on Ctrl-C too): C unit and integration programs (cmocka), then the Python
# integration tests (pytest). Ends with one line: "N passed, N failed".
#   VIBN_BUILD  build folder holding tests/ (make sets it)     VIBN_BIN  folder of the binaries
#   TESTS=pattern  run only the programs / pytest files whose name contains pattern
set -u
cd "$(dirname "$0")/.."
root=$PWD
BUILD=${VIBN_BUILD:-build/release}
BIN=$(cd "${VIBN_BIN:-bin}" && pwd)
# vibnd-test: the daemon plus the test reconcilers ("test", "noop"), built for tests only.
export VIBN_BIN=$BIN VIBN_ROOT=$root VIBN_TEST_VIBND=$root/$BUILD/tests/vibnd-test

tmp=$(mktemp -d /tmp/vibn-test.XXXXXX)
chmod 755 "$tmp"
export VIBN_TEST_TMP=$tmp
# shellcheck source=../scripts/pg.sh
. scripts/pg.sh

cleanup() {
	trap - EXIT INT TERM
	# Anything the tests started in our process group (daemons, simulators) goes first.
	pkill -TERM -P $$ 2>/dev/null
	pg_stop "$tmp/pg"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

pg_start "$tmp/pg" || exit 1
export VIBN_TEST_ADMIN_URL=$PG_ADMIN_URL VIBN_TEST_PGCTL=$tmp/pg/pgctl VIBN_TEST_PGDIR=$tmp/pg
export VIBN_TEST_TEMPLATE=vibn_template
# A migrated template: each test copies it (CREATE DATABASE ... TEMPLATE) in milliseconds.
"$PGBIN/psql" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $VIBN_TEST_TEMPLATE" >/dev/null || exit 1
DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/$VIBN_TEST_TEMPLATE" "$BIN/vibnctl" migrate \
	>/dev/null || { echo "migrating the template database failed" >&2; exit 1; }
# The test reconciler's tables: in test databases only, never in the production schema.
"$PGBIN/psql" -qX -v ON_ERROR_STOP=1 -d "$VIBN_TEST_TEMPLATE" -f tests/support/test_schema.sql \
	>/dev/null || { echo "creating the test tables failed" >&2; exit 1; }

passed=0
failed=0
skipped=0
failures=()

if [ -n "${VIBN_VALGRIND:-}" ]; then
	runner=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
else
	runner=()
fi

# One cmocka program: count its test cases from its summaries (a program may run several
# groups, e.g. test_reconcile under two Gitea page caps); a crash counts as a failure.
run_c_test() {
	local prog=$1 name log p f
	name=${prog#"$BUILD"/tests/}
	log=$tmp/$(echo "$name" | tr / _).log
	if timeout 600 "${runner[@]}" "$prog" >"$log" 2>&1; then rc=0; else rc=$?; fi
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s).*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	skipped=$((skipped + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		printf 'FAIL  %-40s %d passed, %d failed (exit %d)\n' "$name" "$p" "$f" "$rc"
		sed 's/^/      /' "$log" | tail -60
		failures+=("$name")
	elif [ "$s" -gt 0 ]; then
		# One line per skip reason ("skipped: why"), printed by the test itself.
		printf 'ok    %-40s %d passed, %d skipped: %s\n' "$name" "$p" "$s" \
			"$(sed -n 's/^skipped: //p' "$log" | sort -u | head -1)"
	else
		printf 'ok    %-40s %d passed\n' "$name" "$p"
	fi
}

for prog in "$BUILD"/tests/unit/test_* "$BUILD"/tests/integration/test_*; do
	[ -x "$prog" ] || continue
	case $prog in *.d | *.o) continue ;; esac
	[ -n "${TESTS:-}" ] && [[ $prog != *"$TESTS"* ]] && continue
	run_c_test "$prog"
done

pyfiles=()
for f in tests/integration/test_*.py; do
	[ -f "$f" ] || continue
	[ -n "${TESTS:-}" ] && [[ $f != *"$TESTS"* ]] && continue
	pyfiles+=("$f")
done
if [ ${#pyfiles[@]} -gt 0 ]; then
	log=$tmp/pytest.log
	/usr/bin/python3 -m pytest -q -rfEs -p no:cacheprovider --timeout=300 "${pyfiles[@]}" 2>&1 |
		tee "$log" | grep -E '^(FAILED|ERROR|SKIPPED)|^tests/' || true
	summary=$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -1)
	p=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
	f=$(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
	s=$(echo "$summary" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || true)
	skipped=$((skipped + ${s:-0}))
	e=$(echo "$summary" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || true)
	p=${p:-0}
	f=$(( ${f:-0} + ${e:-0} ))
	if [ -z "$summary" ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		echo "FAIL  pytest: $summary"
		grep -vE '^(tests/|\.|$)' "$log" | tail -150 | sed 's/^/      /'
		failures+=("pytest")
	else
		printf 'ok    %-40s %s\n' "pytest (${#pyfiles[@]} files)" "$summary"
	fi
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
