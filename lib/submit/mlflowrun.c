/*
 * MLflow tracking calls of mlflow-submit (PROTOCOL.md section 10): the
 * experiment by name, the project run with the tags MLflow's client sets,
 * run tags, and the run's end.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api/mlflow.h"
#include "api/scim.h"
#include "api/workspace.h"
#include "branch.h"
#include "json.h"
#include "mlflowrun.h"
#include "sha.h"

int
dbm_mlflow_experiment(struct dbm_http *h, const char *name, char **id, struct dbm_err *e)
{
	struct dbm_json j;
	int rc = -1;

	if (dbm_api_mlflow_experiment_by_name(h, name, &j, e) == 0) {
		char *stage = dbm_json_get_str(&j, "experiment.lifecycle_stage");

		*id = dbm_json_get_str(&j, "experiment.experiment_id");
		dbm_json_free(&j);
		if (*id == NULL) {
			free(stage);
			return dbm_errf(e, DBM_E_API, "experiments/get-by-name: "
			    "no experiment_id in the answer");
		}
		/* in the trash (branch-clean put it there, and the branch
		 * came back): restored, as a new one would be made */
		rc = stage && strcmp(stage, "deleted") == 0 ?
		    dbm_api_mlflow_experiment_restore(h, *id, e) : 0;
		free(stage);
		if (rc < 0) {
			free(*id);
			*id = NULL;
		}
		return rc;
	}
	if (strcmp(e->code, "RESOURCE_DOES_NOT_EXIST") != 0)
		return -1;
	if (name[0] == '/' && strrchr(name, '/') != name) {
		/* the experiment's workspace folder must exist */
		char *parent = dbm_xstrndup(name, (size_t)(strrchr(name, '/') -
		    name));

		rc = dbm_api_workspace_mkdirs(h, parent, e);
		free(parent);
		if (rc < 0)
			return -1;
	}
	if (dbm_api_mlflow_experiment_create(h, name, &j, e) < 0) {
		/* created meanwhile by someone else: look it up again */
		if (strcmp(e->code, "RESOURCE_ALREADY_EXISTS") == 0)
			return dbm_mlflow_experiment(h, name, id, e);
		return -1;
	}
	*id = dbm_json_get_str(&j, "experiment_id");
	dbm_json_free(&j);
	return *id ? 0 : -1;
}

static void
tag(struct dbm_jw *w, const char *k, const char *v)
{
	if (v == NULL)
		return;
	dbm_jw_obj(w);
	dbm_jw_key(w, "key");
	dbm_jw_str(w, k);
	dbm_jw_key(w, "value");
	dbm_jw_str(w, v);
	dbm_jw_obj_end(w);
}

int
dbm_mlflow_set_tag(struct dbm_http *h, const char *run, const char *k, const char *v,
    struct dbm_err *e)
{
	return dbm_api_mlflow_set_tag(h, run, k, v, e);
}

/* The workspace user the credential stands for (SCIM Me's userName), as
 * MLflow on Databricks records runs; else the CI's user, else the local
 * login name. */
char *
dbm_workspace_user(struct dbm_http *h, struct dbm_err *e)
{
	struct dbm_json j;
	char *name;

	if (dbm_api_scim_me(h, &j, e) < 0)
		return NULL;
	name = dbm_json_get_str(&j, "userName");
	dbm_json_free(&j);
	if (name && *name)
		return name;
	free(name);
	dbm_errf(e, DBM_E_API, "SCIM Me: the answer has no userName");
	return NULL;
}

static char *
workspace_user(struct dbm_http *h)
{
	struct dbm_err e;
	struct passwd *pw;
	const char *u;
	char *name;

	if ((name = dbm_workspace_user(h, &e)) != NULL)
		return name;
	if ((u = dbm_ci_user(NULL)) != NULL)
		return dbm_xstrdup(u);
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_name)
		return dbm_xstrdup(pw->pw_name);
	return dbm_xstrdup("unknown");
}

static const char *
no_env(const char *name)
{
	(void)name;
	return NULL;
}

/* mlflow.source.* as MLflow's _create_run sets them: a local project
 * inside a git work tree is file://<top>#<subdir>, a fetched one is its
 * URI; the commit, the repository and (for a -v that names a branch) the
 * branch. */
