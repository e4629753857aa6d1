"""vibnctl apply, diff and prune against a real database: one transaction, only what changed
is written (so an unchanged manifest bumps no generation and wakes no daemon), errors reject
everything, prune never touches signup workspaces."""
import os
import shutil

import psycopg
import pytest

from conftest import Listener, ctl

ROOT = os.environ.get("VIBN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "manifests", "examples")


def workspaces(db):
    return {r[0]: r[1:] for r in db.execute(
        "SELECT slug, generation, source, deleted_at IS NOT NULL, updated_at "
        "FROM vibn_workspaces ORDER BY slug").fetchall()}


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


TEAM = """apiVersion: vibn/v1
kind: Workspace
metadata:
  name: team
spec:
  displayName: The Team
  owner: alice
  members:
    - {user: bob, role: admin}
    - {user: carol}
  repos:
    - {name: web, description: Site}
    - {name: api, private: false, defaultBranch: trunk}
  apps:
    - {name: web, repo: web, ports: "3000"}
"""


def test_apply_examples_twice_second_all_unchanged(db, db_url):
    first = ctl("apply", "-f", EXAMPLES, db_url=db_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "workspace/prune-a created", "workspace/prune-b created", "workspace/prune-c created",
        "workspace/solo created", "workspace/acme created"]
    before = workspaces(db)
    assert all(v[0] == 1 and v[1] == "manifest" for v in before.values())
    queue = db.execute("SELECT workspace_id, enqueued_at FROM vibn_reconcile_queue "
                       "ORDER BY 1").fetchall()
    assert len(queue) == 5
    listener = Listener(db_url, "vibn_reconcile")
    try:
        second = ctl("apply", "-f", EXAMPLES, db_url=db_url)
        assert second.returncode == 0, second.stderr
        assert second.stdout.splitlines() == [
            "workspace/%s unchanged" % s for s in
            ("prune-a", "prune-b", "prune-c", "solo", "acme")]
        listener.conn.execute("SELECT 1")
        assert listener.got == []  # nothing enqueued, nobody woken
    finally:
        listener.close()
    assert workspaces(db) == before  # same generation, same updated_at
    assert db.execute("SELECT workspace_id, enqueued_at FROM vibn_reconcile_queue "
                      "ORDER BY 1").fetchall() == queue


def test_apply_stores_owner_as_member_and_defaults(db, db_url, tmp_path):
    r = ctl("apply", "-f", write(tmp_path / "t.yaml", TEAM), db_url=db_url)
    assert r.returncode == 0, r.stderr
    ws = db.execute("SELECT id, name, owner, source, deletion_policy, paused, prune_members "
                    "FROM vibn_workspaces WHERE slug = 'team'").fetchone()
    assert ws[1:] == ("The Team", "alice", "manifest", "Orphan", False, False)
    members = db.execute("SELECT user_id, gitea_username, role FROM vibn_workspace_members "
                         "WHERE workspace_id = %s ORDER BY user_id", (ws[0],)).fetchall()
    assert members == [("alice", "alice", "owner"), ("bob", "bob", "admin"),
                       ("carol", "carol", "member")]
    repos = db.execute("SELECT name, private, description, default_branch FROM "
                       "vibn_workspace_repos WHERE workspace_id = %s ORDER BY name",
                       (ws[0],)).fetchall()
    assert repos == [("api", False, "", "trunk"), ("web", True, "Site", "main")]
    apps = db.execute("SELECT name, repo, branch, build_pack, ports FROM vibn_workspace_apps "
                      "WHERE workspace_id = %s", (ws[0],)).fetchall()
    assert apps == [("web", "web", "main", "nixpacks", "3000")]


def test_change_is_one_generation_and_only_changed_rows(db, db_url, tmp_path):
    path = write(tmp_path / "t.yaml", TEAM)
    assert ctl("apply", "-f", path, db_url=db_url).returncode == 0
    rows = lambda: db.execute(
        "SELECT 'm:' || user_id, updated_at FROM vibn_workspace_members UNION ALL "
        "SELECT 'r:' || name, updated_at FROM vibn_workspace_repos ORDER BY 1").fetchall()
    before = dict(rows())
    changed = (TEAM.replace("{user: carol}", "{user: carol, role: admin}")
               .replace("    - {name: web, repo: web, ports: \"3000\"}\n",
                        "    - {name: api, repo: api, buildPack: dockerfile}\n"))
    write(tmp_path / "t.yaml", changed)
    r = ctl("apply", "-f", path, db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "workspace/team configured"
    assert db.execute("SELECT generation FROM vibn_workspaces").fetchone()[0] == 2
    after = dict(rows())
    assert after["m:carol"] != before["m:carol"]
    for key in ("m:alice", "m:bob", "r:web", "r:api"):
        assert after[key] == before[key], key  # untouched rows are not rewritten
    apps = db.execute("SELECT name, branch, build_pack FROM vibn_workspace_apps").fetchall()
    assert apps == [("api", "trunk", "dockerfile")]
    # Removing members, repos and apps deletes their rows.
    write(tmp_path / "t.yaml", "\n".join(l for l in changed.splitlines()
                                         if "bob" not in l and "name: api" not in l) + "\n")
    r = ctl("apply", "-f", path, db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert db.execute("SELECT count(*) FROM vibn_workspace_members").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM vibn_workspace_repos").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM vibn_workspace_apps").fetchone()[0] == 0
    assert db.execute("SELECT generation FROM vibn_workspaces").fetchone()[0] == 3


def test_directory_with_one_bad_file_applies_nothing(db, db_url, tmp_path):
    d = tmp_path / "set"
    shutil.copytree(EXAMPLES, d)
    write(d / "zz-bad.yaml", "apiVersion: vibn/v1\nkind: Workspace\nmetadata:\n  name: Bad\n"
          "spec:\n  owner: x\n  paused: maybe\n")
    r = ctl("apply", "-f", str(d), db_url=db_url)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "%s:4:9: metadata.name: invalid workspace name \"Bad\": lower-case " \
        "letters, digits and single hyphens, starting and ending with a letter or digit " \
        "(^[a-z0-9]+(-[a-z0-9]+)*$), at most 32 characters" % (d / "zz-bad.yaml")
    assert lines[1] == "%s:7:11: spec.paused: expected a boolean (true or false), got a " \
        "string" % (d / "zz-bad.yaml")
    assert lines[2] == "vibnctl: 2 errors in the manifests; nothing was written"
    assert r.stdout == ""
    assert db.execute("SELECT count(*) FROM vibn_workspaces").fetchone()[0] == 0


def test_invalid_manifests_need_no_database(tmp_path):
    r = ctl("apply", "-f", write(tmp_path / "e.yaml", "# nothing\n"))
    assert r.returncode == 1
    assert "e.yaml:1:1: empty file" in r.stderr
    assert "DATABASE_URL" not in r.stderr


def test_apply_from_stdin(db, db_url):
    r = ctl("apply", "-f", "-", db_url=db_url, input=TEAM)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "workspace/team created"
    bad = ctl("apply", "-f", "-", db_url=db_url, input=TEAM.replace("alice", "alice\n  x: 1"))
    assert bad.returncode == 1
    assert "<stdin>:8:3: spec: unknown field \"x\"" in bad.stderr


def test_prune_never_touches_signup_workspaces(db, db_url, tmp_path):
    s = ctl("signup", "--user", "u-1", "--email", "zed@example.com", db_url=db_url)
    assert s.returncode == 0 and s.stdout.strip() == "zed", s.stderr
    d = tmp_path / "prune"
    shutil.copytree(os.path.join(EXAMPLES, "prune"), d)
    r = ctl("apply", "-f", str(d), "--prune", "--all", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["workspace/prune-a", "created", "workspace/prune-b", "created",
                                "workspace/prune-c", "created"]
    os.remove(d / "a.yaml")
    r = ctl("apply", "-f", str(d), "--prune", "--all", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["workspace/prune-c unchanged",
                                     "workspace/prune-a pruned", "workspace/prune-b pruned"]
    ws = workspaces(db)
    assert ws["prune-a"][2] and ws["prune-b"][2]  # soft-deleted
    assert not ws["prune-c"][2]
    assert ws["zed"][1] == "signup" and not ws["zed"][2]
    # Pruning again finds nothing more (already deleting, or declared).
    r = ctl("apply", "-f", str(d), "--prune", "--all", db_url=db_url)
    assert r.stdout.splitlines() == ["workspace/prune-c unchanged"]


def test_prune_is_refused_without_f(db_url):
    r = ctl("apply", "--prune", db_url=db_url)
    assert r.returncode == 2
    assert "-f PATH is required" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_dry_run_writes_nothing(db, db_url, tmp_path):
    r = ctl("apply", "-f", EXAMPLES, "--dry-run", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "workspace/prune-a created (dry run)"
    assert db.execute("SELECT count(*) FROM vibn_workspaces").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM vibn_reconcile_queue").fetchone()[0] == 0
    path = write(tmp_path / "t.yaml", TEAM)
    assert ctl("apply", "-f", path, "-f", EXAMPLES, db_url=db_url).returncode == 0
    before = workspaces(db)
    write(tmp_path / "t.yaml", TEAM.replace("The Team", "Renamed"))
    r = ctl("apply", "-f", path, "--dry-run", "--prune", "--all", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "workspace/team configured (dry run)"
    assert "workspace/acme pruned (dry run)" in r.stdout.splitlines()
    assert workspaces(db) == before
    assert db.execute("SELECT name FROM vibn_workspaces WHERE slug = 'team'").fetchone()[0] == \
        "The Team"


def test_diff_exit_codes(db, db_url, tmp_path):
    path = write(tmp_path / "t.yaml", TEAM)
    new = ctl("diff", "-f", path, db_url=db_url)
    assert new.returncode == 1, new.stderr
    assert new.stdout.startswith("--- /dev/null\n+++ workspace/team (manifest %s)\n"
                                 "@@ -0,0 +1," % path)
    assert "+  displayName: The Team\n" in new.stdout
    assert ctl("apply", "-f", path, db_url=db_url).returncode == 0
    same = ctl("diff", "-f", path, db_url=db_url)
    assert (same.returncode, same.stdout, same.stderr) == (0, "", "")
    write(tmp_path / "t.yaml", TEAM.replace("{user: carol}", "{user: carol, role: admin}"))
    changed = ctl("diff", "-f", path, db_url=db_url)
    assert changed.returncode == 1
    assert changed.stdout.startswith("--- workspace/team (live)\n")
    assert "   - user: carol\n-    role: member\n+    role: admin\n" in changed.stdout
    # diff writes nothing.
    assert db.execute("SELECT generation FROM vibn_workspaces").fetchone()[0] == 1
    bad = ctl("diff", "-f", write(tmp_path / "b.yaml", "kind: [\n"), db_url=db_url)
    assert bad.returncode == 2
    assert ctl("diff", db_url=db_url).returncode == 2
    assert ctl("diff", "-f", path, "--prune", db_url=db_url).returncode == 2


def test_apply_refuses_a_signup_workspace_and_writes_nothing(db, db_url, tmp_path):
    assert ctl("signup", "--user", "u1", "--email", "team@x.io", db_url=db_url).returncode == 0
    other = write(tmp_path / "o.yaml", TEAM.replace("name: team", "name: other"))
    r = ctl("apply", "-f", other, "-f", write(tmp_path / "t.yaml", TEAM), db_url=db_url)
    assert r.returncode == 1
    assert "workspace/team exists and was created by signup" in r.stderr
    assert r.stderr.strip().splitlines()[-1] == \
        "vibnctl: 1 workspace cannot be applied; nothing was written"
    assert db.execute("SELECT count(*) FROM vibn_workspaces WHERE slug = 'other'").fetchone()[0] == 0


def test_apply_refuses_a_workspace_being_deleted(db, db_url, tmp_path):
    path = write(tmp_path / "t.yaml", TEAM)
    assert ctl("apply", "-f", path, db_url=db_url).returncode == 0
    assert ctl("delete", "workspace", "team", db_url=db_url).returncode == 0
    r = ctl("apply", "-f", path, db_url=db_url)
    assert r.returncode == 1
    assert "workspace/team is being deleted" in r.stderr


def test_apply_usage(db_url):
    assert ctl("apply", db_url=db_url).returncode == 2
    assert ctl("apply", "-f", EXAMPLES, "extra", db_url=db_url).returncode == 2
    h = ctl("apply", "--help")
    assert h.returncode == 0 and "usage: vibnctl apply -f PATH" in h.stdout
