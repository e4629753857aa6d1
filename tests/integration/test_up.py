"""`make up` (scripts/up.sh) puts the settings page one click away: it starts the stack with
an admin secret, prints it and a one-time sign-in link for each example workspace, and every
one of them works; Ctrl-C (here SIGINT) stops everything it started."""
import json
import os
import re
import select
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN

ROOT = os.environ.get("VIBN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))


def post(url, body=None, headers=None):
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method="POST", headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def default_sigint():
    # Ctrl-C is what the test sends. A runner started in the background by a shell without
    # job control passes SIGINT on ignored, and a shell cannot trap a signal ignored when it
    # started: up.sh would never hear it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_until(proc, marker, timeout):
    """The script's output up to marker (fails at the deadline). Reads the pipe itself, in
    chunks, so nothing waits in a buffer that select() cannot see."""
    out, deadline = b"", time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while marker.encode() not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail("make up printed no %r in %ds:\n%s" % (marker, timeout, out.decode()))
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            pytest.fail("make up ended (%s) before %r:\n%s" % (proc.wait(), marker, out.decode()))
        out += chunk
    return out.decode()


def test_make_up_prints_an_admin_secret_and_working_sign_in_links():
    up_dir = tempfile.mkdtemp(prefix="vibn-up-")
    env = dict(os.environ, VIBN_BIN=BIN, UP_DIR=os.path.join(up_dir, "up"))
    for k in ("DATABASE_URL", "VIBN_PUBLIC_URL", "ADMIN_MIGRATE_SECRET"):
        env.pop(k, None)
    proc = subprocess.Popen([os.path.join(ROOT, "scripts", "up.sh")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=default_sigint)
    try:
        text = read_until(proc, "Ctrl-C stops everything", 120)
        url = re.search(r"^  vibnd +(http://127\.0\.0\.1:\d+) ", text, re.M).group(1)
        secret = re.search(r"^  ADMIN_MIGRATE_SECRET=([0-9a-f]{32})$", text, re.M).group(1)
        links = dict(re.findall(r"^  ([a-z0-9-]+) +(http://\S+/ui/#login=vibn_ll_[0-9a-f]{64})$",
                                text, re.M))
        # One link per example workspace, each signing in to its own workspace once.
        assert sorted(links) == ["acme", "prune-a", "prune-b", "prune-c", "solo"], text
        for slug, link in links.items():
            assert link.startswith(url + "/ui/#login=")
            status, body = post(url + "/ui/session", {"token": link.rsplit("=", 1)[1]})
            assert status == 201 and json.loads(body)["workspace"] == slug, body
        # The printed secret is vibnd's admin secret: it mints links and signs in.
        status, body = post(url + "/api/workspaces/acme/login-links", None,
                            {"x-admin-secret": secret})
        assert status == 201, body
        status, body = post(url + "/ui/session", {"adminSecret": secret})
        assert status == 201 and json.loads(body)["admin"] is True
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            rest = proc.communicate(timeout=60)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        subprocess.run(["rm", "-rf", up_dir])
    assert proc.returncode == 0, rest
    assert "stopped." in rest
    # Nothing it started is left behind.
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/healthz", timeout=2)
