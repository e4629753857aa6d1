/* Gitea webhook deliveries: signature verification and payload parsing. Pure functions of
 * the request, so they are unit-tested and fuzzed apart from the HTTP server. */
#ifndef VIBN_WEBHOOK_H
#define VIBN_WEBHOOK_H

#include <stddef.h>

/* Largest body accepted; larger deliveries get 413. Gitea's repository payloads are a few KiB. */
#define WEBHOOK_MAX_BODY (1024 * 1024)

/* Checks the HMAC-SHA256 of body under secret against X-Gitea-Signature (plain lower-case
 * hex) or, when that is absent, X-Hub-Signature-256 ("sha256=<hex>"). Either header may be
 * NULL. Compares in constant time. Returns 1 when valid, 0 otherwise (missing, empty,
 * malformed or wrong). */
int webhook_verify(const char *secret, const void *body, size_t len, const char *gitea_sig,
                   const char *hub_sig);

struct webhook_event {
	char *event;  /* X-Gitea-Event, e.g. "repository" */
	char *action; /* payload "action" ("created", "deleted"), or NULL */
	char *org;    /* organization.login, else repository.owner.login; NULL if neither */
	char *repo;   /* repository.name, or NULL */
};

/* Parses a delivery's JSON body. event_header is X-Gitea-Event (may be NULL). Fills *ev with
 * new strings (free with webhook_event_free). Returns 0, or -1 with a one-line *cause
 * (owned by the caller) when the body is not a JSON object. */
int webhook_parse(const char *event_header, const void *body, size_t len, struct webhook_event *ev,
                  char **cause) __attribute__((warn_unused_result));
void webhook_event_free(struct webhook_event *ev);

#endif
