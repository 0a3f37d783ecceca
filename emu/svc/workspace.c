/*
 * Workspace API (mkdirs, get-status, list, delete, import, export) and the
 * raw workspace-files/import-file upload (PROTOCOL.md section 3). Objects
 * live under workspace/ in the data directory; which ones are notebooks
 * (and their language) is kept beside them under wsmeta/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"

static char *
meta_path(struct emu *e, const char *canon)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s/wsmeta%s", e->datadir, canon);
	return dbm_buf_detach(&b);
}

/* The notebook language of canon, or NULL for a plain file. */
static char *
notebook_language(struct emu *e, const char *canon)
{
	char *m = meta_path(e, canon), buf[32];
	int fd = open(m, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	free(m);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return dbm_xstrdup(buf);
}

static void
set_notebook(struct emu *e, const char *canon, const char *lang)
{
	char *m = meta_path(e, canon);
	int fd;

	if (lang == NULL) {
		unlink(m);
	} else if (store_mkparents(m) == 0 &&
	    (fd = open(m, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
		if (write(fd, lang, strlen(lang)) < 0)
			unlink(m);
		close(fd);
	}
	free(m);
}

static void
object_info(struct req *r, struct dbm_jw *w, const char *canon,
    const struct stat *st)
{
	char *lang = S_ISDIR(st->st_mode) ? NULL :
	    notebook_language(r->emu, canon);
	long long ms = (long long)st->st_mtim.tv_sec * 1000 +
	    st->st_mtim.tv_nsec / 1000000;

	dbm_jw_obj(w);
	dbm_jw_key(w, "object_type");
	dbm_jw_str(w, S_ISDIR(st->st_mode) ? "DIRECTORY" : lang ? "NOTEBOOK" :
	    "FILE");
	dbm_jw_key(w, "path");
	dbm_jw_str(w, canon);
	dbm_jw_key(w, "object_id");
	dbm_jw_int(w, (long long)st->st_ino);
	if (lang) {
		dbm_jw_key(w, "language");
		dbm_jw_str(w, lang);
	}
	if (!S_ISDIR(st->st_mode)) {
		dbm_jw_key(w, "size");
		dbm_jw_int(w, (long long)st->st_size);
	}
	dbm_jw_key(w, "created_at");
	dbm_jw_int(w, ms);
	dbm_jw_key(w, "modified_at");
	dbm_jw_int(w, ms);
	dbm_jw_obj_end(w);
	free(lang);
}

static enum MHD_Result
missing(struct req *r, const char *canon)
{
	return emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
	    "Path (%s) doesn't exist.", canon);
}

static enum MHD_Result
json_done(struct req *r, struct dbm_buf *b)
{
	enum MHD_Result res = emu_reply_json(r, 200, dbm_buf_str(b));

	dbm_buf_free(b);
	return res;
}

static enum MHD_Result
op_mkdirs(struct req *r, char *disk, const char *canon)
{
	if (store_mkdirs(disk) < 0)
		return errno == ENOTDIR ? emu_reply_error(r, 400,
		    "RESOURCE_ALREADY_EXISTS", "Path (%s) already exists.",
		    canon) : emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	return emu_reply_json(r, 200, "{}");
}

static enum MHD_Result
op_status(struct req *r, char *disk, const char *canon)
{
	struct stat st;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;

	dbm_jw_init(&w, &b);
	if (stat(disk, &st) < 0) {
		if (emu_experiment_status(r->emu, canon, &w) == 1)
			return json_done(r, &b);
		dbm_buf_free(&b);
		return missing(r, canon);
	}
	object_info(r, &w, canon, &st);
	return json_done(r, &b);
}

static enum MHD_Result
op_list(struct req *r, char *disk, const char *canon)
{
	struct stat st;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	char **names;
	int n, i;

	if (stat(disk, &st) < 0)
		return missing(r, canon);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	if (!S_ISDIR(st.st_mode)) {
		dbm_jw_key(&w, "objects");
		dbm_jw_arr(&w);
		object_info(r, &w, canon, &st);
		dbm_jw_arr_end(&w);
	} else if ((names = store_list(disk, &n)) != NULL) {
		struct dbm_buf x = DBM_BUF_INIT;
		struct dbm_jw xw;
		int nx;

		/* the folder's experiments, kept by the MLflow server */
		dbm_jw_init(&xw, &x);
		dbm_jw_arr(&xw);
		nx = emu_experiments_in(r->emu, canon, &xw);
		if (n > 0 || nx > 0) {
			dbm_jw_key(&w, "objects");
			dbm_jw_arr(&w);
		}
		if (nx > 0)	/* the elements, without their brackets */
			dbm_jw_raw(&w, x.data + 1, x.len - 1);
		dbm_buf_free(&x);
		for (i = 0; i < n; i++) {
			struct dbm_buf p = DBM_BUF_INIT, c = DBM_BUF_INIT;

			dbm_buf_printf(&p, "%s/%s", disk, names[i]);
			dbm_buf_printf(&c, "%s/%s", strcmp(canon, "/") ? canon :
			    "", names[i]);
			if (stat(p.data, &st) == 0)
				object_info(r, &w, c.data, &st);
			dbm_buf_free(&p);
			dbm_buf_free(&c);
		}
		if (n > 0 || nx > 0)
			dbm_jw_arr_end(&w);
		store_names_free(names);
	}
	dbm_jw_obj_end(&w);
	return json_done(r, &b);
}

static enum MHD_Result
op_delete(struct req *r, char *disk, const char *canon)
{
	struct stat st;
	char **names;
	int n;

	if (strcmp(canon, "/") == 0)
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Cannot delete the workspace root");
	if (stat(disk, &st) < 0)
		return missing(r, canon);
	if (S_ISDIR(st.st_mode) && !emu_param_bool(r, "recursive", 0)) {
		names = store_list(disk, &n);
		store_names_free(names);
		if (n > 0)
			return emu_reply_error(r, 400, "DIRECTORY_NOT_EMPTY",
			    "Folder (%s) is not empty.", canon);
	}
	if (store_remove_tree(disk) < 0)
		return emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		char *m = meta_path(r->emu, canon);

		store_remove_tree(m);
		free(m);
	} else {
		set_notebook(r->emu, canon, NULL);
	}
	return emu_reply_json(r, 200, "{}");
}

/* Check the parent folder exists and the object may be (over)written. */
static int
writable(struct req *r, const char *disk, const char *canon, int overwrite,
    enum MHD_Result *res, unsigned int conflict_status)
{
	char *parent = dbm_xstrdup(disk), *s = strrchr(parent, '/');
	char *pc = dbm_xstrdup(canon), *ps = strrchr(pc, '/');
	struct stat st;
	int ok = 1;

	*s = '\0';
	if (ps == pc)
		ps[1] = '\0';
	else
		*ps = '\0';
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*res = emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
		    "The parent folder (%s) does not exist.", pc);
		ok = 0;
	} else if (stat(disk, &st) == 0 && (S_ISDIR(st.st_mode) ||
	    !overwrite)) {
		*res = emu_reply_error(r, conflict_status,
		    "RESOURCE_ALREADY_EXISTS", "Path (%s) already exists.",
		    canon);
		ok = 0;
	}
	free(parent);
	free(pc);
	return ok ? 0 : -1;
}

