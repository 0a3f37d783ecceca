/*
 * workspace-emu jobs: serverless tasks (PROTOCOL.md section 14). A task
 * that names an environment_key runs in the environment of the run's
 * environments[] entry of that key: its dependencies are pip requirement
 * lines installed into an environment cached by content (so a second run
 * with the same dependencies starts as fast as a warm cluster). What the
 * service refuses is refused at submit; what only fails when the task
 * starts (a dependency or file on the DBFS root, which serverless compute
 * cannot read) fails the task then, with the service's result codes.
 */
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

/* Environment versions the service documents (serverless environment
 * versions 1 to 5); "client" is the deprecated name of the field. */
static int
version_ok(const char *v)
{
	return v && v[0] >= '1' && v[0] <= '5' && v[1] == '\0';
}

/* Whether a requirement line names a file on the DBFS root. */
static const char *
dbfs_root(const char *s)
{
	const char *p;

	for (p = s; *p; p++) {
		if (p != s && p[-1] != ' ' && p[-1] != '=' && p[-1] != '@')
			continue;
		if (strncmp(p, "/dbfs/", 6) == 0 && strncmp(p + 6, "Volumes/",
		    8) != 0)
			return p;
		if (strncmp(p, "dbfs:/", 6) == 0 && strncmp(p + 6, "Volumes/",
		    8) != 0)
			return p;
	}
	return NULL;
}

/* The environments[] entry of key; -1 when there is none. */
static int
find_environment(const struct dbm_json *j, const char *key)
{
	int envs = dbm_json_member(j, 0, "environments"), i, n;

	n = dbm_json_type(j, envs) == DBM_JSON_ARRAY ? dbm_json_count(j, envs) :
	    0;
	for (i = 0; i < n; i++) {
		int o = dbm_json_elem(j, envs, i);
		char *k = dbm_json_strdup(j, dbm_json_member(j, o,
		    "environment_key"));
		int hit = k && strcmp(k, key) == 0;

		free(k);
		if (hit)
			return o;
	}
	return -1;
}

int
jobs_environments_check(const struct dbm_json *j, char **why)
{
	int envs = dbm_json_member(j, 0, "environments"), i, k, n;
	struct dbm_buf b = DBM_BUF_INIT;

	if (envs < 0)
		return 0;
	if (dbm_json_type(j, envs) != DBM_JSON_ARRAY) {
		*why = dbm_xstrdup("environments must be an array");
		return -1;
	}
	n = dbm_json_count(j, envs);
	for (i = 0; i < n && b.len == 0; i++) {
		int o = dbm_json_elem(j, envs, i), spec, deps;
		char *key = dbm_json_strdup(j, dbm_json_member(j, o,
		    "environment_key"));
		char *ver = NULL, *client = NULL;

		spec = dbm_json_member(j, o, "spec");
		if (key == NULL || *key == '\0') {
			dbm_buf_adds(&b, "Missing required field: "
			    "environments.environment_key");
			goto next;
		}
		for (k = 0; k < i; k++) {
			char *other = dbm_json_strdup(j, dbm_json_member(j,
			    dbm_json_elem(j, envs, k), "environment_key"));
			int dup = other && strcmp(other, key) == 0;

			free(other);
			if (dup) {
				dbm_buf_printf(&b, "Duplicate environment_key: "
				    "%s", key);
				goto next;
			}
		}
		if (dbm_json_type(j, spec) != DBM_JSON_OBJECT) {
			dbm_buf_printf(&b, "Missing required field: spec (environment "
			    "%s)", key);
			goto next;
		}
		if (dbm_json_member(j, spec, "base_environment") >= 0 ||
		    dbm_json_member(j, spec, "project_environment") >= 0) {
			dbm_buf_printf(&b, "environment %s: base_environment and "
			    "project_environment are not supported by workspace-emu "
			    "(give environment_version and dependencies)", key);
			goto next;
		}
		ver = dbm_json_strdup(j, dbm_json_member(j, spec,
		    "environment_version"));
		client = dbm_json_strdup(j, dbm_json_member(j, spec, "client"));
		if (ver == NULL && client == NULL)
			dbm_buf_printf(&b, "Either environment_version or "
			    "base_environment must be provided (environment %s)",
			    key);
		else if (ver && client)
			dbm_buf_printf(&b, "environment %s: client and "
			    "environment_version cannot both be set", key);
		else if (!version_ok(ver ? ver : client))
			dbm_buf_printf(&b, "Invalid environment version '%s' "
			    "(environment %s): serverless environment versions are "
			    "1 to 5", ver ? ver : client, key);
		deps = dbm_json_member(j, spec, "dependencies");
		if (b.len == 0 && deps >= 0 && dbm_json_type(j, deps) !=
		    DBM_JSON_ARRAY)
			dbm_buf_printf(&b, "environment %s: dependencies must be "
			    "an array of strings", key);
		for (k = 0; b.len == 0 && k < dbm_json_count(j, deps); k++)
			if (dbm_json_type(j, dbm_json_elem(j, deps, k)) !=
			    DBM_JSON_STRING)
				dbm_buf_printf(&b, "environment %s: dependencies "
				    "must be an array of strings", key);
		free(ver);
		free(client);
next:
		free(key);
	}
	if (b.len == 0)
		return 0;
	*why = dbm_buf_detach(&b);
	return -1;
}

