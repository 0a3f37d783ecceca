/*
 * Jobs API runs for workspace-emu (PROTOCOL.md section 4): the service's
 * start (its runs and jobs loaded from the data directory) and stop (every
 * task's process group ended, the runners waited for). A run's tasks go
 * through PENDING, RUNNING, TERMINATING and TERMINATED (or SKIPPED,
 * INTERNAL_ERROR); QUEUED while more than --max-runs runs are active. The
 * folder's other files, bottom up, are listed in jobs_int.h.
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
emu_jobs_init(struct emu *e, const char *python, const char *cluster,
    int max_runs)
{
	struct jobs *js = dbm_xcalloc(1, sizeof(*js));

	pthread_mutex_init(&js->mu, NULL);
	pthread_cond_init(&js->cv, NULL);
	pthread_mutex_init(&js->wmu, NULL);
	/* run ids distinct across restarts */
	js->next_id = (dbm_epoch_ms() / 1000 % 100000000LL) * 100 + 1;
	js->next_job = js->next_id / 100;
	js->max = max_runs > 0 ? max_runs : 2;
	js->python = dbm_xstrdup(python);
	pthread_mutex_init(&js->pymu, NULL);
	js->base_minor = -2;
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
				busy |= !jobs_terminal(r->t[i].life) ||
				    r->unsaved;
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
	for (i = 0; i < js->npy; i++) {
		free(js->py[i].key);
		free(js->py[i].path);
	}
	free(js->py);
	for (i = 0; i < JOBS_PY_MINORS; i++)
		free(js->onpath[i]);
	free(js->pythons);
	pthread_mutex_destroy(&js->pymu);
	free(js->cluster);
	pthread_mutex_destroy(&js->mu);
	pthread_mutex_destroy(&js->wmu);
	pthread_cond_destroy(&js->cv);
	free(js);
	e->jobs = NULL;
}
