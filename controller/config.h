/* vibnd configuration: one table of settings (config.c), read from the environment and
 * overridden by command-line flags. Every setting has a variable (DATABASE_URL,
 * VIBN_WORKERS, ...) and a long flag (--database-url, --workers, ...). Values are text
 * until validated; the typed getters below read validated values. Secret settings are
 * never printed: not by --help, not in errors, not in logs. */
#ifndef VIBN_CONFIG_H
#define VIBN_CONFIG_H

#include <stdint.h>
#include <stdio.h>

/* Indexes into the settings table (the order of config.c's table). */
enum config_id {
	CFG_DATABASE_URL,
	CFG_GITEA_API_URL,
	CFG_GITEA_API_TOKEN,
	CFG_GITEA_ADMIN_USER,
	CFG_GITEA_WEBHOOK_SECRET,
	CFG_COOLIFY_URL,
	CFG_COOLIFY_API_TOKEN,
	CFG_COOLIFY_SERVER_UUID,
	CFG_COOLIFY_DEPLOY_KEY_UUID,
	CFG_COOLIFY_DESTINATION_UUID,
	CFG_GITEA_CLONE_HOST,
	CFG_GITEA_WEBHOOK_SECRET_PREVIOUS,
	CFG_ADMIN_MIGRATE_SECRET,
	CFG_LISTEN,
	CFG_PUBLIC_URL,
	CFG_WORKERS,
	CFG_DB_CONNECTIONS,
	CFG_RESYNC_INTERVAL,
	CFG_SHUTDOWN_TIMEOUT,
	CFG_BACKOFF_BASE,
	CFG_BACKOFF_CAP,
	CFG_LEASE_DURATION,
	CFG_POLL_INTERVAL,
	CFG_COOLIFY_RPM,
	CFG_GITEA_RPS,
	CFG_UPSTREAM_TIMEOUT,
	CFG_RECONCILER,
	CFG_WEBHOOKS,
	CFG_WEBHOOK_SPOOL_DIR,
	CFG_WEBHOOK_SPOOL_MAX_BYTES,
	CFG_API_CONNECTIONS,
	CFG_API_TIMEOUT,
	CFG_EVENT_WINDOW,
	CFG_EVENT_RETENTION,
	CFG_EVENT_KEEP,
	CFG_QUOTA_REPOS,
	CFG_QUOTA_APPS,
	CFG_QUOTA_PROJECTS,
	CFG_API_KEY_INFLIGHT,
	CFG_HTTP_REQUEST_TIMEOUT,
	CFG_HTTP_MAX_CONNECTIONS,
	CFG_LOG_FILE,
	CFG_SESSION_TTL,
	CFG_COUNT
};

enum config_type {
	CONFIG_STR,     /* any non-empty text */
	CONFIG_URL,     /* http:// or https:// URL */
	CONFIG_ADDR,    /* host:port */
	CONFIG_INT,     /* decimal integer within [min, max] */
	CONFIG_SECONDS, /* decimal seconds within [min, max], e.g. "0.5"; read as milliseconds */
	CONFIG_BOOL,    /* on|off (also true|false, yes|no, 1|0); read as 1 or 0 */
};

#define CONFIG_SECRET   0x1 /* never printed */
#define CONFIG_REQUIRED 0x2 /* required whatever the reconciler */

struct config_setting {
	const char *env;  /* variable, e.g. "VIBN_WORKERS" */
	const char *flag; /* long flag without dashes, e.g. "workers" */
	enum config_type type;
	const char *def; /* default as text, or NULL: unset */
	double min, max; /* bounds of INT and SECONDS */
	int flags;
	const char *help;
};

/* The table, CFG_COUNT entries (borrowed, static). */
const struct config_setting *config_settings(void);

struct config {
	char *value[CFG_COUNT]; /* owned; NULL: unset */
	int64_t num[CFG_COUNT]; /* INT: the value; SECONDS: milliseconds */
	int check_only;         /* -n */
	int verbose;            /* -v */
};

enum config_action { CONFIG_RUN, CONFIG_EXIT_OK, CONFIG_EXIT_FAIL };

/* Fills cfg from the environment (read through getenv) and argv. --help and --version
 * print to stdout and return CONFIG_EXIT_OK; a bad flag or value prints one line naming
 * the variable to stderr and returns CONFIG_EXIT_FAIL. Required settings are checked
 * separately (config_require), because which ones are required depends on the
 * reconciler. cfg must be freed with config_free in every case. */
enum config_action config_load(struct config *cfg, int argc, char **argv);

/* Checks one value against its setting. Returns 0, or -1 with a one-line *cause (a new
 * string) that names the variable and never quotes a secret value. */
int config_check(enum config_id id, const char *text, int64_t *num, char **cause);

/* Checks that the settings named by env in the NULL-terminated list (and every
 * CONFIG_REQUIRED one) are set; who is named in the error ("required by the workspace
 * reconciler"). Returns 0, or -1 with a one-line *cause. */
int config_require(const struct config *cfg, const char *const *envs, const char *who,
                   char **cause);

/* Finds a setting by its variable name; -1 if there is none. */
int config_find(const char *env);

/* Validated values (borrowed; NULL when unset). */
const char *config_str(const struct config *cfg, enum config_id id);
int64_t config_int(const struct config *cfg, enum config_id id);
int64_t config_ms(const struct config *cfg, enum config_id id);
/* By variable name, for reconcilers: the value, or NULL when unset or unknown. */
const char *config_get(const struct config *cfg, const char *env);

/* Prints the usage and every setting with its variable, flag, default and bounds. */
void config_usage(FILE *out);

void config_free(struct config *cfg);

#endif
