/*
 * mlflow-submit's checks before anything is sent (see submit_int.h): the
 * experiment's name, the parameters, the compute (a new cluster, an
 * all-purpose one and its stale wheels, serverless), and what a workspace
 * of a new account refuses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/clusters.h"
#include "stale.h"
#include "json.h"
#include "submit.h"
#include "submit_int.h"

int
submit_fail(struct submit *s, int code)
{
	dbm_say_err(&s->e);
	return s->e.kind == DBM_E_AUTH ? DBM_SUBMIT_AUTH : code;
}

int
submit_check_experiment(struct submit *s)
{
	const char *n = s->o->experiment_name;

	if (s->o->experiment_id || s->o->run_id)
		return 0;
	if (n == NULL)
		return dbm_errf(&s->e, DBM_E_USAGE, "no experiment: give "
		    "--experiment-name /Users/<you>/<name> (or /Shared/...) or "
		    "--experiment-id, or set MLFLOW_EXPERIMENT_NAME or "
		    "MLFLOW_EXPERIMENT_ID");
	if (n[0] == '/' && n[1] != '\0' && n[strlen(n) - 1] != '/')
		return 0;
	/* "Shared/x", "Users/me/x": the slash is what is missing */
	if (strncmp(n, "Shared/", 7) == 0 || strncmp(n, "Users/", 6) == 0 ||
	    strncmp(n, "Workspace/", 10) == 0)
		return dbm_errf(&s->e, DBM_E_USAGE, "experiment name '%s': a "
		    "Databricks experiment name is an absolute workspace path; "
		    "did you mean /%s?", n, n);
	return dbm_errf(&s->e, DBM_E_USAGE, "experiment name '%s': a "
	    "Databricks experiment name is an absolute workspace path "
	    "such as /Users/<you>/%s or /Shared/%s", n,
	    *n == '/' ? "my-experiment" : n, *n == '/' ? "my-experiment" : n);
}

void
submit_warn_undeclared(struct submit *s)
{
	const struct dbm_entry *en = NULL;
	int i, k;

	for (i = 0; i < s->p.ne; i++)
		if (strcmp(s->p.e[i].name, s->o->entry) == 0)
			en = &s->p.e[i];
	if (en == NULL)		/* a script: parameters are its options */
		return;
	for (i = 0; i < s->o->nparams; i++) {
		int declared = 0;

		for (k = 0; k < en->np; k++)
			declared |= strcmp(en->p[k].name, s->o->params[i].k) == 0;
		if (!declared)
			dbm_say_warn("%s: entry point %s declares no parameter "
			    "'%s': it is passed as --%s %s", s->p.file,
			    en->name, s->o->params[i].k, s->o->params[i].k,
			    s->o->params[i].v);
	}
}

int
submit_cluster_libraries(struct submit *s)
{
	struct dbm_buf in = DBM_BUF_INIT;
	struct dbm_json j;
	const char *cfg = s->o->backend_config;
	int lt, rc = -1;

	s->backend.existing = dbm_xstrdup(s->o->cluster_id);
	if (cfg == NULL)
		return 0;
	if (*cfg == '{' ? (dbm_buf_adds(&in, cfg), 0) :
	    dbm_buf_read_file(&in, cfg, DBM_CONFIG_MAX)) {
		dbm_buf_free(&in);
		if (errno == EFBIG)
			return dbm_errf(&s->e, DBM_E_INPUT, "%s: larger than %zu "
			    "bytes: not a cluster config", cfg, DBM_CONFIG_MAX);
		return dbm_err_sys(&s->e, "%s", cfg);
	}
	if (dbm_json_parse(&j, dbm_buf_str(&in), in.len, cfg, &s->e) < 0)
		goto out;
	if (dbm_json_member(&j, 0, "new_cluster") >= 0 ||
	    dbm_json_member(&j, 0, "spark_version") >= 0)
		dbm_err_input(&s->e, cfg, 1, 1, "a new cluster and --cluster-id "
		    "exclude each other: with --cluster-id the config gives "
		    "only {\"libraries\": [...]}");
	else if ((lt = dbm_json_member(&j, 0, "libraries")) >= 0) {
		size_t l;
		const char *raw = dbm_json_raw(&j, lt, &l);

		s->backend.libs = dbm_xstrndup(raw, l);
		rc = 0;
	} else {
		rc = 0;
	}
	dbm_json_free(&j);
out:
	dbm_buf_free(&in);
	return rc;
}

