-- The events of one reconcile pass in one call: a pass that creates a full workspace sees
-- eight or so, and recording each on its own (a round trip, a prune of the workspace's
-- events and a NOTIFY every time) cost the database more than the rest of the pass. Each
-- element of evs ({"type", "reason", "kind", "name", "message"}), in order, is counted on
-- its row when the same event was seen within win (count + 1, last_seen, reconcile id, a
-- new seq), else added; then the workspace's events are pruned once (the newest keep_n,
-- nothing older than keep) and `vibnctl events --watch` woken once (NOTIFY vibn_events).
-- Returns the number of rows added.
CREATE FUNCTION vibn_events_record(ws uuid, evs jsonb, rid text, win interval, keep_n integer,
                                   keep interval)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
    m text;
    added integer := 0;
BEGIN
    FOR e IN SELECT x FROM jsonb_array_elements(evs) AS x LOOP
        m := left(e->>'message', 4096);
        UPDATE vibn_workspace_events v
           SET count = v.count + 1, last_seen = now(), reconcile_id = rid,
               seq = nextval('vibn_workspace_events_seq')
         WHERE v.id = (SELECT x.id FROM vibn_workspace_events x
                        WHERE x.workspace_id = ws AND x.type = e->>'type'
                          AND x.reason = e->>'reason' AND x.object_kind = e->>'kind'
                          AND x.object_name = e->>'name' AND x.message = m
                          AND x.last_seen >= now() - win
                        ORDER BY x.seq DESC LIMIT 1);
        IF NOT FOUND THEN
            INSERT INTO vibn_workspace_events (workspace_id, type, reason, object_kind,
                                               object_name, message, reconcile_id)
            VALUES (ws, e->>'type', e->>'reason', e->>'kind', e->>'name', m, rid);
            added := added + 1;
        END IF;
    END LOOP;
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

-- One event is a batch of one: one implementation of the rule. Returns the event's seq
-- (the workspace's newest: a repeat gets a new seq too).
CREATE OR REPLACE FUNCTION vibn_event_record(ws uuid, etype text, ereason text, okind text,
                                             oname text, msg text, rid text, win interval,
                                             keep_n integer, keep interval)
RETURNS bigint LANGUAGE sql AS $$
    SELECT vibn_events_record(ws, jsonb_build_array(jsonb_build_object(
               'type', etype, 'reason', ereason, 'kind', okind, 'name', oname,
               'message', msg)), rid, win, keep_n, keep);
    SELECT max(seq) FROM vibn_workspace_events WHERE workspace_id = ws;
$$;
