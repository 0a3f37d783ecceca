/*
 * mlflow-submit's engine: see submit.h. dbm_submit is a sequence of
 * phases, each a function below, in the order mlflow-submit(1) describes
 * them; MLflow's Databricks backend takes the same steps (experiment,
 * MLflow run with its tags and parameters, project tarball uploaded once
 * per content, runs/submit, the run's tags), then, unlike `mlflow run`,
 * waiting, logs and the final status. Known defects of MLflow's client
 * are not copied: flat configs keep their libraries as libraries, the
 * submit carries an idempotency token (the MLflow run id), and a terminal
 * state without a result ends the wait.
 *
 * The modules: submit_check.c (what is checked before anything is sent),
 * jobspec.c (backend config, runs/submit bodies, the job file),
 * mlflowrun.c (tracking calls), runwait.c (waiting and outcome),
 * mlproject.c and tarball.c (the project).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/jobs.h"
#include "api/mlflow.h"
#include "remote.h"
#include "jobspec.h"
#include "json.h"
#include "mlflowrun.h"
#include "projsrc.h"
#include "pyenv.h"
#include "runwait.h"
#include "sha.h"
#include "submit.h"
#include "submit_int.h"
#include "tarball.h"
#include "upload.h"

/* Phase 1: the project (fetched when it is a git URI), its parameters,
 * the experiment, the backend config and the mode; everything local is
 * checked before anything is sent. */
static int
resolve_project(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_buf cmd = DBM_BUF_INIT;
	int major, rc;

	if (dbm_projsrc_open(o->uri, o->version, &s->src, &s->e) < 0)
		return submit_fail(s, DBM_SUBMIT_USAGE);
	s->dir = s->src.dir;
	s->have_project = 1;	/* freed even when half loaded */
	if (dbm_mlproject_load(s->dir, &s->p, &s->e) < 0)
		return submit_fail(s, DBM_SUBMIT_USAGE);
	if (s->p.docker_env) {
		dbm_say_warn("%s: docker_env projects cannot run on Databricks",
		    s->p.file);
		return DBM_SUBMIT_USAGE;
	}
	if (s->p.spark_python_file) {
		/* as MLflow: the section's file and parameters, nothing else */
		if (strcmp(o->entry, "main") != 0 || o->nparams > 0)
			dbm_say_warn("%s: databricks_spark_job names python_file and "
			    "its parameters: -e and -P are ignored (as in mlflow "
			    "run)", s->p.file);
		rc = 0;
	} else {
		/* the command is built too: it checks the command's {names} */
		rc = dbm_mlproject_resolve(&s->p, o->entry, o->params,
		    o->nparams, &s->params, &s->np, &cmd, &s->e);
	}
	dbm_buf_free(&cmd);
	if (rc < 0 || submit_check_experiment(s) < 0 || (o->cluster_id ?
	    submit_cluster_libraries(s) : o->backend_config == NULL ? 0 :
	    dbm_backend_load(o->backend_config, &s->backend, &s->e)) < 0 ||
	    submit_check_compute(s) < 0)
		return submit_fail(s, DBM_SUBMIT_USAGE);
	if (!s->p.spark_python_file)
		submit_warn_undeclared(s);
	if (o->cluster_id && !o->dry_run && (rc = submit_check_cluster(s)) != 0)
		return rc;
	major = s->backend.spark_version ? atoi(s->backend.spark_version) :
	    o->cluster_id ? 13 : 0;	/* a dry run cannot ask: current */
	if (s->p.spark_python_file && strcmp(o->mode, "shell") == 0) {
		dbm_errf(&s->e, DBM_E_USAGE, "%s: a databricks_spark_job "
		    "project runs as a spark_python_task: use --mode python or "
		    "auto", s->p.file);
		return submit_fail(s, DBM_SUBMIT_USAGE);
	}
	if (s->backend.serverless && strcmp(o->mode, "shell") == 0) {
		dbm_errf(&s->e, DBM_E_USAGE, "serverless compute runs no shell "
		    "command: a serverless run is in python mode (--mode python "
		    "or auto)");
		return submit_fail(s, DBM_SUBMIT_USAGE);
	}
	s->r->mode = dbm_xstrdup(strcmp(o->mode, "auto") != 0 ? o->mode :
	    major >= 13 || s->p.spark_python_file || s->backend.serverless ?
	    "python" : "shell");
	/* python mode runs no `mlflow run`: the environment's packages
	 * become task libraries */
	if (strcmp(s->r->mode, "python") == 0 &&
	    dbm_pyenv_load(&s->p, &s->env, &s->e) < 0)
		return submit_fail(s, DBM_SUBMIT_USAGE);
	if (s->backend.serverless && submit_check_serverless_paths(s) < 0)
		return submit_fail(s, DBM_SUBMIT_USAGE);
	if (!o->legacy_workspace && submit_check_new_workspace(s) < 0)
		return submit_fail(s, DBM_SUBMIT_USAGE);
	return 0;
}

