"""No lost delivery (issue 14, item 4): a signed delivery that arrives while Postgres is down is
answered 202 and kept in the daemon's disk spool, and its repair happens once Postgres is
back, also when the daemon was restarted in between; the spool is bounded (503 and a metric
when full), replay is deduplicated on X-Gitea-Delivery, and a corrupt file is moved aside.
Postgres is really stopped and started (VIBN_TEST_PGCTL), the daemon is the real one, and the
repair is the workspace reconciler's against vibn-sim."""
import glob
import os
import subprocess

import pytest

from conftest import wait_for
from test_api import call, deliver, repo_payload
from test_sim import Sim
from vibnd_proc import Daemon, connect, drained

PGCTL = os.environ.get("VIBN_TEST_PGCTL")
SIM_SECRET = "test-hook-secret"  # Sim.daemon_env's GITEA_WEBHOOK_SECRET


def pg(action):
    subprocess.run([PGCTL, action], check=True, capture_output=True, timeout=120)


@pytest.fixture
def postgres():
    """Stops and starts the test cluster; it is always running again when the test ends."""
    state = {"down": False}

    def stop():
        pg("stop")
        state["down"] = True

    def start():
        pg("start")
        state["down"] = False
    yield type("PG", (), {"stop": staticmethod(stop), "start": staticmethod(start)})
    if state["down"]:
        pg("start")


@pytest.fixture
def daemons():
    started = []
    yield started
    for d in started:
        d.stop(timeout=15)
        d.close()


@pytest.fixture
def sim():
    s = Sim()
    s.control("POST", "/_sim/users", {"username": "alice", "email": "alice@example.com"})
    yield s
    s.stop()


def spooled(folder):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.delivery")))


def metric(d, name):
    v = d.metric(name)
    return 0 if v is None else v


def sim_repos(sim, org):
    orgs = [o for o in sim.state()["gitea"]["orgs"] if o["name"] == org]
    return sorted(r["name"] for r in orgs[0]["repos"]) if orgs else None


def converge_acme(db_url, sim, daemons, **env):
    """A workspace with one repo, converged on the simulator by the workspace reconciler.
    Hooks point nowhere: the test sends the deliveries itself. Drift repair runs are an hour
    apart, so only a webhook repairs within the test."""
    e = {**sim.daemon_env("http://127.0.0.1:9"), "VIBN_WORKERS": "2",
         "VIBN_RESYNC_INTERVAL": "3600", "VIBN_API_TIMEOUT": "1", **env}
    d = Daemon(db_url, env=e)
    daemons.append(d)
    with connect(db_url) as conn:
        with conn.transaction():
            (wid,) = conn.execute("INSERT INTO vibn_workspaces (slug, owner, source) VALUES"
                                  " ('acme', 'alice', 'manifest') RETURNING id").fetchone()
            conn.execute("INSERT INTO vibn_workspace_members (workspace_id, user_id,"
                         " gitea_username, role) VALUES (%s, 'alice', 'alice', 'owner')", (wid,))
            conn.execute("INSERT INTO vibn_workspace_repos (workspace_id, name) VALUES (%s, 'web')",
                         (wid,))

        def ready():
            st = conn.execute("SELECT provision_status FROM vibn_workspaces WHERE id = %s",
                              (wid,)).fetchone()[0]
            return st == "ready" and drained_queue(conn)
        wait_for(ready, timeout=30, what="acme ready")
    assert sim_repos(sim, "vibn-acme") == ["web"]
    return d, e


def drained_queue(conn):
    return conn.execute("SELECT count(*) FROM vibn_reconcile_queue").fetchone()[0] == 0


def delete_web(sim):
    sim.control("POST", "/_sim/drift", {"action": "delete_repo", "org": "vibn-acme", "repo": "web"})
    assert sim_repos(sim, "vibn-acme") == []


