"""Driver of bench_30_reconcile.sh: the workspace reconciler in vibnd against vibn-sim.

  reconcile_bench.py DB_URL BIN_DIR

Phases (one vibn-sim, one vibnd per phase, the database emptied between bursts):
  1a signup burst of BENCH_WS workspaces in one transaction, simulator latency 0, budgets
     raised out of the way: seconds until all are Ready, workspaces/s, calls per workspace;
  3  a resync of those converged workspaces: mutating calls (must be 0), reads, seconds;
  1b the same burst with BENCH_LATENCY_MS of simulator latency;
  2  BENCH_BUDGET_WS workspaces at the default budgets: the Coolify budget binds.
Every figure is printed next to its limit, as a ratio. Exit status 1 when a run fails
(a workspace not Ready in time, a mutating call during the resync)."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import psycopg

DB_URL, BIN = sys.argv[1], sys.argv[2]
# The driver's own connections: another role where bench_db.sh made one, so that the
# statements counted for the daemon (role postgres, pg_stat_statements) are only its own.
DRIVER_URL = os.environ.get("BENCH_DRIVER_URL", DB_URL)
N = int(os.environ.get("BENCH_WS", "10000"))
N_BUDGET = int(os.environ.get("BENCH_BUDGET_WS", "200"))
LATENCY_MS = int(os.environ.get("BENCH_LATENCY_MS", "20"))
DEFAULT_WORKERS = 64  # vibnd's default VIBN_WORKERS (reconciles in flight)
# The passes in flight of the bench's daemons (VIBN_WORKERS): the default unless
# BENCH_WORKERS says otherwise; use_workers changes it between runs.
WORKERS = int(os.environ.get("BENCH_WORKERS", str(DEFAULT_WORKERS)))
# A run with more passes in flight than this machine's cores can feed measures the machine,
# not the daemon: the daemon, vibn-sim and Postgres share the cores, and past what they can
# feed every pass waits for a core besides its upstream calls (on 2 cores the default 64 is
# past it). So the latency-bound runs of full workspaces are made twice: at WORKERS, then at
# the count that keeps the cores FIT_BUSY busy at what a workspace cost them in the first
# run (fit_workers).
FIT_BUSY = 0.75
DB_CONNECTIONS = 8  # vibnd's default VIBN_DB_CONNECTIONS, which they share
GITEA_RPS, COOLIFY_RPM = 50, 180  # vibnd's defaults (controller/config.c)
PROJECT_TTL_S = 30  # WSD_PROJECT_LIST_TTL_MS in reconcilers/workspace_daemon.c
PHASES = os.environ.get("BENCH_PHASES", "burst0,resync,burst20,budget").split(",")
DEADLINE_S = float(os.environ.get("BENCH_DEADLINE", "400"))
TMP = os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="vibn-bench-rec.")

# The minimum calls one signup workspace needs (owner without a Gitea account, no repos,
# no apps). Gitea: POST org (made without a read first: only a 422 "already exists" leads
# to one, to adopt), POST hook (a fresh org has none, so no hook list). Coolify: POST
# project; the project list that adoption needs is one shared snapshot per TTL, amortized
# to ~0 per workspace.
MIN = {"gitea": {"read": 0, "mutating": 2}, "coolify": {"read": 0, "mutating": 1}}
# The critical path is measured (measure_path): one workspace alone at PATH_LATENCY_MS, the
# quickest of PATH_RUNS runs, in round trips.
PATH_LATENCY_MS, PATH_RUNS = 50, 3
RAISED = {"VIBN_COOLIFY_RPM": "100000", "VIBN_GITEA_RPS": "100000",
          "VIBN_WORKERS": str(WORKERS)}


WORKERS_WHY = "the default" if WORKERS == DEFAULT_WORKERS else "BENCH_WORKERS"


def fit_workers(cpu_s, path, latency_ms):
    """Passes in flight that keep this machine's cores FIT_BUSY busy when each lasts path x
    latency_ms and costs cpu_s of CPU (the daemon, vibn-sim and Postgres together), and
    why, for workers_said."""
    cores = os.cpu_count()
    n = max(1, int(FIT_BUSY * cores * path * latency_ms / 1000.0 / cpu_s))
    return n, ("%.2f x %d cores x %.1f x %d ms a pass / %.1f ms of CPU a workspace: the"
               " passes that keep this machine's cores %.0f%% busy" %
               (FIT_BUSY, cores, path, latency_ms, 1000 * cpu_s, 100 * FIT_BUSY))


def use_workers(n, why):
    """Daemons started from now on run n passes at once (RAISED carries it)."""
    global WORKERS, WORKERS_WHY
    WORKERS, WORKERS_WHY = n, why
    RAISED["VIBN_WORKERS"] = str(n)


def workers_said():
    """The run's count of passes in flight and how it came about, for its figures."""
    return "VIBN_WORKERS %d, %s" % (WORKERS, WORKERS_WHY)
