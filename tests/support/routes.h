/* Checks requests against the clients' route tables (struct http_route) and the tables
 * against the upstream specs in ../shared/specs (Gitea's Swagger 2.0, Coolify's OpenAPI 3.1),
 * parsed with jansson at test time. */
#ifndef VIBN_TEST_ROUTES_H
#define VIBN_TEST_ROUTES_H

#include <stddef.h>

#include <jansson.h>

#include "clients/http.h"

/* Loads ../shared/specs/<file> (from $VIBN_SPECS, else $VIBN_ROOT/../shared/specs, else
 * ../shared/specs). Returns a new reference, or NULL with a one-line *why (a new string)
 * saying which file is missing and where it was looked for. */
json_t *routes_load_spec(const char *file, char **why);

/* Checks one route against a spec: the operation exists, its query parameters are declared,
 * every body field it sends is a property, and every required property is sent. Returns 0,
 * or -1 with *why (a new string). */
int routes_check_spec(const json_t *spec, const struct http_route *r, char **why);

/* Finds the route of a request that was sent: method equal, path matching the template
 * segment by segment ({x} matches one segment), query keys among r->query, body keys among
 * the route's fields with every "always" field present and exactly one of "one_of".
 * Returns the index in table, or -1 with *why (a new string). */
int routes_match(const struct http_route *table, size_t n, const char *method, const char *path,
                 const json_t *body, char **why);

/* Installs an HTTP tracer that matches every request the Gitea and Coolify clients send
 * against their tables (thread-safe), recording mismatches and which entries were used. */
void routes_trace_start(void);
/* Prints (to stderr) each mismatch seen for upstream ("gitea" or "coolify") and, when
 * require_all, each table entry never exercised; returns how many problems there were. */
int routes_trace_report(const char *upstream, int require_all);
/* Removes the tracer and forgets what it saw. */
void routes_trace_stop(void);

#endif
