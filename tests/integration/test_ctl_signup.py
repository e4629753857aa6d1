"""vibn_ensure_workspace_for_user and vibnctl signup: one workspace per user, no network,
slugs from the email's local part (collisions, long and odd addresses), race-safe; and
vibnctl backfill, which uses it for legacy fs_projects."""
import threading

import psycopg
import pytest

from conftest import ctl


def signup(db_url, user, email, gitea=None):
    args = ["signup", "--user", user, "--email", email]
    if gitea:
        args += ["--gitea-user", gitea]
    r = ctl(*args, db_url=db_url)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_signup_is_idempotent_per_user(db, db_url):
    assert signup(db_url, "u1", "Alice.Smith@example.com") == "alice-smith"
    assert signup(db_url, "u1", "another@example.com") == "alice-smith"
    rows = db.execute("SELECT slug, name, owner, source, generation FROM vibn_workspaces"
                      ).fetchall()
    assert rows == [("alice-smith", "Alice.Smith", "u1", "signup", 1)]
    members = db.execute("SELECT user_id, gitea_username, role FROM vibn_workspace_members"
                         ).fetchall()
    assert members == [("u1", None, "owner")]
    q = db.execute("SELECT priority, reason FROM vibn_reconcile_queue").fetchall()
    assert q == [(0, "created")]


def test_gitea_user_is_recorded_once(db, db_url):
    signup(db_url, "u1", "a@x.io")
    assert signup(db_url, "u1", "a@x.io", gitea="alice") == "a"
    assert db.execute("SELECT gitea_username FROM vibn_workspace_members").fetchone()[0] == "alice"
    # A linked name changes the desired state: one generation, one reconcile.
    assert db.execute("SELECT generation FROM vibn_workspaces").fetchone()[0] == 2
    # An existing link is not overwritten, and nothing changes.
    assert signup(db_url, "u1", "a@x.io", gitea="mallory") == "a"
    assert db.execute("SELECT gitea_username FROM vibn_workspace_members").fetchone()[0] == "alice"
    assert db.execute("SELECT generation FROM vibn_workspaces").fetchone()[0] == 2


def test_signup_with_gitea_user_at_once(db, db_url):
    assert signup(db_url, "u7", "bob@x.io", gitea="bob") == "bob"
    assert db.execute("SELECT user_id, gitea_username, role FROM vibn_workspace_members"
                      ).fetchall() == [("u7", "bob", "owner")]


def test_invalid_gitea_user_is_refused(db, db_url):
    r = ctl("signup", "--user", "u1", "--email", "a@x", "--gitea-user", "-bad-", db_url=db_url)
    assert r.returncode == 1
    assert "invalid Gitea username" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert db.execute("SELECT count(*) FROM vibn_workspaces").fetchone()[0] == 0


def test_slug_collisions_get_suffixes(db_url):
    slugs = [signup(db_url, "u%d" % i, "john.doe@host%d.com" % i) for i in range(4)]
    assert slugs == ["john-doe", "john-doe-2", "john-doe-3", "john-doe-4"]


@pytest.mark.parametrize("email,slug", [
    ("a" * 40 + "@x.com", "a" * 32),
    ("A" * 31 + ".b@x.com", "a" * 31),          # cut lands on '-': trimmed
    ("John..Doe+tag@example.com", "john-doe-tag"),
    ("--x__y--@example.com", "x-y"),
    ("Ünïcödé@example.com", "n-c-d"),
    ("___@example.com", "ws"),
    ("no-at-sign", "no-at-sign"),
    ("weird@local@example.com", "weird-local"),
])
def test_slug_derivation(db_url, email, slug):
    assert signup(db_url, "u1", email) == slug


def test_long_slug_collision_keeps_32_chars(db_url):
    email = "b" * 50 + "@x.com"
    assert signup(db_url, "u1", email) == "b" * 32
    assert signup(db_url, "u2", email) == "b" * 30 + "-2"
    for i in range(3, 11):
        signup(db_url, "u%d" % i, email)
    assert signup(db_url, "u11", email) == "b" * 29 + "-11"


