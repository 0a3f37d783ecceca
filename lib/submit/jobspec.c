/*
 * runs/submit bodies for MLflow projects: see jobspec.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jobspec.h"
#include "launch.h"

/* A backend config is JSON text when it starts with '{' (as mlflow run's
 * -c takes a file or a JSON string), else a file. */
static int
config_text(const char *arg, struct dbm_buf *in, const char **name,
    struct dbm_err *e)
{
	const char *p = arg + strspn(arg, " \t\r\n");

	if (*p == '{') {
		dbm_buf_adds(in, arg);
		*name = "--backend-config";
		return 0;
	}
	*name = arg;
	if (dbm_buf_read_file(in, arg, DBM_CONFIG_MAX) == 0)
		return 0;
	if (errno == EFBIG)
		return dbm_errf(e, DBM_E_INPUT, "%s: larger than %zu bytes: not "
		    "a cluster config", arg, DBM_CONFIG_MAX);
	if (errno == ENOENT)
		return dbm_errf(e, DBM_E_USAGE, "--backend-config %s: no such "
		    "file, and not JSON text (give a cluster.json file or a JSON "
		    "object)", arg);
	return dbm_err_sys(e, "%s", arg);
}

/* The offset of the first byte of s that is not UTF-8, or -1. */
static long
bad_utf8(const unsigned char *s, size_t n)
{
	size_t i, l;

	for (i = 0; i < n; i += l)
		if ((l = dbm_utf8_len(s + i, n - i)) == 0)
			return (long)i;
	return -1;
}

/* The types the Clusters API takes for the fields it needs: what it
 * would refuse with INVALID_PARAMETER_VALUE, said before sending. */
static int
cluster_types(const char *file, const struct dbm_json *j, struct dbm_err *e)
{
	static const char *const strings[] = {"spark_version", "node_type_id",
	    "driver_node_type_id", "instance_pool_id", "policy_id"};
	static const char *const counts[] = {"num_workers",
	    "autoscale.min_workers", "autoscale.max_workers"};
	long long n[3] = {-1, -1, -1};
	size_t i, len;
	const char *raw;
	int t;

	for (i = 0; i < sizeof(strings) / sizeof(*strings); i++)
		if ((t = dbm_json_member(j, 0, strings[i])) >= 0 &&
		    dbm_json_type(j, t) != DBM_JSON_STRING)
			return dbm_err_input(e, file, 0, 0, "new_cluster.%s must "
			    "be a string", strings[i]);
	for (i = 0; i < sizeof(counts) / sizeof(*counts); i++) {
		if ((t = dbm_json_path(j, 0, counts[i])) < 0)
			continue;
		raw = dbm_json_raw(j, t, &len);
		if (dbm_json_type(j, t) != DBM_JSON_NUMBER ||
		    strspn(raw, "0123456789") != len || len > 6 ||
		    dbm_json_int(j, t, &n[i]) < 0)
			return dbm_err_input(e, file, 0, 0, "new_cluster.%s: "
			    "'%.*s' is not a number of workers (a whole number, 0 "
			    "or more)", counts[i], len > 40 ? 40 : (int)len, raw);
	}
	if (n[1] >= 0 && n[2] >= 0 && n[1] > n[2])
		return dbm_err_input(e, file, 0, 0, "new_cluster.autoscale: "
		    "min_workers %lld is more than max_workers %lld", n[1], n[2]);
	return 0;
}

/* What the workspace requires of a new cluster (PROTOCOL.md section 4),
 * checked here so a misspelt key fails before anything is sent. */
