-- 0017_team_ids: the ids of the org's managed Gitea teams, as the last pass found them
-- ({"Owners": id, "Admins": id, "Members": id}, the teams that exist), recorded with the
-- pass's other findings by vibn_workspace_finish ("teams" in its records). A drift sweep
-- reads each team's members by the recorded id and lists the org's teams only when an id is
-- gone (404: deleted, or the org made again): one Gitea read fewer per workspace and run.
-- Status, like gitea_hook_id: writing it bumps no generation (vibn_workspaces_before lists
-- the spec columns).
ALTER TABLE vibn_workspaces ADD COLUMN gitea_team_ids jsonb;

CREATE OR REPLACE FUNCTION vibn_workspace_finish(ws uuid, write_status boolean, conds jsonb, gen bigint,
                                      status text, err text, org text, hook_id bigint,
                                      hook_sha text, records jsonb, evs jsonb, rid text,
                                      win interval, keep_n integer, keep interval)
RETURNS integer LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    added integer := 0;
BEGIN
    -- The workspace row first, then its repos and apps: the order the API's writers take
    -- (SELECT ... FOR UPDATE of the workspace, then its children).
    PERFORM 1 FROM vibn_workspaces w WHERE w.id = ws FOR NO KEY UPDATE;
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
    IF write_status OR records ?| ARRAY['project', 'project_settled', 'app_names', 'teams'] THEN
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
                                        ELSE w.coolify_app_names END,
               gitea_team_ids = CASE WHEN records ? 'teams' THEN records->'teams'
                                     ELSE w.gitea_team_ids END
         WHERE w.id = ws;
    END IF;
    IF evs IS NOT NULL THEN
        added := vibn_events_record(ws, evs, rid, win, keep_n, keep);
    END IF;
    RETURN added;
END;
$$;
