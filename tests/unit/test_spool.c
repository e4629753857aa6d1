/* The webhook spool on a real folder: write and read back, arrival order across a reopen,
 * the byte and body caps, corrupt files moved aside, leftovers of a crash, the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/xmalloc.h"
#include "api/spool.h"

static char *
tmpdir(void)
{
	char tpl[] = "/tmp/test_spool.XXXXXX";

	assert_non_null(mkdtemp(tpl));
	return xasprintf("%s/spool", tpl); /* spool_open creates the last component */
}

/* Removes the temporary folder that holds dir. */
static void
rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static struct spool *
open_ok(const char *dir, uint64_t max_bytes)
{
	struct spool *sp = NULL;
	char *cause = NULL;

	if (spool_open(&sp, dir, max_bytes, 4096, &cause) != 0)
		fail_msg("spool_open: %s", cause);
	return sp;
}

static void
put_ok(struct spool *sp, const char *delivery, const char *body)
{
	struct spool_delivery d = {delivery, "repository", "ab12", NULL, body, strlen(body), NULL};
	char *cause = NULL;

	if (spool_put(sp, &d, NULL, &cause) != 0)
		fail_msg("spool_put: %s", cause ? cause : "full");
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void
test_put_read_remove_in_order(void **state)
{
	char *dir = tmpdir(), **names = NULL, *cause = NULL;
	struct spool *sp = open_ok(dir, 1 << 20);
	struct spool_delivery d;
	uint64_t bytes;
	long files;
	int n;

	put_ok(sp, "d-1", "{\"a\":1}");
	put_ok(sp, "d-2", "{\"a\":2}");
	/* Absent headers stay absent; a body may hold any byte. */
	{
		const char bin[] = {'{', 0, '\n', '}'};
		struct spool_delivery e = {NULL, NULL, NULL, "sha256=ff", bin, sizeof bin, NULL};

		assert_int_equal(spool_put(sp, &e, NULL, &cause), 0);
	}
	spool_stats(sp, &bytes, &files);
	assert_int_equal(files, 3);
	assert_true(bytes > 3 * 7);

	/* Reopened (a restart): the same files, oldest first, and numbers go on. */
	spool_close(sp);
	sp = open_ok(dir, 1 << 20);
	put_ok(sp, "d-4", "{}");
	n = spool_list(sp, &names, 10, &cause);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "00000000000000000000.delivery");
	assert_string_equal(names[3], "00000000000000000003.delivery");

	assert_int_equal(spool_read(sp, names[0], &d, &cause), 0);
	assert_string_equal(d.delivery, "d-1");
	assert_string_equal(d.event, "repository");
	assert_string_equal(d.signature, "ab12");
	assert_null(d.hub_signature);
	assert_int_equal(d.len, 7);
	assert_memory_equal(d.body, "{\"a\":1}", 7);
	spool_delivery_free(&d);

	assert_int_equal(spool_read(sp, names[2], &d, &cause), 0);
	assert_null(d.delivery);
	assert_null(d.signature);
	assert_string_equal(d.hub_signature, "sha256=ff");
	assert_int_equal(d.len, 4);
	assert_memory_equal(d.body, "{\0\n}", 4);
	spool_delivery_free(&d);

	/* A list of at most max: the oldest. */
	spool_names_free(names, n);
	n = spool_list(sp, &names, 2, &cause);
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "00000000000000000001.delivery");
	for (int i = 0; i < n; i++)
		assert_int_equal(spool_remove(sp, names[i], &cause), 0);
	spool_names_free(names, n);
	n = spool_list(sp, &names, 10, &cause);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "00000000000000000002.delivery");
	spool_names_free(names, n);
	spool_stats(sp, &bytes, &files);
	assert_int_equal(files, 2);
	spool_close(sp);
	rm_rf(dir);
	free(dir);
}

