/*
 * workspace-emu jobs: the command of a task, from its JSON, as the runtime
 * builds it: shell_command_task's array, python and spark_python_task's
 * file, or the cluster launcher's wheel-task for python_wheel_task. Paths
 * are mapped into the data directory (jobs_map_paths).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

/* A growing NULL-terminated argument vector. */
struct argv {
	char **v;
	int n;
};

static void
push(struct argv *a, char *s)
{
	a->v = dbm_xrealloc(a->v, (size_t)(a->n + 2) * sizeof(*a->v));
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/* Each string of JSON array arr, paths mapped. */
static void
push_strings(struct emu *e, struct task *t, struct argv *a,
    const struct dbm_json *j, int arr)
{
	int i, k = dbm_json_count(j, arr);
	char *w;

	for (i = 0; i < k; i++) {
		w = dbm_json_strdup(j, dbm_json_elem(j, arr, i));
		push(a, jobs_map_paths(e, t->dir, w ? w : ""));
		free(w);
	}
}

/* shell_command_task: the command array, its program found in /usr/bin
 * or /bin when it has no slash, and its env_vars. */
static int
shell_argv(struct emu *e, struct task *t, const struct dbm_json *j,
    struct argv *a, char ***envp, int *nenv, char **err)
{
	const char *dirs[] = {"/usr/bin/", "/bin/", NULL};
	int cmd = dbm_json_member(j, 0, "command"), i;
	struct dbm_buf f = DBM_BUF_INIT;

	if (dbm_json_type(j, cmd) != DBM_JSON_ARRAY ||
	    dbm_json_count(j, cmd) == 0) {
		*err = dbm_xstrdup("shell_command_task.command must be a "
		    "non-empty array");
		return -1;
	}
	push_strings(e, t, a, j, cmd);
	for (i = 0; a->v[0][0] != '/' && dirs[i]; i++) {
		dbm_buf_reset(&f);
		dbm_buf_printf(&f, "%s%s", dirs[i], a->v[0]);
		if (access(f.data, X_OK) == 0) {
			free(a->v[0]);
			a->v[0] = dbm_buf_detach(&f);
		}
	}
	dbm_buf_free(&f);
	*envp = jobs_env_object(e, t, j, dbm_json_member(j, 0, "env_vars"),
	    *envp, nenv, NULL);
	return 0;
}

/* spark_python_task: python, the file, its parameters. */
static int
python_file_argv(struct emu *e, struct task *t, const struct dbm_json *j,
    struct argv *a, const char *py, char **err)
{
	char *f = dbm_json_get_str(j, "python_file");

	if (f == NULL) {
		*err = dbm_xstrdup("spark_python_task.python_file is required");
		return -1;
	}
	push(a, dbm_xstrdup(py));
	push(a, jobs_map_paths(e, t->dir, f));
	free(f);
	push_strings(e, t, a, j, dbm_json_member(j, 0, "parameters"));
	return 0;
}

/* python_wheel_task: the launcher's wheel-task with the package, entry
 * point, parameters and named parameters as --name=value. */
static int
wheel_argv(struct emu *e, struct task *t, const struct dbm_json *j,
    struct argv *a, const char *py, char **err)
{
	char *pkg = dbm_json_get_str(j, "package_name");
	char *ep = dbm_json_get_str(j, "entry_point");
	int np = dbm_json_member(j, 0, "named_parameters"), i, k, m;
	struct dbm_buf b = DBM_BUF_INIT;
	char *name, *val, *mapped;

	if (pkg == NULL || ep == NULL) {
		free(pkg);
		free(ep);
		*err = dbm_xstrdup("python_wheel_task needs package_name and "
		    "entry_point");
		return -1;
	}
	dbm_buf_printf(&b, "%s/dbmlops_cluster.py", e->jobs->cluster);
	push(a, dbm_xstrdup(py));
	push(a, dbm_buf_detach(&b));
	push(a, dbm_xstrdup("wheel-task"));
	push(a, pkg);
	push(a, ep);
	push_strings(e, t, a, j, dbm_json_member(j, 0, "parameters"));
	if (dbm_json_type(j, np) != DBM_JSON_OBJECT)
		return 0;
	k = dbm_json_count(j, np);
	for (i = 0, m = np + 1; i < k; i++, m = dbm_json_skip(j, m + 1)) {
		name = dbm_json_strdup(j, m);
		val = dbm_json_strdup(j, m + 1);
		mapped = jobs_map_paths(e, t->dir, val ? val : "");
		dbm_buf_printf(&b, "--%s=%s", name ? name : "", mapped);
		push(a, dbm_buf_detach(&b));
		free(name);
		free(val);
		free(mapped);
	}
	return 0;
}

/* The command of a task, paths mapped; NULL with *err when it is bad. */
char **
jobs_task_argv(struct emu *e, struct task *t, const char *venv, char ***envp,
    int *nenv, char **err)
{
	struct dbm_json j;
	struct dbm_err je;
	struct argv a = {NULL, 0};
	struct dbm_buf py = DBM_BUF_INIT;
	int rc;

	if (dbm_json_parse(&j, t->task_json, strlen(t->task_json), "task",
	    &je) < 0) {
		*err = dbm_xstrdup("the task is not valid JSON");
		return NULL;
	}
	dbm_buf_printf(&py, "%s/bin/python", venv);
	if (strcmp(t->kind, "shell_command_task") == 0)
		rc = shell_argv(e, t, &j, &a, envp, nenv, err);
	else if (strcmp(t->kind, "spark_python_task") == 0)
		rc = python_file_argv(e, t, &j, &a, py.data, err);
	else
		rc = wheel_argv(e, t, &j, &a, py.data, err);
	dbm_json_free(&j);
	dbm_buf_free(&py);
	if (rc < 0) {
		jobs_strv_free(a.v);
		return NULL;
	}
	return a.v;
}
