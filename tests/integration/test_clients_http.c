/* clients/http over real sockets, with a stub server for the shapes vibn-sim does not make:
 * redirects reported and not followed, Retry-After as an HTTP date, the body cap, lists over
 * it read as they arrive, error
 * messages from Gitea and Coolify bodies, keep-alive, timeouts, refused connections, the
 * request headers, the metrics observer, no token in the logs, the page-loop guard, and TLS
 * verification against a real TLS server (openssl s_server) with a self-signed certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "clients/coolify.h"
#include "clients/gitea.h"
#include "clients/http.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "tests/support/stub_http.h"

#define TOKEN "tok-3e1d0c7a-never-log-me"

static struct gitea *
stub_gitea(struct stub_http *s, struct http_budget *b, long timeout_ms)
{
	char *api = xasprintf("%s/api/v1", stub_http_url(s));
	struct gitea_config cfg = {.api_url = api,
	                           .token = TOKEN,
	                           .admin_user = "vibn-admin",
	                           .timeout_ms = timeout_ms,
	                           .budget = b};
	struct gitea *g = gitea_new(&cfg);

	free(api);
	return g;
}

static int
setup(void **state)
{
	*state = stub_http_start();
	return 0;
}

static int
teardown(void **state)
{
	stub_http_stop(*state);
	return 0;
}

static void
test_redirects_reported_not_followed(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct gitea_org org = {0};
	struct gitea_repo repo = {0};
	struct http_status st;

	stub_http_set(s, 307, "Location: /api/v1/orgs/vibn-renamed\r\n", "");
	assert_int_equal(gitea_org_get(g, "vibn-old", &org, &st), HTTP_REDIRECTED);
	assert_int_equal(st.status, 307);
	assert_string_equal(st.location, "/api/v1/orgs/vibn-renamed");
	assert_null(org.name);
	/* One request: the redirect was not followed. */
	assert_int_equal(stub_http_requests(s), 1);

	stub_http_set(s, 301, "Location: http://127.0.0.1:1/api/v1/repos/o/new\r\n", "");
	assert_int_equal(gitea_repo_get(g, "o", "old", &repo, &st), HTTP_REDIRECTED);
	assert_int_equal(st.status, 301);
	assert_string_equal(st.location, "http://127.0.0.1:1/api/v1/repos/o/new");
	assert_int_equal(stub_http_requests(s), 2);

	/* A plain 200 carries no stale Location. */
	stub_http_set(s, 200, "Location: /elsewhere\r\n", "{\"id\":3,\"name\":\"x\"}");
	assert_int_equal(gitea_org_get(g, "x", &org, &st), HTTP_OK);
	assert_string_equal(st.location, "");
	gitea_org_free(&org);
	gitea_free(g);
}

static void
test_retry_after_http_date_pauses_budget(void **state)
{
	struct stub_http *s = *state;
	struct http_budget *b = http_budget_new("gitea", 1000, 10);
	struct gitea *g = stub_gitea(s, b, 0);
	struct http_status st;
	char hdr[128], date[64];
	time_t t = time(NULL) + 30;
	struct tm tm;
	int64_t now = util_now_ms();

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(hdr, sizeof hdr, "Retry-After: %s\r\n", date);
	stub_http_set(s, 429, hdr, "{\"message\":\"Too Many Attempts.\"}");
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_RATE_LIMITED);
	assert_int_equal(st.status, 429);
	assert_string_equal(st.message, "Too Many Attempts.");
	assert_in_range(st.not_before_ms, now + 25000, now + 31000);
	assert_true(http_budget_paused_until(b) >= st.not_before_ms);
	/* The next call does not reach the server: the whole upstream is paused. */
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_RATE_LIMITED);
	assert_int_equal(st.status, 0);
	assert_int_equal(stub_http_requests(s), 1);
	gitea_free(g);
	http_budget_free(b);
}

static void
test_429_without_retry_after_still_pauses(void **state)
{
	struct stub_http *s = *state;
	struct http_budget *b = http_budget_new("gitea", 1000, 10);
	struct gitea *g = stub_gitea(s, b, 0);
	struct http_status st;
	int64_t now = util_now_ms();

	stub_http_set(s, 429, NULL, "");
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_RATE_LIMITED);
	assert_true(st.not_before_ms >= now + 1000);
	assert_true(http_budget_paused_until(b) > 0);
	gitea_free(g);
	http_budget_free(b);
}

