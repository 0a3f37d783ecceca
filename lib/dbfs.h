/*
 * DBFS API calls shared by the tools (dbfs-put, mlflow-submit), and the
 * one upload they share for every destination kind.
 */
#ifndef DBM_DBFS_H
#define DBM_DBFS_H

#include "err.h"
#include "http.h"
#include "remote.h"

/* get-status of path ("/x", no dbfs:): 1 when it exists (file_size in
 * *size, is_dir in *dir, either may be NULL), 0 when it does not, -1 on
 * any other error (e filled). */
int dbm_dbfs_status(struct dbm_http *h, const char *path, long long *size,
    int *dir, struct dbm_err *e);

/* Upload local to DBFS path dbfs_path ("/x") with one raw POST /dbfs
 * unless a file of that name is there already: for content-named files
 * (the name holds a digest of the bytes). 0, or -1 with e filled. */
int dbm_dbfs_put_once(struct dbm_http *h, const char *local,
    const char *dbfs_path, struct dbm_err *e);

/* The same for any remote file path (DBFS, a volume, workspace files):
 * sent without overwriting unless a file of that name is there. */
int dbm_put_once(struct dbm_http *h, const char *local,
    const struct dbm_remote *r, struct dbm_err *e);

#endif
