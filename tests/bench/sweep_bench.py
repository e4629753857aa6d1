"""Driver of bench_35_sweep.sh: drift repair runs (sweeps) of vibnd against vibn-sim.

  sweep_bench.py DB_URL BIN_DIR

Phases: full workspaces resynced at 0 and 20 ms of simulator latency (reads per workspace
next to the design's minimum, 0 mutating calls, time against the latency bound), by a daemon
at VIBN_WORKERS and again at as many as keep this machine's cores 3/4 busy at what a
workspace cost in the first runs (reconcile_bench.fit_workers); a resync
over SWEEP_SCALE_WS converged workspaces seeded straight into the database and vibn-sim,
whose GET /projects is then one body far over 8 MiB (vibnd's peak RSS from VmHWM); the plan
of a run over as many full workspaces at the default budgets.
Every figure is printed next to its bound. Exit status 1 when a run fails its bound on
correctness (a mutating call, a row written, a workspace not Ready, RSS over 32 MB)."""
import http.client
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reconcile_bench as rb  # noqa: E402  (Sim, Daemon, helpers; same argv)

DB_URL, BIN = rb.DB_URL, rb.BIN
FULL_WS = int(os.environ.get("SWEEP_FULL_WS", "200"))
# The resync of the full workspaces is measured at each of these latencies: 0 (what the
# reads cost in CPU) and 20 ms (the latency bound applies).
LATENCIES_MS = [int(x) for x in os.environ.get("SWEEP_LATENCY_MS", "0,20").split(",")]
TARGET = 0.8  # share of the latency bound a resync should reach (issue 17)
PATH_LATENCY_MS, PATH_RUNS = rb.PATH_LATENCY_MS, rb.PATH_RUNS  # the critical path
SCALE_WS = int(os.environ.get("SWEEP_SCALE_WS", "100000"))
RSS_BOUND_MB = 32
PAGE = 50  # Gitea's MAX_RESPONSE_ITEMS default, vibn-sim's default page cap
RAISED = rb.RAISED
out, ratio = rb.out, rb.ratio


def pages(n):
    """Pages of Gitea's admin org list for n orgs."""
    return (n + PAGE - 1) // PAGE


def drain(db, t0, what, deadline=900, sample=None, poll=0.02):
    while db.execute("SELECT count(*) FROM vibn_reconcile_queue").fetchone()[0] > 0:
        if time.monotonic() - t0 > deadline:
            sys.exit("%s: the queue did not drain in %.0f s" % (what, deadline))
        if sample:
            sample()
        time.sleep(poll)
    return time.monotonic() - t0


def row_versions(db):
    """Each workspace row's version (xmin): a written row gets a new one. Exact, where the
    statistics views lag behind idle backends."""
    return dict(db.execute("SELECT id, xmin::text FROM vibn_workspaces").fetchall())


def rows_written(before, after):
    return sum(1 for k, v in after.items() if before.get(k) != v)


def resync_all():
    subprocess.run([os.path.join(BIN, "vibnctl"), "resync", "--all", "--spread", "0"],
                   env=dict(os.environ, DATABASE_URL=DB_URL), check=True,
                   stdout=subprocess.DEVNULL)


def print_reads(counters, n, minimum):
    ok = True
    for u in ("gitea", "coolify"):
        have, want = counters[u]["read"] / n, minimum[u]
        out("  %-7s reads per workspace %7.3f   design minimum %.3f   (%.2fx)", u, have, want,
            ratio(have, want))
    for u in ("gitea", "coolify"):
        routes = ", ".join("%s %d" % (r, c) for r, c in sorted(counters[u]["routes"].items()))
        out("    %s routes: %s", u, routes)
    mutating = counters["gitea"]["mutating"] + counters["coolify"]["mutating"]
    out("  mutating calls: %d   limit 0   (%s)", mutating, "ok" if mutating == 0 else "FAIL")
    return ok and mutating == 0