static int
cluster_ok(const char *file, const char *cluster, struct dbm_err *e)
{
	static const char *const need[][3] = {
		{"spark_version", NULL, NULL},
		{"node_type_id", "instance_pool_id", "policy_id"},
		{"num_workers", "autoscale", NULL},
	};
	struct dbm_json j;
	size_t i, k;
	long bad;
	int rc = 0;

	if ((bad = bad_utf8((const unsigned char *)cluster, strlen(cluster))) >= 0)
		return dbm_err_input(e, file, 0, 0, "the cluster spec is not "
		    "UTF-8 (byte %ld of it): the workspace refuses it", bad + 1);
	if (dbm_json_parse(&j, cluster, strlen(cluster), file, e) < 0)
		return -1;
	rc = cluster_types(file, &j, e);
	for (i = 0; i < sizeof(need) / sizeof(*need) && rc == 0; i++) {
		int found = 0;

		for (k = 0; k < 3 && need[i][k]; k++)
			found |= dbm_json_member(&j, 0, need[i][k]) >= 0;
		if (!found)
			rc = dbm_err_input(e, file, 1, 1, "the cluster has no %s%s%s: "
			    "the workspace refuses a new_cluster without it", need[i][0],
			    need[i][1] ? " (or " : "", need[i][1] ? (i == 1 ?
			    "instance_pool_id, policy_id)" : "autoscale)") : "");
	}
	dbm_json_free(&j);
	return rc;
}

/* The fields of an environment spec (compute.Environment). */
static const char *const ENV_FIELDS[] = {
	"environment_version", "client", "base_environment", "dependencies",
	"java_dependencies", "project_environment", NULL,
};

/* A serverless config: 1 when j is one (b filled), 0 when it is not, -1
 * on a bad one. */
static int
environment(const char *file, const struct dbm_json *j, struct dbm_backend *b,
    struct dbm_err *e)
{
	int envs = dbm_json_member(j, 0, "environments"), spec = 0, i, d;
	size_t l;
	const char *raw;

	for (i = 0; envs < 0 && ENV_FIELDS[i]; i++)
		if (dbm_json_member(j, 0, ENV_FIELDS[i]) >= 0)
			break;
	if (envs < 0 && ENV_FIELDS[i] == NULL)
		return 0;
	if (dbm_json_member(j, 0, "new_cluster") >= 0 ||
	    dbm_json_member(j, 0, "spark_version") >= 0 ||
	    dbm_json_member(j, 0, "existing_cluster_id") >= 0)
		return dbm_err_input(e, file, 1, 1, "a config is either a "
		    "cluster or an environment spec (serverless), not both");
	if (envs >= 0) {
		if (dbm_json_type(j, envs) != DBM_JSON_ARRAY ||
		    dbm_json_count(j, envs) != 1)
			return dbm_err_input(e, file, 1, 1, "environments: a "
			    "project runs in one environment: give a list of one "
			    "{\"environment_key\": ..., \"spec\": {...}}");
		b->env_key = dbm_json_strdup(j, dbm_json_member(j,
		    dbm_json_elem(j, envs, 0), "environment_key"));
		spec = dbm_json_member(j, dbm_json_elem(j, envs, 0), "spec");
		if (dbm_json_type(j, spec) != DBM_JSON_OBJECT)
			return dbm_err_input(e, file, 1, 1, "environments[0] has "
			    "no spec object");
	}
	d = dbm_json_member(j, spec, "dependencies");
	if (d >= 0 && dbm_json_type(j, d) != DBM_JSON_ARRAY)
		return dbm_err_input(e, file, 1, 1, "dependencies must be a list "
		    "of pip requirement lines");
	for (i = 0; i < dbm_json_count(j, d); i++)
		if (dbm_json_type(j, dbm_json_elem(j, d, i)) != DBM_JSON_STRING)
			return dbm_err_input(e, file, 1, 1, "dependencies must be "
			    "a list of pip requirement lines (strings)");
	raw = dbm_json_raw(j, spec, &l);
	b->env_spec = dbm_xstrndup(raw, l);
	b->serverless = 1;
	return 1;
}

