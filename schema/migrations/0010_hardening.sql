-- 0010_hardening: key scopes and expiry; Ready is never True while a newer generation waits.

-- Key scopes. A key may do what its scopes name, and nothing else:
--   read   see the workspace: GET /api/workspaces[/{slug}], the connect files, the MCP
--          tools that only read (workspace_status, list_repos, list_apps)
--   write  change desired state or queue work: provision, the MCP tools that write
--   keys   manage keys: list, mint, revoke
-- A key mints only keys whose scopes are a subset of its own (and that expire no later
-- than it does); revoking a key revokes the keys it minted. Keys minted before this
-- migration lose "keys": a leaked agent key must not be able to outlive its revocation.
ALTER TABLE vibn_workspace_api_keys
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{read,write}',
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN minted_by uuid REFERENCES vibn_workspace_api_keys (id) ON DELETE SET NULL,
    ADD CONSTRAINT vibn_workspace_api_keys_scopes_check
        CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'keys']::text[]);
CREATE INDEX vibn_workspace_api_keys_minted_by_idx ON vibn_workspace_api_keys (minted_by)
    WHERE minted_by IS NOT NULL;

-- Ready while a generation waits. A reconcile that converges generation N writes Ready True
-- with observedGeneration N; when the spec then changes (generation N+1), that Ready speaks
-- of a spec that is no longer the one declared. Every reader (the API, MCP, vibnctl, the web
-- app reading the row) must see that, so the row itself says it: whenever a write leaves
-- observed_generation below generation (a spec change bumping generation, or a reconcile of
-- an older generation finishing after a newer one was declared), a Ready True condition
-- becomes Unknown with reason Reconciling, and provision_status 'ready' becomes
-- 'provisioning'. Once a reconcile observes the current generation it writes Ready again.
-- Done here, not in each reader, so that no reader (or a future one) can forget it.
CREATE FUNCTION vibn_workspaces_ready_pending() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    conds jsonb := '[]';
    c jsonb;
BEGIN
    IF NEW.observed_generation >= NEW.generation OR jsonb_typeof(NEW.conditions) <> 'array' THEN
        RETURN NEW;
    END IF;
    FOR c IN SELECT * FROM jsonb_array_elements(NEW.conditions) LOOP
        IF c->>'type' = 'Ready' AND c->>'status' = 'True' THEN
            c := c || jsonb_build_object(
                'status', 'Unknown',
                'reason', 'Reconciling',
                'message', format('generation %s is waiting to be reconciled (observed %s)',
                                  NEW.generation, NEW.observed_generation),
                'lastTransitionTime', to_char(now() AT TIME ZONE 'UTC',
                                              'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
        END IF;
        conds := conds || jsonb_build_array(c);
    END LOOP;
    NEW.conditions := conds;
    IF NEW.provision_status = 'ready' THEN
        NEW.provision_status := 'provisioning';
    END IF;
    RETURN NEW;
END;
$$;

-- BEFORE triggers run in name order: this one after vibn_workspaces_before, which settles
-- generation.
CREATE TRIGGER vibn_workspaces_zz_ready_pending BEFORE INSERT OR UPDATE ON vibn_workspaces
    FOR EACH ROW EXECUTE FUNCTION vibn_workspaces_ready_pending();

-- Workspaces already showing Ready over a pending generation are corrected now.
UPDATE vibn_workspaces SET conditions = conditions
 WHERE observed_generation < generation
   AND (provision_status = 'ready' OR conditions @> '[{"type": "Ready", "status": "True"}]');