/* Phase 2: the deterministic project tarball, named by its digest. */
static int
build_tarball(struct submit *s)
{
	snprintf(s->tmpdir, sizeof(s->tmpdir), "/tmp/mlflow-submit.XXXXXX");
	if (mkdtemp(s->tmpdir) == NULL) {
		s->tmpdir[0] = '\0';
		dbm_err_sys(&s->e, "mkdtemp");
		return submit_fail(s, DBM_SUBMIT_USAGE);
	}
	dbm_buf_printf(&s->tarpath, "%s/project.tar.gz", s->tmpdir);
	if (dbm_tarball(s->dir, "mlflow-project", s->tarpath.data,
	    s->sha, &s->e) < 0)
		return submit_fail(s, DBM_SUBMIT_USAGE);
	return 0;
}

/* --run-id: the MLflow run exists (as mlflow run's get_or_create_run);
 * its experiment is the run's unless one was given. */
static int
attach_mlflow_run(struct submit *s)
{
	struct dbm_json j;

	if (dbm_api_mlflow_run_get(s->h, s->o->run_id, &j, &s->e) < 0)
		return -1;
	if (s->o->experiment_id == NULL && s->o->experiment_name == NULL)
		s->r->experiment_id = dbm_json_get_str(&j,
		    "run.info.experiment_id");
	dbm_json_free(&j);
	s->r->mlflow_run_id = dbm_xstrdup(s->o->run_id);
	return 0;
}

/* The folder of the project tarball and the launcher: --code-dir, else in
 * shell mode (runtimes before 13, which read it through /dbfs) MLflow's
 * projects-code folder of the experiment on DBFS, and in python mode
 * (13.3 and later, serverless: workspace files, and no DBFS root on new
 * workspaces) the same under the user's workspace folder, as bundles keep
 * theirs (~/.bundle). A dry run names the user <user>. */
static int
code_dir(struct submit *s, const char *eid)
{
	struct dbm_buf d = DBM_BUF_INIT;
	char *user = NULL, *f;
	int rc;

	if (s->o->code_dir) {
		dbm_buf_adds(&d, s->o->code_dir);
	} else if (strcmp(s->r->mode, "shell") == 0) {
		f = dbm_code_folder(NULL, eid);
		dbm_buf_printf(&d, "%s/projects-code", f);
		free(f);
	} else {
		if (!s->o->dry_run && (user = dbm_workspace_user(s->h,
		    &s->e)) == NULL) {
			dbm_buf_free(&d);
			return dbm_errf(&s->e, s->e.kind == DBM_E_AUTH ?
			    DBM_E_AUTH : DBM_E_API, "%s (the default --code-dir "
			    "of a python-mode run is in the user's workspace "
			    "folder: give --code-dir /Workspace/... or "
			    "/Volumes/...)", s->e.msg);
		}
		f = dbm_code_folder(user ? user : "<user>", eid);
		dbm_buf_printf(&d, "%s/projects-code", f);
		free(f);
		free(user);
	}
	dbm_remote_free(&s->code);
	rc = dbm_remote_parse(d.data, &s->code, &s->e);
	dbm_buf_free(&d);
	return rc;
}

/* Upload local as the code folder's file NAME (a printf format of its
 * content digest), once per content; *path gets its path as the cluster
 * reads it (/dbfs/..., /Volumes/..., /Workspace/...). A dry run only
 * names it. */
