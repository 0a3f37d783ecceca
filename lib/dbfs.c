/* DBFS API calls: see dbfs.h. */
#include <fcntl.h>
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
