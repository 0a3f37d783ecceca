/*
 * workspace-emu jobs: a run as the Jobs API writes it (runs/get, runs/list,
 * the run's state, status and times), and the helpers the listing
 * answers share (page tokens, keys copied).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

void
jobs_page_tokens(struct dbm_jw *w, int more, long long next, long long prev)
{
	char num[32];

	dbm_jw_key(w, "has_more");
	dbm_jw_bool(w, more);
	if (more) {
		snprintf(num, sizeof(num), "%lld", next);
		dbm_jw_key(w, "next_page_token");
		dbm_jw_str(w, num);
	}
	if (prev >= 0) {
		snprintf(num, sizeof(num), "%lld", prev);
		dbm_jw_key(w, "prev_page_token");
		dbm_jw_str(w, num);
	}
}

void
jobs_raw_key(struct dbm_jw *w, const struct dbm_json *j, int k)
{
	char *key = dbm_json_strdup(j, k);

	dbm_jw_key(w, key ? key : "");
	free(key);
}

static void
state_json(struct dbm_jw *w, enum life life, const char *result,
    const char *msg, int user)
{
	dbm_jw_key(w, "state");
	dbm_jw_obj(w);
	dbm_jw_key(w, "life_cycle_state");
	dbm_jw_str(w, jobs_life_name(life));
	if (result) {
		dbm_jw_key(w, "result_state");
		dbm_jw_str(w, result);
	}
	dbm_jw_key(w, "state_message");
	dbm_jw_str(w, msg ? msg : "");
	dbm_jw_key(w, "user_cancelled_or_timedout");
	dbm_jw_bool(w, user);
	dbm_jw_obj_end(w);
}

static void
status_json(struct dbm_jw *w, enum life life, const char *code,
    const char *type, const char *msg)
{
	/* Jobs 2.2's status has no INTERNAL_ERROR or SKIPPED state */
	const char *v2 = jobs_life_name(life == LIFE_INTERNAL_ERROR ||
	    life == LIFE_SKIPPED ? LIFE_TERMINATED : life);

	dbm_jw_key(w, "status");
	dbm_jw_obj(w);
	dbm_jw_key(w, "state");
	dbm_jw_str(w, v2);
	if (code) {
		dbm_jw_key(w, "termination_details");
		dbm_jw_obj(w);
		dbm_jw_key(w, "code");
		dbm_jw_str(w, code);
		dbm_jw_key(w, "type");
		dbm_jw_str(w, type);
		dbm_jw_key(w, "message");
		dbm_jw_str(w, msg ? msg : "");
		dbm_jw_obj_end(w);
	}
	dbm_jw_obj_end(w);
}

static void
times_json(struct dbm_jw *w, long long submitted, long long start,
    long long setup_end, long long exec_end, long long end, int done)
{
	dbm_jw_key(w, "start_time");
	dbm_jw_int(w, start ? start : submitted);
	dbm_jw_key(w, "setup_duration");
	dbm_jw_int(w, setup_end && start ? setup_end - start : 0);
	dbm_jw_key(w, "execution_duration");
	dbm_jw_int(w, exec_end && setup_end ? exec_end - setup_end : 0);
	dbm_jw_key(w, "cleanup_duration");
	dbm_jw_int(w, end && exec_end ? end - exec_end : 0);
	dbm_jw_key(w, "end_time");
	dbm_jw_int(w, done ? end : 0);
	dbm_jw_key(w, "run_duration");
	dbm_jw_int(w, done && start ? end - start : 0);
}

static void
run_page(struct emu *e, struct dbm_buf *b, long long id)
{
	dbm_buf_printf(b, "%s/jobs/runs/%lld", e->url, id);
}

/* A run's state, from its tasks': the first that has not ended, else the
 * outcome of the task that failed on its own before one skipped for an
 * upstream failure. */
struct outcome {
	enum life life;
	const char *result, *code, *type, *msg;
	int done, user;		/* every task ended; canceled or timed out */
};

static void
run_outcome(const struct run *r, struct outcome *o)
{
	const struct task *bad = NULL, *t;
	int i;

	*o = (struct outcome){LIFE_TERMINATED, "SUCCESS", "SUCCESS", "SUCCESS",
	    "", 1, 0};
	for (i = 0; i < r->nt; i++)
		if (!jobs_terminal(r->t[i].life)) {
			o->done = 0;
			o->life = r->t[i].life;
			return;
		}
	for (i = 0; i < r->nt; i++) {
		t = &r->t[i];
		if (strcmp(t->result, "SUCCESS") == 0)
			continue;
		if (bad == NULL || (strncmp(bad->result, "UPSTREAM_", 9) == 0 &&
		    strncmp(t->result, "UPSTREAM_", 9) != 0))
			bad = t;
	}
	if (bad) {
		o->life = bad->life;
		o->result = bad->result;
		o->code = bad->code;
		o->type = bad->type;
		o->msg = bad->message;
	}
	if (o->life == LIFE_SKIPPED)
		o->life = LIFE_TERMINATED;
	o->user = strcmp(o->result, "CANCELED") == 0 ||
	    strcmp(o->result, "TIMEDOUT") == 0;
}

/* The run spans its tasks: first start to last end. */
static void
run_times(struct dbm_jw *w, const struct run *r, int done)
{
	long long start = 0, end = 0, setup = 0, exec = 0;
	int i;

	for (i = 0; i < r->nt; i++) {
		const struct task *t = &r->t[i];

		if (t->start && (start == 0 || t->start < start)) {
			start = t->start;
			setup = t->setup_end;
		}
		if (t->exec_end > exec)
			exec = t->exec_end;
		if (t->end > end)
			end = t->end;
	}
	times_json(w, r->submitted, start, setup, exec, end, done);
}

