"""The projects API (POST/GET/DELETE /api/workspaces/{slug}/projects), the events route and
their MCP tools, end to end: vibnd with the workspace reconciler against vibn-sim and a real
Postgres. A key creates a project and the repo and the application appear upstream with the
right names, the fs_projects row carries the workspace, the status turns ready; delete
removes the app upstream and keeps the repo (deletes it with deleteRepo=true); another
workspace's key gets 404 on every route; quotas refuse and create nothing; bad bodies name
their field."""
import http.client
import json

import pytest

from conftest import ctl, wait_for
from simproc import Sim
from vibnd_proc import Daemon, connect, free_port

ADMIN = "admin-secret-for-tests"
ADMIN_H = {"x-admin-secret": ADMIN}


class Resp:
    def __init__(self, status, raw):
        self.status, self.raw = status, raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None


def call(d, method, path, body=None, headers=None, raw=None, ctype="application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=20)
    h = dict(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None and ctype:
        h["Content-Type"] = ctype
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Resp(r.status, r.read().decode())
    finally:
        conn.close()


def bearer(token):
    return {"Authorization": "Bearer " + token}


def add_ws(conn, slug, owner="alice", source="signup"):
    (wid,) = conn.execute("INSERT INTO vibn_workspaces (slug, name, owner, source) VALUES"
                          " (%s, %s, %s, %s) RETURNING id::text",
                          (slug, slug, owner, source)).fetchone()
    conn.execute("INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role)"
                 " VALUES (%s, %s, %s, 'owner')", (wid, owner, owner))
    return wid


def mint(db_url, slug):
    r = ctl("keys", "mint", "--workspace", slug, "--name", "agent", db_url=db_url)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture
def sim():
    s = Sim()
    s.control("POST", "/_sim/users", {"username": "alice", "email": "alice@example.com"})
    yield s
    s.stop()


@pytest.fixture
def daemons():
    started = []
    yield started
    for d in started:
        d.stop(timeout=10)
        d.close()


def start(daemons, db_url, sim=None, **env):
    e = {"ADMIN_MIGRATE_SECRET": ADMIN}
    if sim is not None:
        port = free_port()
        e.update(sim.daemon_env("http://127.0.0.1:%d" % port))
        e["VIBN_WORKERS"] = "2"
        e.update(env)
        d = Daemon(db_url, env=e, port=port)
    else:
        e.update(env)
        d = Daemon(db_url, env=e)
    daemons.append(d)
    return d


def sim_repos(sim, org):
    for o in sim.state()["gitea"]["orgs"]:
        if o["name"] == org:
            return sorted(r["name"] for r in o["repos"])
    return []


def sim_apps(sim):
    return {a["name"]: a for a in sim.state()["coolify"]["applications"]}


def project(d, h, slug, pid):
    r = call(d, "GET", "/api/workspaces/%s/projects/%s" % (slug, pid), headers=h)
    assert r.status == 200, r.raw
    return r.json


# --- end to end --------------------------------------------------------------------------

def test_key_drives_the_project_flow(db_url, sim, daemons):
    d = start(daemons, db_url, sim)
    with connect(db_url) as conn:
        wid = add_ws(conn, "acme")
        wait_for(lambda: conn.execute("SELECT provision_status FROM vibn_workspaces").fetchone()[0]
                 == "ready", timeout=30, what="acme ready")
        h = bearer(mint(db_url, "acme"))
        r = call(d, "POST", "/api/workspaces/acme/projects",
                 {"name": "shop", "description": "The shop", "private": True,
                  "app": {"buildPack": "nixpacks", "ports": "3000", "branch": "main"}}, headers=h)
        assert r.status == 201, r.raw
        p = r.json
        pid = p["id"]
        assert p["name"] == "shop" and p["workspace"] == "acme"
        assert p["repo"]["fullName"] == "vibn-acme/shop" and p["repo"]["managedBy"] == "api"
        assert p["app"]["name"] == "acme-shop" and p["app"]["managedBy"] == "api"
        # The web app's row: owner, workspace.
        row = conn.execute("SELECT name, user_id, vibn_workspace_id::text FROM fs_projects"
                           " WHERE id::text = %s", (pid,)).fetchone()
        assert row == ("shop", "alice", wid)

        p = wait_for(lambda: (lambda x: x if x["status"]["ready"] else None)(project(d, h, "acme", pid)),
                     timeout=30, what="the project ready")
        assert p["status"]["reason"] == "Ready"
        assert p["status"]["repo"]["ready"] and p["status"]["app"]["ready"]
        assert p["repo"]["giteaRepoId"] and p["repo"]["cloneUrl"].endswith("/vibn-acme/shop.git")
        assert p["repo"]["sshUrl"]
        assert p["app"]["coolifyUuid"] and p["app"]["domains"] and \
            p["app"]["domains"][0].startswith("http")
        assert sim_repos(sim, "vibn-acme") == ["shop"]
        app = sim_apps(sim)["acme-shop"]
        assert app["uuid"] == p["app"]["coolifyUuid"]
        # The org is not public: Coolify clones over SSH with the deploy key.
        assert app["git_repository"] == p["repo"]["sshUrl"]

        # Listed, paged by name.
        r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "blog", "app": None}, headers=h)
        assert r.status == 201 and r.json["app"] is None, r.raw
        blog = r.json["id"]
        page = call(d, "GET", "/api/workspaces/acme/projects?limit=1", headers=h).json
        assert [x["name"] for x in page["projects"]] == ["blog"] and page["next"] == blog
        page = call(d, "GET", "/api/workspaces/acme/projects?limit=1&after=" + blog, headers=h).json
        assert [x["name"] for x in page["projects"]] == ["shop"]
        assert call(d, "GET", "/api/workspaces/acme/projects", headers=h).json["next"] is None
        wait_for(lambda: sim_repos(sim, "vibn-acme") == ["blog", "shop"], timeout=30,
                 what="repo blog")

        # Delete: the app goes upstream, the repo stays.
        r = call(d, "DELETE", "/api/workspaces/acme/projects/" + pid, headers=h)
        assert r.status == 202, r.raw
        assert r.json["app"] == {"name": "acme-shop", "action": "delete"}
        assert r.json["repo"] == {"fullName": "vibn-acme/shop", "action": "orphan"}
        wait_for(lambda: "acme-shop" not in sim_apps(sim), timeout=30, what="app acme-shop deleted")
        assert sim_repos(sim, "vibn-acme") == ["blog", "shop"]
        assert conn.execute("SELECT count(*) FROM fs_projects WHERE id::text = %s", (pid,)
                            ).fetchone()[0] == 0
        assert call(d, "GET", "/api/workspaces/acme/projects/" + pid, headers=h).status == 404
        assert call(d, "DELETE", "/api/workspaces/acme/projects/" + pid, headers=h).status == 404

        # With deleteRepo=true the repo goes too (the one the workspace created).
        wait_for(lambda: project(d, h, "acme", blog)["status"]["ready"], timeout=30,
                 what="blog ready")
        r = call(d, "DELETE", "/api/workspaces/acme/projects/%s?deleteRepo=true" % blog, headers=h)
        assert r.status == 202 and r.json["repo"]["action"] == "delete", r.raw
        wait_for(lambda: sim_repos(sim, "vibn-acme") == ["shop"], timeout=30,
                 what="repo blog deleted")
        def event_objects():
            events = call(d, "GET", "/api/workspaces/acme/events", headers=h).json["events"]
            return {(e["reason"], e["object"]["kind"], e["object"]["name"]) for e in events}
        # Coolify deletes an app in the background: its Deleted event comes when a later
        # pass sees it gone, which may be after the repo's.
        wait_for(lambda: ("Deleted", "app", "acme-shop") in event_objects(), timeout=30,
                 what="the app's Deleted event")
        objects = event_objects()
        assert ("Deleted", "repo", "vibn-acme/blog") in objects
        assert ("Deleted", "app", "acme-shop") in objects
        assert ("Created", "app", "acme-shop") in objects
        assert call(d, "DELETE", "/api/workspaces/acme/projects/x?deleteRepo=maybe",
                    headers=h).status == 400


