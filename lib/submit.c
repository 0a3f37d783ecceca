/*
 * mlflow-submit's engine: see submit.h. The steps follow MLflow's
 * Databricks backend: experiment, MLflow run with its tags and parameters,
 * project tarball uploaded once per content, runs/submit, the run's tags,
 * then (unlike `mlflow run`) waiting, logs and the final status. Known
 * defects of MLflow's client are not copied: flat configs keep their
 * libraries as libraries, the submit carries an idempotency token (the
 * MLflow run id), and a terminal state without a result ends the wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "branch.h"
#include "dbfs.h"
#include "json.h"
#include "sha.h"
#include "submit.h"
#include "tarball.h"

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

static int
api_fail(struct dbm_err *e)
{
	dbm_err_print(e);
	return DBM_SUBMIT_API;
}


/* The experiment id for a name, creating it (and its workspace folder). */
static int
experiment(struct dbm_http *h, const char *name, char **id, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT, body = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_jw w;
	int rc = -1;

	dbm_buf_adds(&url, "/api/2.0/mlflow/experiments/get-by-name?"
	    "experiment_name=");
	dbm_url_encode(&url, name, 0);
	if (dbm_http_json(h, "GET", url.data, NULL, 1, &j, e) == 0) {
		*id = dbm_json_get_str(&j, "experiment.experiment_id");
		dbm_json_free(&j);
		rc = *id ? 0 : dbm_errf(e, DBM_E_API, "experiments/get-by-name: "
		    "no experiment_id in the answer");
		goto out;
	}
	if (strcmp(e->code, "RESOURCE_DOES_NOT_EXIST") != 0)
		goto out;
	if (name[0] == '/' && strrchr(name, '/') != name) {
		/* the experiment's workspace folder must exist */
		char *parent = dbm_xstrndup(name, (size_t)(strrchr(name, '/') -
		    name));

		dbm_jw_init(&w, &body);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "path");
		dbm_jw_str(&w, parent);
		dbm_jw_obj_end(&w);
		free(parent);
		if (dbm_http_json(h, "POST", "/api/2.0/workspace/mkdirs",
		    body.data, 1, NULL, e) < 0)
			goto out;
	}
	dbm_buf_reset(&body);
	dbm_jw_init(&w, &body);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "name");
	dbm_jw_str(&w, name);
	dbm_jw_obj_end(&w);
	if (dbm_http_json(h, "POST", "/api/2.0/mlflow/experiments/create",
	    body.data, 0, &j, e) < 0) {
		/* created meanwhile by someone else: look it up again */
		if (strcmp(e->code, "RESOURCE_ALREADY_EXISTS") == 0)
			rc = experiment(h, name, id, e);
		goto out;
	}
	*id = dbm_json_get_str(&j, "experiment_id");
	dbm_json_free(&j);
	rc = *id ? 0 : -1;
out:
	dbm_buf_free(&url);
	dbm_buf_free(&body);
	return rc;
}

/* Upload the tarball unless a file of that name is there already. */
static int
upload_once(struct dbm_http *h, const char *local, const char *dbfs_path,
    struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	int rc, fd;
	off_t size;

	/* same content, same name: there already */
	if ((rc = dbm_dbfs_status(h, dbfs_path, NULL, NULL, e)) != 0)
		return rc > 0 ? 0 : -1;
	rc = -1;
	if ((fd = open(local, O_RDONLY)) < 0) {
		dbm_err_sys(e, "%s", local);
		goto out;
	}
	size = lseek(fd, 0, SEEK_END);
	dbm_buf_adds(&url, "/dbfs");
	dbm_url_encode(&url, dbfs_path, 1);
	dbm_req_init(&r, "POST", url.data);
	r.body_fd = fd;
	r.body_size = size;
	r.content_type = "application/octet-stream";
	r.idempotent = 1;	/* an existing file answers 409, kept */
	if (dbm_http_do(h, &r, &resp, e) == 0 || resp.status == 409)
		rc = 0;
	close(fd);
	dbm_resp_free(&resp);
out:
	dbm_buf_free(&url);
	return rc;
}

static void
tag(struct dbm_jw *w, const char *k, const char *v)
{
	if (v == NULL)
		return;
	dbm_jw_obj(w);
	dbm_jw_key(w, "key");
	dbm_jw_str(w, k);
	dbm_jw_key(w, "value");
	dbm_jw_str(w, v);
	dbm_jw_obj_end(w);
}

