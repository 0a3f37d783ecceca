/*
 * Secrets for workspace-emu (PROTOCOL.md section 16): Databricks-backed
 * secret scopes and their secrets through /api/2.0/secrets/, and the
 * {{secrets/<scope>/<key>}} references that jobs resolve in a cluster's
 * spark_env_vars.
 *
 * A scope is a folder secrets/<hex of its name>/, a secret a file
 * <hex of its key> in it, mode 0600 (names may hold '.', so they never
 * become paths themselves). Values are never logged or echoed in errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "b64.h"

#define NAME_MAX_LEN	128
#define VALUE_MAX	(128 * 1024)	/* a secret's value: 128 KB */
#define SECRETS_MAX	1000		/* secrets in a scope */

static pthread_mutex_t secrets_mu = PTHREAD_MUTEX_INITIALIZER;

/* A scope name (letters, digits, '-', '_', '.', '@') or a key (the same
 * without '@'), 1 to 128 bytes, as the API reference allows them. */
static int
name_ok(const char *s, int scope)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		    s[i] == '.' || (scope && s[i] == '@')))
			return 0;
	return 1;
}

static void
hex(struct dbm_buf *b, const char *s)
{
	for (; *s; s++)
		dbm_buf_printf(b, "%02x", (unsigned char)*s);
}

static char *
unhex(const char *s)
{
	size_t n = strlen(s), i;
	char *out;

	if (n % 2)
		return NULL;
	out = dbm_xcalloc(1, n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(out);
			return NULL;
		}
		out[i] = (char)v;
	}
	return out;
}

/* secrets/<scope>[/<key>] under the data directory (malloc'd). */
static char *
where(struct emu *e, const char *scope, const char *key)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s/secrets/", e->datadir);
	hex(&b, scope);
	if (key) {
		dbm_buf_addc(&b, '/');
		hex(&b, key);
	}
	return dbm_buf_detach(&b);
}

static int
scope_exists(struct emu *e, const char *scope)
{
	char *p = where(e, scope, NULL);
	struct stat st;
	int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);

	free(p);
	return ok;
}

/* A required name parameter: malloc'd, or NULL with the 400 in *res. */
static char *
name_param(struct req *q, const char *field, int scope, enum MHD_Result *res)
{
	char *v = emu_param(q, field);

	if (v == NULL) {
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Missing required field: %s", field);
		return NULL;
	}
	if (!name_ok(v, scope)) {
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "%s must consist of alphanumeric characters, dashes, "
		    "underscores%s and periods, and may not exceed 128 "
		    "characters.", scope ? "Scope name" : "Secret key",
		    scope ? ", @" : "");
		free(v);
		return NULL;
	}
	return v;
}

/* The scope parameter, which must name a scope; NULL with the answer. */
static char *
scope_param(struct req *q, enum MHD_Result *res)
{
	char *s = emu_param(q, "scope");

	if (s == NULL) {
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Missing required field: scope");
		return NULL;
	}
	if (!name_ok(s, 1) || !scope_exists(q->emu, s)) {
		*res = emu_reply_error(q, 404, "RESOURCE_DOES_NOT_EXIST",
		    "Scope %.128s does not exist!", s);
		free(s);
		return NULL;
	}
	return s;
}

static enum MHD_Result
scope_create(struct req *q)
{
	enum MHD_Result res;
	char *s, *p, *type;

	if ((s = name_param(q, "scope", 1, &res)) == NULL)
		return res;
	type = emu_param(q, "scope_backend_type");
	if (type && strcmp(type, "DATABRICKS") != 0) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Scope backend type %.40s is not supported by workspace-emu "
		    "(DATABRICKS scopes are)", type);
		free(type);
		free(s);
		return res;
	}
	free(type);
	p = where(q->emu, s, NULL);
	pthread_mutex_lock(&secrets_mu);
	store_mkparents(p);
	if (mkdir(p, 0700) < 0) {
		pthread_mutex_unlock(&secrets_mu);
		res = errno == EEXIST ? emu_reply_error(q, 400,
		    "RESOURCE_ALREADY_EXISTS", "Scope %s already exists!", s) :
		    emu_reply_error(q, 500, "INTERNAL_ERROR",
		    "cannot create the scope: %s", strerror(errno));
	} else {
		pthread_mutex_unlock(&secrets_mu);
		res = emu_reply_json(q, 200, "{}");
	}
	free(p);
	free(s);
	return res;
}

