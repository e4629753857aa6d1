-- 0001_init: workspaces, members, API keys, desired repos and apps, the reconcile queue,
-- and the triggers that turn a desired-state change into a generation bump, one queue
-- item and a NOTIFY. Names of the web app's tables and columns are a contract (DESIGN 4).

CREATE TABLE vibn_workspaces (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                 text NOT NULL,
    name                 text NOT NULL DEFAULT '',
    owner                text NOT NULL,
    -- Status: upstream ids recorded by the reconcilers.
    coolify_project_uuid text,
    coolify_team_id      text,            -- reserved: Coolify has no POST /teams
    gitea_org            text,
    provision_status     text NOT NULL DEFAULT 'pending',
    -- Desired spec beyond name and owner (members, repos and apps have their own tables).
    visibility           text NOT NULL DEFAULT 'private',
    prune_members        boolean NOT NULL DEFAULT false,
    deletion_policy      text NOT NULL DEFAULT 'Orphan',
    paused               boolean NOT NULL DEFAULT false,
    -- Who declared it: a signup (never pruned) or a manifest apply.
    source               text NOT NULL DEFAULT 'signup',
    generation           bigint NOT NULL DEFAULT 1,
    observed_generation  bigint NOT NULL DEFAULT 0,
    conditions           jsonb NOT NULL DEFAULT '[]'::jsonb,
    last_error           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,     -- soft delete: the reconciler cleans up, then removes the row
    -- Internal: the transaction that last bumped generation, so one transaction bumps once.
    generation_xid       xid8,
    CONSTRAINT vibn_workspaces_slug_key UNIQUE (slug),
    CONSTRAINT vibn_workspaces_slug_check
        CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 32),
    CONSTRAINT vibn_workspaces_provision_status_check
        CHECK (provision_status IN ('pending', 'provisioning', 'ready', 'error', 'deleting')),
    CONSTRAINT vibn_workspaces_visibility_check
        CHECK (visibility IN ('public', 'limited', 'private')),
    CONSTRAINT vibn_workspaces_deletion_policy_check
        CHECK (deletion_policy IN ('Orphan', 'Delete')),
    CONSTRAINT vibn_workspaces_source_check CHECK (source IN ('signup', 'manifest', 'api')),
    CONSTRAINT vibn_workspaces_conditions_check CHECK (jsonb_typeof(conditions) = 'array')
);
CREATE INDEX vibn_workspaces_owner_idx ON vibn_workspaces (owner);
CREATE INDEX vibn_workspaces_gitea_org_idx ON vibn_workspaces (lower(gitea_org));

CREATE TABLE vibn_workspace_members (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   uuid NOT NULL REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    user_id        text NOT NULL,         -- web app user id (signup) or Gitea username (manifest)
    gitea_username text,                  -- NULL until the user links a Gitea account
    role           text NOT NULL DEFAULT 'member',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vibn_workspace_members_role_check CHECK (role IN ('owner', 'admin', 'member')),
    CONSTRAINT vibn_workspace_members_user_key UNIQUE (workspace_id, user_id)
);
CREATE UNIQUE INDEX vibn_workspace_members_gitea_key
    ON vibn_workspace_members (workspace_id, lower(gitea_username)) WHERE gitea_username IS NOT NULL;

