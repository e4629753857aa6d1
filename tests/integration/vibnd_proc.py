"""Helpers for tests that run bin/vibnd processes against a test database: start, probe,
stop, and drive the built-in test reconciler (vibn_test_runs / vibn_test_behaviour)."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request

import psycopg

from conftest import vibnd_binary, wait_for


# The webhook secret of every Daemon unless env overrides it (webhooks are on by default).
WEBHOOK_SECRET = "test-webhook-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, timeout=5):
    """Returns (status, headers, body text); never raises on HTTP error statuses."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


class Daemon:
    """One vibnd process. env entries override the defaults (test reconciler, a free port,
    a webhook spool folder of its own in the temporary folder, removed by close(); pass
    VIBN_WEBHOOK_SPOOL_DIR to share one across daemons, e.g. a restart)."""

    def __init__(self, db_url, env=None, args=(), wait_ready=True, port=None, preexec_fn=None):
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("VIBN_", "GITEA_", "COOLIFY_")) or k.startswith("VIBN_TEST")}
        e.update({"DATABASE_URL": db_url, "VIBN_RECONCILER": "test",
                  "VIBN_LISTEN": "127.0.0.1:%d" % self.port, "VIBN_WORKERS": "4",
                  "GITEA_WEBHOOK_SECRET": WEBHOOK_SECRET})
        self.spool_tmp = None
        if "VIBN_WEBHOOK_SPOOL_DIR" not in (env or {}):
            self.spool_tmp = tempfile.mkdtemp(prefix="vibnd-spool-")
            e["VIBN_WEBHOOK_SPOOL_DIR"] = self.spool_tmp
        e.update(env or {})
        self.spool_dir = e["VIBN_WEBHOOK_SPOOL_DIR"]
        self.logf = tempfile.NamedTemporaryFile(prefix="vibnd-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([vibnd_binary(e), *args], env=e, stdout=self.logf,
                                     stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
        if wait_ready:
            self.wait_ready()

    def log(self):
        with open(self.logf.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def get(self, path):
        return http("GET", self.url + path)

    def ready(self):
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout=15):
        def ok():
            if self.proc.poll() is not None:
                raise AssertionError("vibnd exited %s:\n%s" % (self.proc.returncode, self.log()))
            return self.ready()
        wait_for(ok, timeout=timeout, what="vibnd /readyz 200")

    def metric(self, name):
        """The value of one exposition line starting with name (labels included)."""
        status, _, body = self.get("/metrics")
        assert status == 200
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        os.unlink(self.logf.name)
        if self.spool_tmp is not None:
            shutil.rmtree(self.spool_tmp, ignore_errors=True)


def connect(url):
    return psycopg.connect(url, autocommit=True)


def add_workspaces(conn, n, prefix="ws", behaviour=None):
    """Inserts n workspaces (their triggers enqueue them); returns their ids in order.
    behaviour: a dict of vibn_test_behaviour columns applied to each, set first so the
    daemon never runs them without it."""
    ids = []
    with conn.transaction():
        for i in range(n):
            (wid,) = conn.execute("SELECT gen_random_uuid()").fetchone()
            if behaviour:
                cols = ", ".join(behaviour)
                marks = ", ".join(["%s"] * len(behaviour))
                conn.execute("INSERT INTO vibn_test_behaviour (workspace_id, %s) VALUES (%%s, %s)"
                             % (cols, marks), (wid, *behaviour.values()))
            conn.execute("INSERT INTO vibn_workspaces (id, slug, owner) VALUES (%s, %s, 'u')",
                         (wid, "%s-%d" % (prefix, i)))
            ids.append(wid)
    return ids


def runs(conn, wid=None):
    q = ("SELECT workspace_id, worker, started_at, finished_at, result, priority, attempts, "
         "queue_seconds FROM vibn_test_runs")
    if wid is None:
        return conn.execute(q + " ORDER BY id").fetchall()
    return conn.execute(q + " WHERE workspace_id = %s ORDER BY id", (wid,)).fetchall()


def queue_len(conn):
    return conn.execute("SELECT count(*) FROM vibn_reconcile_queue").fetchone()[0]


def finished_runs(conn):
    return conn.execute("SELECT count(*) FROM vibn_test_runs WHERE finished_at IS NOT NULL"
                        ).fetchone()[0]


def overlaps(conn, finished_only=False):
    """Pairs of runs of one workspace whose [start, finish] intervals intersect (a run
    without a finish counts as still running, unless finished_only)."""
    extra = " AND a.finished_at IS NOT NULL AND b.finished_at IS NOT NULL" if finished_only else ""
    return conn.execute(
        "SELECT count(*) FROM vibn_test_runs a JOIN vibn_test_runs b"
        " ON a.workspace_id = b.workspace_id AND a.id < b.id"
        " WHERE a.started_at < coalesce(b.finished_at, 'infinity')"
        "   AND b.started_at < coalesce(a.finished_at, 'infinity')" + extra).fetchone()[0]


def drained(conn):
    """Nothing queued and no run in progress."""
    return queue_len(conn) == 0 and conn.execute(
        "SELECT count(*) FROM vibn_test_runs WHERE finished_at IS NULL").fetchone()[0] == 0