def resync_path(db, sim):
    """The critical path of a resync pass, measured: one converged full workspace alone,
    resynced at PATH_LATENCY_MS, the quickest of PATH_RUNS runs, in round trips. The run's
    shared reads (the admin org list page, the Coolify project list) are on it; in a run over
    many workspaces one pass waits for them and the others find them read."""
    rb.fresh_state(db, sim, 0)
    rb.declare_full(db, sim, 1)
    d = rb.Daemon(sim, RAISED)
    runs = []
    try:
        rb.wait_ready(db, 1, time.monotonic(), "one full workspace")
        drain(db, time.monotonic(), "one full workspace converging")
        sim.call("POST", "/_sim/faults", {"upstream": "both", "latency_ms": PATH_LATENCY_MS})
        for _ in range(PATH_RUNS):
            t0 = time.monotonic()
            resync_all()
            runs.append(drain(db, t0, "one resync", poll=0.002))
    finally:
        d.stop()
        sim.call("POST", "/_sim/faults", {"upstream": "both", "latency_ms": 0})
    path = min(runs) / (PATH_LATENCY_MS / 1000.0)
    out("one full workspace's resync alone at %d ms of latency: the queue empty %.3f s after"
        " the request = %.1f round trips one after another (the run's shared reads on them),"
        " the quickest of %s s", PATH_LATENCY_MS, min(runs), path,
        ", ".join("%.3f" % r for r in runs))
    return path


def full_phase(db, sim):
    """FULL_WS full workspaces converged, then resynced at each of LATENCIES_MS."""
    out("full workspaces: %d (owner alice and admin bob with Gitea accounts, repo web, app"
        " web), resynced at vibn-sim latency %s ms, budgets raised", FULL_WS,
        " and ".join(str(x) for x in LATENCIES_MS))
    # Per full workspace: hooks, Owners' and Admins' members (by the team ids its creating
    # pass recorded: no team list), repos, and the admin org list (one page per PAGE orgs);
    # on Coolify the apps environment and one project list for the run.
    minimum = {"gitea": 4 + pages(FULL_WS) / FULL_WS, "coolify": 1 + 1 / FULL_WS}
    crit = resync_path(db, sim)
    rb.fresh_state(db, sim, 0)
    rb.declare_full(db, sim, FULL_WS)
    ok = True
    first = (rb.WORKERS, rb.WORKERS_WHY)
    d = rb.Daemon(sim, RAISED)
    try:
        rb.wait_ready(db, FULL_WS, time.monotonic(), "full workspaces")
        drain(db, time.monotonic(), "full workspaces converging")  # follow-ups settle
        run_ok, cpu_s = resyncs(db, sim, crit, minimum)
        ok = ok and run_ok
        # Again at the count this machine's cores can feed (reconcile_bench.FIT_BUSY).
        workers, why = rb.fit_workers(cpu_s, crit, max(LATENCIES_MS))
        if cpu_s > 0 and workers != rb.WORKERS:
            d.stop()
            rb.use_workers(workers, why)
            d = rb.Daemon(sim, RAISED)
            ok = resyncs(db, sim, crit, minimum)[0] and ok
    finally:
        d.stop()
        rb.use_workers(*first)  # the later phases run at the first count
        sim.call("POST", "/_sim/faults", {"upstream": "both", "latency_ms": 0})
    return ok


