/* The events route of the tenant API, with api.c's rules (a key sees its own workspace
 * only; anything else is 404 not_found):
 *
 *   GET /api/workspaces/{slug}/events   ?limit=1..1000 (100), ?after=<seq>
 *       -> {"workspace", "events": [...], "next": seq | null}
 *
 * Events come newest first (reconcilers/events.h has their shape); "next" is the cursor of
 * the following, older page. vibnd also prunes every workspace's events periodically
 * (VIBN_EVENT_KEEP, VIBN_EVENT_RETENTION), for workspaces that record nothing new. */
#ifndef VIBN_API_EVENTS_H
#define VIBN_API_EVENTS_H

#include "reconcilers/events.h"

/* Registers the route and the periodic prune (dbpool and the loop must be started).
 * admin_secret (copied) may be NULL; s is copied. */
void api_events_register(const char *admin_secret, const struct events_settings *s);
/* Stops the prune timer and forgets the admin secret. */
void api_events_stop(void);

#endif
