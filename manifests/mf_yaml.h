/* YAML text to a tree of nodes that remember where they came from (line and column of
 * every node), with libyaml's event parser. Hostile input is bounded: file and document
 * sizes, nesting depth, mapping width, and alias expansion ("billion laughs") all have caps,
 * and tabs in indentation, duplicate keys, non-UTF-8 and empty files are errors of their own. */
#ifndef VIBN_MF_YAML_H
#define VIBN_MF_YAML_H

#include <stddef.h>

#include "manifests/mf_diag.h"

#define MF_YAML_MAX_FILE   (16u << 20) /* bytes in one file (or stdin) */
#define MF_YAML_MAX_DOC    (1u << 20)  /* characters in one document */
#define MF_YAML_MAX_NODES  50000       /* nodes in one document, alias copies included */
#define MF_YAML_MAX_EXPAND (4u << 20)  /* scalar bytes in one document, alias copies included */
#define MF_YAML_MAX_DEPTH  64          /* nesting of mappings and sequences */
#define MF_YAML_MAX_KEYS   256         /* keys in one mapping (the schema needs a dozen) */

enum mf_node_kind { MF_NODE_SCALAR, MF_NODE_SEQ, MF_NODE_MAP };

struct mf_node {
	enum mf_node_kind kind;
	int line; /* 1-based */
	int col;  /* 1-based, in characters */
	/* Scalars: the text (NUL-terminated; may hold NULs, len is exact) and whether it was
	 * plain (unquoted), which is what gives true/null/123 their YAML types. */
	char *str;
	size_t len;
	int plain;
	/* Sequences: items[0..n). Mappings: keys[i] (scalars) -> items[i]. */
	struct mf_node **keys;
	struct mf_node **items;
	size_t n;
	size_t cap;
};

struct mf_doc {
	struct mf_node *root; /* owned; never NULL (empty documents are dropped) */
	int line;             /* where the document starts */
	int col;
};

/* Parses len bytes of data, named file in diagnostics, into its non-empty documents.
 * Returns 0 with *docs (a new array of *ndocs documents; free with mf_yaml_free_docs), or
 * -1 with at least one diagnostic added to d and nothing in *docs. */
int mf_yaml_parse(const char *file, const char *data, size_t len, struct mf_doc **docs,
                  size_t *ndocs, struct mf_diags *d) __attribute__((warn_unused_result));
void mf_yaml_free_docs(struct mf_doc *docs, size_t ndocs);
void mf_yaml_free_node(struct mf_node *n);

/* "a mapping", "a sequence", "a string", "a boolean", "null", "a number": for messages. */
const char *mf_yaml_describe(const struct mf_node *n);
/* Plain scalars that YAML 1.2's core schema reads as null or booleans. */
int mf_yaml_is_null(const struct mf_node *n);
/* 1 for true, 0 for false, -1 when n is no boolean. */
int mf_yaml_bool(const struct mf_node *n);
/* The value of key in mapping map (borrowed), or NULL. */
struct mf_node *mf_yaml_get(const struct mf_node *map, const char *key);

/* For writing YAML: 1 when s, written as a plain scalar, could be read back as something
 * other than this string (null, a boolean, a number or a date, by YAML 1.1 readers too), so
 * it must be quoted. Over-quotes rather than guess. Says nothing of syntax (": ", " #",
 * leading spaces), which an emitter handles. */
int mf_yaml_needs_quotes(const char *s);

#endif
