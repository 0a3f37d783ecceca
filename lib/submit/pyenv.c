/* Python dependencies of a project: see pyenv.h. */
#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "pyenv.h"
#include "yamldoc.h"

#define REQ_DEPTH 8	/* -r files within -r files */

static void
add(char ***v, int *n, const char *s)
{
	int i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	*v = dbm_xrealloc(*v, (size_t)(*n + 1) * sizeof(**v));
	(*v)[(*n)++] = dbm_xstrdup(s);
}

/* The distribution name of a requirement, lowercased, - for _ and . */
static void
dist_name(const char *req, char *out, size_t n)
{
	size_t i = 0;

	for (; *req && !strchr("=<>!~;[ @\t", *req) && i + 1 < n; req++)
		out[i++] = *req == '_' || *req == '.' ? '-' :
		    (char)tolower((unsigned char)*req);
	out[i] = '\0';
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* A wheel path as a library URI: /dbfs/x is dbfs:/x; dbfs:/, /Volumes/
 * and /Workspace/ paths stay as they are. */
static int
wheel(struct dbm_pyenv *env, const char *req, const char *file, long line,
    long col, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;

	if (strncmp(req, "/dbfs/", 6) == 0)
		dbm_buf_printf(&b, "dbfs:/%s", req + 6);
	else if (strncmp(req, "dbfs:/", 6) == 0 ||
	    strncmp(req, "/Volumes/", 9) == 0 ||
	    strncmp(req, "/Workspace/", 11) == 0)
		dbm_buf_adds(&b, req);
	else
		return dbm_err_input(e, file, line, col, "wheel %s is a path on "
		    "this machine, which a cluster cannot install: upload it "
		    "(dbfs-put) and name its dbfs:/, /Volumes/ or /Workspace/ "
		    "path", req);
	add(&env->whl, &env->nwhl, b.data);
	dbm_buf_free(&b);
	return 0;
}

static int requirement(struct dbm_pyenv *env, const char *line,
    const char *file, long lineno, long col, int depth, struct dbm_err *e);

/* A requirements file named by -r, relative to the file naming it. */
static int
req_file(struct dbm_pyenv *env, const char *name, const char *from,
    long lineno, long col, int depth, struct dbm_err *e)
{
	struct dbm_buf path = DBM_BUF_INIT, text = DBM_BUF_INIT;
	const char *slash = strrchr(from, '/');
	char *p, *nl;
	long n = 0;
	int rc = -1;

	if (depth >= REQ_DEPTH)
		return dbm_err_input(e, from, lineno, col, "-r files nested "
		    "deeper than %d", REQ_DEPTH);
	if (name[0] != '/' && slash)
		dbm_buf_printf(&path, "%.*s/", (int)(slash - from), from);
	dbm_buf_adds(&path, name);
	if (dbm_buf_read_file(&text, path.data, DBM_CONFIG_MAX) < 0) {
		if (errno == EFBIG)
			dbm_errf(e, DBM_E_INPUT, "%s: larger than %zu bytes",
			    path.data, DBM_CONFIG_MAX);
		else
			dbm_err_sys(e, "%s", path.data);
		goto out;
	}
	for (p = text.len ? text.data : NULL; p && *p; p = nl) {
		char *hash;

		n++;
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		if ((hash = strstr(p, " #")) != NULL || (hash = strchr(p,
		    '#')) == p)
			*hash = '\0';
		if (requirement(env, p, path.data, n, 1, depth + 1, e) < 0)
			goto out;
	}
	rc = 0;
out:
	dbm_buf_free(&path);
	dbm_buf_free(&text);
	return rc;
}

static int
requirement(struct dbm_pyenv *env, const char *line, const char *file,
    long lineno, long col, int depth, struct dbm_err *e)
{
	char *r = dbm_xstrdup(line + strspn(line, " \t")), name[128];
	size_t n = strlen(r);
	int rc = 0;

	while (n > 0 && strchr(" \t\r", r[n - 1]))
		r[--n] = '\0';
	if (n == 0)
		goto out;
	if (strstr(r, "WHEELPATH")) {
		rc = dbm_err_input(e, file, lineno, col, "%s: a wheel placeholder "
		    "is left: run wheelpath-subst first", r);
	} else if (strncmp(r, "-r", 2) == 0 ||
	    strncmp(r, "--requirement", 13) == 0) {
		const char *f = r + (r[1] == 'r' ? 2 : 13);

		f += strspn(f, " \t=");
		rc = req_file(env, f, file, lineno, col, depth, e);
	} else if (r[0] == '-') {
		dbm_say_warn("%s:%ld:%ld: pip option '%s' is not carried to the "
		    "cluster (a task library is one package)", file, lineno, col,
		    r);
	} else if (ends_with(r, ".whl")) {
		rc = wheel(env, r, file, lineno, col, e);
	} else {
		dist_name(r, name, sizeof(name));
		if (strcmp(name, "mlflow") == 0 ||
		    strcmp(name, "mlflow-skinny") == 0)
			env->has_mlflow = 1;
		add(&env->pypi, &env->npypi, r);
	}
out:
	free(r);
	return rc;
}

/* The pip requirements of a sequence node (python_env's dependencies or
 * a conda env's pip: list). */
static int
pip_list(struct dbm_pyenv *env, yaml_document_t *d, yaml_node_t *n,
    struct dbm_err *e)
{
	yaml_node_item_t *it;

	if (n == NULL)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return dbm_yaml_bad(e, env->file, n, "expected a list of pip "
		    "requirements");
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		yaml_node_t *v = yaml_document_get_node(d, *it);
		const char *s = dbm_yaml_str(v);

		if (s == NULL)
			return dbm_yaml_bad(e, env->file, v, "expected a pip "
			    "requirement");
		if (requirement(env, s, env->file, (long)v->start_mark.line + 1,
		    (long)v->start_mark.column + 1, 0, e) < 0)
			return -1;
	}
	return 0;
}

