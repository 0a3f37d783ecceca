/* MLproject parsing and parameter checks: see mlproject.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "mlproject.h"
#include "yamldoc.h"

void
dbm_shquote(struct dbm_buf *b, const char *s)
{
	const char *p;
	int safe = *s != '\0';

	for (p = s; *p && safe; p++)
		safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("@%+=:,./-_", *p);
	if (safe) {
		dbm_buf_adds(b, s);
		return;
	}
	dbm_buf_addc(b, '\'');
	for (p = s; *p; p++) {
		if (*p == '\'')
			dbm_buf_adds(b, "'\"'\"'");
		else
			dbm_buf_addc(b, *p);
	}
	dbm_buf_addc(b, '\'');
}

static char *
scalar(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return dbm_xstrdup((char *)n->data.scalar.value);
}

/* A list of scalars (absent is empty). */
static int
seq(yaml_document_t *d, yaml_node_t *n, char ***out, int *nout,
    const char *file, struct dbm_err *e)
{
	yaml_node_item_t *it;

	if (n == NULL)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return dbm_yaml_bad(e, file, n, "expected a list");
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		char *v = scalar(yaml_document_get_node(d, *it));

		if (v == NULL)
			return dbm_yaml_bad(e, file, n, "expected a list of strings");
		*out = dbm_xrealloc(*out, (size_t)(*nout + 1) * sizeof(**out));
		(*out)[(*nout)++] = v;
	}
	return 0;
}

static int
load_params(yaml_document_t *d, yaml_node_t *pn, struct dbm_entry *en,
    const char *file, struct dbm_err *e)
{
	yaml_node_pair_t *pr;

	if (pn == NULL)
		return 0;
	if (pn->type != YAML_MAPPING_NODE)
		return dbm_yaml_bad(e, file, pn, "parameters must be a mapping");
	for (pr = pn->data.mapping.pairs.start; pr < pn->data.mapping.pairs.top;
	    pr++) {
		yaml_node_t *k = yaml_document_get_node(d, pr->key);
		yaml_node_t *v = yaml_document_get_node(d, pr->value);
		struct dbm_param p = {0};

		if ((p.name = scalar(k)) == NULL)
			return dbm_yaml_bad(e, file, k, "a parameter's name is a "
			    "string");
		p.line = (long)k->start_mark.line + 1;
		p.col = (long)k->start_mark.column + 1;
		if (v->type == YAML_SCALAR_NODE) {	/* p: type (required) */
			p.type = scalar(v);
		} else if (v->type == YAML_MAPPING_NODE) {
			/* the default as MLflow formats what PyYAML read */
			p.type = scalar(dbm_yaml_get(d, v, "type"));
			p.def = dbm_yaml_pystr(dbm_yaml_get(d, v, "default"));
		} else {
			free(p.name);
			return dbm_yaml_bad(e, file, v, "a parameter is a type or a mapping "
			    "with type and default");
		}
		if (p.type == NULL)
			p.type = dbm_xstrdup("string");
		/* MLflow takes any type: path and uri are handled, float
		 * is checked here, the others are strings */
		en->p = dbm_xrealloc(en->p, (size_t)(en->np + 1) * sizeof(*en->p));
		en->p[en->np++] = p;
	}
	return 0;
}

/* What MLflow's load_project refuses in a databricks_spark_job project. */
static int
spark_job_rules(const struct dbm_mlproject *p, yaml_node_t *n,
    struct dbm_err *e)
{
	int i, k;

	if (p->spark_python_file == NULL && p->ne == 0)
		return dbm_yaml_bad(e, p->file, n, "databricks_spark_job needs "
		    "python_file, or the project needs entry_points");
	if (p->spark_python_file && p->ne > 0)
		return dbm_yaml_bad(e, p->file, n, "databricks_spark_job.python_"
		    "file and entry_points exclude each other");
	if (p->conda_env || p->python_env || p->docker_env)
		return dbm_yaml_bad(e, p->file, n, "databricks_spark_job does "
		    "not take %s: list its packages in python_libraries",
		    p->conda_env ? "conda_env" : p->python_env ? "python_env" :
		    "docker_env");
	for (i = 0; i < p->ne; i++)
		for (k = 0; k < p->e[i].np; k++)
			if (strcmp(p->e[i].p[k].type, "path") == 0)
				return dbm_err_input(e, p->file, p->e[i].p[k].line,
				    p->e[i].p[k].col, "databricks_spark_job "
				    "does not take path parameters (%s)",
				    p->e[i].p[k].name);
	return 0;
}

