/* SCIM (PROTOCOL.md section 11): who the credential is. */
#ifndef DBM_API_SCIM_H
#define DBM_API_SCIM_H

#include "err.h"
#include "http.h"
#include "json.h"

/* GET Me: the user in *out (userName...). Errors as in dbfs.h. */
int dbm_api_scim_me(struct dbm_http *h, struct dbm_json *out,
    struct dbm_err *e);

#endif
