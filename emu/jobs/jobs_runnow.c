/*
 * workspace-emu jobs: what a job's settings make of a run (PROTOCOL.md
 * section 4, "Jobs that last"): the runs/submit body of jobs/run-now (job
 * clusters in place of their keys, python_params and job parameters in
 * place of the job's), and the check of settings that jobs/create, reset
 * and update store, which is runs/submit's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

#define TASKS_MAX	1000	/* tasks a job may have (the service's) */

/* The job cluster of settings s named key: its new_cluster, or -1. */
static int
job_cluster(const struct dbm_json *s, const char *key)
{
	int jc = dbm_json_member(s, 0, "job_clusters"), i;

	for (i = 0; i < dbm_json_count(s, jc) &&
	    dbm_json_type(s, jc) == DBM_JSON_ARRAY; i++) {
		int c = dbm_json_elem(s, jc, i);

		if (dbm_json_streq(s, dbm_json_member(s, c, "job_cluster_key"),
		    key))
			return dbm_json_member(s, c, "new_cluster");
	}
	return -1;
}

/* A task's python_spark_task or python_wheel_task with run-now's
 * python_params as its parameters. */
static void
task_kind_with_params(struct dbm_jw *w, const struct dbm_json *s, int t,
    const struct dbm_json *rq, int params)
{
	int i, k;

	dbm_jw_obj(w);
	EACH_MEMBER(s, t, i, k) {
		if (dbm_json_streq(s, k, "parameters"))
			continue;
		jobs_raw_key(w, s, k);
		dbm_jw_json(w, s, k + 1);
	}
	if (params >= 0) {
		dbm_jw_key(w, "parameters");
		dbm_jw_json(w, rq, params);
	} else if ((k = dbm_json_member(s, t, "parameters")) >= 0) {
		dbm_jw_key(w, "parameters");
		dbm_jw_json(w, s, k);
	}
	dbm_jw_obj_end(w);
}

/* One task of the run: its job_cluster_key becomes that cluster's
 * new_cluster. -1 with *why when the key names no job cluster. */
static int
run_task(struct dbm_jw *w, const struct dbm_json *s, int t,
    const struct dbm_json *rq, char **why)
{
	int params = rq ? dbm_json_member(rq, 0, "python_params") : -1;
	int i, k;

	dbm_jw_obj(w);
	EACH_MEMBER(s, t, i, k) {
		if (dbm_json_streq(s, k, "job_cluster_key")) {
			char *key = dbm_json_strdup(s, k + 1);
			int nc = key ? job_cluster(s, key) : -1;

			if (nc < 0) {
				struct dbm_buf b = DBM_BUF_INIT;

				dbm_buf_printf(&b, "The job cluster key '%.100s' "
				    "is not defined in job_clusters", key ?
				    key : "");
				*why = dbm_buf_detach(&b);
				free(key);
				return -1;
			}
			free(key);
			dbm_jw_key(w, "new_cluster");
			dbm_jw_json(w, s, nc);
			continue;
		}
		jobs_raw_key(w, s, k);
		if ((dbm_json_streq(s, k, "spark_python_task") ||
		    dbm_json_streq(s, k, "python_wheel_task")) &&
		    dbm_json_type(s, k + 1) == DBM_JSON_OBJECT)
			task_kind_with_params(w, s, k + 1, rq, params);
		else
			dbm_jw_json(w, s, k + 1);
	}
	dbm_jw_obj_end(w);
	return 0;
}

/* 1 when run-now's only[] leaves task t out. */
static int
left_out(const struct dbm_json *s, int t, const struct dbm_json *rq)
{
	int only = rq ? dbm_json_member(rq, 0, "only") : -1, i;
	int key = dbm_json_member(s, t, "task_key");

	if (dbm_json_type(rq, only) != DBM_JSON_ARRAY)
		return 0;
	for (i = 0; i < dbm_json_count(rq, only); i++) {
		char *o = dbm_json_strdup(rq, dbm_json_elem(rq, only, i));
		int hit = o && dbm_json_streq(s, key, o);

		free(o);
		if (hit)
			return 0;
	}
	return 1;
}

/* The runs/submit body that job settings s make, with run-now's request
 * rq (or NULL: to check the settings). NULL with *why when they cannot
 * make one. */
