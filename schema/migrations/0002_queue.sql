-- 0002_queue: the queue operations vibnd runs (claim, complete, fail, renew, release,
-- resync), each one round trip, plus the tables of the built-in test reconciler.
-- A lease is held by an owner string unique per claim ("<instance>/w<N>/<seq>"), so a
-- worker that lost its lease can never complete or fail someone else's claim.

-- Finds lease holders whose lease ran out, for the next-due computation.
CREATE INDEX vibn_reconcile_queue_lease_idx ON vibn_reconcile_queue (lease_expires_at)
    WHERE lease_owner IS NOT NULL;

-- Claims the next due item: interactive before background, oldest due time first, skipping
-- rows other workers hold (live leases, or row locks of an enqueue in progress). One
-- index-bounded probe per priority, so a large future backlog costs nothing. waited is
-- seconds from when the item became due (enqueued or retry time) to this claim.
CREATE FUNCTION vibn_claim(owner text, lease interval)
RETURNS TABLE (claimed_ws uuid, claimed_priority smallint, claimed_attempts integer,
               claimed_reason text, waited double precision, prev_owner text)
LANGUAGE plpgsql AS $$
DECLARE
    p smallint;
    ws uuid;
    prev text;
BEGIN
    FOREACH p IN ARRAY ARRAY[0, 1]::smallint[] LOOP
        SELECT q.workspace_id, q.lease_owner INTO ws, prev
          FROM vibn_reconcile_queue q
         WHERE q.priority = p AND q.run_at <= now()
           AND (q.lease_owner IS NULL OR q.lease_expires_at < now())
         ORDER BY q.run_at
         LIMIT 1
         FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            RETURN QUERY
            UPDATE vibn_reconcile_queue q
               SET lease_owner = owner, lease_expires_at = now() + lease, dirty = false
             WHERE q.workspace_id = ws
            RETURNING q.workspace_id, q.priority, q.attempts, q.reason,
                      extract(epoch FROM clock_timestamp() - greatest(q.enqueued_at, q.run_at))::float8,
                      prev;
            RETURN;
        END IF;
    END LOOP;
END;
$$;

-- Seconds until the earliest item becomes claimable (due, or its lease runs out); NULL
-- when the queue is empty. Negative when something is claimable now.
CREATE FUNCTION vibn_next_due() RETURNS double precision LANGUAGE sql STABLE AS $$
    SELECT extract(epoch FROM least(
        (SELECT run_at FROM vibn_reconcile_queue
          WHERE priority = 0 AND lease_owner IS NULL ORDER BY run_at LIMIT 1),
        (SELECT run_at FROM vibn_reconcile_queue
          WHERE priority = 1 AND lease_owner IS NULL ORDER BY run_at LIMIT 1),
        (SELECT lease_expires_at FROM vibn_reconcile_queue
          WHERE lease_owner IS NOT NULL ORDER BY lease_expires_at LIMIT 1)) - now())::float8;
$$;

