/*
 * The Files API senders of the upload engine (upload_int.h): Unity Catalog
 * volumes (one all-or-nothing PUT, multipart above the single-PUT limit)
 * and workspace files (import-file, folders made once).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/files.h"
#include "api/workspace.h"
#include "buf.h"
#include "http.h"
#include "json.h"
#include "pool.h"
#include "upload.h"
#include "upload_int.h"

/* HEAD on the Files API: 1 with the size, 0 missing. */
static int
volume_head(struct dbm_http *h, const char *url, long long *size,
    struct dbm_err *e)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};
	int rc;

	dbm_req_init(&r, "HEAD", url);
	r.idempotent = 1;
	rc = dbm_http_do(h, &r, &resp, e);
	*size = resp.content_length;
	dbm_resp_free(&resp);
	if (rc < 0)
		return e->status == 404 ? 0 : -1;
	return 1;
}

/* A Files API multipart upload in progress (PROTOCOL.md section 2). */
struct mpu {
	struct dbm_upload *u;
	struct dbm_upload_file *f;
	int fd;
	long long part;		/* part size */
	size_t nparts;
	char **urls;		/* presigned, one a part */
	char **etags;
	struct dbm_http *hh;	/* one a part worker (no credentials) */
	struct dbm_err err;	/* the first part failure */
	pthread_mutex_t mu;
};

static int
mpu_part(size_t i, int worker, void *arg)
{
	struct mpu *m = arg;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	struct dbm_err e;
	long long off = (long long)i * m->part, len = m->f->size - off;
	int rc = -1;

	if (len > m->part)
		len = m->part;
	dbm_req_init(&r, "PUT", m->urls[i]);
	r.content_type = "application/octet-stream";
	r.body_fd = m->fd;
	r.body_off = (off_t)off;
	r.body_size = (off_t)len;
	r.idempotent = 1;	/* a part again is the same part */
	r.progress = dbm_upload_on_bytes;
	r.progress_arg = &m->u->progress;
	if (dbm_http_send(&m->hh[worker], &r, &resp, 0, &e) == 0 &&
	    resp.etag) {
		m->etags[i] = resp.etag;
		resp.etag = NULL;
		rc = 0;
	} else if (resp.status >= 200 && resp.status < 300) {
		dbm_errf(&e, DBM_E_API, "part %zu: no ETag in the answer", i + 1);
	}
	if (rc < 0) {
		pthread_mutex_lock(&m->mu);
		if (m->err.kind == DBM_E_NONE)
			m->err = e;
		pthread_mutex_unlock(&m->mu);
	}
	dbm_resp_free(&resp);
	return rc;
}

/* POST <file>?action=...&upload_type=multipart&session_token=... */
static int
mpu_action(struct dbm_http *h, const char *head, const char *action,
    const char *token, const char *body, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&url, "%s?action=%s&upload_type=multipart&"
	    "session_token=", head, action);
	dbm_url_encode(&url, token, 0);
	rc = dbm_http_json(h, "POST", url.data, body ? body : "{}",
	    strcmp(action, "complete-upload") != 0, NULL, e);
	dbm_buf_free(&url);
	return rc;
}

/* The presigned part URLs, asked in batches of up to 100. */
static int
mpu_urls(struct dbm_http *h, struct mpu *m, const char *token,
    struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_jw w;
	char when[32];
	time_t t = time(NULL) + 3600;
	struct tm tm;
	size_t at = 0, k;
	int arr, n, rc = 0;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	while (at < m->nparts && rc == 0) {
		size_t count = m->nparts - at < 100 ? m->nparts - at : 100;

		dbm_buf_reset(&body);
		dbm_jw_init(&w, &body);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "path");
		dbm_jw_str(&w, m->f->remote);
		dbm_jw_key(&w, "session_token");
		dbm_jw_str(&w, token);
		dbm_jw_key(&w, "start_part_number");
		dbm_jw_int(&w, (long long)at + 1);
		dbm_jw_key(&w, "count");
		dbm_jw_int(&w, (long long)count);
		dbm_jw_key(&w, "expire_time");
		dbm_jw_str(&w, when);
		dbm_jw_obj_end(&w);
		if ((rc = dbm_api_files_part_urls(h, body.data, &j, e)) < 0)
			break;
		arr = dbm_json_member(&j, 0, "upload_part_urls");
		n = dbm_json_count(&j, arr);
		for (k = 0; k < (size_t)n; k++) {
			int o = dbm_json_elem(&j, arr, (int)k);
			long long num = 0;

			dbm_json_int(&j, dbm_json_member(&j, o, "part_number"),
			    &num);
			if (num >= 1 && (size_t)num <= m->nparts &&
			    m->urls[num - 1] == NULL)
				m->urls[num - 1] = dbm_json_strdup(&j,
				    dbm_json_member(&j, o, "url"));
		}
		dbm_json_free(&j);
		for (k = at; k < at + count; k++)
			if (m->urls[k] == NULL)
				rc = dbm_errf(e, DBM_E_API, "create-upload-part-urls: "
				    "no URL for part %zu", k + 1);
		at += count;
	}
	dbm_buf_free(&body);
	return rc;
}

