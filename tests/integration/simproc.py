"""Runs bin/vibn-sim for Python tests and talks to its control API (/_sim/...)."""
import json
import os
import re
import subprocess
import urllib.error
import urllib.request

from conftest import binary

READY = re.compile(r"^vibn-sim ready gitea=(http://127\.0\.0\.1:\d+) coolify=(http://127\.0\.0\.1:\d+)$")
GITEA_TOKEN = "gitea-token"
COOLIFY_TOKEN = "coolify-token"


class Sim:
    """One running vibn-sim; started with port 0, stopped (and checked for exit 0) in stop()."""

    def __init__(self, *args):
        # Fixed, so a failure replays with the same uuids and fault dice; as simproc.c.
        self.seed = os.environ.get("VIBN_SIM_SEED") or "7"
        self.proc = subprocess.Popen([binary("vibn-sim"), "--seed", self.seed, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        m = READY.match(line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("no ready line, got %r (stderr %r)" % (line, self.proc.stderr.read()))
        self.gitea, self.coolify = m.group(1), m.group(2)

    def control(self, method, path, body=None):
        """A control request (/_sim/...); returns the parsed JSON answer (or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.gitea + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def state(self):
        return self.control("GET", "/_sim/state")

    def counters(self):
        return self.control("GET", "/_sim/counters")

    def daemon_env(self, public_url):
        """The vibnd settings that point the workspace reconciler at this simulator."""
        return {"VIBN_RECONCILER": "workspace",
                "GITEA_API_URL": self.gitea + "/api/v1", "GITEA_API_TOKEN": GITEA_TOKEN,
                "GITEA_ADMIN_USER": "vibn-admin", "GITEA_WEBHOOK_SECRET": "test-hook-secret",
                "COOLIFY_URL": self.coolify, "COOLIFY_API_TOKEN": COOLIFY_TOKEN,
                "COOLIFY_SERVER_UUID": "vibnsimlocalhostserver01", "VIBN_PUBLIC_URL": public_url,
                # the key Coolify has from the start: orgs are private, their repos need one
                "VIBN_COOLIFY_DEPLOY_KEY_UUID": "vibnsimdeploykey00000001"}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("vibn-sim ignored SIGTERM")
            assert rc == 0, "vibn-sim exited %d: %s" % (rc, self.proc.stderr.read())
        self.proc.stdout.close()
        self.proc.stderr.close()
