"""vibnctl apply is authoritative only for what manifests declared: the repos and apps the API
owns are left alone (changed by neither apply nor --prune, shown by diff as such, taken over
only with --force-conflicts); --prune needs a scope (--all, -l, --applyset) like kubectl's;
quotas bound what a manifest may declare (spec.quotas, else VIBN_QUOTA_*)."""
from conftest import ctl


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def ws(slug, labels="", repos="[{name: web}]", apps="[{name: web, repo: web}]", extra=""):
    return ("apiVersion: vibn/v1\nkind: Workspace\nmetadata:\n  name: %s\n%s"
            "spec:\n  owner: alice\n  repos: %s\n  apps: %s\n%s" % (
                slug, ("  labels: {%s}\n" % labels) if labels else "", repos, apps, extra))


def api_objects(db, slug, names=("shop",)):
    """What the projects API (or MCP) declares: API-owned rows, tied to a project."""
    (wid,) = db.execute("SELECT id FROM vibn_workspaces WHERE slug = %s", (slug,)).fetchone()
    for name in names:
        (pid,) = db.execute("INSERT INTO fs_projects (name, vibn_workspace_id) VALUES (%s, %s)"
                            " RETURNING id", (name, wid)).fetchone()
        db.execute("INSERT INTO vibn_workspace_repos (workspace_id, name, managed_by, project_id)"
                   " VALUES (%s, %s, 'api', %s)", (wid, name, pid))
        db.execute("INSERT INTO vibn_workspace_apps (workspace_id, name, repo, managed_by,"
                   " project_id) VALUES (%s, %s, %s, 'api', %s)", (wid, name, name, pid))
    return wid


def rows(db):
    return db.execute("SELECT 'repo', name, managed_by FROM vibn_workspace_repos UNION ALL"
                      " SELECT 'app', name, managed_by FROM vibn_workspace_apps ORDER BY 1, 2"
                      ).fetchall()


def test_apply_and_prune_leave_api_objects_alone(db, db_url, tmp_path):
    path = write(tmp_path / "acme.yaml", ws("acme"))
    assert ctl("apply", "-f", path, db_url=db_url).returncode == 0
    api_objects(db, "acme")
    before = rows(db)
    gen = db.execute("SELECT generation FROM vibn_workspaces").fetchone()[0]
    for extra in ([], ["--prune", "--all"]):
        r = ctl("apply", "-f", path, *extra, db_url=db_url)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "workspace/acme unchanged", (extra, r.stdout)
        assert rows(db) == before
    assert before == [("app", "shop", "api"), ("app", "web", "manifest"),
                      ("repo", "shop", "api"), ("repo", "web", "manifest")]
    assert db.execute("SELECT generation FROM vibn_workspaces").fetchone()[0] == gen
    # A manifest change touches only the manifest's rows.
    write(path, ws("acme", repos="[{name: web}, {name: docs}]"))
    r = ctl("apply", "-f", path, "--prune", "--all", db_url=db_url)
    assert r.stdout.strip() == "workspace/acme configured", r.stdout
    assert ("repo", "shop", "api") in rows(db) and ("app", "shop", "api") in rows(db)
    # diff shows the API's objects as such, on both sides: no change there.
    write(path, ws("acme", repos="[{name: web}]"))
    r = ctl("diff", "-f", path, db_url=db_url)
    assert r.returncode == 1, r.stderr
    assert "-  - name: docs\n" in r.stdout
    assert r.stdout.endswith(
        "# workspace/acme: owned by the API, left alone by apply: repo shop, app shop\n")
    assert "-  #" not in r.stdout and "+  #" not in r.stdout


