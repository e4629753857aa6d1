#!/usr/bin/env bash
# make bench: runs every tests/bench/bench_*.sh in order; each prints its figures next to
# the limit they are measured against. Exits non-zero if any of them failed to run.
set -u
cd "$(dirname "$0")/../.."
rc=0
for b in tests/bench/bench_*.sh; do
	[ -f "$b" ] || continue
	echo "== $(basename "$b" .sh) =="
	bash "$b" || rc=1
done
exit $rc
