"""vibnd core: configuration, probes, metrics, and the queue's semantics (dedup, follow-up
runs, requeue, lease takeover, backoff, priorities, resync), with the test reconciler."""
import os
import re
import subprocess
import time

import pytest

from conftest import binary, ctl, vibnd_binary, wait_for
from vibnd_proc import (Daemon, add_workspaces, connect, drained, finished_runs, http,
                        overlaps, queue_len, runs)


def vibnd(*args, env=None, timeout=30):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VIBN_", "GITEA_", "COOLIFY_"))
         or k.startswith("VIBN_TEST")}
    e.pop("DATABASE_URL", None)
    e.update(env or {})
    return subprocess.run([vibnd_binary(e), *args], env=e, capture_output=True, text=True,
                          timeout=timeout)


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


# --- configuration ------------------------------------------------------------------------

def test_help_lists_every_setting():
    r = vibnd("--help")
    assert r.returncode == 0
    for var in ["DATABASE_URL", "GITEA_API_URL", "GITEA_API_TOKEN", "GITEA_ADMIN_USER",
                "GITEA_WEBHOOK_SECRET", "COOLIFY_URL", "COOLIFY_API_TOKEN", "COOLIFY_SERVER_UUID",
                "ADMIN_MIGRATE_SECRET", "VIBN_LISTEN", "VIBN_PUBLIC_URL", "VIBN_WORKERS",
                "VIBN_RESYNC_INTERVAL", "VIBN_SHUTDOWN_TIMEOUT", "VIBN_BACKOFF_BASE",
                "VIBN_BACKOFF_CAP", "VIBN_LEASE_DURATION", "VIBN_COOLIFY_RPM", "VIBN_GITEA_RPS",
                "VIBN_RECONCILER", "VIBN_DB_CONNECTIONS"]:
        assert var in r.stdout, var
    assert "--workers" in r.stdout and "default 64" in r.stdout
    assert "--db-connections" in r.stdout


def test_missing_database_url_is_one_line():
    r = vibnd(env={"VIBN_RECONCILER": "test"})
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], r.stderr


@pytest.mark.parametrize("env,args,name", [
    ({"VIBN_WORKERS": "0"}, [], "VIBN_WORKERS"),
    ({"VIBN_WORKERS": "lots"}, [], "VIBN_WORKERS"),
    ({}, ["--workers=999"], "VIBN_WORKERS"),
    ({"VIBN_RESYNC_INTERVAL": "-1"}, [], "VIBN_RESYNC_INTERVAL"),
    ({"VIBN_LISTEN": "nowhere"}, [], "VIBN_LISTEN"),
    ({"GITEA_API_URL": "git.example.com"}, [], "GITEA_API_URL"),
    ({"VIBN_RECONCILER": "nope"}, [], "VIBN_RECONCILER"),
])
def test_invalid_setting_names_the_variable(env, args, name):
    e = {"DATABASE_URL": "postgresql://127.0.0.1:1/x", "VIBN_RECONCILER": "test"}
    e.update(env)
    r = vibnd(*args, env=e)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], r.stderr


def test_check_mode(db_url):
    ok = vibnd("-n", env={"DATABASE_URL": db_url, "VIBN_RECONCILER": "test",
                          "VIBN_WEBHOOKS": "off"})
    assert ok.returncode == 0, ok.stderr
    assert "configuration OK" in ok.stdout
    bad = vibnd("-n", env={"DATABASE_URL": "postgresql://nobody:hunter2@127.0.0.1:1/x",
                           "VIBN_RECONCILER": "test", "VIBN_WEBHOOKS": "off"})
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0]
    assert "hunter2" not in bad.stderr


# --- probes, routes, metrics ---------------------------------------------------------------

def test_probes_routes_and_no_secrets_in_logs(db_url, daemons):
    d = start(daemons, db_url, env={"GITEA_API_TOKEN": "tok-supersecret-1",
                                    "COOLIFY_API_TOKEN": "tok-supersecret-2"}, args=["-v"])
    status, _, body = d.get("/healthz")
    assert status == 200
    status, _, body = d.get("/readyz")
    assert status == 200 and "ready" in body
    status, headers, body = d.get("/nope")
    assert status == 404
    assert '"code": "not_found"' in body and '"error"' in body
    status, headers, body = http("POST", d.url + "/healthz")
    assert status == 405
    assert headers.get("Allow") == "GET, HEAD"
    assert '"code": "method_not_allowed"' in body
    status, _, _ = http("HEAD", d.url + "/healthz")
    assert status == 200
    assert d.stop() == 0
    log = d.log()
    assert "supersecret" not in log
    assert "level=info" in log and "level=debug" in log


