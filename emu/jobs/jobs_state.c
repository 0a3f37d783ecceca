/*
 * workspace-emu jobs: a task's state changes, under the jobs lock, saved
 * as they happen (jobs_store.c); the end of a task wakes the tasks that
 * wait on it.
 */
#include <stdlib.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

void
jobs_set_state(struct emu *e, struct task *t, enum life life)
{
	pthread_mutex_lock(&e->jobs->mu);
	t->life = life;
	jobs_save_run(e, t->run);
	pthread_mutex_unlock(&e->jobs->mu);
	jobs_flush_run(e, t->run);
}

void
jobs_finish(struct emu *e, struct task *t, enum life life, const char *result,
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
	jobs_flush_run(e, t->run);
}
