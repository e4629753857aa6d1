/* The simulated Coolify: projects (duplicate names allowed) with environments, applications
 * from public and deploy-key repos (asynchronous delete), servers and private keys, with the
 * validation, error bodies and status codes of the real API (../shared/reference/coolify.md).
 * Lists are never paginated, as upstream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <arpa/inet.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "tests/sim/sim.h"
#include "tests/sim/simtab.h"

#define COOLIFY_VERSION  "4.3.11"
#define COOLIFY_UUID_LEN 24

/* Request fields the spec lists for the application create and update bodies; any other
 * key is refused with 422 "This field is not allowed.", as upstream. */
static const char *const coolify_app_public_fields[] = {"project_uuid",
                                                        "server_uuid",
                                                        "environment_name",
                                                        "environment_uuid",
                                                        "git_repository",
                                                        "git_branch",
                                                        "build_pack",
                                                        "ports_exposes",
                                                        "destination_uuid",
                                                        "name",
                                                        "description",
                                                        "domains",
                                                        "noindex_domains",
                                                        "git_commit_sha",
                                                        "docker_registry_image_name",
                                                        "docker_registry_image_tag",
                                                        "is_static",
                                                        "is_spa",
                                                        "is_auto_deploy_enabled",
                                                        "is_force_https_enabled",
                                                        "is_preview_deployments_enabled",
                                                        "static_image",
                                                        "install_command",
                                                        "build_command",
                                                        "start_command",
                                                        "ports_mappings",
                                                        "base_directory",
                                                        "publish_directory",
                                                        "health_check_enabled",
                                                        "health_check_path",
                                                        "health_check_port",
                                                        "health_check_host",
                                                        "health_check_method",
                                                        "health_check_return_code",
                                                        "health_check_scheme",
                                                        "health_check_response_text",
                                                        "health_check_interval",
                                                        "health_check_timeout",
                                                        "health_check_retries",
                                                        "health_check_start_period",
                                                        "limits_memory",
                                                        "limits_memory_swap",
                                                        "limits_memory_swappiness",
                                                        "limits_memory_reservation",
                                                        "limits_cpus",
                                                        "limits_cpuset",
                                                        "limits_cpu_shares",
                                                        "custom_labels",
                                                        "custom_docker_run_options",
                                                        "post_deployment_command",
                                                        "post_deployment_command_container",
                                                        "pre_deployment_command",
                                                        "pre_deployment_command_container",
                                                        "manual_webhook_secret_github",
                                                        "manual_webhook_secret_gitlab",
                                                        "manual_webhook_secret_bitbucket",
                                                        "manual_webhook_secret_gitea",
                                                        "redirect",
                                                        "instant_deploy",
                                                        "dockerfile",
                                                        "dockerfile_location",
                                                        "docker_compose_location",
                                                        "docker_compose_custom_start_command",
                                                        "docker_compose_custom_build_command",
                                                        "docker_compose_domains",
                                                        "watch_paths",
                                                        "use_build_server",
                                                        "use_build_secrets",
                                                        "is_git_submodules_enabled",
                                                        "is_git_lfs_enabled",
                                                        "is_git_shallow_clone_enabled",
                                                        "disable_build_cache",
                                                        "inject_build_args_to_dockerfile",
                                                        "include_source_commit_in_build",
                                                        "is_env_sorting_enabled",
                                                        "is_pr_deployments_public_enabled",
                                                        "stop_grace_period",
                                                        "docker_images_to_keep",
                                                        "is_gzip_enabled",
                                                        "is_stripprefix_enabled",
                                                        "is_raw_compose_deployment_enabled",
                                                        "is_log_drain_enabled",
                                                        "is_gpu_enabled",
                                                        "gpu_driver",
                                                        "gpu_count",
                                                        "gpu_device_ids",
                                                        "gpu_options",
                                                        "is_consistent_container_name_enabled",
                                                        "custom_internal_name",
                                                        "preview_url_template",
                                                        "max_restart_count",
                                                        "is_http_basic_auth_enabled",
                                                        "http_basic_auth_username",
                                                        "http_basic_auth_password",
                                                        "connect_to_docker_network",
                                                        "force_domain_override",
                                                        "autogenerate_domain",
                                                        "is_container_label_escape_enabled",
                                                        "tags",
                                                        "is_preserve_repository_enabled"};
static const char *const coolify_app_patch_fields[] = {"project_uuid",
                                                       "server_uuid",
                                                       "environment_name",
                                                       "github_app_uuid",
                                                       "git_repository",
                                                       "git_branch",
                                                       "ports_exposes",
                                                       "destination_uuid",
                                                       "build_pack",
                                                       "name",
                                                       "description",
                                                       "domains",
                                                       "noindex_domains",
                                                       "git_commit_sha",
                                                       "docker_registry_image_name",
                                                       "docker_registry_image_tag",
                                                       "is_static",
                                                       "is_spa",
                                                       "is_auto_deploy_enabled",
                                                       "is_force_https_enabled",
                                                       "is_preview_deployments_enabled",
                                                       "install_command",
                                                       "build_command",
                                                       "start_command",
                                                       "ports_mappings",
                                                       "base_directory",
                                                       "publish_directory",
                                                       "health_check_enabled",
                                                       "health_check_path",
                                                       "health_check_port",
                                                       "health_check_host",
                                                       "health_check_method",
                                                       "health_check_return_code",
                                                       "health_check_scheme",
                                                       "health_check_response_text",
                                                       "health_check_interval",
                                                       "health_check_timeout",
                                                       "health_check_retries",
                                                       "health_check_start_period",
                                                       "limits_memory",
                                                       "limits_memory_swap",
                                                       "limits_memory_swappiness",
                                                       "limits_memory_reservation",
                                                       "limits_cpus",
                                                       "limits_cpuset",
                                                       "limits_cpu_shares",
                                                       "custom_labels",
                                                       "custom_docker_run_options",
                                                       "post_deployment_command",
                                                       "post_deployment_command_container",
                                                       "pre_deployment_command",
                                                       "pre_deployment_command_container",
                                                       "manual_webhook_secret_github",
                                                       "manual_webhook_secret_gitlab",
                                                       "manual_webhook_secret_bitbucket",
                                                       "manual_webhook_secret_gitea",
                                                       "redirect",
                                                       "instant_deploy",
                                                       "dockerfile",
                                                       "dockerfile_location",
                                                       "docker_compose_location",
                                                       "docker_compose_custom_start_command",
                                                       "docker_compose_custom_build_command",
                                                       "docker_compose_domains",
                                                       "watch_paths",
                                                       "use_build_server",
                                                       "use_build_secrets",
                                                       "is_git_submodules_enabled",
                                                       "is_git_lfs_enabled",
                                                       "is_git_shallow_clone_enabled",
                                                       "disable_build_cache",
                                                       "inject_build_args_to_dockerfile",
                                                       "include_source_commit_in_build",
                                                       "is_env_sorting_enabled",
                                                       "is_pr_deployments_public_enabled",
                                                       "stop_grace_period",
                                                       "docker_images_to_keep",
                                                       "is_gzip_enabled",
                                                       "is_stripprefix_enabled",
                                                       "is_raw_compose_deployment_enabled",
                                                       "is_log_drain_enabled",
                                                       "is_gpu_enabled",
                                                       "gpu_driver",
                                                       "gpu_count",
                                                       "gpu_device_ids",
                                                       "gpu_options",
                                                       "is_consistent_container_name_enabled",
                                                       "custom_internal_name",
                                                       "preview_url_template",
                                                       "max_restart_count",
                                                       "connect_to_docker_network",
                                                       "force_domain_override",
                                                       "is_container_label_escape_enabled",
                                                       "is_preserve_repository_enabled"};

struct cproj;

struct cenv {
	TAILQ_ENTRY(cenv) entry;
	int64_t id;
	char *uuid;
	char *name;
	char *description;
	struct cproj *proj;
	char created[32];
};

