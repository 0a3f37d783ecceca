/*
 * What the files of the upload engine share (upload.c: planning, the
 * workers and content addressing; upload_dbfs.c and upload_files.c: one
 * sender per destination kind; upload_ca.c: what both call). Include
 * after upload.h.
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

/* What the engine does with one kind of destination: a table a kind
 * (upload_dbfs.c: DBFS; upload_files.c: volumes, workspace files), so
 * upload.c has no switch on the kind. */
struct dbm_upload_ops {
	/* Send f, open as fd (read by offset), to f->remote: 0 when the
	 * file is there (f->skipped when it already was), -1 with e. */
	int (*send)(struct dbm_upload *u, struct dbm_http *h,
	    struct dbm_upload_file *f, int fd, struct dbm_err *e);
	/* A page of the folder's listing (page_token NULL: the first). */
	int (*list)(struct dbm_http *h, const char *path,
	    const char *page_token, struct dbm_json *out, struct dbm_err *e);
	/* Remove the file at path. */
	int (*remove)(struct dbm_http *h, const char *path, struct dbm_err *e);
	const char *entries;	/* the listing's array member */
	const char *is_dir;	/* an entry's folder flag; NULL: object_type
				 * DIRECTORY (the Workspace API's) */
	const char *next_page;	/* the listing's next page token, or NULL */
	const char *mtime;	/* an entry's modification time (ms) */
	/* Remove the folder at path and all in it; NULL: the kind removes
	 * an empty folder only (rmdir), and the tree is walked. */
	int (*rmtree)(struct dbm_http *h, const char *path, struct dbm_err *e);
	int (*rmdir)(struct dbm_http *h, const char *path, struct dbm_err *e);
};

extern const struct dbm_upload_ops dbm_upload_dbfs_ops;
extern const struct dbm_upload_ops dbm_upload_volume_ops;
extern const struct dbm_upload_ops dbm_upload_workspace_ops;
/* The table of a kind (enum dbm_remote_kind). */
const struct dbm_upload_ops *dbm_upload_ops_of(int kind);

/* upload_ca.c: strcmp for qsort and bsearch over char *. */
int dbm_upload_cmp_str(const void *a, const void *b);
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
