/* DBFS API calls: see dbfs.h. */
#include <string.h>

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
