/* controller/mcp against a real database: the handshake and version negotiation, tools/list,
 * every tool, each JSON-RPC error class, batches by protocol version, and scoping: a key of
 * workspace a can neither see nor change workspace b through any tool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "clients/db.h"
#include "tenancy/keys.h"
#include "common/xmalloc.h"
#include "tenancy/auth.h"
#include "api/mcp.h"
#include "tests/support/testdb.h"

struct fixture {
	char *url;
	PGconn *conn;
	char *ws_a;
	char *ws_b;
	struct auth_principal key_a; /* through auth_check (tenancy/auth), from a minted key */
	struct auth_principal admin;
};

static char *
one(PGconn *conn, const char *sql, const char *arg)
{
	const char *p[1] = {arg};
	char *cause = NULL, *v;
	PGresult *res = db_exec(conn, sql, arg ? 1 : 0, arg ? p : NULL, &cause);

	if (res == NULL)
		fail_msg("%s: %s", sql, cause);
	v = PQntuples(res) == 0 || PQgetisnull(res, 0, 0) ? NULL : xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static long
count(PGconn *conn, const char *sql, const char *arg)
{
	char *v = one(conn, sql, arg);
	long n = strtol(v, NULL, 10);

	free(v);
	return n;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	char *cause = NULL, *token = NULL, *kid = NULL;

	f->url = testdb_create();
	f->conn = db_connect(f->url, "test_mcp", &cause);
	assert_non_null(f->conn);
	f->ws_a = one(f->conn,
	              "INSERT INTO vibn_workspaces (slug, owner) VALUES ('a', 'u1') "
	              "RETURNING id",
	              NULL);
	f->ws_b = one(f->conn,
	              "INSERT INTO vibn_workspaces (slug, owner) VALUES ('b', 'u2') "
	              "RETURNING id",
	              NULL);
	free(one(f->conn,
	         "INSERT INTO vibn_workspace_repos (workspace_id, name) VALUES ($1, "
	         "'secret-b') RETURNING id",
	         f->ws_b));
	assert_int_equal(keys_mint(f->conn, f->ws_a, "agent", &token, &kid, &cause), 0);
	{
		char *auth = NULL;

		assert_true(asprintf(&auth, "Bearer %s", token) > 0);
		assert_int_equal(auth_check(f->conn, auth, NULL, "s3cret", &f->key_a), AUTH_OK);
		assert_int_equal(auth_check(f->conn, "Bearer s3cret", NULL, "s3cret", &f->admin),
		                 AUTH_OK);
		free(auth);
	}
	assert_false(f->key_a.admin);
	assert_true(f->admin.admin);
	free(token);
	free(kid);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	PQfinish(f->conn);
	testdb_drop(f->url);
	free(f->ws_a);
	free(f->ws_b);
	free(f);
	return 0;
}

/* Sends body; checks the HTTP status; returns the parsed reply (NULL for no body). */
static json_t *
post(struct fixture *f, const struct auth_principal *p, const char *version, const char *body,
     int status)
{
	struct mcp_reply r;
	json_t *doc = NULL;

	mcp_handle(f->conn, p, version, body, strlen(body), &r);
	if (r.status != status)
		fail_msg("status %d, want %d, for %s: %s", r.status, status, body,
		         r.body ? r.body : "(no body)");
	if (r.body != NULL) {
		assert_string_equal(r.content_type, "application/json");
		doc = json_loads(r.body, 0, NULL);
		assert_non_null(doc);
	} else {
		assert_null(r.content_type);
	}
	mcp_reply_free(&r);
	return doc;
}

/* A JSON-RPC error's code (and its id must be want_id, or null when want_id < 0). */
static int
error_code(json_t *reply, long want_id)
{
	json_t *id = json_object_get(reply, "id");

	assert_string_equal(json_string_value(json_object_get(reply, "jsonrpc")), "2.0");
	assert_null(json_object_get(reply, "result"));
	if (want_id < 0)
		assert_true(json_is_null(id));
	else
		assert_int_equal(json_integer_value(id), want_id);
	return (int)json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* Calls a tool; returns the result object (borrowed from *doc, which the caller frees). */
static json_t *
call(struct fixture *f, const struct auth_principal *p, const char *tool, const char *args,
     json_t **doc)
{
	char *body = NULL;
	json_t *result;

	assert_true(asprintf(&body,
	                     "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
	                     "\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
	                     tool, args) > 0);
	*doc = post(f, p, "2025-11-25", body, 200);
	free(body);
	result = json_object_get(*doc, "result");
	if (result == NULL)
		fail_msg("tools/call %s: no result", tool);
	assert_int_equal(json_integer_value(json_object_get(*doc, "id")), 7);
	return result;
}

/* A successful tool result: its structured content, checked against its text. */
static json_t *
ok(json_t *result)
{
	json_t *sc = json_object_get(result, "structuredContent");
	json_t *text, *parsed;

	if (!json_is_false(json_object_get(result, "isError")))
		fail_msg("tool error: %s",
		         json_string_value(json_object_get(
		             json_array_get(json_object_get(result, "content"), 0), "text")));
	assert_true(json_is_object(sc));
	text = json_array_get(json_object_get(result, "content"), 0);
	assert_string_equal(json_string_value(json_object_get(text, "type")), "text");
	parsed = json_loads(json_string_value(json_object_get(text, "text")), 0, NULL);
	assert_true(json_equal(parsed, sc));
	json_decref(parsed);
	return sc;
}

/* A tool error: its message. */
static const char *
tool_error(json_t *result)
{
	assert_true(json_is_true(json_object_get(result, "isError")));
	assert_null(json_object_get(result, "structuredContent"));
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(result, "content"), 0), "text"));
}

