#!/usr/bin/env bash
# make lint: each folder includes only the layers beneath it (README "Layout"). A lower layer
# reaching up (a reconciler including the daemon, a client including a reconciler) fails
# with the offending lines.
set -u
cd "$(dirname "$0")/.."
# folder: the folders it may include from (besides itself)
rules=(
	"common:"
	"clients:common"
	"schema:common clients"
	"tenancy:common clients"
	"reconcilers:common clients"
	"manifests:common clients tenancy"
)
status=0
for rule in "${rules[@]}"; do
	dir=${rule%%:*}
	allowed="$dir ${rule#*:}"
	pattern=$(printf '%s|' $allowed)
	bad=$(grep -nE '^#include "[a-z_]+/' "$dir"/*.[ch] 2>/dev/null |
		grep -vE "#include \"(${pattern%|})/")
	if [ -n "$bad" ]; then
		echo "check-layers: $dir/ may include only from: $allowed" >&2
		echo "$bad" >&2
		status=1
	fi
done
exit $status
