/*
 * workspace-emu's HTTP side: libmicrohttpd glue, routing, bearer-token
 * checks, request bodies (memory, temporary file, multipart), injected
 * faults and the JSON-lines request log.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "emu.h"
#include "server.h"

typedef enum MHD_Result (*handler_fn)(struct req *);

struct route {
	const char *method;	/* NULL: any */
	const char *path;
	int prefix;		/* path is a prefix */
	int public;		/* no credentials needed */
	enum body_mode mode;
	handler_fn fn;
};

static enum MHD_Result jobs_or_404(struct req *r);
static enum MHD_Result no_api(struct req *r);

static const struct route routes[] = {
	{"POST", "/api/2.0/dbfs/put", 0, 0, BODY_PUT, emu_dbfs},
	{NULL, "/api/2.0/dbfs/", 1, 0, BODY_JSON, emu_dbfs},
	{"POST", "/dbfs/", 1, 0, BODY_FILE, emu_dbfs},
	{"GET", "/dbfs/", 1, 0, BODY_NONE, emu_dbfs},
	{"PUT", "/api/2.0/fs/files/", 1, 0, BODY_FILE, emu_files},
	{NULL, "/api/2.0/fs/", 1, 0, BODY_NONE, emu_files},
	{"POST", "/api/2.0/workspace-files/import-file/", 1, 0, BODY_FILE,
	    emu_workspace},
	{NULL, "/api/2.0/workspace/", 1, 0, BODY_JSON, emu_workspace},
	{NULL, "/api/2.0/jobs/", 1, 0, BODY_JSON, jobs_or_404},
	{NULL, "/api/2.1/jobs/", 1, 0, BODY_JSON, jobs_or_404},
	{NULL, "/api/2.2/jobs/", 1, 0, BODY_JSON, jobs_or_404},
	{"GET", "/jobs/runs/", 1, 1, BODY_NONE, jobs_or_404},
	{"GET", "/oidc/.well-known/oauth-authorization-server", 0, 1,
	    BODY_NONE, emu_oauth},
	{"GET", "/.well-known/databricks-config", 0, 1, BODY_NONE, emu_oauth},
	{"POST", "/oidc/v1/token", 0, 1, BODY_JSON, emu_oauth},
	{NULL, "/api/2.0/mlflow/", 1, 0, BODY_PROXY, emu_proxy},
	{NULL, "/api/2.0/preview/mlflow/", 1, 0, BODY_PROXY, emu_proxy},
	{NULL, "/api/2.0/mlflow-artifacts/", 1, 0, BODY_PROXY, emu_proxy},
	/* the MLflow UI and the endpoints it calls from the browser */
	{NULL, "/ajax-api/", 1, 1, BODY_PROXY, emu_proxy},
	{"GET", "/static-files/", 1, 1, BODY_NONE, emu_proxy},
	{"GET", "/ml/", 1, 1, BODY_NONE, emu_proxy},
	{"GET", "/", 0, 1, BODY_NONE, emu_proxy},
	{"GET", "/health", 0, 1, BODY_NONE, emu_proxy},
	{"GET", "/version", 0, 1, BODY_NONE, emu_proxy},
	/* any other API is unknown; anything else belongs to the UI
	 * (assets, /graphql, ...) */
	{NULL, "/api/", 1, 0, BODY_NONE, no_api},
	{NULL, "/", 1, 1, BODY_PROXY, emu_proxy},
};

emu_jobs_fn emu_jobs_handler;

static enum MHD_Result
no_api(struct req *r)
{
	return emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
	    "No API found for '%s %s'", r->method, r->path);
}

static enum MHD_Result
jobs_or_404(struct req *r)
{
	if (emu_jobs_handler)
		return emu_jobs_handler(r);
	return emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
	    "No API found for '%s %s'", r->method, r->path);
}

double
emu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long long
emu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
emu_b64_encode(const unsigned char *p, size_t n)
{
	char *out = dbm_xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

long long
emu_b64_decode(const char *s, size_t n, unsigned char *out)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/";
	unsigned int acc = 0;
	int bits = 0, pad = 0;
	long long len = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p;
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || c == '\r')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || c == '\0' || (p = strchr(tbl, c)) == NULL)
			return -1;
		acc = (acc << 6) | (unsigned int)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (pad > 2 || bits >= 6)
		return -1;
	return len;
}