static void
test_initialize_negotiates(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *asked, *answer;
	} cases[] = {{"2025-11-25", "2025-11-25"}, {"2025-06-18", "2025-06-18"},
	             {"2025-03-26", "2025-03-26"}, {"2024-11-05", "2024-11-05"},
	             {"2026-07-28", "2025-11-25"}, {"1999-01-01", "2025-11-25"}};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *body = NULL;
		json_t *doc, *res;

		assert_true(asprintf(&body,
		                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
		                     "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{},"
		                     "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
		                     cases[i].asked) > 0);
		doc = post(f, &f->key_a, NULL, body, 200);
		res = json_object_get(doc, "result");
		assert_int_equal(json_integer_value(json_object_get(doc, "id")), 1);
		assert_string_equal(json_string_value(json_object_get(res, "protocolVersion")),
		                    cases[i].answer);
		assert_true(
		    json_is_object(json_object_get(json_object_get(res, "capabilities"), "tools")));
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(res, "serverInfo"), "name")),
		    "vibnd");
		assert_non_null(json_string_value(json_object_get(res, "instructions")));
		json_decref(doc);
		free(body);
	}
	/* protocolVersion is required. */
	json_t *doc =
	    post(f, &f->key_a, NULL,
	         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{}}", 200);
	assert_int_equal(error_code(doc, 2), MCP_INVALID_PARAMS);
	json_decref(doc);
}

