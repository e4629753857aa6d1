"""vibnctl events [SLUG] [-o json] [--watch] and the Events section of vibnctl describe
workspace, against a real database: oldest first, repeats shown with their count, JSON in the
API's shape, --watch follows new and repeated events until interrupted."""
import json
import os
import queue
import signal
import subprocess
import threading

from conftest import binary, ctl


def add_ws(db, slug):
    (wid,) = db.execute("INSERT INTO vibn_workspaces (slug, owner) VALUES (%s, 'u')"
                        " RETURNING id", (slug,)).fetchone()
    return wid


def event(db, wid, etype, reason, kind, name, msg, rid="r1"):
    db.execute("SELECT vibn_event_record(%s, %s, %s, %s, %s, %s, %s, '10 minutes', 100,"
               " '7 days')", (wid, etype, reason, kind, name, msg, rid))


def test_describe_ends_with_events(db, db_url):
    wid = add_ws(db, "acme")
    r = ctl("describe", "workspace", "acme", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().splitlines()[-1] == "Events:  <none>"
    event(db, wid, "Normal", "Created", "repo", "vibn-acme/web", "created (private)")
    for _ in range(10):
        event(db, wid, "Warning", "Unauthorized", "org", "vibn-acme",
              "reading the Gitea org: token is invalid (HTTP 401)", "r2")
    r = ctl("describe", "workspace", "acme", db_url=db_url)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.rstrip().splitlines()
    at = lines.index("Events:")
    tail = [l.split() for l in lines[at + 1:]]
    assert tail[0] == ["Type", "Reason", "Age", "Object", "Message"]
    assert tail[1] == ["----", "------", "---", "------", "-------"]
    assert tail[2][:2] == ["Normal", "Created"] and "repo vibn-acme/web" in lines[at + 3]
    assert tail[3][:2] == ["Warning", "Unauthorized"] and "(x10 over" in lines[at + 4]
    assert "org vibn-acme" in lines[at + 4] and lines[at + 4].endswith("(HTTP 401)")
    assert len(tail) == 4


def test_events_lists_oldest_first_and_as_json(db, db_url):
    a, b = add_ws(db, "acme"), add_ws(db, "beta")
    event(db, a, "Normal", "Created", "repo", "vibn-acme/web", "created (private)")
    event(db, b, "Normal", "Created", "org", "vibn-beta", "created")
    event(db, a, "Normal", "Recreated", "repo", "vibn-acme/web", "had been deleted upstream")
    r = ctl("events", "acme", db_url=db_url)
    assert r.returncode == 0, r.stderr
    rows = [l.split() for l in r.stdout.splitlines()]
    assert rows[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [x[2] for x in rows[1:]] == ["Created", "Recreated"]
    r = ctl("events", db_url=db_url)
    assert [l.split()[0] for l in r.stdout.splitlines()] == ["WORKSPACE", "acme", "beta", "acme"]
    r = ctl("events", "acme", "-o", "json", "--limit", "1", db_url=db_url)
    doc = json.loads(r.stdout)
    assert doc["kind"] == "EventList" and len(doc["items"]) == 1
    item = doc["items"][0]
    assert item["reason"] == "Recreated" and item["object"] == {"kind": "repo",
                                                                "name": "vibn-acme/web"}
    assert item["workspace"] == "acme" and item["count"] == 1 and item["reconcileId"] == "r1"
    empty = add_ws(db, "empty")
    assert empty
    r = ctl("events", "empty", db_url=db_url)
    assert r.returncode == 0 and r.stdout == "" and "No events found." in r.stderr
    assert ctl("events", "nope", db_url=db_url).returncode == 1
    assert ctl("events", "Bad!", db_url=db_url).returncode == 1
    for bad in (["-o", "yaml"], ["--limit", "0"], ["a", "b"], ["--nope"]):
        assert ctl("events", *bad, db_url=db_url).returncode == 2, bad


def test_watch_follows_new_and_repeated_events(db, db_url):
    wid = add_ws(db, "acme")
    event(db, wid, "Normal", "Created", "org", "vibn-acme", "created")
    env = dict(os.environ, DATABASE_URL=db_url)
    p = subprocess.Popen([binary("vibnctl"), "events", "acme", "-o", "json", "--watch"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(l) for l in p.stdout], daemon=True)
    reader.start()
    try:
        first = json.loads(lines.get(timeout=10))
        assert first["reason"] == "Created" and first["object"]["name"] == "vibn-acme"
        event(db, wid, "Warning", "RateLimited", "app", "acme-web", "creating app: 429")
        new = json.loads(lines.get(timeout=10))
        assert new["reason"] == "RateLimited" and new["count"] == 1
        event(db, wid, "Warning", "RateLimited", "app", "acme-web", "creating app: 429")
        again = json.loads(lines.get(timeout=10))
        assert again["seq"] > new["seq"] and again["count"] == 2
        # Another workspace's events are not this watch's.
        other = add_ws(db, "beta")
        event(db, other, "Normal", "Created", "org", "vibn-beta", "created")
        event(db, wid, "Normal", "Synced", "member", "bob", "added to Admins")
        assert json.loads(lines.get(timeout=10))["object"]["name"] == "bob"
    finally:
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=10)
        p.stderr.close()
    assert rc == 0
