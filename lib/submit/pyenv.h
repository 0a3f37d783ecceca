/*
 * A project's Python dependencies for python mode (pyenv.c): the pip
 * requirements of its conda env (the pip: section) or python_env
 * (dependencies), found as MLflow finds them (the MLproject's conda_env or
 * python_env, else python_env.yaml, else conda.yaml), become task
 * libraries, pins kept: wheel paths as whl libraries in the URI form the
 * Libraries API takes, anything else as pypi packages. What cannot travel
 * (conda-only packages, pip options, a Python pin) is named in a warning.
 */
#ifndef DBM_PYENV_H
#define DBM_PYENV_H

#include "err.h"
#include "mlproject.h"

struct dbm_pyenv {
	char *file;		/* the environment file read, or NULL */
	char **pypi;		/* requirement specifiers */
	int npypi;
	char **whl;		/* dbfs:/..., /Volumes/..., /Workspace/... */
	int nwhl;
	int has_mlflow;		/* the requirements name mlflow */
};

/* Read p's environment (none is not an error). Warnings go to stderr;
 * a wheel that cannot reach a cluster (a local path, a placeholder left)
 * is an error. */
int dbm_pyenv_load(const struct dbm_mlproject *p, struct dbm_pyenv *env,
    struct dbm_err *e);
void dbm_pyenv_free(struct dbm_pyenv *env);
/* The environment file of p as MLflow picks it (malloc'd path under
 * p->dir, *is_conda set), or NULL when it has none. */
char *dbm_pyenv_file(const struct dbm_mlproject *p, int *is_conda);

#endif
