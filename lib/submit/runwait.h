/*
 * Waiting for a submitted job run and reading its end (runwait.c).
 */
#ifndef DBM_RUNWAIT_H
#define DBM_RUNWAIT_H

#include <signal.h>

#include "err.h"
#include "http.h"

struct dbm_wait_opts {
	int quiet;			/* no state line */
	int tasks;			/* a tasks[] run: logs are the task's */
	long timeout;			/* cancel after this many seconds; 0 */
	long poll_max;			/* longest pause between polls (s) */
	long log_interval;		/* no terminal: a line this often (s) */
	volatile sig_atomic_t *interrupted;	/* cancel when set */
};

struct dbm_run_end {
	char *life, *result, *message;	/* result may be NULL: a failure */
	long long task_run_id;		/* whose output holds the logs */
	int timed_out;			/* cancelled for o->timeout */
};

int dbm_run_cancel(struct dbm_http *h, long long run_id, struct dbm_err *e);
/* Poll runs/get until run_id ends, showing its state on stderr; cancel
 * it on *o->interrupted or after o->timeout. -1 (e filled) when the API
 * could not tell. */
int dbm_run_wait(struct dbm_http *h, long long run_id,
    const struct dbm_wait_opts *o, struct dbm_run_end *r, struct dbm_err *e);
/* The logs from runs/get-output of a task run (malloc'd), or NULL. */
char *dbm_run_logs(struct dbm_http *h, long long task_run_id);

#endif