def test_concurrent_signups(db, db_url):
    """Eight users racing for one slug get eight slugs; one user racing with itself gets
    one workspace."""
    errors, slugs = [], []

    def run(user, email):
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                slugs.append(c.execute("SELECT vibn_ensure_workspace_for_user(%s, %s)",
                                       (user, email)).fetchone()[0])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=("racer%d" % i, "same@x.io")) for i in range(8)]
    threads += [threading.Thread(target=run, args=("twin", "twin@x.io")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    racers = db.execute("SELECT slug FROM vibn_workspaces WHERE owner LIKE 'racer%' ORDER BY slug"
                        ).fetchall()
    assert sorted(r[0] for r in racers) == sorted(["same"] + ["same-%d" % i for i in range(2, 9)])
    assert db.execute("SELECT count(*) FROM vibn_workspaces WHERE owner = 'twin'"
                      ).fetchone()[0] == 1
    assert slugs.count("twin") == 8


def test_signup_usage(db_url):
    assert ctl("signup", "--user", "u1", db_url=db_url).returncode == 2
    assert ctl("signup", "--email", "a@b", db_url=db_url).returncode == 2
    assert ctl("signup", "--help").returncode == 0


def test_deleted_signup_workspace_gets_a_new_one(db, db_url):
    assert signup(db_url, "u1", "kim@x.io") == "kim"
    db.execute("UPDATE vibn_workspaces SET deleted_at = now()")
    assert signup(db_url, "u1", "kim@x.io") == "kim-2"


def projects(db):
    return db.execute("SELECT p.id, w.slug FROM fs_projects p LEFT JOIN vibn_workspaces w "
                      "ON w.id = p.vibn_workspace_id ORDER BY p.id").fetchall()


def test_backfill_twice_second_changes_nothing(db, db_url):
    signup(db_url, "u1", "first@x.io")
    db.execute("INSERT INTO fs_projects (id, name, user_id) VALUES "
               "('p1', 'a', 'u1'), ('p2', 'b', 'u2'), ('p3', 'c', 'u2'), ('p4', 'd', NULL), "
               "('p5', 'e', 'user_3')")
    dry = ctl("backfill", "--dry-run", db_url=db_url)
    assert dry.returncode == 0, dry.stderr
    assert "projects assigned:   4\n" in dry.stdout and "dry run" in dry.stdout
    assert db.execute("SELECT count(*) FROM vibn_workspaces").fetchone()[0] == 1
    assert all(s is None for _, s in projects(db))
    first = ctl("backfill", db_url=db_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "projects assigned:   4", "workspaces created:  2", "workspaces reused:   1",
        "projects skipped:    1 (no owner user id)"]
    # Without a users table, a new workspace's slug comes from the user id.
    assert projects(db) == [("p1", "first"), ("p2", "u2"), ("p3", "u2"), ("p4", None),
                            ("p5", "user-3")]
    snapshot = db.execute("SELECT slug, generation, updated_at FROM vibn_workspaces ORDER BY 1"
                          ).fetchall()
    second = ctl("backfill", db_url=db_url)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[:3] == [
        "projects assigned:   0", "workspaces created:  0", "workspaces reused:   0"]
    assert db.execute("SELECT slug, generation, updated_at FROM vibn_workspaces ORDER BY 1"
                      ).fetchall() == snapshot


def test_backfill_uses_the_users_email_when_there_is_one(db, db_url):
    db.execute("CREATE TABLE users (id text PRIMARY KEY, email text)")
    db.execute("INSERT INTO users VALUES ('u9', 'Grace.Hopper@navy.mil')")
    db.execute("INSERT INTO fs_projects (id, user_id) VALUES ('p1', 'u9'), ('p2', 'u10')")
    r = ctl("backfill", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert projects(db) == [("p1", "grace-hopper"), ("p2", "u10")]
