"""Foundation: migrations, the slug rule and the triggers that turn desired-state changes
into one queue item, a generation bump and a NOTIFY."""
import json
import os
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import Listener, ctl, pg_dump_schema


def applied(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version, count(*) FROM vibn_schema_migrations "
                            "GROUP BY version ORDER BY version").fetchall()


def test_migrate_twice_changes_nothing(empty_db_url):
    first = ctl("migrate", db_url=empty_db_url)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_init" in first.stdout
    dump1 = pg_dump_schema(empty_db_url)
    second = ctl("migrate", db_url=empty_db_url)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "schema is up to date"
    assert pg_dump_schema(empty_db_url) == dump1
    assert all(n == 1 for _, n in applied(empty_db_url))


def test_concurrent_migrate_applies_each_once(empty_db_url):
    env = dict(os.environ, DATABASE_URL=empty_db_url)
    procs = [subprocess.Popen([os.path.join(os.environ["VIBN_BIN"], "vibnctl"), "migrate"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    rows = applied(empty_db_url)
    assert rows and all(n == 1 for _, n in rows)
    # Exactly one of the two did the work; the other found the schema current.
    assert sum("schema is up to date" in o for o, _ in outs) == 1, outs


def test_legacy_fs_projects_rows_survive(empty_db_url):
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE fs_projects (id text PRIMARY KEY, name text, user_id text, "
                     "settings jsonb)")
        conn.execute("INSERT INTO fs_projects SELECT 'p' || i, 'project ' || i, 'u' || (i % 3), "
                     "'{}' FROM generate_series(1, 25) i")
    r = ctl("migrate", db_url=empty_db_url)
    assert r.returncode == 0, r.stderr
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM fs_projects").fetchone()[0] == 25
        assert conn.execute("SELECT count(*) FROM fs_projects WHERE vibn_workspace_id IS NULL "
                            "AND settings IS NOT NULL").fetchone()[0] == 25


def test_migrate_without_database_url_names_it():
    r = ctl("migrate")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], r.stderr


def test_migrate_unreachable_database_is_one_line():
    r = ctl("migrate", db_url="postgresql://nobody@127.0.0.1:1/vibn")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "cannot connect to the database" in lines[0]


def test_migrate_usage_error_exits_2(empty_db_url):
    r = ctl("migrate", "--bogus", db_url=empty_db_url)
    assert r.returncode == 2


@pytest.mark.parametrize("slug", ["Acme", "-acme", "acme-", "a--b", "a" * 33, "", "ac me", "acme_1"])
def test_slug_check_rejects(db, slug):
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES (%s, 'u1')", (slug,))


@pytest.mark.parametrize("slug", ["acme", "a-1-b", "a" * 32, "0"])
def test_slug_check_accepts(db, slug):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES (%s, 'u1')", (slug,))


def test_provision_status_check(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("UPDATE vibn_workspaces SET provision_status = 'bogus'")


def queue(db):
    return db.execute("SELECT w.slug, q.priority, q.dirty FROM vibn_reconcile_queue q "
                      "JOIN vibn_workspaces w ON w.id = q.workspace_id ORDER BY 1").fetchall()


def generation(db, slug="acme"):
    return db.execute("SELECT generation FROM vibn_workspaces WHERE slug = %s",
                      (slug,)).fetchone()[0]


def test_insert_enqueues_and_notifies(db_url):
    listener = Listener(db_url, "vibn_reconcile")
    try:
        with psycopg.connect(db_url, autocommit=True) as conn:
            wsid = conn.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1') "
                                "RETURNING id::text").fetchone()[0]
            assert listener.wait(1) == [("vibn_reconcile", wsid)]
            assert queue(conn) == [("acme", 0, False)]
    finally:
        listener.close()


def test_ten_spec_updates_leave_one_item(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    for i in range(10):
        db.execute("UPDATE vibn_workspaces SET name = %s WHERE slug = 'acme'", ("Acme %d" % i,))
    assert queue(db) == [("acme", 0, False)]
    assert generation(db) == 11


def test_one_transaction_bumps_generation_once(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    with db.transaction():
        db.execute("UPDATE vibn_workspaces SET name = 'A' WHERE slug = 'acme'")
        db.execute("UPDATE vibn_workspaces SET paused = true WHERE slug = 'acme'")
        db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name) "
                   "SELECT id, 'web' FROM vibn_workspaces WHERE slug = 'acme'")
    assert generation(db) == 2


def test_status_only_update_enqueues_nothing(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("DELETE FROM vibn_reconcile_queue")
    before = db.execute("SELECT generation, updated_at FROM vibn_workspaces").fetchone()
    db.execute("UPDATE vibn_workspaces SET conditions = '[{\"type\": \"Ready\"}]', "
               "observed_generation = 1, provision_status = 'ready', gitea_org = 'vibn-acme', "
               "coolify_project_uuid = 'abc', last_error = 'x'")
    assert queue(db) == []
    assert db.execute("SELECT generation, updated_at FROM vibn_workspaces").fetchone() == before
    # Status columns of repos and apps do not count either.
    db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name) SELECT id, 'web' "
               "FROM vibn_workspaces")
    db.execute("INSERT INTO vibn_workspace_apps (workspace_id, name, repo) SELECT id, 'web', 'web' "
               "FROM vibn_workspaces")
    db.execute("DELETE FROM vibn_reconcile_queue")
    g = generation(db)
    db.execute("UPDATE vibn_workspace_repos SET gitea_repo_id = 7")
    db.execute("UPDATE vibn_workspace_apps SET coolify_app_uuid = 'u-1'")
    assert queue(db) == []
    assert generation(db) == g


@pytest.mark.parametrize("table,insert,update", [
    ("vibn_workspace_members",
     "INSERT INTO vibn_workspace_members (workspace_id, user_id, gitea_username, role) "
     "SELECT id, 'bob', 'bob', 'member' FROM vibn_workspaces WHERE slug = 'acme'",
     "UPDATE vibn_workspace_members SET role = 'admin'"),
    ("vibn_workspace_repos",
     "INSERT INTO vibn_workspace_repos (workspace_id, name) "
     "SELECT id, 'web' FROM vibn_workspaces WHERE slug = 'acme'",
     "UPDATE vibn_workspace_repos SET private = false"),
    ("vibn_workspace_apps",
     "INSERT INTO vibn_workspace_apps (workspace_id, name, repo) "
     "SELECT id, 'web', 'web' FROM vibn_workspaces WHERE slug = 'acme'",
     "UPDATE vibn_workspace_apps SET ports = '8080'"),
])
def test_child_changes_bump_owner(db, table, insert, update):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('other', 'u2')")
    db.execute("DELETE FROM vibn_reconcile_queue")
    for i, stmt in enumerate([insert, update, "DELETE FROM " + table]):
        db.execute(stmt)
        assert generation(db) == 2 + i, stmt
        assert queue(db) == [("acme", 0, False)], stmt
        db.execute("DELETE FROM vibn_reconcile_queue")
    assert generation(db, "other") == 1


def test_event_during_lease_marks_dirty(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("UPDATE vibn_reconcile_queue SET lease_owner = 'w1', "
               "lease_expires_at = now() + interval '30 seconds'")
    db.execute("UPDATE vibn_workspaces SET name = 'changed'")
    db.execute("UPDATE vibn_workspaces SET name = 'changed again'")
    assert queue(db) == [("acme", 0, True)]


def test_renew_keeps_live_leases_only(db):
    """A lease that ran out (say, the database was down longer than a lease) is not its
    holder's to renew: another replica may be taking the workspace over."""
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('beta', 'u2')")
    db.execute("UPDATE vibn_reconcile_queue q SET lease_owner = 'w-' || w.slug,"
               " lease_expires_at = now() + CASE w.slug WHEN 'acme' THEN interval '10 s'"
               " ELSE interval '-1 s' END FROM vibn_workspaces w WHERE w.id = q.workspace_id")
    ids = dict(db.execute("SELECT slug, id FROM vibn_workspaces").fetchall())
    n = db.execute("SELECT vibn_renew(%s::uuid[], %s::text[], interval '30 s')",
                   ([ids["acme"], ids["beta"]], ["w-acme", "w-beta"])).fetchone()[0]
    assert n == 1
    left = dict(db.execute("SELECT w.slug, q.lease_expires_at > now() + interval '20 s'"
                           " FROM vibn_reconcile_queue q JOIN vibn_workspaces w"
                           " ON w.id = q.workspace_id").fetchall())
    assert left == {"acme": True, "beta": False}


FINISH = ("SELECT * FROM vibn_finish(%s, %s, %s, NULL, interval '5 s', NULL, 'boom', %s,"
          " interval '30 s')")


def claim_of(db, slug, owner):
    db.execute("UPDATE vibn_reconcile_queue q SET lease_owner = %s,"
               " lease_expires_at = now() + interval '30 s' FROM vibn_workspaces w"
               " WHERE w.id = q.workspace_id AND w.slug = %s", (owner, slug))
    return db.execute("SELECT id FROM vibn_workspaces WHERE slug = %s", (slug,)).fetchone()[0]


def test_finish_records_the_outcome_and_claims_the_next(db):
    """One round trip between runs: the outcome, then the next due item for a new owner."""
    for slug in ("acme", "beta"):
        db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES (%s, 'u1')", (slug,))
    acme = claim_of(db, "acme", "w1/1")
    row = db.execute(FINISH, (acme, "w1/1", False, "w1/2")).fetchone()
    assert row[0] == "done"
    beta = db.execute("SELECT id FROM vibn_workspaces WHERE slug = 'beta'").fetchone()[0]
    assert row[1] == beta and row[2] == 0 and row[3] == 0
    assert db.execute("SELECT w.slug, q.lease_owner FROM vibn_reconcile_queue q JOIN"
                      " vibn_workspaces w ON w.id = q.workspace_id").fetchall() == [
                          ("beta", "w1/2")]
    # Nothing left to claim: the outcome alone, and a row saying so.
    row = db.execute(FINISH, (beta, "w1/2", True, "w1/3")).fetchone()
    assert row[0] == "retry" and row[1:] == (None,) * 6
    assert db.execute("SELECT attempts, last_error, lease_owner FROM vibn_reconcile_queue"
                      ).fetchone() == (1, "boom", None)


def test_finish_claims_a_follow_up_of_the_same_workspace(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    acme = claim_of(db, "acme", "w1/1")
    db.execute("UPDATE vibn_workspaces SET name = 'changed'")  # an event during the run
    row = db.execute(FINISH, (acme, "w1/1", False, "w1/2")).fetchone()
    assert row[0] == "followup" and row[1] == acme
    assert queue(db) == [("acme", 0, False)]


def test_finish_without_next_owner_claims_nothing(db):
    for slug in ("acme", "beta"):
        db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES (%s, 'u1')", (slug,))
    acme = claim_of(db, "acme", "w1/1")
    row = db.execute(FINISH, (acme, "w1/1", False, None)).fetchone()
    assert row[0] == "done" and row[1] is None
    assert db.execute("SELECT count(*) FROM vibn_reconcile_queue WHERE lease_owner IS NOT NULL"
                      ).fetchone()[0] == 0


def test_finish_of_a_lost_lease_changes_nothing_of_it(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    acme = claim_of(db, "acme", "w2/9")  # taken over by another worker
    row = db.execute(FINISH, (acme, "w1/1", False, "w1/2")).fetchone()
    assert row[0] == "lost" and row[1] is None  # its lease is live: not claimable
    assert db.execute("SELECT lease_owner FROM vibn_reconcile_queue").fetchone()[0] == "w2/9"


WS_FINISH = ("SELECT vibn_workspace_finish(%s, %s, %s::jsonb, w.generation, 'ready', NULL,"
             " 'vibn-acme',"
             " NULL, NULL, %s::jsonb, %s::jsonb, 'r1', interval '1 h', 50, interval '7 d')"
             " FROM vibn_workspaces w")


def test_workspace_finish_writes_records_status_and_events_at_once(db):
    """The end of a pass: what it found, its status and its events, in one call, which
    bumps no generation and enqueues nothing."""
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name) SELECT id, 'Web'"
               " FROM vibn_workspaces")
    db.execute("INSERT INTO vibn_workspace_apps (workspace_id, name, repo, domains)"
               " SELECT id, 'web', 'Web', 'https://kept.example' FROM vibn_workspaces")
    db.execute("UPDATE vibn_workspaces SET coolify_project_pending_at = now()")
    db.execute("DELETE FROM vibn_reconcile_queue")
    ws, g = db.execute("SELECT id, generation FROM vibn_workspaces").fetchone()
    records = ('{"project": "p-1", "repos": {"web": {"id": 7, "clone_url": "http://g/web.git",'
               ' "ssh_url": null}}, "apps": {"web": {"uuid": "a-1"}},'
               ' "app_names": ["acme-web"]}')
    events = '[{"type": "Normal", "reason": "Created", "kind": "repo", "name": "web",' \
             ' "message": "created"}]'
    assert db.execute(WS_FINISH, (ws, True, '[{"type": "Ready"}]', records, events)
                      ).fetchone()[0] == 1
    assert db.execute(
        "SELECT conditions, observed_generation, provision_status, gitea_org,"
        " coolify_project_uuid, coolify_project_pending_at, coolify_app_names, generation"
        " FROM vibn_workspaces").fetchone() == (
            [{"type": "Ready"}], g, "ready", "vibn-acme", "p-1", None, ["acme-web"], g)
    assert db.execute("SELECT gitea_repo_id, clone_url, ssh_url FROM vibn_workspace_repos"
                      ).fetchone() == (7, "http://g/web.git", None)
    assert db.execute("SELECT coolify_app_uuid, domains FROM vibn_workspace_apps"
                      ).fetchone() == ("a-1", "https://kept.example")
    assert db.execute("SELECT reason, object_name FROM vibn_workspace_events").fetchall() == [
        ("Created", "web")]
    assert queue(db) == []


def test_workspace_finish_without_status_keeps_the_status(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("UPDATE vibn_workspaces SET conditions = '[{\"type\": \"Kept\"}]',"
               " provision_status = 'provisioning', coolify_project_pending_at = now()")
    ws = db.execute("SELECT id FROM vibn_workspaces").fetchone()[0]
    db.execute(WS_FINISH, (ws, False, None, None, None))
    assert db.execute("SELECT conditions, provision_status, gitea_org,"
                      " coolify_project_pending_at IS NOT NULL FROM vibn_workspaces"
                      ).fetchone() == ([{"type": "Kept"}], "provisioning", None, True)
    db.execute(WS_FINISH, (ws, False, None, '{"app_names": []}', None))
    assert db.execute("SELECT conditions, coolify_app_names, coolify_project_pending_at"
                      " IS NOT NULL FROM vibn_workspaces").fetchone() == (
                          [{"type": "Kept"}], [], True)


def test_pass_functions_plan_once_per_connection(db):
    """The functions of a pass take generic plans from their first run (0015: no five
    custom plans per statement and connection first), and the caller's setting is kept."""
    assert dict(db.execute(
        "SELECT proname, proconfig FROM pg_proc WHERE proname IN"
        " ('vibn_workspace_finish', 'vibn_finish', 'vibn_claim')").fetchall()) == {
            name: ["plan_cache_mode=force_generic_plan"]
            for name in ("vibn_workspace_finish", "vibn_finish", "vibn_claim")}
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    acme = claim_of(db, "acme", "w1/1")
    assert db.execute(FINISH, (acme, "w1/1", False, "w1/2")).fetchone()[0] == "done"
    db.execute(WS_FINISH, (acme, True, '[]', None, None))
    assert db.execute("SHOW plan_cache_mode").fetchone()[0] == "auto"


def test_workspace_finish_locks_the_workspace_before_its_children(db, db_url):
    """The API's project writes lock the workspace row, then change its repos: a finish
    waiting for that row must not hold a repo row meanwhile (a deadlock, 0016)."""
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name) SELECT id, 'web'"
               " FROM vibn_workspaces")
    ws = db.execute("SELECT id FROM vibn_workspaces").fetchone()[0]
    records = '{"repos": {"web": {"id": 7, "clone_url": "http://g/web.git"}}}'
    with psycopg.connect(db_url, autocommit=True) as api, \
            psycopg.connect(db_url, autocommit=True) as pass_conn:
        api.execute("BEGIN")
        api.execute("SELECT 1 FROM vibn_workspaces WHERE id = %s FOR UPDATE", (ws,))
        pid = pass_conn.info.backend_pid
        done = []
        t = threading.Thread(target=lambda: done.append(pass_conn.execute(
            WS_FINISH, (ws, True, '[]', records, None)).fetchone()))
        t.start()
        deadline = time.monotonic() + 10
        while db.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                         (pid,)).fetchone()[0] != "Lock":
            assert time.monotonic() < deadline, "the finish never waited for the row"
            time.sleep(0.01)
        api.execute("SET lock_timeout = '5s'")
        api.execute("UPDATE vibn_workspace_repos SET project_id = NULL WHERE workspace_id = %s",
                    (ws,))
        api.execute("COMMIT")
        t.join(10)
        assert done and not t.is_alive()
    assert db.execute("SELECT gitea_repo_id FROM vibn_workspace_repos").fetchone()[0] == 7


