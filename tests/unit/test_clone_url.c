/* Clone URLs for Coolify: Gitea's forms converted to the ones Coolify accepts (a custom SSH
 * port inside the scp-like form), a host replaced by VIBN_GITEA_CLONE_HOST, and every URL
 * Coolify would refuse (IP or internal hosts, odd characters, another SSH user) reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reconcilers/clone_url.h"

struct case_ {
	const char *in;
	int ssh;
	const char *host;
	const char *want; /* NULL: refused */
	const char *why;  /* a part of the cause when refused */
};

static void
test_conversions(void **state)
{
	static const struct case_ cases[] = {
	    /* SSH, port 22: the short form as it is. */
	    {"git@git.example.com:acme/web.git", 1, NULL, "git@git.example.com:acme/web.git", NULL},
	    /* SSH, another port: Gitea's URI becomes Coolify's git@host:PORT/path. */
	    {"ssh://git@git.example.com:2222/acme/web.git", 1, NULL,
	     "git@git.example.com:2222/acme/web.git", NULL},
	    /* UseCompatSSHURI on port 22. */
	    {"ssh://git@git.example.com/acme/web.git", 1, NULL, "git@git.example.com:acme/web.git",
	     NULL},
	    {"ssh://git@git.example.com:22/acme/web.git", 1, NULL,
	     "git@git.example.com:acme/web.git", NULL},
	    /* The host Coolify reaches Gitea at. */
	    {"ssh://git@gitea:2222/acme/web.git", 1, "git.example.com",
	     "git@git.example.com:2222/acme/web.git", NULL},
	    {"git@10.0.0.5:acme/web.git", 1, "git.example.com", "git@git.example.com:acme/web.git",
	     NULL},
	    /* Refused. */
	    {"git@10.0.0.5:acme/web.git", 1, NULL, NULL, "IP address"},
	    {"ssh://git@127.0.0.1:2222/acme/web.git", 1, NULL, NULL, "IP address"},
	    {"git@localhost:acme/web.git", 1, NULL, NULL, "internal"},
	    {"git@gitea.local:acme/web.git", 1, NULL, NULL, "internal"},
	    {"gitea@git.example.com:acme/web.git", 1, NULL, NULL, "user git"},
	    {"ssh://git@[::1]:2222/acme/web.git", 1, NULL, NULL, "cannot read"},
	    {"https://git.example.com/acme/web.git", 1, NULL, NULL, "cannot read"},
	    /* HTTP. */
	    {"https://git.example.com/acme/web.git", 0, NULL,
	     "https://git.example.com/acme/web.git", NULL},
	    {"http://git.example.com:3000/git/acme/web.git", 0, NULL,
	     "http://git.example.com:3000/git/acme/web.git", NULL},
	    {"http://127.0.0.1:3000/acme/web.git", 0, "git.example.com",
	     "http://git.example.com:3000/acme/web.git", NULL},
	    {"http://127.0.0.1:3000/acme/web.git", 0, NULL, NULL, "IP address"},
	    {"http://[::1]:3000/acme/web.git", 0, NULL, NULL, "IP address"},
	    {"http://localhost:3000/acme/web.git", 0, NULL, NULL, "internal"},
	    {"https://git.example.com/acme/we%20b.git", 0, NULL, NULL, "characters"},
	    {"https://git.example.com/acme/web.git?x=1", 0, NULL, NULL, "characters"},
	    {"https://git.example.com/acme/../web.git", 0, NULL, NULL, "../"},
	    {"https://user@git.example.com/acme/web.git", 0, NULL, NULL, "cannot read"},
	    {"ftp://git.example.com/acme/web.git", 0, NULL, NULL, "cannot read"},
	    {"", 0, NULL, NULL, "no HTTP clone URL"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct case_ *c = &cases[i];
		char *cause = NULL;
		char *got = clone_url_for_coolify(c->in, c->ssh, c->host, &cause);

		if (c->want != NULL) {
			if (got == NULL || strcmp(got, c->want) != 0)
				fail_msg("%s (ssh %d): want %s, got %s (%s)", c->in, c->ssh,
				         c->want, got ? got : "NULL", cause ? cause : "");
			assert_null(cause);
		} else {
			if (got != NULL)
				fail_msg("%s (ssh %d): want it refused, got %s", c->in, c->ssh,
				         got);
			assert_non_null(cause);
			if (strstr(cause, c->why) == NULL)
				fail_msg("%s: cause %s lacks \"%s\"", c->in, cause, c->why);
		}
		free(got);
		free(cause);
	}
}

static void
test_clone_host_setting(void **state)
{
	char *cause = NULL;

	assert_int_equal(clone_url_check_host("git.example.com", &cause), 0);
	assert_int_equal(clone_url_check_host("gitea", &cause), 0);
	assert_int_equal(clone_url_check_host("10.0.0.5", &cause), -1);
	assert_non_null(strstr(cause, "VIBN_GITEA_CLONE_HOST"));
	free(cause);
	assert_int_equal(clone_url_check_host("https://git.example.com", &cause), -1);
	free(cause);
	assert_int_equal(clone_url_check_host("git.example.com:3000", &cause), -1);
	free(cause);
	assert_int_equal(clone_url_check_host("localhost", &cause), -1);
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conversions),
	    cmocka_unit_test(test_clone_host_setting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