def test_readyz_503_until_migrated(empty_db_url, daemons):
    d = start(daemons, empty_db_url, wait_ready=False)

    def answer():
        try:
            got = d.get("/readyz")
        except OSError:
            return None
        assert got[0] == 503, got  # never ready before the schema is there
        return got if "migration" in got[2] else None
    status, _, body = wait_for(answer, what="/readyz to name the pending migrations")
    assert re.search(r"\d+ migrations? pending", body) and '"code": "not_ready"' in body
    r = ctl("migrate", db_url=empty_db_url)
    assert r.returncode == 0, r.stderr
    d.wait_ready()


def test_metrics_exposition(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_workspaces(conn, 3)
        wait_for(lambda: finished_runs(conn) == 3 and drained(conn), what="3 runs")
    status, headers, body = d.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    line = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?'
                      r' -?[0-9.e+-]+$|^[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\} \+?Inf$')
    for l in body.splitlines():
        if l.startswith("#"):
            assert l.startswith(("# HELP ", "# TYPE ")), l
        else:
            assert line.match(l), l
    assert d.metric('controller_runtime_reconcile_total{controller="test",result="success"}') == 3
    assert d.metric('workqueue_queue_duration_seconds_count{name="test",controller="test"}') == 3
    assert d.metric('controller_runtime_reconcile_time_seconds_count{controller="test"}') == 3
    for name in ['workqueue_depth{name="test",controller="test",priority="interactive"}',
                 'workqueue_depth{name="test",controller="test",priority="background"}',
                 'workqueue_retries_total{name="test",controller="test"}',
                 "vibn_listen_connected", "vibn_build_info"]:
        assert any(l.startswith(name) for l in body.splitlines()), name
    assert "# TYPE vibn_upstream_requests_total counter" in body
    assert "# TYPE vibn_webhook_deliveries_total counter" in body


# --- queue semantics -------------------------------------------------------------------------

def test_dedup_many_events_one_run(db_url, daemons):
    with connect(db_url) as conn:
        (wid,) = add_workspaces(conn, 1)
        for _ in range(10):
            conn.execute("SELECT vibn_enqueue(%s, 0::smallint, 'test')", (wid,))
            conn.execute("UPDATE vibn_workspaces SET name = name || 'x' WHERE id = %s", (wid,))
        assert queue_len(conn) == 1
        start(daemons, db_url)
        wait_for(lambda: drained(conn) and finished_runs(conn) >= 1, what="the run")
        assert len(runs(conn, wid)) == 1


def test_events_during_run_give_exactly_one_followup(db_url, daemons):
    start(daemons, db_url)
    with connect(db_url) as conn:
        (wid,) = add_workspaces(conn, 1, behaviour={"sleep_ms": 1500})
        wait_for(lambda: len(runs(conn, wid)) == 1, what="the first run to start")
        assert runs(conn, wid)[0][3] is None  # still running
        for i in range(5):
            conn.execute("UPDATE vibn_workspaces SET name = %s WHERE id = %s", ("n%d" % i, wid))
            conn.execute("SELECT vibn_enqueue(%s, 0::smallint, 'webhook')", (wid,))
        assert conn.execute("SELECT dirty FROM vibn_reconcile_queue").fetchone()[0] is True
        wait_for(lambda: drained(conn) and len(runs(conn, wid)) >= 2, timeout=20,
                 what="the follow-up run")
        # Drained: nothing is queued or running, so no further run can come.
        assert len(runs(conn, wid)) == 2
        assert overlaps(conn) == 0


def test_requeue_after_runs_again(db_url, daemons):
    start(daemons, db_url)
    with connect(db_url) as conn:
        (wid,) = add_workspaces(conn, 1, behaviour={"requeue_after_ms": 300, "requeue_times": 2})
        wait_for(lambda: drained(conn) and len(runs(conn, wid)) == 3, what="3 runs")
        got = runs(conn, wid)
        assert [r[4] for r in got] == ["requeue_after", "requeue_after", "done"]
        # Never sooner than asked.
        for a, b in zip(got, got[1:]):
            assert (b[2] - a[3]).total_seconds() >= 0.29


