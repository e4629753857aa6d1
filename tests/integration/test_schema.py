"""Foundation: migrations, the slug rule and the triggers that turn desired-state changes
into one queue item, a generation bump and a NOTIFY."""
import os
import subprocess

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


def test_hard_delete_cascades(db):
    db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES ('acme', 'u1')")
    db.execute("INSERT INTO vibn_workspace_members (workspace_id, user_id, role) "
               "SELECT id, 'u1', 'owner' FROM vibn_workspaces")
    db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name) SELECT id, 'web' "
               "FROM vibn_workspaces")
    db.execute("DELETE FROM vibn_workspaces")
    for t in ("vibn_workspace_members", "vibn_workspace_repos", "vibn_reconcile_queue"):
        assert db.execute("SELECT count(*) FROM " + t).fetchone()[0] == 0, t
