#include "clone_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include "common/xmalloc.h"

/* A clone URL taken apart. Pointers into the parsed text, with lengths. */
struct clone_url_parts {
	const char *user, *host, *path;
	size_t nuser, nhost;
	long port; /* 0: none */
};

/* Every character of s[0..n) is an ASCII letter, a digit or in extra; n > 0. */
static int
clone_url_chars(const char *s, size_t n, const char *extra)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c != '\0' && strchr(extra, c) != NULL)))
			return 0;
	}
	return 1;
}

/* Why Coolify's builder cannot reach host as Gitea, or NULL. Coolify refuses these in HTTP
 * URLs; over SSH they name the builder's own container or network, never Gitea. */
static const char *
clone_url_internal(const char *host)
{
	unsigned char buf[16];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1 ||
	    host[0] == '[')
		return "its host is an IP address";
	if (strcasecmp(host, "localhost") == 0 ||
	    (n > 6 && strcasecmp(host + n - 6, ".local") == 0))
		return "its host is internal (localhost, *.local)";
	return NULL;
}

int
clone_url_check_host(const char *host, char **cause)
{
	if (!clone_url_chars(host, strlen(host), ".-")) {
		*cause =
		    xstrdup("VIBN_GITEA_CLONE_HOST: expected a host name (letters, digits, '.',"
		            " '-'), without scheme, port or path");
		return -1;
	}
	if (clone_url_internal(host) != NULL) {
		*cause = xasprintf("VIBN_GITEA_CLONE_HOST: %s is an IP address or an internal host,"
		                   " which Coolify refuses; give the name Coolify reaches Gitea at",
		                   host);
		return -1;
	}
	return 0;
}

/* Parses ssh://USER@HOST[:PORT]/PATH or the scp-like USER@HOST:PATH. 0 or -1. */
static int
clone_url_parse_ssh(const char *url, struct clone_url_parts *p)
{
	const char *at, *s = url;

	memset(p, 0, sizeof *p);
	if (strncmp(s, "ssh://", 6) == 0) {
		s += 6;
		if ((at = strchr(s, '@')) == NULL || at > s + strcspn(s, "/"))
			return -1;
		p->user = s;
		p->nuser = (size_t)(at - s);
		p->host = at + 1;
		p->nhost = strcspn(p->host, ":/");
		s = p->host + p->nhost;
		if (*s == ':') {
			char *end;

			p->port = strtol(s + 1, &end, 10);
			if (end == s + 1 || *end != '/' || p->port < 1 || p->port > 65535)
				return -1;
			s = end;
		}
		if (*s != '/')
			return -1;
		p->path = s + 1;
		return 0;
	}
	if ((at = strchr(s, '@')) == NULL || at > s + strcspn(s, ":/"))
		return -1;
	p->user = s;
	p->nuser = (size_t)(at - s);
	p->host = at + 1;
	p->nhost = strcspn(p->host, ":/");
	if (p->host[p->nhost] != ':')
		return -1;
	p->path = p->host + p->nhost + 1;
	return 0;
}

/* Parses http(s)://HOST[:PORT]/PATH; *https says which. 0 or -1. */
static int
clone_url_parse_http(const char *url, struct clone_url_parts *p, int *https)
{
	const char *s;

	memset(p, 0, sizeof *p);
	if (strncmp(url, "https://", 8) == 0)
		*https = 1;
	else if (strncmp(url, "http://", 7) == 0)
		*https = 0;
	else
		return -1;
	s = url + (*https ? 8 : 7);
	p->host = s;
	p->nhost = s[0] == '[' ? strcspn(s, "]") + 1 : strcspn(s, ":/@");
	s += p->nhost;
	if (*s == '@')
		return -1; /* credentials in a clone URL: not Gitea's */
	if (*s == ':') {
		char *end;

		p->port = strtol(s + 1, &end, 10);
		if (end == s + 1 || (*end != '/' && *end != '\0') || p->port < 1 || p->port > 65535)
			return -1;
		s = end;
	}
	p->path = *s == '/' ? s + 1 : s;
	return 0;
}

/* Coolify's rule on the URL it is sent (app/Rules/ValidGitRepositoryUrl.php): NULL when it
 * passes, else why not. Hosts are checked by the callers. */
static const char *
clone_url_coolify_rule(const char *url)
{
	const char *p;

	if (strpbrk(url, ";|&$`(){}[]<>\n\r\"'\\!?*^%=+#") != NULL)
		return "it holds characters Coolify refuses (such as ? # % or spaces)";
	for (p = url; (p = strstr(p, "..")) != NULL; p++)
		if (p[2] == '/')
			return "its path climbs with ../";
	return NULL;
}

char *
clone_url_for_coolify(const char *gitea_url, int ssh, const char *host, char **cause)
{
	struct clone_url_parts p;
	char *out = NULL, hostbuf[256], portbuf[16] = "";
	const char *why = NULL;
	int https = 0;

	*cause = NULL;
	if (gitea_url == NULL || *gitea_url == '\0') {
		*cause = xasprintf("Gitea gave no %s clone URL", ssh ? "SSH" : "HTTP");
		return NULL;
	}
	if ((ssh ? clone_url_parse_ssh(gitea_url, &p)
	         : clone_url_parse_http(gitea_url, &p, &https)) != 0 ||
	    p.nhost == 0 || p.nhost >= sizeof hostbuf) {
		*cause = xasprintf("cannot read Gitea's clone URL %s", gitea_url);
		return NULL;
	}
	if (host != NULL)
		snprintf(hostbuf, sizeof hostbuf, "%s", host);
	else
		snprintf(hostbuf, sizeof hostbuf, "%.*s", (int)p.nhost, p.host);
	if (ssh) {
		/* Coolify takes git@host:path only, the port inside: git@host:PORT/path. */
		if (p.nuser != 3 || strncmp(p.user, "git", 3) != 0)
			why =
			    "Coolify takes SSH URLs of the user git only (set Gitea's SSH_USER to git)";
		else if (p.port != 0 && p.port != 22)
			out = xasprintf("git@%s:%ld/%s", hostbuf, p.port, p.path);
		else
			out = xasprintf("git@%s:%s", hostbuf, p.path);
		if (out != NULL && !clone_url_chars(p.path, strlen(p.path), "-_/.~"))
			why = "its path holds characters Coolify refuses";
	} else {
		if (p.port != 0)
			snprintf(portbuf, sizeof portbuf, ":%ld", p.port);
		out = xasprintf("%s://%s%s/%s", https ? "https" : "http", hostbuf, portbuf, p.path);
		if (*p.path != '\0' && !clone_url_chars(p.path, strlen(p.path), "-_/."))
			why = "its path holds characters Coolify refuses";
	}
	if (why == NULL && !clone_url_chars(hostbuf, strlen(hostbuf), ".-"))
		why = clone_url_internal(hostbuf) ? clone_url_internal(hostbuf)
		                                  : "its host is not a plain host name";
	if (why == NULL)
		why = clone_url_internal(hostbuf);
	if (why == NULL)
		why = clone_url_coolify_rule(out);
	if (why == NULL)
		return out;
	*cause =
	    xasprintf("Coolify cannot build from Gitea's clone URL %s: %s; set "
	              "VIBN_GITEA_CLONE_HOST to the host Coolify reaches Gitea at, or give Gitea "
	              "a public ROOT_URL and SSH_DOMAIN",
	              gitea_url, why);
	free(out);
	return NULL;
}
