"""The chaos soak (tests/soak/soak.py), small: 100 workspaces, the same faults, kills,
Postgres restart, replicas and drift as make soak, on the suite's Postgres. Under
make SANITIZE=1 test the vibnd it runs is the sanitizer build, whose reports fail it."""
import os
import shutil
import subprocess
import sys
import tempfile

from conftest import ADMIN_URL, BIN

ROOT = os.environ.get("VIBN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "soak"))
import soak  # noqa: E402


def test_overlap_check_finds_overlaps():
    # The checker itself: two runs of one workspace 50 ms into each other are found; runs
    # back to back (within the 1 ms timestamp slack) and runs of other workspaces are not.
    runs = {
        "a": {"ws": "w1", "start": 1000, "end": 1100},
        "b": {"ws": "w1", "start": 1050, "end": 1200},
        "c": {"ws": "w2", "start": 1000, "end": 1100},
        "d": {"ws": "w2", "start": 1100, "end": 1150},
        "e": {"ws": "w3", "start": 1000, "end": 1100},
        "f": {"ws": "w3", "start": 1099, "end": 1150},
    }
    found = soak.Soak.overlaps(runs)
    assert [(o[0], o[1], o[2]) for o in found] == [("w1", "a", "b")]


def test_webhook_check_needs_a_completed_run_after_the_delivery():
    runs = {
        "a": {"ws": "w1", "start": 900, "end": 1200},              # began before: not enough
        "b": {"ws": "w2", "start": 1500, "end": 1600, "open": True},  # cut by a kill
        "c": {"ws": "w3", "start": 1500, "end": 1600},
    }
    accepted = [("d1", 1000, "w1"), ("d2", 1000, "w2"), ("d3", 1000, "w3")]
    bad = soak.Soak.check_webhooks(accepted, runs)
    assert len(bad) == 2 and "d1" in bad[0] and "d2" in bad[1]


def test_soak_100_workspaces():
    # Logs under .var/ (ignored by git), which outlives the suite's temporary folder: a
    # failure's daemon logs are there to read.
    os.makedirs(os.path.join(ROOT, ".var"), exist_ok=True)
    out = tempfile.mkdtemp(prefix="test_soak-", dir=os.path.join(ROOT, ".var"))
    r = subprocess.run(
        ["/usr/bin/python3", os.path.join(ROOT, "tests", "soak", "soak.py"),
         "--bin", BIN, "--vibnd", os.path.join(BIN, "vibnd"), "--admin-url", ADMIN_URL,
         "--pgctl", os.environ["VIBN_TEST_PGCTL"], "--out", out,
         "--workspaces", "100", "--seconds", "30", "--settle", "120", "--kills", "10",
         "--workers", "16", "--resync", "60", "--drift-every", "1",
         # Progress under fire is make soak's measure (240 s of chaos, at least 90% Ready
         # at its end): thirty seconds with ten SIGKILLs leave each daemon about three
         # seconds of life, too little to mean anything here. Every other check holds.
         "--progress-min", "0"],
        capture_output=True, text=True, timeout=280)
    # The whole report, for a failure that run.sh's excerpt cuts (.var/ is ignored).
    os.makedirs(os.path.join(ROOT, ".var"), exist_ok=True)
    with open(os.path.join(ROOT, ".var", "test_soak.log"), "w") as f:
        f.write(r.stdout + "\n--- stderr ---\n" + r.stderr)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert "soak PASSED" in r.stdout
    shutil.rmtree(out, ignore_errors=True)
