/*
 * runs/submit bodies for MLflow projects: see jobspec.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jobspec.h"

/* Runs on DBR 13+ job clusters as a spark_python_task: unpacks the project
 * and runs its entry point with mlflow run, attached to the MLflow run. */
static const char launcher[] =
    "\"\"\"dbmlops launcher: run an MLflow project entry point on a job "
    "cluster.\"\"\"\n"
    "import json, os, subprocess, sys, tarfile, tempfile\n"
    "tar, ep, run_id, exp_id, env_manager = sys.argv[1:6]\n"
    "params = sys.argv[6:]\n"
    "work = tempfile.mkdtemp()\n"
    "with tarfile.open(tar) as t:\n"
    "    t.extractall(work)\n"
    "os.environ['MLFLOW_TRACKING_URI'] = 'databricks'\n"
    "os.environ['MLFLOW_EXPERIMENT_ID'] = exp_id\n"
    "cmd = ['mlflow', 'run', os.path.join(work, 'mlflow-project'),\n"
    "       '--entry-point', ep, '-c',\n"
    "       json.dumps({'_mlflow_local_backend_run_id': run_id})]\n"
    "if env_manager != '-':\n"
    "    cmd += ['--env-manager', env_manager]\n"
    "for p in params:\n"
    "    cmd += ['-P', p]\n"
    "sys.exit(subprocess.call(cmd))\n";

