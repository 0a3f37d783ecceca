/*
 * DBFS API 2.0 (/api/2.0/dbfs/...) and MLflow's raw POST /dbfs/<path>,
 * with the real service's limits and error codes (PROTOCOL.md section 1).
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

/* An open streaming upload (create / add-block / close). */
struct handle {
	long long id;
	char *tmp;		/* its data so far */
	char *dst;		/* disk path it becomes */
	char *canon;		/* its API path, for messages */
	int overwrite;
	double last;
	struct handle *next;
};

struct handles {
	pthread_mutex_t mu;
	struct handle *list;
	long long next;
};

/* The multipart form of dbfs/put. */
int
emu_dbfs_init(struct emu *e)
{
	e->handles = dbm_xcalloc(1, sizeof(*e->handles));
	pthread_mutex_init(&e->handles->mu, NULL);
	/* distinct across restarts, like the real service's handles */
	e->handles->next = (dbm_epoch_ms() % 1000000000LL) * 1000 + 1;
	return 0;
}

static void
handle_free(struct handle *h)
{
	unlink(h->tmp);
	free(h->tmp);
	free(h->dst);
	free(h->canon);
	free(h);
}

void
emu_dbfs_free(struct emu *e)
{
	struct handle *h, *n;

	if (e->handles == NULL)
		return;
	for (h = e->handles->list; h; h = n) {
		n = h->next;
		handle_free(h);
	}
	pthread_mutex_destroy(&e->handles->mu);
	free(e->handles);
	e->handles = NULL;
}

/* Take handle id out of the table (the caller owns it), expiring idle ones. */
static struct handle *
handle_take(struct emu *e, long long id)
{
	struct handles *hs = e->handles;
	struct handle **pp, *h, *found = NULL;
	double now = dbm_now();

	pthread_mutex_lock(&hs->mu);
	for (pp = &hs->list; (h = *pp) != NULL; ) {
		if (h->id == id) {
			*pp = h->next;
			found = h;
			continue;
		}
		if (now - h->last > (double)e->handle_idle) {
			*pp = h->next;
			handle_free(h);
			continue;
		}
		pp = &h->next;
	}
	pthread_mutex_unlock(&hs->mu);
	if (found && now - found->last > (double)e->handle_idle) {
		handle_free(found);
		found = NULL;
	}
	return found;
}

void
emu_dbfs_sweep(struct emu *e)
{
	handle_take(e, -1);	/* no handle has that id: expires idle ones */
}

static void
handle_put(struct emu *e, struct handle *h)
{
	h->last = dbm_now();
	pthread_mutex_lock(&e->handles->mu);
	h->next = e->handles->list;
	e->handles->list = h;
	pthread_mutex_unlock(&e->handles->mu);
}

/* Where a workspace without the DBFS root (a new account's, PROTOCOL.md
 * section 15) still lets the DBFS API go: Unity Catalog volumes, and the
 * workspace's own MLflow storage: dbfs:/databricks/mlflow-tracking/ on
 * the service, and dbfs:/mlflow-artifacts/, where the emulator's tracking
 * server keeps runs' artifacts (given the service's path, MLflow's client
 * asks for cloud credentials, which the emulator does not hand out). */
static const char *const open_roots[] = {"/Volumes/",
	"/databricks/mlflow-tracking/", "/databricks/mlflow-registry/",
	"/mlflow-artifacts/", NULL};

/* NULL (the answer in *res) when the workspace refuses canon: the DBFS
 * root when it is disabled, a volume that does not exist. */
static char *
refuse(struct req *r, char *disk, char **canon, enum MHD_Result *res)
{
	int i, open = r->emu->legacy_dbfs;

	if (disk == NULL)
		return NULL;
	for (i = 0; !open && open_roots[i]; i++)
		open = strncmp(*canon, open_roots[i], strlen(open_roots[i])) == 0;
	if (!open)
		*res = emu_reply_error(r, 403, "PERMISSION_DENIED", "Public DBFS "
		    "root is disabled. Access is denied on path: %s", *canon);
	if (!open || emu_uc_check(r, *canon, res) < 0) {
		free(disk);
		free(*canon);
		*canon = NULL;
		return NULL;
	}
	return disk;
}

