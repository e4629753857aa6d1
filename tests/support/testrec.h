/* Reconcilers for tests and benchmarks, built only into the test daemon (vibnd-test),
 * never into the shipped vibnd. Their tables come from tests/support/test_schema.sql. */
#ifndef VIBN_TESTREC_H
#define VIBN_TESTREC_H

#include "reconcilers/reconciler.h"

/* "test": records every run in vibn_test_runs and behaves as vibn_test_behaviour says. */
extern const struct reconciler testrec_reconciler;
/* "noop": done at once (the queue's own cost, for benchmarks). */
extern const struct reconciler testrec_noop;

#endif
