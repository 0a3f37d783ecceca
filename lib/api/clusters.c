/* The Clusters API: see clusters.h. */
#include "api/body.h"
#include "api/clusters.h"

int
dbm_api_clusters_get(struct dbm_http *h, const char *cluster_id,
    struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_adds(&url, "/api/2.0/clusters/get?cluster_id=");
	dbm_url_encode(&url, cluster_id, 0);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}

int
dbm_api_clusters_start(struct dbm_http *h, const char *cluster_id,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	dbm_api_body(&body, "cluster_id", cluster_id, NULL, NULL, NULL, 0);
	rc = dbm_http_json(h, "POST", "/api/2.0/clusters/start", body.data, 1,
	    NULL, e);
	dbm_buf_free(&body);
	return rc;
}