static char *
run_body(const struct dbm_json *s, const struct dbm_json *rq, char **why)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	int m, tasks = dbm_json_member(s, 0, "tasks"), i;
	char *name = dbm_json_strdup(s, dbm_json_member(s, 0, "name"));

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "run_name");
	dbm_jw_str(&w, name ? name : "Untitled");
	free(name);
	if ((m = dbm_json_member(s, 0, "timeout_seconds")) >= 0) {
		dbm_jw_key(&w, "timeout_seconds");
		dbm_jw_json(&w, s, m);
	}
	if ((m = dbm_json_member(s, 0, "environments")) >= 0) {
		dbm_jw_key(&w, "environments");
		dbm_jw_json(&w, s, m);
	}
	if (rq && (m = dbm_json_member(rq, 0, "idempotency_token")) >= 0) {
		dbm_jw_key(&w, "idempotency_token");
		dbm_jw_json(&w, rq, m);
	}
	dbm_jw_key(&w, "tasks");
	dbm_jw_arr(&w);
	for (i = 0; i < dbm_json_count(s, tasks); i++) {
		int t = dbm_json_elem(s, tasks, i);

		if (!left_out(s, t, rq) && run_task(&w, s, t, rq, why) < 0) {
			dbm_buf_free(&b);
			return NULL;
		}
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	return dbm_buf_detach(&b);
}

/* {{job.parameters.NAME}} in the run body: the run's value of the job's
 * parameter (run-now's job_parameters, else the parameter's default). */
static char *
with_parameters(char *body, const struct dbm_json *s,
    const struct dbm_json *rq)
{
	int ps = dbm_json_member(s, 0, "parameters"), i;
	int over = rq ? dbm_json_member(rq, 0, "job_parameters") : -1;

	for (i = 0; i < dbm_json_count(s, ps) &&
	    dbm_json_type(s, ps) == DBM_JSON_ARRAY; i++) {
		int p = dbm_json_elem(s, ps, i);
		char *name = dbm_json_strdup(s, dbm_json_member(s, p, "name"));
		char *val = name && over >= 0 ? dbm_json_strdup(rq,
		    dbm_json_member(rq, over, name)) : NULL;
		struct dbm_buf ref = DBM_BUF_INIT, q = DBM_BUF_INIT,
		    out = DBM_BUF_INIT;
		const char *at, *from = body;

		if (name == NULL) {
			free(val);
			continue;
		}
		if (val == NULL)
			val = dbm_json_strdup(s, dbm_json_member(s, p,
			    "default"));
		dbm_buf_printf(&ref, "{{job.parameters.%s}}", name);
		dbm_json_quote(&q, val ? val : "", strlen(val ? val : ""));
		while ((at = strstr(from, ref.data)) != NULL) {
			dbm_buf_add(&out, from, (size_t)(at - from));
			/* inside a JSON string: the value's escaped body */
			dbm_buf_add(&out, q.data + 1, q.len - 2);
			from = at + ref.len;
		}
		dbm_buf_adds(&out, from);
		free(body);
		body = dbm_buf_detach(&out);
		dbm_buf_free(&ref);
		dbm_buf_free(&q);
		free(name);
		free(val);
	}
	return body;
}

/* Settings as jobs/create, reset and update take them: an object whose
 * tasks[] (if any) runs/submit would accept. NULL, or the 400 message. */
char *
jobs_settings_error(struct emu *e, const char *settings)
{
	struct dbm_json s, body;
	struct dbm_err je;
	struct jobs_start st = {0, 1, 0};
	char *run, *why = NULL;
	int tasks;

	if (dbm_json_parse(&s, settings, strlen(settings), "settings", &je) < 0)
		return dbm_xstrdup("settings are not JSON");
	tasks = dbm_json_member(&s, 0, "tasks");
	if (tasks >= 0 && dbm_json_type(&s, tasks) != DBM_JSON_ARRAY)
		why = dbm_xstrdup("tasks must be an array");
	else if (dbm_json_count(&s, tasks) > TASKS_MAX)
		why = dbm_xstrdup("A job can have at most 1000 tasks");
	else if (dbm_json_count(&s, tasks) > 0 &&
	    (run = run_body(&s, NULL, &why)) != NULL) {
		if (dbm_json_parse(&body, run, strlen(run), "run", &je) == 0) {
			st.job_id = 1;
			jobs_start(e, &body, 1, &st, &why);
			dbm_json_free(&body);
		}
		free(run);
	}
	dbm_json_free(&s);
	return why;
}

/* Start a run of job job_id from its settings s and the run-now request
 * rq: NULL with *run_id, or why it cannot run (a 400's message). */
char *
jobs_run_now(struct emu *e, long long job_id, const struct dbm_json *s,
    const struct dbm_json *rq, long long *run_id)
{
	struct jobs_start st = {0, 0, 0};
	struct dbm_json body;
	struct dbm_err je;
	char *run, *why = NULL;

	st.job_id = job_id;
	if (dbm_json_count(s, dbm_json_member(s, 0, "tasks")) == 0)
		return dbm_xstrdup("The job has no tasks to run");
	if ((run = run_body(s, rq, &why)) == NULL)
		return why;
	run = with_parameters(run, s, rq);
	if (dbm_json_parse(&body, run, strlen(run), "run", &je) == 0) {
		jobs_start(e, &body, 1, &st, &why);
		dbm_json_free(&body);
	} else {
		why = dbm_xstrdup("a parameter's value breaks the run's settings");
	}
	free(run);
	*run_id = st.run_id;
	return why;
}