def test_expired_lease_is_taken_over(db_url, daemons):
    with connect(db_url) as conn:
        (wid,) = add_workspaces(conn, 1)
        (expiry,) = conn.execute(
            "UPDATE vibn_reconcile_queue SET lease_owner = 'ghost/w0/1',"
            " lease_expires_at = now() + interval '1.5 seconds' RETURNING lease_expires_at"
        ).fetchone()
        d = start(daemons, db_url)
        wait_for(lambda: drained(conn) and len(runs(conn, wid)) == 1, timeout=15,
                 what="the takeover run")
        started = runs(conn, wid)[0][2]
        assert started >= expiry, "a live lease was taken"
    assert "took over an expired lease from ghost/w0/1" in d.log()


def test_backoff_grows_and_is_capped(db_url, daemons):
    with connect(db_url) as conn:
        # Record every reschedule the daemon writes: (attempts, delay it chose).
        conn.execute("CREATE TABLE fails (attempts int, delay float8)")
        conn.execute(
            "CREATE FUNCTION rec_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.attempts > OLD.attempts THEN INSERT INTO fails VALUES (NEW.attempts,"
            "  extract(epoch FROM NEW.run_at - now())); END IF; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER rec_fail AFTER UPDATE ON vibn_reconcile_queue"
                     " FOR EACH ROW EXECUTE FUNCTION rec_fail()")
        d = start(daemons, db_url, env={"VIBN_BACKOFF_BASE": "0.05", "VIBN_BACKOFF_CAP": "0.4"})
        (wid,) = add_workspaces(conn, 1, behaviour={"fail": "transient", "fail_times": 7})
        wait_for(lambda: drained(conn) and len(runs(conn, wid)) == 8, timeout=20,
                 what="7 failures and a success")
        delays = [r[1] for r in conn.execute("SELECT attempts, delay FROM fails ORDER BY attempts")]
        assert len(delays) == 7
        for n, delay in enumerate(delays, start=1):
            nominal = min(0.4, 0.05 * 2 ** (n - 1))
            assert 0.8 * nominal - 0.01 <= delay <= nominal + 0.001, (n, delays)
        assert delays[1] > delays[0] and delays[2] > delays[1] and delays[3] > delays[2]
        assert max(delays) <= 0.401
        got = runs(conn, wid)
        assert [r[6] for r in got] == list(range(8))  # attempts seen by each run
        assert got[-1][4] == "done"
        assert conn.execute("SELECT count(*) FROM vibn_reconcile_queue").fetchone()[0] == 0
    assert d.metric('workqueue_retries_total{name="test",controller="test"}') == 7
    assert d.metric('controller_runtime_reconcile_total{controller="test",result="error"}') == 7
    assert d.proc.poll() is None


def test_rate_limited_and_permanent_errors_wait(db_url, daemons):
    start(daemons, db_url, env={"VIBN_BACKOFF_BASE": "0.01", "VIBN_BACKOFF_CAP": "30"})
    with connect(db_url) as conn:
        (rl,) = add_workspaces(conn, 1, prefix="rl", behaviour={
            "fail": "rate_limited", "fail_times": 1, "not_before_ms": 1200})
        (pm,) = add_workspaces(conn, 1, prefix="pm", behaviour={"fail": "permanent"})
        def rl_done():
            got = runs(conn, rl)
            return len(got) == 2 and got[1][3] is not None
        wait_for(rl_done, timeout=15, what="the rate-limited retry")
        wait_for(lambda: conn.execute("SELECT attempts FROM vibn_reconcile_queue"
                                      " WHERE workspace_id = %s", (pm,)).fetchone() == (1,),
                 what="the permanent failure to be recorded")
        first, second = runs(conn, rl)
        assert (second[2] - first[3]).total_seconds() >= 1.19
        row = conn.execute("SELECT attempts, extract(epoch FROM run_at - now()), last_error"
                           " FROM vibn_reconcile_queue WHERE workspace_id = %s", (pm,)).fetchone()
        assert row[0] == 1 and row[1] > 20, row  # permanent: the cap (30 s, jittered down <= 20%)
        assert "permanent" in row[2]
        assert d_alive(daemons)


