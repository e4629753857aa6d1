#!/usr/bin/python3
"""The chaos soak (make soak; a small version runs in make test as test_soak.py).

Declares N workspaces (in waves, through vibnctl apply) against vibn-sim injecting 5xx,
timeouts, dropped connections, lost responses and 429 bursts, while vibnd is SIGKILLed at
random moments and restarted, Postgres is restarted once and later stopped for 20 s while
deliveries arrive, three replicas run during the middle of the run, and drift (deleted
repos, which Gitea announces with a signed webhook; removed members, which only a drift
repair run finds) goes on throughout. The last fifth of the chaos is harsher: 20% 5xx and
5% dropped connections, with Coolify's real rate-limit window (200 requests a minute).
Ready over time is printed during the chaos. Then the faults stop and the soak waits for
convergence and checks:

  progress    at the end of the chaos, with the faults still on, at least 90% of the
              workspaces declared so far are Ready
  ready       every workspace Ready, observed generation = generation
  upstream    exactly one Gitea org and one Coolify project per workspace, and exactly one of
              each declared repo and app (nothing more: no duplicates, no strays)
  members     every declared member is in its org again
  webhooks    every delivery vibnd accepted (2xx) was followed by a reconcile of its
              workspace that started after the delivery, and every repository delivery
              answered 2xx was recorded (none lost in the outage's spool)
  overlap     no two reconciles of one workspace overlapped (from vibnd's debug log lines
              "reconcile start" / "reconcile done|requeued|failed", across all replicas)
  sanitizer   no ASan/UBSan/LSan report in any vibnd's stderr, and no vibnd died by itself

Prints a summary table; exits 0 when every check passed, 1 otherwise.
"""
import argparse
import datetime
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psycopg

WEBHOOK_SECRET = "soak-webhook-secret"
HARSH_FROM = 0.8  # the harsh phase: the last fifth of the chaos
PROGRESS_MIN = 0.90  # Ready of the declared at the end of the chaos, faults on


def now():
    return time.monotonic()


def wall_ms():
    return int(time.time() * 1000)


def http(method, url, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, None


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Log:
    def __init__(self, quiet):
        self.t0 = now()
        self.quiet = quiet

    def __call__(self, fmt, *args):
        if not self.quiet:
            print("[%6.1fs] %s" % (now() - self.t0, fmt % args), flush=True)


class SimDied(RuntimeError):
    pass


class Sim:
    def __init__(self, binary, out, seed):
        self.logf = open(os.path.join(out, "vibn-sim.log"), "w")
        self.proc = subprocess.Popen([binary, "--seed", str(seed), "--webhook-timeout-ms", "5000"],
                                     stdout=subprocess.PIPE, stderr=self.logf, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"vibn-sim ready gitea=(\S+) coolify=(\S+)", line)
        if not m:
            raise RuntimeError("vibn-sim did not start: %r" % line)
        self.gitea, self.coolify = m.group(1), m.group(2)

    def ctl(self, method, path, body=None):
        if self.proc.poll() is not None:
            raise SimDied("vibn-sim exited %s; its log ends: %s" % (
                self.proc.returncode, self.tail()))
        status, doc = http(method, self.gitea + path, body, timeout=30)
        if status >= 300:
            raise RuntimeError("sim %s %s: %d" % (method, path, status))
        return doc

    def tail(self):
        self.logf.flush()
        with open(self.logf.name, encoding="utf-8", errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-5:])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()


