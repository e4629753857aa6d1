/* vibnctl: applies workspace manifests, shows status, mints keys, runs migrations. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "common/log.h"

struct ctl_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct ctl_command ctl_commands[] = {
    {"migrate", ctl_migrate, "apply pending schema migrations"},
    {"apply", ctl_apply,
     "apply workspace manifests (-f PATH [--dry-run] [--prune --all|-l SEL|--applyset N])"},
    {"diff", ctl_diff, "show what apply -f PATH would change"},
    {"get", ctl_get, "list workspaces (get workspaces [-o table|json|yaml])"},
    {"describe", ctl_describe, "show one workspace (describe workspace SLUG)"},
    {"delete", ctl_delete, "delete a workspace (delete workspace SLUG [--wait])"},
    {"reconcile", ctl_reconcile, "reconcile a workspace now (reconcile SLUG [--wait])"},
    {"resync", ctl_resync, "queue drift repair (resync SLUG... | --all)"},
    {"keys", ctl_keys, "workspace API keys (keys mint|list|revoke)"},
    {"signup", ctl_signup, "ensure a user's workspace (signup --user ID --email EMAIL)"},
    {"backfill", ctl_backfill, "assign legacy fs_projects to their owners' workspaces"},
    {"connect-cursor", ctl_connect_cursor, "write a workspace's Cursor/MCP connect files"},
    {"events", ctl_events, "what happened to workspaces (events [SLUG] [-o json] [--watch])"},
    {"login-link", ctl_login_link, "a one-time sign-in link to a workspace's settings page"},
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: vibnctl [-v] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++)
		fprintf(out, "  %-14s %s\n", ctl_commands[i].name, ctl_commands[i].summary);
	fprintf(out, "\nEnvironment: DATABASE_URL (libpq URI or conninfo).\n"
	             "Run 'vibnctl COMMAND --help' for a command's options.\n"
	             "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int
main(int argc, char **argv)
{
	int argi = 1;

	log_init("vibnctl", LOG_LVL_WARN);
	while (argi < argc && argv[argi][0] == '-') {
		if (strcmp(argv[argi], "-h") == 0 || strcmp(argv[argi], "--help") == 0) {
			usage(stdout);
			return CTL_OK;
		} else if (strcmp(argv[argi], "-v") == 0 || strcmp(argv[argi], "--verbose") == 0) {
			log_init("vibnctl", LOG_LVL_DEBUG);
		} else {
			ctl_error("unknown option \"%s\" (see vibnctl --help)", argv[argi]);
			return CTL_USAGE;
		}
		argi++;
	}
	if (argi >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++)
		if (strcmp(argv[argi], ctl_commands[i].name) == 0)
			return ctl_commands[i].run(argc - argi, argv + argi);
	ctl_error("unknown command \"%s\" (see vibnctl --help)", argv[argi]);
	return CTL_USAGE;
}
