/* vibn-sim: one libevent loop serving an in-memory Gitea API and Coolify API on two ports,
 * with fault knobs and a control API (/_sim/...). The interface is agreed in SIM_API.md.
 *
 * sim.c       start-up, request dispatch, faults, rules, counters, request log, replies
 * simctl.c    the control API shared by both ports
 * simgitea.c  Gitea state and routes        simcoolify.c  Coolify state and routes
 * simhook.c   asynchronous, signed webhook delivery
 * simtab.c    the hash table every lookup goes through */
#ifndef VIBN_SIM_H
#define VIBN_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

enum sim_up { SIM_GITEA, SIM_COOLIFY, SIM_NUP };

#define SIM_MAX_SEGS   16
#define SIM_MAX_PARAMS 4
#define SIM_MAX_BODY   (1024 * 1024)

struct sim_req;
typedef void sim_handler_fn(struct sim_req *r);

/* One served route; the tables live in simgitea.c and simcoolify.c. tmpl is relative to
 * /api/v1 and uses the spec's parameter names. The rest is filled in at start-up. */
#define SIM_ROUTE(m, t, f, na)                                                                     \
	{                                                                                          \
		.method = (m), .tmpl = (t), .fn = (f), .noauth = (na)                              \
	}

struct sim_route {
	const char *method;
	const char *tmpl;
	sim_handler_fn *fn;
	int noauth; /* answered without a token (Gitea's /version) */
	char *key;  /* "GET /api/v1/orgs/{org}" */
	char *segbuf;
	const char *segs[SIM_MAX_SEGS];
	int nsegs;
	uint64_t count;
};

/* A request being answered. Handlers read the params and the body and fill the response
 * through the sim_reply_* calls; sim.c sends (or delays, or drops) it afterwards. */
struct sim_req {
	struct evhttp_request *req;
	enum sim_up up;
	const char *method;
	char *path;  /* owned: the raw path, without the query */
	char *query; /* owned: the raw query, or NULL */
	struct evkeyvalq qargs;
	int qparsed;
	char *segbuf;             /* owned: the path split and decoded */
	char *segs[SIM_MAX_SEGS]; /* borrowed from segbuf: the segments after /api/v1 */
	int nsegs;
	struct sim_route *route;
	const char *param[SIM_MAX_PARAMS]; /* borrowed from segs */
	int nparam;
	json_t *body;   /* owned; parsed on first use */
	int body_state; /* 0 not read, 1 JSON, -1 empty, -2 invalid */
	int status;
	struct evbuffer *out; /* owned until sent */
	int64_t start_us;
	int control; /* a /_sim/ request: not logged */
};

/* Standing fault knobs of one upstream. */
struct sim_faults {
	int latency_ms;
	int jitter_ms;
	double error_rate;
	double timeout_rate;
	double drop_rate;
	int rpm; /* requests per minute before 429; 0 = unlimited */
};

/* How the simulated servers are configured, as an operator configures the real ones (Gitea's
 * app.ini, Coolify's servers): the flags set them, POST /_sim/config changes them at run
 * time, POST /_sim/reset returns to the flags. */
struct sim_knobs {
	int gitea_max_items;      /* [api] MAX_RESPONSE_ITEMS: the page cap (default 50) */
	char *gitea_root_url;     /* [server] ROOT_URL (owned), ends in '/': clone and html URLs */
	int gitea_ssh_port;       /* [server] SSH_PORT (default 22): the form of ssh_url */
	int coolify_destinations; /* Docker destinations of the server (default 1) */
	int app_delete_ms;        /* how long an application DELETE's job takes (default 300) */
	/* Whether an application create answers the app's domains (default 1, as Coolify does
	 * now); 0 answers them null, as older v4 releases did (ApplicationsController returned
	 * data_get($application, 'domains'), a column the model does not have: it is fqdn). */
	int coolify_create_domains;
};

/* The Coolify server every application deploys to, its destinations' uuids (a number from 1
 * is appended) and the private key that exists from the start, as Coolify's "localhost"
 * server and its key do: uuids of 24 lower-case alphanumerics, like new_public_id(). */
#define SIM_COOLIFY_SERVER_UUID "vibnsimlocalhostserver01"
#define SIM_COOLIFY_DEST_PREFIX "vibnsimdestination"
#define SIM_COOLIFY_KEY_UUID    "vibnsimdeploykey00000001"

struct sim_config {
	int port[SIM_NUP];
	char *token[SIM_NUP];
	char *gitea_admin;
	int webhook_timeout_ms;
	struct sim_faults faults[SIM_NUP]; /* from the flags; /_sim/reset returns to them */
	struct sim_knobs knobs;            /* from the flags; /_sim/reset returns to them */
	uint64_t seed;
	int verbose;
};