CREATE TABLE vibn_workspace_api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    key_prefix   text NOT NULL,           -- short display prefix, e.g. vibn_sk_AbC1
    key_hash     text NOT NULL,           -- sha256 of the whole token, lower-case hex; never the token
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT vibn_workspace_api_keys_hash_key UNIQUE (key_hash),
    CONSTRAINT vibn_workspace_api_keys_hash_check CHECK (key_hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX vibn_workspace_api_keys_workspace_idx ON vibn_workspace_api_keys (workspace_id);

CREATE TABLE vibn_workspace_repos (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   uuid NOT NULL REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    name           text NOT NULL,
    private        boolean NOT NULL DEFAULT true,
    description    text NOT NULL DEFAULT '',
    default_branch text NOT NULL DEFAULT 'main',
    gitea_repo_id  bigint,                -- status
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX vibn_workspace_repos_name_key ON vibn_workspace_repos (workspace_id, lower(name));

CREATE TABLE vibn_workspace_apps (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     uuid NOT NULL REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    name             text NOT NULL,
    repo             text NOT NULL,
    branch           text NOT NULL DEFAULT 'main',
    build_pack       text NOT NULL DEFAULT 'nixpacks',
    ports            text NOT NULL DEFAULT '3000',
    coolify_app_uuid text,                -- status
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX vibn_workspace_apps_name_key ON vibn_workspace_apps (workspace_id, lower(name));

-- The durable reconcile queue: one row per workspace, so however many events arrive
-- before a worker claims it, they are one reconcile (level-triggered). priority 0 is
-- interactive (signup, apply, webhook, explicit provision), 1 is background (resync).
-- A worker holds a lease (lease_owner, lease_expires_at); an event arriving during a
-- leased run sets dirty, which makes exactly one follow-up run after it.
CREATE TABLE vibn_reconcile_queue (
    workspace_id     uuid PRIMARY KEY REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    priority         smallint NOT NULL DEFAULT 1,
    run_at           timestamptz NOT NULL DEFAULT now(),
    enqueued_at      timestamptz NOT NULL DEFAULT now(),
    reason           text NOT NULL DEFAULT '',
    attempts         integer NOT NULL DEFAULT 0,
    dirty            boolean NOT NULL DEFAULT false,
    lease_owner      text,
    lease_expires_at timestamptz,
    last_error       text,
    CONSTRAINT vibn_reconcile_queue_priority_check CHECK (priority IN (0, 1))
) WITH (fillfactor = 70);
CREATE INDEX vibn_reconcile_queue_claim_idx ON vibn_reconcile_queue (priority, run_at);

-- Enqueue a workspace (deduplicated) and wake the daemons. Interactive work may pull a
-- due time earlier; background work never pulls forward a retry that is backing off.
CREATE FUNCTION vibn_enqueue(ws uuid, prio smallint, why text, due timestamptz DEFAULT now())
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO vibn_reconcile_queue AS q (workspace_id, priority, run_at, enqueued_at, reason)
    VALUES (ws, prio, due, now(), why)
    ON CONFLICT (workspace_id) DO UPDATE SET
        priority    = LEAST(q.priority, EXCLUDED.priority),
        run_at      = CASE WHEN EXCLUDED.priority < q.priority OR EXCLUDED.priority = 0
                           THEN LEAST(q.run_at, EXCLUDED.run_at) ELSE q.run_at END,
        enqueued_at = CASE WHEN q.lease_owner IS NOT NULL AND NOT q.dirty
                           THEN now() ELSE q.enqueued_at END,
        dirty       = q.dirty OR q.lease_owner IS NOT NULL,
        reason      = EXCLUDED.reason;
    PERFORM pg_notify('vibn_reconcile', ws::text);
END;
$$;

-- BEFORE: bump generation when a desired-state column changes (or a child table asks by
-- touching generation), at most once per transaction.
CREATE FUNCTION vibn_workspaces_before() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.generation_xid := pg_current_xact_id();
        RETURN NEW;
    END IF;
    changed := (NEW.name, NEW.owner, NEW.visibility, NEW.prune_members, NEW.deletion_policy,
                NEW.paused, NEW.deleted_at)
               IS DISTINCT FROM
               (OLD.name, OLD.owner, OLD.visibility, OLD.prune_members, OLD.deletion_policy,
                OLD.paused, OLD.deleted_at)
               OR NEW.generation IS DISTINCT FROM OLD.generation;
    NEW.generation := OLD.generation;
    IF changed THEN
        IF OLD.generation_xid IS DISTINCT FROM pg_current_xact_id() THEN
            NEW.generation := OLD.generation + 1;
            NEW.generation_xid := pg_current_xact_id();
        END IF;
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;

-- AFTER: a new workspace or a new generation is enqueued at interactive priority.
CREATE FUNCTION vibn_workspaces_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.generation <> OLD.generation THEN
        PERFORM vibn_enqueue(NEW.id, 0::smallint, CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'spec' END);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER vibn_workspaces_before BEFORE INSERT OR UPDATE ON vibn_workspaces
    FOR EACH ROW EXECUTE FUNCTION vibn_workspaces_before();
CREATE TRIGGER vibn_workspaces_after AFTER INSERT OR UPDATE ON vibn_workspaces
    FOR EACH ROW EXECUTE FUNCTION vibn_workspaces_after();

-- Children (members, repos, apps): a change to any column but the status ones named in the
-- trigger's arguments bumps the owning workspace (once per transaction).
CREATE FUNCTION vibn_child_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ignored text[] := TG_ARGV || ARRAY['id', 'created_at', 'updated_at'];
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - ignored) = (to_jsonb(OLD) - ignored) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE vibn_workspaces SET generation = generation + 1
         WHERE id = OLD.workspace_id
           AND generation_xid IS DISTINCT FROM pg_current_xact_id();
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.workspace_id <> OLD.workspace_id) THEN
        UPDATE vibn_workspaces SET generation = generation + 1
         WHERE id = NEW.workspace_id
           AND generation_xid IS DISTINCT FROM pg_current_xact_id();
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER vibn_workspace_members_changed AFTER INSERT OR UPDATE OR DELETE ON vibn_workspace_members
    FOR EACH ROW EXECUTE FUNCTION vibn_child_changed();
CREATE TRIGGER vibn_workspace_repos_changed AFTER INSERT OR UPDATE OR DELETE ON vibn_workspace_repos
    FOR EACH ROW EXECUTE FUNCTION vibn_child_changed('gitea_repo_id');
CREATE TRIGGER vibn_workspace_apps_changed AFTER INSERT OR UPDATE OR DELETE ON vibn_workspace_apps
    FOR EACH ROW EXECUTE FUNCTION vibn_child_changed('coolify_app_uuid');

-- Legacy projects of the web app: keep the table if it exists (rows and all), create a
-- minimal one otherwise, and link each project to a workspace.
CREATE TABLE IF NOT EXISTS fs_projects (
    id         text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    name       text NOT NULL DEFAULT '',
    user_id    text,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE fs_projects ADD COLUMN IF NOT EXISTS vibn_workspace_id uuid
    REFERENCES vibn_workspaces (id) ON DELETE SET NULL;
CREATE INDEX IF NOT EXISTS fs_projects_vibn_workspace_id_idx ON fs_projects (vibn_workspace_id);
