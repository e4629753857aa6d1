/* Unit tests for clients/keys: token shape and entropy source, hashing, checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generate_shape),
	    cmocka_unit_test(test_generate_uses_the_whole_alphabet),
	    cmocka_unit_test(test_hash_is_sha256_of_whole_token),
	    cmocka_unit_test(test_well_formed),
	    cmocka_unit_test(test_valid_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