static void
source_tags(struct dbm_jw *w, const struct dbm_mlflow_run *o)
{
	struct dbm_branch br;
	struct dbm_err be;
	char abs[4096];
	int have;

	if (o->source_uri) {
		/* a clone: its own git facts, not the CI's variables */
		have = dbm_branch_detect(&br, no_env, o->project, &be) == 0;
		tag(w, "mlflow.source.name", o->source_uri);
	} else {
		if (realpath(o->project, abs) == NULL)
			snprintf(abs, sizeof(abs), "%s", o->project);
		have = dbm_branch_detect(&br, NULL, o->project, &be) == 0;
		if (have && br.toplevel &&
		    strncmp(abs, br.toplevel, strlen(br.toplevel)) == 0) {
			struct dbm_buf src = DBM_BUF_INIT;
			const char *sub = abs + strlen(br.toplevel);

			dbm_buf_printf(&src, "file://%s%s%s", br.toplevel,
			    *sub ? "#" : "", *sub == '/' ? sub + 1 : sub);
			tag(w, "mlflow.source.name", src.data);
			dbm_buf_free(&src);
		} else {
			tag(w, "mlflow.source.name", abs);
		}
	}
	tag(w, "mlflow.source.type", "PROJECT");
	if (!have)
		return;
	tag(w, "mlflow.source.git.commit", br.sha);
	tag(w, "mlflow.source.git.repoURL", o->source_uri ? o->repo : br.origin);
	if (!br.detached && (o->source_uri == NULL || o->version))
		tag(w, "mlflow.source.git.branch", br.raw);
	dbm_branch_free(&br);
}

/* The tag that names one mlflow-submit's runs/create, so a create whose
 * answer was lost is found again rather than made twice. */
#define ATTEMPT_TAG "dbmlops.attempt"

/* The first run of experiment exp that filter matches, in the order
 * order_by (NULL: the server's), in *id; 0 when there is none, -1 when
 * the search failed. */
static int
search_one(struct dbm_http *h, const char *exp, const char *filter,
    const char *order_by, char **id, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct dbm_json j;
	int rc;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "experiment_ids");
	dbm_jw_arr(&w);
	dbm_jw_str(&w, exp);
	dbm_jw_arr_end(&w);
	dbm_jw_key(&w, "filter");
	dbm_jw_str(&w, filter);
	if (order_by) {
		dbm_jw_key(&w, "order_by");
		dbm_jw_arr(&w);
		dbm_jw_str(&w, order_by);
		dbm_jw_arr_end(&w);
	}
	dbm_jw_key(&w, "max_results");
	dbm_jw_int(&w, 1);
	dbm_jw_obj_end(&w);
	rc = dbm_api_mlflow_run_search(h, b.data, &j, e);
	dbm_buf_free(&b);
	if (rc < 0)
		return -1;
	*id = dbm_json_strdup(&j, dbm_json_path(&j,
	    dbm_json_elem(&j, dbm_json_member(&j, 0, "runs"), 0), "info.run_id"));
	dbm_json_free(&j);
	return *id != NULL;
}

/* The run of experiment exp tagged with attempt (see search_one). */
static int
find_attempt(struct dbm_http *h, const char *exp, const char *attempt,
    char **id, struct dbm_err *e)
{
	struct dbm_buf f = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&f, "tags.`%s` = '%s'", ATTEMPT_TAG, attempt);
	rc = search_one(h, exp, f.data, NULL, id, e);
	dbm_buf_free(&f);
	return rc;
}

int
dbm_mlflow_last_run(struct dbm_http *h, const char *name, char **id,
    struct dbm_err *e)
{
	struct dbm_json j;
	char *exp;
	int rc;

	*id = NULL;
	if (dbm_api_mlflow_experiment_by_name(h, name, &j, e) < 0)
		return strcmp(e->code, "RESOURCE_DOES_NOT_EXIST") == 0 ? 0 : -1;
	exp = dbm_json_get_str(&j, "experiment.experiment_id");
	dbm_json_free(&j);
	if (exp == NULL)
		return dbm_errf(e, DBM_E_API, "experiments/get-by-name: no "
		    "experiment_id in the answer");
	rc = search_one(h, exp, "attributes.status = 'FINISHED'",
	    "attributes.start_time DESC", id, e);
	free(exp);
	return rc;
}

