#include "webhook.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "common/xmalloc.h"

/* 1 when s is exactly 64 hex digits (either case; Gitea sends lower case). */
static int
webhook_is_hex64(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!isxdigit((unsigned char)s[n]))
			return 0;
	return n == 64;
}

int
webhook_verify(const char *secret, const void *body, size_t len, const char *gitea_sig,
               const char *hub_sig)
{
	char want[65], got[65];
	const char *sig = NULL;

	if (secret == NULL || *secret == '\0')
		return 0;
	if (gitea_sig != NULL && *gitea_sig != '\0')
		sig = gitea_sig;
	else if (hub_sig != NULL && strncmp(hub_sig, "sha256=", 7) == 0)
		sig = hub_sig + 7;
	if (sig == NULL || !webhook_is_hex64(sig))
		return 0;
	for (int i = 0; i < 64; i++)
		got[i] = (char)tolower((unsigned char)sig[i]);
	got[64] = '\0';
	util_hmac_sha256_hex(secret, strlen(secret), body, len, want);
	return util_ct_equal(want, 64, got, 64);
}

/* Reads obj[key] (or obj[key][sub] when sub is not NULL) into *out: a new copy when it is
 * a non-empty string, NULL when absent, null or empty. Returns -1 with *cause when the
 * field is there with another JSON type (a forged or broken payload, not an event to
 * ignore), or when obj[key] is not an object although sub is asked for. */
static int
webhook_field(json_t *obj, const char *key, const char *sub, char **out, char **cause)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	*out = NULL;
	if (sub != NULL && v != NULL && !json_is_null(v)) {
		if (!json_is_object(v)) {
			*cause = xasprintf("\"%s\" must be an object", key);
			return -1;
		}
		v = json_object_get(v, sub);
	}
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		*cause = sub != NULL ? xasprintf("\"%s.%s\" must be a string", key, sub)
		                     : xasprintf("\"%s\" must be a string", key);
		return -1;
	}
	s = json_string_value(v);
	*out = *s != '\0' ? xstrdup(s) : NULL;
	return 0;
}

int
webhook_parse(const char *event_header, const void *body, size_t len, struct webhook_event *ev,
              char **cause)
{
	json_error_t err;
	json_t *root, *repo;
	char *owner = NULL;

	memset(ev, 0, sizeof *ev);
	*cause = NULL;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*cause = xasprintf("invalid JSON at line %d column %d: %s", err.line, err.column,
		                   err.text);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*cause = xstrdup("the payload is not a JSON object");
		return -1;
	}
	ev->event = event_header != NULL && *event_header != '\0' ? xstrdup(event_header) : NULL;
	repo = json_object_get(root, "repository");
	if (repo != NULL && !json_is_null(repo) && !json_is_object(repo)) {
		*cause = xstrdup("\"repository\" must be an object");
		goto fail;
	}
	if (webhook_field(root, "action", NULL, &ev->action, cause) != 0 ||
	    webhook_field(root, "organization", "login", &ev->org, cause) != 0)
		goto fail;
	if (json_is_object(repo) && (webhook_field(repo, "owner", "login", &owner, cause) != 0 ||
	                             webhook_field(repo, "name", NULL, &ev->repo, cause) != 0))
		goto fail;
	if (ev->org == NULL) {
		ev->org = owner;
		owner = NULL;
	}
	free(owner);
	json_decref(root);
	return 0;
fail:
	free(owner);
	json_decref(root);
	webhook_event_free(ev);
	return -1;
}

void
webhook_event_free(struct webhook_event *ev)
{
	free(ev->event);
	free(ev->action);
	free(ev->org);
	free(ev->repo);
	memset(ev, 0, sizeof *ev);
}
