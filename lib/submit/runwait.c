/*
 * Waiting for a job run (mlflow-submit): runs/get polled with a growing
 * pause, the state line, cancelling on a signal or a timeout, and the
 * logs of the run's task.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/jobs.h"
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

static int
terminal(const char *life)
{
	return strcmp(life, "TERMINATED") == 0 || strcmp(life, "SKIPPED") == 0 ||
	    strcmp(life, "INTERNAL_ERROR") == 0;
}

int
dbm_run_cancel(struct dbm_http *h, long long run_id, struct dbm_err *e)
{
	return dbm_api_jobs_cancel(h, run_id, e);
}

/* What the state line shows: the chain of states so far. On a terminal
 * it is redrawn every second; in a log (no terminal) a line is written at
 * each change of state and once a minute while it lasts. */
struct line {
	int tty, quiet;
	long interval;		/* seconds between log lines */
	long long run_id;
	struct dbm_buf chain;	/* "PENDING 0m40s -> RUNNING" */
	char *state;		/* the current state */
	double start, entered, logged;
};

static void
line_draw(struct line *l)
{
	char dur[32];

	if (l->quiet || l->state == NULL)
		return;
	if (l->tty) {
		fmt_dur(dur, sizeof(dur), dbm_now() - l->entered);
		dbm_say(DBM_SAY_STATE, "\r\033[K%s: run %lld: %s %s", dbm_prog(),
		    l->run_id, l->chain.data, dur);
	} else if (dbm_now() - l->logged >= (double)l->interval) {
		fmt_dur(dur, sizeof(dur), dbm_now() - l->start);
		dbm_say(DBM_SAY_STATE, "%s: run %lld: %s at %s\n", dbm_prog(),
		    l->run_id, l->state, dur);
		l->logged = dbm_now();
	}
}

static void
line_state(struct line *l, const char *life)
{
	char dur[32];

	if (l->state && strcmp(l->state, life) == 0)
		return;
	fmt_dur(dur, sizeof(dur), dbm_now() - l->entered);
	if (l->state)
		dbm_buf_printf(&l->chain, " %s -> ", dur);
	dbm_buf_adds(&l->chain, life);
	l->entered = dbm_now();
	free(l->state);
	l->state = dbm_xstrdup(life);
	if (!terminal(life)) {
		l->logged = 0;		/* a change is always written */
		line_draw(l);
	}
}

/* Erase the terminal's line before another message. */
static void
line_clear(struct line *l)
{
	if (l->tty && !l->quiet && l->state)
		dbm_say(DBM_SAY_STATE, "\r\033[K");
}

static void
line_end(struct line *l, const char *result)
{
	char dur[32];

	if (!l->quiet) {
		fmt_dur(dur, sizeof(dur), dbm_now() - l->start);
		/* PENDING 0m40s -> RUNNING 2m13s -> TERMINATED SUCCESS
		 * (2m53s) */
		line_clear(l);
		dbm_say(DBM_SAY_STATE, "%s: run %lld: %s %s (%s)\n", dbm_prog(),
		    l->run_id, l->chain.data, result ? result : "(no result)",
		    dur);
	}
}

/* Sleep for secs in small steps: the line ticks, a signal is noticed. */
static void
pause_for(struct line *l, double secs, const struct dbm_wait_opts *o,
    int cancelled)
{
	double until = dbm_now() + secs, tick = dbm_now() + 1;

	while (dbm_now() < until && !(o->interrupted && *o->interrupted &&
	    !cancelled)) {
		struct timespec ts = {0, 100 * 1000000L};

		nanosleep(&ts, NULL);
		if (dbm_now() >= tick) {
			line_draw(l);
			tick += 1;
		}
	}
}

int
dbm_run_wait(struct dbm_http *h, long long run_id,
    const struct dbm_wait_opts *o, struct dbm_run_end *r, struct dbm_err *e)
{
	struct line l = {0};
	double pause = 1;
	int cancelled = 0, timed_out = 0, rc = 0;

	l.tty = isatty(2);
	l.quiet = o->quiet;
	l.interval = o->log_interval > 0 ? o->log_interval : 60;
	l.run_id = run_id;
	l.start = l.entered = dbm_now();
	for (;;) {
		struct dbm_json j;
		char *life, *result;

		if (o->interrupted && *o->interrupted && !cancelled) {
			line_clear(&l);
			dbm_say(DBM_SAY_NOTE, "%s: interrupted: cancelling run %lld\n",
			    dbm_prog(), run_id);
			if (dbm_run_cancel(h, run_id, e) < 0)
				dbm_say_err(e);
			cancelled = 1;
		}
		if (!cancelled && o->timeout > 0 && dbm_now() - l.start >
		    (double)o->timeout) {
			line_clear(&l);
			dbm_say(DBM_SAY_NOTE, "%s: waited %lds: cancelling run %lld\n",
			    dbm_prog(), o->timeout, run_id);
			if (dbm_run_cancel(h, run_id, e) < 0)
				dbm_say_err(e);
			cancelled = timed_out = 1;
		}
		if (dbm_api_jobs_get(h, run_id, &j, e) < 0) {
			line_clear(&l);
			rc = -1;
			break;
		}
		life = dbm_json_get_str(&j, "state.life_cycle_state");
		result = dbm_json_get_str(&j, "state.result_state");
		if (life == NULL) {
			dbm_json_free(&j);
			dbm_errf(e, DBM_E_API, "runs/get: no life_cycle_state");
			free(result);
			line_clear(&l);
			rc = -1;
			break;
		}
		line_state(&l, life);
		if (terminal(life)) {
			long long t;

			r->life = life;
			r->result = result;	/* may be NULL: a failure */
			r->message = dbm_json_get_str(&j,
			    "state.state_message");
			line_end(&l, result);
			if (dbm_json_get_int(&j, "tasks.0.run_id", &t) == 0 &&
			    o->tasks)
				r->task_run_id = t;
			else
				r->task_run_id = run_id;
			dbm_json_free(&j);
			break;
		}
		free(life);
		free(result);
		dbm_json_free(&j);
		pause_for(&l, pause, o, cancelled);
		pause = pause * 1.5 > (double)o->poll_max ? (double)o->poll_max :
		    pause * 1.5;
	}
	if (rc == 0)
		r->timed_out = timed_out;
	free(l.state);
	dbm_buf_free(&l.chain);
	return rc;
}

char *
dbm_run_logs(struct dbm_http *h, long long task_run_id)
{
	struct dbm_json j;
	struct dbm_err e;
	char *logs = NULL;

	if (dbm_api_jobs_get_output(h, task_run_id, &j, &e) == 0) {
		logs = dbm_json_get_str(&j, "logs");
		if (logs == NULL)
			logs = dbm_json_get_str(&j, "notebook_output.result");
		dbm_json_free(&j);
	}
	return logs;
}