extern struct sim_config sim_cfg;
extern struct sim_knobs sim_knobs; /* the knobs in force */
extern struct event_base *sim_base;

/* Start-up helpers: the bound ports, and the base URL of an upstream (borrowed). */
const char *sim_base_url(enum sim_up up);
const char *sim_up_name(enum sim_up up);

/* ---- replies (sim.c) ---- */
/* An error in the upstream's shape: Gitea {"message","url"}, Coolify {"message"}. */
void sim_error(struct sim_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Steals body (NULL = no body). */
void sim_reply_json(struct sim_req *r, int status, json_t *body);
void sim_reply_raw(struct sim_req *r, int status, const char *ctype, const char *data, size_t len);
void sim_header(struct sim_req *r, const char *name, const char *value);
/* The query value of key (borrowed), or NULL. */
const char *sim_query(struct sim_req *r, const char *key);
/* The JSON body (borrowed), or NULL when empty or invalid; see body_state. */
json_t *sim_body(struct sim_req *r);
/* Content-Type of the request is application/json (ignoring parameters). */
int sim_body_is_json(struct sim_req *r);

/* ---- shared state (sim.c) ---- */
void sim_faults_set(enum sim_up up, json_t *fields);
json_t *sim_faults_json(enum sim_up up);
/* Applies the knobs named in o (POST /_sim/config); -1 with *cause (new) on a bad value,
 * changing nothing. */
int sim_knobs_set(json_t *o, char **cause);
json_t *sim_knobs_json(void);
void sim_reset_all(void);
json_t *sim_counters_json(void);
void sim_counters_reset(void);
void sim_drift_counted(void);
json_t *sim_requests_json(size_t limit);
/* Adds a rule from its control-API JSON; -1 with *cause on bad input. */
int sim_rule_add(json_t *spec, char **cause);
void sim_rules_clear(void);
json_t *sim_rules_json(void);
/* A uniformly distributed number in [0, 1) from the seeded generator. */
double sim_rand(void);
/* A new random lower-case alphanumeric string of len characters. */
char *sim_rand_id(size_t len);
/* An RFC 3339 timestamp of now in UTC, into buf[32]. */
void sim_now_iso(char buf[32]);

/* Returns a new string: tmpl with each "{i}" replaced by i (POST /_sim/seed). */
char *sim_seed_expand(const char *tmpl, long i);

/* ---- control API (simctl.c) ---- */
void simctl_handle(struct sim_req *r);

/* ---- Gitea (simgitea.c) ---- */
struct sim_route *simgitea_routes(size_t *n);
void simgitea_init(void);
void simgitea_reset(void);
void simgitea_free(void);
json_t *simgitea_state(void);
/* POST /_sim/users; returns the status, *out the answer (new reference). */
int simgitea_seed_user(json_t *args, json_t **out);
/* POST /_sim/seed, Gitea's part: args.count orgs from the template args.org (numbered from
 * args.start); *out is {"hooks": [id...]}. Returns the status. */
int simgitea_seed(json_t *args, json_t **out);
/* Applies a Gitea drift action; returns the HTTP status, *out the answer; 0 when the action
 * is not Gitea's. */
int simgitea_drift(const char *action, json_t *args, json_t **out);

/* ---- Coolify (simcoolify.c) ---- */
struct sim_route *simcoolify_routes(size_t *n);
void simcoolify_init(void);
void simcoolify_reset(void);
void simcoolify_free(void);
json_t *simcoolify_state(void);
int simcoolify_drift(const char *action, json_t *args, json_t **out);
/* POST /_sim/seed, Coolify's part: args.count projects from the template args.project;
 * *out is {"projects": [uuid...]}. Returns the status. */
int simcoolify_seed(json_t *args, json_t **out);
/* Environment drift actions (rename_environment, delete_environment); 0 when the action is
 * not one of them. */
int simcoolify_drift_env(const char *action, json_t *args, json_t **out);

/* ---- webhooks (simhook.c) ---- */
struct simhook_target {
	const char *url;
	const char *content_type; /* "json" or "form" */
	const char *secret;
	const char *auth_header; /* may be NULL */
};
/* Starts one delivery of payload (copied) to t; returns at once, the result lands in the
 * delivery list. */
void simhook_deliver(const struct simhook_target *t, const char *event, const char *action,
                     const char *payload);
json_t *simhook_list(void);
void simhook_reset(void);
/* Cancels in-flight deliveries and frees everything (at exit). */
void simhook_free(void);

#endif
