/* Manifest diagnostics: every problem found in a set of manifests, each with its place
 * as file:line:column (1-based), printed in the order found. Parsing and validation add to
 * one list so that all errors are reported, not just the first. */
#ifndef VIBN_MF_DIAG_H
#define VIBN_MF_DIAG_H

#include <stddef.h>
#include <stdio.h>

/* Past this many, further diagnostics are counted but not kept (a hostile file could
 * otherwise produce one per byte). */
#define MF_DIAG_MAX 200

struct mf_diag {
	char *file; /* owned */
	int line;   /* 1-based; 0 when the problem has no position (a whole file) */
	int col;
	char *msg; /* owned */
};

struct mf_diags {
	struct mf_diag *v;
	size_t n;
	size_t cap;
	size_t dropped; /* diagnostics past MF_DIAG_MAX */
};

void mf_diag_init(struct mf_diags *d);
void mf_diag_free(struct mf_diags *d);
/* Adds one diagnostic; file is copied. */
void mf_diag_add(struct mf_diags *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sorts the diagnostics from index start on by line and column (stably): one file's
 * checks run in schema order, but its errors read best top to bottom. */
void mf_diag_sort_from(struct mf_diags *d, size_t start);
/* Total count, kept or dropped. */
size_t mf_diag_count(const struct mf_diags *d);
/* Returns a new string "file:line:col: message" (or "file: message" without a position). */
char *mf_diag_format(const struct mf_diag *e);
/* Returns a new, double-quoted, printable rendering of len bytes of s for a message:
 * control characters escaped, cut at 64 characters with "...". */
char *mf_diag_quote(const char *s, size_t len);
/* Prints every diagnostic, one line each, and a note for the dropped ones. */
void mf_diag_print(const struct mf_diags *d, FILE *out);

#endif
