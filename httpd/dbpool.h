/* dbpool: the database side of HTTP handlers. Handlers run on the loop thread and must not
 * block, so a request that needs Postgres hands a work function to dbpool, which runs it on
 * one of a small pool of database threads (each with its own connection) and sends the
 * reply it filled back on the loop thread:
 *
 *   static void
 *   thing_work(PGconn *db, void *arg, struct dbpool_reply *out)   // a database thread
 *   {
 *           ... queries on db (autocommit; leave it idle, not inside a transaction) ...
 *           dbpool_reply_json(out, 200, "{\"ok\": true}");
 *   }
 *
 *   static void
 *   thing_handler(struct httpd_req *req, void *arg)              // the loop thread
 *   {
 *           struct thing *t = ...copy what the work needs from req (headers, params, body)...;
 *           dbpool_submit(req, thing_work, t, thing_free);          // always answers req
 *   }
 *
 * Guarantees: every submitted request is answered exactly once, on the loop thread. Every
 * wait has a deadline: a request not answered within its deadline (the default is
 * VIBN_API_TIMEOUT, which is also statement_timeout on the connections, plus 0.2 s) gets 503
 * {"code":"timeout"} at once, even when the database hangs; one that waits in the queue
 * past its deadline is never run. The queue is bounded: when it is full, dbpool_submit
 * answers 503 {"code":"overloaded"} at once. One credential (the request's Authorization
 * and x-admin-secret headers) has at most per_owner requests queued or running: more get
 * 429 {"code":"too_many_requests"} at once. Webhooks have a queue and threads of their own. A
 * database that cannot be reached gives 503
 * {"code":"db_unavailable"} without calling the work function (connections are re-made on
 * the next request after a failure). The work function must not touch the httpd_req or
 * anything else of the loop thread; arg is its own until the job ends, when free_arg(arg)
 * runs on the loop thread (also when the work never ran). */
#ifndef VIBN_DBPOOL_H
#define VIBN_DBPOOL_H

#include <stdint.h>

#include <libpq-fe.h>

#include "common/buf.h"

struct httpd_req;

#define DBPOOL_MAX_HEADERS 4

/* What a work function answers. Starts as status 0 (sent as 500 "internal" if left so). */
struct dbpool_reply {
	int status;
	const char *content_type; /* static string; NULL: application/json */
	struct buf body;
	char *hname[DBPOOL_MAX_HEADERS]; /* owned */
	char *hvalue[DBPOOL_MAX_HEADERS];
	int nheaders;
};

/* Runs on a database thread. db is the thread's connection: connected, autocommit, with
 * statement_timeout set to the job's deadline. */
typedef void (*dbpool_work)(PGconn *db, void *arg, struct dbpool_reply *out);

struct dbpool_config {
	const char *conninfo; /* borrowed until dbpool_stop */
	int threads;          /* database threads (and connections), >= 1 */
	int queue_max;        /* pending jobs before 503 overloaded; 0: 1024 */
	int64_t timeout_ms;   /* default deadline of a request, queue wait included */
	const char *appname;  /* application_name of the connections; NULL: "vibnd-api" */
	int webhook_threads;  /* more threads, for batched (webhook) jobs only; 0: none */
	int per_owner;        /* requests one credential may have queued or running; 0: any */
};

/* Starts the threads (connections are made on first use). Call once, on the loop thread,
 * after loop_init. */
void dbpool_start(const struct dbpool_config *cfg);
/* Stops: running jobs finish (their deadline bounds them), queued ones get 503, every reply
 * still owed is sent. Call on the loop thread BEFORE httpd_stop. */
void dbpool_stop(void);

/* Defers req and runs fn(db, arg, reply) on a database thread; the reply is sent on the
 * loop thread. Call on the loop thread, from a handler. req NULL: a background job whose
 * reply is discarded (e.g. periodic cleanup). Returns 0, or -1 when the job was refused
 * (queue full, or stopped): req was answered with 503 and free_arg(arg) already ran. */
