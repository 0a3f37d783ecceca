/*
 * Files API (/api/2.0/fs/files and /api/2.0/fs/directories) for Unity
 * Catalog volume paths (PROTOCOL.md section 2). A PUT is all or nothing:
 * the body lands in a temporary file and is moved into place only once it
 * has fully arrived.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"

#define FILES "/api/2.0/fs/files"
#define DIRS "/api/2.0/fs/directories"

static enum MHD_Result
not_found(struct req *r, const char *what, const char *p)
{
	if (strcmp(what, "directory") == 0)	/* the reason the Go CLI keys on */
		return emu_reply_error_reason(r, 404, "NOT_FOUND",
		    "FILES_API_DIRECTORY_IS_NOT_FOUND", "The %s %s does not "
		    "exist.", what, p);
	return emu_reply_error(r, 404, "NOT_FOUND", "The %s %s does not exist.",
	    what, p);
}

/* Number of components of a canonical path. */
static int
depth(const char *canon)
{
	int n = 0;

	for (; *canon; canon++)
		if (*canon == '/' && canon[1])
			n++;
	return n;
}

/* Map a Files API path; NULL after answering when it is not acceptable.
 * min is the fewest components (4: a volume, 5: a file in one). */
char *
emu_files_map(struct req *r, const char *p, int min, char **canon,
    enum MHD_Result *res)
{
	char *disk = emu_map(r, ROOT_FILES, p, canon, res);
	int models;

	if (disk == NULL)
		return NULL;
	models = strncmp(*canon, "/Models/", 8) == 0;	/* a model version's */
	if (models ? depth(*canon) < min + 1 : strncmp(*canon, "/Volumes/", 9)
	    != 0 || depth(*canon) < min) {
		*res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid path %s: expected /Volumes/<catalog>/<schema>/"
		    "<volume>%s", p, min > 4 ? "/<file path>" : "");
		free(*canon);
		free(disk);
		return NULL;
	}
	if ((models ? emu_ucm_check(r, *canon, res) : emu_uc_check(r, *canon,
	    res)) < 0) {
		free(*canon);
		free(disk);
		return NULL;
	}
	return disk;
}