/* The line and column of token t's value (a string's opening quote). */
static void
where(const struct dbm_json *j, int t, struct dbm_backend *b)
{
	size_t n;
	const char *raw;

	if (t < 0)
		return;
	raw = dbm_json_raw(j, t, &n);
	dbm_linecol(j->js, (size_t)(raw - j->js) -
	    (dbm_json_type(j, t) == DBM_JSON_STRING), &b->sv_line, &b->sv_col);
}

int
dbm_backend_load(const char *arg, struct dbm_backend *b, struct dbm_err *e)
{
	char **cluster = &b->cluster, **existing = &b->existing,
	    **libs = &b->libs, **spark_version = &b->spark_version;
	struct dbm_buf in = DBM_BUF_INIT, c = DBM_BUF_INIT;
	struct dbm_json j;
	const char *file;
	int nc, lt, k, i, rc = -1;

	memset(b, 0, sizeof(*b));
	if (config_text(arg, &in, &file, e) < 0) {
		dbm_buf_free(&in);
		return -1;
	}
	if (dbm_json_parse(&j, dbm_buf_str(&in), in.len, file, e) < 0)
		goto out;
	if (dbm_json_type(&j, 0) != DBM_JSON_OBJECT) {
		dbm_err_input(e, file, 1, 1, "a backend config is a JSON object");
		goto out;
	}
	if (environment(file, &j, b, e) != 0) {
		rc = b->serverless ? 0 : -1;
		dbm_json_free(&j);
		goto out;
	}
	nc = dbm_json_member(&j, 0, "new_cluster");
	*existing = dbm_json_strdup(&j, dbm_json_member(&j, 0,
	    "existing_cluster_id"));
	if (nc >= 0 || *existing) {		/* wrapped */
		if (nc >= 0) {
			size_t l;
			const char *raw = dbm_json_raw(&j, nc, &l);

			*cluster = dbm_xstrndup(raw, l);
			*spark_version = dbm_json_strdup(&j, dbm_json_member(&j,
			    nc, "spark_version"));
			where(&j, dbm_json_member(&j, nc, "spark_version"), b);
		}
		lt = dbm_json_member(&j, 0, "libraries");
	} else {				/* flat: the cluster itself */
		struct dbm_jw w;

		dbm_jw_init(&w, &c);
		dbm_jw_obj(&w);
		k = dbm_json_count(&j, 0);
		for (i = 0, nc = 1; i < k; i++) {
			char *key = dbm_json_strdup(&j, nc);
			size_t l;
			const char *raw = dbm_json_raw(&j, nc + 1, &l);
			int str = dbm_json_type(&j, nc + 1) == DBM_JSON_STRING;

			if (strcmp(key, "libraries") != 0) {
				dbm_jw_key(&w, key);
				dbm_jw_raw(&w, raw - str, l + 2 * (size_t)str);
			}
			free(key);
			nc = dbm_json_skip(&j, nc + 1);
		}
		dbm_jw_obj_end(&w);
		*cluster = dbm_buf_detach(&c);
		*spark_version = dbm_json_get_str(&j, "spark_version");
		where(&j, dbm_json_member(&j, 0, "spark_version"), b);
		lt = dbm_json_member(&j, 0, "libraries");
	}
	if (lt >= 0 && dbm_json_type(&j, lt) != DBM_JSON_ARRAY) {
		dbm_err_input(e, file, 1, 1, "libraries must be a list");
		dbm_json_free(&j);
		goto out;
	}
	if (lt >= 0) {
		size_t l;
		const char *raw = dbm_json_raw(&j, lt, &l);

		*libs = dbm_xstrndup(raw, l);
	}
	dbm_json_free(&j);
	rc = *cluster ? cluster_ok(file, *cluster, e) : 0;
out:
	dbm_buf_free(&in);
	dbm_buf_free(&c);
	return rc;
}

static void
pypi(struct dbm_jw *w, const char *package)
{
	dbm_jw_obj(w);
	dbm_jw_key(w, "pypi");
	dbm_jw_obj(w);
	dbm_jw_key(w, "package");
	dbm_jw_str(w, package);
	dbm_jw_obj_end(w);
	dbm_jw_obj_end(w);
}