int
submit_check_cluster(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_json j;
	char *state = NULL;
	double start = 0;
	int code = 0, asked = 0;

	for (;;) {
		free(state);
		state = NULL;
		if (dbm_api_clusters_get(s->h, o->cluster_id, &j, &s->e) < 0) {
			code = submit_fail(s, s->e.status == 400 || s->e.status == 404 ?
			    DBM_SUBMIT_USAGE : DBM_SUBMIT_API);
			break;
		}
		state = dbm_json_get_str(&j, "state");
		free(s->backend.spark_version);
		s->backend.spark_version = dbm_json_get_str(&j, "spark_version");
		dbm_json_free(&j);
		if (state && strcmp(state, "RUNNING") == 0)
			break;
		if (state && (strcmp(state, "TERMINATED") == 0 ||
		    strcmp(state, "TERMINATING") == 0) && !o->start_cluster) {
			dbm_errf(&s->e, DBM_E_USAGE, "cluster %s is %s: start it, "
			    "or give --start-cluster", o->cluster_id, state);
			code = submit_fail(s, DBM_SUBMIT_USAGE);
			break;
		}
		if (!asked && state && strcmp(state, "TERMINATED") == 0) {
			if (dbm_api_clusters_start(s->h, o->cluster_id,
			    &s->e) < 0) {
				code = submit_fail(s, DBM_SUBMIT_API);
				break;
			}
			asked = 1;
			start = 0;
		}
		if (!o->quiet && start == 0)
			dbm_say(DBM_SAY_NOTE, "%s: cluster %s: %s: waiting for it to "
			    "run\n", dbm_prog(), o->cluster_id, state ? state :
			    "unknown");
		if (start == 0)
			start = 1;
		if (o->interrupted && *o->interrupted) {
			code = DBM_SUBMIT_INTERRUPTED;
			break;
		}
		{
			struct timespec ts = {1, 0};

			nanosleep(&ts, NULL);
		}
	}
	free(state);
	return code;
}

int
submit_check_stale(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;
	struct dbm_buf why = DBM_BUF_INIT;
	int stale, code = 0;

	/* the run's wheels: the env's (python mode) and the config's */
	stale = dbm_stale_wheels(s->h, o->cluster_id, strcmp(s->r->mode,
	    "python") == 0 ? s->env.whl : NULL, strcmp(s->r->mode, "python") ==
	    0 ? s->env.nwhl : 0, s->backend.libs, &why, &s->e);
	if (stale < 0)
		code = submit_fail(s, s->e.status == 400 || s->e.status == 404 ?
		    DBM_SUBMIT_USAGE : DBM_SUBMIT_API);
	else if (stale > 0 && o->restart_cluster) {
		dbm_say(DBM_SAY_NOTE, "%s: cluster %s: restarting it: %s",
		    dbm_prog(), o->cluster_id, why.data);
		if (dbm_api_clusters_restart(s->h, o->cluster_id, &s->e) < 0)
			code = submit_fail(s, DBM_SUBMIT_API);
		else
			code = submit_check_cluster(s);
	} else if (stale > 0 && o->allow_stale) {
		dbm_say_warn("cluster %s (--allow-stale): %.*s", o->cluster_id,
		    (int)why.len - 1, why.data);
	} else if (stale > 0) {
		dbm_errf(&s->e, DBM_E_USAGE, "cluster %s keeps what it installed "
		    "until it restarts: %.*s; give --restart-cluster to restart "
		    "it first, or --allow-stale to run with the installed build",
		    o->cluster_id, (int)why.len - 1, why.data);
		code = submit_fail(s, DBM_SUBMIT_USAGE);
	}
	dbm_buf_free(&why);
	return code;
}

int
submit_check_compute(struct submit *s)
{
	const struct dbm_submit_opts *o = s->o;

	if (o->serverless && o->cluster_id)
		return dbm_errf(&s->e, DBM_E_USAGE, "--serverless and "
		    "--cluster-id exclude each other");
	if (o->serverless && o->backend_config && !s->backend.serverless)
		return dbm_errf(&s->e, DBM_E_USAGE, "%s describes a cluster: "
		    "with --serverless the config is an environment spec "
		    "({\"environment_version\": \"%s\", \"dependencies\": "
		    "[...]}) or none", o->backend_config, o->env_version);
	if (o->serverless)
		s->backend.serverless = 1;
	if (o->code_dir) {
		struct dbm_remote c;

		if (dbm_remote_parse(o->code_dir, &c, &s->e) < 0)
			return -1;
		dbm_remote_free(&c);
		if (c.kind == DBM_REMOTE_DBFS && s->backend.serverless)
			return dbm_errf(&s->e, DBM_E_USAGE, "--code-dir %s: "
			    "serverless compute cannot read the DBFS root: give "
			    "a /Volumes/... or /Workspace/... folder", o->code_dir);
	}
	if (o->backend_config == NULL && !o->serverless && !o->cluster_id)
		return dbm_errf(&s->e, DBM_E_USAGE, "no compute: give a backend "
		    "config (-c cluster.json), --serverless or --cluster-id");
	return 0;
}

