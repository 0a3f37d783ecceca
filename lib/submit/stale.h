/*
 * Stale wheels on an all-purpose cluster (PROTOCOL.md section 17): a
 * cluster keeps what it installed until it restarts, and pip keeps an
 * installed name and version, so a run that brings another build of a
 * wheel already there (same name and version, another path) runs the
 * installed one.
 */
#ifndef DBM_STALE_H
#define DBM_STALE_H

#include "buf.h"
#include "err.h"
#include "http.h"

/* "name==version" of a wheel path (PEP 427 file name, the name
 * normalised), malloc'd; NULL when it is not a wheel's name. */
char *dbm_wheel_key(const char *path);
/* The run's wheels (whl[0..n), and the "whl" ones of the JSON array libs
 * when it is not NULL) that the cluster would not install: each a line
 * "<name> <version> is installed from <path>: the run would use it, not
 * <path>" onto why. Their number, or -1 with *e (the API refused). */
int dbm_stale_wheels(struct dbm_http *h, const char *cluster_id,
    char *const *whl, int n, const char *libs, struct dbm_buf *why,
    struct dbm_err *e);

#endif
