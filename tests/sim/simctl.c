/* The control API under /_sim/ on both ports: no auth, JSON in and out, never counted,
 * logged or faulted. Errors are {"error": "..."}. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "tests/sim/sim.h"

static void
simctl_fail(struct sim_req *r, int status, const char *msg)
{
	sim_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

static int
simctl_is(struct sim_req *r, const char *method, const char *name, const char *sub)
{
	if (strcmp(r->method, method) != 0)
		return 0;
	if (sub == NULL)
		return r->nsegs == 2 && strcmp(r->segs[1], name) == 0;
	return r->nsegs == 3 && strcmp(r->segs[1], name) == 0 && strcmp(r->segs[2], sub) == 0;
}

/* The JSON object body of r (borrowed), or NULL after answering 400. */
static json_t *
simctl_object(struct sim_req *r)
{
	json_t *body = sim_body(r);

	if (!json_is_object(body)) {
		simctl_fail(r, 400, "expected a JSON object body");
		return NULL;
	}
	return body;
}

static void
simctl_faults(struct sim_req *r)
{
	json_t *body = simctl_object(r);
	const char *up;
	static const char *const known[] = {"upstream",
	                                    "latency_ms",
	                                    "jitter_ms",
	                                    "error_rate",
	                                    "timeout_rate",
	                                    "drop_rate",
	                                    "rate_limit_per_minute",
	                                    "app_delete_ms"};
	const char *key;
	json_t *v;

	if (body == NULL)
		return;
	json_object_foreach(body, key, v)
	{
		size_t i;

		for (i = 0; i < nitems(known); i++) {
			if (strcmp(key, known[i]) == 0)
				break;
		}
		if (i == nitems(known)) {
			simctl_fail(r, 400, "unknown fault field");
			return;
		}
		if (i > 0 && !json_is_number(v)) {
			simctl_fail(r, 400, "fault values are numbers");
			return;
		}
	}
	up = json_string_value(json_object_get(body, "upstream"));
	if (up == NULL)
		up = "both";
	if (strcmp(up, "gitea") == 0 || strcmp(up, "both") == 0)
		sim_faults_set(SIM_GITEA, body);
	if (strcmp(up, "coolify") == 0 || strcmp(up, "both") == 0)
		sim_faults_set(SIM_COOLIFY, body);
	if (strcmp(up, "gitea") != 0 && strcmp(up, "coolify") != 0 && strcmp(up, "both") != 0) {
		simctl_fail(r, 400, "upstream must be gitea, coolify or both");
		return;
	}
	sim_reply_json(r, 200,
	               json_pack("{s:o, s:o}", "gitea", sim_faults_json(SIM_GITEA), "coolify",
	                         sim_faults_json(SIM_COOLIFY)));
}

/* Many converged workspaces' upstream objects at once, for benchmarks at fleet scale: orgs
 * with their Owners team and hook, projects with their production environment, each made
 * as the API would make it, without a request per object. */
static void
simctl_seed(struct sim_req *r)
{
	json_t *body = simctl_object(r), *g = NULL, *c = NULL;
	json_int_t count;
	int status;

	if (body == NULL)
		return;
	count = json_integer_value(json_object_get(body, "count"));
	if (!json_is_integer(json_object_get(body, "start")) || count < 0 || count > 10000000) {
		simctl_fail(r, 400, "seed needs start and count (0..10000000)");
		return;
	}
	if ((status = simgitea_seed(body, &g)) >= 300) {
		sim_reply_json(r, status, g);
		return;
	}
	if ((status = simcoolify_seed(body, &c)) >= 300) {
		json_decref(g);
		sim_reply_json(r, status, c);
		return;
	}
	json_object_update(g, c);
	json_decref(c);
	sim_reply_json(r, 200, g);
}

static void
simctl_drift(struct sim_req *r)
{
	json_t *body = simctl_object(r), *out = NULL;
	const char *action;
	int status;

	if (body == NULL)
		return;
	action = json_string_value(json_object_get(body, "action"));
	if (action == NULL) {
		simctl_fail(r, 400, "drift needs an action");
		return;
	}
	status = simgitea_drift(action, body, &out);
	if (status == 0)
		status = simcoolify_drift(action, body, &out);
	if (status == 0)
		status = simcoolify_drift_env(action, body, &out);
	if (status == 0) {
		simctl_fail(r, 400, "unknown drift action");
		return;
	}
	if (status < 300)
		sim_drift_counted();
	sim_reply_json(r, status, out);
}

void
simctl_handle(struct sim_req *r)
{
	char *cause = NULL;
	json_t *body, *out = NULL;
	int status;

	if (simctl_is(r, "POST", "reset", NULL)) {
		sim_reset_all();
		sim_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	} else if (simctl_is(r, "POST", "users", NULL)) {
		if ((body = simctl_object(r)) == NULL)
			return;
		status = simgitea_seed_user(body, &out);
		sim_reply_json(r, status, out);
	} else if (simctl_is(r, "GET", "state", NULL)) {
		sim_reply_json(r, 200,
		               json_pack("{s:o, s:o}", "gitea", simgitea_state(), "coolify",
		                         simcoolify_state()));
	} else if (simctl_is(r, "GET", "counters", NULL)) {
		sim_reply_json(r, 200, sim_counters_json());
	} else if (simctl_is(r, "POST", "counters", "reset")) {
		sim_counters_reset();
		sim_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	} else if (simctl_is(r, "GET", "requests", NULL)) {
		const char *lim = sim_query(r, "limit");
		long n = 100;

		if (lim != NULL && util_parse_long(lim, 0, 1000000, &n) != 0) {
			simctl_fail(r, 400, "limit must be a non-negative integer");
			return;
		}
		sim_reply_json(r, 200, sim_requests_json((size_t)n));
	} else if (simctl_is(r, "GET", "faults", NULL)) {
		sim_reply_json(r, 200,
		               json_pack("{s:o, s:o}", "gitea", sim_faults_json(SIM_GITEA),
		                         "coolify", sim_faults_json(SIM_COOLIFY)));
	} else if (simctl_is(r, "POST", "faults", NULL)) {
		simctl_faults(r);
	} else if (simctl_is(r, "GET", "config", NULL)) {
		sim_reply_json(r, 200, sim_knobs_json());
	} else if (simctl_is(r, "POST", "config", NULL)) {
		if ((body = simctl_object(r)) == NULL)
			return;
		if (sim_knobs_set(body, &cause) != 0) {
			simctl_fail(r, 400, cause);
			free(cause);
			return;
		}
		sim_reply_json(r, 200, sim_knobs_json());
	} else if (simctl_is(r, "GET", "rules", NULL)) {
		sim_reply_json(r, 200, sim_rules_json());
	} else if (simctl_is(r, "POST", "rules", NULL)) {
		if ((body = simctl_object(r)) == NULL)
			return;
		if (sim_rule_add(body, &cause) != 0) {
			simctl_fail(r, 400, cause);
			free(cause);
			return;
		}
		sim_reply_json(r, 201, sim_rules_json());
	} else if (simctl_is(r, "DELETE", "rules", NULL)) {
		sim_rules_clear();
		sim_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	} else if (simctl_is(r, "POST", "seed", NULL)) {
		simctl_seed(r);
	} else if (simctl_is(r, "POST", "drift", NULL)) {
		simctl_drift(r);
	} else if (simctl_is(r, "GET", "deliveries", NULL)) {
		sim_reply_json(r, 200, simhook_list());
	} else {
		simctl_fail(r, 404, "unknown control route");
	}
}
