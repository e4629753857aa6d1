"""Driver of bench_32_window.sh: signups against Coolify's own rate-limit window.

  window_bench.py DB_URL BIN_DIR

Coolify throttles its API with Laravel's fixed window (200 requests a minute per token by
default, announced in X-RateLimit-Limit / X-RateLimit-Remaining, then 429 + Retry-After);
vibn-sim models it (tests/sim/sim.c). WINDOW_WS signups (default 120) at vibnd's default
Coolify budget (VIBN_COOLIFY_RPM unset; Gitea's raised so that only Coolify binds) against
that window, next to their bound: when every Coolify call the burst needs
fits in what one window allows, the bound is the same burst with no limit at all (measured
first, budgets raised), since nothing has to wait for a reset. Also printed: the 429
answers (a few at most: replicas or a window opened by someone else may cost one each)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reconcile_bench as rb  # noqa: E402  (Sim, Daemon, helpers; same argv)

N = int(os.environ.get("WINDOW_WS", "120"))
WINDOW_RPM = 200  # Coolify's default api.rate_limit (config/api.php)
RAISED = {"VIBN_COOLIFY_RPM": "100000", "VIBN_GITEA_RPS": "100000"}
out, ratio = rb.out, rb.ratio


def run(db, sim, env, rpm, what):
    rb.fresh_state(db, sim, 0)
    if rpm:
        sim.call("POST", "/_sim/faults", {"upstream": "coolify", "rate_limit_per_minute": rpm})
    d = rb.Daemon(sim, env)
    try:
        sim.call("POST", "/_sim/counters/reset")
        t0 = rb.signup_burst(db, N)
        secs = rb.wait_ready(db, N, t0, what)
        counters = sim.counters()
        requests = sim.call("GET", "/_sim/requests?limit=4096")
    finally:
        d.stop()
    refused = sum(1 for r in requests if r["upstream"] == "coolify" and r["status"] == 429)
    calls = counters["coolify"]["read"] + counters["coolify"]["mutating"]
    return secs, calls, refused


def main():
    sim = rb.Sim()
    db = rb.psycopg.connect(rb.DRIVER_URL, autocommit=True)
    try:
        out("the bound: %d signups with the budgets raised and no Coolify limit", N)
        free_secs, free_calls, _ = run(db, sim, RAISED, 0, "unlimited")
        out("  all Ready in %.2f s; %d Coolify calls (%.2f per workspace)", free_secs,
            free_calls, free_calls / N)
        out("Coolify's window: %d signups, vibnd's default Coolify budget, vibn-sim limiting Coolify"
            " to %d requests a minute (Laravel's fixed window, announced in headers); Gitea's"
            " budget raised", N,
            WINDOW_RPM)
        secs, calls, refused = run(db, sim, {"VIBN_GITEA_RPS": "100000"}, WINDOW_RPM, "window")
    finally:
        db.close()
        sim.stop()
    fits = calls <= WINDOW_RPM
    out("  all Ready in %.2f s; %d Coolify calls, %s one window of %d; %d answered 429",
        secs, calls, "within" if fits else "more than", WINDOW_RPM, refused)
    if fits:
        out("  bound: no wait for a reset, so the unlimited run's %.2f s; measured %.2f s ="
            " %.2fx the bound (the old static budget, a burst of 18 then 3/s, needed %.1f s)",
            free_secs, secs, ratio(secs, free_secs), max(calls - 18, 0) / 3.0)
    else:
        windows = (calls - 1) // WINDOW_RPM
        out("  bound: %d window reset(s), at least %d s; measured %.2f s", windows,
            60 * windows, secs)
    out("  429 answers: %d   limit 3   (%s)", refused, "ok" if refused <= 3 else "FAIL")
    return 0 if refused <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
