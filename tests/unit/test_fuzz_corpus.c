/* Replays the committed corpus of every libFuzzer target (tests/fuzz/corpus/<target>/)
 * through that target's own entry point, in the normal build (and under ASan/UBSan with
 * make SANITIZE=1): no crash, no abort from the targets' own checks, no leak. Every
 * tests/fuzz/fuzz_*.c must be listed here, so a new target cannot go unreplayed. (The
 * manifest corpus also has deeper checks in test_manifest_corpus.c.) */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/xmalloc.h"

/* Each target under its own name. */
#define LLVMFuzzerTestOneInput fuzz_api_one
#include "tests/fuzz/fuzz_api.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_webhook_one
#include "tests/fuzz/fuzz_webhook.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_manifest_one
#include "tests/fuzz/fuzz_manifest.c"
#undef LLVMFuzzerTestOneInput

static const struct {
	const char *name;
	int (*one)(const uint8_t *, size_t);
	size_t min_files; /* the committed seeds */
} targets[] = {
    {"fuzz_api", fuzz_api_one, 35},
    {"fuzz_webhook", fuzz_webhook_one, 3},
    {"fuzz_manifest", fuzz_manifest_one, 13},
};

static void
read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	buf_init(b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(b, chunk, n);
	fclose(f);
}

static void
test_replay_every_corpus(void **state)
{
	for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
		char *dir = xasprintf("tests/fuzz/corpus/%s", targets[t].name);
		DIR *dp = opendir(dir);
		struct dirent *de;
		size_t files = 0;

		if (dp == NULL)
			fail_msg("cannot open %s (run from the repository root)", dir);
		while ((de = readdir(dp)) != NULL) {
			char *path;
			struct buf b;

			if (de->d_name[0] == '.')
				continue;
			path = xasprintf("%s/%s", dir, de->d_name);
			read_file(path, &b);
			/* An exact-size copy, so ASan sees any read past the input. */
			uint8_t *copy = xmalloc(b.len ? b.len : 1);
			if (b.len)
				memcpy(copy, b.data, b.len);
			assert_int_equal(targets[t].one(copy, b.len), 0);
			free(copy);
			buf_free(&b);
			free(path);
			files++;
		}
		closedir(dp);
		printf("%s: replayed %zu inputs\n", targets[t].name, files);
		assert_true(files >= targets[t].min_files);
		free(dir);
	}
}

/* Every target in tests/fuzz/ is in the table above. */
static void
test_every_target_is_replayed(void **state)
{
	DIR *dp = opendir("tests/fuzz");
	struct dirent *de;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL) {
		size_t n = strlen(de->d_name), t;

		if (strncmp(de->d_name, "fuzz_", 5) != 0 || n < 3 ||
		    strcmp(de->d_name + n - 2, ".c") != 0)
			continue;
		for (t = 0; t < sizeof targets / sizeof targets[0]; t++)
			if (strlen(targets[t].name) == n - 2 &&
			    strncmp(targets[t].name, de->d_name, n - 2) == 0)
				break;
		if (t == sizeof targets / sizeof targets[0])
			fail_msg("tests/fuzz/%s has no corpus replay in test_fuzz_corpus.c",
			         de->d_name);
	}
	closedir(dp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_every_corpus),
	    cmocka_unit_test(test_every_target_is_replayed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
