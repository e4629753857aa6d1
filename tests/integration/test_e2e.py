"""vibnd with the workspace reconciler against vibn-sim: a signup converges with no other
action; a revoked Coolify token is a clear condition and no hot loop, while the Gitea side
still converges; a 429's Retry-After is honoured by the queue."""
import time

import pytest

from conftest import ctl, wait_for
from simproc import Sim
from vibnd_proc import Daemon, connect


@pytest.fixture
def sim():
    s = Sim()
    s.control("POST", "/_sim/users", {"username": "alice", "email": "alice@example.com"})
    yield s
    s.stop()


def start(db_url, sim, **env):
    # Hooks point nowhere: these tests do not need webhook delivery.
    return Daemon(db_url, env={**sim.daemon_env("http://127.0.0.1:9"), "VIBN_WORKERS": "2", **env})


def condition(conn, slug, ctype):
    row = conn.execute("SELECT c->>'status', c->>'reason', c->>'message' FROM vibn_workspaces,"
                       " jsonb_array_elements(conditions) c WHERE slug = %s AND c->>'type' = %s",
                       (slug, ctype)).fetchone()
    return row or (None, None, None)


def status(conn, slug):
    row = conn.execute("SELECT provision_status FROM vibn_workspaces WHERE slug = %s",
                       (slug,)).fetchone()
    return row[0] if row else None


def coolify_calls(sim):
    c = sim.counters()["coolify"]
    return c["read"] + c["mutating"]


def test_signup_reaches_ready_with_no_other_action(db_url, sim):
    d = start(db_url, sim)
    try:
        r = ctl("signup", "--user", "u-1", "--email", "Dave.Smith@example.com", db_url=db_url)
        assert r.returncode == 0, r.stderr
        slug = r.stdout.strip().split()[-1].split("/")[-1]
        with connect(db_url) as conn:
            wait_for(lambda: status(conn, slug) == "ready", timeout=30,
                     what="signup workspace Ready")
            assert condition(conn, slug, "Ready")[0] == "True"
            assert "waits for a linked Gitea account" in condition(conn, slug, "MembersSynced")[2]
        st = sim.state()
        assert any(o["name"] == "vibn-" + slug for o in st["gitea"]["orgs"])
        assert [p["name"] for p in st["coolify"]["projects"]] == ["vibn-ws-" + slug]
    finally:
        d.stop()
        d.close()


def test_revoked_coolify_token_no_hot_loop(db_url, sim):
    d = start(db_url, sim, COOLIFY_API_TOKEN="revoked")
    try:
        r = ctl("signup", "--user", "u-2", "--email", "erin@example.com", db_url=db_url)
        assert r.returncode == 0, r.stderr
        with connect(db_url) as conn:
            wait_for(lambda: condition(conn, "erin", "CoolifyProjectReady")[1] == "Unauthorized",
                     timeout=30, what="CoolifyProjectReady Unauthorized")
            assert condition(conn, "erin", "GiteaOrgReady")[0] == "True"
            assert condition(conn, "erin", "WebhookReady")[0] == "True"
            assert status(conn, "erin") == "error"
            before = coolify_calls(sim)
            time.sleep(10)  # the measurement window itself: calls made during ten seconds
            assert coolify_calls(sim) - before <= 2
    finally:
        d.stop()
        d.close()


def test_rate_limit_retry_after_is_honoured(db_url, sim):
    sim.control("POST", "/_sim/rules", {"upstream": "coolify", "method": "POST",
                                        "path": "/api/v1/projects", "count": 1,
                                        "action": "status", "status": 429, "retry_after": "3"})
    d = start(db_url, sim)
    try:
        r = ctl("signup", "--user", "u-3", "--email", "fay@example.com", db_url=db_url)
        assert r.returncode == 0, r.stderr
        with connect(db_url) as conn:
            wait_for(lambda: condition(conn, "fay", "CoolifyProjectReady")[1] == "RateLimited",
                     timeout=30, what="CoolifyProjectReady RateLimited")
            limited_at = time.monotonic()
            wait_for(lambda: status(conn, "fay") == "ready", timeout=30, what="Ready after 429")
            # Not before Retry-After: a lower bound, safe on a slow machine.
            assert time.monotonic() - limited_at >= 2.0
    finally:
        d.stop()
        d.close()
