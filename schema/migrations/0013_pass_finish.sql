-- The end of a workspace reconcile pass in one call: what the pass found of the resources it
-- made or adopted (records), its events, and its status, in one round trip and one commit.
-- A pass that created a full workspace used to send five writes for these (the project's
-- uuid, the repo's id and clone URLs, the app's uuid and domains, the app names, then the
-- status with the events): each a round trip and a commit, more of the database's CPU than
-- the pass's reads. Losing them together is safe: each is found again by name upstream
-- (adopted), and the project's create-pending marker, written before the create, stays set
-- until its uuid is recorded here.
--
-- records (NULL: none): {"project": uuid, "project_settled": true (no create in doubt: the
-- marker goes), "repos": {name: {"id", "clone_url", "ssh_url"}}, "apps": {name: {"uuid",
-- "domains"}}, "app_names": [name, ...]}, the names declared ones
-- (matched without case, as the spec's are unique). write_status false: the status columns
-- are left as they are (the pass changed none of them). evs, rid, win, keep_n, keep: as
-- vibn_events_record. Returns the number of events added.
CREATE FUNCTION vibn_workspace_finish(ws uuid, write_status boolean, conds jsonb, gen bigint,
                                      status text, err text, org text, hook_id bigint,
                                      hook_sha text, records jsonb, evs jsonb, rid text,
                                      win interval, keep_n integer, keep interval)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    added integer := 0;
BEGIN
    IF records ? 'repos' THEN
        UPDATE vibn_workspace_repos r
           SET gitea_repo_id = (x.value->>'id')::bigint, clone_url = x.value->>'clone_url',
               ssh_url = x.value->>'ssh_url'
          FROM jsonb_each(records->'repos') x
         WHERE r.workspace_id = ws AND lower(r.name) = lower(x.key);
    END IF;
    IF records ? 'apps' THEN
        UPDATE vibn_workspace_apps a
           SET coolify_app_uuid = coalesce(x.value->>'uuid', a.coolify_app_uuid),
               domains = coalesce(x.value->>'domains', a.domains)
          FROM jsonb_each(records->'apps') x
         WHERE a.workspace_id = ws AND lower(a.name) = lower(x.key);
    END IF;
    IF write_status OR records ?| ARRAY['project', 'project_settled', 'app_names'] THEN
        UPDATE vibn_workspaces w
           SET conditions = CASE WHEN write_status THEN conds ELSE w.conditions END,
               observed_generation = CASE WHEN write_status THEN gen
                                          ELSE w.observed_generation END,
               provision_status = CASE WHEN write_status THEN status
                                       ELSE w.provision_status END,
               last_error = CASE WHEN write_status THEN err ELSE w.last_error END,
               gitea_org = CASE WHEN write_status THEN org ELSE w.gitea_org END,
               gitea_hook_id = coalesce(hook_id, w.gitea_hook_id),
               gitea_hook_secret_sha256 = CASE WHEN hook_id IS NULL
                                               THEN w.gitea_hook_secret_sha256 ELSE hook_sha END,
               coolify_project_uuid = coalesce(records->>'project', w.coolify_project_uuid),
               coolify_project_pending_at =
                   CASE WHEN records ?| ARRAY['project', 'project_settled'] THEN NULL
                        ELSE w.coolify_project_pending_at END,
               coolify_app_names = CASE WHEN records ? 'app_names'
                                        THEN ARRAY(SELECT jsonb_array_elements_text(
                                                              records->'app_names'))
                                        ELSE w.coolify_app_names END
         WHERE w.id = ws;
    END IF;
    IF evs IS NOT NULL THEN
        added := vibn_events_record(ws, evs, rid, win, keep_n, keep);
    END IF;
    RETURN added;
END;
$$;

-- A batch of events in two statements, whatever its size (0012 sent two per event, sixteen
-- for a full workspace's creation). The rule is 0012's, and so is the outcome: an event
-- seen within win is counted on its newest row (count + the times it is in the batch,
-- last_seen, reconcile id), else added once, counted the times it is in the batch; each
-- takes a new seq in the order of its last place in the batch; then one prune and one
-- NOTIFY.
CREATE OR REPLACE FUNCTION vibn_events_record(ws uuid, evs jsonb, rid text, win interval,
                                              keep_n integer, keep interval)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    added integer;
BEGIN
    WITH b AS (
        SELECT e->>'type' AS etype, e->>'reason' AS ereason, e->>'kind' AS okind,
               e->>'name' AS oname, left(e->>'message', 4096) AS msg, count(*) AS n,
               max(i) AS last
          FROM jsonb_array_elements(evs) WITH ORDINALITY AS x(e, i)
         GROUP BY 1, 2, 3, 4, 5),
    numbered AS (  -- materialized once: one nextval per distinct event, in batch order
        SELECT o.*, nextval('vibn_workspace_events_seq') AS newseq
          FROM (SELECT * FROM b ORDER BY b.last) o),
    seen AS (
        SELECT DISTINCT ON (b.last) v.id, b.last, b.n, b.newseq
          FROM numbered b JOIN vibn_workspace_events v
            ON v.workspace_id = ws AND v.type = b.etype AND v.reason = b.ereason
           AND v.object_kind = b.okind AND v.object_name = b.oname AND v.message = b.msg
           AND v.last_seen >= now() - win
         ORDER BY b.last, v.seq DESC),
    counted AS (
        UPDATE vibn_workspace_events v
           SET count = v.count + s.n, last_seen = now(), reconcile_id = rid, seq = s.newseq
          FROM seen s
         WHERE v.id = s.id)
    INSERT INTO vibn_workspace_events (workspace_id, seq, type, reason, object_kind,
                                       object_name, message, count, reconcile_id)
    SELECT ws, b.newseq, b.etype, b.ereason, b.okind, b.oname, b.msg, b.n, rid
      FROM numbered b
     WHERE NOT EXISTS (SELECT 1 FROM seen s WHERE s.last = b.last);
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 THEN
        DELETE FROM vibn_workspace_events v
         WHERE v.workspace_id = ws
           AND (v.last_seen < now() - keep
                OR v.seq <= (SELECT x.seq FROM vibn_workspace_events x WHERE x.workspace_id = ws
                              ORDER BY x.seq DESC OFFSET greatest(keep_n, 1) LIMIT 1));
    END IF;
    IF jsonb_array_length(evs) > 0 THEN
        PERFORM pg_notify('vibn_events', ws::text);
    END IF;
    RETURN added;
END;
$$;