static char *
dbfs_param(struct req *r, const char *name, char **canon,
    enum MHD_Result *res)
{
	return refuse(r, emu_path_param(r, ROOT_DBFS, name, canon, res), canon,
	    res);
}

static char *
dbfs_path(struct req *r, const char *p, char **canon, enum MHD_Result *res)
{
	return refuse(r, emu_map(r, ROOT_DBFS, p, canon, res), canon, res);
}

static enum MHD_Result
not_found(struct req *r, const char *canon)
{
	return emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
	    "No file or directory exists on path %s.", canon);
}

static enum MHD_Result
exists(struct req *r, const char *canon)
{
	return emu_reply_error(r, 400, "RESOURCE_ALREADY_EXISTS",
	    "A file or directory already exists at the input path %s.", canon);
}

static void
file_info(struct dbm_jw *w, const char *canon, const struct stat *st)
{
	dbm_jw_obj(w);
	dbm_jw_key(w, "path");
	dbm_jw_str(w, canon);
	dbm_jw_key(w, "is_dir");
	dbm_jw_bool(w, S_ISDIR(st->st_mode));
	dbm_jw_key(w, "file_size");
	dbm_jw_int(w, S_ISDIR(st->st_mode) ? 0 : (long long)st->st_size);
	dbm_jw_key(w, "modification_time");
	dbm_jw_int(w, (long long)st->st_mtim.tv_sec * 1000 +
	    st->st_mtim.tv_nsec / 1000000);
	dbm_jw_obj_end(w);
}

static enum MHD_Result
reply_buf(struct req *r, struct dbm_buf *b)
{
	enum MHD_Result res = emu_reply_json(r, 200, dbm_buf_str(b));

	dbm_buf_free(b);
	return res;
}

enum MHD_Result
emu_dbfs_get_status(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = dbfs_param(r, "path", &canon, &res);
	struct stat st;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;

	if (disk == NULL)
		return res;
	if (stat(disk, &st) < 0) {
		res = not_found(r, canon);
	} else {
		dbm_jw_init(&w, &b);
		file_info(&w, canon, &st);
		res = reply_buf(r, &b);
	}
	free(disk);
	free(canon);
	return res;
}

enum MHD_Result
emu_dbfs_list(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = dbfs_param(r, "path", &canon, &res);
	struct stat st;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	char **names;
	int n, i, dfd = -1;

	if (disk == NULL)
		return res;
	if (stat(disk, &st) < 0) {
		res = not_found(r, canon);
		goto out;
	}
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	if (!S_ISDIR(st.st_mode)) {	/* a file lists itself */
		dbm_jw_key(&w, "files");
		dbm_jw_arr(&w);
		file_info(&w, canon, &st);
		dbm_jw_arr_end(&w);
	} else if ((names = store_list_at(disk, &n, &dfd)) != NULL && n > 0) {
		dbm_jw_key(&w, "files");
		dbm_jw_arr(&w);
		for (i = 0; i < n; i++) {
			struct dbm_buf c = DBM_BUF_INIT;

			dbm_buf_printf(&c, "%s/%s", strcmp(canon, "/") ?
			    canon : "", names[i]);
			if (fstatat(dfd, names[i], &st, 0) == 0)
				file_info(&w, c.data, &st);
			dbm_buf_free(&c);
		}
		dbm_jw_arr_end(&w);
		store_names_free(names);
	} else {
		store_names_free(names);
	}
	dbm_jw_obj_end(&w);
	res = reply_buf(r, &b);
out:
	if (dfd >= 0)
		close(dfd);
	free(disk);
	free(canon);
	return res;
}

enum MHD_Result
emu_dbfs_mkdirs(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = dbfs_param(r, "path", &canon, &res);

	if (disk == NULL)
		return res;
	if (store_mkdirs(disk) < 0) {
		if (errno == ENOTDIR || errno == EEXIST)
			res = exists(r, canon);
		else
			res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
			    strerror(errno));
	} else {
		res = emu_reply_json(r, 200, "{}");
	}
	free(disk);
	free(canon);
	return res;
}

