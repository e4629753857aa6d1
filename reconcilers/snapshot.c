#include "snapshot.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"

static unsigned char snapshot_key[32];
static pthread_once_t snapshot_once = PTHREAD_ONCE_INIT;

static void
snapshot_key_init(void)
{
	util_random_bytes(snapshot_key, sizeof snapshot_key);
}

uint64_t
snapshot_digest(const char *const *fields, size_t n, int fold)
{
	unsigned char md[32];
	struct buf b;
	uint64_t d = 0;

	pthread_once(&snapshot_once, snapshot_key_init);
	buf_init(&b);
	buf_append(&b, snapshot_key, sizeof snapshot_key);
	for (size_t i = 0; i < n; i++) {
		const char *f = fields[i] != NULL ? fields[i] : "";
		uint32_t len = (uint32_t)strlen(f);

		/* Length-prefixed, so ("ab", "c") and ("a", "bc") differ. */
		buf_append(&b, &len, sizeof len);
		for (const char *p = f; *p != '\0'; p++)
			buf_putc(&b, fold ? (char)tolower((unsigned char)*p) : *p);
	}
	util_sha256(b.data, b.len, md);
	buf_free(&b);
	memcpy(&d, md, sizeof d);
	return d;
}