static void
http_date(char *buf, size_t n, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static enum MHD_Result
file_put(struct req *r, const char *p)
{
	enum MHD_Result res;
	char *canon, *disk = emu_files_map(r, p, 5, &canon, &res);
	int overwrite = emu_param_bool(r, "overwrite", 1);
	struct stat st;

	if (disk == NULL)
		return res;
	if (r->tmp && stat(r->tmp, &st) == 0 && st.st_size > r->emu->files_put_max)
		/* above a single PUT's limit: the SDKs go multipart */
		res = emu_reply_error(r, 413, "INVALID_PARAMETER_VALUE", "The "
		    "file is larger than a single PUT allows (%lld bytes): use a "
		    "multipart upload (action=initiate-upload)",
		    r->emu->files_put_max);
	else
		res = emu_files_commit(r, r->tmp, disk, canon, overwrite);
	free(disk);
	free(canon);
	return res;
}

enum MHD_Result
emu_files_commit(struct req *r, const char *tmp, const char *disk,
    const char *canon, int overwrite)
{
	enum MHD_Result res;
	struct stat st;

	if (stat(disk, &st) == 0 && S_ISDIR(st.st_mode))
		res = emu_reply_error(r, 409, "ALREADY_EXISTS",
		    "A directory exists at %s.", canon);
	else if (stat(disk, &st) == 0 && !overwrite)
		res = emu_reply_error(r, 409, "ALREADY_EXISTS",
		    "The file %s already exists.", canon);
	else if (store_commit(tmp, disk, overwrite) < 0)
		res = errno == EEXIST ? emu_reply_error(r, 409,
		    "ALREADY_EXISTS", "The file %s already exists.", canon) :
		    errno == ENOTDIR ? emu_reply_error(r, 409,
		    "ALREADY_EXISTS", "A file exists where a parent directory "
		    "of %s should be.", canon) :
		    emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	else
		res = emu_reply(r, 204, NULL, "", 0);
	return res;
}

/* Parse "bytes=a-b" against size; 0 ok, -1 unsatisfiable, 1 no range. */
static int
range(const char *h, off_t size, off_t *off, off_t *len)
{
	long long a, b;
	char *end;

	if (h == NULL || strncasecmp(h, "bytes=", 6) != 0)
		return 1;
	h += 6;
	if (*h == '-') {	/* the last n bytes */
		b = strtoll(h + 1, &end, 10);
		if (*end || b <= 0)
			return -1;
		*off = b >= size ? 0 : size - b;
		*len = size - *off;
		return 0;
	}
	a = strtoll(h, &end, 10);
	if (*end != '-' || a < 0 || a >= size)
		return -1;
	if (end[1] == '\0') {
		b = size - 1;
	} else {
		b = strtoll(end + 1, &end, 10);
		if (*end || b < a)
			return -1;
		if (b >= size)
			b = size - 1;
	}
	*off = a;
	*len = b - a + 1;
	return 0;
}

static enum MHD_Result
file_get(struct req *r, const char *p)
{
	enum MHD_Result res;
	char *canon, *disk = emu_files_map(r, p, 5, &canon, &res);
	struct stat st;
	struct MHD_Response *resp;
	off_t off = 0, len;
	int fd, rg;
	char date[64], cr[96];

	if (disk == NULL)
		return res;
	fd = open(disk, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		res = not_found(r, "file", canon);
		goto out;
	}
	len = st.st_size;
	rg = range(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Range"), st.st_size, &off, &len);
	if (rg < 0) {
		close(fd);
		snprintf(cr, sizeof(cr), "bytes */%lld", (long long)st.st_size);
		resp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Content-Range", cr);
		res = emu_queue(r, 416, resp);
		goto out;
	}
	emu_reply_fd(r, 0, fd, off, len, "application/octet-stream", &resp);
	http_date(date, sizeof(date), st.st_mtime);
	MHD_add_response_header(resp, "Last-Modified", date);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	if (rg == 0) {
		snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld",
		    (long long)off, (long long)(off + len - 1),
		    (long long)st.st_size);
		MHD_add_response_header(resp, "Content-Range", cr);
	}
	res = emu_queue(r, rg == 0 ? 206 : 200, resp);
out:
	free(disk);
	free(canon);
	return res;
}

static enum MHD_Result
file_delete(struct req *r, const char *p)
{
	enum MHD_Result res;
	char *canon, *disk = emu_files_map(r, p, 5, &canon, &res);
	struct stat st;

	if (disk == NULL)
		return res;
	if (stat(disk, &st) < 0 || S_ISDIR(st.st_mode))
		res = not_found(r, "file", canon);
	else if (unlink(disk) < 0)
		res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
		    strerror(errno));
	else
		res = emu_reply(r, 204, NULL, "", 0);
	free(disk);
	free(canon);
	return res;
}

static enum MHD_Result
dir_list(struct req *r, const char *disk, const char *canon)
{
	char **names, *v, *token;
	int n, i, size = 1000, emitted = 0, dfd;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	enum MHD_Result res;

	if ((v = emu_param(r, "page_size")) != NULL) {
		size = atoi(v);
		free(v);
		if (size <= 0 || size > 1000)
			size = 1000;
	}
	token = emu_param(r, "page_token");
	names = store_list_at(disk, &n, &dfd);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "contents");
	dbm_jw_arr(&w);
	for (i = 0; i < n; i++) {
		struct dbm_buf p = DBM_BUF_INIT;
		struct stat st;

		if (token && *token && strcmp(names[i], token) <= 0)
			continue;
		if (emitted == size)
			break;
		if (fstatat(dfd, names[i], &st, 0) == 0) {
			dbm_buf_printf(&p, "%s/%s", canon, names[i]);
			dbm_jw_obj(&w);
			dbm_jw_key(&w, "path");
			dbm_jw_str(&w, S_ISDIR(st.st_mode) ?
			    (dbm_buf_addc(&p, '/'), p.data) : p.data);
			dbm_jw_key(&w, "name");
			dbm_jw_str(&w, names[i]);
			dbm_jw_key(&w, "is_directory");
			dbm_jw_bool(&w, S_ISDIR(st.st_mode));
			if (!S_ISDIR(st.st_mode)) {
				dbm_jw_key(&w, "file_size");
				dbm_jw_int(&w, (long long)st.st_size);
			}
			dbm_jw_key(&w, "last_modified");
			dbm_jw_int(&w, (long long)st.st_mtim.tv_sec * 1000 +
			    st.st_mtim.tv_nsec / 1000000);
			dbm_jw_obj_end(&w);
			emitted++;
		}
		dbm_buf_free(&p);
	}
	dbm_jw_arr_end(&w);
	if (i < n && emitted == size) {
		dbm_jw_key(&w, "next_page_token");
		dbm_jw_str(&w, names[i - 1]);
	}
	dbm_jw_obj_end(&w);
	res = emu_reply_json(r, 200, dbm_buf_str(&b));
	dbm_buf_free(&b);
	store_names_free(names);
	if (dfd >= 0)
		close(dfd);
	free(token);
	return res;
}