/* A Jobs 2.0 run's single task and cluster, at the top level. */
static void
legacy_json(struct dbm_jw *w, const struct run *r)
{
	dbm_jw_key(w, "task");
	dbm_jw_obj(w);
	dbm_jw_key(w, r->t[0].kind);
	dbm_jw_raw(w, r->t[0].task_json, strlen(r->t[0].task_json));
	dbm_jw_obj_end(w);
	dbm_jw_key(w, "cluster_spec");
	dbm_jw_obj(w);
	if (r->t[0].cluster_json) {
		dbm_jw_key(w, "new_cluster");
		dbm_jw_raw(w, r->t[0].cluster_json, strlen(r->t[0].cluster_json));
	}
	dbm_jw_key(w, "libraries");
	dbm_jw_raw(w, r->t[0].libraries, strlen(r->t[0].libraries));
	dbm_jw_obj_end(w);
}

/* The original run, then each repair. */
static void
repairs_json(struct dbm_jw *w, const struct run *r)
{
	int i;

	dbm_jw_key(w, "repair_history");
	dbm_jw_arr(w);
	for (i = -1; i < r->nrepairs; i++) {
		dbm_jw_obj(w);
		dbm_jw_key(w, "type");
		dbm_jw_str(w, i < 0 ? "ORIGINAL" : "REPAIR");
		dbm_jw_key(w, "id");
		dbm_jw_int(w, i < 0 ? r->run_id : r->repairs[i]);
		dbm_jw_obj_end(w);
	}
	dbm_jw_arr_end(w);
}

/* One element of the run's tasks array. */
static void
task_json(struct emu *e, struct dbm_jw *w, const struct run *r,
    const struct task *t)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int done = jobs_terminal(t->life);

	dbm_jw_obj(w);
	dbm_jw_key(w, "run_id");
	dbm_jw_int(w, t->run_id);
	dbm_jw_key(w, "task_key");
	dbm_jw_str(w, t->key);
	run_page(e, &url, t->run_id);
	dbm_jw_key(w, "run_page_url");
	dbm_jw_str(w, url.data);
	dbm_buf_free(&url);
	state_json(w, t->life, done ? t->result : NULL, t->message,
	    done && (strcmp(t->result, "CANCELED") == 0 ||
	    strcmp(t->result, "TIMEDOUT") == 0));
	status_json(w, t->life, done ? t->code : NULL, t->type, t->message);
	times_json(w, r->submitted, t->start, t->setup_end, t->exec_end,
	    t->end, done);
	dbm_jw_key(w, "attempt_number");
	dbm_jw_int(w, 0);
	dbm_jw_key(w, t->kind);
	dbm_jw_raw(w, t->task_json, strlen(t->task_json));
	if (t->cluster_json) {
		dbm_jw_key(w, "new_cluster");
		dbm_jw_raw(w, t->cluster_json, strlen(t->cluster_json));
	}
	if (t->existing) {
		dbm_jw_key(w, "existing_cluster_id");
		dbm_jw_str(w, t->existing);
	}
	if (t->env_key) {
		dbm_jw_key(w, "environment_key");
		dbm_jw_str(w, t->env_key);
	} else {
		dbm_jw_key(w, "libraries");
		dbm_jw_raw(w, t->libraries, strlen(t->libraries));
	}
	dbm_jw_obj_end(w);
}

/* The whole run as runs/get answers it, or without its tasks (runs/list
 * without expand_tasks); called with the lock held. */
void
jobs_run_json(struct emu *e, struct run *r, struct dbm_jw *w, int from,
    int count)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct outcome o;
	int i;

	run_outcome(r, &o);
	dbm_jw_obj(w);
	dbm_jw_key(w, "job_id");
	dbm_jw_int(w, r->job_id);
	dbm_jw_key(w, "run_id");
	dbm_jw_int(w, r->run_id);
	dbm_jw_key(w, "number_in_job");
	dbm_jw_int(w, r->run_id);
	dbm_jw_key(w, "original_attempt_run_id");
	dbm_jw_int(w, r->run_id);
	dbm_jw_key(w, "creator_user_name");
	dbm_jw_str(w, e->user_name);
	dbm_jw_key(w, "run_name");
	dbm_jw_str(w, r->name);
	dbm_jw_key(w, "run_type");
	dbm_jw_str(w, r->job_run ? "JOB_RUN" : "SUBMIT_RUN");
	dbm_jw_key(w, "trigger");
	dbm_jw_str(w, "ONE_TIME");
	run_page(e, &url, r->run_id);
	dbm_jw_key(w, "run_page_url");
	dbm_jw_str(w, url.data);
	dbm_buf_free(&url);
	state_json(w, o.life, o.done ? o.result : NULL, o.done ? o.msg : "",
	    o.user);
	status_json(w, o.life, o.done ? o.code : NULL, o.type, o.msg);
	run_times(w, r, o.done);
	if (r->legacy)
		legacy_json(w, r);
	if (r->nrepairs)
		repairs_json(w, r);
	if (count == 0) {
		dbm_jw_obj_end(w);
		return;
	}
	if (count < 0 || from + count > r->nt)
		count = r->nt - from;
	dbm_jw_key(w, "tasks");
	dbm_jw_arr(w);
	for (i = from; i < from + count; i++)
		task_json(e, w, r, &r->t[i]);
	dbm_jw_arr_end(w);
	if (from + count < r->nt)	/* Jobs 2.2: 100 tasks a page */
		jobs_page_tokens(w, 1, from + count, -1);
	dbm_jw_obj_end(w);
}