static void log_request(struct req *r);

enum MHD_Result
emu_queue(struct req *r, unsigned int status, struct MHD_Response *resp)
{
	enum MHD_Result res;

	r->status = status;
	r->answered = 1;
	/* logged before the answer leaves: a client that has its answer
	 * finds the line there */
	log_request(r);
	MHD_add_response_header(resp, "X-Request-Id", "emu");
	res = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return res;
}

enum MHD_Result
emu_reply(struct req *r, unsigned int status, const char *ctype,
    const char *body, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (ctype)
		MHD_add_response_header(resp, "Content-Type", ctype);
	r->bytes_out += (long long)len;
	return emu_queue(r, status, resp);
}

enum MHD_Result
emu_reply_json(struct req *r, unsigned int status, const char *json)
{
	return emu_reply(r, status, "application/json", json, strlen(json));
}

enum MHD_Result
emu_reply_error(struct req *r, unsigned int status, const char *code,
    const char *fmt, ...)
{
	struct dbm_buf msg = DBM_BUF_INIT, b = DBM_BUF_INIT;
	struct dbm_jw w;
	va_list ap;
	int n;
	enum MHD_Result res;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	dbm_buf_grow(&msg, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(msg.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	msg.len = (size_t)n;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "error_code");
	dbm_jw_str(&w, code);
	dbm_jw_key(&w, "message");
	dbm_jw_str(&w, dbm_buf_str(&msg));
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, status, dbm_buf_str(&b));
	dbm_buf_free(&b);
	dbm_buf_free(&msg);
	return res;
}

/* A response that stops half way: the "dropped mid-body" fault. */
struct cut {
	int fd;
	off_t off, left;
};

static ssize_t
cut_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct cut *c = cls;
	ssize_t n;

	if (c->left <= 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if ((off_t)max > c->left)
		max = (size_t)c->left;
	n = pread(c->fd, buf, max, c->off + (off_t)pos);
	if (n <= 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	c->left -= n;
	return n;
}

static void
cut_free(void *cls)
{
	struct cut *c = cls;

	close(c->fd);
	free(c);
}

enum MHD_Result
emu_reply_fd(struct req *r, unsigned int status, int fd, off_t off, off_t len,
    const char *ctype, struct MHD_Response **out)
{
	struct MHD_Response *resp;

	if (r->drop_after >= 0 && len > 1) {
		struct cut *c = dbm_xcalloc(1, sizeof(*c));

		c->fd = fd;
		c->off = off;
		c->left = len / 2;
		resp = MHD_create_response_from_callback((uint64_t)len, 65536,
		    cut_read, c, cut_free);
		r->fault = "drop";
	} else {
		resp = MHD_create_response_from_fd_at_offset64((uint64_t)len,
		    fd, (uint64_t)off);
	}
	if (ctype)
		MHD_add_response_header(resp, "Content-Type", ctype);
	r->bytes_out += (long long)len;
	if (out) {
		*out = resp;
		return MHD_YES;
	}
	return emu_queue(r, status, resp);
}

int
emu_need_json(struct req *r, enum MHD_Result *res)
{
	struct dbm_err e;

	if (r->have_json)
		return 0;
	if (r->too_big) {
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Request body is larger than %lld bytes", r->emu->json_max);
		return -1;
	}
	if (r->body.len == 0) {
		*res = emu_reply_error(r, 400, "MALFORMED_REQUEST",
		    "Request body is missing: expected a JSON object");
		return -1;
	}
	if (dbm_json_parse(&r->json, r->body.data, r->body.len, "body",
	    &e) < 0 || dbm_json_type(&r->json, 0) != DBM_JSON_OBJECT) {
		if (e.kind != DBM_E_INPUT)
			snprintf(e.msg, sizeof(e.msg), "%s", "not an object");
		*res = emu_reply_error(r, 400, "MALFORMED_REQUEST",
		    "Invalid JSON given in the body of the request - %s at "
		    "line %ld column %ld", e.msg, e.line, e.col);
		if (r->have_json)
			dbm_json_free(&r->json);
		r->have_json = 0;
		return -1;
	}
	r->have_json = 1;
	return 0;
}

char *
emu_param(struct req *r, const char *name)
{
	const char *q = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, name);
	struct dbm_err e;
	int t;
	size_t n;
	const char *raw;

	if (q)
		return dbm_xstrdup(q);
	if (!r->have_json && r->body.len > 0 && r->mode == BODY_JSON &&
	    !r->too_big) {
		if (dbm_json_parse(&r->json, r->body.data, r->body.len, "body",
		    &e) == 0)
			r->have_json = 1;
	}
	if (!r->have_json)
		return NULL;
	t = dbm_json_member(&r->json, 0, name);
	switch (dbm_json_type(&r->json, t)) {
	case DBM_JSON_STRING:
		return dbm_json_strdup(&r->json, t);
	case DBM_JSON_NUMBER:
	case DBM_JSON_BOOL:
		raw = dbm_json_raw(&r->json, t, &n);
		return dbm_xstrndup(raw, n);
	default:
		return NULL;
	}
}

