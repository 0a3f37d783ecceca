/*
 * Jobs API runs for workspace-emu (PROTOCOL.md section 4): the run
 * registry and its state machine. A run's tasks go through PENDING,
 * RUNNING, TERMINATING and TERMINATED (or SKIPPED, INTERNAL_ERROR); QUEUED
 * while more than --max-runs runs are active. The module's other files:
 * jobs_submit.c (runs/submit: parsing, validation), jobs_api.c (runs/get,
 * get-output, cancel and their JSON), jobs_list.c (runs/list, delete),
 * jobs_defs.c (jobs/create, get, list, reset, update, delete),
 * jobs_merge.c (update's merge of settings), jobs_repair.c (runs/repair),
 * jobs_command.c (command
 * execution contexts on clusters),
 * jobs_runnow.c (run-now: a job's settings as a run), jobs_exec.c (a
 * task's process), jobs_env.c (cluster environments), jobs_store.c
 * (persistence), jobs_page.c (the run page).
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
#include "jobs.h"
#include "jobs_int.h"
#include "sha.h"


int
jobs_terminal(const char *life)
{
	return strcmp(life, "TERMINATED") == 0 || strcmp(life, "SKIPPED") == 0 ||
	    strcmp(life, "INTERNAL_ERROR") == 0;
}

void
jobs_set_state(struct emu *e, struct task *t, const char *life)
{
	pthread_mutex_lock(&e->jobs->mu);
	t->life = life;
	jobs_save_run(e, t->run);
	pthread_mutex_unlock(&e->jobs->mu);
}

void
jobs_finish(struct emu *e, struct task *t, const char *life, const char *result,
    const char *code, const char *type, const char *msg)
{
	pthread_mutex_lock(&e->jobs->mu);
	t->life = life;
	t->result = result;
	t->code = code;
	t->type = type;
	free(t->message);
	t->message = dbm_xstrdup(msg ? msg : "");
	t->end = dbm_epoch_ms();
	if (t->setup_end == 0)
		t->setup_end = t->end;
	if (t->exec_end == 0)
		t->exec_end = t->end;
	jobs_save_run(e, t->run);
	pthread_cond_broadcast(&e->jobs->cv);	/* dependents wait on it */
	pthread_mutex_unlock(&e->jobs->mu);
}

/* One task of a run, on a thread of its own: it waits until every task
 * it depends on has ended, then runs, unless one of them did not succeed
 * (SKIPPED, UPSTREAM_FAILED or UPSTREAM_CANCELED) or the run is
 * cancelled. Independent tasks run at the same time, as on the service. */
static void *
task_thread(void *arg)
{
	struct task *t = arg;
	struct run *r = t->run;
	struct emu *e = r->e;
	struct jobs *js = e->jobs;
	const char *upstream;
	int cancel, d, k, waiting;

	pthread_mutex_lock(&js->mu);
	if (t->keep) {		/* a repair reruns others */
		pthread_mutex_unlock(&js->mu);
		return NULL;
	}
	for (;;) {
		waiting = 0;
		upstream = NULL;
		for (d = 0; d < t->ndeps; d++)
			for (k = 0; k < r->nt; k++) {
				struct task *u = &r->t[k];

				if (strcmp(u->key, t->deps[d]) != 0)
					continue;
				if (!jobs_terminal(u->life))
					waiting = 1;
				else if (upstream == NULL && (u->result == NULL ||
				    strcmp(u->result, "SUCCESS") != 0))
					upstream = u->result &&
					    (strcmp(u->result, "CANCELED") == 0 ||
					    strcmp(u->result, "UPSTREAM_CANCELED") ==
					    0) ? "UPSTREAM_CANCELED" :
					    "UPSTREAM_FAILED";
			}
		if (!waiting || r->cancel)
			break;
		pthread_cond_wait(&js->cv, &js->mu);
	}
	cancel = r->cancel;
	pthread_mutex_unlock(&js->mu);
	if (cancel)
		jobs_finish(e, t, "TERMINATED", "CANCELED", "USER_CANCELED",
		    "SUCCESS", "Run cancelled.");
	else if (upstream)
		jobs_finish(e, t, "SKIPPED", upstream, "SKIPPED", "SUCCESS",
		    "An upstream task did not succeed.");
	else
		jobs_exec_task(e, r, t);
	return NULL;
}

