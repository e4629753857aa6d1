-- Test-only tables, applied by tests/run.sh (and the benchmarks) after `vibnctl migrate`:
-- never part of the production schema. The "test" reconciler of vibnd-test
-- (tests/support/testrec.c) records every run in vibn_test_runs and reads per-workspace
-- behaviour from vibn_test_behaviour.
CREATE TABLE IF NOT EXISTS vibn_test_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id uuid NOT NULL,
    worker       text NOT NULL,           -- the lease owner: instance/worker/claim
    reconcile_id text NOT NULL,
    priority     smallint NOT NULL,
    attempts     integer NOT NULL,        -- failures before this run
    queue_seconds double precision NOT NULL, -- enqueue (or due) to claim
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    result       text
);
CREATE INDEX IF NOT EXISTS vibn_test_runs_workspace_idx ON vibn_test_runs (workspace_id);

CREATE TABLE IF NOT EXISTS vibn_test_behaviour (
    workspace_id     uuid PRIMARY KEY,
    sleep_ms         integer NOT NULL DEFAULT 0,
    -- NULL: succeed; else fail with this class: transient | rate_limited | permanent
    fail             text CHECK (fail IN ('transient', 'rate_limited', 'permanent')),
    fail_times       integer NOT NULL DEFAULT -1,   -- how many runs fail; -1: all
    not_before_ms    integer NOT NULL DEFAULT 0,    -- rate_limited: Retry-After
    requeue_after_ms integer,                       -- success asks for a run after this
    requeue_times    integer NOT NULL DEFAULT 1,    -- how many runs ask for it
    failures         integer NOT NULL DEFAULT 0,    -- counters kept by the reconciler
    requeues         integer NOT NULL DEFAULT 0
);