char *
emu_map(struct req *r, enum store_root root, const char *p, char **canon,
    enum MHD_Result *res)
{
	const char *why;
	char *disk = store_map(r->emu, root, p, canon, &why);

	if (disk == NULL)
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid path %s: %s", p ? p : "(none)", why);
	return disk;
}

char *
emu_path_param(struct req *r, enum store_root root, const char *name,
    char **canon, enum MHD_Result *res)
{
	char *p = emu_param(r, name), *disk;

	if (p == NULL) {
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Missing required field: %s", name);
		return NULL;
	}
	disk = emu_map(r, root, p, canon, res);
	free(p);
	return disk;
}

int
emu_param_bool(struct req *r, const char *name, int def)
{
	char *v = emu_param(r, name);
	int b = def;

	if (v) {
		b = strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
		free(v);
	}
	return b;
}

static const struct route *
find_route(const char *method, const char *path, const char **rest)
{
	size_t i, n;

	for (i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
		const struct route *rt = &routes[i];

		if (rt->method && strcmp(rt->method, method) != 0 &&
		    !(strcmp(rt->method, "GET") == 0 &&
		    strcmp(method, "HEAD") == 0))
			continue;
		n = strlen(rt->path);
		if (rt->prefix ? strncmp(path, rt->path, n) == 0 :
		    strcmp(path, rt->path) == 0) {
			*rest = path + (rt->prefix ? n - 1 : n);
			return rt;
		}
	}
	return NULL;
}

static int
token_ok(struct emu *e, const char *hdr, int *sent)
{
	const char *tok;
	int i;

	*sent = 0;
	if (hdr == NULL || strncasecmp(hdr, "Bearer ", 7) != 0)
		return 0;
	*sent = 1;
	tok = hdr + 7;
	while (*tok == ' ')
		tok++;
	for (i = 0; i < e->ntokens; i++) {
		const char *t = e->tokens[i];
		size_t a = strlen(t), b = strlen(tok), k;
		unsigned char diff = (unsigned char)(a != b);

		/* compare without an early exit */
		for (k = 0; k < a && k < b; k++)
			diff |= (unsigned char)(t[k] ^ tok[k]);
		if (diff == 0)
			return 1;
	}
	return emu_oauth_check(e, tok);
}

