/* spool: webhook deliveries kept on local disk while the database cannot take them, so that
 * a signed delivery is answered 202 and replayed later instead of lost (Gitea never retries
 * one). One file per delivery, named by its arrival number (NNNNNNNNNNNNNNNNNNNN.delivery,
 * 20 digits, so that name order is arrival order), written to a temporary name, fsync'd,
 * renamed into place and the folder fsync'd: a file under its final name is whole and
 * survives a crash. The folder is bounded in bytes, in files (SPOOL_MAX_FILES) and per file
 * (max_body plus a small header), so that nothing that reaches the route can fill the disk.
 * One process holds a folder at a time (a lock file). Files that cannot be read back are
 * moved aside into the "corrupt" subfolder, never deleted.
 *
 * File format (text head, raw body):
 *   vibn-webhook-spool 1\n
 *   delivery: <X-Gitea-Delivery>\n      (each of these four lines only when present)
 *   event: <X-Gitea-Event>\n
 *   signature: <X-Gitea-Signature>\n
 *   hub-signature: <X-Hub-Signature-256>\n
 *   sha256: <hex of the body>\n
 *   length: <body bytes>\n
 *   \n
 *   <body>
 *
 * Thread safety: every function may be called from any thread; spool_put runs on the loop
 * thread while a database thread lists, reads and removes. */
#ifndef VIBN_SPOOL_H
#define VIBN_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Files at most, whatever the byte budget: bounds inodes and the replay's listing. */
#define SPOOL_MAX_FILES 100000
/* Longest header value kept (delivery ids are at most 128, signatures 71). */
#define SPOOL_MAX_VALUE 256
/* Bytes of a file besides its body, at most. */
#define SPOOL_MAX_HEAD 2048

struct spool;

/* A delivery. For spool_put the fields are borrowed; spool_read fills them pointing into
 * raw, which spool_delivery_free releases. */
struct spool_delivery {
	const char *delivery;      /* X-Gitea-Delivery, or NULL */
	const char *event;         /* X-Gitea-Event, or NULL */
	const char *signature;     /* X-Gitea-Signature, or NULL */
	const char *hub_signature; /* X-Hub-Signature-256, or NULL */
	const void *body;
	size_t len;
	char *raw; /* owned (spool_read); NULL otherwise */
};

/* Opens (creating the last path component, mode 0700, when missing) and locks dir, checks
 * it can be written (a probe file written, fsync'd and removed), removes temporary files
 * that a crash left half written (never acknowledged) and counts the spooled ones.
 * max_bytes bounds the folder's total, max_body each body. Returns 0 with *out (free with
 * spool_close), or -1 with a one-line *cause (owned by the caller) naming the folder. */
int spool_open(struct spool **out, const char *dir, uint64_t max_bytes, size_t max_body,
               char **cause) __attribute__((warn_unused_result));
/* Unlocks and frees (the files stay). NULL is fine. */
void spool_close(struct spool *sp);
/* For vibnd -n: 0 when dir exists and can be written, or does not and its parent can be
 * (nothing is created); -1 with *cause otherwise. */
int spool_check(const char *dir, char **cause) __attribute__((warn_unused_result));

#define SPOOL_FULL 1
/* Writes d durably. Returns 0 (*seq, when not NULL, is its arrival number), SPOOL_FULL when
 * it would exceed a bound (nothing written), or -1 with *cause (an I/O error, or a value
 * that cannot be stored: longer than SPOOL_MAX_VALUE or with a control character). */
int spool_put(struct spool *sp, const struct spool_delivery *d, uint64_t *seq, char **cause)
    __attribute__((warn_unused_result));
/* The names of the oldest spooled files, at most max, oldest first, in *names (a new array
 * of new strings: free with spool_names_free). Returns how many, or -1 with *cause. */
int spool_list(struct spool *sp, char ***names, int max, char **cause)
    __attribute__((warn_unused_result));
void spool_names_free(char **names, int n);
/* Reads and checks one file into *d (free with spool_delivery_free). Returns 0, or -1 with
 * *cause when it cannot be read or is not a whole, well-formed spool file. */
int spool_read(struct spool *sp, const char *name, struct spool_delivery *d, char **cause)
    __attribute__((warn_unused_result));
void spool_delivery_free(struct spool_delivery *d);
/* Deletes a file whose delivery was handled (durably: the folder is fsync'd). */
int spool_remove(struct spool *sp, const char *name, char **cause);
/* Moves a file that cannot be replayed into DIR/corrupt/ (kept for a human, out of the
 * budget and of the replay). */
int spool_quarantine(struct spool *sp, const char *name, char **cause);
/* Spooled files and their bytes now. */
void spool_stats(struct spool *sp, uint64_t *bytes, long *files);
/* The folder (borrowed, for logs). */
const char *spool_dir(const struct spool *sp);

#endif
