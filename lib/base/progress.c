/* Progress line: see progress.h. */
#include <stdio.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "progress.h"

static void
human(char *buf, size_t n, double v)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

void
dbm_progress_init(struct dbm_progress *p, long long files, long long bytes,
    int quiet)
{
	pthread_mutex_init(&p->mu, NULL);
	p->enabled = !quiet && isatty(2);
	p->files_total = files;
	p->bytes_total = bytes;
	p->files_done = p->bytes_done = 0;
	p->start = dbm_now();
	p->last_draw = 0;
	p->drawn = 0;
}

static void
draw(struct dbm_progress *p, int force)
{
	double t = dbm_now(), el = t - p->start, rate;
	char done[32], total[32], r[32], eta[32] = "";

	if (!p->enabled || (!force && t - p->last_draw < 0.1))
		return;
	p->last_draw = t;
	rate = el > 0 ? (double)p->bytes_done / el : 0;
	human(done, sizeof(done), (double)p->bytes_done);
	human(total, sizeof(total), (double)p->bytes_total);
	human(r, sizeof(r), rate);
	if (rate > 0 && p->bytes_done < p->bytes_total)
		snprintf(eta, sizeof(eta), ", ETA %.0fs",
		    (double)(p->bytes_total - p->bytes_done) / rate);
	dbm_say(DBM_SAY_PROGRESS, "\r\033[K%s: %lld/%lld files, %s/%s, %s/s%s", dbm_prog(),
	    p->files_done, p->files_total, done, total, r, eta);
	p->drawn = 1;
}

void
dbm_progress_bytes(struct dbm_progress *p, long long delta)
{
	pthread_mutex_lock(&p->mu);
	p->bytes_done += delta;
	draw(p, 0);
	pthread_mutex_unlock(&p->mu);
}

void
dbm_progress_file(struct dbm_progress *p)
{
	pthread_mutex_lock(&p->mu);
	p->files_done++;
	draw(p, 0);
	pthread_mutex_unlock(&p->mu);
}

void
dbm_progress_clear(struct dbm_progress *p)
{
	pthread_mutex_lock(&p->mu);
	if (p->drawn) {
		dbm_say(DBM_SAY_PROGRESS, "\r\033[K");
		p->drawn = 0;
		p->last_draw = 0;
	}
	pthread_mutex_unlock(&p->mu);
}

void
dbm_progress_done(struct dbm_progress *p)
{
	dbm_progress_clear(p);
	pthread_mutex_destroy(&p->mu);
}
