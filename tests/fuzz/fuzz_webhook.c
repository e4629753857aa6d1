/* libFuzzer target: the webhook payload parser and signature check never crash, leak or
 * read out of bounds on any body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webhook_event ev;
	char *cause = NULL;

	if (webhook_parse("repository", data, size, &ev, &cause) == 0)
		webhook_event_free(&ev);
	else
		free(cause);
	(void)webhook_verify("secret", data, size, (const char *)"0000", NULL);
	return 0;
}