static void
test_503_retry_after_sets_not_before(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct http_status st;
	int64_t now = util_now_ms();

	stub_http_set(s, 503, "Retry-After: 7\r\n", "Service Unavailable");
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 503);
	assert_string_equal(st.message, "Service Unavailable");
	assert_in_range(st.not_before_ms, now + 6000, now + 8000);
	gitea_free(g);
}

static void
test_body_cap(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct http_status st;

	stub_http_set_big(s, HTTP_MAX_BODY + 1);
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_INVALID);
	assert_string_equal(st.message, "response body over 8 MiB");
	gitea_free(g);
}

static int
count_project(const struct coolify_project *p, void *arg)
{
	size_t *n = arg;

	/* Every element arrives whole: its four columns (Coolify's GET /projects). */
	if (p->uuid == NULL || strlen(p->uuid) != 24 || p->name == NULL || p->id != (int64_t)*n + 1)
		return -1;
	(*n)++;
	return 0;
}

/* GET /projects as Coolify answers it for want projects, one body (b, reset first). */
static void
project_list_body(struct buf *b, size_t want)
{
	buf_reset(b);
	buf_putc(b, '[');
	for (size_t i = 1; i <= want; i++)
		buf_printf(b,
		           "%s{\"id\":%zu,\"uuid\":\"%024zu\",\"name\":\"vibn-ws-bench%zu\","
		           "\"description\":\"Vibn workspace bench%zu, with [brackets], {braces}"
		           " and \\\"quotes\\\"\"}",
		           i > 1 ? "," : "", i, i, i, i);
	buf_putc(b, ']');
}

/* Coolify does not paginate: 100,000 projects are one body of tens of megabytes, over the
 * 8 MiB cap of a buffered response. Lists are read as they arrive, element by element, with
 * a cap of their own; an error body keeps the usual cap and message. */
static void
test_list_over_the_body_cap(void **state)
{
	struct stub_http *s = *state;
	char *curl = xasprintf("%s", stub_http_url(s));
	struct coolify_config cc = {.url = curl, .token = TOKEN};
	struct coolify *c = coolify_new(&cc);
	struct coolify_projects list = {0};
	struct http_status st;
	struct buf b;
	size_t n = 0, want = 100000;

	buf_init(&b);
	project_list_body(&b, want);
	assert_true(b.len > HTTP_MAX_BODY);
	stub_http_set(s, 200, NULL, buf_str(&b));
	assert_int_equal(coolify_project_each(c, count_project, &n, &st), HTTP_OK);
	assert_int_equal(n, want);
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_OK);
	assert_int_equal(list.n, want);
	assert_string_equal(list.v[want - 1].uuid, "000000000000000000100000");
	coolify_projects_free(&list);

	/* Cut short: the array is not closed, nothing is returned. */
	b.data[b.len - 1] = ' ';
	stub_http_set(s, 200, NULL, buf_str(&b));
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_TRANSIENT);
	assert_string_equal(st.message, "unexpected response body: the array is not closed");
	assert_null(list.v);
	assert_int_equal(list.n, 0);

	/* A callback that stops the list fails it. */
	n = 5; /* ids no longer match: the first element is refused */
	stub_http_set(s, 200, NULL, "[{\"id\":1,\"uuid\":\"x\",\"name\":\"a\"}]");
	assert_int_equal(coolify_project_each(c, count_project, &n, &st), HTTP_TRANSIENT);
	assert_string_equal(st.message, "unexpected response body: element 0 refused");

	/* An error body is kept, for its message; a 2xx body that is no array fails at once. */
	stub_http_set(s, 500, NULL, "{\"message\":\"Server Error\"}");
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_TRANSIENT);
	assert_string_equal(st.message, "Server Error");
	stub_http_set_big(s, HTTP_MAX_BODY + 1);
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_TRANSIENT);
	assert_string_equal(st.message, "unexpected response body: not a JSON array");
	buf_free(&b);
	coolify_free(c);
	free(curl);
}

/* Bytes the allocator has handed out and not taken back, in every arena (mallinfo2 sums
 * them); 0 where the allocator does not say (ASan's). */
static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

struct heap_watch {
	size_t n, peak;
};

static int
count_project_heap(const struct coolify_project *p, void *arg)
{
	struct heap_watch *w = arg;
	size_t now = heap_in_use();

	if (now > w->peak)
		w->peak = now;
	return count_project(p, &w->n);
}

/* What a sweep does with Coolify's list (coolify_project_each) holds one element at a time:
 * reading a 100,000-project body (over 8 MiB) raises the heap in use by less than 1 MiB
 * at any moment, where a buffered body, or a jansson tree of it, would hold all of it. */
