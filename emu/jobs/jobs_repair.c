/*
 * workspace-emu jobs: runs/repair (PROTOCOL.md section 4): an ended run's
 * failed tasks, or the ones named, run again as part of it, through the
 * same runner; the others keep how they ended. Each repair has an id, the
 * run its repair_history.
 */
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

static int
failed(const struct task *t)
{
	return t->result == NULL || strcmp(t->result, "SUCCESS") != 0;
}

/* Mark the tasks to rerun (t->keep 0, the others 1): rerun_tasks[] and,
 * with rerun_dependent_tasks, what depends on them; else every task that
 * did not succeed. The number marked, or -1 with *why. */
static int
pick(struct run *r, const struct dbm_json *j, char **why)
{
	int names = dbm_json_member(j, 0, "rerun_tasks"), all = 0, deps = 0;
	int i, k, n = 0, grew;

	dbm_json_bool(j, dbm_json_member(j, 0, "rerun_all_failed_tasks"), &all);
	dbm_json_bool(j, dbm_json_member(j, 0, "rerun_dependent_tasks"), &deps);
	if ((names >= 0) == all) {
		*why = dbm_xstrdup("Give either rerun_tasks or "
		    "rerun_all_failed_tasks");
		return -1;
	}
	for (i = 0; i < r->nt; i++)
		r->t[i].keep = names >= 0 || !failed(&r->t[i]);
	for (i = 0; names >= 0 && i < dbm_json_count(j, names); i++) {
		char *key = dbm_json_strdup(j, dbm_json_elem(j, names, i));

		for (k = 0; key && k < r->nt && strcmp(r->t[k].key, key); k++)
			;
		if (key == NULL || k == r->nt) {
			struct dbm_buf b = DBM_BUF_INIT;

			dbm_buf_printf(&b, "Task %.100s is not a task of run "
			    "%lld", key ? key : "(none)", r->run_id);
			*why = dbm_buf_detach(&b);
			free(key);
			return -1;
		}
		r->t[k].keep = 0;
		free(key);
	}
	do {		/* and what depends on a rerun task, when asked */
		grew = 0;
		for (i = 0; deps && i < r->nt; i++)
			for (k = 0; r->t[i].keep && k < r->t[i].ndeps; k++) {
				int d;

				for (d = 0; d < r->nt; d++)
					if (!r->t[d].keep && strcmp(r->t[d].key,
					    r->t[i].deps[k]) == 0)
						break;
				if (d < r->nt) {
					r->t[i].keep = 0;
					grew = 1;
				}
			}
	} while (grew);
	for (i = 0; i < r->nt; i++)
		n += !r->t[i].keep;
	if (n == 0)
		*why = dbm_xstrdup("No task of the run needs repairing: every "
		    "task succeeded");
	return n ? n : -1;
}

/* A task to run again: a new task run id and folder, its state afresh. */
static void
reset(struct emu *e, struct task *t)
{
	struct dbm_buf d = DBM_BUF_INIT;

	t->run_id = e->jobs->next_id++;
	t->life = LIFE_PENDING;
	t->result = t->code = t->type = NULL;
	free(t->message);
	t->message = dbm_xstrdup("");
	t->start = t->setup_end = t->exec_end = t->end = 0;
	t->pid = 0;
	t->exit_code = 0;
	free(t->dir);
	dbm_buf_printf(&d, "%s/jobs/runs/%lld", e->datadir, t->run_id);
	t->dir = dbm_buf_detach(&d);
}

enum MHD_Result
emu_jobs_repair(struct req *q)
{
	struct emu *e = q->emu;
	struct jobs *js = e->jobs;
	struct dbm_buf b = DBM_BUF_INIT;
	enum MHD_Result res;
	struct run *r;
	long long id, latest = 0, rid;
	char *why = NULL;
	pthread_t th;
	int i;

	if (emu_param_id(q, "run_id", "Missing required field: run_id", &id,
	    &res) < 0)
		return res;
	dbm_json_get_int(&q->json, "latest_repair_id", &latest);
	pthread_mutex_lock(&js->mu);
	if ((r = jobs_find_run(js, id, NULL)) == NULL || r->run_id != id) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Run %lld does not exist.", id);
	}
	for (i = 0; i < r->nt && jobs_terminal(r->t[i].life); i++)
		;
	if (i < r->nt || r->live) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_STATE", "Run %lld is "
		    "active: it can be repaired once it has ended.", id);
	}
	if (r->nrepairs && latest != r->repairs[r->nrepairs - 1]) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "latest_repair_id must be %lld, the run's latest repair",
		    r->repairs[r->nrepairs - 1]);
	}
	if (pick(r, &q->json, &why) < 0) {
		for (i = 0; i < r->nt; i++)
			r->t[i].keep = 0;
		pthread_mutex_unlock(&js->mu);
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		return res;
	}
	for (i = 0; i < r->nt; i++)
		if (!r->t[i].keep)
			reset(e, &r->t[i]);
	rid = js->next_id++;
	r->repairs = dbm_xrealloc(r->repairs, (size_t)(r->nrepairs + 1) *
	    sizeof(*r->repairs));
	r->repairs[r->nrepairs++] = rid;
	r->cancel = 0;
	r->live = 1;
	jobs_save_run(e, r);
	if (pthread_create(&th, NULL, jobs_runner, r) == 0)
		pthread_detach(th);
	else
		r->live = 0;
	pthread_mutex_unlock(&js->mu);
	jobs_flush_run(e, r);
	dbm_buf_printf(&b, "{\"repair_id\":%lld}", rid);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}