-- Ends a successful run. An event during the run (dirty) wins: one follow-up run at once.
-- Otherwise the row goes away, or comes back after requeue_after. Returns 'done',
-- 'followup', 'requeued' or 'lost' (the lease is no longer ours: nothing changed).
CREATE FUNCTION vibn_complete(ws uuid, owner text, requeue_after interval DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d boolean;
BEGIN
    -- The row lock orders us against vibn_enqueue: an event either sees our lease (and
    -- sets dirty, which we read here) or finds the row gone and inserts a new one.
    SELECT q.dirty INTO d FROM vibn_reconcile_queue q
     WHERE q.workspace_id = ws AND q.lease_owner = owner FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'lost';
    END IF;
    IF d THEN
        UPDATE vibn_reconcile_queue
           SET lease_owner = NULL, lease_expires_at = NULL, dirty = false, attempts = 0,
               last_error = NULL, run_at = least(run_at, now())
         WHERE workspace_id = ws;
        RETURN 'followup';
    ELSIF requeue_after IS NOT NULL THEN
        UPDATE vibn_reconcile_queue
           SET lease_owner = NULL, lease_expires_at = NULL, attempts = 0, last_error = NULL,
               run_at = now() + requeue_after
         WHERE workspace_id = ws;
        RETURN 'requeued';
    END IF;
    DELETE FROM vibn_reconcile_queue WHERE workspace_id = ws;
    RETURN 'done';
END;
$$;

-- Ends a failed run: attempts + 1, the retry after delay (computed by the daemon from
-- attempts: exponential, jittered, capped), never before not_before (a Retry-After). An
-- event during the run earns a prompt retry, still never before not_before.
CREATE FUNCTION vibn_fail(ws uuid, owner text, delay interval, not_before timestamptz, err text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d boolean;
BEGIN
    SELECT q.dirty INTO d FROM vibn_reconcile_queue q
     WHERE q.workspace_id = ws AND q.lease_owner = owner FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'lost';
    END IF;
    UPDATE vibn_reconcile_queue
       SET lease_owner = NULL, lease_expires_at = NULL, dirty = false,
           attempts = attempts + 1, last_error = left(err, 2000),
           run_at = greatest(CASE WHEN d THEN now() ELSE now() + delay END,
                             coalesce(not_before, '-infinity'))
     WHERE workspace_id = ws;
    RETURN CASE WHEN d THEN 'followup' ELSE 'retry' END;
END;
$$;

-- Extends the leases still held by these (workspace, owner) pairs; returns how many.
CREATE FUNCTION vibn_renew(ws uuid[], owners text[], lease interval)
RETURNS bigint LANGUAGE sql AS $$
    WITH r AS (
        UPDATE vibn_reconcile_queue q SET lease_expires_at = now() + lease
          FROM unnest(ws, owners) AS t(w, o)
         WHERE q.workspace_id = t.w AND q.lease_owner = t.o
        RETURNING 1)
    SELECT count(*) FROM r;
$$;

-- Gives up these leases without counting an attempt, so another worker or replica can
-- take the items at once (shutdown). Returns how many were released.
CREATE FUNCTION vibn_release(ws uuid[], owners text[]) RETURNS bigint LANGUAGE sql AS $$
    WITH r AS (
        UPDATE vibn_reconcile_queue q
           SET lease_owner = NULL, lease_expires_at = NULL, dirty = false,
               run_at = least(q.run_at, now())
          FROM unnest(ws, owners) AS t(w, o)
         WHERE q.workspace_id = t.w AND q.lease_owner = t.o
        RETURNING 1)
    SELECT count(*) FROM r;
$$;

-- Drift repair bookkeeping shared by every replica: one row, the time of the last run.
CREATE TABLE vibn_resync_state (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_run_at timestamptz
);
INSERT INTO vibn_resync_state (id) VALUES (true);

-- Enqueues every workspace at background priority, due times spread evenly over spread
-- (no thundering herd), in one statement. Items already queued keep their place and due
-- time (a background run never pulls a backing-off retry forward). Replicas share one
-- schedule: when the last run is younger than min_gap this does nothing and returns -1;
-- otherwise it returns how many items it added, and wakes the daemons once.
CREATE FUNCTION vibn_resync(spread interval, min_gap interval DEFAULT '0'::interval)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    UPDATE vibn_resync_state SET last_run_at = now()
     WHERE last_run_at IS NULL OR last_run_at <= now() - min_gap;
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    WITH ws AS (
        SELECT id, row_number() OVER (ORDER BY id) - 1 AS i, count(*) OVER () AS total
          FROM vibn_workspaces)
    INSERT INTO vibn_reconcile_queue AS q (workspace_id, priority, run_at, enqueued_at, reason)
    SELECT id, 1, now() + spread * (i::float8 / total), now(), 'resync' FROM ws
    ON CONFLICT (workspace_id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('vibn_reconcile', 'resync');
    END IF;
    RETURN n;
END;
$$;