static void
test_caps(void **state)
{
	char *dir = tmpdir(), *cause = NULL, big[5000];
	struct spool *sp = open_ok(dir, 600);
	struct spool_delivery d = {"d", "repository", "ab", NULL, "{}", 2, NULL};
	uint64_t bytes;
	long files;
	int kept = 0, rc;

	/* Each file is about 130 bytes: a few fit in 600, then full, and nothing is written. */
	while ((rc = spool_put(sp, &d, NULL, &cause)) == 0)
		kept++;
	assert_int_equal(rc, SPOOL_FULL);
	assert_true(kept >= 2 && kept <= 5);
	spool_stats(sp, &bytes, &files);
	assert_int_equal(files, kept);
	assert_true(bytes <= 600);

	/* A body over the per-file cap (the route's body cap) is refused whatever the room. */
	memset(big, 'x', sizeof big);
	d.body = big;
	d.len = sizeof big;
	assert_int_equal(spool_put(sp, &d, NULL, &cause), -1);
	assert_non_null(strstr(cause, "over 4096"));
	free(cause);
	/* A value that could not be read back as it was. */
	d.body = "{}";
	d.len = 2;
	d.delivery = "two\nlines";
	assert_int_equal(spool_put(sp, &d, NULL, &cause), -1);
	free(cause);
	spool_stats(sp, &bytes, &files);
	assert_int_equal(files, kept);
	spool_close(sp);
	rm_rf(dir);
	free(dir);
}

static void
test_corrupt_files_are_moved_aside(void **state)
{
	char *dir = tmpdir(), **names = NULL, *cause = NULL, *aside;
	struct spool *sp = open_ok(dir, 1 << 20);
	struct spool_delivery d;
	struct stat st;
	int n;

	put_ok(sp, "good", "{\"x\":1}");
	spool_close(sp);
	write_file(dir, "00000000000000000007.delivery", "garbage");
	write_file(dir, "00000000000000000008.delivery",
	           "vibn-webhook-spool 1\nsha256: 00\nlength: 2\n\n{}");
	/* Truncated: fewer bytes than its head says. */
	write_file(dir, "00000000000000000009.delivery",
	           "vibn-webhook-spool 1\nsha256: 00\nlength: 20\n\n{}");
	/* A half-written temporary file of a crash: never acknowledged, removed at open. */
	write_file(dir, ".tmp-00000000000000000010.delivery", "vibn-webhook-spool 1\n");
	write_file(dir, "unrelated.txt", "left alone");

	sp = open_ok(dir, 1 << 20);
	n = spool_list(sp, &names, 10, &cause);
	assert_int_equal(n, 4);
	assert_int_equal(spool_read(sp, names[0], &d, &cause), 0);
	spool_delivery_free(&d);
	for (int i = 1; i < n; i++) {
		assert_int_equal(spool_read(sp, names[i], &d, &cause), -1);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
		assert_int_equal(spool_quarantine(sp, names[i], &cause), 0);
	}
	spool_names_free(names, n);
	n = spool_list(sp, &names, 10, &cause);
	assert_int_equal(n, 1);
	spool_names_free(names, n);
	aside = xasprintf("%s/corrupt/00000000000000000008.delivery", dir);
	assert_int_equal(stat(aside, &st), 0);
	free(aside);
	aside = xasprintf("%s/.tmp-00000000000000000010.delivery", dir);
	assert_int_not_equal(stat(aside, &st), 0);
	free(aside);
	aside = xasprintf("%s/unrelated.txt", dir);
	assert_int_equal(stat(aside, &st), 0);
	free(aside);
	/* Numbers go on after the highest seen, moved aside or not. */
	put_ok(sp, "next", "{}");
	n = spool_list(sp, &names, 10, &cause);
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "00000000000000000010.delivery");
	spool_names_free(names, n);
	spool_close(sp);
	rm_rf(dir);
	free(dir);
}

static void
test_lock_and_unusable_folder(void **state)
{
	char *dir = tmpdir(), *cause = NULL, *bad;
	struct spool *sp = open_ok(dir, 1 << 20), *other = NULL;

	assert_int_equal(spool_open(&other, dir, 1 << 20, 4096, &cause), -1);
	assert_null(other);
	assert_non_null(strstr(cause, "in use"));
	free(cause);
	assert_int_equal(spool_check(dir, &cause), 0);
	spool_close(sp);
	/* The lock goes with the process (or spool_close). */
	sp = open_ok(dir, 1 << 20);
	spool_close(sp);

	write_file(dir, "a-file", "");
	bad = xasprintf("%s/a-file/spool", dir);
	assert_int_equal(spool_open(&other, bad, 1 << 20, 4096, &cause), -1);
	assert_non_null(strstr(cause, bad));
	free(cause);
	assert_int_equal(spool_check(bad, &cause), -1);
	free(cause);
	free(bad);
	bad = xasprintf("%s/a-file", dir);
	assert_int_equal(spool_check(bad, &cause), -1);
	assert_non_null(strstr(cause, "not a folder"));
	free(cause);
	free(bad);
	rm_rf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_read_remove_in_order),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_corrupt_files_are_moved_aside),
	    cmocka_unit_test(test_lock_and_unusable_folder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
