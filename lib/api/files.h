/*
 * The Files API (PROTOCOL.md section 2): Unity Catalog volumes. Uploads
 * and downloads stream their bodies, so for those the API layer builds the
 * URL and the caller the request (dbm_req); the rest are calls. Errors as
 * in dbfs.h; nothing prints.
 */
#ifndef DBM_API_FILES_H
#define DBM_API_FILES_H

#include "buf.h"
#include "err.h"
#include "http.h"
#include "json.h"

/* url gets /api/2.0/fs/files<path>, path percent-encoded. */
void dbm_api_files_url(struct dbm_buf *url, const char *path);
/* A page of the directory's listing (page_token NULL for the first). */
int dbm_api_files_list(struct dbm_http *h, const char *path,
    const char *page_token, struct dbm_json *out, struct dbm_err *e);
/* DELETE of a file. */
int dbm_api_files_delete(struct dbm_http *h, const char *path,
    struct dbm_err *e);
/* DELETE of an empty directory. */
int dbm_api_files_rmdir(struct dbm_http *h, const char *path,
    struct dbm_err *e);
/* create-upload-part-urls of a multipart upload; body as the API has it. */
int dbm_api_files_part_urls(struct dbm_http *h, const char *body,
    struct dbm_json *out, struct dbm_err *e);

#endif
