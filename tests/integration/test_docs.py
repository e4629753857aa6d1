"""The operator-facing documents agree with the code: every setting `vibnd --help` lists is in
deploy/vibnd.env.example and README.md's configuration table, the deploy files name no
setting that does not exist, the env example is safe for systemd/docker env files, and the
README's troubleshooting covers every condition reason the reconcilers write."""
import glob
import os
import re
import subprocess

from conftest import binary

ROOT = os.environ.get("VIBN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def settings():
    out = subprocess.run([binary("vibnd"), "--help"], capture_output=True, text=True).stdout
    names = re.findall(r"^  ([A-Z][A-Z0-9_]+) +--", out, re.M)
    assert "DATABASE_URL" in names and len(names) > 10, out
    return names


def test_env_example_documents_every_setting():
    text = read("deploy/vibnd.env.example")
    listed = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.M))
    missing = [n for n in settings() if n not in listed]
    assert missing == [], "not in deploy/vibnd.env.example: %s" % missing
    unknown = sorted(listed - set(settings()))
    assert unknown == [], "deploy/vibnd.env.example names unknown settings: %s" % unknown


def test_env_example_has_no_inline_comments():
    # systemd's EnvironmentFile= and docker --env-file keep "# ..." after a value as part of it.
    for n, line in enumerate(read("deploy/vibnd.env.example").splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        assert re.match(r"^[A-Z][A-Z0-9_]+=\S*$", line), "line %d: %r" % (n, line)


def test_readme_config_table_lists_every_setting():
    text = read("README.md")
    listed = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, re.M))
    missing = [n for n in settings() if n not in listed]
    assert missing == [], "not in README.md's configuration table: %s" % missing


def test_kubernetes_manifest_names_only_real_settings():
    text = read("deploy/kubernetes/vibnd.yaml")
    keys = set(re.findall(r"^  ([A-Z][A-Z0-9_]+):", text, re.M))
    assert "DATABASE_URL" in keys
    unknown = sorted(keys - set(settings()))
    assert unknown == [], "deploy/kubernetes/vibnd.yaml sets unknown variables: %s" % unknown


def test_readme_explains_every_condition_reason():
    reasons = set()
    for path in glob.glob(os.path.join(ROOT, "reconcilers", "*.c")):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        # Reasons are CamelCase string literals passed to pass_cond / pass_fail_msg or
        # returned as one (pass_reason_for, the org's Created/Adopted/...).
        for m in re.finditer(r'"([A-Z][a-z]+(?:[A-Z][a-z]+)*)"', src):
            reasons.add(m.group(1))
    # The other CamelCase literals there: condition statuses, team names, a deletionPolicy.
    reasons -= {"True", "False", "Unknown", "Owners", "Admins", "Members", "Delete", "Orphan"}
    text = read("README.md")
    section = text.split("## Troubleshooting", 1)
    assert len(section) == 2, "README.md has no Troubleshooting section"
    missing = sorted(r for r in reasons if "`%s`" % r not in section[1])
    assert missing == [], "README.md's troubleshooting does not explain: %s" % missing
