"""The settings page's server side over plain HTTP (the browser test, test_ui_browser.py,
drives the page itself): the embedded files and their security headers, login links (admin
secret only; exchanged once; reused, expired and forged ones refused with a clear code), the
session cookie's attributes, CSRF on cookie-authenticated state changes (and none on bearer
requests), the tenancy of sessions, sign-out, the admin's session, ETags, vibnctl
login-link, and no token in the log."""
import html.parser
import json
import os
import re
import urllib.error
import urllib.request

import pytest

from conftest import ctl
from vibnd_proc import Daemon, connect, free_port

ADMIN = "ui-admin-secret-0123456789"
ROOT = os.environ.get("VIBN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(method, url, body=None, headers=None):
    """(status, headers, text); never raises on an HTTP status, never follows redirects."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    if isinstance(data, str):
        data = data.encode()
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with OPENER.open(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


@pytest.fixture
def env(db_url):
    conn = connect(db_url)
    for slug in ("a", "b"):
        conn.execute("INSERT INTO vibn_workspaces (slug, name, owner, source) "
                     "VALUES (%s, %s, 'u', 'api')", (slug, "Team " + slug.upper()))
    keys = {}
    for slug in ("a", "b"):
        r = ctl("keys", "mint", "--workspace", slug, "--name", "agent", db_url=db_url)
        assert r.returncode == 0, r.stderr
        keys[slug] = r.stdout.strip()
    port = free_port()
    d = Daemon(db_url, port=port, env={"VIBN_RECONCILER": "noop", "ADMIN_MIGRATE_SECRET": ADMIN,
                                       "VIBN_SESSION_TTL": "3600",
                                       "VIBN_PUBLIC_URL": "http://127.0.0.1:%d" % port})
    try:
        yield {"d": d, "db": conn, "keys": keys, "url": d.url, "db_url": db_url}
    finally:
        d.stop()
        d.close()
        conn.close()


def link(env, slug="a", ttl=None):
    body = {"ttl": ttl} if ttl else None
    status, headers, text = request("POST", env["url"] + "/api/workspaces/%s/login-links" % slug,
                                    body, {"x-admin-secret": ADMIN})
    assert status == 201, text
    return json.loads(text)


def token_of(url):
    m = re.search(r"/ui/#login=(vibn_ll_[0-9a-f]{64})$", url)
    assert m, url
    return m.group(1)


def sign_in(env, slug="a"):
    """Signs in through a fresh link; returns (cookie header value, csrf, Set-Cookie)."""
    tok = token_of(link(env, slug)["url"])
    status, headers, text = request("POST", env["url"] + "/ui/session", {"token": tok})
    assert status == 201, text
    set_cookie = headers["Set-Cookie"]
    cookie = set_cookie.split(";", 1)[0]
    return cookie, json.loads(text)["csrf"], set_cookie


class Scripts(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.inline = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and "src" not in a:
            self.inline.append("<script> without src")
        for k in a:
            if k == "style" or k.startswith("on"):
                self.inline.append("%s %s=" % (tag, k))
        if tag == "style":
            self.inline.append("<style>")


def test_page_files_and_security_headers(env):
    url = env["url"]
    status, headers, _ = request("GET", url + "/")
    assert status == 302 and headers["Location"] == "/ui/"
    assert request("GET", url + "/ui")[0] == 200
    status, headers, page = request("GET", url + "/ui/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    # What the browser gets is the file in ui/, and it has no inline script or style.
    with open(os.path.join(ROOT, "ui", "index.html"), encoding="utf-8") as f:
        assert page == f.read()
    p = Scripts()
    p.feed(page)
    assert p.inline == []
    assert not re.search(r"https?://", page), "the page loads nothing from outside"
    etag = headers["ETag"]
    status, headers, body = request("GET", url + "/ui/", headers={"If-None-Match": etag})
    assert status == 304 and body == ""
    for name, ctype in (("app.js", "text/javascript; charset=utf-8"),
                        ("app.css", "text/css; charset=utf-8"), ("favicon.svg", "image/svg+xml")):
        status, headers, _ = request("GET", url + "/ui/" + name)
        assert status == 200 and headers["Content-Type"] == ctype, name
        assert headers["Content-Security-Policy"] == CSP
    with open(os.path.join(ROOT, "ui", "app.js"), encoding="utf-8") as f:
        js = f.read()
    # Values reach the page as text: nothing parses strings as markup or code.
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|eval\(|new Function", js)
    assert request("GET", url + "/ui/nope.js")[0] == 404
    assert request("POST", url + "/ui/app.js")[0] == 405


def test_login_links_admin_secret_only(env):
    url, keys = env["url"], env["keys"]
    path = url + "/api/workspaces/a/login-links"
    assert request("POST", path)[0] == 401
    assert request("POST", path, headers={"x-admin-secret": "wrong"})[0] == 401
    status, _, text = request("POST", path, headers={"Authorization": "Bearer " + keys["a"]})
    assert status == 403 and json.loads(text)["code"] == "forbidden"
    assert request("POST", url + "/api/workspaces/zz/login-links",
                   headers={"x-admin-secret": ADMIN})[0] == 404
    status, headers, text = request("POST", path, headers={"x-admin-secret": ADMIN})
    assert status == 201 and headers["Cache-Control"] == "no-store"
    doc = json.loads(text)
    assert set(doc) == {"url", "expiresAt"}
    assert doc["url"].startswith(url + "/ui/#login=vibn_ll_")
    exp = env["db"].execute("SELECT expires_at - now() FROM vibn_login_links "
                            "ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    assert 540 < exp.total_seconds() <= 600
    link(env, "a", "2h")
    exp = env["db"].execute("SELECT expires_at - now() FROM vibn_login_links "
                            "ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    assert 7000 < exp.total_seconds() <= 7200
    for bad in ({"ttl": "2w"}, {"ttl": "3d"}, {"ttl": 0}, {"ttl": "10m", "x": 1}):
        status, _, text = request("POST", path, bad, {"x-admin-secret": ADMIN})
        assert status == 400, bad
    # Stored as a hash only: the token itself is nowhere in the table.
    tok = token_of(link(env)["url"])
    rows = env["db"].execute("SELECT * FROM vibn_login_links").fetchall()
    assert tok not in repr(rows)


def test_link_works_once_and_sets_a_strict_cookie(env):
    url, db = env["url"], env["db"]
    tok = token_of(link(env)["url"])
    status, headers, text = request("POST", url + "/ui/session", {"token": tok})
    assert status == 201, text
    assert headers["Cache-Control"] == "no-store"
    doc = json.loads(text)
    assert doc["workspace"] == "a" and doc["admin"] is False and re.fullmatch(r"[0-9a-f]{64}", doc["csrf"])
    attrs = [a.strip() for a in headers["Set-Cookie"].split(";")]
    assert re.fullmatch(r"vibn_session=[0-9a-f]{64}", attrs[0])
    assert set(attrs[1:]) == {"Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Strict"}
    session = attrs[0].split("=", 1)[1]
    (hashes,) = db.execute("SELECT array_agg(token_hash) FROM vibn_ui_sessions").fetchone()
    assert session not in hashes and len(hashes) == 1
    # Reused, expired, forged: each refused with its own clear code.
    status, _, text = request("POST", url + "/ui/session", {"token": tok})
    assert status == 401 and json.loads(text)["code"] == "link_used"
    tok2 = token_of(link(env)["url"])
    db.execute("UPDATE vibn_login_links SET expires_at = now() - interval '1 second' "
               "WHERE used_at IS NULL")
    status, _, text = request("POST", url + "/ui/session", {"token": tok2})
    assert status == 401 and json.loads(text)["code"] == "link_expired"
    forged = tok2[:-4] + ("0000" if not tok2.endswith("0000") else "1111")
    for t in (forged, "vibn_ll_x", "", "a" * 64):
        status, _, text = request("POST", url + "/ui/session", {"token": t})
        assert status == 401 and json.loads(text)["code"] == "link_invalid", t
    # Sign-in requests come from the page itself: JSON only, from the same origin.
    tok3 = token_of(link(env)["url"])
    assert request("POST", url + "/ui/session", "token=" + tok3,
                   {"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert request("POST", url + "/ui/session", {"token": tok3},
                   {"Origin": "https://evil.example"})[0] == 403
    assert request("POST", url + "/ui/session", {"token": tok3, "x": 1})[0] == 400
    status, _, _ = request("POST", url + "/ui/session", {"token": tok3}, {"Origin": url})
    assert status == 201


def test_session_is_a_principal_of_its_workspace_with_csrf(env):
    url, keys = env["url"], env["keys"]
    cookie, csrf, _ = sign_in(env, "a")
    c = {"Cookie": cookie}
    status, _, text = request("GET", url + "/ui/session", headers=c)
    assert status == 200 and json.loads(text)["workspace"] == "a"
    assert json.loads(text)["csrf"] == csrf
    status, _, text = request("GET", url + "/api/workspaces", headers=c)
    assert [w["slug"] for w in json.loads(text)["workspaces"]] == ["a"]
    assert request("GET", url + "/api/workspaces/a", headers=c)[0] == 200
    # Another workspace is 404, exactly like one that does not exist.
    other = request("GET", url + "/api/workspaces/b", headers=c)
    missing = request("GET", url + "/api/workspaces/zz", headers=c)
    assert other[0] == missing[0] == 404 and other[2] == missing[2]
    assert request("GET", url + "/api/workspaces/b/keys", headers=c)[0] == 404
    # State changes need the session's CSRF token: missing or wrong is 403 and changes nothing.
    before = env["db"].execute("SELECT count(*) FROM vibn_workspace_api_keys").fetchone()[0]
    for extra in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": csrf[:-1]}):
        status, _, text = request("POST", url + "/api/workspaces/a/keys", {"name": "x"},
                                  dict(c, **extra))
        assert status == 403 and json.loads(text)["code"] == "csrf", extra
        assert request("POST", url + "/api/workspaces/a/provision", None,
                       dict(c, **extra))[0] == 403
    assert env["db"].execute("SELECT count(*) FROM vibn_workspace_api_keys").fetchone()[0] == before
    status, headers, text = request("POST", url + "/api/workspaces/a/keys", {"name": "page"},
                                    dict(c, **{"X-CSRF-Token": csrf}))
    assert status == 201 and headers["Cache-Control"] == "no-store"
    key_id = json.loads(text)["id"]
    assert request("DELETE", url + "/api/workspaces/a/keys/" + key_id, None, c)[0] == 403
    assert request("DELETE", url + "/api/workspaces/a/keys/" + key_id, None,
                   dict(c, **{"X-CSRF-Token": csrf}))[0] == 204
    assert request("POST", url + "/api/workspaces/a/provision", None,
                   dict(c, **{"X-CSRF-Token": csrf}))[0] == 202
    # Another session's CSRF token does not fit this session.
    _, csrf_b, _ = sign_in(env, "b")
    assert request("POST", url + "/api/workspaces/a/provision", None,
                   dict(c, **{"X-CSRF-Token": csrf_b}))[0] == 403
    # Bearer keys need no CSRF token (a browser never adds Authorization by itself).
    assert request("POST", url + "/api/workspaces/a/provision", None,
                   {"Authorization": "Bearer " + keys["a"]})[0] == 202
    # A session is no MCP credential, and no admin.
    assert request("POST", url + "/api/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                   c)[0] == 401
    assert request("POST", url + "/api/workspaces/a/login-links", None,
                   dict(c, **{"X-CSRF-Token": csrf}))[0] == 403
    # A cookie that is no session of ours is 401, like a bad key.
    assert request("GET", url + "/api/workspaces/a",
                   headers={"Cookie": "vibn_session=" + "0" * 64})[0] == 401


def test_sign_out_revokes_the_session(env):
    url = env["url"]
    cookie, csrf, _ = sign_in(env, "a")
    c = {"Cookie": cookie}
    assert request("DELETE", url + "/ui/session", None, c)[0] == 403
    assert request("GET", url + "/api/workspaces/a", headers=c)[0] == 200
    status, headers, _ = request("DELETE", url + "/ui/session", None,
                                 dict(c, **{"X-CSRF-Token": csrf}))
    assert status == 204
    assert headers["Set-Cookie"].startswith("vibn_session=; Path=/; Max-Age=0")
    assert request("GET", url + "/api/workspaces/a", headers=c)[0] == 401
    status, _, text = request("GET", url + "/ui/session", headers=c)
    assert status == 200 and json.loads(text) == {"signedIn": False}
    # An expired session is as good as none.
    cookie2, _, _ = sign_in(env, "a")
    env["db"].execute("UPDATE vibn_ui_sessions SET expires_at = now() - interval '1 second'")
    assert request("GET", url + "/api/workspaces/a", headers={"Cookie": cookie2})[0] == 401


def test_admin_secret_signs_in_and_sees_every_workspace(env):
    url = env["url"]
    status, _, text = request("POST", url + "/ui/session", {"adminSecret": "nope"})
    assert status == 401 and json.loads(text)["code"] == "invalid_credentials"
    status, headers, text = request("POST", url + "/ui/session", {"adminSecret": ADMIN})
    assert status == 201 and json.loads(text)["admin"] is True
    c = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
    status, _, text = request("GET", url + "/api/workspaces", headers=c)
    assert [w["slug"] for w in json.loads(text)["workspaces"]] == ["a", "b"]
    assert request("GET", url + "/api/workspaces/b/keys", headers=c)[0] == 200
    # A soft-deleted workspace is gone for every session, the admin's too.
    env["db"].execute("UPDATE vibn_workspaces SET deleted_at = now() WHERE slug = 'b'")
    assert request("GET", url + "/api/workspaces/b", headers=c)[0] == 404


def test_a_deleted_workspace_ends_its_sessions_and_links(env):
    url, db = env["url"], env["db"]
    cookie, _, _ = sign_in(env, "b")
    tok = token_of(link(env, "b")["url"])
    db.execute("UPDATE vibn_workspaces SET deleted_at = now() WHERE slug = 'b'")
    assert request("GET", url + "/api/workspaces/b", headers={"Cookie": cookie})[0] == 401
    status, _, text = request("POST", url + "/ui/session", {"token": tok})
    assert status == 401 and json.loads(text)["code"] == "link_invalid"


def test_api_get_etag(env):
    url = env["url"]
    # Listing keys takes the keys scope, which agent keys lack.
    r = ctl("keys", "mint", "--workspace", "a", "--name", "keeper", "--scopes", "read,write,keys",
            db_url=env["db_url"])
    assert r.returncode == 0, r.stderr
    h = {"Authorization": "Bearer " + r.stdout.strip()}
    status, headers, text = request("GET", url + "/api/workspaces/a/keys", headers=h)
    etag = headers["ETag"]
    assert status == 200 and re.fullmatch(r'"[0-9a-f]{32}"', etag)
    status, headers, text = request("GET", url + "/api/workspaces/a/keys",
                                    headers=dict(h, **{"If-None-Match": etag}))
    assert status == 304 and text == "" and headers["ETag"] == etag
    ctl("keys", "mint", "--workspace", "a", "--name", "more", db_url=env["db_url"])
    status, headers, _ = request("GET", url + "/api/workspaces/a/keys",
                                 headers=dict(h, **{"If-None-Match": etag}))
    assert status == 200 and headers["ETag"] != etag


def test_secure_cookie_when_the_public_url_is_https(db_url):
    conn = connect(db_url)
    conn.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('s', 'u')")
    d = Daemon(db_url, env={"VIBN_RECONCILER": "noop",
                            "VIBN_PUBLIC_URL": "https://vibn.example.com"})
    try:
        r = ctl("login-link", "--workspace", "s", db_url=db_url,
                env={"VIBN_PUBLIC_URL": "https://vibn.example.com"})
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("https://vibn.example.com/ui/#login=vibn_ll_")
        status, headers, _ = request("POST", d.url + "/ui/session", {"token": token_of(r.stdout.strip())})
        assert status == 201
        attrs = [a.strip() for a in headers["Set-Cookie"].split(";")]
        assert "Secure" in attrs and "HttpOnly" in attrs and "SameSite=Strict" in attrs
    finally:
        d.stop()
        d.close()
        conn.close()


def test_vibnctl_login_link(env):
    db_url, url = env["db_url"], env["url"]
    r = ctl("login-link", "--workspace", "a", "--url", url, "--ttl", "1h", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(re.escape(url) + r"/ui/#login=vibn_ll_[0-9a-f]{64}\n", r.stdout)
    assert "valid until" in r.stderr and "vibn_ll_" not in r.stderr
    exp = env["db"].execute("SELECT expires_at - now() FROM vibn_login_links "
                            "ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    assert 3500 < exp.total_seconds() <= 3600
    assert request("POST", url + "/ui/session", {"token": token_of(r.stdout.strip())})[0] == 201
    assert ctl("login-link", "--workspace", "zz", "--url", url, db_url=db_url).returncode == 1
    for args in ((), ("--workspace", "a", "--ttl", "2d", "--url", url),
                 ("--workspace", "a", "--ttl", "soon", "--url", url),
                 ("--workspace", "a", "--url", "ftp://x")):
        r = ctl("login-link", *args, db_url=db_url)
        assert r.returncode == 2 and r.stderr.startswith("vibnctl: login-link: "), args
    r = ctl("login-link", "--workspace", "a", db_url=db_url)
    assert r.returncode == 2 and "VIBN_PUBLIC_URL" in r.stderr
    assert ctl("login-link", "--help").returncode == 0


def test_no_token_or_secret_in_the_log(env):
    url = env["url"]
    lk = link(env)
    tok = token_of(lk["url"])
    status, headers, text = request("POST", url + "/ui/session", {"token": tok})
    session = headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    csrf = json.loads(text)["csrf"]
    status, _, text = request("POST", url + "/api/workspaces/a/keys", {"name": "k"},
                              {"Cookie": "vibn_session=" + session, "X-CSRF-Token": csrf})
    key = json.loads(text)["token"]
    request("POST", url + "/ui/session", {"token": tok})
    request("POST", url + "/ui/session", {"adminSecret": ADMIN})
    request("POST", url + "/ui/session", {"adminSecret": "wrong-guess"})
    log = env["d"].log()
    assert "signed in to workspace a" in log and "login link was used again" in log
    for secret in (tok, tok[8:], session, csrf, key, ADMIN, "wrong-guess"):
        assert secret not in log
