/*
 * Waiting for a submitted job run and reading its outcome (runwait.c).
 */
#ifndef DBM_RUNWAIT_H
#define DBM_RUNWAIT_H

#include "submit.h"

int dbm_run_cancel(struct dbm_http *h, long long run_id, struct dbm_err *e);
/* Poll runs/get until r->run_id ends, showing its state on stderr;
 * cancels it on *o->interrupted or after o->timeout. Fills r's state and
 * task_run_id. -1 (e filled) when the API could not tell. */
int dbm_run_wait(struct dbm_http *h, const struct dbm_submit_opts *o,
    struct dbm_submit_result *r, struct dbm_err *e);
/* r->logs from runs/get-output of the task run (none when unavailable). */
void dbm_run_logs(struct dbm_http *h, struct dbm_submit_result *r);
/* The exit code of the ended run (DBM_SUBMIT_*). */
int dbm_run_outcome(const struct dbm_submit_result *r,
    const struct dbm_submit_opts *o);

#endif
