/*
 * The MLflow tracking API and UI, forwarded to a real MLflow server
 * (--mlflow-url) so one host serves everything, as a workspace does. The
 * answer streams back as it arrives: libcurl runs in the connection's
 * thread and is driven from libmicrohttpd's content reader.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "emu.h"
#include "api.h"

#define PX_BUF (1024 * 1024)

struct px {
	CURL *c;
	CURLM *m;
	struct curl_slist *hdrs;
	char *buf;
	size_t len, off;
	int paused, headers_done, finished;
	CURLcode rc;
	long status;
	struct dbm_buf keep;	/* response headers passed on, "k\0v\0" */
	const char *body;
	size_t blen, boff;
};

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct px *x = arg;
	size_t len = size * n;

	if (x->off == x->len)
		x->off = x->len = 0;
	if (x->len + len > PX_BUF) {
		x->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char *const pass[] = {
		"Content-Type", "Content-Disposition", "Cache-Control",
		"Last-Modified", "ETag", "Location",
	};
	struct px *x = arg;
	size_t len = size * n, i, k;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		dbm_buf_reset(&x->keep);
		return len;
	}
	if (len <= 2) {		/* the blank line ending the headers */
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->status);
		if (x->status >= 200)
			x->headers_done = 1;
		return len;
	}
	for (i = 0; i < sizeof(pass) / sizeof(*pass); i++) {
		k = strlen(pass[i]);
		if (len > k + 1 && strncasecmp(p, pass[i], k) == 0 &&
		    p[k] == ':') {
			size_t vs = k + 1, ve = len;

			while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
				vs++;
			while (ve > vs && (p[ve - 1] == '\r' ||
			    p[ve - 1] == '\n'))
				ve--;
			dbm_buf_add(&x->keep, pass[i], k);
			dbm_buf_addc(&x->keep, ':');
			dbm_buf_add(&x->keep, p + vs, ve - vs);
			dbm_buf_addc(&x->keep, '\0');
		}
	}
	return len;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct px *x = arg;
	size_t want = size * n;

	if (want > x->blen - x->boff)
		want = x->blen - x->boff;
	memcpy(p, x->body + x->boff, want);
	x->boff += want;
	return want;
}

/* Run libcurl a little; returns 0, or -1 once the transfer is over. */
static int
step(struct px *x)
{
	int running = 0, q;
	CURLMsg *msg;

	if (x->finished)
		return -1;
	curl_multi_perform(x->m, &running);
	while ((msg = curl_multi_info_read(x->m, &q)) != NULL) {
		if (msg->msg == CURLMSG_DONE) {
			x->rc = msg->data.result;
			x->finished = 1;
			curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE,
			    &x->status);
		}
	}
	if (!x->finished && running)
		curl_multi_poll(x->m, NULL, 0, 100, NULL);
	return x->finished ? -1 : 0;
}

static void
px_free(void *cls)
{
	struct px *x = cls;

	curl_multi_remove_handle(x->m, x->c);
	curl_easy_cleanup(x->c);
	curl_multi_cleanup(x->m);
	curl_slist_free_all(x->hdrs);
	dbm_buf_free(&x->keep);
	free(x->buf);
	free(x);
}

static ssize_t
px_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct px *x = cls;
	size_t n;

	for (;;) {
		if (x->off < x->len) {
			n = x->len - x->off;
			if (n > max)
				n = max;
			memcpy(out, x->buf + x->off, n);
			x->off += n;
			return (ssize_t)n;
		}
		if (x->paused) {
			x->paused = 0;
			curl_easy_pause(x->c, CURLPAUSE_CONT);
		}
		if (step(x) < 0 && x->off == x->len)
			return x->rc == CURLE_OK ? MHD_CONTENT_READER_END_OF_STREAM
			    : MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

/* Re-encode the query string MHD decoded. */
static enum MHD_Result
add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct dbm_buf *q = cls;
	char *k = curl_easy_escape(NULL, key, 0);

	dbm_buf_addc(q, q->len ? '&' : '?');
	dbm_buf_adds(q, k);
	curl_free(k);
	if (value) {
		char *v = curl_easy_escape(NULL, value, 0);

		dbm_buf_addc(q, '=');
		dbm_buf_adds(q, v);
		curl_free(v);
	}
	return MHD_YES;
}

/* Databricks-style run links (/ml/experiments/1/runs/abc) lead to the
 * same page of the MLflow UI (/#/experiments/1/runs/abc), at the
 * workspace's URL: a browser that came with credentials in the link
 * (token:...@) leaves them behind, and its pages' fetches work. */
static enum MHD_Result
ui_redirect(struct req *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0,
	    (void *)"", MHD_RESPMEM_PERSISTENT);
	struct dbm_buf loc = DBM_BUF_INIT;
	enum MHD_Result res;

	dbm_buf_printf(&loc, "%s/#%s", r->emu->url, r->path + 3);
	MHD_add_response_header(resp, "Location", loc.data);
	res = emu_queue(r, 302, resp);
	dbm_buf_free(&loc);
	return res;
}

/* The MLflow server's URL for r: its path (preview/ dropped) escaped but
 * for its slashes, and its query. */