static enum MHD_Result
dirs(struct req *r, const char *p)
{
	enum MHD_Result res;
	char *canon, *disk = emu_files_map(r, p, 4, &canon, &res), **names;
	struct stat st;
	int isdir, n;

	if (disk == NULL)
		return res;
	isdir = stat(disk, &st) == 0 && S_ISDIR(st.st_mode);
	if (strcmp(r->method, "PUT") == 0) {
		if (store_mkdirs(disk) < 0)
			res = errno == ENOTDIR ? emu_reply_error(r, 409,
			    "ALREADY_EXISTS", "A file exists at %s or one of "
			    "its parents.", canon) : emu_reply_error(r, 500,
			    "INTERNAL_ERROR", "%s", strerror(errno));
		else
			res = emu_reply(r, 204, NULL, "", 0);
	} else if (!isdir) {
		if (strcmp(r->method, "HEAD") == 0)
			res = emu_reply(r, 404, NULL, "", 0);
		else
			res = not_found(r, "directory", canon);
	} else if (strcmp(r->method, "HEAD") == 0) {
		res = emu_reply(r, 200, NULL, "", 0);
	} else if (strcmp(r->method, "GET") == 0) {
		res = dir_list(r, disk, canon);
	} else if (strcmp(r->method, "DELETE") == 0) {
		names = store_list(disk, &n);
		store_names_free(names);
		if (n > 0)
			res = emu_reply_error_reason(r, 400,
			    "INVALID_PARAMETER_VALUE",
			    "FILES_API_DIRECTORY_IS_NOT_EMPTY",
			    "The directory %s is not empty.", canon);
		else if (depth(canon) <= 4)
			res = emu_reply_error(r, 400, "INVALID_PARAMETER_VALUE",
			    "Cannot delete the volume root %s.", canon);
		else if (rmdir(disk) < 0)
			res = emu_reply_error(r, 500, "INTERNAL_ERROR", "%s",
			    strerror(errno));
		else
			res = emu_reply(r, 204, NULL, "", 0);
	} else {
		res = emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
		    "No API found for '%s %s'", r->method, r->path);
	}
	free(disk);
	free(canon);
	return res;
}

enum MHD_Result
emu_files(struct req *r)
{
	const char *p = r->path;
	size_t fl = strlen(FILES), dl = strlen(DIRS);

	if (strncmp(p, FILES "/", fl + 1) == 0) {
		p += fl;
		if (strcmp(r->method, "PUT") == 0)
			return file_put(r, p);
		if (strcmp(r->method, "GET") == 0 ||
		    strcmp(r->method, "HEAD") == 0)
			return file_get(r, p);
		if (strcmp(r->method, "DELETE") == 0)
			return file_delete(r, p);
	} else if (strncmp(p, DIRS "/", dl + 1) == 0) {
		return dirs(r, p + dl);
	}
	return emu_reply_error(r, 404, "ENDPOINT_NOT_FOUND",
	    "No API found for '%s %s'", r->method, r->path);
}
