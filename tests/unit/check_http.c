/*
 * lib/http against a loopback server (libmicrohttpd) started by the test:
 * retries, Retry-After, non-idempotent calls, error bodies, auth headers,
 * redaction of the --verbose trace, OAuth M2M, file bodies.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "version.h"
#include "token.h"
#include "unit.h"

static struct MHD_Daemon *d;
static atomic_int hits;
static char base[64];
static struct dbm_auth auth;
static struct dbm_http h;
static struct dbm_err e;

struct upload {
	size_t len;
	char sum;
};

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int status, const char *body,
    const char *hname, const char *hval)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body),
	    (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	if (hname)
		MHD_add_response_header(r, hname, hval);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **state)
{
	const char *auth_hdr;
	char buf[256];
	int n;

	if (*state == NULL) {
		*state = calloc(1, sizeof(struct upload));
		return MHD_YES;
	}
	if (*size) {
		struct upload *u = *state;

		u->len += *size;
		*size = 0;
		return MHD_YES;
	}
	n = atomic_fetch_add(&hits, 1) + 1;
	auth_hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Authorization");
	if (strcmp(url, "/ok") == 0)
		return reply(c, 200, "{\"a\": 1}", NULL, NULL);
	if (strcmp(url, "/flaky") == 0)	/* 429 twice, then fine */
		return n <= 2 ? reply(c, 429, "{\"error_code\":"
		    "\"REQUEST_LIMIT_EXCEEDED\",\"message\":\"slow down\"}",
		    "Retry-After", "0") : reply(c, 200, "{}", NULL, NULL);
	if (strcmp(url, "/throttled") == 0)
		return reply(c, 429, "{\"error_code\":\"REQUEST_LIMIT_EXCEEDED\","
		    "\"message\":\"slow down\"}", "Retry-After", "0");
	if (strcmp(url, "/busy") == 0)
		return reply(c, 503, "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\","
		    "\"message\":\"busy\"}", NULL, NULL);
	if (strcmp(url, "/e500") == 0)
		return reply(c, 500, "{\"error_code\":\"INTERNAL_ERROR\","
		    "\"message\":\"boom\"}", NULL, NULL);
	if (strcmp(url, "/missing") == 0)
		return reply(c, 404, "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\","
		    "\"message\":\"No file at /x\"}", NULL, NULL);
	if (strcmp(url, "/html") == 0)
		return reply(c, 502, "<html>\nBad gateway</html>", NULL, NULL);
	if (strcmp(url, "/drop") == 0)	/* first call: connection closed */
		return n <= 1 ? MHD_NO : reply(c, 200, "{}", NULL, NULL);
	if (strcmp(url, "/auth") == 0) {
		if (auth_hdr == NULL || strcmp(auth_hdr, "Bearer tok-s3cret"))
			return reply(c, 401, "{\"error_code\":\"UNAUTHENTICATED\","
			    "\"message\":\"bad token\"}", NULL, NULL);
		return reply(c, 200, "{}", NULL, NULL);
	}
	if (strcmp(url, "/ua") == 0) {
		snprintf(buf, sizeof(buf), "{\"ua\": \"%s\"}",
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    "User-Agent"));
		return reply(c, 200, buf, NULL, NULL);
	}
	if (strcmp(url, "/size") == 0) {
		snprintf(buf, sizeof(buf), "{\"len\": %zu}",
		    ((struct upload *)*state)->len);
		return reply(c, 200, buf, NULL, NULL);
	}
	if (strcmp(url, "/oidc/.well-known/oauth-authorization-server") == 0) {
		snprintf(buf, sizeof(buf), "{\"token_endpoint\": "
		    "\"%s/oidc/v1/token\"}", base);
		return reply(c, 200, buf, NULL, NULL);
	}
	if (strcmp(url, "/oidc/v1/token") == 0) {
		/* base64("cid:csecret") */
		if (auth_hdr == NULL ||
		    strcmp(auth_hdr, "Basic Y2lkOmNzZWNyZXQ=") != 0)
			return reply(c, 401, "{\"error\":\"invalid_client\"}",
			    NULL, NULL);
		return reply(c, 200, "{\"access_token\": \"tok-s3cret\", "
		    "\"token_type\": \"Bearer\", \"expires_in\": 3600}", NULL,
		    NULL);
	}
	return reply(c, 404, "{}", NULL, NULL);
}

static void
done(void *cls, struct MHD_Connection *c, void **state,
    enum MHD_RequestTerminationCode code)
{
	free(*state);
	*state = NULL;
}

