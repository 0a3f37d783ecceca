/*
 * Workspace API (mkdirs, get-status, list, delete, import, export) and the
 * raw workspace-files/import-file upload (PROTOCOL.md section 3). Objects
 * live under workspace/ in the data directory; which ones are notebooks
 * (and their language) is kept beside them under wsmeta/. A notebook is
 * kept without its SOURCE header, which export puts back; imports come as
 * JSON (base64 content) or as a multipart form (the SDK's upload); a
 * folder exports as a zip archive (workspace_meta.c), or a DBC one
 * (workspace_dbc.c).
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
#include "workspace_int.h"

static void
object_info(struct req *r, struct dbm_jw *w, const char *canon,
    const struct stat *st)
{
	char *lang = S_ISDIR(st->st_mode) ? NULL :
	    ws_notebook_language(r->emu, canon);
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
			if (emu_home_visible(r, c.data) && stat(p.data, &st) == 0)
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
		char *m = ws_meta_path(r->emu, canon);

		store_remove_tree(m);
		free(m);
	} else {
		ws_set_notebook(r->emu, canon, NULL);
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


/* The notebook languages: the header of their SOURCE form, their file
 * extension. */
static const struct {
	const char *lang, *head, *ext;
} LANGS[] = {
	{"PYTHON", "# Databricks notebook source", "py"},
	{"SQL", "-- Databricks notebook source", "sql"},
	{"SCALA", "// Databricks notebook source", "scala"},
	{"R", "# Databricks notebook source", "r"},
};
#define NLANGS (sizeof(LANGS) / sizeof(*LANGS))

/* The language whose SOURCE header begins p (R's is Python's: the
 * extension, r or R, tells them apart), or -1. */
static int
source_header(const char *p, size_t n, const char *canon)
{
	const char *dot = strrchr(canon, '.');
	size_t i, l;

	for (i = 0; i < NLANGS; i++) {
		l = strlen(LANGS[i].head);
		if (n >= l && memcmp(p, LANGS[i].head, l) == 0 &&
		    (l == n || p[l] == '\n' || p[l] == '\r'))
			return i == 0 && dot && strcasecmp(dot + 1, "r") == 0 ?
			    3 : (int)i;
	}
	return -1;
}

static int
lang_index(const char *lang)
{
	size_t i;

	for (i = 0; lang && i < NLANGS; i++)
		if (strcasecmp(LANGS[i].lang, lang) == 0)
			return (int)i;
	return -1;
}

/* The import's content in b: the file part of a multipart form, or the
 * base64 content of a JSON body. -1 with the 400 in *res. */