static int
is_notebook_source(const unsigned char *p, long long n)
{
	static const char *const heads[] = {
		"# Databricks notebook source", "-- Databricks notebook source",
		"// Databricks notebook source",
	};
	size_t i, l;

	for (i = 0; i < sizeof(heads) / sizeof(*heads); i++) {
		l = strlen(heads[i]);
		if ((size_t)n >= l && memcmp(p, heads[i], l) == 0)
			return 1;
	}
	return 0;
}

static enum MHD_Result
op_import(struct req *r, char *disk, const char *canon)
{
	enum MHD_Result res;
	char *format = emu_param(r, "format"), *lang = emu_param(r, "language");
	char *tmp = NULL;
	const char *c, *nb = NULL;
	unsigned char *data = NULL;
	long long len = 0;
	size_t n;
	int t, overwrite = emu_param_bool(r, "overwrite", 0);

	if (format == NULL)
		format = dbm_xstrdup("SOURCE");
	if (writable(r, disk, canon, overwrite, &res, 400) < 0)
		goto out;
	t = dbm_json_member(&r->json, 0, "content");
	if (t >= 0) {
		c = dbm_json_raw(&r->json, t, &n);
		data = dbm_xmalloc(n + 1);
		if ((len = dbm_b64_decode(c, n, data)) < 0) {
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "content is not valid base64");
			goto out;
		}
	}
	if (strcasecmp(format, "SOURCE") == 0) {
		if (lang == NULL) {
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "The language is required for the SOURCE format");
			goto out;
		}
		nb = lang;
	} else if (strcasecmp(format, "AUTO") == 0) {
		if (data && is_notebook_source(data, len))
			nb = lang ? lang : "PYTHON";
	} else if (strcasecmp(format, "JUPYTER") == 0 ||
	    strcasecmp(format, "HTML") == 0 || strcasecmp(format, "DBC") == 0) {
		nb = lang ? lang : "PYTHON";
	} else if (strcasecmp(format, "RAW") != 0) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Unknown format %s", format);
		goto out;
	}
	if (store_write_tmp(r->emu, data, (size_t)len, &tmp) < 0) {
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
		goto out;
	}
	if (store_commit(tmp, disk, overwrite) < 0) {
		res = emu_reply_error(r, 400, "RESOURCE_ALREADY_EXISTS",
		    "Path (%s) already exists.", canon);
		goto out;
	}
	set_notebook(r->emu, canon, nb);
	res = emu_reply_json(r, 200, "{}");
