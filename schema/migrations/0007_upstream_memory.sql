-- 0007_upstream_memory: what the workspace reconciler must remember of its own acts because
-- the upstreams never say. Status columns: writing them bumps no generation and queues
-- nothing.

-- coolify_app_deletes: {"<application uuid>": <when its DELETE was sent>}. Coolify deletes an
-- application in a queued job (app/Jobs/DeleteResourceJob.php) and lists it with its usual
-- status until the job has run, seconds to minutes later; there is no "deleting" status. So
-- each application gets one DELETE, remembered here, and is waited for; the DELETE is sent
-- again only when it is still listed long after.
ALTER TABLE vibn_workspaces ADD COLUMN coolify_app_deletes jsonb NOT NULL DEFAULT '{}';

-- gitea_hook_id, gitea_hook_secret_sha256: the org hook vibnd registered and the SHA-256
-- (hex) of the secret it gave it. Gitea never returns a hook's secret
-- (services/webhook/general.go ToHook), so a changed GITEA_WEBHOOK_SECRET shows only here: a
-- hook whose recorded hash differs is edited with the new secret.
ALTER TABLE vibn_workspaces ADD COLUMN gitea_hook_id bigint;
ALTER TABLE vibn_workspaces ADD COLUMN gitea_hook_secret_sha256 text;
