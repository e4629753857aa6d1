"""vibnctl keys: mint prints the token once, only its sha256 is stored; list and revoke."""
import hashlib
import json
import os
import re
import subprocess

from conftest import PGBIN, ctl

TEAM = "apiVersion: vibn/v1\nkind: Workspace\nmetadata: {name: %s}\nspec: {owner: alice}\n"


def make_ws(db_url, *slugs):
    r = ctl("apply", "-f", "-", db_url=db_url, input="---\n".join(TEAM % s for s in slugs))
    assert r.returncode == 0, r.stderr


def mint(db_url, slug, name):
    r = ctl("keys", "mint", "--workspace", slug, "--name", name, db_url=db_url)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip(), r.stderr


def test_mint_stores_only_the_hash(db, db_url):
    make_ws(db_url, "acme")
    token, note = mint(db_url, "acme", "ci")
    assert re.fullmatch(r"vibn_sk_[0-9A-Za-z]{43}", token), token
    row = db.execute("SELECT id, name, key_prefix, key_hash FROM vibn_workspace_api_keys"
                     ).fetchone()
    assert row[1] == "ci"
    assert row[2] == token[:12]
    assert row[3] == hashlib.sha256(token.encode()).hexdigest()
    assert str(row[0]) in note and "shown only now" in note
    # The plaintext is nowhere in the database.
    dump = subprocess.run([os.path.join(PGBIN, "pg_dump"), "--data-only", db_url],
                          capture_output=True, text=True, check=True).stdout
    assert token not in dump and token[12:] not in dump
    # Two mints, two different tokens.
    other, _ = mint(db_url, "acme", "ci-2")
    assert other != token


def test_list_and_revoke(db, db_url):
    make_ws(db_url, "acme", "beta")
    mint(db_url, "acme", "one")
    mint(db_url, "beta", "two")
    r = ctl("keys", "list", "-o", "json", db_url=db_url)
    assert r.returncode == 0, r.stderr
    keys = json.loads(r.stdout)
    assert sorted((k["workspace"], k["name"], k["revokedAt"]) for k in keys) == [
        ("acme", "one", None), ("beta", "two", None)]
    assert all("vibn_sk_" in k["prefix"] and len(k["prefix"]) == 12 for k in keys)
    only = json.loads(ctl("keys", "list", "--workspace", "beta", "-o", "json",
                          db_url=db_url).stdout)
    assert [k["name"] for k in only] == ["two"]
    table = ctl("keys", "list", db_url=db_url).stdout.splitlines()
    assert table[0].split() == ["ID", "WORKSPACE", "NAME", "PREFIX", "SCOPES", "CREATED", "LAST",
                                "USED", "EXPIRES", "STATUS"]
    kid = [k["id"] for k in keys if k["name"] == "one"][0]
    # Scoped to another workspace, the key does not exist.
    wrong = ctl("keys", "revoke", kid, "--workspace", "beta", db_url=db_url)
    assert wrong.returncode == 1 and "not found" in wrong.stderr
    r = ctl("keys", "revoke", kid, db_url=db_url)
    assert (r.returncode, r.stdout.strip()) == (0, "key %s revoked" % kid)
    revoked_at = db.execute("SELECT revoked_at FROM vibn_workspace_api_keys WHERE id = %s",
                            (kid,)).fetchone()[0]
    assert revoked_at is not None
    again = ctl("keys", "revoke", kid, db_url=db_url)
    assert (again.returncode, again.stdout.strip()) == (0, "key %s already revoked" % kid)
    assert db.execute("SELECT revoked_at FROM vibn_workspace_api_keys WHERE id = %s",
                      (kid,)).fetchone()[0] == revoked_at
    assert "revoked" in ctl("keys", "list", "--workspace", "acme", db_url=db_url).stdout
    missing = ctl("keys", "revoke", "00000000-0000-0000-0000-000000000000", db_url=db_url)
    assert missing.returncode == 1
    assert ctl("keys", "revoke", "not-a-uuid", db_url=db_url).returncode == 1


def test_keys_errors(db_url):
    make_ws(db_url, "acme")
    r = ctl("keys", "mint", "--workspace", "nope", "--name", "x", db_url=db_url)
    assert r.returncode == 1 and 'workspace "nope" not found' in r.stderr
    assert ctl("keys", "mint", "--workspace", "acme", db_url=db_url).returncode == 2
    assert ctl("keys", "mint", "--workspace", "acme", "--name", "", db_url=db_url).returncode == 2
    assert ctl("keys", "frob", db_url=db_url).returncode == 2
    assert ctl("keys", db_url=db_url).returncode == 2
    assert ctl("keys", "list", "-o", "xml", db_url=db_url).returncode == 2
    assert ctl("keys", "--help").returncode == 0