int dbpool_submit(struct httpd_req *req, dbpool_work fn, void *arg, void (*free_arg)(void *));
/* dbpool_submit for work that writes: fn runs inside a transaction (it must not BEGIN or
 * COMMIT itself), committed only if the request is still owed its answer when fn returns.
 * A request whose deadline passed first was answered 503 "timeout" and its work is rolled
 * back, so that answer is true; one whose deadline passes during the COMMIT is given the
 * deadline once more, then 503 "commit_unknown" (never "timeout" for a change that may
 * have landed). fn may call dbpool_cancelled to stop early. */
int dbpool_submit_tx(struct httpd_req *req, dbpool_work fn, void *arg, void (*free_arg)(void *));
/* 1 when the request of this work function's reply was answered already (its deadline
 * passed): stop, the work is rolled back (dbpool_submit_tx) or its answer dropped. */
int dbpool_cancelled(struct dbpool_reply *out);
/* dbpool_cancelled for the job this database thread is running, for code that has no reply
 * at hand (a loop deep in a handler); 0 on any other thread. */
int dbpool_stop_requested(void);

/* dbpool_submit with its own deadline in milliseconds (e.g. long admin operations). */
int dbpool_submit_timeout(struct httpd_req *req, dbpool_work fn, void *arg,
                          void (*free_arg)(void *), int64_t timeout_ms);

/* Batched work: runs n jobs submitted with the same function in one go (one round trip,
 * one transaction: group commit), args[i] and outs[i] for each; n is 1 under light load and
 * up to DBPOOL_BATCH_MAX under a burst. Same rules as dbpool_work otherwise. */
#define DBPOOL_BATCH_MAX 64
typedef void (*dbpool_batch_work)(PGconn *db, void *const *args, struct dbpool_reply *const *outs,
                                  int n);
/* What answers a request instead of the 503 dbpool would send when its database work did
 * not happen or failed: the database could not be reached (why "db_unavailable"), did not
 * answer in time ("timeout"; the work may still run and commit later), the queue was full
 * ("overloaded"), dbpool is stopping ("shutting_down"), or the work function answered 503
 * itself ("db_error"). Runs on the loop thread; it must answer req. arg stays the job's
 * (freed by free_arg after). */
typedef void (*dbpool_fallback)(struct httpd_req *req, void *arg, const char *why);
/* dbpool_submit for batched work (webhook deliveries): the job waits in its own queue,
 * served first and by the webhook threads alone if there are any, and the thread that
 * takes it also takes the other queued jobs of the same function (up to DBPOOL_BATCH_MAX).
 * fallback answers instead of a 503 (the webhook route spools the delivery to disk). */
int dbpool_submit_batch_fallback(struct httpd_req *req, dbpool_batch_work fn, void *arg,
                                 void (*free_arg)(void *), dbpool_fallback fallback);

/* db_exec through a statement prepared once per connection under name (unique per SQL
 * text): hot paths skip the parse and plan of every call. Same contract as db_exec. */
PGresult *dbpool_exec(PGconn *db, const char *name, const char *sql, int nparams,
                      const char *const *params, char **cause) __attribute__((warn_unused_result));

/* Reply helpers, for work functions (any thread; they only touch *out). */
void dbpool_reply_json(struct dbpool_reply *out, int status, const char *json);
/* {"error": "<message>", "code": "<code>"}. */
void dbpool_reply_error(struct dbpool_reply *out, int status, const char *code, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* Adds a response header (copied; at most DBPOOL_MAX_HEADERS, further ones are dropped). */
void dbpool_reply_header(struct dbpool_reply *out, const char *name, const char *value);
/* A database failure: 503 {"code":"db_error"}; logs cause (which must hold no secret). */
void dbpool_reply_db_error(struct dbpool_reply *out, const char *what, const char *cause);

#endif
