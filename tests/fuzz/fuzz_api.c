/* libFuzzer target: the tenant API's request parsing (the POST keys body with its scopes
 * and expiry, the POST projects body, ?limit=, ?after=<seq>, ?deleteRepo=, slugs, key and
 * project ids, content types and delivery ids, the settings page's session cookie and link
 * durations) and the HTTP framing in front of it (request heads, chunk size lines, path and
 * query text) never crash, leak or read out of bounds, and what they accept obeys the rules.
 * Its corpus (tests/fuzz/corpus/fuzz_api/) is replayed by
 * tests/unit/test_fuzz_corpus.c in every `make test`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"
#include "tenancy/keys.h"
#include "common/xmalloc.h"
#include "api/api_parse.h"
#include "api/api_parse_project.h"
#include "manifests/mf_spec.h"
#include "httpd/httpd_frame.h"
#include "tenancy/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_api_printable(const char *s)
{
	for (const char *c = s; c != NULL && *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort(); /* shown to the client: one printable line */
}

/* A project body: accepted ones obey the rules, refused ones say why in one line. */
static void
fuzz_api_project(const uint8_t *data, size_t size)
{
	struct api_project_req r;
	char *field = NULL, *cause = NULL;
	int rc = api_parse_project(data, size, &r, &field, &cause);

	if (rc == 0) {
		if (cause != NULL || field != NULL || r.name == NULL ||
		    !names_valid_repo_name(r.name) || r.description == NULL ||
		    strlen(r.description) > 4 * MF_DESCRIPTION_MAX ||
		    (r.private != 0 && r.private != 1))
			abort();
		if (r.has_app && (!mf_spec_valid_build_pack(r.build_pack) ||
		                  !mf_spec_valid_ports(r.ports) || !mf_spec_valid_branch(r.branch)))
			abort();
		if (!r.has_app && (r.build_pack != NULL || r.ports != NULL || r.branch != NULL))
			abort();
		api_parse_project_free(&r);
		return;
	}
	if ((rc != API_PARSE_BAD && rc != API_PARSE_INVALID) || cause == NULL || r.name != NULL)
		abort();
	if (rc == API_PARSE_BAD && field != NULL)
		abort();
	fuzz_api_printable(cause);
	fuzz_api_printable(field);
	free(cause);
	free(field);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = NULL, *cause = NULL, *text;
	long limit;

	fuzz_api_project(data, size);
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
	if (api_parse_project_id(text) && (strlen(text) > 128 || strlen(text) == 0))
		abort();
	{
		long long seq = -1;
		int b = -1;

		cause = NULL;
		if (api_parse_project_seq(text, &seq, &cause) == 0) {
			if (cause != NULL || seq <= 0)
				abort();
		} else {
			if (cause == NULL || seq != 0)
				abort();
			free(cause);
		}
		cause = NULL;
		if (api_parse_project_bool("deleteRepo", text, &b, &cause) == 0) {
			if (cause != NULL || (b != 0 && b != 1))
				abort();
		} else {
			free(cause);
		}
	}
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
