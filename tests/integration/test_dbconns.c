/* dbconns: the workers' shared Postgres connections, lent one statement at a time (issue
 * 17): never more open than the pool's size, a taker waits while all are lent and gives up
 * at its deadline, a connection given back inside a transaction is rolled back, a broken one
 * is replaced, and the reconcilers' lender says why it has none. And db_exec_cached, the
 * statements those connections prepare once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "clients/db.h"
#include "common/util.h"
#include "engine/dbconns.h"
#include "tests/support/testdb.h"

static _Atomic int observed_lent, observed_idle, observed_waits;

static void
observe(int lent, int idle, int waited)
{
	atomic_store(&observed_lent, lent);
	atomic_store(&observed_idle, idle);
	if (waited)
		atomic_fetch_add(&observed_waits, 1);
}

/* The count a one-parameter query returns. */
static long
count_of(PGconn *conn, const char *sql, const char *param)
{
	const char *params[1] = {param};
	char *cause = NULL;
	PGresult *res = db_exec(conn, sql, 1, params, &cause);
	long n;

	assert_non_null(res);
	n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

static long
backends(PGconn *admin, const char *app)
{
	return count_of(admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
	                app);
}

static void
test_two_connections_lent_in_turn(void **state)
{
	char *url = testdb_create(), *cause = NULL;
	PGconn *admin = db_connect(url, "test", &cause);
	struct dbconns *p = dbconns_new(url, "test-dbconns", 2, observe);
	PGconn *a = NULL, *b = NULL, *c = NULL;
	int64_t t0;

	assert_non_null(admin);
	assert_int_equal(dbconns_take(p, util_now_ms() + 1000, &a, &cause), 0);
	assert_int_equal(dbconns_take(p, util_now_ms() + 1000, &b, &cause), 0);
	assert_true(a != b);
	assert_int_equal(atomic_load(&observed_lent), 2);
	/* Both lent: a third taker waits, and gives up at its deadline. */
	t0 = util_now_ms();
	assert_int_equal(dbconns_take(p, t0 + 200, &c, &cause), 1);
	assert_null(c);
	assert_true(util_now_ms() - t0 >= 190);
	assert_int_equal(atomic_load(&observed_waits), 1);
	/* One given back is the next taker's: no third connection is opened. */
	dbconns_give(p, a);
	assert_int_equal(atomic_load(&observed_idle), 1);
	assert_int_equal(dbconns_take(p, util_now_ms() + 1000, &c, &cause), 0);
	assert_ptr_equal(c, a);
	assert_int_equal(backends(admin, "test-dbconns"), 2);
	dbconns_give(p, b);
	dbconns_give(p, c);
	assert_int_equal(atomic_load(&observed_lent), 0);
	assert_int_equal(atomic_load(&observed_idle), 2);
	dbconns_free(p);
	PQfinish(admin);
	testdb_drop(url);
}

struct taker {
	struct dbconns *p;
	PGconn *got;
	int rc;
};

static void *
taker_main(void *arg)
{
	struct taker *t = arg;
	char *cause = NULL;

	t->rc = dbconns_take(t->p, util_now_ms() + 5000, &t->got, &cause);
	free(cause);
	return NULL;
}

static void
test_a_waiting_taker_gets_the_connection_given_back(void **state)
{
	char *url = testdb_create(), *cause = NULL;
	struct dbconns *p = dbconns_new(url, "test-dbconns", 1, NULL);
	struct taker t = {.p = p, .rc = -2};
	PGconn *a = NULL;
	pthread_t th;

	assert_int_equal(dbconns_take(p, util_now_ms() + 1000, &a, &cause), 0);
	assert_int_equal(pthread_create(&th, NULL, taker_main, &t), 0);
	usleep(100000); /* lets the taker start waiting; the result does not depend on it */
	dbconns_give(p, a);
	pthread_join(th, NULL);
	assert_int_equal(t.rc, 0);
	assert_ptr_equal(t.got, a);
	dbconns_give(p, t.got);
	dbconns_free(p);
	testdb_drop(url);
}

static void
test_open_transaction_rolled_back_and_broken_connection_replaced(void **state)
{
	char *url = testdb_create(), *cause = NULL;
	PGconn *admin = db_connect(url, "test", &cause);
	struct dbconns *p = dbconns_new(url, "test-dbconns", 1, NULL);
	PGconn *a = NULL, *b = NULL;
	PGresult *res;

	assert_non_null(admin);
	assert_int_equal(dbconns_take(p, util_now_ms() + 1000, &a, &cause), 0);
	assert_int_equal(db_command(a, "BEGIN", 0, NULL, &cause), 0);
	assert_int_equal(db_command(a, "CREATE TABLE left_open (x int)", 0, NULL, &cause), 0);
	dbconns_give(p, a);
	assert_int_equal(dbconns_take(p, util_now_ms() + 1000, &b, &cause), 0);
	assert_ptr_equal(b, a);
	assert_int_equal(PQtransactionStatus(b), PQTRANS_IDLE);
	res = db_exec(b, "SELECT to_regclass('left_open') IS NULL", 0, NULL, &cause);
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "t"); /* rolled back, not committed */
	PQclear(res);
	/* The server ends it: the statement fails, and the pool opens a new one. */
	assert_int_equal(db_command(admin,
	                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	                            " WHERE application_name = 'test-dbconns'",
	                            0, NULL, &cause),
	                 0);
	assert_int_not_equal(db_command(b, "SELECT 1", 0, NULL, &cause), 0);
	free(cause);
	cause = NULL;
	dbconns_give(p, b);
	assert_int_equal(dbconns_take(p, util_now_ms() + 1000, &a, &cause), 0);
	assert_int_equal(PQstatus(a), CONNECTION_OK);
	assert_int_equal(db_command(a, "SELECT 1", 0, NULL, &cause), 0);
	dbconns_give(p, a);
	dbconns_free(p);
	PQfinish(admin);
	testdb_drop(url);
}

