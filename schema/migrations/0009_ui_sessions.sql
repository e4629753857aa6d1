-- 0009_ui_sessions: the settings page's sign-in. A login link is a one-time token that an
-- operator (vibnctl login-link) or the web app (POST /api/workspaces/{slug}/login-links)
-- hands to a person; the page exchanges it once for a session, held in an HttpOnly cookie.
-- Like API keys, both are stored only as the sha256 of the token (lower-case hex).

CREATE TABLE vibn_login_links (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    token_hash   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,             -- set by the one exchange that succeeds
    CONSTRAINT vibn_login_links_hash_key UNIQUE (token_hash),
    CONSTRAINT vibn_login_links_hash_check CHECK (token_hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX vibn_login_links_expires_idx ON vibn_login_links (expires_at);

-- A session is pinned to one workspace, or is the admin's (signed in with the admin secret,
-- sees every workspace). Its lifetime is fixed at sign-in; "sign out" revokes it.
CREATE TABLE vibn_ui_sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash    text NOT NULL,
    workspace_id  uuid REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    admin         boolean NOT NULL DEFAULT false,
    login_link_id uuid REFERENCES vibn_login_links (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    CONSTRAINT vibn_ui_sessions_hash_key UNIQUE (token_hash),
    CONSTRAINT vibn_ui_sessions_hash_check CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT vibn_ui_sessions_principal_check CHECK (admin = (workspace_id IS NULL))
);
CREATE INDEX vibn_ui_sessions_expires_idx ON vibn_ui_sessions (expires_at);

-- Forgets links and sessions that ended more than a day ago (kept that long so that a late
-- "already used" or "expired" answer stays accurate). Returns how many rows went.
CREATE FUNCTION vibn_ui_prune() RETURNS bigint LANGUAGE sql AS $$
    WITH l AS (DELETE FROM vibn_login_links
                WHERE expires_at < now() - interval '1 day' RETURNING 1),
         s AS (DELETE FROM vibn_ui_sessions
                WHERE coalesce(revoked_at, expires_at) < now() - interval '1 day' RETURNING 1)
    SELECT (SELECT count(*) FROM l) + (SELECT count(*) FROM s);
$$;

-- Exchanges a login link (by its hash) for a new session (by the new token's hash) that
-- lasts ttl, in one transaction: the link is locked, so two concurrent exchanges of one
-- link give one session and one 'used'. out_result: 'ok', 'unknown' (no such link, or its
-- workspace is gone), 'used' or 'expired'.
CREATE FUNCTION vibn_ui_login(link_hash text, session_hash text, ttl interval)
RETURNS TABLE (out_result text, out_slug text, out_expires timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    l vibn_login_links%ROWTYPE;
    ws_slug text;
    s_expires timestamptz;
BEGIN
    SELECT * INTO l FROM vibn_login_links k WHERE k.token_hash = link_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::text, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF l.used_at IS NOT NULL THEN
        RETURN QUERY SELECT 'used'::text, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF l.expires_at <= now() THEN
        RETURN QUERY SELECT 'expired'::text, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    SELECT w.slug INTO ws_slug FROM vibn_workspaces w
     WHERE w.id = l.workspace_id AND w.deleted_at IS NULL;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::text, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE vibn_login_links SET used_at = now() WHERE id = l.id;
    INSERT INTO vibn_ui_sessions (token_hash, workspace_id, login_link_id, expires_at)
    VALUES (session_hash, l.workspace_id, l.id, now() + ttl)
    RETURNING expires_at INTO s_expires;
    PERFORM vibn_ui_prune();
    RETURN QUERY SELECT 'ok'::text, ws_slug, s_expires;
END;
$$;
