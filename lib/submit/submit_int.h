/*
 * What the phases of dbm_submit share (submit.c runs them; submit_check.c
 * holds the checks made before anything is sent): the submission in
 * progress, and the checks each phase calls.
 */
#ifndef DBM_SUBMIT_INT_H
#define DBM_SUBMIT_INT_H

#include "buf.h"
#include "err.h"
#include "http.h"
#include "jobspec.h"
#include "mlproject.h"
#include "projsrc.h"
#include "pyenv.h"
#include "remote.h"

struct dbm_submit_opts;
struct dbm_submit_result;

/* One submission in progress. */
struct submit {
	struct dbm_http *h;
	const struct dbm_submit_opts *o;
	struct dbm_submit_result *r;
	struct dbm_err e;
	struct dbm_projsrc src;		/* where the project is */
	const char *dir;		/* its directory here */
	struct dbm_mlproject p;
	int have_project;
	struct dbm_kv *params;		/* resolved: declared, then undeclared */
	int np;
	struct dbm_backend backend;
	struct dbm_pyenv env;		/* python mode: the project's libraries */
	/* the project tarball */
	char tmpdir[32];
	struct dbm_buf tarpath;
	char sha[65];
	struct dbm_remote code;		/* the folder of tarball and launcher */
	struct dbm_buf tarball;		/* the tarball's path there */
	struct dbm_buf body;		/* runs/submit */
};

/* Print the error; its exit code (authentication failures have one of
 * their own, whatever the step). */
int submit_fail(struct submit *s, int code);
/* An experiment name must be an absolute workspace path: the service
 * refuses anything else (PROTOCOL.md section 10). */
int submit_check_experiment(struct submit *s);
/* Parameters given that the entry point does not declare still reach its
 * command (as --name value, as mlflow run passes them): said, since a typo
 * in a name would otherwise go unnoticed. */
void submit_warn_undeclared(struct submit *s);
/* --cluster-id: the run's compute is that cluster; a backend config, when
 * given, only adds its libraries (and may not describe another cluster). */
int submit_cluster_libraries(struct submit *s);
/* --cluster-id: the cluster exists and runs (started and waited for with
 * --start-cluster); its runtime picks the mode. Nothing is created before:
 * a terminated cluster without --start-cluster is an error and no run. */
int submit_check_cluster(struct submit *s);
/* --cluster-id: the run's wheels that the cluster would not install
 * (another build of a name and version it has, PROTOCOL.md section 17):
 * an error (exit 2), or with --restart-cluster a restart first, or with
 * --allow-stale a warning. */
int submit_check_stale(struct submit *s);
/* The compute: a new cluster (a backend config), an all-purpose cluster
 * (--cluster-id) or serverless (--serverless, or a config holding an
 * environment spec); one of them. */
int submit_check_compute(struct submit *s);
int submit_check_serverless_paths(struct submit *s);
/* What a workspace of a new account refuses (PROTOCOL.md section 15),
 * refused here before anything is sent, with the way out: a runtime
 * before 13.3 LTS, a library or the code folder on the DBFS root. */
int submit_check_new_workspace(struct submit *s);

#endif
