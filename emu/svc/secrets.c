/*
 * Secrets for workspace-emu (PROTOCOL.md section 16): Databricks-backed
 * secret scopes and their secrets through /api/2.0/secrets/, and the
 * {{secrets/<scope>/<key>}} references that jobs resolve in a cluster's
 * spark_env_vars.
 *
 * A scope is a folder secrets/<hex of its name in lower case>/ (scope
 * names are case-insensitive; .name there keeps it as given), a secret a file
 * <hex of its key> in it, mode 0600 (names may hold '.', so they never
 * become paths themselves), its ACL the file .acls there ("<permission>
 * TAB <principal>" lines). Values are never logged or echoed in errors.
 *
 * Permissions (PROTOCOL.md section 16): READ lists and reads a scope,
 * WRITE also puts and deletes its secrets, MANAGE also changes its ACL
 * and deletes it; the workspace's admin (its own user) has MANAGE on
 * every scope, anyone else what the ACL gives it or the group users.
 */
#include <ctype.h>
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
	for (const char *c = scope; *c; c++)	/* names are case-insensitive */
		dbm_buf_printf(&b, "%02x", (unsigned char)tolower((unsigned char)*c));
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

/* Permission levels, weakest first: 1 READ, 2 WRITE, 3 MANAGE. */
static const char *const perms[] = {"READ", "WRITE", "MANAGE"};
#define MANAGE 3

static int
level_of(const char *p)
{
	size_t i;

	for (i = 0; p && i < sizeof(perms) / sizeof(*perms); i++)
		if (strcmp(p, perms[i]) == 0)
			return (int)i + 1;
	return 0;
}

struct acl {
	char *principal;
	int level;
};

static void
acl_free(struct acl *a, int n)
{
	for (int i = 0; i < n; i++)
		free(a[i].principal);
	free(a);
}

static char *
acl_path(struct emu *e, const char *scope)
{
	char *dir = where(e, scope, NULL);
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s/.acls", dir);
	free(dir);
	return dbm_buf_detach(&b);
}

/* The scope's ACL (*n entries; malloc'd, or NULL when it has none).
 * secrets_mu held. */
static struct acl *
acl_load(struct emu *e, const char *scope, int *n)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct acl *a = NULL;
	char *p = acl_path(e, scope), *line, *save = NULL, *tab;

	*n = 0;
	if (dbm_buf_read_file(&b, p, 1 << 20) == 0 && b.len)
		for (line = strtok_r(b.data, "\n", &save); line;
		    line = strtok_r(NULL, "\n", &save)) {
			if ((tab = strchr(line, '\t')) == NULL)
				continue;
			*tab = '\0';
			a = dbm_xrealloc(a, (size_t)(*n + 1) * sizeof(*a));
			a[*n].level = level_of(line);
			a[*n].principal = dbm_xstrdup(tab + 1);
			(*n)++;
		}
	dbm_buf_free(&b);
	free(p);
	return a;
}

/* Write the ACL in place (a temporary renamed over it): 0, or -1.
 * secrets_mu held. */
