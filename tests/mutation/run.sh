#!/usr/bin/env bash
# `make mutation`: each repair of drifted upstream settings must be covered by a test. For
# every repair below, a copy of the tree gets that one upstream call replaced by "succeeded"
# (the repair disabled), and the reconciler tests must then fail. Prints one line per
# mutation; exits non-zero when a mutation survives (no test noticed it).
set -u
cd "$(dirname "$0")/../.."
root=$PWD
tmp=$(mktemp -d /tmp/vibn-mutation.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# file | perl substitution that disables the repair | what it disables
mutations=(
	'reconcilers/gitea_org.c|s/gitea_org_edit\(.*?\) != HTTP_OK/0/s|org settings (full name, description, visibility)'
	'reconcilers/gitea_repos.c|s/gitea_repo_edit\(.*?\) != HTTP_OK/0/s|repo settings (privacy, description, default branch)'
	'reconcilers/coolify_apps.c|s/coolify_app_update\(.*?\) != HTTP_OK/0/s|app settings (repository, branch, build pack, ports)'
	'reconcilers/coolify_project.c|s/coolify_project_update\(.*?\) != HTTP_OK/0/s|project name and description'
)

echo "copying the tree and building it once..."
git ls-files -z | tar --null -T - -cf - | tar -C "$tmp" -xf -
(cd "$tmp" && make -j"$(nproc)" tests >"$tmp/build.log" 2>&1) || {
	tail -20 "$tmp/build.log"
	exit 1
}
survived=0
for m in "${mutations[@]}"; do
	IFS='|' read -r file subst what <<<"$m"
	cp "$tmp/$file" "$tmp/$file.orig"
	perl -0pi -e "$subst" "$tmp/$file"
	if cmp -s "$tmp/$file" "$tmp/$file.orig"; then
		echo "ERROR  $file: the mutation no longer applies (update tests/mutation/run.sh)"
		survived=$((survived + 1))
		continue
	fi
	if ! (cd "$tmp" && make -j"$(nproc)" tests >"$tmp/build.log" 2>&1); then
		echo "ERROR  $file: the mutated tree does not build"
		tail -5 "$tmp/build.log"
		survived=$((survived + 1))
	elif (cd "$tmp" && TESTS=test_reconcile make test >"$tmp/test.log" 2>&1); then
		echo "SURVIVED  $what ($file): no test failed"
		survived=$((survived + 1))
	else
		echo "killed    $what ($file): $(grep -o '\[  FAILED  \] test_[a-z_]*' "$tmp/test.log" |
			sed 's/.*\] //' | sort -u | tr '\n' ' ')"
	fi
	mv "$tmp/$file.orig" "$tmp/$file"
	touch "$tmp/$file" # newer than the mutated object: make rebuilds it
done
echo "$((${#mutations[@]} - survived)) killed, $survived survived"
[ "$survived" -eq 0 ]