/* Above the single-PUT limit: initiate, the parts in parallel from the
 * open file, complete; abort on any failure. */
static int
volume_multipart(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, const char *head, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT, body = DBM_BUF_INIT;
	struct dbm_jw w;
	struct dbm_json j;
	struct mpu m;
	char *token = NULL;
	size_t i;
	int workers, rc = -1;

	memset(&m, 0, sizeof(m));
	m.u = u;
	m.f = f;
	m.fd = fd;
	m.part = u->o.part_size;
	while ((f->size + m.part - 1) / m.part > 10000)	/* the part limit */
		m.part *= 2;
	m.nparts = (size_t)((f->size + m.part - 1) / m.part);
	pthread_mutex_init(&m.mu, NULL);
	dbm_buf_printf(&url, "%s?action=initiate-upload&overwrite=%s", head,
	    u->o.overwrite || u->o.content_addressed ? "true" : "false");
	if (dbm_http_json(h, "POST", url.data, "{}", 1, &j, e) < 0) {
		if (e->status == 409)
			dbm_upload_exists(u, f, e);
		goto out;
	}
	token = dbm_json_get_str(&j, "multipart_upload.session_token");
	dbm_json_free(&j);
	if (token == NULL) {
		dbm_errf(e, DBM_E_API, "initiate-upload: no session_token");
		goto out;
	}
	m.urls = dbm_xcalloc(m.nparts, sizeof(*m.urls));
	m.etags = dbm_xcalloc(m.nparts, sizeof(*m.etags));
	if (mpu_urls(h, &m, token, e) < 0)
		goto abort;
	workers = m.nparts < 4 ? (int)m.nparts : 4;
	m.hh = dbm_xcalloc((size_t)workers, sizeof(*m.hh));
	for (i = 0; i < (size_t)workers; i++)
		if (dbm_http_init(&m.hh[i], NULL, u->tool, e) < 0)
			goto abort;
		else
			m.hh[i].verbose = u->o.verbose;
	if (dbm_pool_run(workers, m.nparts, mpu_part, &m) != 0) {
		*e = m.err;
		goto abort;
	}
	dbm_jw_init(&w, &body);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "parts");
	dbm_jw_arr(&w);
	for (i = 0; i < m.nparts; i++) {
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "part_number");
		dbm_jw_int(&w, (long long)i + 1);
		dbm_jw_key(&w, "etag");
		dbm_jw_str(&w, m.etags[i]);
		dbm_jw_obj_end(&w);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	if (mpu_action(h, head, "complete-upload", token, body.data, e) == 0) {
		rc = 0;
		goto out;
	}
	if (e->kind == DBM_E_NET || e->status == 404) {
		/* complete is not repeated: after a lost answer, the file
		 * tells whether it happened */
		long long size;
		struct dbm_err e2;

		if (volume_head(h, head, &size, &e2) == 1 && size == f->size) {
			rc = 0;
			goto out;
		}
	}
abort:
	{
		struct dbm_err e2;	/* best effort: the failure is e's */

		mpu_action(h, head, "abort-upload", token, NULL, &e2);
	}
out:
	for (i = 0; m.urls && i < m.nparts; i++) {
		free(m.urls[i]);
		free(m.etags[i]);
	}
	free(m.urls);
	free(m.etags);
	for (i = 0; m.hh && i < (size_t)(m.nparts < 4 ? m.nparts : 4); i++)
		dbm_http_free(&m.hh[i]);
	free(m.hh);
	pthread_mutex_destroy(&m.mu);
	free(token);
	dbm_buf_free(&url);
	dbm_buf_free(&body);
	return rc;
}

static int
send_volume(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT, head = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	long long size;
	int rc = -1, st = 0;

	dbm_api_files_url(&head, f->remote);
	dbm_buf_printf(&url, "%s?overwrite=%s", head.data,
	    u->o.overwrite || u->o.content_addressed ? "true" : "false");
	if (u->o.content_addressed && (st = dbm_upload_ca_state(u, f)) == 2) {
		f->skipped = 1;
		rc = 0;
		goto out;
	}
	if (u->o.content_addressed && st == 0) {
		st = volume_head(h, head.data, &size, e);
		if (st < 0)
			goto out;
		if (st == 1 && size == f->size) {
			f->skipped = 1;
			rc = 0;
			goto out;
		}
	}
	if (f->size > u->o.files_put_max) {
		rc = volume_multipart(u, h, f, fd, head.data, e);
		goto out;
	}
	dbm_req_init(&r, "PUT", url.data);
	r.content_type = "application/octet-stream";
	r.body_fd = fd;
	r.body_size = f->size;
	r.idempotent = 1;	/* the same bytes to the same path */
	r.progress = dbm_upload_on_bytes;
	r.progress_arg = &u->progress;
	if (dbm_http_do(h, &r, &resp, e) == 0) {
		rc = 0;
	} else if (e->status == 413) {
		/* the server's single-PUT limit is lower than ours */
		rc = volume_multipart(u, h, f, fd, head.data, e);
	} else if (e->status == 409) {
		/* after a retry, it may be our own first attempt that is there */
		if (resp.attempts > 1 && volume_head(h, head.data, &size, e) == 1 &&
		    size == f->size)
			rc = 0;
		else
			dbm_upload_exists(u, f, e);
	}
out:
	dbm_resp_free(&resp);
	dbm_buf_free(&url);
	dbm_buf_free(&head);
	return rc;
}

