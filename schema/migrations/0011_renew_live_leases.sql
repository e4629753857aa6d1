-- A lease that has run out is no longer its holder's to renew: another replica may be
-- taking the workspace over at this moment (after a database outage longer than a lease,
-- every holder's renewal arrives late). Renewing it anyway let two reconciles of one
-- workspace act at once; now the holder learns it lost the lease and stops.
CREATE OR REPLACE FUNCTION vibn_renew(ws uuid[], owners text[], lease interval)
RETURNS bigint LANGUAGE sql AS $$
    WITH r AS (
        UPDATE vibn_reconcile_queue q SET lease_expires_at = now() + lease
          FROM unnest(ws, owners) AS t(w, o)
         WHERE q.workspace_id = t.w AND q.lease_owner = t.o AND q.lease_expires_at > now()
        RETURNING 1)
    SELECT count(*) FROM r;
$$;
