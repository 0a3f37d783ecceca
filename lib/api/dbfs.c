/* The DBFS API 2.0: see dbfs.h. */
#include <string.h>

#include "api/dbfs.h"
#include "api/body.h"

int
dbm_api_dbfs_status(struct dbm_http *h, const char *path, long long *size,
    int *dir, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_json j;
	long long sz = 0;
	int d = 0, rc;

	dbm_buf_adds(&url, "/api/2.0/dbfs/get-status?path=");
	dbm_url_encode(&url, path, 0);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, &j, e);
	dbm_buf_free(&url);
	if (rc < 0)
		return e->status == 404 && strcmp(e->code,
		    "RESOURCE_DOES_NOT_EXIST") == 0 ? 0 : -1;
	dbm_json_get_int(&j, "file_size", &sz);
	dbm_json_bool(&j, dbm_json_member(&j, 0, "is_dir"), &d);
	dbm_json_free(&j);
	if (size)
		*size = sz;
	if (dir)
		*dir = d;
	return 1;
}

int
dbm_api_dbfs_list(struct dbm_http *h, const char *path, struct dbm_json *out,
    struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_adds(&url, "/api/2.0/dbfs/list?path=");
	dbm_url_encode(&url, path, 0);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}

/* POST /api/2.0/dbfs/<op> with body. */
static int
call(struct dbm_http *h, const char *op, const struct dbm_buf *body,
    int idempotent, struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&url, "/api/2.0/dbfs/%s", op);
	rc = dbm_http_json(h, "POST", url.data, body->data, idempotent, out, e);
	dbm_buf_free(&url);
	return rc;
}

int
dbm_api_dbfs_create(struct dbm_http *h, const char *path, long long *handle,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	struct dbm_json j;
	int rc;

	dbm_api_body(&body, "path", path, NULL, NULL, "overwrite", 1);
	rc = call(h, "create", &body, 1, &j, e);
	dbm_buf_free(&body);
	if (rc < 0)
		return -1;
	rc = dbm_json_get_int(&j, "handle", handle);
	dbm_json_free(&j);
	return rc < 0 ? dbm_errf(e, DBM_E_API, "dbfs/create: no handle") : 0;
}

int
dbm_api_dbfs_add_block(struct dbm_http *h, long long handle, const char *b64,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	/* base64 needs no JSON escaping: one copy, no writer */
	dbm_buf_printf(&body, "{\"handle\":%lld,\"data\":\"%s\"}", handle, b64);
	rc = call(h, "add-block", &body, 0, NULL, e);
	dbm_buf_free(&body);
	return rc;
}

int
dbm_api_dbfs_close(struct dbm_http *h, long long handle, struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&body, "{\"handle\":%lld}", handle);
	rc = call(h, "close", &body, 0, NULL, e);
	dbm_buf_free(&body);
	return rc;
}

int
dbm_api_dbfs_move(struct dbm_http *h, const char *src, const char *dst,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	dbm_api_body(&body, "source_path", src, "destination_path", dst, NULL,
	    0);
	rc = call(h, "move", &body, 0, NULL, e);
	dbm_buf_free(&body);
	return rc;
}

int
dbm_api_dbfs_delete(struct dbm_http *h, const char *path, int recursive,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	dbm_api_body(&body, "path", path, NULL, NULL, "recursive", recursive);
	rc = call(h, "delete", &body, 1, NULL, e);
	dbm_buf_free(&body);
	return rc;
}
