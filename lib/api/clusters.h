/* The Clusters and Libraries API calls mlflow-submit makes (PROTOCOL.md
 * sections 4, 17).
 * Errors as in dbfs.h; nothing prints. */
#ifndef DBM_API_CLUSTERS_H
#define DBM_API_CLUSTERS_H

#include "err.h"
#include "http.h"
#include "json.h"

/* clusters/get: the cluster (state, spark_version...) in *out. */
int dbm_api_clusters_get(struct dbm_http *h, const char *cluster_id,
    struct dbm_json *out, struct dbm_err *e);
int dbm_api_clusters_start(struct dbm_http *h, const char *cluster_id,
    struct dbm_err *e);
int dbm_api_clusters_restart(struct dbm_http *h, const char *cluster_id,
    struct dbm_err *e);
/* libraries/cluster-status (PROTOCOL.md section 17): library_statuses[]
 * in *out. */
int dbm_api_libraries_status(struct dbm_http *h, const char *cluster_id,
    struct dbm_json *out, struct dbm_err *e);

#endif
