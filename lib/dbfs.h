/*
 * DBFS API calls shared by the tools (dbfs-put, mlflow-submit).
 */
#ifndef DBM_DBFS_H
#define DBM_DBFS_H

#include "err.h"
#include "http.h"

/* get-status of path ("/x", no dbfs:): 1 when it exists (file_size in
 * *size, is_dir in *dir, either may be NULL), 0 when it does not, -1 on
 * any other error (e filled). */
int dbm_dbfs_status(struct dbm_http *h, const char *path, long long *size,
    int *dir, struct dbm_err *e);

#endif
