"""vibnctl resync --plan: the calls one drift repair run needs per upstream, counted from the
desired state by the reconcilers' rules (reconcilers/sweep_plan.c; the same count paces
vibnd's runs), their time at the budgets, and the paced spread."""
import re

import psycopg

from conftest import ctl

TEAM = """apiVersion: vibn/v1
kind: Workspace
metadata: {name: acme}
spec:
  owner: alice
  members: [{user: bob, role: admin}]
  repos: [{name: web}]
  apps: [{name: web, repo: web}]
"""


def test_plan_counts_what_a_run_reads(db_url):
    assert ctl("apply", "-f", "-", db_url=db_url, input=TEAM).returncode == 0
    assert ctl("signup", "--user", "u1", "--email", "zoe@x.io", db_url=db_url).returncode == 0
    r = ctl("resync", "--plan", db_url=db_url,
            env={"VIBN_GITEA_RPS": "1", "VIBN_COOLIFY_RPM": "60", "VIBN_RESYNC_INTERVAL": "10"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "drift repair run over 2 workspaces"
    # acme: hooks, teams, Owners' and Admins' members, repos; zoe (no Gitea account): hooks.
    assert re.match(r"\s+gitea\s+7 calls \(1 admin org list pages \+ 6 per workspace", lines[1])
    assert re.search(r"\s7 s at 1/s$", lines[1])
    # acme's apps environment, and the project list.
    assert re.match(r"\s+coolify\s+2 calls \(1 project list \+ 1 environments", lines[2])
    assert re.search(r"\s2 s at 60/min, 1 s at Coolify's 200/min$", lines[2])
    # 7 s of Gitea's budget may take half of it: 14 s, over the 10 s interval.
    assert lines[3].startswith("  spread at VIBN_RESYNC_INTERVAL=10: 14 s")
    assert ctl("resync", "--plan", "--all", db_url=db_url).returncode == 2
    # Once a pass recorded acme's team ids, a run reads its teams' members by id: no list.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE vibn_workspaces SET gitea_team_ids = '{\"Owners\": 1, \"Admins\": 2}'"
                     " WHERE slug = 'acme'")
    r = ctl("resync", "--plan", db_url=db_url)
    assert r.returncode == 0, r.stderr
    assert re.match(r"\s+gitea\s+6 calls \(1 admin org list pages \+ 5 per workspace",
                    r.stdout.splitlines()[1])