static void
test_notifications_and_ping(void **state)
{
	struct fixture *f = *state;
	json_t *doc;

	/* Notifications and responses: 202, no body. */
	assert_null(post(f, &f->key_a, "2025-11-25",
	                 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", 202));
	assert_null(post(f, &f->key_a, "2025-11-25",
	                 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
	                 "\"params\":{\"requestId\":3}}",
	                 202));
	assert_null(
	    post(f, &f->key_a, "2025-11-25", "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}", 202));
	doc = post(f, &f->key_a, "2025-11-25",
	           "{\"jsonrpc\":\"2.0\",\"id\":\"p-1\",\"method\":\"ping\"}", 200);
	assert_string_equal(json_string_value(json_object_get(doc, "id")), "p-1");
	assert_true(json_is_object(json_object_get(doc, "result")));
	assert_int_equal(json_object_size(json_object_get(doc, "result")), 0);
	json_decref(doc);
}

static void
test_tools_list(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
	    "workspace_status", "list_repos",    "create_repo",    "list_apps",       "create_app",
	    "reconcile_now",    "list_projects", "create_project", "workspace_events"};
	const struct auth_principal *who[2] = {&f->key_a, &f->admin};

	for (int w = 0; w < 2; w++) {
		json_t *doc = post(f, who[w], "2025-11-25",
		                   "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}", 200);
		json_t *tools = json_object_get(json_object_get(doc, "result"), "tools");

		assert_int_equal(json_array_size(tools), sizeof names / sizeof names[0]);
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			json_t *t = json_array_get(tools, i),
			       *schema = json_object_get(t, "inputSchema");
			json_t *req = json_object_get(schema, "required"), *r;
			size_t j;
			int names_ws = 0;

			assert_string_equal(json_string_value(json_object_get(t, "name")),
			                    names[i]);
			assert_non_null(json_string_value(json_object_get(t, "description")));
			assert_string_equal(json_string_value(json_object_get(schema, "type")),
			                    "object");
			assert_non_null(
			    json_object_get(json_object_get(schema, "properties"), "workspace"));
			json_array_foreach(req, j, r) names_ws |=
			    strcmp(json_string_value(r), "workspace") == 0;
			/* The admin must name the workspace; a key need not. */
			assert_int_equal(names_ws, w == 1);
		}
		json_decref(doc);
	}
}

