"""Drift repair runs in vibnd (workspace reconciler) against vibn-sim, counted by the
simulator: a run over converged workspaces reads the admin org list and the project list,
never one GET per org or project, and changes nothing; a run paced to a small Gitea budget is
spread beyond VIBN_RESYNC_INTERVAL, and a signup during it converges long before the run ends
(interactive work is claimed first, and the run leaves half of each budget)."""
import re

import pytest

from conftest import ctl, wait_for
from simproc import Sim
from vibnd_proc import Daemon, connect

PAGE = 50  # vibn-sim's Gitea page cap (MAX_RESPONSE_ITEMS' default)
RAISED = {"VIBN_GITEA_RPS": "100000", "VIBN_COOLIFY_RPM": "100000"}


@pytest.fixture
def sim():
    s = Sim()
    yield s
    s.stop()


def daemon(db_url, sim, **env):
    # Hooks point nowhere: no delivery is needed. No periodic run unless a test asks.
    return Daemon(db_url, env={**sim.daemon_env("http://127.0.0.1:9"), "VIBN_WORKERS": "4",
                               "VIBN_RESYNC_INTERVAL": "86400", **env})


def queued(conn):
    return conn.execute("SELECT count(*) FROM vibn_reconcile_queue").fetchone()[0]


def converge(conn, db_url, sim, n):
    """n signup workspaces (owner without a Gitea account), converged by a vibnd with the
    budgets raised, which is then stopped; the queue is empty."""
    with conn.transaction():
        conn.execute("SELECT count(vibn_ensure_workspace_for_user('sweep-user-' || i,"
                     " 'sweep' || i || '@example.com')) FROM generate_series(1, %s) i", (n,))
    d = daemon(db_url, sim, **RAISED)
    try:
        wait_for(lambda: conn.execute("SELECT count(*) FROM vibn_workspaces"
                                      " WHERE provision_status = 'ready'").fetchone()[0] == n
                 and queued(conn) == 0, timeout=60, what="%d workspaces Ready" % n)
    finally:
        d.stop()
        d.close()


def routes(sim, upstream):
    return sim.counters()[upstream]


def test_resync_reads_the_org_and_project_lists(db_url, sim):
    n = 2 * PAGE + 7
    with connect(db_url) as conn:
        converge(conn, db_url, sim, n)
        d = daemon(db_url, sim, **RAISED)
        try:
            sim.control("POST", "/_sim/counters/reset")
            r = ctl("resync", "--all", "--spread", "0", db_url=db_url)
            assert r.returncode == 0, r.stderr
            wait_for(lambda: queued(conn) == 0, timeout=60, what="the run to drain")
        finally:
            d.stop()
            d.close()
        assert conn.execute("SELECT count(*) FROM vibn_workspaces"
                            " WHERE provision_status = 'ready'").fetchone()[0] == n
    g, c = routes(sim, "gitea"), routes(sim, "coolify")
    pages = (n + PAGE - 1) // PAGE
    assert g["mutating"] == 0 and c["mutating"] == 0, (g, c)
    # Each org's settings from the admin org list: one page per 50 orgs, no GET per org.
    assert g["routes"].get("GET /api/v1/admin/orgs") == pages, g
    assert g["routes"].get("GET /api/v1/orgs/{org}", 0) == 0, g
    # Its hooks (Gitea lists them per org only); nothing else could hold drift.
    assert g["routes"].get("GET /api/v1/orgs/{org}/hooks") == n, g
    assert g["read"] == pages + n, g
    # One project list for the run, no GET per project.
    assert c["routes"] == {"GET /api/v1/projects": 1}, c
    assert c["read"] == 1


def test_paced_run_leaves_room_for_a_signup(db_url, sim):
    n, rps = 60, 4
    with connect(db_url) as conn:
        converge(conn, db_url, sim, n)
        # The plan: each org's hooks and the org list's 2 pages, 62 calls, 15.5 s at 4/s; a
        # run may take half of the budget, so it is spread over 31 s, not the 3 s interval.
        calls = n + (n + PAGE - 1) // PAGE
        paced = round(2.0 * calls / rps)
        sim.control("POST", "/_sim/counters/reset")
        d = daemon(db_url, sim, VIBN_GITEA_RPS=str(rps), VIBN_RESYNC_INTERVAL="3")
        try:
            wait_for(lambda: "workspaces enqueued over" in d.log(), timeout=15,
                     what="the periodic run")
            log = d.log()
            assert re.search(r"drift repair run: %d workspaces need %d Gitea and 1 Coolify"
                             r" calls.* spread over %ds instead of VIBN_RESYNC_INTERVAL's 3s"
                             % (n, calls, paced), log), log
            assert "drift repair run: %d workspaces enqueued over %ds" % (n, paced) in log, log
            dues = [r[0] for r in conn.execute(
                "SELECT extract(epoch FROM run_at - now()) FROM vibn_reconcile_queue"
                " WHERE priority = 1 ORDER BY run_at").fetchall()]
            assert len(dues) >= n - 10 and dues[-1] >= paced - 8, dues
            r = ctl("signup", "--user", "u-new", "--email", "newcomer@example.com",
                    db_url=db_url)
            assert r.returncode == 0, r.stderr
            wait_for(lambda: conn.execute("SELECT provision_status FROM vibn_workspaces"
                                          " WHERE slug = 'newcomer'").fetchone()[0] == "ready",
                     timeout=30, what="the signup Ready during the run")
            # Most of the run is still ahead (each swept org reads its hooks once; the
            # signup's fresh org has none to list): the signup did not wait for it.
            swept = routes(sim, "gitea")["routes"].get("GET /api/v1/orgs/{org}/hooks", 0)
            assert swept <= 2 * n // 3, swept
        finally:
            d.stop()
            d.close()
