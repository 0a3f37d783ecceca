/* Worker pool: see pool.h. */
#include <pthread.h>
#include <stdlib.h>

#include "buf.h"
#include "pool.h"

struct pool {
	pthread_mutex_t mu;
	size_t next, n, failed;
	int (*fn)(size_t, int, void *);
	void *arg;
};

struct worker {
	struct pool *p;
	int id;
};

static void *
work(void *v)
{
	struct worker *w = v;
	struct pool *p = w->p;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		i = p->next < p->n ? p->next++ : p->n;
		pthread_mutex_unlock(&p->mu);
		if (i == p->n)
			break;
		if (p->fn(i, w->id, p->arg) != 0) {
			pthread_mutex_lock(&p->mu);
			p->failed++;
			pthread_mutex_unlock(&p->mu);
		}
	}
	return NULL;
}

size_t
dbm_pool_run(int jobs, size_t n, int (*fn)(size_t, int, void *), void *arg)
{
	struct pool p = {PTHREAD_MUTEX_INITIALIZER, 0, n, 0, fn, arg};
	struct worker *w;
	pthread_t *t;
	int i, started = 0;

	if (jobs < 1)
		jobs = 1;
	if ((size_t)jobs > n)
		jobs = n ? (int)n : 1;
	w = dbm_xcalloc((size_t)jobs, sizeof(*w));
	t = dbm_xcalloc((size_t)jobs, sizeof(*t));
	for (i = 1; i < jobs; i++) {
		w[i].p = &p;
		w[i].id = i;
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			break;
		started = i;
	}
	w[0].p = &p;
	w[0].id = 0;
	work(&w[0]);	/* the calling thread is worker 0 */
	for (i = 1; i <= started; i++)
		pthread_join(t[i], NULL);
	free(w);
	free(t);
	pthread_mutex_destroy(&p.mu);
	return p.failed;
}