static void
setup(void)
{
	const union MHD_DaemonInfo *info;

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
	    (unsigned)info->port);
	atomic_store(&hits, 0);
	memset(&auth, 0, sizeof(auth));
	auth.kind = DBM_AUTH_PAT;
	auth.host = strdup(base);
	auth.token = strdup("tok-s3cret");
	ck_assert_int_eq(dbm_client_init(&h, &auth, "unit", &e), 0);
	h.backoff = 0.01;
	h.budget = 5;
}

static void
teardown(void)
{
	dbm_http_free(&h);
	dbm_auth_free(&auth);
	MHD_stop_daemon(d);
}

START_TEST(test_ok)
{
	struct dbm_json j;
	long long v;

	ck_assert_int_eq(dbm_http_json(&h, "GET", "/ok", NULL, 1, &j, &e), 0);
	ck_assert_int_eq(dbm_json_get_int(&j, "a", &v), 0);
	ck_assert_int_eq(v, 1);
	dbm_json_free(&j);
}
END_TEST

START_TEST(test_retry_after)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};

	/* not idempotent, but a 429 means the server did nothing */
	dbm_req_init(&r, "POST", "/flaky");
	r.body = "{}";
	r.body_len = 2;
	ck_assert_int_eq(dbm_http_do(&h, &r, &resp, &e), 0);
	ck_assert_int_eq(resp.attempts, 3);
	ck_assert_int_eq(atomic_load(&hits), 3);
	dbm_resp_free(&resp);
}
END_TEST

/* A server that answers 429 with Retry-After: 0 for ever: the client
 * backs off on its own (at most a handful of calls in 0.3 s), not
 * thousands. */
START_TEST(test_retry_after_zero)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};

	h.budget = 0.3;
	h.backoff = 0.05;
	dbm_req_init(&r, "GET", "/throttled");
	r.idempotent = 1;
	ck_assert_int_lt(dbm_http_do(&h, &r, &resp, &e), 0);
	ck_assert_int_eq(e.status, 429);
	ck_assert_int_gt(resp.attempts, 1);
	ck_assert_int_le(resp.attempts, 6);
	dbm_resp_free(&resp);
}
END_TEST

START_TEST(test_budget)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};

	h.budget = 0.3;
	dbm_req_init(&r, "GET", "/busy");
	r.idempotent = 1;
	ck_assert_int_lt(dbm_http_do(&h, &r, &resp, &e), 0);
	ck_assert_int_gt(resp.attempts, 1);
	ck_assert_int_eq(e.kind, DBM_E_API);
	ck_assert_int_eq(e.status, 503);
	ck_assert_str_eq(e.code, "TEMPORARILY_UNAVAILABLE");
	dbm_resp_free(&resp);
}
END_TEST

START_TEST(test_no_retry_500)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};

	dbm_req_init(&r, "GET", "/e500");
	r.idempotent = 1;
	ck_assert_int_lt(dbm_http_do(&h, &r, &resp, &e), 0);
	ck_assert_int_eq(resp.attempts, 1);
	dbm_resp_free(&resp);
}
END_TEST

START_TEST(test_api_error)
{
	char msg[1024];

	ck_assert_int_lt(dbm_http_json(&h, "GET", "/missing?path=%2Fx", NULL,
	    1, NULL, &e), 0);
	ck_assert_int_eq(e.status, 404);
	ck_assert_str_eq(e.code, "RESOURCE_DOES_NOT_EXIST");
	dbm_err_fmt(&e, msg, sizeof(msg));
	ck_assert_str_eq(msg, "GET /missing: 404 RESOURCE_DOES_NOT_EXIST: "
	    "No file at /x");
	ck_assert_int_lt(dbm_http_json(&h, "GET", "/html", NULL, 1, NULL, &e),
	    0);
	ck_assert_int_eq(e.status, 502);
	ck_assert_str_eq(e.msg, "<html> Bad gateway</html>");
}
END_TEST

START_TEST(test_dropped)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};

	/* a non-idempotent call is not repeated after the server got it */
	dbm_req_init(&r, "POST", "/drop");
	ck_assert_int_lt(dbm_http_do(&h, &r, &resp, &e), 0);
	ck_assert_int_eq(e.kind, DBM_E_NET);
	ck_assert_int_eq(resp.attempts, 1);
	/* an idempotent one is */
	atomic_store(&hits, 0);
	r.idempotent = 1;
	ck_assert_int_eq(dbm_http_do(&h, &r, &resp, &e), 0);
	ck_assert_int_eq(resp.attempts, 2);
	dbm_resp_free(&resp);
}
END_TEST

