/*
 * HTTP client: see http.h. One easy handle per struct dbm_http, reset for
 * each request so the connection is kept alive across calls.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>


#include <openssl/evp.h>

#include "http.h"
#include "version.h"

#define ERRBODY_MAX (64 * 1024)

struct xfer {
	const struct dbm_req *req;
	struct dbm_resp *resp;
	CURL *c;
	off_t sent;		/* file body bytes handed to curl */
	curl_off_t ul;		/* bytes reported to req->progress */
};

static void
sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double
envnum(const char *name, double def)
{
	const char *v = getenv(name);
	char *end;
	double d;

	if (v == NULL || *v == '\0')
		return def;
	d = strtod(v, &end);
	return (*end == '\0' && d >= 0) ? d : def;
}

int
dbm_http_init(struct dbm_http *h, struct dbm_auth *auth, const char *tool,
    struct dbm_err *e)
{
	struct utsname u;
	const char *ca;
	curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	struct dbm_buf ua = DBM_BUF_INIT;
	char os[64] = "unknown";

	memset(h, 0, sizeof(*h));
	h->auth = auth;
	h->base = dbm_xstrdup(auth && auth->host ? auth->host : "");
	h->budget = envnum("DBMLOPS_RETRY_TIMEOUT", 300);
	h->backoff = envnum("DBMLOPS_RETRY_BACKOFF", 1);
	h->connect_timeout = 30;
	h->idle_timeout = 60;
	h->seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
	ca = getenv("DBMLOPS_CA_BUNDLE");
	if (ca == NULL || *ca == '\0')
		ca = getenv("REQUESTS_CA_BUNDLE");
	if (ca && *ca)
		h->cainfo = dbm_xstrdup(ca);
	if (uname(&u) == 0) {
		size_t i;

		for (i = 0; i < sizeof(os) - 1 && u.sysname[i]; i++)
			os[i] = u.sysname[i];
		os[i] = '\0';
		for (i = 0; os[i]; i++)
			if (os[i] >= 'A' && os[i] <= 'Z')
				os[i] = (char)(os[i] - 'A' + 'a');
	}
	dbm_buf_printf(&ua, "dbmlops/%s", dbm_version());
	if (tool)
		dbm_buf_printf(&ua, " %s/%s", tool, dbm_version());
	dbm_buf_printf(&ua, " curl/%s os/%s", cv->version, os);
	if (auth)
		dbm_buf_printf(&ua, " %s", dbm_auth_name(auth));
	h->user_agent = dbm_buf_detach(&ua);
	h->easy = curl_easy_init();
	if (h->easy == NULL) {
		dbm_http_free(h);
		return dbm_errf(e, DBM_E_SYS, "cannot start libcurl");
	}
	return 0;
}

void
dbm_http_free(struct dbm_http *h)
{
	if (h->easy)
		curl_easy_cleanup(h->easy);
	free(h->base);
	free(h->user_agent);
	free(h->cainfo);
	memset(h, 0, sizeof(*h));
}

void
dbm_req_init(struct dbm_req *r, const char *method, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->path = path;
	r->body_fd = -1;
}

void
dbm_resp_free(struct dbm_resp *r)
{
	dbm_buf_free(&r->body);
	free(r->location);
	free(r->etag);
	memset(r, 0, sizeof(*r));
}

void
dbm_url_encode(struct dbm_buf *b, const char *s, int path)
{
	for (;;) {
		size_t n = path ? strcspn(s, "/") : strlen(s);
		char *e;

		if (n > 0) {
			if (n > INT_MAX || (e = curl_easy_escape(NULL, s,
			    (int)n)) == NULL)
				dbm_errx(1, "out of memory");
			dbm_buf_adds(b, e);
			curl_free(e);
		}
		if (s[n] == '\0')
			break;
		dbm_buf_addc(b, '/');
		s += n + 1;
	}
}

/* Request path without the query, for messages. */
static void
short_path(char *out, size_t len, const char *path)
{
	size_t n = strcspn(path, "?");

	snprintf(out, len, "%.*s", (int)n, path);
}

