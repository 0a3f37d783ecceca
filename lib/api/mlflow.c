/* The MLflow tracking REST calls: see mlflow.h. */
#include "api/call.h"
#include "api/mlflow.h"

int
dbm_api_mlflow_experiment_by_name(struct dbm_http *h, const char *name,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_api_get(h, "/api/2.0/mlflow/experiments/get-by-name?"
	    "experiment_name=", name, out, e);
}

int
dbm_api_mlflow_experiment_create(struct dbm_http *h, const char *name,
    struct dbm_json *out, struct dbm_err *e)
{
	/* repeated after a lost answer: a second create answers
	 * RESOURCE_ALREADY_EXISTS, and the caller looks the name up */
	return dbm_api_post(h, "/api/2.0/mlflow/experiments/create",
	    &(struct dbm_api_body){.k1 = "name", .v1 = name}, 1, out, e);
}

int
dbm_api_mlflow_run_create(struct dbm_http *h, const char *body,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/create", body, 0,
	    out, e);
}

int
dbm_api_mlflow_run_search(struct dbm_http *h, const char *body,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/search", body, 1,
	    out, e);
}

int
dbm_api_mlflow_run_get(struct dbm_http *h, const char *run_id,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_api_get(h, "/api/2.0/mlflow/runs/get?run_id=", run_id, out,
	    e);
}

int
dbm_api_mlflow_log_batch(struct dbm_http *h, const char *body,
    struct dbm_err *e)
{
	return dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/log-batch", body,
	    1, NULL, e);
}

/* POST path {"run_id": id, "run_uuid": id, k1: v1, k2: v2 or end_ms}:
 * run_uuid too, which MLflow servers before 1.x read instead. */
static int
run_call(struct dbm_http *h, const char *path, const char *run_id,
    const char *k1, const char *v1, const char *k2, const char *v2,
    long long end_ms, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	int rc;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "run_id");
	dbm_jw_str(&w, run_id);
	dbm_jw_key(&w, "run_uuid");
	dbm_jw_str(&w, run_id);
	dbm_jw_key(&w, k1);
	dbm_jw_str(&w, v1);
	dbm_jw_key(&w, k2);
	if (v2)
		dbm_jw_str(&w, v2);
	else
		dbm_jw_int(&w, end_ms);
	dbm_jw_obj_end(&w);
	rc = dbm_http_json(h, "POST", path, b.data, 1, NULL, e);
	dbm_buf_free(&b);
	return rc;
}

int
dbm_api_mlflow_set_tag(struct dbm_http *h, const char *run_id,
    const char *key, const char *value, struct dbm_err *e)
{
	return run_call(h, "/api/2.0/mlflow/runs/set-tag", run_id, "key", key,
	    "value", value, 0, e);
}

int
dbm_api_mlflow_run_update(struct dbm_http *h, const char *run_id,
    const char *status, long long end_ms, struct dbm_err *e)
{
	return run_call(h, "/api/2.0/mlflow/runs/update", run_id, "status",
	    status, "end_time", NULL, end_ms, e);
}

int
dbm_api_mlflow_experiment_delete(struct dbm_http *h, const char *id,
    struct dbm_err *e)
{
	return dbm_api_post(h, "/api/2.0/mlflow/experiments/delete",
	    &(struct dbm_api_body){.k1 = "experiment_id", .v1 = id}, 1, NULL, e);
}

int
dbm_api_mlflow_experiment_restore(struct dbm_http *h, const char *id,
    struct dbm_err *e)
{
	return dbm_api_post(h, "/api/2.0/mlflow/experiments/restore",
	    &(struct dbm_api_body){.k1 = "experiment_id", .v1 = id}, 1, NULL, e);
}
