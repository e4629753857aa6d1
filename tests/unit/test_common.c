/* Unit tests for common/: hashing, HMAC, constant-time compare, number parsing, buffers,
 * and libpq message folding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients/db.h"
#include "common/buf.h"
#include "common/util.h"
#include "common/xmalloc.h"

static void
test_sha256_known_vector(void **state)
{
	char hex[65];

	util_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	util_sha256_hex("", 0, hex);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_hmac_rfc4231_case2(void **state)
{
	char hex[65];
	const char *data = "what do ya want for nothing?";

	util_hmac_sha256_hex("Jefe", 4, data, strlen(data), hex);
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void
test_ct_equal(void **state)
{
	assert_true(util_ct_equal("abcd", 4, "abcd", 4));
	assert_false(util_ct_equal("abcd", 4, "abce", 4));
	assert_false(util_ct_equal("abcd", 4, "abc", 3));
	assert_true(util_ct_equal("", 0, "", 0));
}

/* Two rules on purpose: a database column tells NULL from "", an upstream field does not. */
static void
test_str_eq(void **state)
{
	assert_true(util_str_eq_null(NULL, NULL));
	assert_true(util_str_eq_null("a", "a"));
	assert_false(util_str_eq_null(NULL, ""));
	assert_false(util_str_eq_null("a", NULL));
	assert_false(util_str_eq_null("a", "b"));
	assert_true(util_str_eq_empty(NULL, NULL));
	assert_true(util_str_eq_empty(NULL, ""));
	assert_true(util_str_eq_empty("", NULL));
	assert_false(util_str_eq_empty(NULL, "a"));
	assert_false(util_str_eq_empty("a", "b"));
}

static void
test_parse_long(void **state)
{
	long v = 0;

	assert_int_equal(util_parse_long("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_parse_long("-1", 0, 100, &v), -1);
	assert_int_equal(util_parse_long("101", 0, 100, &v), -1);
	assert_int_equal(util_parse_long("4x", 0, 100, &v), -1);
	assert_int_equal(util_parse_long("", 0, 100, &v), -1);
	assert_int_equal(util_parse_long(NULL, 0, 100, &v), -1);
	assert_int_equal(util_parse_long("99999999999999999999", 0, 100, &v), -1);
}

static void
test_random_unit_range(void **state)
{
	double lo = 1, hi = 0;

	for (int i = 0; i < 10000; i++) {
		double r = util_random_unit();

		assert_true(r >= 0 && r < 1);
		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	/* 10,000 draws spread over the interval, not stuck at one value. */
	assert_true(lo < 0.01 && hi > 0.99);
}

static void
test_buf_grows_and_releases(void **state)
{
	struct buf b;
	char *s;

	buf_init(&b);
	assert_string_equal(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i % 10);
	assert_int_equal(b.len, 2000);
	buf_puts(&b, "end");
	buf_putc(&b, '!');
	assert_int_equal(b.len, 2004);
	assert_memory_equal(b.data + 2000, "end!", 5);
	s = buf_release(&b);
	assert_null(b.data);
	assert_int_equal(strncmp(s, "0,1,2,", 6), 0);
	free(s);
	buf_free(&b);
}

static void
test_db_oneline_folds_libpq_messages(void **state)
{
	char *s = db_oneline("connection to server at \"127.0.0.1\", port 1 failed: Connection "
	                     "refused\n\tIs the server running on that host and accepting TCP/IP "
	                     "connections?\n");

	assert_null(strchr(s, '\n'));
	assert_null(strchr(s, '\t'));
	assert_string_equal(s, "connection to server at \"127.0.0.1\", port 1 failed: Connection "
	                       "refused; Is the server running on that host and accepting TCP/IP "
	                       "connections?");
	free(s);
	s = db_oneline("");
	assert_string_equal(s, "unknown database error");
	free(s);
}

static void
test_xasprintf(void **state)
{
	char *s = xasprintf("%s-%d", "vibn", 7);

	assert_string_equal(s, "vibn-7");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_known_vector),
	    cmocka_unit_test(test_hmac_rfc4231_case2),
	    cmocka_unit_test(test_ct_equal),
	    cmocka_unit_test(test_str_eq),
	    cmocka_unit_test(test_parse_long),
	    cmocka_unit_test(test_random_unit_range),
	    cmocka_unit_test(test_buf_grows_and_releases),
	    cmocka_unit_test(test_db_oneline_folds_libpq_messages),
	    cmocka_unit_test(test_xasprintf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
