"""vibnctl connect-cursor: the three files parse (YAML front matter + Markdown, JSON, env
syntax), carry the workspace's identity and the key where it belongs, with private modes;
--key must be a live key of that workspace; usage errors exit 2."""
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


def test_mint_writes_three_parsable_files(db, db_url, tmp_path):
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
    assert key not in r.stdout and key not in r.stderr  # shown only in the files

    conf = json.loads(read(out, "mcp.json"))
    server = conf["mcpServers"]["vibn-acme"]
    assert server == {"url": URL + "/api/mcp", "headers": {"Authorization": "Bearer " + key}}

    rule = read(out, ".cursor/rules/vibn-workspace.mdc")
    m = re.match(r"---\n(.*?)\n---\n(.*)", rule, re.S)
    assert m, rule[:200]
    front = yaml.safe_load(m.group(1))
    assert front["alwaysApply"] is True and "acme" in front["description"]
    body = m.group(2)
    assert "`vibn-acme`" in body and "`cp1`" in body and URL + "/api/mcp" in body
    assert "create_repo" in body and key not in rule

    for name, mode in ((".env.local", 0o600), ("mcp.json", 0o600),
                       (".cursor/rules/vibn-workspace.mdc", 0o644)):
        assert stat.S_IMODE(os.stat(os.path.join(out, name)).st_mode) == mode, name


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
