/* The Jobs API runs calls: see jobs.h. */
#include "api/jobs.h"

int
dbm_api_jobs_submit(struct dbm_http *h, int legacy, const char *body,
    struct dbm_json *out, struct dbm_err *e)
{
	/* idempotent: the body carries an idempotency token */
	return dbm_http_json(h, "POST", legacy ? "/api/2.0/jobs/runs/submit" :
	    "/api/2.1/jobs/runs/submit", body, 1, out, e);
}

/* GET /api/2.0/jobs/runs/<op>?run_id=id */
static int
get(struct dbm_http *h, const char *op, long long id, struct dbm_json *out,
    struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&url, "/api/2.0/jobs/runs/%s?run_id=%lld", op, id);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}

int
dbm_api_jobs_get(struct dbm_http *h, long long run_id, struct dbm_json *out,
    struct dbm_err *e)
{
	return get(h, "get", run_id, out, e);
}

int
dbm_api_jobs_get_output(struct dbm_http *h, long long task_run_id,
    struct dbm_json *out, struct dbm_err *e)
{
	return get(h, "get-output", task_run_id, out, e);
}

int
dbm_api_jobs_cancel(struct dbm_http *h, long long run_id, struct dbm_err *e)
{
	struct dbm_buf b = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&b, "{\"run_id\":%lld}", run_id);
	rc = dbm_http_json(h, "POST", "/api/2.0/jobs/runs/cancel", b.data, 1,
	    NULL, e);
	dbm_buf_free(&b);
	return rc;
}

int
dbm_api_jobs_list_active(struct dbm_http *h, const char *page_token,
    struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_adds(&url, "/api/2.1/jobs/runs/list?active_only=true"
	    "&expand_tasks=true&limit=25");
	if (page_token && *page_token) {
		dbm_buf_adds(&url, "&page_token=");
		dbm_url_encode(&url, page_token, 0);
	}
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}
