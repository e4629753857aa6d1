/* Postgres helpers on libpq: connections with one-line errors, parameterized queries.
 * All SQL goes through parameters; nothing here formats values into SQL text. */
#ifndef VIBN_DB_H
#define VIBN_DB_H

#include <libpq-fe.h>

/* Connects to conninfo (a libpq URI or key=value string) with a connect timeout and
 * application_name unless the string sets them. Returns a new connection, or NULL with a
 * one-line *cause (owned by the caller). */
PGconn *db_connect(const char *conninfo, const char *appname, char **cause)
    __attribute__((warn_unused_result));

/* Returns a new one-line copy of a libpq message: newlines and tabs folded, trailing
 * space trimmed. */
char *db_oneline(const char *msg);

/* Runs sql with text parameters (NULL entries are SQL NULL). Returns the result (the
 * caller PQclears it) when it is COMMAND_OK or TUPLES_OK; otherwise NULL with a one-line
 * *cause. */
PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
                  char **cause) __attribute__((warn_unused_result));

/* db_exec for statements whose rows are not needed: 0 on success, -1 with *cause. */
int db_command(PGconn *conn, const char *sql, int nparams, const char *const *params, char **cause)
    __attribute__((warn_unused_result));

/* The SQLSTATE of a failed result, or "" when there is none. */
const char *db_sqlstate(const PGresult *res);

#endif
