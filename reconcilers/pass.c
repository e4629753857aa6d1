#include "pass.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clients/db.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "reconcilers/conditions.h"
#include "reconcilers/events.h"

static const char *
pass_reason_for(enum http_class cls)
{
	switch (cls) {
	case HTTP_UNAUTHORIZED:
		return "Unauthorized";
	case HTTP_RATE_LIMITED:
		return "RateLimited";
	case HTTP_TRANSIENT:
		return "UpstreamUnavailable";
	case HTTP_CONFLICT:
		return "NameTaken";
	case HTTP_REDIRECTED:
		return "Renamed";
	case HTTP_NOT_FOUND:
		return "NotFound";
	case HTTP_INVALID:
	case HTTP_OK:
		break;
	}
	return "UpstreamRejected";
}

static enum rec_class
pass_class_for(enum http_class cls)
{
	switch (cls) {
	case HTTP_RATE_LIMITED:
		return REC_RATE_LIMITED;
	case HTTP_TRANSIENT:
		return REC_TRANSIENT;
	default:
		return REC_PERMANENT;
	}
}

static void
pass_lock(struct pass *ctx)
{
	if (ctx->lock != NULL)
		pthread_mutex_lock(ctx->lock);
}

static void
pass_unlock(struct pass *ctx)
{
	if (ctx->lock != NULL)
		pthread_mutex_unlock(ctx->lock);
}

static void
pass_event_write(struct pass *ctx, const char *type, const char *reason, const char *kind,
                 const char *name, const char *msg)
{
	json_t *e = events_entry(type, reason, kind, name, msg);

	if (e == NULL) {
		log_warn("workspace %s: an event that is not UTF-8 was left out (%s %s)",
		         ctx->ws->slug, reason, kind);
		return;
	}
	pass_lock(ctx);
	json_array_append_new(ctx->events, e);
	pass_unlock(ctx);
}

/* What the pass kept in j (an array or an object, shared under the lock) as JSON text (a
 * new string), or NULL when nothing; j is emptied. */
static char *
pass_take(struct pass *ctx, json_t *j)
{
	char *text = NULL;

	pass_lock(ctx);
	if (json_is_array(j) ? json_array_size(j) > 0 : json_object_size(j) > 0)
		text = json_dumps(j, JSON_COMPACT);
	if (json_is_array(j))
		json_array_clear(j);
	else
		json_object_clear(j);
	pass_unlock(ctx);
	return text;
}

char *
pass_events_take(struct pass *ctx)
{
	return pass_take(ctx, ctx->events);
}

void
pass_events_flush(struct pass *ctx)
{
	char *events = pass_events_take(ctx), *cause = NULL;
	PGconn *db;
	int rc = -1;

	if (events == NULL)
		return;
	db = rec_db_take(ctx->env->db, &cause);
	if (db != NULL) {
		rc = events_record_batch(db, ctx->ws->id, events, ctx->env->reconcile_id,
		                         &ctx->env->set->events, &cause);
		rec_db_give(ctx->env->db, db);
	}
	if (rc != 0) {
		log_warn("recording the events of workspace %s: %s", ctx->ws->slug, cause);
		free(cause);
	}
	free(events);
}

void
pass_event(struct pass *ctx, const char *type, const char *reason, const char *kind,
           const char *name, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pass_event_write(ctx, type, reason, kind, name, msg);
}

void
pass_object_clear(struct pass *ctx)
{
	free(ctx->obj_kind);
	free(ctx->obj_name);
	ctx->obj_kind = NULL;
	ctx->obj_name = NULL;
}

void
pass_object(struct pass *ctx, const char *kind, const char *fmt, ...)
{
	va_list ap;

	pass_object_clear(ctx);
	ctx->obj_kind = xstrdup(kind);
	va_start(ap, fmt);
	ctx->obj_name = xvasprintf(fmt, ap);
	va_end(ap);
}

/* A failure's Warning event, against the object being worked on, else the one the
 * condition is about: the org (its members and repos), the hook, the Coolify project (its
 * apps), or the workspace. */
