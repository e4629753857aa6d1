-- The test reconciler's tables left the production schema (tests/support/test_schema.sql
-- creates them in test databases). Databases migrated before lose them here; they only
-- ever held test runs.
DROP TABLE IF EXISTS vibn_test_runs;
DROP TABLE IF EXISTS vibn_test_behaviour;
