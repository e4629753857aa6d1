-- The end of a run and the claim of the next in one round trip. A worker that finishes a
-- run (vibn_complete or vibn_fail) went on to claim the next item in a second statement:
-- two round trips and two commits between runs, on connections that 64 reconciles in
-- flight share. Here the outcome is written first, then, with next_owner, the next due item
-- is claimed for it as vibn_claim does (it may be the same workspace, when an event during
-- the run asked for a follow-up). One transaction: a claim never lands without the outcome
-- before it. A reply lost on the way back leaves that claim leased to an owner nobody
-- knows; the lease runs out and another worker takes it over, as after a lost vibn_claim.
-- failed: vibn_fail(ws, owner, delay, not_before, err), else vibn_complete(ws, owner,
-- requeue_after). Returns one row: how (their answer), then the claimed item's columns as
-- vibn_claim returns them, NULL when nothing was claimed (or next_owner is NULL).
CREATE FUNCTION vibn_finish(ws uuid, owner text, failed boolean, requeue_after interval,
                            delay interval, not_before timestamptz, err text, next_owner text,
                            lease interval)
RETURNS TABLE (how text, claimed_ws uuid, claimed_priority smallint, claimed_attempts integer,
               claimed_reason text, waited double precision, prev_owner text)
LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    IF failed THEN
        h := vibn_fail(ws, owner, delay, not_before, err);
    ELSE
        h := vibn_complete(ws, owner, requeue_after);
    END IF;
    IF next_owner IS NOT NULL THEN
        RETURN QUERY SELECT h, c.* FROM vibn_claim(next_owner, lease) c;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT h, NULL::uuid, NULL::smallint, NULL::integer, NULL::text,
                        NULL::double precision, NULL::text;
END;
$$;