int
dbm_mlproject_load(const char *dir, struct dbm_mlproject *p, struct dbm_err *e)
{
	DIR *dd;
	struct dirent *de;
	yaml_document_t doc;
	yaml_node_t *root, *eps, *n;
	yaml_node_pair_t *pr;
	int rc = -1, envs = 0;
	struct dbm_buf path = DBM_BUF_INIT;

	memset(p, 0, sizeof(*p));
	p->dir = dbm_xstrdup(dir);
	if ((dd = opendir(dir)) == NULL)
		return dbm_err_sys(e, "%s", dir);
	while ((de = readdir(dd)) != NULL)
		if (strcasecmp(de->d_name, "MLproject") == 0)
			dbm_buf_printf(&path, "%s/%s", dir, de->d_name);
	closedir(dd);
	if (path.len == 0) {	/* no MLproject: entry points are files */
		p->name = dbm_xstrdup("project");
		return 0;
	}
	p->file = dbm_buf_detach(&path);
	if (dbm_yaml_load(p->file, &doc, e) < 0)
		return -1;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		dbm_yaml_bad(e, p->file, root, "an MLproject file is a mapping");
		goto out;
	}
	p->name = scalar(dbm_yaml_get(&doc, root, "name"));
	if ((n = dbm_yaml_get(&doc, root, "conda_env")) != NULL)
		p->conda_env = scalar(n), envs++;
	if ((n = dbm_yaml_get(&doc, root, "python_env")) != NULL)
		p->python_env = scalar(n), envs++;
	if ((n = dbm_yaml_get(&doc, root, "docker_env")) != NULL)
		p->docker_env = dbm_xstrdup("docker"), envs++;
	if (envs > 1) {
		dbm_yaml_bad(e, p->file, n, "only one of conda_env, python_env and "
		    "docker_env may be given");
		goto out;
	}
	n = dbm_yaml_get(&doc, root, "databricks_spark_job");
	p->spark_python_file = scalar(dbm_yaml_get(&doc, n, "python_file"));
	if (seq(&doc, dbm_yaml_get(&doc, n, "parameters"), &p->spark_params,
	    &p->nspark_params, p->file, e) < 0 || seq(&doc, dbm_yaml_get(&doc, n,
	    "python_libraries"), &p->spark_libs, &p->nspark_libs, p->file,
	    e) < 0)
		goto out;
	eps = dbm_yaml_get(&doc, root, "entry_points");
	if (eps && eps->type != YAML_MAPPING_NODE) {
		dbm_yaml_bad(e, p->file, eps, "entry_points must be a mapping");
		goto out;
	}
	for (pr = eps ? eps->data.mapping.pairs.start : NULL;
	    eps && pr < eps->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
		struct dbm_entry en = {0};

		if ((en.name = scalar(k)) == NULL) {
			dbm_yaml_bad(e, p->file, k, "an entry point's name is a "
			    "string");
			goto out;
		}
		en.command = scalar(dbm_yaml_get(&doc, v, "command"));
		if (en.command == NULL) {
			free(en.name);
			dbm_yaml_bad(e, p->file, v, "an entry point needs a command");
			goto out;
		}
		p->e = dbm_xrealloc(p->e, (size_t)(p->ne + 1) * sizeof(*p->e));
		p->e[p->ne++] = en;
		if (load_params(&doc, dbm_yaml_get(&doc, v, "parameters"),
		    &p->e[p->ne - 1], p->file, e) < 0)
			goto out;
	}
	if (n && spark_job_rules(p, n, e) < 0)
		goto out;
	rc = 0;
out:
	yaml_document_delete(&doc);
	return rc;
}

