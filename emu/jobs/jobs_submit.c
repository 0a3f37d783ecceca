/*
 * workspace-emu jobs: runs/submit, in the 2.0 single-task shape (MLflow's
 * shell_command_task included) or the 2.1/2.2 tasks[] shape; the request
 * is checked whole before a run exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"
#include "sha.h"

/* The task types this emulator runs (the first is the default). */
static const char *const UNSUPPORTED[] = {
	"notebook_task", "spark_jar_task", "spark_submit_task", "pipeline_task",
	"sql_task", "dbt_task", "run_job_task", "condition_task",
	"for_each_task", "clean_rooms_notebook_task", "dashboard_task",
	"power_bi_task", "gen_ai_compute_task",
};

static char *
raw_dup(const struct dbm_json *j, int t)
{
	size_t n;
	const char *p;

	if (t < 0)
		return NULL;
	p = dbm_json_raw(j, t, &n);
	if (dbm_json_type(j, t) == DBM_JSON_STRING)
		return dbm_xstrndup(p - 1, n + 2);	/* with its quotes */
	return dbm_xstrndup(p, n);
}

/* On a workspace without the DBFS root, a classic task's library there
 * fails its installation at start (PROTOCOL.md section 15): the message,
 * or NULL. */
static char *
dbfs_library(const struct dbm_json *j, int libs)
{
	static const char *const kinds[] = {"whl", "egg", "jar",
		"requirements"};
	struct dbm_buf b = DBM_BUF_INIT;
	int i, n = libs >= 0 ? dbm_json_count(j, libs) : 0;
	size_t k;

	for (i = 0; i < n && b.len == 0; i++)
		for (k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
			char *v = dbm_json_strdup(j, dbm_json_member(j,
			    dbm_json_elem(j, libs, i), kinds[k]));

			if (v && strncmp(v, "dbfs:/", 6) == 0 &&
			    strncmp(v + 6, "Volumes/", 8) != 0 && b.len == 0)
				dbm_buf_printf(&b, "Library installation failed "
				    "for library due to user error. Error "
				    "messages: Public DBFS root is disabled. "
				    "Access is denied on path: %s (install "
				    "libraries from a Unity Catalog volume or "
				    "workspace files)", v + 5);
			free(v);
		}
	return b.len ? dbm_buf_detach(&b) : NULL;
}

/* The compute of a task (PROTOCOL.md section 4): exactly one of
 * new_cluster, existing_cluster_id, job_cluster_key, environment_key; a
 * new cluster names its runtime, its node type (or an instance pool or a
 * policy that sets it) and its size. The messages are the service's. */