/* Workspace paths in the API have no /Workspace prefix. */
const char *
dbm_upload_ws_path(const char *p)
{
	return strncmp(p, "/Workspace/", 11) == 0 ? p + 10 : p;
}

static int
ws_mkdirs(struct dbm_upload *u, struct dbm_http *h, const char *dir,
    struct dbm_err *e)
{
	struct priv *pv = u->priv;
	int i, rc;

	pthread_mutex_lock(&pv->mu);
	for (i = 0; i < pv->ndirs; i++) {
		if (strcmp(pv->dirs[i], dir) == 0) {
			pthread_mutex_unlock(&pv->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&pv->mu);
	rc = dbm_api_workspace_mkdirs(h, dbm_upload_ws_path(dir), e);
	if (rc == 0) {
		pthread_mutex_lock(&pv->mu);
		pv->dirs = dbm_xrealloc(pv->dirs, (size_t)(pv->ndirs + 1) *
		    sizeof(*pv->dirs));
		pv->dirs[pv->ndirs++] = dbm_xstrdup(dir);
		pthread_mutex_unlock(&pv->mu);
	}
	return rc;
}

/* Workspace get-status: 1 with the file's size, 0 missing, -1 error. */
static int
ws_size(struct dbm_http *h, const char *path, long long *size,
    struct dbm_err *e)
{
	struct dbm_json j;
	int rc;

	rc = dbm_api_workspace_status(h, dbm_upload_ws_path(path), &j, e);
	if (rc < 0)
		return e->status == 404 ? 0 : -1;
	*size = -1;
	dbm_json_get_int(&j, "size", size);
	dbm_json_free(&j);
	return 1;
}

static int
send_workspace(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	struct dbm_err e2;
	char *dir = dbm_xstrdup(f->remote);
	long long size;
	int rc = -1, st = 0;

	*strrchr(dir, '/') = '\0';
	if (u->o.content_addressed && dbm_upload_ca_state(u, f) == 2) {
		f->skipped = 1;
		rc = 0;
		goto out;
	}
	if (u->o.content_addressed && dbm_upload_ca_state(u, f) == 0) {
		if ((st = ws_size(h, f->remote, &size, e)) < 0)
			goto out;
		if (st == 1 && size == f->size) {
			f->skipped = 1;
			rc = 0;
			goto out;
		}
	}
	if (*dir && ws_mkdirs(u, h, dir, e) < 0)
		goto out;
	dbm_api_workspace_import_url(&url, dbm_upload_ws_path(f->remote),
	    u->o.overwrite || u->o.content_addressed);
	dbm_req_init(&r, "POST", url.data);
	r.content_type = "application/octet-stream";
	r.body_fd = fd;
	r.body_size = f->size;
	/* repeated after a lost answer, a 409 may be our own first attempt:
	 * the size tells (as for volumes) */
	r.idempotent = 1;
	r.progress = dbm_upload_on_bytes;
	r.progress_arg = &u->progress;
	if (dbm_http_do(h, &r, &resp, e) == 0)
		rc = 0;
	else if (e->status == 409 && resp.attempts > 1 &&
	    ws_size(h, f->remote, &size, &e2) == 1 && size == f->size)
		rc = 0;
	else if (e->status == 409)
		dbm_upload_exists(u, f, e);
out:
	dbm_resp_free(&resp);
	dbm_buf_free(&url);
	free(dir);
	return rc;
}

const struct dbm_upload_ops dbm_upload_volume_ops = {
	.send = send_volume,
	.list = dbm_api_files_list,
	.remove = dbm_api_files_delete,
	.entries = "contents",
	.is_dir = "is_directory",
	.next_page = "next_page_token",
	.mtime = "last_modified",
	.rmdir = dbm_api_files_rmdir,
};

static int
list_workspace(struct dbm_http *h, const char *path, const char *page_token,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_api_workspace_list(h, dbm_upload_ws_path(path), out, e);
}

static int
remove_workspace(struct dbm_http *h, const char *path, struct dbm_err *e)
{
	return dbm_api_workspace_delete(h, dbm_upload_ws_path(path), 0, e);
}

static int
rmtree_workspace(struct dbm_http *h, const char *path, struct dbm_err *e)
{
	return dbm_api_workspace_delete(h, dbm_upload_ws_path(path), 1, e);
}

const struct dbm_upload_ops dbm_upload_workspace_ops = {
	.send = send_workspace,
	.list = list_workspace,
	.remove = remove_workspace,
	.entries = "objects",
	.mtime = "modified_at",
	.rmtree = rmtree_workspace,
};
