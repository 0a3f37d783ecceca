/* Small JSON request bodies: see body.h. */
#include "api/body.h"
#include "json.h"

void
dbm_api_body(struct dbm_buf *b, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *bk, int bv)
{
	struct dbm_jw w;

	dbm_buf_reset(b);
	dbm_jw_init(&w, b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, k1);
	dbm_jw_str(&w, v1);
	if (k2) {
		dbm_jw_key(&w, k2);
		dbm_jw_str(&w, v2);
	}
	if (bk) {
		dbm_jw_key(&w, bk);
		dbm_jw_bool(&w, bv);
	}
	dbm_jw_obj_end(&w);
}
