/* Status conditions in the shape of Kubernetes metav1.Condition:
 *   {type, status: True|False|Unknown, reason (CamelCase), message, lastTransitionTime,
 *    observedGeneration}
 * kept as a jansson array (the vibn_workspaces.conditions column). lastTransitionTime moves
 * only when status changes, so a steady state compares equal and writes nothing. */
#ifndef VIBN_CONDITIONS_H
#define VIBN_CONDITIONS_H

#include <jansson.h>

/* The condition types of DESIGN section 4, in display order. */
#define COND_COOLIFY_PROJECT "CoolifyProjectReady"
#define COND_GITEA_ORG       "GiteaOrgReady"
#define COND_MEMBERS         "MembersSynced"
#define COND_REPOS           "ReposSynced"
#define COND_WEBHOOK         "WebhookReady"
#define COND_APPS            "AppsReady"
#define COND_READY           "Ready"

enum cond_status { COND_TRUE, COND_FALSE, COND_UNKNOWN };

/* Sets condition `type` in conds (a JSON array, modified in place; borrowed). A new or
 * status-changed condition gets lastTransitionTime = now_rfc3339; otherwise the old time
 * stays. Returns 1 when anything about the condition changed, 0 when it was already so. */
int conditions_set(json_t *conds, const char *type, enum cond_status st, const char *reason,
                   const char *message, long long generation, const char *now_rfc3339);

/* Returns the condition object of that type in conds (borrowed), or NULL. */
json_t *conditions_find(const json_t *conds, const char *type);

/* 1 when condition `type` exists with status True. */
int conditions_is_true(const json_t *conds, const char *type);

/* Writes the current UTC time as RFC 3339 with second precision ("2026-11-28T20:00:00Z"). */
void conditions_now(char out[32]);

/* Parses a conditions array from the database's text. Returns a new reference; a NULL,
 * malformed or non-array text yields a new empty array, never NULL. */
json_t *conditions_parse(const char *text);

/* Serializes compactly with sorted keys so equal sets give equal text. Returns a new string. */
char *conditions_dump(const json_t *conds);

#endif