int
dbm_backend_load(const char *file, struct dbm_backend *b, struct dbm_err *e)
{
	char **cluster = &b->cluster, **existing = &b->existing,
	    **libs = &b->libs, **spark_version = &b->spark_version;
	struct dbm_buf in = DBM_BUF_INIT, c = DBM_BUF_INIT;
	struct dbm_json j;
	int nc, lt, k, i, rc = -1;

	*cluster = *existing = *libs = *spark_version = NULL;
	if (dbm_buf_read_file(&in, file, 0) < 0) {
		dbm_buf_free(&in);
		return dbm_err_sys(e, "%s", file);
	}
	if (dbm_json_parse(&j, dbm_buf_str(&in), in.len, file, e) < 0)
		goto out;
	if (dbm_json_type(&j, 0) != DBM_JSON_OBJECT) {
		dbm_err_input(e, file, 1, 1, "a backend config is a JSON object");
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
	rc = 0;
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

/* "libraries": the config's (libs, a JSON array's text), then more pypi
 * packages (databricks_spark_job's) and the mlflow requirement. */
static void
write_libraries(struct dbm_jw *w, const char *libs, const char *mlflow_req,
    char *const *more, int nmore)
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
	for (i = 0; i < nmore; i++)
		pypi(w, more[i]);
	if (mlflow_req && *mlflow_req)
		pypi(w, mlflow_req);
	dbm_jw_arr_end(w);
}

/* The shell script MLflow's backend runs on the cluster (section 8). */
static void
cluster_script(struct dbm_buf *s, const char *eid, const char *sha,
    const char *ep, const char *env_manager, const char *run_id,
    const struct dbm_kv *given, int ngiven)
{
	struct dbm_buf tar = DBM_BUF_INIT, proj = DBM_BUF_INIT,
	    cfg = DBM_BUF_INIT, kv = DBM_BUF_INIT;
	int i;

	dbm_buf_printf(&tar, "/dbfs/mlflow-experiments/%s/projects-code/"
	    "%s.tar.gz", eid, sha);
	dbm_buf_printf(&proj, "/databricks/mlflow/projects/%s", sha);
	dbm_buf_printf(&cfg, "{\"_mlflow_local_backend_run_id\": \"%s\"}",
	    run_id);
	dbm_buf_adds(s, "export PATH=$PATH:$DB_HOME/python/bin && "
	    "mlflow --version && mkdir -p /databricks/mlflow/project-tars "
	    "/databricks/mlflow/projects && rsync -a -v --ignore-existing ");
	dbm_shquote(s, tar.data);
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
	dbm_buf_free(&tar);
	dbm_buf_free(&proj);
	dbm_buf_free(&cfg);
	dbm_buf_free(&kv);
}

/* The job file of the in-process mode: unpack the project under DB_HOME
 * and run one of its Python files in the driver process, attached to the
 * MLflow run (as MLflow does for databricks_spark_job). Arguments: the
 * tarball (FUSE path), experiment id, MLflow run id, then the file's own. */
static void
inproc_job(struct dbm_buf *b, const char *sha, const char *file,
    const char *code)
{
	dbm_buf_adds(b, "# generated by mlflow-submit: run ");
	dbm_buf_adds(b, file);
	dbm_buf_adds(b, " of an MLflow project in this process\n"
	    "import os, sys, tarfile\n"
	    "_tar, _exp, _run = sys.argv[1:4]\n"
	    "os.environ.update({'MLFLOW_TRACKING_URI': 'databricks',\n"
	    "                   'MLFLOW_EXPERIMENT_ID': _exp, "
	    "'MLFLOW_RUN_ID': _run})\n"
	    "_dir = os.path.join(os.environ.get('DB_HOME', '/databricks'), "
	    "'mlflow', 'projects', ");
	dbm_json_quote(b, sha, strlen(sha));
	dbm_buf_adds(b, ")\n"
	    "if not os.path.isdir(_dir):\n"
	    "    _tmp = '%s.%d' % (_dir, os.getpid())\n"
	    "    with tarfile.open(_tar) as _t:\n"
	    "        _t.extractall(_tmp)\n"
	    "    os.makedirs(os.path.dirname(_dir), exist_ok=True)\n"
	    "    os.replace(os.path.join(_tmp, 'mlflow-project'), _dir)\n"
	    "os.chdir(_dir)\n"
	    "sys.path.insert(0, _dir)\n"
	    "sys.argv = [");
	dbm_json_quote(b, file, strlen(file));
	dbm_buf_adds(b, "] + sys.argv[4:]\n"
	    "del _tar, _exp, _run, _dir\n"
	    "# ---- the project's file ----\n");
	dbm_buf_adds(b, code);
	dbm_buf_addc(b, '\n');
}

void
dbm_backend_free(struct dbm_backend *b)
{
	free(b->cluster);
	free(b->existing);
	free(b->libs);
	free(b->spark_version);
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
	write_libraries(&w, js->backend->libs, js->mlflow_req, NULL, 0);
	cluster_script(&script, js->experiment_id, js->sha, js->entry,
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

void
dbm_jobspec_python(struct dbm_buf *body, const struct dbm_jobspec *js)
{
	struct dbm_buf s = DBM_BUF_INIT;
	struct dbm_jw w;
	int i;

	begin(&w, body, js);
	dbm_jw_key(&w, "tasks");
	dbm_jw_arr(&w);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "task_key");
	dbm_jw_str(&w, "mlflow_project");
	compute(&w, js->backend);
	write_libraries(&w, js->backend->libs, js->mlflow_req, js->more_libs,
	    js->nmore_libs);
	dbm_jw_key(&w, "spark_python_task");
	dbm_jw_obj(&w);
	dbm_buf_printf(&s, "dbfs:%s", js->job_file);
	dbm_jw_key(&w, "python_file");
	dbm_jw_str(&w, s.data);
	dbm_jw_key(&w, "parameters");
	dbm_jw_arr(&w);
	dbm_buf_reset(&s);
	dbm_buf_printf(&s, "/dbfs%s", js->tarball);
	dbm_jw_str(&w, s.data);
	if (js->file) {
		dbm_jw_str(&w, js->experiment_id);
		dbm_jw_str(&w, js->mlflow_run_id);
		for (i = 0; i < js->nfile_args; i++)
			dbm_jw_str(&w, js->file_args[i]);
	} else {
		dbm_jw_str(&w, js->entry);
		dbm_jw_str(&w, js->mlflow_run_id);
		dbm_jw_str(&w, js->experiment_id);
		dbm_jw_str(&w, js->env_manager ? js->env_manager : "-");
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
	dbm_jw_obj_end(&w);
	dbm_buf_free(&s);
}

void
dbm_jobspec_job_file(struct dbm_buf *b, const struct dbm_jobspec *js,
    const char *code)
{
	if (js->file && code)
		inproc_job(b, js->sha, js->file, code);
	else
		dbm_buf_adds(b, launcher);
}