/* Append the request as one JSON line to the log, once. */
static void
log_request(struct req *r)
{
	struct emu *e = r->emu;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct timespec ts;
	struct tm tm;
	char when[40];
	const char *ua;

	if (e->log == NULL || r->logged)
		return;
	r->logged = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	ua = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "User-Agent");
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "time");
	dbm_buf_printf(&b, "\"%s.%03ldZ\"", when, ts.tv_nsec / 1000000);
	w.after_key = 0;
	dbm_jw_key(&w, "method");
	dbm_jw_str(&w, r->method);
	dbm_jw_key(&w, "path");
	dbm_jw_str(&w, r->path);
	dbm_jw_key(&w, "status");
	dbm_jw_int(&w, r->status);
	dbm_jw_key(&w, "bytes_in");
	dbm_jw_int(&w, r->bytes_in);
	dbm_jw_key(&w, "bytes_out");
	dbm_jw_int(&w, r->answered ? r->bytes_out : 0);
	dbm_jw_key(&w, "ms");
	dbm_jw_int(&w, (long long)((emu_now() - r->t0) * 1000));
	dbm_jw_key(&w, "fault");
	dbm_jw_str(&w, r->fault);
	dbm_jw_key(&w, "user_agent");
	dbm_jw_str(&w, ua);
	dbm_jw_obj_end(&w);
	dbm_buf_addc(&b, '\n');
	pthread_mutex_lock(&e->log_mu);
	fwrite(b.data, 1, b.len, e->log);
	fflush(e->log);
	pthread_mutex_unlock(&e->log_mu);
	dbm_buf_free(&b);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* First call for a request: route, authenticate, pick a fault. */