static int
acl_save(struct emu *e, const char *scope, const struct acl *a, int n)
{
	struct dbm_buf b = DBM_BUF_INIT, t = DBM_BUF_INIT;
	char *p = acl_path(e, scope);
	int fd, rc = -1;

	for (int i = 0; i < n; i++)
		if (a[i].level > 0)
			dbm_buf_printf(&b, "%s\t%s\n", perms[a[i].level - 1],
			    a[i].principal);
	dbm_buf_printf(&t, "%s.tmp", p);
	if ((fd = open(t.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) >= 0) {
		rc = write(fd, b.data ? b.data : "", b.len) == (ssize_t)b.len &&
		    fsync(fd) == 0 ? 0 : -1;
		if (close(fd) < 0)
			rc = -1;
		if (rc == 0 && rename(t.data, p) < 0)
			rc = -1;
		if (rc < 0)
			unlink(t.data);
	}
	dbm_buf_free(&b);
	dbm_buf_free(&t);
	free(p);
	return rc;
}

/* The workspace's admin: its own user (the PAT's), or a request without
 * a principal. */
static int
admin(const struct req *q)
{
	return q->principal == NULL || strcmp(q->principal,
	    q->emu->user_name) == 0;
}

/* 0 when the caller has at least level need on scope; else -1 with the
 * 403 in *res, in the service's words. */
static int
allowed(struct req *q, const char *scope, int need, enum MHD_Result *res)
{
	struct acl *a;
	int n, i, have = 0;

	if (admin(q))
		return 0;
	pthread_mutex_lock(&secrets_mu);
	a = acl_load(q->emu, scope, &n);
	pthread_mutex_unlock(&secrets_mu);
	for (i = 0; i < n; i++)
		if ((strcmp(a[i].principal, q->principal) == 0 ||
		    strcmp(a[i].principal, "users") == 0) && a[i].level > have)
			have = a[i].level;
	acl_free(a, n);
	if (have >= need)
		return 0;
	*res = emu_reply_error(q, 403, "PERMISSION_DENIED", "%s does not have "
	    "%s permission on scope %s to perform this action.", q->principal,
	    perms[need - 1], scope);
	return -1;
}

/* The scope parameter of a scope the caller has level need on. */
static char *
scope_for(struct req *q, int need, enum MHD_Result *res)
{
	char *s = scope_param(q, res);

	if (s && allowed(q, s, need, res) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* A principal parameter: a user, service principal or group name. */
static char *
principal_param(struct req *q, enum MHD_Result *res)
{
	char *p = emu_param(q, "principal");
	const char *c;

	for (c = p; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			break;
	if (p == NULL || *p == '\0' || *c || strlen(p) > 256) {
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    p ? "Invalid principal" : "Missing required field: "
		    "principal");
		free(p);
		return NULL;
	}
	return p;
}

static void
acl_item(struct dbm_jw *w, const struct acl *a)
{
	dbm_jw_obj(w);
	dbm_jw_key(w, "principal");
	dbm_jw_str(w, a->principal);
	dbm_jw_key(w, "permission");
	dbm_jw_str(w, perms[a->level - 1]);
	dbm_jw_obj_end(w);
}

/* acls/put, acls/delete, acls/get and acls/list (op p, d, g, l). */
static enum MHD_Result
acl_op(struct req *q, int op)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;
	char *s, *who = NULL, *perm = NULL;
	struct acl *a = NULL;
	int n = 0, i, lv = 0;

	if ((s = scope_for(q, MANAGE, &res)) == NULL ||
	    (op != 'l' && (who = principal_param(q, &res)) == NULL))
		goto out;
	if (op == 'p' && (lv = level_of(perm = emu_param(q, "permission"))) ==
	    0) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid permission %.40s: READ, WRITE or MANAGE",
		    perm ? perm : "(none)");
		goto out;
	}
	pthread_mutex_lock(&secrets_mu);
	a = acl_load(q->emu, s, &n);
	for (i = 0; who && i < n && strcmp(a[i].principal, who) != 0; i++)
		;
	dbm_jw_init(&w, &b);
	if (op == 'p') {
		if (i == n) {
			a = dbm_xrealloc(a, (size_t)(n + 1) * sizeof(*a));
			a[n].principal = dbm_xstrdup(who);
			n++;
		}
		a[i].level = lv;	/* created or overwritten */
		res = acl_save(q->emu, s, a, n) < 0 ? emu_reply_error(q, 500,
		    "INTERNAL_ERROR", "cannot store the ACL") :
		    emu_reply_json(q, 200, "{}");
	} else if (op != 'l' && i == n)
		res = emu_reply_error(q, 404, "RESOURCE_DOES_NOT_EXIST", "No ACL "
		    "for principal %s in scope %s.", who, s);
	else if (op == 'd') {
		a[i].level = 0;		/* not written */
		res = acl_save(q->emu, s, a, n) < 0 ? emu_reply_error(q, 500,
		    "INTERNAL_ERROR", "cannot store the ACL") :
		    emu_reply_json(q, 200, "{}");
	} else if (op == 'g') {
		acl_item(&w, &a[i]);
		res = emu_reply_json(q, 200, b.data);
	} else {
		dbm_jw_obj(&w);
		dbm_jw_key(&w, "items");
		dbm_jw_arr(&w);
		for (i = 0; i < n; i++)
			if (a[i].level > 0)
				acl_item(&w, &a[i]);
		dbm_jw_arr_end(&w);
		dbm_jw_obj_end(&w);
		res = emu_reply_json(q, 200, b.data);
	}
	pthread_mutex_unlock(&secrets_mu);
out:
	acl_free(a, n);
	dbm_buf_free(&b);
	free(s);
	free(who);
	free(perm);
	return res;
}

