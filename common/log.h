/* Logging: one logfmt line per event on stderr, written with a single write(2) so lines from
 * several threads never interleave:
 *
 *   ts=2026-11-28T20:00:00.123Z level=info msg="reconcile done" workspace=acme reconcile=42
 *
 * The plain calls take a printf message; the *_kv calls take extra pre-formatted "key=value"
 * fields first. Never pass a secret to either: nothing here can tell what is one. */
#ifndef VIBN_LOG_H
#define VIBN_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Sets the lowest level printed (default info) and the program name in fatal messages. */
void log_init(const char *progname, enum log_level min_level);
int log_enabled(enum log_level level);

void log_emit(enum log_level level, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vemit(enum log_level level, const char *fields, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_debug(...) log_emit(LOG_LVL_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)  log_emit(LOG_LVL_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  log_emit(LOG_LVL_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_emit(LOG_LVL_ERROR, NULL, __VA_ARGS__)

#define log_debug_kv(f, ...) log_emit(LOG_LVL_DEBUG, (f), __VA_ARGS__)
#define log_info_kv(f, ...)  log_emit(LOG_LVL_INFO, (f), __VA_ARGS__)
#define log_warn_kv(f, ...)  log_emit(LOG_LVL_WARN, (f), __VA_ARGS__)
#define log_error_kv(f, ...) log_emit(LOG_LVL_ERROR, (f), __VA_ARGS__)

/* Makes path (appended to, created 0640) where log lines go from now on, in place of
 * stderr (descriptor 2 itself is replaced, so every writer follows). Call again to reopen
 * after the file was moved (log rotation). Returns 0, or -1 with a one-line *cause. */
int log_reopen(const char *path, char **cause) __attribute__((warn_unused_result));

/* Impossible states and start-up failures only: logs and exits 1. fatal adds strerror(errno). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
