/*
 * A one-line progress report on stderr (files, bytes, rate, ETA), drawn
 * only when stderr is a terminal and at most ten times a second; safe to
 * update from several threads.
 */
#ifndef DBM_PROGRESS_H
#define DBM_PROGRESS_H

#include <pthread.h>

struct dbm_progress {
	pthread_mutex_t mu;
	int enabled;
	long long files_total, files_done;
	long long bytes_total, bytes_done;
	double start, last_draw;
	int drawn;
};

/* Enabled when stderr is a tty and quiet is 0. */
void dbm_progress_init(struct dbm_progress *p, long long files,
    long long bytes, int quiet);
void dbm_progress_bytes(struct dbm_progress *p, long long delta);
void dbm_progress_file(struct dbm_progress *p);
/* Erase the line; call before printing other diagnostics and at the end. */
void dbm_progress_clear(struct dbm_progress *p);
void dbm_progress_done(struct dbm_progress *p);

#endif
