#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_min = LOG_LVL_INFO;
static const char *log_prog = "vibn";

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void
log_init(const char *progname, enum log_level min_level)
{
	if (progname != NULL)
		log_prog = progname;
	log_min = min_level;
}

int
log_enabled(enum log_level level)
{
	return level >= log_min;
}

/* Appends s to out as a logfmt value: quoted, with quotes, backslashes and control bytes
 * escaped, so a message can never forge a field or break the line. */
static size_t
log_quote(char *out, size_t cap, size_t off, const char *s)
{
	if (off < cap)
		out[off++] = '"';
	for (; *s != '\0' && off + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[off++] = '\\';
			out[off++] = (char)c;
		} else if (c == '\n') {
			out[off++] = '\\';
			out[off++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			out[off++] = ' ';
		} else {
			out[off++] = (char)c;
		}
	}
	if (off < cap)
		out[off++] = '"';
	return off;
}

void
log_vemit(enum log_level level, const char *fields, const char *fmt, va_list ap)
{
	char msg[2048], line[4096];
	struct timespec ts;
	struct tm tm;
	size_t off;
	int n, saved = errno;

	if (level < log_min)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line,
	             "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=", tm.tm_year + 1900,
	             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             ts.tv_nsec / 1000000, log_level_names[level]);
	off = log_quote(line, sizeof line - 2, (size_t)n, msg);
	if (fields != NULL && *fields != '\0') {
		n = snprintf(line + off, sizeof line - 2 - off, " %s", fields);
		if (n > 0)
			off +=
			    (size_t)n < sizeof line - 2 - off ? (size_t)n : sizeof line - 3 - off;
	}
	line[off++] = '\n';
	/* One write per line: atomic enough for stderr pipes below PIPE_BUF. */
	if (write(STDERR_FILENO, line, off) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

void
log_emit(enum log_level level, const char *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, fields, fmt, ap);
	va_end(ap);
}

int
log_reopen(const char *path, char **cause)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	*cause = NULL;
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
		if (asprintf(cause, "cannot open %s: %s", path, strerror(errno)) < 0)
			*cause = NULL;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void
fatal(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_emit(LOG_LVL_ERROR, NULL, "%s: %s: %s", log_prog, msg, strerror(saved));
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_emit(LOG_LVL_ERROR, NULL, "%s: %s", log_prog, msg);
	exit(1);
}
