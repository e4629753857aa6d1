/* Test databases for C integration tests: each test gets a fresh copy of the migrated
 * template that tests/run.sh prepared (VIBN_TEST_ADMIN_URL, VIBN_TEST_TEMPLATE). */
#ifndef VIBN_TESTDB_H
#define VIBN_TESTDB_H

/* Creates a fresh migrated database. Returns its connection URL (a new string); aborts
 * the test program when the harness variables are missing or Postgres refuses. */
char *testdb_create(void);
/* Drops the database named in url and frees url. */
void testdb_drop(char *url);

#endif