/* The DBFS root is out of serverless compute's reach (PROTOCOL.md
 * section 14): a wheel or dependency there would fail the run after
 * minutes of waiting, so it is refused before anything is sent. */
static const char *
dbfs_root(const char *p)
{
	if (strncmp(p, "/dbfs/", 6) == 0)
		p += 6;
	else if (strncmp(p, "dbfs:/", 6) == 0)
		p += 6;
	else
		return NULL;
	return strncmp(p, "Volumes/", 8) == 0 ? NULL : p;
}

int
submit_check_serverless_paths(struct submit *s)
{
	static const char hint[] = "serverless compute cannot read the DBFS "
	    "root: upload it to a Unity Catalog volume (dbfs-put FILE "
	    "/Volumes/<catalog>/<schema>/<volume>/...) or to workspace files "
	    "(/Workspace/...), or run on a cluster";
	struct dbm_json j;
	int i, d;

	for (i = 0; i < s->env.nwhl; i++)
		if (dbfs_root(s->env.whl[i]))
			return dbm_errf(&s->e, DBM_E_USAGE, "%s: wheel %s: %s",
			    s->env.file ? s->env.file : s->p.file, s->env.whl[i],
			    hint);
	if (s->backend.env_spec == NULL || dbm_json_parse(&j,
	    s->backend.env_spec, strlen(s->backend.env_spec),
	    s->o->backend_config, &s->e) < 0)
		return 0;
	d = dbm_json_member(&j, 0, "dependencies");
	for (i = 0; i < dbm_json_count(&j, d); i++) {
		char *dep = dbm_json_strdup(&j, dbm_json_elem(&j, d, i));
		const char *w = dep ? strrchr(dep, ' ') : NULL;

		if (dep && dbfs_root(w ? w + 1 : dep)) {
			dbm_errf(&s->e, DBM_E_USAGE, "%s: dependency %s: %s",
			    s->o->backend_config, dep, hint);
			free(dep);
			dbm_json_free(&j);
			return -1;
		}
		free(dep);
	}
	dbm_json_free(&j);
	return 0;
}

int
submit_check_new_workspace(struct submit *s)
{
	static const char way[] = "(a new account's workspace, where legacy "
	    "features and the DBFS root are disabled; for a workspace that "
	    "still has them, --workspace legacy or DBMLOPS_WORKSPACE=legacy)";
	const char *v = s->backend.spark_version, *cfg = s->o->backend_config;
	struct dbm_json j;
	int i, n, k;

	if (v && !s->backend.serverless && (atoi(v) < 13 || (atoi(v) == 13 &&
	    strchr(v, '.') && atoi(strchr(v, '.') + 1) < 3)))
		return dbm_err_input(&s->e, cfg, s->backend.sv_line,
		    s->backend.sv_col, "spark_version %s: runtimes before 13.3 "
		    "LTS are refused: use a current LTS runtime such as "
		    "15.4.x-scala2.12 %s", v, way);
	for (i = 0; i < s->env.nwhl; i++)
		if (dbfs_root(s->env.whl[i]))
			return dbm_errf(&s->e, DBM_E_USAGE, "%s: wheel %s: the "
			    "DBFS root is disabled: upload it to workspace "
			    "files (/Workspace/...) or a volume (/Volumes/...) "
			    "%s", s->env.file ? s->env.file : s->p.file,
			    s->env.whl[i], way);
	if (s->o->code_dir && dbfs_root(s->o->code_dir))
		return dbm_errf(&s->e, DBM_E_USAGE, "--code-dir %s: the DBFS "
		    "root is disabled: give a /Workspace/... or /Volumes/... "
		    "folder %s", s->o->code_dir, way);
	if (s->backend.libs == NULL || dbm_json_parse(&j, s->backend.libs,
	    strlen(s->backend.libs), cfg, &s->e) < 0)
		return 0;
	n = dbm_json_count(&j, 0);
	for (i = 0; i < n; i++) {
		static const char *const kinds[] = {"whl", "egg", "jar",
			"requirements", "pypi.package"};
		int lib = dbm_json_elem(&j, 0, i);

		for (k = 0; k < 5; k++) {
			char *p = dbm_json_strdup(&j, dbm_json_path(&j, lib,
			    kinds[k]));

			if (p && dbfs_root(p)) {
				dbm_errf(&s->e, DBM_E_USAGE, "%s: library %s: "
				    "the DBFS root is disabled: upload it to "
				    "workspace files (/Workspace/...) or a "
				    "volume (/Volumes/...) %s", cfg, p, way);
				free(p);
				dbm_json_free(&j);
				return -1;
			}
			free(p);
		}
	}
	dbm_json_free(&j);
	return 0;
}
