/* Parsing of tenant API and webhook requests: pure functions of the request's text, so they
 * are unit-tested and fuzzed (tests/fuzz/fuzz_api.c) apart from the HTTP server. */
#ifndef VIBN_API_PARSE_H
#define VIBN_API_PARSE_H

#include <stddef.h>
#include <time.h>

#define API_PARSE_PAGE_DEFAULT 100
#define API_PARSE_PAGE_MAX     1000

/* 1 when a Content-Type header value names JSON: "application/json", any case, optionally
 * followed by parameters ("; charset=utf-8"). NULL: 0. */
int api_parse_is_json(const char *content_type);

/* Parses the body of POST /api/workspaces/{slug}/keys: a JSON object {"name": "<name>"}
 * (the only field; the name as keys_valid_name accepts). Returns 0 with *name (a new
 * string), or -1 with a one-line *cause (a new string) fit to show the client. */
int api_parse_key_request(const void *body, size_t len, char **name, char **cause)
    __attribute__((warn_unused_result));

/* The body of POST /api/workspaces/{slug}/keys in full:
 *   {"name": "ci", "scopes": ["read", "write"], "expires": "30d"}
 * "scopes" (optional; 0 when absent) is a non-empty array of distinct scope names
 * (read, write, keys); "expires" (optional; "" when absent) is what keys_expiry_parse
 * takes, resolved against now into expires_at. */
struct api_key_request {
	char *name;          /* owned */
	unsigned scopes;     /* KEYS_SCOPE_* bits; 0: not given */
	char expires_at[24]; /* "YYYY-MM-DDTHH:MM:SSZ", or "" */
};
/* Returns 0 with *req filled (free req->name), or -1 with a one-line *cause. */
int api_parse_key_mint(const void *body, size_t len, time_t now, struct api_key_request *req,
                       char **cause) __attribute__((warn_unused_result));

/* Parses a ?limit= value: NULL gives API_PARSE_PAGE_DEFAULT; otherwise a decimal from 1 to
 * API_PARSE_PAGE_MAX. Returns 0, or -1 with a one-line *cause. */
int api_parse_limit(const char *text, long *limit, char **cause)
    __attribute__((warn_unused_result));

/* Makes s (client-influenced text, e.g. a parser's message quoting the input) one line of
 * printable ASCII, in place: other bytes become '?'. */
void api_parse_oneline(char *s);

/* 1 when s is an acceptable X-Gitea-Delivery value: 1 to 128 printable ASCII characters. */
int api_parse_delivery(const char *s);

#endif
