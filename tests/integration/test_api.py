"""Gitea webhooks and the tenant API of vibnd, against a real Postgres: signatures (both
header forms), caps, content types, durable dedup, org mapping, metrics; workspace-pinned keys
(404 for every route of another workspace), revocation, the admin secret, migrate, deadlines;
and, end to end with vibn-sim and the workspace reconciler, a repo deleted upstream comes back
through the simulator's signed webhook."""
import hashlib
import hmac
import http.client
import json
import socket
import subprocess
import uuid

import pytest

from conftest import PGBIN, Listener, binary, vibnd_binary, wait_for
from test_sim import Sim
from vibnd_proc import WEBHOOK_SECRET, Daemon, connect, drained, free_port, queue_len

ADMIN = "admin-secret-for-tests"


class Resp:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
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
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
    finally:
        conn.close()


def bearer(token):
    return {"Authorization": "Bearer " + token}


ADMIN_H = {"x-admin-secret": ADMIN}


def sign(body, secret=WEBHOOK_SECRET):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def repo_payload(org, action="deleted", repo="web"):
    """A repository event shaped as Gitea sends it (modules/structs/hook.go)."""
    owner = {"id": 3, "login": org, "username": org, "full_name": "", "email": ""}
    return json.dumps({
        "action": action,
        "repository": {"id": 7, "name": repo, "full_name": "%s/%s" % (org, repo),
                       "owner": owner, "private": True, "fork": False},
        "organization": owner,
        "sender": {"id": 1, "login": "alice", "username": "alice"},
    }).encode()


def deliver(d, body, event="repository", delivery=None, sig="gitea", secret=WEBHOOK_SECRET,
            ctype="application/json"):
    h = {"X-Gitea-Event": event, "X-Gitea-Delivery": delivery or str(uuid.uuid4())}
    if sig == "gitea":
        h["X-Gitea-Signature"] = sign(body, secret)
    elif sig == "hub":
        h["X-Hub-Signature-256"] = "sha256=" + sign(body, secret)
    return call(d, "POST", "/webhooks/gitea", raw=body, headers=h, ctype=ctype)


@pytest.fixture
def daemons():
    started = []
    yield started
    for d in started:
        d.stop(timeout=10)
        d.close()


def start(daemons, db_url, env=None, **kw):
    e = {"ADMIN_MIGRATE_SECRET": ADMIN}
    e.update(env or {})
    d = Daemon(db_url, env=e, **kw)
    daemons.append(d)
    return d


def add_ws(conn, slug, gitea_org=None):
    (wid,) = conn.execute("INSERT INTO vibn_workspaces (slug, owner, gitea_org) VALUES (%s, 'u', %s)"
                          " RETURNING id", (slug, gitea_org)).fetchone()
    return str(wid)


def metric(d, result):
    return d.metric('vibn_webhook_deliveries_total{result="%s"}' % result) or 0


# --- webhooks -----------------------------------------------------------------------------

