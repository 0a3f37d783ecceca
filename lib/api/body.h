/* Small JSON request bodies of the API layer (body.c). */
#ifndef DBM_API_BODY_H
#define DBM_API_BODY_H

#include "buf.h"

/* b becomes {"k1": v1[, "k2": v2][, "bk": bv]} (k2, bk may be NULL). */
void dbm_api_body(struct dbm_buf *b, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *bk, int bv);

#endif
