"""Shared fixtures for the Python integration tests.

tests/run.sh starts a private Postgres and exports:
  VIBN_TEST_ADMIN_URL  URL of its "postgres" database (superuser)
  VIBN_TEST_TEMPLATE   a migrated template database to copy per test
  VIBN_TEST_PGCTL      a wrapper for `pg_ctl start|stop|restart` on that server
  VIBN_BIN             the folder holding vibnd, vibnctl and vibn-sim
  VIBN_TEST_VIBND      vibnd-test: the same daemon plus the test reconcilers ("test", "noop")
"""
import itertools
import os
import subprocess
import time

import psycopg
import pytest

ADMIN_URL = os.environ.get("VIBN_TEST_ADMIN_URL")
TEMPLATE = os.environ.get("VIBN_TEST_TEMPLATE", "vibn_template")
BIN = os.environ.get("VIBN_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "bin"))
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
_seq = itertools.count()


def pytest_configure(config):
    if not ADMIN_URL:
        raise pytest.UsageError("run the integration tests through tests/run.sh (make test)")


def _url_for(name):
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def new_database(template=TEMPLATE):
    """Creates a fresh database (a copy of the migrated template, or empty) and returns its URL."""
    name = "t_py_%d_%d" % (os.getpid(), next(_seq))
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if template:
            conn.execute('CREATE DATABASE "%s" TEMPLATE "%s"' % (name, template))
        else:
            conn.execute('CREATE DATABASE "%s"' % name)
    return _url_for(name)


def drop_database(url):
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


@pytest.fixture
def db_url():
    """A fresh, migrated database."""
    url = new_database()
    yield url
    drop_database(url)


@pytest.fixture
def empty_db_url():
    """A fresh database with no schema."""
    url = new_database(template=None)
    yield url
    drop_database(url)


@pytest.fixture
def db(db_url):
    """An autocommit connection to a fresh, migrated database."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


def binary(name):
    return os.path.join(BIN, name)


TEST_RECONCILERS = ("test", "noop")


def vibnd_binary(env):
    """The daemon to run for env: vibnd-test for the test reconcilers (the shipped vibnd has
    only the product's), bin/vibnd otherwise."""
    if env.get("VIBN_RECONCILER") in TEST_RECONCILERS:
        return os.environ["VIBN_TEST_VIBND"]
    return binary("vibnd")


def ctl(*args, db_url=None, env=None, input=None, timeout=60):
    """Runs vibnctl; returns the CompletedProcess (text mode, never raises on exit code)."""
    e = dict(os.environ)
    e.pop("DATABASE_URL", None)
    if db_url is not None:
        e["DATABASE_URL"] = db_url
    if env:
        e.update(env)
    return subprocess.run([binary("vibnctl"), *args], env=e, input=input, capture_output=True,
                          text=True, timeout=timeout)


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Polls predicate until it returns a truthy value, or fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def pg_dump_schema(url):
    out = subprocess.run([os.path.join(PGBIN, "pg_dump"), "--schema-only", "--no-owner", url],
                         capture_output=True, text=True, check=True)
    # pg_dump 15.14+ brackets its output with a random \restrict key: not part of the schema.
    return "".join(l for l in out.stdout.splitlines(True)
                   if not l.startswith(("\\restrict", "\\unrestrict")))


class Listener:
    """A LISTEN connection whose notifications are collected as (channel, payload)."""

    def __init__(self, url, channel):
        self.conn = psycopg.connect(url, autocommit=True)
        self.got = []
        self.conn.add_notify_handler(lambda n: self.got.append((n.channel, n.payload)))
        self.conn.execute("LISTEN %s" % channel)

    def wait(self, count=1, timeout=5.0):
        """Polls until count notifications have arrived; returns them all."""
        def enough():
            self.conn.execute("SELECT 1")  # psycopg delivers notifies while it reads
            return len(self.got) >= count
        wait_for(enough, timeout=timeout, what="%d notification(s)" % count)
        return list(self.got)

    def close(self):
        self.conn.close()
