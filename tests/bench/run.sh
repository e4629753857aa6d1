#!/usr/bin/env bash
# `make bench`: runs every benchmark section in order (tests/bench/bench_NN_name.sh, sorted by
# name; add a section by adding a file) and prints each figure next to the limit it is
# measured against. Exit status is non-zero when a section fails to run.
#   VIBN_BIN, VIBN_BUILD  set by make     BENCH=substr  runs only the matching sections
set -u
cd "$(dirname "$0")/../.."
export VIBN_BIN=${VIBN_BIN:-bin} VIBN_BUILD=${VIBN_BUILD:-build/release}

failed=()
for section in tests/bench/bench_[0-9]*.sh; do
	[ -f "$section" ] || continue
	[ -n "${BENCH:-}" ] && [[ $section != *"$BENCH"* ]] && continue
	echo "== $(basename "$section" .sh)"
	bash "$section" || failed+=("$section")
	echo
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed sections: ${failed[*]}"
	exit 1
fi
