"""The settings page in a real browser: Debian's headless Chromium, driven through
chromedriver by Debian's python3-selenium, against vibnd (the workspace reconciler) +
vibn-sim + the test Postgres. One browser for the whole file (a new empty profile), one
stack; each test signs in with its own one-time link. Every state is saved as a screenshot
under .var/ui-screenshots/ for people to look at; every test ends by checking that the page
logged no console error beyond the HTTP refusals the test itself provoked."""
import base64
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ctl, drop_database, new_database, wait_for
from simproc import Sim
from vibnd_proc import Daemon, connect, free_port

ADMIN = "browser-admin-secret-42"
ROOT = os.environ.get("VIBN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
SHOTS = os.path.join(ROOT, ".var", "ui-screenshots")
WAIT = 20  # seconds: generous deadlines for a loaded 2-core CI machine; nothing is timed


def request(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def stack():
    db_url = new_database()
    sim = Sim()
    conn = connect(db_url)
    for slug, name in (("a", "Acme"), ("b", "Beta")):
        conn.execute("INSERT INTO vibn_workspaces (slug, name, owner, source) "
                     "VALUES (%s, %s, 'alice', 'api')", (slug, name))
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    env = sim.daemon_env(url)
    env.update({"VIBN_WORKERS": "2", "ADMIN_MIGRATE_SECRET": ADMIN})
    d = Daemon(db_url, port=port, env=env)
    s = {"url": url, "d": d, "db": conn, "sim": sim, "db_url": db_url, "port": port, "env": env}
    try:
        wait_for(lambda: conn.execute(
            "SELECT count(*) FROM vibn_workspaces WHERE provision_status = 'ready'"
        ).fetchone()[0] == 2, timeout=60, what="workspaces a and b Ready")
        yield s
    finally:
        s["d"].stop()
        s["d"].close()
        sim.stop()
        conn.close()
        drop_database(db_url)


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="vibn-chromium-")
    downloads = tempfile.mkdtemp(prefix="vibn-downloads-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    # The closed network refuses Chromium's own background connections: turn them off.
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,1000",
              "--user-data-dir=" + profile):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", log_path=os.devnull)
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(WAIT)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": downloads})
    os.makedirs(SHOTS, exist_ok=True)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(downloads, ignore_errors=True)


def shot(driver, name):
    """The whole page, not only the window, as .var/ui-screenshots/NAME.png."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    png = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    with open(os.path.join(SHOTS, name + ".png"), "wb") as f:
        f.write(base64.b64decode(png["data"]))


def wait(driver, timeout=WAIT):
    # The page re-renders a panel when its data changes: an element found a moment ago may
    # be replaced by the time it is read, which only means "look again".
    return WebDriverWait(driver, timeout, ignored_exceptions=(NoSuchElementException,
                                                              StaleElementReferenceException))


def console_errors(driver, allowed=()):
    """Severe console entries, less the HTTP refusals the test provoked (regexes on the text:
    Chromium logs every 4xx answer of a fetch as a network error)."""
    bad = []
    for e in driver.get_log("browser"):
        if e["level"] != "SEVERE":
            continue
        if e.get("source") == "network" and any(re.search(a, e["message"]) for a in allowed):
            continue
        bad.append(e["message"])
    return bad


def admin_link(stack, slug, ttl=None):
    status, text = request("POST", stack["url"] + "/api/workspaces/%s/login-links" % slug,
                           {"ttl": ttl} if ttl else None, {"x-admin-secret": ADMIN})
    assert status == 201, text
    return json.loads(text)["url"]


def open_link(driver, url):
    driver.get(url)
    # The page exchanged the token and took it out of the address bar.
    wait(driver).until(lambda d: "#" not in d.current_url)


def signed_in(driver, stack, slug):
    # From a blank page: what the last test left on screen cannot pass for this sign-in.
    driver.get("about:blank")
    open_link(driver, admin_link(stack, slug))
    wait(driver).until(EC.text_to_be_present_in_element((By.ID, "ws-slug"), slug))


def text(driver, id_):
    return driver.find_element(By.ID, id_).text


def fetch(driver, method, path, headers=None, body=None):
    """A fetch from inside the page (its cookie included): (status, text)."""
    return driver.execute_async_script("""
        const [method, path, headers, body, done] = arguments;
        fetch(path, {method, headers, body, credentials: "same-origin"})
          .then(async (r) => done([r.status, await r.text()]))
          .catch((e) => done([0, String(e)]));
    """, method, path, headers or {}, body)


def downloaded(driver, before):
    """Waits for one new finished file in the download folder; returns (name, content)."""
    def new_file(_):
        names = set(os.listdir(driver.downloads)) - before
        done = [n for n in names if not n.endswith(".crdownload")]
        return done[0] if len(done) == 1 and len(names) == 1 else None
    name = wait(driver).until(new_file)
    with open(os.path.join(driver.downloads, name), encoding="utf-8") as f:
        return name, f.read()


def test_sign_in_card_mint_connect_revoke(stack, browser):
    d = browser
    url = stack["url"]
    link = admin_link(stack, "a")
    token = link.rsplit("=", 1)[1]
    open_link(d, link)
    assert d.current_url == url + "/ui/"
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-slug"), "a"))
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-badge"), "Ready"))
    assert text(d, "ws-title") == "Acme"
    org = d.find_element(By.CSS_SELECTOR, "#ws-org a")
    assert org.text == "vibn-a" and org.get_attribute("href") == stack["sim"].gitea + "/vibn-a"
    assert "Signed in to a" in text(d, "who-label")
    assert text(d, "ws-status") == "ready"
    conds = d.find_element(By.ID, "conditions").text
    for t in ("GiteaOrgReady", "CoolifyProjectReady", "Ready"):
        assert t in conds
    # The cookie is HttpOnly: the page's script cannot read it.
    assert "vibn_session" not in d.execute_script("return document.cookie")
    assert token not in d.page_source
    shot(d, "01-workspace")

    # Mint: the token once, with the warning and a copy button.
    d.find_element(By.ID, "key-name").send_keys("laptop")
    d.find_element(By.ID, "mint").click()
    wait(d).until(EC.visibility_of_element_located((By.ID, "reveal")))
    key = text(d, "reveal-token")
    assert re.fullmatch(r"vibn_sk_[0-9A-Za-z]{43}", key)
    assert "you will not see this again" in text(d, "reveal")
    assert request("GET", url + "/api/workspaces/a", headers={"Authorization": "Bearer " + key})[0] == 200
    # The form's default scopes are an agent's: read and write, no key management.
    st, body = request("POST", url + "/api/workspaces/a/keys", body={"name": "successor"},
                       headers={"Authorization": "Bearer " + key})
    assert st == 403 and json.loads(body)["code"] == "insufficient_scope", body
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, '[data-file=".env.local"]')))
    shot(d, "02-new-key")

    # Connect Cursor: every file downloads as it came from GET /connect, the key only in
    # .env.local, the URLs the daemon's.
    cards = d.find_elements(By.CSS_SELECTOR, "#connect-body .file[data-file]")
    assert [c.get_attribute("data-file") for c in cards] == [
        ".cursor/rules/vibn-workspace.mdc", ".cursor/mcp.json", ".env.local", ".mcp.json"]
    got, names = {}, {}
    for card in cards:
        path = card.get_attribute("data-file")
        before = set(os.listdir(d.downloads))
        card.find_element(By.XPATH, ".//button[text()='Download']").click()
        name, content = downloaded(d, before)
        got[path] = content
        names[path] = name
    # Browsers save no dotfile: each download is named for what it is, its card says where.
    assert names == {".cursor/rules/vibn-workspace.mdc": "vibn-workspace.mdc",
                     ".cursor/mcp.json": "cursor.mcp.json", ".mcp.json": "claude.mcp.json",
                     ".env.local": "env.local"}
    cursor = json.loads(got[".cursor/mcp.json"])["mcpServers"]["vibn-a"]
    assert cursor["url"] == url + "/api/mcp"
    assert cursor["headers"]["Authorization"] == "Bearer ${env:VIBN_API_KEY}"
    claude = json.loads(got[".mcp.json"])["mcpServers"]["vibn-a"]
    assert claude["type"] == "http" and claude["url"] == url + "/api/mcp"
    assert "VIBN_API_KEY=%s\n" % key in got[".env.local"]
    assert "VIBN_API_URL=%s\n" % url in got[".env.local"]
    assert got[".cursor/rules/vibn-workspace.mdc"].startswith("---\n")
    for path, content in got.items():
        assert (key in content) == (path == ".env.local"), path
    status, body = request("GET", url + "/api/workspaces/a/connect",
                           headers={"Authorization": "Bearer " + key})
    assert {f["path"]: f["content"] for f in json.loads(body)["files"]} == got
    assert text(d, "claude-command").startswith("claude mcp add --transport http vibn-a ")
    shot(d, "03-connect-cursor")

    # After a reload the token is gone for good: only its prefix is listed.
    d.refresh()
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#keys-table tbody tr")))
    assert not d.find_element(By.ID, "reveal").is_displayed()
    assert key not in d.page_source
    row = d.find_element(By.XPATH, "//table[@id='keys-table']//tr[td[1]='laptop']")
    assert key[:12] + "…" in row.text and "Active" in row.text
    assert "read, write" in row.text and "never" in row.text
    assert d.find_element(By.ID, "connect-mint").is_displayed()
    shot(d, "04-after-reload")

    # Revoke, with a confirmation; then the API refuses the key.
    row.find_element(By.XPATH, ".//button[text()='Revoke']").click()
    dialog = wait(d).until(EC.visibility_of_element_located((By.ID, "confirm")))
    assert "laptop" in dialog.text
    shot(d, "05-revoke-confirm")
    d.find_element(By.ID, "confirm-cancel").click()
    assert request("GET", url + "/api/workspaces/a", headers={"Authorization": "Bearer " + key})[0] == 200
    row = d.find_element(By.XPATH, "//table[@id='keys-table']//tr[td[1]='laptop']")
    row.find_element(By.XPATH, ".//button[text()='Revoke']").click()
    wait(d).until(EC.visibility_of_element_located((By.ID, "confirm-ok"))).click()
    wait(d).until(lambda d: "Revoked" in d.find_element(
        By.XPATH, "//table[@id='keys-table']//tr[td[1]='laptop']").text)
    assert request("GET", url + "/api/workspaces/a", headers={"Authorization": "Bearer " + key})[0] == 401
    shot(d, "06-revoked")
    assert console_errors(d) == []


def test_retry_provisioning(stack, browser):
    d = browser
    signed_in(d, stack, "a")
    metric = 'controller_runtime_reconcile_total{controller="workspace",result="success"}'
    before = stack["d"].metric(metric) or 0
    d.find_element(By.ID, "retry").click()
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "toast"), "Provisioning queued"))
    wait_for(lambda: (stack["d"].metric(metric) or 0) > before, timeout=WAIT,
             what="a reconcile after Retry provisioning")
    shot(d, "07-retry-provisioning")
    assert console_errors(d) == []


def test_live_updates_without_reload(stack, browser):
    d = browser
    signed_in(d, stack, "a")
    db = stack["db"]
    # A change made elsewhere (here: straight in the database, as the web app would) shows
    # up by itself: the page polls with ETags.
    db.execute("UPDATE vibn_workspaces SET name = 'Acme Renamed' WHERE slug = 'a'")
    try:
        wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-title"), "Acme Renamed"))
        r = ctl("keys", "mint", "--workspace", "a", "--name", "from-the-cli", db_url=stack["db_url"])
        assert r.returncode == 0, r.stderr
        wait(d).until(EC.presence_of_element_located(
            (By.XPATH, "//table[@id='keys-table']//tr[td[1]='from-the-cli']")))
        shot(d, "07b-live-update")
    finally:
        db.execute("UPDATE vibn_workspaces SET name = 'Acme' WHERE slug = 'a'")
    assert console_errors(d) == []


def test_state_changes_need_the_csrf_token(stack, browser):
    d = browser
    signed_in(d, stack, "a")
    status, body = fetch(d, "POST", "/api/workspaces/a/keys", {"Content-Type": "application/json"},
                         json.dumps({"name": "forged"}))
    assert status == 403 and json.loads(body)["code"] == "csrf"
    status, body = fetch(d, "POST", "/api/workspaces/a/provision")
    assert status == 403
    csrf = json.loads(fetch(d, "GET", "/ui/session")[1])["csrf"]
    status, _ = fetch(d, "POST", "/api/workspaces/a/provision", {"X-CSRF-Token": csrf})
    assert status == 202
    assert stack["db"].execute("SELECT count(*) FROM vibn_workspace_api_keys WHERE name = 'forged'"
                               ).fetchone()[0] == 0
    assert console_errors(d, allowed=(r"/api/workspaces/a/keys",
                                      r"/api/workspaces/a/provision")) == []


def test_second_workspace_sees_nothing_of_the_first(stack, browser):
    d = browser
    signed_in(d, stack, "b")
    assert text(d, "ws-title") == "Beta"
    assert "vibn-a" not in d.page_source
    for path in ("/api/workspaces/a", "/api/workspaces/a/keys", "/api/workspaces/a/connect"):
        assert fetch(d, "GET", path)[0] in (404, 401), path
    assert fetch(d, "GET", "/api/workspaces/a")[0] == 404
    assert fetch(d, "GET", "/api/workspaces/a/keys")[0] == 404
    status, body = fetch(d, "GET", "/api/workspaces")
    assert [w["slug"] for w in json.loads(body)["workspaces"]] == ["b"]
    d.get(stack["url"] + "/ui/?workspace=a")
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "state-title"), "Workspace not found"))
    assert "vibn-a" not in d.page_source and "Acme" not in d.page_source
    shot(d, "08-other-workspace-not-found")
    assert console_errors(d, allowed=(r"/api/workspaces/a",)) == []


def test_sign_out(stack, browser):
    d = browser
    signed_in(d, stack, "a")
    cookie = d.get_cookie("vibn_session")["value"]
    assert request("GET", stack["url"] + "/api/workspaces/a",
                   headers={"Cookie": "vibn_session=" + cookie})[0] == 200
    d.find_element(By.ID, "signout").click()
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "state-title"), "You are signed out"))
    assert request("GET", stack["url"] + "/api/workspaces/a",
                   headers={"Cookie": "vibn_session=" + cookie})[0] == 401
    d.refresh()
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "state-title"), "Sign in"))
    shot(d, "09-signed-out")
    assert console_errors(d) == []


def test_reused_expired_and_forged_links_are_refused(stack, browser):
    d = browser
    link = admin_link(stack, "a")
    open_link(d, link)
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-slug"), "a"))
    open_link(d, link)
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "state-title"), "already used"))
    assert d.find_element(By.ID, "app").is_displayed() is False
    shot(d, "10-link-used")
    expired = admin_link(stack, "a")
    stack["db"].execute("UPDATE vibn_login_links SET expires_at = now() - interval '1 second' "
                        "WHERE used_at IS NULL")
    open_link(d, expired)
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "state-title"), "expired"))
    shot(d, "11-link-expired")
    forged = stack["url"] + "/ui/#login=vibn_ll_" + "0" * 64
    open_link(d, forged)
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "state-title"), "not valid"))
    assert "#" not in d.current_url
    shot(d, "12-link-forged")
    assert console_errors(d, allowed=(r"/ui/session",)) == []


def test_operator_signs_in_with_the_admin_secret(stack, browser):
    d = browser
    d.delete_all_cookies()
    d.get(stack["url"] + "/ui/")
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "state-title"), "Sign in"))
    d.find_element(By.CSS_SELECTOR, "details.operator summary").click()
    d.find_element(By.ID, "admin-secret").send_keys(ADMIN + Keys.ENTER)
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "who-label"), "operator"))
    picker = d.find_element(By.ID, "ws-picker")
    assert [o.get_attribute("value") for o in picker.find_elements(By.TAG_NAME, "option")] == ["a", "b"]
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-slug"), "a"))
    picker.find_element(By.CSS_SELECTOR, "option[value='b']").click()
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-slug"), "b"))
    assert d.current_url.endswith("/ui/?workspace=b")
    shot(d, "13-operator")
    assert console_errors(d) == []


def test_narrow_screen_and_keyboard_only(stack, browser):
    d = browser
    d.set_window_size(375, 812)
    try:
        signed_in(d, stack, "a")
        wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#keys-body table, #keys-empty")))
        width = d.execute_script("return window.innerWidth")
        assert d.execute_script("return document.documentElement.scrollWidth") <= width
        shot(d, "14-narrow-375px")
        # By keyboard alone: Tab to the key name, type, Enter; focus is visible on the way.
        d.find_element(By.TAG_NAME, "body").click()
        for _ in range(60):
            d.switch_to.active_element.send_keys(Keys.TAB)
            if d.switch_to.active_element.get_attribute("id") == "key-name":
                break
        else:
            pytest.fail("Tab never reached the key name field")
        outline = d.execute_script(
            "const s = getComputedStyle(document.activeElement);"
            "return [s.outlineStyle, s.outlineWidth];")
        assert outline[0] != "none" and outline[1] != "0px", outline
        d.switch_to.active_element.send_keys("keyboard" + Keys.ENTER)
        wait(d).until(EC.visibility_of_element_located((By.ID, "reveal")))
        assert d.switch_to.active_element.get_attribute("id") == "reveal"
        d.switch_to.active_element.send_keys(Keys.TAB)
        assert d.switch_to.active_element.get_attribute("id") == "copy-token"
        d.switch_to.active_element.send_keys(Keys.TAB)
        d.switch_to.active_element.send_keys(Keys.ENTER)  # "Done: hide the key"
        wait(d).until(EC.invisibility_of_element_located((By.ID, "reveal")))
        shot(d, "15-keyboard")
        assert d.execute_script("return document.documentElement.scrollWidth") <= width
    finally:
        d.set_window_size(1280, 1000)
    assert console_errors(d) == []


def test_mint_chooses_scopes_and_expiry(stack, browser):
    """The mint form's scopes and expiry reach the key: a read-only key that expires in 7
    days reads, is refused a write, and its row says so."""
    d = browser
    url = stack["url"]
    signed_in(d, stack, "a")
    wait(d).until(EC.visibility_of_element_located((By.ID, "key-name")))
    d.find_element(By.ID, "key-name").send_keys("reader")
    d.find_element(By.ID, "scope-write").click()  # read only
    Select(d.find_element(By.ID, "key-expires")).select_by_value("7d")
    d.find_element(By.ID, "mint").click()
    wait(d).until(EC.visibility_of_element_located((By.ID, "reveal")))
    key = text(d, "reveal-token")
    auth = {"Authorization": "Bearer " + key}
    assert request("GET", url + "/api/workspaces/a", headers=auth)[0] == 200
    st, body = request("POST", url + "/api/workspaces/a/projects", body={"name": "nope"},
                       headers=auth)
    assert st == 403 and json.loads(body)["code"] == "insufficient_scope", body
    row = wait(d).until(EC.presence_of_element_located(
        (By.XPATH, "//table[@id='keys-table']//tr[td[1]='reader']")))
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert "read" in cells and "read, write" not in cells, cells
    # The expiry column shows when, a week from now (not "never").
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", c) for c in cells), cells
    assert console_errors(d) == []


def test_projects_and_events_panels(stack, browser):
    """The page's session drives the projects and events API: a project is created, listed
    and deleted from the page, and provisioning's events are listed."""
    d = browser
    signed_in(d, stack, "a")
    wait(d).until(EC.visibility_of_element_located((By.ID, "project-form")))
    shot(d, "16-projects-events")
    d.find_element(By.ID, "project-name").send_keys("site")
    d.find_element(By.ID, "project-create").click()
    row = wait(d).until(EC.presence_of_element_located(
        (By.XPATH, "//table[@id='projects-table']//tr[td[1]='site']")))
    assert "vibn-a/site" in row.text
    assert "null" not in text(d, "projects-body")
    assert "not available" not in text(d, "projects-body")
    shot(d, "17-project-created")
    row.find_element(By.XPATH, ".//button[text()='Delete']").click()
    wait(d).until(EC.visibility_of_element_located((By.ID, "confirm-ok"))).click()
    wait(d).until(EC.invisibility_of_element_located(
        (By.XPATH, "//table[@id='projects-table']//tr[td[1]='site']")))
    # Provisioning workspace a recorded events.
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#events-list li")))
    assert "vibn-a" in text(d, "events-list")
    shot(d, "18-events")
    assert console_errors(d) == []


def test_error_state_when_vibnd_goes_away(stack, browser):
    """Last in this file: it restarts the daemon. While vibnd is gone the open page says so
    plainly instead of showing stale data; once it is back the page recovers by itself."""
    d = browser
    signed_in(d, stack, "a")
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-badge"), "Ready"))
    stack["d"].stop()
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-body"), "vibnd cannot be reached"))
    assert "vibnd cannot be reached" in text(d, "keys-body")
    assert text(d, "ws-badge") == "Status unknown"
    shot(d, "19-vibnd-unreachable")
    old = stack["d"]
    stack["d"] = Daemon(stack["db_url"], port=stack["port"], env=stack["env"])
    old.close()
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "ws-badge"), "Ready"))
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#keys-table")))
    assert "cannot be reached" not in text(d, "app")
    assert console_errors(d, allowed=(r"ERR_CONNECTION_REFUSED",
                                      r"Failed to fetch")) == []
