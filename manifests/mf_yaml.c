#include "mf_yaml.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "common/util.h"
#include "common/xmalloc.h"

struct mf_anchor {
	char *name;
	struct mf_node *node; /* borrowed from the tree */
};

/* State of one file's parse. */
struct mf_yaml_ctx {
	const char *file;
	struct mf_diags *d;
	int errors;
	/* The document being built. */
	struct mf_node *stack[MF_YAML_MAX_DEPTH + 1];
	char *stack_anchor[MF_YAML_MAX_DEPTH + 1];
	struct mf_node *pending_key[MF_YAML_MAX_DEPTH + 1]; /* per open mapping */
	int depth;
	struct mf_node *root;
	struct mf_anchor *anchors;
	size_t nanchors;
	size_t nodes;    /* nodes in this document, alias copies included */
	size_t expanded; /* scalar bytes in this document, alias copies included */
	size_t doc_start;
	/* Nodes dropped after an error (duplicate keys, bad keys): anchors may still point
	 * into them, so they live until the document ends. */
	struct mf_node **discard;
	size_t ndiscard;
	/* The documents so far. */
	struct mf_doc *docs;
	size_t ndocs;
	int doc_line, doc_col;
};

static void mf_yaml_err(struct mf_yaml_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mf_yaml_err(struct mf_yaml_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	mf_diag_add(c->d, c->file, m ? (int)m->line + 1 : 1, m ? (int)m->column + 1 : 1, "%s", msg);
	free(msg);
	c->errors++;
}

void
mf_yaml_free_node(struct mf_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys != NULL)
			mf_yaml_free_node(n->keys[i]);
		mf_yaml_free_node(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->str);
	free(n);
}

void
mf_yaml_free_docs(struct mf_doc *docs, size_t ndocs)
{
	for (size_t i = 0; i < ndocs; i++)
		mf_yaml_free_node(docs[i].root);
	free(docs);
}

static struct mf_node *
mf_yaml_node_new(enum mf_node_kind kind, const yaml_mark_t *m)
{
	struct mf_node *n = xcalloc(1, sizeof *n);

	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

static void
mf_yaml_push_child(struct mf_node *parent, struct mf_node *key, struct mf_node *child)
{
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 4;
		parent->items = xreallocarray(parent->items, parent->cap, sizeof *parent->items);
		if (parent->kind == MF_NODE_MAP)
			parent->keys =
			    xreallocarray(parent->keys, parent->cap, sizeof *parent->keys);
	}
	if (parent->kind == MF_NODE_MAP)
		parent->keys[parent->n] = key;
	parent->items[parent->n++] = child;
}

/* Counts a node (and its scalar bytes) against the document's budget. */
static int
mf_yaml_charge(struct mf_yaml_ctx *c, size_t bytes, const yaml_mark_t *m)
{
	c->nodes++;
	c->expanded += bytes;
	if (c->nodes > MF_YAML_MAX_NODES) {
		mf_yaml_err(c, m,
		            "document has more than %d nodes (aliases expanded); "
		            "is an alias expanding without bound?",
		            MF_YAML_MAX_NODES);
		return -1;
	}
	if (c->expanded > MF_YAML_MAX_EXPAND) {
		mf_yaml_err(c, m,
		            "document expands to more than %u bytes of text (aliases expanded); "
		            "is an alias expanding without bound?",
		            MF_YAML_MAX_EXPAND);
		return -1;
	}
	return 0;
}

/* A deep copy of n for an alias, charged to the budget. Returns NULL past the budget. */
static struct mf_node *
mf_yaml_copy(struct mf_yaml_ctx *c, const struct mf_node *n, const yaml_mark_t *m)
{
	struct mf_node *copy;

	if (mf_yaml_charge(c, n->len, m) != 0)
		return NULL;
	copy = xcalloc(1, sizeof *copy);
	copy->kind = n->kind;
	copy->line = n->line;
	copy->col = n->col;
	copy->plain = n->plain;
	if (n->str != NULL) {
		copy->str = xmalloc(n->len + 1);
		memcpy(copy->str, n->str, n->len + 1);
		copy->len = n->len;
	}
	for (size_t i = 0; i < n->n; i++) {
		struct mf_node *k = NULL, *v;

		if (n->keys != NULL && (k = mf_yaml_copy(c, n->keys[i], m)) == NULL)
			goto fail;
		if ((v = mf_yaml_copy(c, n->items[i], m)) == NULL) {
			mf_yaml_free_node(k);
			goto fail;
		}
		mf_yaml_push_child(copy, k, v);
	}
	return copy;
fail:
	mf_yaml_free_node(copy);
	return NULL;
}