static int
put_code(struct submit *s, const char *local, struct dbm_buf *path,
    const char *name, const char *digest)
{
	struct dbm_buf rel = DBM_BUF_INIT;
	struct dbm_remote f = {0};
	char *fuse;
	int rc = 0;

	dbm_buf_printf(&rel, name, digest);
	f.kind = s->code.kind;
	f.path = dbm_remote_join(&s->code, rel.data);
	fuse = dbm_remote_fuse(f.kind, f.path);
	dbm_buf_adds(path, fuse);
	if (!s->o->dry_run && local)
		rc = dbm_upload_once(s->h, local, &f, &s->e);
	free(fuse);
	dbm_remote_free(&f);
	dbm_buf_free(&rel);
	return rc;
}

/* Phase 3: the experiment, the tarball in its projects-code folder (once
 * per content) and the MLflow run with its tags and parameters. */
static int
start_mlflow_run(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_mlflow_run mr = {0};

	if (o->run_id && attach_mlflow_run(s) < 0)
		return submit_fail(s, DBM_SUBMIT_API);
	if (o->experiment_id)
		s->r->experiment_id = dbm_xstrdup(o->experiment_id);
	else if (o->experiment_name && dbm_mlflow_experiment(s->h,
	    o->experiment_name, &s->r->experiment_id, &s->e) < 0)
		return submit_fail(s, DBM_SUBMIT_API);
	if (s->r->experiment_id == NULL) {
		dbm_errf(&s->e, DBM_E_API, "run %s: no experiment id", o->run_id);
		return submit_fail(s, DBM_SUBMIT_API);
	}
	if (code_dir(s, s->r->experiment_id) < 0 ||
	    put_code(s, s->tarpath.data, &s->tarball, "%s.tar.gz", s->sha) < 0)
		return submit_fail(s, s->e.kind == DBM_E_USAGE ? DBM_SUBMIT_USAGE :
		    DBM_SUBMIT_API);
	if (o->run_id)
		return 0;
	mr.experiment_id = s->r->experiment_id;
	mr.project = o->source ? o->source : s->dir;
	if (s->src.cloned && o->source == NULL) {
		mr.source_uri = s->src.uri;
		mr.repo = s->src.repo;
	}
	mr.version = o->version;
	mr.entry = o->entry;
	mr.run_name = o->run_name;
	mr.params = s->params;
	mr.nparams = s->np;
	if (dbm_mlflow_run_create(s->h, &mr, &s->r->mlflow_run_id, &s->e) < 0)
		return submit_fail(s, DBM_SUBMIT_API);
	return 0;
}

/* Python mode's launcher, uploaded once per content into the code
 * folder; *path gets its path as python_file names it. */
static int
upload_launcher(struct submit *s, struct dbm_buf *path)
{
	const char *text = dbm_jobspec_launcher();
	struct dbm_buf tmp = DBM_BUF_INIT, fuse = DBM_BUF_INIT;
	char lsha[65];
	FILE *f = NULL;
	int rc = -1;

	dbm_sha256_hex(text, strlen(text), lsha);
	lsha[16] = '\0';
	if (!s->o->dry_run) {
		dbm_buf_printf(&tmp, "%s/launch.py", s->tmpdir);
		f = fopen(tmp.data, "w");
		if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
			dbm_err_sys(&s->e, "%s", tmp.data);
			goto out;
		}
	}
	if (put_code(s, tmp.len ? tmp.data : NULL, &fuse,
	    "dbmlops-launch-%s.py", lsha) < 0)
		goto out;
	/* the URI form: dbfs:/x for a DBFS file, the path otherwise */
	if (s->code.kind == DBM_REMOTE_DBFS)
		dbm_buf_printf(path, "dbfs:%s", fuse.data + 5);
	else
		dbm_buf_adds(path, fuse.data);
	rc = 0;
out:
	if (tmp.len)
		unlink(tmp.data);
	dbm_buf_free(&tmp);
	dbm_buf_free(&fuse);
	return rc;
}