/* runs/create, once: when its answer is lost, the run is looked for by
 * its attempt tag, and created again only when it is not there. */
static int
create_once(struct dbm_http *h, const char *exp, const char *body,
    const char *attempt, char **id, struct dbm_err *e)
{
	struct dbm_json j;
	int tries, found;

	for (tries = 0; tries < 3; tries++) {
		if (dbm_api_mlflow_run_create(h, body, &j, e) == 0) {
			*id = dbm_json_get_str(&j, "run.info.run_id");
			dbm_json_free(&j);
			return *id ? 0 : dbm_errf(e, DBM_E_API, "runs/create: no "
			    "run id in the answer");
		}
		if (e->kind != DBM_E_NET)
			return -1;
		dbm_say(DBM_SAY_NOTE, "%s: runs/create: no answer (%s): "
		    "looking for the run\n", dbm_prog(), e->msg);
		if ((found = find_attempt(h, exp, attempt, id, e)) != 0)
			return found > 0 ? 0 : -1;
	}
	return dbm_errf(e, DBM_E_NET, "runs/create: no answer after %d tries",
	    tries);
}

int
dbm_mlflow_run_create(struct dbm_http *h, const struct dbm_mlflow_run *o,
    char **id, struct dbm_err *e)
{
	const struct dbm_kv *params = o->params;
	int np = o->nparams;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	char *user = workspace_user(h), attempt[33];
	unsigned char rnd[16];
	int i, rc = -1;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		free(user);
		return dbm_err_sys(e, "getrandom");
	}
	dbm_hex(rnd, sizeof(rnd), attempt);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "experiment_id");
	dbm_jw_str(&w, o->experiment_id);
	dbm_jw_key(&w, "user_id");
	dbm_jw_str(&w, user);
	dbm_jw_key(&w, "start_time");
	dbm_jw_int(&w, (long long)time(NULL) * 1000);
	if (o->run_name) {
		dbm_jw_key(&w, "run_name");
		dbm_jw_str(&w, o->run_name);
	}
	dbm_jw_key(&w, "tags");
	dbm_jw_arr(&w);
	tag(&w, "mlflow.user", user);
	source_tags(&w, o);
	tag(&w, "mlflow.project.entryPoint", o->entry);
	tag(&w, "mlflow.project.backend", "databricks");
	if (o->run_name)
		tag(&w, "mlflow.runName", o->run_name);
	tag(&w, ATTEMPT_TAG, attempt);
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	free(user);
	if (create_once(h, o->experiment_id, b.data, attempt, id, e) < 0)
		goto out;
	if (np > 0) {
		dbm_buf_reset(&b);
		dbm_jw_init(&w, &b);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "run_id");
		dbm_jw_str(&w, *id);
		dbm_jw_key(&w, "params");
		dbm_jw_arr(&w);
		for (i = 0; i < np; i++)
			tag(&w, params[i].k, params[i].v);
		dbm_jw_arr_end(&w);
		dbm_jw_obj_end(&w);
		if (dbm_api_mlflow_log_batch(h, b.data, e) < 0)
			goto out;
	}
	rc = 0;
out:
	dbm_buf_free(&b);
	return rc;
}

void
dbm_mlflow_run_end(struct dbm_http *h, const char *run_id, const char *status)
{
	struct dbm_err e;

	if (dbm_api_mlflow_run_update(h, run_id, status,
	    (long long)time(NULL) * 1000, &e) < 0)
		dbm_say_err(&e);
}

char *
dbm_code_folder(const char *user, const char *eid)
{
	struct dbm_buf b = DBM_BUF_INIT;

	if (user)
		dbm_buf_printf(&b, "/Workspace/Users/%s/.mlflow-submit/%s", user,
		    eid);
	else
		dbm_buf_printf(&b, "dbfs:/mlflow-experiments/%s", eid);
	return dbm_buf_detach(&b);
}