def test_delivery_during_outage_is_spooled_and_repaired_when_postgres_returns(
        db_url, sim, daemons, postgres):
    d, _ = converge_acme(db_url, sim, daemons)
    delete_web(sim)
    postgres.stop()
    r = deliver(d, repo_payload("vibn-acme"), delivery="outage-1", secret=SIM_SECRET)
    assert r.status == 202 and r.json["result"] == "spooled", r.raw
    assert "queued on disk" in r.json["reason"]
    assert len(spooled(d.spool_dir)) == 1
    assert metric(d, "vibn_webhook_spooled_total") == 1
    assert metric(d, 'vibn_webhook_deliveries_total{result="spooled"}') == 1
    assert metric(d, "vibn_webhook_spool_bytes") > 0
    # Nothing is repaired while the database is away (the delivery only waits on disk).
    assert sim_repos(sim, "vibn-acme") == []
    postgres.start()
    wait_for(lambda: sim_repos(sim, "vibn-acme") == ["web"], timeout=60,
             what="the repo re-created after Postgres returned")
    wait_for(lambda: spooled(d.spool_dir) == [] and metric(d, "vibn_webhook_spool_bytes") == 0,
             timeout=10, what="the spool emptied")
    assert metric(d, 'vibn_webhook_spool_replayed_total{result="accepted"}') == 1
    with connect(db_url) as conn:
        assert conn.execute("SELECT result FROM vibn_webhook_deliveries WHERE delivery_id ="
                            " 'outage-1'").fetchall() == [("accepted",)]
    assert "spooled to disk" in d.log() and "replayed spooled delivery outage-1" in d.log()
    assert SIM_SECRET not in d.log()


def test_spool_survives_a_daemon_restart(db_url, sim, daemons, postgres, tmp_path):
    folder = str(tmp_path / "spool")
    d, env = converge_acme(db_url, sim, daemons, VIBN_WEBHOOK_SPOOL_DIR=folder)
    delete_web(sim)
    postgres.stop()
    r = deliver(d, repo_payload("vibn-acme"), delivery="restart-1", secret=SIM_SECRET)
    assert r.status == 202 and r.json["result"] == "spooled", r.raw
    assert d.stop() == 0
    assert spooled(folder) == ["00000000000000000000.delivery"]
    # A file that is not a whole spool file (a disk error, a hand edit): moved aside, never
    # replayed, never deleted, and the daemon goes on.
    with open(os.path.join(folder, "00000000000000000500.delivery"), "wb") as f:
        f.write(b"vibn-webhook-spool 1\nlength: 99\n\n{}")
    postgres.start()
    d2 = Daemon(db_url, env=env)
    daemons.append(d2)
    wait_for(lambda: sim_repos(sim, "vibn-acme") == ["web"], timeout=60,
             what="the repo re-created by the new daemon's replay")
    wait_for(lambda: spooled(folder) == [], timeout=10, what="the spool emptied")
    assert os.listdir(os.path.join(folder, "corrupt")) == ["00000000000000000500.delivery"]
    assert metric(d2, "vibn_webhook_spool_corrupt_total") == 1
    assert metric(d2, 'vibn_webhook_spool_replayed_total{result="accepted"}') == 1
    assert "moved aside" in d2.log()
    assert d2.proc.poll() is None