/* The scope's name as it was given, beside its secrets. */
static int
scope_name_save(const char *dir, const char *name)
{
	struct dbm_buf b = DBM_BUF_INIT;
	int fd, rc = -1;

	dbm_buf_printf(&b, "%s/.name", dir);
	if ((fd = open(b.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) >= 0) {
		rc = write(fd, name, strlen(name)) == (ssize_t)strlen(name) ?
		    0 : -1;
		if (close(fd) < 0)
			rc = -1;
	}
	dbm_buf_free(&b);
	return rc;
}

static enum MHD_Result
scope_create(struct req *q)
{
	enum MHD_Result res;
	char *s, *p, *type;
	struct acl first;

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
	/* MANAGE for the group users when asked (the only principal the
	 * option takes), else for the caller */
	first.principal = emu_param(q, "initial_manage_principal");
	first.level = MANAGE;
	if (first.principal && strcmp(first.principal, "users") != 0) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "initial_manage_principal must be users, the only principal "
		    "it takes");
		free(first.principal);
		free(s);
		return res;
	}
	if (first.principal == NULL)
		first.principal = dbm_xstrdup(q->principal ? q->principal :
		    q->emu->user_name);
	p = where(q->emu, s, NULL);
	pthread_mutex_lock(&secrets_mu);
	store_mkparents(p);
	if (mkdir(p, 0700) < 0)
		res = errno == EEXIST ? emu_reply_error(q, 400,
		    "RESOURCE_ALREADY_EXISTS", "Scope %s already exists!", s) :
		    emu_reply_error(q, 500, "INTERNAL_ERROR",
		    "cannot create the scope: %s", strerror(errno));
	else if (acl_save(q->emu, s, &first, 1) < 0 || scope_name_save(p, s) < 0) {
		store_remove_tree(p);
		res = emu_reply_error(q, 500, "INTERNAL_ERROR",
		    "cannot create the scope: %s", strerror(errno));
	} else
		res = emu_reply_json(q, 200, "{}");
	pthread_mutex_unlock(&secrets_mu);
	free(first.principal);
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
		struct dbm_buf f = DBM_BUF_INIT, given = DBM_BUF_INIT;
		char *name = unhex(names[i]);

		dbm_buf_printf(&f, "%s/%s/.name", dir.data, names[i]);
		if (name && dbm_buf_read_file(&given, f.data, 256) == 0 &&
		    given.len) {
			free(name);
			name = dbm_buf_detach(&given);
		}
		dbm_buf_free(&f);
		dbm_buf_free(&given);
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

	if ((s = scope_for(q, MANAGE, &res)) == NULL)
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
	int n = 0, i, k = 0;

	if ((names = store_list(p, &n)) == NULL)
		n = 0;
	for (i = 0; i < n; i++)
		k += names[i][0] != '.';	/* not the ACL */
	store_names_free(names);
	free(p);
	return k;
}

static enum MHD_Result
secret_put(struct req *q)
{
	enum MHD_Result res;
	char *s, *k = NULL, *v = NULL, *p = NULL;
	size_t len = 0;
	struct stat st;

	if ((s = scope_for(q, 2, &res)) == NULL ||
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

	if ((s = scope_for(q, 1, &res)) == NULL)
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

	if ((s = scope_for(q, del ? 2 : 1, &res)) == NULL ||
	    (k = name_param(q, "key", 0, &res)) == NULL)
		goto out;
	if (!del && !admin(q)) {
		/* "can only be called from the DBUtils interface": a job's
		 * code asks with the workspace's token here */
		res = emu_reply_error(q, 400, "BAD_REQUEST", "Secret values "
		    "can only be read from within a command on a cluster "
		    "(dbutils.secrets), not by %s through the API.",
		    q->principal);
		goto out;
	}
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

enum MHD_Result
emu_secrets_acl_put(struct req *q)
{
	return acl_op(q, 'p');
}

enum MHD_Result
emu_secrets_acl_delete(struct req *q)
{
	return acl_op(q, 'd');
}

enum MHD_Result
emu_secrets_acl_get(struct req *q)
{
	return acl_op(q, 'g');
}

enum MHD_Result
emu_secrets_acl_list(struct req *q)
{
	return acl_op(q, 'l');
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
