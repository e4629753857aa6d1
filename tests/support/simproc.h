/* Starts bin/vibn-sim for a test program and talks to its control API (/_sim/...).
 * Failures to start or to reach the control API end the test program (exit 1) with a
 * message: every test using the simulator depends on it. No cmocka here, so benchmarks can
 * link it too. */
#ifndef VIBN_TEST_SIMPROC_H
#define VIBN_TEST_SIMPROC_H

#include <sys/types.h>

#include <jansson.h>

struct simproc {
	pid_t pid;
	int out_fd;            /* the read end of the simulator's stdout */
	char gitea_url[128];   /* http://127.0.0.1:PORT, as printed on the ready line */
	char coolify_url[128]; /* http://127.0.0.1:PORT */
	char gitea_api[160];   /* gitea_url + "/api/v1" (GITEA_API_URL) */
	long seed;             /* --seed it runs with: a failure replays with the same one */
};

/* Starts $VIBN_BIN/vibn-sim (bin/vibn-sim when unset) with ephemeral ports, --seed 7 (or
 * $VIBN_SIM_SEED; printed on stderr at start and stop, so a failure can be replayed) and
 * the extra arguments (NULL-terminated list, or NULL; a --seed there wins), and waits up
 * to 10 s for its ready line "vibn-sim ready gitea=URL coolify=URL". Returns a new
 * handle. */
struct simproc *simproc_start(const char *const *extra_args);
/* SIGTERM, waits up to 5 s (then SIGKILL), frees s. Returns the exit status as from
 * waitpid, or -1 when it had to be killed. */
int simproc_stop(struct simproc *s);

/* Sends a control request to the Gitea port (the control API is on both). body is JSON text
 * or NULL. Returns the parsed response (a new reference; NULL when empty or not JSON) and
 * sets *status (may be NULL). */
json_t *simproc_call(struct simproc *s, const char *method, const char *path, const char *body,
                     long *status);
/* Sends an upstream API request outside the clients under test (no tracer, no observer):
 * to "gitea" or "coolify", path under /api/v1, with "Authorization: Bearer token" when token
 * is not NULL. Returns the parsed response (a new reference, or NULL) and sets *status. */
json_t *simproc_api(struct simproc *s, const char *upstream, const char *token, const char *method,
                    const char *path, const char *body, long *status);
/* Same, but exits the program unless the status is 2xx; the response is discarded. */
void simproc_must(struct simproc *s, const char *method, const char *path, const char *body);
/* POST /_sim/reset. */
void simproc_reset(struct simproc *s);
/* POST /_sim/users for username (email username@example.com). */
void simproc_seed_user(struct simproc *s, const char *username);
/* POST /_sim/rules with the given JSON rule. */
void simproc_rule(struct simproc *s, const char *rule_json);
/* The count of GET /_sim/counters for upstream ("gitea"/"coolify") and key ("read",
 * "mutating", or a route "GET /api/v1/orgs/{org}"); 0 when absent. */
long simproc_counter(struct simproc *s, const char *upstream, const char *key);

#endif
