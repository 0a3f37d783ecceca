/*
 * The DBFS sender of the upload engine (upload_int.h): one multipart put
 * straight to the path up to the put limit, create/add-block/close to a
 * temporary sibling moved into place above it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "b64.h"
#include "buf.h"
#include "api/dbfs.h"
#include "http.h"
#include "json.h"
#include "sha.h"
#include "upload.h"
#include "upload_int.h"

static int dbfs_move(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, const char *tmp, struct dbm_err *e);

struct mp {
	const char *local, *name, *path;
	int overwrite;
	int fd;			/* the bytes: the file hashed, open */
	long long size;
	long long off;		/* read position of this attempt */
};

static size_t
mp_read(char *buf, size_t size, size_t n, void *arg)
{
	struct mp *m = arg;
	size_t want = size * n;
	ssize_t got;

	if ((long long)want > m->size - m->off)
		want = (size_t)(m->size - m->off);
	if (want == 0)
		return 0;
	do
		got = pread(m->fd, buf, want, (off_t)m->off);
	while (got < 0 && errno == EINTR);
	if (got <= 0)	/* shorter than it was: curl fails the request */
		return CURL_READFUNC_ABORT;
	m->off += got;
	return (size_t)got;
}

static int
mp_seek(void *arg, curl_off_t off, int origin)
{
	struct mp *m = arg;

	if (origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	m->off = (long long)off;
	return CURL_SEEKFUNC_OK;
}

static curl_mime *
build_mime(CURL *c, void *arg, struct dbm_err *e)
{
	struct mp *m = arg;
	curl_mime *mime = curl_mime_init(c);
	curl_mimepart *part;

	part = curl_mime_addpart(mime);
	curl_mime_name(part, "path");
	curl_mime_data(part, m->path, CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "overwrite");
	curl_mime_data(part, m->overwrite ? "true" : "false",
	    CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "contents");
	/* from the descriptor the digest was read from, not the name */
	m->off = 0;
	if (curl_mime_data_cb(part, (curl_off_t)m->size, mp_read, mp_seek,
	    NULL, m) != CURLE_OK) {
		curl_mime_free(mime);
		dbm_errf(e, DBM_E_SYS, "%s: cannot set up the upload", m->local);
		return NULL;
	}
	curl_mime_filename(part, m->name);
	curl_mime_type(part, "application/octet-stream");
	return mime;
}

/* Tries of one block on its open handle, and the pause before each
 * again (ms, times the try). */
#define BLOCK_TRIES 6
#define BLOCK_PAUSE_MS 200

/* Whether a failed call may be tried again: the connection failed or the
 * service was busy (429, 5xx), not a refusal (4xx: a handle gone, a block
 * too large). */
static int
transient(const struct dbm_err *e)
{
	return e->status == 0 || e->status == 429 || e->status >= 500;
}

/* Add one block; a transient failure is tried again on the same handle.
 * *again is set when a try failed after it may have reached the service
 * (the block may then be there twice). */
static int
add_block(struct dbm_http *h, long long handle, const char *b64, int *again,
    struct dbm_err *e)
{
	int k;

	for (k = 1;; k++) {
		struct timespec ts = {0, (long)BLOCK_PAUSE_MS * 1000000L * k};

		if (dbm_api_dbfs_add_block(h, handle, b64, e) == 0)
			return 0;
		if (k == BLOCK_TRIES || !transient(e))
			return -1;
		*again = 1;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

/* Send the file at fd on a new handle: 0 when closed, 1 when a block
 * failed for good (start again), -1 on a local error. */
static int
stream_once(struct dbm_upload *u, struct dbm_http *h, int fd,
    const char *path, unsigned char *raw, char *b64, int *again,
    struct dbm_err *e)
{
	long long handle, off;
	ssize_t n;

	if (dbm_api_dbfs_create(h, path, &handle, e) < 0)
		return -1;
	for (off = 0;; off += n) {
		n = pread(fd, raw, (size_t)u->o.block, off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0)
			return dbm_err_sys(e, "read");
		if (n == 0)
			break;
		dbm_b64_encode_to(b64, raw, (size_t)n);
		if (add_block(h, handle, b64, again, e) < 0)
			return 1;
		dbm_progress_bytes(&u->progress, n);
	}
	return dbm_api_dbfs_close(h, handle, e) < 0 ? 1 : 0;
}

/* create / add-block / close. add-block is not idempotent: a block whose
 * try failed is tried again on the open handle, and when one was, the
 * closed file's size tells whether a block went in twice (the file then
 * starts again from create, with overwrite). */
static int
dbfs_stream(struct dbm_upload *u, struct dbm_http *h, int fd,
    const char *path, struct dbm_err *e)
{
	unsigned char *raw = dbm_xmalloc((size_t)u->o.block);
	char *b64 = dbm_xmalloc((size_t)u->o.block / 3 * 4 + 8);
	int attempt, rc = -1, st, again, dir;
	long long size;
	struct stat sb;

	if (fstat(fd, &sb) < 0) {
		dbm_err_sys(e, "fstat");
		attempt = 3;
	} else
		attempt = 0;
	for (; attempt < 3 && rc < 0; attempt++) {
		again = 0;
		if ((st = stream_once(u, h, fd, path, raw, b64, &again, e)) < 0)
			break;
		if (st > 0)
			continue;	/* a block failed: start again */
		if (!again)
			rc = 0;
		else if ((st = dbm_api_dbfs_status(h, path, &size, &dir,
		    e)) < 0)
			break;
		else if (st == 1 && size == (long long)sb.st_size)
			rc = 0;
		else
			dbm_errf(e, DBM_E_API, "%s: %lld bytes after a block was "
			    "tried again, not %lld: a block went in twice", path,
			    size, (long long)sb.st_size);
	}
	free(raw);
	free(b64);
	return rc;
}

/* One multipart put of the whole file to its final path (PROTOCOL.md
 * section 1): the service stores the file when the request completes, so
 * the path holds the old file or the new one, never a part; without -f
 * (and with -c) it does not overwrite. 1 when done (or the file is there:
 * content-addressed, or our own lost first attempt), 0 when the file is
 * above the put limit, -1 on error. */
static int
dbfs_put(struct dbm_upload *u, struct dbm_http *h, struct dbm_upload_file *f,
    int fd, struct dbm_err *e)
{
	struct dbm_req r;
	struct dbm_resp resp = {0};
	struct mp m;
	struct dbm_err e2;
	long long size;
	int dir, rc = -1;

	m.local = f->local;
	m.name = dbm_upload_base_name(f->local);
	m.path = f->remote;
	m.overwrite = u->o.overwrite && !u->o.content_addressed;
	m.fd = fd;
	m.size = f->size;
	dbm_req_init(&r, "POST", DBM_API_DBFS_PUT);
	r.mime = build_mime;
	r.mime_arg = &m;
	r.idempotent = 1;	/* the same bytes to the same path */
	r.progress = dbm_upload_on_bytes;
	r.progress_arg = &u->progress;
	if (dbm_http_do(h, &r, &resp, e) == 0) {
		rc = 1;
	} else if (e->status == 400 && strcmp(e->code,
	    "MAX_BLOCK_SIZE_EXCEEDED") == 0) {
		rc = 0;
	} else if (e->status == 400 && strcmp(e->code,
	    "RESOURCE_ALREADY_EXISTS") == 0) {
		if (u->o.content_addressed) {	/* same name, same bytes */
			f->skipped = 1;
			rc = 1;
		} else if (resp.attempts > 1 && dbm_api_dbfs_status(h, f->remote,
		    &size, &dir, &e2) == 1 && !dir && size == f->size) {
			rc = 1;		/* our own first attempt */
		} else {
			dbm_upload_exists(u, f, e);
		}
	}
	dbm_resp_free(&resp);
	return rc;
}

/* A run killed between the close of its temporary and the move leaves
 * the temporary behind (dbfs-put(1)). After a move into path, its
 * siblings of that shape an hour old or more are removed: one listing of
 * the folder; a temporary another run is still writing is younger. Best
 * effort: errors are ignored. */
#define STALE_MS (3600LL * 1000)

/* A temporary is .<name>.dbmlops-<12 hex>.tmp beside its file. */
#define TMP_TAG ".dbmlops-"

static int
temp_of(const char *name, const char *base)
{
	size_t bl = strlen(base), tl = strlen(TMP_TAG);

	if (*name++ != '.' || strncmp(name, base, bl) != 0 ||
	    strncmp(name + bl, TMP_TAG, tl) != 0)
		return 0;
	name += bl + tl;
	return strspn(name, "0123456789abcdef") == 12 &&
	    strcmp(name + 12, ".tmp") == 0;
}

static void
sweep_stale(struct dbm_http *h, const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash + 1;
	char *parent = slash == path ? dbm_xstrdup("/") :
	    dbm_xstrndup(path, (size_t)(slash - path));
	struct dbm_json j;
	struct dbm_err e;
	long long now = (long long)time(NULL) * 1000;
	int arr, i, n, o, rc;

	rc = dbm_api_dbfs_list(h, parent, &j, &e);
	free(parent);
	if (rc < 0)
		return;
	arr = dbm_json_member(&j, 0, "files");
	n = dbm_json_count(&j, arr);
	for (i = 0, o = arr + 1; i < n; i++, o = dbm_json_skip(&j, o)) {
		char *p = dbm_json_strdup(&j, dbm_json_member(&j, o, "path"));
		const char *name = p ? strrchr(p, '/') : NULL;
		long long mtime = now;

		dbm_json_int(&j, dbm_json_member(&j, o, "modification_time"),
		    &mtime);
		if (name && temp_of(name + 1, base) && mtime <= now - STALE_MS)
			dbm_api_dbfs_delete(h, p, 0, &e);
		free(p);
	}
	dbm_json_free(&j);
}

static int
send_dbfs(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, struct dbm_err *e)
{
	struct dbm_buf tmp = DBM_BUF_INIT;
	long long size;
	int dir, st = 0, rc = -1;
	unsigned char rnd[6];
	char rhex[13];
	const char *slash = strrchr(f->remote, '/');

	if (u->o.content_addressed && (st = dbm_upload_ca_state(u, f)) == 2) {
		f->skipped = 1;
		return 0;
	}
	if (u->o.content_addressed && st == 0) {
		/* there already: nothing to send */
		st = dbm_api_dbfs_status(h, f->remote, &size, &dir, e);
		if (st < 0)
			return -1;
		if (st == 1 && !dir && size == f->size) {
			f->skipped = 1;
			return 0;
		}
	}
	if (f->size <= u->o.dbfs_put_max &&
	    (st = dbfs_put(u, h, f, fd, e)) != 0)
		return st > 0 ? 0 : -1;
	/* Above the put limit: create/add-block/close writes the path as it
	 * goes, so into a temporary sibling, then moved into place. */
	if (!u->o.overwrite && !u->o.content_addressed &&
	    (st = dbm_api_dbfs_status(h, f->remote, &size, &dir, e)) != 0)
		return st < 0 ? -1 : dbm_upload_exists(u, f, e);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return dbm_err_sys(e, "getrandom");
	dbm_hex(rnd, sizeof(rnd), rhex);
	dbm_buf_printf(&tmp, "%.*s/.%s" TMP_TAG "%s.tmp", (int)(slash -
	    f->remote), f->remote, slash + 1, rhex);
	if (dbfs_stream(u, h, fd, tmp.data, e) == 0)
		rc = dbfs_move(u, h, f, tmp.data, e);
	if (rc == 0)
		sweep_stale(h, f->remote);
	if (rc < 0) {	/* leave no temporary behind */
		struct dbm_err e2;

		dbm_api_dbfs_delete(h, tmp.data, 0, &e2);
	}
	dbm_buf_free(&tmp);
	return rc;
}

/* Delete-and-move rounds lost to other writers of the same path before
 * giving up. */
#define MOVE_RACES 30

/* Move the finished temporary into place. move is not idempotent: after a
 * lost answer, the two paths tell whether it happened. */
static int
dbfs_move(struct dbm_upload *u, struct dbm_http *h, struct dbm_upload_file *f,
    const char *tmp, struct dbm_err *e)
{
	struct dbm_err e2;
	long long size;
	int dir, attempt, rc = -1, races = 0;

	for (attempt = 0; attempt < 5 + races; attempt++) {
		if (dbm_api_dbfs_move(h, tmp, f->remote, e) == 0) {
			rc = 0;
			break;
		}
		if (e->code[0] && strcmp(e->code,
		    "RESOURCE_ALREADY_EXISTS") == 0) {
			if (u->o.content_addressed) {	/* same content */
				rc = 0;
				break;
			}
			if (!u->o.overwrite || races >= MOVE_RACES) {
				dbm_upload_exists(u, f, e);
				break;
			}
			/* another writer may put its file back between our
			 * delete and our move (two pipelines uploading one
			 * wheel): delete again, after a random pause */
			if (races > 0) {
				struct timespec ts = {0, (long)(rand() % 50 + 5) *
				    1000000L * (races < 5 ? races : 5)};

				nanosleep(&ts, NULL);
			}
			races++;
			if (dbm_api_dbfs_delete(h, f->remote, 0, e) < 0)
				break;
			continue;
		}
		if (e->kind != DBM_E_NET)
			break;
		if (dbm_api_dbfs_status(h, tmp, &size, &dir, &e2) != 0) {
			/* still there (or unknown): the move did not happen */
			continue;
		}
		if (dbm_api_dbfs_status(h, f->remote, &size, &dir, &e2) == 1 &&
		    size == f->size)
			rc = 0;
		break;
	}
	return rc;
}

static int
list_dbfs(struct dbm_http *h, const char *path, const char *page_token,
    struct dbm_json *out, struct dbm_err *e)
{
	return dbm_api_dbfs_list(h, path, out, e);	/* one page */
}

static int
remove_dbfs(struct dbm_http *h, const char *path, struct dbm_err *e)
{
	return dbm_api_dbfs_delete(h, path, 0, e);
}

static int
rmtree_dbfs(struct dbm_http *h, const char *path, struct dbm_err *e)
{
	return dbm_api_dbfs_delete(h, path, 1, e);
}

const struct dbm_upload_ops dbm_upload_dbfs_ops = {
	.send = send_dbfs,
	.list = list_dbfs,
	.remove = remove_dbfs,
	.entries = "files",
	.is_dir = "is_dir",
	.mtime = "modification_time",
	.rmtree = rmtree_dbfs,
};
