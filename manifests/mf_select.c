#include "mf_select.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define MF_SELECT_NAME_MAX   63
#define MF_SELECT_PREFIX_MAX 253

static int
mf_select_alnum(char c)
{
	return isalnum((unsigned char)c) != 0;
}

/* A label name or a non-empty value: [A-Za-z0-9] at both ends, [-_.A-Za-z0-9] between. */
static int
mf_select_name(const char *s, size_t len)
{
	if (len == 0 || len > MF_SELECT_NAME_MAX || !mf_select_alnum(s[0]) ||
	    !mf_select_alnum(s[len - 1]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!mf_select_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/* A DNS subdomain: lower-case labels of [a-z0-9-], alphanumeric at both ends, dot-joined. */
static int
mf_select_subdomain(const char *s, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > MF_SELECT_PREFIX_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
			      s[i] == '-'))
				return 0;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-' || i - start > 63)
			return 0;
		start = i + 1;
	}
	return 1;
}

int
mf_select_valid_key(const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL)
		return mf_select_name(s, strlen(s));
	return mf_select_subdomain(s, (size_t)(slash - s)) &&
	       mf_select_name(slash + 1, strlen(slash + 1));
}

int
mf_select_valid_value(const char *s)
{
	return *s == '\0' || mf_select_name(s, strlen(s));
}

void
mf_select_free(struct mf_selector *sel)
{
	for (size_t i = 0; i < sel->n; i++) {
		free(sel->v[i].key);
		free(sel->v[i].value);
	}
	free(sel->v);
	free(sel->text);
	memset(sel, 0, sizeof *sel);
}

/* Trims spaces around [s, s+len): a new string. */
static char *
mf_select_trim(const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

/* One requirement of [s, s+len). 0, or -1 with *cause. */
static int
mf_select_req(const char *s, size_t len, struct mf_select_req *r, char **cause)
{
	char *text = mf_select_trim(s, len), *op;
	size_t oplen = 0;

	memset(r, 0, sizeof *r);
	if ((op = strstr(text, "!=")) != NULL) {
		r->op = MF_SELECT_NE;
		oplen = 2;
	} else if ((op = strstr(text, "==")) != NULL) {
		r->op = MF_SELECT_EQ;
		oplen = 2;
	} else if ((op = strchr(text, '=')) != NULL) {
		r->op = MF_SELECT_EQ;
		oplen = 1;
	}
	if (op != NULL) {
		r->key = mf_select_trim(text, (size_t)(op - text));
		r->value = mf_select_trim(op + oplen, strlen(op + oplen));
	} else if (text[0] == '!') {
		r->op = MF_SELECT_ABSENT;
		r->key = mf_select_trim(text + 1, strlen(text + 1));
	} else {
		r->op = MF_SELECT_EXISTS;
		r->key = xstrdup(text);
	}
	free(text);
	if (!mf_select_valid_key(r->key)) {
		*cause = xstrdup("invalid label key in the selector (keys are [prefix/]name: "
		                 "letters, digits, '-', '_' and '.', at most 63 characters)");
		return -1;
	}
	if (r->value != NULL && !mf_select_valid_value(r->value)) {
		*cause = xasprintf("invalid value for label %s in the selector", r->key);
		return -1;
	}
	return 0;
}

int
mf_select_parse(const char *text, struct mf_selector *sel, char **cause)
{
	const char *p = text;

	memset(sel, 0, sizeof *sel);
	*cause = NULL;
	for (;;) {
		size_t len = strcspn(p, ",");

		sel->v = xreallocarray(sel->v, sel->n + 1, sizeof *sel->v);
		if (mf_select_req(p, len, &sel->v[sel->n], cause) != 0) {
			sel->n++;
			mf_select_free(sel);
			return -1;
		}
		sel->n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	sel->text = xstrdup(text);
	return 0;
}

static const char *
mf_select_get(const struct mf_label *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].key, key) == 0)
			return labels[i].value;
	return NULL;
}

int
mf_select_matches(const struct mf_selector *sel, const struct mf_label *labels, size_t n)
{
	for (size_t i = 0; i < sel->n; i++) {
		const struct mf_select_req *r = &sel->v[i];
		const char *v = mf_select_get(labels, n, r->key);

		switch (r->op) {
		case MF_SELECT_EQ:
			if (v == NULL || strcmp(v, r->value) != 0)
				return 0;
			break;
		case MF_SELECT_NE:
			if (v != NULL && strcmp(v, r->value) == 0)
				return 0;
			break;
		case MF_SELECT_EXISTS:
			if (v == NULL)
				return 0;
			break;
		case MF_SELECT_ABSENT:
			if (v != NULL)
				return 0;
			break;
		}
	}
	return 1;
}
