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
 * The modules: jobspec.c (backend config, runs/submit bodies, the job
 * file), mlflowrun.c (tracking calls), runwait.c (waiting and outcome),
 * mlproject.c and tarball.c (the project).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbfs.h"
#include "jobspec.h"
#include "json.h"
#include "mlflowrun.h"
#include "runwait.h"
#include "sha.h"
#include "submit.h"
#include "tarball.h"

/* One submission in progress. */
struct submit {
	struct dbm_http *h;
	const struct dbm_submit_opts *o;
	struct dbm_submit_result *r;
	struct dbm_err e;
	struct dbm_mlproject p;
	int have_project;
	struct dbm_kv *params;		/* resolved: declared, then undeclared */
	int np;
	struct dbm_backend backend;
	/* python mode: the project file run in the driver process */
	char **words;			/* the entry point's command, split */
	int nwords;
	const char *file;
	char *const *file_args;
	int nfile_args;
	char *code;			/* the file's text */
	/* the project tarball */
	char tmpdir[32];
	struct dbm_buf tarpath;
	char sha[65];
	struct dbm_buf tarball;		/* its DBFS path */
	struct dbm_buf body;		/* runs/submit */
};

static int
fail(struct submit *s, int code)
{
	dbm_err_print(&s->e);
	return code;
}

/* A Python file runs in the driver process: the databricks_spark_job
 * section's, else a `python file ...` entry point's (as MLflow does);
 * other commands go through the launcher and mlflow run. */
static int
choose_python_file(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_buf cmd = DBM_BUF_INIT, f = DBM_BUF_INIT;
	struct dbm_kv *kv = NULL;
	int nkv = 0;

	if (s->p.spark_python_file) {
		s->file = s->p.spark_python_file;
		s->file_args = s->p.spark_params;
		s->nfile_args = s->p.nspark_params;
	} else if (dbm_mlproject_resolve(&s->p, o->entry, o->params,
	    o->nparams, &kv, &nkv, &cmd, &s->e) == 0 &&
	    (s->nwords = dbm_shell_words(cmd.data, &s->words)) >= 2 &&
	    strcmp(s->words[0], "python") == 0 && s->words[1][0] != '-') {
		s->file = s->words[1];
		s->file_args = s->words + 2;
		s->nfile_args = s->nwords - 2;
	}
	dbm_kv_free(kv, nkv);
	dbm_buf_free(&cmd);
	if (s->file == NULL)
		return 0;
	dbm_buf_printf(&f, "%s/%s", o->project, s->file);
	if (dbm_buf_read_file(&cmd, f.data, 0) < 0) {
		dbm_err_sys(&s->e, "%s", f.data);
		dbm_buf_free(&f);
		dbm_buf_free(&cmd);
		return -1;
	}
	dbm_buf_free(&f);
	s->code = dbm_buf_detach(&cmd);
	return 0;
}

/* Phase 1: the project, its parameters, the backend config and the mode;
 * everything local is checked before anything is sent. */
static int
resolve_project(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	int major;

	if (dbm_mlproject_load(o->project, &s->p, &s->e) < 0)
		return fail(s, DBM_SUBMIT_USAGE);
	s->have_project = 1;
	if (s->p.docker_env) {
		dbm_warnx("%s: docker_env projects cannot run on Databricks",
		    s->p.file);
		return DBM_SUBMIT_USAGE;
	}
	if (dbm_mlproject_resolve(&s->p, o->entry, o->params, o->nparams,
	    &s->params, &s->np, NULL, &s->e) < 0 ||
	    dbm_backend_load(o->backend_config, &s->backend, &s->e) < 0)
		return fail(s, DBM_SUBMIT_USAGE);
	major = s->backend.spark_version ? atoi(s->backend.spark_version) : 0;
	s->r->mode = dbm_xstrdup(strcmp(o->mode, "auto") != 0 ? o->mode :
	    major >= 13 ? "python" : "shell");
	if (strcmp(s->r->mode, "python") == 0 && choose_python_file(s) < 0)
		return fail(s, DBM_SUBMIT_USAGE);
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
		return fail(s, DBM_SUBMIT_USAGE);
	}
	dbm_buf_printf(&s->tarpath, "%s/project.tar.gz", s->tmpdir);
	if (dbm_tarball(s->o->project, "mlflow-project", s->tarpath.data,
	    s->sha, &s->e) < 0)
		return fail(s, DBM_SUBMIT_USAGE);
	return 0;
}

/* Phase 3: the experiment, the tarball in its projects-code folder (once
 * per content) and the MLflow run with its tags and parameters. */
static int
start_mlflow_run(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_mlflow_run mr = {0};

	if (o->experiment_id)
		s->r->experiment_id = dbm_xstrdup(o->experiment_id);
	else if (dbm_mlflow_experiment(s->h, o->experiment_name ?
	    o->experiment_name : "Default", &s->r->experiment_id, &s->e) < 0)
		return fail(s, DBM_SUBMIT_API);
	dbm_buf_printf(&s->tarball, "/mlflow-experiments/%s/projects-code/"
	    "%s.tar.gz", s->r->experiment_id, s->sha);
	if (dbm_dbfs_put_once(s->h, s->tarpath.data, s->tarball.data,
	    &s->e) < 0)
		return fail(s, DBM_SUBMIT_API);
	mr.experiment_id = s->r->experiment_id;
	mr.project = o->project;
	mr.entry = o->entry;
	mr.run_name = o->run_name;
	mr.params = s->params;
	mr.nparams = s->np;
	if (dbm_mlflow_run_create(s->h, &mr, &s->r->mlflow_run_id, &s->e) < 0)
		return fail(s, DBM_SUBMIT_API);
	return 0;
}