def test_event_batch_counts_repeats_in_batch_and_window(db):
    """A batch is recorded as if one event at a time: a repeat (in the batch, or seen
    within the window) counts on its row and moves it last."""
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    ws = db.execute("SELECT id FROM vibn_workspaces").fetchone()[0]

    def ev(reason, name):
        return {"type": "Normal", "reason": reason, "kind": "repo", "name": name,
                "message": reason + " " + name}

    def record(batch):
        return db.execute("SELECT vibn_events_record(%s, %s::jsonb, 'r', interval '1 h', 50,"
                          " interval '7 d')", (ws, json.dumps(batch))).fetchone()[0]

    def rows():
        return db.execute("SELECT reason, object_name, count FROM vibn_workspace_events"
                          " ORDER BY seq").fetchall()

    assert record([ev("Created", "a"), ev("Created", "b"), ev("Created", "a")]) == 2
    assert rows() == [("Created", "b", 1), ("Created", "a", 2)]
    assert record([ev("Created", "b"), ev("Deleted", "c"), ev("Created", "b")]) == 1
    assert rows() == [("Created", "a", 2), ("Deleted", "c", 1), ("Created", "b", 3)]
    db.execute("UPDATE vibn_workspace_events SET last_seen = now() - interval '2 h'")
    assert record([ev("Created", "a")]) == 1  # outside the window: a new row
    assert rows()[-1] == ("Created", "a", 1)


def test_hard_delete_cascades(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("INSERT INTO vibn_workspace_members (workspace_id, user_id, role) "
               "SELECT id, 'u1', 'owner' FROM vibn_workspaces")
    db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name) SELECT id, 'web' "
               "FROM vibn_workspaces")
    db.execute("DELETE FROM vibn_workspaces")
    for t in ("vibn_workspace_members", "vibn_workspace_repos", "vibn_reconcile_queue"):
        assert db.execute("SELECT count(*) FROM " + t).fetchone()[0] == 0, t
