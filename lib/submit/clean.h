/*
 * What a branch leaves in a workspace, removed (branch-clean): its wheel
 * folder's content folders, its experiments (into MLflow's trash) and the
 * project code mlflow-submit uploaded for them. Never what an active run
 * uses: the active runs are listed (with their tasks, libraries and
 * parameters) after the folders, so a run submitted before the listing is
 * seen, and a folder younger than min_age is kept for a pipeline between
 * its upload and its submit.
 */
#ifndef DBM_CLEAN_H
#define DBM_CLEAN_H

#include "err.h"
#include "http.h"

struct dbm_clean_opts {
	const char *wheel_dir;		/* the branch's wheel folder, or NULL */
	const char *const *experiments;	/* experiment names */
	int nexperiments;
	int keep;		/* keep the newest keep content folders, and
				 * the experiments; -1: remove all unused */
	long long min_age;	/* seconds: younger folders are kept */
	int legacy;		/* the workspace has a DBFS root (code there) */
	int dry_run;		/* say what would go, remove nothing */
	/* one line a decision ("removed x", "kept x: ..."), without '\n' */
	void (*say)(void *arg, const char *line);
	void *arg;
};

/* 0 when all went that should, 1 when some removal failed (said), -1
 * with e when nothing could be decided (listing refused, credentials). */
int dbm_clean(struct dbm_http *h, const struct dbm_clean_opts *o,
    struct dbm_err *e);

#endif