static int
mf_yaml_key_equal(const struct mf_node *a, const struct mf_node *b)
{
	return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

static void
mf_yaml_discard(struct mf_yaml_ctx *c, struct mf_node *n)
{
	if (n == NULL)
		return;
	c->discard = xreallocarray(c->discard, c->ndiscard + 1, sizeof *c->discard);
	c->discard[c->ndiscard++] = n;
}

/* Hands a finished node to its parent (or makes it the document's root). Takes ownership. */
static int
mf_yaml_attach(struct mf_yaml_ctx *c, struct mf_node *n, const yaml_mark_t *m)
{
	struct mf_node *parent;
	struct mf_node **key;

	if (c->depth == 0) {
		c->root = n;
		return 0;
	}
	parent = c->stack[c->depth - 1];
	if (parent->kind == MF_NODE_SEQ) {
		mf_yaml_push_child(parent, NULL, n);
		return 0;
	}
	key = &c->pending_key[c->depth - 1];
	if (*key == NULL) {
		if (n->kind != MF_NODE_SCALAR) {
			mf_yaml_err(c, m, "a mapping key must be a string, not %s",
			            mf_yaml_describe(n));
			/* Keep a placeholder so the value that follows is dropped with it. */
			mf_yaml_discard(c, n);
			n = xcalloc(1, sizeof *n);
			n->kind = MF_NODE_SCALAR;
			n->line = -1;
		}
		*key = n;
		return 0;
	}
	if ((*key)->line == -1) {
		mf_yaml_discard(c, *key);
		mf_yaml_discard(c, n);
		*key = NULL;
		return 0;
	}
	for (size_t i = 0; i < parent->n; i++) {
		if (mf_yaml_key_equal(parent->keys[i], *key)) {
			char *q = mf_diag_quote((*key)->str, (*key)->len);

			mf_diag_add(c->d, c->file, (*key)->line, (*key)->col,
			            "duplicate key %s (first at line %d, column %d)", q,
			            parent->keys[i]->line, parent->keys[i]->col);
			free(q);
			c->errors++;
			mf_yaml_discard(c, *key);
			mf_yaml_discard(c, n);
			*key = NULL;
			return 0;
		}
	}
	if (parent->n >= MF_YAML_MAX_KEYS) {
		mf_diag_add(c->d, c->file, (*key)->line, (*key)->col,
		            "mapping has more than %d keys", MF_YAML_MAX_KEYS);
		c->errors++;
		mf_yaml_discard(c, *key);
		mf_yaml_discard(c, n);
		*key = NULL;
		return -1;
	}
	mf_yaml_push_child(parent, *key, n);
	*key = NULL;
	return 0;
}

static void
mf_yaml_anchor_add(struct mf_yaml_ctx *c, const char *name, struct mf_node *n)
{
	c->anchors = xreallocarray(c->anchors, c->nanchors + 1, sizeof *c->anchors);
	c->anchors[c->nanchors].name = xstrdup(name);
	c->anchors[c->nanchors].node = n;
	c->nanchors++;
}

static struct mf_node *
mf_yaml_anchor_find(struct mf_yaml_ctx *c, const char *name)
{
	/* The latest definition wins, as YAML says. */
	for (size_t i = c->nanchors; i > 0; i--)
		if (strcmp(c->anchors[i - 1].name, name) == 0)
			return c->anchors[i - 1].node;
	return NULL;
}

/* Drops the document being built (after an error, or at its end). */
static void
mf_yaml_reset_doc(struct mf_yaml_ctx *c)
{
	while (c->depth > 0) {
		c->depth--;
		mf_yaml_free_node(c->pending_key[c->depth]);
		mf_yaml_free_node(c->stack[c->depth]);
		free(c->stack_anchor[c->depth]);
	}
	mf_yaml_free_node(c->root);
	c->root = NULL;
	for (size_t i = 0; i < c->ndiscard; i++)
		mf_yaml_free_node(c->discard[i]);
	free(c->discard);
	c->discard = NULL;
	c->ndiscard = 0;
	for (size_t i = 0; i < c->nanchors; i++)
		free(c->anchors[i].name);
	free(c->anchors);
	c->anchors = NULL;
	c->nanchors = 0;
	c->nodes = 0;
	c->expanded = 0;
}

static int
mf_yaml_check_tag(struct mf_yaml_ctx *c, const yaml_char_t *tag, const yaml_mark_t *m)
{
	char *q;

	if (tag == NULL)
		return 0;
	q = mf_diag_quote((const char *)tag, strlen((const char *)tag));
	mf_yaml_err(c, m, "YAML tags (%s) are not supported", q);
	free(q);
	return -1;
}

static int
mf_yaml_on_scalar(struct mf_yaml_ctx *c, yaml_event_t *ev)
{
	struct mf_node *n;
	const yaml_mark_t *m = &ev->start_mark;

	if (mf_yaml_check_tag(c, ev->data.scalar.tag, m) != 0)
		return 0;
	if (mf_yaml_charge(c, ev->data.scalar.length, m) != 0)
		return -1;
	n = mf_yaml_node_new(MF_NODE_SCALAR, m);
	n->str = xmalloc(ev->data.scalar.length + 1);
	memcpy(n->str, ev->data.scalar.value, ev->data.scalar.length);
	n->str[ev->data.scalar.length] = '\0';
	n->len = ev->data.scalar.length;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (ev->data.scalar.anchor != NULL)
		mf_yaml_anchor_add(c, (const char *)ev->data.scalar.anchor, n);
	return mf_yaml_attach(c, n, m);
}

static int
mf_yaml_on_alias(struct mf_yaml_ctx *c, yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct mf_node *target = mf_yaml_anchor_find(c, name), *copy;

	if (target == NULL) {
		/* Also the case of an alias to an enclosing node: anchors count once complete. */
		char *q = mf_diag_quote(name, strlen(name));

		mf_yaml_err(c, &ev->start_mark, "unknown alias %s", q);
		free(q);
		return -1;
	}
	if ((copy = mf_yaml_copy(c, target, &ev->start_mark)) == NULL)
		return -1;
	copy->line = (int)ev->start_mark.line + 1;
	copy->col = (int)ev->start_mark.column + 1;
	return mf_yaml_attach(c, copy, &ev->start_mark);
}

static int
mf_yaml_on_open(struct mf_yaml_ctx *c, yaml_event_t *ev, enum mf_node_kind kind)
{
	const yaml_mark_t *m = &ev->start_mark;
	const yaml_char_t *tag, *anchor;

	if (kind == MF_NODE_MAP) {
		tag = ev->data.mapping_start.tag;
		anchor = ev->data.mapping_start.anchor;
	} else {
		tag = ev->data.sequence_start.tag;
		anchor = ev->data.sequence_start.anchor;
	}
	if (c->depth >= MF_YAML_MAX_DEPTH) {
		mf_yaml_err(c, m, "nesting deeper than %d levels", MF_YAML_MAX_DEPTH);
		return -1;
	}
	if (mf_yaml_charge(c, 0, m) != 0)
		return -1;
	/* A bad tag is reported, and the node is still built so that parsing goes on. */
	(void)mf_yaml_check_tag(c, tag, m);
	c->stack[c->depth] = mf_yaml_node_new(kind, m);
	c->stack_anchor[c->depth] = anchor ? xstrdup((const char *)anchor) : NULL;
	c->pending_key[c->depth] = NULL;
	c->depth++;
	return 0;
}

static int
mf_yaml_on_close(struct mf_yaml_ctx *c, yaml_event_t *ev)
{
	struct mf_node *n;
	char *anchor;

	if (c->depth == 0)
		return 0; /* cannot happen: libyaml balances events */
	c->depth--;
	n = c->stack[c->depth];
	anchor = c->stack_anchor[c->depth];
	mf_yaml_discard(c, c->pending_key[c->depth]);
	c->pending_key[c->depth] = NULL;
	if (anchor != NULL) {
		mf_yaml_anchor_add(c, anchor, n);
		free(anchor);
	}
	return mf_yaml_attach(c, n, &ev->start_mark);
}

static void
mf_yaml_on_doc_end(struct mf_yaml_ctx *c)
{
	struct mf_node *r = c->root;

	/* An empty document ("---" alone, or only comments) is skipped, as kubectl does. */
	if (r != NULL && !(r->kind == MF_NODE_SCALAR && mf_yaml_is_null(r))) {
		c->docs = xreallocarray(c->docs, c->ndocs + 1, sizeof *c->docs);
		c->docs[c->ndocs].root = r;
		c->docs[c->ndocs].line = c->doc_line;
		c->docs[c->ndocs].col = c->doc_col;
		c->ndocs++;
		c->root = NULL;
	}
	mf_yaml_reset_doc(c);
}

/* Tabs may not indent YAML; libyaml's own message for them is obscure, so say it plainly.
 * Returns the number of lines with a tab in their indentation. */
static int
mf_yaml_check_tabs(struct mf_yaml_ctx *c, const char *data, size_t len)
{
	int line = 1, col = 1, leading = 1, found = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)data[i];

		if (ch == '\n') {
			line++;
			col = 1;
			leading = 1;
			continue;
		}
		if (leading && ch == '\t') {
			mf_diag_add(c->d, c->file, line, col,
			            "tab character in indentation (YAML indents with spaces only)");
			found++;
			leading = 0;
		} else if (ch != ' ') {
			leading = 0;
		}
		/* Columns count characters: skip UTF-8 continuation bytes. */
		if ((ch & 0xC0) != 0x80)
			col++;
	}
	return found;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t
