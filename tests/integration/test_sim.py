"""vibn-sim against the behaviour of the real Gitea and Coolify (../shared/reference/*.md):
every served route's happy path and error codes, pagination, fault knobs and rules, drift,
counters, signed webhook delivery, --help, and the conformance of its route table with the
upstream specs. Each module-level simulator runs on ephemeral ports and is always stopped."""
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

from simproc import Sim
from conftest import binary, wait_for

GTOKEN = "gitea-token"
CTOKEN = "coolify-token"
ROOT = os.environ.get("VIBN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))


class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def header(self, name):
        return self.headers.get(name.lower())


def call(base, method, path, body=None, token=None, scheme=None, headers=None, timeout=10,
         raw_body=None, content_type="application/json"):
    """One HTTP request on a fresh connection; redirects are never followed."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    h = {"Accept": "application/json"}
    if token is not None:
        h["Authorization"] = "%s %s" % (scheme or "token", token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
    if raw_body is not None:
        data = raw_body
    if data is not None and content_type:
        h["Content-Type"] = content_type
    h.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
    finally:
        conn.close()


def g(sim, method, path, body=None, **kw):
    kw.setdefault("token", GTOKEN)
    return call(sim.gitea, method, "/api/v1" + path, body, **kw)


def c(sim, method, path, body=None, **kw):
    kw.setdefault("token", CTOKEN)
    kw.setdefault("scheme", "Bearer")
    return call(sim.coolify, method, "/api/v1" + path, body, **kw)


def ctl(sim, method, path, body=None, port="gitea"):
    r = call(getattr(sim, port), method, "/_sim/" + path, body)
    assert r.status < 300, (path, r.status, r.raw)
    return r.json


def new_org(sim, name, owner="vibn-admin", **fields):
    r = g(sim, "POST", "/admin/users/%s/orgs" % owner, dict(username=name, **fields))
    assert r.status == 201, r.raw
    return r.json


def new_project(sim, name="vibn-ws-x"):
    r = c(sim, "POST", "/projects", {"name": name})
    assert r.status == 201, r.raw
    return r.json["uuid"]


def new_app(sim, project, **extra):
    body = {"project_uuid": project, "server_uuid": "vibnsimlocalhostserver01", "environment_name": "production",
            "git_repository": "https://github.com/acme/web.git", "git_branch": "main",
            "build_pack": "nixpacks", "ports_exposes": "3000"}
    body.update(extra)
    r = c(sim, "POST", "/applications/public", body)
    assert r.status == 201, r.raw
    return r.json["uuid"]


@pytest.fixture(scope="module")
def sim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def fresh(request):
    if "sim" in request.fixturenames:
        ctl(request.getfixturevalue("sim"), "POST", "reset")


# ---------------------------------------------------------------------------------------
# Gitea


def test_gitea_version_and_auth(sim):
    r = g(sim, "GET", "/version", token=None)
    assert r.status == 200 and r.json == {"version": "1.26.4"}
    new_org(sim, "acme")
    r = g(sim, "GET", "/orgs/acme", token=None)
    assert r.status == 401 and r.json["message"] == "token is required"
    assert r.json["url"].endswith("/api/swagger")
    r = g(sim, "GET", "/orgs/acme", token="wrong")
    assert r.status == 401 and "invalid" in r.json["message"]
    assert g(sim, "GET", "/orgs/acme", scheme="Bearer").status == 200
    assert g(sim, "GET", "/orgs/acme", scheme="TOKEN").status == 200
    # the Coolify token is not a Gitea token
    assert g(sim, "GET", "/orgs/acme", token=CTOKEN).status == 401


def test_org_create_owners_team_and_namespace(sim):
    ctl(sim, "POST", "users", {"username": "bob", "email": "bob@example.com"})
    org = new_org(sim, "Acme", owner="bob", full_name="Acme Inc", description="d",
                  visibility="private")
    assert org["name"] == "Acme" and org["username"] == "Acme"
    assert org["full_name"] == "Acme Inc" and org["visibility"] == "private"
    # names are case-insensitive
    assert g(sim, "GET", "/orgs/acme").json["id"] == org["id"]
    teams = g(sim, "GET", "/orgs/acme/teams").json
    assert [t["name"] for t in teams] == ["Owners"]
    assert teams[0]["permission"] == "owner" and teams[0]["includes_all_repositories"]
    members = g(sim, "GET", "/teams/%d/members" % teams[0]["id"]).json
    assert [m["login"] for m in members] == ["bob"]  # the creator only, not the token's user
    # a duplicate org, any case, or a user's name: 422 "user already exists" (no 409)
    for name in ("acme", "ACME", "bob", "vibn-admin"):
        r = g(sim, "POST", "/admin/users/vibn-admin/orgs", {"username": name})
        assert r.status == 422, name
        assert r.json["message"].startswith("user already exists"), r.json
        assert set(r.json) == {"message", "url"}
    # POST /orgs creates as the token's user
    r = g(sim, "POST", "/orgs", {"username": "other"})
    assert r.status == 201
    owners = g(sim, "GET", "/orgs/other/teams").json[0]
    assert [m["login"] for m in g(sim, "GET", "/teams/%d/members" % owners["id"]).json] == ["vibn-admin"]


@pytest.mark.parametrize("name", ["-bad", "bad-", "a--b", "a._b", "a b", "ä", "x" * 41, "api",
                                  "Login", "thing.keys", "pic.png", "openapi3.v1.json", ""])
def test_org_name_rules(sim, name):
    r = g(sim, "POST", "/admin/users/vibn-admin/orgs", {"username": name})
    assert r.status == 422, (name, r.raw)
    assert r.json["message"]


def test_org_create_errors(sim):
    assert g(sim, "POST", "/admin/users/nobody/orgs", {"username": "x"}).status == 404
    assert g(sim, "POST", "/admin/users/vibn-admin/orgs", {"username": "ok-name.1_x"}).status == 201
    r = g(sim, "POST", "/admin/users/vibn-admin/orgs", {"username": "v", "visibility": "secret"})
    assert r.status == 422
    r = g(sim, "POST", "/admin/users/vibn-admin/orgs", raw_body=b"{not json")
    assert r.status == 422
    r = g(sim, "GET", "/orgs/missing")
    assert r.status == 404 and r.json["url"].endswith("/api/swagger") and r.json["message"]


def test_org_edit_and_delete(sim):
    new_org(sim, "acme")
    r = g(sim, "PATCH", "/orgs/acme", {"full_name": "Acme", "description": "hello",
                                        "visibility": "limited", "website": "https://a.example"})
    assert r.status == 200
    assert (r.json["full_name"], r.json["description"], r.json["visibility"]) == ("Acme", "hello", "limited")
    assert g(sim, "GET", "/orgs/acme").json["description"] == "hello"
    assert g(sim, "PATCH", "/orgs/acme", {"visibility": "nope"}).status == 422
    assert g(sim, "PATCH", "/orgs/missing", {"description": "x"}).status == 404
    assert g(sim, "POST", "/orgs/acme/repos", {"name": "web"}).status == 201
    r = g(sim, "DELETE", "/orgs/acme")
    assert r.status == 500 and "ownership of repositories" in r.json["message"]
    assert g(sim, "DELETE", "/repos/acme/web").status == 204
    assert g(sim, "DELETE", "/orgs/acme").status == 204
    assert g(sim, "GET", "/orgs/acme").status == 404
    assert g(sim, "DELETE", "/orgs/acme").status == 404
    # the name is free again
    new_org(sim, "ACME")


def walk(sim, path, limit=50):
    """Follows the pages like the clients: returns (all items, [responses])."""
    items, pages, page = [], [], 1
    while True:
        r = g(sim, "GET", "%s?limit=%d&page=%d" % (path, limit, page))
        assert r.status == 200
        pages.append(r)
        items += r.json
        if len(r.json) < limit or len(items) >= int(r.header("X-Total-Count")):
            return items, pages
        page += 1


def links(r):
    out = {}
    for part in (r.header("Link") or "").split(","):
        if part:
            m = re.match(r'^<([^>]+)>; rel="(\w+)"$', part)
            assert m, part
            out[m.group(2)] = m.group(1)
    return out


@pytest.mark.parametrize("n", [0, 49, 50, 51, 120])
def test_org_pagination(sim, n):
    names = ["org-%03d" % i for i in range(n)]
    for name in reversed(names):
        new_org(sim, name)
    items, pages = walk(sim, "/admin/orgs")
    assert [o["name"] for o in items] == names  # alphabetical
    assert all(p.header("X-Total-Count") == str(n) for p in pages)
    assert [len(p.json) for p in pages] == [min(50, n - 50 * i) for i in range(len(pages))] or n == 0
    base = sim.gitea + "/api/v1/admin/orgs"
    first = links(pages[0])
    if n <= 50:
        assert first == {}
    else:
        last = (n + 49) // 50
        assert first == {"next": base + "?limit=50&page=2", "last": base + "?limit=50&page=%d" % last}
        assert pages[0].header("Link") == '<%s?limit=50&page=2>; rel="next",<%s?limit=50&page=%d>; rel="last"' % (base, base, last)
        final = links(pages[-1])
        assert final == {"first": base + "?limit=50&page=1", "prev": base + "?limit=50&page=%d" % (last - 1)}
    # limit is clamped to 50, and defaults to 30
    r = g(sim, "GET", "/admin/orgs?limit=100")
    assert len(r.json) == min(n, 50) and r.header("X-Total-Count") == str(n)
    if n > 50:
        assert links(r)["next"] == base + "?limit=100&page=2"
    r = g(sim, "GET", "/orgs")
    assert len(r.json) == min(n, 30)
    # past the end: empty page, same total
    r = g(sim, "GET", "/admin/orgs?limit=50&page=9")
    assert r.json == [] and r.header("X-Total-Count") == str(n)


@pytest.mark.parametrize("n", [0, 49, 50, 51, 120])
def test_repo_pagination(sim, n):
    new_org(sim, "acme")
    for i in range(n):
        assert g(sim, "POST", "/orgs/acme/repos", {"name": "r%03d" % i}).status == 201
    items, pages = walk(sim, "/orgs/acme/repos")
    assert [r["name"] for r in items] == ["r%03d" % i for i in range(n)]
    assert pages[0].header("X-Total-Count") == str(n)
    assert len(g(sim, "GET", "/orgs/acme/repos?limit=500").json) == min(n, 50)


def test_teams_and_members(sim):
    ctl(sim, "POST", "users", {"username": "bob", "email": "bob@example.com"})
    ctl(sim, "POST", "users", {"username": "carol", "email": "carol@example.com"})
    new_org(sim, "acme")
    owners = g(sim, "GET", "/orgs/acme/teams").json[0]
    tid = owners["id"]
    # below admin a team needs units (routers/api/v1/org/team.go CreateTeam)
    r = g(sim, "POST", "/orgs/acme/teams", {"name": "devs", "permission": "write"})
    assert r.status == 500 and r.json["message"] == "units permission should not be empty"
    assert g(sim, "POST", "/orgs/acme/teams", {"name": "devs", "units_map": {}}).status == 500
    r = g(sim, "POST", "/orgs/acme/teams", {"name": "devs", "permission": "write",
                                            "description": "d", "units_map": {"repo.code": "write"}})
    assert r.status == 201 and r.json["name"] == "devs" and r.json["permission"] == "write"
    devs = r.json["id"]
    assert g(sim, "POST", "/orgs/acme/teams", {"name": "ops", "units": ["repo.code"]}).status == 201
    assert g(sim, "POST", "/orgs/acme/teams", {"name": "leads", "permission": "admin"}).status == 201
    r = g(sim, "POST", "/orgs/acme/teams", {"name": "DEVS", "units": ["repo.code"]})
    assert r.status == 422 and r.json["message"].startswith("team already exists")
    assert g(sim, "POST", "/orgs/acme/teams", {"name": "bad name"}).status == 422
    assert g(sim, "POST", "/orgs/acme/teams", {"name": "x", "permission": "owner"}).status == 422
    assert g(sim, "POST", "/orgs/missing/teams", {"name": "x"}).status == 404
    t = g(sim, "GET", "/teams/%d" % devs)
    assert t.status == 200 and t.json["organization"] is None
    assert g(sim, "GET", "/teams/999").status == 404
    # PUT is idempotent; unknown users are 404
    assert g(sim, "PUT", "/teams/%d/members/bob" % tid).status == 204
    assert g(sim, "PUT", "/teams/%d/members/bob" % tid).status == 204
    assert g(sim, "PUT", "/teams/%d/members/ghost" % tid).status == 404
    assert g(sim, "PUT", "/teams/999/members/bob").status == 404
    assert g(sim, "PUT", "/teams/%d/members/carol" % devs).status == 204
    r = g(sim, "GET", "/teams/%d/members" % tid)
    assert [m["login"] for m in r.json] == ["bob", "vibn-admin"] and r.header("X-Total-Count") == "2"
    assert g(sim, "GET", "/teams/%d/members/bob" % tid).status == 200
    assert g(sim, "GET", "/teams/%d/members/carol" % tid).status == 404
    r = g(sim, "GET", "/orgs/acme/members")
    assert [m["login"] for m in r.json] == ["bob", "carol", "vibn-admin"]
    assert r.header("X-Total-Count") == "3"
    assert g(sim, "GET", "/orgs/acme/members/carol").status == 204
    assert g(sim, "GET", "/orgs/acme/members/ghost").status == 404
    # DELETE is idempotent too
    assert g(sim, "DELETE", "/teams/%d/members/vibn-admin" % tid).status == 204
    assert g(sim, "DELETE", "/teams/%d/members/vibn-admin" % tid).status == 204
    # the last owner cannot go: 500, through the team or the org
    r = g(sim, "DELETE", "/teams/%d/members/bob" % tid)
    assert r.status == 500 and "last member of owner team" in r.json["message"]
    assert g(sim, "DELETE", "/orgs/acme/members/bob").status == 500
    # removing from the org removes from every team
    assert g(sim, "PUT", "/teams/%d/members/carol" % tid).status == 204
    assert g(sim, "DELETE", "/orgs/acme/members/carol").status == 204
    assert [m["login"] for m in g(sim, "GET", "/orgs/acme/members").json] == ["bob"]
    assert g(sim, "GET", "/teams/%d/members" % devs).json == []
    assert g(sim, "DELETE", "/orgs/acme/members/carol").status == 204
    assert g(sim, "DELETE", "/orgs/acme/members/ghost").status == 404
    assert g(sim, "GET", "/orgs/missing/members").status == 404


def test_repos(sim):
    new_org(sim, "acme")
    r = g(sim, "POST", "/orgs/acme/repos", {"name": "web", "private": True, "description": "site"})
    assert r.status == 201
    repo = r.json
    assert repo["full_name"] == "acme/web" and repo["private"] is True
    assert repo["clone_url"] == "https://git.vibn-sim.test/acme/web.git"  # from ROOT_URL
    assert repo["ssh_url"] == "git@git.vibn-sim.test:acme/web.git"
    assert repo["html_url"] == "https://git.vibn-sim.test/acme/web" and repo["empty"] is True
    assert repo["owner"]["login"] == "acme" and repo["default_branch"] == "main"
    r = g(sim, "POST", "/orgs/acme/repos", {"name": "WEB"})
    assert r.status == 409 and r.json["message"] == "The repository with the same name already exists."
    for bad in ("", "a b", "x.git", "y.wiki", "..", "-"):
        assert g(sim, "POST", "/orgs/acme/repos", {"name": bad}).status == 422, bad
    assert g(sim, "POST", "/orgs/missing/repos", {"name": "x"}).status == 404
    assert g(sim, "GET", "/repos/acme/Web").json["id"] == repo["id"]
    r = g(sim, "PATCH", "/repos/acme/web", {"private": False, "description": "new"})
    assert r.status == 200 and r.json["private"] is False and r.json["description"] == "new"
    assert g(sim, "POST", "/orgs/acme/repos", {"name": "api"}).status == 201
    assert g(sim, "PATCH", "/repos/acme/web", {"name": "api"}).status == 422  # rename clash: 422
    r = g(sim, "GET", "/orgs/acme/repos")
    assert [x["name"] for x in r.json] == ["web", "api"] and r.header("X-Total-Count") == "2"
    assert g(sim, "DELETE", "/repos/acme/web").status == 204
    assert g(sim, "GET", "/repos/acme/web").status == 404
    assert g(sim, "DELETE", "/repos/acme/web").status == 404


def test_clone_urls_follow_root_url_and_ssh_port(sim):
    new_org(sim, "acme")
    assert g(sim, "POST", "/orgs/acme/repos", {"name": "web"}).status == 201
    # ComposeHTTPSCloneURL / ComposeSSHCloneURL (models/repo/repo.go): a port other than 22
    # needs the full ssh:// form
    ctl(sim, "POST", "config", {"gitea_root_url": "http://10.0.0.5:3000", "gitea_ssh_port": 2222})
    r = g(sim, "GET", "/repos/acme/web").json
    assert r["clone_url"] == "http://10.0.0.5:3000/acme/web.git"
    assert r["ssh_url"] == "ssh://git@10.0.0.5:2222/acme/web.git"
    ctl(sim, "POST", "config", {"gitea_root_url": "https://gitea.internal/git/", "gitea_ssh_port": 22})
    r = g(sim, "GET", "/repos/acme/web").json
    assert r["clone_url"] == "https://gitea.internal/git/acme/web.git"
    assert r["ssh_url"] == "git@gitea.internal:acme/web.git"
    assert call(sim.gitea, "POST", "/_sim/config", {"gitea_root_url": "ftp://x"}).status == 400
    assert call(sim.gitea, "POST", "/_sim/config", {"gitea_ssh_port": 0}).status == 400
    assert call(sim.gitea, "POST", "/_sim/config", {"nope": 1}).status == 400
    ctl(sim, "POST", "reset")
    assert ctl(sim, "GET", "config")["gitea_root_url"] == "https://git.vibn-sim.test/"


def test_repo_branches_and_default_branch(sim):
    new_org(sim, "acme")
    r = g(sim, "POST", "/orgs/acme/repos", {"name": "web", "default_branch": "trunk"})
    assert r.json["empty"] is True and r.json["default_branch"] == "trunk"
    assert g(sim, "GET", "/repos/acme/web/branches/trunk").status == 404
    # an empty repo takes any name
    r = g(sim, "PATCH", "/repos/acme/web", {"default_branch": "dev"})
    assert r.status == 200 and r.json["default_branch"] == "dev"
    # the first push makes its branch the default (services/repository/push.go pushNewBranch)
    ctl(sim, "POST", "drift", {"action": "push", "org": "acme", "repo": "web", "branch": "main"})
    r = g(sim, "GET", "/repos/acme/web").json
    assert r["empty"] is False and r["default_branch"] == "main"
    b = g(sim, "GET", "/repos/acme/web/branches/main")
    assert b.status == 200 and b.json["name"] == "main" and len(b.json["commit"]["id"]) == 40
    # a branch that does not exist is ignored, with 200 (repo.go updateBasicProperties)
    r = g(sim, "PATCH", "/repos/acme/web", {"default_branch": "trunk"})
    assert r.status == 200 and r.json["default_branch"] == "main"
    ctl(sim, "POST", "drift", {"action": "push", "org": "acme", "repo": "web", "branch": "trunk"})
    r = g(sim, "PATCH", "/repos/acme/web", {"default_branch": "trunk"})
    assert r.json["default_branch"] == "trunk"
    st = ctl(sim, "GET", "state")["gitea"]["orgs"][0]["repos"][0]
    assert st["branches"] == ["main", "trunk"] and st["default_branch"] == "trunk"
    # auto_init commits to the default branch
    r = g(sim, "POST", "/orgs/acme/repos", {"name": "api", "auto_init": True, "default_branch": "dev"})
    assert r.json["empty"] is False and g(sim, "GET", "/repos/acme/api/branches/dev").status == 200
    assert g(sim, "GET", "/repos/acme/missing/branches/main").status == 404
    assert g(sim, "GET", "/repos/nobody/web").status == 404
    assert g(sim, "GET", "/orgs/missing/repos").status == 404


def test_hooks(sim):
    new_org(sim, "acme")
    body = {"type": "gitea", "active": True, "events": ["repository"],
            "config": {"url": "http://127.0.0.1:9/hook", "content_type": "json", "secret": "s3"}}
    r = g(sim, "POST", "/orgs/acme/hooks", body)
    assert r.status == 201
    hook = r.json
    assert hook["config"] == {"url": "http://127.0.0.1:9/hook", "content_type": "json"}
    assert "s3" not in r.raw  # the secret is never returned
    assert hook["active"] is True and hook["events"] == ["repository"]
    # active defaults to false, events to push
    r = g(sim, "POST", "/orgs/acme/hooks", {"type": "gitea", "config": {"url": "http://x.example/", "content_type": "form"}})
    assert r.status == 201 and r.json["active"] is False and r.json["events"] == ["push"]
    for bad, msg in [({"type": "nope", "config": body["config"]}, "Invalid hook type"),
                     ({"type": "gitea", "config": {"content_type": "json"}}, "Missing config option: url"),
                     ({"type": "gitea", "config": {"url": "http://a/"}}, "Missing config option: content_type"),
                     ({"type": "gitea", "config": {"url": "ftp://a/", "content_type": "json"}}, "Invalid url"),
                     ({"type": "gitea", "config": {"url": "http://a/", "content_type": "xml"}}, "Invalid content type")]:
        r = g(sim, "POST", "/orgs/acme/hooks", bad)
        assert r.status == 422 and r.json["message"] == msg, (bad, r.raw)
    r = g(sim, "GET", "/orgs/acme/hooks")
    assert r.status == 200 and len(r.json) == 2
    # paginated, with a count but no Link (routers/api/v1/utils/hook.go ListOwnerHooks)
    assert r.header("X-Total-Count") == "2" and r.header("Link") is None
    r = g(sim, "GET", "/orgs/acme/hooks?limit=1&page=2")
    assert [h["id"] for h in r.json] != [hook["id"]] and len(r.json) == 1
    assert g(sim, "GET", "/orgs/acme/hooks/%d" % hook["id"]).json["id"] == hook["id"]
    r = g(sim, "PATCH", "/orgs/acme/hooks/%d" % hook["id"],
          {"active": False, "events": ["push", "repository"], "config": {"url": "http://127.0.0.1:10/h"}})
    assert r.status == 200 and r.json["active"] is False and r.json["config"]["url"] == "http://127.0.0.1:10/h"
    assert r.json["events"] == ["push", "repository"]
    assert g(sim, "PATCH", "/orgs/acme/hooks/%d" % hook["id"], {"config": {"content_type": "xml"}}).status == 422
    # an edit is the whole state: without events they are reset to push, and the branch
    # filter and authorization header are cleared (routers/api/v1/utils/hook.go editHook)
    r = g(sim, "PATCH", "/orgs/acme/hooks/%d" % hook["id"],
          {"events": ["repository"], "branch_filter": "main", "authorization_header": "Bearer x"})
    assert r.json["events"] == ["repository"] and r.json["branch_filter"] == "main"
    r = g(sim, "PATCH", "/orgs/acme/hooks/%d" % hook["id"], {"active": True})
    assert r.json["events"] == ["push"] and r.json["branch_filter"] == "" and r.json["active"] is True
    st = [h for o in ctl(sim, "GET", "state")["gitea"]["orgs"] for h in o["hooks"]]
    assert [h["authorization_header"] for h in st if h["id"] == hook["id"]] == [""]
    assert g(sim, "DELETE", "/orgs/acme/hooks/%d" % hook["id"]).status == 204
    assert g(sim, "GET", "/orgs/acme/hooks/%d" % hook["id"]).status == 404
    assert g(sim, "DELETE", "/orgs/acme/hooks/%d" % hook["id"]).status == 404
    assert g(sim, "GET", "/orgs/acme/hooks/abc").status == 404
    assert g(sim, "GET", "/orgs/missing/hooks").status == 404


def test_users_get(sim):
    r = g(sim, "GET", "/users/vibn-admin")
    assert r.status == 200 and r.json["login"] == "vibn-admin" and r.json["is_admin"] is True
    ctl(sim, "POST", "users", {"username": "bob", "email": "bob@example.com", "full_name": "Bob"})
    r = g(sim, "GET", "/users/BOB")
    assert r.json["login"] == "bob" and r.json["email"] == "bob@example.com" and r.json["username"] == "bob"
    new_org(sim, "acme")
    assert g(sim, "GET", "/users/acme").json["login"] == "acme"  # resolves org names too
    assert g(sim, "GET", "/users/ghost").status == 404
    # seeding checks the shared namespace as well
    r = call(sim.gitea, "POST", "/_sim/users", {"username": "Acme", "email": "a@example.com"})
    assert r.status == 422


def test_renames_redirect(sim):
    new_org(sim, "old")
    assert g(sim, "POST", "/orgs/old/repos", {"name": "web"}).status == 201
    ctl(sim, "POST", "drift", {"action": "rename_org", "org": "old", "new_name": "new"})
    r = g(sim, "GET", "/orgs/old?x=1")
    assert r.status == 307 and r.header("Location") == "/api/v1/orgs/new?x=1"
    assert g(sim, "GET", "/orgs/old/teams").header("Location") == "/api/v1/orgs/new/teams"
    assert g(sim, "GET", "/repos/old/web").status == 307
    assert g(sim, "GET", "/orgs/new").status == 200
    ctl(sim, "POST", "drift", {"action": "rename_repo", "org": "new", "repo": "web", "new_name": "site"})
    r = g(sim, "GET", "/repos/new/web")
    assert r.status == 301 and r.header("Location") == "/api/v1/repos/new/site"
    # creating the old names again replaces the redirects
    assert g(sim, "POST", "/orgs/new/repos", {"name": "web"}).status == 201
    assert g(sim, "GET", "/repos/new/web").status == 200
    new_org(sim, "old")
    assert g(sim, "GET", "/orgs/old").status == 200


class Receiver:
    """A tiny webhook receiver on 127.0.0.1: records (headers, raw body) of each POST."""

    def __init__(self):
        got = self.got = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                got.append(({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(n)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def finished_deliveries(sim, n):
    """The delivery list once it holds n finished deliveries, else None."""
    d = ctl(sim, "GET", "deliveries")
    return d if len(d) == n and all(x["status"] is not None for x in d) else None


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_webhook_delivery_signed(sim, receiver):
    new_org(sim, "acme")
    secret = "hook-secret"
    r = g(sim, "POST", "/orgs/acme/hooks", {"type": "gitea", "active": True, "events": ["repository"],
                                             "config": {"url": receiver.url, "content_type": "json", "secret": secret}})
    assert r.status == 201
    assert g(sim, "POST", "/orgs/acme/repos", {"name": "web"}).status == 201
    wait_for(lambda: len(receiver.got) == 1, what="the created delivery")
    headers, body = receiver.got[0]
    want = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-gitea-signature"] == want
    assert headers["x-hub-signature-256"] == "sha256=" + want
    assert headers["x-hub-signature"] == "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    assert headers["x-gitea-event"] == "repository" and headers["x-gitea-event-type"] == "repository"
    assert headers["x-github-event"] == "repository" and headers["content-type"] == "application/json"
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", headers["x-gitea-delivery"])
    payload = json.loads(body)
    assert payload["action"] == "created"
    assert payload["repository"]["full_name"] == "acme/web"
    assert payload["repository"]["owner"]["login"] == "acme"
    assert payload["organization"]["login"] == "acme" and payload["sender"]["login"] == "vibn-admin"
    # a drift delete fires too
    ctl(sim, "POST", "drift", {"action": "delete_repo", "org": "acme", "repo": "web"})
    wait_for(lambda: len(receiver.got) == 2, what="the deleted delivery")
    headers, body = receiver.got[1]
    assert json.loads(body)["action"] == "deleted"
    assert headers["x-gitea-signature"] == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    d = wait_for(lambda: finished_deliveries(sim, 2), what="both deliveries recorded")
    assert [(x["action"], x["status"], x["event"], x["hook_url"]) for x in d] == [
        ("created", 200, "repository", receiver.url), ("deleted", 200, "repository", receiver.url)]
    # inactive hooks and hooks without the repository event get nothing (deliveries are
    # registered synchronously, so an unchanged list proves no delivery was started)
    ctl(sim, "POST", "drift", {"action": "deactivate_hook", "org": "acme"})
    g(sim, "POST", "/orgs/acme/hooks", {"type": "gitea", "active": True, "events": ["push"],
                                        "config": {"url": receiver.url, "content_type": "json"}})
    ctl(sim, "POST", "drift", {"action": "create_repo", "org": "acme", "repo": "other"})
    assert len(ctl(sim, "GET", "deliveries")) == 2
    assert [h["active"] for h in g(sim, "GET", "/orgs/acme/hooks").json] == [False, True]


def test_webhook_without_secret_and_form(sim, receiver):
    new_org(sim, "acme")
    g(sim, "POST", "/orgs/acme/hooks", {"type": "gitea", "active": True, "events": ["repository"],
                                        "config": {"url": receiver.url, "content_type": "form"}})
    ctl(sim, "POST", "drift", {"action": "create_repo", "org": "acme", "repo": "web"})
    wait_for(lambda: receiver.got, what="a delivery")
    headers, body = receiver.got[0]
    assert headers["x-gitea-signature"] == "" and headers["x-hub-signature-256"] == "sha256="
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    form = urllib.parse.parse_qs(body.decode())
    assert json.loads(form["payload"][0])["repository"]["name"] == "web"


def test_webhook_timeout_and_refused():
    s = Sim("--webhook-timeout-ms", "300")
    silent = socket.socket()
    try:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        port = silent.getsockname()[1]
        new_org(s, "acme")
        for url in ("http://127.0.0.1:%d/h" % port, "http://127.0.0.1:1/refused"):
            g(s, "POST", "/orgs/acme/hooks", {"type": "gitea", "active": True, "events": ["repository"],
                                              "config": {"url": url, "content_type": "json", "secret": "x"}})
        assert g(s, "POST", "/orgs/acme/repos", {"name": "web"}).status == 201
        done = wait_for(lambda: finished_deliveries(s, 2), what="failed deliveries")
        assert len(done) == 2
        assert all(x["status"] == 0 and x["error"] for x in done)
        assert done[0]["error"] == "timeout"
    finally:
        silent.close()
        s.stop()


# ---------------------------------------------------------------------------------------
# Coolify


def test_coolify_auth_version_servers(sim):
    for tok, scheme in [(None, None), ("wrong", "Bearer"), (CTOKEN, "token"), (GTOKEN, "Bearer")]:
        r = call(sim.coolify, "GET", "/api/v1/projects", token=tok, scheme=scheme)
        assert r.status == 401 and r.json == {"message": "Unauthenticated."}, (tok, scheme)
    r = c(sim, "GET", "/version")
    assert r.status == 200 and r.raw == "4.3.11" and r.header("Content-Type").startswith("text/html")
    r = c(sim, "GET", "/servers")
    assert r.status == 200 and r.json[0]["uuid"] == "vibnsimlocalhostserver01" and r.json[0]["name"] == "localhost"
    r = c(sim, "GET", "/nothing/here")
    assert r.status == 404 and r.json["message"] == "Not found."


def test_projects(sim):
    a = new_project(sim, "vibn-ws-acme")
    b = new_project(sim, "vibn-ws-acme")  # duplicate names are accepted
    assert a != b and re.match(r"^[a-z0-9]{24}$", a)
    r = c(sim, "GET", "/projects")
    assert [(p["uuid"], p["name"]) for p in r.json] == [(a, "vibn-ws-acme"), (b, "vibn-ws-acme")]
    assert set(r.json[0]) == {"id", "uuid", "name", "description"}  # no environments in the list
    r = c(sim, "GET", "/projects/" + a)
    assert r.status == 200 and [e["name"] for e in r.json["environments"]] == ["production"]
    r = c(sim, "PATCH", "/projects/" + a, {"name": "vibn-ws-renamed", "description": "Desc, ok."})
    assert r.status == 201 and r.json == {"uuid": a, "name": "vibn-ws-renamed", "description": "Desc, ok."}
    assert c(sim, "GET", "/projects/" + a).json["name"] == "vibn-ws-renamed"
    r = c(sim, "GET", "/projects/nope")
    assert r.status == 404 and r.json == {"message": "Project not found."}
    assert c(sim, "PATCH", "/projects/nope", {"name": "abc"}).status == 404
    # validation: 422 {message, errors}
    r = c(sim, "POST", "/projects", {"name": "ab"})
    assert r.status == 422 and r.json["message"] == "Validation failed." and "name" in r.json["errors"]
    r = c(sim, "POST", "/projects", {"name": "okay", "team": 1})
    assert r.status == 422 and r.json["errors"] == {"team": ["This field is not allowed."]}
    r = c(sim, "POST", "/projects", {"name": "okay", "description": "owner: x"})
    assert r.status == 422 and "description" in r.json["errors"]
    assert c(sim, "POST", "/projects", {"description": "x"}).status == 422
    r = c(sim, "POST", "/projects", raw_body=b'{"name":"okay"}', content_type="text/plain")
    assert r.status == 400 and r.json["error"] == "Content-Type must be application/json."
    r = c(sim, "POST", "/projects", {})
    assert r.status == 400 and r.json["error"] == "Empty JSON."
    r = c(sim, "POST", "/projects", raw_body=b"{oops")
    assert r.status == 400 and r.json["error"] == "Invalid JSON."
    assert c(sim, "DELETE", "/projects/" + b).json == {"message": "Project deleted."}
    assert c(sim, "DELETE", "/projects/" + b).status == 404


def test_environments(sim):
    p = new_project(sim)
    r = c(sim, "POST", "/projects/%s/environments" % p, {"name": "staging"})
    assert r.status == 201
    env = r.json["uuid"]
    r = c(sim, "POST", "/projects/%s/environments" % p, {"name": "staging"})
    assert r.status == 409 and r.json["message"] == "Environment with this name already exists."
    assert c(sim, "POST", "/projects/nope/environments", {"name": "x1y"}).status == 404
    r = c(sim, "GET", "/projects/%s/environments" % p)
    assert [e["name"] for e in r.json] == ["production", "staging"]
    app = new_app(sim, p, environment_name="staging")
    by_name = c(sim, "GET", "/projects/%s/staging" % p)
    by_uuid = c(sim, "GET", "/projects/%s/%s" % (p, env))
    assert by_name.status == 200 and by_name.json["uuid"] == env == by_uuid.json["uuid"]
    assert [a["uuid"] for a in by_name.json["applications"]] == [app]
    assert c(sim, "GET", "/projects/%s/production" % p).json["applications"] == []
    r = c(sim, "GET", "/projects/%s/missing" % p)
    assert r.status == 404 and r.json["message"] == "Environment not found."
    # a person renames production (its apps go along) or deletes an empty environment: then
    # creates naming production get 404 until it exists again
    ctl(sim, "POST", "drift", {"action": "rename_environment", "project": p,
                               "environment": "production", "new_name": "prod-old"})
    assert c(sim, "GET", "/projects/%s/production" % p).status == 404
    r = c(sim, "POST", "/applications/public", {
        "project_uuid": p, "server_uuid": "vibnsimlocalhostserver01", "environment_name": "production",
        "git_repository": "https://github.com/acme/web.git", "git_branch": "main",
        "build_pack": "nixpacks", "ports_exposes": "3000"})
    assert r.status == 404 and r.json["message"] == "Environment not found."
    r = call(sim.gitea, "POST", "/_sim/drift", {"action": "delete_environment", "project": p,
                                                "environment": "staging"})
    assert r.status == 400  # it holds an app
    ctl(sim, "POST", "drift", {"action": "delete_environment", "project": p, "environment": "prod-old"})
    assert [e["name"] for e in c(sim, "GET", "/projects/%s/environments" % p).json] == ["staging"]


def test_applications(sim):
    p = new_project(sim)
    r = c(sim, "POST", "/applications/public", {
        "project_uuid": p, "server_uuid": "vibnsimlocalhostserver01", "environment_name": "production",
        "git_repository": "https://github.com/acme/web.git", "git_branch": "main",
        "build_pack": "nixpacks", "ports_exposes": "3000", "name": "web"})
    assert r.status == 201 and set(r.json) == {"uuid", "domains"}
    app = r.json["uuid"]
    a = c(sim, "GET", "/applications/" + app).json
    assert a["name"] == "web" and a["git_repository"] == "acme/web"  # github.com shortened
    assert "project_uuid" not in a and "server_uuid" not in a and a["environment_id"] > 0
    assert [x["uuid"] for x in c(sim, "GET", "/applications").json] == [app]
    r = c(sim, "PATCH", "/applications/" + app, {"git_branch": "dev", "ports_exposes": "80,443"})
    assert r.status == 200 and r.json == {"uuid": app}
    assert c(sim, "GET", "/applications/" + app).json["git_branch"] == "dev"
    assert c(sim, "PATCH", "/applications/" + app, {"bogus": 1}).status == 422
    assert c(sim, "PATCH", "/applications/nope", {"name": "x"}).status == 404
    assert c(sim, "GET", "/applications/nope").json == {"message": "Application not found."}
    base = {"project_uuid": p, "server_uuid": "vibnsimlocalhostserver01", "environment_name": "production",
            "git_repository": "https://example.com/x.git", "git_branch": "main", "build_pack": "nixpacks"}
    r = c(sim, "POST", "/applications/public", {k: v for k, v in base.items() if k != "environment_name"})
    assert r.status == 422 and "environment_name or environment_uuid" in r.json["message"]
    r = c(sim, "POST", "/applications/public", dict(base, build_pack="heroku"))
    assert r.status == 422 and "build_pack" in r.json["errors"]
    r = c(sim, "POST", "/applications/public", dict(base, ports_exposes="80;81"))
    assert r.status == 422 and "ports_exposes" in r.json["errors"]
    r = c(sim, "POST", "/applications/public", {k: v for k, v in base.items() if k != "git_branch"})
    assert r.status == 422 and "git_branch" in r.json["errors"]
    assert c(sim, "POST", "/applications/public", dict(base, project_uuid="nope")).json == {"message": "Project not found."}
    assert c(sim, "POST", "/applications/public", dict(base, environment_name="nope")).status == 404
    assert c(sim, "POST", "/applications/public", dict(base, server_uuid="nope")).json == {"message": "Server not found."}
    assert c(sim, "POST", "/applications/public", dict(base, unknown_key=1)).status == 422
    # names are generated when absent, and are not unique
    x = c(sim, "POST", "/applications/public", base)
    assert x.status == 201
    assert c(sim, "GET", "/applications/" + x.json["uuid"]).json["name"].startswith("x.git:main-")
    # removeSensitiveData hides id always and private_key_id without read:sensitive; uuids are
    # new_public_id()s: 24 lower-case alphanumerics
    a = c(sim, "GET", "/applications/" + app).json
    assert "id" not in a and "private_key_id" not in a and re.match(r"^[a-z0-9]{24}$", app)
    assert all("id" not in x for x in c(sim, "GET", "/applications").json)
    assert re.match(r"^[a-z0-9]{24}$", c(sim, "GET", "/servers").json[0]["uuid"])


@pytest.mark.parametrize("url,ok", [
    ("https://git.example.com/acme/web.git", True),
    ("http://git.example.com:3000/acme/web.git", True),
    ("git@git.example.com:acme/web.git", True),
    ("git@git.example.com:2222/acme/web.git", True),  # a custom port, the way Coolify takes it
    ("git://git.example.com/acme/web.git", True),
    ("ssh://git@git.example.com:2222/acme/web.git", False),  # Gitea's form for a custom port
    ("http://127.0.0.1:3000/acme/web.git", False),
    ("http://10.1.2.3/acme/web.git", False),
    ("http://localhost:3000/acme/web.git", False),
    ("http://gitea.local/acme/web.git", False),
    ("https://git.example.com/acme/web.git?x=1", False),
    ("https://git.example.com/acme/web.git#main", False),
    ("https://git.example.com/acme/we%20b.git", False),
    ("https://git.example.com/acme/../web.git", False),
    ("git@git.example.com/acme/web.git", False),
    ("ftp://git.example.com/acme/web.git", False),
])
def test_git_repository_url_rule(sim, url, ok):
    # app/Rules/ValidGitRepositoryUrl.php, on create (both sources) and update
    p = new_project(sim)
    body = {"project_uuid": p, "server_uuid": "vibnsimlocalhostserver01", "environment_name": "production",
            "git_repository": url, "git_branch": "main", "build_pack": "nixpacks", "ports_exposes": "3000"}
    r = c(sim, "POST", "/applications/public", body)
    assert (r.status == 201) == ok, r.raw
    if not ok:
        assert r.json["message"] == "Validation failed." and "git_repository" in r.json["errors"]
    r = c(sim, "POST", "/applications/private-deploy-key", dict(body, private_key_uuid="vibnsimdeploykey00000001"))
    assert (r.status == 201) == ok, r.raw
    app = new_app(sim, p, git_repository="https://git.example.com/acme/ok.git")
    r = c(sim, "PATCH", "/applications/" + app, {"git_repository": url})
    assert (r.status == 200) == ok, r.raw


def test_destinations(sim):
    p = new_project(sim)
    body = {"project_uuid": p, "server_uuid": "vibnsimlocalhostserver01", "environment_name": "production",
            "git_repository": "https://git.example.com/acme/web.git", "git_branch": "main",
            "build_pack": "nixpacks", "ports_exposes": "3000"}
    # one destination: destination_uuid is not needed
    assert c(sim, "POST", "/applications/public", body).status == 201
    ctl(sim, "POST", "config", {"coolify_destinations": 2})
    dests = [d["uuid"] for d in ctl(sim, "GET", "state")["coolify"]["servers"][0]["destinations"]]
    assert len(dests) == 2 and all(re.match(r"^[a-z0-9]{24}$", d) for d in dests)
    r = c(sim, "POST", "/applications/public", body)
    assert r.status == 400 and r.json == {"message": "Server has multiple destinations and you do not set destination_uuid."}
    r = c(sim, "POST", "/applications/public", dict(body, destination_uuid="nope"))
    assert r.status == 422 and "destination_uuid" in r.json["errors"]
    r = c(sim, "POST", "/applications/public", dict(body, destination_uuid=dests[1]))
    assert r.status == 201 and c(sim, "GET", "/applications/" + r.json["uuid"]).json["destination_id"] == 2
    ctl(sim, "POST", "config", {"coolify_destinations": 0})
    r = c(sim, "POST", "/applications/public", body)
    assert r.status == 400 and r.json == {"message": "Server has no destinations."}


def test_deploy_keys_and_private_apps(sim):
    p = new_project(sim)
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
    r = c(sim, "POST", "/security/keys", {"name": "deploy", "private_key": pem})
    assert r.status == 201
    key = r.json["uuid"]
    assert c(sim, "POST", "/security/keys", {"private_key": "nope"}).status == 422
    assert c(sim, "POST", "/security/keys", {"name": "x"}).status == 422
    # the key Coolify has from the start (localhost's), then the new one
    assert [k["uuid"] for k in c(sim, "GET", "/security/keys").json] == ["vibnsimdeploykey00000001", key]
    assert c(sim, "GET", "/security/keys/" + key).json["name"] == "deploy"
    body = {"project_uuid": p, "server_uuid": "vibnsimlocalhostserver01", "environment_name": "production",
            "private_key_uuid": key, "git_repository": "git@git.example.com:acme/web.git",
            "git_branch": "main", "build_pack": "dockerfile", "ports_exposes": "8080"}
    r = c(sim, "POST", "/applications/private-deploy-key", body)
    assert r.status == 201
    app = c(sim, "GET", "/applications/" + r.json["uuid"]).json
    assert app["git_repository"] == "git@git.example.com:acme/web.git" and "private_key_id" not in app
    assert [a["private_key_uuid"] for a in ctl(sim, "GET", "state")["coolify"]["applications"]] == [key]
    assert c(sim, "POST", "/applications/private-deploy-key", dict(body, private_key_uuid="nope")).status == 404
    r = c(sim, "POST", "/applications/private-deploy-key", {k: v for k, v in body.items() if k != "private_key_uuid"})
    assert r.status == 422 and "private_key_uuid" in r.json["errors"]
    # the public endpoint does not take a key
    assert c(sim, "POST", "/applications/public", body).status == 422
    assert c(sim, "DELETE", "/security/keys/" + key).status == 422  # in use
    assert c(sim, "DELETE", "/security/keys/nope").status == 404


def test_project_delete_refused_and_async_app_delete(sim):
    p = new_project(sim)
    app = new_app(sim, p)
    r = c(sim, "DELETE", "/projects/" + p)
    assert r.status == 400 and r.json == {"message": "Project has resources, so it cannot be deleted."}
    ctl(sim, "POST", "faults", {"upstream": "coolify", "app_delete_ms": 600000})
    r = c(sim, "DELETE", "/applications/" + app)
    assert r.status == 200 and r.json == {"message": "Application deletion request queued."}
    # still there while the deletion job runs: GET answers 200, the project is not empty
    assert c(sim, "GET", "/applications/" + app).status == 200
    state = ctl(sim, "GET", "state")["coolify"]["applications"]
    assert [(a["uuid"], a["status"]) for a in state] == [(app, "deleting")]
    assert c(sim, "DELETE", "/projects/" + p).status == 400
    assert c(sim, "DELETE", "/applications/" + app).status == 200  # queued again: still 200
    # a fast job: gone after a short delay
    ctl(sim, "POST", "faults", {"upstream": "coolify", "app_delete_ms": 20})
    app2 = new_app(sim, p)
    assert c(sim, "DELETE", "/applications/" + app2).status == 200
    wait_for(lambda: c(sim, "GET", "/applications/" + app2).status == 404, what="app2 gone")
    ctl(sim, "POST", "drift", {"action": "delete_app", "uuid": app})
    assert c(sim, "DELETE", "/projects/" + p).status == 200
    assert c(sim, "DELETE", "/applications/" + app).status == 404


def test_coolify_rate_limit(sim):
    ctl(sim, "POST", "faults", {"upstream": "coolify", "rate_limit_per_minute": 3})
    remaining = []
    for _ in range(3):
        r = c(sim, "GET", "/projects")
        assert r.status == 200 and r.header("X-RateLimit-Limit") == "3"
        remaining.append(r.header("X-RateLimit-Remaining"))
    assert remaining == ["2", "1", "0"]
    r = c(sim, "GET", "/projects")
    assert r.status == 429 and r.json == {"message": "Too Many Attempts."}
    # Whole seconds from the window's timer, as Laravel's availableIn(): 0 is possible.
    assert 0 <= int(r.header("Retry-After")) <= 60 and r.header("X-RateLimit-Remaining") == "0"
    assert int(r.header("X-RateLimit-Reset")) >= int(time.time()) - 1
    assert g(sim, "GET", "/version").status == 200  # Gitea has no limit
    ctl(sim, "POST", "faults", {"upstream": "coolify", "rate_limit_per_minute": 0})
    assert c(sim, "GET", "/projects").status == 200


def test_coolify_429_is_html_without_a_json_accept(sim):
    """Laravel renders the throttle's exception as JSON only when the request expects JSON
    (Accept: application/json first, or an XMLHttpRequest accepting anything)."""
    ctl(sim, "POST", "faults", {"upstream": "coolify", "rate_limit_per_minute": 1})
    assert c(sim, "GET", "/projects").status == 200
    for accept in (None, "text/html", "*/*", "text/html, application/json"):
        r = c(sim, "GET", "/projects", headers={"Accept": accept} if accept else {"Accept": ""})
        assert r.status == 429 and r.json is None, (accept, r.raw[:80])
        assert r.header("Content-Type").startswith("text/html") and "slow down" in r.raw
        assert r.header("Retry-After") is not None
    for headers in ({"Accept": "application/json"}, {"Accept": "application/vnd.api+json"},
                    {"Accept": "*/*", "X-Requested-With": "XMLHttpRequest"}):
        r = c(sim, "GET", "/projects", headers=headers)
        assert r.status == 429 and r.json == {"message": "Too Many Attempts."}, headers


def test_coolify_window_counts_what_the_application_saw(sim):
    """The application's own 500 was counted by the throttle and carries its headers; a
    proxy's 502/503 and a dropped connection never reached it."""
    ctl(sim, "POST", "faults", {"upstream": "coolify", "rate_limit_per_minute": 100,
                                "error_rate": 1.0})
    seen = {}
    for _ in range(40):
        r = c(sim, "GET", "/projects")
        seen.setdefault(r.status, []).append(r.header("X-RateLimit-Remaining"))
    assert set(seen) <= {500, 502, 503} and 500 in seen and (502 in seen or 503 in seen)
    assert all(v is None for k in seen if k != 500 for v in seen[k])
    counted = [int(v) for v in seen[500]]
    assert counted == list(range(99, 99 - len(counted), -1))


def test_coolify_rpm_flag():
    s = Sim("--coolify-rpm", "1")
    try:
        assert c(s, "GET", "/projects").status == 200
        assert c(s, "GET", "/projects").status == 429
        ctl(s, "POST", "reset")  # back to the flag's limit, with a fresh window
        assert c(s, "GET", "/projects").status == 200
        assert c(s, "GET", "/projects").status == 429
    finally:
        s.stop()


# ---------------------------------------------------------------------------------------
# rules and faults


def test_rule_status_429_with_retry_after(sim):
    ctl(sim, "POST", "rules", {"upstream": "coolify", "method": "POST", "path": "/api/v1/projects",
                               "count": 2, "action": "status", "status": 429, "retry_after": "2"})
    for _ in range(2):
        r = c(sim, "POST", "/projects", {"name": "vibn-ws-x"})
        assert r.status == 429 and r.header("Retry-After") == "2"
    assert c(sim, "GET", "/projects").json == []  # nothing was created, GET unaffected
    assert c(sim, "POST", "/projects", {"name": "vibn-ws-x"}).status == 201
    assert ctl(sim, "GET", "rules") == []



def test_rule_for_ms_ends_with_time(sim):
    """A limiter's refusals end with time, however few requests came: for_ms bounds a rule's
    life as count bounds its uses."""
    ctl(sim, "POST", "rules", {"upstream": "coolify", "method": "GET", "path": "/api/v1/projects",
                               "count": 1000, "status": 429, "retry_after": "1", "for_ms": 500})
    start = time.monotonic()
    assert c(sim, "GET", "/projects").status == 429
    while c(sim, "GET", "/projects").status == 429:
        assert time.monotonic() - start < 10, "the rule outlived its for_ms"
        time.sleep(0.05)
    assert time.monotonic() - start >= 0.4
    assert ctl(sim, "GET", "rules") == []
    r = call(sim.coolify, "POST", "/_sim/rules", {"path": "/x", "for_ms": 0})
    assert r.status == 400 and "for_ms" in r.json["error"]

def test_rule_matching_template_method_upstream_and_body(sim):
    new_org(sim, "acme")
    ctl(sim, "POST", "rules", {"upstream": "gitea", "method": "GET", "path": "/api/v1/orgs/{org}",
                               "count": 1, "action": "status", "status": 503,
                               "body": {"message": "busy"}})
    assert g(sim, "PATCH", "/orgs/acme", {"description": "x"}).status == 200  # other method
    assert c(sim, "GET", "/projects").status == 200  # other upstream
    assert g(sim, "GET", "/orgs/acme/teams").status == 200  # other template
    r = g(sim, "GET", "/orgs/acme")
    assert r.status == 503 and r.json == {"message": "busy"}
    assert g(sim, "GET", "/orgs/acme").status == 200
    ctl(sim, "POST", "rules", {"path": "/api/v1/orgs/acme", "count": 5, "status": 502})
    assert g(sim, "GET", "/orgs/acme").status == 502
    assert call(sim.coolify, "DELETE", "/_sim/rules").status == 200
    assert g(sim, "GET", "/orgs/acme").status == 200
    r = call(sim.gitea, "POST", "/_sim/rules", {"path": "/x", "action": "explode"})
    assert r.status == 400 and r.json["error"]


def test_rule_delay(sim):
    ctl(sim, "POST", "rules", {"upstream": "gitea", "path": "/api/v1/version", "action": "delay", "delay_ms": 250})
    assert g(sim, "GET", "/version").status == 200
    last = ctl(sim, "GET", "requests?limit=1")[0]
    assert last["path"] == "/api/v1/version" and last["status"] == 200 and last["ms"] >= 250


def test_rule_drop_changes_nothing(sim):
    ctl(sim, "POST", "rules", {"upstream": "coolify", "method": "POST", "path": "/api/v1/projects", "action": "drop"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        c(sim, "POST", "/projects", {"name": "vibn-ws-x"})
    assert ctl(sim, "GET", "state")["coolify"]["projects"] == []


def test_rule_drop_after_keeps_the_change(sim):
    ctl(sim, "POST", "rules", {"upstream": "coolify", "method": "POST", "path": "/api/v1/projects", "action": "drop_after"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        c(sim, "POST", "/projects", {"name": "vibn-ws-x"})
    assert [p["name"] for p in ctl(sim, "GET", "state")["coolify"]["projects"]] == ["vibn-ws-x"]
    assert ctl(sim, "GET", "requests?limit=1")[0]["status"] == 0


def test_rule_timeout_held_until_client_gives_up(sim):
    ctl(sim, "POST", "rules", {"upstream": "gitea", "path": "/api/v1/version", "action": "timeout"})
    with pytest.raises(socket.timeout):
        g(sim, "GET", "/version", timeout=0.3)
    # the held request is freed when the client closes its connection
    wait_for(lambda: [x for x in ctl(sim, "GET", "requests?limit=5") if x["path"] == "/api/v1/version"],
             what="the held request to be logged")
    assert g(sim, "GET", "/version").status == 200


def test_fault_knobs(sim):
    ctl(sim, "POST", "faults", {"upstream": "gitea", "error_rate": 1})
    codes = {g(sim, "GET", "/version").status for _ in range(30)}
    assert codes <= {500, 502, 503} and len(codes) >= 2
    assert c(sim, "GET", "/projects").status == 200  # only Gitea
    ctl(sim, "POST", "faults", {"upstream": "gitea", "error_rate": 0, "drop_rate": 1})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        g(sim, "GET", "/version")
    ctl(sim, "POST", "faults", {"upstream": "both", "drop_rate": 0, "timeout_rate": 1})
    with pytest.raises(socket.timeout):
        c(sim, "GET", "/projects", timeout=0.3)
    ctl(sim, "POST", "faults", {"timeout_rate": 0, "latency_ms": 120, "jitter_ms": 30})
    assert c(sim, "GET", "/projects").status == 200
    ms = ctl(sim, "GET", "requests?limit=1")[0]["ms"]
    assert ms >= 120
    f = ctl(sim, "GET", "faults")
    assert f["gitea"]["latency_ms"] == 120 and f["coolify"]["jitter_ms"] == 30
    # control routes are never faulted
    ctl(sim, "POST", "faults", {"error_rate": 1, "latency_ms": 0, "jitter_ms": 0})
    assert ctl(sim, "GET", "counters") is not None
    r = call(sim.gitea, "POST", "/_sim/faults", {"upstream": "nope"})
    assert r.status == 400
    r = call(sim.gitea, "POST", "/_sim/faults", {"error_rate": "high"})
    assert r.status == 400


def test_fault_flags():
    s = Sim("--error-rate", "1", "--latency-ms", "50", "--gitea-token", "t2", "--coolify-token", "c2",
            "--gitea-admin", "boss")
    try:
        assert call(s.gitea, "GET", "/api/v1/version").status in (500, 502, 503)
        f = ctl(s, "GET", "faults")
        assert f["gitea"]["error_rate"] == 1 and f["coolify"]["latency_ms"] == 50
        ctl(s, "POST", "faults", {"error_rate": 0})
        assert call(s.gitea, "GET", "/api/v1/users/boss", token="t2").json["login"] == "boss"
        assert call(s.coolify, "GET", "/api/v1/projects", token="c2", scheme="Bearer").status == 200
        ctl(s, "POST", "reset")
        assert ctl(s, "GET", "faults")["gitea"]["error_rate"] == 1  # back to the flags
    finally:
        s.stop()


# ---------------------------------------------------------------------------------------
# counters, request log, drift, state, reset


def test_counters(sim):
    new_org(sim, "acme")
    g(sim, "GET", "/orgs/acme")
    g(sim, "GET", "/orgs/ACME")
    g(sim, "GET", "/orgs/missing")
    g(sim, "PATCH", "/orgs/acme", {"description": "x"})
    c(sim, "GET", "/projects")
    c(sim, "POST", "/projects", {"name": "vibn-ws-x"})
    g(sim, "GET", "/no/such/route")
    ctl(sim, "POST", "drift", {"action": "edit_org", "org": "acme", "description": "y"})
    cnt = ctl(sim, "GET", "counters", port="coolify")
    assert cnt["gitea"]["routes"] == {"POST /api/v1/admin/users/{username}/orgs": 1,
                                      "GET /api/v1/orgs/{org}": 3, "PATCH /api/v1/orgs/{org}": 1,
                                      "GET (unmatched)": 1}
    assert (cnt["gitea"]["read"], cnt["gitea"]["mutating"]) == (4, 2)
    assert cnt["coolify"]["routes"] == {"GET /api/v1/projects": 1, "POST /api/v1/projects": 1}
    assert (cnt["coolify"]["read"], cnt["coolify"]["mutating"]) == (1, 1)
    assert cnt["drift"] == 1
    ctl(sim, "POST", "counters/reset")
    cnt = ctl(sim, "GET", "counters")
    assert cnt["gitea"] == {"read": 0, "mutating": 0, "routes": {}} and cnt["drift"] == 0


def test_request_log(sim):
    g(sim, "GET", "/version")
    c(sim, "GET", "/projects", token="bad")
    log = ctl(sim, "GET", "requests?limit=2")
    assert [(x["upstream"], x["method"], x["path"], x["status"]) for x in log] == [
        ("gitea", "GET", "/api/v1/version", 200), ("coolify", "GET", "/api/v1/projects", 401)]
    assert len(ctl(sim, "GET", "requests?limit=1")) == 1
    assert call(sim.gitea, "GET", "/_sim/requests?limit=x").status == 400


def test_drift_actions(sim):
    ctl(sim, "POST", "users", {"username": "bob", "email": "bob@example.com"})
    new_org(sim, "acme")
    g(sim, "POST", "/orgs/acme/repos", {"name": "web"})
    g(sim, "POST", "/orgs/acme/hooks", {"type": "gitea", "active": True, "config": {"url": "http://127.0.0.1:1/", "content_type": "json"}})

    def org():
        return [o for o in ctl(sim, "GET", "state")["gitea"]["orgs"] if o["name"] == "acme"][0]

    ctl(sim, "POST", "drift", {"action": "add_member", "org": "acme", "user": "bob", "team": "Owners"})
    assert org()["members"] == ["bob", "vibn-admin"]
    ctl(sim, "POST", "drift", {"action": "remove_member", "org": "acme", "user": "vibn-admin"})
    assert org()["teams"][0]["members"] == ["bob"]
    r = call(sim.gitea, "POST", "/_sim/drift", {"action": "remove_member", "org": "acme", "user": "bob"})
    assert r.status == 409  # the UI cannot remove the last owner either
    ctl(sim, "POST", "drift", {"action": "edit_org", "org": "acme", "full_name": "F", "description": "D", "visibility": "private"})
    o = org()
    assert (o["full_name"], o["description"], o["visibility"]) == ("F", "D", "private")
    assert g(sim, "GET", "/orgs/acme").json["visibility"] == "private"  # no stale cached body
    ctl(sim, "POST", "drift", {"action": "edit_repo", "org": "acme", "repo": "web", "private": True, "description": "x"})
    assert g(sim, "GET", "/repos/acme/web").json["private"] is True
    ctl(sim, "POST", "drift", {"action": "deactivate_hook", "org": "acme"})
    assert org()["hooks"][0]["active"] is False
    ctl(sim, "POST", "drift", {"action": "delete_hook", "org": "acme"})
    assert org()["hooks"] == []
    ctl(sim, "POST", "drift", {"action": "create_repo", "org": "acme", "repo": "api"})
    assert [r["name"] for r in org()["repos"]] == ["web", "api"]
    ctl(sim, "POST", "drift", {"action": "delete_repo", "org": "acme", "repo": "api"})
    assert g(sim, "GET", "/repos/acme/api").status == 404
    ctl(sim, "POST", "drift", {"action": "delete_org", "org": "acme"})  # with its repos
    assert g(sim, "GET", "/orgs/acme").status == 404
    p = new_project(sim)
    app = new_app(sim, p)
    ctl(sim, "POST", "drift", {"action": "delete_app", "uuid": app})
    assert c(sim, "GET", "/applications/" + app).status == 404
    new_app(sim, p)
    ctl(sim, "POST", "drift", {"action": "delete_project", "uuid": p})  # with its apps
    assert ctl(sim, "GET", "state")["coolify"] == {"projects": [], "applications": [],
                                                   "servers": ctl(sim, "GET", "state")["coolify"]["servers"]}
    for bad, status in [({"action": "fly"}, 400), ({"action": "delete_org", "org": "nope"}, 404),
                        ({"action": "delete_project", "uuid": "nope"}, 404), ({}, 400)]:
        assert call(sim.gitea, "POST", "/_sim/drift", bad).status == status, bad
    # drift is not in the upstream counters
    cnt = ctl(sim, "GET", "counters")
    assert cnt["drift"] == 11 and "GET /api/v1/orgs/{org}" in cnt["gitea"]["routes"]


def test_push_and_default_branch_drift(sim):
    new_org(sim, "acme")
    r = g(sim, "POST", "/orgs/acme/repos", {"name": "web", "default_branch": "trunk"})
    assert r.json["empty"] is True and r.json["default_branch"] == "trunk"

    def edit(**fields):
        return call(sim.gitea, "POST", "/_sim/drift", dict(action="edit_repo", org="acme", repo="web", **fields))

    def repo():
        return g(sim, "GET", "/repos/acme/web").json

    # The settings page offers only existing branches: an empty repo has none.
    assert edit(default_branch="trunk").status == 404
    # The API takes any name on an empty repo.
    assert g(sim, "PATCH", "/repos/acme/web", {"default_branch": "main"}).json["default_branch"] == "main"
    # The first push makes the repo non-empty and its default branch, whatever it was.
    ctl(sim, "POST", "drift", {"action": "push", "org": "acme", "repo": "web", "branch": "feature/x"})
    assert (repo()["empty"], repo()["default_branch"]) == (False, "feature/x")
    ctl(sim, "POST", "drift", {"action": "push", "org": "acme", "repo": "web", "branch": "main"})
    ctl(sim, "POST", "drift", {"action": "push", "org": "acme", "repo": "web", "branch": "main"})  # again: no-op
    assert repo()["default_branch"] == "feature/x"
    # A missing branch of a non-empty repo is ignored, and the answer is still 200.
    r = g(sim, "PATCH", "/repos/acme/web", {"default_branch": "nope"})
    assert r.status == 200 and r.json["default_branch"] == "feature/x"
    assert g(sim, "PATCH", "/repos/acme/web", {"default_branch": "main"}).json["default_branch"] == "main"
    # By hand: to an existing branch only; a refused edit changes nothing.
    assert edit(default_branch="feature/x", private=True).status == 200
    assert (repo()["default_branch"], repo()["private"]) == ("feature/x", True)
    assert edit(default_branch="nope", private=False).status == 404
    assert (repo()["default_branch"], repo()["private"]) == ("feature/x", True)
    assert edit(default_branch=7).status == 404
    for bad, status in [({"branch": ""}, 400), ({"branch": "../x"}, 400), ({"branch": "a b"}, 400),
                        ({"branch": "x.lock"}, 400), ({}, 400), ({"branch": "x", "repo": "nope"}, 404)]:
        body = dict({"action": "push", "org": "acme", "repo": "web"}, **bad)
        assert call(sim.gitea, "POST", "/_sim/drift", body).status == status, bad
    # auto_init commits on the default branch: not empty.
    r = g(sim, "POST", "/orgs/acme/repos", {"name": "init", "auto_init": True, "default_branch": "dev"})
    assert r.status == 201 and (r.json["empty"], r.json["default_branch"]) == (False, "dev")
    assert g(sim, "PATCH", "/repos/acme/init", {"default_branch": "main"}).json["default_branch"] == "dev"


def test_coolify_edit_drift(sim):
    p = new_project(sim, "vibn-ws-acme")
    app = new_app(sim, p, name="acme-web")

    def drift(action, uuid, **fields):
        return call(sim.gitea, "POST", "/_sim/drift", dict(action=action, uuid=uuid, **fields))

    def project():
        return c(sim, "GET", "/projects/" + p).json

    def application():
        return c(sim, "GET", "/applications/" + app).json

    ctl(sim, "POST", "drift", {"action": "edit_project", "uuid": p, "name": "Renamed by hand",
                               "description": "Edited in the UI"})
    assert (project()["name"], project()["description"]) == ("Renamed by hand", "Edited in the UI")
    assert [x["name"] for x in c(sim, "GET", "/projects").json] == ["Renamed by hand"]
    ctl(sim, "POST", "drift", {"action": "edit_project", "uuid": p, "description": None})
    assert (project()["name"], project()["description"]) == ("Renamed by hand", None)
    # Coolify's rules: refused with 422 and the field's errors, and nothing changes.
    for bad, field in [({"name": "ab"}, "name"), ({"name": ""}, "name"), ({"name": None}, "name"),
                       ({"name": "a;b"}, "name"), ({"description": "owner: x"}, "description"),
                       ({"name": "fine", "description": "x" * 256}, "description")]:
        r = drift("edit_project", p, **bad)
        assert r.status == 422 and field in r.json["errors"], (bad, r.raw)
    assert drift("edit_project", p).status == 400  # nothing to edit
    assert drift("edit_project", p, team_id=2).status == 400
    assert drift("edit_project", "nope", name="abc").status == 404
    assert (project()["name"], project()["description"]) == ("Renamed by hand", None)

    edited = {"name": "web by hand", "description": "Edited in the UI",
              "git_repository": "https://git.example.com/acme/other.git", "git_branch": "dev",
              "build_pack": "dockerfile", "ports_exposes": "8080,8443"}
    ctl(sim, "POST", "drift", dict(action="edit_app", uuid=app, **edited))
    a = application()
    assert {k: a[k] for k in edited} == edited
    st = [x for x in ctl(sim, "GET", "state")["coolify"]["applications"] if x["uuid"] == app][0]
    assert {k: st[k] for k in edited} == edited
    ctl(sim, "POST", "drift", {"action": "edit_app", "uuid": app, "git_repository": "git@git.example.com:acme/web.git"})
    assert application()["git_repository"] == "git@git.example.com:acme/web.git"
    for bad, field in [({"build_pack": "heroku"}, "build_pack"), ({"ports_exposes": "80;81"}, "ports_exposes"),
                       ({"ports_exposes": ""}, "ports_exposes"), ({"git_branch": ""}, "git_branch"),
                       ({"git_branch": 3}, "git_branch"), ({"name": "ab"}, "name"),
                       ({"git_repository": "ssh://git@git.example.com/acme/web.git"}, "git_repository"),
                       ({"git_repository": "https://git.example.com/acme/web.git?x=1"}, "git_repository"),
                       ({"git_repository": "git@git.example.com/acme/web.git"}, "git_repository"),
                       ({"git_repository": "https://git.example.com/a/../b.git"}, "git_repository"),
                       ({"description": "a # b"}, "description")]:
        r = drift("edit_app", app, **bad)
        assert r.status == 422 and field in r.json["errors"], (bad, r.raw)
    assert drift("edit_app", app, domains="http://x.example.com").status == 400  # not ours to edit
    assert drift("edit_app", app).status == 400
    assert drift("edit_app", "nope", git_branch="main").status == 404
    a = application()
    assert (a["git_repository"], a["git_branch"], a["build_pack"], a["ports_exposes"]) == (
        "git@git.example.com:acme/web.git", "dev", "dockerfile", "8080,8443")
    assert ctl(sim, "GET", "counters")["drift"] == 4


def test_state_shape_and_reset(sim):
    ctl(sim, "POST", "users", {"username": "bob", "email": "bob@example.com"})
    new_org(sim, "acme", full_name="A")
    g(sim, "POST", "/orgs/acme/repos", {"name": "web"})
    p = new_project(sim)
    new_app(sim, p)
    st = ctl(sim, "GET", "state")
    assert set(st) == {"gitea", "coolify"}
    o = st["gitea"]["orgs"][0]
    assert set(o) == {"name", "full_name", "description", "visibility", "id", "teams", "members", "repos", "hooks"}
    assert set(o["teams"][0]) == {"id", "name", "permission", "members"}
    assert set(o["repos"][0]) == {"id", "name", "private", "description", "default_branch", "clone_url",
                                  "ssh_url", "branches"}
    assert o["repos"][0]["clone_url"] == "https://git.vibn-sim.test/acme/web.git"
    assert [u["username"] for u in st["gitea"]["users"]] == ["vibn-admin", "bob"]
    pr = st["coolify"]["projects"][0]
    assert set(pr) >= {"uuid", "name", "description", "environments"} and pr["environments"][0]["name"] == "production"
    a = st["coolify"]["applications"][0]
    assert set(a) >= {"uuid", "name", "project_uuid", "environment_name", "git_repository", "git_branch",
                      "build_pack", "ports_exposes", "status"}
    assert st["coolify"]["servers"][0]["uuid"] == "vibnsimlocalhostserver01"
    ctl(sim, "POST", "rules", {"path": "/api/v1/version", "status": 500})
    ctl(sim, "POST", "reset", port="coolify")
    st = ctl(sim, "GET", "state")
    assert [u["username"] for u in st["gitea"]["users"]] == ["vibn-admin"] and st["gitea"]["orgs"] == []
    assert st["coolify"]["projects"] == [] and st["coolify"]["servers"][0]["uuid"] == "vibnsimlocalhostserver01"
    assert ctl(sim, "GET", "rules") == [] and ctl(sim, "GET", "requests") == []
    assert g(sim, "GET", "/users/vibn-admin").status == 200
    assert call(sim.gitea, "GET", "/_sim/nope").status == 404


def test_large_namespace_stays_indexed(sim):
    """Creates 3,000 orgs and projects; lookups and pages still answer (no per-request scans
    are checked by the benchmark; this checks correctness at size)."""
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(sim.gitea).hostname, urllib.parse.urlsplit(sim.gitea).port)
    for i in range(3000):
        conn.request("POST", "/api/v1/admin/users/vibn-admin/orgs", json.dumps({"username": "o%05d" % i}),
                     {"Authorization": "token " + GTOKEN, "Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 201
    conn.close()
    assert g(sim, "GET", "/orgs/O02999").json["name"] == "o02999"
    r = g(sim, "GET", "/admin/orgs?limit=50&page=60")
    assert [o["name"] for o in r.json][0] == "o02950" and r.header("X-Total-Count") == "3000"
    assert g(sim, "DELETE", "/orgs/o01500").status == 204
    assert g(sim, "GET", "/admin/orgs?limit=1&page=1501").json[0]["name"] == "o01501"


# ---------------------------------------------------------------------------------------
# command line and conformance


def test_help_documents_every_flag():
    out = subprocess.run([binary("vibn-sim"), "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    for flag in ("--gitea-port", "--coolify-port", "--gitea-token", "--coolify-token", "--gitea-admin",
                 "--webhook-timeout-ms", "--latency-ms", "--jitter-ms", "--error-rate", "--timeout-rate",
                 "--drop-rate", "--coolify-rpm", "--seed", "-v", "--help", "--routes", "--app-delete-ms",
                 "/_sim/reset", "/_sim/users", "/_sim/state", "/_sim/counters", "/_sim/requests",
                 "/_sim/faults", "/_sim/rules", "/_sim/drift", "/_sim/deliveries", "drop_after"):
        assert flag in out.stdout, flag
    bad = subprocess.run([binary("vibn-sim"), "--error-rate", "2"], capture_output=True, text=True, timeout=10)
    assert bad.returncode != 0 and "error-rate" in bad.stderr


def sim_routes():
    out = subprocess.run([binary("vibn-sim"), "--routes"], capture_output=True, text=True, timeout=10, check=True)
    routes = []
    for line in out.stdout.splitlines():
        m = re.match(r"^(gitea|coolify) (GET|POST|PUT|PATCH|DELETE) (/api/v1/\S*)$", line)
        assert m, line
        routes.append(m.groups())
    return routes


def load_spec(name):
    path = os.path.join(ROOT, "tests", "specs", name)
    if not os.path.exists(path):
        msg = "upstream spec %s is missing (vendored in tests/specs)" % path
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    with open(path) as f:
        return json.load(f)


def norm(template):
    return re.sub(r"\{[^}]*\}", "{}", template)


def test_sim_routes_conform_to_upstream_specs():
    specs = {"gitea": load_spec("gitea-swagger.v1.json"), "coolify": load_spec("coolify-openapi.json")}
    index = {}
    for up, spec in specs.items():
        for path, item in spec["paths"].items():
            for method in item:
                index.setdefault(up, set()).add((method.upper(), norm(path)))
    routes = sim_routes()
    assert len(routes) >= 40 and {u for u, _, _ in routes} == {"gitea", "coolify"}
    missing = [(u, m, p) for u, m, p in routes if (m, norm(p[len("/api/v1"):])) not in index[u]]
    assert missing == [], "routes vibn-sim serves that the upstream spec lacks: %r" % missing
    # and every route the brief names is served
    served = {(u, m, norm(p)) for u, m, p in routes}
    for u, m, p in [("gitea", "GET", "/api/v1/orgs/{}"), ("gitea", "POST", "/api/v1/admin/users/{}/orgs"),
                    ("gitea", "DELETE", "/api/v1/teams/{}/members/{}"), ("gitea", "PATCH", "/api/v1/orgs/{}/hooks/{}"),
                    ("coolify", "POST", "/api/v1/applications/private-deploy-key"),
                    ("coolify", "GET", "/api/v1/projects/{}/{}"), ("coolify", "POST", "/api/v1/security/keys")]:
        assert (u, m, p) in served


def test_seed_makes_orgs_and_projects_as_the_api_does(sim):
    """POST /_sim/seed: numbered orgs (Owners team with the admin, the hook given) and projects
    (production environment), listed and served like those the API makes."""
    got = ctl(sim, "POST", "seed", {
        "start": 7, "count": 3,
        "org": {"name": "vibn-s{i}", "full_name": "S {i}", "description": "Vibn workspace s{i}",
                "visibility": "private",
                "hook": {"url": "http://127.0.0.1:9/webhooks/gitea", "secret": "x",
                         "events": ["repository"]}},
        "project": {"name": "vibn-ws-s{i}", "description": "Vibn workspace s{i}"}})
    assert len(got["hooks"]) == 3 and len(got["projects"]) == 3
    r = g(sim, "GET", "/admin/orgs?limit=50")
    assert r.header("x-total-count") == "3"
    assert [(o["name"], o["full_name"], o["visibility"]) for o in r.json] == [
        ("vibn-s7", "S 7", "private"), ("vibn-s8", "S 8", "private"), ("vibn-s9", "S 9", "private")]
    hooks = g(sim, "GET", "/orgs/vibn-s8/hooks").json
    assert [(h["id"], h["config"]["url"], h["events"], h["active"]) for h in hooks] == [
        (got["hooks"][1], "http://127.0.0.1:9/webhooks/gitea", ["repository"], True)]
    teams = g(sim, "GET", "/orgs/vibn-s9/teams").json
    assert [t["name"] for t in teams] == ["Owners"]
    members = g(sim, "GET", "/teams/%d/members" % teams[0]["id"]).json
    assert [m["login"] for m in members] == ["vibn-admin"]
    p = c(sim, "GET", "/projects/%s" % got["projects"][2]).json
    assert (p["name"], p["description"]) == ("vibn-ws-s9", "Vibn workspace s9")
    assert [e["name"] for e in p["environments"]] == ["production"]
    # A name taken (or invalid) is refused, as the API would.
    r = call(sim.gitea, "POST", "/_sim/seed", {"start": 8, "count": 1, "org": {"name": "vibn-s{i}"}})
    assert r.status == 422
