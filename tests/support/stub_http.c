#include "stub_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xmalloc.h"

struct stub_http {
	pthread_t thread;
	pthread_mutex_t mu;
	int listen_fd;
	int wake[2]; /* written to stop the thread */
	char url[64];
	struct buf response; /* the canned response, whole */
	int silent;
	int drops; /* requests still to be read and answered by closing the connection */
	int requests;
	int connections;
	int last_reused; /* the last request came on a connection that had carried one before */
	char *last_head;
	pthread_t conn_threads[64]; /* one per connection: keep-alive clients may overlap */
	int nconn_threads;
};

struct stub_conn {
	struct stub_http *s;
	int fd;
};

static void __attribute__((noreturn)) stub_die(const char *what)
{
	fprintf(stderr, "stub_http: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Waits for fd to be readable or the stop signal: 1 readable, 0 stop. */
static int
stub_wait(struct stub_http *s, int fd)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (p[1].revents)
			return 0;
		if (p[0].revents)
			return 1;
	}
}

static void
stub_send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n <= 0)
			return; /* the client hung up, e.g. after refusing a huge body */
		data += n;
		len -= (size_t)n;
	}
}

/* Serves one connection until the client closes it or the server stops. */
static void
stub_serve(struct stub_http *s, int fd)
{
	struct buf in;
	char chunk[4096];
	int silent, drop, served = 0;

	buf_init(&in);
	for (;;) {
		char *end, *cl;
		size_t head_len, body_len = 0;
		ssize_t n;

		for (;;) {
			end = strstr(buf_str(&in), "\r\n\r\n");
			if (end != NULL)
				break;
			if (!stub_wait(s, fd))
				goto out;
			n = recv(fd, chunk, sizeof chunk, 0);
			if (n <= 0)
				goto out;
			buf_append(&in, chunk, (size_t)n);
		}
		head_len = (size_t)(end - buf_str(&in)) + 4;
		cl = strcasestr(in.data, "\r\nContent-Length:");
		if (cl != NULL && cl < end)
			body_len = strtoul(cl + 17, NULL, 10);
		while (in.len < head_len + body_len) {
			if (!stub_wait(s, fd))
				goto out;
			n = recv(fd, chunk, sizeof chunk, 0);
			if (n <= 0)
				goto out;
			buf_append(&in, chunk, (size_t)n);
		}
		pthread_mutex_lock(&s->mu);
		s->requests++;
		s->last_reused = served++ > 0;
		free(s->last_head);
		s->last_head = xstrndup(in.data, head_len);
		pthread_mutex_unlock(&s->mu);
		pthread_mutex_lock(&s->mu);
		silent = s->silent;
		drop = s->drops > 0;
		if (drop)
			s->drops--;
		pthread_mutex_unlock(&s->mu);
		if (drop)
			goto out; /* read whole, then no answer: a server that died mid-request */
		if (silent) {
			/* Hold the request until the client gives up. */
			while (stub_wait(s, fd) && recv(fd, chunk, sizeof chunk, 0) > 0)
				;
			goto out;
		}
		pthread_mutex_lock(&s->mu);
		stub_send_all(fd, s->response.data, s->response.len);
		pthread_mutex_unlock(&s->mu);
		/* Keep what follows this request (pipelining is not used, but be exact). */
		memmove(in.data, in.data + head_len + body_len, in.len - head_len - body_len);
		in.len -= head_len + body_len;
		in.data[in.len] = '\0';
	}
out:
	buf_free(&in);
	close(fd);
}

static void *
stub_conn_main(void *arg)
{
	struct stub_conn *c = arg;

	stub_serve(c->s, c->fd);
	free(c);
	return NULL;
}

static void *
stub_main(void *arg)
{
	struct stub_http *s = arg;

	while (stub_wait(s, s->listen_fd)) {
		int fd = accept(s->listen_fd, NULL, NULL);
		struct stub_conn *c;

		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->mu);
		s->connections++;
		pthread_mutex_unlock(&s->mu);
		if (s->nconn_threads == (int)(sizeof s->conn_threads / sizeof s->conn_threads[0])) {
			close(fd);
			continue;
		}
		c = xmalloc(sizeof *c);
		c->s = s;
		c->fd = fd;
		if (pthread_create(&s->conn_threads[s->nconn_threads], NULL, stub_conn_main, c) !=
		    0)
			stub_die("pthread_create");
		s->nconn_threads++;
	}
	for (int i = 0; i < s->nconn_threads; i++)
		pthread_join(s->conn_threads[i], NULL);
	return NULL;
}

struct stub_http *
stub_http_start(void)
{
	struct stub_http *s = xcalloc(1, sizeof *s);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;

	pthread_mutex_init(&s->mu, NULL);
	buf_init(&s->response);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(s->listen_fd, 16) != 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&sa, &len) != 0)
		stub_die("listen");
	if (pipe(s->wake) != 0)
		stub_die("pipe");
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
	stub_http_set(s, 200, NULL, "{}");
	if (pthread_create(&s->thread, NULL, stub_main, s) != 0)
		stub_die("pthread_create");
	return s;
}

void
stub_http_stop(struct stub_http *s)
{
	if (write(s->wake[1], "x", 1) != 1)
		stub_die("write");
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	close(s->wake[0]);
	close(s->wake[1]);
	buf_free(&s->response);
	free(s->last_head);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *
stub_http_url(struct stub_http *s)
{
	return s->url;
}

static const char *
stub_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 301:
		return "Moved Permanently";
	case 307:
		return "Temporary Redirect";
	case 429:
		return "Too Many Requests";
	default:
		return "Status";
	}
}

void
stub_http_set(struct stub_http *s, int status, const char *headers, const char *body)
{
	pthread_mutex_lock(&s->mu);
	s->silent = 0;
	buf_reset(&s->response);
	buf_printf(&s->response, "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n\r\n%s", status,
	           stub_reason(status), headers ? headers : "", strlen(body), body);
	pthread_mutex_unlock(&s->mu);
}

void
stub_http_set_big(struct stub_http *s, size_t n)
{
	char chunk[4096];

	memset(chunk, 'x', sizeof chunk);
	pthread_mutex_lock(&s->mu);
	s->silent = 0;
	buf_reset(&s->response);
	buf_printf(&s->response, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
	while (n > 0) {
		size_t k = n < sizeof chunk ? n : sizeof chunk;

		buf_append(&s->response, chunk, k);
		n -= k;
	}
	pthread_mutex_unlock(&s->mu);
}

void
stub_http_drop_next(struct stub_http *s, int n)
{
	pthread_mutex_lock(&s->mu);
	s->drops = n;
	pthread_mutex_unlock(&s->mu);
}

void
stub_http_set_silent(struct stub_http *s)
{
	pthread_mutex_lock(&s->mu);
	s->silent = 1;
	pthread_mutex_unlock(&s->mu);
}

int
stub_http_requests(struct stub_http *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->requests;
	pthread_mutex_unlock(&s->mu);
	return n;
}

int
stub_http_last_reused(struct stub_http *s)
{
	int v;

	pthread_mutex_lock(&s->mu);
	v = s->last_reused;
	pthread_mutex_unlock(&s->mu);
	return v;
}

int
stub_http_connections(struct stub_http *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->connections;
	pthread_mutex_unlock(&s->mu);
	return n;
}

char *
stub_http_last_head(struct stub_http *s)
{
	char *h;

	pthread_mutex_lock(&s->mu);
	h = xstrdup(s->last_head ? s->last_head : "");
	pthread_mutex_unlock(&s->mu);
	return h;
}
