#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "reconcilers/events.h"
#include "tenancy/quota.h"

/* The one table of settings. Order matches enum config_id. */
static const struct config_setting config_table[CFG_COUNT] = {
    [CFG_DATABASE_URL] = {"DATABASE_URL", "database-url", CONFIG_STR, NULL, 0, 0,
                          CONFIG_SECRET | CONFIG_REQUIRED,
                          "Postgres, as a libpq URI or key=value conninfo"},
    [CFG_GITEA_API_URL] = {"GITEA_API_URL", "gitea-api-url", CONFIG_URL, NULL, 0, 0, 0,
                           "Gitea API base, e.g. https://git.example.com/api/v1"},
    [CFG_GITEA_API_TOKEN] = {"GITEA_API_TOKEN", "gitea-api-token", CONFIG_STR, NULL, 0, 0,
                             CONFIG_SECRET, "Gitea admin token"},
    [CFG_GITEA_ADMIN_USER] = {"GITEA_ADMIN_USER", "gitea-admin-user", CONFIG_STR, NULL, 0, 0, 0,
                              "Gitea admin user that creates orgs"},
    [CFG_GITEA_WEBHOOK_SECRET] = {"GITEA_WEBHOOK_SECRET", "gitea-webhook-secret", CONFIG_STR, NULL,
                                  0, 0, CONFIG_SECRET,
                                  "HMAC secret of org webhooks (X-Gitea-Signature)"},
    [CFG_COOLIFY_URL] = {"COOLIFY_URL", "coolify-url", CONFIG_URL, NULL, 0, 0, 0,
                         "Coolify base URL (the client adds /api/v1)"},
    [CFG_COOLIFY_API_TOKEN] = {"COOLIFY_API_TOKEN", "coolify-api-token", CONFIG_STR, NULL, 0, 0,
                               CONFIG_SECRET, "Coolify API token"},
    [CFG_COOLIFY_SERVER_UUID] = {"COOLIFY_SERVER_UUID", "coolify-server-uuid", CONFIG_STR, NULL, 0,
                                 0, 0, "Coolify server that app services deploy to"},
    [CFG_COOLIFY_DEPLOY_KEY_UUID] =
        {"VIBN_COOLIFY_DEPLOY_KEY_UUID", "coolify-deploy-key-uuid", CONFIG_STR, NULL, 0, 0, 0,
         "Coolify private key (uuid) that builds apps from private repos"
         " over SSH; its public half must be an SSH key of"
         " GITEA_ADMIN_USER. Unset: apps clone over HTTP"},
    [CFG_COOLIFY_DESTINATION_UUID] =
        {"COOLIFY_DESTINATION_UUID", "coolify-destination-uuid", CONFIG_STR, NULL, 0, 0, 0,
         "Docker destination (uuid) of COOLIFY_SERVER_UUID that apps deploy to; needed when"
         " the server has several"},
    [CFG_GITEA_CLONE_HOST] =
        {"VIBN_GITEA_CLONE_HOST", "gitea-clone-host", CONFIG_STR, NULL, 0, 0, 0,
         "host name Coolify reaches Gitea at, replacing the host of Gitea's clone URLs when"
         " its ROOT_URL or SSH_DOMAIN is internal"},
    [CFG_GITEA_WEBHOOK_SECRET_PREVIOUS] =
        {"GITEA_WEBHOOK_SECRET_PREVIOUS", "gitea-webhook-secret-previous", CONFIG_STR, NULL, 0, 0,
         CONFIG_SECRET,
         "the webhook secret before GITEA_WEBHOOK_SECRET, still accepted while org hooks are"
         " rotated to the new one"},
    [CFG_ADMIN_MIGRATE_SECRET] = {"ADMIN_MIGRATE_SECRET", "admin-migrate-secret", CONFIG_STR, NULL,
                                  0, 0, CONFIG_SECRET,
                                  "admin secret for /api/admin/migrate and admin API access"},
    [CFG_LISTEN] = {"VIBN_LISTEN", "listen", CONFIG_ADDR, "127.0.0.1:8080", 0, 0, 0,
                    "HTTP listen address (host:port)"},
    [CFG_PUBLIC_URL] = {"VIBN_PUBLIC_URL", "public-url", CONFIG_URL, NULL, 0, 0, 0,
                        "how Gitea reaches vibnd, for registering org webhooks"},
    [CFG_WORKERS] = {"VIBN_WORKERS", "workers", CONFIG_INT, "64", 1, 256, 0,
                     "reconciles in flight at once (threads sharing VIBN_DB_CONNECTIONS)"},
    [CFG_DB_CONNECTIONS] = {"VIBN_DB_CONNECTIONS", "db-connections", CONFIG_INT, "8", 1, 256, 0,
                            "database connections the reconcile workers share"},
    [CFG_RESYNC_INTERVAL] = {"VIBN_RESYNC_INTERVAL", "resync-interval", CONFIG_SECONDS, "600", 1,
                             604800, 0, "seconds between drift repair runs (+-10% jitter)"},
    [CFG_SHUTDOWN_TIMEOUT] = {"VIBN_SHUTDOWN_TIMEOUT", "shutdown-timeout", CONFIG_SECONDS, "30", 0,
                              3600, 0, "seconds running reconciles get to finish at SIGTERM"},
    [CFG_BACKOFF_BASE] = {"VIBN_BACKOFF_BASE", "backoff-base", CONFIG_SECONDS, "1", 0.001, 3600, 0,
                          "first retry delay after a failure, in seconds"},
    [CFG_BACKOFF_CAP] = {"VIBN_BACKOFF_CAP", "backoff-cap", CONFIG_SECONDS, "300", 0.001, 86400, 0,
                         "longest retry delay, in seconds (also the delay of permanent errors)"},
    [CFG_LEASE_DURATION] = {"VIBN_LEASE_DURATION", "lease-duration", CONFIG_SECONDS, "30", 1, 3600,
                            0, "seconds a claim is held without renewal (renewed every third)"},
    [CFG_POLL_INTERVAL] =
        {"VIBN_POLL_INTERVAL", "poll-interval", CONFIG_SECONDS, "5", 0.05, 3600, 0,
         "the idle workers look at the queue at least this often between them (seconds)"},
    [CFG_COOLIFY_RPM] = {"VIBN_COOLIFY_RPM", "coolify-rpm", CONFIG_INT, "180", 1, 100000, 0,
                         "Coolify request budget per minute while Coolify announces no"
                         " window of its own (X-RateLimit headers)"},
    [CFG_GITEA_RPS] = {"VIBN_GITEA_RPS", "gitea-rps", CONFIG_INT, "50", 1, 100000, 0,
                       "Gitea request budget per second"},
    [CFG_UPSTREAM_TIMEOUT] =
        {"VIBN_UPSTREAM_TIMEOUT", "upstream-timeout", CONFIG_SECONDS, "10", 0.1, 60, 0,
         "seconds one Gitea or Coolify request may take (a reconcile's calls end within"
         " 60 s; a request that times out is tried again if it can be)"},
    [CFG_RECONCILER] = {"VIBN_RECONCILER", "reconciler", CONFIG_STR, "workspace", 0, 0, 0,
                        "reconciler to run (the product's is workspace)"},
    [CFG_WEBHOOKS] = {"VIBN_WEBHOOKS", "webhooks", CONFIG_BOOL, "on", 0, 0, 0,
                      "serve POST /webhooks/gitea (on needs GITEA_WEBHOOK_SECRET)"},
    [CFG_WEBHOOK_SPOOL_DIR] =
        {"VIBN_WEBHOOK_SPOOL_DIR", "webhook-spool-dir", CONFIG_STR, NULL, 0, 0, 0,
         "folder where deliveries the database cannot take wait to be replayed (one per"
         " vibnd; unset: $STATE_DIRECTORY/webhook-spool, else /var/lib/vibnd/webhook-spool);"
         " vibnd does not start when it cannot be written"},
    [CFG_WEBHOOK_SPOOL_MAX_BYTES] =
        {"VIBN_WEBHOOK_SPOOL_MAX_BYTES", "webhook-spool-max-bytes", CONFIG_INT, "67108864", 1024,
         1099511627776.0, 0,
         "bytes the webhook spool may hold (also at most 100000 files); when full, deliveries"
         " the database cannot take get 503"},
    [CFG_API_CONNECTIONS] = {"VIBN_API_CONNECTIONS", "api-connections", CONFIG_INT, "2", 1, 64, 0,
                             "database threads (one connection each) for webhooks and the API"},
    [CFG_API_TIMEOUT] =
        {"VIBN_API_TIMEOUT", "api-timeout", CONFIG_SECONDS, "2", 0.05, 60, 0,
         "deadline of a webhook or API request's database work (seconds; 503 after)"},
    [CFG_EVENT_WINDOW] = {"VIBN_EVENT_WINDOW", "event-window", CONFIG_INT,
                          QUOTA_STR(EVENTS_DEFAULT_WINDOW_S), 1, 86400, 0,
                          "seconds within which a repeated workspace event is counted on its "
                          "row instead of added"},
    [CFG_EVENT_RETENTION] = {"VIBN_EVENT_RETENTION", "event-retention", CONFIG_INT,
                             QUOTA_STR(EVENTS_DEFAULT_RETENTION_S), 1, 31536000, 0,
                             "seconds workspace events are kept"},
    [CFG_EVENT_KEEP] = {"VIBN_EVENT_KEEP", "event-keep", CONFIG_INT, QUOTA_STR(EVENTS_DEFAULT_KEEP),
                        1, 100000, 0, "newest events kept per workspace"},
    [CFG_QUOTA_REPOS] = {"VIBN_QUOTA_REPOS", "quota-repos", CONFIG_INT,
                         QUOTA_STR(QUOTA_DEFAULT_REPOS), 0, QUOTA_MAX, 0,
                         "repos a workspace may declare (spec.quotas.repos overrides it)"},
    [CFG_QUOTA_APPS] = {"VIBN_QUOTA_APPS", "quota-apps", CONFIG_INT, QUOTA_STR(QUOTA_DEFAULT_APPS),
                        0, QUOTA_MAX, 0,
                        "apps a workspace may declare (spec.quotas.apps overrides it)"},
    [CFG_QUOTA_PROJECTS] = {"VIBN_QUOTA_PROJECTS", "quota-projects", CONFIG_INT,
                            QUOTA_STR(QUOTA_DEFAULT_PROJECTS), 0, QUOTA_MAX, 0,
                            "projects a workspace may hold (spec.quotas.projects overrides it)"},
    [CFG_API_KEY_INFLIGHT] =
        {"VIBN_API_KEY_INFLIGHT", "api-key-inflight", CONFIG_INT, "4", 1, 1024, 0,
         "API and MCP requests one credential (key or admin secret) may have waiting for or"
         " using the database at once; more get 429"},
    [CFG_HTTP_REQUEST_TIMEOUT] =
        {"VIBN_HTTP_REQUEST_TIMEOUT", "http-request-timeout", CONFIG_SECONDS, "10", 0.1, 600, 0,
         "seconds a request's headers and body may take to arrive, from its first byte"
         " (408 after)"},
    [CFG_HTTP_MAX_CONNECTIONS] = {"VIBN_HTTP_MAX_CONNECTIONS", "http-max-connections", CONFIG_INT,
                                  "1024", 8, 65536, 0,
                                  "open HTTP connections at most (lowered to fit the descriptor"
                                  " limit; at the cap the oldest idle one is closed)"},
    [CFG_LOG_FILE] = {"VIBN_LOG_FILE", "log-file", CONFIG_STR, NULL, 0, 0, 0,
                      "append logs to this file instead of stderr; SIGHUP reopens it"
                      " (log rotation)"},
    [CFG_SESSION_TTL] = {"VIBN_SESSION_TTL", "session-ttl", CONFIG_SECONDS, "43200", 60, 2592000, 0,
                         "seconds a settings-page session lasts after sign-in (the cookie's"
                         " Max-Age; sign-out ends it sooner)"},
};