void
dbm_http_api_error(struct dbm_err *e, const char *method, const char *path,
    long status, const char *body, size_t len)
{
	struct dbm_json j;
	char *code = NULL, *msg = NULL, sp[400];

	if (e == NULL)
		return;
	dbm_err_clear(e);
	e->kind = DBM_E_API;
	e->status = status;
	short_path(sp, sizeof(sp), path);
	snprintf(e->where, sizeof(e->where), "%s %s", method, sp);
	if (len > 0 && dbm_json_parse(&j, body, len, NULL, NULL) == 0) {
		code = dbm_json_get_str(&j, "error_code");
		msg = dbm_json_get_str(&j, "message");
		if (msg == NULL)
			msg = dbm_json_get_str(&j, "error_description");
		if (code == NULL)
			code = dbm_json_get_str(&j, "error");
		dbm_json_free(&j);
	}
	if (code)
		snprintf(e->code, sizeof(e->code), "%s", code);
	if (msg && strstr(msg, "Public DBFS root is disabled")) {
		/* a new account's workspace (PROTOCOL.md section 15): the way
		 * out with the service's words */
		snprintf(e->msg, sizeof(e->msg), "%s (this workspace has no DBFS "
		    "root: keep wheels and code in workspace files or a volume, "
		    "as the tools do by default unless DBMLOPS_WORKSPACE=legacy: "
		    "DBMLOPS_WHEEL_DIR=/Workspace/Shared/wheels/{branch}, "
		    "dbfs-put to /Workspace/... or /Volumes/..., mlflow-submit "
		    "--code-dir /Workspace/...)", msg);
	} else if (msg) {
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	} else if (len > 0 && !code) {
		size_t i, n = len < 200 ? len : 200;

		snprintf(e->msg, sizeof(e->msg), "%.*s", (int)n, body);
		for (i = 0; e->msg[i]; i++)
			if ((unsigned char)e->msg[i] < 0x20)
				e->msg[i] = ' ';
	} else {
		snprintf(e->msg, sizeof(e->msg), "%s", "request failed");
	}
	free(code);
	free(msg);
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char buf[32];
		size_t l = len - 12 < sizeof(buf) - 1 ? len - 12 :
		    sizeof(buf) - 1;
		char *end;
		long v;

		memcpy(buf, p + 12, l);
		buf[l] = '\0';
		v = strtol(buf, &end, 10);
		if (end != buf && v >= 0)
			x->resp->retry_after = v;
	} else if (len > 9 && strncasecmp(p, "Location:", 9) == 0) {
		size_t s = 9, e = len;

		while (s < e && (p[s] == ' ' || p[s] == '\t'))
			s++;
		while (e > s && strchr(" \t\r\n", p[e - 1]))
			e--;
		free(x->resp->location);
		x->resp->location = dbm_xstrndup(p + s, e - s);
	} else if (len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		size_t s = 5, e = len;

		while (s < e && (p[s] == ' ' || p[s] == '\t'))
			s++;
		while (e > s && strchr(" \t\r\n", p[e - 1]))
			e--;
		free(x->resp->etag);
		x->resp->etag = dbm_xstrndup(p + s, e - s);
	} else if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (after 100-continue or a redirect) */
		x->resp->retry_after = -1;
	}
	return len;
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300) {	/* an error body: its start */
		if (x->resp->body.len < ERRBODY_MAX)
			dbm_buf_add(&x->resp->body, p,
			    len < ERRBODY_MAX ? len : ERRBODY_MAX);
		return len;
	}
	dbm_buf_add(&x->resp->body, p, len);
	return len;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t want = size * n;
	off_t left = x->req->body_size - x->sent;
	ssize_t r;

	if (left <= 0)
		return 0;
	if ((off_t)want > left)
		want = (size_t)left;
	do
		r = pread(x->req->body_fd, p, want, x->req->body_off + x->sent);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return CURL_READFUNC_ABORT;
	if (r == 0)	/* the file shrank under us */
		return CURL_READFUNC_ABORT;
	x->sent += r;
	return (size_t)r;
}

