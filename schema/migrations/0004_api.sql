-- 0004_api: Gitea webhook deliveries, deduplicated durably on X-Gitea-Delivery, and the one
-- round trip that accepts deliveries (dedup insert + org lookup + enqueue, one transaction).

-- Deliveries seen, kept at least 24 hours (vibnd prunes rows older than 48 hours). No
-- foreign key: a delivery record must not hold up deleting a workspace.
CREATE TABLE vibn_webhook_deliveries (
    delivery_id  text PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    event        text NOT NULL DEFAULT '',
    org          text NOT NULL DEFAULT '',
    workspace_id uuid,
    result       text NOT NULL,
    CONSTRAINT vibn_webhook_deliveries_id_check CHECK (length(delivery_id) BETWEEN 1 AND 128)
);
CREATE INDEX vibn_webhook_deliveries_received_idx ON vibn_webhook_deliveries (received_at);

-- The workspace of a Gitea org: by the recorded gitea_org (case-insensitive, as Gitea
-- compares names), else by the deterministic name vibn-{slug} while gitea_org is not
-- recorded yet. A live workspace wins over one being deleted.
CREATE FUNCTION vibn_workspace_for_org(org_login text)
RETURNS TABLE (ws_id uuid, ws_slug text) LANGUAGE sql STABLE AS $$
    SELECT id, slug FROM (
        SELECT w.id, w.slug, w.deleted_at, 0 AS pref FROM vibn_workspaces w
         WHERE lower(w.gitea_org) = lower(org_login)
        UNION ALL
        SELECT w.id, w.slug, w.deleted_at, 1 FROM vibn_workspaces w
         WHERE left(lower(org_login), 5) = 'vibn-' AND w.slug = substr(lower(org_login), 6)
           AND w.gitea_org IS NULL) c
    ORDER BY deleted_at IS NOT NULL, pref
    LIMIT 1;
$$;

-- Accepts a batch of deliveries (the ones that arrived together: one transaction, one
-- commit) in one statement per step, whatever the batch size: records each delivery id
-- (NULL: no dedup), maps each distinct org once, and enqueues each workspace once at
-- interactive priority. Returns one row per input position (out_idx, 1-based) with
-- 'accepted', 'duplicate' (the id was seen, earlier or in this batch: nothing else happens
-- for it) or 'unknown_org'. An interactive item that already guarantees a run starting
-- after these deliveries arrived is left as it is (no row update, no extra NOTIFY under
-- bursts): one due and unclaimed, or one being run and already marked for a follow-up run.
-- Rows are inserted in delivery-id order and workspaces enqueued in id order, so that
-- concurrent batches take their locks in the same order.
CREATE FUNCTION vibn_webhook_accept_batch(deliveries text[], orgs text[], events text[])
RETURNS TABLE (out_idx bigint, out_result text, out_workspace uuid, out_slug text)
LANGUAGE plpgsql AS $$
DECLARE
    idx bigint[];
    res text[];
    wss uuid[];
    slugs text[];
BEGIN
    WITH input AS (
        SELECT u.d, u.o, u.e, u.i
          FROM unnest(deliveries, orgs, events) WITH ORDINALITY AS u(d, o, e, i)),
    orgmap AS (  -- vibn_workspace_for_org, written out: plpgsql caches this plan
        SELECT k.lo, f.ws_id, f.ws_slug
          FROM (SELECT DISTINCT lower(x.o) AS lo FROM input x) k
          LEFT JOIN LATERAL (
              SELECT c.id AS ws_id, c.slug AS ws_slug FROM (
                  SELECT w.id, w.slug, w.deleted_at, 0 AS pref FROM vibn_workspaces w
                   WHERE lower(w.gitea_org) = k.lo
                  UNION ALL
                  SELECT w.id, w.slug, w.deleted_at, 1 FROM vibn_workspaces w
                   WHERE left(k.lo, 5) = 'vibn-' AND w.slug = substr(k.lo, 6)
                     AND w.gitea_org IS NULL) c
              ORDER BY c.deleted_at IS NOT NULL, c.pref
              LIMIT 1) f ON true),
    rows AS (
        SELECT x.i, x.d, x.e, x.o, m.ws_id, m.ws_slug,
               x.d IS NOT NULL AND x.i = min(x.i) OVER (PARTITION BY x.d) AS first
          FROM input x LEFT JOIN orgmap m ON m.lo = lower(x.o)),
    ins AS (
        INSERT INTO vibn_webhook_deliveries (delivery_id, event, org, workspace_id, result)
        SELECT r.d, coalesce(r.e, ''), coalesce(r.o, ''), r.ws_id,
               CASE WHEN r.ws_id IS NULL THEN 'unknown_org' ELSE 'accepted' END
          FROM rows r WHERE r.first ORDER BY r.d
        ON CONFLICT (delivery_id) DO NOTHING
        RETURNING delivery_id)
    SELECT array_agg(r.i ORDER BY r.i),
           array_agg(CASE WHEN r.d IS NOT NULL AND NOT (r.first AND n.delivery_id IS NOT NULL)
                          THEN 'duplicate'
                          WHEN r.ws_id IS NULL THEN 'unknown_org'
                          ELSE 'accepted' END ORDER BY r.i),
           array_agg(r.ws_id ORDER BY r.i),
           array_agg(r.ws_slug ORDER BY r.i)
      INTO idx, res, wss, slugs
      FROM rows r LEFT JOIN ins n ON n.delivery_id = r.d;

    PERFORM vibn_enqueue(s.w, 0::smallint, 'webhook')
       FROM (SELECT DISTINCT t.w FROM unnest(wss, res) AS t(w, r)
              WHERE t.r = 'accepted'
                AND NOT EXISTS (
                    SELECT 1 FROM vibn_reconcile_queue q
                     WHERE q.workspace_id = t.w AND q.priority = 0
                       AND ((q.lease_owner IS NULL AND q.run_at <= now())
                            OR (q.lease_owner IS NOT NULL AND q.dirty)))
              ORDER BY t.w) s;

    RETURN QUERY SELECT * FROM unnest(idx, res, wss, slugs);
END;
$$;

-- One delivery: the batch of one.
CREATE FUNCTION vibn_webhook_accept(delivery text, org_login text, ev text)
RETURNS TABLE (out_result text, out_workspace uuid, out_slug text)
LANGUAGE sql AS $$
    SELECT b.out_result, b.out_workspace, b.out_slug
      FROM vibn_webhook_accept_batch(ARRAY[delivery], ARRAY[org_login], ARRAY[ev]) b;
$$;

-- Forgets deliveries older than keep; returns how many.
CREATE FUNCTION vibn_webhook_prune(keep interval) RETURNS bigint LANGUAGE sql AS $$
    WITH d AS (DELETE FROM vibn_webhook_deliveries WHERE received_at < now() - keep RETURNING 1)
    SELECT count(*) FROM d;
$$;
