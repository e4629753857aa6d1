/* vibnctl: the ops CLI. Each command is a function taking its own argv (argv[0] is the
 * command name) and returning the exit code: 0 success, 1 failure, 2 usage error.
 * Errors go to stderr, one clear line each. */
#ifndef VIBN_CTL_H
#define VIBN_CTL_H

#include <libpq-fe.h>

#define CTL_OK    0
#define CTL_FAIL  1
#define CTL_USAGE 2

/* Connects to DATABASE_URL. Returns a new connection, or NULL after printing one line. */
PGconn *ctl_connect(void);

/* Prints "vibnctl: <message>" to stderr. */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Commands. */
int ctl_migrate(int argc, char **argv);
int ctl_resync(int argc, char **argv);

#endif