enum MHD_Result
emu_dbfs_delete(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = dbfs_param(r, "path", &canon, &res);
	int recursive = emu_param_bool(r, "recursive", 0);
	struct stat st;
	int n;
	char **names;

	if (disk == NULL)
		return res;
	if (strcmp(canon, "/") == 0) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Cannot delete the root directory");
	} else if (stat(disk, &st) < 0) {
		res = emu_reply_json(r, 200, "{}");	/* nothing to do */
	} else if (S_ISDIR(st.st_mode) && !recursive &&
	    (names = store_list(disk, &n)) != NULL &&
	    (store_names_free(names), n > 0)) {
		res = emu_reply_error(r, 400, "IO_ERROR", "Directory is not "
		    "empty: %s; use recursive=true to delete it", canon);
	} else if (store_remove_tree(disk) < 0) {
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	} else {
		res = emu_reply_json(r, 200, "{}");
	}
	free(disk);
	free(canon);
	return res;
}

enum MHD_Result
emu_dbfs_move(struct req *r)
{
	enum MHD_Result res;
	char *sc, *dc = NULL, *dd = NULL;
	char *sd = dbfs_param(r, "source_path", &sc, &res);
	struct stat st;

	if (sd == NULL)
		return res;
	dd = dbfs_param(r, "destination_path", &dc, &res);
	if (dd == NULL)
		goto out;
	if (stat(sd, &st) < 0) {
		res = not_found(r, sc);
	} else if (stat(dd, &st) == 0) {
		res = exists(r, dc);
	} else if (store_mkparents(dd) < 0 || rename(sd, dd) < 0) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Cannot move %s to %s: %s", sc, dc, strerror(errno));
	} else {
		res = emu_reply_json(r, 200, "{}");
	}
out:
	free(sd);
	free(sc);
	free(dd);
	free(dc);
	return res;
}

enum MHD_Result
emu_dbfs_read(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = dbfs_param(r, "path", &canon, &res);
	char *v, *b64 = NULL;
	long long off = 0, len = r->emu->read_max;
	unsigned char *buf = NULL;
	ssize_t n = 0;
	int fd = -1;
	struct stat st;
	struct dbm_buf b = DBM_BUF_INIT;

	if (disk == NULL)
		return res;
	if ((v = emu_param(r, "offset")) != NULL) {
		off = strtoll(v, NULL, 10);
		free(v);
	}
	if ((v = emu_param(r, "length")) != NULL) {
		len = strtoll(v, NULL, 10);
		free(v);
	}
	if (off < 0 || len < 0) {
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "offset and length must be non-negative");
		goto out;
	}
	if (len > r->emu->read_max) {
		res = emu_reply_error(r, 400, "MAX_READ_SIZE_EXCEEDED",
		    "Cannot read more than %lld bytes at once",
		    r->emu->read_max);
		goto out;
	}
	if (stat(disk, &st) < 0) {
		res = not_found(r, canon);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		/* the API reference: "If the path is a directory ... this
		 * call throws an exception with INVALID_PARAMETER_VALUE" */
		res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "%s is a directory", canon);
		goto out;
	}
	if ((fd = open(disk, O_RDONLY | O_CLOEXEC)) < 0) {
		res = not_found(r, canon);
		goto out;
	}
	buf = dbm_xmalloc((size_t)len + 1);
	while (n < len) {
		ssize_t k = pread(fd, buf + n, (size_t)(len - n), off + n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += k;
	}
	b64 = dbm_b64_encode(buf, (size_t)n);
	dbm_buf_printf(&b, "{\"bytes_read\":%zd,\"data\":\"%s\"}", n, b64);
	res = reply_buf(r, &b);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(b64);
	free(disk);
	free(canon);
	return res;
}

