/* The Workspace API: see workspace.h. */
#include "api/body.h"
#include "api/workspace.h"

int
dbm_api_workspace_mkdirs(struct dbm_http *h, const char *path,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	dbm_api_body(&body, "path", path, NULL, NULL, NULL, 0);
	rc = dbm_http_json(h, "POST", "/api/2.0/workspace/mkdirs", body.data, 1,
	    NULL, e);
	dbm_buf_free(&body);
	return rc;
}

/* GET /api/2.0/workspace/<op>?path=path */
static int
get(struct dbm_http *h, const char *op, const char *path,
    struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&url, "/api/2.0/workspace/%s?path=", op);
	dbm_url_encode(&url, path, 0);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}

int
dbm_api_workspace_status(struct dbm_http *h, const char *path,
    struct dbm_json *out, struct dbm_err *e)
{
	return get(h, "get-status", path, out, e);
}

int
dbm_api_workspace_list(struct dbm_http *h, const char *path,
    struct dbm_json *out, struct dbm_err *e)
{
	return get(h, "list", path, out, e);
}

int
dbm_api_workspace_delete(struct dbm_http *h, const char *path, int recursive,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	dbm_api_body(&body, "path", path, NULL, NULL, "recursive", recursive);
	rc = dbm_http_json(h, "POST", "/api/2.0/workspace/delete", body.data, 1,
	    NULL, e);
	dbm_buf_free(&body);
	return rc;
}

void
dbm_api_workspace_import_url(struct dbm_buf *url, const char *path,
    int overwrite)
{
	dbm_buf_adds(url, "/api/2.0/workspace-files/import-file");
	dbm_url_encode(url, path, 1);
	dbm_buf_printf(url, "?overwrite=%s", overwrite ? "true" : "false");
}