# A resync (background sweep) of a converged signup workspace needs to read: the org's
# settings (Gitea sends no webhook for org edits), from the admin org list, one page per 50
# orgs; and its hooks (one list each: Gitea has no list of every org's hooks). No teams: with
# no linked member and no pruning no membership step is possible. Coolify: the recorded
# project is found in the shared GET /projects snapshot (one call per run), ~0 per workspace.
MIN_RESYNC_READS = {"gitea": 1 + 1 / 50, "coolify": 0}


def out(fmt, *args):
    print(fmt % args, flush=True)


def ratio(a, b):
    return a / b if b else float("inf")


class Sim:
    def __init__(self):
        self.proc = subprocess.Popen([os.path.join(BIN, "vibn-sim")], stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(TMP, "sim.err"), "w"), text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("vibn-sim ready"):
            sys.exit("vibn-sim did not start: %r" % line)
        parts = dict(kv.split("=", 1) for kv in line.split()[2:])
        self.gitea, self.coolify = parts["gitea"], parts["coolify"]
        self.addr = urllib.parse.urlsplit(self.gitea)

    def call(self, method, path, body=None):
        # A connection per call: the simulator closes idle keep-alive connections.
        conn = http.client.HTTPConnection(self.addr.hostname, self.addr.port, timeout=60)
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, data, {"Content-Type": "application/json"})
        r = conn.getresponse()
        text = r.read()
        conn.close()
        if r.status >= 300:
            sys.exit("vibn-sim %s %s: HTTP %d %s" % (method, path, r.status, text[:200]))
        return json.loads(text) if text else None

    def counters(self):
        c = self.call("GET", "/_sim/counters")
        return {u: {"read": c[u]["read"], "mutating": c[u]["mutating"],
                    "routes": c[u].get("routes", {})} for u in ("gitea", "coolify")}

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