/* Finish an upload: tmp becomes disk, with the service's conflict rules. */
static enum MHD_Result
commit(struct req *r, const char *tmp, const char *disk, const char *canon,
    int overwrite)
{
	struct stat st;

	if (stat(disk, &st) == 0 && (S_ISDIR(st.st_mode) || !overwrite))
		return exists(r, canon);
	if (store_commit(tmp, disk, overwrite) < 0) {
		if (errno == EEXIST || errno == EISDIR)
			return exists(r, canon);
		if (errno == ENOTDIR)
			return emu_reply_error(r, 400, "RESOURCE_ALREADY_EXISTS",
			    "A file exists where a parent directory of %s "
			    "should be.", canon);
		return emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	}
	return emu_reply_json(r, 200, "{}");
}

static enum MHD_Result
put_json(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk, *tmp = NULL;
	int t, overwrite;
	size_t n;
	const char *c;
	unsigned char *data = NULL;
	long long len = 0;

	if (emu_need_json(r, &res) < 0)
		return res;
	if ((disk = dbfs_param(r, "path", &canon, &res)) == NULL)
		return res;
	overwrite = emu_param_bool(r, "overwrite", 0);
	t = dbm_json_member(&r->json, 0, "contents");
	if (t >= 0) {
		c = dbm_json_raw(&r->json, t, &n);
		if ((long long)n / 4 * 3 > r->emu->inline_max + 3) {
			res = emu_reply_error(r, 400, "MAX_BLOCK_SIZE_EXCEEDED",
			    "The contents are larger than %lld bytes; use "
			    "create, add-block and close, or a multipart "
			    "upload", r->emu->inline_max);
			goto out;
		}
		data = dbm_xmalloc(n + 1);
		if ((len = dbm_b64_decode(c, n, data)) < 0) {
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "contents is not valid base64");
			goto out;
		}
		if (len > r->emu->inline_max) {
			res = emu_reply_error(r, 400, "MAX_BLOCK_SIZE_EXCEEDED",
			    "The contents are larger than %lld bytes",
			    r->emu->inline_max);
			goto out;
		}
	}
	if (store_write_tmp(r->emu, data, (size_t)len, &tmp) < 0) {
		res = emu_nospace(r, errno) ? emu_reply_nospace(r) :
		    emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
		goto out;
	}
	res = commit(r, tmp, disk, canon, overwrite);
out:
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(data);
	free(disk);
	free(canon);
	return res;
}

static enum MHD_Result
put_multipart(struct req *r)
{
	enum MHD_Result res;
	const char *path = emu_form_field(r, "path"), *ow;
	char *disk, *canon;

	if (emu_form_size(r) > r->emu->put_max)
		return emu_reply_error(r, 400, "MAX_BLOCK_SIZE_EXCEEDED",
		    "The file is larger than %lld bytes; use create, "
		    "add-block and close", r->emu->put_max);
	if (!emu_form_ok(r))
		return emu_reply_error(r, 400, "MALFORMED_REQUEST",
		    "Invalid multipart/form-data body");
	if (path == NULL || *path == '\0')
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Missing required field: path");
	if ((disk = dbfs_path(r, path, &canon, &res)) == NULL)
		return res;
	ow = emu_form_field(r, "overwrite");
	if (emu_form_file(r) < 0)
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	else
		res = commit(r, r->tmp, disk, canon, ow &&
		    strcasecmp(ow, "true") == 0);
	free(disk);
	free(canon);
	return res;
}

enum MHD_Result
emu_dbfs_create(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = dbfs_param(r, "path", &canon, &res);
	struct handle *h;
	struct stat st;
	struct dbm_buf b = DBM_BUF_INIT;
	int overwrite = emu_param_bool(r, "overwrite", 0);

	if (disk == NULL)
		return res;
	if (stat(disk, &st) == 0 && (S_ISDIR(st.st_mode) || !overwrite)) {
		res = exists(r, canon);
		free(disk);
		free(canon);
		return res;
	}
	h = dbm_xcalloc(1, sizeof(*h));
	if (store_tmpfile(r->emu, &h->tmp) < 0) {
		free(h);
		free(disk);
		free(canon);
		return emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	}
	h->dst = disk;
	h->canon = canon;
	h->overwrite = overwrite;
	pthread_mutex_lock(&r->emu->handles->mu);
	h->id = r->emu->handles->next++;
	pthread_mutex_unlock(&r->emu->handles->mu);
	handle_put(r->emu, h);
	dbm_buf_printf(&b, "{\"handle\":%lld}", h->id);
	return reply_buf(r, &b);
}