static void
test_jsonrpc_errors(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *body;
		int status;
		long id;
		int code;
	} cases[] = {
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,", 400, -1, MCP_PARSE_ERROR},
	    {"", 400, -1, MCP_PARSE_ERROR},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}", 400, -1,
	     MCP_PARSE_ERROR},
	    {"42", 400, -1, MCP_INVALID_REQUEST},
	    {"{\"id\":1,\"method\":\"ping\"}", 400, 1, MCP_INVALID_REQUEST},
	    {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", 400, 1, MCP_INVALID_REQUEST},
	    {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", 400, -1, MCP_INVALID_REQUEST},
	    {"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", 400, -1, MCP_INVALID_REQUEST},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", 400, 1, MCP_INVALID_REQUEST},
	    {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/list\"}", 200, 4,
	     MCP_METHOD_NOT_FOUND},
	    {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"server/discover\"}", 200, 4,
	     MCP_METHOD_NOT_FOUND},
	    {"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\",\"params\":[1]}", 200, 5,
	     MCP_INVALID_PARAMS},
	    {"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{}}", 200, 6,
	     MCP_INVALID_PARAMS},
	    {"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}}",
	     200, 6, MCP_INVALID_PARAMS},
	    {"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":"
	     "\"list_repos\",\"arguments\":[]}}",
	     200, 6, MCP_INVALID_PARAMS},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *doc = post(f, &f->key_a, "2025-11-25", cases[i].body, cases[i].status);

		if (error_code(doc, cases[i].id) != cases[i].code)
			fail_msg("%s: code %d, want %d", cases[i].body,
			         error_code(doc, cases[i].id), cases[i].code);
		json_decref(doc);
	}
	/* An unsupported MCP-Protocol-Version header: 400. */
	json_t *doc = post(f, &f->key_a, "2030-01-01",
	                   "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 400);
	assert_int_equal(error_code(doc, -1), MCP_INVALID_REQUEST);
	json_decref(doc);
}

static void
test_batches_by_version(void **state)
{
	struct fixture *f = *state;
	const char *batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
	                    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
	                    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"},"
	                    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\","
	                    "\"params\":{\"protocolVersion\":\"2025-03-26\"}}]";
	const char *versions[2] = {"2025-03-26", NULL}; /* no header: 2025-03-26 */
	json_t *doc;

	for (int v = 0; v < 2; v++) {
		doc = post(f, &f->key_a, versions[v], batch, 200);
		assert_int_equal(json_array_size(doc), 3);
		assert_true(json_is_object(json_object_get(json_array_get(doc, 0), "result")));
		assert_int_equal(error_code(json_array_get(doc, 1), 2), MCP_METHOD_NOT_FOUND);
		/* initialize never rides in a batch. */
		assert_int_equal(error_code(json_array_get(doc, 2), 3), MCP_INVALID_REQUEST);
		json_decref(doc);
	}
	/* Only notifications: 202. An empty batch: invalid. */
	assert_null(post(f, &f->key_a, "2025-03-26",
	                 "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]", 202));
	doc = post(f, &f->key_a, "2025-03-26", "[]", 400);
	assert_int_equal(error_code(doc, -1), MCP_INVALID_REQUEST);
	json_decref(doc);
	/* Later revisions dropped batching. */
	doc = post(f, &f->key_a, "2025-06-18", batch, 400);
	assert_int_equal(error_code(doc, -1), MCP_INVALID_REQUEST);
	json_decref(doc);
	doc = post(f, &f->key_a, "2025-11-25", batch, 400);
	assert_int_equal(error_code(doc, -1), MCP_INVALID_REQUEST);
	json_decref(doc);
}

static void
test_repos(void **state)
{
	struct fixture *f = *state;
	json_t *doc, *sc, *repos;

	free(one(f->conn, "DELETE FROM vibn_reconcile_queue RETURNING 1", NULL));
	sc = ok(call(f, &f->key_a, "create_repo",
	             "{\"name\":\"web\",\"description\":\"the site\",\"private\":false}", &doc));
	assert_string_equal(json_string_value(json_object_get(sc, "workspace")), "a");
	assert_string_equal(json_string_value(json_object_get(json_object_get(sc, "repo"), "name")),
	                    "web");
	assert_true(json_is_null(json_object_get(json_object_get(sc, "repo"), "giteaRepoId")));
	json_decref(doc);
	/* Desired state written; the trigger queued a reconcile of a. */
	assert_int_equal(count(f->conn,
	                       "SELECT count(*) FROM vibn_workspace_repos WHERE workspace_id = $1 "
	                       "AND name = 'web' AND NOT private AND description = 'the site' "
	                       "AND default_branch = 'main'",
	                       f->ws_a),
	                 1);
	assert_int_equal(count(f->conn,
	                       "SELECT count(*) FROM vibn_reconcile_queue WHERE workspace_id = $1",
	                       f->ws_a),
	                 1);
	/* Duplicates (case-insensitive), bad names and unknown arguments are tool errors. */
	static const char *const bad[] = {"{\"name\":\"WEB\"}",
	                                  "{\"name\":\"bad name\"}",
	                                  "{\"name\":\"x.git\"}",
	                                  "{\"name\":\"..\"}",
	                                  "{}",
	                                  "{\"name\":7}",
	                                  "{\"name\":\"ok\",\"x\":1}",
	                                  "{\"name\":\"ok\",\"private\":\"yes\"}",
	                                  "{\"name\":\"ok\",\"defaultBranch\":\"a..b\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *msg = tool_error(call(f, &f->key_a, "create_repo", bad[i], &doc));

		assert_non_null(msg);
		json_decref(doc);
	}
	assert_int_equal(count(f->conn,
	                       "SELECT count(*) FROM vibn_workspace_repos WHERE workspace_id = $1",
	                       f->ws_a),
	                 1);
	sc = ok(call(f, &f->key_a, "list_repos", "{}", &doc));
	repos = json_object_get(sc, "repos");
	assert_int_equal(json_array_size(repos), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(repos, 0), "name")),
	                    "web");
	json_decref(doc);
}

