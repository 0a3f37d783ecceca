/*
 * The Workspace API and workspace files (PROTOCOL.md section 3). Paths
 * are workspace paths ("/Shared/x", no /Workspace). Errors as in dbfs.h;
 * nothing prints.
 */
#ifndef DBM_API_WORKSPACE_H
#define DBM_API_WORKSPACE_H

#include "buf.h"
#include "err.h"
#include "http.h"
#include "json.h"

int dbm_api_workspace_mkdirs(struct dbm_http *h, const char *path,
    struct dbm_err *e);
/* get-status: the object in *out. */
int dbm_api_workspace_status(struct dbm_http *h, const char *path,
    struct dbm_json *out, struct dbm_err *e);
/* list: the answer in *out (its "objects"). */
int dbm_api_workspace_list(struct dbm_http *h, const char *path,
    struct dbm_json *out, struct dbm_err *e);
int dbm_api_workspace_delete(struct dbm_http *h, const char *path,
    int recursive, struct dbm_err *e);
/* url gets the import-file URL of path (the caller streams the body). */
void dbm_api_workspace_import_url(struct dbm_buf *url, const char *path,
    int overwrite);

#endif
