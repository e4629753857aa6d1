/* vibnd-test: the daemon exactly as shipped, plus the test reconcilers ("test", "noop").
 * Integration tests and benchmarks of the queue and the HTTP API run it. */
#include "controller/daemon.h"
#include "tests/support/testrec.h"

static const struct reconciler *const vibnd_test_reconcilers[] = {
    &workspace_reconciler, &testrec_reconciler, &testrec_noop, NULL};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, vibnd_test_reconcilers);
}
