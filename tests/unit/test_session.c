/* Unit tests for tenancy/session: what needs no database (durations typed by people, the
 * Cookie header parser, the CSRF token's binding to its session, the link's address). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tenancy/session.h"

static const char tok_a[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char tok_b[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

static void
test_durations(void **state)
{
	static const struct {
		const char *text;
		long want; /* -1: refused */
	} cases[] = {
	    {"90s", 90},
	    {"10m", 600},
	    {"2h", 7200},
	    {"1d", 86400},
	    {"600", 600},
	    {"1s", 1},
	    {"2d", -1},
	    {"25h", -1},
	    {"0", -1},
	    {"0m", -1},
	    {"", -1},
	    {"m", -1},
	    {"10x", -1},
	    {"-5m", -1},
	    {"1.5h", -1},
	    {"10 m", -1},
	    {" 10m", -1},
	    {"86401", -1},
	    {"99999999999999999999d", -1},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *cause = NULL;
		long v = -7;
		int rc = session_parse_duration(cases[i].text, SESSION_LINK_TTL_MAX, &v, &cause);

		if (cases[i].want < 0) {
			assert_int_equal(rc, -1);
			assert_non_null(cause);
			assert_non_null(strstr(cause, "bad duration"));
			free(cause);
		} else {
			assert_int_equal(rc, 0);
			assert_null(cause);
			assert_int_equal(v, cases[i].want);
		}
	}
}

static void
test_cookie_parser(void **state)
{
	char out[SESSION_TOKEN_HEX + 1];
	char hdr[256];

	snprintf(hdr, sizeof hdr, "vibn_session=%s", tok_a);
	assert_int_equal(session_from_cookie(hdr, out), 1);
	assert_string_equal(out, tok_a);
	snprintf(hdr, sizeof hdr, "theme=dark; vibn_session=%s; other=1", tok_b);
	assert_int_equal(session_from_cookie(hdr, out), 1);
	assert_string_equal(out, tok_b);
	/* A cookie whose name only ends or starts like ours is not ours. */
	snprintf(hdr, sizeof hdr, "xvibn_session=%s; vibn_session_old=%s", tok_a, tok_a);
	assert_int_equal(session_from_cookie(hdr, out), 0);
	assert_string_equal(out, "");
	/* Wrong length or alphabet (upper case, too short, too long). */
	assert_int_equal(session_from_cookie("vibn_session=0123", out), 0);
	snprintf(hdr, sizeof hdr, "vibn_session=%sA", tok_a);
	assert_int_equal(session_from_cookie(hdr, out), 0);
	snprintf(hdr, sizeof hdr, "vibn_session=%.63sG", tok_a);
	assert_int_equal(session_from_cookie(hdr, out), 0);
	assert_int_equal(session_from_cookie(NULL, out), 0);
	assert_int_equal(session_from_cookie("", out), 0);
	assert_int_equal(session_from_cookie(";;; ;", out), 0);
	/* A bad first one does not hide a good later one. */
	snprintf(hdr, sizeof hdr, "vibn_session=zz; vibn_session=%s", tok_b);
	assert_int_equal(session_from_cookie(hdr, out), 1);
	assert_string_equal(out, tok_b);
}

static void
test_csrf_is_bound_to_its_session(void **state)
{
	char a[65], a2[65], b[65];

	session_csrf(tok_a, a);
	session_csrf(tok_a, a2);
	session_csrf(tok_b, b);
	assert_int_equal(strlen(a), 64);
	assert_string_equal(a, a2);
	assert_string_not_equal(a, b);
	/* The token is not the session (nor its stored hash) in disguise. */
	assert_string_not_equal(a, tok_a);
	assert_true(session_csrf_ok(tok_a, a));
	assert_false(session_csrf_ok(tok_b, a));
	assert_false(session_csrf_ok(tok_a, NULL));
	assert_false(session_csrf_ok(tok_a, ""));
	a2[63] = a2[63] == '0' ? '1' : '0';
	assert_false(session_csrf_ok(tok_a, a2));
	a2[63] = '\0';
	assert_false(session_csrf_ok(tok_a, a2));
}

static void
test_well_formed_and_link_url(void **state)
{
	char *u;

	assert_true(session_well_formed(tok_a));
	assert_false(session_well_formed(NULL));
	assert_false(session_well_formed("abc"));
	u = session_link_url("https://vibn.example.com/", "vibn_ll_x");
	assert_string_equal(u, "https://vibn.example.com/ui/#login=vibn_ll_x");
	free(u);
	u = session_link_url("http://127.0.0.1:8080", "t");
	assert_string_equal(u, "http://127.0.0.1:8080/ui/#login=t");
	free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_cookie_parser),
	    cmocka_unit_test(test_csrf_is_bound_to_its_session),
	    cmocka_unit_test(test_well_formed_and_link_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
