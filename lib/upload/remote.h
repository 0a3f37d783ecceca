/*
 * Remote paths and where they go (PROTOCOL.md sections 2 and 7):
 *   dbfs:/x, /dbfs/x            DBFS API          URI dbfs:/x   FUSE /dbfs/x
 *   /Volumes/..., dbfs:/Volumes/... Files API      URI and FUSE /Volumes/...
 *   /Workspace/...              workspace files   URI and FUSE /Workspace/...
 */
#ifndef DBM_REMOTE_H
#define DBM_REMOTE_H

#include "err.h"

enum dbm_remote_kind {
	DBM_REMOTE_DBFS,
	DBM_REMOTE_VOLUME,
	DBM_REMOTE_WORKSPACE,
};

struct dbm_remote {
	enum dbm_remote_kind kind;
	char *path;	/* canonical absolute path: "/x" for DBFS (no dbfs:),
			 * "/Volumes/c/s/v/x", "/Workspace/x"; no trailing / */
	int dir;	/* written with a trailing '/' */
};

/* Parse a destination or remote path. */
int dbm_remote_parse(const char *s, struct dbm_remote *r, struct dbm_err *e);
void dbm_remote_free(struct dbm_remote *r);
/* Join a relative path under r's path (caller frees). */
char *dbm_remote_join(const struct dbm_remote *r, const char *rel);
/* URI form (dbfs:/x, /Volumes/..., /Workspace/...) of a path of kind k. */
char *dbm_remote_uri(enum dbm_remote_kind k, const char *path);
/* FUSE/POSIX form (/dbfs/x, /Volumes/..., /Workspace/...). */
char *dbm_remote_fuse(enum dbm_remote_kind k, const char *path);

#endif