/* Python mode's job file, uploaded once per content; *path gets its
 * DBFS path. */
static int
upload_job_file(struct submit *s, const struct dbm_jobspec *js,
    struct dbm_buf *path)
{
	struct dbm_buf job = DBM_BUF_INIT, tmp = DBM_BUF_INIT;
	char lsha[65];
	FILE *f;
	int rc = -1;

	dbm_jobspec_job_file(&job, js, s->code);
	dbm_sha256_hex(job.data, job.len, lsha);
	dbm_buf_printf(&tmp, "%s/launcher.py", s->tmpdir);
	f = fopen(tmp.data, "w");
	if (f == NULL || fwrite(job.data, 1, job.len, f) != job.len ||
	    fclose(f) != 0) {
		dbm_err_sys(&s->e, "%s", tmp.data);
		goto out;
	}
	dbm_buf_printf(path, "/mlflow-experiments/%s/projects-code/"
	    "dbmlops-%s-%.16s.py", s->r->experiment_id, s->code ? "job" :
	    "launch", lsha);
	rc = dbm_dbfs_put_once(s->h, tmp.data, path->data, &s->e);
out:
	unlink(tmp.data);
	dbm_buf_free(&tmp);
	dbm_buf_free(&job);
	return rc;
}

/* Phase 4: the runs/submit body of the mode; the MLflow run id is the
 * idempotency token, so a retried submit never starts two runs. */
static int
build_job_spec(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_buf name = DBM_BUF_INIT, job = DBM_BUF_INIT;
	struct dbm_jobspec js = {0};
	int rc = 0;

	dbm_buf_printf(&name, "MLflow Run for %s", o->project);
	js.run_name = o->run_name ? o->run_name : name.data;
	js.token = s->r->mlflow_run_id;
	js.backend = &s->backend;
	js.mlflow_req = o->mlflow_req;
	js.experiment_id = s->r->experiment_id;
	js.mlflow_run_id = s->r->mlflow_run_id;
	js.sha = s->sha;
	js.tarball = s->tarball.data;
	js.entry = o->entry;
	js.env_manager = o->env_manager;
	js.params = o->params;
	js.nparams = o->nparams;
	if (strcmp(s->r->mode, "shell") == 0) {
		dbm_jobspec_shell(&s->body, &js);
		goto out;
	}
	js.more_libs = s->p.spark_libs;
	js.nmore_libs = s->p.nspark_libs;
	js.file = s->code ? s->file : NULL;
	js.file_args = s->file_args;
	js.nfile_args = s->nfile_args;
	if (upload_job_file(s, &js, &job) < 0) {
		rc = fail(s, DBM_SUBMIT_API);
		goto out;
	}
	js.job_file = job.data;
	dbm_jobspec_python(&s->body, &js);
out:
	dbm_buf_free(&name);
	dbm_buf_free(&job);
	return rc;
}

/* Phase 5: runs/submit, then the run's tags as MLflow sets them. */
static int
submit_run(struct submit *s)
{
	struct dbm_submit_result *r = s->r;
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_json j;
	char id[32];

	if (dbm_http_json(s->h, "POST", strcmp(r->mode, "shell") == 0 ?
	    "/api/2.0/jobs/runs/submit" : "/api/2.1/jobs/runs/submit",
	    s->body.data, 1, &j, &s->e) < 0)
		return fail(s, DBM_SUBMIT_API);
	dbm_json_get_int(&j, "run_id", &r->run_id);
	dbm_json_free(&j);
	dbm_buf_printf(&url, "/api/2.0/jobs/runs/get?run_id=%lld", r->run_id);
	if (dbm_http_json(s->h, "GET", url.data, NULL, 1, &j, &s->e) == 0) {
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
	dbm_buf_free(&url);
	if (!s->o->quiet)
		fprintf(stderr, "%s: run %lld: %s\n", dbm_prog(), r->run_id,
		    r->run_page_url ? r->run_page_url : "");
	return 0;
}

/* Phase 6: wait for the run's end, fetch its logs, decide the exit code.
 * An API failure while waiting leaves the run (and the MLflow run) alone:
 * the run lives on, and its id was printed. */
static int
wait_outcome(struct submit *s)
{
	if (dbm_run_wait(s->h, s->o, s->r, &s->e) < 0)
		return fail(s, DBM_SUBMIT_API);
	dbm_run_logs(s->h, s->r);
	return s->r->code = dbm_run_outcome(s->r, s->o);
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
	dbm_kv_free(s->params, s->np);
	dbm_backend_free(&s->backend);
	free(s->code);
	while (s->nwords > 0)
		free(s->words[--s->nwords]);
	free(s->words);
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
		fprintf(stderr, "%s: would submit %s (entry point %s, %s mode, "
		    "project tarball %s)\n", dbm_prog(), o->project, o->entry,
		    r->mode, s.sha);
		goto out;
	}
	if ((code = start_mlflow_run(&s)) != 0)
		goto out;
	if ((code = build_job_spec(&s)) != 0 ||
	    (code = submit_run(&s)) != 0) {
		end_mlflow_run(&s, code);	/* no MLflow run left RUNNING */
		goto out;
	}
	if (o->wait) {
		code = wait_outcome(&s);
		if (code != DBM_SUBMIT_API)
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
	memset(r, 0, sizeof(*r));
}