static void
test_list_read_in_flat_memory(void **state)
{
	struct stub_http *s = *state;
	char *curl;
	struct coolify_config cc = {.token = TOKEN};
	struct coolify *c;
	struct heap_watch w = {0, 0};
	struct http_status st;
	struct buf b;
	size_t base, want = 100000;

	curl = xasprintf("%s", stub_http_url(s));
	cc.url = curl;
	c = coolify_new(&cc);
	buf_init(&b);
	/* A small list first: the connection and curl's own buffers are made by then. */
	project_list_body(&b, 10);
	stub_http_set(s, 200, NULL, buf_str(&b));
	assert_int_equal(coolify_project_each(c, count_project_heap, &w, &st), HTTP_OK);
	assert_int_equal(w.n, 10);
	project_list_body(&b, want);
	assert_true(b.len > HTTP_MAX_BODY);
	stub_http_set(s, 200, NULL, buf_str(&b));
	base = heap_in_use();
	if (base == 0) { /* what was made is freed first: a skip leaks nothing */
		buf_free(&b);
		coolify_free(c);
		free(curl);
		print_message("skipped: the allocator does not report its use (mallinfo2)\n");
		skip();
	}
	w = (struct heap_watch){0, base};
	assert_int_equal(coolify_project_each(c, count_project_heap, &w, &st), HTTP_OK);
	assert_int_equal(w.n, want);
	print_message("list of %zu projects, %zu bytes: heap grew by at most %zu bytes\n", want,
	              b.len, w.peak - base);
	assert_true(w.peak - base < 1024 * 1024);
	buf_free(&b);
	coolify_free(c);
	free(curl);
}

static void
test_error_messages(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	char *curl = xasprintf("%s", stub_http_url(s));
	struct coolify_config cc = {.url = curl, .token = TOKEN};
	struct coolify *c = coolify_new(&cc);
	struct http_status st;
	char *uuid = NULL;

	stub_http_set(s, 422, NULL,
	              "{\"message\":\"user already exists [name: vibn-acme]\",\"url\":\"x\"}");
	assert_int_equal(gitea_org_create(g, "vibn-acme", NULL, NULL, &st), HTTP_CONFLICT);
	assert_string_equal(st.message, "user already exists [name: vibn-acme]");

	stub_http_set(s, 422, NULL,
	              "{\"message\":\"Validation failed.\",\"errors\":{\"name\":[\"The name field "
	              "is required.\",\"Too short.\"],\"description\":\"Bad.\"}}");
	assert_int_equal(coolify_project_create(c, "x", NULL, &uuid, &st), HTTP_INVALID);
	assert_string_equal(st.message, "Validation failed. (name: The name field is required., "
	                                "Too short.; description: Bad.)");
	assert_null(uuid);

	stub_http_set(s, 400, NULL,
	              "{\"message\":\"Invalid request.\",\"error\":\"Content-Type must be "
	              "application/json.\"}");
	assert_int_equal(coolify_project_delete(c, "p", &st), HTTP_INVALID);
	assert_string_equal(st.message, "Invalid request.: Content-Type must be application/json.");

	stub_http_set(s, 502, NULL, "<html>Bad Gateway</html>\nmore");
	assert_int_equal(coolify_project_delete(c, "p", &st), HTTP_TRANSIENT);
	assert_string_equal(st.message, "<html>Bad Gateway</html>");

	/* A 2xx whose body is not what the call expects is transient, not a crash. */
	stub_http_set(s, 200, NULL, "not json");
	assert_int_equal(gitea_org_get(g, "x", &(struct gitea_org){0}, &st), HTTP_TRANSIENT);
	assert_non_null(strstr(st.message, "unexpected response body"));
	coolify_free(c);
	free(curl);
	gitea_free(g);
}

