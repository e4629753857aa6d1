/* A growable byte buffer, always NUL-terminated so it can be used as a string. */
#ifndef VIBN_BUF_H
#define VIBN_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the contents as a string (never NULL); the buffer keeps ownership. */
const char *buf_str(struct buf *b);
/* Hands the contents to the caller (a new string, never NULL) and empties the buffer. */
char *buf_release(struct buf *b);

#endif