void
dbm_mlproject_free(struct dbm_mlproject *p)
{
	int i, k;

	for (i = 0; i < p->ne; i++) {
		for (k = 0; k < p->e[i].np; k++) {
			free(p->e[i].p[k].name);
			free(p->e[i].p[k].type);
			free(p->e[i].p[k].def);
		}
		free(p->e[i].p);
		free(p->e[i].name);
		free(p->e[i].command);
	}
	free(p->e);
	free(p->dir);
	free(p->file);
	free(p->name);
	free(p->conda_env);
	free(p->python_env);
	free(p->docker_env);
	free(p->spark_python_file);
	for (i = 0; i < p->nspark_params; i++)
		free(p->spark_params[i]);
	free(p->spark_params);
	for (i = 0; i < p->nspark_libs; i++)
		free(p->spark_libs[i]);
	free(p->spark_libs);
	memset(p, 0, sizeof(*p));
}

void
dbm_kv_free(struct dbm_kv *kv, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(kv[i].k);
		free(kv[i].v);
	}
	free(kv);
}

static const char *
given_value(const struct dbm_kv *g, int n, const char *k)
{
	int i;

	for (i = n - 1; i >= 0; i--)
		if (strcmp(g[i].k, k) == 0)
			return g[i].v;
	return NULL;
}

static int
check_type(const struct dbm_mlproject *p, const struct dbm_param *pa,
    const char *v, struct dbm_err *e)
{
	char *end;

	if (strcmp(pa->type, "float") == 0) {
		errno = 0;
		strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno)
			return dbm_err_input(e, p->file, pa->line, pa->col,
			    "parameter %s: '%s' is not a float", pa->name, v);
	} else if (strcmp(pa->type, "uri") == 0) {
		const char *c = strchr(v, ':');

		if (c == NULL || c == v)
			return dbm_err_input(e, p->file, pa->line, pa->col,
			    "parameter %s: '%s' is not a URI (it has no "
			    "scheme)", pa->name, v);
	}
	return 0;
}

static void
kv_add(struct dbm_kv **kv, int *n, const char *k, const char *v)
{
	*kv = dbm_xrealloc(*kv, (size_t)(*n + 1) * sizeof(**kv));
	(*kv)[*n].k = dbm_xstrdup(k);
	(*kv)[(*n)++].v = dbm_xstrdup(v);
}

/* An undeclared script (-e x.py or x.sh) runs as python or $SHELL, the
 * parameters given as --name value. */
static int
bare_script(const struct dbm_mlproject *p, const char *ep,
    const struct dbm_kv *given, int ngiven, struct dbm_kv **out, int *nout,
    struct dbm_buf *cmd, struct dbm_err *e)
{
	struct dbm_buf f = DBM_BUF_INIT;
	size_t l = strlen(ep);
	int i, there;

	dbm_buf_printf(&f, "%s/%s", p->dir, ep);
	there = access(f.data, F_OK) == 0;
	dbm_buf_free(&f);
	if (!there)
		return dbm_errf(e, DBM_E_USAGE, "no entry point '%s', and no "
		    "such script in %s", ep, p->dir);
	if (cmd) {
		dbm_buf_adds(cmd, strcmp(ep + l - 3, ".py") == 0 ? "python " :
		    "$SHELL ");
		dbm_shquote(cmd, ep);
	}
	for (i = 0; i < ngiven; i++) {
		kv_add(out, nout, given[i].k, given[i].v);
		if (cmd) {
			dbm_buf_printf(cmd, " --%s ", given[i].k);
			dbm_shquote(cmd, given[i].v);
		}
	}
	return 0;
}

/* No entry point ep: what the project has instead. */
static int
no_entry(const struct dbm_mlproject *p, const char *ep, struct dbm_err *e)
{
	struct dbm_buf have = DBM_BUF_INIT;
	int i;

	if (p->file == NULL)
		return dbm_errf(e, DBM_E_USAGE, "%s has no MLproject file, so "
		    "no entry point '%s': add an MLproject file "
		    "(https://mlflow.org/docs/latest/projects.html), or give -e "
		    "script.py (or .sh) to run a bare script", p->dir, ep);
	for (i = 0; i < p->ne; i++)
		dbm_buf_printf(&have, "%s%s", i ? ", " : "", p->e[i].name);
	dbm_errf(e, DBM_E_USAGE, "no entry point '%s' in %s (it has %s; -e "
	    "script.py runs a bare script)", ep, p->file,
	    p->ne ? have.data : "none");
	dbm_buf_free(&have);
	return -1;
}