const struct config_setting *
config_settings(void)
{
	return config_table;
}

int
config_find(const char *env)
{
	for (int i = 0; i < CFG_COUNT; i++)
		if (strcmp(config_table[i].env, env) == 0)
			return i;
	return -1;
}

/* Splits host:port; the port must be a number in 1..65535. */
static int
config_check_addr(const char *text)
{
	const char *colon = strrchr(text, ':');
	long port;

	if (colon == NULL || colon == text)
		return -1;
	return util_parse_long(colon + 1, 1, 65535, &port);
}

static int
config_parse_seconds(const char *text, double min, double max, int64_t *ms)
{
	char *end;
	double v;

	if (*text == '\0')
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*ms = (int64_t)llround(v * 1000.0);
	return 0;
}

static int
config_parse_bool(const char *text, int64_t *v)
{
	static const char *const on[] = {"on", "true", "yes", "1"};
	static const char *const off[] = {"off", "false", "no", "0"};

	for (size_t i = 0; i < nitems(on); i++) {
		if (strcasecmp(text, on[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcasecmp(text, off[i]) == 0) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

/* 1 when text starts or ends with whitespace, or holds a control character anywhere. */
static int
config_untrimmed(const char *text)
{
	size_t n = strlen(text);

	if (n > 0 && (isspace((unsigned char)text[0]) || isspace((unsigned char)text[n - 1])))
		return 1;
	for (; *text != '\0'; text++)
		if ((unsigned char)*text < 0x20 || (unsigned char)*text == 0x7f)
			return 1;
	return 0;
}

int
config_check(enum config_id id, const char *text, int64_t *num, char **cause)
{
	const struct config_setting *s = &config_table[id];
	const char *shown = (s->flags & CONFIG_SECRET) ? "" : text;
	const char *sep = (s->flags & CONFIG_SECRET) ? "" : " (got \"";
	const char *end = (s->flags & CONFIG_SECRET) ? "" : "\")";
	long v;

	*cause = NULL;
	*num = 0;
	if (text == NULL || *text == '\0') {
		*cause = xasprintf("%s is empty", s->env);
		return -1;
	}
	/* A secret pasted with a trailing newline or surrounding spaces could never match
	 * what the other side sends (a webhook signature, an admin header): refuse it at
	 * start rather than fail every request later. Never quoted: it is a secret. */
	if ((s->flags & CONFIG_SECRET) && config_untrimmed(text)) {
		*cause = xasprintf("%s has leading or trailing whitespace or a control character "
		                   "(a copy-paste slip?): remove it",
		                   s->env);
		return -1;
	}
	switch (s->type) {
	case CONFIG_STR:
		return 0;
	case CONFIG_URL:
		if (strncmp(text, "http://", 7) == 0 || strncmp(text, "https://", 8) == 0)
			return 0;
		*cause = xasprintf("%s must be an http:// or https:// URL%s%s%s", s->env, sep,
		                   shown, end);
		return -1;
	case CONFIG_ADDR:
		if (config_check_addr(text) == 0)
			return 0;
		*cause = xasprintf("%s must be host:port with a port from 1 to 65535%s%s%s", s->env,
		                   sep, shown, end);
		return -1;
	case CONFIG_INT:
		if (util_parse_long(text, (long)s->min, (long)s->max, &v) == 0) {
			*num = v;
			return 0;
		}
		*cause = xasprintf("%s must be an integer from %ld to %ld%s%s%s", s->env,
		                   (long)s->min, (long)s->max, sep, shown, end);
		return -1;
	case CONFIG_BOOL:
		if (config_parse_bool(text, num) == 0)
			return 0;
		*cause = xasprintf("%s must be on or off%s%s%s", s->env, sep, shown, end);
		return -1;
	case CONFIG_SECONDS:
		if (config_parse_seconds(text, s->min, s->max, num) == 0)
			return 0;
		*cause = xasprintf("%s must be a number of seconds from %g to %g%s%s%s", s->env,
		                   s->min, s->max, sep, shown, end);
		return -1;
	}
	*cause = xasprintf("%s: unknown setting type", s->env);
	return -1;
}

static void
config_set(struct config *cfg, int id, const char *text)
{
	free(cfg->value[id]);
	cfg->value[id] = xstrdup(text);
}

void
config_usage(FILE *out)
{
	fprintf(out,
	        "usage: vibnd [-nv] [--SETTING=VALUE ...]\n"
	        "\n"
	        "The vibn reconciler daemon. Settings come from the environment; a flag\n"
	        "overrides its variable. Secret settings are better passed in the environment\n"
	        "(flags are visible to other users of the machine).\n"
	        "\n"
	        "  -n, --check      check the configuration and the database connection, exit 0/1\n"
	        "  -v, --verbose    debug logging\n"
	        "  -h, --help       this help\n"
	        "      --version    print the version\n"
	        "\n"
	        "Settings (variable, flag, default):\n");
	for (int i = 0; i < CFG_COUNT; i++) {
		const struct config_setting *s = &config_table[i];

		fprintf(out, "  %-22s --%-21s %s%s\n", s->env, s->flag,
		        s->def                         ? "default "
		        : (s->flags & CONFIG_REQUIRED) ? "required"
		                                       : "unset",
		        s->def ? s->def : "");
		fprintf(out, "      %s", s->help);
		if (s->type == CONFIG_INT)
			fprintf(out, "; %ld..%ld", (long)s->min, (long)s->max);
		else if (s->type == CONFIG_SECONDS)
			fprintf(out, "; %g..%g s", s->min, s->max);
		if (s->flags & CONFIG_SECRET)
			fprintf(out, " (secret)");
		fputc('\n', out);
	}
	fprintf(out,
	        "\nWhich settings besides DATABASE_URL are required depends on the reconciler.\n");
}

/* getopt_long options: one per setting (value 256 + index) and the fixed flags. */
static struct option *
config_options(void)
{
	static const struct option fixed[] = {
	    {"check", no_argument, NULL, 'n'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	};
	size_t n = nitems(fixed);
	struct option *opts = xcalloc(CFG_COUNT + n + 1, sizeof *opts);

	memcpy(opts, fixed, sizeof fixed);
	for (int i = 0; i < CFG_COUNT; i++) {
		opts[n + (size_t)i].name = config_table[i].flag;
		opts[n + (size_t)i].has_arg = required_argument;
		opts[n + (size_t)i].val = 256 + i;
	}
	return opts;
}

enum config_action
config_load(struct config *cfg, int argc, char **argv)
{
	struct option *opts = config_options();
	enum config_action action = CONFIG_RUN;
	char *cause = NULL;
	int c;

	memset(cfg, 0, sizeof *cfg);
	for (int i = 0; i < CFG_COUNT; i++) {
		const char *env = getenv(config_table[i].env);

		if (env != NULL && *env != '\0')
			config_set(cfg, i, env);
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":nvh", opts, NULL)) != -1) {
		if (c >= 256 && c < 256 + CFG_COUNT) {
			config_set(cfg, c - 256, optarg);
			continue;
		}
		switch (c) {
		case 'n':
			cfg->check_only = 1;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			config_usage(stdout);
			action = CONFIG_EXIT_OK;
			goto out;
		case 'V':
			printf("vibnd %s\n", VIBN_VERSION);
			action = CONFIG_EXIT_OK;
			goto out;
		case ':':
			fprintf(stderr, "vibnd: option %s needs a value\n", argv[optind - 1]);
			action = CONFIG_EXIT_FAIL;
			goto out;
		default:
			fprintf(stderr, "vibnd: unknown option \"%s\" (see vibnd --help)\n",
			        argv[optind - 1]);
			action = CONFIG_EXIT_FAIL;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vibnd: unexpected argument \"%s\" (see vibnd --help)\n",
		        argv[optind]);
		action = CONFIG_EXIT_FAIL;
		goto out;
	}
	for (int i = 0; i < CFG_COUNT; i++) {
		if (cfg->value[i] == NULL && config_table[i].def != NULL)
			config_set(cfg, i, config_table[i].def);
		if (cfg->value[i] == NULL)
			continue;
		if (config_check(i, cfg->value[i], &cfg->num[i], &cause) != 0) {
			fprintf(stderr, "vibnd: %s\n", cause);
			free(cause);
			action = CONFIG_EXIT_FAIL;
			goto out;
		}
	}
	if (cfg->num[CFG_BACKOFF_CAP] < cfg->num[CFG_BACKOFF_BASE]) {
		fprintf(stderr, "vibnd: VIBN_BACKOFF_CAP must not be below VIBN_BACKOFF_BASE\n");
		action = CONFIG_EXIT_FAIL;
	}
out:
	free(opts);
	return action;
}

int
config_require(const struct config *cfg, const char *const *envs, const char *who, char **cause)
{
	*cause = NULL;
	for (int i = 0; i < CFG_COUNT; i++) {
		if ((config_table[i].flags & CONFIG_REQUIRED) && cfg->value[i] == NULL) {
			*cause = xasprintf("%s is required (%s)", config_table[i].env,
			                   config_table[i].help);
			return -1;
		}
	}
	for (; envs != NULL && *envs != NULL; envs++) {
		int id = config_find(*envs);

		if (id < 0) {
			*cause =
			    xasprintf("%s, required by %s, is not a known setting", *envs, who);
			return -1;
		}
		if (cfg->value[id] == NULL) {
			*cause = xasprintf("%s is required by %s (%s)", *envs, who,
			                   config_table[id].help);
			return -1;
		}
	}
	return 0;
}

const char *
config_str(const struct config *cfg, enum config_id id)
{
	return cfg->value[id];
}

int64_t
config_int(const struct config *cfg, enum config_id id)
{
	return cfg->num[id];
}

int64_t
config_ms(const struct config *cfg, enum config_id id)
{
	return cfg->num[id];
}

const char *
config_get(const struct config *cfg, const char *env)
{
	int id = config_find(env);

	return id < 0 ? NULL : cfg->value[id];
}

void
config_free(struct config *cfg)
{
	for (int i = 0; i < CFG_COUNT; i++) {
		free(cfg->value[i]);
		cfg->value[i] = NULL;
	}
}