def resyncs(db, sim, crit, minimum):
    """The converged full workspaces resynced at each of LATENCIES_MS by the daemon running.
    Returns (whether each run was right, the CPU seconds a workspace cost at the last
    latency)."""
    ok, cpu_s = True, 0.0
    out("  -- %s", rb.workers_said())
    for latency in LATENCIES_MS:
        sim.call("POST", "/_sim/faults", {"upstream": "both", "latency_ms": latency})
        sim.call("POST", "/_sim/counters/reset")
        before = row_versions(db)
        t0 = time.monotonic()
        cpu0 = rb.cpu_seconds()
        resync_all()
        secs = drain(db, t0, "full resync at %d ms" % latency)
        cpu1 = rb.cpu_seconds()
        counters = sim.counters()
        written = rows_written(before, row_versions(db))
        ready = db.execute("SELECT count(*) FROM vibn_workspaces"
                           " WHERE provision_status = 'ready'").fetchone()[0]
        out("  -- resync of the %d at %d ms", FULL_WS, latency)
        run_ok = print_reads(counters, FULL_WS, minimum)
        out("  workspace rows written: %d   limit 0   (%s); still Ready: %d/%d", written,
            "ok" if written == 0 else "FAIL", ready, FULL_WS)
        rate = FULL_WS / secs
        if latency == 0:
            out("  resync of %d in %.2f s: %.1f workspaces/s (no latency bound at 0 ms:"
                " what the reads cost vibnd, vibn-sim and Postgres in CPU)", FULL_WS, secs,
                rate)
        else:
            bound = rb.WORKERS / (crit * latency / 1000.0)
            out("  resync of %d in %.2f s: %.1f workspaces/s; latency bound workers /"
                " (critical path x latency) = %d / (%.1f x %d ms) = %.1f/s:"
                " %.2f x bound   target >= %.2f   (%s)", FULL_WS, secs, rate, rb.WORKERS,
                crit, latency, bound, ratio(rate, bound), TARGET,
                "ok" if ratio(rate, bound) >= TARGET else "below")
            rb.print_rounds_bound(FULL_WS, secs, crit, latency)
        cpu_s = rb.print_cpu_bound(cpu0, cpu1, FULL_WS, rate,
                                   None if latency == 0 else
                                   rb.WORKERS / (crit * latency / 1000.0), TARGET)
        ok = ok and run_ok and written == 0 and ready == FULL_WS
    return ok, cpu_s


