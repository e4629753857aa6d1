#include "simproc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define SIMPROC_READY_MS 10000
#define SIMPROC_STOP_MS  5000
#define SIMPROC_SEED     7 /* as simproc.py */

/* The seed of the last simulator started, for the messages; -1 before. */
static long simproc_seed_used = -1;

static void __attribute__((noreturn, format(printf, 1, 2))) simproc_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sim: ");
	vfprintf(stderr, fmt, ap);
	if (simproc_seed_used >= 0)
		fprintf(stderr, " (vibn-sim --seed %ld; VIBN_SIM_SEED=%ld replays it)",
		        simproc_seed_used, simproc_seed_used);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* The seed of the simulator's fault dice and generated uuids: fixed, so that a failure
 * replays with the same upstream ids and faults; VIBN_SIM_SEED picks another, and a
 * --seed among the extra arguments wins (vibn-sim takes the last one). */
static long
simproc_seed(const char *const *extra_args)
{
	const char *env = getenv("VIBN_SIM_SEED");
	long seed = SIMPROC_SEED;

	if (env != NULL && *env != '\0' && util_parse_long(env, 0, LONG_MAX, &seed) != 0)
		simproc_die("VIBN_SIM_SEED: expected an integer >= 0, got '%s'", env);
	for (; extra_args != NULL && *extra_args != NULL; extra_args++) {
		if (strcmp(*extra_args, "--seed") == 0 && extra_args[1] != NULL &&
		    util_parse_long(extra_args[1], 0, LONG_MAX, &seed) != 0)
			simproc_die("--seed: expected an integer >= 0, got '%s'", extra_args[1]);
	}
	return seed;
}

/* Reads the ready line (up to '\n') within the deadline. */
static void
simproc_read_ready(struct simproc *s)
{
	char line[512];
	size_t len = 0;
	int64_t deadline = util_now_ms() + SIMPROC_READY_MS;

	for (;;) {
		struct pollfd p = {.fd = s->out_fd, .events = POLLIN};
		int64_t left = deadline - util_now_ms();
		ssize_t n;

		if (left <= 0)
			simproc_die("no ready line within %d ms", SIMPROC_READY_MS);
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(s->out_fd, line + len, 1);
		if (n <= 0)
			simproc_die("vibn-sim exited before its ready line");
		if (line[len] == '\n' || len + 2 >= sizeof line)
			break;
		len++;
	}
	line[len] = '\0';
	if (sscanf(line, "vibn-sim ready gitea=%127s coolify=%127s", s->gitea_url,
	           s->coolify_url) != 2)
		simproc_die("unexpected ready line: %s", line);
	snprintf(s->gitea_api, sizeof s->gitea_api, "%s/api/v1", s->gitea_url);
}

struct simproc *
simproc_start(const char *const *extra_args)
{
	const char *bindir = getenv("VIBN_BIN");
	char *prog = xasprintf("%s/vibn-sim", bindir ? bindir : "bin");
	char *argv[64];
	struct simproc *s = xcalloc(1, sizeof *s);
	int fds[2], n = 0;

	if (access(prog, X_OK) != 0)
		simproc_die("%s: %s (build it with make)", prog, strerror(errno));
	s->seed = simproc_seed(extra_args);
	argv[n++] = xstrdup(prog);
	argv[n++] = xstrdup("--gitea-port");
	argv[n++] = xstrdup("0");
	argv[n++] = xstrdup("--coolify-port");
	argv[n++] = xstrdup("0");
	argv[n++] = xstrdup("--seed");
	argv[n++] = xasprintf("%ld", s->seed);
	for (; extra_args != NULL && *extra_args != NULL && n < 62; extra_args++)
		argv[n++] = xstrdup(*extra_args);
	argv[n] = NULL;
	if (pipe2(fds, O_CLOEXEC) != 0)
		simproc_die("pipe: %s", strerror(errno));
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0)
		simproc_die("fork: %s", strerror(errno));
	if (s->pid == 0) {
		/* Never outlive the test program, even when it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], STDOUT_FILENO);
		execv(prog, argv);
		_exit(127);
	}
	for (int i = 0; i < n; i++)
		free(argv[i]);
	close(fds[1]);
	s->out_fd = fds[0];
	free(prog);
	simproc_seed_used = s->seed;
	/* On stderr, which the test runner shows when a test fails. */
	fprintf(stderr, "sim: vibn-sim --seed %ld (VIBN_SIM_SEED=N to change it)\n", s->seed);
	simproc_read_ready(s);
	return s;
}