static int
on_seek(void *arg, curl_off_t off, int origin)
{
	struct xfer *x = arg;

	if (origin != SEEK_SET || off < 0 || off > x->req->body_size)
		return CURL_SEEKFUNC_CANTSEEK;
	x->sent = (off_t)off;
	return CURL_SEEKFUNC_OK;
}

static int
on_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = arg;

	if (ulnow > x->ul) {
		x->req->progress(x->req->progress_arg, (long long)(ulnow - x->ul));
		x->ul = ulnow;
	}
	return 0;
}

/* Credentials never reach the trace: header lines that carry them are cut. */
static int
on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	static const char *const secret[] = {
		"authorization:", "proxy-authorization:", "cookie:",
		"set-cookie:", "x-databricks-azure-sp-management-token:",
	};
	const char *mark;
	size_t i, n, k;

	if (type == CURLINFO_HEADER_OUT)
		mark = "> ";
	else if (type == CURLINFO_HEADER_IN)
		mark = "< ";
	else
		return 0;
	for (i = 0; i < size; i += n) {
		const char *line = data + i;
		const char *nl = memchr(line, '\n', size - i);

		n = nl ? (size_t)(nl - line) + 1 : size - i;
		k = n;
		while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
			k--;
		if (k == 0)
			continue;
		for (size_t s = 0; s < sizeof(secret) / sizeof(*secret); s++) {
			size_t sl = strlen(secret[s]);

			if (k >= sl && strncasecmp(line, secret[s], sl) == 0) {
				dbm_say(DBM_SAY_TRACE, "%s: %s%.*s [redacted]\n",
				    dbm_prog(), mark, (int)sl, line);
				goto next;
			}
		}
		dbm_say(DBM_SAY_TRACE, "%s: %s%.*s\n", dbm_prog(), mark, (int)k, line);
next:		;
	}
	return 0;
}

static int transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* The credentials' header lines: the hook's, or a personal access token. */
static int
auth_headers(struct dbm_http *h, struct dbm_buf *out, struct dbm_err *e)
{
	if (h->auth_headers)
		return h->auth_headers(h, out, e);
	if (h->auth->kind == DBM_AUTH_PAT) {
		dbm_buf_printf(out, "Authorization: Bearer %s", h->auth->token);
		return 0;
	}
	return dbm_errf(e, DBM_E_AUTH, "%s credentials need a token source "
	    "(dbm_client_init)", dbm_auth_name(h->auth));
}

/* The options every attempt sets: URL, timeouts, TLS, callbacks. */
static void
set_transport(struct dbm_http *h, CURL *c, const char *url, char *errbuf,
    struct xfer *x)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->attempt_connect > 0 ?
	    h->attempt_connect : h->connect_timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->idle_timeout);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->cainfo)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cainfo);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	/* libcurl sends a request again, unasked, when a reused connection
	 * closes before any answer: a request that must not run twice gets
	 * a connection of its own */
	if (!x->req->idempotent)
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (x->req->progress) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	if (h->verbose) {
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	}
}

/* The request's header list: the credentials' lines (in cred, wiped once
 * copied), its content type and extra headers, no Expect. */
static struct curl_slist *
header_list(const struct dbm_req *r, struct dbm_buf *cred)
{
	struct curl_slist *hdr = NULL;
	struct dbm_buf ct = DBM_BUF_INIT;
	char *line, *nl;
	int i;

	if (cred->len) {
		for (line = cred->data; *line; line = nl + 1) {
			if ((nl = strchr(line, '\n')) == NULL)
				nl = line + strlen(line) - 1;
			else
				*nl = '\0';
			hdr = curl_slist_append(hdr, line);
		}
		dbm_zero(cred->data, cred->len);
	}
	if (r->content_type) {
		dbm_buf_printf(&ct, "Content-Type: %s", r->content_type);
		hdr = curl_slist_append(hdr, dbm_buf_str(&ct));
		dbm_buf_free(&ct);
	}
	for (i = 0; i < 4 && r->headers[i]; i++)
		hdr = curl_slist_append(hdr, r->headers[i]);
	return curl_slist_append(hdr, "Expect:");
}

