// The workspace settings page. Plain JavaScript, no framework: it signs in with the link's
// fragment, then calls the tenant API (/api/workspaces/...) with its session cookie and the
// session's CSRF token, and polls with ETags for live updates. Everything it shows is put in
// the page with textContent (never innerHTML), so no API value can become markup.
"use strict";

(() => {
  const POLL_MS = 4000;
  const $ = (id) => document.getElementById(id);

  const st = {
    session: null, // {admin, workspace, csrf, giteaUrl}
    slug: null,
    etags: {},
    last: {}, // last document of each panel, for re-rendering ages
    timer: null,
    reveal: null, // {id, token}: the just-minted key, in memory until "Done"
    connect: null, // the connect files built with that key
    projectsLimit: 20,
  };

  // ---- small helpers -------------------------------------------------------------------

  // h("a", {href: "/x", className: "c"}, "text", child...): an element, built safely.
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k in el && !k.includes("-")) el[k] = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }

  // Replaces a container's children, keeping keyboard focus on the "same" element (by
  // data-fid) so a live update never throws a keyboard user back to the top.
  function fill(container, ...nodes) {
    const active = document.activeElement;
    const fid = active && container.contains(active) ? active.dataset.fid : null;
    container.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
    container.removeAttribute("aria-busy");
    if (fid) {
      const again = container.querySelector(`[data-fid="${CSS.escape(fid)}"]`);
      if (again) again.focus();
    }
  }

  function age(iso) {
    const t = Date.parse(iso);
    if (!iso || Number.isNaN(t)) return "–";
    let s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m`;
    if (s < 86400) return `${Math.floor(s / 3600)}h`;
    return `${Math.floor(s / 86400)}d`;
  }

  // An age that keeps itself current (see tick()); the exact time is its tooltip.
  function when(iso, suffix = " ago") {
    if (!iso) return h("span", { className: "muted" }, "never");
    return h("time", { dateTime: iso, title: iso, dataset: { age: iso, suffix } },
      age(iso) + suffix);
  }

  function tick() {
    for (const el of document.querySelectorAll("time[data-age]")) {
      el.textContent = age(el.dataset.age) + (el.dataset.suffix || "");
    }
  }

  // A table that turns into labelled cards on narrow screens (app.css): each cell carries
  // its column's name. Roles keep it a table for screen readers whatever its display.
  function table(id, caption, heads, rows) {
    return h("div", { className: "table-wrap" }, h("table", { id, className: "cards", role: "table" },
      h("caption", { className: "visually-hidden" }, caption),
      h("thead", {}, h("tr", { role: "row" }, heads.map((t) => h("th", { scope: "col", role: "columnheader" }, t)))),
      h("tbody", {}, rows.map((r) => h("tr", Object.assign({ role: "row" }, r.attrs),
        r.cells.map((c, i) => h("td", { role: "cell", dataset: { label: heads[i] } }, c)))))));
  }

  let toastTimer = null;
  function toast(text, isError) {
    const t = $("toast");
    t.textContent = text;
    t.className = isError ? "toast error" : "toast";
    t.setAttribute("role", isError ? "alert" : "status");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 10000 : 4000);
  }

  function message(r, what) {
    const m = r.data && r.data.error ? r.data.error : `HTTP ${r.status}`;
    return `${what}: ${m}`;
  }

  // ---- HTTP ----------------------------------------------------------------------------

  class SessionEnded extends Error {}

  // One call to vibnd: JSON in and out, the CSRF token on anything that changes state, and
  // If-None-Match when the panel (etag) has seen this document before.
  async function call(method, path, opts = {}) {
    const headers = { Accept: "application/json", ...(opts.headers || {}) };
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body);
      headers["Content-Type"] = "application/json";
    }
    if (method !== "GET" && st.session) headers["X-CSRF-Token"] = st.session.csrf;
    if (opts.etag && st.etags[opts.etag]) headers["If-None-Match"] = st.etags[opts.etag];
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      // Forget the panel's ETag: once vibnd is back, its 304 must not keep this error up.
      if (opts.etag) st.etags[opts.etag] = null;
      return { status: 0, ok: false, data: { error: "vibnd cannot be reached" } };
    }
    if (resp.status === 304) return { status: 304, ok: true, unchanged: true };
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (resp.status === 401 && st.session && !opts.bearer && !opts.optional) throw new SessionEnded();
    if (opts.etag) st.etags[opts.etag] = resp.ok ? resp.headers.get("ETag") : null;
    return { status: resp.status, ok: resp.ok, data };
  }

  const wsPath = (rest = "") => `/api/workspaces/${encodeURIComponent(st.slug)}${rest}`;

  // ---- page states ---------------------------------------------------------------------

  function showState(title, text, ...extra) {
    stopPolling();
    $("app").hidden = true;
    $("state").hidden = false;
    $("state-title").textContent = title;
    $("state-text").textContent = text;
    fill($("state-extra"), ...extra);
  }

  function signInHelp() {
    return h("div", {},
      h("p", {}, "Open the sign-in link from your Vibn account, or ask an operator for one:"),
      h("pre", { className: "mono" }, "vibnctl login-link --workspace SLUG"),
      adminForm());
  }

  function adminForm() {
    const input = h("input", { id: "admin-secret", type: "password", autocomplete: "current-password", required: true });
    const form = h("form", { className: "inline-form", noValidate: true },
      h("label", { htmlFor: "admin-secret" }, "Admin secret"), input,
      h("button", { type: "submit", className: "btn", id: "admin-signin" }, "Sign in"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!input.value) { input.focus(); return; }
      const r = await call("POST", "/ui/session", { body: { adminSecret: input.value } });
      input.value = "";
      if (r.status !== 201) { toast(message(r, "Sign-in failed"), true); return; }
      start(r.data);
    });
    return h("details", { className: "operator" }, h("summary", {}, "Operator sign-in"), form);
  }

  function showSignedOut(title, text) {
    st.session = null;
    $("who").hidden = true;
    showState(title || "Sign in to your workspace",
      text || "You are not signed in. Sign-in links work once and expire after a few minutes.",
      signInHelp());
  }

  const LINK_ERRORS = {
    link_used: ["This sign-in link was already used",
      "Each sign-in link works once. Ask for a new one; if you did not use it yourself, tell your administrator."],
    link_expired: ["This sign-in link has expired",
      "Sign-in links are valid for a few minutes. Ask for a new one."],
    link_invalid: ["This sign-in link is not valid",
      "It may have been cut short when it was copied. Ask for a new one."],
  };

  // ---- sign-in -------------------------------------------------------------------------

  async function boot() {
    for (const id of ["retry", "signout", "copy-token", "reveal-done"]) $(id).type = "button";
    $("retry").addEventListener("click", retry);
    $("signout").addEventListener("click", signOut);
    $("mint-form").addEventListener("submit", (ev) => { ev.preventDefault(); mintFromForm(); });
    $("copy-token").addEventListener("click", () => copy(st.reveal ? st.reveal.token : "", $("reveal-token")));
    $("reveal-done").addEventListener("click", hideReveal);
    $("ws-picker").addEventListener("change", () => switchWorkspace($("ws-picker").value));
    $("project-form").addEventListener("submit", (ev) => { ev.preventDefault(); createProject(); });
    $("project-app").addEventListener("change", () => { $("project-app-fields").hidden = !$("project-app").checked; });
    document.addEventListener("visibilitychange", () => { if (!document.hidden && st.slug) refresh(); });

    // A link opened in a tab that shows the page already changes only the fragment.
    window.addEventListener("hashchange", () => { signInWithLink().catch(handleError); });
    if (await signInWithLink()) return;
    const r = await call("GET", "/ui/session");
    if (!r.ok) return showState("vibnd cannot be reached", message(r, "Error"), retryButton());
    if (!r.data.signedIn) return showSignedOut();
    start(r.data);
  }

  // Exchanges the token of a sign-in link (#login=...) for a session; false without one.
  async function signInWithLink() {
    const m = /^#login=([A-Za-z0-9_]+)$/.exec(location.hash);
    if (!m) return false;
    // The token leaves the address bar (and the history) before anything else happens.
    history.replaceState(null, "", location.pathname + location.search);
    hideReveal();
    st.session = null;
    const r = await call("POST", "/ui/session", { body: { token: m[1] } });
    if (r.status === 201) {
      await start(r.data);
      return true;
    }
    const known = r.data && LINK_ERRORS[r.data.code];
    if (known) showSignedOut(known[0], known[1]);
    else showState("Sign-in failed", message(r, "vibnd answered"), signInHelp());
    return true;
  }

  function retryButton() {
    return h("button", { type: "button", className: "btn", onclick: () => location.reload() }, "Try again");
  }

  async function start(session) {
    st.session = session;
    st.etags = {};
    const wanted = new URLSearchParams(location.search).get("workspace");
    $("who").hidden = false;
    $("who-label").textContent = session.admin ? "Signed in as operator" : `Signed in to ${session.workspace}`;
    if (session.admin) {
      try {
        const r = await call("GET", "/api/workspaces?limit=1000");
        const list = r.ok && r.data ? r.data.workspaces : [];
        if (!list.length) return showState("No workspaces yet", "There is no workspace to show.");
        fill($("ws-picker"), list.map((w) => h("option", { value: w.slug }, w.name ? `${w.name} (${w.slug})` : w.slug)));
        $("picker").hidden = false;
        st.slug = wanted && list.some((w) => w.slug === wanted) ? wanted : list[0].slug;
        $("ws-picker").value = st.slug;
      } catch (e) {
        return handleError(e);
      }
    } else {
      $("picker").hidden = true;
      // A session sees its own workspace; naming another one gets what the API says (404).
      st.slug = wanted || session.workspace;
    }
    $("state").hidden = true;
    $("app").hidden = false;
    resetPanels();
    await refresh();
    startPolling();
  }

  function switchWorkspace(slug) {
    st.slug = slug;
    st.etags = {};
    hideReveal();
    history.replaceState(null, "", `${location.pathname}?workspace=${encodeURIComponent(slug)}`);
    resetPanels();
    refresh();
  }

  async function signOut() {
    const r = await call("DELETE", "/ui/session").catch(() => ({ status: 0 }));
    hideReveal();
    if (r.status !== 204) toast("Sign-out may not have reached vibnd", true);
    showSignedOut("You are signed out", "Your session has ended. Use a new sign-in link to come back.");
  }

  function handleError(e) {
    if (e instanceof SessionEnded) {
      hideReveal();
      showSignedOut("Your session has ended", "It expired or was signed out. Use a new sign-in link.");
      return;
    }
    toast(`Something went wrong: ${e.message}`, true);
  }

  // ---- live updates --------------------------------------------------------------------

  function startPolling() {
    stopPolling();
    st.timer = setInterval(() => {
      tick();
      if (!document.hidden) refresh();
    }, POLL_MS);
  }

  function stopPolling() {
    if (st.timer) clearInterval(st.timer);
    st.timer = null;
  }

  let refreshing = false;
  async function refresh() {
    if (refreshing || !st.slug) return;
    refreshing = true;
    try {
      await Promise.all([loadWorkspace(), loadKeys(), loadProjects(), loadEvents()]);
    } catch (e) {
      handleError(e);
    } finally {
      refreshing = false;
    }
  }

  function loading(id) {
    const el = $(id);
    el.setAttribute("aria-busy", "true");
    el.replaceChildren(h("p", { className: "muted" }, "Loading…"));
  }

  function resetPanels() {
    st.last = {};
    for (const id of ["ws-body", "keys-body", "projects-body", "events-body"]) loading(id);
    $("ws-badge").textContent = "…";
    $("ws-badge").className = "badge";
    $("project-form").hidden = true;
    renderConnect();
  }

  // ---- the workspace card --------------------------------------------------------------

  async function loadWorkspace() {
    const r = await call("GET", wsPath(), { etag: "ws" });
    if (r.unchanged) return;
    if (r.status === 404) {
      showState("Workspace not found",
        `There is no workspace "${st.slug}" that you can see.`,
        st.session.workspace ? h("a", { href: "/ui/" }, `Go to ${st.session.workspace}`) : null);
      return;
    }
    if (!r.ok) {
      // What the card showed may no longer be true: say "unknown", not a stale "Ready".
      $("ws-badge").textContent = "Status unknown";
      $("ws-badge").className = "badge bad";
      fill($("ws-body"), h("p", { className: "warn" }, message(r, "Could not load the workspace")));
      return;
    }
    st.last.ws = r.data;
    renderWorkspace(r.data);
  }

  function readyOf(ws) {
    const c = (ws.conditions || []).find((x) => x.type === "Ready");
    if (!c) return { text: "Pending", cls: "" };
    if (c.status === "True") return { text: "Ready", cls: "ok" };
    return { text: `Not ready: ${c.reason || "Unknown"}`, cls: ws.provision_status === "error" ? "bad" : "warn" };
  }

  function renderWorkspace(ws) {
    $("ws-title").textContent = ws.name || ws.slug;
    const ready = readyOf(ws);
    $("ws-badge").textContent = ready.text;
    $("ws-badge").className = `badge ${ready.cls}`;
    const giteaBase = st.session.giteaUrl;
    const org = ws.gitea_org
      ? (giteaBase ? h("a", { href: `${giteaBase}/${encodeURIComponent(ws.gitea_org)}`, rel: "noopener", target: "_blank", dataset: { fid: "gitea" } }, ws.gitea_org) : ws.gitea_org)
      : h("span", { className: "muted" }, "not created yet");
    const facts = h("dl", { className: "facts" },
      h("dt", {}, "Display name"), h("dd", {}, ws.name || "–"),
      h("dt", {}, "Slug"), h("dd", { id: "ws-slug" }, h("code", {}, ws.slug)),
      h("dt", {}, "Owner"), h("dd", {}, ws.owner || "–"),
      h("dt", {}, "Gitea org"), h("dd", { id: "ws-org" }, org),
      h("dt", {}, "Coolify project"), h("dd", {}, ws.coolify_project_uuid ? h("code", {}, ws.coolify_project_uuid) : h("span", { className: "muted" }, "not created yet")),
      h("dt", {}, "Provision status"), h("dd", { id: "ws-status" }, ws.provision_status));
    const conds = ws.conditions || [];
    const list = conds.length
      ? table("conditions", "Conditions", ["Condition", "Status", "Reason", "Message", "Since"],
          conds.map((c) => ({ cells: [
            c.type,
            h("span", { className: `badge ${c.status === "True" ? "ok" : c.status === "False" ? "warn" : ""}` }, c.status),
            c.reason || "",
            c.message || "",
            when(c.lastTransitionTime, ""),
          ] })))
      : h("p", { className: "muted" }, "No conditions yet: the workspace has not been reconciled.");
    fill($("ws-body"), facts, h("h2", {}, "Conditions"), list);
  }

  async function retry() {
    const b = $("retry");
    b.disabled = true;
    try {
      const r = await call("POST", wsPath("/provision"));
      if (r.status === 202) toast("Provisioning queued: the reconciler runs it now.");
      else toast(message(r, "Retry failed"), true);
      st.etags.ws = null;
      await loadWorkspace();
    } catch (e) {
      handleError(e);
    } finally {
      b.disabled = false;
    }
  }

  // ---- API keys ------------------------------------------------------------------------

  async function loadKeys() {
    const r = await call("GET", wsPath("/keys"), { etag: "keys" });
    if (r.unchanged) return;
    if (!r.ok) { fill($("keys-body"), h("p", { className: "warn" }, message(r, "Could not load the keys"))); return; }
    renderKeys(r.data.keys || []);
  }

  function renderKeys(keys) {
    if (!keys.length) {
      fill($("keys-body"), h("p", { className: "muted", id: "keys-empty" }, "No keys yet. Create one above."));
      return;
    }
    const rows = keys.map((k) => ({
      attrs: { className: k.revoked_at ? "revoked" : "", dataset: { key: k.id } },
      cells: [
        k.name,
        h("code", { className: "prefix" }, `${k.prefix}…`),
        when(k.created_at),
        (k.scopes || []).join(", "),
        k.expires_at ? h("time", { dateTime: k.expires_at, title: k.expires_at },
          k.expires_at.slice(0, 16).replace("T", " ")) : "never",
        when(k.last_used_at),
        k.revoked_at ? h("span", { className: "badge bad" }, "Revoked")
          : k.expired ? h("span", { className: "badge bad" }, "Expired")
            : h("span", { className: "badge ok" }, "Active"),
        k.revoked_at ? "" : h("button", {
          type: "button", className: "btn small danger", dataset: { fid: `revoke-${k.id}` },
          "aria-label": `Revoke key ${k.name}`, onclick: () => revokeKey(k),
        }, "Revoke"),
      ],
    }));
    fill($("keys-body"), table("keys-table", "API keys", ["Name", "Prefix", "Created", "Scopes", "Expires", "Last used", "Status", ""], rows));
  }

  function mintFromForm() {
    const input = $("key-name");
    const name = input.value.trim();
    if (!name) {
      toast("Give the key a name, e.g. the machine or tool that will use it.", true);
      input.focus();
      return;
    }
    mintKey(name);
  }

  // The scopes and expiry chosen in the form (the API's defaults are read and write, no
  // expiry).
  function mintChoice() {
    const scopes = ["read", "write", "keys"].filter((s) => $(`scope-${s}`).checked);
    const expires = $("key-expires").value;
    return { scopes, expires };
  }

  // The one place keys are minted from the page.
  async function mintKey(name) {
    const button = $("mint");
    const { scopes, expires } = mintChoice();
    if (!scopes.length) {
      toast("Choose at least one thing the key may do.", true);
      $("scope-read").focus();
      return;
    }
    button.disabled = true;
    try {
      const body = { name, scopes };
      if (expires) body.expires = expires;
      const r = await call("POST", wsPath("/keys"), { body });
      if (r.status !== 201) { toast(message(r, "Could not create the key"), true); return; }
      $("key-name").value = "";
      showReveal(r.data);
      st.etags.keys = null;
      await loadKeys();
      await loadConnect();
    } catch (e) {
      handleError(e);
    } finally {
      button.disabled = false;
    }
  }

  function showReveal(key) {
    st.reveal = { id: key.id, token: key.token, name: key.name };
    $("reveal-token").textContent = key.token;
    $("reveal").hidden = false;
    $("reveal").focus();
  }

  function hideReveal() {
    st.reveal = null;
    st.connect = null;
    $("reveal-token").textContent = "";
    $("reveal").hidden = true;
    renderConnect();
  }

  async function revokeKey(k) {
    const ok = await confirmDialog(`Revoke key "${k.name}"?`,
      `Agents using ${k.prefix}… stop working at once. This cannot be undone.`, "Revoke key");
    if (!ok) return;
    try {
      const r = await call("DELETE", wsPath(`/keys/${encodeURIComponent(k.id)}`));
      if (r.status !== 204) { toast(message(r, "Could not revoke the key"), true); return; }
      toast(`Key "${k.name}" revoked.`);
      if (st.reveal && st.reveal.id === k.id) hideReveal();
      st.etags.keys = null;
      await loadKeys();
    } catch (e) {
      handleError(e);
    }
  }

  // ---- Connect Cursor ------------------------------------------------------------------

  // The files come from GET /connect, called with the key just minted (the page's session
  // is not a key, and vibnd stores no key it could put into .env.local later).
  async function loadConnect() {
    if (!st.reveal) return;
    const r = await call("GET", wsPath("/connect"), { bearer: true, headers: { Authorization: `Bearer ${st.reveal.token}` } });
    if (!r.ok) { toast(message(r, "Could not build the connect files"), true); return; }
    st.connect = r.data;
    renderConnect();
  }

  function renderConnect() {
    const body = $("connect-body");
    const c = st.connect;
    if (!c) {
      fill(body,
        h("p", {}, "Cursor and Claude Code reach this workspace through its MCP server with a key. Create a key for the editor: its connect files appear here, ready to copy or download, with the key in ",
          h("code", {}, ".env.local"), " only."),
        h("button", { type: "button", className: "btn", id: "connect-mint", onclick: () => { $("key-name").value = "cursor"; mintFromForm(); } }, "Create a key for Cursor"));
      return;
    }
    const byPath = Object.fromEntries(c.files.map((f) => [f.path, f]));
    const cursor = [".cursor/rules/vibn-workspace.mdc", ".cursor/mcp.json", ".env.local"].map((p) => byPath[p]).filter(Boolean);
    const claude = [".mcp.json"].map((p) => byPath[p]).filter(Boolean);
    fill(body,
      h("p", {}, "Put these files at the root of your project. Only ", h("code", {}, ".env.local"),
        " holds the key: keep it out of git (add it to .gitignore); the others can be committed. Start the editor where .env.local is loaded: ",
        h("code", {}, "set -a; . ./.env.local; set +a; cursor .")),
      h("div", { className: "files" }, cursor.map(fileCard)),
      h("h3", {}, "Claude Code"),
      h("p", {}, "Claude Code reads ", h("code", {}, ".mcp.json"), " from the project, or registers the server for your user with the command below."),
      h("div", { className: "files" }, claude.map(fileCard),
        h("div", { className: "file command" },
          h("div", { className: "file-head" }, h("code", {}, "claude mcp add"),
            h("button", { type: "button", className: "btn small", dataset: { fid: "copy-claude" }, onclick: (ev) => copy(c.claude, ev.target.closest(".file").querySelector("pre")) }, "Copy")),
          h("pre", { id: "claude-command" }, c.claude))));
  }

  // Browsers save no file whose name starts with a dot, and two files here are called
  // mcp.json: each download gets a name that says what it is, and its card says where it goes.
  const DOWNLOAD_NAMES = {
    ".cursor/rules/vibn-workspace.mdc": "vibn-workspace.mdc",
    ".cursor/mcp.json": "cursor.mcp.json",
    ".mcp.json": "claude.mcp.json",
    ".env.local": "env.local",
  };

  function fileName(path) {
    return DOWNLOAD_NAMES[path] || path.split("/").pop().replace(/^\.+/, "");
  }

  function fileCard(f) {
    const pre = h("pre", { dataset: { path: f.path } }, f.content);
    return h("div", { className: "file", dataset: { file: f.path } },
      h("div", { className: "file-head" },
        h("code", {}, f.path),
        f.secret ? h("span", { className: "badge warn" }, "holds your key") : null,
        h("button", { type: "button", className: "btn small", "aria-label": `Copy ${f.path}`, dataset: { fid: `copy-${f.path}` }, onclick: () => copy(f.content, pre) }, "Copy"),
        h("button", { type: "button", className: "btn small", "aria-label": `Download ${f.path}`, dataset: { fid: `dl-${f.path}` }, onclick: () => download(fileName(f.path), f.content) }, "Download")),
      pre,
      fileName(f.path) !== f.path
        ? h("p", { className: "save-as muted" }, "Downloads as ", h("code", {}, fileName(f.path)), ": save it as ", h("code", {}, f.path), ".")
        : null);
  }

  async function copy(text, fallbackEl) {
    try {
      await navigator.clipboard.writeText(text);
      toast("Copied to the clipboard.");
    } catch (e) {
      // No clipboard access (an old browser, or permission refused): select it instead.
      if (fallbackEl) {
        const range = document.createRange();
        range.selectNodeContents(fallbackEl);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
      toast("Selected: press Ctrl+C (or ⌘C) to copy.");
    }
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---- projects (routes of the projects API; a vibnd without them answers 404) ------

  function notAvailable(what) {
    return h("p", { className: "muted", dataset: { unavailable: what } },
      `${what} are not available on this server (this vibnd has no ${what.toLowerCase()} API yet).`);
  }

  async function loadProjects() {
    // optional: a vibnd whose projects routes predate sessions answers 401; the session
    // itself is checked by the other panels.
    const r = await call("GET", wsPath(`/projects?limit=${st.projectsLimit}`), { etag: "projects", optional: true });
    if (r.unchanged) return;
    if (r.status === 404 || r.status === 405 || r.status === 401) {
      $("project-form").hidden = true;
      fill($("projects-body"), notAvailable("Projects"));
      return;
    }
    if (!r.ok) { fill($("projects-body"), h("p", { className: "warn" }, message(r, "Could not load the projects"))); return; }
    $("project-form").hidden = false;
    const items = (r.data && (r.data.projects || r.data.items)) || [];
    if (!items.length) {
      fill($("projects-body"), h("p", { className: "muted", id: "projects-empty" }, "No projects yet. Create one below."));
      return;
    }
    const rows = items.map((p) => ({
      attrs: { dataset: { project: p.id } },
      cells: [
        p.name,
        p.repo ? h("code", {}, p.repo.fullName || p.repo.name || "") : "–",
        p.app ? p.app.name || "yes" : h("span", { className: "muted" }, "none"),
        projectStatus(p.status),
        h("button", { type: "button", className: "btn small danger", dataset: { fid: `del-${p.id}` }, "aria-label": `Delete project ${p.name}`, onclick: () => deleteProject(p) }, "Delete"),
      ],
    }));
    const more = r.data && r.data.next
      ? h("button", { type: "button", className: "btn", dataset: { fid: "projects-more" }, onclick: () => { st.projectsLimit = Math.min(1000, st.projectsLimit + 20); st.etags.projects = null; loadProjects().catch(handleError); } }, "Show more")
      : null;
    fill($("projects-body"), table("projects-table", "Projects", ["Name", "Repository", "App", "Status", ""], rows), more);
  }

  // A project's status: {"ready", "reason", "message", ...} (or a word, from older routes).
  function projectStatus(st) {
    if (!st || typeof st !== "object") return h("span", { className: "badge" }, st || "–");
    if (st.ready) return h("span", { className: "badge ok" }, "Ready");
    return h("span", { className: "badge warn", title: st.message || "" }, st.reason || "Pending");
  }

  async function createProject() {
    const name = $("project-name").value.trim();
    if (!name) { toast("Give the project a name.", true); $("project-name").focus(); return; }
    const body = {
      name,
      description: $("project-description").value.trim(),
      private: $("project-private").checked,
      app: $("project-app").checked
        ? { buildPack: $("project-buildpack").value, ports: $("project-ports").value.trim(), branch: $("project-branch").value.trim() }
        : null,
    };
    $("project-create").disabled = true;
    try {
      const r = await call("POST", wsPath("/projects"), { body });
      if (r.status !== 201) { toast(message(r, "Could not create the project"), true); return; }
      toast(`Project "${name}" created: its repository is on the way.`);
      $("project-name").value = "";
      $("project-description").value = "";
      st.etags.projects = null;
      await loadProjects();
    } catch (e) {
      handleError(e);
    } finally {
      $("project-create").disabled = false;
    }
  }

  async function deleteProject(p) {
    const ok = await confirmDialog(`Delete project "${p.name}"?`,
      "The project leaves this workspace. Its app is removed.", "Delete project",
      "Also delete its Gitea repository (and everything in it)");
    if (!ok) return;
    const q = ok.checked ? "?deleteRepo=true" : "";
    try {
      const r = await call("DELETE", wsPath(`/projects/${encodeURIComponent(p.id)}${q}`));
      if (!r.ok) { toast(message(r, "Could not delete the project"), true); return; }
      toast(`Project "${p.name}" deleted.`);
      st.etags.projects = null;
      await loadProjects();
    } catch (e) {
      handleError(e);
    }
  }

  // ---- events (newest first) -----------------------------------------------------------

  async function loadEvents() {
    const r = await call("GET", wsPath("/events?limit=20"), { etag: "events", optional: true });
    if (r.unchanged) return;
    if (r.status === 404 || r.status === 405 || r.status === 401) { fill($("events-body"), notAvailable("Events")); return; }
    if (!r.ok) { fill($("events-body"), h("p", { className: "warn" }, message(r, "Could not load the events"))); return; }
    const items = (r.data && (r.data.events || r.data.items)) || [];
    if (!items.length) { fill($("events-body"), h("p", { className: "muted", id: "events-empty" }, "No events yet.")); return; }
    fill($("events-body"), h("ul", { className: "events", id: "events-list" }, items.map((e) => {
      const last = e.lastTimestamp || e.lastTime || e.last_time || e.lastSeen || e.last_seen;
      const obj = typeof e.object === "object" && e.object ? [e.object.kind, e.object.name].filter(Boolean).join("/") : e.object;
      return h("li", { dataset: { type: e.type } },
        h("span", { className: `badge ${e.type === "Warning" ? "warn" : "ok"}` }, e.type || "Normal"),
        h("span", { className: "what" }, h("strong", {}, e.reason || ""), obj ? ` ${obj}: ` : " ", e.message || ""),
        h("span", { className: "when" }, e.count > 1 ? `×${e.count} · ` : "", when(last)));
    })));
  }

  // ---- the confirmation dialog ---------------------------------------------------------

  // Resolves to false (cancelled) or {checked} (confirmed; checked: the optional box).
  function confirmDialog(title, text, okLabel, checkLabel) {
    const d = $("confirm");
    const opener = document.activeElement;
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    $("confirm-extra").hidden = !checkLabel;
    $("confirm-check").checked = false;
    $("confirm-check-label").textContent = checkLabel || "";
    return new Promise((resolve) => {
      const done = (value) => {
        $("confirm-ok").onclick = $("confirm-cancel").onclick = d.oncancel = null;
        if (d.open) d.close();
        if (opener && document.contains(opener)) opener.focus();
        resolve(value);
      };
      $("confirm-ok").onclick = () => done({ checked: $("confirm-check").checked });
      $("confirm-cancel").onclick = () => done(false);
      d.oncancel = (ev) => { ev.preventDefault(); done(false); };
      d.showModal();
      $("confirm-cancel").focus();
    });
  }

  document.addEventListener("DOMContentLoaded", () => { boot().catch(handleError); });
})();
