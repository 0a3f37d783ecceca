/*
 * The MLflow tracking REST calls of mlflow-submit (PROTOCOL.md section
 * 10), on the workspace's /api/2.0/mlflow. Bodies that carry the run's
 * content (runs/create, log-batch) are built by the caller. Errors as in
 * dbfs.h; nothing prints.
 */
#ifndef DBM_API_MLFLOW_H
#define DBM_API_MLFLOW_H

#include "err.h"
#include "http.h"
#include "json.h"

int dbm_api_mlflow_experiment_by_name(struct dbm_http *h, const char *name,
    struct dbm_json *out, struct dbm_err *e);
/* experiments/create: repeated after a lost answer (the repeat may answer
 * RESOURCE_ALREADY_EXISTS). */
int dbm_api_mlflow_experiment_create(struct dbm_http *h, const char *name,
    struct dbm_json *out, struct dbm_err *e);
/* experiments/restore: out of the trash. */
int dbm_api_mlflow_experiment_restore(struct dbm_http *h, const char *id,
    struct dbm_err *e);
/* experiments/delete: into MLflow's trash (restore brings it back). */
int dbm_api_mlflow_experiment_delete(struct dbm_http *h, const char *id,
    struct dbm_err *e);
/* runs/create (not idempotent): the run in *out. */
int dbm_api_mlflow_run_create(struct dbm_http *h, const char *body,
    struct dbm_json *out, struct dbm_err *e);
/* runs/search (read only): body built by the caller. */
int dbm_api_mlflow_run_search(struct dbm_http *h, const char *body,
    struct dbm_json *out, struct dbm_err *e);
int dbm_api_mlflow_run_get(struct dbm_http *h, const char *run_id,
    struct dbm_json *out, struct dbm_err *e);
int dbm_api_mlflow_log_batch(struct dbm_http *h, const char *body,
    struct dbm_err *e);
int dbm_api_mlflow_set_tag(struct dbm_http *h, const char *run_id,
    const char *key, const char *value, struct dbm_err *e);
/* runs/update: status and end_time (ms since the epoch). */
int dbm_api_mlflow_run_update(struct dbm_http *h, const char *run_id,
    const char *status, long long end_ms, struct dbm_err *e);

#endif