class Daemon:
    def __init__(self, sim, env):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("VIBN_", "GITEA_", "COOLIFY_"))}
        e.update({"DATABASE_URL": DB_URL, "VIBN_LISTEN": "127.0.0.1:%d" % self.port,
                  "GITEA_API_URL": sim.gitea + "/api/v1", "GITEA_API_TOKEN": "gitea-token",
                  "GITEA_ADMIN_USER": "vibn-admin", "GITEA_WEBHOOK_SECRET": "bench-secret",
                  "COOLIFY_URL": sim.coolify, "COOLIFY_API_TOKEN": "coolify-token",
                  "COOLIFY_SERVER_UUID": "vibnsimlocalhostserver01",
                  "VIBN_COOLIFY_DEPLOY_KEY_UUID": "vibnsimdeploykey00000001", "VIBN_PUBLIC_URL": "http://127.0.0.1:9",
                  # No periodic resync inside a phase: the bench asks for one itself.
                  "VIBN_RESYNC_INTERVAL": "86400",
                  "VIBN_WEBHOOK_SPOOL_DIR": os.path.join(TMP, "spool-%d" % self.port)})
        e.update(env)
        self.log = open(os.path.join(TMP, "vibnd-%d.log" % self.port), "w")
        self.proc = subprocess.Popen([os.path.join(BIN, "vibnd")], env=e, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("vibnd exited %d; log in %s" % (self.proc.returncode, self.log.name))
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        sys.exit("vibnd not ready in 30 s")

    def metrics(self):
        """GET /metrics as {series: value}."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in body.splitlines() if line and not line.startswith("#")}

    def settle(self, timeout=10):
        """Waits until the workers' start-up round is over (each took a connection for its
        first claim and went idle): three looks in a row with connections open and none
        lent. A figure taken before it would count the start-up."""
        deadline, calm = time.monotonic() + timeout, 0
        while calm < 3:
            if time.monotonic() > deadline:
                sys.exit("vibnd's workers did not settle in %d s" % timeout)
            m = self.metrics()
            idle = m.get('vibn_worker_db_connections{state="idle"}', 0)
            lent = m.get('vibn_worker_db_connections{state="lent"}', 1)
            calm = calm + 1 if idle >= 1 and lent == 0 else 0
            time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def fresh_state(db, sim, latency_ms):
    # No ANALYZE of the emptied tables: statistics saying "empty" make the signup
    # function's lookups sequential scans, quadratic over 10,000 inserts in one
    # transaction. TRUNCATE leaves them unknown (the planner then assumes a few pages).
    db.execute("TRUNCATE vibn_workspaces, vibn_reconcile_queue CASCADE")
    sim.call("POST", "/_sim/reset")
    sim.call("POST", "/_sim/faults", {"upstream": "both", "latency_ms": latency_ms})


def declare_full(db, sim, n, first=1):
    """n full workspaces full<first>..full<first+n-1> (owner alice and admin bob with Gitea
    accounts, repo web, app web) in one transaction; returns the monotonic time of the
    commit. The Gitea accounts are made with the first batch."""
    if first == 1:
        for u in ("alice", "bob"):
            sim.call("POST", "/_sim/users", {"username": u, "email": u + "@example.com"})
    with db.transaction():
        db.execute("CREATE TEMP TABLE IF NOT EXISTS declared (id uuid) ON COMMIT DROP")
        db.execute("WITH w AS (INSERT INTO vibn_workspaces (slug, name, owner, source)"
                   " SELECT 'full' || i, 'Full ' || i, 'alice', 'manifest'"
                   " FROM generate_series(%s::int, %s::int) i RETURNING id)"
                   " INSERT INTO declared SELECT id FROM w", (first, first + n - 1))
        db.execute("INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username,"
                   " role) SELECT id, 'alice', 'alice', 'owner' FROM declared"
                   " UNION ALL SELECT id, 'bob', 'bob', 'admin' FROM declared")
        db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name, private, description)"
                   " SELECT id, 'web', true, 'Marketing site' FROM declared")
        db.execute("INSERT INTO vibn_workspace_apps (workspace_id, name, repo, branch,"
                   " build_pack, ports) SELECT id, 'web', 'web', 'main', 'nixpacks', '3000'"
                   " FROM declared")
    return time.monotonic()


def signup_burst(db, n, quiet=False):
    """n signups in one transaction; returns the monotonic time of the commit."""
    t = time.monotonic()
    with db.transaction():
        db.execute("SELECT count(vibn_ensure_workspace_for_user('bench-user-' || i,"
                   " 'bench' || i || '@example.com')) FROM generate_series(1, %s) i", (n,))
    done = time.monotonic()
    if not quiet:
        out("  inserted %d workspaces in one transaction (vibn_ensure_workspace_for_user):"
            " %.2f s", n, done - t)
    return done


def measure_path(db, sim, declare_one):
    """The critical path of a creating pass, measured: one workspace (declare_one(db) makes
    it and returns the monotonic time of its commit) alone, on a daemon whose start-up is
    over, at PATH_LATENCY_MS; the quickest of PATH_RUNS runs. Returns (seconds, round trips,
    the runs, the last run's counters)."""
    runs = []
    for _ in range(PATH_RUNS):
        fresh_state(db, sim, PATH_LATENCY_MS)
        d = Daemon(sim, RAISED)
        try:
            d.settle()
            sim.call("POST", "/_sim/counters/reset")
            runs.append(wait_ready(db, 1, declare_one(db), "one workspace alone", 0.005))
            counters = sim.counters()
        finally:
            d.stop()
    secs = min(runs)
    return secs, secs / (PATH_LATENCY_MS / 1000.0), runs, counters


def print_path(what, secs, path, runs, counters):
    calls = sum(counters[u]["read"] + counters[u]["mutating"] for u in ("gitea", "coolify"))
    out("%s alone at %d ms of latency: Ready %.3f s after its commit = %.1f round trips one"
        " after another (the critical path), of %d calls made; the quickest of %s s", what,
        PATH_LATENCY_MS, secs, path, calls, ", ".join("%.3f" % r for r in runs))
    for u in ("gitea", "coolify"):
        out("  %s: %s", u, ", ".join("%s %d" % (r, k) for r, k in
                                    sorted(counters[u]["routes"].items())))


def wait_ready(db, n, t0, what, poll=0.05):
    """Polls every poll s until n workspaces are ready; returns seconds since t0."""
    last = -1
    next_note = time.monotonic() + 30
    while True:
        ready, errors = db.execute(
            "SELECT count(*) FILTER (WHERE provision_status = 'ready'),"
            " count(*) FILTER (WHERE provision_status = 'error') FROM vibn_workspaces"
        ).fetchone()
        now = time.monotonic()
        if ready >= n:
            return now - t0
        if now - t0 > DEADLINE_S:
            sys.exit("%s: only %d of %d Ready after %.0f s (%d in error)"
                     % (what, ready, n, DEADLINE_S, errors))
        if now >= next_note and ready != last:
            out("    ... %d/%d Ready after %.0f s", ready, n, now - t0)
            next_note = now + 30
        last = ready
        time.sleep(poll)


TICK = os.sysconf("SC_CLK_TCK")


PROCS = ("vibnd", "vibn-sim", "postgres")


def cpu_seconds():
    """CPU seconds used so far by vibnd, vibn-sim and postgres processes, by name, and the
    part of it spent in the kernel (key "kernel:" + name)."""
    use = {k: 0.0 for k in PROCS}
    use.update({"kernel:" + k: 0.0 for k in PROCS})
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if name in use:  # utime, stime: fields 14 and 15 of stat(5)
            use[name] += (int(fields[11]) + int(fields[12])) / TICK
            use["kernel:" + name] += int(fields[12]) / TICK
    return use


def print_cpu(before, after, secs):
    out("  CPU during the run (%d cores): %s", os.cpu_count(), ", ".join(
        "%s %.1f s (%.0f%% of a core)" % (k, after[k] - before[k],
                                          100 * (after[k] - before[k]) / secs)
        for k in PROCS))


def print_cpu_bound(before, after, n, rate, latency_bound=None, target=0.8):
    """The other limit of a run on this machine: its cores. What one workspace cost each
    process (Postgres: the backends alive at the end, the workers' connections among them),
    and the rate the cores allow at that cost, next to the rate measured. With the run's
    latency bound: when target x that bound is past what these cores allow, how many cores
    it needs at this cost. Returns the CPU seconds a workspace cost the three processes."""
    per_ws = {k: (after[k] - before[k]) / n for k in after}
    total = sum(per_ws[k] for k in PROCS)
    cores = os.cpu_count()
    bound = cores / total if total > 0 else float("inf")
    out("  CPU per workspace: %s = %.1f ms; CPU bound %d cores / %.1f ms = %.0f/s: %.2f x CPU"
        " bound", ", ".join("%s %.1f ms (kernel %.1f)" % (k, 1000 * per_ws[k],
                                                         1000 * per_ws["kernel:" + k])
                            for k in PROCS),
        1000 * total, cores, 1000 * total, bound, ratio(rate, bound))
    if latency_bound is not None and target * latency_bound > bound:
        out("  %.2f x the latency bound = %.0f/s is past this machine's CPU bound: at %.1f ms"
            " a workspace it needs %.1f cores (this machine has %d)", target, target *
            latency_bound, 1000 * total, target * latency_bound * total, cores)
    return total


def print_rounds_bound(n, secs, path, latency_ms):
    """The latency bound of a finite run: n passes over WORKERS workers take at least
    ceil(n / WORKERS) passes one after another on some worker, each the critical path long;
    with 200 over 64, four rounds where the rate bound counts 3.1."""
    rounds = -(-n // WORKERS)
    least = rounds * path * latency_ms / 1000.0
    out("  %d passes over %d workers: %d rounds of %.1f x %d ms at least = %.2f s, so at most"
        " %.2f x the rate bound; measured %.2f s = %.2f x this bound", n, WORKERS, rounds,
        path, latency_ms, least, (n / WORKERS) / rounds, secs, ratio(least, secs))


def statements_reset(db):
    """Starts counting the daemon's statements (where pg_stat_statements is loaded)."""
    if DRIVER_URL != DB_URL:
        db.execute("SELECT pg_stat_statements_reset()")


def print_statements(db, n, top=int(os.environ.get("BENCH_TOP", "8"))):
    """The statements the daemon sent since statements_reset, per workspace: each top-level
    one is a round trip to Postgres. The costliest, nested ones (inside the SQL functions)
    among them, are named with their execution time (wall time: waits for the CPU too)."""
    if DRIVER_URL == DB_URL:
        return
    rows = db.execute("SELECT s.toplevel, s.calls, s.total_exec_time, regexp_replace(s.query,"
                      " '\\s+', ' ', 'g') FROM pg_stat_statements s JOIN pg_roles r"
                      " ON r.oid = s.userid WHERE r.rolname = 'postgres'"
                      " ORDER BY s.total_exec_time DESC").fetchall()
    tops = [r for r in rows if r[0]]
    out("  database statements per workspace (pg_stat_statements): %.2f round trips,"
        " executing %.2f ms", sum(r[1] for r in tops) / n, sum(r[2] for r in tops) / n)
    for toplevel, calls, ms, query in rows[:top]:
        out("    %5.2f x %5.2f ms  %s%s", calls / n, ms / calls if calls else 0,
            "" if toplevel else "(nested) ", query[:76])


def print_calls(counters, n):
    out("  API calls per workspace (vibn-sim /_sim/counters) vs the design's minimum:")
    for u in ("gitea", "coolify"):
        for k in ("mutating", "read"):
            have = counters[u][k] / n
            want = MIN[u][k]
            out("    %-7s %-8s %7.3f   minimum %d   (%s)", u, k, have, want,
                "%.2fx" % ratio(have, want) if want else "excess %.3f" % (have - want))
    for u in ("gitea", "coolify"):
        routes = ", ".join("%s %d" % (r, c) for r, c in sorted(counters[u]["routes"].items()))
        out("    %s routes: %s", u, routes)


def burst_phase(db, sim, latency_ms, n):
    out("signup burst: %d workspaces, vibn-sim latency %d ms, %s, budgets raised"
        " (VIBN_COOLIFY_RPM=100000, VIBN_GITEA_RPS=100000)", n, latency_ms, workers_said())
    fresh_state(db, sim, latency_ms)
    d = Daemon(sim, RAISED)
    try:
        sim.call("POST", "/_sim/counters/reset")
        statements_reset(db)
        t0 = signup_burst(db, n)
        cpu0 = cpu_seconds()
        secs = wait_ready(db, n, t0, "burst")
        cpu1 = cpu_seconds()
        counters = sim.counters()
    finally:
        d.stop()
    rate = n / secs
    out("  all %d Ready %.2f s after the commit: %.0f workspaces/s", n, secs, rate)
    print_cpu(cpu0, cpu1, secs)
    print_statements(db, n)
    return secs, rate, counters, d


def resync_phase(db, sim, n):
    out("steady state: resync of the %d converged workspaces (vibnctl resync --all"
        " --spread 0), vibn-sim latency 0", n)
    d = Daemon(sim, RAISED)
    try:
        sim.call("POST", "/_sim/counters/reset")
        before = db.execute("SELECT n_tup_upd FROM pg_stat_user_tables"
                            " WHERE relname = 'vibn_workspaces'").fetchone()[0]
        env = dict(os.environ, DATABASE_URL=DB_URL)
        t0 = time.monotonic()
        cpu0 = cpu_seconds()
        subprocess.run([os.path.join(BIN, "vibnctl"), "resync", "--all", "--spread", "0"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        while db.execute("SELECT count(*) FROM vibn_reconcile_queue").fetchone()[0] > 0:
            if time.monotonic() - t0 > DEADLINE_S:
                sys.exit("resync: the queue did not drain in %.0f s" % DEADLINE_S)
            time.sleep(0.05)
        secs = time.monotonic() - t0
        cpu1 = cpu_seconds()
        counters = sim.counters()
        time.sleep(0.6)  # statistics are flushed at most once a second
        db.execute("SELECT pg_stat_clear_snapshot()")
        after = db.execute("SELECT n_tup_upd FROM pg_stat_user_tables"
                           " WHERE relname = 'vibn_workspaces'").fetchone()[0]
        ready = db.execute("SELECT count(*) FROM vibn_workspaces"
                           " WHERE provision_status = 'ready'").fetchone()[0]
    finally:
        d.stop()
    mutating = counters["gitea"]["mutating"] + counters["coolify"]["mutating"]
    out("  drained in %.2f s: %.0f workspaces/s; still Ready: %d/%d", secs, n / secs, ready, n)
    print_cpu(cpu0, cpu1, secs)
    out("  mutating calls: %d   limit 0   (%s)", mutating, "ok" if mutating == 0 else "FAIL")
    out("  workspace rows updated: %d (a steady state writes no row)", after - before)
    for u in ("gitea", "coolify"):
        have, want = counters[u]["read"] / n, MIN_RESYNC_READS[u]
        out("  %-7s reads per workspace %6.3f   minimum %.3f   (%s)", u, have, want,
            "%.2fx" % ratio(have, want) if want else "excess %.3f" % (have - want))
    for u in ("gitea", "coolify"):
        routes = ", ".join("%s %d" % (r, c) for r, c in sorted(counters[u]["routes"].items()))
        out("    %s routes: %s", u, routes)
    return mutating == 0 and ready == n


def budget_phase(db, sim, n):
    out("default budgets: %d workspaces (VIBN_COOLIFY_RPM=%d, VIBN_GITEA_RPS=%d),"
        " vibn-sim latency 0", n, COOLIFY_RPM, GITEA_RPS)
    fresh_state(db, sim, 0)
    d = Daemon(sim, {})
    try:
        sim.call("POST", "/_sim/counters/reset")
        statements_reset(db)
        t0 = signup_burst(db, n)
        secs = wait_ready(db, n, t0, "default budgets")
        counters = sim.counters()
    finally:
        d.stop()
    # Token buckets (clients/coolify.c, clients/gitea.c): Coolify burst rpm/10 then rpm/60
    # per second; Gitea burst rps then rps per second. The minimum calls: n creates plus
    # one project list per TTL on Coolify, 3n on Gitea.
    c_rate, c_burst = COOLIFY_RPM / 60.0, max(COOLIFY_RPM // 10, 1)
    g_rate, g_burst = float(GITEA_RPS), GITEA_RPS
    lists = 1
    while True:  # the snapshot is listed again each TTL while the run lasts
        c_need = n * MIN["coolify"]["mutating"] + lists
        c_secs = max(c_need - c_burst, 0) / c_rate
        if c_secs <= lists * PROJECT_TTL_S:
            break
        lists += 1
    g_need = n * (MIN["gitea"]["read"] + MIN["gitea"]["mutating"])
    g_secs = max(g_need - g_burst, 0) / g_rate
    expected = max(c_secs, g_secs)
    c_used = counters["coolify"]["read"] + counters["coolify"]["mutating"]
    g_used = counters["gitea"]["read"] + counters["gitea"]["mutating"]
    out("  expected: Coolify (%d calls - %d burst) / %.0f per s = %.1f s; Gitea (%d calls"
        " - %d burst) / %.0f per s = %.1f s; the bound: %.1f s", c_need, c_burst, c_rate,
        c_secs, g_need, g_burst, g_rate, g_secs, expected)
    out("  measured: all %d Ready in %.1f s (%.2fx the budget bound); calls made: Coolify %d,"
        " Gitea %d; achieved Coolify rate %.0f/min (limit %d: %.2fx)", n, secs,
        ratio(secs, expected), c_used, g_used, (c_used - c_burst) / secs * 60, COOLIFY_RPM,
        ratio((c_used - c_burst) / secs * 60, COOLIFY_RPM))
    return secs


def main():
    ok = True
    sim = Sim()
    db = psycopg.connect(DRIVER_URL, autocommit=True)
    try:
        if "burst0" in PHASES:
            secs0, rate0, c0, _ = burst_phase(db, sim, 0, N)
            print_calls(c0, N)
            out("  throughput %.0f workspaces/s   target >= 500   (%.2fx)", rate0,
                ratio(rate0, 500))
            if "resync" in PHASES:
                ok = resync_phase(db, sim, N) and ok
        if "burst20" in PHASES:
            p_secs, path, runs, pc = measure_path(db, sim, lambda db: signup_burst(db, 1, True))
            print_path("one signup workspace (POST org, then POST hook; the project beside"
                       " them)", p_secs, path, runs, pc)
            secs1, rate1, c1, _ = burst_phase(db, sim, LATENCY_MS, N)
            print_calls(c1, N)
            bound = WORKERS / (path * LATENCY_MS / 1000.0)
            out("  bound: workers / (critical path x latency) = %d / (%.1f x %d"
                " ms) = %.0f workspaces/s; target >= 0.80 x bound = %.0f", WORKERS,
                path, LATENCY_MS, bound, 0.8 * bound)
            out("  throughput %.0f workspaces/s = %.2f x bound   target >= 0.80   (%.2fx)",
                rate1, ratio(rate1, bound), ratio(rate1 / bound, 0.8))
        if "budget" in PHASES:
            budget_phase(db, sim, N_BUDGET)
    finally:
        db.close()
        sim.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
