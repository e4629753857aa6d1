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

/* A new copy of obj[key][sub] (or obj[key] when sub is NULL) if it is a non-empty string. */
static char *
webhook_str(json_t *obj, const char *key, const char *sub)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (sub != NULL)
		v = json_object_get(v, sub);
	s = json_string_value(v);
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

int
webhook_parse(const char *event_header, const void *body, size_t len, struct webhook_event *ev,
              char **cause)
{
	json_error_t err;
	json_t *root, *repo;

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
	ev->action = webhook_str(root, "action", NULL);
	ev->org = webhook_str(root, "organization", "login");
	repo = json_object_get(root, "repository");
	if (ev->org == NULL && json_is_object(repo))
		ev->org = webhook_str(repo, "owner", "login");
	if (json_is_object(repo))
		ev->repo = webhook_str(repo, "name", NULL);
	json_decref(root);
	return 0;
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