/* The method and body: none, a MIME form, a file streamed, or bytes in
 * memory. -1 when the form could not be built. */
static int
set_body(CURL *c, const struct dbm_req *r, struct xfer *x, curl_mime **mime,
    struct dbm_err *e)
{
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (r->mime) {
		if ((*mime = r->mime(c, r->mime_arg, e)) == NULL)
			return -1;
		curl_easy_setopt(c, CURLOPT_MIMEPOST, *mime);
	} else if (r->body_fd >= 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)r->body_size);
	} else if (r->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "POST") == 0 ||
	    strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
	    !(strcmp(r->method, "POST") == 0 && r->body_fd < 0))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	return 0;
}

/* One attempt. Returns the curl code; resp->status is 0 without an answer. */
static CURLcode
perform(struct dbm_http *h, const struct dbm_req *r, struct dbm_resp *resp,
    int use_auth, char *errbuf, struct dbm_err *e, int *fatal)
{
	struct xfer x = {r, resp, h->easy, 0, 0};
	struct curl_slist *hdr = NULL;
	struct dbm_buf url = DBM_BUF_INIT, cred = DBM_BUF_INIT;
	curl_mime *mime = NULL;
	curl_off_t cl = -1;
	CURL *c = h->easy;
	CURLcode rc = CURLE_OK;

	*fatal = 0;
	if (use_auth && h->auth && auth_headers(h, &cred, e) < 0) {
		*fatal = 1;
		dbm_buf_free(&cred);
		return CURLE_OK;
	}
	curl_easy_reset(c);
	if (strncmp(r->path, "http://", 7) == 0 ||
	    strncmp(r->path, "https://", 8) == 0)
		dbm_buf_adds(&url, r->path);
	else
		dbm_buf_printf(&url, "%s%s", h->base, r->path);
	set_transport(h, c, dbm_buf_str(&url), errbuf, &x);
	hdr = header_list(r, &cred);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (set_body(c, r, &x, &mime, e) < 0) {
		*fatal = 1;
		goto out;
	}
	resp->status = 0;
	resp->retry_after = -1;
	dbm_buf_reset(&resp->body);
	errbuf[0] = '\0';
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	resp->content_length = (long long)cl;
out:
	curl_slist_free_all(hdr);
	curl_mime_free(mime);
	dbm_buf_free(&url);
	dbm_buf_free(&cred);
	return rc;
}

/* Wait before attempt n (1-based): the server's Retry-After plus jitter
 * (so that the workers do not all come back at once), else min(n,10) units
 * plus jitter. A Retry-After of 0 gives no guidance: taken at its word it
 * had a throttled run ask again thousands of times a second. */
static double
backoff(struct dbm_http *h, int n, long retry_after)
{
	double jitter = (double)(rand_r(&h->seed) % 1000) / 1000.0 * 0.75;

	if (retry_after > 0)
		return (double)retry_after + jitter * h->backoff;
	return ((n < 10 ? n : 10) + jitter) * h->backoff;
}

/* A host that refuses every connection and never answered is a wrong
 * URL or a server not running, not a bad minute: retried for at most
 * REFUSED_BUDGET seconds of the budget, not all of it (a workspace's
 * front end does not refuse connections). */
#define REFUSED_BUDGET	20.0

static int
refused_long(const struct dbm_http *h, CURLcode rc, double start, double wait)
{
	return rc == CURLE_COULDNT_CONNECT && !h->answered &&
	    dbm_now() - start + wait > REFUSED_BUDGET;
}

