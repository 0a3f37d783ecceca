/*
 * workspace-emu jobs: the scheduler. A run waits while --max-runs runs
 * are active (QUEUED), then each task gets a thread that waits for the
 * tasks it depends on and runs it (jobs_exec.c), or skips it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

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
		jobs_finish(e, t, LIFE_TERMINATED, "CANCELED", "USER_CANCELED",
		    "SUCCESS", "Run cancelled.");
	else if (upstream)
		jobs_finish(e, t, LIFE_SKIPPED, upstream, "SKIPPED", "SUCCESS",
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
				r->t[i].life = LIFE_QUEUED;
		pthread_cond_wait(&js->cv, &js->mu);
	}
	js->running++;
	for (i = 0; i < r->nt; i++)
		if (r->t[i].life == LIFE_QUEUED)
			r->t[i].life = LIFE_PENDING;
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
