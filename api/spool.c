#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define SPOOL_MAGIC     "vibn-webhook-spool 1\n"
#define SPOOL_SUFFIX    ".delivery"
#define SPOOL_DIGITS    20
#define SPOOL_TMP       ".tmp-"
#define SPOOL_LOCK      ".lock"
#define SPOOL_CORRUPT   "corrupt"
#define SPOOL_NAME_SIZE (SPOOL_DIGITS + sizeof SPOOL_SUFFIX)

struct spool {
	char *dir;
	int dirfd;
	int lockfd;
	uint64_t max_bytes;
	size_t max_body;
	pthread_mutex_t mu;
	uint64_t bytes; /* under mu */
	long files;     /* under mu */
	uint64_t next;  /* under mu: the next arrival number */
};

/* 1 when name is a spooled file's (20 digits and the suffix); *seq gets its number. */
static int
spool_is_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < SPOOL_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (strcmp(name + i, SPOOL_SUFFIX) != 0)
		return 0;
	if (seq != NULL)
		*seq = v;
	return 1;
}

static char *
spool_path(const struct spool *sp, const char *name)
{
	return xasprintf("%s/%s", sp->dir, name);
}

/* Makes what was renamed or unlinked in the folder durable. */
static int
spool_sync_dir(const struct spool *sp, char **cause)
{
	if (fsync(sp->dirfd) != 0) {
		*cause = xasprintf("%s: fsync: %s", sp->dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
spool_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t w = write(fd, c, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Writes a whole file durably: temp name, fsync, close. Returns 0 or -1 with *cause. */
static int
spool_write_file(const char *path, const void *head, size_t hlen, const void *body, size_t blen,
                 char **cause)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (spool_write_all(fd, head, hlen) != 0 || spool_write_all(fd, body, blen) != 0 ||
	    fsync(fd) != 0) {
		*cause = xasprintf("%s: write: %s", path, errno ? strerror(errno) : "short write");
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) != 0) {
		*cause = xasprintf("%s: close: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
spool_check(const char *dir, char **cause)
{
	struct stat st;
	char *copy, *parent;
	int rc = 0;

	*cause = NULL;
	if (dir == NULL || *dir == '\0') {
		*cause = xstrdup("the spool folder is empty");
		return -1;
	}
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			*cause = xasprintf("%s: not a folder", dir);
			return -1;
		}
		if (access(dir, W_OK | X_OK) != 0) {
			*cause = xasprintf("%s: cannot be written: %s", dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	copy = xstrdup(dir);
	parent = dirname(copy);
	if (access(parent, W_OK | X_OK) != 0) {
		*cause = xasprintf("%s does not exist and cannot be created in %s: %s", dir, parent,
		                   strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

/* Scans the folder at open: counts spooled files, finds the next number, removes
 * temporary files a crash left (their deliveries were never answered 202). */
static int
spool_scan(struct spool *sp, char **cause)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	uint64_t seq;
	struct stat st;

	if (d == NULL) {
		*cause = xasprintf("%s: %s", sp->dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, SPOOL_TMP, strlen(SPOOL_TMP)) == 0) {
			(void)unlinkat(sp->dirfd, e->d_name, 0);
			continue;
		}
		if (!spool_is_name(e->d_name, &seq))
			continue;
		if (fstatat(sp->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		sp->files++;
		sp->bytes += (uint64_t)st.st_size;
		if (seq >= sp->next)
			sp->next = seq + 1;
	}
	closedir(d);
	return 0;
}

int
spool_open(struct spool **out, const char *dir, uint64_t max_bytes, size_t max_body, char **cause)
{
	struct spool *sp;
	char *probe = NULL, *lock = NULL;

	*out = NULL;
	*cause = NULL;
	if (dir == NULL || *dir == '\0') {
		*cause = xstrdup("the spool folder is empty");
		return -1;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*cause = xasprintf("%s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	sp = xcalloc(1, sizeof *sp);
	sp->dir = xstrdup(dir);
	sp->lockfd = -1;
	sp->max_bytes = max_bytes;
	sp->max_body = max_body;
	pthread_mutex_init(&sp->mu, NULL);
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		goto fail;
	}
	/* Two processes on one folder would give the same numbers to different deliveries. */
	lock = spool_path(sp, SPOOL_LOCK);
	sp->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0) {
		*cause = xasprintf("%s: cannot be written: %s", lock, strerror(errno));
		goto fail;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
		*cause = xasprintf("%s is in use by another process (each vibnd needs a spool "
		                   "folder of its own)",
		                   dir);
		goto fail;
	}
	/* Fail now, not at the first outage: a folder that cannot take a file would lose the
	 * deliveries it exists for. */
	probe = spool_path(sp, SPOOL_TMP "probe");
	(void)unlink(probe);
	if (spool_write_file(probe, SPOOL_MAGIC, strlen(SPOOL_MAGIC), "", 0, cause) != 0)
		goto fail;
	(void)unlink(probe);
	if (spool_sync_dir(sp, cause) != 0 || spool_scan(sp, cause) != 0)
		goto fail;
	free(probe);
	free(lock);
	*out = sp;
	return 0;
fail:
	free(probe);
	free(lock);
	spool_close(sp);
	return -1;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->lockfd >= 0)
		close(sp->lockfd); /* releases the lock */
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	pthread_mutex_destroy(&sp->mu);
	free(sp->dir);
	free(sp);
}

/* A header value that can be stored on one line and read back as it was. */
static int
spool_value_ok(const char *v)
{
	size_t n = 0;

	for (; v[n] != '\0'; n++)
		if ((unsigned char)v[n] < 0x20 || v[n] == 0x7f)
			return 0;
	return n > 0 && n <= SPOOL_MAX_VALUE;
}

int
spool_put(struct spool *sp, const struct spool_delivery *d, uint64_t *seq, char **cause)
{
	const char *keys[4] = {"delivery", "event", "signature", "hub-signature"};
	const char *vals[4] = {d->delivery, d->event, d->signature, d->hub_signature};
	char hex[65], name[SPOOL_NAME_SIZE], *tmp = NULL, *path = NULL;
	struct buf head;
	uint64_t size, n;
	int full = 0;

	*cause = NULL;
	if (d->len > sp->max_body) {
		*cause = xasprintf("the body is over %zu bytes", sp->max_body);
		return -1;
	}
	buf_init(&head);
	buf_puts(&head, SPOOL_MAGIC);
	for (int i = 0; i < 4; i++) {
		if (vals[i] == NULL)
			continue;
		if (!spool_value_ok(vals[i])) {
			*cause = xasprintf("the %s header cannot be spooled (empty, over %d "
			                   "characters, or with a control character)",
			                   keys[i], SPOOL_MAX_VALUE);
			buf_free(&head);
			return -1;
		}
		buf_printf(&head, "%s: %s\n", keys[i], vals[i]);
	}
	util_sha256_hex(d->len ? d->body : "", d->len, hex);
	buf_printf(&head, "sha256: %s\nlength: %zu\n\n", hex, d->len);
	size = (uint64_t)head.len + d->len;

	/* Reserve the room and the number first, so that concurrent writers never exceed the
	 * bounds together; given back on failure. */
	pthread_mutex_lock(&sp->mu);
	if (sp->files >= SPOOL_MAX_FILES || sp->bytes + size > sp->max_bytes) {
		full = 1;
	} else {
		sp->files++;
		sp->bytes += size;
		n = sp->next++;
	}
	pthread_mutex_unlock(&sp->mu);
	if (full) {
		buf_free(&head);
		return SPOOL_FULL;
	}
	snprintf(name, sizeof name, "%0*" PRIu64 "%s", SPOOL_DIGITS, n, SPOOL_SUFFIX);
	tmp = xasprintf("%s/" SPOOL_TMP "%s", sp->dir, name);
	path = spool_path(sp, name);
	if (spool_write_file(tmp, head.data, head.len, d->len ? d->body : "", d->len, cause) != 0)
		goto fail;
	if (rename(tmp, path) != 0) {
		*cause = xasprintf("%s: rename: %s", path, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	if (spool_sync_dir(sp, cause) != 0) {
		/* Not known to be durable: not acknowledged either. */
		unlink(path);
		goto fail;
	}
	buf_free(&head);
	free(tmp);
	free(path);
	if (seq != NULL)
		*seq = n;
	return 0;
fail:
	pthread_mutex_lock(&sp->mu);
	sp->files--;
	sp->bytes -= size;
	pthread_mutex_unlock(&sp->mu);
	buf_free(&head);
	free(tmp);
	free(path);
	return -1;
}

static int
spool_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_list(struct spool *sp, char ***names, int max, char **cause)
{
	DIR *d;
	struct dirent *e;
	char **all = NULL;
	size_t n = 0, cap = 0;

	*names = NULL;
	*cause = NULL;
	d = opendir(sp->dir);
	if (d == NULL) {
		*cause = xasprintf("%s: %s", sp->dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!spool_is_name(e->d_name, NULL))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			all = xreallocarray(all, cap, sizeof *all);
		}
		all[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(all, n, sizeof *all, spool_cmp);
	/* Fixed-width numbers: name order is arrival order. Keep the oldest max. */
	while (n > (size_t)(max > 0 ? max : 0))
		free(all[--n]);
	if (n == 0) {
		free(all);
		all = NULL;
	}
	*names = all;
	return (int)n;
}

void
spool_names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Reads the whole of a spooled file (at most limit bytes) into *raw. */
static int
spool_slurp(struct spool *sp, const char *name, size_t limit, char **raw, size_t *len, char **cause)
{
	int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t got = 0;
	char *p;

	if (fd < 0) {
		*cause = xasprintf("%s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > limit) {
		*cause = xasprintf("%s: not a regular file of at most %zu bytes", name, limit);
		close(fd);
		return -1;
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		*cause = xasprintf("%s: short read", name);
		free(p);
		return -1;
	}
	p[got] = '\0';
	*raw = p;
	*len = got;
	return 0;
}

int
spool_read(struct spool *sp, const char *name, struct spool_delivery *d, char **cause)
{
	size_t len, mlen = strlen(SPOOL_MAGIC), blen = 0;
	char *raw = NULL, *p, *end, *nl, hex[65];
	const char *sum = NULL;
	int have_len = 0;

	memset(d, 0, sizeof *d);
	*cause = NULL;
	if (!spool_is_name(name, NULL)) {
		*cause = xasprintf("%s: not a spool file name", name);
		return -1;
	}
	if (spool_slurp(sp, name, sp->max_body + SPOOL_MAX_HEAD, &raw, &len, cause) != 0)
		return -1;
	if (len < mlen || memcmp(raw, SPOOL_MAGIC, mlen) != 0) {
		*cause = xasprintf("%s: not a spool file (bad first line)", name);
		goto fail;
	}
	end = raw + len;
	for (p = raw + mlen;; p = nl + 1) {
		char *colon;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || nl - raw > SPOOL_MAX_HEAD) {
			*cause = xasprintf("%s: truncated or overlong head", name);
			goto fail;
		}
		*nl = '\0';
		if (p == nl)
			break; /* the blank line: the body follows */
		colon = strstr(p, ": ");
		if (colon == NULL) {
			*cause = xasprintf("%s: a head line without \": \"", name);
			goto fail;
		}
		*colon = '\0';
		colon += 2;
		if (strcmp(p, "delivery") == 0 && d->delivery == NULL)
			d->delivery = colon;
		else if (strcmp(p, "event") == 0 && d->event == NULL)
			d->event = colon;
		else if (strcmp(p, "signature") == 0 && d->signature == NULL)
			d->signature = colon;
		else if (strcmp(p, "hub-signature") == 0 && d->hub_signature == NULL)
			d->hub_signature = colon;
		else if (strcmp(p, "sha256") == 0 && sum == NULL)
			sum = colon;
		else if (strcmp(p, "length") == 0 && !have_len) {
			char *e2;

			errno = 0;
			blen = (size_t)strtoull(colon, &e2, 10);
			if (errno != 0 || *colon < '0' || *colon > '9' || *e2 != '\0') {
				*cause = xasprintf("%s: bad length", name);
				goto fail;
			}
			have_len = 1;
		} else {
			*cause = xasprintf("%s: unknown or repeated head line \"%s\"", name, p);
			goto fail;
		}
	}
	p = nl + 1;
	if (!have_len || sum == NULL || blen > sp->max_body || (size_t)(end - p) != blen) {
		*cause = xasprintf("%s: the body is not the length its head gives (%zu of %zu "
		                   "bytes)",
		                   name, (size_t)(end - p), blen);
		goto fail;
	}
	util_sha256_hex(p, blen, hex);
	if (strcmp(hex, sum) != 0) {
		*cause = xasprintf("%s: the body does not match its checksum", name);
		goto fail;
	}
	d->body = p;
	d->len = blen;
	d->raw = raw;
	return 0;
fail:
	free(raw);
	memset(d, 0, sizeof *d);
	return -1;
}

void
spool_delivery_free(struct spool_delivery *d)
{
	free(d->raw);
	memset(d, 0, sizeof *d);
}

/* Takes a file that left the spool out of the counts. */
static void
spool_forget(struct spool *sp, const struct stat *st)
{
	pthread_mutex_lock(&sp->mu);
	if (sp->files > 0)
		sp->files--;
	sp->bytes = sp->bytes >= (uint64_t)st->st_size ? sp->bytes - (uint64_t)st->st_size : 0;
	pthread_mutex_unlock(&sp->mu);
}

int
spool_remove(struct spool *sp, const char *name, char **cause)
{
	struct stat st;

	*cause = NULL;
	if (!spool_is_name(name, NULL) || fstatat(sp->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		*cause = xasprintf("%s: not in the spool", name);
		return -1;
	}
	if (unlinkat(sp->dirfd, name, 0) != 0) {
		*cause = xasprintf("%s: unlink: %s", name, strerror(errno));
		return -1;
	}
	spool_forget(sp, &st);
	return spool_sync_dir(sp, cause);
}

int
spool_quarantine(struct spool *sp, const char *name, char **cause)
{
	struct stat st;
	char *to;

	*cause = NULL;
	if (!spool_is_name(name, NULL) || fstatat(sp->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		*cause = xasprintf("%s: not in the spool", name);
		return -1;
	}
	if (mkdirat(sp->dirfd, SPOOL_CORRUPT, 0700) != 0 && errno != EEXIST) {
		*cause =
		    xasprintf("%s/%s: cannot create: %s", sp->dir, SPOOL_CORRUPT, strerror(errno));
		return -1;
	}
	to = xasprintf("%s/%s", SPOOL_CORRUPT, name);
	if (renameat(sp->dirfd, name, sp->dirfd, to) != 0) {
		*cause = xasprintf("%s: cannot move to %s: %s", name, to, strerror(errno));
		free(to);
		return -1;
	}
	free(to);
	spool_forget(sp, &st);
	return spool_sync_dir(sp, cause);
}

void
spool_stats(struct spool *sp, uint64_t *bytes, long *files)
{
	pthread_mutex_lock(&sp->mu);
	*bytes = sp->bytes;
	*files = sp->files;
	pthread_mutex_unlock(&sp->mu);
}

const char *
spool_dir(const struct spool *sp)
{
	return sp->dir;
}