void *
jobs_runner(void *arg)
{
	struct run *r = arg;
	struct emu *e = r->e;
	struct jobs *js = e->jobs;
	pthread_t *th = dbm_xcalloc((size_t)r->nt, sizeof(*th));
	int i, *started = dbm_xcalloc((size_t)r->nt, sizeof(*started));

	pthread_mutex_lock(&js->mu);
	while (js->running >= js->max && !r->cancel) {
		for (i = 0; i < r->nt; i++)
			if (!r->t[i].keep)
				r->t[i].life = "QUEUED";
		pthread_cond_wait(&js->cv, &js->mu);
	}
	js->running++;
	for (i = 0; i < r->nt; i++)
		if (strcmp(r->t[i].life, "QUEUED") == 0)
			r->t[i].life = "PENDING";
	pthread_mutex_unlock(&js->mu);
	for (i = 0; i < r->nt; i++)
		started[i] = pthread_create(&th[i], NULL, task_thread,
		    &r->t[r->order ? r->order[i] : i]) == 0;
	for (i = 0; i < r->nt; i++)
		if (started[i])
			pthread_join(th[i], NULL);
		else	/* no thread: run it here, in order */
			task_thread(&r->t[r->order ? r->order[i] : i]);
	free(th);
	free(started);
	pthread_mutex_lock(&js->mu);
	js->running--;
	r->live = 0;		/* runs/delete may free it now */
	pthread_cond_broadcast(&js->cv);
	pthread_mutex_unlock(&js->mu);
	return NULL;
}

struct run *
jobs_find_run(struct jobs *js, long long id, struct task **task)
{
	struct run *r;
	int i;

	for (r = js->runs; r; r = r->next) {
		if (r->run_id == id) {
			if (task)
				*task = NULL;
			return r;
		}
		for (i = 0; i < r->nt; i++) {
			if (r->t[i].run_id == id) {
				if (task)
					*task = &r->t[i];
				return r;
			}
		}
	}
	return NULL;
}

void
jobs_free_run(struct run *r)
{
	int i;

	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[i];

		free(t->key);
		free(t->task_json);
		free(t->cluster_json);
		free(t->existing);
		free(t->libraries);
		free(t->env_key);
		free(t->env_spec);
		free(t->setup_error);
		free(t->message);
		free(t->dir);
		free(t->mlflow_run);
		free(t->mlflow_exp);
		while (t->ndeps > 0)
			free(t->deps[--t->ndeps]);
		free(t->deps);
	}
	free(r->t);
	free(r->order);
	free(r->repairs);
	free(r->name);
	free(r->token);
	free(r);
}

int
emu_jobs_init(struct emu *e, const char *python, const char *cluster,
    int max_runs)
{
	struct jobs *js = dbm_xcalloc(1, sizeof(*js));

	pthread_mutex_init(&js->mu, NULL);
	pthread_cond_init(&js->cv, NULL);
	/* run ids distinct across restarts */
	js->next_id = (dbm_epoch_ms() / 1000 % 100000000LL) * 100 + 1;
	js->next_job = js->next_id / 100;
	js->max = max_runs > 0 ? max_runs : 2;
	js->python = dbm_xstrdup(python);
	js->cluster = dbm_xstrdup(cluster);
	e->jobs = js;
	jobs_load_runs(e);
	jobs_load_defs(e);
	return 0;
}

void
emu_jobs_stop(struct emu *e)
{
	struct jobs *js = e->jobs;
	struct run *r, *n;
	int i, busy;
	double until = dbm_now() + 10;

	if (js == NULL)
		return;
	jobs_commands_stop(e);
	/* end every task's process group, then wait for the runners */
	pthread_mutex_lock(&js->mu);
	for (r = js->runs; r; r = r->next)
		r->cancel = 1;
	pthread_cond_broadcast(&js->cv);
	pthread_mutex_unlock(&js->mu);
	do {
		struct timespec ts = {0, 50 * 1000000L};

		busy = 0;
		pthread_mutex_lock(&js->mu);
		for (r = js->runs; r; r = r->next)
			for (i = 0; i < r->nt; i++)
				busy |= !jobs_terminal(r->t[i].life);
		pthread_mutex_unlock(&js->mu);
		if (busy)
			nanosleep(&ts, NULL);
	} while (busy && dbm_now() < until);
	if (busy)
		return;		/* runners still hold the runs: leak, exit */
	for (r = js->runs; r; r = n) {
		n = r->next;
		jobs_free_run(r);
	}
	jobs_free_defs(js);
	free(js->python);
	free(js->cluster);
	pthread_mutex_destroy(&js->mu);
	pthread_cond_destroy(&js->cv);
	free(js);
	e->jobs = NULL;
}
