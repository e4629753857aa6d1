/* One home for each naming rule the project checks: workspace slugs (DESIGN 4), uuids in
 * their text form, and Gitea's rules for user, org and repo names. Manifests, the API, MCP,
 * vibnctl, the tenancy gate and vibn-sim all ask here, so the daemon never accepts a name
 * the simulator (or Gitea) refuses. */
#ifndef VIBN_NAMES_H
#define VIBN_NAMES_H

/* The longest slug: vibn-{slug} must stay within Gitea's 40-character org names. */
#define NAMES_SLUG_MAX 32
/* Gitea's binding MaxSize on user and org names (modules/structs/org.go, admin_user.go) and
 * on repo names (modules/structs/repo.go). */
#define NAMES_USER_MAX 40
#define NAMES_REPO_MAX 100

/* 1 when s is a workspace slug: ^[a-z0-9]+(-[a-z0-9]+)*$, at most NAMES_SLUG_MAX
 * characters (so vibn-{slug} and vibn-ws-{slug} are valid upstream names). NULL: 0. */
int names_valid_slug(const char *s);
/* 1 when s is a uuid in its 36-character text form (either case). NULL: 0. */
int names_valid_uuid(const char *s);

/* 1 when s has the characters of a Gitea user or org name (modules/validation/helpers.go
 * IsValidUsername): ^[\da-zA-Z][-.\w]*$ without [-._]{2,} or a trailing [-._]. The length
 * is not checked here: Gitea's binding answers a long name with its own message. */
int names_gitea_username_chars(const char *s);
/* 1 when Gitea reserves s for users and orgs (models/user/user.go reservedUsernames and
 * reservedUserPatterns, compared case-insensitively as models/db/name.go IsUsableName
 * does). *pattern (when pattern is not NULL) is set to the pattern that matched, such as
 * "*.keys" (borrowed, static), or to NULL when the name itself is reserved. */
int names_gitea_user_reserved(const char *s, const char **pattern);
/* 1 when s is a Gitea user or org name that Gitea accepts: its characters, 1 to
 * NAMES_USER_MAX long, not reserved. NULL: 0. */
int names_valid_username(const char *s);

/* 1 when s is non-empty and only AlphaDashDot characters ([A-Za-z0-9_.-]: the binding of
 * gitea.com/go-chi/binding on repo names). */
int names_alpha_dash_dot(const char *s);
/* 1 when Gitea reserves s as a repo name (models/repo/repo.go reservedRepoNames and
 * reservedRepoPatterns); *pattern as for names_gitea_user_reserved. */
int names_gitea_repo_reserved(const char *s, const char **pattern);
/* 1 when s is a Gitea repo name that Gitea accepts (DESIGN 4): AlphaDashDot, 1 to
 * NAMES_REPO_MAX long, no "..", not reserved. Apps follow it too. NULL: 0. */
int names_valid_repo_name(const char *s);

#endif
