/*
 * What the files of the upload engine share (upload.c: planning, the
 * workers and content addressing; upload_dbfs.c and upload_files.c: one
 * sender per destination kind). Include after upload.h (not included
 * here, so the modules form no circle).
 */
#ifndef DBM_UPLOAD_INT_H
#define DBM_UPLOAD_INT_H

#include <pthread.h>

struct dbm_buf;
struct dbm_err;
struct dbm_http;
struct dbm_json;
struct dbm_upload;
struct dbm_upload_file;

/* The state of one dbm_upload_run (u->priv). */
struct priv {
	struct dbm_http *http;	/* one per worker */
	int nhttp;
	pthread_mutex_t mu;	/* stderr and the made-directories list */
	char **dirs;		/* workspace directories already made */
	int ndirs;
	int abort;		/* credentials refused: stop sending */
	struct dbm_hashcache *cache;
	size_t *order;		/* files to send or ask about, largest first */
	size_t norder;
	/* -c: the record of uploads, and the hash folders the destination
	 * holds (listed once; listed is 0 when the listing failed) */
	struct dbm_uploadrec *rec;
	char **hashdirs;
	size_t nhashdirs;
	int listed;
};

/* The senders: 0 when the file is there (f->skipped when it already
 * was), -1 with e filled. fd is the open file, read by offset. */
int dbm_upload_dbfs(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, struct dbm_err *e);
int dbm_upload_volume(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, struct dbm_err *e);
int dbm_upload_workspace(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, struct dbm_err *e);

/* -c, before any request: 2 the file is there (recorded, its hash folder
 * listed), 1 surely not (no such folder), 0 not known (ask). */
int dbm_upload_ca_state(struct dbm_upload *u,
    const struct dbm_upload_file *f);
/* "<uri>: already exists (use -f to overwrite)" in e; -1. */
int dbm_upload_exists(struct dbm_upload *u, struct dbm_upload_file *f,
    struct dbm_err *e);
/* Progress callback of request bodies (arg: the struct dbm_progress). */
void dbm_upload_on_bytes(void *arg, long long delta);
const char *dbm_upload_base_name(const char *p);
/* A /Workspace/... path as the Workspace API names it (no prefix). */
const char *dbm_upload_ws_path(const char *p);

#endif