static int
set_tag(struct dbm_http *h, const char *run, const char *k, const char *v,
    struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	int rc;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "run_id");
	dbm_jw_str(&w, run);
	dbm_jw_key(&w, "run_uuid");
	dbm_jw_str(&w, run);
	dbm_jw_key(&w, "key");
	dbm_jw_str(&w, k);
	dbm_jw_key(&w, "value");
	dbm_jw_str(&w, v);
	dbm_jw_obj_end(&w);
	rc = dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/set-tag", b.data, 1,
	    NULL, e);
	dbm_buf_free(&b);
	return rc;
}

/* The MLflow run: tags as MLflow's client sets them, then parameters. */
static int
mlflow_run(struct dbm_http *h, const struct dbm_submit_opts *o,
    const char *eid, const struct dbm_kv *params, int np, char **id,
    struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct dbm_json j;
	struct dbm_branch br;
	struct dbm_err be;
	const char *user = dbm_ci_user(NULL);
	char abs[4096];
	int i, rc = -1, have_branch;

	if (realpath(o->project, abs) == NULL)
		snprintf(abs, sizeof(abs), "%s", o->project);
	have_branch = dbm_branch_detect(&br, NULL, o->project, &be) == 0;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "experiment_id");
	dbm_jw_str(&w, eid);
	dbm_jw_key(&w, "user_id");
	dbm_jw_str(&w, user ? user : "unknown");
	dbm_jw_key(&w, "start_time");
	dbm_jw_int(&w, (long long)time(NULL) * 1000);
	if (o->run_name) {
		dbm_jw_key(&w, "run_name");
		dbm_jw_str(&w, o->run_name);
	}
	dbm_jw_key(&w, "tags");
	dbm_jw_arr(&w);
	tag(&w, "mlflow.user", user ? user : "unknown");
	if (have_branch && br.toplevel &&
	    strncmp(abs, br.toplevel, strlen(br.toplevel)) == 0) {
		/* as MLflow names a project inside a git work tree */
		struct dbm_buf src = DBM_BUF_INIT;
		const char *sub = abs + strlen(br.toplevel);

		dbm_buf_printf(&src, "file://%s%s%s", br.toplevel, *sub ? "#" :
		    "", *sub == '/' ? sub + 1 : sub);
		tag(&w, "mlflow.source.name", src.data);
		dbm_buf_free(&src);
	} else {
		tag(&w, "mlflow.source.name", abs);
	}
	tag(&w, "mlflow.source.type", "PROJECT");
	tag(&w, "mlflow.project.entryPoint", o->entry);
	tag(&w, "mlflow.project.backend", "databricks");
	if (o->run_name)
		tag(&w, "mlflow.runName", o->run_name);
	if (have_branch) {
		tag(&w, "mlflow.source.git.commit", br.sha);
		tag(&w, "mlflow.source.git.repoURL", br.origin);
		if (!br.detached)
			tag(&w, "mlflow.source.git.branch", br.raw);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	if (have_branch)
		dbm_branch_free(&br);
	if (dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/create", b.data, 0,
	    &j, e) < 0)
		goto out;
	*id = dbm_json_get_str(&j, "run.info.run_id");
	dbm_json_free(&j);
	if (*id == NULL) {
		dbm_errf(e, DBM_E_API, "runs/create: no run id in the answer");
		goto out;
	}
	if (np > 0) {
		dbm_buf_reset(&b);
		dbm_jw_init(&w, &b);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "run_id");
		dbm_jw_str(&w, *id);
		dbm_jw_key(&w, "params");
		dbm_jw_arr(&w);
		for (i = 0; i < np; i++)
			tag(&w, params[i].k, params[i].v);
		dbm_jw_arr_end(&w);
		dbm_jw_obj_end(&w);
		if (dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/log-batch",
		    b.data, 1, NULL, e) < 0)
			goto out;
	}
	rc = 0;
out:
	dbm_buf_free(&b);
	return rc;
}

/* new_cluster (or existing_cluster_id) and libraries from the backend
 * config, flat or wrapped. A flat config's libraries are lifted out. */
