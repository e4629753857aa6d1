#include "mcp_projects.h"

#include <stdlib.h>

#include "api/api_parse.h"
#include "api/api_parse_project.h"
#include "api/projects.h"
#include "common/xmalloc.h"
#include "reconcilers/events.h"

/* An optional integer argument within [min, max]: 0, or 1 with *err. */
static int
mcp_projects_int(json_t *args, const char *key, long long min, long long max, long long def,
                 long long *out, char **err)
{
	json_t *v = json_object_get(args, key);

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		*err = xasprintf("argument \"%s\" must be an integer from %lld to %lld", key, min,
		                 max);
		return 1;
	}
	*out = json_integer_value(v);
	return 0;
}

int
mcp_projects_list(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                  char **err)
{
	json_t *after = json_object_get(args, "after");
	long long limit;

	if (mcp_projects_int(args, "limit", 1, API_PARSE_PAGE_MAX, API_PARSE_PAGE_DEFAULT, &limit,
	                     err) != 0)
		return 1;
	if (after != NULL && !json_is_null(after) &&
	    (!json_is_string(after) || !api_parse_project_id(json_string_value(after)))) {
		*err = xstrdup("argument \"after\" must be a project id (a string)");
		return 1;
	}
	return projects_list(db, ws, (long)limit, json_string_value(after), result, err) == 0 ? 0
	                                                                                      : -1;
}

int
mcp_projects_create(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                    char **err)
{
	struct api_project_req req;
	struct projects_err e = {0};
	char *field = NULL, *cause = NULL;
	json_t *project = NULL;
	int rc;

	if (api_parse_project_json(args, "workspace", &req, &field, &cause) != 0) {
		*err = field != NULL ? xasprintf("%s (argument %s)", cause, field) : xstrdup(cause);
		free(field);
		free(cause);
		return 1;
	}
	rc = projects_create(db, ws, &req, &project, &e, err);
	if (rc == 0)
		*result = json_pack(
		    "{s:s, s:o, s:b, s:s}", "workspace", ws->slug, "project", project, "created", 1,
		    "message",
		    "declared; the reconciler creates the repo in Gitea and the app in Coolify: watch "
		    "list_projects (status.ready) or workspace_events");
	else if (rc == 1)
		*err = xstrdup(e.message);
	projects_err_free(&e);
	api_parse_project_free(&req);
	return rc;
}

int
mcp_projects_events(PGconn *db, const struct tenancy_ws *ws, json_t *args, json_t **result,
                    char **err)
{
	struct events_query q = {ws->id, 50, 0, 0};
	long long limit, after;
	json_t *events = NULL, *next = json_null();

	if (mcp_projects_int(args, "limit", 1, API_PARSE_PAGE_MAX, 50, &limit, err) != 0 ||
	    mcp_projects_int(args, "after", 1, (1LL << 62), 0, &after, err) != 0)
		return 1;
	q.limit = (long)limit;
	q.before = after;
	if (events_list(db, &q, &events, err) != 0)
		return -1;
	if ((long long)json_array_size(events) == limit)
		next = json_incref(
		    json_object_get(json_array_get(events, json_array_size(events) - 1), "seq"));
	*result =
	    json_pack("{s:s, s:o, s:o}", "workspace", ws->slug, "events", events, "next", next);
	return 0;
}