mf_yaml_utf8_len(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static int
mf_yaml_check_utf8(struct mf_yaml_ctx *c, const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *)data;
	int line = 1, col = 1;

	for (size_t i = 0; i < len;) {
		size_t n = mf_yaml_utf8_len(s + i, len - i);

		if (n == 0 || s[i] == 0) {
			mf_diag_add(c->d, c->file, line, col,
			            "%s (byte 0x%02x at offset %zu); manifests must be UTF-8 text",
			            s[i] == 0 ? "NUL byte" : "not valid UTF-8", s[i], i);
			c->errors++;
			return -1;
		}
		if (s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
		i += n;
	}
	return 0;
}

static int
mf_yaml_is_blank(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (data[i] != ' ' && data[i] != '\n' && data[i] != '\r' && data[i] != '\t')
			return 0;
	return 1;
}

/* Runs libyaml over the text and builds the documents. */
static int
mf_yaml_events(struct mf_yaml_ctx *c, const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, rc = 0;

	if (!yaml_parser_initialize(&parser)) {
		mf_yaml_err(c, NULL, "out of memory starting the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yaml_mark_t m = parser.problem_mark;

			if (parser.error == YAML_READER_ERROR) {
				m.line = 0;
				m.column = 0;
			}
			if (parser.context != NULL)
				mf_yaml_err(c, &m, "YAML syntax error: %s %s (line %d, column %d)",
				            parser.problem ? parser.problem : "unknown problem",
				            parser.context, (int)parser.context_mark.line + 1,
				            (int)parser.context_mark.column + 1);
			else
				mf_yaml_err(c, &m, "YAML syntax error: %s",
				            parser.problem ? parser.problem : "unknown problem");
			rc = -1;
			break;
		}
		if (ev.type != YAML_STREAM_START_EVENT && ev.type != YAML_STREAM_END_EVENT &&
		    ev.end_mark.index - c->doc_start > MF_YAML_MAX_DOC) {
			mf_yaml_err(
			    c, &ev.start_mark,
			    "document is larger than %u characters (the limit of one manifest)",
			    MF_YAML_MAX_DOC);
			yaml_event_delete(&ev);
			rc = -1;
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			c->doc_start = ev.start_mark.index;
			c->doc_line = (int)ev.start_mark.line + 1;
			c->doc_col = (int)ev.start_mark.column + 1;
			break;
		case YAML_DOCUMENT_END_EVENT:
			mf_yaml_on_doc_end(c);
			break;
		case YAML_SCALAR_EVENT:
			rc = mf_yaml_on_scalar(c, &ev);
			break;
		case YAML_ALIAS_EVENT:
			rc = mf_yaml_on_alias(c, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = mf_yaml_on_open(c, &ev, MF_NODE_SEQ);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = mf_yaml_on_open(c, &ev, MF_NODE_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = mf_yaml_on_close(c, &ev);
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
	}
	mf_yaml_reset_doc(c);
	yaml_parser_delete(&parser);
	return rc;
}

int
mf_yaml_parse(const char *file, const char *data, size_t len, struct mf_doc **docs, size_t *ndocs,
              struct mf_diags *d)
{
	struct mf_yaml_ctx c;
	int rc;

	memset(&c, 0, sizeof c);
	c.file = file;
	c.d = d;
	*docs = NULL;
	*ndocs = 0;
	if (len > MF_YAML_MAX_FILE) {
		mf_diag_add(d, file, 1, 1, "file is larger than %u bytes", MF_YAML_MAX_FILE);
		return -1;
	}
	if (mf_yaml_check_utf8(&c, data, len) != 0)
		return -1;
	if (mf_yaml_check_tabs(&c, data, len) > 0)
		return -1;
	if (mf_yaml_is_blank(data, len)) {
		mf_diag_add(d, file, 1, 1, "empty file: no YAML document");
		return -1;
	}
	rc = mf_yaml_events(&c, data, len);
	if (rc == 0 && c.errors == 0 && c.ndocs == 0) {
		mf_diag_add(d, file, 1, 1,
		            "empty file: no YAML document (only comments or \"---\")");
		c.errors++;
	}
	if (rc != 0 || c.errors > 0) {
		mf_yaml_free_docs(c.docs, c.ndocs);
		return -1;
	}
	*docs = c.docs;
	*ndocs = c.ndocs;
	return 0;
}

int
mf_yaml_is_null(const struct mf_node *n)
{
	if (n->kind != MF_NODE_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

int
mf_yaml_bool(const struct mf_node *n)
{
	if (n->kind != MF_NODE_SCALAR || !n->plain)
		return -1;
	if (strcmp(n->str, "true") == 0 || strcmp(n->str, "True") == 0 ||
	    strcmp(n->str, "TRUE") == 0)
		return 1;
	if (strcmp(n->str, "false") == 0 || strcmp(n->str, "False") == 0 ||
	    strcmp(n->str, "FALSE") == 0)
		return 0;
	return -1;
}

/* YAML 1.2 core schema integers and floats, enough to name the type in a message. */
static int
mf_yaml_is_number(const struct mf_node *n)
{
	const char *s = n->str;
	int digits = 0;

	if (n->kind != MF_NODE_SCALAR || !n->plain || n->len == 0)
		return 0;
	if (*s == '-' || *s == '+')
		s++;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s != '.' && *s != 'e' && *s != 'E' && *s != '-' && *s != '+')
			return 0;
	}
	return digits > 0;
}

const char *
mf_yaml_describe(const struct mf_node *n)
{
	switch (n->kind) {
	case MF_NODE_MAP:
		return "a mapping";
	case MF_NODE_SEQ:
		return "a sequence";
	case MF_NODE_SCALAR:
		break;
	}
	if (mf_yaml_is_null(n))
		return "null";
	if (mf_yaml_bool(n) >= 0)
		return "a boolean";
	if (mf_yaml_is_number(n))
		return "a number";
	return "a string";
}

int
mf_yaml_needs_quotes(const char *s)
{
	static const char *const words[] = {"true", "false", "yes", "no", "on", "off",
	                                    "null", "y",     "n",   "~",  ""};
	char *end;

	for (size_t i = 0; i < nitems(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	/* Numbers, and what YAML 1.1 readers take for dates and times, start with a digit. */
	if ((*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '+')
		return 1;
	(void)strtod(s, &end);
	return *end == '\0';
}

struct mf_node *
mf_yaml_get(const struct mf_node *map, const char *key)
{
	if (map == NULL || map->kind != MF_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->str, key) == 0)
			return map->items[i];
	return NULL;
}
