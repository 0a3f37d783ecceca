/* DBFS, volume and workspace-file calls: see dbfs.h. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbfs.h"
#include "json.h"

int
dbm_dbfs_status(struct dbm_http *h, const char *path, long long *size,
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
dbm_dbfs_put_once(struct dbm_http *h, const char *local, const char *dbfs_path,
    struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	int rc, fd;
	off_t size;

	/* same content, same name: there already */
	if ((rc = dbm_dbfs_status(h, dbfs_path, NULL, NULL, e)) != 0)
		return rc > 0 ? 0 : -1;
	rc = -1;
	if ((fd = open(local, O_RDONLY)) < 0) {
		dbm_err_sys(e, "%s", local);
		goto out;
	}
	size = lseek(fd, 0, SEEK_END);
	dbm_buf_adds(&url, "/dbfs");
	dbm_url_encode(&url, dbfs_path, 1);
	dbm_req_init(&r, "POST", url.data);
	r.body_fd = fd;
	r.body_size = size;
	r.content_type = "application/octet-stream";
	r.idempotent = 1;	/* an existing file answers 409, kept */
	if (dbm_http_do(h, &r, &resp, e) == 0 || resp.status == 409)
		rc = 0;
	close(fd);
	dbm_resp_free(&resp);
out:
	dbm_buf_free(&url);
	return rc;
}

/* A local file as the body of r (*fd to close); -1 with e filled. */
static int
file_body(struct dbm_req *r, const char *local, int *fd, struct dbm_err *e)
{
	if ((*fd = open(local, O_RDONLY | O_CLOEXEC)) < 0)
		return dbm_err_sys(e, "%s", local);
	r->body_fd = *fd;
	r->body_size = lseek(*fd, 0, SEEK_END);
	r->content_type = "application/octet-stream";
	r->idempotent = 1;	/* an existing file answers 409, kept */
	return 0;
}

/* The Files API (volumes): HEAD, then PUT without overwrite. */
static int
volume_put_once(struct dbm_http *h, const char *local, const char *path,
    struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	int rc = -1, fd = -1;

	dbm_buf_adds(&url, "/api/2.0/fs/files");
	dbm_url_encode(&url, path, 1);
	dbm_req_init(&r, "HEAD", url.data);
	r.idempotent = 1;
	if (dbm_http_do(h, &r, &resp, e) == 0) {
		rc = 0;
		goto out;
	}
	if (e->status != 404)
		goto out;
	dbm_resp_free(&resp);
	dbm_buf_adds(&url, "?overwrite=false");
	dbm_req_init(&r, "PUT", url.data);
	if (file_body(&r, local, &fd, e) == 0 && (dbm_http_do(h, &r, &resp,
	    e) == 0 || resp.status == 409))
		rc = 0;
out:
	if (fd >= 0)
		close(fd);
	dbm_resp_free(&resp);
	dbm_buf_free(&url);
	return rc;
}

/* Workspace files: get-status, mkdirs of the folder, import-file without
 * overwrite. The API's paths have no /Workspace prefix. */
static int
workspace_put_once(struct dbm_http *h, const char *local, const char *path,
    struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT, body = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	const char *ws = strncmp(path, "/Workspace/", 11) == 0 ? path + 10 : path;
	char *dir = dbm_xstrdup(ws);
	int rc = -1, fd = -1;

	dbm_buf_adds(&url, "/api/2.0/workspace/get-status?path=");
	dbm_url_encode(&url, ws, 0);
	if (dbm_http_json(h, "GET", url.data, NULL, 1, NULL, e) == 0) {
		rc = 0;
		goto out;
	}
	if (e->status != 404)
		goto out;
	*strrchr(dir, '/') = '\0';
	dbm_buf_adds(&body, "{\"path\":");
	dbm_json_quote(&body, *dir ? dir : "/", strlen(*dir ? dir : "/"));
	dbm_buf_adds(&body, "}");
	if (dbm_http_json(h, "POST", "/api/2.0/workspace/mkdirs", body.data, 1,
	    NULL, e) < 0)
		goto out;
	dbm_buf_reset(&url);
	dbm_buf_adds(&url, "/api/2.0/workspace-files/import-file");
	dbm_url_encode(&url, ws, 1);
	dbm_buf_adds(&url, "?overwrite=false");
	dbm_req_init(&r, "POST", url.data);
	if (file_body(&r, local, &fd, e) == 0 && (dbm_http_do(h, &r, &resp,
	    e) == 0 || resp.status == 409))
		rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	dbm_resp_free(&resp);
	dbm_buf_free(&url);
	dbm_buf_free(&body);
	return rc;
}

int
dbm_put_once(struct dbm_http *h, const char *local, const struct dbm_remote *r,
    struct dbm_err *e)
{
	switch (r->kind) {
	case DBM_REMOTE_VOLUME:
		return volume_put_once(h, local, r->path, e);
	case DBM_REMOTE_WORKSPACE:
		return workspace_put_once(h, local, r->path, e);
	default:
		return dbm_dbfs_put_once(h, local, r->path, e);
	}
}
