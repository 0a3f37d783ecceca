/*
 * workspace-emu's answers and request accessors: what every API handler
 * uses to read its parameters and reply (JSON errors in the real
 * service's shape, files streamed from disk, the dropped-download fault).
 */
#include <limits.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>


#include "emu.h"

enum MHD_Result
emu_queue(struct req *r, unsigned int status, struct MHD_Response *resp)
{
	enum MHD_Result res;

	r->status = status;
	r->answered = 1;
	/* logged before the answer leaves: a client that has its answer
	 * finds the line there */
	emu_log_request(r);
	if (r->lose) {		/* handled; the answer never leaves */
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "X-Request-Id", "emu");
	/* the workspace's id, on every answer (the SDK's get_workspace_id
	 * reads it from SCIM Me's) */
	MHD_add_response_header(resp, "X-Databricks-Org-Id", EMU_WORKSPACE_ID);
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
emu_reply_redirect(struct req *r, unsigned int status, const char *location)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(0, (void *)"",
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Location", location);
	return emu_queue(r, status, resp);
}

enum MHD_Result
emu_reply_json(struct req *r, unsigned int status, const char *json)
{
	return emu_reply(r, status, "application/json", json, strlen(json));
}

static enum MHD_Result
reply_error(struct req *r, unsigned int status, const char *code,
    const char *reason, const char *fmt, va_list ap)
{
	struct dbm_buf msg = DBM_BUF_INIT, b = DBM_BUF_INIT;
	struct dbm_jw w;
	va_list aq;
	int n;
	enum MHD_Result res;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	dbm_buf_grow(&msg, (size_t)n);
	vsnprintf(msg.data, (size_t)n + 1, fmt, ap);
	msg.len = (size_t)n;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "error_code");
	dbm_jw_str(&w, code);
	dbm_jw_key(&w, "message");
	dbm_jw_str(&w, dbm_buf_str(&msg));
	if (reason) {	/* google.rpc.ErrorInfo, as the SDKs parse it */
		dbm_jw_key(&w, "details");
		dbm_jw_arr(&w);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "@type");
		dbm_jw_str(&w, "type.googleapis.com/google.rpc.ErrorInfo");
		dbm_jw_key(&w, "reason");
		dbm_jw_str(&w, reason);
		dbm_jw_key(&w, "domain");
		dbm_jw_str(&w, "filesystem.databricks.com");
		dbm_jw_key(&w, "metadata");
		dbm_jw_obj(&w);
		dbm_jw_obj_end(&w);
		dbm_jw_obj_end(&w);
		dbm_jw_arr_end(&w);
	}
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, status, dbm_buf_str(&b));
	dbm_buf_free(&b);
	dbm_buf_free(&msg);
	return res;
}

enum MHD_Result
emu_reply_error(struct req *r, unsigned int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;
	enum MHD_Result res;

	va_start(ap, fmt);
	res = reply_error(r, status, code, NULL, fmt, ap);
	va_end(ap);
	return res;
}

enum MHD_Result
emu_reply_error_reason(struct req *r, unsigned int status, const char *code,
    const char *reason, const char *fmt, ...)
{
	va_list ap;
	enum MHD_Result res;

	va_start(ap, fmt);
	res = reply_error(r, status, code, reason, fmt, ap);
	va_end(ap);
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
	int parsed;

	if (r->have_json)
		return 0;
	if (r->too_big) {
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Request body is larger than %lld bytes", emu_body_max(r));
		return -1;
	}
	if (r->body.len == 0) {
		*res = emu_reply_error(r, 400, "MALFORMED_REQUEST",
		    "Request body is missing: expected a JSON object");
		return -1;
	}
	parsed = dbm_json_parse(&r->json, r->body.data, r->body.len, "body",
	    &e) == 0;
	if (!parsed || dbm_json_type(&r->json, 0) != DBM_JSON_OBJECT) {
		if (parsed) {	/* JSON, not an object (a leak the fuzzer found) */
			dbm_json_free(&r->json);
			dbm_err_clear(&e);
		}
		if (e.kind != DBM_E_INPUT)
			snprintf(e.msg, sizeof(e.msg), "%s", "not an object");
		*res = emu_reply_error(r, 400, "MALFORMED_REQUEST",
		    "Invalid JSON given in the body of the request - %s at "
		    "line %ld column %ld", e.msg, e.line, e.col);
		r->have_json = 0;
		return -1;
	}
	r->have_json = 1;
	return 0;
}

int
emu_param_id(struct req *r, const char *name, const char *why, long long *v,
    enum MHD_Result *res)
{
	char *s = emu_param(r, name), *end;

	if (s == NULL || (*v = strtoll(s, &end, 10), *end != '\0')) {
		free(s);
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		return -1;
	}
	free(s);
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
	if (r->mode == BODY_FORM && r->mp)	/* a multipart/form-data field */
		return (q = emu_form_field(r, name)) ? dbm_xstrdup(q) : NULL;
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

int
emu_nospace(const struct req *r, int err)
{
	int e = err ? err : r->store_errno;

	return e == ENOSPC || e == EDQUOT;
}

enum MHD_Result
emu_reply_nospace(struct req *r)
{
	return emu_reply_error(r, 500, "IO_ERROR", "No space left on device: "
	    "the workspace's storage is full; nothing of this request was "
	    "stored");
}

int
emu_home_visible(const struct req *r, const char *canon)
{
	const char *who = r->principal, *home;
	size_t n;

	if (strncmp(canon, "/Users/", 7) != 0 || who == NULL ||
	    strcmp(who, r->emu->user_name) == 0)
		return 1;	/* not a home, or the workspace's admin */
	home = canon + 7;
	n = strcspn(home, "/");
	return n == strlen(who) && strncmp(home, who, n) == 0;
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
	else if (root == ROOT_WORKSPACE && !emu_home_visible(r, *canon)) {
		*res = emu_reply_error(r, 403, "PERMISSION_DENIED", "%s does not "
		    "have permission to access %s: a user's folder is its "
		    "owner's and the admins'", r->principal, *canon);
		free(*canon);
		free(disk);
		disk = NULL;
	}
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

/* The most of a body kept in memory: little on a route without
 * credentials, json_max for JSON, and no bound for MLflow's own (artifact
 * uploads go through it). */
long long
emu_body_max(const struct req *r)
{
	if (r->route->flags & ROUTE_PUBLIC)
		return PUBLIC_BODY_MAX;
	return r->mode == BODY_JSON ? r->emu->json_max : LLONG_MAX;
}
