/*
 * workspace-emu jobs: the runs list (runs/list: filters, pages) and
 * runs/delete (PROTOCOL.md section 4).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

static int
run_active(const struct run *r)
{
	int i;

	for (i = 0; i < r->nt; i++)
		if (!jobs_terminal(r->t[i].life))
			return 1;
	return 0;
}

static int
newest_first(const void *a, const void *b)
{
	const struct run *x = *(struct run *const *)a,
	    *y = *(struct run *const *)b;

	if (x->submitted != y->submitted)
		return x->submitted < y->submitted ? 1 : -1;
	return x->run_id < y->run_id ? 1 : x->run_id > y->run_id ? -1 : 0;
}

/* A whole-number query value at or above min: 0, or -1 with the 400. */
static int
param_num(struct req *q, const char *name, long long min, long long *v,
    enum MHD_Result *res)
{
	char *s = emu_param(q, name), *end;

	if (s == NULL)
		return 0;
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno || *v < min) {
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid value for %s: '%.40s'", name, s);
		free(s);
		return -1;
	}
	free(s);
	return 0;
}

/* runs/list (PROTOCOL.md section 4): newest first; job_id, active_only,
 * completed_only, run_type, start_time_from/to filter; offset or
 * page_token and limit (1 to 25, 0 the most) page; expand_tasks adds the
 * tasks. */
enum MHD_Result
emu_jobs_list_runs(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct run **v = NULL, *r;
	enum MHD_Result res;
	long long job = 0, limit = 20, off = 0, from = 0, to = 0;
	int active = emu_param_bool(q, "active_only", 0),
	    done = emu_param_bool(q, "completed_only", 0),
	    expand = emu_param_bool(q, "expand_tasks", 0);
	char *type = emu_param(q, "run_type"), *tok = emu_param(q, "page_token");
	size_t n = 0, cap = 0, i;

	if (param_num(q, "job_id", 0, &job, &res) < 0 ||
	    param_num(q, "limit", 0, &limit, &res) < 0 ||
	    param_num(q, "offset", 0, &off, &res) < 0 ||
	    param_num(q, "start_time_from", 0, &from, &res) < 0 ||
	    param_num(q, "start_time_to", 0, &to, &res) < 0)
		goto out;
	if (limit > 25) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Limit must be between 0 and 25 (0: the most), was %lld",
		    limit);
		goto out;
	}
	if (limit == 0)
		limit = 25;
	if (active && done) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "active_only and completed_only cannot both be true");
		goto out;
	}
	if (type && strcmp(type, "JOB_RUN") != 0 && strcmp(type, "SUBMIT_RUN")
	    != 0 && strcmp(type, "WORKFLOW_RUN") != 0) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid run_type '%.40s': JOB_RUN, WORKFLOW_RUN or "
		    "SUBMIT_RUN", type);
		goto out;
	}
	if (tok) {
		char *end;

		errno = 0;
		off = strtoll(tok, &end, 10);
		if (end == tok || *end || errno || off < 0) {
			res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
			    "Invalid page_token");
			goto out;
		}
	}
	pthread_mutex_lock(&js->mu);
	for (r = js->runs; r; r = r->next) {
		long long st = r->submitted;

		if ((job && r->job_id != job) || (active && !run_active(r)) ||
		    (done && run_active(r)) || (from && st < from) ||
		    (to && st > to) || (type && strcmp(type, r->job_run ?
		    "JOB_RUN" : "SUBMIT_RUN") != 0))
			continue;
		if (n == cap)
			v = dbm_xrealloc(v, (cap = cap ? 2 * cap : 16) *
			    sizeof(*v));
		v[n++] = r;
	}
	if (n)
		qsort(v, n, sizeof(*v), newest_first);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "runs");
	dbm_jw_arr(&w);
	for (i = (size_t)off; i < n && i < (size_t)(off + limit); i++)
		jobs_run_json(q->emu, v[i], &w, 0, expand ? TASKS_PAGE : 0);
	dbm_jw_arr_end(&w);
	pthread_mutex_unlock(&js->mu);
	jobs_page_tokens(&w, (size_t)(off + limit) < n, off + limit, off > 0 ?
	    (off > limit ? off - limit : 0) : -1);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(q, 200, b.data);
out:
	free(v);
	free(type);
	free(tok);
	dbm_buf_free(&b);
	return res;
}

/* runs/delete: a run that has ended goes, with its record and task
 * folders; an active one is refused (cancel it first). */
enum MHD_Result
emu_jobs_delete_run(struct req *q)
{
	struct emu *e = q->emu;
	struct jobs *js = e->jobs;
	struct run **pp, *r;
	struct dbm_buf p = DBM_BUF_INIT;
	enum MHD_Result res;
	long long id;
	int i;

	if (emu_need_json(q, &res) < 0 || emu_param_id(q, "run_id",
	    "run_id is required", &id, &res) < 0)
		return res;
	pthread_mutex_lock(&js->mu);
	for (;;) {	/* a record still being written is waited for */
		for (pp = &js->runs; *pp && (*pp)->run_id != id;
		    pp = &(*pp)->next)
			;
		if ((r = *pp) == NULL || r->unsaved == 0)
			break;
		pthread_cond_wait(&js->cv, &js->mu);
	}
	if (r == NULL) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Run %lld does not exist.", id);
	}
	if (run_active(r) || r->live) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_STATE",
		    "Run %lld is active: cancel it and wait for it to end "
		    "before deleting it.", id);
	}
	*pp = r->next;
	dbm_buf_printf(&p, "%s/jobs/state/%lld.json", e->datadir, r->run_id);
	unlink(p.data);
	for (i = 0; i < r->nt; i++)
		if (r->t[i].dir)
			store_remove_tree(r->t[i].dir);
	pthread_mutex_unlock(&js->mu);
	jobs_free_run(r);
	dbm_buf_free(&p);
	return emu_reply_json(q, 200, "{}");
}