def test_another_workspaces_key_gets_404_on_every_route(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_ws(conn, "acme")
        add_ws(conn, "beta")
    ka, kb = mint(db_url, "acme"), mint(db_url, "beta")
    r = call(d, "POST", "/api/workspaces/beta/projects", {"name": "secret"}, headers=bearer(kb))
    assert r.status == 201, r.raw
    bid = r.json["id"]
    h = bearer(ka)
    routes = [("GET", "/api/workspaces/%s/projects", None),
              ("POST", "/api/workspaces/%s/projects", {"name": "x"}),
              ("GET", "/api/workspaces/%%s/projects/%s" % bid, None),
              ("DELETE", "/api/workspaces/%%s/projects/%s?deleteRepo=true" % bid, None),
              ("GET", "/api/workspaces/%s/events", None)]
    for method, path, body in routes:
        other = call(d, method, path % "beta", body, headers=h)
        missing = call(d, method, path % "nope", body, headers=h)
        assert other.status == 404 and other.json == {"error": "no such workspace",
                                                      "code": "not_found"}, (method, path, other.raw)
        assert (missing.status, missing.raw) == (other.status, other.raw), (method, path)
    # beta's project, through acme's own routes: no such project either.
    r = call(d, "GET", "/api/workspaces/acme/projects/" + bid, headers=h)
    assert r.status == 404 and r.json["code"] == "not_found"
    r = call(d, "DELETE", "/api/workspaces/acme/projects/" + bid, headers=h)
    assert r.status == 404
    assert call(d, "GET", "/api/workspaces/acme/projects", headers=h).json["projects"] == []
    # Nothing of beta changed.
    assert call(d, "GET", "/api/workspaces/beta/projects/" + bid, headers=bearer(kb)).status == 200
    # MCP: the same walls.
    r = call(d, "POST", "/api/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "list_projects", "arguments": {"workspace": "beta"}}}, headers=h)
    assert r.json["result"]["isError"] and "not found" in r.json["result"]["content"][0]["text"]


def test_bodies_conflicts_and_fields(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        wid = add_ws(conn, "acme", source="manifest")
        conn.execute("INSERT INTO vibn_workspace_repos (workspace_id, name, managed_by) VALUES"
                     " (%s, 'web', 'manifest')", (wid,))
    h = ADMIN_H
    for raw, ctype, status, code, field in [
            (b"not json", "application/json", 400, "bad_request", None),
            (b"[]", "application/json", 400, "bad_request", None),
            (b'{"name": "x"}', "text/plain", 415, "unsupported_media_type", None),
            (b"{}", "application/json", 422, "invalid_field", "name"),
            (b'{"name": "a..b"}', "application/json", 422, "invalid_field", "name"),
            (b'{"name": "x", "private": 1}', "application/json", 422, "invalid_field", "private"),
            (b'{"name": "x", "app": {"ports": "99999"}}', "application/json", 422,
             "invalid_field", "app.ports"),
            (b'{"name": "x", "owner": "eve"}', "application/json", 422, "invalid_field", "owner"),
            # Quotas are set by ops (manifest spec.quotas, VIBN_QUOTA_*), never by a key.
            (b'{"name": "x", "quotas": {"repos": 1000}}', "application/json", 422,
             "invalid_field", "quotas")]:
        r = call(d, "POST", "/api/workspaces/acme/projects", raw=raw, headers=h, ctype=ctype)
        assert r.status == status and r.json["code"] == code, (raw, r.raw)
        assert r.json.get("field") == field, (raw, r.raw)
    r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "shop"}, headers=h)
    assert r.status == 201, r.raw
    first = r.json["id"]
    r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "SHOP"}, headers=h)
    assert r.status == 409 and r.json["code"] == "conflict" and r.json["existing"] == first, r.raw
    assert first in r.json["error"]
    r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "web"}, headers=h)
    assert r.status == 409 and "manifest" in r.json["error"], r.raw
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM fs_projects").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM vibn_workspace_repos").fetchone()[0] == 2
    assert call(d, "GET", "/api/workspaces/acme/projects?limit=0", headers=h).status == 400
    assert call(d, "GET", "/api/workspaces/acme/projects?after=a%20b", headers=h).status == 400
    r = call(d, "GET", "/api/workspaces/acme/projects?after=no-such-id", headers=h)
    assert r.status == 200 and r.json["projects"] == [] and r.json["next"] is None
    # deleteRepo of a repo a manifest took over: refused, nothing deleted.
    with connect(db_url) as conn:
        conn.execute("UPDATE vibn_workspace_repos SET managed_by = 'manifest' WHERE name = 'shop'")
    r = call(d, "DELETE", "/api/workspaces/acme/projects/%s?deleteRepo=true" % first, headers=h)
    assert r.status == 409 and r.json["field"] == "deleteRepo", r.raw
    r = call(d, "DELETE", "/api/workspaces/acme/projects/" + first, headers=h)
    assert r.status == 202 and r.json["repo"]["action"] == "keep", r.raw
    with connect(db_url) as conn:
        assert conn.execute("SELECT managed_by, project_id FROM vibn_workspace_repos WHERE"
                            " name = 'shop'").fetchone() == ("manifest", None)
        assert conn.execute("SELECT count(*) FROM vibn_workspace_repo_deletions").fetchone()[0] == 0


