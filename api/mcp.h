/* The Model Context Protocol server behind POST /api/mcp: JSON-RPC 2.0 over the Streamable
 * HTTP transport, stateless (no Mcp-Session-Id: every POST stands alone, so any daemon can
 * answer it), JSON responses only (no SSE stream; GET answers 405 in the route table).
 *
 * Protocol revisions: the handshake ones, 2024-11-05 through 2025-11-25. initialize answers
 * the client's version when it is one of them, and 2025-11-25 otherwise (also for the
 * stateless 2026-07-28 revision, which this server does not claim: such a client falls back
 * to the handshake when server/discover answers -32601, as that revision prescribes).
 * Batches (JSON arrays) are accepted only under 2025-03-26, the one revision that had them;
 * a request without an MCP-Protocol-Version header counts as 2025-03-26, as the transport
 * says.
 *
 * Tools act on one workspace: a key's own, or for the admin the one its "workspace"
 * argument names. Everything of another workspace looks exactly like nothing at all.
 * A tool that fails (bad name, duplicate, unknown workspace) answers a result with
 * isError: true; only malformed JSON-RPC gets a JSON-RPC error.
 *
 * Pure and synchronous: runs queries on the caller's connection, so call it from a
 * database thread, never the loop. */
#ifndef VIBN_MCP_H
#define VIBN_MCP_H

#include <stddef.h>

#include <libpq-fe.h>

#include "tenancy/auth.h"

#define MCP_PROTOCOL_LATEST "2025-11-25"
/* The revision assumed for a request without an MCP-Protocol-Version header. */
#define MCP_PROTOCOL_DEFAULT "2025-03-26"

/* A POST body's cap, and the messages of one batch: a batch runs in one transaction on
 * one database thread, so its size bounds what one request can hold. */
#define MCP_MAX_BODY  (256 * 1024)
#define MCP_BATCH_MAX 32

/* JSON-RPC 2.0 error codes. */
#define MCP_PARSE_ERROR      (-32700)
#define MCP_INVALID_REQUEST  (-32600)
#define MCP_METHOD_NOT_FOUND (-32601)
#define MCP_INVALID_PARAMS   (-32602)
#define MCP_INTERNAL_ERROR   (-32603)

/* What to answer over HTTP. */
struct mcp_reply {
	int status;               /* 200, 202 (no body) or 400 */
	const char *content_type; /* static; NULL when body is NULL */
	char *body;               /* owned: a JSON text, or NULL */
};

/* Handles one POST body (len bytes, not necessarily NUL-terminated) for principal p.
 * version_header is the MCP-Protocol-Version header or NULL. Fills *out (free it with
 * mcp_reply_free); never fails: database trouble becomes a tool error. */
void mcp_handle(PGconn *db, const struct auth_principal *p, const char *version_header,
                const char *body, size_t len, struct mcp_reply *out);
void mcp_reply_free(struct mcp_reply *r);

/* 1 when v names a protocol revision this server speaks. */
int mcp_version_supported(const char *v);

/* 1 when a request with this Origin header may be served: no Origin (not a browser), or
 * the origin (scheme://host[:port]) of public_url. Browsers' other origins get 403: the
 * transport requires it against DNS rebinding. public_url may be NULL. */
int mcp_origin_allowed(const char *origin, const char *public_url);

#endif