/* The declared parameters, given or defaulted and checked, then the
 * undeclared ones given. */
static int
fill_params(const struct dbm_mlproject *p, const struct dbm_entry *en,
    const struct dbm_kv *given, int ngiven, struct dbm_kv **out, int *nout,
    struct dbm_err *e)
{
	struct dbm_buf missing = DBM_BUF_INIT;
	const struct dbm_param *pa;
	const char *v;
	int i, k, nmiss = 0, declared;

	for (k = 0; k < en->np; k++) {
		pa = &en->p[k];
		if ((v = given_value(given, ngiven, pa->name)) == NULL)
			v = pa->def;
		if (v == NULL) {
			dbm_buf_printf(&missing, "%s%s", nmiss++ ? ", " : "",
			    pa->name);
			continue;
		}
		if (check_type(p, pa, v, e) < 0) {
			dbm_buf_free(&missing);
			return -1;
		}
		kv_add(out, nout, pa->name, v);
	}
	if (nmiss) {
		dbm_errf(e, DBM_E_USAGE, "entry point %s: missing required "
		    "parameter%s: %s (give -P name=value)", en->name,
		    nmiss > 1 ? "s" : "", missing.data);
		dbm_buf_free(&missing);
		return -1;
	}
	for (i = 0; i < ngiven; i++) {	/* undeclared ones go last */
		for (declared = 0, k = 0; k < en->np; k++)
			declared |= strcmp(en->p[k].name, given[i].k) == 0;
		if (!declared && given_value(*out, *nout, given[i].k) == NULL)
			kv_add(out, nout, given[i].k,
			    given_value(given, ngiven, given[i].k));
	}
	return 0;
}

/* The command as MLflow's str.format makes it: {name} gets the quoted
 * value, {{ and }} are braces; undeclared parameters follow as --k v. */
static int
format_command(const struct dbm_entry *en, const struct dbm_kv *kv, int n,
    struct dbm_buf *cmd, struct dbm_err *e)
{
	const char *c = en->command, *close, *v;
	char *name;
	int i;

	while (*c) {
		if ((c[0] == '{' && c[1] == '{') || (c[0] == '}' && c[1] == '}')) {
			dbm_buf_addc(cmd, c[0]);
			c += 2;
		} else if (*c == '{') {
			if ((close = strchr(c, '}')) == NULL)
				return dbm_errf(e, DBM_E_USAGE, "entry point %s: "
				    "unbalanced '{' in its command", en->name);
			name = dbm_xstrndup(c + 1, (size_t)(close - c - 1));
			if ((v = given_value(kv, n, name)) == NULL) {
				dbm_errf(e, DBM_E_USAGE, "entry point %s: its "
				    "command uses {%s}, which is not a "
				    "parameter", en->name, name);
				free(name);
				return -1;
			}
			dbm_shquote(cmd, v);
			free(name);
			c = close + 1;
		} else {
			dbm_buf_addc(cmd, *c++);
		}
	}
	for (i = en->np; i < n; i++) {
		dbm_buf_printf(cmd, " --%s ", kv[i].k);
		dbm_shquote(cmd, kv[i].v);
	}
	return 0;
}

int
dbm_mlproject_resolve(const struct dbm_mlproject *p, const char *ep,
    const struct dbm_kv *given, int ngiven, struct dbm_kv **out, int *nout,
    struct dbm_buf *cmd, struct dbm_err *e)
{
	const struct dbm_entry *en = NULL;
	size_t l = strlen(ep);
	int i;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < p->ne; i++)
		if (strcmp(p->e[i].name, ep) == 0)
			en = &p->e[i];
	if (en == NULL) {
		if (l > 3 && (strcmp(ep + l - 3, ".py") == 0 ||
		    strcmp(ep + l - 3, ".sh") == 0))
			return bare_script(p, ep, given, ngiven, out, nout, cmd,
			    e);
		return no_entry(p, ep, e);
	}
	if (fill_params(p, en, given, ngiven, out, nout, e) == 0 &&
	    (cmd == NULL || format_command(en, *out, *nout, cmd, e) == 0))
		return 0;
	dbm_kv_free(*out, *nout);
	*out = NULL;
	*nout = 0;
	return -1;
}