static void
upstream_url(struct req *r, struct dbm_buf *url)
{
	const char *path = r->path, *p;
	struct dbm_buf q = DBM_BUF_INIT;
	char *escaped;

	dbm_buf_adds(url, r->emu->mlflow_url);
	if (strncmp(path, "/api/2.0/preview/mlflow/", 24) == 0) {
		dbm_buf_adds(url, "/api/2.0/mlflow/");
		path += 24;
	}
	escaped = curl_easy_escape(NULL, path, 0);
	for (p = escaped; *p; p++) {
		if (strncmp(p, "%2F", 3) == 0) {
			dbm_buf_addc(url, '/');
			p += 2;
		} else {
			dbm_buf_addc(url, *p);
		}
	}
	curl_free(escaped);
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	dbm_buf_adds(url, dbm_buf_str(&q));
	dbm_buf_free(&q);
}

enum MHD_Result
emu_proxy(struct req *r)
{
	struct emu *e = r->emu;
	struct px *x;
	struct dbm_buf url = DBM_BUF_INIT, h = DBM_BUF_INIT;
	struct MHD_Response *resp;
	static const char *const fwd[] = {"Content-Type", "Accept", "Host",
	    "Origin"};
	const char *ct, *p;
	size_t i;

	if (strncmp(r->path, "/ml/", 4) == 0)
		return ui_redirect(r);
	if (e->mlflow_url == NULL)
		return emu_reply_error(r, 404, "FEATURE_DISABLED", "MLflow "
		    "tracking is not configured: start workspace-emu with "
		    "--mlflow-url");
	upstream_url(r, &url);
	x = dbm_xcalloc(1, sizeof(*x));
	x->buf = dbm_xmalloc(PX_BUF);
	x->c = curl_easy_init();
	x->m = curl_multi_init();
	curl_easy_setopt(x->c, CURLOPT_URL, url.data);
	curl_easy_setopt(x->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x->c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->c, CURLOPT_HEADERDATA, x);
	/* Host and Origin as the client sent them, so that MLflow's own
	 * DNS-rebinding and cross-origin checks judge the request (they
	 * would pass any request that came from the emulator itself) */
	for (i = 0; i < sizeof(fwd) / sizeof(*fwd); i++) {
		if ((ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
		    fwd[i])) == NULL)
			continue;
		dbm_buf_reset(&h);
		dbm_buf_printf(&h, "%s: %s", fwd[i], ct);
		x->hdrs = curl_slist_append(x->hdrs, h.data);
	}
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	dbm_buf_free(&h);
	curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->hdrs);
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(x->c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "GET") != 0) {
		x->body = r->body.data ? r->body.data : "";
		x->blen = r->body.len;
		curl_easy_setopt(x->c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(x->c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(x->c, CURLOPT_READDATA, x);
		curl_easy_setopt(x->c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)x->blen);
		curl_easy_setopt(x->c, CURLOPT_CUSTOMREQUEST, r->method);
	}
	curl_multi_add_handle(x->m, x->c);
	while (!x->headers_done && step(x) == 0)
		;
	if (!x->headers_done && x->rc != CURLE_OK) {
		enum MHD_Result res = emu_reply_error(r, 502, "BAD_GATEWAY",
		    "The MLflow tracking server at %s did not answer: %s",
		    e->mlflow_url, curl_easy_strerror(x->rc));

		px_free(x);
		dbm_buf_free(&url);
		return res;
	}
	dbm_buf_free(&url);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
	    px_read, x, px_free);
	for (p = x->keep.data; p && p < x->keep.data + x->keep.len; ) {
		const char *colon = strchr(p, ':');	/* "Name:value\0" */
		char *name = dbm_xstrndup(p, (size_t)(colon - p));

		MHD_add_response_header(resp, name, colon + 1);
		free(name);
		p = colon + 1 + strlen(colon + 1) + 1;
	}
	return emu_queue(r, x->status >= 100 ? (unsigned int)x->status : 502,
	    resp);
}

/* The emulator's own calls to the MLflow server, each answer held in
 * memory (up to MLFLOW_ANSWER_MAX). */
#define MLFLOW_ANSWER_MAX (8u << 20)

/* libcurl's write callback: into a buffer. */
static size_t
gather(char *p, size_t size, size_t n, void *arg)
{
	struct dbm_buf *b = arg;

	if (b->len + size * n > MLFLOW_ANSWER_MAX)
		return 0;	/* curl stops: CURLE_WRITE_ERROR */
	dbm_buf_add(b, p, size * n);
	return size * n;
}

/* POST the JSON body to the MLflow server's api, or GET it when body is
 * NULL (synchronously): the answer's status (0: none) and body in out. */
long
emu_mlflow_send(struct emu *e, const char *api, const char *body,
    struct dbm_buf *out)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct curl_slist *h = NULL;
	CURL *c;
	long status = 0;

	if (e->mlflow_url == NULL || (c = curl_easy_init()) == NULL)
		return 0;
	dbm_buf_printf(&url, "%s/api/2.0/mlflow/%s", e->mlflow_url, api);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) != CURLE_OK ||
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	dbm_buf_free(&url);
	return status;
}

/* The same, the answer parsed into j: 0, or -1 (no server, an error, not
 * JSON). */
int
emu_mlflow_call(struct emu *e, const char *api, const char *body,
    struct dbm_json *j)
{
	struct dbm_buf out = DBM_BUF_INIT;
	int rc = emu_mlflow_send(e, api, body, &out) == 200 && dbm_json_parse(j,
	    dbm_buf_str(&out), out.len, NULL, NULL) == 0 ? 0 : -1;

	dbm_buf_free(&out);
	return rc;
}
