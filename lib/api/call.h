/* The two shapes most endpoints share (call.c), for lib/api/ only. */
#ifndef DBM_API_CALL_H
#define DBM_API_CALL_H

#include "err.h"
#include "http.h"
#include "json.h"

/* A small JSON body: {"k1": v1[, "k2": v2][, "bk": bv]} (k2, bk NULL to
 * leave them out). */
struct dbm_api_body {
	const char *k1, *v1, *k2, *v2, *bk;
	int bv;
};

/* GET prefix followed by value, percent-encoded (a query value); the
 * answer in *out unless it is NULL. */
int dbm_api_get(struct dbm_http *h, const char *prefix, const char *value,
    struct dbm_json *out, struct dbm_err *e);
/* POST path with body b. */
int dbm_api_post(struct dbm_http *h, const char *path,
    const struct dbm_api_body *b, int idempotent, struct dbm_json *out,
    struct dbm_err *e);

#endif