static int
backend_config(const char *file, char **cluster, char **existing,
    char **libs, char **spark_version, struct dbm_err *e)
{
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

static void
fmt_dur(char *buf, size_t n, double s)
{
	long t = (long)s;

	if (t >= 3600)
		snprintf(buf, n, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
terminal(const char *life)
{
	return strcmp(life, "TERMINATED") == 0 || strcmp(life, "SKIPPED") == 0 ||
	    strcmp(life, "INTERNAL_ERROR") == 0;
}

static int
cancel(struct dbm_http *h, long long run_id, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&b, "{\"run_id\":%lld}", run_id);
	rc = dbm_http_json(h, "POST", "/api/2.0/jobs/runs/cancel", b.data, 1,
	    NULL, e);
	dbm_buf_free(&b);
	return rc;
}

/* Poll runs/get until the run ends, showing its state on stderr. */
static int
wait_run(struct dbm_http *h, const struct dbm_submit_opts *o,
    struct dbm_submit_result *r, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT, chain = DBM_BUF_INIT;
	double start = mono(), pause = 1, entered = start;
	int tty = isatty(2) && !o->quiet, cancelled = 0, timed_out = 0;
	char *last = NULL;
	int rc = 0;

	dbm_buf_printf(&url, "/api/2.0/jobs/runs/get?run_id=%lld", r->run_id);
	for (;;) {
		struct dbm_json j;
		char *life, *result, dur[32];

		if (o->interrupted && *o->interrupted && !cancelled) {
			fprintf(stderr, "%s%s: interrupted: cancelling run %lld\n",
			    tty ? "\n" : "", dbm_prog(), r->run_id);
			if (cancel(h, r->run_id, e) < 0)
				dbm_err_print(e);
			cancelled = 1;
		}
		if (!cancelled && o->timeout > 0 && mono() - start >
		    (double)o->timeout) {
			fprintf(stderr, "%s%s: waited %lds: cancelling run %lld\n",
			    tty ? "\n" : "", dbm_prog(), o->timeout, r->run_id);
			if (cancel(h, r->run_id, e) < 0)
				dbm_err_print(e);
			cancelled = timed_out = 1;
		}
		if (dbm_http_json(h, "GET", url.data, NULL, 1, &j, e) < 0) {
			rc = -1;
			break;
		}
		life = dbm_json_get_str(&j, "state.life_cycle_state");
		result = dbm_json_get_str(&j, "state.result_state");
		if (life == NULL) {
			dbm_json_free(&j);
			dbm_errf(e, DBM_E_API, "runs/get: no life_cycle_state");
			free(result);
			rc = -1;
			break;
		}
		if (last == NULL || strcmp(last, life) != 0) {
			fmt_dur(dur, sizeof(dur), mono() - entered);
			if (last)
				dbm_buf_printf(&chain, " %s -> ", dur);
			dbm_buf_adds(&chain, life);
			entered = mono();
			free(last);
			last = dbm_xstrdup(life);
			if (!o->quiet && !tty && !terminal(life))
				fprintf(stderr, "%s: run %lld: %s\n", dbm_prog(),
				    r->run_id, life);
		}
		if (tty) {
			fmt_dur(dur, sizeof(dur), mono() - entered);
			fprintf(stderr, "\r\033[K%s: run %lld: %s %s", dbm_prog(),
			    r->run_id, chain.data, dur);
			fflush(stderr);
		}
		if (terminal(life)) {
			r->life = life;
			r->result = result;	/* may be NULL: a failure */
			r->message = dbm_json_get_str(&j,
			    "state.state_message");
			if (!o->quiet) {
				fmt_dur(dur, sizeof(dur), mono() - start);
				/* PENDING 0m40s -> RUNNING 2m13s -> TERMINATED
				 * SUCCESS (2m53s) */
				fprintf(stderr, "%s%s: run %lld: %s %s (%s)\n",
				    tty ? "\r\033[K" : "", dbm_prog(), r->run_id,
				    chain.data, result ? result : "(no result)",
				    dur);
			}
			{
				long long t;

				if (dbm_json_get_int(&j, "tasks.0.run_id", &t) == 0
				    && strcmp(r->mode, "python") == 0)
					r->task_run_id = t;
				else
					r->task_run_id = r->run_id;
			}
			dbm_json_free(&j);
			break;
		}
		free(life);
		free(result);
		dbm_json_free(&j);
		{
			/* sleep in small steps to notice a signal quickly */
			double until = mono() + pause;

			while (mono() < until && !(o->interrupted &&
			    *o->interrupted && !cancelled)) {
				struct timespec ts = {0, 100 * 1000000L};

				nanosleep(&ts, NULL);
			}
		}
		pause = pause * 1.5 > (double)o->poll_max ? (double)o->poll_max :
		    pause * 1.5;
	}
	if (rc == 0 && timed_out)
		r->code = DBM_SUBMIT_TIMEDOUT;
	free(last);
	dbm_buf_free(&url);
	dbm_buf_free(&chain);
	return rc;
}

static void
fetch_logs(struct dbm_http *h, struct dbm_submit_result *r)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err e;

	dbm_buf_printf(&url, "/api/2.0/jobs/runs/get-output?run_id=%lld",
	    r->task_run_id);
	if (dbm_http_json(h, "GET", url.data, NULL, 1, &j, &e) == 0) {
		r->logs = dbm_json_get_str(&j, "logs");
		if (r->logs == NULL)
			r->logs = dbm_json_get_str(&j, "notebook_output.result");
		dbm_json_free(&j);
	}
	dbm_buf_free(&url);
}

static void
finish_mlflow(struct dbm_http *h, const struct dbm_submit_result *r)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct dbm_err e;
	const char *status = r->code == DBM_SUBMIT_OK ? "FINISHED" :
	    r->code == DBM_SUBMIT_CANCELED || r->code ==
	    DBM_SUBMIT_INTERRUPTED ? "KILLED" : "FAILED";

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "run_id");
	dbm_jw_str(&w, r->mlflow_run_id);
	dbm_jw_key(&w, "run_uuid");
	dbm_jw_str(&w, r->mlflow_run_id);
	dbm_jw_key(&w, "status");
	dbm_jw_str(&w, status);
	dbm_jw_key(&w, "end_time");
	dbm_jw_int(&w, (long long)time(NULL) * 1000);
	dbm_jw_obj_end(&w);
	if (dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/update", b.data, 1,
	    NULL, &e) < 0)
		dbm_err_print(&e);
	dbm_buf_free(&b);
}