struct cproj {
	TAILQ_ENTRY(cproj) entry;
	int64_t id;
	char *uuid;
	char *name;
	char *description;
	TAILQ_HEAD(, cenv) envs;
	size_t napps;
	char created[32];
	char updated[32];
};

struct ckey {
	TAILQ_ENTRY(ckey) entry;
	int64_t id;
	char *uuid;
	char *name;
	char *description;
	char *private_key;
	size_t users; /* applications using it */
	char created[32];
};

struct capp {
	TAILQ_ENTRY(capp) entry;
	int64_t id;
	char *uuid;
	char *name;
	char *description;
	char *git_repository;
	char *git_branch;
	char *build_pack;
	char *ports_exposes;
	char *fqdn;
	char *status;
	struct cproj *proj;
	struct cenv *env;
	struct ckey *key;     /* deploy key, or NULL */
	int destination;      /* the server's destination, from 1 */
	struct event *del_ev; /* the pending deletion job, or NULL */
	char created[32];
	char updated[32];
};

static struct {
	struct simtab *projects; /* uuid -> cproj */
	struct simtab *apps;     /* uuid -> capp */
	struct simtab *keys;     /* uuid -> ckey */
	TAILQ_HEAD(, cproj) projlist;
	TAILQ_HEAD(, capp) applist;
	TAILQ_HEAD(, ckey) keylist;
	int64_t next_proj, next_env, next_app, next_key;
} C;

/* ------------------------------------------------------------------------------------------ */
/* helpers */

static void
simcoolify_msg(struct sim_req *r, int status, const char *msg)
{
	sim_reply_json(r, status, json_pack("{s:s}", "message", msg));
}

static void
simcoolify_set(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v != NULL ? v : "");
}

/* Validation errors collect per field, as Laravel's validator does. */
struct cerrs {
	json_t *errors; /* object: field -> [messages] */
};

static void
cerr_add(struct cerrs *e, const char *field, const char *msg)
{
	json_t *list;

	if (e->errors == NULL)
		e->errors = json_object();
	if ((list = json_object_get(e->errors, field)) == NULL) {
		list = json_array();
		json_object_set_new(e->errors, field, list);
	}
	json_array_append_new(list, json_string(msg));
}

/* Answers 422 with the collected errors and returns -1, or returns 0 when there are none. */
static int
cerr_answer(struct sim_req *r, struct cerrs *e)
{
	if (e->errors == NULL)
		return 0;
	sim_reply_json(
	    r, 422, json_pack("{s:s, s:o}", "message", "Validation failed.", "errors", e->errors));
	e->errors = NULL;
	return -1;
}

/* validateIncomingRequest: a non-empty JSON object with the JSON content type; returns it
 * (borrowed) or NULL after answering 400. */
static json_t *
simcoolify_body(struct sim_req *r)
{
	json_t *b;

	if (!sim_body_is_json(r)) {
		sim_reply_json(r, 400,
		               json_pack("{s:s, s:s}", "message", "Invalid request.", "error",
		                         "Content-Type must be application/json."));
		return NULL;
	}
	b = sim_body(r);
	if (b == NULL || (json_is_array(b) && json_array_size(b) == 0) ||
	    !(json_is_object(b) || json_is_array(b))) {
		sim_reply_json(r, 400,
		               json_pack("{s:s, s:s}", "message", "Invalid request.", "error",
		                         "Invalid JSON."));
		return NULL;
	}
	if (!json_is_object(b) || json_object_size(b) == 0) {
		sim_reply_json(
		    r, 400,
		    json_pack("{s:s, s:s}", "message", "Invalid request.", "error", "Empty JSON."));
		return NULL;
	}
	return b;
}

/* Refuses keys outside allowed with 422 "This field is not allowed."; -1 when answered. */
static int
simcoolify_only(struct sim_req *r, json_t *body, const char *const *allowed, size_t n,
                const char *extra)
{
	struct cerrs e = {NULL};
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v)
	{
		size_t i;

		if (extra != NULL && strcmp(key, extra) == 0)
			continue;
		for (i = 0; i < n; i++) {
			if (strcmp(key, allowed[i]) == 0)
				break;
		}
		if (i == n)
			cerr_add(&e, key, "This field is not allowed.");
	}
	return cerr_answer(r, &e);
}

/* Characters in a UTF-8 string (Laravel's min/max count characters). */
static size_t
simcoolify_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* Letters, marks and digits of any script, whitespace, plus the ASCII punctuation given. */
static int
simcoolify_charset(const char *s, const char *punct)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (strchr(punct, c) == NULL)
			return 0;
	}
	return 1;
}

#define COOLIFY_NAME_PUNCT "-_.@/&()#,:+"
#define COOLIFY_DESC_PUNCT "-_.,!?()'\"+=*@/&"

/* ValidationPatterns: name (3-255, restricted characters) and description (nullable,
 * <= 255, a different set: no ':' or '#'). */
static void
simcoolify_check_name(struct cerrs *e, json_t *body, const char *field, int required)
{
	json_t *v = json_object_get(body, field);
	char msg[128];
	const char *s;

	if (v == NULL || json_is_null(v) || (json_is_string(v) && *json_string_value(v) == '\0')) {
		if (required) {
			snprintf(msg, sizeof(msg), "The %s field is required.", field);
			cerr_add(e, field, msg);
		}
		return;
	}
	if (!json_is_string(v)) {
		snprintf(msg, sizeof(msg), "The %s field must be a string.", field);
		cerr_add(e, field, msg);
		return;
	}
	s = json_string_value(v);
	if (simcoolify_chars(s) < 3) {
		snprintf(msg, sizeof(msg), "The %s field must be at least 3 characters.", field);
		cerr_add(e, field, msg);
	}
	if (simcoolify_chars(s) > 255) {
		snprintf(msg, sizeof(msg), "The %s field must not be greater than 255 characters.",
		         field);
		cerr_add(e, field, msg);
	}
	if (!simcoolify_charset(s, COOLIFY_NAME_PUNCT)) {
		snprintf(msg, sizeof(msg), "The %s field format is invalid.", field);
		cerr_add(e, field, msg);
	}
}

static void
simcoolify_check_desc(struct cerrs *e, json_t *body)
{
	json_t *v = json_object_get(body, "description");
	const char *s;

	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_string(v)) {
		cerr_add(e, "description", "The description field must be a string.");
		return;
	}
	s = json_string_value(v);
	if (simcoolify_chars(s) > 255)
		cerr_add(e, "description",
		         "The description field must not be greater than 255 characters.");
	if (*s != '\0' && !simcoolify_charset(s, COOLIFY_DESC_PUNCT))
		cerr_add(e, "description", "The description field format is invalid.");
}

static void
simcoolify_check_str(struct cerrs *e, json_t *body, const char *field, int required)
{
	json_t *v = json_object_get(body, field);
	char msg[128];

	if (v == NULL || json_is_null(v) || (json_is_string(v) && *json_string_value(v) == '\0')) {
		if (required) {
			snprintf(msg, sizeof(msg), "The %s field is required.", field);
			cerr_add(e, field, msg);
		}
		return;
	}
	if (!json_is_string(v)) {
		snprintf(msg, sizeof(msg), "The %s field must be a string.", field);
		cerr_add(e, field, msg);
	}
}

static const char *
simcoolify_str(json_t *body, const char *field)
{
	return json_string_value(json_object_get(body, field));
}

static char *
simcoolify_uuid(void)
{
	return sim_rand_id(COOLIFY_UUID_LEN);
}

/* ------------------------------------------------------------------------------------------ */
/* state */

static struct cenv *
simcoolify_env_new(struct cproj *p, const char *name)
{
	struct cenv *e = xcalloc(1, sizeof(*e));

	e->id = C.next_env++;
	e->uuid = simcoolify_uuid();
	e->name = xstrdup(name);
	e->description = NULL;
	e->proj = p;
	sim_now_iso(e->created);
	TAILQ_INSERT_TAIL(&p->envs, e, entry);
	return e;
}