static enum MHD_Result
scope_list(struct req *q)
{
	struct dbm_buf b = DBM_BUF_INIT, dir = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	char **names;
	int n, i;

	dbm_buf_printf(&dir, "%s/secrets", q->emu->datadir);
	names = store_list(dir.data, &n);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "scopes");
	dbm_jw_arr(&w);
	for (i = 0; names && i < n; i++) {
		char *name = unhex(names[i]);

		if (name == NULL)
			continue;
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "name");
		dbm_jw_str(&w, name);
		dbm_jw_key(&w, "backend_type");
		dbm_jw_str(&w, "DATABRICKS");
		dbm_jw_obj_end(&w);
		free(name);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	store_names_free(names);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	dbm_buf_free(&dir);
	return res;
}

static enum MHD_Result
scope_delete(struct req *q)
{
	enum MHD_Result res;
	char *s, *p;

	if ((s = scope_param(q, &res)) == NULL)
		return res;
	p = where(q->emu, s, NULL);
	pthread_mutex_lock(&secrets_mu);
	store_remove_tree(p);
	pthread_mutex_unlock(&secrets_mu);
	free(p);
	free(s);
	return emu_reply_json(q, 200, "{}");
}

/* The value of put's string_value or bytes_value (base64): malloc'd
 * with its length, or NULL with the 400 in *res. */
static char *
put_value(struct req *q, size_t *len, enum MHD_Result *res)
{
	char *sv = emu_param(q, "string_value"), *bv = emu_param(q,
	    "bytes_value"), *v = NULL;

	if ((sv == NULL) == (bv == NULL))
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Exactly one of string_value or bytes_value must be "
		    "specified.");
	else if (sv) {
		v = sv;
		*len = strlen(sv);
		sv = NULL;
	} else {
		long long n;

		v = dbm_xcalloc(1, strlen(bv) / 4 * 3 + 4);
		if ((n = dbm_b64_decode(bv, strlen(bv), (unsigned char *)v)) <
		    0) {
			free(v);
			v = NULL;
			*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
			    "bytes_value is not base64");
		} else
			*len = (size_t)n;
	}
	if (v && *len > VALUE_MAX) {
		free(v);
		v = NULL;
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "A secret's value may not exceed 128 KB.");
	}
	free(sv);
	free(bv);
	return v;
}

static int
write_secret(const char *path, const char *v, size_t len)
{
	struct dbm_buf tmp = DBM_BUF_INIT;
	int fd, ok = 0;

	dbm_buf_printf(&tmp, "%s.tmp", path);
	if ((fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
		ok = (size_t)write(fd, v, len) == len;
		ok &= close(fd) == 0;
		ok = ok && rename(tmp.data, path) == 0;
		if (!ok)
			unlink(tmp.data);
	}
	dbm_buf_free(&tmp);
	return ok ? 0 : -1;
}

static int
count_secrets(struct emu *e, const char *scope)
{
	char *p = where(e, scope, NULL), **names;
	int n = 0;

	if ((names = store_list(p, &n)) == NULL)
		n = 0;
	store_names_free(names);
	free(p);
	return n;
}

static enum MHD_Result
secret_put(struct req *q)
{
	enum MHD_Result res;
	char *s, *k = NULL, *v = NULL, *p = NULL;
	size_t len = 0;
	struct stat st;

	if ((s = scope_param(q, &res)) == NULL ||
	    (k = name_param(q, "key", 0, &res)) == NULL ||
	    (v = put_value(q, &len, &res)) == NULL)
		goto out;
	p = where(q->emu, s, k);
	pthread_mutex_lock(&secrets_mu);
	if (stat(p, &st) < 0 && count_secrets(q->emu, s) >= SECRETS_MAX)
		res = emu_reply_error(q, 400, "QUOTA_EXCEEDED", "A scope may "
		    "hold at most %d secrets.", SECRETS_MAX);
	else if (write_secret(p, v, len) < 0)
		res = emu_reply_error(q, 500, "INTERNAL_ERROR",
		    "cannot store the secret");
	else
		res = emu_reply_json(q, 200, "{}");
	pthread_mutex_unlock(&secrets_mu);
out:
	if (v)
		memset(v, 0, len);
	free(v);
	free(p);
	free(k);
	free(s);
	return res;
}

static enum MHD_Result
secret_list(struct req *q)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	char *s, *p, **names;
	int n, i;

	if ((s = scope_param(q, &res)) == NULL)
		return res;
	p = where(q->emu, s, NULL);
	names = store_list(p, &n);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "secrets");
	dbm_jw_arr(&w);
	for (i = 0; names && i < n; i++) {
		struct dbm_buf f = DBM_BUF_INIT;
		char *key = unhex(names[i]);
		struct stat st;

		dbm_buf_printf(&f, "%s/%s", p, names[i]);
		if (key && stat(f.data, &st) == 0) {
			dbm_jw_obj(&w);
			dbm_jw_key(&w, "key");
			dbm_jw_str(&w, key);
			dbm_jw_key(&w, "last_updated_timestamp");
			dbm_jw_int(&w, (long long)st.st_mtime * 1000);
			dbm_jw_obj_end(&w);
		}
		free(key);
		dbm_buf_free(&f);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	store_names_free(names);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	free(p);
	free(s);
	return res;
}