/* Phase 4: the runs/submit body of the mode; the MLflow run id is the
 * idempotency token, so a retried submit never starts two runs. A dry run
 * builds it with placeholders for the ids it did not create. */
static int
build_job_spec(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_buf name = DBM_BUF_INIT, job = DBM_BUF_INIT;
	struct dbm_jobspec js = {0};
	const char *eid = s->r->experiment_id ? s->r->experiment_id :
	    "<experiment-id>";
	int rc = 0;

	if (o->dry_run && (code_dir(s, eid) < 0 || put_code(s, NULL,
	    &s->tarball, "%s.tar.gz", s->sha) < 0))
		return submit_fail(s, DBM_SUBMIT_USAGE);
	/* as MLflow names it, after the project's URI */
	dbm_buf_printf(&name, "MLflow Run for %s", o->source ? o->source :
	    s->src.uri);
	js.run_name = o->run_name ? o->run_name : name.data;
	js.token = s->r->mlflow_run_id ? s->r->mlflow_run_id :
	    "<mlflow-run-id>";
	js.backend = &s->backend;
	js.mlflow_req = o->mlflow_req ? o->mlflow_req :
	    strcmp(s->r->mode, "shell") == 0 ? "mlflow==" DBM_MLFLOW_VERSION :
	    "mlflow";
	js.experiment_id = eid;
	js.mlflow_run_id = js.token;
	js.sha = s->sha;
	js.tarball = s->tarball.data;
	js.env_version = o->env_version;
	js.entry = o->entry;
	js.env_manager = o->env_manager;
	js.params = o->params;
	js.nparams = o->nparams;
	if (strcmp(s->r->mode, "shell") == 0) {
		dbm_jobspec_shell(&s->body, &js);
		goto out;
	}
	if (s->env.has_mlflow)
		js.mlflow_req = "";	/* the project pins its own */
	js.whl = s->env.whl;
	js.nwhl = s->env.nwhl;
	js.pypi = s->env.pypi;
	js.npypi = s->env.npypi;
	if (s->p.spark_python_file) {
		/* MLflow forbids an environment file beside it */
		js.file = s->p.spark_python_file;
		js.file_args = s->p.spark_params;
		js.nfile_args = s->p.nspark_params;
		js.pypi = s->p.spark_libs;
		js.npypi = s->p.nspark_libs;
	}
	if (upload_launcher(s, &job) < 0) {
		rc = submit_fail(s, DBM_SUBMIT_API);
		goto out;
	}
	js.job_file = job.data;
	dbm_jobspec_python(&s->body, &js);
out:
	if (rc == 0)
		s->r->job_spec = dbm_xstrdup(s->body.data);
	dbm_buf_free(&name);
	dbm_buf_free(&job);
	return rc;
}

/* Phase 5: runs/submit, then the run's tags as MLflow sets them. */
static int
submit_run(struct submit *s)
{
	struct dbm_submit_result *r = s->r;
	struct dbm_json j;
	char id[32];

	if (dbm_api_jobs_submit(s->h, strcmp(r->mode, "shell") == 0,
	    s->body.data, &j, &s->e) < 0)
		return submit_fail(s, DBM_SUBMIT_API);
	dbm_json_get_int(&j, "run_id", &r->run_id);
	dbm_json_free(&j);
	if (dbm_api_jobs_get(s->h, r->run_id, &j, &s->e) == 0) {
		r->run_page_url = dbm_json_get_str(&j, "run_page_url");
		dbm_json_get_int(&j, "job_id", &r->job_id);
		dbm_json_free(&j);
		snprintf(id, sizeof(id), "%lld", r->run_id);
		if (r->run_page_url)
			dbm_mlflow_set_tag(s->h, r->mlflow_run_id,
			    "mlflow.databricks.runURL", r->run_page_url, &s->e);
		dbm_mlflow_set_tag(s->h, r->mlflow_run_id,
		    "mlflow.databricks.shellJobRunID", id, &s->e);
		dbm_mlflow_set_tag(s->h, r->mlflow_run_id,
		    "mlflow.databricks.webappURL", s->h->base, &s->e);
		snprintf(id, sizeof(id), "%lld", r->job_id);
		dbm_mlflow_set_tag(s->h, r->mlflow_run_id,
		    "mlflow.databricks.shellJobID", id, &s->e);
	}
	if (!s->o->quiet)
		dbm_say(DBM_SAY_STATE, "%s: run %lld: %s\n", dbm_prog(), r->run_id,
		    r->run_page_url ? r->run_page_url : "");
	return 0;
}

