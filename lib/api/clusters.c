/* The Clusters API: see clusters.h. */
#include "api/call.h"
#include "api/clusters.h"

int
dbm_api_clusters_get(struct dbm_http *h, const char *cluster_id,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_api_get(h, "/api/2.0/clusters/get?cluster_id=", cluster_id,
	    out, e);
}

int
dbm_api_clusters_start(struct dbm_http *h, const char *cluster_id,
    struct dbm_err *e)
{
	return dbm_api_post(h, "/api/2.0/clusters/start",
	    &(struct dbm_api_body){.k1 = "cluster_id", .v1 = cluster_id}, 1,
	    NULL, e);
}

int
dbm_api_clusters_restart(struct dbm_http *h, const char *cluster_id,
    struct dbm_err *e)
{
	return dbm_api_post(h, "/api/2.0/clusters/restart",
	    &(struct dbm_api_body){.k1 = "cluster_id", .v1 = cluster_id}, 1,
	    NULL, e);
}

int
dbm_api_libraries_status(struct dbm_http *h, const char *cluster_id,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_api_get(h, "/api/2.0/libraries/cluster-status?cluster_id=",
	    cluster_id, out, e);
}
