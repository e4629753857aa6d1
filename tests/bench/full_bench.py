"""Driver of bench_31_full.sh: full workspaces created by vibnd against vibn-sim (issue 17).

  full_bench.py DB_URL BIN_DIR

A full workspace: owner alice and admin bob with Gitea accounts, repo web, app web. Phases:
  1 one full workspace alone at 50 ms of simulator latency, once
    the daemon's start-up is over, the quickest of three runs: seconds from its commit to
    Ready, divided by the latency, is the number of round trips its pass waits for one after
    another (the critical path), next to the calls it made;
  2 FULL_WS (default 200) full workspaces at FULL_LATENCY_MS (default 20), budgets raised
    out of the way: workspaces/s next to the latency bound (workers / (critical path x
    latency)) and to the issue's target (20 x the 12/s of a thread-per-pass controller);
  3 FULL_WS more on the same daemon, warm: what a daemon does past its start (the first
    burst also pays for connecting to the upstreams and for planning on each connection).
2 and 3 run at vibnd's default VIBN_WORKERS (or BENCH_WORKERS), then at as many as keep this
machine's cores 3/4 busy at what a warm workspace cost in the first run
(reconcile_bench.fit_workers): past that the CPU, not the latency, sets the pace.
Exit status 1 when a run fails (a workspace not Ready in time)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reconcile_bench as rb  # noqa: E402  (Sim, Daemon, helpers; same argv)

DB_URL = rb.DB_URL
FULL_WS = int(os.environ.get("FULL_WS", "200"))
LATENCY_MS = int(os.environ.get("FULL_LATENCY_MS", "20"))
NAIVE_RATE = 12.0  # workspaces/s of a thread-per-pass controller on this work (issue 17)
TARGET_X = 20
RAISED = rb.RAISED
out, ratio = rb.out, rb.ratio


def latency_bound(path):
    return rb.WORKERS / (path * LATENCY_MS / 1000.0)


def print_burst(db, path, secs, cpu0, cpu1, c):
    """The figures of the burst on a just-started daemon."""
    rate = FULL_WS / secs
    bound = latency_bound(path)
    per = sum(c[u]["read"] + c[u]["mutating"] for u in ("gitea", "coolify")) / FULL_WS
    out("%d full workspaces at %d ms: all Ready in %.2f s = %.1f workspaces/s, %.1f"
        " calls each", FULL_WS, LATENCY_MS, secs, rate, per)
    out("  latency bound workers / (critical path x latency) = %d / (%.1f x %d ms) ="
        " %.1f/s: %.2f x bound   target >= 0.80", rb.WORKERS, path, LATENCY_MS, bound,
        ratio(rate, bound))
    out("  (%d passes in flight sharing VIBN_DB_CONNECTIONS %d database connections, the"
        " default; %s)", rb.WORKERS, rb.DB_CONNECTIONS, rb.workers_said())
    rb.print_rounds_bound(FULL_WS, secs, path, LATENCY_MS)
    rb.print_cpu_bound(cpu0, cpu1, FULL_WS, rate, bound)
    rb.print_statements(db, FULL_WS)
    out("  issue 17's target %d x %.0f/s (a thread-per-pass controller) = %.0f/s:"
        " %.2f x target", TARGET_X, NAIVE_RATE, TARGET_X * NAIVE_RATE,
        ratio(rate, TARGET_X * NAIVE_RATE))


def bursts(db, sim, path):
    """FULL_WS at once on a daemon just started, then as many again on it, warm. Returns
    the CPU seconds a warm workspace cost."""
    rb.fresh_state(db, sim, LATENCY_MS)
    d = rb.Daemon(sim, RAISED)
    try:
        d.settle()
        sim.call("POST", "/_sim/counters/reset")
        rb.statements_reset(db)
        t0 = rb.declare_full(db, sim, FULL_WS)
        cpu0 = rb.cpu_seconds()
        secs = rb.wait_ready(db, FULL_WS, t0, "full workspaces")
        cpu1 = rb.cpu_seconds()
        c = sim.counters()
        print_burst(db, path, secs, cpu0, cpu1, c)
        t0 = rb.declare_full(db, sim, FULL_WS, FULL_WS + 1)
        cpu0 = rb.cpu_seconds()
        secs = rb.wait_ready(db, 2 * FULL_WS, t0, "full workspaces, warm")
        cpu1 = rb.cpu_seconds()
    finally:
        d.stop()
    rate = FULL_WS / secs
    out("%d more on the same daemon, warm (its connections to Postgres and the upstreams"
        " open, its statements planned): all Ready in %.2f s = %.1f workspaces/s: %.2f"
        " x target, %.2f x latency bound   target >= 0.80", FULL_WS, secs, rate,
        ratio(rate, TARGET_X * NAIVE_RATE), ratio(rate, latency_bound(path)))
    rb.print_rounds_bound(FULL_WS, secs, path, LATENCY_MS)
    return rb.print_cpu_bound(cpu0, cpu1, FULL_WS, rate, latency_bound(path))


def main():
    sim = rb.Sim()
    try:
        with rb.psycopg.connect(rb.DRIVER_URL, autocommit=True) as db:
            # 1. The critical path, measured: one workspace, nothing else going on.
            secs, path, runs, c = rb.measure_path(db, sim,
                                                  lambda db: rb.declare_full(db, sim, 1))
            rb.print_path("one full workspace (the org, then the slower of the members step"
                          " and the repos followed by the app; the project and the hook"
                          " beside them)", secs, path, runs, c)

            # 2. and 3. at WORKERS, then at the count this machine's cores can feed.
            cpu_s = bursts(db, sim, path)
            workers, why = rb.fit_workers(cpu_s, path, LATENCY_MS)
            if workers != rb.WORKERS:
                rb.use_workers(workers, why)
                bursts(db, sim, path)
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
