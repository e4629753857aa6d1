#include "reconciler.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clients/db.h"
#include "common/util.h"

const struct reconciler *
reconciler_find(const struct reconciler *const *table, const char *name)
{
	for (; *table != NULL; table++)
		if (strcmp((*table)->name, name) == 0)
			return *table;
	return NULL;
}

void
reconciler_names(const struct reconciler *const *table, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (int i = 0; table[i] != NULL && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", table[i]->name);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

void
rec_done(struct rec_result *out)
{
	memset(out, 0, sizeof *out);
}

void
rec_requeue_after(struct rec_result *out, int64_t ms)
{
	rec_done(out);
	out->requeue_after_ms = ms < 1 ? 1 : ms; /* 0 would read as done */
}

void
rec_error(struct rec_result *out, enum rec_class cls, int64_t not_before_ms, const char *fmt, ...)
{
	va_list ap;

	rec_done(out);
	out->cls = cls;
	out->not_before_ms = not_before_ms > 0 ? util_now_ms() + not_before_ms : 0;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof out->message, fmt, ap);
	va_end(ap);
}

void
rec_fold(struct rec_result *out, enum rec_class cls, int64_t not_before_ms, const char *msg)
{
	if (cls > out->cls)
		out->cls = cls;
	if (not_before_ms > out->not_before_ms)
		out->not_before_ms = not_before_ms;
	if (out->message[0] == '\0')
		snprintf(out->message, sizeof out->message, "%s", msg);
}

const char *
rec_class_name(enum rec_class cls)
{
	switch (cls) {
	case REC_OK:
		return "ok";
	case REC_TRANSIENT:
		return "transient";
	case REC_RATE_LIMITED:
		return "rate_limited";
	case REC_PERMANENT:
		return "permanent";
	}
	return "unknown";
}

PGconn *
rec_db_take(struct rec_db *db, char **cause)
{
	return db->take(db, cause);
}

void
rec_db_give(struct rec_db *db, PGconn *conn)
{
	if (conn != NULL)
		db->give(db, conn);
}

int
rec_db_command(struct rec_db *db, const char *sql, int n, const char *const *params, char **cause)
{
	PGconn *conn = rec_db_take(db, cause);
	int rc;

	if (conn == NULL)
		return -1;
	rc = db_command_cached(conn, sql, n, params, cause);
	rec_db_give(db, conn);
	return rc;
}

static PGconn *
rec_db_one_take(struct rec_db *db, char **cause)
{
	struct rec_db_one *one = db->arg;

	(void)cause;
	pthread_mutex_lock(&one->lock);
	return one->conn;
}

static void
rec_db_one_give(struct rec_db *db, PGconn *conn)
{
	struct rec_db_one *one = db->arg;

	(void)conn;
	pthread_mutex_unlock(&one->lock);
}

void
rec_db_one_init(struct rec_db_one *one, PGconn *conn)
{
	one->db.take = rec_db_one_take;
	one->db.give = rec_db_one_give;
	one->db.arg = one;
	one->conn = conn;
	pthread_mutex_init(&one->lock, NULL);
}

void
rec_db_one_fini(struct rec_db_one *one)
{
	pthread_mutex_destroy(&one->lock);
}