#define HANDLE_WHY "Missing or invalid field: handle"

enum MHD_Result
emu_dbfs_add_block(struct req *r)
{
	enum MHD_Result res;
	long long id, len;
	struct handle *h;
	int t, fd;
	size_t n;
	const char *c;
	unsigned char *data;

	if (emu_need_json(r, &res) < 0 || emu_param_id(r, "handle",
	    HANDLE_WHY, &id, &res) < 0)
		return res;
	t = dbm_json_member(&r->json, 0, "data");
	if (dbm_json_type(&r->json, t) != DBM_JSON_STRING)
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Missing required field: data");
	c = dbm_json_raw(&r->json, t, &n);
	data = dbm_xmalloc(n + 1);
	len = dbm_b64_decode(c, n, data);
	if (len < 0) {
		free(data);
		return emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "data is not valid base64");
	}
	if (len > r->emu->inline_max) {
		free(data);
		return emu_reply_error(r, 400, "MAX_BLOCK_SIZE_EXCEEDED",
		    "The block is larger than %lld bytes", r->emu->inline_max);
	}
	if ((h = handle_take(r->emu, id)) == NULL) {
		free(data);
		return emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
		    "No handle %lld (it is closed, expired or was never "
		    "opened)", id);
	}
	fd = open(h->tmp, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, data, (size_t)len) != (ssize_t)len) {
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	} else {
		res = emu_reply_json(r, 200, "{}");
	}
	if (fd >= 0)
		close(fd);
	free(data);
	handle_put(r->emu, h);
	return res;
}

enum MHD_Result
emu_dbfs_close(struct req *r)
{
	enum MHD_Result res;
	long long id;
	struct handle *h;

	if (emu_param_id(r, "handle", HANDLE_WHY, &id, &res) < 0)
		return res;
	if ((h = handle_take(r->emu, id)) == NULL)
		return emu_reply_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
		    "No handle %lld (it is closed, expired or was never "
		    "opened)", id);
	res = commit(r, h->tmp, h->dst, h->canon, h->overwrite);
	handle_free(h);
	return res;
}

/* POST /dbfs/<path>: MLflow's raw upload; never overwrites. */
static enum MHD_Result
raw_post(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = dbfs_path(r, r->rest, &canon, &res);
	struct dbm_buf b = DBM_BUF_INIT;

	if (disk == NULL)
		return res;
	if (store_commit(r->tmp, disk, 0) == 0) {
		res = emu_reply_json(r, 200, "{}");
	} else if (errno == EEXIST || errno == EISDIR) {
		/* the service's HTML error page; MLflow matches its text */
		dbm_buf_printf(&b, "<html><head><title>Error 409 File already "
		    "exists</title></head><body><h2>HTTP ERROR 409</h2><p>"
		    "Problem accessing /dbfs%s. Reason: File already exists"
		    "</p></body></html>\n", canon);
		res = emu_reply(r, 409, "text/html", b.data, b.len);
		dbm_buf_free(&b);
	} else {
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	}
	free(disk);
	free(canon);
	return res;
}

/* GET /dbfs/<path>: the raw bytes (MLflow's DBFS artifact downloads). */
static enum MHD_Result
raw_get(struct req *r)
{
	enum MHD_Result res;
	char *canon, *disk = dbfs_path(r, r->rest, &canon, &res);
	struct stat st;
	int fd;

	if (disk == NULL)
		return res;
	fd = open(disk, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		res = not_found(r, canon);
	} else {
		res = emu_reply_fd(r, 200, fd, 0, st.st_size,
		    "application/octet-stream", NULL);
	}
	free(disk);
	free(canon);
	return res;
}

/* The endpoints, one a route (routes.c). */
enum MHD_Result
emu_dbfs_put(struct req *r)
{
	return r->mode == BODY_FORM ? put_multipart(r) : put_json(r);
}

enum MHD_Result
emu_dbfs_raw(struct req *r)
{
	return strcmp(r->method, "POST") == 0 ? raw_post(r) : raw_get(r);
}