START_TEST(test_auth_and_ua)
{
	struct dbm_json j;
	char *ua;

	ck_assert_int_eq(dbm_http_json(&h, "GET", "/auth", NULL, 1, NULL, &e),
	    0);
	ck_assert_int_eq(dbm_http_json(&h, "GET", "/ua", NULL, 1, &j, &e), 0);
	ua = dbm_json_get_str(&j, "ua");
	{
		char want[64];

		snprintf(want, sizeof want, "dbmlops/%s unit/%s curl/",
		    dbm_version(), dbm_version());
		ck_assert_int_eq(strncmp(ua, want, strlen(want)), 0);
	}
	ck_assert_ptr_nonnull(strstr(ua, " os/linux auth/pat"));
	free(ua);
	dbm_json_free(&j);
	free(auth.token);
	auth.token = strdup("wrong");
	ck_assert_int_lt(dbm_http_json(&h, "GET", "/auth", NULL, 1, NULL, &e),
	    0);
	ck_assert_int_eq(e.kind, DBM_E_AUTH);
	ck_assert_int_eq(e.status, 401);
}
END_TEST

START_TEST(test_verbose_redacts)
{
	char path[] = "/tmp/dbmtrace.XXXXXX", buf[8192];
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	dup2(fd, 2);
	h.verbose = 1;
	ck_assert_int_eq(dbm_http_json(&h, "GET", "/auth", NULL, 1, NULL, &e),
	    0);
	fflush(stderr);
	dup2(saved, 2);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "> GET /auth"));
	ck_assert_ptr_nonnull(strstr(buf, "Authorization: [redacted]"));
	ck_assert_ptr_null(strstr(buf, "s3cret"));
	close(fd);
	close(saved);
}
END_TEST

START_TEST(test_oauth_m2m)
{
	free(auth.token);
	auth.token = NULL;
	auth.kind = DBM_AUTH_OAUTH_M2M;
	auth.client_id = strdup("cid");
	auth.client_secret = strdup("csecret");
	ck_assert_int_eq(dbm_http_json(&h, "GET", "/auth", NULL, 1, NULL, &e),
	    0);
	ck_assert_str_eq(auth.access_token, "tok-s3cret");
	/* the token is cached: one more call makes one more request */
	atomic_store(&hits, 0);
	ck_assert_int_eq(dbm_http_json(&h, "GET", "/auth", NULL, 1, NULL, &e),
	    0);
	ck_assert_int_eq(atomic_load(&hits), 1);
	/* a wrong secret is an auth error that names no secret */
	free(auth.access_token);
	auth.access_token = NULL;
	free(auth.client_secret);
	auth.client_secret = strdup("nope-secret");
	ck_assert_int_lt(dbm_http_json(&h, "GET", "/auth", NULL, 1, NULL, &e),
	    0);
	ck_assert_int_eq(e.kind, DBM_E_AUTH);
	ck_assert_ptr_null(strstr(e.msg, "nope-secret"));
}
END_TEST

START_TEST(test_file_body)
{
	char path[] = "/tmp/dbmbody.XXXXXX", chunk[65536];
	int fd = mkstemp(path), i;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	struct dbm_json j;
	long long len;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(write(fd, chunk, sizeof(chunk)),
		    (ssize_t)sizeof(chunk));
	dbm_req_init(&r, "PUT", "/size");
	r.body_fd = fd;
	r.body_off = 1000;
	r.body_size = 40 * 65536 - 2000;
	r.content_type = "application/octet-stream";
	ck_assert_int_eq(dbm_http_do(&h, &r, &resp, &e), 0);
	ck_assert_int_eq(dbm_json_parse(&j, resp.body.data, resp.body.len,
	    NULL, &e), 0);
	ck_assert_int_eq(dbm_json_get_int(&j, "len", &len), 0);
	ck_assert_int_eq(len, 40 * 65536 - 2000);
	dbm_json_free(&j);
	dbm_resp_free(&resp);
	close(fd);
}
END_TEST

Suite *
suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("loopback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ok);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_retry_after_zero);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_no_retry_500);
	tcase_add_test(tc, test_api_error);
	tcase_add_test(tc, test_dropped);
	tcase_add_test(tc, test_auth_and_ua);
	tcase_add_test(tc, test_verbose_redacts);
	tcase_add_test(tc, test_oauth_m2m);
	tcase_add_test(tc, test_file_body);
	suite_add_tcase(s, tc);
	return s;
}