def d_alive(daemons):
    return all(d.proc.poll() is None for d in daemons)


def worker_connections(conn):
    return conn.execute("SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = 'vibnd-worker'").fetchone()[0]


def test_more_reconciles_in_flight_than_database_connections(db_url, daemons):
    """VIBN_WORKERS reconciles wait at once (as passes wait on upstreams) while the workers
    hold no more than VIBN_DB_CONNECTIONS connections: a worker takes one per statement."""
    with connect(db_url) as conn:
        add_workspaces(conn, 12, behaviour={"sleep_ms": 3000})
        d = start(daemons, db_url, env={"VIBN_WORKERS": "12", "VIBN_DB_CONNECTIONS": "2"})
        seen = []

        def all_running():
            seen.append(worker_connections(conn))
            return conn.execute("SELECT count(*) FROM vibn_test_runs"
                                " WHERE finished_at IS NULL").fetchone()[0] == 12

        wait_for(all_running, timeout=20, what="12 runs under way at once")
        assert d.metric('controller_runtime_active_workers{controller="test"}') == 12
        wait_for(lambda: drained(conn) and finished_runs(conn) == 12, timeout=30,
                 what="the runs to finish")
        seen.append(worker_connections(conn))
        assert 1 <= max(seen) <= 2, seen
        assert all(r[4] == "done" for r in runs(conn))
    assert d.metric("vibn_worker_db_waits_total") >= 0
    assert d.metric('vibn_worker_db_connections{state="lent"}') + \
        d.metric('vibn_worker_db_connections{state="idle"}') <= 2


def test_idle_workers_share_their_polling(db_url, daemons):
    """Idle workers look at the queue (a claim, a due-time read) about once per half poll
    interval between them, not each on its own: the idle load does not grow with
    VIBN_WORKERS (32 workers polling every 0.2 s on their own made 320 commits a second)."""
    d = start(daemons, db_url, env={"VIBN_WORKERS": "32", "VIBN_POLL_INTERVAL": "0.2"})
    with connect(db_url) as conn:
        def commits():
            return conn.execute("SELECT xact_commit FROM pg_stat_database"
                                " WHERE datname = current_database()").fetchone()[0]

        wait_for(lambda: d.metric('vibn_worker_db_connections{state="idle"}') >= 1
                 and d.metric('vibn_worker_db_connections{state="lent"}') == 0,
                 what="the workers' start-up round to end")
        before, t0 = commits(), time.monotonic()
        wait_for(lambda: time.monotonic() - t0 >= 3, timeout=10, what="3 s of idling")
        idle = commits() - before
        # About 2 looks of 2 statements per 0.2 s: 60 in 3 s; the statistics lag by up to a
        # second either way. Polling per worker would be about 960.
        assert idle < 300, idle
        # Work still comes in at once (a notification), and more of it than one worker takes.
        ids = add_workspaces(conn, 12, behaviour={"sleep_ms": 500})
        wait_for(lambda: conn.execute("SELECT count(*) FROM vibn_test_runs WHERE finished_at"
                                      " IS NULL").fetchone()[0] >= 8, timeout=10,
                 what="runs in parallel")
        wait_for(lambda: drained(conn) and finished_runs(conn) == 12, timeout=30,
                 what="the queue to drain")
        assert {r[0] for r in runs(conn)} == set(ids)


def test_due_items_wake_more_than_one_idle_worker(db_url, daemons):
    """Items falling due at one time, announced by no notification, are taken by several
    workers at once: the worker the due time wakes wakes another while there is work."""
    d = start(daemons, db_url, env={"VIBN_WORKERS": "8", "VIBN_POLL_INTERVAL": "30"})
    with connect(db_url) as conn:
        wait_for(lambda: d.metric('vibn_worker_db_connections{state="idle"}') >= 1
                 and d.metric('vibn_worker_db_connections{state="lent"}') == 0,
                 what="the workers' start-up round to end")
        # Queued for later in the transaction that inserts them: the notification finds
        # nothing due, and only the due time can wake a worker.
        with conn.transaction():
            ids = add_workspaces(conn, 6, behaviour={"sleep_ms": 1500})
            conn.execute("UPDATE vibn_reconcile_queue SET run_at = now() + interval '2 seconds'")
        wait_for(lambda: drained(conn) and finished_runs(conn) == 6, timeout=20,
                 what="the due items to run")
        got = runs(conn)
        assert {r[0] for r in got} == set(ids)
        # Run together, not one after another (6 x 1.5 s).
        span = max(r[3] for r in got) - min(r[2] for r in got)
        assert span.total_seconds() < 6, span