def test_quota_refuses_past_it_and_creates_nothing(db_url, daemons):
    d = start(daemons, db_url, VIBN_QUOTA_PROJECTS="2", VIBN_QUOTA_APPS="1")
    with connect(db_url) as conn:
        add_ws(conn, "acme")
        h = bearer(mint(db_url, "acme"))

        def counts():
            return conn.execute("SELECT (SELECT count(*) FROM fs_projects),"
                                " (SELECT count(*) FROM vibn_workspace_repos),"
                                " (SELECT count(*) FROM vibn_workspace_apps)").fetchone()
        r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "one", "app": {}}, headers=h)
        assert r.status == 201, r.raw
        # The app quota (1) is full: a second app is refused, whole.
        r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "two", "app": {}}, headers=h)
        assert r.status == 422 and r.json["code"] == "quota_exceeded", r.raw
        assert "VIBN_QUOTA_APPS" in r.json["error"] and "2 apps" in r.json["error"]
        assert counts() == (1, 1, 1)
        r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "two"}, headers=h)
        assert r.status == 201, r.raw
        r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "three"}, headers=h)
        assert r.status == 422 and "projects" in r.json["error"], r.raw
        assert counts() == (2, 2, 1)
        # MCP too.
        r = call(d, "POST", "/api/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "create_app", "arguments": {"name": "x", "repo": "two"}}}, headers=h)
        res = r.json["result"]
        assert res["isError"] and "quota exceeded" in res["content"][0]["text"], r.raw
        assert counts() == (2, 2, 1)
        # A workspace's own limit (what its manifest's spec.quotas sets) wins.
        conn.execute("UPDATE vibn_workspaces SET quota_projects = 3, quota_apps = 5")
        r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "three", "app": {}}, headers=h)
        assert r.status == 201, r.raw
        r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "four"}, headers=h)
        assert r.status == 422 and "spec.quotas.projects" in r.json["error"], r.raw
        assert counts() == (3, 3, 2)


