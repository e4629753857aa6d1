/* libFuzzer target: the tenant API's request parsing (the POST keys body, ?limit=, slugs,
 * key ids, content types and delivery ids, the settings page's session cookie and link
 * durations) never crashes, leaks or reads out of bounds, and
 * what it accepts obeys the rules. Its corpus (tests/fuzz/corpus/fuzz_api/) is replayed by
 * tests/unit/test_fuzz_corpus.c in every `make test`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"
#include "tenancy/keys.h"
#include "common/xmalloc.h"
#include "api/api_parse.h"
#include "tenancy/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = NULL, *cause = NULL, *text;
	long limit;

	if (api_parse_key_request(data, size, &name, &cause) == 0) {
		if (cause != NULL || name == NULL || !keys_valid_name(name))
			abort();
		free(name);
	} else {
		if (cause == NULL || name != NULL)
			abort();
		for (const char *c = cause; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				abort(); /* shown to the client: one printable line */
		free(cause);
	}
	/* The same bytes as header and path values (NUL-terminated, as libevent gives them). */
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	cause = NULL;
	if (api_parse_limit(text, &limit, &cause) == 0) {
		if (limit < 1 || limit > API_PARSE_PAGE_MAX)
			abort();
	} else {
		free(cause);
	}
	if (names_valid_slug(text) && (strlen(text) > 32 || strstr(text, "--") != NULL))
		abort();
	if (names_valid_uuid(text) && strlen(text) != 36)
		abort();
	if (api_parse_delivery(text) && strlen(text) > 128)
		abort();
	(void)api_parse_is_json(text);
	{
		char tok[SESSION_TOKEN_HEX + 1];
		long secs = -1;

		if (session_from_cookie(text, tok) ? !session_well_formed(tok) : tok[0] != '\0')
			abort();
		cause = NULL;
		if (session_parse_duration(text, SESSION_LINK_TTL_MAX, &secs, &cause) == 0) {
			if (cause != NULL || secs < 1 || secs > SESSION_LINK_TTL_MAX)
				abort();
		} else {
			if (cause == NULL)
				abort();
			free(cause);
		}
	}
	free(text);
	return 0;
}