static int
import_content(struct req *r, struct dbm_buf *b, enum MHD_Result *res)
{
	if (r->mode == BODY_FORM) {
		if (emu_form_size(r) > NOTEBOOK_MAX || !emu_form_ok(r)) {
			*res = emu_form_size(r) > NOTEBOOK_MAX ?
			    emu_reply_error(r, 400, "MAX_NOTEBOOK_SIZE_EXCEEDED",
			    "The content is larger than 10 MB") :
			    emu_reply_error(r, 400, "MALFORMED_REQUEST",
			    "Invalid multipart/form-data body");
			return -1;
		}
		if (emu_form_file(r) < 0 || dbm_buf_read_file(b, r->tmp,
		    NOTEBOOK_MAX) < 0) {
			*res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	if (emu_need_json(r, res) < 0)
		return -1;
	{
		int t = dbm_json_member(&r->json, 0, "content");
		size_t n;
		const char *c;
		long long len;

		if (t < 0)
			return 0;
		c = dbm_json_raw(&r->json, t, &n);
		dbm_buf_grow(b, n + 1);
		if ((len = dbm_b64_decode(c, n, (unsigned char *)b->data)) < 0) {
			*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "content is not valid base64");
			return -1;
		}
		b->len = (size_t)len;
		if (b->len > NOTEBOOK_MAX) {
			*res = emu_reply_error(r, 400, "MAX_NOTEBOOK_SIZE_EXCEEDED",
			    "The content is larger than 10 MB");
			return -1;
		}
	}
	return 0;
}

/* What an import makes of the content: a notebook of language *nb (-1: a
 * file), and whether the path loses its extension (AUTO). 0, or -1 with
 * the 400's message in *why. */
static int
import_kind(const char *format, const char *lang, const struct dbm_buf *c,
    const char *canon, int *nb, int *strip, const char **why)
{
	const char *dot = strrchr(canon, '.');

	*nb = -1;
	*strip = 0;
	if (strcasecmp(format, "SOURCE") == 0) {
		if ((*nb = lang_index(lang)) < 0)
			*why = lang ? "Unknown language" : "The language is "
			    "required for the SOURCE format";
		return *nb < 0 ? -1 : 0;
	}
	if (strcasecmp(format, "AUTO") == 0) {
		if (dot && strcasecmp(dot, ".ipynb") == 0)
			*nb = 0;
		else
			*nb = source_header(c->data ? c->data : "", c->len, canon);
		*strip = *nb >= 0 && dot && strchr(dot, '/') == NULL;
		return 0;
	}
	if (strcasecmp(format, "JUPYTER") == 0 || strcasecmp(format, "HTML") ==
	    0 || strcasecmp(format, "DBC") == 0 || strcasecmp(format,
	    "R_MARKDOWN") == 0) {
		*nb = lang ? lang_index(lang) : 0;
		if (*nb < 0)
			*why = "Unknown language";
		return *nb < 0 ? -1 : 0;
	}
	if (strcasecmp(format, "RAW") == 0)
		return 0;
	*why = "Unknown format: AUTO, SOURCE, HTML, JUPYTER, DBC, R_MARKDOWN "
	    "or RAW";
	return -1;
}

static enum MHD_Result
op_import(struct req *r, char *disk, const char *canon)
{
	enum MHD_Result res;
	char *format = emu_param(r, "format"), *lang = emu_param(r, "language");
	char *tmp = NULL, *path2 = NULL, *disk2 = NULL, *canon2 = NULL;
	struct dbm_buf c = DBM_BUF_INIT;
	const char *why = NULL, *body;
	size_t blen;
	int overwrite = emu_param_bool(r, "overwrite", 0), nb, strip;

	if (import_content(r, &c, &res) < 0)
		goto out;
	if (format && strcasecmp(format, "DBC") == 0) {
		res = ws_dbc_import(r, canon, &c, overwrite);
		goto out;
	}
	if (import_kind(format ? format : "SOURCE", lang, &c, canon, &nb,
	    &strip, &why) < 0) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		goto out;
	}
	if (strip) {	/* AUTO: the notebook goes where the name says */
		path2 = dbm_xstrndup(canon, (size_t)(strrchr(canon, '.') - canon));
		if ((disk2 = emu_map(r, ROOT_WORKSPACE, path2, &canon2, &res)) ==
		    NULL)
			goto out;
		disk = disk2;
		canon = canon2;
	}
	if (writable(r, disk, canon, overwrite, &res, 400) < 0)
		goto out;
	/* a notebook keeps its cells; export puts the header back */
	body = c.data ? c.data : "";
	blen = c.len;
	if (nb >= 0 && source_header(body, blen, canon) >= 0) {
		const char *nl = memchr(body, '\n', blen);

		blen = nl ? blen - (size_t)(nl + 1 - body) : 0;
		body = nl ? nl + 1 : body;
	}
	if (store_write_tmp(r->emu, body, blen, &tmp) < 0) {
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
		goto out;
	}
	if (store_commit(tmp, disk, overwrite) < 0) {
		res = emu_reply_error(r, 400, "RESOURCE_ALREADY_EXISTS",
		    "Path (%s) already exists.", canon);
		goto out;
	}
	ws_set_notebook(r->emu, canon, nb >= 0 ? LANGS[nb].lang : NULL);
	res = emu_reply_json(r, 200, "{}");
out:
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	dbm_buf_free(&c);
	free(path2);
	free(disk2);
	free(canon2);
	free(format);
	free(lang);
	return res;
}