static struct cproj *
simcoolify_proj_new(const char *name, const char *description)
{
	struct cproj *p = xcalloc(1, sizeof(*p));

	p->id = C.next_proj++;
	do {
		free(p->uuid);
		p->uuid = simcoolify_uuid();
	} while (simtab_get(C.projects, p->uuid) != NULL);
	p->name = xstrdup(name);
	p->description = xstrdup(description);
	TAILQ_INIT(&p->envs);
	sim_now_iso(p->created);
	memcpy(p->updated, p->created, sizeof(p->updated));
	TAILQ_INSERT_TAIL(&C.projlist, p, entry);
	simtab_put(C.projects, p->uuid, p);
	simcoolify_env_new(p, "production"); /* Project::booted */
	return p;
}

static void
simcoolify_app_free(struct capp *a)
{
	TAILQ_REMOVE(&C.applist, a, entry);
	simtab_del(C.apps, a->uuid);
	a->proj->napps--;
	if (a->key != NULL)
		a->key->users--;
	if (a->del_ev != NULL)
		event_free(a->del_ev);
	free(a->uuid);
	free(a->name);
	free(a->description);
	free(a->git_repository);
	free(a->git_branch);
	free(a->build_pack);
	free(a->ports_exposes);
	free(a->fqdn);
	free(a->status);
	free(a);
}

static void
simcoolify_proj_free(struct cproj *p)
{
	struct cenv *e;
	struct capp *a, *next;

	for (a = TAILQ_FIRST(&C.applist); a != NULL && p->napps > 0; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (a->proj == p)
			simcoolify_app_free(a);
	}
	while ((e = TAILQ_FIRST(&p->envs)) != NULL) {
		TAILQ_REMOVE(&p->envs, e, entry);
		free(e->uuid);
		free(e->name);
		free(e->description);
		free(e);
	}
	TAILQ_REMOVE(&C.projlist, p, entry);
	simtab_del(C.projects, p->uuid);
	free(p->uuid);
	free(p->name);
	free(p->description);
	free(p);
}

static void
simcoolify_key_free(struct ckey *k)
{
	TAILQ_REMOVE(&C.keylist, k, entry);
	simtab_del(C.keys, k->uuid);
	free(k->uuid);
	free(k->name);
	free(k->description);
	free(k->private_key);
	free(k);
}

/* Name first, then uuid, like GET /projects/{uuid}/{environment_name_or_uuid}. */
static struct cenv *
simcoolify_env_find(struct cproj *p, const char *name, const char *uuid)
{
	struct cenv *e;

	if (name != NULL) {
		TAILQ_FOREACH(e, &p->envs, entry)
		{
			if (strcmp(e->name, name) == 0)
				return e;
		}
	}
	if (uuid != NULL) {
		TAILQ_FOREACH(e, &p->envs, entry)
		{
			if (strcmp(e->uuid, uuid) == 0)
				return e;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON views */

static json_t *
simcoolify_env_json(const struct cenv *e)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s?}", "id", (json_int_t)e->id, "uuid",
	                 e->uuid, "name", e->name, "project_id", (json_int_t)e->proj->id,
	                 "created_at", e->created, "updated_at", e->created, "description",
	                 e->description);
}

static json_t *
simcoolify_proj_brief(const struct cproj *p)
{
	return json_pack("{s:I, s:s, s:s, s:s?}", "id", (json_int_t)p->id, "uuid", p->uuid, "name",
	                 p->name, "description", p->description);
}

static json_t *
simcoolify_proj_json(const struct cproj *p)
{
	json_t *envs = json_array();
	struct cenv *e;

	TAILQ_FOREACH(e, &p->envs, entry)
	json_array_append_new(envs, simcoolify_env_json(e));
	return json_pack("{s:I, s:s, s:s, s:s?, s:i, s:s, s:s, s:o}", "id", (json_int_t)p->id,
	                 "uuid", p->uuid, "name", p->name, "description", p->description, "team_id",
	                 0, "created_at", p->created, "updated_at", p->updated, "environments",
	                 envs);
}

/* The application model as GET answers it: no project_uuid or server_uuid (upstream hides
 * them); environment_id and destination_id instead. removeSensitiveData
 * (ApplicationsController) hides id always, and private_key_id from tokens without
 * read:sensitive, as vibnd's is. */
static json_t *
simcoolify_app_json(const struct capp *a)
{
	return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:I, s:I, "
	                 "s:s, s:s, s:s, s:n, s:{s:b, s:b}}",
	                 "uuid", a->uuid, "name", a->name, "description", a->description, "fqdn",
	                 a->fqdn, "git_repository", a->git_repository, "git_branch", a->git_branch,
	                 "git_commit_sha", "HEAD", "build_pack", a->build_pack, "ports_exposes",
	                 a->ports_exposes, "status", a->status, "environment_id",
	                 (json_int_t)a->env->id, "destination_id", (json_int_t)a->destination,
	                 "destination_type", "App\\Models\\StandaloneDocker", "created_at",
	                 a->created, "updated_at", a->updated, "deleted_at", "settings",
	                 "is_static", 0, "is_auto_deploy_enabled", 1);
}

static json_t *
simcoolify_server_json(void)
{
	return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:i, s:b, s:b, s:{s:b, s:b, s:b}}", "uuid",
	                 SIM_COOLIFY_SERVER_UUID, "name", "localhost", "description", NULL, "ip",
	                 "host.docker.internal", "user", "root", "port", 22, "is_reachable", 1,
	                 "is_usable", 1, "settings", "is_build_server", 0, "is_reachable", 1,
	                 "is_usable", 1);
}

/* The server's Docker destinations (state dump only: GET /servers does not list them). */
static json_t *
simcoolify_destinations_json(void)
{
	json_t *a = json_array();
	char uuid[32], name[32];

	for (int i = 1; i <= sim_knobs.coolify_destinations; i++) {
		snprintf(uuid, sizeof uuid, "%s%06d", SIM_COOLIFY_DEST_PREFIX, i);
		snprintf(name, sizeof name, "network-%d", i);
		json_array_append_new(a, json_pack("{s:s, s:s}", "uuid", uuid, "network", name));
	}
	return a;
}

static json_t *
simcoolify_key_json(const struct ckey *k)
{
	char fp[65];

	util_sha256_hex(k->private_key, strlen(k->private_key), fp);
	return json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s, s:s, s:b, s:i, s:s, s:s}", "id",
	                 (json_int_t)k->id, "uuid", k->uuid, "name", k->name, "description",
	                 k->description, "private_key", k->private_key, "public_key", "",
	                 "fingerprint", fp, "is_git_related", 0, "team_id", 0, "created_at",
	                 k->created, "updated_at", k->created);
}

/* ------------------------------------------------------------------------------------------ */
/* handlers: misc, projects, environments */

static void
simcoolify_version(struct sim_req *r)
{
	/* plain text, not JSON (OtherController::version) */
	sim_reply_raw(r, 200, "text/html; charset=UTF-8", COOLIFY_VERSION, strlen(COOLIFY_VERSION));
}

static void
simcoolify_servers(struct sim_req *r)
{
	sim_reply_json(r, 200, json_pack("[o]", simcoolify_server_json()));
}

static struct cproj *
simcoolify_proj_at(struct sim_req *r, int seg)
{
	struct cproj *p = simtab_get(C.projects, r->segs[seg]);

	if (p == NULL)
		simcoolify_msg(r, 404, "Project not found.");
	return p;
}

static void
simcoolify_projects_list(struct sim_req *r)
{
	json_t *a = json_array();
	struct cproj *p;

	TAILQ_FOREACH(p, &C.projlist, entry)
	json_array_append_new(a, simcoolify_proj_brief(p));
	sim_reply_json(r, 200, a);
}

