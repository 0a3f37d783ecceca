/*
 * Access tokens for resolved credentials (token.c): the authentication
 * header lines of a request, tokens fetched, cached and refreshed as due.
 */
#ifndef DBM_TOKEN_H
#define DBM_TOKEN_H

#include "buf.h"
#include "err.h"
#include "http.h"

/* The header lines ("Name: value", separated by '\n'; secrets) that
 * authenticate a request of h. 0, or -1 with e filled (DBM_E_AUTH when the
 * credentials were refused). */
int dbm_token_headers(struct dbm_http *h, struct dbm_buf *out,
    struct dbm_err *e);

/* dbm_http_init for a client of the workspace: its requests carry the
 * headers dbm_token_headers makes. */
int dbm_client_init(struct dbm_http *h, struct dbm_auth *auth,
    const char *tool, struct dbm_err *e);

#endif
