/* workspace-emu: a deadline for each request's headers (deadline.c).
 *
 * libmicrohttpd closes a connection that has been idle for its timeout,
 * but a client that sends a byte of its headers every few seconds is
 * never idle, and would hold its thread for as long as it likes
 * (slowloris). So a connection must bring its first request's headers
 * within first seconds of opening, and each later request's within next
 * seconds of the answer before it (the idle timeout: a kept-alive
 * connection that waits quietly sees no difference). A watchdog shuts
 * down the socket of a connection past its deadline; libmicrohttpd then
 * sees the end of the stream and closes the connection as it would any
 * other. While a request is being served (its headers are in), only the
 * idle timeout applies: bodies and answers may take as long as they
 * keep moving.
 *
 * The socket is shut down, never closed, here: libmicrohttpd owns it,
 * and closes it after it has told us the connection ended (under the
 * lock below, so the watchdog never touches a number reused since). */

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "deadline.h"

struct deadline {
	int fd;
	int busy;		/* a request's headers are in */
	int cut;		/* shut down already */
	double due;		/* the headers must be in by then */
	struct deadline *prev, *next;
};

struct deadlines {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int stop;
	double first, next;	/* seconds */
	struct deadline *conns;
};

static double
tick_of(const struct deadlines *d)
{
	/* a quarter of the shortest deadline, at most a second */
	double t = (d->first < d->next ? d->first : d->next) / 4;

	return t > 1 ? 1 : t < 0.05 ? 0.05 : t;
}

static void *
watch(void *arg)
{
	struct deadlines *d = arg;
	struct deadline *c;
	struct timespec ts;
	double tick = tick_of(d), now;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(tick * 1e9);
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		now = dbm_now();
		for (c = d->conns; c != NULL; c = c->next)
			if (!c->busy && !c->cut && now >= c->due) {
				shutdown(c->fd, SHUT_RDWR);
				c->cut = 1;
			}
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

struct deadlines *
emu_deadlines_start(double first, double next)
{
	struct deadlines *d = dbm_xcalloc(1, sizeof(*d));

	d->first = first;
	d->next = next;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if (pthread_create(&d->thread, NULL, watch, d) != 0)
		dbm_errx(1, "cannot start the header watchdog");
	return d;
}

void
emu_deadlines_stop(struct deadlines *d)
{
	struct deadline *c, *n;

	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	for (c = d->conns; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
}

struct deadline *
emu_deadline_open(struct deadlines *d, int fd)
{
	struct deadline *c = dbm_xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->due = dbm_now() + d->first;
	pthread_mutex_lock(&d->mu);
	c->next = d->conns;
	if (d->conns != NULL)
		d->conns->prev = c;
	d->conns = c;
	pthread_mutex_unlock(&d->mu);
	return c;
}

void
emu_deadline_close(struct deadlines *d, struct deadline *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&d->mu);
	free(c);
}

void
emu_deadline_busy(struct deadlines *d, struct deadline *c, int busy)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	c->busy = busy;
	if (!busy)
		c->due = dbm_now() + d->next;
	pthread_mutex_unlock(&d->mu);
}
