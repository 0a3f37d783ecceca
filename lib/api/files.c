/* The Files API: see files.h. */
#include "api/files.h"

void
dbm_api_files_url(struct dbm_buf *url, const char *path)
{
	dbm_buf_adds(url, "/api/2.0/fs/files");
	dbm_url_encode(url, path, 1);
}

int
dbm_api_files_list(struct dbm_http *h, const char *path,
    const char *page_token, struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_adds(&url, "/api/2.0/fs/directories");
	dbm_url_encode(&url, path, 1);
	if (page_token) {
		dbm_buf_adds(&url, "?page_token=");
		dbm_url_encode(&url, page_token, 0);
	}
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}

/* DELETE of url, repeated when its answer is lost (deleting twice is
 * deleting once). */
static int
delete_url(struct dbm_http *h, struct dbm_buf *url, struct dbm_err *e)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};
	int rc;

	dbm_req_init(&r, "DELETE", url->data);
	r.idempotent = 1;
	rc = dbm_http_do(h, &r, &resp, e);
	dbm_resp_free(&resp);
	dbm_buf_free(url);
	return rc;
}

int
dbm_api_files_delete(struct dbm_http *h, const char *path, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;

	dbm_api_files_url(&url, path);
	return delete_url(h, &url, e);
}

int
dbm_api_files_part_urls(struct dbm_http *h, const char *body,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_http_json(h, "POST", "/api/2.0/fs/create-upload-part-urls",
	    body, 1, out, e);
}

int
dbm_api_files_rmdir(struct dbm_http *h, const char *path, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;

	dbm_buf_adds(&url, "/api/2.0/fs/directories");
	dbm_url_encode(&url, path, 1);
	return delete_url(h, &url, e);
}
