/* vibnd: the reconciler daemon. The event loop, queue and workers land with the daemon
 * core issue; until then the binary only describes itself and refuses to run. */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: vibnd [options]\n\nThe vibn reconciler daemon (not functional yet).\n");
		return 0;
	}
	fprintf(stderr, "vibnd: the daemon core is not built yet\n");
	return 1;
}
