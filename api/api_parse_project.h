/* Parsing of project requests (POST /api/workspaces/{slug}/projects, MCP create_project) and
 * of the projects' and events' query values: pure functions of the request's text, unit-
 * tested and fuzzed (tests/fuzz/fuzz_api.c) apart from the HTTP server.
 *
 *   {"name": "shop", "description": "...", "private": true,
 *    "app": {"buildPack": "nixpacks", "ports": "3000", "branch": "main"}}
 *
 * name is required and follows the repo name rule (DESIGN 4); description defaults to "",
 * private to true; app is optional (absent or null: a repo only), its fields default to
 * nixpacks, "3000" and main. Nothing else is accepted. */
#ifndef VIBN_API_PARSE_PROJECT_H
#define VIBN_API_PARSE_PROJECT_H

#include <stddef.h>

#include <jansson.h>

/* What api_parse_project* return besides 0. */
#define API_PARSE_BAD     (-1) /* not a JSON object at all: 400 */
#define API_PARSE_INVALID (-2) /* a field missing, unknown, mistyped or breaking its rule: 422 */

struct api_project_req {
	char *name;
	char *description;
	int private;
	int has_app;
	char *build_pack;
	char *ports;
	char *branch;
};

void api_parse_project_free(struct api_project_req *r);

/* Parses a request body (len bytes). Returns 0 with *r filled (free it with
 * api_parse_project_free), or API_PARSE_BAD / API_PARSE_INVALID with *field (the field's
 * path, e.g. "app.ports", a new string; NULL when the body itself is wrong) and a one-line
 * printable *cause (a new string) fit to show the client. */
int api_parse_project(const void *body, size_t len, struct api_project_req *r, char **field,
                      char **cause) __attribute__((warn_unused_result));

/* The same for an object already parsed (MCP arguments); the member named skip (may be
 * NULL) is ignored. */
int api_parse_project_json(json_t *obj, const char *skip, struct api_project_req *r, char **field,
                           char **cause) __attribute__((warn_unused_result));

/* Parses a boolean query value (?deleteRepo=): NULL is 0; true/false/1/0. Returns 0, or -1
 * with a one-line *cause naming name. */
int api_parse_project_bool(const char *name, const char *text, int *out, char **cause)
    __attribute__((warn_unused_result));

/* Parses an events cursor (?after=<seq>): NULL is 0; otherwise a positive decimal below
 * 2^62. Returns 0, or -1 with a one-line *cause. */
int api_parse_project_seq(const char *text, long long *out, char **cause)
    __attribute__((warn_unused_result));

/* 1 when s may be a project id in a path or cursor: 1 to 128 printable ASCII characters
 * (fs_projects ids are the web app's; anything else cannot name one). */
int api_parse_project_id(const char *s);

#endif