static void
simcoolify_project_create(struct sim_req *r)
{
	static const char *const allowed[] = {"name", "description"};
	struct cerrs e = {NULL};
	json_t *body = simcoolify_body(r);
	struct cproj *p;

	if (body == NULL || simcoolify_only(r, body, allowed, nitems(allowed), NULL) != 0)
		return;
	simcoolify_check_name(&e, body, "name", 1);
	simcoolify_check_desc(&e, body);
	if (cerr_answer(r, &e) != 0)
		return;
	/* names are not unique: a second project with the same name is a new project */
	p = simcoolify_proj_new(simcoolify_str(body, "name"), simcoolify_str(body, "description"));
	sim_reply_json(r, 201, json_pack("{s:s}", "uuid", p->uuid));
}

static void
simcoolify_project_get(struct sim_req *r)
{
	struct cproj *p = simcoolify_proj_at(r, 1);

	if (p != NULL)
		sim_reply_json(r, 200, simcoolify_proj_json(p));
}

static void
simcoolify_project_patch(struct sim_req *r)
{
	static const char *const allowed[] = {"name", "description"};
	struct cerrs e = {NULL};
	struct cproj *p = simcoolify_proj_at(r, 1);
	json_t *body, *v;

	if (p == NULL || (body = simcoolify_body(r)) == NULL ||
	    simcoolify_only(r, body, allowed, nitems(allowed), NULL) != 0)
		return;
	simcoolify_check_name(&e, body, "name", 0);
	simcoolify_check_desc(&e, body);
	if (cerr_answer(r, &e) != 0)
		return;
	if ((v = json_object_get(body, "name")) != NULL && json_is_string(v) &&
	    *json_string_value(v) != '\0')
		simcoolify_set(&p->name, json_string_value(v));
	if ((v = json_object_get(body, "description")) != NULL) {
		free(p->description);
		p->description = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
	}
	sim_now_iso(p->updated);
	/* 201, not 200, as upstream */
	sim_reply_json(r, 201,
	               json_pack("{s:s, s:s, s:s?}", "uuid", p->uuid, "name", p->name,
	                         "description", p->description));
}

static void
simcoolify_project_delete(struct sim_req *r)
{
	struct cproj *p = simcoolify_proj_at(r, 1);

	if (p == NULL)
		return;
	if (p->napps > 0) {
		simcoolify_msg(r, 400, "Project has resources, so it cannot be deleted.");
		return;
	}
	simcoolify_proj_free(p);
	simcoolify_msg(r, 200, "Project deleted.");
}

static void
simcoolify_envs_list(struct sim_req *r)
{
	struct cproj *p = simcoolify_proj_at(r, 1);
	json_t *a;
	struct cenv *e;

	if (p == NULL)
		return;
	a = json_array();
	TAILQ_FOREACH(e, &p->envs, entry)
	json_array_append_new(a, simcoolify_env_json(e));
	sim_reply_json(r, 200, a);
}

static void
simcoolify_env_create(struct sim_req *r)
{
	static const char *const allowed[] = {"name", "description"};
	struct cerrs e = {NULL};
	struct cproj *p = simcoolify_proj_at(r, 1);
	json_t *body;
	struct cenv *env;

	if (p == NULL || (body = simcoolify_body(r)) == NULL ||
	    simcoolify_only(r, body, allowed, nitems(allowed), NULL) != 0)
		return;
	simcoolify_check_name(&e, body, "name", 1);
	simcoolify_check_desc(&e, body);
	if (cerr_answer(r, &e) != 0)
		return;
	if (simcoolify_env_find(p, simcoolify_str(body, "name"), NULL) != NULL) {
		simcoolify_msg(r, 409, "Environment with this name already exists.");
		return;
	}
	env = simcoolify_env_new(p, simcoolify_str(body, "name"));
	if (simcoolify_str(body, "description") != NULL)
		env->description = xstrdup(simcoolify_str(body, "description"));
	sim_reply_json(r, 201, json_pack("{s:s}", "uuid", env->uuid));
}

static void
simcoolify_env_get(struct sim_req *r)
{
	struct cproj *p = simcoolify_proj_at(r, 1);
	struct cenv *env;
	struct capp *a;
	json_t *j, *apps;

	if (p == NULL)
		return;
	if ((env = simcoolify_env_find(p, r->segs[2], r->segs[2])) == NULL) {
		simcoolify_msg(r, 404, "Environment not found.");
		return;
	}
	apps = json_array();
	if (p->napps > 0) {
		TAILQ_FOREACH(a, &C.applist, entry)
		{
			if (a->env == env)
				json_array_append_new(apps, simcoolify_app_json(a));
		}
	}
	j = simcoolify_env_json(env);
	json_object_set_new(j, "applications", apps);
	json_object_set_new(j, "postgresqls", json_array());
	json_object_set_new(j, "redis", json_array());
	json_object_set_new(j, "mongodbs", json_array());
	json_object_set_new(j, "mysqls", json_array());
	json_object_set_new(j, "mariadbs", json_array());
	json_object_set_new(j, "services", json_array());
	sim_reply_json(r, 200, j);
}

/* ------------------------------------------------------------------------------------------ */
/* applications */

static struct capp *
simcoolify_app_at(struct sim_req *r)
{
	struct capp *a = simtab_get(C.apps, r->segs[1]);

	if (a == NULL)
		simcoolify_msg(r, 404, "Application not found.");
	return a;
}

static int
simcoolify_build_pack_ok(const char *bp)
{
	static const char *const packs[] = {"nixpacks", "railpack", "static", "dockerfile",
	                                    "dockercompose"};

	for (size_t i = 0; i < nitems(packs); i++) {
		if (strcmp(bp, packs[i]) == 0)
			return 1;
	}
	return 0;
}

static int
simcoolify_ports_ok(const char *s)
{
	int digits = 0;

	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9') {
			digits++;
		} else if (*s == ',' && digits > 0) {
			digits = 0;
		} else {
			return 0;
		}
	}
	return digits > 0;
}

/* The application fields shared by create and update; checks into e. */
static void
simcoolify_app_checks(struct cerrs *e, json_t *body, int creating)
{
	const char *bp = simcoolify_str(body, "build_pack");
	const char *ports = simcoolify_str(body, "ports_exposes");
	const char *name = simcoolify_str(body, "name");

	simcoolify_check_str(e, body, "git_repository", creating);
	simcoolify_check_str(e, body, "git_branch", creating);
	simcoolify_check_str(e, body, "build_pack", creating);
	if (bp != NULL && *bp != '\0' && !simcoolify_build_pack_ok(bp))
		cerr_add(e, "build_pack", "The selected build pack is invalid.");
	if (ports != NULL && !simcoolify_ports_ok(ports))
		cerr_add(e, "ports_exposes", "The ports exposes field format is invalid.");
	if (name != NULL && simcoolify_chars(name) > 255)
		cerr_add(e, "name", "The name field must not be greater than 255 characters.");
}

/* A host FILTER_VALIDATE_IP accepts: an IPv4 or IPv6 address. */
static int
simcoolify_is_ip(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int
simcoolify_all_of(const char *s, size_t n, const char *extra)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr(extra, c) != NULL))
			return 0;
	}
	return 1;
}

/* Coolify's ValidGitRepositoryUrl (app/Rules/ValidGitRepositoryUrl.php), on application
 * create and update: NULL when url passes, else the message (static). */
