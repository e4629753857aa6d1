/* Unit tests for clients/keys: token shape and entropy source, hashing, checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "tenancy/keys.h"
#include "common/util.h"

static void
test_generate_shape(void **state)
{
	char a[KEYS_TOKEN_LEN + 1], b[KEYS_TOKEN_LEN + 1];

	keys_generate(a);
	keys_generate(b);
	assert_int_equal(strlen(a), KEYS_TOKEN_LEN);
	assert_int_equal(strncmp(a, "vibn_sk_", 8), 0);
	assert_true(keys_well_formed(a));
	assert_true(keys_well_formed(b));
	assert_string_not_equal(a, b);
	/* 43 base62 characters carry more than 256 bits. */
	assert_true(KEYS_TOKEN_RANDOM_LEN * 5.954 > 256);
}

static void
test_generate_uses_the_whole_alphabet(void **state)
{
	int seen[128] = {0}, distinct = 0;

	for (int i = 0; i < 200; i++) {
		char t[KEYS_TOKEN_LEN + 1];

		keys_generate(t);
		for (size_t j = 8; j < KEYS_TOKEN_LEN; j++)
			seen[(unsigned char)t[j]]++;
	}
	for (int c = 0; c < 128; c++)
		distinct += seen[c] > 0;
	/* 8600 draws from 62 symbols: every symbol appears (a miss has odds below 1e-50). */
	assert_int_equal(distinct, 62);
}

static void
test_hash_is_sha256_of_whole_token(void **state)
{
	char h[65], want[65];
	const char *t = "vibn_sk_0123456789012345678901234567890123456789012";

	keys_hash(t, h);
	util_sha256_hex(t, strlen(t), want);
	assert_string_equal(h, want);
	assert_int_equal(strlen(h), 64);
}

static void
test_well_formed(void **state)
{
	assert_false(keys_well_formed(NULL));
	assert_false(keys_well_formed(""));
	assert_false(keys_well_formed("vibn_sk_short"));
	assert_false(keys_well_formed("vibn_pk_0123456789012345678901234567890123456789012"));
	assert_false(keys_well_formed("vibn_sk_01234567890123456789012345678901234567890-2"));
	assert_true(keys_well_formed("vibn_sk_0123456789012345678901234567890123456789012"));
}

static void
test_valid_name(void **state)
{
	char long_name[KEYS_NAME_MAX + 2];

	assert_true(keys_valid_name("ci"));
	assert_true(keys_valid_name("Cursor on Alice's laptop"));
	assert_false(keys_valid_name(""));
	assert_false(keys_valid_name(NULL));
	assert_false(keys_valid_name("a\nb"));
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_false(keys_valid_name(long_name));
	long_name[KEYS_NAME_MAX] = '\0';
	assert_true(keys_valid_name(long_name));
}

static void
test_scopes(void **state)
{
	char out[KEYS_SCOPES_MAX], *cause = NULL;
	unsigned sc;

	assert_int_equal(keys_scopes_parse("keys,read", &sc, &cause), 0);
	assert_int_equal(sc, KEYS_SCOPE_KEYS | KEYS_SCOPE_READ);
	keys_scopes_format(sc, out);
	assert_string_equal(out, "read,keys");
	keys_scopes_format(KEYS_SCOPE_DEFAULT, out);
	assert_string_equal(out, "read,write");
	static const char *const bad[] = {"",      "admin",      "read,read", "read,",
	                                  ",read", "read write", "READ"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(keys_scopes_parse(bad[i], &sc, &cause), -1);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
}

static void
test_expiry(void **state)
{
	char when[KEYS_TIME_LEN + 1], *cause = NULL;
	time_t now = 1700000000; /* 2023-11-14T22:13:20Z */

	assert_int_equal(keys_expiry_parse("90m", now, when, &cause), 0);
	assert_string_equal(when, "2023-11-14T23:43:20Z");
	assert_int_equal(keys_expiry_parse("2w", now, when, &cause), 0);
	assert_string_equal(when, "2023-11-28T22:13:20Z");
	assert_int_equal(keys_expiry_parse("2030-01-01T00:00:00Z", now, when, &cause), 0);
	assert_string_equal(when, "2030-01-01T00:00:00Z");
	static const char *const bad[] = {"",
	                                  "0d",
	                                  "-1h",
	                                  "1y",
	                                  "12",
	                                  "h",
	                                  "1.5h",
	                                  "99999999d",
	                                  "2020-01-01T00:00:00Z",
	                                  "2030-01-01 00:00:00",
	                                  "2030-13-01T00:00:00Z"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(keys_expiry_parse(bad[i], now, when, &cause), -1);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scopes),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_generate_shape),
	    cmocka_unit_test(test_generate_uses_the_whole_alphabet),
	    cmocka_unit_test(test_hash_is_sha256_of_whole_token),
	    cmocka_unit_test(test_well_formed),
	    cmocka_unit_test(test_valid_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
