"""The MCP server and the connect files end to end: vibn-sim plus vibnd running the workspace
reconciler. The MCP handshake over HTTP; create_repo through MCP ends as a repo in the
simulated Gitea; a key of workspace a cannot touch b (MCP or connect); the connect files'
smoke-test curl line works as printed against the daemon."""
import json
import re
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import binary, ctl, wait_for
from vibnd_proc import Daemon, connect, free_port

READY = re.compile(r"^vibn-sim ready gitea=(\S+) coolify=(\S+)$")
PROTO = "2025-11-25"


class Sim:
    def __init__(self):
        self.proc = subprocess.Popen([binary("vibn-sim"), "--seed", "3"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        m = READY.match(self.proc.stdout.readline().strip())
        if not m:
            self.stop()
            raise AssertionError("vibn-sim did not start")
        self.gitea, self.coolify = m.groups()

    def state(self):
        with urllib.request.urlopen(self.gitea + "/_sim/state", timeout=5) as r:
            return json.loads(r.read())

    def repos(self, org):
        for o in self.state()["gitea"]["orgs"]:
            if o["name"] == org:
                return sorted(r["name"] for r in o["repos"])
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()


def request(method, url, body=None, headers=None):
    """(status, headers, text); never raises on an HTTP status."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


@pytest.fixture
def env(db_url):
    sim = Sim()
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    conn = connect(db_url)
    ids = {}
    for slug in ("a", "b"):
        ids[slug] = conn.execute("INSERT INTO vibn_workspaces (slug, owner, source) "
                                 "VALUES (%s, 'u', 'api') RETURNING id", (slug,)).fetchone()[0]
    keys = {}
    for slug in ("a", "b"):
        r = ctl("keys", "mint", "--workspace", slug, "--name", "agent", db_url=db_url)
        assert r.returncode == 0, r.stderr
        keys[slug] = r.stdout.strip()
    d = Daemon(db_url, wait_ready=False, env={
        "VIBN_RECONCILER": "workspace", "VIBN_LISTEN": "127.0.0.1:%d" % port,
        "VIBN_PUBLIC_URL": url, "VIBN_WORKERS": "2",
        "GITEA_API_URL": sim.gitea + "/api/v1", "GITEA_API_TOKEN": "gitea-token",
        "GITEA_ADMIN_USER": "vibn-admin", "COOLIFY_URL": sim.coolify,
        "COOLIFY_API_TOKEN": "coolify-token", "COOLIFY_SERVER_UUID": "vibnsimlocalhostserver01",
        "VIBN_COOLIFY_DEPLOY_KEY_UUID": "vibnsimdeploykey00000001",
        "ADMIN_MIGRATE_SECRET": "admin-secret"})
    d.port, d.url = port, url
    try:
        d.wait_ready()
        yield {"sim": sim, "d": d, "db": conn, "keys": keys, "ids": ids}
    finally:
        d.stop()
        d.close()
        sim.stop()
        conn.close()


def mcp(d, key, msg, version=PROTO, extra=None):
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if key:
        h["Authorization"] = "Bearer " + key
    if version:
        h["MCP-Protocol-Version"] = version
    h.update(extra or {})
    status, headers, text = request("POST", d.url + "/api/mcp", json.dumps(msg), h)
    return status, headers, (json.loads(text) if text else None)


def tool(d, key, name, args):
    status, _, doc = mcp(d, key, {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                                  "params": {"name": name, "arguments": args}})
    assert status == 200, doc
    return doc["result"]


def test_handshake_and_tools_over_http(env):
    d, key = env["d"], env["keys"]["a"]
    status, headers, doc = mcp(d, key, {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": PROTO, "capabilities": {},
                   "clientInfo": {"name": "pytest", "version": "1"}}}, version=None)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert doc["id"] == 1 and doc["result"]["protocolVersion"] == PROTO
    assert "tools" in doc["result"]["capabilities"]
    status, headers, doc = mcp(d, key, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert status == 202 and doc is None
    # An empty answer claims no type (libevent would call it text/html by default).
    assert "text/html" not in headers.get("Content-Type", "")
    status, _, doc = mcp(d, key, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert status == 200
    assert [t["name"] for t in doc["result"]["tools"]] == [
        "workspace_status", "list_repos", "create_repo", "list_apps", "create_app",
        "reconcile_now", "list_projects", "create_project", "workspace_events"]
    # Transport rules: credentials, other browser origins, no GET stream, bad JSON.
    status, headers, _ = mcp(d, None, {"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = mcp(d, "vibn_sk_" + "x" * 43, {"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert status == 401
    status, _, _ = mcp(d, key, {"jsonrpc": "2.0", "id": 3, "method": "ping"},
                       extra={"Origin": "https://evil.example"})
    assert status == 403
    assert request("GET", d.url + "/api/mcp")[0] == 405
    status, _, text = request("POST", d.url + "/api/mcp", "{nope",
                              {"Authorization": "Bearer " + key,
                               "Content-Type": "application/json"})
    assert status == 400 and json.loads(text)["error"]["code"] == -32700


def test_create_repo_reaches_gitea(env):
    d, sim, key = env["d"], env["sim"], env["keys"]["a"]
    wait_for(lambda: sim.repos("vibn-a") is not None, timeout=20, what="org vibn-a")
    res = tool(d, key, "create_repo", {"name": "web", "description": "site"})
    assert res["isError"] is False and res["structuredContent"]["repo"]["name"] == "web"
    wait_for(lambda: sim.repos("vibn-a") == ["web"], timeout=20, what="repo web in vibn-a")

    def recorded():
        repos = tool(d, key, "list_repos", {})["structuredContent"]["repos"]
        return repos[0]["giteaRepoId"] is not None
    wait_for(recorded, timeout=20, what="giteaRepoId recorded")
    st = tool(d, key, "workspace_status", {})["structuredContent"]
    assert st["giteaOrg"] == "vibn-a" and st["workspace"] == "a"


def test_key_a_cannot_touch_b(env):
    d, sim, db = env["d"], env["sim"], env["db"]
    key_a = env["keys"]["a"]
    wait_for(lambda: sim.repos("vibn-b") is not None, timeout=20, what="org vibn-b")
    for name, args in (("workspace_status", {}), ("list_repos", {}),
                       ("create_repo", {"name": "evil"}), ("list_apps", {}),
                       ("create_app", {"name": "evil", "repo": "evil"}), ("reconcile_now", {})):
        res = tool(d, key_a, name, dict(args, workspace="b"))
        assert res["isError"] is True, name
        assert res["content"][0]["text"] == 'workspace "b" not found'
    assert db.execute("SELECT count(*) FROM vibn_workspace_repos WHERE workspace_id = %s",
                      (env["ids"]["b"],)).fetchone()[0] == 0
    assert sim.repos("vibn-b") == []
    # The connect route: b's files are 404 for a's key, exactly like a missing workspace.
    h = {"Authorization": "Bearer " + key_a}
    other = request("GET", d.url + "/api/workspaces/b/connect", headers=h)
    missing = request("GET", d.url + "/api/workspaces/zz/connect", headers=h)
    assert other[0] == missing[0] == 404 and other[2] == missing[2]


def test_connect_files_and_smoke_line(env, tmp_path):
    d, key = env["d"], env["keys"]["a"]
    assert request("GET", d.url + "/api/workspaces/a/connect")[0] == 401
    status, headers, text = request("GET", d.url + "/api/workspaces/a/connect",
                                    headers={"Authorization": "Bearer " + key})
    assert status == 200 and headers.get("Cache-Control") == "no-store"
    doc = json.loads(text)
    files = {f["path"]: f["content"] for f in doc["files"]}
    assert set(files) == {".cursor/rules/vibn-workspace.mdc", ".cursor/mcp.json", ".mcp.json",
                          ".env.local"}
    assert [f["path"] for f in doc["files"] if f["secret"]] == [".env.local"]
    server = json.loads(files[".cursor/mcp.json"])["mcpServers"]["vibn-a"]
    assert server["url"] == d.url + "/api/mcp"
    assert server["headers"]["Authorization"] == "Bearer ${env:VIBN_API_KEY}"
    claude = json.loads(files[".mcp.json"])["mcpServers"]["vibn-a"]
    assert claude["type"] == "http" and claude["url"] == d.url + "/api/mcp"
    assert doc["claude"].startswith("claude mcp add --transport http vibn-a ")
    assert "VIBN_API_KEY=%s\n" % key in files[".env.local"]
    for path, content in files.items():
        assert (key in content) == (path == ".env.local"), path
    # The admin secret never goes into files.
    assert request("GET", d.url + "/api/workspaces/a/connect",
                   headers={"Authorization": "Bearer admin-secret"})[0] == 400
    (line,) = [l[2:] for l in files[".env.local"].splitlines() if l.startswith("# curl ")]
    r = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["result"]["isError"] is False
    assert out["result"]["structuredContent"]["workspace"] == "a"