static char *
compute_error(struct emu *e, const struct dbm_json *j, int obj)
{
	static const char *const kinds[] = {"new_cluster", "existing_cluster_id",
		"job_cluster_key", "environment_key"};
	struct dbm_buf b = DBM_BUF_INIT;
	size_t i, n = 0;
	int nc = dbm_json_member(j, obj, "new_cluster");

	for (i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		n += dbm_json_member(j, obj, kinds[i]) >= 0;
	if (n == 0)
		return dbm_xstrdup("Either new_cluster or existing_cluster_id "
		    "must be specified.");
	if (n > 1)
		return dbm_xstrdup("Only one of new_cluster, existing_cluster_id, "
		    "job_cluster_key or environment_key may be specified.");
	if (e->serverless_only && dbm_json_member(j, obj, "environment_key") <
	    0)
		return dbm_xstrdup("Only serverless compute is available in "
		    "this workspace: new_cluster, existing_cluster_id and "
		    "job_cluster_key are not supported; give the task an "
		    "environment_key (and the run its environments)");
	if (nc < 0) {
		char *id = dbm_json_strdup(j, dbm_json_member(j, obj,
		    "existing_cluster_id"));

		if (id && emu_cluster_state(e, id) == NULL)
			dbm_buf_printf(&b, "Cluster %s does not exist", id);
		free(id);
		return b.len ? dbm_buf_detach(&b) : NULL;
	}
	return emu_cluster_spec_error(e, j, nc);
}

/* A task_key as the API reference allows it: 1 to 100 characters of
 * ^[\w\-\_]+$ (PROTOCOL.md section 4). */
static int
task_key_ok(const char *k)
{
	size_t n = strlen(k), i;

	if (n == 0 || n > 100)
		return 0;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
		    (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-'))
			return 0;
	return 1;
}

/* A task's libraries: a list of compute.Library objects, each naming one
 * kind with what that kind needs. */
static char *
libraries_error(const struct dbm_json *j, int libs)
{
	static const char *const kinds[] = {"jar", "egg", "whl", "pypi",
		"maven", "cran", "requirements"};
	struct dbm_buf b = DBM_BUF_INIT;
	int i, n;
	size_t k;

	if (libs < 0)
		return NULL;
	if (dbm_json_type(j, libs) != DBM_JSON_ARRAY)
		return dbm_xstrdup("libraries must be an array");
	n = dbm_json_count(j, libs);
	for (i = 0; i < n && b.len == 0; i++) {
		int lib = dbm_json_elem(j, libs, i), found = 0, m;

		for (k = 0; k < sizeof(kinds) / sizeof(*kinds); k++)
			found += dbm_json_member(j, lib, kinds[k]) >= 0;
		if (dbm_json_type(j, lib) != DBM_JSON_OBJECT || found != 1) {
			dbm_buf_printf(&b, "Library %d must specify exactly one of "
			    "jar, egg, whl, pypi, maven, cran or requirements", i);
			break;
		}
		if ((m = dbm_json_member(j, lib, "pypi")) >= 0 &&
		    dbm_json_type(j, dbm_json_member(j, m, "package")) !=
		    DBM_JSON_STRING)
			dbm_buf_printf(&b, "Missing required field: "
			    "libraries[%d].pypi.package", i);
		if ((m = dbm_json_member(j, lib, "maven")) >= 0 &&
		    dbm_json_type(j, dbm_json_member(j, m, "coordinates")) !=
		    DBM_JSON_STRING)
			dbm_buf_printf(&b, "Missing required field: "
			    "libraries[%d].maven.coordinates", i);
	}
	return b.len ? dbm_buf_detach(&b) : NULL;
}

static int
parse_task(struct emu *e, const struct dbm_json *j, int obj, struct task *t,
    const char *key, long long run_id, int check_only, char **why)
{
	size_t i;
	int m, other = 0;

	memset(t, 0, sizeof(*t));
	if (obj != 0 && !task_key_ok(key)) {	/* tasks[] (not the 2.0 shape) */
		struct dbm_buf b = DBM_BUF_INIT;

		dbm_buf_printf(&b, "Invalid task_key '%.120s': 1 to 100 letters, "
		    "digits, '_' or '-'", key);
		*why = dbm_buf_detach(&b);
		return -1;
	}
	{
		long long to = 0;
		int tm = dbm_json_member(j, obj, "timeout_seconds");

		if (tm >= 0 && (dbm_json_int(j, tm, &to) < 0 || to < 0 ||
		    to > 2147483647LL)) {
			*why = dbm_xstrdup("timeout_seconds must be a "
			    "non-negative 32-bit integer (0: no timeout)");
			return -1;
		}
	}
	if ((*why = libraries_error(j, dbm_json_member(j, obj,
	    "libraries"))) != NULL)
		return -1;
	for (i = 0; i < sizeof(UNSUPPORTED) / sizeof(*UNSUPPORTED); i++) {
		if (dbm_json_member(j, obj, UNSUPPORTED[i]) >= 0 && check_only)
			other = 1;	/* a job may hold it; run-now refuses */
		else if (dbm_json_member(j, obj, UNSUPPORTED[i]) >= 0) {
			struct dbm_buf b = DBM_BUF_INIT;

			dbm_buf_printf(&b, "%s is not supported by workspace-emu "
			    "(it runs shell_command_task, spark_python_task and "
			    "python_wheel_task)", UNSUPPORTED[i]);
			*why = dbm_buf_detach(&b);
			return -1;
		}
	}
	for (i = 0; jobs_task_kinds[i]; i++) {
		m = dbm_json_member(j, obj, jobs_task_kinds[i]);
		if (dbm_json_type(j, m) == DBM_JSON_OBJECT) {
			t->kind = jobs_task_kinds[i];
			t->task_json = raw_dup(j, m);
			break;
		}
	}
	if (t->kind == NULL && !other) {
		*why = dbm_xstrdup("a task needs one of shell_command_task, "
		    "spark_python_task or python_wheel_task");
		return -1;
	}
	if ((*why = compute_error(e, j, obj)) != NULL)
		return -1;
	t->cluster_json = raw_dup(j, dbm_json_member(j, obj, "new_cluster"));
	t->existing = dbm_json_strdup(j, dbm_json_member(j, obj,
	    "existing_cluster_id"));
	m = dbm_json_member(j, obj, "libraries");
	t->libraries = m >= 0 && dbm_json_type(j, m) == DBM_JSON_ARRAY ?
	    raw_dup(j, m) : dbm_xstrdup("[]");
	if (jobs_serverless_task(j, obj, t, why) < 0)
		return -1;
	if (!e->legacy_dbfs && t->env_key == NULL)
		t->setup_error = dbfs_library(j, m);
	{
		long long to = 0;

		dbm_json_int(j, dbm_json_member(j, obj, "timeout_seconds"), &to);
		t->timeout = (long)to;
	}
	m = dbm_json_member(j, obj, "depends_on");
	for (i = 0; (int)i < dbm_json_count(j, m) &&
	    dbm_json_type(j, m) == DBM_JSON_ARRAY; i++) {
		char *dk = dbm_json_strdup(j, dbm_json_member(j,
		    dbm_json_elem(j, m, (int)i), "task_key"));

		if (dk == NULL) {
			*why = dbm_xstrdup("depends_on entries need a task_key");
			return -1;
		}
		t->deps = dbm_xrealloc(t->deps, (size_t)(t->ndeps + 1) *
		    sizeof(*t->deps));
		t->deps[t->ndeps++] = dk;
	}
	t->key = dbm_xstrdup(key);
	t->run_id = run_id;
	t->life = LIFE_PENDING;
	{
		struct dbm_buf d = DBM_BUF_INIT;

		dbm_buf_printf(&d, "%s/jobs/runs/%lld", e->datadir, run_id);
		t->dir = dbm_buf_detach(&d);
	}
	return 0;
}

/* Dependencies first (in submitted order otherwise); unknown keys,
 * duplicate keys and cycles are refused. */
static int
order_tasks(struct run *r, char **why)
{
	int *done = dbm_xcalloc((size_t)r->nt, sizeof(*done)), n = 0, i, d, k;
	struct dbm_buf b = DBM_BUF_INIT;

	r->order = dbm_xcalloc((size_t)r->nt, sizeof(*r->order));
	for (i = 0; i < r->nt; i++) {
		for (k = i + 1; k < r->nt; k++)
			if (strcmp(r->t[i].key, r->t[k].key) == 0) {
				dbm_buf_printf(&b, "task_key %s is used twice",
				    r->t[i].key);
				goto bad;
			}
		for (d = 0; d < r->t[i].ndeps; d++) {
			for (k = 0; k < r->nt; k++)
				if (strcmp(r->t[k].key, r->t[i].deps[d]) == 0)
					break;
			if (k == r->nt) {
				dbm_buf_printf(&b, "task %s depends on %s, which "
				    "is not a task of this run", r->t[i].key,
				    r->t[i].deps[d]);
				goto bad;
			}
		}
	}
	while (n < r->nt) {
		int progress = 0;

		for (i = 0; i < r->nt; i++) {
			int ready = !done[i];

			for (d = 0; ready && d < r->t[i].ndeps; d++)
				for (k = 0; k < r->nt; k++)
					if (strcmp(r->t[k].key,
					    r->t[i].deps[d]) == 0 && !done[k])
						ready = 0;
			if (ready) {
				done[i] = 1;
				r->order[n++] = i;
				progress = 1;
			}
		}
		if (!progress) {
			dbm_buf_adds(&b, "the tasks' depends_on form a cycle");
			goto bad;
		}
	}
	free(done);
	return 0;
bad:
	free(done);
	*why = dbm_buf_detach(&b);
	return -1;
}

/* The run an idempotency token started, or 0. */
static long long
known_run(struct jobs *js, const char *token)
{
	struct run *x;
	long long id = 0;

	pthread_mutex_lock(&js->mu);
	for (x = js->runs; token && x && id == 0; x = x->next)
		if (x->token && strcmp(x->token, token) == 0)
			id = x->run_id;
	pthread_mutex_unlock(&js->mu);
	return id;
}

/* The tasks array of a Jobs 2.1+ run, each given a run id. */
static int
parse_tasks(struct emu *e, const struct dbm_json *j, int tasks, struct run *r,
    int check_only, char **why)
{
	struct jobs *js = e->jobs;
	int n = dbm_json_count(j, tasks), i, obj, rc;
	long long id;
	char *key;

	if (dbm_json_type(j, tasks) != DBM_JSON_ARRAY || n == 0) {
		*why = dbm_xstrdup("tasks must be a non-empty array");
		return -1;
	}
	r->t = dbm_xcalloc((size_t)n, sizeof(*r->t));
	for (i = 0; i < n; i++) {
		obj = dbm_json_elem(j, tasks, i);
		key = dbm_json_strdup(j, dbm_json_member(j, obj, "task_key"));
		if (key == NULL) {
			*why = dbm_xstrdup("every task needs a task_key");
			return -1;
		}
		pthread_mutex_lock(&js->mu);
		id = js->next_id++;
		pthread_mutex_unlock(&js->mu);
		rc = parse_task(e, j, obj, &r->t[i], key, id, check_only, why);
		free(key);
		if (rc < 0)
			return -1;
		r->nt = i + 1;
	}
	return 0;
}

/* Register the run and start its runner thread. */
static void
launch(struct emu *e, struct run *r)
{
	struct jobs *js = e->jobs;
	pthread_t th;
	int i;

	r->submitted = dbm_epoch_ms();
	for (i = 0; i < r->nt; i++)
		r->t[i].run = r;
	pthread_mutex_lock(&js->mu);
	r->next = js->runs;
	js->runs = r;
	r->live = 1;
	jobs_save_run(e, r);
	if (pthread_create(&th, NULL, jobs_runner, r) == 0)
		pthread_detach(th);
	else
		r->live = 0;
	pthread_mutex_unlock(&js->mu);
	jobs_flush_run(e, r);
}

/* Check a runs/submit body (or what run-now makes of a job) and start
 * its run: 0 with s->run_id (the earlier run for a known idempotency
 * token), or -1 with *why (a 400 INVALID_PARAMETER_VALUE). */
int
jobs_start(struct emu *e, const struct dbm_json *j, int v2,
    struct jobs_start *s, char **why)
{
	struct jobs *js = e->jobs;
	struct run *r;
	char *token;
	int tasks;
	long long to = 0, old;

	*why = NULL;
	token = dbm_json_strdup(j, dbm_json_member(j, 0, "idempotency_token"));
	if (token && strlen(token) > 64) {
		free(token);
		*why = dbm_xstrdup("idempotency_token is longer than 64 "
		    "characters");
		return -1;
	}
	if ((old = known_run(js, token)) != 0 && !s->check_only) {
		s->run_id = old;
		free(token);
		return 0;
	}
	r = dbm_xcalloc(1, sizeof(*r));
	r->e = e;
	r->token = token;
	r->job_run = s->job_id != 0;
	r->name = dbm_json_strdup(j, dbm_json_member(j, 0, "run_name"));
	if (r->name == NULL)
		r->name = dbm_xstrdup("Untitled");
	dbm_json_int(j, dbm_json_member(j, 0, "timeout_seconds"), &to);
	r->timeout = (long)to;
	tasks = dbm_json_member(j, 0, "tasks");
	pthread_mutex_lock(&js->mu);
	r->run_id = js->next_id++;
	r->job_id = s->job_id ? s->job_id : js->next_job++;
	pthread_mutex_unlock(&js->mu);
	if (jobs_environments_check(j, why) < 0)
		goto bad;
	if (tasks >= 0) {
		if (parse_tasks(e, j, tasks, r, s->check_only, why) < 0)
			goto bad;
	} else if (v2) {
		*why = dbm_xstrdup("tasks is required: one-time runs of the Jobs "
		    "API 2.1 and later list their tasks");
		goto bad;
	} else {
		r->legacy = 1;
		r->t = dbm_xcalloc(1, sizeof(*r->t));
		if (parse_task(e, j, 0, &r->t[0], r->name, r->run_id,
		    s->check_only, why) < 0)
			goto bad;
		r->nt = 1;
	}
	if (order_tasks(r, why) < 0)
		goto bad;
	if (s->check_only) {
		jobs_free_run(r);
		return 0;
	}
	s->run_id = r->run_id;
	launch(e, r);
	return 0;
bad:
	jobs_free_run(r);
	return -1;
}

enum MHD_Result
jobs_submit(struct req *q, int v2)
{
	struct jobs_start s = {0, 0, 0};
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;
	char *why;

	if (emu_need_json(q, &res) < 0)
		return res;
	if (jobs_start(q->emu, &q->json, v2, &s, &why) < 0) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		return res;
	}
	dbm_buf_printf(&b, "{\"run_id\":%lld}", s.run_id);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}
