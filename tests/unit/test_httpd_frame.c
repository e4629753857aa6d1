/* Unit tests for httpd/httpd_frame: request heads read the one way a proxy reads them,
 * chunk size lines, and the text rule of paths and queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "httpd/httpd_frame.h"

static int
head(const char *text, struct httpd_frame *f, const char **cause)
{
	return httpd_frame_head(text, strlen(text), f, cause);
}

static void
test_accepts_plain_heads(void **state)
{
	struct httpd_frame *f = malloc(sizeof *f);
	const char *cause;

	assert_int_equal(head("GET /healthz?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", f, &cause), 0);
	assert_string_equal(f->method, "GET");
	assert_string_equal(f->target, "/healthz?x=1");
	assert_int_equal(f->content_length, -1);
	assert_int_equal(head("POST /a HTTP/1.1\r\nContent-Length:  12 \r\n\r\n", f, &cause), 0);
	assert_int_equal(f->content_length, 12);
	/* The same length twice (in two headers or a list) is one length. */
	assert_int_equal(
	    head("POST /a HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5, 5\r\n\r\n", f,
	         &cause),
	    0);
	assert_int_equal(f->content_length, 5);
	assert_int_equal(
	    head("POST /a HTTP/1.1\nTransfer-Encoding: Chunked\nExpect: 100-continue\n\n", f,
	         &cause),
	    0);
	assert_true(f->chunked && f->expect_continue);
	assert_int_equal(head("FROB /a HTTP/1.0\r\n\r\n", f, &cause), 0);
	assert_true(f->http10);
	assert_false(httpd_frame_known_method(f->method));
	assert_true(httpd_frame_known_method("PATCH"));
	free(f);
}

static void
test_refuses_what_two_parsers_read_two_ways(void **state)
{
	static const struct {
		const char *head;
		int status;
	} bad[] = {
	    {"POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n", 400},
	    {"POST /a HTTP/1.1\r\nContent-Length: 2, 3\r\n\r\n", 400},
	    {"POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
	    {"POST /a HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400},
	    {"POST /a HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	    {"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
	    {"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	     400},
	    {"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	    {"GET /a HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},
	    {"GET /a HTTP/1.1\r\nBad Name: 1\r\n\r\n", 400},
	    {"GET /a HTTP/1.1\r\nName : 1\r\n\r\n", 400},
	    {"GET /a HTTP/1.1\r\nX: a\rb\r\n\r\n", 400},
	    {"GET /a HTTP/1.1\r\nX: a\001b\r\n\r\n", 400},
	    {"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
	    {"GET /a HTTP/1.1\r\nExpect: something\r\n\r\n", 417},
	    {"GET /a b HTTP/1.1\r\n\r\n", 400},
	    {"GET http://evil/a HTTP/1.1\r\n\r\n", 400},
	    {"GET /caf\303\251 HTTP/1.1\r\n\r\n", 400},
	    {"GET /a HTTP/2.0\r\n\r\n", 400},
	    {"G(T /a HTTP/1.1\r\n\r\n", 400},
	    {"GET /a HTTP/1.1\r\nHost: a\r\n", 400},
	};
	struct httpd_frame *f = malloc(sizeof *f);
	const char *cause;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		assert_int_equal(head(bad[i].head, f, &cause), bad[i].status);
		assert_non_null(cause);
	}
	free(f);
}

static void
test_too_many_header_lines_is_431(void **state)
{
	char text[8192] = "GET /a HTTP/1.1\r\n";
	struct httpd_frame *f = malloc(sizeof *f);
	const char *cause;

	for (int i = 0; i <= HTTPD_FRAME_MAX_HEADERS; i++)
		strcat(text, "X: 1\r\n");
	strcat(text, "\r\n");
	assert_int_equal(head(text, f, &cause), 431);
	free(f);
}

static void
test_chunk_sizes(void **state)
{
	uint64_t n;

	assert_int_equal(httpd_frame_chunk_size("1a", 2, &n), 0);
	assert_int_equal(n, 26);
	assert_int_equal(httpd_frame_chunk_size("0;ext=1", 7, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(httpd_frame_chunk_size("zz", 2, &n), -1);
	assert_int_equal(httpd_frame_chunk_size("", 0, &n), -1);
	assert_int_equal(httpd_frame_chunk_size("-1", 2, &n), -1);
	assert_int_equal(httpd_frame_chunk_size("12 34", 5, &n), -1);
	assert_int_equal(httpd_frame_chunk_size("ffffffffffffffffff", 18, &n), -1);
}

static void
test_text_rule(void **state)
{
	assert_true(httpd_frame_text_ok("acme", 4));
	assert_true(httpd_frame_text_ok("caf\303\251 \342\230\203", 9));
	assert_true(httpd_frame_text_ok("\360\237\230\200", 4));
	assert_false(httpd_frame_text_ok("ac\0me", 5));
	assert_false(httpd_frame_text_ok("a\nb", 3));
	assert_false(httpd_frame_text_ok("a\177", 2));
	assert_false(httpd_frame_text_ok("\377\376", 2));
	assert_false(httpd_frame_text_ok("\300\257", 2));         /* overlong "/" */
	assert_false(httpd_frame_text_ok("\355\240\200", 3));     /* a surrogate */
	assert_false(httpd_frame_text_ok("\303", 1));             /* cut short */
	assert_false(httpd_frame_text_ok("\364\220\200\200", 4)); /* past U+10FFFF */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_plain_heads),
	    cmocka_unit_test(test_refuses_what_two_parsers_read_two_ways),
	    cmocka_unit_test(test_too_many_header_lines_is_431),
	    cmocka_unit_test(test_chunk_sizes),
	    cmocka_unit_test(test_text_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
