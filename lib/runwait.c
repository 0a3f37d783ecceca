/*
 * Waiting for a job run (mlflow-submit): runs/get polled with a growing
 * pause, the state line, cancelling on a signal or a timeout, the logs of
 * the run's task and the exit code of its outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "runwait.h"

static void
fmt_dur(char *buf, size_t n, double s)
{
	long t = (long)s;

	if (t >= 3600)
		snprintf(buf, n, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
terminal(const char *life)
{
	return strcmp(life, "TERMINATED") == 0 || strcmp(life, "SKIPPED") == 0 ||
	    strcmp(life, "INTERNAL_ERROR") == 0;
}

int
dbm_run_cancel(struct dbm_http *h, long long run_id, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&b, "{\"run_id\":%lld}", run_id);
	rc = dbm_http_json(h, "POST", "/api/2.0/jobs/runs/cancel", b.data, 1,
	    NULL, e);
	dbm_buf_free(&b);
	return rc;
}

int
dbm_run_wait(struct dbm_http *h, const struct dbm_submit_opts *o,
    struct dbm_submit_result *r, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT, chain = DBM_BUF_INIT;
	double start = mono(), pause = 1, entered = start;
	int tty = isatty(2) && !o->quiet, cancelled = 0, timed_out = 0;
	char *last = NULL;
	int rc = 0;

	dbm_buf_printf(&url, "/api/2.0/jobs/runs/get?run_id=%lld", r->run_id);
	for (;;) {
		struct dbm_json j;
		char *life, *result, dur[32];

		if (o->interrupted && *o->interrupted && !cancelled) {
			fprintf(stderr, "%s%s: interrupted: cancelling run %lld\n",
			    tty ? "\n" : "", dbm_prog(), r->run_id);
			if (dbm_run_cancel(h, r->run_id, e) < 0)
				dbm_err_print(e);
			cancelled = 1;
		}
		if (!cancelled && o->timeout > 0 && mono() - start >
		    (double)o->timeout) {
			fprintf(stderr, "%s%s: waited %lds: cancelling run %lld\n",
			    tty ? "\n" : "", dbm_prog(), o->timeout, r->run_id);
			if (dbm_run_cancel(h, r->run_id, e) < 0)
				dbm_err_print(e);
			cancelled = timed_out = 1;
		}
		if (dbm_http_json(h, "GET", url.data, NULL, 1, &j, e) < 0) {
			rc = -1;
			break;
		}
		life = dbm_json_get_str(&j, "state.life_cycle_state");
		result = dbm_json_get_str(&j, "state.result_state");
		if (life == NULL) {
			dbm_json_free(&j);
			dbm_errf(e, DBM_E_API, "runs/get: no life_cycle_state");
			free(result);
			rc = -1;
			break;
		}
		if (last == NULL || strcmp(last, life) != 0) {
			fmt_dur(dur, sizeof(dur), mono() - entered);
			if (last)
				dbm_buf_printf(&chain, " %s -> ", dur);
			dbm_buf_adds(&chain, life);
			entered = mono();
			free(last);
			last = dbm_xstrdup(life);
			if (!o->quiet && !tty && !terminal(life))
				fprintf(stderr, "%s: run %lld: %s\n", dbm_prog(),
				    r->run_id, life);
		}
		if (tty) {
			fmt_dur(dur, sizeof(dur), mono() - entered);
			fprintf(stderr, "\r\033[K%s: run %lld: %s %s", dbm_prog(),
			    r->run_id, chain.data, dur);
			fflush(stderr);
		}
		if (terminal(life)) {
			r->life = life;
			r->result = result;	/* may be NULL: a failure */
			r->message = dbm_json_get_str(&j,
			    "state.state_message");
			if (!o->quiet) {
				fmt_dur(dur, sizeof(dur), mono() - start);
				/* PENDING 0m40s -> RUNNING 2m13s -> TERMINATED
				 * SUCCESS (2m53s) */
				fprintf(stderr, "%s%s: run %lld: %s %s (%s)\n",
				    tty ? "\r\033[K" : "", dbm_prog(), r->run_id,
				    chain.data, result ? result : "(no result)",
				    dur);
			}
			{
				long long t;

				if (dbm_json_get_int(&j, "tasks.0.run_id", &t) == 0
				    && strcmp(r->mode, "python") == 0)
					r->task_run_id = t;
				else
					r->task_run_id = r->run_id;
			}
			dbm_json_free(&j);
			break;
		}
		free(life);
		free(result);
		dbm_json_free(&j);
		{
			/* sleep in small steps to notice a signal quickly */
			double until = mono() + pause;

			while (mono() < until && !(o->interrupted &&
			    *o->interrupted && !cancelled)) {
				struct timespec ts = {0, 100 * 1000000L};

				nanosleep(&ts, NULL);
			}
		}
		pause = pause * 1.5 > (double)o->poll_max ? (double)o->poll_max :
		    pause * 1.5;
	}
	if (rc == 0 && timed_out)
		r->code = DBM_SUBMIT_TIMEDOUT;
	free(last);
	dbm_buf_free(&url);
	dbm_buf_free(&chain);
	return rc;
}

void
dbm_run_logs(struct dbm_http *h, struct dbm_submit_result *r)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err e;

	dbm_buf_printf(&url, "/api/2.0/jobs/runs/get-output?run_id=%lld",
	    r->task_run_id);
	if (dbm_http_json(h, "GET", url.data, NULL, 1, &j, &e) == 0) {
		r->logs = dbm_json_get_str(&j, "logs");
		if (r->logs == NULL)
			r->logs = dbm_json_get_str(&j, "notebook_output.result");
		dbm_json_free(&j);
	}
	dbm_buf_free(&url);
}

int
dbm_run_outcome(const struct dbm_submit_result *r, const struct dbm_submit_opts *o)
{
	if (o->interrupted && *o->interrupted)
		return DBM_SUBMIT_INTERRUPTED;
	if (r->code)
		return r->code;
	if (strcmp(r->life, "INTERNAL_ERROR") == 0)
		return DBM_SUBMIT_INFRA;
	if (r->result == NULL)
		return DBM_SUBMIT_INFRA;	/* terminal, no result: failed */
	if (strcmp(r->result, "SUCCESS") == 0)
		return DBM_SUBMIT_OK;
	if (strcmp(r->result, "TIMEDOUT") == 0)
		return DBM_SUBMIT_TIMEDOUT;
	if (strcmp(r->result, "CANCELED") == 0 ||
	    strcmp(r->result, "UPSTREAM_CANCELED") == 0)
		return DBM_SUBMIT_CANCELED;
	return DBM_SUBMIT_FAILED;
}
