/* SCIM: see scim.h. */
#include "api/scim.h"

int
dbm_api_scim_me(struct dbm_http *h, struct dbm_json *out, struct dbm_err *e)
{
	return dbm_http_json(h, "GET", "/api/2.0/preview/scim/v2/Me", NULL, 1,
	    out, e);
}