def test_declaring_an_api_object_needs_force_conflicts(db, db_url, tmp_path):
    path = write(tmp_path / "acme.yaml", ws("acme"))
    assert ctl("apply", "-f", path, db_url=db_url).returncode == 0
    api_objects(db, "acme")
    write(path, ws("acme", repos="[{name: web}, {name: Shop, private: false}]",
                   apps="[{name: web, repo: web}, {name: shop, repo: Shop}]"))
    r = ctl("apply", "-f", path, db_url=db_url)
    assert r.returncode == 1
    assert "workspace/acme: repo shop, app shop are owned by the API" in r.stderr
    assert "--force-conflicts" in r.stderr
    assert ("repo", "shop", "api") in rows(db)
    d = ctl("diff", "-f", path, "--force-conflicts", db_url=db_url)
    assert d.returncode == 1 and "-  #   repo shop" in d.stdout and "+  - name: Shop" in d.stdout
    r = ctl("apply", "-f", path, "--force-conflicts", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == \
        "workspace/acme configured (took over from the API: repo shop, app shop)"
    assert db.execute("SELECT name, private, managed_by, project_id IS NOT NULL FROM"
                      " vibn_workspace_repos WHERE lower(name) = 'shop'").fetchone() == \
        ("Shop", False, "manifest", True)
    # Now the manifest's: leaving the manifest removes it.
    write(path, ws("acme"))
    assert ctl("apply", "-f", path, db_url=db_url).returncode == 0
    assert rows(db) == [("app", "web", "manifest"), ("repo", "web", "manifest")]


def test_a_repo_an_api_app_builds_from_stays(db, db_url, tmp_path):
    path = write(tmp_path / "acme.yaml", ws("acme"))
    assert ctl("apply", "-f", path, db_url=db_url).returncode == 0
    (wid,) = db.execute("SELECT id FROM vibn_workspaces").fetchone()
    db.execute("INSERT INTO vibn_workspace_apps (workspace_id, name, repo, managed_by)"
               " VALUES (%s, 'agent', 'web', 'api')", (wid,))
    write(path, ws("acme", repos="[]", apps="[]"))
    r = ctl("apply", "-f", path, db_url=db_url)
    assert r.returncode == 1 and "repo web is used by app agent, which the API owns" in r.stderr
    assert ("repo", "web", "manifest") in rows(db)


def test_prune_needs_a_scope(db, db_url, tmp_path):
    path = write(tmp_path / "a.yaml", ws("a"))
    for args in (["--prune"], ["--prune", "--dry-run"]):
        r = ctl("apply", "-f", path, *args, db_url=db_url)
        assert r.returncode == 2, r.stderr
        assert "--prune needs a scope: --all" in r.stderr and "-l SELECTOR" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    for args in (["--all"], ["--prune", "--all", "-l", "team=a"],
                 ["--prune", "--all", "--applyset", "x"], ["--applyset", "Bad/Name"],
                 ["-l", "team=a b"]):
        assert ctl("apply", "-f", path, *args, db_url=db_url).returncode == 2, args
    assert db.execute("SELECT count(*) FROM vibn_workspaces").fetchone()[0] == 0


def test_prune_by_selector_and_dry_run(db, db_url, tmp_path):
    d = tmp_path / "all"
    d.mkdir()
    for slug, team in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        write(d / ("%s.yaml" % slug), ws(slug, labels="team: %s" % team))
    r = ctl("apply", "-f", str(d), db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert db.execute("SELECT manifest_labels FROM vibn_workspaces WHERE slug = 'b1'"
                      ).fetchone()[0] == {"team": "b"}
    # Team a's directory now holds only a1: -l team=a applies a1 and may prune only team a.
    only = tmp_path / "a"
    only.mkdir()
    write(only / "a1.yaml", ws("a1", labels="team: a"))
    write(only / "b1.yaml", ws("b1", labels="team: b"))
    r = ctl("apply", "-f", str(only), "--prune", "-l", "team=a", "--dry-run", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["workspace/a1 unchanged (dry run)",
                                     "workspace/b1 skipped (dry run)",
                                     "workspace/a2 pruned (dry run)"]
    assert db.execute("SELECT count(*) FROM vibn_workspaces WHERE deleted_at IS NOT NULL"
                      ).fetchone()[0] == 0
    r = ctl("apply", "-f", str(only), "--prune", "-l", "team=a", db_url=db_url)
    assert r.returncode == 0, r.stderr
    gone = db.execute("SELECT slug FROM vibn_workspaces WHERE deleted_at IS NOT NULL").fetchall()
    assert gone == [("a2",)]


def test_prune_by_apply_set(db, db_url, tmp_path):
    a = write(tmp_path / "a.yaml", ws("one") + "---\n" + ws("two"))
    b = write(tmp_path / "b.yaml", ws("three"))
    assert ctl("apply", "-f", a, "--applyset", "team-a", db_url=db_url).returncode == 0
    assert ctl("apply", "-f", b, "--applyset", "team-b", db_url=db_url).returncode == 0
    assert db.execute("SELECT slug, apply_set FROM vibn_workspaces ORDER BY slug").fetchall() == [
        ("one", "team-a"), ("three", "team-b"), ("two", "team-a")]
    write(a, ws("one"))
    r = ctl("apply", "-f", a, "--applyset", "team-a", "--prune", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["workspace/one unchanged", "workspace/two pruned"]
    assert db.execute("SELECT slug FROM vibn_workspaces WHERE deleted_at IS NULL ORDER BY slug"
                      ).fetchall() == [("one",), ("three",)]
    # A workspace of another set is refused unless moved on purpose.
    r = ctl("apply", "-f", b, "--applyset", "team-a", db_url=db_url)
    assert r.returncode == 1 and "belongs to apply set team-b" in r.stderr
    r = ctl("apply", "-f", b, "--applyset", "team-a", "--force-conflicts", db_url=db_url)
    assert r.returncode == 0 and r.stdout.strip() == "workspace/three configured", r.stderr
    assert db.execute("SELECT apply_set FROM vibn_workspaces WHERE slug = 'three'"
                      ).fetchone()[0] == "team-a"


def test_manifest_quotas(db, db_url, tmp_path):
    three = "[{name: a}, {name: b}, {name: c}]"
    path = write(tmp_path / "q.yaml", ws("acme", repos=three, apps="[]"))
    r = ctl("apply", "-f", path, db_url=db_url, env={"VIBN_QUOTA_REPOS": "2"})
    assert r.returncode == 1
    assert "workspace acme would hold 3 repos, over the limit of 2 (VIBN_QUOTA_REPOS" in r.stderr
    assert db.execute("SELECT count(*) FROM vibn_workspaces").fetchone()[0] == 0
    # The workspace's own limit (ops only: manifests) wins, and is recorded for the API.
    write(path, ws("acme", repos=three, apps="[]", extra="  quotas: {repos: 3, projects: 1}\n"))
    r = ctl("apply", "-f", path, db_url=db_url, env={"VIBN_QUOTA_REPOS": "2"})
    assert r.returncode == 0, r.stderr
    assert db.execute("SELECT quota_repos, quota_apps, quota_projects FROM vibn_workspaces"
                      ).fetchone() == (3, None, 1)
    write(path, ws("acme", repos="[{name: a}, {name: b}, {name: c}, {name: d}]", apps="[]",
                   extra="  quotas: {repos: 3}\n"))
    r = ctl("apply", "-f", path, db_url=db_url)
    assert r.returncode == 1 and "over its limit of 3 (spec.quotas.repos" in r.stderr
    # Lowering a limit below what exists refuses growth, not the apply.
    write(path, ws("acme", repos=three, apps="[]", extra="  quotas: {repos: 1}\n"))
    r = ctl("apply", "-f", path, db_url=db_url)
    assert r.returncode == 0 and r.stdout.strip() == "workspace/acme configured", r.stderr
    r = ctl("apply", "-f", path, db_url=db_url, env={"VIBN_QUOTA_REPOS": "many"})
    assert r.returncode == 1 and "VIBN_QUOTA_REPOS must be an integer" in r.stderr