static void
test_lender_says_why_it_has_none(void **state)
{
	struct dbconns *p =
	    dbconns_new("postgresql://127.0.0.1:1/none?connect_timeout=2", "test-dbconns", 1, NULL);
	struct rec_db *db = dbconns_lender(p);
	char *cause = NULL;

	/* Postgres unreachable: the connect's own error, and the slot free again. */
	assert_null(rec_db_take(db, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "127.0.0.1"));
	free(cause);
	cause = NULL;
	assert_int_equal(rec_db_command(db, "SELECT 1", 0, NULL, &cause), -1);
	assert_non_null(cause);
	free(cause);
	dbconns_free(p);
}

/* How many statements the connection has prepared with this text. */
static long
prepared(PGconn *conn, const char *sql)
{
	return count_of(conn, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
	                sql);
}

/* Runs sql with db_exec_cached; returns its number of columns (the first row's first
 * value in *first). */
static int
run_cached(PGconn *conn, const char *sql, long *first)
{
	char *cause = NULL;
	PGresult *res = db_exec_cached(conn, sql, 0, NULL, &cause);
	int cols;

	if (res == NULL)
		fail_msg("%s: %s", sql, cause);
	cols = PQnfields(res);
	*first = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return cols;
}

static const char cached_sql[] = "SELECT * FROM vibn_test_cached()";

/* A statement run again and again is prepared once per connection; a migration that
 * changes what it returns, a DEALLOCATE, or a reset connection costs one more prepare, not
 * an error. */
static void
test_cached_statements_prepared_once_and_again_when_needed(void **state)
{
	char *url = testdb_create(), *cause = NULL;
	PGconn *conn = db_connect(url, "test-dbconns", &cause);
	long v = 0;

	(void)state;
	assert_non_null(conn);
	assert_int_equal(db_command(conn,
	                            "CREATE FUNCTION vibn_test_cached() RETURNS TABLE (a int)"
	                            " LANGUAGE sql AS 'SELECT 1'",
	                            0, NULL, &cause),
	                 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(run_cached(conn, cached_sql, &v), 1);
	assert_int_equal(v, 1);
	assert_int_equal(prepared(conn, cached_sql), 1);

	/* The result's shape changes under the prepared statement. */
	assert_int_equal(db_command(conn, "DROP FUNCTION vibn_test_cached()", 0, NULL, &cause), 0);
	assert_int_equal(
	    db_command(conn,
	               "CREATE FUNCTION vibn_test_cached() RETURNS TABLE (a int, b int)"
	               " LANGUAGE sql AS 'SELECT 2, 3'",
	               0, NULL, &cause),
	    0);
	assert_int_equal(run_cached(conn, cached_sql, &v), 2);
	assert_int_equal(v, 2);
	assert_int_equal(prepared(conn, cached_sql), 1);

	/* Gone behind our back: prepared again (and statements stay prepared after). */
	assert_int_equal(db_command(conn, "DEALLOCATE ALL", 0, NULL, &cause), 0);
	assert_int_equal(run_cached(conn, cached_sql, &v), 2);
	assert_int_equal(prepared(conn, cached_sql), 1);

	/* A reset connection is a new session: its registry starts empty. */
	PQreset(conn);
	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	assert_int_equal(prepared(conn, cached_sql), 0);
	assert_int_equal(run_cached(conn, cached_sql, &v), 2);
	assert_int_equal(prepared(conn, cached_sql), 1);
	PQfinish(conn);
	testdb_drop(url);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_connections_lent_in_turn),
	    cmocka_unit_test(test_a_waiting_taker_gets_the_connection_given_back),
	    cmocka_unit_test(test_open_transaction_rolled_back_and_broken_connection_replaced),
	    cmocka_unit_test(test_lender_says_why_it_has_none),
	    cmocka_unit_test(test_cached_statements_prepared_once_and_again_when_needed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
