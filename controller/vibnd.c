/* vibnd: the reconciler daemon, with the product's reconciler. (Tests build the same
 * daemon with their own reconcilers as well: tests/support/vibnd_test.c.) */
#include "controller/daemon.h"

static const struct reconciler *const vibnd_reconcilers[] = {&workspace_reconciler, NULL};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, vibnd_reconcilers);
}
