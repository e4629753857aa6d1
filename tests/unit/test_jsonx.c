/* Unit tests for clients/jsonx's streamed array reader: elements handed over one by one
 * whatever the pieces the text arrives in (strings holding brackets, commas and escaped
 * quotes; nested containers; scalars), and every way the text can fail to be one array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients/jsonx.h"
#include "common/xmalloc.h"

/* Collects every element as compact text, joined by '|'. */
struct seen {
	char text[1024];
	size_t n;
	size_t stop_at; /* refuse this element (1-based); 0: none */
};

static int
collect(const json_t *item, void *arg)
{
	struct seen *s = arg;
	char *t = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	size_t len = strlen(s->text);

	s->n++;
	snprintf(s->text + len, sizeof s->text - len, "%s%s", len ? "|" : "", t);
	free(t);
	return s->stop_at != 0 && s->n == s->stop_at ? -1 : 0;
}

/* Feeds text in pieces of `piece` bytes; returns the stream's end result. */
static int
feed(const char *text, size_t piece, struct seen *s, char *error, size_t errlen)
{
	struct jsonx_stream js;
	size_t len = strlen(text);
	int rc = 0;

	jsonx_stream_init(&js, collect, s, 64);
	for (size_t i = 0; i < len && rc == 0; i += piece)
		rc = jsonx_stream_feed(&js, text + i, len - i < piece ? len - i : piece);
	if (rc == 0)
		rc = jsonx_stream_end(&js);
	snprintf(error, errlen, "%s", js.error);
	jsonx_stream_free(&js);
	return rc;
}

static void
test_elements_in_any_pieces(void **state)
{
	const char *text = " [ {\"a\":\"x],}{\\\"y\",\"b\":[1,[2,{\"c\":null}]]} ,\n"
	                   " \"s,]\" , 3.5 ,true,[] ,{} ] \n";
	const char *want =
	    "{\"a\":\"x],}{\\\"y\",\"b\":[1,[2,{\"c\":null}]]}|\"s,]\"|3.5|true|[]|{}";

	for (size_t piece = 1; piece <= strlen(text); piece++) {
		struct seen s = {0};
		char err[128];

		assert_int_equal(feed(text, piece, &s, err, sizeof err), 0);
		assert_int_equal(s.n, 6);
		assert_string_equal(s.text, want);
	}
}

static void
test_empty_array(void **state)
{
	struct seen s = {0};
	char err[128];

	assert_int_equal(feed("[]", 1, &s, err, sizeof err), 0);
	assert_int_equal(feed(" [ \n ] ", 2, &s, err, sizeof err), 0);
	assert_int_equal(s.n, 0);
}

static void
test_not_one_array(void **state)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
	    {"{\"message\":\"x\"}", "not a JSON array"},
	    {"", "no JSON array"},
	    {"[1,2", "the array is not closed"},
	    {"[1,]", "empty element at index 1"},
	    {"[,1]", "empty element at index 0"},
	    {"[1] x", "text after the array"},
	    {"[1][2]", "text after the array"},
	    {"[1 2]", "element 0: "},
	    {"[{\"a\":1]", "the array is not closed"},
	    {"[\"0123456789012345678901234567890123456789012345678901234567890123456789\"]",
	     "element 0 longer than 64 bytes"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct seen s = {0};
		char err[128];

		assert_int_equal(feed(bad[i].text, 3, &s, err, sizeof err), -1);
		if (strncmp(err, bad[i].error, strlen(bad[i].error)) != 0)
			fail_msg("%s: error \"%s\", want \"%s...\"", bad[i].text, err,
			         bad[i].error);
	}
}

static void
test_callback_stops_the_stream(void **state)
{
	struct seen s = {.stop_at = 2};
	char err[128];

	assert_int_equal(feed("[1,2,3]", 1, &s, err, sizeof err), -1);
	assert_int_equal(s.n, 2);
	assert_string_equal(err, "element 1 refused");
}

static void
test_reset_and_abort(void **state)
{
	struct seen s = {0};
	struct jsonx_stream js;

	jsonx_stream_init(&js, collect, &s, 64);
	assert_int_equal(jsonx_stream_feed(&js, "[1,", 3), 0);
	jsonx_stream_reset(&js);
	assert_int_equal(jsonx_stream_feed(&js, "[2]", 3), 0);
	assert_int_equal(jsonx_stream_end(&js), 0);
	assert_string_equal(s.text, "1|2");
	jsonx_stream_abort(&js, "gone");
	assert_int_equal(jsonx_stream_feed(&js, " ", 1), -1);
	assert_int_equal(jsonx_stream_end(&js), -1);
	assert_string_equal(js.error, "gone");
	jsonx_stream_free(&js);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elements_in_any_pieces),
	    cmocka_unit_test(test_empty_array),
	    cmocka_unit_test(test_not_one_array),
	    cmocka_unit_test(test_callback_stops_the_stream),
	    cmocka_unit_test(test_reset_and_abort),
	};

	return cmocka_run_group_tests_name("jsonx stream", tests, NULL, NULL);
}