static enum MHD_Result
begin(struct req *r, int *done)
{
	struct emu *e = r->emu;
	const char *hdr, *rest = NULL;
	enum fault_kind fk;
	long param = 0;
	int sent;
	char ra[32];

	*done = 0;
	r->route = find_route(r->method, r->path, &rest);
	r->rest = rest;
	if (r->route && !r->route->public) {
		hdr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
		    "Authorization");
		if (!token_ok(e, hdr, &sent)) {
			*done = 1;
			if (!sent)
				return emu_reply_error(r, 401,
				    "UNAUTHENTICATED", "Credential was not sent "
				    "or was of an unsupported type for this "
				    "API.");
			return emu_reply_error(r, 403, "PERMISSION_DENIED",
			    "Invalid access token.");
		}
	}
	fk = faults_pick(e->faults, r->method, r->path, &param);
	switch (fk) {
	case FAULT_429:
	case FAULT_503: {
		struct MHD_Response *resp;
		const char *body = fk == FAULT_429 ?
		    "{\"error_code\":\"REQUEST_LIMIT_EXCEEDED\",\"message\":"
		    "\"Too many requests (injected fault).\"}" :
		    "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\",\"message\":"
		    "\"The service is temporarily unavailable (injected "
		    "fault).\"}";

		r->fault = fk == FAULT_429 ? "429" : "503";
		resp = MHD_create_response_from_buffer(strlen(body),
		    (void *)body, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Content-Type",
		    "application/json");
		if (param >= 0) {
			snprintf(ra, sizeof(ra), "%ld", param);
			MHD_add_response_header(resp, "Retry-After", ra);
		}
		r->bytes_out = (long long)strlen(body);
		*done = 1;
		return emu_queue(r, fk == FAULT_429 ? 429 : 503, resp);
	}
	case FAULT_DROP: {
		const char *cl = MHD_lookup_connection_value(r->conn,
		    MHD_HEADER_KIND, "Content-Length");

		r->drop_after = cl ? strtoll(cl, NULL, 10) : 0;
		break;
	}
	case FAULT_DELAY:
		r->fault = "delay";
		sleep_ms(param);
		break;
	default:
		break;
	}
	if (r->route == NULL) {
		*done = 1;
		return emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
		    "No API found for '%s %s'", r->method, r->path);
	}
	r->mode = r->route->mode;
	if (r->mode == BODY_PUT) {
		const char *ct = MHD_lookup_connection_value(r->conn,
		    MHD_HEADER_KIND, "Content-Type");

		r->mode = ct && strncasecmp(ct, "multipart/form-data", 19) == 0
		    ? BODY_PUT : BODY_JSON;
		if (r->mode == BODY_PUT && emu_multipart_begin(r) < 0) {
			*done = 1;
			return emu_reply_error(r, 400, "MALFORMED_REQUEST",
			    "Invalid multipart/form-data body");
		}
	}
	if (r->mode == BODY_FILE && store_tmpfile(e, &r->tmp) < 0) {
		r->fd = -1;
		*done = 1;
		return emu_reply_error(r, 500, "INTERNAL_ERROR",
		    "Cannot create a temporary file: %s", strerror(errno));
	}
	if (r->mode == BODY_FILE)
		r->fd = open(r->tmp, O_WRONLY | O_CLOEXEC);
	return MHD_YES;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **state)
{
	struct emu *e = cls;
	struct req *r = *state;
	int done;
	enum MHD_Result res;

	if (r == NULL) {
		r = dbm_xcalloc(1, sizeof(*r));
		r->emu = e;
		r->conn = conn;
		r->method = method;
		r->path = dbm_xstrdup(url);
		r->fd = -1;
		r->drop_after = -1;
		r->t0 = emu_now();
		*state = r;
		res = begin(r, &done);
		if (done || res != MHD_YES)
			return res;
		return MHD_YES;
	}
	if (r->answered) {	/* answered early: discard the body */
		r->bytes_in += (long long)*size;
		*size = 0;
		return MHD_YES;
	}
	if (*size > 0) {
		size_t n = *size;

		r->bytes_in += (long long)n;
		*size = 0;
		if (r->drop_after >= 0 && r->bytes_in > r->drop_after / 2 + 1) {
			r->fault = "drop";
			log_request(r);
			return MHD_NO;	/* connection closed mid-body */
		}
		switch (r->mode) {
		case BODY_JSON:
		case BODY_PROXY:
			if ((long long)(r->body.len + n) > e->json_max &&
			    r->mode == BODY_JSON)
				r->too_big = 1;
			else
				dbm_buf_add(&r->body, data, n);
			break;
		case BODY_FILE:
			if (r->fd >= 0 && write_all(r->fd, data, n) < 0) {
				close(r->fd);
				r->fd = -1;
				r->too_big = -errno;
			}
			break;
		case BODY_PUT:
			if (emu_multipart_feed(r, data, n) < 0)
				r->too_big = 1;
			break;
		default:
			break;
		}
		return MHD_YES;
	}
	/* dropped after the request arrived, before any answer (file
	 * downloads are cut half way instead, in emu_reply_fd) */
	if (r->drop_after >= 0 && !(r->route->fn == emu_files &&
	    (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0))) {
		r->fault = "drop";
		log_request(r);
		return MHD_NO;
	}
	/* no fsync: the emulator's files need to be atomic (rename), not
	 * durable across a power cut, and fsync would dominate benchmarks */
	if (r->mode == BODY_FILE) {
		if (r->fd < 0 || close(r->fd) < 0) {
			r->fd = -1;
			return emu_reply_error(r, 500, "INTERNAL_ERROR",
			    "Cannot store the request body");
		}
		r->fd = -1;
	}
	return r->route->fn(r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **state,
    enum MHD_RequestTerminationCode code)
{
	struct req *r = *state;

	if (r == NULL)
		return;
	log_request(r);		/* if nothing answered it (status 0) */
	if (r->fd >= 0)
		close(r->fd);
	if (r->tmp) {
		unlink(r->tmp);
		free(r->tmp);
	}
	emu_multipart_free(r);
	if (r->have_json)
		dbm_json_free(&r->json);
	dbm_buf_free(&r->body);
	free(r->path);
	free(r);
	*state = NULL;
}

/* Decode %XX; %00 becomes \x01 so that path checks refuse it rather than
 * the string being cut short. */
static size_t
unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s, *p = s;

	while (*p) {
		if (p[0] == '%' && p[1] && p[2]) {
			char hex[3] = {p[1], p[2], 0}, *end;
			long v = strtol(hex, &end, 16);

			if (*end == '\0') {
				*w++ = v == 0 ? '\x01' : (char)v;
				p += 3;
				continue;
			}
		}
		*w++ = *p++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

struct MHD_Daemon *
emu_start(struct emu *e, const struct sockaddr *addr)
{
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    (e->verbose ? MHD_USE_ERROR_LOG : 0), 0, NULL, NULL, on_request, e,
	    MHD_OPTION_SOCK_ADDR, addr,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, e,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)600,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)256,
	    MHD_OPTION_END);
}
