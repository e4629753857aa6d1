#include "mf_load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifests/mf_yaml.h"
#include "common/buf.h"
#include "common/xmalloc.h"

#define MF_LOAD_MAX_DEPTH 32 /* directory nesting (symlink loops end here) */

int
mf_load_buffer(const char *name, const char *data, size_t len, struct mf_set *set,
               struct mf_diags *d)
{
	struct mf_doc *docs;
	size_t ndocs, start = d->n;
	int rc = 0;

	if (mf_yaml_parse(name, data, len, &docs, &ndocs, d) != 0) {
		mf_diag_sort_from(d, start);
		return -1;
	}
	for (size_t i = 0; i < ndocs; i++)
		if (mf_spec_from_doc(name, &docs[i], set, d) != 0)
			rc = -1;
	mf_yaml_free_docs(docs, ndocs);
	mf_diag_sort_from(d, start);
	return rc;
}

/* Reads all of fd, up to the file cap. Returns 0 with *out (a new buffer), or -1 with a
 * diagnostic. */
static int
mf_load_read(int fd, const char *name, struct buf *out, struct mf_diags *d)
{
	char chunk[65536];
	ssize_t n;

	buf_init(out);
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mf_diag_add(d, name, 0, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > MF_YAML_MAX_FILE) {
			mf_diag_add(d, name, 0, 0, "file is larger than %u bytes",
			            MF_YAML_MAX_FILE);
			goto fail;
		}
		buf_append(out, chunk, (size_t)n);
	}
fail:
	buf_free(out);
	return -1;
}

static int
mf_load_fd(int fd, const char *name, struct mf_set *set, struct mf_diags *d)
{
	struct buf b;
	int rc;

	if (mf_load_read(fd, name, &b, d) != 0)
		return -1;
	rc = mf_load_buffer(name, b.data ? b.data : "", b.len, set, d);
	buf_free(&b);
	return rc;
}

static int
mf_load_file(const char *path, struct mf_set *set, struct mf_diags *d)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		mf_diag_add(d, path, 0, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	rc = mf_load_fd(fd, path, set, d);
	close(fd);
	return rc;
}

static int
mf_load_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
mf_load_is_manifest(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* Collects manifest files under dir into *files (new strings), sorted by full path. */
static int
mf_load_walk(const char *dir, int depth, char ***files, size_t *nfiles, struct mf_diags *d)
{
	DIR *dp;
	struct dirent *de;
	struct stat st;
	int rc = 0;

	if (depth > MF_LOAD_MAX_DEPTH) {
		mf_diag_add(d, dir, 0, 0, "directories nested deeper than %d (a symlink loop?)",
		            MF_LOAD_MAX_DEPTH);
		return -1;
	}
	if ((dp = opendir(dir)) == NULL) {
		mf_diag_add(d, dir, 0, 0, "cannot open directory: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		char *path;

		if (de->d_name[0] == '.')
			continue; /* ".", "..", and hidden entries such as .git */
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0) {
			mf_diag_add(d, path, 0, 0, "cannot stat: %s", strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			if (mf_load_walk(path, depth + 1, files, nfiles, d) != 0)
				rc = -1;
		} else if (S_ISREG(st.st_mode) && mf_load_is_manifest(de->d_name)) {
			*files = xreallocarray(*files, *nfiles + 1, sizeof **files);
			(*files)[(*nfiles)++] = path;
			path = NULL;
		}
		free(path);
	}
	closedir(dp);
	return rc;
}

static int
mf_load_dir(const char *dir, struct mf_set *set, struct mf_diags *d)
{
	char **files = NULL, *clean;
	size_t nfiles = 0, len;
	int rc;

	/* "dir/" and "dir" name files the same way. */
	clean = xstrdup(dir);
	len = strlen(clean);
	while (len > 1 && clean[len - 1] == '/')
		clean[--len] = '\0';
	rc = mf_load_walk(clean, 0, &files, &nfiles, d);
	if (rc == 0 && nfiles == 0) {
		mf_diag_add(d, clean, 0, 0, "no *.yaml or *.yml files in this directory");
		rc = -1;
	}
	if (nfiles > 1)
		qsort(files, nfiles, sizeof *files, mf_load_cmp);
	for (size_t i = 0; i < nfiles; i++) {
		if (mf_load_file(files[i], set, d) != 0)
			rc = -1;
		free(files[i]);
	}
	free(files);
	free(clean);
	return rc;
}

int
mf_load_paths(const char *const *paths, size_t npaths, struct mf_set *set, struct mf_diags *d)
{
	struct stat st;
	int rc = 0, stdin_done = 0;

	for (size_t i = 0; i < npaths; i++) {
		const char *p = paths[i];

		if (strcmp(p, "-") == 0) {
			if (stdin_done) {
				mf_diag_add(d, "<stdin>", 0, 0, "\"-\" given more than once");
				rc = -1;
				continue;
			}
			stdin_done = 1;
			if (mf_load_fd(STDIN_FILENO, "<stdin>", set, d) != 0)
				rc = -1;
		} else if (stat(p, &st) != 0) {
			mf_diag_add(d, p, 0, 0, "%s", strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			if (mf_load_dir(p, set, d) != 0)
				rc = -1;
		} else if (mf_load_file(p, set, d) != 0) {
			rc = -1;
		}
	}
	if (mf_spec_check_set(set, d) != 0)
		rc = -1;
	if (rc != 0)
		mf_spec_set_free(set);
	return rc;
}