class Vibnd:
    """One vibnd process in a replica slot; each start gets its own log file."""
    seq = 0

    def __init__(self, binary, env, out, slot):
        Vibnd.seq += 1
        self.slot = slot
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.logpath = os.path.join(out, "vibnd-%02d-slot%d.log" % (Vibnd.seq, slot))
        # A slot's spool outlives its killed daemons: the next one in the slot replays it.
        e = dict(env, VIBN_LISTEN="127.0.0.1:%d" % self.port,
                 VIBN_WEBHOOK_SPOOL_DIR=os.path.join(out, "spool-slot%d" % slot))
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen([binary, "-v"], env=e, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        self.started_ms = wall_ms()
        self.ended_ms = None
        self.how = None

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        self.ended_ms = wall_ms()
        self.how = "SIGKILL"
        self.proc.kill()
        self.proc.wait()
        self.logf.close()

    def term(self, timeout=40):
        if self.how == "SIGKILL":
            return self.proc.returncode
        if self.proc.poll() is None:
            if self.how != "SIGTERM":  # a second SIGTERM means "exit now" to vibnd
                self.how = "SIGTERM"
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.how = "SIGTERM timed out; SIGKILL"
                self.proc.kill()
                self.proc.wait()
        self.ended_ms = wall_ms()
        self.logf.close()
        return self.proc.returncode


def manifest(i, users):
    """Workspace i: an owner and one repo always; every third a member; every second an app
    built from the repo; every fourth a second repo."""
    slug = "s%04d" % i
    owner = users[i % len(users)]
    doc = ["apiVersion: vibn/v1", "kind: Workspace", "metadata:", "  name: %s" % slug,
           "spec:", "  owner: %s" % owner]
    members = []
    if i % 3 == 0:
        members.append(users[(i + 7) % len(users)])
        doc += ["  members:", "    - {user: %s, role: member}" % members[0]]
    repos = ["app"] + (["docs"] if i % 4 == 0 else [])
    doc.append("  repos:")
    doc += ["    - {name: %s}" % r for r in repos]
    apps = []
    if i % 2 == 0:
        apps.append("app")
        doc += ["  apps:", "    - {name: app, repo: app, buildPack: nixpacks, ports: \"3000\"}"]
    return slug, {"owner": owner, "members": members, "repos": repos, "apps": apps}, \
        "\n".join(doc) + "\n"


class Soak:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.out = a.out
        os.makedirs(self.out, exist_ok=True)
        self.log = Log(a.quiet)
        self.procs = []  # every Vibnd ever started
        self.slots = {}  # slot -> live Vibnd
        self.kills = 0
        self.pg_restarts = 0
        self.drift = {"delete_repo": 0, "remove_member": 0}
        self.bursts = 0
        self.pg_outages = 0
        self.progress = []  # (seconds into the chaos, Ready, declared), None while Postgres is down
        self.lost_responses = 0
        self.desired = {}  # slug -> spec summary
        self.failures = []
        self.ctl_reports = []
        self.lock = threading.Lock()

    # ---- setup ----

    def ctl(self, *args, check=True, timeout=120):
        r = subprocess.run([os.path.join(self.a.bin, "vibnctl"), *args],
                           env=dict(os.environ, DATABASE_URL=self.db_url), capture_output=True,
                           text=True, timeout=timeout)
        if "Sanitizer" in r.stderr or "runtime error:" in r.stderr:
            # A sanitizer build of vibnctl reported something: keep it whole, count it.
            path = os.path.join(self.out, "vibnctl-sanitizer-%d.log" % len(self.ctl_reports))
            with open(path, "w") as f:
                f.write("vibnctl %s (exit %d)\n%s" % (" ".join(args), r.returncode, r.stderr))
            self.ctl_reports.append("vibnctl %s: sanitizer report in %s" % (args[0], path))
        if check and r.returncode != 0:
            raise RuntimeError("vibnctl %s: %s" % (" ".join(args), r.stderr.strip()[:500]))
        return r

    def setup(self):
        a = self.a
        name = "soak_%d" % os.getpid()
        with psycopg.connect(a.admin_url, autocommit=True) as c:
            c.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
            c.execute('CREATE DATABASE "%s"' % name)
        self.db_name = name
        self.db_url = a.admin_url.rsplit("/", 1)[0] + "/" + name
        self.ctl("migrate")
        self.sim = Sim(os.path.join(a.bin, "vibn-sim"), self.out, a.seed)
        self.users = ["u%02d" % i for i in range(40)]
        for u in self.users:
            self.sim.ctl("POST", "/_sim/users", {"username": u, "email": u + "@soak.test"})
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("VIBN_", "GITEA_", "COOLIFY_", "DATABASE_URL"))}
        self.env.update({
            "DATABASE_URL": self.db_url,
            "GITEA_API_URL": self.sim.gitea + "/api/v1", "GITEA_API_TOKEN": "gitea-token",
            "GITEA_ADMIN_USER": "vibn-admin", "GITEA_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "COOLIFY_URL": self.sim.coolify, "COOLIFY_API_TOKEN": "coolify-token",
            "COOLIFY_SERVER_UUID": "vibnsimlocalhostserver01",
            "VIBN_COOLIFY_DEPLOY_KEY_UUID": "vibnsimdeploykey00000001",
            "VIBN_WORKERS": str(a.workers), "VIBN_LEASE_DURATION": "10",
            "VIBN_BACKOFF_BASE": "0.2", "VIBN_BACKOFF_CAP": "5", "VIBN_POLL_INTERVAL": "1",
            "VIBN_RESYNC_INTERVAL": str(a.resync), "VIBN_SHUTDOWN_TIMEOUT": "10",
            "VIBN_COOLIFY_RPM": "60000", "VIBN_GITEA_RPS": "1000",
        })
        # Every replica registers the same public URL on the org hooks; the sim delivers there.
        self.hook_port = free_port()
        self.env["VIBN_PUBLIC_URL"] = "http://127.0.0.1:%d" % self.hook_port
        self.mdir = os.path.join(self.out, "manifests")
        os.makedirs(self.mdir, exist_ok=True)

    # ---- the webhook front: one port for every replica, like a Service ----

    def start_front(self):
        """A tiny TCP proxy on hook_port forwarding to a live replica (as a Kubernetes
        Service would), so the org hooks' URL stays valid across kills and restarts."""
        import socket
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.hook_port))
        srv.listen(64)
        self.front = srv

        def pipe(src, dst):
            try:
                while True:
                    b = src.recv(65536)
                    if not b:
                        break
                    dst.sendall(b)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        def serve():
            while True:
                try:
                    cl, _ = srv.accept()
                except OSError:
                    return
                with self.lock:
                    live = [p for p in self.slots.values() if p.alive()]
                if not live:
                    cl.close()
                    continue
                p = self.rng.choice(live)
                try:
                    up = socket.create_connection(("127.0.0.1", p.port), timeout=5)
                except OSError:
                    cl.close()
                    continue
                threading.Thread(target=pipe, args=(cl, up), daemon=True).start()
                threading.Thread(target=pipe, args=(up, cl), daemon=True).start()
        threading.Thread(target=serve, daemon=True).start()

    # ---- replicas ----

    def start_slot(self, slot):
        p = Vibnd(self.a.vibnd, self.env, self.out, slot)
        with self.lock:
            self.slots[slot] = p
            self.procs.append(p)
        return p

    def stop_slot(self, slot):
        with self.lock:
            p = self.slots.pop(slot, None)
        if p is not None:
            p.term()

    def kill_random(self):
        """SIGKILLs a random live replica once it is ready (so it is doing work)."""
        with self.lock:
            live = [s for s, p in self.slots.items() if p.alive()]
        if not live:
            return None
        slot = self.rng.choice(live)
        with self.lock:
            p = self.slots[slot]
        deadline = now() + 15
        while now() < deadline and p.alive():
            try:
                if http("GET", p.url + "/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        p.kill()
        self.kills += 1
        return slot

    # ---- chaos ----

    def faults(self, on):
        if on:
            self.sim.ctl("POST", "/_sim/faults", {"upstream": "both", "error_rate": 0.10,
                                                  "timeout_rate": 0.05, "drop_rate": 0.02})
        else:
            self.sim.ctl("POST", "/_sim/faults", {"upstream": "both", "error_rate": 0,
                                                  "timeout_rate": 0, "drop_rate": 0,
                                                  "rate_limit_per_minute": 0})
            self.sim.ctl("DELETE", "/_sim/rules")

    def burst_429(self, per_minute=False):
        """A 429 burst: runs of 429 with a short Retry-After on both upstreams' busiest
        routes, lasting as long as the Retry-After says (a limiter's refusals end with time:
        a rule that lasted until 20 requests had come would refuse a client that honours
        Retry-After for ever); once (per_minute), Coolify's real per-minute limit set low
        for a few seconds, whose Retry-After pauses every Coolify request up to a minute."""
        self.bursts += 1
        if per_minute:
            self.sim.ctl("POST", "/_sim/faults", {"upstream": "coolify",
                                                  "rate_limit_per_minute": 20})
            threading.Timer(4.0, lambda: self.sim.ctl(
                "POST", "/_sim/faults", {"upstream": "coolify", "rate_limit_per_minute": 0})
            ).start()
            return
        for up, path in (("gitea", "/api/v1/orgs/{org}"), ("gitea", "/api/v1/orgs/{org}/repos"),
                         ("coolify", "/api/v1/projects"), ("coolify", "/api/v1/projects/{uuid}")):
            self.sim.ctl("POST", "/_sim/rules", {"upstream": up, "method": "*", "path": path,
                                                 "count": 20, "action": "status",
                                                 "status": 429, "retry_after": 2,
                                                 "for_ms": 2000})

    def lost_response(self):
        """Creates whose answer is lost after the upstream acted: the duplicate hazard."""
        self.lost_responses += 1
        for up, path in (("coolify", "/api/v1/projects"),
                         ("gitea", "/api/v1/admin/users/{username}/orgs"),
                         ("gitea", "/api/v1/orgs/{org}/repos"),
                         ("coolify", "/api/v1/applications/public"),
                         ("coolify", "/api/v1/applications/private-deploy-key")):
            self.sim.ctl("POST", "/_sim/rules", {"upstream": up, "method": "POST", "path": path,
                                                 "count": 1, "action": "drop_after"})

    def apply_wave(self, lo, hi):
        wdir = os.path.join(self.mdir, "wave-%04d" % lo)
        os.makedirs(wdir, exist_ok=True)
        for i in range(lo, hi):
            slug, spec, text = manifest(i, self.users)
            self.desired[slug] = spec
            with open(os.path.join(wdir, slug + ".yaml"), "w") as f:
                f.write(text)
        # Postgres may be restarting: retry with a deadline.
        deadline = now() + 60
        while True:
            r = self.ctl("apply", "-f", wdir, check=False)
            if r.returncode == 0:
                return
            if now() > deadline:
                raise RuntimeError("vibnctl apply: " + r.stderr)
            time.sleep(0.5)

    def do_drift(self):
        st = self.sim.ctl("GET", "/_sim/state")["gitea"]
        orgs = {o["name"]: o for o in st["orgs"]}
        ready = [s for s in self.desired if "vibn-" + s in orgs]
        if not ready:
            return
        slug = self.rng.choice(ready)
        spec, org = self.desired[slug], orgs["vibn-" + slug]
        gone = [m for m in spec["members"] if m in org["members"]]
        if gone and self.rng.random() < 0.3:
            self.sim.ctl("POST", "/_sim/drift", {"action": "remove_member", "org": org["name"],
                                                 "user": gone[0]})
            self.drift["remove_member"] += 1
            return
        repos = [r["name"] for r in org["repos"]]
        if repos:
            self.sim.ctl("POST", "/_sim/drift", {"action": "delete_repo", "org": org["name"],
                                                 "repo": self.rng.choice(repos)})
            self.drift["delete_repo"] += 1

    def chaos(self):
        a = self.a
        S = a.seconds
        events = []
        waves = 10
        per = (a.workspaces + waves - 1) // waves
        for w in range(waves):
            lo, hi = w * per, min(a.workspaces, (w + 1) * per)
            if lo < hi:
                events.append((S * 0.5 * w / waves, "wave", (lo, hi)))
        for t in sorted(self.rng.uniform(0.05 * S, 0.9 * S) for _ in range(a.kills)):
            events.append((t, "kill", None))
        events.append((0.55 * S, "pg_restart", None))
        # Postgres down for 20 s (or a tenth of a short run) while drift makes Gitea deliver.
        outage = min(20.0, 0.1 * S)
        events.append((0.62 * S, "pg_down", None))
        events.append((0.62 * S + outage, "pg_up", None))
        events.append((HARSH_FROM * S, "harsh", None))
        events.append((0.30 * S, "replicas_up", None))
        events.append((0.75 * S, "replicas_down", None))
        events.append((0.15 * S, "burst", True))
        t = 3.0
        while t < S:
            events.append((t, "burst", False))
            t += max(6.0, S / 15)
        t = 1.0
        while t < S:
            events.append((t, "lost", None))
            t += max(4.0, S / 25)
        t = 2.0
        while t < S:
            events.append((t, "drift", None))
            t += a.drift_every
        events.sort(key=lambda e: e[0])

        self.start_slot(0)
        self.faults(True)
        t0 = now()
        stop = threading.Event()
        sampler = threading.Thread(target=self.sample_progress, args=(t0, stop), daemon=True)
        sampler.start()
        restarts = []  # (due, slot)
        for due, kind, arg in events:
            while True:
                left = t0 + due - now()
                for r in [r for r in restarts if r[0] <= now()]:
                    restarts.remove(r)
                    self.start_slot(r[1])
                if left <= 0:
                    break
                time.sleep(min(left, 0.1))
            try:
                self.event(kind, arg, restarts)
            except SimDied:
                raise
            except Exception as e:  # a failed chaos step (e.g. sim busy) is logged, not fatal
                self.log("chaos step %s failed: %s", kind, e)
        for _, slot in restarts:
            self.start_slot(slot)
        stop.set()
        sampler.join()
        # The end of the chaos, faults still on: how many of the declared are Ready.
        self.end_of_chaos = self.count_ready()
        self.log("end of chaos (faults still on): %s Ready of %s declared",
                 *(self.end_of_chaos or ("?", "?")))

    def count_ready(self):
        """(Ready, declared) from the database, or None when it does not answer."""
        try:
            with psycopg.connect(self.db_url, autocommit=True, connect_timeout=3) as c:
                return c.execute(
                    "SELECT count(*) FILTER (WHERE provision_status = 'ready'"
                    " AND observed_generation = generation), count(*) FROM vibn_workspaces"
                    " WHERE deleted_at IS NULL").fetchone()
        except psycopg.Error:
            return None

    def sample_progress(self, t0, stop):
        """Ready over time during the chaos, printed and kept for the summary."""
        every = max(2.0, self.a.seconds / 24)
        while not stop.wait(every):
            got = self.count_ready()
            self.progress.append((now() - t0, got))
            if got is None:
                self.log("progress: database down")
            else:
                self.log("progress: %d Ready of %d declared (%.0f%%)", got[0], got[1],
                         100.0 * got[0] / max(got[1], 1))

    def event(self, kind, arg, restarts):
        if kind == "wave":
            self.apply_wave(*arg)
            self.log("applied workspaces %d..%d", arg[0], arg[1] - 1)
        elif kind == "kill":
            if not any(p.alive() for p in self.slots.values()):
                # Every replica is down (an earlier kill): bring the pending ones back first,
                # so that each kill hits a running daemon.
                for r in list(restarts):
                    restarts.remove(r)
                    self.start_slot(r[1])
            slot = self.kill_random()
            if slot is not None:
                restarts.append((now() + self.rng.uniform(0.2, 2.0), slot))
                self.log("SIGKILL vibnd (slot %d), kill %d/%d", slot, self.kills, self.a.kills)
        elif kind == "pg_restart":
            self.log("restarting Postgres")
            subprocess.run([self.a.pgctl, "restart"], check=True, capture_output=True,
                           timeout=120)
            self.pg_restarts += 1
            self.log("Postgres is back")
        elif kind == "pg_down":
            self.log("stopping Postgres (outage while deliveries arrive)")
            subprocess.run([self.a.pgctl, "stop"], check=True, capture_output=True, timeout=120)
            self.pg_outages += 1
        elif kind == "pg_up":
            subprocess.run([self.a.pgctl, "start"], check=True, capture_output=True,
                           timeout=120)
            self.log("Postgres is back after the outage")
        elif kind == "harsh":
            self.log("harsh phase: 20%% 5xx, 5%% drops, Coolify's 200/min window")
            self.sim.ctl("POST", "/_sim/faults", {"upstream": "both", "error_rate": 0.20,
                                                  "timeout_rate": 0, "drop_rate": 0.05})
            self.sim.ctl("POST", "/_sim/faults", {"upstream": "coolify",
                                                  "rate_limit_per_minute": 200})
        elif kind == "replicas_up":
            for s in (1, 2):
                if s not in self.slots:
                    self.start_slot(s)
            self.log("three replicas running")
        elif kind == "replicas_down":
            with self.lock:
                going = [self.slots.pop(s) for s in (1, 2) if s in self.slots]
            for p in going:  # SIGTERM both, then wait: they drain in parallel
                if p.how is None and p.alive():
                    p.how = "SIGTERM"
                    p.proc.send_signal(signal.SIGTERM)
            for p in going:
                p.term()
            restarts[:] = [r for r in restarts if r[1] == 0]
            self.log("back to one replica")
        elif kind == "burst":
            self.burst_429(arg)
        elif kind == "lost":
            self.lost_response()
        elif kind == "drift":
            self.do_drift()

    # ---- convergence and checks ----

    def workspaces(self):
        r = self.ctl("get", "workspaces", "-o", "json", check=False)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)["items"]

    def converged(self):
        items = self.workspaces()
        if items is None:
            return False, "?"
        ok = [w for w in items if w["ready"] == "True"
              and w["observedGeneration"] == w["generation"]]
        return len(ok) == len(self.desired) == len(items), "%d/%d" % (len(ok), len(items))

    def queue_empty(self):
        with psycopg.connect(self.db_url, autocommit=True) as c:
            return c.execute("SELECT count(*) FROM vibn_reconcile_queue").fetchone()[0] == 0

    def settle(self):
        self.faults(False)
        if 0 not in self.slots or not self.slots[0].alive():
            self.start_slot(0)
        # A replica that went down during the outage kept what it spooled on its disk: it
        # comes back, as a restarted pod would with its volume, and replays it.
        for slot in (1, 2):
            if slot not in self.slots and self.spooled(slot):
                self.log("slot %d went down with %d spooled deliveries: started again to"
                         " replay them", slot, self.spooled(slot))
                self.start_slot(slot)
        self.log("faults off; waiting for convergence")
        deadline = now() + self.a.settle
        last = None
        while now() < deadline:
            if self.sim.proc.poll() is not None:
                raise SimDied("vibn-sim exited %s: %s" % (self.sim.proc.returncode,
                                                          self.sim.tail()))
            ok, frac = self.converged()
            if frac != last:
                self.log("ready %s", frac)
                last = frac
            if ok and self.queue_empty() and not any(self.spooled(s) for s in (0, 1, 2)):
                break
            time.sleep(1)
        # Member drift has no webhook: a drift repair run of every workspace finds it.
        self.log("vibnctl resync --all (drift repair of every workspace)")
        while self.ctl("resync", "--all", check=False).returncode != 0 and now() < deadline:
            time.sleep(1)
        time.sleep(0.5)
        while now() < deadline:
            ok, frac = self.converged()
            if ok and self.queue_empty():
                self.settled_after = now() - self.log.t0
                return True
            time.sleep(1)
        self.settled_after = None
        return False

    def spooled(self, slot):
        """Deliveries waiting in a slot's spool (files NNN.delivery)."""
        try:
            return sum(1 for n in os.listdir(os.path.join(self.out, "spool-slot%d" % slot))
                       if n.endswith(".delivery"))
        except OSError:
            return 0

    def check_upstream(self, items):
        st = self.sim.ctl("GET", "/_sim/state")
        orgs = {}
        for o in st["gitea"]["orgs"]:
            orgs.setdefault(o["name"], []).append(o)
        projects = {}
        for p in st["coolify"]["projects"]:
            projects.setdefault(p["name"], []).append(p)
        apps = {}
        for ap in st["coolify"]["applications"]:
            apps.setdefault(ap["project_uuid"], []).append(ap)
        bad = []
        want_orgs = {"vibn-" + s for s in self.desired}
        want_projects = {"vibn-ws-" + s for s in self.desired}
        stray = sorted(set(orgs) - want_orgs) + sorted(set(projects) - want_projects)
        if stray:
            bad.append("stray upstream objects: %s" % stray[:5])
        dup_org = dup_proj = dup_repo = dup_app = 0
        missing = 0
        members_missing = 0
        for slug, spec in self.desired.items():
            o = orgs.get("vibn-" + slug, [])
            p = projects.get("vibn-ws-" + slug, [])
            if len(o) != 1 or len(p) != 1:
                dup_org += len(o) > 1
                dup_proj += len(p) > 1
                missing += (not o) + (not p)
                bad.append("%s: %d orgs, %d projects" % (slug, len(o), len(p)))
                continue
            names = [r["name"] for r in o[0]["repos"]]
            if sorted(names) != sorted(spec["repos"]):
                dup_repo += len(names) > len(set(names))
                bad.append("%s: repos %s, want %s" % (slug, names, spec["repos"]))
            pa = [ap["name"] for ap in apps.get(p[0]["uuid"], []) if ap["status"] != "deleting"]
            want = ["%s-%s" % (slug, n) for n in spec["apps"]]
            if sorted(pa) != sorted(want):
                dup_app += len(pa) > len(set(pa))
                bad.append("%s: apps %s, want %s" % (slug, pa, want))
            for m in spec["members"] + [spec["owner"]]:
                if m not in o[0]["members"]:
                    members_missing += 1
                    bad.append("%s: member %s missing" % (slug, m))
        apps_total = sum(len(v) for v in apps.values())
        self.stats = {
            "gitea orgs": len(st["gitea"]["orgs"]), "coolify projects": len(st["coolify"]["projects"]),
            "repos": sum(len(o["repos"]) for o in st["gitea"]["orgs"]), "apps": apps_total,
            "want repos": sum(len(s["repos"]) for s in self.desired.values()),
            "want apps": sum(len(s["apps"]) for s in self.desired.values()),
            "dups": (dup_org, dup_proj, dup_repo, dup_app), "members missing": members_missing,
        }
        return bad

    TS = re.compile(r"^ts=(\S+) level=(\w+) msg=\"((?:[^\"\\]|\\.)*)\"(.*)$")

    @staticmethod
    def parse_ts(s):
        return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp() * 1000)

    def parse_logs(self):
        """Reconcile intervals per workspace, accepted webhook deliveries, sanitizer reports."""
        runs = {}  # reconcile id -> dict
        hooks = []  # (ts, workspace or org, line)
        sanitizer = []
        lost_lease = 0
        for p in self.procs:
            p.last_ts = p.started_ms
            with open(p.logpath, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if ("Sanitizer" in line or "runtime error:" in line) and \
                            not line.startswith("ts="):
                        sanitizer.append("%s: %s" % (os.path.basename(p.logpath), line.strip()))
                    m = self.TS.match(line)
                    if not m:
                        continue
                    ts, level, msg, rest = m.groups()
                    p.last_ts = max(p.last_ts, self.parse_ts(ts))
                    kv = dict(re.findall(r"(\w+)=(\S+)", rest))
                    if msg.startswith("reconcile start"):
                        runs[kv["reconcile"]] = {"ws": kv["workspace"],
                                                 "start": self.parse_ts(ts), "end": None,
                                                 "proc": p}
                    elif re.match(r"reconcile (done|requeued|failed|finished after)", msg):
                        r = runs.get(kv.get("reconcile"))
                        if r is None:
                            continue
                        secs = re.search(r"\((?:[^,]*, )*?(\d+\.\d+)s", msg)
                        d = float(secs.group(1)) if secs else 0.0
                        # The body ended secs after t0, which follows the start line: this
                        # end is never later than the real one.
                        r["end"] = r["start"] + int(d * 1000)
                        if msg.startswith("reconcile finished after"):
                            lost_lease += 1
        for r in runs.values():
            if r["end"] is None:
                # Cut short: a SIGKILLed run ended with its process (the kill was sent at
                # ended_ms); one abandoned at the shutdown timeout ended at the process's
                # _exit, right after its last log line ("vibnd stopped").
                p = r["proc"]
                r["end"] = p.ended_ms if p.how == "SIGKILL" else p.last_ts
                r["open"] = True
        return runs, hooks, sanitizer, lost_lease

    @staticmethod
    def overlaps(runs):
        byws = {}
        for rid, r in runs.items():
            byws.setdefault(r["ws"], []).append((r["start"], r["end"], rid))
        found = []
        for ws, iv in byws.items():
            iv.sort()
            end, who = None, None
            for s, e, rid in iv:
                # 1 ms of slack: log timestamps are truncated to the millisecond.
                if end is not None and s < end - 1:
                    found.append((ws, who, rid, end - s))
                if end is None or e > end:
                    end, who = e, rid
        return found

    def run(self):
        a = self.a
        self.setup()
        self.start_front()
        self.log("soak: %d workspaces, %ds of chaos, vibnd %s, %d workers per replica",
                 a.workspaces, a.seconds, a.vibnd, a.workers)
        t_chaos = now()
        self.chaos()
        chaos_s = now() - t_chaos
        settled = self.settle()
        items = self.workspaces() or []
        ready = sum(1 for w in items if w["ready"] == "True")
        bad_up = self.check_upstream(items)
        deliveries = self.sim.ctl("GET", "/_sim/deliveries") or []
        accepted_db = self.accepted_deliveries()
        recorded = self.recorded_deliveries()
        for slot in list(self.slots):
            self.stop_slot(slot)
        self.front.close()
        self.sim.stop()
        runs, hooks, sanitizer, lost_lease = self.parse_logs()
        sanitizer += self.ctl_reports
        with open(os.path.join(self.out, "vibn-sim.log"), encoding="utf-8", errors="replace") as f:
            sanitizer += ["vibn-sim.log: " + l.strip() for l in f
                          if "Sanitizer" in l or "runtime error:" in l]
        over = self.overlaps(runs)
        # A SIGTERMed vibnd exits 0; one signalled before it installed its handlers (right
        # after a restart) dies of the signal itself, which is as clean.
        died = [p for p in self.procs if p.how is None or
                (p.how == "SIGTERM" and p.proc.returncode not in (0, -signal.SIGTERM))]
        bad_hooks = self.check_webhooks(accepted_db, runs)
        total = now() - self.log.t0

        accepted = [d for d in deliveries if d["status"] and 200 <= d["status"] < 300]
        lost = [d["id"] for d in accepted if d["event"] == "repository"
                and d["id"] not in recorded]
        end = self.end_of_chaos
        progress_ok = end is not None and end[0] >= a.progress_min * end[1]
        series = " ".join("%.0fs %s" % (t, "%.0f%%" % (100.0 * g[0] / g[1]) if g and g[1]
                                         else "db down" if g is None else "-")
                          for t, g in self.progress)
        rows = [
            ("Ready over the chaos (of declared)", series or "no sample", True),
            ("Ready at the end of the chaos, faults on", "%s / %s declared (want >= %.0f%%)"
             % (end[0], end[1], 100 * a.progress_min) if end else "database down",
             progress_ok),
            ("workspaces Ready", "%d / %d" % (ready, len(self.desired)),
             ready == len(self.desired) and settled),
            ("settled after faults stopped", "%.0fs" % (self.settled_after - chaos_s)
             if self.settled_after else "no", settled),
            ("Gitea orgs / Coolify projects", "%d / %d (want %d each)" % (
                self.stats["gitea orgs"], self.stats["coolify projects"], len(self.desired)),
             not any(self.stats["dups"][:2])),
            ("repos / apps", "%d / %d (want %d / %d)" % (
                self.stats["repos"], self.stats["apps"], self.stats["want repos"],
                self.stats["want apps"]), not bad_up),
            ("duplicates org/project/repo/app", "%d/%d/%d/%d" % self.stats["dups"],
             not any(self.stats["dups"])),
            ("declared members present", "%d missing" % self.stats["members missing"],
             self.stats["members missing"] == 0),
            ("webhook deliveries", "%d sent, %d answered 2xx, %d accepted, %d unprocessed,"
             " %d lost" % (len(deliveries), len(accepted), len(accepted_db), len(bad_hooks),
                           len(lost)),
             not bad_hooks and not lost and len(accepted_db) > 0),
            ("reconciles (all replicas)", "%d, %d cut short (SIGKILL or shutdown)" % (
                len(runs), sum(1 for r in runs.values() if r.get("open"))), True),
            ("overlapping reconciles", "%d (lease lost mid-run: %d)" % (len(over), lost_lease),
             not over),
            ("sanitizer reports", str(len(sanitizer)), not sanitizer),
            ("vibnd crashes", str(len(died)), not died),
            ("SIGKILLs / Postgres restarts / outages", "%d / %d / %d" % (
                self.kills, self.pg_restarts, self.pg_outages),
             self.kills == a.kills and self.pg_restarts == 1 and self.pg_outages == 1),
            ("drift: repos deleted / members removed", "%d / %d" % (
                self.drift["delete_repo"], self.drift["remove_member"]), True),
            ("429 bursts / lost-response rounds", "%d / %d" % (self.bursts, self.lost_responses),
             True),
            ("vibnd processes (max 3 at once)", str(len(self.procs)), True),
            ("wall time", "%.0fs (chaos %.0fs)" % (total, chaos_s), True),
        ]
        print()
        print("| check | result | |")
        print("| --- | --- | --- |")
        for name, val, ok in rows:
            print("| %s | %s | %s |" % (name, val, "ok" if ok else "FAIL"))
        print()
        for line in (bad_up[:10] + sanitizer[:10] + bad_hooks[:10] +
                     ["delivery %s answered 2xx but never recorded" % d for d in lost[:10]] +
                     ["overlap: workspace %s runs %s and %s by %d ms" % o for o in over[:10]] +
                     ["vibnd %s exited by itself (%s)" % (p.logpath, p.proc.returncode)
                      for p in died]):
            print("  " + line)
        passed = all(ok for _, _, ok in rows)
        print("soak %s; logs in %s" % ("PASSED" if passed else "FAILED", self.out))
        if passed and not a.keep_db:
            with psycopg.connect(a.admin_url, autocommit=True) as c:
                c.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.db_name)
        return 0 if passed else 1

    def accepted_deliveries(self):
        """(delivery id, received at in ms, workspace id) of every delivery vibnd accepted:
        vibn_webhook_accept recorded it and queued its workspace in one transaction."""
        with psycopg.connect(self.db_url, autocommit=True) as c:
            return c.execute(
                "SELECT delivery_id, (extract(epoch FROM received_at) * 1000)::bigint,"
                " workspace_id::text FROM vibn_webhook_deliveries WHERE result = 'accepted'"
            ).fetchall()

    def recorded_deliveries(self):
        """The ids of every delivery vibnd recorded (repository events, whatever the
        result)."""
        with psycopg.connect(self.db_url, autocommit=True) as c:
            return {r[0] for r in c.execute("SELECT delivery_id FROM vibn_webhook_deliveries")}

    @staticmethod
    def check_webhooks(accepted, runs):
        """Every accepted delivery was followed by a reconcile of its workspace that started
        after the delivery was recorded and ran to its end (not cut by a kill)."""
        starts = {}
        for r in runs.values():
            if not r.get("open"):
                starts.setdefault(r["ws"], []).append(r["start"])
        bad = []
        for d, ts, ws in accepted:
            if not any(s >= ts for s in starts.get(ws, [])):
                bad.append("delivery %s (workspace %s) accepted but never processed" % (d, ws))
        return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workspaces", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=240, help="length of the chaos phase")
    ap.add_argument("--settle", type=float, default=240, help="deadline for convergence")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--resync", type=int, default=120, help="VIBN_RESYNC_INTERVAL")
    ap.add_argument("--drift-every", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--bin", required=True, help="folder of vibnctl and vibn-sim")
    ap.add_argument("--vibnd", required=True, help="the vibnd binary (the sanitizer build)")
    ap.add_argument("--admin-url", required=True, help="superuser URL of the Postgres")
    ap.add_argument("--pgctl", required=True, help="pg_ctl wrapper (restart)")
    ap.add_argument("--out", required=True, help="folder for logs and manifests")
    ap.add_argument("--progress-min", type=float, default=PROGRESS_MIN,
                    help="share of the declared Ready at the end of the chaos (default 0.9)")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    s = Soak(a)
    try:
        rc = s.run()
    except BaseException:
        for p in s.procs:
            if p.alive():
                p.proc.kill()
        if getattr(s, "sim", None):
            s.sim.proc.kill()
        raise
    sys.exit(rc)


if __name__ == "__main__":
    main()
