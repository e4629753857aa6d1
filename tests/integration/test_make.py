"""The Makefile's dependency gate: each goal checks what it needs and no more, so `make`,
`make clean` and `make fmt` work on a machine without the test toolchain. A PATH that hides
one test-only tool (wrk) stands in for such a machine; every make here is a dry run (-n)."""
import os
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.environ.get("VIBN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def no_wrk_path():
    """A PATH with every command of the usual PATH except wrk."""
    d = tempfile.mkdtemp(prefix="vibn-nowrk-")
    for folder in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            target = os.path.join(folder, name)
            link = os.path.join(d, name)
            if name != "wrk" and not os.path.lexists(link) and os.access(target, os.X_OK):
                os.symlink(target, link)
    yield d
    shutil.rmtree(d)


def dry_make(path, *goals):
    env = dict(os.environ, PATH=path)
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)
    return subprocess.run(["make", "-n", "--no-print-directory", *goals], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_hidden_tool_makes_the_test_set_incomplete(no_wrk_path):
    env = dict(os.environ, PATH=no_wrk_path)
    check = lambda s: subprocess.run([os.path.join(ROOT, "scripts", "deps.sh"), "--check", s],
                                     env=env).returncode
    assert check("test") == 1
    assert check("build") == 0


@pytest.mark.parametrize("goal", ["clean", "fmt", "fmt-check"])
def test_tidy_goals_need_no_dependencies(no_wrk_path, goal):
    r = dry_make(no_wrk_path, goal)
    assert r.returncode == 0, r.stderr
    assert "deps.sh" not in r.stdout


def test_build_checks_only_the_build_set(no_wrk_path):
    r = dry_make(no_wrk_path, "all")
    assert r.returncode == 0, r.stderr
    assert "deps.sh" not in r.stdout


def test_tests_install_the_test_set_first(no_wrk_path):
    r = dry_make(no_wrk_path, "test")
    assert "scripts/deps.sh test" in r.stdout, r.stdout[-2000:]
