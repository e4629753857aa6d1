#!/bin/sh
# Installs the Debian packages that the build, the tests, the benchmarks and the demo need.
#   scripts/deps.sh          install what is missing (apt-get; as root)
#   scripts/deps.sh --check  exit 0 when everything is present, 1 otherwise (installs nothing)
set -eu

PACKAGES="build-essential pkg-config git libevent-dev libpq-dev libcurl4-openssl-dev \
libjansson-dev libyaml-dev libssl-dev libcmocka-dev postgresql-15 postgresql-client-15 \
python3 python3-pytest python3-pytest-timeout python3-psycopg wrk clang libclang-rt-14-dev curl valgrind"
PKGCONFIG="libevent libevent_pthreads libpq libcurl jansson yaml-0.1 libcrypto cmocka"
PGBIN=/usr/lib/postgresql/15/bin

check() {
	command -v cc >/dev/null 2>&1 || return 1
	command -v pkg-config >/dev/null 2>&1 || return 1
	pkg-config --exists $PKGCONFIG || return 1
	[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] && [ -x "$PGBIN/pgbench" ] || return 1
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pytest, pytest_timeout, psycopg' 2>/dev/null || return 1
	command -v wrk >/dev/null 2>&1 || return 1
	command -v clang >/dev/null 2>&1 || return 1
	command -v curl >/dev/null 2>&1 || return 1
	command -v valgrind >/dev/null 2>&1 || return 1
	return 0
}

if [ "${1:-}" = "--check" ]; then
	check
	exit $?
fi
if check; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y $PACKAGES" >&2
	exit 1
fi
echo "deps: installing Debian packages (apt-get)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
check || { echo "deps: packages installed but a check still fails" >&2; exit 1; }
echo "deps: ok"
