/* The MLflow tracking REST calls: see mlflow.h. */
#include "api/body.h"
#include "api/mlflow.h"

int
dbm_api_mlflow_experiment_by_name(struct dbm_http *h, const char *name,
    struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_adds(&url, "/api/2.0/mlflow/experiments/get-by-name?"
	    "experiment_name=");
	dbm_url_encode(&url, name, 0);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}

int
dbm_api_mlflow_experiment_create(struct dbm_http *h, const char *name,
    struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	int rc;

	dbm_api_body(&body, "name", name, NULL, NULL, NULL, 0);
	rc = dbm_http_json(h, "POST", "/api/2.0/mlflow/experiments/create",
	    body.data, 0, out, e);
	dbm_buf_free(&body);
	return rc;
}

int
dbm_api_mlflow_run_create(struct dbm_http *h, const char *body,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/create", body, 0,
	    out, e);
}

int
dbm_api_mlflow_run_get(struct dbm_http *h, const char *run_id,
    struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_adds(&url, "/api/2.0/mlflow/runs/get?run_id=");
	dbm_url_encode(&url, run_id, 0);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}

int
dbm_api_mlflow_log_batch(struct dbm_http *h, const char *body,
    struct dbm_err *e)
{
	return dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/log-batch", body,
	    1, NULL, e);
}

int
dbm_api_mlflow_set_tag(struct dbm_http *h, const char *run_id,
    const char *key, const char *value, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	int rc;

	/* run_uuid too: MLflow servers before 1.x read only that */
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "run_id");
	dbm_jw_str(&w, run_id);
	dbm_jw_key(&w, "run_uuid");
	dbm_jw_str(&w, run_id);
	dbm_jw_key(&w, "key");
	dbm_jw_str(&w, key);
	dbm_jw_key(&w, "value");
	dbm_jw_str(&w, value);
	dbm_jw_obj_end(&w);
	rc = dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/set-tag", b.data, 1,
	    NULL, e);
	dbm_buf_free(&b);
	return rc;
}

int
dbm_api_mlflow_run_update(struct dbm_http *h, const char *run_id,
    const char *status, long long end_ms, struct dbm_err *e)
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
	dbm_jw_key(&w, "status");
	dbm_jw_str(&w, status);
	dbm_jw_key(&w, "end_time");
	dbm_jw_int(&w, end_ms);
	dbm_jw_obj_end(&w);
	rc = dbm_http_json(h, "POST", "/api/2.0/mlflow/runs/update", b.data, 1,
	    NULL, e);
	dbm_buf_free(&b);
	return rc;
}