def vm(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def seed_scale(db, sim):
    """SCALE_WS converged signup workspaces: a template converged by vibnd, then rows and
    upstream objects made in bulk, with the template's conditions."""
    n = SCALE_WS
    rb.fresh_state(db, sim, 0)
    db.execute("SELECT vibn_ensure_workspace_for_user('tpl-user', 'tplzq@example.com')")
    d = rb.Daemon(sim, RAISED)
    try:
        rb.wait_ready(db, 1, time.monotonic(), "template")
    finally:
        d.stop()
    slug, name, conds, uuid, hook, sha, gen = db.execute(
        "SELECT slug, name, conditions::text, coolify_project_uuid, gitea_hook_id,"
        " gitea_hook_secret_sha256, generation FROM vibn_workspaces").fetchone()
    t = time.monotonic()
    batch = 10000  # each signup takes an advisory lock: max_locks_per_transaction bounds one
    for lo in range(1, n + 1, batch):
        with db.transaction():
            db.execute("SELECT count(vibn_ensure_workspace_for_user('bench-user-' || i,"
                       " 'bench' || i || '@example.com')) FROM generate_series(%s::int, %s::int) i",
                       (lo, min(lo + batch - 1, n)))
    out("  %d workspaces inserted (vibn_ensure_workspace_for_user, %d a transaction): %.1f s",
        n, batch, time.monotonic() - t)
    bad = db.execute("SELECT count(*) FROM vibn_workspaces WHERE slug <> 'bench' ||"
                     " substr(owner, 12) AND slug <> %s", (slug,)).fetchone()[0]
    if bad:
        sys.exit("seeded slugs are not bench<i>: %d differ" % bad)
    t = time.monotonic()
    if name != slug:
        sys.exit("the template's name %r is not its slug %r" % (name, slug))
    got = sim.call("POST", "/_sim/seed", {
        "start": 1, "count": n,
        "org": {"name": "vibn-bench{i}", "full_name": "bench{i}",
        "description": "Vibn workspace bench{i}", "visibility": "private",
                "hook": {"url": "http://127.0.0.1:9/webhooks/gitea", "secret": "bench-secret",
                         "events": ["repository"]}},
        "project": {"name": "vibn-ws-bench{i}", "description": "Vibn workspace bench{i}"}})
    out("  vibn-sim seeded with %d orgs, hooks and projects (POST /_sim/seed): %.1f s", n,
        time.monotonic() - t)
    t = time.monotonic()
    with db.transaction():
        db.execute(
            "UPDATE vibn_workspaces w SET coolify_project_uuid = s.uuid, gitea_org = 'vibn-' ||"
            " w.slug, gitea_hook_id = s.hook, gitea_hook_secret_sha256 = %s,"
            " provision_status = 'ready', observed_generation = w.generation,"
            " conditions = (SELECT jsonb_agg(c || jsonb_build_object('observedGeneration',"
            "   w.generation)) FROM jsonb_array_elements(replace(replace(replace(%s, %s,"
            "   w.slug), %s, s.uuid), 'hook ' || %s || ' ', 'hook ' || s.hook || ' ')::jsonb) c)"
            " FROM unnest(%s::text[], %s::bigint[]) WITH ORDINALITY AS s(uuid, hook, i)"
            " WHERE w.slug = 'bench' || s.i",
            (sha, conds, slug, uuid, str(hook), got["projects"], got["hooks"]))
        db.execute("TRUNCATE vibn_reconcile_queue")
    out("  rows made converged (upstream ids, conditions from the template): %.1f s",
        time.monotonic() - t)
    db.execute("ANALYZE")


def project_list_size(sim):
    """Bytes and projects of Coolify's GET /projects as vibn-sim answers it (read in pieces:
    the bench keeps no copy of it either)."""
    u = urllib.parse.urlsplit(sim.coolify)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    conn.request("GET", "/api/v1/projects", headers={"Authorization": "Bearer coolify-token"})
    r = conn.getresponse()
    if r.status != 200:
        sys.exit("vibn-sim GET /projects: HTTP %d" % r.status)
    size = projects = 0
    tail = b""
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        size += len(chunk)
        # One "name" per project (the list embeds nothing else named vibn-ws-...).
        text = tail + chunk
        projects += text.count(b'"name":"vibn-ws-')
        tail = text[-32:]
        projects -= tail.count(b'"name":"vibn-ws-')
    projects += tail.count(b'"name":"vibn-ws-')
    conn.close()
    return size, projects


def scale_phase(db, sim):
    out("scale: %d converged signup workspaces seeded into Postgres and vibn-sim, then one"
        " resync of all of them (vibnctl resync --all --spread 0), budgets raised", SCALE_WS)
    seed_scale(db, sim)
    n = db.execute("SELECT count(*) FROM vibn_workspaces").fetchone()[0]
    size, projects = project_list_size(sim)
    out("  vibn-sim's GET /projects: %d projects in one body of %.1f MB (%.1fx the 8 MiB cap of"
        " a buffered response): vibnd reads it as it arrives", projects, size / 1e6,
        size / (8 * 1024 * 1024))
    d = rb.Daemon(sim, RAISED)
    peak = [0.0]

    def sample():
        peak[0] = max(peak[0], vm(d.proc.pid, "VmRSS"))

    try:
        idle = vm(d.proc.pid, "VmRSS")
        hwm0 = vm(d.proc.pid, "VmHWM")
        sim.call("POST", "/_sim/counters/reset")
        before = row_versions(db)
        t0 = time.monotonic()
        resync_all()
        secs = drain(db, t0, "scale resync", sample=sample)
        hwm = vm(d.proc.pid, "VmHWM")
        counters = sim.counters()
        written = rows_written(before, row_versions(db))
        ready = db.execute("SELECT count(*) FROM vibn_workspaces"
                           " WHERE provision_status = 'ready'").fetchone()[0]
    finally:
        d.stop()
    out("  drained in %.1f s: %.0f workspaces/s; still Ready: %d/%d", secs, n / secs, ready, n)
    out("  vibnd resident memory: %.1f MB idle with %d workspaces (VmHWM %.1f MB before the"
        " run); sampled VmRSS peak %.1f MB during the run", idle, n, hwm0, peak[0])
    out("  vibnd peak RSS (VmHWM from /proc/PID/status, whole process life): %.1f MB   bound %d MB"
        "   (%.2fx, %s)", hwm, RSS_BOUND_MB, ratio(hwm, RSS_BOUND_MB),
        "ok" if hwm < RSS_BOUND_MB else "FAIL")
    # Signup workspaces: the hooks of each org; the admin org list (one page per PAGE orgs)
    # and one project list for the run.
    ok = print_reads(counters, n, {"gitea": 1 + pages(n) / n, "coolify": 1 / n})
    out("  workspace rows written: %d   limit 0   (%s)", written, "ok" if written == 0 else "FAIL")
    return ok and written == 0 and ready == n and hwm < RSS_BOUND_MB


def plan_phase(db):
    n = db.execute("SELECT count(*) FROM vibn_workspaces").fetchone()[0]
    out("plan: the same %d workspaces made full in the database (owner and admin with Gitea"
        " accounts, a repo, an app each, their team ids recorded as a creating pass records"
        " them); vibnctl resync --plan at the default budgets", n)
    with db.transaction():
        db.execute("UPDATE vibn_workspaces SET gitea_team_ids ="
                   " jsonb_build_object('Owners', 2 * row_number, 'Admins', 2 * row_number + 1)"
                   " FROM (SELECT id AS wid, row_number() OVER () FROM vibn_workspaces) x"
                   " WHERE id = x.wid")
        db.execute("UPDATE vibn_workspace_members SET gitea_username = 'alice'")
        db.execute("INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username,"
                   " role) SELECT id, 'bob', 'bob', 'admin' FROM vibn_workspaces")
        db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name, private)"
                   " SELECT id, 'web', true FROM vibn_workspaces")
        db.execute("INSERT INTO vibn_workspace_apps (workspace_id, name, repo, branch,"
                   " build_pack, ports) SELECT id, 'web', 'web', 'main', 'nixpacks', '3000'"
                   " FROM vibn_workspaces")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBN_")}
    env["DATABASE_URL"] = DB_URL
    r = subprocess.run([os.path.join(BIN, "vibnctl"), "resync", "--plan"], env=env,
                       check=True, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        out("  %s", line)
    # The same in hours, per upstream, at the default budgets.
    g = re.search(r"gitea\s+(\d+) calls.*\s(\d+) s at (\d+)/s", r.stdout)
    c = re.search(r"coolify\s+(\d+) calls.*\s(\d+) s at (\d+)/min, (\d+) s at Coolify's 200/min",
                  r.stdout)
    spread = re.search(r"spread at VIBN_RESYNC_INTERVAL=\d+: (\d+) s", r.stdout)
    if g and c and spread:
        out("  per full workspace: %.2f Gitea + %.2f Coolify calls; a run over %d: Gitea %.1f h"
            " at %s/s, Coolify %.1f h at %s/min (%.1f h at 200/min); paced to half of each"
            " budget: %.1f h", int(g.group(1)) / n, int(c.group(1)) / n, n,
            int(g.group(2)) / 3600, g.group(3), int(c.group(2)) / 3600, c.group(3),
            int(c.group(4)) / 3600, int(spread.group(1)) / 3600)


def main():
    ok = True
    sim = rb.Sim()
    import psycopg
    db = psycopg.connect(rb.DRIVER_URL, autocommit=True)
    try:
        ok = full_phase(db, sim) and ok
        ok = scale_phase(db, sim) and ok
        plan_phase(db)
    finally:
        db.close()
        sim.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
