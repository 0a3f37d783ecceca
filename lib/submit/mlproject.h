/*
 * MLproject files as MLflow reads them (PROTOCOL.md section 9): entry
 * points, parameters with types and defaults, the environment file, and
 * the databricks_spark_job section. Parameter checks and command templating
 * (with shell quoting) happen here, before anything is sent.
 */
#ifndef DBM_MLPROJECT_H
#define DBM_MLPROJECT_H

#include "buf.h"
#include "err.h"

struct dbm_param {
	char *name, *type, *def;	/* def NULL: required */
	long line, col;
};

struct dbm_entry {
	char *name, *command;
	struct dbm_param *p;
	int np;
};

struct dbm_mlproject {
	char *dir, *file;	/* project directory and MLproject path */
	char *name;
	char *conda_env, *python_env, *docker_env;
	struct dbm_entry *e;
	int ne;
	char *spark_python_file;	/* databricks_spark_job.python_file */
	char **spark_params;		/* databricks_spark_job.parameters */
	int nspark_params;
	char **spark_libs;		/* databricks_spark_job.python_libraries */
	int nspark_libs;
};

/* A parameter value as given (-P k=v). */
struct dbm_kv {
	char *k, *v;
};

/* Load dir/MLproject (matched case-insensitively; none is allowed). */
int dbm_mlproject_load(const char *dir, struct dbm_mlproject *p,
    struct dbm_err *e);
void dbm_mlproject_free(struct dbm_mlproject *p);

/*
 * Check the parameters of entry point ep against its declaration and fill
 * in defaults: *out gets every declared parameter (given or default) and
 * then the undeclared ones, in order. Errors name every missing parameter.
 * cmd (when non-NULL) gets the command, values shell-quoted, undeclared
 * parameters appended as --key value.
 */
int dbm_mlproject_resolve(const struct dbm_mlproject *p, const char *ep,
    const struct dbm_kv *given, int ngiven, struct dbm_kv **out, int *nout,
    struct dbm_buf *cmd, struct dbm_err *e);
void dbm_kv_free(struct dbm_kv *kv, int n);

/* Append s quoted for a POSIX shell (as Python's shlex.quote). */
void dbm_shquote(struct dbm_buf *b, const char *s);

#endif