/* The exit code of an ended run. */
static int
outcome(const struct dbm_submit_result *r, int interrupted, int timed_out)
{
	if (interrupted)
		return DBM_SUBMIT_INTERRUPTED;
	if (timed_out)
		return DBM_SUBMIT_TIMEDOUT;
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

/* Phase 6: wait for the run's end, fetch its logs, decide the exit code.
 * An API failure while waiting leaves the run (and the MLflow run) alone:
 * the run lives on, and its id was printed. */
static int
wait_outcome(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_wait_opts w = {0};
	struct dbm_run_end end = {0};

	w.quiet = o->quiet;
	w.tasks = strcmp(s->r->mode, "python") == 0;
	w.timeout = o->timeout;
	w.poll_max = o->poll_max;
	w.log_interval = o->log_interval;
	w.interrupted = o->interrupted;
	if (dbm_run_wait(s->h, s->r->run_id, &w, &end, &s->e) < 0)
		return submit_fail(s, DBM_SUBMIT_API);
	s->r->life = end.life;
	s->r->result = end.result;
	s->r->message = end.message;
	s->r->task_run_id = end.task_run_id;
	s->r->logs = dbm_run_logs(s->h, end.task_run_id);
	return s->r->code = outcome(s->r, o->interrupted && *o->interrupted,
	    end.timed_out);
}

/* Phase 7: the MLflow run ends with the job run's outcome. */
static void
end_mlflow_run(struct submit *s, int code)
{
	dbm_mlflow_run_end(s->h, s->r->mlflow_run_id, code == DBM_SUBMIT_OK ?
	    "FINISHED" : code == DBM_SUBMIT_CANCELED ||
	    code == DBM_SUBMIT_INTERRUPTED ? "KILLED" : "FAILED");
}

static void
submit_free(struct submit *s)
{
	if (s->tarpath.len) {
		unlink(s->tarpath.data);
	}
	if (s->tmpdir[0])
		rmdir(s->tmpdir);
	if (s->have_project)
		dbm_mlproject_free(&s->p);
	dbm_projsrc_free(&s->src);
	dbm_kv_free(s->params, s->np);
	dbm_backend_free(&s->backend);
	dbm_remote_free(&s->code);
	dbm_pyenv_free(&s->env);
	dbm_buf_free(&s->tarpath);
	dbm_buf_free(&s->tarball);
	dbm_buf_free(&s->body);
}

int
dbm_submit(struct dbm_http *h, const struct dbm_submit_opts *o,
    struct dbm_submit_result *r)
{
	struct submit s;
	int code;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	s.h = h;
	s.o = o;
	s.r = r;
	if ((code = resolve_project(&s)) != 0 ||
	    (code = build_tarball(&s)) != 0)
		goto out;
	if (o->dry_run) {
		if ((code = build_job_spec(&s)) == 0)
			dbm_say(DBM_SAY_NOTE, "%s: would submit %s (entry point %s, %s "
			    "mode, project tarball %s)\n", dbm_prog(), s.dir,
			    o->entry, r->mode, s.sha);
		goto out;
	}
	if (o->cluster_id && (code = submit_check_stale(&s)) != 0)
		goto out;
	if ((code = start_mlflow_run(&s)) != 0)
		goto out;
	if ((code = build_job_spec(&s)) != 0 ||
	    (code = submit_run(&s)) != 0) {
		end_mlflow_run(&s, code);	/* no MLflow run left RUNNING */
		goto out;
	}
	if (o->wait) {
		code = wait_outcome(&s);
		if (code != DBM_SUBMIT_API && code != DBM_SUBMIT_AUTH)
			end_mlflow_run(&s, code);
	}
out:
	r->code = code;
	submit_free(&s);
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
	free(r->job_spec);
	memset(r, 0, sizeof(*r));
}