static void
pass_warn(struct pass *ctx, const char *type, const char *reason, const char *msg)
{
	const char *kind = "workspace", *name = ctx->ws->slug;

	if (ctx->obj_kind != NULL) {
		kind = ctx->obj_kind;
		name = ctx->obj_name;
	} else if (strcmp(type, COND_GITEA_ORG) == 0 || strcmp(type, COND_MEMBERS) == 0 ||
	           strcmp(type, COND_REPOS) == 0) {
		kind = "org";
		name = ctx->org;
	} else if (strcmp(type, COND_WEBHOOK) == 0) {
		kind = "hook";
		name = ctx->org;
	} else if (strcmp(type, COND_COOLIFY_PROJECT) == 0 || strcmp(type, COND_APPS) == 0) {
		kind = "project";
		name = ctx->project_name;
	}
	pass_event_write(ctx, EVENTS_WARNING, reason, kind, name, msg);
}

/* Sets failed condition `type` (the lock held). When several steps of one condition fail in
 * a pass, the condition names one and counts the others: the one whose message sorts first,
 * not the first to fail, as steps of a condition may run at once (gitea_members.c's lanes)
 * and the condition should not change from one failing pass to the next (each change is a
 * status write, and noise for whoever watches it). */
static void
pass_set_failed(struct pass *ctx, const char *type, const char *reason, const char *msg)
{
	json_t *n = ctx->failures != NULL ? json_object_get(ctx->failures, type) : NULL;
	json_t *have = conditions_find(ctx->conds, type);
	long long seen = json_is_integer(n) ? json_integer_value(n) : 0;
	char text[900], named_reason[64];

	if (ctx->failures != NULL)
		json_object_set_new(ctx->failures, type, json_integer(seen + 1));
	if (seen == 0 || have == NULL) {
		conditions_set(ctx->conds, type, COND_FALSE, reason, msg, ctx->ws->generation,
		               ctx->now);
		return;
	}
	/* The failure named so far: its reason and text, without the count. */
	snprintf(text, sizeof text, "%s", json_string_value(json_object_get(have, "message")));
	snprintf(named_reason, sizeof named_reason, "%s",
	         json_string_value(json_object_get(have, "reason")));
	if (seen > 1) {
		/* Drop the count this function appended last time (the last "; and "). */
		char *semi = NULL;

		for (char *p = strstr(text, "; and "); p != NULL; p = strstr(p + 1, "; and "))
			semi = p;
		if (semi != NULL)
			*semi = '\0';
	}
	if (strcmp(msg, text) < 0) {
		snprintf(text, sizeof text, "%s", msg);
		snprintf(named_reason, sizeof named_reason, "%s", reason);
	}
	snprintf(text + strlen(text), sizeof text - strlen(text),
	         "; and %lld more failure%s, see the events", seen, seen == 1 ? "" : "s");
	conditions_set(ctx->conds, type, COND_FALSE, named_reason, text, ctx->ws->generation,
	               ctx->now);
}

/* The condition was True for this generation when the pass began, and nothing of it has
 * failed in this pass. Lock held. */
static int
pass_verified_before(const struct pass *ctx, const char *type)
{
	json_t *c = conditions_find(ctx->ws->conditions, type);
	json_t *gen = c != NULL ? json_object_get(c, "observedGeneration") : NULL;

	if (c == NULL || !conditions_is_true(ctx->ws->conditions, type))
		return 0;
	if (!json_is_integer(gen) || json_integer_value(gen) != ctx->ws->generation)
		return 0;
	return ctx->failures == NULL || json_object_get(ctx->failures, type) == NULL;
}

int
pass_fail_call(struct pass *ctx, const char *type, const char *what, const struct http_status *st)
{
	char msg[768];
	int deferred;

	if (st->status > 0)
		snprintf(msg, sizeof msg, "%s: %s (HTTP %ld)", what,
		         st->message[0] ? st->message : http_class_name(st->cls), st->status);
	else
		snprintf(msg, sizeof msg, "%s: %s", what,
		         st->message[0] ? st->message : http_class_name(st->cls));
	if (st->cls == HTTP_REDIRECTED && st->location[0] != '\0' &&
	    snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " -> %s", st->location) < 0)
		msg[0] = '\0';
	pass_lock(ctx);
	/* A rate limit (ours or the upstream's) observed nothing: what was verified at this
	 * generation stays as it was, and the pass comes back when the limit allows. Only
	 * what was observed to be wrong, or could not be verified yet, is False. */
	deferred = st->cls == HTTP_RATE_LIMITED && pass_verified_before(ctx, type);
	if (!deferred)
		pass_set_failed(ctx, type, pass_reason_for(st->cls), msg);
	pass_unlock(ctx);
	rec_fold(&ctx->out, pass_class_for(st->cls), st->not_before_ms, msg);
	pass_warn(ctx, type, pass_reason_for(st->cls), msg);
	return deferred;
}