static const char *
simcoolify_git_url_error(const char *url)
{
	static const char dangerous[] = ";|&$`(){}[]<>\n\r\"'\\!?*^%=+#";
	const char *p, *host, *end;
	char hostbuf[256];
	size_t n;

	if (*url == '\0')
		return NULL;
	if (strpbrk(url, dangerous) != NULL)
		return "The git repository contains invalid characters.";
	for (p = url; (p = strstr(p, "..")) != NULL; p++)
		if (p[2] == '/')
			return "The git repository contains invalid patterns.";
	if (strncmp(url, "git@", 4) == 0) {
		/* ^git@[a-zA-Z0-9.-]+:[a-zA-Z0-9-_/.~]+$: no ssh:// form; a custom port goes
		 * inside, git@host:PORT/owner/repo.git */
		host = url + 4;
		n = strcspn(host, ":");
		if (host[n] != ':' || !simcoolify_all_of(host, n, ".-") ||
		    !simcoolify_all_of(host + n + 1, strlen(host + n + 1), "-_/.~"))
			return "The git repository is not a valid SSH repository URL.";
		return NULL;
	}
	if (strncmp(url, "git://", 6) == 0) {
		host = url + 6;
		n = strcspn(host, "/");
		if (host[n] != '/' || !simcoolify_all_of(host, n, ".-") ||
		    !simcoolify_all_of(host + n + 1, strlen(host + n + 1), "-_/."))
			return "The git repository is not a valid git:// URL.";
		return NULL;
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return "The git repository must start with https://, http://, git://, or git@.";
	host = strstr(url, "://") + 3;
	end = host + strcspn(host, "/");
	/* parse_url: userinfo@ goes, :port goes */
	for (p = host; p < end; p++)
		if (*p == '@')
			host = p + 1;
	n = (size_t)(end - host);
	for (p = host; p < end; p++)
		if (*p == ':')
			n = (size_t)(p - host);
	if (n == 0 || n >= sizeof hostbuf)
		return "The git repository is not a valid URL.";
	memcpy(hostbuf, host, n);
	hostbuf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (hostbuf[i] >= 'A' && hostbuf[i] <= 'Z')
			hostbuf[i] = (char)(hostbuf[i] - 'A' + 'a');
	if (!simcoolify_all_of(hostbuf, n, ".-"))
		return "The git repository is not a valid URL.";
	if (simcoolify_is_ip(hostbuf))
		return "The git repository cannot use IP addresses.";
	if (strcmp(hostbuf, "localhost") == 0 || (n >= 6 && strcmp(hostbuf + n - 6, ".local") == 0))
		return "The git repository cannot point to internal hosts.";
	if (*end != '\0' && !simcoolify_all_of(end, strlen(end), "-_/."))
		return "The git repository path contains invalid characters.";
	return NULL;
}

/* Checks git_repository of a create or update body into e. */
static void
simcoolify_check_git_url(struct cerrs *e, json_t *body)
{
	const char *url = simcoolify_str(body, "git_repository");
	const char *why = url != NULL ? simcoolify_git_url_error(url) : NULL;

	if (why != NULL)
		cerr_add(e, "git_repository", why);
}

static char *
simcoolify_repo_short(const char *repo)
{
	/* public github.com repos are stored as owner/repo */
	if (strncmp(repo, "https://github.com/", 19) == 0) {
		size_t n = strlen(repo + 19);

		if (n > 4 && strcmp(repo + 19 + n - 4, ".git") == 0)
			n -= 4;
		return xstrndup(repo + 19, n);
	}
	return xstrdup(repo);
}

/* The server's destination an application goes to (from 1), or 0 after answering: a
 * server with several Docker destinations needs destination_uuid, one with none takes
 * nothing (ApplicationsController::create_application). */
static int
simcoolify_destination(struct sim_req *r, json_t *body)
{
	int n = sim_knobs.coolify_destinations;
	const char *want = simcoolify_str(body, "destination_uuid");
	char uuid[32];

	if (n == 0) {
		simcoolify_msg(r, 400, "Server has no destinations.");
		return 0;
	}
	if (n == 1)
		return 1; /* destination_uuid, if any, is not looked at */
	if (json_object_get(body, "destination_uuid") == NULL) {
		simcoolify_msg(
		    r, 400,
		    "Server has multiple destinations and you do not set destination_uuid.");
		return 0;
	}
	for (int i = 1; i <= n && want != NULL; i++) {
		snprintf(uuid, sizeof uuid, "%s%06d", SIM_COOLIFY_DEST_PREFIX, i);
		if (strcmp(uuid, want) == 0)
			return i;
	}
	sim_reply_json(r, 422,
	               json_pack("{s:s, s:{s:s}}", "message", "Validation failed.", "errors",
	                         "destination_uuid",
	                         "Provided destination_uuid does not belong to the specified "
	                         "server."));
	return 0;
}

static void
simcoolify_app_create(struct sim_req *r, int deploy_key)
{
	struct cerrs e = {NULL};
	json_t *body = simcoolify_body(r);
	struct cproj *p;
	struct cenv *env;
	struct ckey *key = NULL;
	struct capp *a;
	const char *name;
	int dest;

	if (body == NULL ||
	    simcoolify_only(r, body, coolify_app_public_fields, nitems(coolify_app_public_fields),
	                    deploy_key ? "private_key_uuid" : NULL) != 0)
		return;
	simcoolify_check_str(&e, body, "project_uuid", 1);
	simcoolify_check_str(&e, body, "server_uuid", 1);
	if (deploy_key)
		simcoolify_check_str(&e, body, "private_key_uuid", 1);
	simcoolify_app_checks(&e, body, 1);
	if (cerr_answer(r, &e) != 0)
		return;
	if (simcoolify_str(body, "environment_name") == NULL &&
	    simcoolify_str(body, "environment_uuid") == NULL) {
		simcoolify_msg(r, 422,
		               "You need to provide at least one of environment_name or "
		               "environment_uuid.");
		return;
	}
	if ((p = simtab_get(C.projects, simcoolify_str(body, "project_uuid"))) == NULL) {
		simcoolify_msg(r, 404, "Project not found.");
		return;
	}
	env = simcoolify_env_find(p, simcoolify_str(body, "environment_name"),
	                          simcoolify_str(body, "environment_uuid"));
	if (env == NULL) {
		simcoolify_msg(r, 404, "Environment not found.");
		return;
	}
	if (strcmp(simcoolify_str(body, "server_uuid"), SIM_COOLIFY_SERVER_UUID) != 0) {
		simcoolify_msg(r, 404, "Server not found.");
		return;
	}
	if ((dest = simcoolify_destination(r, body)) == 0)
		return;
	/* Type-specific rules come after the server's: the git URL rule among them. */
	simcoolify_check_git_url(&e, body);
	if (cerr_answer(r, &e) != 0)
		return;
	if (deploy_key &&
	    (key = simtab_get(C.keys, simcoolify_str(body, "private_key_uuid"))) == NULL) {
		simcoolify_msg(r, 404, "Private Key not found.");
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->id = C.next_app++;
	do {
		free(a->uuid);
		a->uuid = simcoolify_uuid();
	} while (simtab_get(C.apps, a->uuid) != NULL);
	a->git_repository = deploy_key
	                        ? xstrdup(simcoolify_str(body, "git_repository"))
	                        : simcoolify_repo_short(simcoolify_str(body, "git_repository"));
	a->git_branch = xstrdup(simcoolify_str(body, "git_branch"));
	a->build_pack = xstrdup(simcoolify_str(body, "build_pack"));
	a->ports_exposes = simcoolify_str(body, "ports_exposes") != NULL
	                       ? xstrdup(simcoolify_str(body, "ports_exposes"))
	                       : NULL;
	if ((name = simcoolify_str(body, "name")) != NULL && *name != '\0') {
		a->name = xstrdup(name);
	} else {
		/* generate_application_name: the repo, the branch and a random suffix */
		const char *slash = strrchr(a->git_repository, '/');
		char *suffix = sim_rand_id(12);

		a->name = xasprintf("%s:%s-%s", slash != NULL ? slash + 1 : a->git_repository,
		                    a->git_branch, suffix);
		free(suffix);
	}
	a->description = simcoolify_str(body, "description") != NULL
	                     ? xstrdup(simcoolify_str(body, "description"))
	                     : NULL;
	if (simcoolify_str(body, "domains") != NULL)
		a->fqdn = xstrdup(simcoolify_str(body, "domains"));
	else
		a->fqdn = xasprintf("http://%s.127.0.0.1.sslip.io", a->uuid);
	a->status = xstrdup(
	    json_is_true(json_object_get(body, "instant_deploy")) ? "running:unknown" : "exited");
	a->proj = p;
	a->env = env;
	a->key = key;
	a->destination = dest;
	if (key != NULL)
		key->users++;
	p->napps++;
	sim_now_iso(a->created);
	memcpy(a->updated, a->created, sizeof(a->updated));
	TAILQ_INSERT_TAIL(&C.applist, a, entry);
	simtab_put(C.apps, a->uuid, a);
	/* ApplicationsController::create_application: the fqdn, as "domains" (null in older
	 * releases, sim_knobs.coolify_create_domains). */
	sim_reply_json(r, 201,
	               json_pack("{s:s, s:s?}", "uuid", a->uuid, "domains",
	                         sim_knobs.coolify_create_domains ? a->fqdn : NULL));
}

static void
simcoolify_app_public(struct sim_req *r)
{
	simcoolify_app_create(r, 0);
}

static void
simcoolify_app_deploy_key(struct sim_req *r)
{
	simcoolify_app_create(r, 1);
}

static void
simcoolify_apps_list(struct sim_req *r)
{
	json_t *a = json_array();
	struct capp *app;

	TAILQ_FOREACH(app, &C.applist, entry)
	json_array_append_new(a, simcoolify_app_json(app));
	sim_reply_json(r, 200, a);
}

static void
simcoolify_app_get(struct sim_req *r)
{
	struct capp *a = simcoolify_app_at(r);

	/* while the deletion job runs, upstream still answers 200 with the row */
	if (a != NULL)
		sim_reply_json(r, 200, simcoolify_app_json(a));
}

static void
simcoolify_app_patch(struct sim_req *r)
{
	struct cerrs e = {NULL};
	struct capp *a = simcoolify_app_at(r);
	json_t *body, *v;

	if (a == NULL || (body = simcoolify_body(r)) == NULL ||
	    simcoolify_only(r, body, coolify_app_patch_fields, nitems(coolify_app_patch_fields),
	                    NULL) != 0)
		return;
	simcoolify_app_checks(&e, body, 0);
	simcoolify_check_git_url(&e, body);
	if (cerr_answer(r, &e) != 0)
		return;
	if ((v = json_object_get(body, "name")) != NULL && json_is_string(v))
		simcoolify_set(&a->name, json_string_value(v));
	if ((v = json_object_get(body, "description")) != NULL && json_is_string(v))
		simcoolify_set(&a->description, json_string_value(v));
	if ((v = json_object_get(body, "git_repository")) != NULL && json_is_string(v))
		simcoolify_set(&a->git_repository, json_string_value(v));
	if ((v = json_object_get(body, "git_branch")) != NULL && json_is_string(v))
		simcoolify_set(&a->git_branch, json_string_value(v));
	if ((v = json_object_get(body, "build_pack")) != NULL && json_is_string(v))
		simcoolify_set(&a->build_pack, json_string_value(v));
	if ((v = json_object_get(body, "ports_exposes")) != NULL && json_is_string(v))
		simcoolify_set(&a->ports_exposes, json_string_value(v));
	if ((v = json_object_get(body, "domains")) != NULL && json_is_string(v))
		simcoolify_set(&a->fqdn, json_string_value(v));
	sim_now_iso(a->updated);
	sim_reply_json(r, 200, json_pack("{s:s}", "uuid", a->uuid));
}

static void
simcoolify_app_gone(evutil_socket_t fd, short what, void *arg)
{
	simcoolify_app_free(arg);
}

static void
simcoolify_app_delete(struct sim_req *r)
{
	struct capp *a = simcoolify_app_at(r);
	struct timeval tv;

	if (a == NULL)
		return;
	/* DeleteResourceJob: queued; the row stays visible until the job is done */
	if (a->del_ev == NULL) {
		tv.tv_sec = sim_knobs.app_delete_ms / 1000;
		tv.tv_usec = (sim_knobs.app_delete_ms % 1000) * 1000;
		a->del_ev = evtimer_new(sim_base, simcoolify_app_gone, a);
		evtimer_add(a->del_ev, &tv);
	}
	simcoolify_msg(r, 200, "Application deletion request queued.");
}

/* ------------------------------------------------------------------------------------------ */
/* private keys */

static struct ckey *
simcoolify_key_at(struct sim_req *r)
{
	struct ckey *k = simtab_get(C.keys, r->segs[2]);

	if (k == NULL)
		simcoolify_msg(r, 404, "Private Key not found.");
	return k;
}

static void
simcoolify_keys_list(struct sim_req *r)
{
	json_t *a = json_array();
	struct ckey *k;

	TAILQ_FOREACH(k, &C.keylist, entry)
	json_array_append_new(a, simcoolify_key_json(k));
	sim_reply_json(r, 200, a);
}

static void
simcoolify_key_create(struct sim_req *r)
{
	static const char *const allowed[] = {"name", "description", "private_key"};
	struct cerrs e = {NULL};
	json_t *body = simcoolify_body(r);
	const char *pk;
	struct ckey *k;

	if (body == NULL || simcoolify_only(r, body, allowed, nitems(allowed), NULL) != 0)
		return;
	simcoolify_check_str(&e, body, "private_key", 1);
	simcoolify_check_str(&e, body, "name", 0);
	simcoolify_check_str(&e, body, "description", 0);
	if (cerr_answer(r, &e) != 0)
		return;
	pk = simcoolify_str(body, "private_key");
	if (strstr(pk, "-----BEGIN") == NULL || strstr(pk, "PRIVATE KEY-----") == NULL) {
		simcoolify_msg(r, 422, "Invalid private key.");
		return;
	}
	k = xcalloc(1, sizeof(*k));
	k->id = C.next_key++;
	k->uuid = simcoolify_uuid();
	k->name = simcoolify_str(body, "name") != NULL ? xstrdup(simcoolify_str(body, "name"))
	                                               : sim_rand_id(8);
	k->description = simcoolify_str(body, "description") != NULL
	                     ? xstrdup(simcoolify_str(body, "description"))
	                     : NULL;
	k->private_key = xstrdup(pk);
	sim_now_iso(k->created);
	TAILQ_INSERT_TAIL(&C.keylist, k, entry);
	simtab_put(C.keys, k->uuid, k);
	sim_reply_json(r, 201, json_pack("{s:s}", "uuid", k->uuid));
}

static void
simcoolify_key_get(struct sim_req *r)
{
	struct ckey *k = simcoolify_key_at(r);

	if (k != NULL)
		sim_reply_json(r, 200, simcoolify_key_json(k));
}

static void
simcoolify_key_delete(struct sim_req *r)
{
	struct ckey *k = simcoolify_key_at(r);

	if (k == NULL)
		return;
	if (k->users > 0) {
		simcoolify_msg(r, 422, "Private Key is in use and cannot be deleted.");
		return;
	}
	simcoolify_key_free(k);
	simcoolify_msg(r, 200, "Private Key deleted.");
}

/* ------------------------------------------------------------------------------------------ */
/* the route table: templates as in coolify-openapi.json; literal routes before {x} ones */

static struct sim_route coolify_routes[] = {
    SIM_ROUTE("GET", "/version", simcoolify_version, 0),
    SIM_ROUTE("GET", "/servers", simcoolify_servers, 0),
    SIM_ROUTE("GET", "/projects", simcoolify_projects_list, 0),
    SIM_ROUTE("POST", "/projects", simcoolify_project_create, 0),
    SIM_ROUTE("GET", "/projects/{uuid}", simcoolify_project_get, 0),
    SIM_ROUTE("PATCH", "/projects/{uuid}", simcoolify_project_patch, 0),
    SIM_ROUTE("DELETE", "/projects/{uuid}", simcoolify_project_delete, 0),
    SIM_ROUTE("GET", "/projects/{uuid}/environments", simcoolify_envs_list, 0),
    SIM_ROUTE("POST", "/projects/{uuid}/environments", simcoolify_env_create, 0),
    SIM_ROUTE("GET", "/projects/{uuid}/{environment_name_or_uuid}", simcoolify_env_get, 0),
    SIM_ROUTE("GET", "/applications", simcoolify_apps_list, 0),
    SIM_ROUTE("POST", "/applications/public", simcoolify_app_public, 0),
    SIM_ROUTE("POST", "/applications/private-deploy-key", simcoolify_app_deploy_key, 0),
    SIM_ROUTE("GET", "/applications/{uuid}", simcoolify_app_get, 0),
    SIM_ROUTE("PATCH", "/applications/{uuid}", simcoolify_app_patch, 0),
    SIM_ROUTE("DELETE", "/applications/{uuid}", simcoolify_app_delete, 0),
    SIM_ROUTE("GET", "/security/keys", simcoolify_keys_list, 0),
    SIM_ROUTE("POST", "/security/keys", simcoolify_key_create, 0),
    SIM_ROUTE("GET", "/security/keys/{uuid}", simcoolify_key_get, 0),
    SIM_ROUTE("DELETE", "/security/keys/{uuid}", simcoolify_key_delete, 0),
};

struct sim_route *
simcoolify_routes(size_t *n)
{
	*n = nitems(coolify_routes);
	return coolify_routes;
}

/* ------------------------------------------------------------------------------------------ */
/* life cycle, state dump, drift */

/* The private key Coolify has from the start (the localhost server's), kept across resets
 * like the server: an existing key to build deploy-key applications with. */
static void
simcoolify_seed_key(void)
{
	struct ckey *k = xcalloc(1, sizeof(*k));

	k->id = C.next_key++;
	k->uuid = xstrdup(SIM_COOLIFY_KEY_UUID);
	k->name = xstrdup("localhost's key");
	k->description = xstrdup("The private key for the Coolify host machine (localhost).");
	k->private_key = xstrdup("-----BEGIN OPENSSH PRIVATE KEY-----\nvibn-sim\n"
	                         "-----END OPENSSH PRIVATE KEY-----\n");
	sim_now_iso(k->created);
	TAILQ_INSERT_TAIL(&C.keylist, k, entry);
	simtab_put(C.keys, k->uuid, k);
}

void
simcoolify_init(void)
{
	C.projects = simtab_new(0);
	C.apps = simtab_new(0);
	C.keys = simtab_new(0);
	TAILQ_INIT(&C.projlist);
	TAILQ_INIT(&C.applist);
	TAILQ_INIT(&C.keylist);
	C.next_proj = C.next_env = C.next_app = C.next_key = 1;
	simcoolify_seed_key();
}

void
simcoolify_reset(void)
{
	struct cproj *p;
	struct ckey *k;

	while ((p = TAILQ_FIRST(&C.projlist)) != NULL)
		simcoolify_proj_free(p);
	while ((k = TAILQ_FIRST(&C.keylist)) != NULL)
		simcoolify_key_free(k);
	C.next_proj = C.next_env = C.next_app = C.next_key = 1;
	simcoolify_seed_key();
}

void
simcoolify_free(void)
{
	struct ckey *k;

	simcoolify_reset();
	while ((k = TAILQ_FIRST(&C.keylist)) != NULL)
		simcoolify_key_free(k);
	simtab_free(C.projects);
	simtab_free(C.apps);
	simtab_free(C.keys);
	memset(&C, 0, sizeof(C));
}

json_t *
simcoolify_state(void)
{
	json_t *projects = json_array(), *apps = json_array(), *server;
	struct cproj *p;
	struct capp *a;

	TAILQ_FOREACH(p, &C.projlist, entry)
	{
		json_t *envs = json_array();
		struct cenv *e;

		TAILQ_FOREACH(e, &p->envs, entry)
		json_array_append_new(envs,
		                      json_pack("{s:s, s:s}", "name", e->name, "uuid", e->uuid));
		json_array_append_new(projects, json_pack("{s:s, s:s, s:s?, s:o}", "uuid", p->uuid,
		                                          "name", p->name, "description",
		                                          p->description, "environments", envs));
	}
	TAILQ_FOREACH(a, &C.applist, entry)
	{
		json_array_append_new(
		    apps,
		    json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s?, s:s?}",
		              "uuid", a->uuid, "name", a->name, "description", a->description,
		              "project_uuid", a->proj->uuid, "environment_name", a->env->name,
		              "git_repository", a->git_repository, "git_branch", a->git_branch,
		              "build_pack", a->build_pack, "ports_exposes", a->ports_exposes,
		              "status", a->del_ev != NULL ? "deleting" : a->status,
		              "private_key_uuid", a->key != NULL ? a->key->uuid : NULL, "fqdn",
		              a->fqdn));
	}
	server = simcoolify_server_json();
	json_object_set_new(server, "destinations", simcoolify_destinations_json());
	return json_pack("{s:o, s:o, s:[o]}", "projects", projects, "applications", apps, "servers",
	                 server);
}