out:
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(data);
	free(format);
	free(lang);
	return res;
}

static enum MHD_Result
op_export(struct req *r, char *disk, const char *canon)
{
	struct stat st;
	struct dbm_buf b = DBM_BUF_INIT;
	unsigned char *data;
	char *b64;
	int fd;

	if (stat(disk, &st) < 0)
		return missing(r, canon);
	if (S_ISDIR(st.st_mode))
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "%s is a folder; export it as DBC", canon);
	if (st.st_size > 10 * 1024 * 1024)
		return emu_reply_error(r, 400, "MAX_NOTEBOOK_SIZE_EXCEEDED",
		    "%s is larger than 10 MB", canon);
	if ((fd = open(disk, O_RDONLY | O_CLOEXEC)) < 0)
		return missing(r, canon);
	data = dbm_xmalloc((size_t)st.st_size + 1);
	if (read(fd, data, (size_t)st.st_size) != (ssize_t)st.st_size) {
		close(fd);
		free(data);
		return emu_reply_error(r, 500, "INTERNAL_ERROR", "short read");
	}
	close(fd);
	b64 = dbm_b64_encode(data, (size_t)st.st_size);
	dbm_buf_printf(&b, "{\"content\":\"%s\",\"file_type\":\"\"}", b64);
	free(b64);
	free(data);
	return json_done(r, &b);
}

/* POST /api/2.0/workspace-files/import-file/{path}: the raw body. */
static enum MHD_Result
import_file(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = emu_map(r, ROOT_WORKSPACE, r->rest, &canon, &res);
	int overwrite = emu_param_bool(r, "overwrite", 0);

	if (disk == NULL)
		return res;
	if (writable(r, disk, canon, overwrite, &res, 409) == 0) {
		if (store_commit(r->tmp, disk, overwrite) < 0)
			res = emu_reply_error(r, 409, "RESOURCE_ALREADY_EXISTS",
			    "Path (%s) already exists.", canon);
		else {
			set_notebook(r->emu, canon, NULL);
			res = emu_reply_json(r, 200, "{}");
		}
	}
	free(disk);
	free(canon);
	return res;
}

/* The endpoints, one a route (routes.c): each maps its path parameter. */
static enum MHD_Result
with_path(struct req *r, enum MHD_Result (*fn)(struct req *, char *,
    const char *))
{
	enum MHD_Result res;
	char *disk, *canon;

	if ((disk = emu_path_param(r, ROOT_WORKSPACE, "path", &canon,
	    &res)) == NULL)
		return res;
	res = fn(r, disk, canon);
	free(disk);
	free(canon);
	return res;
}

enum MHD_Result
emu_workspace_mkdirs(struct req *r)
{
	return with_path(r, op_mkdirs);
}

enum MHD_Result
emu_workspace_status(struct req *r)
{
	return with_path(r, op_status);
}

enum MHD_Result
emu_workspace_list(struct req *r)
{
	return with_path(r, op_list);
}

enum MHD_Result
emu_workspace_delete(struct req *r)
{
	return with_path(r, op_delete);
}

enum MHD_Result
emu_workspace_import(struct req *r)
{
	return with_path(r, op_import);
}

enum MHD_Result
emu_workspace_export(struct req *r)
{
	return with_path(r, op_export);
}

enum MHD_Result
emu_workspace_import_file(struct req *r)
{
	return import_file(r);
}
