#include "db.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"

/* libpq routes notices to stderr by default; send them to our log at debug level. */
static void
db_notice(void *arg, const char *message)
{
	char *line = db_oneline(message);

	log_debug("postgres: %s", line);
	free(line);
}

char *
db_oneline(const char *msg)
{
	char *out, *p;
	size_t n;

	if (msg == NULL || *msg == '\0')
		return xstrdup("unknown database error");
	out = xmalloc(strlen(msg) * 2 + 1);
	p = out;
	for (const char *s = msg; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t') {
			/* Fold continuation lines into "; " separated clauses. */
			while (p > out && p[-1] == ' ')
				p--;
			if (p > out && s[1] != '\0' && p[-1] != ';' && s[1] != '\n') {
				*p++ = ';';
				*p++ = ' ';
			}
			while (s[1] == '\t' || s[1] == ' ')
				s++;
			continue;
		}
		*p++ = *s;
	}
	*p = '\0';
	n = strlen(out);
	while (n > 0 && (isspace((unsigned char)out[n - 1]) || out[n - 1] == ';'))
		out[--n] = '\0';
	return out;
}

PGconn *
db_connect(const char *conninfo, const char *appname, char **cause)
{
	/* Earlier keywords are defaults: the expanded conninfo (dbname) overrides them. */
	const char *keys[] = {"application_name", "connect_timeout", "dbname", NULL};
	const char *vals[] = {appname ? appname : "vibn", "5", conninfo, NULL};
	PGconn *conn;

	*cause = NULL;
	if (conninfo == NULL || *conninfo == '\0') {
		*cause = xstrdup("empty database connection string");
		return NULL;
	}
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL) {
		*cause = xstrdup("out of memory connecting to the database");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		char *msg = db_oneline(PQerrorMessage(conn));

		*cause = xasprintf("cannot connect to the database: %s", msg);
		free(msg);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, db_notice, NULL);
	return conn;
}

PGresult *
db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, char **cause)
{
	PGresult *res;
	ExecStatusType st;

	*cause = NULL;
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	*cause = db_oneline(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	if (**cause == '\0' || strcmp(*cause, "unknown database error") == 0) {
		free(*cause);
		*cause = db_oneline(PQerrorMessage(conn));
	}
	PQclear(res);
	return NULL;
}

int
db_command(PGconn *conn, const char *sql, int nparams, const char *const *params, char **cause)
{
	PGresult *res = db_exec(conn, sql, nparams, params, cause);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

const char *
db_text(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

char *
db_text_dup(const PGresult *res, int row, int col)
{
	return xstrdup(db_text(res, row, col));
}

json_t *
db_json_text(const PGresult *res, int row, int col)
{
	const char *s = db_text(res, row, col);

	return s != NULL ? json_string(s) : json_null();
}

json_t *
db_json_int(const PGresult *res, int row, int col)
{
	const char *s = db_text(res, row, col);

	return s != NULL ? json_integer(strtoll(s, NULL, 10)) : json_null();
}

int
db_bool(const PGresult *res, int row, int col)
{
	/* libpq shows a NULL as "", so it reads as false. */
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

int
db_tx_begin(PGconn *conn, struct db_tx *tx, char **cause)
{
	tx->nested = PQtransactionStatus(conn) == PQTRANS_INTRANS;
	return db_command(conn, tx->nested ? "SAVEPOINT db_tx" : "BEGIN", 0, NULL, cause);
}

int
db_tx_end(PGconn *conn, const struct db_tx *tx, int commit, char **cause)
{
	char *err = NULL;

	if (commit)
		return db_command(conn, tx->nested ? "RELEASE SAVEPOINT db_tx" : "COMMIT", 0, NULL,
		                  cause);
	if (db_command(conn, tx->nested ? "ROLLBACK TO SAVEPOINT db_tx" : "ROLLBACK", 0, NULL,
	               &err) != 0) {
		log_warn("rolling back: %s", err);
		free(err);
	}
	return 0;
}