/* Whether libs names dbfs:/x as /dbfs/x. */
static int
fuse_in(const char *libs, const char *uri)
{
	struct dbm_buf f = DBM_BUF_INIT;
	int in;

	dbm_buf_printf(&f, "/dbfs/%s", uri + 6);
	in = strstr(libs, f.data) != NULL;
	dbm_buf_free(&f);
	return in;
}

/* "libraries": the config's (libs, a JSON array's text), then the
 * project's wheels and pypi packages (python mode) and the mlflow
 * requirement. */
static void
write_libraries(struct dbm_jw *w, const char *libs,
    const struct dbm_jobspec *js, int python)
{
	size_t s = 1, e;
	int i;

	dbm_jw_key(w, "libraries");
	dbm_jw_arr(w);
	if (libs) {
		/* the list's elements, verbatim ("[ ]" has none) */
		e = strlen(libs) - 1;
		while (s < e && strchr(" \t\r\n", libs[s]))
			s++;
		while (e > s && strchr(" \t\r\n", libs[e - 1]))
			e--;
		if (e > s)
			dbm_jw_raw(w, libs + s, e - s);
	}
	for (i = 0; python && i < js->nwhl; i++) {
		/* the config has it already, as a URI or a FUSE path */
		if (libs && (strstr(libs, js->whl[i]) ||
		    (strncmp(js->whl[i], "dbfs:/", 6) == 0 &&
		    fuse_in(libs, js->whl[i]))))
			continue;
		dbm_jw_obj(w);
		dbm_jw_key(w, "whl");
		dbm_jw_str(w, js->whl[i]);
		dbm_jw_obj_end(w);
	}
	for (i = 0; python && i < js->npypi; i++)
		pypi(w, js->pypi[i]);
	if (js->mlflow_req && *js->mlflow_req)
		pypi(w, js->mlflow_req);
	dbm_jw_arr_end(w);
}

static void
cluster_script(struct dbm_buf *s, const char *tar, const char *sha,
    const char *ep, const char *env_manager, const char *run_id,
    const struct dbm_kv *given, int ngiven)
{
	struct dbm_buf proj = DBM_BUF_INIT, cfg = DBM_BUF_INIT,
	    kv = DBM_BUF_INIT;
	int i;

	dbm_buf_printf(&proj, "/databricks/mlflow/projects/%s", sha);
	dbm_buf_printf(&cfg, "{\"_mlflow_local_backend_run_id\": \"%s\"}",
	    run_id);
	dbm_buf_adds(s, "export PATH=$PATH:$DB_HOME/python/bin && "
	    "mlflow --version && mkdir -p /databricks/mlflow/project-tars "
	    "/databricks/mlflow/projects && rsync -a -v --ignore-existing ");
	dbm_shquote(s, tar);
	dbm_buf_adds(s, " /databricks/mlflow/project-tars && cd $(mktemp -d) "
	    "&& tar --no-same-owner -xzvf ");
	dbm_buf_printf(s, "/databricks/mlflow/project-tars/%s.tar.gz", sha);
	dbm_buf_adds(s, " && mv -T mlflow-project ");
	dbm_shquote(s, proj.data);
	dbm_buf_adds(s, " && mlflow run ");
	dbm_shquote(s, proj.data);
	dbm_buf_adds(s, " --entry-point ");
	dbm_shquote(s, ep);
	if (env_manager) {
		dbm_buf_adds(s, " --env-manager ");
		dbm_shquote(s, env_manager);
	}
	dbm_buf_adds(s, " -c ");
	dbm_shquote(s, cfg.data);
	for (i = 0; i < ngiven; i++) {
		dbm_buf_reset(&kv);
		dbm_buf_printf(&kv, "%s=%s", given[i].k, given[i].v);
		dbm_buf_adds(s, " -P ");
		dbm_shquote(s, kv.data);
	}
	dbm_buf_free(&proj);
	dbm_buf_free(&cfg);
	dbm_buf_free(&kv);
}

