/*
 * mlflow-submit's engine: run an MLflow project on Databricks as
 * `mlflow run -b databricks --backend-config cluster.json` does
 * (PROTOCOL.md section 8), with an idempotent submit, waiting, cancellation
 * and an exit code for every outcome.
 */
#ifndef DBM_SUBMIT_H
#define DBM_SUBMIT_H

/* The MLflow a shell-mode run's cluster gets, as MLflow's own databricks
 * backend pins the cluster's mlflow to its client's version
 * (mlflow/projects/databricks.py): the version the test suite runs
 * (tests/requirements.txt; t0004 checks that they agree). */
#define DBM_MLFLOW_VERSION "3.17.2"

#include <signal.h>

#include "err.h"
#include "http.h"
#include "mlproject.h"

/* Exit codes of mlflow-submit (documented in its man page). */
enum {
	DBM_SUBMIT_OK = 0,
	DBM_SUBMIT_FAILED = 1,		/* the run failed */
	DBM_SUBMIT_USAGE = 2,		/* bad arguments or project; nothing sent */
	DBM_SUBMIT_TIMEDOUT = 3,	/* the run, or --timeout, timed out */
	DBM_SUBMIT_CANCELED = 4,	/* the run was cancelled */
	DBM_SUBMIT_INFRA = 5,		/* internal error, library installation */
	DBM_SUBMIT_API = 6,		/* the API refused or could not be reached */
	DBM_SUBMIT_AUTH = DBM_EXIT_AUTH,	/* authentication failed */
	DBM_SUBMIT_INTERRUPTED = 130,	/* SIGINT/SIGTERM: run cancelled */
};

struct dbm_submit_opts {
	const char *uri;		/* project: directory, file:// or git URI,
					 * with #subdir */
	const char *version;		/* git commit, branch or tag, or NULL */
	const char *source;		/* the project the run records as its
					 * source, when uri is a copy; or NULL */
	const char *entry;		/* entry point (main) */
	struct dbm_kv *params;
	int nparams;
	const char *experiment_name, *experiment_id;
	const char *backend_config;	/* JSON file or JSON text, flat or
					 * wrapped */
	const char *run_name;
	const char *run_id;		/* an existing MLflow run, or NULL */
	const char *cluster_id;		/* an all-purpose cluster, or NULL */
	int start_cluster;		/* start it when it is terminated */
	int restart_cluster;		/* restart it when it holds another
					 * build of a wheel of the run */
	int allow_stale;		/* run anyway (a warning) */
	int serverless;			/* serverless compute (python mode) */
	const char *env_version;	/* its environment_version default */
	const char *code_dir;		/* where the project tarball and the
					 * launcher go (dbfs:/, /Volumes/,
					 * /Workspace/), or NULL: in shell
					 * mode MLflow's DBFS folder, else the
					 * user's workspace folder */
	int legacy_workspace;		/* the workspace has the DBFS root
					 * and runtimes before 13.3 (else
					 * they are refused before sending) */
	const char *env_manager;	/* for the cluster's mlflow run */
	const char *mode;		/* auto, shell, python */
	const char *mlflow_req;		/* pypi requirement added, or NULL:
					 * mlflow==DBM_MLFLOW_VERSION in shell
					 * mode, mlflow in python mode */
	int wait;
	long timeout;			/* seconds of waiting, 0: none */
	long poll_max;			/* longest pause between polls (s) */
	long log_interval;		/* without a terminal: a state line
					 * this often (s; 60) */
	int json, quiet, dry_run;
	volatile sig_atomic_t *interrupted;
};

struct dbm_submit_result {
	char *experiment_id, *mlflow_run_id, *run_page_url;
	char *life, *result, *message;
	long long run_id, task_run_id, job_id;
	char *logs;
	char *mode;
	char *job_spec;			/* the runs/submit body (a dry run's has
					 * <placeholders> for ids) */
	int code;			/* exit code */
};

/* Returns the exit code; r is filled as far as the run got. Errors are
 * printed on stderr as they happen. */
int dbm_submit(struct dbm_http *h, const struct dbm_submit_opts *o,
    struct dbm_submit_result *r);
void dbm_submit_result_free(struct dbm_submit_result *r);

#endif
