"""vibnctl get, describe, delete and reconcile (resync: test_core.py)."""
import json
import threading
import time

import psycopg
import yaml

from conftest import ctl

TEAM = """apiVersion: vibn/v1
kind: Workspace
metadata: {name: acme}
spec:
  displayName: Acme Inc.
  owner: alice
  members: [{user: bob, role: admin}]
  repos: [{name: web, description: Marketing site}]
  apps: [{name: web, repo: web}]
"""

READY = json.dumps([
    {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "all good",
     "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1},
    {"type": "GiteaOrgReady", "status": "False", "reason": "UpstreamUnavailable",
     "message": "gitea answered 503", "lastTransitionTime": "2026-01-01T00:00:00Z",
     "observedGeneration": 1}])


def seed(db, db_url):
    assert ctl("apply", "-f", "-", db_url=db_url, input=TEAM).returncode == 0
    assert ctl("signup", "--user", "u1", "--email", "zoe@x.io", db_url=db_url).returncode == 0
    db.execute("UPDATE vibn_workspaces SET conditions = %s, gitea_org = 'vibn-acme', "
               "coolify_project_uuid = 'p-123', provision_status = 'ready', "
               "observed_generation = 1 WHERE slug = 'acme'", (READY,))


def test_get_table(db, db_url):
    seed(db, db_url)
    r = ctl("get", "workspaces", db_url=db_url)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["SLUG", "READY", "STATUS", "GITEA", "ORG", "COOLIFY", "PROJECT",
                                "AGE"]
    assert lines[1].split()[:5] == ["acme", "True", "ready", "vibn-acme", "p-123"]
    assert lines[2].split()[:5] == ["zoe", "Unknown", "pending", "<none>", "<none>"]
    assert lines[1].split()[5].endswith("s")
    # Columns line up.
    assert lines[0].index("READY") == lines[1].index("True")


def test_get_json_and_yaml(db, db_url):
    seed(db, db_url)
    j = json.loads(ctl("get", "workspaces", "-o", "json", db_url=db_url).stdout)
    assert j["kind"] == "WorkspaceList"
    acme = j["items"][0]
    assert (acme["slug"], acme["ready"], acme["giteaOrg"], acme["source"]) == \
        ("acme", "True", "vibn-acme", "manifest")
    assert acme["conditions"][1]["reason"] == "UpstreamUnavailable"
    y = yaml.safe_load(ctl("get", "ws", "acme", "-o", "yaml", db_url=db_url).stdout)
    assert [i["slug"] for i in y["items"]] == ["acme"]
    assert y["items"][0]["displayName"] == "Acme Inc."
    assert y["items"][0]["createdAt"] == acme["createdAt"]  # quoted: stays a string
    assert y["items"][0]["generation"] == 1


def test_get_errors(db_url):
    r = ctl("get", "workspaces", "nope", db_url=db_url)
    assert r.returncode == 1 and 'workspace "nope" not found' in r.stderr
    assert ctl("get", "pods", db_url=db_url).returncode == 2
    assert ctl("get", "workspaces", "-o", "xml", db_url=db_url).returncode == 2


def test_describe(db, db_url):
    seed(db, db_url)
    db.execute("UPDATE vibn_workspaces SET last_error = 'gitea: 503' WHERE slug = 'acme'")
    r = ctl("describe", "workspace", "acme", db_url=db_url)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for want in ("Name:               acme\n", "Display Name:       Acme Inc.\n",
                 "Owner:              alice\n", "Source:             manifest\n",
                 "Gitea Org:          vibn-acme\n", "Generation:         1 (observed 1)\n",
                 "Last Error:         gitea: 503\n", "Members:\n", "Repos:\n", "Apps:\n",
                 "Conditions:\n", "Queue:\n"):
        assert want in out, want
    cond = [l.split(None, 4) for l in out.splitlines() if "GiteaOrgReady" in l][0]
    assert cond[:3] == ["GiteaOrgReady", "False", "UpstreamUnavailable"]
    assert cond[3].endswith("d") and cond[4] == "gitea answered 503"
    assert "  State:            queued, due now" in out
    assert "  Reason:           created" in out
    assert [l.split() for l in out.splitlines() if l.startswith("  bob")] == \
        [["bob", "bob", "admin"]]
    missing = ctl("describe", "workspace", "nope", db_url=db_url)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert ctl("describe", "acme", db_url=db_url).returncode == 2


def test_delete_soft_deletes(db, db_url):
    seed(db, db_url)
    gen = db.execute("SELECT generation FROM vibn_workspaces WHERE slug = 'zoe'").fetchone()[0]
    r = ctl("delete", "workspace", "zoe", db_url=db_url)
    assert (r.returncode, r.stdout.strip()) == (0, "workspace/zoe deleted")
    row = db.execute("SELECT deleted_at IS NOT NULL, generation FROM vibn_workspaces "
                     "WHERE slug = 'zoe'").fetchone()
    assert row == (True, gen + 1)  # the row stays until the daemon has cleaned up
    again = ctl("delete", "workspace", "zoe", db_url=db_url)
    assert (again.returncode, again.stdout.strip()) == (0, "workspace/zoe already being deleted")
    assert ctl("get", "workspaces", "zoe", db_url=db_url).stdout.splitlines()[1].split()[2] == \
        "deleting"
    assert ctl("delete", "workspace", "nope", db_url=db_url).returncode == 1
    assert ctl("delete", "zoe", db_url=db_url).returncode == 2


def test_delete_wait_times_out_without_a_daemon(db, db_url):
    seed(db, db_url)
    r = ctl("delete", "workspace", "acme", "--wait", "--timeout", "1", db_url=db_url)
    assert r.returncode == 1
    assert "timed out after 1s waiting for workspace/acme" in r.stderr


def later(db_url, sql, delay=0.5):
    """Runs sql from another connection after a delay: a stand-in for the daemon."""
    def run():
        time.sleep(delay)
        with psycopg.connect(db_url, autocommit=True) as c:
            c.execute(sql)
    t = threading.Thread(target=run)
    t.start()
    return t


def test_delete_wait_ends_when_the_row_is_gone(db, db_url):
    seed(db, db_url)
    t = later(db_url, "DELETE FROM vibn_workspaces WHERE slug = 'acme'")
    r = ctl("delete", "workspace", "acme", "--wait", "--timeout", "30", db_url=db_url)
    t.join()
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["workspace/acme deleted", "workspace/acme gone"]


def test_reconcile_enqueues_interactive(db, db_url):
    seed(db, db_url)
    db.execute("DELETE FROM vibn_reconcile_queue")
    r = ctl("reconcile", "acme", db_url=db_url)
    assert (r.returncode, r.stdout.strip()) == (0, "workspace/acme queued")
    assert db.execute("SELECT priority, reason FROM vibn_reconcile_queue").fetchall() == \
        [(0, "manual")]
    assert ctl("reconcile", "nope", db_url=db_url).returncode == 1


def test_reconcile_wait_reports_the_outcome(db, db_url):
    seed(db, db_url)
    t = later(db_url, "DELETE FROM vibn_reconcile_queue")
    r = ctl("reconcile", "acme", "--wait", "--timeout", "30", db_url=db_url)
    t.join()
    assert r.returncode == 0, r.stderr
    assert "workspace/acme reconciled: Ready=True" in r.stdout
    # A failed attempt (attempts up, no lease, an error) ends the wait with exit 1.
    t = later(db_url, "UPDATE vibn_reconcile_queue SET attempts = attempts + 1, "
              "last_error = 'coolify: 401 Unauthorized', run_at = now() + interval '1 hour'")
    r = ctl("reconcile", "acme", "--wait", "--timeout", "30", db_url=db_url)
    t.join()
    assert r.returncode == 1
    assert "coolify: 401 Unauthorized" in r.stderr
    r = ctl("reconcile", "acme", "--wait", "--timeout", "1", db_url=db_url)
    assert r.returncode == 1 and "timed out" in r.stderr
