/*
 * The Jobs API runs calls (PROTOCOL.md section 4). Errors as in
 * dbfs.h; nothing prints.
 */
#ifndef DBM_API_JOBS_H
#define DBM_API_JOBS_H

#include "err.h"
#include "http.h"
#include "json.h"

/* runs/submit of body in the 2.0 shape (legacy: MLflow's, one task) or
 * 2.1 (tasks[]); the answer (run_id) in *out. */
int dbm_api_jobs_submit(struct dbm_http *h, int legacy, const char *body,
    struct dbm_json *out, struct dbm_err *e);
int dbm_api_jobs_get(struct dbm_http *h, long long run_id,
    struct dbm_json *out, struct dbm_err *e);
int dbm_api_jobs_get_output(struct dbm_http *h, long long task_run_id,
    struct dbm_json *out, struct dbm_err *e);
/* runs/list of the active runs (PENDING, QUEUED, RUNNING, TERMINATING),
 * their tasks expanded, a page of 25 (page_token NULL: the first). */
int dbm_api_jobs_list_active(struct dbm_http *h, const char *page_token,
    struct dbm_json *out, struct dbm_err *e);
int dbm_api_jobs_cancel(struct dbm_http *h, long long run_id,
    struct dbm_err *e);

#endif
