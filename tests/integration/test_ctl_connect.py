"""vibnctl connect-cursor: the files parse (YAML front matter + Markdown, JSON, env syntax),
carry the workspace's identity, and only .env.local holds the key (mode 0600, added to
.gitignore); the MCP files name it by variable and can be committed; nothing is written
through a symbolic link in the output folder; --key must be a live key of that workspace;
usage errors exit 2."""
import json
import os
import re
import stat
import subprocess

import yaml

from conftest import ctl

TEAM = "apiVersion: vibn/v1\nkind: Workspace\nmetadata: {name: %s}\nspec: {owner: alice}\n"
URL = "http://127.0.0.1:8080"


def make_ws(db_url, *slugs):
    r = ctl("apply", "-f", "-", db_url=db_url, input="---\n".join(TEAM % s for s in slugs))
    assert r.returncode == 0, r.stderr


def mint(db_url, slug):
    r = ctl("keys", "mint", "--workspace", slug, "--name", "k", db_url=db_url)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def read(out, name):
    with open(os.path.join(out, name), encoding="utf-8") as f:
        return f.read()


def parse_env(text):
    """KEY=value lines and comments only; returns the variables."""
    env = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=([^\s'\"#$`\\]*)", line)
        assert m, "not env syntax: %r" % line
        env[m.group(1)] = m.group(2)
    return env


def test_mint_writes_parsable_files_with_the_key_only_in_env_local(db, db_url, tmp_path):
    make_ws(db_url, "acme")
    db.execute("UPDATE vibn_workspaces SET gitea_org = 'vibn-acme', coolify_project_uuid = 'cp1'")
    out = str(tmp_path / "proj")
    r = ctl("connect-cursor", "--workspace", "acme", "--mint", "cursor", "--out", out,
            "--url", URL + "/", db_url=db_url)
    assert r.returncode == 0, r.stderr
    (token,) = db.execute("SELECT count(*) FROM vibn_workspace_api_keys WHERE name = 'cursor'"
                          ).fetchone()
    assert token == 1

    env = parse_env(read(out, ".env.local"))
    key = env["VIBN_API_KEY"]
    assert re.fullmatch(r"vibn_sk_[0-9A-Za-z]{43}", key)
    assert env["VIBN_API_URL"] == URL and env["VIBN_WORKSPACE"] == "acme"
    # The shell reads it the same way.
    sh = subprocess.run(["bash", "-c", 'set -a; . "$1"; printf %s "$VIBN_API_KEY"', "-",
                         os.path.join(out, ".env.local")], capture_output=True, text=True)
    assert sh.returncode == 0 and sh.stdout == key
    assert key not in r.stdout and key not in r.stderr  # shown only in the file

    # Cursor reads the project's .cursor/mcp.json; the key by reference, so it can be committed.
    cursor = json.loads(read(out, ".cursor/mcp.json"))["mcpServers"]["vibn-acme"]
    assert cursor == {"url": URL + "/api/mcp",
                      "headers": {"Authorization": "Bearer ${env:VIBN_API_KEY}"}}
    claude = json.loads(read(out, ".mcp.json"))["mcpServers"]["vibn-acme"]
    assert claude == {"type": "http", "url": URL + "/api/mcp",
                      "headers": {"Authorization": "Bearer ${VIBN_API_KEY}"}}
    assert not os.path.exists(os.path.join(out, "mcp.json"))
    # The line for registering Claude Code by hand, printed as it is to be run.
    assert ("claude mcp add --transport http vibn-acme '%s/api/mcp' --header "
            '"Authorization: Bearer $VIBN_API_KEY"' % URL) in r.stdout

    rule = read(out, ".cursor/rules/vibn-workspace.mdc")
    m = re.match(r"---\n(.*?)\n---\n(.*)", rule, re.S)
    assert m, rule[:200]
    front = yaml.safe_load(m.group(1))
    assert front["alwaysApply"] is True and "acme" in front["description"]
    body = m.group(2)
    assert "`vibn-acme`" in body and "`cp1`" in body and URL + "/api/mcp" in body
    assert "create_repo" in body

    for name, mode in ((".env.local", 0o600), (".cursor/mcp.json", 0o644), (".mcp.json", 0o644),
                       (".cursor/rules/vibn-workspace.mdc", 0o644)):
        assert stat.S_IMODE(os.stat(os.path.join(out, name)).st_mode) == mode, name
        assert (key in read(out, name)) == (name == ".env.local"), name
    assert ".env.local" in read(out, ".gitignore").splitlines()


def git_ignored(repo, name):
    return subprocess.run(["git", "-C", repo, "check-ignore", "-q", name]).returncode == 0


def test_gitignore_is_extended_once_and_git_agrees(db_url, tmp_path):
    make_ws(db_url, "acme")
    key = mint(db_url, "acme")
    out = str(tmp_path / "repo")
    subprocess.run(["git", "init", "-q", out], check=True)
    with open(os.path.join(out, ".gitignore"), "w") as f:
        f.write("node_modules/\n*.log")  # no trailing newline
    for _ in range(2):
        r = ctl("connect-cursor", "-w", "acme", "--key", key, "--out", out, "--url", URL,
                db_url=db_url)
        assert r.returncode == 0, r.stderr
    lines = read(out, ".gitignore").splitlines()
    assert lines[:2] == ["node_modules/", "*.log"] and lines.count(".env.local") == 1
    assert git_ignored(out, ".env.local")
    for committable in (".cursor/mcp.json", ".mcp.json", ".cursor/rules/vibn-workspace.mdc"):
        assert not git_ignored(out, committable), committable
    # git status offers exactly the committable files.
    st = subprocess.run(["git", "-C", out, "status", "--porcelain", "--untracked-files=all"],
                        capture_output=True, text=True, check=True).stdout
    assert key not in st and ".env.local" not in st and ".mcp.json" in st


def test_symbolic_links_are_never_followed(db_url, tmp_path):
    make_ws(db_url, "acme")
    key = mint(db_url, "acme")
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "bashrc"
    precious.write_text("precious\n")
    os.chmod(precious, 0o644)

    def run(out):
        return ctl("connect-cursor", "-w", "acme", "--key", key, "--out", str(out), "--url", URL,
                   db_url=db_url)

    cases = [(".cursor/mcp.json", str(precious)),   # overwrite (and chmod) a file elsewhere
             (".env.local", "tracked.txt"),         # the key into a tracked file
             (".cursor", str(outside)),             # a whole folder elsewhere
             (".gitignore", str(precious))]
    for i, (name, target) in enumerate(cases):
        out = tmp_path / ("out%d" % i)
        out.mkdir()
        (out / "tracked.txt").write_text("tracked\n")
        os.makedirs(os.path.dirname(str(out / name)), exist_ok=True)
        os.symlink(target, str(out / name))
        r = run(out)
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert "refusing %s/%s" % (out, name) in r.stderr, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        # Nothing was written anywhere: not through the link, not beside it.
        assert precious.read_text() == "precious\n" and stat.S_IMODE(precious.stat().st_mode) == 0o644
        assert (out / "tracked.txt").read_text() == "tracked\n"
        assert sorted(os.listdir(str(outside))) == ["bashrc"]
        for root, _dirs, files in os.walk(str(out)):
            for f in files:
                p = os.path.join(root, f)
                if not os.path.islink(p):
                    with open(p, encoding="utf-8", errors="replace") as fh:
                        assert key not in fh.read(), p


def test_key_must_belong_to_the_workspace(db_url, tmp_path):
    make_ws(db_url, "acme", "beta")
    key_b = mint(db_url, "beta")
    out = str(tmp_path / "o")
    env = {"VIBN_PUBLIC_URL": URL}
    r = ctl("connect-cursor", "-w", "acme", "--key", key_b, "--out", out, db_url=db_url, env=env)
    assert r.returncode == 1 and "not a live key of workspace" in r.stderr
    assert not os.path.exists(os.path.join(out, ".env.local"))
    r = ctl("connect-cursor", "-w", "beta", "--key", key_b, "--out", out, db_url=db_url, env=env)
    assert r.returncode == 0, r.stderr
    assert parse_env(read(out, ".env.local"))["VIBN_API_KEY"] == key_b
    r = ctl("connect-cursor", "-w", "nope", "--key", key_b, "--out", out, db_url=db_url, env=env)
    assert r.returncode == 1 and "not found" in r.stderr


def test_usage_errors(db_url, tmp_path):
    out = str(tmp_path)
    for args in (("-w", "acme", "--out", out, "--url", URL),                       # no key
                 ("-w", "acme", "--key", "k", "--mint", "n", "--out", out, "--url", URL),
                 ("-w", "acme", "--mint", "n", "--url", URL),                      # no --out
                 ("-w", "acme", "--mint", "n", "--out", out),                      # no URL
                 ("-w", "acme", "--mint", "n", "--out", out, "--url", "http://h/'x'")):
        r = ctl("connect-cursor", *args, db_url=db_url)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("vibnctl: ") or "usage" in r.stderr
    r = ctl("connect-cursor", "--help")
    assert r.returncode == 0 and "--mint NAME" in r.stdout