void
dbm_backend_free(struct dbm_backend *b)
{
	free(b->cluster);
	free(b->existing);
	free(b->libs);
	free(b->spark_version);
	free(b->env_key);
	free(b->env_spec);
	memset(b, 0, sizeof(*b));
}

static void
compute(struct dbm_jw *w, const struct dbm_backend *b)
{
	if (b->cluster) {
		dbm_jw_key(w, "new_cluster");
		dbm_jw_raw(w, b->cluster, strlen(b->cluster));
	} else {
		dbm_jw_key(w, "existing_cluster_id");
		dbm_jw_str(w, b->existing);
	}
}

static void
begin(struct dbm_jw *w, struct dbm_buf *body, const struct dbm_jobspec *js)
{
	dbm_jw_init(w, body);
	dbm_jw_obj(w);
	dbm_jw_key(w, "run_name");
	dbm_jw_str(w, js->run_name);
	dbm_jw_key(w, "idempotency_token");
	dbm_jw_str(w, js->token);
}

void
dbm_jobspec_shell(struct dbm_buf *body, const struct dbm_jobspec *js)
{
	struct dbm_buf script = DBM_BUF_INIT;
	struct dbm_jw w;

	begin(&w, body, js);
	compute(&w, js->backend);
	write_libraries(&w, js->backend->libs, js, 0);
	cluster_script(&script, js->tarball, js->sha, js->entry,
	    js->env_manager, js->mlflow_run_id, js->params, js->nparams);
	dbm_jw_key(&w, "shell_command_task");
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "command");
	dbm_jw_arr(&w);
	dbm_jw_str(&w, "bash");
	dbm_jw_str(&w, "-c");
	dbm_jw_str(&w, script.data);
	dbm_jw_arr_end(&w);
	dbm_jw_key(&w, "env_vars");
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "MLFLOW_TRACKING_URI");
	dbm_jw_str(&w, "databricks");
	dbm_jw_key(&w, "MLFLOW_EXPERIMENT_ID");
	dbm_jw_str(&w, js->experiment_id);
	dbm_jw_obj_end(&w);
	dbm_jw_obj_end(&w);
	dbm_jw_obj_end(&w);
	dbm_buf_free(&script);
}

/* The project's dependencies as requirement lines: the spec's own, then
 * the project's wheels (by path: serverless reads volumes and workspace
 * files as local files), its pypi packages and the mlflow requirement. */
static void
write_dependencies(struct dbm_jw *w, const struct dbm_json *spec, int deps,
    const struct dbm_jobspec *js)
{
	int i;

	dbm_jw_key(w, "dependencies");
	dbm_jw_arr(w);
	for (i = 0; i < dbm_json_count(spec, deps); i++) {
		size_t l;
		const char *raw = dbm_json_raw(spec, dbm_json_elem(spec, deps,
		    i), &l);

		dbm_jw_raw(w, raw - 1, l + 2);
	}
	for (i = 0; i < js->nwhl; i++) {
		const char *p = js->whl[i];

		if (strncmp(p, "dbfs:/Volumes/", 14) == 0)
			p += 5;
		dbm_jw_str(w, p);
	}
	for (i = 0; i < js->npypi; i++)
		dbm_jw_str(w, js->pypi[i]);
	if (js->mlflow_req && *js->mlflow_req)
		dbm_jw_str(w, js->mlflow_req);
	dbm_jw_arr_end(w);
}

/* "environments": the config's spec (its fields kept), with the
 * project's dependencies and a default environment_version. */
