/* vibnctl: the ops CLI. Each command is a function taking its own argv (argv[0] is the
 * command name) and returning the exit code: 0 success, 1 failure, 2 usage error.
 * Errors go to stderr, one clear line each. */
#ifndef VIBN_CTL_H
#define VIBN_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#define CTL_OK    0
#define CTL_FAIL  1
#define CTL_USAGE 2

/* Connects to DATABASE_URL. Returns a new connection, or NULL after printing one line. */
PGconn *ctl_connect(void);

/* The id of the live (not deleted) workspace slug: a new string, or NULL after printing
 * "vibnctl: <cmd>: ..." (not found, or the database error). */
char *ctl_workspace_id(PGconn *conn, const char *cmd, const char *slug);

/* Prints "vibnctl: <message>" to stderr. */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Output helpers (ctl_fmt.c). */
enum ctl_output { CTL_OUT_TABLE, CTL_OUT_JSON, CTL_OUT_YAML };
struct ctl_table {
	size_t ncols;
	size_t nrows;
	char **cells; /* nrows * ncols, owned */
};
struct json_t;
/* Parses an -o argument: table, json or yaml. Returns 0, or -1 for anything else. */
int ctl_fmt_output(const char *arg, enum ctl_output *out);
void ctl_fmt_table_init(struct ctl_table *t, size_t ncols);
/* Adds a row of ncols cells (copied; NULL prints as <none>). */
void ctl_fmt_table_add(struct ctl_table *t, const char *const *cells);
/* Prints the rows with aligned columns, each line after indent (may be NULL). */
void ctl_fmt_table_print(const struct ctl_table *t, FILE *out, const char *indent);
void ctl_fmt_table_free(struct ctl_table *t);
/* A kubectl-style age ("45s", "3m20s", "5h", "12d") of seconds. */
void ctl_fmt_age(double seconds, char *buf, size_t len);
/* Prints j (borrowed) to stdout as indented JSON or block YAML. Returns 0 or -1. */
int ctl_fmt_print(struct json_t *j, enum ctl_output format);

/* Commands. */
int ctl_migrate(int argc, char **argv);
int ctl_apply(int argc, char **argv);
int ctl_diff(int argc, char **argv);
int ctl_get(int argc, char **argv);
int ctl_describe(int argc, char **argv);
int ctl_delete(int argc, char **argv);
int ctl_reconcile(int argc, char **argv);
int ctl_resync(int argc, char **argv);
int ctl_keys(int argc, char **argv);
int ctl_signup(int argc, char **argv);
int ctl_backfill(int argc, char **argv);
int ctl_connect_cursor(int argc, char **argv);
int ctl_events(int argc, char **argv);

/* How many of its newest events vibnctl describe shows. */
#define CTL_EVENTS_DESCRIBE 20
/* Prints describe's Events section (kubectl's shape) for workspace ws_id. 0 or -1. */
int ctl_events_describe(PGconn *conn, const char *ws_id);
int ctl_login_link(int argc, char **argv);

#endif
