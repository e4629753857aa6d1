/* libFuzzer target: the manifest parser and validator (YAML tree, caps, schema checks) and
 * the canonical renderer, on arbitrary bytes. Its corpus (tests/fuzz/corpus/fuzz_manifest/)
 * is replayed by tests/unit/test_manifest_corpus.c in every `make test`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "manifests/mf_diff.h"
#include "manifests/mf_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mf_set set;
	struct mf_diags d;

	mf_spec_set_init(&set);
	mf_diag_init(&d);
	if (mf_load_buffer("fuzz.yaml", (const char *)data, size, &set, &d) == 0 &&
	    mf_spec_check_set(&set, &d) == 0) {
		for (size_t i = 0; i < set.n; i++) {
			char *a, *diff;

			mf_diff_sort(&set.v[i]);
			a = mf_diff_render(&set.v[i]);
			diff = mf_diff_unified("live", NULL, "manifest", a);
			free(diff);
			free(a);
		}
	}
	for (size_t i = 0; i < d.n; i++)
		free(mf_diag_format(&d.v[i]));
	mf_spec_set_free(&set);
	mf_diag_free(&d);
	return 0;
}