static void
test_keepalive_and_headers(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct coolify_config cc = {.url = stub_http_url(s), .token = TOKEN};
	struct coolify *c = coolify_new(&cc);
	struct http_status st;
	char *head, *uuid = NULL;

	stub_http_set(s, 200, NULL, "{\"id\":1,\"login\":\"bob\"}");
	for (int i = 0; i < 5; i++)
		assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_OK);
	/* Five requests, one connection. */
	assert_int_equal(stub_http_requests(s), 5);
	assert_int_equal(stub_http_connections(s), 1);
	head = stub_http_last_head(s);
	assert_non_null(strstr(head, "GET /api/v1/users/bob HTTP/1.1\r\n"));
	assert_non_null(strstr(head, "\r\nAccept: application/json\r\n"));
	assert_non_null(strstr(head, "\r\nAuthorization: token " TOKEN "\r\n"));
	free(head);
	/* A POST rides the kept-alive connection too (libcurl cannot send it twice: see
	 * test_lost_answer_on_reused_connection), and so do the GETs after it. */
	stub_http_set(s, 201, NULL, "{\"id\":9,\"name\":\"r\"}");
	assert_int_equal(gitea_repo_create(g, "o", "r", NULL, NULL, &st), HTTP_OK);
	assert_int_equal(stub_http_connections(s), 1);
	assert_true(stub_http_last_reused(s));
	head = stub_http_last_head(s);
	assert_non_null(strstr(head, "POST /api/v1/orgs/o/repos HTTP/1.1\r\n"));
	assert_non_null(strstr(head, "\r\nContent-Length: "));
	assert_null(strstr(head, "Transfer-Encoding"));
	free(head);
	stub_http_set(s, 200, NULL, "{\"id\":1,\"login\":\"bob\"}");
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_OK);
	assert_int_equal(stub_http_connections(s), 1);

	stub_http_set(s, 201, NULL, "{\"uuid\":\"p1\"}");
	assert_int_equal(coolify_project_create(c, "vibn-ws-acme", NULL, &uuid, &st), HTTP_OK);
	assert_string_equal(uuid, "p1");
	free(uuid);
	head = stub_http_last_head(s);
	assert_non_null(strstr(head, "POST /api/v1/projects HTTP/1.1\r\n"));
	assert_non_null(strstr(head, "\r\nAuthorization: Bearer " TOKEN "\r\n"));
	assert_non_null(strstr(head, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(head, "\r\nAccept: application/json\r\n"));
	assert_null(strstr(head, "Expect:"));
	free(head);
	coolify_free(c);
	gitea_free(g);
}

/* A reused connection closed after the request was read, before any answer. libcurl sends
 * a GET again on a new connection (a keep-alive the server had just closed looks the
 * same); a POST it must not send again, since the server may have applied it: the create
 * is reported transient, sent once, for the reconciler to look up by name. */
static void
test_lost_answer_on_reused_connection(void **state)
{
	struct stub_http *s = *state;
	struct coolify_config cc = {.url = stub_http_url(s), .token = TOKEN};
	struct coolify *c = coolify_new(&cc);
	struct coolify_projects list = {0};
	struct http_status st;
	char *uuid = NULL;

	stub_http_set(s, 200, NULL, "[]");
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_OK);
	coolify_projects_free(&list);
	assert_int_equal(stub_http_requests(s), 1);
	assert_int_equal(stub_http_connections(s), 1);

	stub_http_drop_next(s, 1);
	assert_int_equal(coolify_project_list(c, &list, &st), HTTP_OK);
	coolify_projects_free(&list);
	assert_int_equal(stub_http_requests(s), 3); /* the dropped one and its repeat */
	assert_int_equal(stub_http_connections(s), 2);

	stub_http_set(s, 201, NULL, "{\"uuid\":\"p1\"}");
	stub_http_drop_next(s, 1);
	assert_int_equal(coolify_project_create(c, "vibn-ws-acme", NULL, &uuid, &st),
	                 HTTP_TRANSIENT);
	assert_null(uuid);
	assert_int_equal(st.status, 0);
	assert_non_null(strstr(st.message, "may have been applied"));
	/* It rode the kept-alive connection, and was sent once (libcurl may connect again for
	 * its repeat, then finds it cannot rewind the body and sends nothing). */
	assert_true(stub_http_last_reused(s));
	assert_int_equal(stub_http_requests(s), 4);

	/* The next create goes out on a new connection and is answered. */
	assert_int_equal(coolify_project_create(c, "vibn-ws-acme", NULL, &uuid, &st), HTTP_OK);
	assert_string_equal(uuid, "p1");
	free(uuid);
	assert_int_equal(stub_http_requests(s), 5);
	assert_false(stub_http_last_reused(s));
	coolify_free(c);
}

/* A POST does not ride a connection idle for over a second (a proxy may be closing it just
 * then, and a POST caught in that close is reported lost); other requests still do. The
 * sleep is the condition under test: a connection's idle time. */
