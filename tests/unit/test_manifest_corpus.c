/* Replays the fuzz corpus (tests/fuzz/corpus/fuzz_manifest/) through the manifest parser,
 * validator and renderer in the normal build: every input must end in a clean accept or in
 * well-formed diagnostics ("fuzz.yaml:LINE:COL: ..."), without a crash or a leak (the
 * sanitizer build checks those). */
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
#include "manifests/mf_diff.h"
#include "manifests/mf_load.h"

#define CORPUS "tests/fuzz/corpus/fuzz_manifest"

static int
read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return -1;
	buf_init(b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(b, chunk, n);
	fclose(f);
	return 0;
}

/* Returns 1 when the input was accepted, 0 when it was rejected with good diagnostics. */
static int
replay(const char *path)
{
	struct buf b;
	struct mf_set set;
	struct mf_diags d;
	int rc;

	assert_int_equal(read_file(path, &b), 0);
	mf_spec_set_init(&set);
	mf_diag_init(&d);
	rc = mf_load_buffer("fuzz.yaml", b.data ? b.data : "", b.len, &set, &d);
	if (rc == 0)
		rc = mf_spec_check_set(&set, &d);
	if (rc == 0) {
		assert_int_equal(d.n, 0);
		for (size_t i = 0; i < set.n; i++) {
			char *r;

			mf_diff_sort(&set.v[i]);
			r = mf_diff_render(&set.v[i]);
			assert_non_null(strstr(r, "metadata:\n  name: "));
			free(r);
		}
	} else {
		assert_true(d.n > 0);
		for (size_t i = 0; i < d.n; i++) {
			char *s = mf_diag_format(&d.v[i]);
			int line = 0, col = 0;

			if (sscanf(s, "fuzz.yaml:%d:%d: ", &line, &col) != 2 || line < 1 || col < 1)
				fail_msg("%s: malformed diagnostic: %s", path, s);
			free(s);
		}
	}
	mf_spec_set_free(&set);
	mf_diag_free(&d);
	buf_free(&b);
	return rc == 0;
}

static void
test_replay_corpus(void **state)
{
	DIR *dp = opendir(CORPUS);
	struct dirent *de;
	size_t files = 0, accepted = 0;

	if (dp == NULL)
		fail_msg("cannot open %s (run from the repository root)", CORPUS);
	while ((de = readdir(dp)) != NULL) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", CORPUS, de->d_name);
		accepted += (size_t)replay(path);
		files++;
		free(path);
	}
	closedir(dp);
	printf("replayed %zu corpus inputs, %zu accepted\n", files, accepted);
	/* The seeds alone hold the four valid examples and a dozen invalid inputs. */
	assert_true(files >= 13);
	assert_true(accepted >= 4);
	assert_true(accepted < files);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
