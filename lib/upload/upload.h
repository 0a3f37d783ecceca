/*
 * The upload engine of dbfs-put: plan which local files go where, then send
 * them in parallel to DBFS (multipart put to a temporary sibling, moved into
 * place; create/add-block/close above the put limit), Unity Catalog volumes
 * (one all-or-nothing Files API PUT) or workspace files (import-file).
 */
#ifndef DBM_UPLOAD_H
#define DBM_UPLOAD_H

#include <stdio.h>
#include <sys/stat.h>

#include "auth.h"
#include "http.h"
#include "err.h"
#include "progress.h"
#include "remote.h"

struct dbm_upload_opts {
	int overwrite;		/* replace existing files */
	int content_addressed;	/* DEST/<hash>/<name>, skip what is there */
	int recursive;		/* directories allowed as sources */
	int follow_links;	/* -L: symbolic links out of a tree too */
	int dry_run;		/* plan only: no request at all */
	int jobs;		/* parallel transfers */
	int verbose;		/* HTTP trace on stderr */
	int quiet;		/* no progress line */
	int want_sha;		/* compute every file's sha256 */
	/* the service's limits, 0 for DBMLOPS_DBFS_PUT_MAX,
	 * DBMLOPS_DBFS_BLOCK, DBMLOPS_FILES_PUT_MAX, DBMLOPS_FILES_PART_SIZE
	 * from the environment, else the service's own */
	long long dbfs_put_max;	/* DBFS multipart put limit (2 GB) */
	long long block;	/* DBFS add-block size (1 MiB) */
	long long files_put_max;	/* Files API single PUT (5 GiB) */
	long long part_size;	/* Files API multipart part (64 MiB) */
};

struct dbm_upload_file {
	char *local;
	char *rel;		/* path under the destination ("" for itself) */
	char *abs;		/* absolute path: the digest cache's key */
	struct stat st;		/* what the plan saw */
	long long size;
	char sha256[65];	/* "" unless computed */
	char *remote;		/* API path (see remote.h) */
	int skipped;		/* already there (content-addressed) */
	int failed;
};

struct dbm_upload {
	struct dbm_upload_opts o;
	struct dbm_remote dest;
	struct dbm_upload_file *files;
	size_t n, cap;
	long long bytes;
	struct dbm_progress progress;
	struct dbm_auth *auth;
	const char *tool;
	int auth_failed;	/* the workspace refused the credentials */
	void *priv;
};

/* Check the sources and work out every file's destination. Errors (missing
 * or unreadable sources, a directory without recursive, a bad destination,
 * two files with one destination) come before anything is sent. */
int dbm_upload_plan(struct dbm_upload *u, char *const *src, int nsrc,
    const char *dest, const struct dbm_upload_opts *o, struct dbm_err *e);
/* Send everything; per-file errors are reported on stderr as they happen.
 * Returns the number of files that failed. */
size_t dbm_upload_run(struct dbm_upload *u, struct dbm_auth *auth,
    const char *tool);
void dbm_upload_free(struct dbm_upload *u);

/* Upload one file to remote path r (any kind) unless a file of that name
 * and size is there: for files named by their content (mlflow-submit's
 * tarball and launcher). The senders of dbm_upload_run, on h. */
int dbm_upload_once(struct dbm_http *h, const char *local,
    const struct dbm_remote *r, struct dbm_err *e);

/* Number of hex digits of the content hash in content-addressed paths. */
#define DBM_CA_HEX 16

#endif