static void
test_apps(void **state)
{
	struct fixture *f = *state;
	json_t *doc, *sc;
	const char *msg;

	msg = tool_error(
	    call(f, &f->key_a, "create_app", "{\"name\":\"web\",\"repo\":\"web\"}", &doc));
	assert_non_null(strstr(msg, "not declared"));
	json_decref(doc);
	json_decref((ok(call(f, &f->key_a, "create_repo", "{\"name\":\"Web\"}", &doc)), doc));
	sc = ok(call(f, &f->key_a, "create_app",
	             "{\"name\":\"site\",\"repo\":\"web\",\"ports\":\"3000,8080\"}", &doc));
	/* The repo's stored spelling. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(sc, "app"), "repo")),
	                    "Web");
	json_decref(doc);
	static const char *const bad[] = {
	    "{\"name\":\"SITE\",\"repo\":\"web\"}",
	    "{\"name\":\"s2\",\"repo\":\"web\",\"buildPack\":\"heroku\"}",
	    "{\"name\":\"s2\",\"repo\":\"web\",\"ports\":\"http\"}",
	    "{\"name\":\"s 2\",\"repo\":\"web\"}",
	    "{\"name\":\"s2\"}",
	    "{\"name\":\"s2\",\"repo\":\"secret-b\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_non_null(tool_error(call(f, &f->key_a, "create_app", bad[i], &doc)));
		json_decref(doc);
	}
	sc = ok(call(f, &f->key_a, "list_apps", "{}", &doc));
	assert_int_equal(json_array_size(json_object_get(sc, "apps")), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(sc, "apps"), 0), "buildPack")),
	                    "nixpacks");
	json_decref(doc);
	assert_int_equal(count(f->conn,
	                       "SELECT count(*) FROM vibn_workspace_apps WHERE workspace_id = $1",
	                       f->ws_a),
	                 1);
}

static void
test_status_and_reconcile(void **state)
{
	struct fixture *f = *state;
	json_t *doc, *sc;

	free(
	    one(f->conn,
	        "UPDATE vibn_workspaces SET gitea_org = 'vibn-a', coolify_project_uuid = 'p-uuid', "
	        "provision_status = 'ready', observed_generation = generation, "
	        "conditions = '[{\"type\":\"Ready\",\"status\":"
	        "\"True\",\"reason\":\"Reconciled\"}]' WHERE id = $1 RETURNING 1",
	        f->ws_a));
	free(one(f->conn, "DELETE FROM vibn_reconcile_queue RETURNING 1", NULL));
	sc = ok(call(f, &f->key_a, "workspace_status", "{\"workspace\":\"a\"}", &doc));
	assert_string_equal(json_string_value(json_object_get(sc, "giteaOrg")), "vibn-a");
	assert_string_equal(json_string_value(json_object_get(sc, "coolifyProjectUuid")), "p-uuid");
	assert_string_equal(json_string_value(json_object_get(sc, "provisionStatus")), "ready");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(sc, "conditions"), 0), "type")),
	                    "Ready");
	assert_true(json_is_false(json_object_get(sc, "reconcilePending")));
	json_decref(doc);
	sc = ok(call(f, &f->key_a, "reconcile_now", "{}", &doc));
	assert_true(json_is_true(json_object_get(sc, "queued")));
	json_decref(doc);
	assert_int_equal(count(f->conn,
	                       "SELECT count(*) FROM vibn_reconcile_queue WHERE workspace_id = $1 "
	                       "AND priority = 0 AND reason = 'mcp'",
	                       f->ws_a),
	                 1);
}

/* Every tool, aimed at b with a's key: the same answer as for a workspace that does not
 * exist, and b unchanged. */
static void
test_key_cannot_reach_other_workspace(void **state)
{
	struct fixture *f = *state;
	static const char *const tools[][2] = {
	    {"workspace_status", "{}"},
	    {"list_repos", "{}"},
	    {"create_repo", "{\"name\":\"evil\"}"},
	    {"list_apps", "{}"},
	    {"create_app", "{\"name\":\"evil\",\"repo\":\"secret-b\"}"},
	    {"reconcile_now", "{}"},
	    {"list_projects", "{}"},
	    {"create_project", "{\"name\":\"evil\"}"},
	    {"workspace_events", "{}"}};
	char *before = one(f->conn, "SELECT generation::text FROM vibn_workspaces WHERE id = $1",
	                   f->ws_b),
	     *after;
	json_t *doc, *doc2;

	free(one(f->conn, "DELETE FROM vibn_reconcile_queue RETURNING 1", NULL));
	for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
		char *args_b = NULL, *args_x = NULL;
		const char *msg_b, *msg_x;

		/* {"workspace":"b", ...} and {"workspace":"nope", ...} */
		assert_true(asprintf(&args_b, "{\"workspace\":\"b\"%s%s",
		                     tools[i][1][1] == '}' ? "" : ",", tools[i][1] + 1) > 0);
		assert_true(asprintf(&args_x, "{\"workspace\":\"zz\"%s%s",
		                     tools[i][1][1] == '}' ? "" : ",", tools[i][1] + 1) > 0);
		msg_b = tool_error(call(f, &f->key_a, tools[i][0], args_b, &doc));
		msg_x = tool_error(call(f, &f->key_a, tools[i][0], args_x, &doc2));
		assert_string_equal(msg_b, "workspace \"b\" not found");
		assert_string_equal(msg_x, "workspace \"zz\" not found");
		json_decref(doc);
		json_decref(doc2);
		free(args_b);
		free(args_x);
	}
	/* Nothing of b leaks into a's own listings. */
	json_t *sc = ok(call(f, &f->key_a, "list_repos", "{}", &doc));
	char *text = json_dumps(sc, 0);
	assert_null(strstr(text, "secret-b"));
	free(text);
	json_decref(doc);
	after = one(f->conn, "SELECT generation::text FROM vibn_workspaces WHERE id = $1", f->ws_b);
	assert_string_equal(before, after);
	assert_int_equal(count(f->conn,
	                       "SELECT count(*) FROM vibn_workspace_repos WHERE workspace_id = $1",
	                       f->ws_b),
	                 1);
	assert_int_equal(count(f->conn,
	                       "SELECT count(*) FROM vibn_workspace_apps WHERE workspace_id = $1",
	                       f->ws_b),
	                 0);
	assert_int_equal(count(f->conn,
	                       "SELECT count(*) FROM vibn_reconcile_queue WHERE workspace_id = $1",
	                       f->ws_b),
	                 0);
	free(before);
	free(after);
}