int
dbm_http_send(struct dbm_http *h, const struct dbm_req *r, struct dbm_resp *resp,
    int use_auth, struct dbm_err *e)
{
	char errbuf[CURL_ERROR_SIZE], sp[400];
	double start = dbm_now(), wait;
	CURLcode rc;
	int fatal, retry;

	resp->attempts = 0;
	for (;;) {
		double left = h->budget - (dbm_now() - start);

		resp->attempts++;
		/* an attempt that cannot connect ends within the budget */
		h->attempt_connect = left < (double)h->connect_timeout ?
		    (long)(left > 1 ? left : 1) : h->connect_timeout;
		rc = perform(h, r, resp, use_auth, errbuf, e, &fatal);
		if (fatal)
			return -1;
		h->answered |= rc == CURLE_OK;
		if (rc == CURLE_OK && resp->status >= 200 &&
		    resp->status < 300)
			return 0;
		if (rc != CURLE_OK)
			retry = transient_curl(rc) && (r->idempotent ||
			    rc == CURLE_COULDNT_CONNECT);
		else
			retry = resp->status == 429 || resp->status == 503;
		wait = backoff(h, resp->attempts, rc == CURLE_OK ?
		    resp->retry_after : -1);
		left = h->budget - (dbm_now() - start);
		if (!retry || wait >= left || refused_long(h, rc, start, wait))
			break;
		/* said every time: minutes of silence in a CI log are
		 * worse than a line per retry */
		short_path(sp, sizeof(sp), r->path);
		if (rc != CURLE_OK)
			dbm_say(DBM_SAY_NOTE, "%s: %s %s: %s: retry %d in %.1fs (%.1fs "
			    "of the %gs retry budget left)\n", dbm_prog(),
			    r->method, sp, errbuf[0] ? errbuf :
			    curl_easy_strerror(rc), resp->attempts, wait, left,
			    h->budget);
		else
			dbm_say(DBM_SAY_NOTE, "%s: %s %s: HTTP %ld: retry %d in %.1fs "
			    "(%.1fs of the %gs retry budget left)\n",
			    dbm_prog(), r->method, sp, resp->status,
			    resp->attempts, wait, left, h->budget);
		sleep_s(wait);
	}
	if (rc != CURLE_OK) {
		short_path(sp, sizeof(sp), r->path);
		dbm_errf(e, DBM_E_NET, "%s%s", errbuf[0] ? errbuf :
		    curl_easy_strerror(rc), rc == CURLE_COULDNT_CONNECT &&
		    !h->answered ? " (the host has not answered once: is it "
		    "the workspace's URL, and is the server running?)" : "");
		snprintf(e->where, sizeof(e->where), "%s %s%s", r->method,
		    strncmp(r->path, "http", 4) == 0 ? "" : h->base, sp);
		return -1;
	}
	dbm_http_api_error(e, r->method, r->path, resp->status,
	    dbm_buf_str(&resp->body), resp->body.len);
	if ((resp->status == 401 || resp->status == 403) && use_auth &&
	    h->auth) {
		/* which credentials, from where: never the secret */
		size_t n = strlen(e->msg);

		e->kind = DBM_E_AUTH;
		snprintf(e->msg + n, sizeof(e->msg) - n, " [auth %s. %s]",
		    dbm_auth_name(h->auth) + 5, h->auth->desc ? h->auth->desc :
		    "");
	}
	return -1;
}

int
dbm_http_do(struct dbm_http *h, const struct dbm_req *r, struct dbm_resp *resp,
    struct dbm_err *e)
{
	return dbm_http_send(h, r, resp, 1, e);
}

int
dbm_http_json(struct dbm_http *h, const char *method, const char *path,
    const char *body, int idempotent, struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};
	char where[512], sp[400];
	int rc = -1;

	dbm_req_init(&r, method, path);
	r.idempotent = idempotent;
	if (body) {
		r.content_type = "application/json";
		r.body = body;
		r.body_len = strlen(body);
	}
	if (dbm_http_do(h, &r, &resp, e) < 0)
		goto out;
	if (out) {
		const char *txt = resp.body.len ? resp.body.data : "{}";
		size_t len = resp.body.len ? resp.body.len : 2;

		short_path(sp, sizeof(sp), path);
		snprintf(where, sizeof(where), "%s %s", method, sp);
		if (dbm_json_parse(out, txt, len, where, e) < 0) {
			e->kind = DBM_E_API;
			e->status = resp.status;
			snprintf(e->msg, sizeof(e->msg), "%s",
			    "the answer is not valid JSON");
			goto out;
		}
	}
	rc = 0;
out:
	dbm_resp_free(&resp);
	return rc;
}