static int
conda(struct dbm_pyenv *env, yaml_document_t *d, yaml_node_t *root,
    struct dbm_err *e)
{
	yaml_node_t *deps = dbm_yaml_get(d, root, "dependencies");
	yaml_node_item_t *it;
	struct dbm_buf skipped = DBM_BUF_INIT;
	int rc = 0;

	if (deps == NULL)
		return 0;
	if (deps->type != YAML_SEQUENCE_NODE)
		return dbm_yaml_bad(e, env->file, deps, "dependencies: expected "
		    "a list");
	for (it = deps->data.sequence.items.start;
	    it < deps->data.sequence.items.top && rc == 0; it++) {
		yaml_node_t *v = yaml_document_get_node(d, *it);
		const char *s = dbm_yaml_str(v), *c;
		char name[128];

		if (s == NULL) {
			rc = pip_list(env, d, dbm_yaml_get(d, v, "pip"), e);
			continue;
		}
		if ((c = strstr(s, "::")) != NULL)	/* channel::name */
			s = c + 2;
		dist_name(s, name, sizeof(name));
		if (strcmp(name, "pip") == 0)
			continue;
		if (strcmp(name, "python") == 0) {
			if (strlen(s) > 6)
				dbm_say_warn("%s:%ld: %s: the Databricks runtime "
				    "(or serverless environment version) decides "
				    "the Python version", env->file,
				    (long)v->start_mark.line + 1, s);
			continue;
		}
		dbm_buf_printf(&skipped, "%s%s", skipped.len ? ", " : "", s);
	}
	if (rc == 0 && skipped.len)
		dbm_say_warn("%s: conda packages are not installed in python mode: "
		    "%s (list the ones PyPI has under pip:)", env->file,
		    skipped.data);
	dbm_buf_free(&skipped);
	return rc;
}

char *
dbm_pyenv_file(const struct dbm_mlproject *p, int *is_conda)
{
	static const char *const defaults[] = {"python_env.yaml",
		"conda.yaml"};
	struct dbm_buf b = DBM_BUF_INIT;
	size_t i;

	*is_conda = p->conda_env != NULL;
	if (p->conda_env || p->python_env) {
		dbm_buf_printf(&b, "%s/%s", p->dir, p->conda_env ? p->conda_env :
		    p->python_env);
		return dbm_buf_detach(&b);
	}
	for (i = 0; i < sizeof(defaults) / sizeof(*defaults); i++) {
		dbm_buf_reset(&b);
		dbm_buf_printf(&b, "%s/%s", p->dir, defaults[i]);
		if (access(b.data, F_OK) == 0) {
			*is_conda = i == 1;
			return dbm_buf_detach(&b);
		}
	}
	dbm_buf_free(&b);
	return NULL;
}

int
dbm_pyenv_load(const struct dbm_mlproject *p, struct dbm_pyenv *env,
    struct dbm_err *e)
{
	yaml_document_t doc;
	yaml_node_t *root;
	int is_conda, rc;

	memset(env, 0, sizeof(*env));
	if (p->docker_env || (env->file = dbm_pyenv_file(p, &is_conda)) == NULL)
		return 0;
	if (dbm_yaml_load(env->file, &doc, e) < 0)
		return -1;
	root = yaml_document_get_root_node(&doc);
	if (root->type != YAML_MAPPING_NODE)
		rc = dbm_yaml_bad(e, env->file, root, "an environment file is a "
		    "mapping");
	else if (is_conda)
		rc = conda(env, &doc, root, e);
	else
		rc = pip_list(env, &doc, dbm_yaml_get(&doc, root,
		    "dependencies"), e);
	yaml_document_delete(&doc);
	return rc;
}

void
dbm_pyenv_free(struct dbm_pyenv *env)
{
	int i;

	for (i = 0; i < env->npypi; i++)
		free(env->pypi[i]);
	for (i = 0; i < env->nwhl; i++)
		free(env->whl[i]);
	free(env->pypi);
	free(env->whl);
	free(env->file);
	memset(env, 0, sizeof(*env));
}