static int
outcome(const struct dbm_submit_result *r, const struct dbm_submit_opts *o)
{
	if (o->interrupted && *o->interrupted)
		return DBM_SUBMIT_INTERRUPTED;
	if (r->code)
		return r->code;
	if (strcmp(r->life, "INTERNAL_ERROR") == 0)
		return DBM_SUBMIT_INFRA;
	if (r->result == NULL)
		return DBM_SUBMIT_INFRA;	/* terminal, no result: failed */
	if (strcmp(r->result, "SUCCESS") == 0)
		return DBM_SUBMIT_OK;
	if (strcmp(r->result, "TIMEDOUT") == 0)
		return DBM_SUBMIT_TIMEDOUT;
	if (strcmp(r->result, "CANCELED") == 0 ||
	    strcmp(r->result, "UPSTREAM_CANCELED") == 0)
		return DBM_SUBMIT_CANCELED;
	return DBM_SUBMIT_FAILED;
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

/* Split a shell command into words: '...', "..." and backslashes as a
 * POSIX shell reads them (no expansions). Returns the count. */
static int
shell_words(const char *s, char ***out)
{
	struct dbm_buf w = DBM_BUF_INIT;
	int n = 0, in_word = 0;

	*out = NULL;
	for (;; s++) {
		if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '\n') {
			if (in_word) {
				*out = dbm_xrealloc(*out, (size_t)(n + 1) *
				    sizeof(**out));
				(*out)[n++] = dbm_buf_detach(&w);
				in_word = 0;
			}
			if (*s == '\0')
				break;
			continue;
		}
		in_word = 1;
		if (*s == '\'') {
			while (*++s && *s != '\'')
				dbm_buf_addc(&w, *s);
			if (*s == '\0')
				s--;
		} else if (*s == '"') {
			while (*++s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				dbm_buf_addc(&w, *s);
			}
			if (*s == '\0')
				s--;
		} else if (*s == '\\' && s[1]) {
			dbm_buf_addc(&w, *++s);
		} else {
			dbm_buf_addc(&w, *s);
		}
	}
	dbm_buf_free(&w);
	return n;
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

static char *
read_text(const char *path, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;

	if (dbm_buf_read_file(&b, path, 0) < 0) {
		dbm_err_sys(e, "%s", path);
		dbm_buf_free(&b);
		return NULL;
	}
	return dbm_buf_detach(&b);
}

int
dbm_submit(struct dbm_http *h, const struct dbm_submit_opts *o,
    struct dbm_submit_result *r)
{
	struct dbm_mlproject p;
	struct dbm_kv *params = NULL;
	struct dbm_err e;
	struct dbm_buf body = DBM_BUF_INIT, script = DBM_BUF_INIT,
	    tarpath = DBM_BUF_INIT, dbfs = DBM_BUF_INIT, name = DBM_BUF_INIT;
	struct dbm_jw w;
	struct dbm_json j;
	char *cluster = NULL, *existing = NULL, *libs = NULL, *sv = NULL;
	char sha[65], tmpdir[] = "/tmp/mlflow-submit.XXXXXX";
	char **words = NULL, *inproc_code = NULL;
	const char *inproc_file = NULL;
	char *const *inproc_args = NULL;
	int ninproc = 0, nwords = 0, np = 0, code = DBM_SUBMIT_USAGE, major;

	memset(r, 0, sizeof(*r));
	/* everything local is checked before anything is sent */
	if (dbm_mlproject_load(o->project, &p, &e) < 0) {
		dbm_err_print(&e);
		return DBM_SUBMIT_USAGE;
	}
	if (p.docker_env) {
		dbm_warnx("%s: docker_env projects cannot run on Databricks",
		    p.file);
		goto out;
	}
	if (dbm_mlproject_resolve(&p, o->entry, o->params, o->nparams, &params,
	    &np, NULL, &e) < 0) {
		dbm_err_print(&e);
		goto out;
	}
	if (backend_config(o->backend_config, &cluster, &existing, &libs, &sv,
	    &e) < 0) {
		dbm_err_print(&e);
		goto out;
	}
	major = sv ? atoi(sv) : 0;
	r->mode = dbm_xstrdup(strcmp(o->mode, "auto") != 0 ? o->mode :
	    major >= 13 ? "python" : "shell");
	if (strcmp(r->mode, "python") == 0) {
		/* a Python file runs in the driver process: the
		 * databricks_spark_job section's, else a `python file ...`
		 * entry point's (as MLflow does); other commands go through
		 * the launcher and mlflow run */
		struct dbm_buf cmd = DBM_BUF_INIT;
		struct dbm_kv *kv = NULL;
		int nkv = 0;

		if (p.spark_python_file) {
			inproc_file = p.spark_python_file;
			inproc_args = p.spark_params;
			ninproc = p.nspark_params;
		} else if (dbm_mlproject_resolve(&p, o->entry, o->params,
		    o->nparams, &kv, &nkv, &cmd, &e) == 0 &&
		    (nwords = shell_words(cmd.data, &words)) >= 2 &&
		    strcmp(words[0], "python") == 0 && words[1][0] != '-') {
			inproc_file = words[1];
			inproc_args = words + 2;
			ninproc = nwords - 2;
		}
		dbm_kv_free(kv, nkv);
		dbm_buf_free(&cmd);
		if (inproc_file) {
			struct dbm_buf f = DBM_BUF_INIT;

			dbm_buf_printf(&f, "%s/%s", o->project, inproc_file);
			inproc_code = read_text(f.data, &e);
			dbm_buf_free(&f);
			if (inproc_code == NULL) {
				dbm_err_print(&e);
				goto out;
			}
		}
	}
	if (mkdtemp(tmpdir) == NULL) {
		dbm_err_sys(&e, "mkdtemp");
		dbm_err_print(&e);
		goto out;
	}
	dbm_buf_printf(&tarpath, "%s/project.tar.gz", tmpdir);
	if (dbm_tarball(o->project, "mlflow-project", tarpath.data, sha,
	    &e) < 0) {
		dbm_err_print(&e);
		goto out;
	}
	if (o->dry_run) {
		fprintf(stderr, "%s: would submit %s (entry point %s, %s mode, "
		    "project tarball %s)\n", dbm_prog(), o->project, o->entry,
		    r->mode, sha);
		code = DBM_SUBMIT_OK;
		goto out;
	}
	code = DBM_SUBMIT_API;

	/* experiment, MLflow run, tarball */
	if (o->experiment_id) {
		r->experiment_id = dbm_xstrdup(o->experiment_id);
	} else if (experiment(h, o->experiment_name ? o->experiment_name :
	    "Default", &r->experiment_id, &e) < 0) {
		code = api_fail(&e);
		goto out;
	}
	dbm_buf_printf(&dbfs, "/mlflow-experiments/%s/projects-code/%s.tar.gz",
	    r->experiment_id, sha);
	if (upload_once(h, tarpath.data, dbfs.data, &e) < 0) {
		code = api_fail(&e);
		goto out;
	}
	if (mlflow_run(h, o, r->experiment_id, params, np, &r->mlflow_run_id,
	    &e) < 0) {
		code = api_fail(&e);
		goto out;
	}

	/* the job run; the MLflow run id makes the submit idempotent */
	dbm_jw_init(&w, &body);
	dbm_jw_obj(&w);
	dbm_buf_printf(&name, "MLflow Run for %s", o->project);
	dbm_jw_key(&w, "run_name");
	dbm_jw_str(&w, o->run_name ? o->run_name : name.data);
	dbm_jw_key(&w, "idempotency_token");
	dbm_jw_str(&w, r->mlflow_run_id);
	if (strcmp(r->mode, "shell") == 0) {
		if (cluster) {
			dbm_jw_key(&w, "new_cluster");
			dbm_jw_raw(&w, cluster, strlen(cluster));
		} else {
			dbm_jw_key(&w, "existing_cluster_id");
			dbm_jw_str(&w, existing);
		}
		write_libraries(&w, libs, o->mlflow_req, NULL, 0);
		cluster_script(&script, r->experiment_id, sha, o->entry,
		    o->env_manager, r->mlflow_run_id, o->params, o->nparams);
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
		dbm_jw_str(&w, r->experiment_id);
		dbm_jw_obj_end(&w);
		dbm_jw_obj_end(&w);
	} else {
		/* the launcher, uploaded once per content */
		char lsha[65];
		struct dbm_buf lp = DBM_BUF_INIT, ltmp = DBM_BUF_INIT,
		    uri = DBM_BUF_INIT;
		FILE *lf;
		int i;

		struct dbm_buf job = DBM_BUF_INIT;

		if (inproc_code)
			inproc_job(&job, sha, inproc_file, inproc_code);
		else
			dbm_buf_adds(&job, launcher);
		dbm_sha256_hex(job.data, job.len, lsha);
		dbm_buf_printf(&ltmp, "%s/launcher.py", tmpdir);
		lf = fopen(ltmp.data, "w");
		if (lf == NULL || fwrite(job.data, 1, job.len, lf) != job.len ||
		    fclose(lf) != 0) {
			dbm_buf_free(&job);
			dbm_err_sys(&e, "%s", ltmp.data);
			dbm_err_print(&e);
			dbm_buf_free(&ltmp);
			goto out;
		}
		dbm_buf_free(&job);
		dbm_buf_printf(&lp, "/mlflow-experiments/%s/projects-code/"
		    "dbmlops-%s-%.16s.py", r->experiment_id, inproc_code ? "job" :
		    "launch", lsha);
		if (upload_once(h, ltmp.data, lp.data, &e) < 0) {
			code = api_fail(&e);
			dbm_buf_free(&ltmp);
			dbm_buf_free(&lp);
			goto out;
		}
		unlink(ltmp.data);
		dbm_buf_free(&ltmp);
		dbm_jw_key(&w, "tasks");
		dbm_jw_arr(&w);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "task_key");
		dbm_jw_str(&w, "mlflow_project");
		if (cluster) {
			dbm_jw_key(&w, "new_cluster");
			dbm_jw_raw(&w, cluster, strlen(cluster));
		} else {
			dbm_jw_key(&w, "existing_cluster_id");
			dbm_jw_str(&w, existing);
		}
		write_libraries(&w, libs, o->mlflow_req, p.spark_libs,
		    p.nspark_libs);
		dbm_jw_key(&w, "spark_python_task");
		dbm_jw_obj(&w);
		dbm_buf_printf(&uri, "dbfs:%s", lp.data);
		dbm_jw_key(&w, "python_file");
		dbm_jw_str(&w, uri.data);
		dbm_jw_key(&w, "parameters");
		dbm_jw_arr(&w);
		dbm_buf_reset(&uri);
		dbm_buf_printf(&uri, "/dbfs%s", dbfs.data);
		dbm_jw_str(&w, uri.data);
		if (inproc_code) {
			dbm_jw_str(&w, r->experiment_id);
			dbm_jw_str(&w, r->mlflow_run_id);
			for (i = 0; i < ninproc; i++)
				dbm_jw_str(&w, inproc_args[i]);
		} else {
			dbm_jw_str(&w, o->entry);
			dbm_jw_str(&w, r->mlflow_run_id);
			dbm_jw_str(&w, r->experiment_id);
			dbm_jw_str(&w, o->env_manager ? o->env_manager : "-");
			for (i = 0; i < o->nparams; i++) {
				dbm_buf_reset(&uri);
				dbm_buf_printf(&uri, "%s=%s", o->params[i].k,
				    o->params[i].v);
				dbm_jw_str(&w, uri.data);
			}
		}
		dbm_jw_arr_end(&w);
		dbm_jw_obj_end(&w);
		dbm_jw_obj_end(&w);
		dbm_jw_arr_end(&w);
		dbm_buf_free(&lp);
		dbm_buf_free(&uri);
	}
	dbm_jw_obj_end(&w);
	if (dbm_http_json(h, "POST", strcmp(r->mode, "shell") == 0 ?
	    "/api/2.0/jobs/runs/submit" : "/api/2.1/jobs/runs/submit",
	    body.data, 1, &j, &e) < 0) {
		code = api_fail(&e);
		goto mlflow_failed;
	}
	dbm_json_get_int(&j, "run_id", &r->run_id);
	dbm_json_free(&j);

	/* the run's tags, as MLflow sets them */
	dbm_buf_reset(&name);
	dbm_buf_printf(&name, "/api/2.0/jobs/runs/get?run_id=%lld", r->run_id);
	if (dbm_http_json(h, "GET", name.data, NULL, 1, &j, &e) == 0) {
		char id[32];

		r->run_page_url = dbm_json_get_str(&j, "run_page_url");
		dbm_json_get_int(&j, "job_id", &r->job_id);
		dbm_json_free(&j);
		snprintf(id, sizeof(id), "%lld", r->run_id);
		if (r->run_page_url)
			set_tag(h, r->mlflow_run_id, "mlflow.databricks.runURL",
			    r->run_page_url, &e);
		set_tag(h, r->mlflow_run_id,
		    "mlflow.databricks.shellJobRunID", id, &e);
		set_tag(h, r->mlflow_run_id, "mlflow.databricks.webappURL",
		    h->base, &e);
		snprintf(id, sizeof(id), "%lld", r->job_id);
		set_tag(h, r->mlflow_run_id, "mlflow.databricks.shellJobID",
		    id, &e);
	}
	if (!o->quiet)
		fprintf(stderr, "%s: run %lld: %s\n", dbm_prog(), r->run_id,
		    r->run_page_url ? r->run_page_url : "");
	if (!o->wait) {
		code = DBM_SUBMIT_OK;
		goto out;
	}
	if (wait_run(h, o, r, &e) < 0) {
		code = api_fail(&e);
		goto out;	/* the run lives on: say which it is */
	}
	fetch_logs(h, r);
	code = r->code = outcome(r, o);
	finish_mlflow(h, r);
	goto out;
mlflow_failed:
	r->code = code;
	finish_mlflow(h, r);
out:
	if (tarpath.len) {
		unlink(tarpath.data);
		rmdir(tmpdir);
	}
	r->code = code;
	dbm_mlproject_free(&p);
	dbm_kv_free(params, np);
	free(cluster);
	free(existing);
	free(libs);
	free(sv);
	free(inproc_code);
	while (nwords > 0)
		free(words[--nwords]);
	free(words);
	dbm_buf_free(&body);
	dbm_buf_free(&script);
	dbm_buf_free(&tarpath);
	dbm_buf_free(&dbfs);
	dbm_buf_free(&name);
	return code;
}

void
dbm_submit_result_free(struct dbm_submit_result *r)
{
	free(r->experiment_id);
	free(r->mlflow_run_id);
	free(r->run_page_url);
	free(r->life);
	free(r->result);
	free(r->message);
	free(r->logs);
	free(r->mode);
	memset(r, 0, sizeof(*r));
}