int
simproc_stop(struct simproc *s)
{
	int64_t deadline = util_now_ms() + SIMPROC_STOP_MS;
	int status = -1;

	if (s == NULL)
		return 0;
	/* Again at the end, where a failing program's log is cut (the runner shows its tail). */
	fprintf(stderr, "sim: that was vibn-sim --seed %ld; VIBN_SIM_SEED=%ld replays it\n",
	        s->seed, s->seed);
	kill(s->pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(s->pid, &status, WNOHANG);

		if (r == s->pid)
			break;
		if (r < 0 && errno != EINTR) {
			status = -1;
			break;
		}
		if (util_now_ms() >= deadline) {
			fprintf(stderr, "sim: vibn-sim ignored SIGTERM for %d ms; killing it\n",
			        SIMPROC_STOP_MS);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			status = -1;
			break;
		}
		usleep(10000);
	}
	close(s->out_fd);
	free(s);
	return status;
}

static size_t
sim_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, ptr, size * nmemb);
	return size * nmemb;
}

static json_t *
simproc_request(const char *url, const char *token, const char *method, const char *path,
                const char *body, long *status)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char *auth = token ? xasprintf("Authorization: Bearer %s", token) : NULL;
	struct buf out;
	json_t *res = NULL;
	long code = 0;
	CURLcode rc;

	if (e == NULL)
		simproc_die("curl_easy_init failed");
	if (auth != NULL)
		h = curl_slist_append(h, auth);
	buf_init(&out);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sim_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
	if (body != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK)
		simproc_die("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (out.len > 0)
		res = json_loadb(out.data, out.len, 0, NULL);
	if (status != NULL)
		*status = code;
	buf_free(&out);
	free(auth);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return res;
}

json_t *
simproc_call(struct simproc *s, const char *method, const char *path, const char *body,
             long *status)
{
	char *url = xasprintf("%s%s", s->gitea_url, path);
	json_t *res = simproc_request(url, NULL, method, path, body, status);

	free(url);
	return res;
}

json_t *
simproc_api(struct simproc *s, const char *upstream, const char *token, const char *method,
            const char *path, const char *body, long *status)
{
	char *url = xasprintf(
	    "%s/api/v1%s", strcmp(upstream, "coolify") == 0 ? s->coolify_url : s->gitea_url, path);
	json_t *res = simproc_request(url, token, method, path, body, status);

	free(url);
	return res;
}

void
simproc_must(struct simproc *s, const char *method, const char *path, const char *body)
{
	long status = 0;
	json_t *res = simproc_call(s, method, path, body, &status);

	if (status < 200 || status >= 300) {
		char *dump = res ? json_dumps(res, JSON_COMPACT) : NULL;

		simproc_die("%s %s %s: status %ld %s", method, path, body ? body : "", status,
		            dump ? dump : "");
	}
	json_decref(res);
}

void
simproc_reset(struct simproc *s)
{
	simproc_must(s, "POST", "/_sim/reset", NULL);
}

void
simproc_seed_user(struct simproc *s, const char *username)
{
	json_t *body =
	    json_pack("{s:s, s:s+}", "username", username, "email", username, "@example.com");
	char *text = json_dumps(body, JSON_COMPACT);

	simproc_must(s, "POST", "/_sim/users", text);
	free(text);
	json_decref(body);
}

void
simproc_rule(struct simproc *s, const char *rule_json)
{
	simproc_must(s, "POST", "/_sim/rules", rule_json);
}

long
simproc_counter(struct simproc *s, const char *upstream, const char *key)
{
	json_t *res = simproc_call(s, "GET", "/_sim/counters", NULL, NULL), *up, *v;
	long n = 0;

	up = json_object_get(res, upstream);
	v = json_object_get(up, key);
	if (v == NULL)
		v = json_object_get(json_object_get(up, "routes"), key);
	if (json_is_integer(v))
		n = (long)json_integer_value(v);
	json_decref(res);
	return n;
}