/* An object as its export has it: a notebook's SOURCE with its header
 * (*ext its extension), a file's bytes. -1 with the answer in *res. */
static int
export_object(struct req *r, const char *disk, const char *canon,
    const char *format, struct dbm_buf *out, const char **ext,
    enum MHD_Result *res)
{
	char *lang = ws_notebook_language(r->emu, canon);
	int li = lang_index(lang);

	free(lang);
	*ext = "";
	if (dbm_buf_read_file(out, disk, NOTEBOOK_MAX) < 0) {
		*res = errno == EFBIG ? emu_reply_error(r, 400,
		    "MAX_NOTEBOOK_SIZE_EXCEEDED", "%s is larger than 10 MB",
		    canon) : missing(r, canon);
		return -1;
	}
	if (li < 0)
		return 0;	/* a file: its bytes, in any format */
	if (strcasecmp(format, "SOURCE") != 0 && strcasecmp(format, "AUTO") !=
	    0) {
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "workspace-emu exports notebooks in the SOURCE and AUTO "
		    "formats only, not %s", format);
		return -1;
	}
	{
		struct dbm_buf h = DBM_BUF_INIT;

		dbm_buf_printf(&h, "%s\n", LANGS[li].head);
		dbm_buf_add(&h, out->data ? out->data : "", out->len);
		dbm_buf_free(out);
		*out = h;
	}
	*ext = LANGS[li].ext;
	return 0;
}

static enum MHD_Result
export_answer(struct req *r, struct dbm_buf *data, const char *ext)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	char *b64;
	enum MHD_Result res;

	if (emu_param_bool(r, "direct_download", 0))
		return emu_reply(r, 200, "application/octet-stream",
		    data->data ? data->data : "", data->len);
	b64 = dbm_b64_encode(data->data ? data->data : "", data->len);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "content");
	dbm_jw_str(&w, b64);
	dbm_jw_key(&w, "file_type");
	dbm_jw_str(&w, ext);
	dbm_jw_obj_end(&w);
	free(b64);
	res = emu_reply_json(r, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

/* A folder's SOURCE export holds each object as export_object has it:
 * notebooks as SOURCE files with their extension. */
static int
source_entry(struct req *r, const char *disk, const char *canon,
    struct dbm_buf *data, const char **ext)
{
	enum MHD_Result ignored;

	return export_object(r, disk, canon, "SOURCE", data, ext, &ignored) ==
	    0 ? 0 : 1;
}

static enum MHD_Result
op_export(struct req *r, char *disk, const char *canon)
{
	struct stat st;
	struct dbm_buf data = DBM_BUF_INIT;
	enum MHD_Result res = MHD_NO;
	char *format = emu_param(r, "format");
	const char *f = format ? format : "SOURCE", *ext = "";

	if (stat(disk, &st) < 0)
		res = missing(r, canon);
	else if (S_ISDIR(st.st_mode) && strcasecmp(f, "SOURCE") != 0 &&
	    strcasecmp(f, "AUTO") != 0 && strcasecmp(f, "DBC") != 0)
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Exporting a directory is only supported for the DBC, "
		    "SOURCE, and AUTO format.");
	else if (strcasecmp(f, "DBC") == 0) {
		char *lang = S_ISDIR(st.st_mode) ? NULL :
		    ws_notebook_language(r->emu, canon);

		if (!S_ISDIR(st.st_mode) && lang == NULL)
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "%s is a file, not a notebook: a DBC archive holds "
			    "notebooks", canon);
		else if (ws_dbc_export(r, disk, canon, &data, &res) == 0)
			res = export_answer(r, &data, "dbc");
		free(lang);
	} else if (S_ISDIR(st.st_mode)) {
		if (ws_zip_export(r, disk, canon, source_entry, &data, &res) ==
		    0)
			res = export_answer(r, &data, "zip");
	} else if (export_object(r, disk, canon, f, &data, &ext, &res) == 0)
		res = export_answer(r, &data, ext);
	dbm_buf_free(&data);
	free(format);
	return res;
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
			ws_set_notebook(r->emu, canon, NULL);
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