void
pass_fail_msg(struct pass *ctx, const char *type, const char *reason, enum rec_class fail,
              const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pass_lock(ctx);
	pass_set_failed(ctx, type, reason, msg);
	pass_unlock(ctx);
	rec_fold(&ctx->out, fail, 0, msg);
	pass_warn(ctx, type, reason, msg);
}

void
pass_cond(struct pass *ctx, const char *type, int ok, const char *reason, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	json_t *have;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pass_lock(ctx);
	have = conditions_find(ctx->conds, type);
	/* Nothing changed upstream: keep what the last change said (Created, Adopted, ...),
	 * so a steady state rewrites nothing. */
	if (ok && strcmp(reason, "UpToDate") == 0 && conditions_is_true(ctx->conds, type)) {
		const char *r = json_string_value(json_object_get(have, "reason"));
		const char *m = json_string_value(json_object_get(have, "message"));

		if (r != NULL && m != NULL) {
			conditions_set(ctx->conds, type, COND_TRUE, r, m, ctx->ws->generation,
			               ctx->now);
			pass_unlock(ctx);
			return;
		}
	}
	conditions_set(ctx->conds, type, ok ? COND_TRUE : COND_FALSE, reason, msg,
	               ctx->ws->generation, ctx->now);
	pass_unlock(ctx);
}

void
pass_would(struct pass *ctx, const char *type, const char *fmt, ...)
{
	char what[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	pass_cond(ctx, type, 0, "Paused", "paused; would %s", what);
}

static int
pass_record(struct pass *ctx, const char *sql, int n, const char *const *params)
{
	char *cause = NULL;
	int rc;

	rc = rec_db_command(ctx->env->db, sql, n, params, &cause);
	if (rc == 0)
		return 0;
	log_warn("recording the status of workspace %s: %s", ctx->ws->slug, cause);
	rec_fold(&ctx->out, REC_TRANSIENT, 0, cause);
	free(cause);
	return -1;
}

/* Sets records[key] to value (a new reference). */
static void
pass_records_put(struct pass *ctx, const char *key, json_t *value)
{
	pass_lock(ctx);
	json_object_set_new(ctx->records, key, value);
	pass_unlock(ctx);
}

/* records[key] (an object, made when missing): what the pass found of one kind. */
static json_t *
pass_records_of(struct pass *ctx, const char *key)
{
	json_t *o = json_object_get(ctx->records, key);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(ctx->records, key, o);
	}
	return o;
}

/* Sets field to value (a new reference; NULL: leaves it) on records[kind][name]. */
static void
pass_records_set(struct pass *ctx, const char *kind, const char *name, const char *field,
                 json_t *value)
{
	json_t *of, *one;

	if (value == NULL)
		return;
	pass_lock(ctx);
	of = pass_records_of(ctx, kind);
	if ((one = json_object_get(of, name)) == NULL) {
		one = json_object();
		json_object_set_new(of, name, one);
	}
	json_object_set_new(one, field, value);
	pass_unlock(ctx);
}

char *
pass_records_take(struct pass *ctx)
{
	return pass_take(ctx, ctx->records);
}

int
pass_project_pending(struct pass *ctx)
{
	const char *params[1] = {ctx->ws->id};

	if (ctx->ws->project_marked)
		return 0; /* the pass's read marked it */
	return pass_record(ctx,
	                   "UPDATE vibn_workspaces SET coolify_project_pending_at = now()"
	                   " WHERE id = $1",
	                   1, params);
}

