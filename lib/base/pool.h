/*
 * A fixed pool of worker threads for parallel transfers. Each worker owns
 * its resources (a struct dbm_http with its own libcurl handle and kept-alive
 * connection), so transfers share nothing but the queue. Call
 * curl_global_init() before starting a pool.
 */
#ifndef DBM_POOL_H
#define DBM_POOL_H

#include <stddef.h>

/* Run fn(item, worker, arg) for item 0..n-1 on jobs threads (worker is
 * 0..jobs-1). Items are taken in order. Returns the number of items whose
 * fn returned non-zero. */
size_t dbm_pool_run(int jobs, size_t n, int (*fn)(size_t item, int worker,
    void *arg), void *arg);

#endif