static int simcoolify_ctl(json_t **out, int status, const char *key, const char *msg);

/* Environment drift, what a person does in the web UI: rename_environment {project,
 * environment, new_name} (its resources go with it) and delete_environment {project,
 * environment} (refused while it holds resources, as upstream). A project without the
 * production environment is what application creates then meet: 404 "Environment not
 * found." (Project::booted made it; nothing makes it again). */
int
simcoolify_drift_env(const char *action, json_t *args, json_t **out)
{
	const char *uuid = json_string_value(json_object_get(args, "project"));
	const char *name = json_string_value(json_object_get(args, "environment"));
	const char *nn = json_string_value(json_object_get(args, "new_name"));
	struct cproj *p;
	struct cenv *e;
	struct capp *a;

	if (strcmp(action, "rename_environment") != 0 && strcmp(action, "delete_environment") != 0)
		return 0;
	if (uuid == NULL || name == NULL)
		return simcoolify_ctl(out, 400, "error", "project and environment are required");
	if ((p = simtab_get(C.projects, uuid)) == NULL)
		return simcoolify_ctl(out, 404, "error", "no such project");
	if ((e = simcoolify_env_find(p, name, name)) == NULL)
		return simcoolify_ctl(out, 404, "error", "no such environment");
	if (strcmp(action, "rename_environment") == 0) {
		if (nn == NULL || *nn == '\0')
			return simcoolify_ctl(out, 400, "error", "new_name is required");
		if (simcoolify_env_find(p, nn, NULL) != NULL)
			return simcoolify_ctl(out, 409, "error",
			                      "Environment with this name already exists.");
		simcoolify_set(&e->name, nn);
		return simcoolify_ctl(out, 200, "ok", NULL);
	}
	TAILQ_FOREACH(a, &C.applist, entry)
	{
		if (a->env == e)
			return simcoolify_ctl(
			    out, 400, "error",
			    "Environment has resources, so it cannot be deleted.");
	}
	TAILQ_REMOVE(&p->envs, e, entry);
	free(e->uuid);
	free(e->name);
	free(e->description);
	free(e);
	return simcoolify_ctl(out, 200, "ok", NULL);
}

