/* libFuzzer target: the tenant API's request parsing (the POST keys body with its scopes
 * and expiry, ?limit=, slugs, key ids, content types and delivery ids) and the HTTP framing
 * in front of it (request heads, chunk size lines, path and query text) never crash, leak
 * or read out of bounds, and what they accept obeys the rules. Its corpus
 * (tests/fuzz/corpus/fuzz_api/) is replayed by tests/unit/test_fuzz_corpus.c in every `make test`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"
#include "tenancy/keys.h"
#include "common/xmalloc.h"
#include "api/api_parse.h"
#include "httpd/httpd_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = NULL, *cause = NULL, *text;
	long limit;

	struct api_key_request kr;
	struct httpd_frame *f;
	const char *why;
	uint64_t chunk;
	unsigned scopes;
	int st;

	if (api_parse_key_mint(data, size, 1700000000, &kr, &cause) == 0) {
		if (cause != NULL || kr.name == NULL || !keys_valid_name(kr.name) ||
		    (kr.scopes & ~KEYS_SCOPE_ALL) != 0 ||
		    (kr.expires_at[0] != '\0' && strlen(kr.expires_at) != KEYS_TIME_LEN))
			abort();
		free(kr.name);
	} else {
		if (cause == NULL || kr.name != NULL)
			abort();
		free(cause);
	}
	cause = NULL;
	/* The bytes as a request head, as they come off the socket. */
	f = xmalloc(sizeof *f);
	st = httpd_frame_head((const char *)data, size, f, &why);
	if (st == 0) {
		/* Accepted: one framing only, and a path. */
		if (why != NULL || (f->chunked && f->content_length >= 0) ||
		    (f->target[0] != '/' && strcmp(f->target, "*") != 0) || strlen(f->method) == 0)
			abort();
	} else if (why == NULL || (st != 400 && st != 417 && st != 431 && st != 501)) {
		abort();
	}
	free(f);
	if (httpd_frame_chunk_size((const char *)data, size, &chunk) == 0 && size == 0)
		abort();
	(void)httpd_frame_text_ok((const char *)data, size);
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
	if (keys_scopes_parse(text, &scopes, &cause) == 0) {
		char back[KEYS_SCOPES_MAX];

		keys_scopes_format(scopes, back);
		if (scopes == 0 || (scopes & ~KEYS_SCOPE_ALL) != 0 || strlen(back) != strlen(text))
			abort();
	} else {
		free(cause);
	}
	{
		char when[KEYS_TIME_LEN + 1];

		cause = NULL;
		if (keys_expiry_parse(text, 1700000000, when, &cause) == 0) {
			if (strlen(when) != KEYS_TIME_LEN ||
			    strcmp(when, "2023-11-14T22:13:20Z") <= 0)
				abort();
		} else {
			free(cause);
		}
	}
	free(text);
	return 0;
}
