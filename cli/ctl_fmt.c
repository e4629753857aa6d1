/* Output helpers shared by vibnctl's commands: aligned tables, ages, -o json|yaml. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <yaml.h>

#include "ctl.h"
#include "common/xmalloc.h"
#include "manifests/mf_yaml.h"

void
ctl_fmt_table_init(struct ctl_table *t, size_t ncols)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cells = NULL;
}

void
ctl_fmt_table_add(struct ctl_table *t, const char *const *cells)
{
	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols, sizeof *t->cells);
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = xstrdup(cells[c] ? cells[c] : "<none>");
	t->nrows++;
}

void
ctl_fmt_table_print(const struct ctl_table *t, FILE *out, const char *indent)
{
	size_t *w = xcalloc(t->ncols, sizeof *w);

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (strlen(t->cells[r * t->ncols + c]) > w[c])
				w[c] = strlen(t->cells[r * t->ncols + c]);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(indent ? indent : "", out);
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			if (c + 1 == t->ncols)
				fprintf(out, "%s\n", cell);
			else
				fprintf(out, "%-*s   ", (int)w[c], cell);
		}
	}
	free(w);
}

void
ctl_fmt_table_free(struct ctl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

void
ctl_fmt_age(double seconds, char *buf, size_t len)
{
	long s = seconds < 0 ? 0 : (long)seconds;

	/* kubectl's style: the largest unit, and a second one while it says something. */
	if (s < 120)
		snprintf(buf, len, "%lds", s);
	else if (s < 600)
		snprintf(buf, len, "%ldm%lds", s / 60, s % 60);
	else if (s < 3 * 3600)
		snprintf(buf, len, "%ldm", s / 60);
	else if (s < 8 * 3600)
		snprintf(buf, len, "%ldh%ldm", s / 3600, (s % 3600) / 60);
	else if (s < 48 * 3600)
		snprintf(buf, len, "%ldh", s / 3600);
	else
		snprintf(buf, len, "%ldd", s / 86400);
}

int
ctl_fmt_output(const char *arg, enum ctl_output *out)
{
	if (strcmp(arg, "table") == 0 || strcmp(arg, "wide") == 0)
		*out = CTL_OUT_TABLE;
	else if (strcmp(arg, "json") == 0)
		*out = CTL_OUT_JSON;
	else if (strcmp(arg, "yaml") == 0)
		*out = CTL_OUT_YAML;
	else
		return -1;
	return 0;
}

static int
ctl_fmt_emit(yaml_emitter_t *e, yaml_event_t *ev)
{
	return yaml_emitter_emit(e, ev) ? 0 : -1;
}

static int
ctl_fmt_scalar(yaml_emitter_t *e, const char *s, int quoted)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(
	    &ev, NULL, NULL, (yaml_char_t *)(uintptr_t)s, (int)strlen(s), !quoted, 1,
	    quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
	return ctl_fmt_emit(e, &ev);
}

static int
ctl_fmt_node(yaml_emitter_t *e, json_t *j)
{
	yaml_event_t ev;
	const char *key;
	json_t *v;
	size_t i;
	char num[64];

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (ctl_fmt_emit(e, &ev) != 0)
			return -1;
		json_object_foreach(j, key, v)
		{
			if (ctl_fmt_scalar(e, key, mf_yaml_needs_quotes(key)) != 0 ||
			    ctl_fmt_node(e, v) != 0)
				return -1;
		}
		yaml_mapping_end_event_initialize(&ev);
		return ctl_fmt_emit(e, &ev);
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (ctl_fmt_emit(e, &ev) != 0)
			return -1;
		json_array_foreach(j, i, v)
		{
			if (ctl_fmt_node(e, v) != 0)
				return -1;
		}
		yaml_sequence_end_event_initialize(&ev);
		return ctl_fmt_emit(e, &ev);
	case JSON_STRING:
		return ctl_fmt_scalar(e, json_string_value(j),
		                      mf_yaml_needs_quotes(json_string_value(j)));
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return ctl_fmt_scalar(e, num, 0);
	case JSON_REAL:
		snprintf(num, sizeof num, "%.17g", json_real_value(j));
		return ctl_fmt_scalar(e, num, 0);
	case JSON_TRUE:
		return ctl_fmt_scalar(e, "true", 0);
	case JSON_FALSE:
		return ctl_fmt_scalar(e, "false", 0);
	case JSON_NULL:
		return ctl_fmt_scalar(e, "null", 0);
	}
	return -1;
}

int
ctl_fmt_print(json_t *j, enum ctl_output format)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int rc = -1;

	if (format == CTL_OUT_JSON) {
		if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
			return -1;
		fputc('\n', stdout);
		return 0;
	}
	if (!yaml_emitter_initialize(&e))
		return -1;
	yaml_emitter_set_output_file(&e, stdout);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (ctl_fmt_emit(&e, &ev) != 0)
		goto out;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (ctl_fmt_emit(&e, &ev) != 0 || ctl_fmt_node(&e, j) != 0)
		goto out;
	yaml_document_end_event_initialize(&ev, 1);
	if (ctl_fmt_emit(&e, &ev) != 0)
		goto out;
	yaml_stream_end_event_initialize(&ev);
	if (ctl_fmt_emit(&e, &ev) != 0)
		goto out;
	rc = yaml_emitter_flush(&e) ? 0 : -1;
out:
	yaml_emitter_delete(&e);
	return rc;
}
