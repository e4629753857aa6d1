"""A clean vibnd shutdown leaks nothing: the product configuration (workspace reconciler,
webhooks, tenant API, MCP) under valgrind against vibn-sim, through a signup that
converges, the probes and an API call, then SIGTERM. Release build only: valgrind cannot
run the sanitizer build's binaries (ASan checks those in the other suite)."""
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.request

import pytest

from conftest import binary, ctl, wait_for
from simproc import Sim
from vibnd_proc import connect, free_port, http


@pytest.mark.skipif("asan" in os.environ.get("VIBN_BIN", ""),
                    reason="valgrind cannot run ASan binaries; the release suite runs this")
def test_clean_shutdown_under_valgrind_leaks_nothing(db_url):
    assert shutil.which("valgrind"), "valgrind is missing (scripts/deps.sh installs it)"
    sim = Sim()
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIBN_", "GITEA_", "COOLIFY_"))}
    env.update(sim.daemon_env(url))
    env.update({"DATABASE_URL": db_url, "VIBN_LISTEN": "127.0.0.1:%d" % port,
                "VIBN_WORKERS": "2", "ADMIN_MIGRATE_SECRET": "adm1n"})
    # The webhook spool's replay at start, under valgrind too: one delivery a previous run
    # spooled (replayed and deleted) and one corrupt file (moved aside).
    spool = tempfile.mkdtemp(prefix="vibnd-valgrind-spool-")
    env["VIBN_WEBHOOK_SPOOL_DIR"] = spool
    body = json.dumps({"action": "deleted", "repository": {"name": "web", "owner": {
        "login": "vibn-nobody"}}, "organization": {"login": "vibn-nobody"}}).encode()
    sig = hmac.new(env["GITEA_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    with open(os.path.join(spool, "00000000000000000001.delivery"), "wb") as f:
        f.write(b"vibn-webhook-spool 1\ndelivery: vg-1\nevent: repository\nsignature: %s\n"
                b"sha256: %s\nlength: %d\n\n%s" % (sig.encode(), hashlib.sha256(body).hexdigest()
                                                    .encode(), len(body), body))
    with open(os.path.join(spool, "00000000000000000002.delivery"), "wb") as f:
        f.write(b"not a spool file")
    log = tempfile.NamedTemporaryFile(prefix="vibnd-valgrind-", suffix=".log", delete=False)
    proc = subprocess.Popen(["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
                             "--error-exitcode=99", "--log-file=" + log.name, binary("vibnd")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def ready():
            assert proc.poll() is None, "vibnd exited early"
            try:
                return http("GET", url + "/readyz")[0] == 200
            except OSError:
                return False
        wait_for(ready, timeout=90, what="vibnd under valgrind ready")
        wait_for(lambda: sorted(os.listdir(spool)) == [".lock", "corrupt"], timeout=60,
                 what="the spool replayed under valgrind")
        r = ctl("signup", "--user", "u-vg", "--email", "grace@example.com", db_url=db_url)
        assert r.returncode == 0, r.stderr
        with connect(db_url) as conn:
            wait_for(lambda: conn.execute("SELECT provision_status FROM vibn_workspaces"
                                          " WHERE slug = 'grace'").fetchone()[0] == "ready",
                     timeout=90, what="signup Ready under valgrind")
        assert http("GET", url + "/metrics")[0] == 200
        req = urllib.request.Request(url + "/api/workspaces", headers={"x-admin-secret": "adm1n"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        report = open(log.name).read()
        assert code == 0, report  # the report says what valgrind found
        assert re.search(r"definitely lost: 0 bytes", report) or "no leaks are possible" in report, report
        assert "ERROR SUMMARY: 0 errors" in report, report
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sim.stop()
        os.unlink(log.name)
        shutil.rmtree(spool, ignore_errors=True)