def test_duplicate_delivery_is_replayed_once(db_url, daemons, postgres):
    d = Daemon(db_url, env={"VIBN_API_TIMEOUT": "1"})
    daemons.append(d)
    with connect(db_url) as conn:
        conn.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u')")
        wait_for(lambda: drained(conn), what="the initial run")
    postgres.stop()
    body = repo_payload("vibn-acme")
    for _ in range(2):
        r = deliver(d, body, delivery="dup-spool")
        assert r.status == 202 and r.json["result"] == "spooled", r.raw
    assert len(spooled(d.spool_dir)) == 2
    postgres.start()
    wait_for(lambda: spooled(d.spool_dir) == [], timeout=30, what="the spool replayed")
    assert metric(d, 'vibn_webhook_spool_replayed_total{result="accepted"}') == 1
    assert metric(d, 'vibn_webhook_spool_replayed_total{result="duplicate"}') == 1
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM vibn_webhook_deliveries WHERE delivery_id ="
                            " 'dup-spool'").fetchone()[0] == 1
    # Recorded once: the same delivery arriving live now is a duplicate too (or, when the
    # reconnected database is slow to answer on a loaded machine, spooled and then replayed
    # as one).
    r = deliver(d, body, delivery="dup-spool")
    assert r.status == 202 and r.json["result"] in ("duplicate", "spooled"), r.raw
    if r.json["result"] == "spooled":
        wait_for(lambda: spooled(d.spool_dir) == [], timeout=30, what="the spool replayed")
        assert metric(d, 'vibn_webhook_spool_replayed_total{result="duplicate"}') == 2
    else:
        assert r.json == {"result": "duplicate"}, r.raw


def test_full_spool_answers_503_counts_and_logs_once(db_url, daemons, postgres):
    # Room for a few deliveries: each file is its body (about 400 bytes) plus a short head.
    d = Daemon(db_url, env={"VIBN_API_TIMEOUT": "1", "VIBN_WEBHOOK_SPOOL_MAX_BYTES": "2048"})
    daemons.append(d)
    with connect(db_url) as conn:
        conn.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u')")
        wait_for(lambda: drained(conn), what="the initial run")
    postgres.stop()
    answers = [deliver(d, repo_payload("vibn-acme")) for _ in range(6)]
    statuses = [r.status for r in answers]
    kept = statuses.count(202)
    assert 1 <= kept < 6 and statuses == [202] * kept + [503] * (6 - kept), statuses
    refused = answers[-1]
    assert refused.json["code"] in ("db_unavailable", "db_error", "timeout"), refused.raw
    assert refused.headers.get("retry-after") == "1"
    assert len(spooled(d.spool_dir)) == kept
    assert metric(d, "vibn_webhook_spool_full_total") == 6 - kept
    assert 0 < metric(d, "vibn_webhook_spool_bytes") <= 2048
    # One log line for the whole burst of refusals, not one per request.
    assert d.log().count("is full") == 1, d.log()
    # Nothing unsigned is ever spooled: a bad signature is 401 whatever the database does.
    r = deliver(d, repo_payload("vibn-acme"), secret="not-the-secret")
    assert r.status == 401
    postgres.start()
    wait_for(lambda: spooled(d.spool_dir) == [] and metric(d, "vibn_webhook_spool_bytes") == 0,
             timeout=30, what="the spool replayed")
    wait_for(lambda: deliver(d, repo_payload("vibn-acme")).json.get("result") == "accepted",
             what="live deliveries accepted again")


def test_unusable_spool_folder_stops_the_start(db_url, tmp_path):
    afile = tmp_path / "a-file"
    afile.write_text("")
    d = Daemon(db_url, env={"VIBN_WEBHOOK_SPOOL_DIR": str(afile / "spool")}, wait_ready=False)
    try:
        assert d.proc.wait(timeout=30) == 1
        assert "VIBN_WEBHOOK_SPOOL_DIR" in d.log() and str(afile) in d.log()
    finally:
        d.close()
    # Two daemons cannot share one folder (their file numbers would collide).
    folder = str(tmp_path / "shared")
    a = Daemon(db_url, env={"VIBN_WEBHOOK_SPOOL_DIR": folder})
    b = Daemon(db_url, env={"VIBN_WEBHOOK_SPOOL_DIR": folder}, wait_ready=False)
    try:
        assert b.proc.wait(timeout=30) == 1
        assert "in use by another process" in b.log()
        assert a.ready()
    finally:
        a.stop()
        a.close()
        b.close()