def test_interactive_overtakes_background_backlog(db_url, daemons):
    with connect(db_url) as conn:
        ids = add_workspaces(conn, 40, prefix="bg", behaviour={"sleep_ms": 150})
        conn.execute("UPDATE vibn_reconcile_queue SET priority = 1, reason = 'resync'")
        start(daemons, db_url, env={"VIBN_WORKERS": "2"})
        wait_for(lambda: len(runs(conn)) >= 1, what="the backlog to start")
        (hot,) = add_workspaces(conn, 1, prefix="hot")
        (enqueued,) = conn.execute("SELECT clock_timestamp()").fetchone()
        wait_for(lambda: len(runs(conn, hot)) == 1, timeout=20, what="the interactive run")
        hot_start = runs(conn, hot)[0][2]
        bg = [r for r in runs(conn) if r[0] != hot]
        jumped = [r for r in bg if enqueued < r[2] < hot_start]
        # At most the claims already in flight when it was enqueued (one per worker).
        assert len(jumped) <= 2, jumped
        assert sum(1 for r in bg if r[2] > hot_start) + (40 - len(bg)) >= 10
        assert runs(conn, hot)[0][5] == 0


def test_resync_enqueues_everything_spread(db_url, daemons):
    with connect(db_url) as conn:
        ids = add_workspaces(conn, 20)
        conn.execute("DELETE FROM vibn_reconcile_queue")
        # One queued item keeps its place and due time.
        conn.execute("SELECT vibn_enqueue(%s, 0::smallint, 'spec', now() + interval '1 hour')",
                     (ids[0],))
        r = ctl("resync", "--all", "--spread", "100", db_url=db_url)
        assert r.returncode == 0, r.stderr
        assert "19 workspace(s) enqueued" in r.stdout
        rows = conn.execute("SELECT priority, extract(epoch FROM run_at - now()), reason"
                            " FROM vibn_reconcile_queue WHERE workspace_id <> %s ORDER BY 2",
                            (ids[0],)).fetchall()
        assert len(rows) == 19 and all(p == 1 and why == "resync" for p, _, why in rows)
        dues = [due for _, due, _ in rows]
        # Spread evenly over the interval, 100/20 s apart in id order (the kept item may be
        # the first of that order, so the first of these may be one step late).
        assert dues[0] <= 100 / 20 + 1 and 85 <= dues[-1] <= 100
        assert conn.execute("SELECT priority, reason FROM vibn_reconcile_queue"
                            " WHERE workspace_id = %s", (ids[0],)).fetchone() == (0, "spec")
        # Within min_gap another replica's run is skipped.
        assert conn.execute("SELECT vibn_resync('1 minute', '1 hour')").fetchone()[0] == -1


def test_periodic_resync_runs_every_workspace(db_url, daemons):
    with connect(db_url) as conn:
        ids = add_workspaces(conn, 5)
        conn.execute("DELETE FROM vibn_reconcile_queue")
        d = start(daemons, db_url, env={"VIBN_RESYNC_INTERVAL": "1"})
        wait_for(lambda: len({r[0] for r in runs(conn)}) == 5, timeout=15,
                 what="every workspace to be resynced")
        assert all(r[5] == 1 for r in runs(conn))  # background priority
    assert d.metric("vibn_resync_runs_total") >= 1


def test_vibnctl_resync_one_slug(db_url):
    with connect(db_url) as conn:
        add_workspaces(conn, 1, prefix="acme")
        conn.execute("DELETE FROM vibn_reconcile_queue")
        r = ctl("resync", "acme-0", db_url=db_url)
        assert r.returncode == 0, r.stderr
        assert conn.execute("SELECT priority, reason FROM vibn_reconcile_queue").fetchone() == (
            0, "resync")
    r = ctl("resync", "nope", db_url=db_url)
    assert r.returncode == 1 and "no workspace named" in r.stderr
    assert ctl("resync", db_url=db_url).returncode == 2
    assert ctl("resync", "--all", "acme-0", db_url=db_url).returncode == 2