static void
test_admin_names_the_workspace(void **state)
{
	struct fixture *f = *state;
	json_t *doc, *sc;

	assert_non_null(
	    strstr(tool_error(call(f, &f->admin, "list_repos", "{}", &doc)), "\"workspace\""));
	json_decref(doc);
	sc = ok(call(f, &f->admin, "list_repos", "{\"workspace\":\"b\"}", &doc));
	assert_int_equal(json_array_size(json_object_get(sc, "repos")), 1);
	json_decref(doc);
	/* A deleted workspace is gone for everyone. */
	free(one(f->conn, "UPDATE vibn_workspaces SET deleted_at = now() WHERE id = $1 RETURNING 1",
	         f->ws_b));
	assert_string_equal(
	    tool_error(call(f, &f->admin, "list_repos", "{\"workspace\":\"b\"}", &doc)),
	    "workspace \"b\" not found");
	json_decref(doc);
}

static void
test_origin(void **state)
{
	(void)state;
	assert_true(mcp_origin_allowed(NULL, NULL));
	assert_true(mcp_origin_allowed("https://vibn.example.com", "https://vibn.example.com/x"));
	assert_true(mcp_origin_allowed("http://127.0.0.1:8080", "http://127.0.0.1:8080"));
	assert_false(mcp_origin_allowed("https://evil.example", "https://vibn.example.com"));
	assert_false(
	    mcp_origin_allowed("https://vibn.example.com.evil", "https://vibn.example.com"));
	assert_false(mcp_origin_allowed("https://vibn.example.com", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_initialize_negotiates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notifications_and_ping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tools_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jsonrpc_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batches_by_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repos, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_and_reconcile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_cannot_reach_other_workspace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_names_the_workspace, setup, teardown),
	    cmocka_unit_test(test_origin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
