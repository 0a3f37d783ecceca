/*
 * The runs/submit request of an MLflow project run (jobspec.c): the
 * backend config (flat or wrapped), and the job spec of each mode, as
 * PROTOCOL.md section 8 describes it. Pure: builds text, sends nothing.
 */
#ifndef DBM_JOBSPEC_H
#define DBM_JOBSPEC_H

#include "buf.h"
#include "err.h"
#include "mlproject.h"

/* A backend config: new_cluster (or existing_cluster_id) and libraries;
 * or, for serverless compute, an environment spec. */
struct dbm_backend {
	char *cluster;		/* new_cluster's JSON text, or NULL */
	char *existing;		/* existing_cluster_id, or NULL */
	char *libs;		/* libraries' JSON array text, or NULL */
	char *spark_version;	/* new_cluster.spark_version, or NULL */
	long sv_line, sv_col;	/* where its value is in the file */
	int serverless;		/* an environment spec */
	char *env_key;		/* its environment_key, or NULL */
	char *env_spec;		/* the spec's JSON text, or NULL */
};

/* Read a backend config file, flat or wrapped (a flat config's libraries
 * are lifted out of the cluster). An environment spec (flat: the spec's
 * own fields; wrapped: {"environments": [{environment_key, spec}]}) makes
 * a serverless config. */
int dbm_backend_load(const char *file, struct dbm_backend *b,
    struct dbm_err *e);
void dbm_backend_free(struct dbm_backend *b);

struct dbm_jobspec {
	const char *run_name;		/* the job run's name */
	const char *token;		/* idempotency token: the MLflow run id */
	const struct dbm_backend *backend;
	const char *mlflow_req;		/* pypi requirement added, or "" */
	/* python mode: the project's libraries (pyenv.h, and
	 * databricks_spark_job's python_libraries) */
	char *const *whl;
	int nwhl;
	char *const *pypi;
	int npypi;
	const char *experiment_id, *mlflow_run_id;
	const char *sha;		/* the project tarball's digest */
	const char *tarball;		/* its path on the cluster (/dbfs/...,
					 * /Volumes/..., /Workspace/...) */
	const char *entry, *env_manager;
	const struct dbm_kv *params;	/* as given (-P) */
	int nparams;
	/* python mode */
	const char *job_file;		/* the uploaded launcher, as
					 * python_file names it */
	const char *env_version;	/* serverless: environment_version
					 * when the spec has none */
	const char *file;		/* databricks_spark_job's python_file */
	char *const *file_args;		/* and its parameters */
	int nfile_args;
};

/* The body of runs/submit: shell mode (API 2.0, shell_command_task) */
void dbm_jobspec_shell(struct dbm_buf *body, const struct dbm_jobspec *js);
/* and python mode (API 2.1, spark_python_task running the launcher; on
 * serverless compute, with an environment instead of a cluster). */
void dbm_jobspec_python(struct dbm_buf *body, const struct dbm_jobspec *js);
/* The launcher (cluster/launch.py): the entry point resolved by MLflow's
 * project code, a `python file` command run in the driver process. */
const char *dbm_jobspec_launcher(void);

#endif
