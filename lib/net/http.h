/*
 * HTTP client for the Databricks REST APIs, on libcurl.
 *
 * One struct dbm_http per workspace: base URL, credentials, User-Agent,
 * retry policy (PROTOCOL.md section 6) and a reused connection. Requests
 * that are not idempotent are retried only when the server cannot have acted
 * on them (connection refused, 429, 503). --verbose traces go to stderr with
 * every credential redacted.
 */
#ifndef DBM_HTTP_H
#define DBM_HTTP_H

#include <sys/types.h>

#include <curl/curl.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "json.h"

struct dbm_http {
	char *base;		/* scheme://authority, no trailing slash */
	struct dbm_auth *auth;	/* borrowed; NULL sends no credentials */
	char *user_agent;
	char *cainfo;		/* CA bundle, or NULL for the system one */
	int verbose;
	double budget;		/* seconds spent retrying, at most */
	double backoff;		/* backoff unit in seconds */
	long connect_timeout;	/* seconds */
	long attempt_connect;	/* this attempt's: within the retry budget */
	long idle_timeout;	/* seconds without a byte before giving up */
	int answered;		/* the host has answered at least once */
	CURL *easy;
	unsigned int seed;
	/* the header lines that authenticate a request (token.c sets it:
	 * dbm_client_init); NULL sends a personal access token only */
	int (*auth_headers)(struct dbm_http *h, struct dbm_buf *out,
	    struct dbm_err *e);
};

/* A request. Bodies: none, bytes in memory, a file range, or multipart. */
struct dbm_req {
	const char *method;	/* "GET", "POST", "PUT", "HEAD", "DELETE" */
	const char *path;	/* "/api/2.0/..." with query, already encoded */
	const char *content_type;
	const char *body;	/* in-memory body, or NULL */
	size_t body_len;
	int body_fd;		/* file body when >= 0 (set -1 otherwise) */
	off_t body_off, body_size;
	/* multipart body, rebuilt for every attempt */
	curl_mime *(*mime)(CURL *c, void *arg, struct dbm_err *e);
	void *mime_arg;
	int idempotent;		/* safe to repeat after a transport error */
	const char *headers[4];	/* extra "Name: value" lines, NULL ended */
	/* told of body bytes as they are sent (from the calling thread) */
	void (*progress)(void *arg, long long delta);
	void *progress_arg;
};

struct dbm_resp {
	long status;
	struct dbm_buf body;	/* the answer (error bodies: their start) */
	long retry_after;	/* seconds, -1 when absent */
	long long content_length;	/* of the answer, -1 when unknown */
	int attempts;
	char *location;		/* a redirect's Location, or NULL */
	char *etag;		/* the ETag header, or NULL */
};

/* One request with retries (use_auth: send h's credentials); 0 on a 2xx
 * answer. dbm_http_do is dbm_http_send with credentials. */
int dbm_http_send(struct dbm_http *h, const struct dbm_req *r,
    struct dbm_resp *resp, int use_auth, struct dbm_err *e);

/* Start with defaults and the environment (DBMLOPS_RETRY_TIMEOUT,
 * DBMLOPS_RETRY_BACKOFF, DBMLOPS_CA_BUNDLE, REQUESTS_CA_BUNDLE).
 * tool is "dbfs-put" etc. for the User-Agent. */
int dbm_http_init(struct dbm_http *h, struct dbm_auth *auth, const char *tool,
    struct dbm_err *e);
void dbm_http_free(struct dbm_http *h);

void dbm_req_init(struct dbm_req *r, const char *method, const char *path);
void dbm_resp_free(struct dbm_resp *r);

/*
 * Send r, retrying by policy. Returns 0 on a 2xx answer; otherwise -1 with e
 * filled (DBM_E_API carries status and error_code; resp keeps the body).
 */
int dbm_http_do(struct dbm_http *h, const struct dbm_req *r,
    struct dbm_resp *resp, struct dbm_err *e);

/* JSON call: body may be NULL; the 2xx answer is parsed into out (when
 * non-NULL; the caller frees it). */
int dbm_http_json(struct dbm_http *h, const char *method, const char *path,
    const char *body, int idempotent, struct dbm_json *out,
    struct dbm_err *e);

/* Percent-encode s for a URL query value or path (keep '/' when path). */
void dbm_url_encode(struct dbm_buf *b, const char *s, int path);

/* Fill e from an error answer: error_code and message from a Databricks
 * JSON body, else the start of the body. */
void dbm_http_api_error(struct dbm_err *e, const char *method,
    const char *path, long status, const char *body, size_t len);

#endif
