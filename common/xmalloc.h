/* Allocation that cannot fail: out of memory is an impossible state for a daemon, so these
 * call fatal() instead of returning NULL, and callers need no OOM branches. */
#ifndef VIBN_XMALLOC_H
#define VIBN_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
/* Returns a new string, or NULL when s is NULL. */
char *xstrdup(const char *s);
/* xstrdup, or NULL for NULL (an absent header or parameter). */
char *xstrdup_null(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a new formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
