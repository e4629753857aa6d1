-- 0004_api: Gitea webhook deliveries, deduplicated durably on X-Gitea-Delivery, and the one
-- round trip that accepts a delivery (dedup insert + org lookup + enqueue, one transaction).

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

-- Accepts one delivery: records its id (NULL: no dedup), maps the org, and enqueues the
-- workspace at interactive priority, all in the caller's one statement. Returns
-- 'accepted', 'duplicate' (this id was seen: nothing else happens) or 'unknown_org'. An
-- item already waiting, due and unclaimed is left as it is: its run starts after this
-- delivery arrived, so it sees the change (no row update, no extra NOTIFY under bursts).
CREATE FUNCTION vibn_webhook_accept(delivery text, org_login text, ev text)
RETURNS TABLE (out_result text, out_workspace uuid, out_slug text)
LANGUAGE plpgsql AS $$
DECLARE
    ws uuid;
    s text;
    r text;
BEGIN
    SELECT f.ws_id, f.ws_slug INTO ws, s FROM vibn_workspace_for_org(org_login) f;
    r := CASE WHEN ws IS NULL THEN 'unknown_org' ELSE 'accepted' END;
    IF delivery IS NOT NULL THEN
        INSERT INTO vibn_webhook_deliveries (delivery_id, event, org, workspace_id, result)
        VALUES (delivery, coalesce(ev, ''), coalesce(org_login, ''), ws, r)
        ON CONFLICT (delivery_id) DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'duplicate'::text, ws, s;
            RETURN;
        END IF;
    END IF;
    IF ws IS NOT NULL THEN
        PERFORM 1 FROM vibn_reconcile_queue q
         WHERE q.workspace_id = ws AND q.priority = 0 AND q.lease_owner IS NULL
           AND q.run_at <= now();
        IF NOT FOUND THEN
            PERFORM vibn_enqueue(ws, 0::smallint, 'webhook');
        END IF;
    END IF;
    RETURN QUERY SELECT r, ws, s;
END;
$$;

-- Forgets deliveries older than keep; returns how many.
CREATE FUNCTION vibn_webhook_prune(keep interval) RETURNS bigint LANGUAGE sql AS $$
    WITH d AS (DELETE FROM vibn_webhook_deliveries WHERE received_at < now() - keep RETURNING 1)
    SELECT count(*) FROM d;
$$;
