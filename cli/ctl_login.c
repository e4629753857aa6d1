/* vibnctl login-link: a one-time sign-in link to a workspace's settings page
 * (tenancy/session.h). The token travels in the link's fragment, which a browser never sends
 * to a server; the page exchanges it once for a session cookie. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "tenancy/connect.h"
#include "tenancy/session.h"

static void
ctl_login_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vibnctl login-link --workspace SLUG [--ttl DURATION] [--url URL]\n"
	    "\n"
	    "Prints a one-time link that signs its opener in to the workspace's settings page\n"
	    "(%s<token>). It works once, until it expires; the session it\n"
	    "opens lasts VIBN_SESSION_TTL (vibnd's setting). Hand it over like a password.\n"
	    "\n"
	    "  -w, --workspace SLUG  the workspace\n"
	    "  -t, --ttl DURATION    how long the link is valid: 90s, 10m, 2h, 1d (default 10m,\n"
	    "                        at most 1d)\n"
	    "  -u, --url URL         vibnd's public URL (default: $VIBN_PUBLIC_URL)\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "The link goes to stdout, its expiry to stderr.\n"
	    "Environment: DATABASE_URL, VIBN_PUBLIC_URL.\n"
	    "Exit status: 0 printed; 1 no such workspace or a failure; 2 usage error.\n",
	    SESSION_LINK_URL_MARKER);
}

int
ctl_login_link(int argc, char **argv)
{
	static const struct option opts[] = {{"workspace", required_argument, NULL, 'w'},
	                                     {"ttl", required_argument, NULL, 't'},
	                                     {"url", required_argument, NULL, 'u'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *slug = NULL, *ttl_text = NULL, *url = NULL;
	char *ws_id = NULL, *token = NULL, *expires = NULL, *link = NULL, *cause = NULL;
	PGconn *conn = NULL;
	long ttl = SESSION_LINK_TTL;
	int c, rc = CTL_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "w:t:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			slug = optarg;
			break;
		case 't':
			ttl_text = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'h':
			ctl_login_usage(stdout);
			return CTL_OK;
		default:
			ctl_login_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (url == NULL)
		url = getenv("VIBN_PUBLIC_URL");
	if (optind != argc || slug == NULL) {
		ctl_error("login-link: need --workspace SLUG (see vibnctl login-link --help)");
		return CTL_USAGE;
	}
	if (ttl_text != NULL &&
	    session_parse_duration(ttl_text, SESSION_LINK_TTL_MAX, &ttl, &cause) != 0) {
		ctl_error("login-link: --ttl: %s", cause);
		free(cause);
		return CTL_USAGE;
	}
	if (url == NULL || !connect_valid_url(url)) {
		ctl_error("login-link: %s", url == NULL
		                                ? "set VIBN_PUBLIC_URL or pass --url"
		                                : "--url: need http(s)://host[:port][/path]");
		return CTL_USAGE;
	}
	if ((conn = ctl_connect()) == NULL)
		return CTL_FAIL;
	if ((ws_id = ctl_workspace_id(conn, "login-link", slug)) == NULL)
		goto out;
	c = session_link_mint(conn, ws_id, ttl, &token, &expires, &cause);
	if (c != 0) {
		ctl_error("login-link: %s", c > 0 ? "the workspace was just deleted" : cause);
		goto out;
	}
	link = session_link_url(url, token);
	/* The link alone on stdout (for scripts); the rest on stderr. */
	printf("%s\n", link);
	fflush(stdout);
	fprintf(stderr, "one-time sign-in link to workspace/%s, valid until %s\n", slug, expires);
	rc = CTL_OK;
out:
	if (token != NULL)
		explicit_bzero(token, strlen(token));
	if (link != NULL)
		explicit_bzero(link, strlen(link));
	free(token);
	free(link);
	free(expires);
	free(ws_id);
	free(cause);
	if (conn != NULL)
		PQfinish(conn);
	return rc;
}
