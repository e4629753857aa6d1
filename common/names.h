/* One home for each naming rule the project checks: workspace slugs (DESIGN 4), uuids in
 * their text form. Manifests, the API, MCP, vibnctl and the tenancy gate all ask here. */
#ifndef VIBN_NAMES_H
#define VIBN_NAMES_H

/* The longest slug: vibn-{slug} must stay within Gitea's 40-character org names. */
#define NAMES_SLUG_MAX 32

/* 1 when s is a workspace slug: ^[a-z0-9]+(-[a-z0-9]+)*$, at most NAMES_SLUG_MAX
 * characters (so vibn-{slug} and vibn-ws-{slug} are valid upstream names). NULL: 0. */
int names_valid_slug(const char *s);
/* 1 when s is a uuid in its 36-character text form (either case). NULL: 0. */
int names_valid_uuid(const char *s);

#endif
