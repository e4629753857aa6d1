#!/usr/bin/env bash
# Runs every libFuzzer target in DIR for SECONDS each (make fuzz: build/fuzz/fuzz, 60 s),
# under ASan and UBSan (any report fails the run). Each target NAME starts from its committed
# corpus tests/fuzz/corpus/NAME/ (seeded from the example manifests) and writes what it finds
# to build/fuzz/work/NAME/; FUZZ_MERGE=1 afterwards merges the new coverage-increasing inputs
# into the committed corpus (which `make test` replays).
set -u
cd "$(dirname "$0")/../.."
dir=${1:-build/fuzz/fuzz}
secs=${2:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
found=0
for prog in "$dir"/fuzz_*; do
	[ -x "$prog" ] || continue
	case $prog in *.d | *.o) continue ;; esac
	found=1
	name=$(basename "$prog")
	corpus=tests/fuzz/corpus/$name
	work=build/fuzz/work/$name
	mkdir -p "$corpus" "$work" build/fuzz/artifacts
	echo "fuzz: $name for ${secs}s (corpus $corpus)"
	if ! "$prog" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/artifacts/"$name"- "$work" "$corpus" \
		>build/fuzz/"$name".log 2>&1; then
		echo "fuzz: $name FAILED; see build/fuzz/$name.log and build/fuzz/artifacts/" >&2
		tail -40 build/fuzz/"$name".log >&2
		status=1
		continue
	fi
	grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' build/fuzz/"$name".log |
		sed 's/^/      /'
	if [ -n "${FUZZ_MERGE:-}" ]; then
		"$prog" -merge=1 "$corpus" "$work" >build/fuzz/"$name".merge.log 2>&1 ||
			{ echo "fuzz: merging into $corpus failed" >&2; status=1; }
	fi
	echo "fuzz: $name ok"
done
if [ "$found" -eq 0 ]; then
	echo "fuzz: no targets in $dir (run make fuzz)" >&2
	exit 1
fi
exit $status
