/*
 * MLflow tracking calls for running a project (mlflowrun.c).
 */
#ifndef DBM_MLFLOWRUN_H
#define DBM_MLFLOWRUN_H

#include "err.h"
#include "http.h"
#include "mlproject.h"

/* The experiment id (malloc'd) for name, creating the experiment (and
 * its workspace folder) when it does not exist. */
int dbm_mlflow_experiment(struct dbm_http *h, const char *name, char **id,
    struct dbm_err *e);

/* The id (malloc'd) of the newest finished run of experiment name:
 * 1 with *id, 0 when the experiment or such a run does not exist, -1
 * when the workspace refused. */
int dbm_mlflow_last_run(struct dbm_http *h, const char *name, char **id,
    struct dbm_err *e);

/* The workspace user the credential stands for (SCIM Me's userName:
 * an e-mail, or a service principal's application id), or NULL. */
char *dbm_workspace_user(struct dbm_http *h, struct dbm_err *e);

/* An MLflow run of a project, as `mlflow run` records it. */
struct dbm_mlflow_run {
	const char *experiment_id;
	const char *project;		/* local directory: source tags */
	const char *source_uri;		/* a fetched project's URI, or NULL */
	const char *repo;		/* its repository, credentials removed */
	const char *version;		/* -v as given, or NULL */
	const char *entry;		/* entry point */
	const char *run_name;		/* or NULL */
	const struct dbm_kv *params;	/* logged as the run's parameters */
	int nparams;
};

/* Create the run (tags, then parameters); *id gets its run id. */
int dbm_mlflow_run_create(struct dbm_http *h, const struct dbm_mlflow_run *o,
    char **id, struct dbm_err *e);
int dbm_mlflow_set_tag(struct dbm_http *h, const char *run, const char *k,
    const char *v, struct dbm_err *e);
/* Experiment eid's code folder, the one place it is spelled: the user's
 * workspace folder's (python mode), or with user NULL MLflow's on DBFS
 * (shell mode); without its /projects-code. Malloc'd. */
char *dbm_code_folder(const char *user, const char *eid);
/* End the run with status FINISHED, FAILED or KILLED (errors printed). */
void dbm_mlflow_run_end(struct dbm_http *h, const char *run_id,
    const char *status);

#endif