/* secrets/get and secrets/delete: the secret named by scope and key. */
static enum MHD_Result
secret_one(struct req *q, int del)
{
	struct dbm_buf b = DBM_BUF_INIT, v = DBM_BUF_INIT;
	enum MHD_Result res;
	char *s, *k = NULL, *p = NULL;

	if ((s = scope_param(q, &res)) == NULL ||
	    (k = name_param(q, "key", 0, &res)) == NULL)
		goto out;
	p = where(q->emu, s, k);
	pthread_mutex_lock(&secrets_mu);
	if (del ? unlink(p) < 0 : dbm_buf_read_file(&v, p, VALUE_MAX) < 0)
		res = emu_reply_error(q, 404, "RESOURCE_DOES_NOT_EXIST",
		    "Secret %s does not exist in scope %s.", k, s);
	else if (del)
		res = emu_reply_json(q, 200, "{}");
	else {
		char *enc = dbm_b64_encode(v.data ? v.data : "", v.len);
		struct dbm_jw w;

		dbm_jw_init(&w, &b);
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "key");
		dbm_jw_str(&w, k);
		dbm_jw_key(&w, "value");
		dbm_jw_str(&w, enc);
		dbm_jw_obj_end(&w);
		res = emu_reply_json(q, 200, b.data);
		memset(enc, 0, strlen(enc));
		free(enc);
	}
	pthread_mutex_unlock(&secrets_mu);
out:
	if (v.data)
		memset(v.data, 0, v.len);
	if (b.data)
		memset(b.data, 0, b.len);
	dbm_buf_free(&v);
	dbm_buf_free(&b);
	free(p);
	free(k);
	free(s);
	return res;
}

/* The endpoints, one a route (routes.c). */
enum MHD_Result
emu_secrets_scope_create(struct req *q)
{
	return scope_create(q);
}

enum MHD_Result
emu_secrets_scope_list(struct req *q)
{
	return scope_list(q);
}

enum MHD_Result
emu_secrets_scope_delete(struct req *q)
{
	return scope_delete(q);
}

enum MHD_Result
emu_secrets_put(struct req *q)
{
	return secret_put(q);
}

enum MHD_Result
emu_secrets_list(struct req *q)
{
	return secret_list(q);
}

enum MHD_Result
emu_secrets_get(struct req *q)
{
	return secret_one(q, 0);
}

enum MHD_Result
emu_secrets_delete(struct req *q)
{
	return secret_one(q, 1);
}

/* in with each {{secrets/<scope>/<key>}} replaced by the secret's value
 * (malloc'd); NULL with *err (malloc'd, naming the reference, never a
 * value) when one does not resolve. */
char *
emu_secrets_resolve(struct emu *e, const char *in, char **err)
{
	struct dbm_buf out = DBM_BUF_INIT;
	const char *at;

	*err = NULL;
	while ((at = strstr(in, "{{secrets/")) != NULL) {
		const char *end = strstr(at, "}}"), *slash;
		char *scope = NULL, *key = NULL, *p;
		struct dbm_buf v = DBM_BUF_INIT;

		dbm_buf_add(&out, in, (size_t)(at - in));
		slash = end ? memchr(at + 10, '/', (size_t)(end - at - 10)) : NULL;
		if (slash) {
			scope = dbm_xstrndup(at + 10, (size_t)(slash - at - 10));
			key = dbm_xstrndup(slash + 1, (size_t)(end - slash - 1));
		}
		p = scope && name_ok(scope, 1) && name_ok(key, 0) ?
		    where(e, scope, key) : NULL;
		if (p == NULL || dbm_buf_read_file(&v, p, VALUE_MAX) < 0) {
			struct dbm_buf m = DBM_BUF_INIT;

			dbm_buf_printf(&m, "Secret does not exist with scope: "
			    "%.128s and key: %.128s", scope ? scope : "?",
			    key ? key : "?");
			*err = dbm_buf_detach(&m);
		} else
			dbm_buf_add(&out, v.data ? v.data : "", v.len);
		if (v.data)
			memset(v.data, 0, v.len);
		dbm_buf_free(&v);
		free(p);
		free(scope);
		free(key);
		if (*err) {
			if (out.data)
				memset(out.data, 0, out.len);
			dbm_buf_free(&out);
			return NULL;
		}
		in = end + 2;
	}
	dbm_buf_adds(&out, in);
	return dbm_buf_detach(&out);
}
