#include "db.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-events.h>

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

/* The statements prepared on one connection (db_exec_cached), by the hash of their text:
 * the connection's instance data, cleared when libpq resets it (a new session keeps none)
 * and freed with it. */
#define DB_PREPARED_MAX 64
struct db_prepared {
	size_t n;
	uint64_t ids[DB_PREPARED_MAX];
};

/* Set when a prepared statement went missing on a connection that had prepared it: a
 * transaction-mode pooler (pgbouncer before 1.21) between us and Postgres, which hands each
 * statement to any server connection. From then on, statements go unprepared. */
static atomic_int db_unprepared;

static int
db_event(PGEventId id, void *info, void *pass)
{
	(void)pass;
	if (id == PGEVT_CONNRESET) {
		struct db_prepared *p = PQinstanceData(((PGEventConnReset *)info)->conn, db_event);

		if (p != NULL)
			p->n = 0;
	} else if (id == PGEVT_CONNDESTROY) {
		free(PQinstanceData(((PGEventConnDestroy *)info)->conn, db_event));
	}
	return 1;
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
	/* Without the registry, db_exec_cached sends its statements unprepared. */
	if (PQregisterEventProc(conn, db_event, "vibn-prepared", NULL))
		PQsetInstanceData(conn, db_event, xcalloc(1, sizeof(struct db_prepared)));
	return conn;
}

/* FNV-1a, 64 bits: a statement's name from its text. */
static uint64_t
db_sql_id(const char *sql)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)sql; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

/* The result of a statement run: res when it is COMMAND_OK or TUPLES_OK, else NULL with a
 * one-line *cause (res cleared). */
static PGresult *
db_result(PGconn *conn, PGresult *res, char **cause)
{
	ExecStatusType st = PQresultStatus(res);

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

PGresult *
db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, char **cause)
{
	*cause = NULL;
	return db_result(conn, PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0),
	                 cause);
}

/* The index of statement id in p, or -1. */
static int
db_prepared_find(const struct db_prepared *p, uint64_t id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ids[i] == id)
			return (int)i;
	return -1;
}

/* Forgets statement k of p, deallocating it first when it is still on the server. */
static void
db_prepared_forget(PGconn *conn, struct db_prepared *p, int k, const char *name, int on_server)
{
	if (on_server) {
		char sql[64];

		snprintf(sql, sizeof sql, "DEALLOCATE %s", name);
		PQclear(PQexec(conn, sql));
	}
	p->ids[k] = p->ids[--p->n];
}

PGresult *
db_exec_cached(PGconn *conn, const char *sql, int nparams, const char *const *params, char **cause)
{
	struct db_prepared *p = PQinstanceData(conn, db_event);
	uint64_t id = db_sql_id(sql);
	char name[32];

	*cause = NULL;
	snprintf(name, sizeof name, "vibn_%016llx", (unsigned long long)id);
	for (int attempt = 0; p != NULL && !atomic_load(&db_unprepared); attempt++) {
		int k = db_prepared_find(p, id);
		PGresult *res;
		const char *state;

		if (k < 0) {
			if (p->n == DB_PREPARED_MAX)
				break;
			res = db_result(conn, PQprepare(conn, name, sql, nparams, NULL), cause);
			if (res == NULL)
				return NULL;
			PQclear(res);
			k = (int)p->n;
			p->ids[p->n++] = id;
		}
		res = PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
		state = db_sqlstate(res);
		if (PQresultStatus(res) != PGRES_FATAL_ERROR ||
		    PQtransactionStatus(conn) != PQTRANS_IDLE ||
		    (strcmp(state, "26000") != 0 && strcmp(state, "0A000") != 0))
			return db_result(conn, res, cause);
		/* 0A000: a migration changed what the statement returns ("cached plan must not
		 * change result type"); 26000: it is gone (DEALLOCATE, or a pooler in between).
		 * Prepared again, once. */
		db_prepared_forget(conn, p, k, name, strcmp(state, "0A000") == 0);
		PQclear(res);
		if (attempt == 0)
			continue;
		if (!atomic_exchange(&db_unprepared, 1))
			log_warn(
			    "postgres: statements prepared on a connection are not kept by it (a"
			    " transaction-mode pooler in between?); they go unprepared from now on");
		break;
	}
	return db_exec(conn, sql, nparams, params, cause);
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

int
db_command_cached(PGconn *conn, const char *sql, int nparams, const char *const *params,
                  char **cause)
{
	PGresult *res = db_exec_cached(conn, sql, nparams, params, cause);

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
