-- 0005_reconcile: what the workspace reconciler records besides conditions.
-- coolify_project_pending_at: set just before POST /projects and cleared when the returned
-- uuid is recorded. Coolify accepts duplicate names, so a reconcile that finds it set (a
-- crash or a lost response in between) lists projects by name and adopts instead of creating
-- a second one. A status column: it bumps nothing.
ALTER TABLE vibn_workspaces ADD COLUMN coolify_project_pending_at timestamptz;

-- coolify_app_names: the Coolify applications ({slug}-{app}) this reconciler created or
-- adopted. Apps are owned: one that leaves the spec is deleted upstream; and a workspace that
-- never had apps costs no read to check. A status column: it bumps nothing.
ALTER TABLE vibn_workspaces ADD COLUMN coolify_app_names text[] NOT NULL DEFAULT '{}';