def test_webhook_signatures_both_forms(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_ws(conn, "acme")
        wait_for(lambda: drained(conn), what="the initial run")
        body = repo_payload("vibn-acme")
        r = deliver(d, body, sig="gitea")
        assert r.status == 202 and r.json == {"result": "accepted", "workspace": "acme"}, r.raw
        r = deliver(d, body, sig="hub")
        assert r.status == 202 and r.json["result"] == "accepted", r.raw
        for bad in [dict(sig="gitea", secret="wrong"), dict(sig="hub", secret="wrong"),
                    dict(sig=None)]:
            r = deliver(d, body, **bad)
            assert r.status == 401 and r.json["code"] == "bad_signature", (bad, r.raw)
        # An empty signature (what Gitea sends for a hook without a secret) is missing too.
        r = call(d, "POST", "/webhooks/gitea", raw=body,
                 headers={"X-Gitea-Event": "repository", "X-Gitea-Signature": "",
                          "X-Hub-Signature-256": "sha256="})
        assert r.status == 401
        # Signed over other bytes than the body.
        r = call(d, "POST", "/webhooks/gitea", raw=body + b" ",
                 headers={"X-Gitea-Event": "repository", "X-Gitea-Signature": sign(body)})
        assert r.status == 401
        rows = conn.execute("SELECT result, event, org FROM vibn_webhook_deliveries").fetchall()
        assert rows == [("accepted", "repository", "vibn-acme")] * 2
        wait_for(lambda: conn.execute("SELECT count(*) FROM vibn_test_runs").fetchone()[0] >= 2,
                 what="a run after the webhook")
    assert metric(d, "accepted") == 2
    assert metric(d, "bad_signature") == 5


def test_webhook_previous_secret_accepted_while_rotating(db_url, daemons):
    # GITEA_WEBHOOK_SECRET_PREVIOUS: hooks still signing with the old secret keep working until
    # the reconciler has given each the new one.
    d = start(daemons, db_url, env={"GITEA_WEBHOOK_SECRET_PREVIOUS": "the-old-secret"})
    with connect(db_url) as conn:
        add_ws(conn, "acme")
        wait_for(lambda: drained(conn), what="the initial run")
        body = repo_payload("vibn-acme")
        for secret in (WEBHOOK_SECRET, "the-old-secret"):
            for form in ("gitea", "hub"):
                r = deliver(d, body, sig=form, secret=secret)
                assert r.status == 202 and r.json["result"] == "accepted", (secret, form, r.raw)
        r = deliver(d, body, secret="another-secret")
        assert r.status == 401 and r.json["code"] == "bad_signature"
    assert "the-old-secret" not in d.log()


def test_replayed_delivery_enqueues_nothing(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        a = add_ws(conn, "acme")
        b = add_ws(conn, "beta")
        wait_for(lambda: drained(conn), what="the initial runs")
        lis = Listener(db_url, "vibn_reconcile")
        try:
            body = repo_payload("vibn-acme")
            r = deliver(d, body, delivery="dup-1")
            assert r.json["result"] == "accepted"
            lis.wait(1)
            wait_for(lambda: drained(conn), what="the webhook's run")
            runs_before = conn.execute("SELECT count(*) FROM vibn_test_runs").fetchone()[0]
            r = deliver(d, body, delivery="dup-1")
            assert r.status == 202 and r.json == {"result": "duplicate"}, r.raw
            # A barrier: a fresh delivery for beta. Notifications arrive in commit order, so
            # had the replay enqueued acme, its notification would come first.
            assert deliver(d, repo_payload("vibn-beta")).json["result"] == "accepted"
            got = lis.wait(2)
            assert [p for _, p in got] == [a, b]
            wait_for(lambda: drained(conn), what="beta's run")
            runs = conn.execute("SELECT workspace_id::text FROM vibn_test_runs ORDER BY id"
                                ).fetchall()[runs_before:]
            assert runs == [(b,)]
        finally:
            lis.close()
        assert conn.execute("SELECT count(*) FROM vibn_webhook_deliveries WHERE delivery_id = 'dup-1'"
                            ).fetchone()[0] == 1
    assert metric(d, "duplicate") == 1


def test_unknown_org_other_events_and_mapping(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_ws(conn, "acme", gitea_org="Acme-Custom")
        add_ws(conn, "beta")
        wait_for(lambda: drained(conn), what="the initial runs")
        r = deliver(d, repo_payload("nobody-knows"))
        assert r.status == 202 and r.json == {"result": "unknown_org"}, r.raw
        r = deliver(d, repo_payload("acme-custom"))  # recorded gitea_org, any case
        assert r.json == {"result": "accepted", "workspace": "acme"}
        r = deliver(d, repo_payload("vibn-acme"))  # gitea_org recorded: the name is not enough
        assert r.json == {"result": "unknown_org"}
        r = deliver(d, repo_payload("VIBN-Beta"))
        assert r.json == {"result": "accepted", "workspace": "beta"}
        r = deliver(d, repo_payload("vibn-beta"), event="push")
        assert r.status == 202 and r.json["result"] == "ignored", r.raw
        body = json.dumps({"action": "deleted", "repository": {"name": "x"}}).encode()
        assert deliver(d, body).json["result"] == "ignored"  # no org at all
        r = deliver(d, b"[1, 2]")
        assert r.status == 400 and r.json["code"] == "bad_payload"
        wait_for(lambda: drained(conn), what="the webhook runs")
        reasons = conn.execute("SELECT count(*) FROM vibn_webhook_deliveries WHERE result = 'unknown_org'"
                               ).fetchone()[0]
        assert reasons == 2
    assert metric(d, "unknown_org") == 2 and metric(d, "ignored") == 2
    assert metric(d, "accepted") == 2 and metric(d, "bad_payload") == 1


def test_webhook_caps_and_content_type(db_url, daemons):
    d = start(daemons, db_url)
    # Over the 1 MiB cap: refused from the headers, before the body is read.
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
        s.sendall(b"POST /webhooks/gitea HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (1024 * 1024 + 1))
        assert s.recv(4096).startswith(b"HTTP/1.1 413 ")
    body = repo_payload("vibn-acme")
    r = deliver(d, body, ctype="application/x-www-form-urlencoded")
    assert r.status == 415 and r.json["code"] == "unsupported_media_type"
    r = deliver(d, body, ctype="Application/JSON; charset=utf-8")
    assert r.status == 202
    r = call(d, "GET", "/webhooks/gitea")
    assert r.status == 405 and r.headers["allow"] == "POST"
    assert metric(d, "unsupported_media_type") == 1


def test_webhooks_need_a_secret_unless_off(db_url, daemons):
    e = {"DATABASE_URL": db_url, "VIBN_RECONCILER": "test", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([vibnd_binary(e), "-n"], env=e, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "GITEA_WEBHOOK_SECRET" in r.stderr and "VIBN_WEBHOOKS=off" in r.stderr
    d = start(daemons, db_url, env={"GITEA_WEBHOOK_SECRET": "", "VIBN_WEBHOOKS": "off"})
    assert call(d, "POST", "/webhooks/gitea", raw=b"{}").status == 404
    assert call(d, "GET", "/api/workspaces", headers=ADMIN_H).status == 200


# --- the tenant API -----------------------------------------------------------------------

ALL_SCOPES = ["read", "write", "keys"]


def mint(d, slug, name="ci", headers=ADMIN_H, scopes=None):
    body = {"name": name}
    if scopes is not None:
        body["scopes"] = scopes
    r = call(d, "POST", "/api/workspaces/%s/keys" % slug, body, headers=headers)
    assert r.status == 201, r.raw
    return r.json


def test_key_is_pinned_to_its_workspace(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_ws(conn, "acme")
        add_ws(conn, "beta")
    ka = mint(d, "acme", scopes=ALL_SCOPES)
    kb = mint(d, "beta", scopes=ALL_SCOPES)
    assert ka["token"].startswith("vibn_sk_") and ka["prefix"] == ka["token"][:12]
    h = bearer(ka["token"])
    r = call(d, "GET", "/api/workspaces", headers=h)
    assert r.status == 200 and [w["slug"] for w in r.json["workspaces"]] == ["acme"]
    assert r.json["next"] is None
    assert call(d, "GET", "/api/workspaces/acme", headers=h).json["slug"] == "acme"
    routes = [("GET", "/api/workspaces/%s", None), ("POST", "/api/workspaces/%s/provision", None),
              ("GET", "/api/workspaces/%s/keys", None), ("POST", "/api/workspaces/%s/keys", {"name": "x"}),
              ("DELETE", "/api/workspaces/%%s/keys/%s" % kb["id"], None)]
    for method, path, body in routes:
        other = call(d, method, path % "beta", body, headers=h)
        missing = call(d, method, path % "nope", body, headers=h)
        assert other.status == 404 and other.json == {"error": "no such workspace",
                                                      "code": "not_found"}, (method, path, other.raw)
        assert (missing.status, missing.raw) == (other.status, other.raw), (method, path)
    # beta's key still works, and nothing of beta changed
    assert call(d, "GET", "/api/workspaces/beta/keys", headers=bearer(kb["token"])).json["keys"][0][
        "revoked_at"] is None
    # the admin sees both
    r = call(d, "GET", "/api/workspaces?limit=1", headers={"Authorization": "Bearer " + ADMIN})
    assert [w["slug"] for w in r.json["workspaces"]] == ["acme"] and r.json["next"] == "acme"
    r = call(d, "GET", "/api/workspaces?limit=1&after=acme", headers=ADMIN_H)
    assert [w["slug"] for w in r.json["workspaces"]] == ["beta"]
    assert call(d, "GET", "/api/workspaces?limit=0", headers=ADMIN_H).status == 400


def test_one_tenancy_rule_a_deleted_workspace_is_gone_for_everyone(db_url, daemons):
    """The one gate (tenancy/tenancy.c): REST, MCP and the connect files give a soft-deleted
    workspace the same 404 as one that never existed, admin included; its keys stop
    authenticating at all (401)."""
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_ws(conn, "acme")
        add_ws(conn, "beta")
        key = mint(d, "acme")
        conn.execute("UPDATE vibn_workspaces SET deleted_at = now() WHERE slug = 'acme'")
    never = call(d, "GET", "/api/workspaces/nope", headers=ADMIN_H)
    assert never.status == 404
    for headers in (ADMIN_H,):
        for method, path, body in [("GET", "/api/workspaces/acme", None),
                                   ("POST", "/api/workspaces/acme/provision", None),
                                   ("GET", "/api/workspaces/acme/keys", None),
                                   ("POST", "/api/workspaces/acme/keys", {"name": "x"}),
                                   ("DELETE", "/api/workspaces/acme/keys/%s" % key["id"], None)]:
            r = call(d, method, path, body, headers=headers)
            assert (r.status, r.raw) == (never.status, never.raw), (method, path, r.raw)
        listed = call(d, "GET", "/api/workspaces", headers=headers).json["workspaces"]
        assert "acme" not in [w["slug"] for w in listed]
    assert call(d, "GET", "/api/workspaces/acme", headers=bearer(key["token"])).status == 401
    assert call(d, "GET", "/api/workspaces/acme/connect", headers=bearer(key["token"])).status == 401
    r = call(d, "POST", "/api/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "list_repos", "arguments": {"workspace": "acme"}}}, headers=ADMIN_H)
    assert r.status == 200 and r.json["result"]["isError"], r.raw
    assert [w["slug"] for w in call(d, "GET", "/api/workspaces", headers=ADMIN_H).json[
        "workspaces"]] == ["beta"]


def test_workspace_detail_and_provision(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        wid = add_ws(conn, "acme", gitea_org="vibn-acme")
        conn.execute("INSERT INTO vibn_workspace_repos (workspace_id, name, gitea_repo_id) VALUES (%s, 'web', 42)",
                     (wid,))
        wait_for(lambda: drained(conn), what="the initial runs")
        h = bearer(mint(d, "acme")["token"])
        w = call(d, "GET", "/api/workspaces/acme", headers=h).json
        assert w["id"] == wid and w["gitea_org"] == "vibn-acme" and w["provision_status"] == "pending"
        assert w["repos"] == [{"name": "web", "gitea_repo_id": 42}] and w["apps"] == []
        assert isinstance(w["conditions"], list) and "created_at" in w
        r = call(d, "POST", "/api/workspaces/acme/provision", headers=h)
        assert r.status == 202 and r.json == {"workspace": "acme", "enqueued": True}
        wait_for(lambda: conn.execute("SELECT count(*) FROM vibn_test_runs WHERE priority = 0 AND"
                                      " workspace_id = %s", (wid,)).fetchone()[0] >= 2,
                 what="an interactive run after provision")


def test_keys_lifecycle_revoked_401_and_no_plaintext(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_ws(conn, "acme")
        k = mint(d, "acme", name="laptop", scopes=ALL_SCOPES)
        h = bearer(k["token"])
        k2 = mint(d, "acme", name="ci", headers=h)  # a key with the keys scope may mint
        r = call(d, "GET", "/api/workspaces/acme/keys", headers=h)
        assert r.status == 200 and sorted(x["name"] for x in r.json["keys"]) == ["ci", "laptop"]
        assert "token" not in r.raw and k["token"] not in r.raw and k2["token"] not in r.raw
        # the plaintext token is nowhere in the database; its sha256 is
        dump = subprocess.run([PGBIN + "/pg_dump", "--data-only", db_url], capture_output=True,
                              text=True, check=True).stdout
        for t in (k["token"], k2["token"]):
            assert t not in dump and t[8:] not in dump
            assert hashlib.sha256(t.encode()).hexdigest() in dump
        assert conn.execute("SELECT count(*) FROM vibn_workspace_api_keys WHERE last_used_at IS NOT NULL"
                            ).fetchone()[0] == 1
        # bad bodies
        for body, raw, ct, status in [(None, b"{}", "application/json", 400),
                                      (None, b'{"name": "x", "admin": true}', "application/json", 400),
                                      (None, b"not json", "application/json", 400),
                                      (None, b'{"name": ""}', "application/json", 400),
                                      (None, b'{"name": "x"}', "text/plain", 415),
                                      (None, b'{"name": "' + b"x" * 20000 + b'"}', "application/json", 413)]:
            r = call(d, "POST", "/api/workspaces/acme/keys", raw=raw, headers=h, ctype=ct)
            assert r.status == status and r.json["code"], (raw[:40], r.raw)
        # revoke: 204, again 204, unknown or malformed 404; then the key is 401
        r = call(d, "DELETE", "/api/workspaces/acme/keys/" + k2["id"], headers=h)
        assert r.status == 204 and r.raw == ""
        assert call(d, "DELETE", "/api/workspaces/acme/keys/" + k2["id"], headers=h).status == 204
        assert call(d, "DELETE", "/api/workspaces/acme/keys/" + str(uuid.uuid4()), headers=h).status == 404
        assert call(d, "DELETE", "/api/workspaces/acme/keys/not-a-uuid", headers=h).status == 404
        r = call(d, "GET", "/api/workspaces", headers=bearer(k2["token"]))
        assert r.status == 401 and r.json["code"] == "unauthorized"
        assert "bearer" in r.headers["www-authenticate"].lower()


def test_auth_failures_and_admin(db_url, daemons):
    d = start(daemons, db_url)
    with connect(db_url) as conn:
        add_ws(conn, "acme")
    k = mint(d, "acme")
    fake = "vibn_sk_" + "A" * 43
    for h in [{}, {"x-admin-secret": "wrong"}, {"Authorization": "Bearer wrong"},
              bearer(fake), {"Authorization": "Basic Zm9vOmJhcg=="}, {"x-admin-secret": ADMIN + "x"}]:
        for method, path in [("GET", "/api/workspaces"), ("GET", "/api/workspaces/acme"),
                             ("POST", "/api/admin/migrate")]:
            r = call(d, method, path, headers=h)
            assert r.status == 401 and r.json["code"] == "unauthorized", (h, path, r.raw)
    r = call(d, "POST", "/api/admin/migrate", headers=bearer(k["token"]))
    assert r.status == 403 and r.json["code"] == "forbidden"
    r = call(d, "POST", "/api/admin/migrate", headers=ADMIN_H)
    assert r.status == 200 and r.json == {"applied": [], "count": 0}
    r = call(d, "DELETE", "/api/workspaces", headers=ADMIN_H)
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD" and r.json["code"] == "method_not_allowed"
    r = call(d, "PUT", "/api/workspaces/acme/keys", headers=ADMIN_H)
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD, POST"
    r = call(d, "GET", "/api/nothing", headers=ADMIN_H)
    assert r.status == 404 and r.json["code"] == "not_found"
    assert d.stop() == 0
    log = d.log()
    assert ADMIN not in log and k["token"] not in log


def test_admin_migrate_applies_pending(empty_db_url, daemons):
    d = start(daemons, empty_db_url, wait_ready=False)

    def migrate():
        try:
            return call(d, "POST", "/api/admin/migrate", headers=ADMIN_H)
        except OSError:
            return None  # not listening yet
    r = wait_for(migrate, what="migrate answered")
    assert r.status == 200, r.raw
    assert r.json["count"] >= 5 and r.json["applied"][:2] == ["0001_init", "0002_queue"]
    assert "0004_api" in r.json["applied"]
    d.wait_ready()


def test_stuck_database_gives_503_quickly(db_url, daemons):
    d = start(daemons, db_url, env={"VIBN_API_TIMEOUT": "0.3"})
    with connect(db_url) as conn:
        add_ws(conn, "acme")
        wait_for(lambda: drained(conn), what="the initial run")
        with connect(db_url) as locker:
            locker.execute("BEGIN")
            locker.execute("LOCK TABLE vibn_workspaces IN ACCESS EXCLUSIVE MODE")
            r = call(d, "GET", "/api/workspaces/acme", headers=ADMIN_H)
            assert r.status == 503 and r.json["code"] in ("timeout", "db_error"), r.raw
            # A signed delivery the database does not take in time is not failed: it is
            # kept in the disk spool (issue 14, no lost delivery) and replayed later.
            r = deliver(d, repo_payload("vibn-acme"), delivery="stuck-1")
            assert r.status == 202 and r.json["result"] == "spooled", r.raw
            locker.execute("ROLLBACK")
        # and the connections recover
        assert call(d, "GET", "/api/workspaces/acme", headers=ADMIN_H).status == 200
        assert deliver(d, repo_payload("vibn-acme")).status == 202
        wait_for(lambda: conn.execute("SELECT count(*) FROM vibn_webhook_deliveries"
                                      " WHERE delivery_id = 'stuck-1'").fetchone()[0] == 1,
                 what="the spooled delivery replayed")


# --- end to end: vibn-sim's own signed webhook makes the reconciler repair ---------------

def test_sim_webhook_repairs_a_deleted_repo(db_url, daemons):
    sim = Sim()
    try:
        port = free_port()
        env = {"VIBN_RECONCILER": "workspace", "GITEA_API_URL": sim.gitea + "/api/v1",
               "GITEA_API_TOKEN": "gitea-token", "GITEA_ADMIN_USER": "vibn-admin",
               "COOLIFY_URL": sim.coolify, "COOLIFY_API_TOKEN": "coolify-token",
               "COOLIFY_SERVER_UUID": "vibnsimlocalhostserver01",
               "VIBN_COOLIFY_DEPLOY_KEY_UUID": "vibnsimdeploykey00000001", "VIBN_PUBLIC_URL": "http://127.0.0.1:%d" % port,
               "VIBN_RESYNC_INTERVAL": "3600"}
        d = start(daemons, db_url, env=env, port=port)

        def simctl(method, path, body=None):
            r = call(type("S", (), {"port": int(sim.gitea.rsplit(":", 1)[1])}), method,
                     "/_sim/" + path, body)
            assert r.status < 300, (path, r.raw)
            return r.json

        simctl("POST", "users", {"username": "alice", "email": "alice@example.com"})
        with connect(db_url) as conn:
            with conn.transaction():
                wid = add_ws(conn, "acme")
                conn.execute("UPDATE vibn_workspaces SET owner = 'alice', source = 'manifest'"
                             " WHERE id = %s", (wid,))
                conn.execute("INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role)"
                             " VALUES (%s, 'alice', 'alice', 'owner')", (wid,))
                conn.execute("INSERT INTO vibn_workspace_repos (workspace_id, name) VALUES (%s, 'web')", (wid,))

            def status():
                return conn.execute("SELECT provision_status FROM vibn_workspaces WHERE id = %s",
                                    (wid,)).fetchone()[0]
            wait_for(lambda: status() == "ready" and queue_len(conn) == 0, timeout=30,
                     what="acme ready")

            def repos():
                orgs = [o for o in simctl("GET", "state")["gitea"]["orgs"] if o["name"] == "vibn-acme"]
                return [r["name"] for r in orgs[0]["repos"]] if orgs else None
            assert repos() == ["web"]
            hooks = [o for o in simctl("GET", "state")["gitea"]["orgs"] if o["name"] == "vibn-acme"][0]["hooks"]
            assert any(h.get("url", h.get("config", {}).get("url", "")).endswith("/webhooks/gitea")
                       for h in hooks), hooks
            accepted = metric(d, "accepted")
            simctl("POST", "drift", {"action": "delete_repo", "org": "vibn-acme", "repo": "web"})
            assert repos() == []
            # the simulator delivers the signed "deleted" event; vibnd answers 202 and the
            # reconcile it enqueued creates the repo again
            wait_for(lambda: any(x["action"] == "deleted" and x["status"] == 202
                                 for x in simctl("GET", "deliveries")), timeout=15,
                     what="the deleted delivery answered 202")
            wait_for(lambda: repos() == ["web"], timeout=30, what="the repo re-created")
            assert metric(d, "accepted") > accepted
            assert conn.execute("SELECT count(*) FROM vibn_webhook_deliveries WHERE org = 'vibn-acme'"
                                " AND result = 'accepted'").fetchone()[0] >= 1
    finally:
        sim.stop()


def test_accept_batch_sql(db):
    """The batch function itself: positions kept, duplicates inside one batch and across
    batches, unknown orgs, no-dedup NULL ids, one enqueue per workspace."""
    a = add_ws(db, "acme")
    db.execute("DELETE FROM vibn_reconcile_queue")
    rows = db.execute("SELECT out_idx, out_result, out_slug FROM vibn_webhook_accept_batch(%s, %s, %s)",
                      (["d1", "d2", "d1", None, "d3"],
                       ["vibn-acme", "Vibn-Acme", "vibn-acme", "vibn-acme", "other"],
                       ["repository"] * 5)).fetchall()
    assert rows == [(1, "accepted", "acme"), (2, "accepted", "acme"), (3, "duplicate", "acme"),
                    (4, "accepted", "acme"), (5, "unknown_org", None)]
    q = db.execute("SELECT workspace_id::text, priority, reason FROM vibn_reconcile_queue").fetchall()
    assert q == [(a, 0, "webhook")]
    rows = db.execute("SELECT * FROM vibn_webhook_accept('d2', 'vibn-acme', 'repository')").fetchall()
    assert [r[0] for r in rows] == ["duplicate"]
    assert db.execute("SELECT count(*) FROM vibn_webhook_deliveries").fetchone()[0] == 3  # not the NULL id
    db.execute("UPDATE vibn_webhook_deliveries SET received_at = now() - interval '49 hours'"
               " WHERE delivery_id = 'd1'")
    assert db.execute("SELECT vibn_webhook_prune('48 hours')").fetchone()[0] == 1
