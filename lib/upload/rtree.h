/*
 * Remote folders of any kind (DBFS, volumes, workspace files; remote.h):
 * list one, remove one with all it holds. On the upload engine's table of
 * kinds, so no caller switches on the kind.
 */
#ifndef DBM_RTREE_H
#define DBM_RTREE_H

#include <stddef.h>

#include "err.h"
#include "http.h"
#include "remote.h"

struct dbm_rentry {
	char *name;		/* the entry's name in its folder */
	int dir;
	long long mtime;	/* ms since the epoch; 0 when not given */
};

/* The entries of folder r (all pages), malloc'd into *ents, *n of them;
 * -1 with e (e->status 404: no such folder). */
int dbm_rtree_list(struct dbm_http *h, const struct dbm_remote *r,
    struct dbm_rentry **ents, size_t *n, struct dbm_err *e);
void dbm_rtree_free(struct dbm_rentry *ents, size_t n);
/* The newest modification time in folder r's tree (its own when it has
 * none), or -1 with e. */
long long dbm_rtree_mtime(struct dbm_http *h, const struct dbm_remote *r,
    struct dbm_err *e);
/* Remove r, a file or a folder and all it holds. */
int dbm_rtree_remove(struct dbm_http *h, const struct dbm_remote *r,
    int dir, struct dbm_err *e);

#endif
