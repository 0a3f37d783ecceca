/* The two shapes most endpoints share: see call.h. */
#include "api/call.h"

int
dbm_api_get(struct dbm_http *h, const char *prefix, const char *value,
    struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_adds(&url, prefix);
	dbm_url_encode(&url, value, 0);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, out, e);
	dbm_buf_free(&url);
	return rc;
}

int
dbm_api_post(struct dbm_http *h, const char *path,
    const struct dbm_api_body *b, int idempotent, struct dbm_json *out,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	struct dbm_jw w;
	int rc;

	dbm_jw_init(&w, &body);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, b->k1);
	dbm_jw_str(&w, b->v1);
	if (b->k2) {
		dbm_jw_key(&w, b->k2);
		dbm_jw_str(&w, b->v2);
	}
	if (b->bk) {
		dbm_jw_key(&w, b->bk);
		dbm_jw_bool(&w, b->bv);
	}
	dbm_jw_obj_end(&w);
	rc = dbm_http_json(h, "POST", path, body.data, idempotent, out, e);
	dbm_buf_free(&body);
	return rc;
}
