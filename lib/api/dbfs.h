/*
 * The DBFS API 2.0 (PROTOCOL.md section 1): one function an endpoint.
 * Paths are API paths ("/x", no dbfs:). Each returns 0 on a 2xx answer,
 * else -1 with e filled (status, error_code, message); nothing prints.
 */
#ifndef DBM_API_DBFS_H
#define DBM_API_DBFS_H

#include "err.h"
#include "http.h"
#include "json.h"

/* The multipart put, whose streamed body the caller builds (dbm_req). */
#define DBM_API_DBFS_PUT "/api/2.0/dbfs/put"

/* get-status of path: 1 when it exists (file_size in *size, is_dir in
 * *dir, either may be NULL), 0 when it does not, -1 on any other error. */
int dbm_api_dbfs_status(struct dbm_http *h, const char *path, long long *size,
    int *dir, struct dbm_err *e);
/* list: the answer in *out (its "files"), the caller frees it. */
int dbm_api_dbfs_list(struct dbm_http *h, const char *path,
    struct dbm_json *out, struct dbm_err *e);
/* create (overwrite: true): the stream handle in *handle. */
int dbm_api_dbfs_create(struct dbm_http *h, const char *path,
    long long *handle, struct dbm_err *e);
/* add-block of base64 data (not idempotent: never repeated). */
int dbm_api_dbfs_add_block(struct dbm_http *h, long long handle,
    const char *b64, struct dbm_err *e);
int dbm_api_dbfs_close(struct dbm_http *h, long long handle,
    struct dbm_err *e);
/* move (not idempotent: never repeated). */
int dbm_api_dbfs_move(struct dbm_http *h, const char *src, const char *dst,
    struct dbm_err *e);
int dbm_api_dbfs_delete(struct dbm_http *h, const char *path, int recursive,
    struct dbm_err *e);

#endif