void
pass_record_project(struct pass *ctx, const char *uuid)
{
	pass_records_put(ctx, "project", json_string(uuid));
}

void
pass_project_settled(struct pass *ctx)
{
	if (!ctx->ws->project_pending && !ctx->ws->project_marked)
		return; /* no marker to clear */
	pass_records_put(ctx, "project_settled", json_true());
}

static int
pass_str_differs(const char *have, const char *want)
{
	return strcmp(have ? have : "", want ? want : "") != 0;
}

static json_t *
pass_json_string_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

void
pass_record_repo(struct pass *ctx, const struct desired_repo *d, const struct gitea_repo *r)
{
	if (r->id == d->gitea_repo_id && !pass_str_differs(r->clone_url, d->clone_url) &&
	    !pass_str_differs(r->ssh_url, d->ssh_url))
		return;
	pass_records_set(ctx, "repos", d->name, "id", json_integer(r->id));
	pass_records_set(ctx, "repos", d->name, "clone_url",
	                 pass_json_string_or_null(r->clone_url));
	pass_records_set(ctx, "repos", d->name, "ssh_url", pass_json_string_or_null(r->ssh_url));
}

void
pass_record_app(struct pass *ctx, const struct desired_app *d, const char *uuid,
                const char *domains)
{
	if (uuid != NULL && pass_str_differs(d->coolify_app_uuid, uuid))
		pass_records_set(ctx, "apps", d->name, "uuid", json_string(uuid));
	if (domains != NULL && pass_str_differs(d->domains, domains))
		pass_records_set(ctx, "apps", d->name, "domains", json_string(domains));
}

int
pass_record_deletion_done(struct pass *ctx, long long id)
{
	char idbuf[32];
	const char *params[2] = {ctx->ws->id, idbuf};

	snprintf(idbuf, sizeof idbuf, "%lld", id);
	return pass_record(ctx,
	                   "DELETE FROM vibn_workspace_repo_deletions WHERE workspace_id = $1"
	                   " AND id = $2",
	                   2, params);
}

/* Whether the n names are the recorded ones, in order. */
static int
pass_app_names_recorded(const struct desired_ws *ws, char *const *names, size_t n)
{
	if (ws->napp_names != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ws->app_names[i], names[i]) != 0)
			return 0;
	return 1;
}

void
pass_record_app_names(struct pass *ctx, char *const *names, size_t n)
{
	json_t *arr;

	if (pass_app_names_recorded(ctx->ws, names, n))
		return; /* a steady state sends no statement */
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(names[i]));
	pass_records_put(ctx, "app_names", arr);
}

void
pass_record_team_ids(struct pass *ctx, json_t *ids)
{
	if (json_object_size(ids) == 0 || json_equal(ids, ctx->ws->gitea_team_ids)) {
		json_decref(ids);
		return; /* a steady state sends no statement */
	}
	pass_records_put(ctx, "teams", ids);
}

int
pass_record_app_delete(struct pass *ctx, const char *uuid, const char *name)
{
	const char *params[3] = {ctx->ws->id, uuid, name};

	return pass_record(ctx,
	                   "UPDATE vibn_workspaces SET coolify_app_deletes = coolify_app_deletes ||"
	                   " jsonb_build_object($2::text, jsonb_build_object('at', now(), 'name',"
	                   " $3::text)) WHERE id = $1",
	                   3, params);
}

int
pass_forget_app_deletes(struct pass *ctx, const char *const *uuids, size_t n)
{
	json_t *arr = json_array();
	const char *params[2];
	char *text;
	int rc;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(uuids[i]));
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	params[0] = ctx->ws->id;
	params[1] = text;
	rc = pass_record(ctx,
	                 "UPDATE vibn_workspaces SET coolify_app_deletes = coolify_app_deletes -"
	                 " ARRAY(SELECT jsonb_array_elements_text($2::jsonb)) WHERE id = $1",
	                 2, params);
	free(text);
	return rc;
}

void
pass_note_hook(struct pass *ctx, int64_t id, const char *secret_sha256)
{
	ctx->hook_id = id;
	snprintf(ctx->hook_secret_sha, sizeof ctx->hook_secret_sha, "%s", secret_sha256);
}
