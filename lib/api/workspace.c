/* The Workspace API: see workspace.h. */
#include "api/call.h"
#include "api/workspace.h"

int
dbm_api_workspace_mkdirs(struct dbm_http *h, const char *path,
    struct dbm_err *e)
{
	return dbm_api_post(h, "/api/2.0/workspace/mkdirs",
	    &(struct dbm_api_body){.k1 = "path", .v1 = path}, 1, NULL, e);
}

int
dbm_api_workspace_status(struct dbm_http *h, const char *path,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_api_get(h, "/api/2.0/workspace/get-status?path=", path, out,
	    e);
}

int
dbm_api_workspace_list(struct dbm_http *h, const char *path,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_api_get(h, "/api/2.0/workspace/list?path=", path, out, e);
}

int
dbm_api_workspace_delete(struct dbm_http *h, const char *path, int recursive,
    struct dbm_err *e)
{
	return dbm_api_post(h, "/api/2.0/workspace/delete",
	    &(struct dbm_api_body){.k1 = "path", .v1 = path, .bk = "recursive",
	    .bv = recursive}, 1, NULL, e);
}

void
dbm_api_workspace_import_url(struct dbm_buf *url, const char *path,
    int overwrite)
{
	dbm_buf_adds(url, "/api/2.0/workspace-files/import-file");
	dbm_url_encode(url, path, 1);
	dbm_buf_printf(url, "?overwrite=%s", overwrite ? "true" : "false");
}