static void
write_environment(struct dbm_jw *w, const char *key,
    const struct dbm_jobspec *js)
{
	const struct dbm_backend *b = js->backend;
	struct dbm_json spec;
	struct dbm_err e;
	int n, i, m, deps = -1, versioned = 0;

	dbm_jw_key(w, "environments");
	dbm_jw_arr(w);
	dbm_jw_obj(w);
	dbm_jw_key(w, "environment_key");
	dbm_jw_str(w, key);
	dbm_jw_key(w, "spec");
	dbm_jw_obj(w);
	if (dbm_json_parse(&spec, b->env_spec ? b->env_spec : "{}",
	    b->env_spec ? strlen(b->env_spec) : 2, "spec", &e) < 0)
		dbm_json_parse(&spec, "{}", 2, "spec", &e);
	n = dbm_json_count(&spec, 0);
	for (i = 0, m = 1; i < n; i++, m = dbm_json_skip(&spec, m + 1)) {
		char *k = dbm_json_strdup(&spec, m);
		size_t l;
		const char *raw = dbm_json_raw(&spec, m + 1, &l);
		int str = dbm_json_type(&spec, m + 1) == DBM_JSON_STRING;

		if (strcmp(k, "dependencies") == 0) {
			deps = m + 1;
		} else {
			versioned |= strcmp(k, "environment_version") == 0 ||
			    strcmp(k, "client") == 0 ||
			    strcmp(k, "base_environment") == 0 ||
			    strcmp(k, "project_environment") == 0;
			dbm_jw_key(w, k);
			dbm_jw_raw(w, raw - str, l + 2 * (size_t)str);
		}
		free(k);
	}
	if (!versioned) {
		dbm_jw_key(w, "environment_version");
		dbm_jw_str(w, js->env_version);
	}
	write_dependencies(w, &spec, deps, js);
	dbm_json_free(&spec);
	dbm_jw_obj_end(w);
	dbm_jw_obj_end(w);
	dbm_jw_arr_end(w);
}

void
dbm_jobspec_python(struct dbm_buf *body, const struct dbm_jobspec *js)
{
	const struct dbm_backend *b = js->backend;
	const char *key = b->env_key ? b->env_key : "mlflow_project";
	struct dbm_buf s = DBM_BUF_INIT;
	struct dbm_jw w;
	int i;

	begin(&w, body, js);
	dbm_jw_key(&w, "tasks");
	dbm_jw_arr(&w);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "task_key");
	dbm_jw_str(&w, "mlflow_project");
	if (b->serverless) {
		dbm_jw_key(&w, "environment_key");
		dbm_jw_str(&w, key);
	} else {
		compute(&w, b);
		write_libraries(&w, b->libs, js, 1);
	}
	dbm_jw_key(&w, "spark_python_task");
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "python_file");
	dbm_jw_str(&w, js->job_file);
	/* TARBALL EXPERIMENT RUN entry NAME K=V... | file PATH ARG... */
	dbm_jw_key(&w, "parameters");
	dbm_jw_arr(&w);
	dbm_jw_str(&w, js->tarball);
	dbm_jw_str(&w, js->experiment_id);
	dbm_jw_str(&w, js->mlflow_run_id);
	if (js->file) {
		dbm_jw_str(&w, "file");
		dbm_jw_str(&w, js->file);
		for (i = 0; i < js->nfile_args; i++)
			dbm_jw_str(&w, js->file_args[i]);
	} else {
		dbm_jw_str(&w, "entry");
		dbm_jw_str(&w, js->entry);
		for (i = 0; i < js->nparams; i++) {
			dbm_buf_reset(&s);
			dbm_buf_printf(&s, "%s=%s", js->params[i].k,
			    js->params[i].v);
			dbm_jw_str(&w, s.data);
		}
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	dbm_jw_obj_end(&w);
	dbm_jw_arr_end(&w);
	if (b->serverless)
		write_environment(&w, key, js);
	dbm_jw_obj_end(&w);
	dbm_buf_free(&s);
}

const char *
dbm_jobspec_launcher(void)
{
	return dbm_launcher;
}
