"""vibnd core under stress: two replicas on one database, Postgres restarted mid-run, the
LISTEN connection killed, and graceful (and not so graceful) shutdown."""
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import wait_for
from vibnd_proc import (Daemon, add_workspaces, connect, drained, finished_runs, overlaps,
                        queue_len, runs)


@pytest.fixture
def daemons():
    started = []
    yield started
    for d in started:
        d.stop(timeout=10)
        d.close()


def start(daemons, db_url, **kw):
    d = Daemon(db_url, **kw)
    daemons.append(d)
    return d


def test_two_daemons_share_work_and_never_overlap(db_url, daemons):
    # A short lease makes renewal matter: some runs outlive it several times over.
    env = {"VIBN_WORKERS": "3", "VIBN_LEASE_DURATION": "1"}
    a = start(daemons, db_url, env=env)
    b = start(daemons, db_url, env=env)
    rnd = random.Random(4)
    with connect(db_url) as conn:
        ids = add_workspaces(conn, 30, behaviour={"sleep_ms": 100})
        with conn.transaction():
            for wid in ids[:3]:
                conn.execute("UPDATE vibn_test_behaviour SET sleep_ms = 2500"
                             " WHERE workspace_id = %s", (wid,))
            for wid in ids[3:]:
                conn.execute("UPDATE vibn_test_behaviour SET sleep_ms = %s"
                             " WHERE workspace_id = %s", (rnd.randrange(20, 200), wid))
        # Events keep arriving while runs are in progress.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            wid = rnd.choice(ids)
            conn.execute("SELECT vibn_enqueue(%s, 0::smallint, 'webhook')", (wid,))
            time.sleep(0.02)
        wait_for(lambda: drained(conn), timeout=60, what="the queue to drain")
        got = runs(conn)
        assert {r[0] for r in got} == set(ids)
        assert overlaps(conn) == 0
        instances = {r[1].rsplit("/", 2)[0] for r in got}
        assert len(instances) == 2, "both daemons must have done work"
        assert all(r[4] == "done" for r in got)
    assert "lost" not in a.log() + b.log()
    assert "took over" not in a.log() + b.log()


def test_postgres_restart_mid_run_loses_nothing(db_url, daemons):
    pgctl = os.environ["VIBN_TEST_PGCTL"]
    d = start(daemons, db_url, env={"VIBN_WORKERS": "4"})
    with connect(db_url) as conn:
        first = add_workspaces(conn, 12, prefix="a", behaviour={"sleep_ms": 400})
        wait_for(lambda: finished_runs(conn) >= 1, what="runs to be under way")
    subprocess.run([pgctl, "restart"], check=True, capture_output=True, timeout=120)
    d.wait_ready(timeout=30)
    with connect(db_url) as conn:
        second = add_workspaces(conn, 5, prefix="b")
        def all_done():
            done = {r[0] for r in conn.execute(
                "SELECT workspace_id FROM vibn_test_runs WHERE result = 'done'")}
            return done >= set(first + second) and queue_len(conn) == 0
        wait_for(all_done, timeout=60, what="every workspace to converge after the restart")
        # Runs cut short by the restart could not record their end; the rest never overlap.
        assert overlaps(conn, finished_only=True) == 0
    assert d.proc.poll() is None
    assert d.metric("vibn_listen_reconnects_total") >= 1


def test_listen_connection_killed_queue_still_drains(db_url, daemons):
    # A long poll interval: only notifications (and the wake after reconnect) drive work.
    d = start(daemons, db_url, env={"VIBN_POLL_INTERVAL": "300"})
    with connect(db_url) as conn:
        def listen_pid():
            row = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name ="
                               " 'vibnd-listen' AND datname = current_database()").fetchone()
            return row and row[0]
        old = wait_for(listen_pid, what="the LISTEN backend")
        conn.execute("SELECT pg_terminate_backend(%s)", (old,))
        wait_for(lambda: (listen_pid() or old) != old, timeout=15, what="a new LISTEN backend")
        wait_for(lambda: d.metric("vibn_listen_reconnects_total") == 1, what="the reconnect")
        ids = add_workspaces(conn, 10)
        wait_for(lambda: drained(conn) and finished_runs(conn) == 10, timeout=20,
                 what="the queue to drain")
        assert {r[0] for r in runs(conn)} == set(ids)
    assert "LISTEN connection re-established" in d.log()


def test_sigterm_lets_running_reconciles_finish(db_url, daemons):
    d = start(daemons, db_url, env={"VIBN_WORKERS": "2"})
    with connect(db_url) as conn:
        ids = add_workspaces(conn, 4, behaviour={"sleep_ms": 1200})
        wait_for(lambda: len(runs(conn)) == 2, what="two runs to start")
        d.signal(signal.SIGTERM)
        assert d.proc.wait(timeout=20) == 0
        got = runs(conn)
        assert len(got) == 2 and all(r[3] is not None and r[4] == "done" for r in got)
        # The other two were never claimed and hold no lease.
        rows = conn.execute("SELECT lease_owner FROM vibn_reconcile_queue").fetchall()
        assert rows == [(None,), (None,)]
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name"
                            " LIKE 'vibnd%%' AND datname = current_database()").fetchone()[0] == 0
    assert "all reconciles finished" in d.log()


def test_sigterm_timeout_releases_leases_for_another_replica(db_url, daemons):
    d = start(daemons, db_url, env={"VIBN_WORKERS": "2", "VIBN_SHUTDOWN_TIMEOUT": "0.5",
                                    "VIBN_LEASE_DURATION": "600"})
    with connect(db_url) as conn:
        ids = add_workspaces(conn, 2, behaviour={"sleep_ms": 6000})
        wait_for(lambda: len(runs(conn)) == 2, what="two long runs to start")
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        assert d.proc.wait(timeout=20) == 0
        assert time.monotonic() - t0 < 5.5, "exited before the runs would have finished"
        rows = conn.execute("SELECT lease_owner, attempts FROM vibn_reconcile_queue").fetchall()
        assert rows == [(None, 0), (None, 0)]
        # Another replica takes them at once despite the 600 s lease.
        conn.execute("UPDATE vibn_test_behaviour SET sleep_ms = 0")
        start(daemons, db_url)
        wait_for(lambda: queue_len(conn) == 0, timeout=15, what="the other replica")
    assert "releasing their leases" in d.log()
    assert "released 2 leases" in d.log()


def test_second_signal_exits_at_once(db_url, daemons):
    d = start(daemons, db_url, env={"VIBN_WORKERS": "1"})
    with connect(db_url) as conn:
        add_workspaces(conn, 1, behaviour={"sleep_ms": 20000})
        wait_for(lambda: len(runs(conn)) == 1, what="the long run to start")
    d.signal(signal.SIGTERM)
    wait_for(lambda: "shutting down" in d.log(), what="the first signal to be handled")
    t0 = time.monotonic()
    d.signal(signal.SIGINT)
    assert d.proc.wait(timeout=10) != 0
    assert time.monotonic() - t0 < 5
    assert "second signal" in d.log()
