/* Postgres helpers on libpq: connections with one-line errors, parameterized queries.
 * All SQL goes through parameters; nothing here formats values into SQL text. */
#ifndef VIBN_DB_H
#define VIBN_DB_H

#include <libpq-fe.h>

#include <jansson.h>

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

/* db_exec and db_command for a statement a connection runs again and again (sql: a constant
 * text): prepared once per connection (named after a hash of the text), then only
 * executed, which spares Postgres parsing and planning it every time. The connection must
 * come from db_connect (else, as after a pooler that does not keep prepared statements is
 * noticed, the statement goes unprepared). At most 64 statements are kept per connection;
 * past that, they go unprepared too. */
PGresult *db_exec_cached(PGconn *conn, const char *sql, int nparams, const char *const *params,
                         char **cause) __attribute__((warn_unused_result));
int db_command_cached(PGconn *conn, const char *sql, int nparams, const char *const *params,
                      char **cause) __attribute__((warn_unused_result));

/* A unit of work that must commit or roll back as one, whether or not the caller already
 * holds a transaction (a database thread of the API wraps some requests in one, so that a
 * request answered 503 commits nothing): BEGIN when the connection is idle, else a
 * SAVEPOINT inside the caller's transaction. db_tx_end releases or rolls back just that
 * unit; the caller's transaction, if any, decides the final COMMIT. */
struct db_tx {
	int nested; /* a savepoint inside the caller's transaction */
};
int db_tx_begin(PGconn *conn, struct db_tx *tx, char **cause) __attribute__((warn_unused_result));
/* Ends the unit: commit (COMMIT or RELEASE; its failure is -1 with *cause) or not (ROLLBACK
 * or ROLLBACK TO; a failure is logged). */
int db_tx_end(PGconn *conn, const struct db_tx *tx, int commit, char **cause);

/* The SQLSTATE of a failed result, or "" when there is none. */
const char *db_sqlstate(const PGresult *res);

/* Reading a result's columns, where SQL NULL is not "": */
/* The column's text, borrowed from res (valid until PQclear), or NULL for SQL NULL. */
const char *db_text(const PGresult *res, int row, int col);
/* A new copy of the column's text, or NULL for SQL NULL. */
char *db_text_dup(const PGresult *res, int row, int col);
/* The column as a new JSON value: its text as a string, or null for SQL NULL. */
json_t *db_json_text(const PGresult *res, int row, int col);
/* An integer column as a new JSON value: a number, or null for SQL NULL. */
json_t *db_json_int(const PGresult *res, int row, int col);
/* 1 when a boolean column is true (SQL NULL counts as false). */
int db_bool(const PGresult *res, int row, int col);

#endif
