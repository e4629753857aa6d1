-- 0015_generic_plans: the functions of a pass plan their statements once per connection.
-- Postgres plans a statement of a plpgsql function afresh for each of its first five runs on
-- a connection (custom plans, for the parameters' values), and only then settles on the
-- generic plan, which it does for all of these: every one is keyed by a workspace id (or
-- the queue's order), where the value changes nothing in the plan. In a burst on a
-- just-started daemon, those five plans x every statement of the pass (the event batch alone
-- takes 2-3 ms to plan, the foreign-key checks it fires more) x each of its connections were
-- a quarter of Postgres's CPU. The setting holds inside the function only (and what it
-- calls, the foreign-key checks of its writes among them).
ALTER FUNCTION vibn_workspace_finish(uuid, boolean, jsonb, bigint, text, text, text, bigint,
                                     text, jsonb, jsonb, text, interval, integer, interval)
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION vibn_finish(uuid, text, boolean, interval, interval, timestamptz, text, text,
                           interval)
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION vibn_claim(text, interval) SET plan_cache_mode = force_generic_plan;
