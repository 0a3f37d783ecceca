/* The DBFS API 2.0: see dbfs.h. */
#include <string.h>

#include "api/call.h"
#include "api/dbfs.h"

int
dbm_api_dbfs_status(struct dbm_http *h, const char *path, long long *size,
    int *dir, struct dbm_err *e)
{
	struct dbm_json j;
	long long sz = 0;
	int d = 0;

	if (dbm_api_get(h, "/api/2.0/dbfs/get-status?path=", path, &j, e) < 0)
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
	return dbm_api_get(h, "/api/2.0/dbfs/list?path=", path, out, e);
}

int
dbm_api_dbfs_create(struct dbm_http *h, const char *path, long long *handle,
    struct dbm_err *e)
{
	struct dbm_json j;
	int rc;

	if (dbm_api_post(h, "/api/2.0/dbfs/create", &(struct dbm_api_body){
	    .k1 = "path", .v1 = path, .bk = "overwrite", .bv = 1}, 1, &j, e) < 0)
		return -1;
	rc = dbm_json_get_int(&j, "handle", handle);
	dbm_json_free(&j);
	return rc < 0 ? dbm_errf(e, DBM_E_API, "dbfs/create: no handle") : 0;
}

/* add-block and close: {"handle": N[, "data": "<base64>"]}. */
static int
handle_call(struct dbm_http *h, const char *path, long long handle,
    const char *b64, struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	/* base64 needs no JSON escaping: one copy, no writer */
	dbm_buf_printf(&body, "{\"handle\":%lld", handle);
	if (b64)
		dbm_buf_printf(&body, ",\"data\":\"%s\"", b64);
	dbm_buf_addc(&body, '}');
	rc = dbm_http_json(h, "POST", path, body.data, 0, NULL, e);
	dbm_buf_free(&body);
	return rc;
}

int
dbm_api_dbfs_add_block(struct dbm_http *h, long long handle, const char *b64,
    struct dbm_err *e)
{
	return handle_call(h, "/api/2.0/dbfs/add-block", handle, b64, e);
}

int
dbm_api_dbfs_close(struct dbm_http *h, long long handle, struct dbm_err *e)
{
	return handle_call(h, "/api/2.0/dbfs/close", handle, NULL, e);
}

int
dbm_api_dbfs_move(struct dbm_http *h, const char *src, const char *dst,
    struct dbm_err *e)
{
	return dbm_api_post(h, "/api/2.0/dbfs/move", &(struct dbm_api_body){
	    .k1 = "source_path", .v1 = src, .k2 = "destination_path",
	    .v2 = dst}, 0, NULL, e);
}

int
dbm_api_dbfs_delete(struct dbm_http *h, const char *path, int recursive,
    struct dbm_err *e)
{
	return dbm_api_post(h, "/api/2.0/dbfs/delete", &(struct dbm_api_body){
	    .k1 = "path", .v1 = path, .bk = "recursive", .bv = recursive}, 1,
	    NULL, e);
}