static void
test_post_takes_no_idle_connection(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct http_status st;

	stub_http_set(s, 200, NULL, "{\"id\":1,\"login\":\"bob\"}");
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_OK);
	nanosleep(&(struct timespec){2, 100000000}, NULL);
	stub_http_set(s, 201, NULL, "{\"id\":9,\"name\":\"r\"}");
	assert_int_equal(gitea_repo_create(g, "o", "r", NULL, NULL, &st), HTTP_OK);
	assert_false(stub_http_last_reused(s));
	assert_int_equal(stub_http_connections(s), 2);
	nanosleep(&(struct timespec){2, 100000000}, NULL);
	stub_http_set(s, 200, NULL, "{\"id\":1,\"login\":\"bob\"}");
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_OK);
	assert_true(stub_http_last_reused(s));
	gitea_free(g);
}

static void
test_timeout_is_transient(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 200);
	struct http_status st;

	stub_http_set_silent(s);
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 0);
	assert_non_null(strstr(st.message, "timed out after 200 ms"));
	gitea_free(g);
}

static void
test_deadline_bounds_requests(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct http_status st;

	http_client_set_deadline(gitea_http(g), util_now_ms() - 1);
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_TRANSIENT);
	assert_int_equal(stub_http_requests(s), 0);
	/* A near deadline shortens the request's own timeout. */
	stub_http_set_silent(s);
	http_client_set_deadline(gitea_http(g), util_now_ms() + 150);
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_TRANSIENT);
	assert_non_null(strstr(st.message, "timed out"));
	gitea_free(g);
}

static void
test_connection_refused_is_transient(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct gitea_config cfg = {.token = TOKEN};
	struct http_status st;
	struct gitea *g;
	char url[64];

	/* A port that was just free and has no listener. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1", ntohs(sa.sin_port));
	cfg.api_url = url;
	g = gitea_new(&cfg);
	assert_int_equal(gitea_user_get(g, "bob", NULL, &st), HTTP_TRANSIENT);
	assert_int_equal(st.status, 0);
	assert_true(st.message[0] != '\0');
	gitea_free(g);
}

static void
test_page_loop_guard(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct gitea_hooks hooks = {0};
	struct buf page;

	/* A server that ignores page= and never sends X-Total-Count: 50 hooks every time. */
	buf_init(&page);
	buf_putc(&page, '[');
	for (int i = 1; i <= 50; i++)
		buf_printf(&page, "%s{\"id\":%d,\"type\":\"gitea\",\"active\":true}",
		           i > 1 ? "," : "", i);
	buf_putc(&page, ']');
	stub_http_set(s, 200, NULL, buf_str(&page));
	assert_int_equal(gitea_hook_list(g, "o", &hooks, NULL), HTTP_OK);
	assert_int_equal(hooks.n, 50);
	assert_int_equal(stub_http_requests(s), 2);
	gitea_hooks_free(&hooks);
	buf_free(&page);
	gitea_free(g);
}

struct seen {
	int calls;
	int last_status;
	char upstream[16];
	char method[8];
	double seconds;
};
static struct seen seen;

static void
observe(const char *upstream, const char *method, int status, double seconds)
{
	seen.calls++;
	seen.last_status = status;
	snprintf(seen.upstream, sizeof seen.upstream, "%s", upstream);
	snprintf(seen.method, sizeof seen.method, "%s", method);
	seen.seconds = seconds;
}

static void
test_observer(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct coolify_config cc = {.url = stub_http_url(s), .token = TOKEN};
	struct coolify *c = coolify_new(&cc);
	struct http_status st;

	memset(&seen, 0, sizeof seen);
	http_set_observer(observe);
	stub_http_set(s, 204, NULL, "");
	assert_int_equal(gitea_repo_delete(g, "o", "r", &st), HTTP_OK);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.upstream, "gitea");
	assert_string_equal(seen.method, "DELETE");
	assert_int_equal(seen.last_status, 204);
	assert_true(seen.seconds >= 0);
	stub_http_set(s, 404, NULL, "{\"message\":\"Project not found.\"}");
	assert_int_equal(coolify_project_delete(c, "p", &st), HTTP_NOT_FOUND);
	assert_string_equal(st.message, "Project not found.");
	assert_int_equal(seen.calls, 2);
	assert_string_equal(seen.upstream, "coolify");
	assert_int_equal(seen.last_status, 404);
	http_set_observer(NULL);
	coolify_free(c);
	gitea_free(g);
}

