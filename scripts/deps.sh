#!/bin/sh
# Installs the Debian packages the build needs, or the tests, benchmarks and the demo.
#   scripts/deps.sh [build|test]          install what is missing (apt-get; as root)
#   scripts/deps.sh --check [build|test]  exit 0 when everything is present (installs nothing)
# "test" (the default) is a superset of "build".
set -eu

BUILD_PACKAGES="build-essential pkg-config git libevent-dev libpq-dev libcurl4-openssl-dev \
libjansson-dev libyaml-dev libssl-dev"
TEST_PACKAGES="libcmocka-dev postgresql-15 postgresql-client-15 python3 python3-pytest \
python3-pytest-timeout python3-psycopg wrk clang libclang-rt-14-dev curl valgrind \
clang-format cppcheck chromium chromium-driver python3-selenium"
BUILD_PKGCONFIG="libevent libevent_pthreads libpq libcurl jansson yaml-0.1 libcrypto"
PGBIN=/usr/lib/postgresql/15/bin

check_build() {
	command -v cc >/dev/null 2>&1 || return 1
	command -v make >/dev/null 2>&1 || return 1
	command -v pkg-config >/dev/null 2>&1 || return 1
	# shellcheck disable=SC2086
	pkg-config --exists $BUILD_PKGCONFIG || return 1
}

check_test() {
	check_build || return 1
	pkg-config --exists cmocka || return 1
	[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] && [ -x "$PGBIN/pgbench" ] || return 1
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pytest, pytest_timeout, psycopg, selenium' \
		2>/dev/null || return 1
	# The settings page's tests drive a real headless browser.
	for c in wrk clang curl valgrind clang-format cppcheck chromium chromedriver; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
}

check=
if [ "${1:-}" = "--check" ]; then
	check=yes
	shift
fi
set_=${1:-test}
case $set_ in
build) packages=$BUILD_PACKAGES ;;
test) packages="$BUILD_PACKAGES $TEST_PACKAGES" ;;
*) echo "deps: unknown set '$set_' (build or test)" >&2; exit 2 ;;
esac
if [ -n "$check" ]; then
	"check_$set_"
	exit $?
fi
if "check_$set_"; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y $packages" >&2
	exit 1
fi
echo "deps: installing Debian packages for the $set_ set (apt-get)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
"check_$set_" || { echo "deps: packages installed but a check still fails" >&2; exit 1; }
echo "deps: ok"