static int
simcoolify_ctl(json_t **out, int status, const char *key, const char *msg)
{
	*out = key[0] == 'o' ? json_pack("{s:b}", "ok", 1) : json_pack("{s:s}", "error", msg);
	return status;
}

/* Refuses drift arguments outside allowed (besides action and uuid): a misspelt field
 * would otherwise be an edit that silently changes nothing. */
static int
simcoolify_drift_only(json_t *args, const char *const *allowed, size_t n, json_t **out)
{
	const char *key;
	size_t edits = 0;
	json_t *v;

	json_object_foreach(args, key, v)
	{
		size_t i;

		if (strcmp(key, "action") == 0 || strcmp(key, "uuid") == 0)
			continue;
		for (i = 0; i < n && strcmp(key, allowed[i]) != 0; i++)
			;
		if (i == n) {
			*out = json_pack("{s:s, s:s}", "error", "field not editable here", "field",
			                 key);
			return 400;
		}
		edits++;
	}
	if (edits == 0) {
		*out = json_pack("{s:s}", "error", "nothing to edit");
		return 400;
	}
	return 0;
}

/* The collected validation errors as the drift answer (422), or 0 when there are none. */
static int
simcoolify_drift_invalid(struct cerrs *e, json_t **out)
{
	if (e->errors == NULL)
		return 0;
	*out = json_pack("{s:s, s:o}", "error", "Validation failed.", "errors", e->errors);
	e->errors = NULL;
	return 422;
}