/* Sends fd 2 to a temporary file until capture_end. */
static int
capture_begin(char *path)
{
	int saved, fd;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

static char *
capture_end(int saved, const char *path)
{
	FILE *f;
	struct buf b;
	char chunk[4096];
	size_t n;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fopen(path, "r");
	assert_non_null(f);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	unlink(path);
	return buf_release(&b);
}

static void
test_no_token_in_logs(void **state)
{
	struct stub_http *s = *state;
	struct gitea *g = stub_gitea(s, NULL, 0);
	struct coolify_config cc = {.url = stub_http_url(s), .token = TOKEN};
	struct coolify *c = coolify_new(&cc);
	struct http_status st;
	char path[] = "/tmp/vibn-log-XXXXXX", *out;
	int saved;

	log_init("test", LOG_LVL_DEBUG);
	saved = capture_begin(path);
	stub_http_set(s, 200, NULL, "{\"id\":1,\"login\":\"bob\"}");
	gitea_user_get(g, "bob", NULL, &st);
	/* An upstream that echoes the token back in its error. */
	stub_http_set(s, 401, NULL, "{\"message\":\"bad token " TOKEN "\"}");
	gitea_user_get(g, "bob", NULL, &st);
	coolify_project_delete(c, "p", &st);
	stub_http_set(s, 500, NULL, "");
	gitea_org_delete(g, "vibn-acme", &st);
	out = capture_end(saved, path);
	log_init("test", LOG_LVL_INFO);

	/* The debug lines are there ... */
	assert_non_null(strstr(out, "upstream=gitea method=GET path=/users/bob status=200"));
	assert_non_null(strstr(out, "upstream=coolify method=DELETE path=/projects/p status=401"));
	assert_non_null(
	    strstr(out, "method=DELETE path=/orgs/vibn-acme status=500 class=transient"));
	/* ... and the token is not. */
	assert_null(strstr(out, TOKEN));
	assert_null(strstr(out, "Authorization"));
	free(out);
	coolify_free(c);
	gitea_free(g);
}

/* ---- TLS ---- */

static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
port_open(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static void
test_tls_verified_by_default(void **state)
{
	const char *tmp = getenv("VIBN_TEST_TMP");
	char *dir = xasprintf("%s/vibn-tls-XXXXXX", tmp ? tmp : "/tmp"), *cmd, *cert, *key, *url;
	char portbuf[32];
	struct http_client_config cfg = {.upstream = "gitea", .timeout_ms = 5000};
	struct http_client *hc;
	struct http_response r;
	int port, devnull;
	int64_t deadline;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	cert = xasprintf("%s/cert.pem", dir);
	key = xasprintf("%s/key.pem", dir);
	cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	                "-nodes -keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
	                "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
	                key, cert);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	port = free_port();
	snprintf(portbuf, sizeof portbuf, "127.0.0.1:%d", port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("openssl", "openssl", "s_server", "-accept", portbuf, "-cert", cert, "-key",
		       key, "-www", "-quiet", (char *)NULL);
		_exit(127);
	}
	deadline = util_now_ms() + 10000;
	while (!port_open(port) && util_now_ms() < deadline)
		usleep(20000);
	assert_true(port_open(port));

	url = xasprintf("https://127.0.0.1:%d", port);
	cfg.base_url = url;
	http_response_init(&r);
	/* System CAs only: the self-signed certificate is refused. */
	hc = http_client_new(&cfg);
	assert_int_equal(http_request(hc, "GET", "/", NULL, &r), HTTP_INVALID);
	assert_int_equal(r.st.status, 0);
	assert_non_null(strcasestr(r.st.message, "certificate"));
	http_client_free(hc);
	/* Trusting it through ca_file works. */
	cfg.ca_file = cert;
	hc = http_client_new(&cfg);
	assert_int_equal(http_request(hc, "GET", "/", NULL, &r), HTTP_OK);
	assert_int_equal(r.st.status, 200);
	http_client_free(hc);
	http_response_free(&r);

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	free(url);
	free(cert);
	free(key);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_redirects_reported_not_followed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after_http_date_pauses_budget, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_429_without_retry_after_still_pauses, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_503_retry_after_sets_not_before, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_over_the_body_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_read_in_flat_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_messages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_and_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_answer_on_reused_connection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_takes_no_idle_connection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_is_transient, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deadline_bounds_requests, setup, teardown),
	    cmocka_unit_test(test_connection_refused_is_transient),
	    cmocka_unit_test_setup_teardown(test_page_loop_guard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_observer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_token_in_logs, setup, teardown),
	    cmocka_unit_test(test_tls_verified_by_default),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