def test_events_route_pages_newest_first(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        wid = add_ws(conn, "acme")
        for i in range(5):
            conn.execute("SELECT vibn_event_record(%s, 'Normal', 'Created', 'repo', %s, 'created',"
                         " 'r1', '10 minutes', 100, '7 days')", (wid, "vibn-acme/r%d" % i))
        conn.execute("SELECT vibn_event_record(%s, 'Warning', 'Unauthorized', 'org', 'vibn-acme',"
                     " 'reading the org: 401', 'r2', '10 minutes', 100, '7 days')", (wid,))
        conn.execute("SELECT vibn_event_record(%s, 'Warning', 'Unauthorized', 'org', 'vibn-acme',"
                     " 'reading the org: 401', 'r3', '10 minutes', 100, '7 days')", (wid,))
    h = bearer(mint(db_url, "acme"))
    r = call(d, "GET", "/api/workspaces/acme/events?limit=2", headers=h)
    assert r.status == 200, r.raw
    page = r.json
    assert page["workspace"] == "acme" and len(page["events"]) == 2
    top = page["events"][0]
    assert top["type"] == "Warning" and top["reason"] == "Unauthorized" and top["count"] == 2
    assert top["object"] == {"kind": "org", "name": "vibn-acme"} and top["reconcileId"] == "r3"
    assert top["firstTimestamp"] <= top["lastTimestamp"] and top["lastTimestamp"].endswith("Z")
    assert page["events"][1]["object"]["name"] == "vibn-acme/r4"
    rest = call(d, "GET", "/api/workspaces/acme/events?after=%d" % page["next"], headers=h).json
    assert [e["object"]["name"] for e in rest["events"]] == ["vibn-acme/r%d" % i for i in (3, 2, 1, 0)]
    assert rest["next"] is None
    for bad in ("?after=x", "?after=-1", "?limit=5000"):
        assert call(d, "GET", "/api/workspaces/acme/events" + bad, headers=h).status == 400
    # MCP workspace_events: the same trail.
    r = call(d, "POST", "/api/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "workspace_events", "arguments": {"limit": 1}}}, headers=h)
    sc = r.json["result"]["structuredContent"]
    assert [e["reason"] for e in sc["events"]] == ["Unauthorized"] and sc["next"] == top["seq"]


def test_mcp_project_tools(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_ws(conn, "acme")
    h = bearer(mint(db_url, "acme"))

    def tool(name, args):
        r = call(d, "POST", "/api/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": name, "arguments": args}}, headers=h)
        assert r.status == 200, r.raw
        return r.json["result"]
    listed = call(d, "POST", "/api/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                  headers=h).json["result"]["tools"]
    names = [t["name"] for t in listed]
    assert {"list_projects", "create_project", "workspace_events"} <= set(names)
    res = tool("create_project", {"name": "shop", "app": {"ports": "8080"}})
    assert not res["isError"], res
    p = res["structuredContent"]["project"]
    assert p["app"]["name"] == "acme-shop" and p["app"]["ports"] == "8080"
    assert p["status"]["ready"] is False
    res = tool("create_project", {"name": "shop"})
    assert res["isError"] and "already exists" in res["content"][0]["text"]
    res = tool("create_project", {"name": "x", "app": {"ports": "nope"}})
    assert res["isError"] and "app.ports" in res["content"][0]["text"]
    res = tool("list_projects", {})
    assert [x["name"] for x in res["structuredContent"]["projects"]] == ["shop"]
    with connect(db_url) as conn:
        assert conn.execute("SELECT managed_by, project_id IS NOT NULL FROM vibn_workspace_apps"
                            ).fetchone() == ("api", True)


def test_reapplying_the_manifest_keeps_what_agents_made(db_url, sim, daemons, tmp_path):
    """The data-loss bug of issue 15: an agent makes a repo and an app (MCP) and a project
    (REST) in a manifest workspace; ops re-apply the unchanged manifest, with and without
    --prune: nothing the agent made leaves desired state or Coolify."""
    manifest = tmp_path / "acme.yaml"
    manifest.write_text("apiVersion: vibn/v1\nkind: Workspace\nmetadata:\n  name: acme\n"
                        "spec:\n  owner: alice\n  repos: [{name: web}]\n"
                        "  apps: [{name: web, repo: web}]\n")
    d = start(daemons, db_url, sim)
    r = ctl("apply", "-f", str(manifest), db_url=db_url)
    assert r.returncode == 0, r.stderr
    h = bearer(mint(db_url, "acme"))

    def tool(name, args):
        r = call(d, "POST", "/api/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": name, "arguments": args}}, headers=h)
        assert r.status == 200 and not r.json["result"]["isError"], r.raw
    tool("create_repo", {"name": "agent"})
    tool("create_app", {"name": "agent", "repo": "agent"})
    r = call(d, "POST", "/api/workspaces/acme/projects", {"name": "shop", "app": {}}, headers=h)
    assert r.status == 201, r.raw
    want_apps = {"acme-web", "acme-agent", "acme-shop"}
    wait_for(lambda: want_apps <= set(sim_apps(sim)), timeout=30, what="every app upstream")
    with connect(db_url) as conn:
        before = conn.execute("SELECT name, managed_by FROM vibn_workspace_apps ORDER BY name"
                              ).fetchall()
        assert before == [("agent", "api"), ("shop", "api"), ("web", "manifest")]
        for extra in ([], ["--prune", "--all"]):
            r = ctl("apply", "-f", str(manifest), *extra, db_url=db_url)
            assert r.returncode == 0 and r.stdout.strip() == "workspace/acme unchanged", r.stdout
        assert ctl("reconcile", "acme", "--wait", db_url=db_url).returncode == 0
        assert conn.execute("SELECT name, managed_by FROM vibn_workspace_apps ORDER BY name"
                            ).fetchall() == before
        assert conn.execute("SELECT count(*) FROM vibn_workspace_repos").fetchone()[0] == 3
    assert want_apps <= set(sim_apps(sim))
    assert sim_repos(sim, "vibn-acme") == ["agent", "shop", "web"]