int
jobs_serverless_task(const struct dbm_json *j, int obj, struct task *t,
    char **why)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	char *key = dbm_json_strdup(j, dbm_json_member(j, obj,
	    "environment_key"));
	int env, deps, spec, i, n;
	size_t len;
	const char *raw;

	if (key == NULL)
		return 0;
	if (dbm_json_count(j, dbm_json_member(j, obj, "libraries")) > 0) {
		free(key);
		*why = dbm_xstrdup("Libraries field is not supported for "
		    "serverless task, please specify libraries in environment.");
		return -1;
	}
	if (strcmp(t->kind, "shell_command_task") == 0) {
		free(key);
		*why = dbm_xstrdup("shell_command_task cannot run on serverless "
		    "compute: use spark_python_task or python_wheel_task");
		return -1;
	}
	if ((env = find_environment(j, key)) < 0) {
		dbm_buf_printf(&b, "Environment key %s is not defined in the "
		    "job's environments", key);
		free(key);
		*why = dbm_buf_detach(&b);
		return -1;
	}
	spec = dbm_json_member(j, env, "spec");
	raw = dbm_json_raw(j, spec, &len);
	t->env_key = key;
	t->env_spec = dbm_xstrndup(raw, len);
	/* the libraries: one requirements file line each */
	free(t->libraries);
	dbm_jw_init(&w, &b);
	dbm_jw_arr(&w);
	deps = dbm_json_member(j, spec, "dependencies");
	n = dbm_json_count(j, deps);
	for (i = 0; i < n; i++) {
		char *d = dbm_json_strdup(j, dbm_json_elem(j, deps, i));
		const char *p = d ? dbfs_root(d) : NULL;

		if (p && t->setup_error == NULL) {
			struct dbm_buf m = DBM_BUF_INIT;

			dbm_buf_printf(&m, "Library installation failed for "
			    "library due to user error. Error messages: %s: the "
			    "DBFS root is not accessible from serverless compute; "
			    "use a Unity Catalog volume (/Volumes/...) or "
			    "workspace files (/Workspace/...)", d);
			t->setup_error = dbm_buf_detach(&m);
		}
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "requirement_line");
		dbm_jw_str(&w, d ? d : "");
		dbm_jw_obj_end(&w);
		free(d);
	}
	dbm_jw_arr_end(&w);
	t->libraries = dbm_buf_detach(&b);
	return 0;
}

/* A task's file on the DBFS root where the task cannot read it (serverless,
 * or a workspace without the DBFS root): the message, or NULL. */
char *
jobs_serverless_file_error(struct emu *e, const struct task *t)
{
	struct dbm_json j;
	struct dbm_err je;
	struct dbm_buf b = DBM_BUF_INIT;
	char *f;

	if ((t->env_key == NULL && e->legacy_dbfs) ||
	    strcmp(t->kind, "spark_python_task") != 0 ||
	    dbm_json_parse(&j, t->task_json, strlen(t->task_json), "task",
	    &je) < 0)
		return NULL;
	f = dbm_json_get_str(&j, "python_file");
	dbm_json_free(&j);
	if (f && dbfs_root(f) == f && t->env_key == NULL)
		dbm_buf_printf(&b, "python_file %s: Public DBFS root is "
		    "disabled. Access is denied on path: %s", f, f + 5);
	else if (f && dbfs_root(f) == f)
		dbm_buf_printf(&b, "python_file %s: the DBFS root is not "
		    "accessible from serverless compute; use workspace files "
		    "(/Workspace/...) or a Unity Catalog volume (/Volumes/...)",
		    f);
	free(f);
	return b.len ? dbm_buf_detach(&b) : NULL;
}