/* A git URL as ValidGitRepositoryUrl takes it, short of the host checks: a known scheme
 * or the scp-like git@HOST:PATH form, and none of the characters it refuses. */
static int
simcoolify_git_url_ok(const char *u)
{
	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0 &&
	    strncmp(u, "git://", 6) != 0 && strncmp(u, "git@", 4) != 0)
		return 0;
	if (strpbrk(u, ";|&$`(){}[]<>\"'\\!?*^%=+#") != NULL || strstr(u, "../") != NULL)
		return 0;
	if (strncmp(u, "git@", 4) == 0) {
		/* ^git@[A-Za-z0-9.-]+:[A-Za-z0-9_/.~-]+$ */
		size_t host = strspn(u + 4, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                            "0123456789.-");
		const char *path = u + 4 + host + 1;

		return host > 0 && u[4 + host] == ':' && *path != '\0' &&
		       strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                    "0123456789_/.~-") == strlen(path);
	}
	return 1;
}

/* edit_project: the project's settings page (Livewire Project\Edit), with the rules of the
 * API: a name is required there, a description may be cleared. */
static int
simcoolify_drift_edit_project(struct cproj *p, json_t *args, json_t **out)
{
	static const char *const fields[] = {"name", "description"};
	struct cerrs e = {NULL};
	json_t *v;
	int rc;

	if ((rc = simcoolify_drift_only(args, fields, nitems(fields), out)) != 0)
		return rc;
	if (json_object_get(args, "name") != NULL)
		simcoolify_check_name(&e, args, "name", 1);
	simcoolify_check_desc(&e, args);
	if ((rc = simcoolify_drift_invalid(&e, out)) != 0)
		return rc;
	if ((v = json_object_get(args, "name")) != NULL)
		simcoolify_set(&p->name, json_string_value(v));
	if ((v = json_object_get(args, "description")) != NULL) {
		free(p->description);
		p->description = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
	}
	sim_now_iso(p->updated);
	return simcoolify_ctl(out, 200, "ok", NULL);
}

/* edit_app: the application's General and Git Source pages. Each field given must hold a
 * value there (the pages require them); the description may be cleared. */
static int
simcoolify_drift_edit_app(struct capp *a, json_t *args, json_t **out)
{
	static const char *const fields[] = {"name",       "description", "git_repository",
	                                     "git_branch", "build_pack",  "ports_exposes"};
	static const char *const required[] = {"git_repository", "git_branch", "build_pack",
	                                       "ports_exposes"};
	struct cerrs e = {NULL};
	const char *git = simcoolify_str(args, "git_repository");
	json_t *v;
	int rc;

	if ((rc = simcoolify_drift_only(args, fields, nitems(fields), out)) != 0)
		return rc;
	if (json_object_get(args, "name") != NULL)
		simcoolify_check_name(&e, args, "name", 1);
	simcoolify_check_desc(&e, args);
	for (size_t i = 0; i < nitems(required); i++) {
		char msg[64];

		v = json_object_get(args, required[i]);
		if (v != NULL &&
		    (json_is_null(v) || (json_is_string(v) && *json_string_value(v) == '\0'))) {
			snprintf(msg, sizeof(msg), "The %s field is required.", required[i]);
			cerr_add(&e, required[i], msg);
		}
	}
	simcoolify_app_checks(&e, args, 0);
	if (git != NULL && *git != '\0' && !simcoolify_git_url_ok(git))
		cerr_add(&e, "git_repository", "The git repository URL is invalid.");
	if ((rc = simcoolify_drift_invalid(&e, out)) != 0)
		return rc;
	if ((v = json_object_get(args, "name")) != NULL)
		simcoolify_set(&a->name, json_string_value(v));
	if ((v = json_object_get(args, "description")) != NULL) {
		free(a->description);
		a->description = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
	}
	if ((v = json_object_get(args, "git_repository")) != NULL)
		simcoolify_set(&a->git_repository, json_string_value(v));
	if ((v = json_object_get(args, "git_branch")) != NULL)
		simcoolify_set(&a->git_branch, json_string_value(v));
	if ((v = json_object_get(args, "build_pack")) != NULL)
		simcoolify_set(&a->build_pack, json_string_value(v));
	if ((v = json_object_get(args, "ports_exposes")) != NULL)
		simcoolify_set(&a->ports_exposes, json_string_value(v));
	sim_now_iso(a->updated);
	return simcoolify_ctl(out, 200, "ok", NULL);
}

int
simcoolify_seed(json_t *args, json_t **out)
{
	json_t *spec = json_object_get(args, "project"), *uuids;
	json_int_t start = json_integer_value(json_object_get(args, "start"));
	json_int_t count = json_integer_value(json_object_get(args, "count"));
	const char *name = json_string_value(json_object_get(spec, "name"));
	const char *desc = json_string_value(json_object_get(spec, "description"));

	if (!json_is_object(spec)) {
		*out = json_object();
		return 200; /* nothing of Coolify's to seed */
	}
	if (name == NULL)
		return simcoolify_ctl(out, 400, "error", "project.name is required");
	uuids = json_array();
	for (json_int_t i = start; i < start + count; i++) {
		char *n = sim_seed_expand(name, (long)i);
		char *d = sim_seed_expand(desc != NULL ? desc : "", (long)i);
		/* Made as POST /projects makes it: a new uuid, the production environment. */
		struct cproj *p = simcoolify_proj_new(n, desc != NULL ? d : NULL);

		json_array_append_new(uuids, json_string(p->uuid));
		free(n);
		free(d);
	}
	*out = json_pack("{s:o}", "projects", uuids);
	return 200;
}

int
simcoolify_drift(const char *action, json_t *args, json_t **out)
{
	const char *uuid = json_string_value(json_object_get(args, "uuid"));
	struct cproj *p;
	struct capp *a;

	if (strcmp(action, "delete_project") == 0 || strcmp(action, "edit_project") == 0) {
		if (uuid == NULL)
			return simcoolify_ctl(out, 400, "error", "uuid is required");
		if ((p = simtab_get(C.projects, uuid)) == NULL)
			return simcoolify_ctl(out, 404, "error", "no such project");
		if (strcmp(action, "edit_project") == 0)
			return simcoolify_drift_edit_project(p, args, out);
		simcoolify_proj_free(p); /* with its applications, at once */
		return simcoolify_ctl(out, 200, "ok", NULL);
	}
	if (strcmp(action, "delete_app") == 0 || strcmp(action, "edit_app") == 0) {
		if (uuid == NULL)
			return simcoolify_ctl(out, 400, "error", "uuid is required");
		if ((a = simtab_get(C.apps, uuid)) == NULL)
			return simcoolify_ctl(out, 404, "error", "no such application");
		if (strcmp(action, "edit_app") == 0)
			return simcoolify_drift_edit_app(a, args, out);
		simcoolify_app_free(a);
		return simcoolify_ctl(out, 200, "ok", NULL);
	}
	return 0;
}
