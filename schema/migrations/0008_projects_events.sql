-- 0008_projects_events: who owns each desired repo and app (a manifest or the API), the
-- projects the API creates (an fs_projects row with its repo and app), repos the API asked
-- to delete upstream, per-workspace quotas, what manifest applies record for --prune, and
-- the workspace events (Kubernetes Events: deduplicated, counted, pruned).

-- 1. Owners. vibnctl apply changes only what manifests own; the API and MCP only what they
-- own. Rows from before this migration cannot be told apart: in workspaces that manifests
-- created they count as the manifest's (what apply already treated them as), elsewhere as
-- the API's (only MCP could have declared them there).
-- project_id links a row to the fs_projects row the projects API created it for (text, as
-- fs_projects.id is; no foreign key, so the web app's table keeps its own shape).
-- clone_url, ssh_url and domains are status: what the reconciler observed upstream.
ALTER TABLE vibn_workspace_repos
    ADD COLUMN managed_by text NOT NULL DEFAULT 'api'
        CONSTRAINT vibn_workspace_repos_managed_by_check CHECK (managed_by IN ('manifest', 'api')),
    ADD COLUMN project_id text,
    ADD COLUMN clone_url  text,
    ADD COLUMN ssh_url    text;
ALTER TABLE vibn_workspace_apps
    ADD COLUMN managed_by text NOT NULL DEFAULT 'api'
        CONSTRAINT vibn_workspace_apps_managed_by_check CHECK (managed_by IN ('manifest', 'api')),
    ADD COLUMN project_id text,
    ADD COLUMN domains    text;
CREATE INDEX vibn_workspace_repos_project_idx ON vibn_workspace_repos (project_id)
    WHERE project_id IS NOT NULL;
CREATE INDEX vibn_workspace_apps_project_idx ON vibn_workspace_apps (project_id)
    WHERE project_id IS NOT NULL;

-- None of the new columns is desired state the reconciler acts on: add them to the columns
-- the child trigger ignores (keeping whatever earlier migrations listed there), so an owner
-- change or a status write bumps no generation.
DO $$
DECLARE
    t record;
    args text[];
BEGIN
    FOR t IN SELECT * FROM (VALUES
            ('vibn_workspace_repos', 'vibn_workspace_repos_changed',
             ARRAY['managed_by', 'project_id', 'clone_url', 'ssh_url']),
            ('vibn_workspace_apps', 'vibn_workspace_apps_changed',
             ARRAY['managed_by', 'project_id', 'domains'])) AS v(tbl, trg, extra) LOOP
        SELECT coalesce(array_agg(a ORDER BY n), '{}') INTO args
          FROM pg_trigger g,
               unnest(string_to_array(encode(g.tgargs, 'escape'), '\000')) WITH ORDINALITY AS u(a, n)
         WHERE g.tgrelid = t.tbl::regclass AND g.tgname = t.trg AND a <> '';
        SELECT array_agg(DISTINCT x) INTO args FROM unnest(args || t.extra) AS x;
        EXECUTE format('DROP TRIGGER %I ON %I', t.trg, t.tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION vibn_child_changed(%s)', t.trg, t.tbl,
                       (SELECT string_agg(quote_literal(x), ', ' ORDER BY x) FROM unnest(args) x));
    END LOOP;
END;
$$;

UPDATE vibn_workspace_repos r SET managed_by = 'manifest'
  FROM vibn_workspaces w WHERE w.id = r.workspace_id AND w.source = 'manifest';
UPDATE vibn_workspace_apps a SET managed_by = 'manifest'
  FROM vibn_workspaces w WHERE w.id = a.workspace_id AND w.source = 'manifest';

-- 2. Repos the API undeclared with deleteRepo=true: the reconciler deletes each upstream, but
-- only when the repo found there is the one recorded (gitea_repo_id), and forgets the request.
CREATE TABLE vibn_workspace_repo_deletions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    name          text NOT NULL,
    gitea_repo_id bigint,
    requested_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX vibn_workspace_repo_deletions_name_key
    ON vibn_workspace_repo_deletions (workspace_id, lower(name));

-- 3. Quotas (NULL: the daemon's default, VIBN_QUOTA_*) and what manifest applies record:
-- their labels (metadata.labels, for apply --prune -l) and apply set (--applyset). None is
-- desired state of the upstreams: no generation bump (the BEFORE trigger lists its columns).
ALTER TABLE vibn_workspaces
    ADD COLUMN quota_repos     integer CONSTRAINT vibn_workspaces_quota_repos_check
        CHECK (quota_repos >= 0),
    ADD COLUMN quota_apps      integer CONSTRAINT vibn_workspaces_quota_apps_check
        CHECK (quota_apps >= 0),
    ADD COLUMN quota_projects  integer CONSTRAINT vibn_workspaces_quota_projects_check
        CHECK (quota_projects >= 0),
    ADD COLUMN manifest_labels jsonb NOT NULL DEFAULT '{}'::jsonb
        CONSTRAINT vibn_workspaces_manifest_labels_check CHECK (jsonb_typeof(manifest_labels) = 'object'),
    ADD COLUMN apply_set       text;

-- 4. Events. seq orders them (newest first is seq descending) and grows on every change of
-- a row, a new event or a repeat: a reader that remembers the highest seq it saw finds
-- exactly what happened since.
CREATE SEQUENCE vibn_workspace_events_seq;
CREATE TABLE vibn_workspace_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES vibn_workspaces (id) ON DELETE CASCADE,
    seq          bigint NOT NULL DEFAULT nextval('vibn_workspace_events_seq'),
    type         text NOT NULL,
    reason       text NOT NULL,
    object_kind  text NOT NULL,
    object_name  text NOT NULL,
    message      text NOT NULL,
    count        integer NOT NULL DEFAULT 1,
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    reconcile_id text,
    CONSTRAINT vibn_workspace_events_type_check CHECK (type IN ('Normal', 'Warning')),
    CONSTRAINT vibn_workspace_events_reason_check
        CHECK (reason ~ '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' AND length(reason) <= 128)
);
ALTER SEQUENCE vibn_workspace_events_seq OWNED BY vibn_workspace_events.seq;
CREATE UNIQUE INDEX vibn_workspace_events_seq_key ON vibn_workspace_events (seq);
CREATE INDEX vibn_workspace_events_workspace_idx ON vibn_workspace_events (workspace_id, seq);
CREATE INDEX vibn_workspace_events_last_seen_idx ON vibn_workspace_events (last_seen);

-- Records one event of workspace ws. The same event (type, reason, object, message) seen
-- within win of its last occurrence is counted on its row (count + 1, last_seen, reconcile
-- id, a new seq) instead of adding one. A new row prunes the workspace's events to the
-- newest keep_n and nothing older than keep. Wakes `vibnctl events --watch` (NOTIFY
-- vibn_events). Returns the row's seq.
CREATE FUNCTION vibn_event_record(ws uuid, etype text, ereason text, okind text, oname text,
                                  msg text, rid text, win interval, keep_n integer,
                                  keep interval)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    m text := left(msg, 4096);
    s bigint;
BEGIN
    UPDATE vibn_workspace_events e
       SET count = e.count + 1, last_seen = now(), reconcile_id = rid,
           seq = nextval('vibn_workspace_events_seq')
     WHERE e.id = (SELECT x.id FROM vibn_workspace_events x
                    WHERE x.workspace_id = ws AND x.type = etype AND x.reason = ereason
                      AND x.object_kind = okind AND x.object_name = oname AND x.message = m
                      AND x.last_seen >= now() - win
                    ORDER BY x.seq DESC LIMIT 1)
    RETURNING e.seq INTO s;
    IF NOT FOUND THEN
        INSERT INTO vibn_workspace_events (workspace_id, type, reason, object_kind, object_name,
                                           message, reconcile_id)
        VALUES (ws, etype, ereason, okind, oname, m, rid)
        RETURNING seq INTO s;
        DELETE FROM vibn_workspace_events e
         WHERE e.workspace_id = ws
           AND (e.last_seen < now() - keep
                OR e.seq <= (SELECT x.seq FROM vibn_workspace_events x WHERE x.workspace_id = ws
                              ORDER BY x.seq DESC OFFSET greatest(keep_n, 1) LIMIT 1));
    END IF;
    PERFORM pg_notify('vibn_events', ws::text);
    RETURN s;
END;
$$;

-- Prunes every workspace's events: older than keep, or beyond its newest keep_n. Returns
-- how many went (vibnd runs it periodically, for workspaces that record nothing new).
CREATE FUNCTION vibn_events_prune(keep_n integer, keep interval) RETURNS bigint
LANGUAGE sql AS $$
    WITH d AS (
        DELETE FROM vibn_workspace_events e
         WHERE e.last_seen < now() - keep
            OR e.id IN (SELECT r.id FROM (
                    SELECT x.id, row_number() OVER (PARTITION BY x.workspace_id
                                                    ORDER BY x.seq DESC) AS n
                      FROM vibn_workspace_events x) r
                 WHERE r.n > greatest(keep_n, 1))
        RETURNING 1)
    SELECT count(*) FROM d;
$$;
