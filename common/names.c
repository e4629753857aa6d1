#include "names.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "util.h"

int
names_valid_slug(const char *s)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 0 || len > NAMES_SLUG_MAX || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-') {
			if (s[i + 1] == '-')
				return 0;
		} else if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) {
			return 0;
		}
	}
	return 1;
}

int
names_valid_uuid(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* Gitea reserves these for users and orgs because they are routes of its web UI or its
 * own accounts: models/user/user.go reservedUsernames on Gitea main. openapi3.v1.json is new
 * there (1.26.4 does not reserve it); refusing it everywhere keeps a manifest valid on
 * both. */
static const char *const names_reserved_users[] = {".",
                                                   "..",
                                                   ".well-known",
                                                   "api",
                                                   "metrics",
                                                   "v2",
                                                   "assets",
                                                   "attachments",
                                                   "avatar",
                                                   "avatars",
                                                   "repo-avatars",
                                                   "captcha",
                                                   "login",
                                                   "org",
                                                   "repo",
                                                   "user",
                                                   "explore",
                                                   "issues",
                                                   "pulls",
                                                   "milestones",
                                                   "notifications",
                                                   "favicon.ico",
                                                   "manifest.json",
                                                   "robots.txt",
                                                   "sitemap.xml",
                                                   "ssh_info",
                                                   "swagger.v1.json",
                                                   "openapi3.v1.json",
                                                   "ghost",
                                                   "gitea-actions"};
/* reservedUserPatterns: /{user}.keys and the like are the user's own files. */
static const char *const names_reserved_user_patterns[] = {"*.keys", "*.gpg", "*.rss", "*.atom",
                                                           "*.png"};
/* models/repo/repo.go reservedRepoNames and reservedRepoPatterns. */
static const char *const names_reserved_repos[] = {".", "..", "-"};
static const char *const names_reserved_repo_patterns[] = {"*.git", "*.wiki", "*.rss", "*.atom"};

static int
names_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* models/db/name.go IsUsableName: names compare whole, patterns ("*.x" or "x*") by suffix
 * or prefix, all case-insensitively. */
static int
names_reserved(const char *s, const char *const *names, size_t nnames, const char *const *patterns,
               size_t npatterns, const char **pattern)
{
	size_t len = strlen(s);

	if (pattern != NULL)
		*pattern = NULL;
	for (size_t i = 0; i < nnames; i++)
		if (strcasecmp(s, names[i]) == 0)
			return 1;
	for (size_t i = 0; i < npatterns; i++) {
		const char *p = patterns[i];
		size_t pl = strlen(p) - 1;

		if ((p[0] == '*' && len >= pl && strcasecmp(s + len - pl, p + 1) == 0) ||
		    (p[pl] == '*' && strncasecmp(s, p, pl) == 0)) {
			if (pattern != NULL)
				*pattern = p;
			return 1;
		}
	}
	return 0;
}

int
names_gitea_username_chars(const char *s)
{
	if (!names_alnum(s[0]))
		return 0;
	for (size_t i = 0; s[i] != '\0'; i++) {
		int special = s[i] == '-' || s[i] == '.' || s[i] == '_';

		if (!names_alnum(s[i]) && !special)
			return 0;
		if (special &&
		    (s[i + 1] == '\0' || s[i + 1] == '-' || s[i + 1] == '.' || s[i + 1] == '_'))
			return 0;
	}
	return 1;
}

int
names_gitea_user_reserved(const char *s, const char **pattern)
{
	return names_reserved(s, names_reserved_users, nitems(names_reserved_users),
	                      names_reserved_user_patterns, nitems(names_reserved_user_patterns),
	                      pattern);
}

int
names_valid_username(const char *s)
{
	return s != NULL && strlen(s) <= NAMES_USER_MAX && names_gitea_username_chars(s) &&
	       !names_gitea_user_reserved(s, NULL);
}

int
names_alpha_dash_dot(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!names_alnum(*s) && *s != '-' && *s != '_' && *s != '.')
			return 0;
	return 1;
}

int
names_gitea_repo_reserved(const char *s, const char **pattern)
{
	return names_reserved(s, names_reserved_repos, nitems(names_reserved_repos),
	                      names_reserved_repo_patterns, nitems(names_reserved_repo_patterns),
	                      pattern);
}

int
names_valid_repo_name(const char *s)
{
	return s != NULL && strlen(s) <= NAMES_REPO_MAX && names_alpha_dash_dot(s) &&
	       strstr(s, "..") == NULL && !names_gitea_repo_reserved(s, NULL);
}
