-- 0003_manifests: the signup function. The web app calls it at first sign-in (no network:
-- the daemon provisions upstream once it sees the row); `vibnctl signup` and
-- `vibnctl backfill` call it too.

-- The slug stem of an email: its local part lower-cased, every run of other characters
-- turned into one '-', trimmed of '-'; 'ws' when nothing is left.
CREATE OR REPLACE FUNCTION vibn_slug_base(email text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(btrim(regexp_replace(
               lower(regexp_replace(coalesce(email, ''), '@[^@]*$', '')),
               '[^a-z0-9]+', '-', 'g'), '-'), ''), 'ws')
$$;

-- Ensures user_id has a workspace and returns its slug. Idempotent per user: a live signup
-- workspace the user owns is returned as it is (its owner member gets gitea_username when
-- one is given and none is recorded yet). Otherwise a workspace is created with a slug from
-- the email's local part, cut to fit 32 characters with its suffix and made unique with
-- -2, -3, ..., and the user as its owner member. Concurrent calls for one user serialize on
-- an advisory lock; concurrent calls of different users racing for one slug retry with the
-- next suffix.
CREATE OR REPLACE FUNCTION vibn_ensure_workspace_for_user(user_id text, email text,
                                                          gitea_username text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p_user  text := vibn_ensure_workspace_for_user.user_id;
    p_gitea text := nullif(btrim(vibn_ensure_workspace_for_user.gitea_username), '');
    p_local text := regexp_replace(coalesce(vibn_ensure_workspace_for_user.email, ''),
                                   '@[^@]*$', '');
    base    text := vibn_slug_base(vibn_ensure_workspace_for_user.email);
    ws_id   uuid;
    ws_slug text;
    cand    text;
    suffix  text;
    n       integer := 1;
BEGIN
    IF p_user IS NULL OR p_user = '' THEN
        RAISE EXCEPTION 'vibn_ensure_workspace_for_user: user_id is required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_gitea IS NOT NULL AND (length(p_gitea) > 40
                                OR p_gitea !~ '^[0-9A-Za-z]+([-._][0-9A-Za-z]+)*$') THEN
        RAISE EXCEPTION 'vibn_ensure_workspace_for_user: invalid Gitea username "%"', p_gitea
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One user at a time: a second sign-in racing the first waits, then finds its row.
    PERFORM pg_advisory_xact_lock(1986618998, hashtext(p_user));

    SELECT w.id, w.slug INTO ws_id, ws_slug
      FROM vibn_workspaces w
     WHERE w.owner = p_user AND w.source = 'signup' AND w.deleted_at IS NULL
     ORDER BY w.created_at, w.id
     LIMIT 1;
    IF FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM vibn_workspace_members m
                        WHERE m.workspace_id = ws_id AND m.user_id = p_user) THEN
            INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role)
            VALUES (ws_id, p_user, p_gitea, 'owner');
        ELSIF p_gitea IS NOT NULL THEN
            UPDATE vibn_workspace_members m
               SET gitea_username = p_gitea, updated_at = now()
             WHERE m.workspace_id = ws_id AND m.user_id = p_user AND m.gitea_username IS NULL;
        END IF;
        RETURN ws_slug;
    END IF;

    -- Display name: the local part as typed, printable, at most 100 characters (Gitea's
    -- limit for an org's full name).
    p_local := left(regexp_replace(p_local, '[[:cntrl:]]', '', 'g'), 100);
    LOOP
        suffix := CASE WHEN n = 1 THEN '' ELSE '-' || n END;
        cand := rtrim(left(base, 32 - length(suffix)), '-') || suffix;
        IF NOT EXISTS (SELECT 1 FROM vibn_workspaces w WHERE w.slug = cand) THEN
            BEGIN
                INSERT INTO vibn_workspaces (slug, name, owner, source)
                VALUES (cand, coalesce(nullif(p_local, ''), cand), p_user, 'signup')
                RETURNING id INTO ws_id;
                INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role)
                VALUES (ws_id, p_user, p_gitea, 'owner');
                RETURN cand;
            EXCEPTION WHEN unique_violation THEN
                -- Another signup took this slug after our look: try the next suffix.
                NULL;
            END;
        END IF;
        n := n + 1;
        IF n > 1000000 THEN
            RAISE EXCEPTION 'vibn_ensure_workspace_for_user: no free slug for "%"', base;
        END IF;
    END LOOP;
END;
$$;
