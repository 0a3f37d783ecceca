/*
 * Upload engine: see upload.h. One worker per parallel transfer, each with
 * its own HTTP client; files are streamed from disk (file bodies are read by
 * offset, never held in memory).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "dbfs.h"
#include "hashcache.h"
#include "uploadrec.h"
#include "http.h"
#include "token.h"
#include "json.h"
#include "pool.h"
#include "sha.h"
#include "upload.h"

struct priv {
	struct dbm_http *http;	/* one per worker */
	int nhttp;
	pthread_mutex_t mu;	/* stderr and the made-directories list */
	char **dirs;		/* workspace directories already made */
	int ndirs;
	int abort;		/* credentials refused: stop sending */
	struct dbm_hashcache *cache;
	size_t *order;		/* files by size, largest first */
	/* -c: the record of uploads, and the hash folders the destination
	 * holds (listed once; listed is 0 when the listing failed) */
	struct dbm_uploadrec *rec;
	char **hashdirs;
	size_t nhashdirs;
	int listed;
};

static const struct dbm_upload *sort_u;	/* for by_size (one run at once) */

static int
by_size(const void *a, const void *b)
{
	long long x = sort_u->files[*(const size_t *)a].size;
	long long y = sort_u->files[*(const size_t *)b].size;

	if (x != y)
		return x < y ? 1 : -1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static void
add_file(struct dbm_upload *u, const char *local, const char *rel,
    long long size)
{
	struct dbm_upload_file *f;

	u->files = dbm_xrealloc(u->files, (u->n + 1) * sizeof(*u->files));
	f = &u->files[u->n++];
	memset(f, 0, sizeof(*f));
	f->local = dbm_xstrdup(local);
	f->rel = dbm_xstrdup(rel);
	f->size = size;
	u->bytes += size;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directories on the path being walked: a symbolic link back into
 * one of them is a loop. */
struct seen {
	dev_t dev;
	ino_t ino;
	const struct seen *up;
};

/* Whether path (a symbolic link) stays inside root; *to gets its target. */
static int
inside(const char *path, const char *root, char **to)
{
	char *real = realpath(path, NULL);
	size_t n = strlen(root);
	int in;

	*to = real;
	if (real == NULL)
		return 0;
	in = strcmp(root, "/") == 0 || (strncmp(real, root, n) == 0 &&
	    (real[n] == '/' || real[n] == '\0'));
	return in;
}

/* Add the files under dir (sorted, recursively); rel is their prefix.
 * Symbolic links are followed when they stay inside root (the source
 * tree), anywhere with -L; a link out of the tree is refused, naming it
 * (a stray link to ~/.databrickscfg must not be published). */
static int
walk(struct dbm_upload *u, const char *dir, const char *rel, const char *root,
    const struct seen *up, struct dbm_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat ds;
	struct seen me;
	const struct seen *s;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (d == NULL)
		return dbm_err_sys(e, "%s", dir);
	if (fstat(dirfd(d), &ds) == 0) {
		for (s = up; s; s = s->up)
			if (s->dev == ds.st_dev && s->ino == ds.st_ino) {
				closedir(d);
				return dbm_errf(e, DBM_E_CONFIG, "%s: a symbolic "
				    "link loop (a directory within itself)", dir);
			}
		me.dev = ds.st_dev;
		me.ino = ds.st_ino;
	}
	me.up = up;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = dbm_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = dbm_xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && rc == 0; i++) {
		struct dbm_buf p = DBM_BUF_INIT, r = DBM_BUF_INIT;
		struct stat st, ls;
		char *to = NULL;

		dbm_buf_printf(&p, "%s/%s", dir, names[i]);
		dbm_buf_printf(&r, "%s%s%s", rel, *rel ? "/" : "", names[i]);
		if (lstat(p.data, &ls) == 0 && S_ISLNK(ls.st_mode) &&
		    !u->o.follow_links && !inside(p.data, root, &to)) {
			rc = dbm_errf(e, DBM_E_CONFIG, "%s: a symbolic link out "
			    "of the source tree (to %s): give -L to follow it",
			    p.data, to ? to : "nothing");
		} else if (stat(p.data, &st) < 0) {
			rc = dbm_err_sys(e, "%s", p.data);
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(u, p.data, r.data, root, &me, e);
		} else if (S_ISREG(st.st_mode)) {
			if (access(p.data, R_OK) < 0)
				rc = dbm_err_sys(e, "%s", p.data);
			else
				add_file(u, p.data, r.data, (long long)st.st_size);
		} else {
			rc = dbm_errf(e, DBM_E_CONFIG, "%s: not a regular file "
			    "or directory", p.data);
		}
		free(to);
		dbm_buf_free(&p);
		dbm_buf_free(&r);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
dbm_upload_plan(struct dbm_upload *u, char *const *src, int nsrc,
    const char *dest, const struct dbm_upload_opts *o, struct dbm_err *e)
{
	int i, into, single = 0;
	size_t k;
	char **remotes;

	memset(u, 0, sizeof(*u));
	u->o = *o;
	if (u->o.jobs < 1)
		u->o.jobs = 1;
	if (u->o.dbfs_put_max <= 0)
		u->o.dbfs_put_max = 2000LL * 1000 * 1000;
	if (u->o.block <= 0)
		u->o.block = 1024 * 1024;
	if (u->o.files_put_max <= 0)
		u->o.files_put_max = 5LL << 30;
	if (u->o.part_size <= 0)
		u->o.part_size = 64LL << 20;
	if (dbm_remote_parse(dest, &u->dest, e) < 0)
		return -1;
	for (i = 0; i < nsrc; i++) {
		struct stat st;

		if (stat(src[i], &st) < 0)
			return dbm_err_sys(e, "%s", src[i]);
		if (S_ISDIR(st.st_mode)) {
			if (!o->recursive)
				return dbm_errf(e, DBM_E_CONFIG, "%s: is a "
				    "directory (use -r)", src[i]);
			char *root = realpath(src[i], NULL);
			int rc;

			if (root == NULL)
				return dbm_err_sys(e, "%s", src[i]);
			rc = walk(u, src[i], "", root, NULL, e);
			free(root);
			if (rc < 0)
				return -1;
		} else if (S_ISREG(st.st_mode)) {
			if (access(src[i], R_OK) < 0)
				return dbm_err_sys(e, "%s", src[i]);
			add_file(u, src[i], base_name(src[i]),
			    (long long)st.st_size);
			single = nsrc == 1;
		} else {
			return dbm_errf(e, DBM_E_CONFIG, "%s: not a regular "
			    "file or directory", src[i]);
		}
	}
	/* cp: one plain file to a path not ending in '/' is that path;
	 * anything else goes under DEST */
	into = !(single && !u->dest.dir && !o->content_addressed &&
	    strcmp(u->dest.path, "/") != 0);
	if (into && u->dest.kind != DBM_REMOTE_DBFS &&
	    strcmp(u->dest.path, "/Workspace") == 0)
		return dbm_errf(e, DBM_E_USAGE, "%s: not a place for files",
		    dest);
	for (k = 0; k < u->n; k++) {
		const char *c;

		/* a name the workspace refuses is refused here, before any
		 * other file is sent */
		for (c = u->files[k].rel; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return dbm_errf(e, DBM_E_USAGE, "%s: a control "
				    "character (\\x%02x) in the name: Databricks "
				    "paths cannot hold one; rename it",
				    u->files[k].local, (unsigned char)*c);
		if (o->content_addressed)
			continue;	/* known once hashed */
		u->files[k].remote = into ? dbm_remote_join(&u->dest,
		    u->files[k].rel) : dbm_xstrdup(u->dest.path);
	}
	if (o->content_addressed || u->n < 2)
		return 0;
	remotes = dbm_xcalloc(u->n, sizeof(*remotes));
	for (k = 0; k < u->n; k++)
		remotes[k] = u->files[k].remote;
	qsort(remotes, u->n, sizeof(*remotes), cmp_str);
	for (k = 1; k < u->n; k++) {
		if (strcmp(remotes[k - 1], remotes[k]) == 0) {
			dbm_errf(e, DBM_E_USAGE, "two sources would both go to "
			    "%s", remotes[k]);
			free(remotes);
			return -1;
		}
	}
	free(remotes);
	return 0;
}

void
dbm_upload_free(struct dbm_upload *u)
{
	size_t i;

	for (i = 0; i < u->n; i++) {
		free(u->files[i].local);
		free(u->files[i].rel);
		free(u->files[i].remote);
	}
	free(u->files);
	dbm_remote_free(&u->dest);
	memset(u, 0, sizeof(*u));
}

static int
hash_file(int fd, char hex[65], struct dbm_err *e, const char *name)
{
	static __thread unsigned char buf[256 * 1024];
	struct dbm_sha256 s;
	unsigned char md[DBM_SHA256_LEN];
	off_t off = 0;
	ssize_t n;

	dbm_sha256_init(&s);
	while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dbm_err_sys(e, "%s", name);
		dbm_sha256_update(&s, buf, (size_t)n);
		off += n;
	}
	dbm_sha256_final(&s, md);
	dbm_hex(md, sizeof(md), hex);
	return 0;
}


static void
on_bytes(void *arg, long long delta)
{
	dbm_progress_bytes(arg, delta);
}

static int
exists_error(struct dbm_upload *u, struct dbm_upload_file *f,
    struct dbm_err *e)
{
	char *uri = dbm_remote_uri(u->dest.kind, f->remote);

	dbm_errf(e, DBM_E_CONFIG, "%s: already exists (use -f to overwrite)",
	    uri);
	free(uri);
	return -1;
}


static int
dbfs_call(struct dbm_http *h, const char *op, struct dbm_buf *body,
    int idempotent, struct dbm_json *out, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT;
	int rc;

	dbm_buf_printf(&url, "/api/2.0/dbfs/%s", op);
	rc = dbm_http_json(h, "POST", url.data, body->data, idempotent, out, e);
	dbm_buf_free(&url);
	return rc;
}

static void
json_path_body(struct dbm_buf *b, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *bk, int bv)
{
	struct dbm_jw w;

	dbm_buf_reset(b);
	dbm_jw_init(&w, b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, k1);
	dbm_jw_str(&w, v1);
	if (k2) {
		dbm_jw_key(&w, k2);
		dbm_jw_str(&w, v2);
	}
	if (bk) {
		dbm_jw_key(&w, bk);
		dbm_jw_bool(&w, bv);
	}
	dbm_jw_obj_end(&w);
}

static int dbfs_move(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, const char *tmp, struct dbm_err *e);
static const char *ws_path(const char *p);

/* One entry of a listing: keep name when it is a folder. */
static void
keep_dir(struct priv *pv, const char *path, int dir)
{
	size_t n = strlen(path), s;

	while (n > 1 && path[n - 1] == '/')	/* folders may end in / */
		n--;
	for (s = n; s > 0 && path[s - 1] != '/'; s--)
		;
	if (!dir || n == s)
		return;
	pv->hashdirs = dbm_xrealloc(pv->hashdirs, (pv->nhashdirs + 1) *
	    sizeof(*pv->hashdirs));
	pv->hashdirs[pv->nhashdirs++] = dbm_xstrndup(path + s, n - s);
}

/* -c: the folders under the destination, in one listing (the Files API's
 * in pages); a destination that does not exist holds none. */
static void
list_dest(struct dbm_upload *u, struct dbm_http *h)
{
	struct priv *pv = u->priv;
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err e;
	char *token = NULL;
	int arr, i, n, rc;

	do {
		dbm_buf_reset(&url);
		if (u->dest.kind == DBM_REMOTE_DBFS) {
			dbm_buf_adds(&url, "/api/2.0/dbfs/list?path=");
			dbm_url_encode(&url, u->dest.path, 0);
		} else if (u->dest.kind == DBM_REMOTE_VOLUME) {
			dbm_buf_adds(&url, "/api/2.0/fs/directories");
			dbm_url_encode(&url, u->dest.path, 1);
			if (token) {
				dbm_buf_adds(&url, "?page_token=");
				dbm_url_encode(&url, token, 0);
			}
		} else {
			dbm_buf_adds(&url, "/api/2.0/workspace/list?path=");
			dbm_url_encode(&url, ws_path(u->dest.path), 0);
		}
		free(token);
		token = NULL;
		rc = dbm_http_json(h, "GET", url.data, NULL, 1, &j, &e);
		if (rc < 0) {
			pv->listed = e.status == 404;
			break;
		}
		arr = dbm_json_member(&j, 0, u->dest.kind == DBM_REMOTE_DBFS ?
		    "files" : u->dest.kind == DBM_REMOTE_VOLUME ? "contents" :
		    "objects");
		n = dbm_json_count(&j, arr);
		for (i = 0; i < n; i++) {
			int o = dbm_json_elem(&j, arr, i), dir = 0;
			char *p = dbm_json_strdup(&j, dbm_json_member(&j, o,
			    "path")), *type;

			if (u->dest.kind == DBM_REMOTE_WORKSPACE) {
				type = dbm_json_strdup(&j, dbm_json_member(&j, o,
				    "object_type"));
				dir = type && strcmp(type, "DIRECTORY") == 0;
				free(type);
			} else {
				dbm_json_bool(&j, dbm_json_member(&j, o,
				    u->dest.kind == DBM_REMOTE_DBFS ? "is_dir" :
				    "is_directory"), &dir);
			}
			if (p)
				keep_dir(pv, p, dir);
			free(p);
		}
		if (u->dest.kind == DBM_REMOTE_VOLUME)
			token = dbm_json_get_str(&j, "next_page_token");
		dbm_json_free(&j);
		pv->listed = 1;
	} while (token && *token);
	free(token);
	dbm_buf_free(&url);
	qsort(pv->hashdirs, pv->nhashdirs, sizeof(*pv->hashdirs), cmp_str);
}

/* -c: what the listing and the record say of a file before any request:
 * 2 there (recorded, its hash folder listed), 1 surely not there (no such
 * folder), 0 not known (ask). */
static int
ca_state(struct dbm_upload *u, const struct dbm_upload_file *f)
{
	struct priv *pv = u->priv;
	char dir[DBM_CA_HEX + 1];
	const char *key = dir;
	int listed;

	if (!pv->listed)
		return 0;
	memcpy(dir, f->sha256, DBM_CA_HEX);
	dir[DBM_CA_HEX] = '\0';
	listed = bsearch(&key, pv->hashdirs, pv->nhashdirs,
	    sizeof(*pv->hashdirs), cmp_str) != NULL;
	if (!listed)
		return 1;
	return dbm_uploadrec_has(pv->rec, f->remote, f->size) ? 2 : 0;
}

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

/* create / add-block / close: add-block is not idempotent, so a failed
 * block restarts the whole file from create (with overwrite). */
static int
dbfs_stream(struct dbm_upload *u, struct dbm_http *h, int fd,
    const char *path, struct dbm_err *e)
{
	struct dbm_buf body = DBM_BUF_INIT;
	struct dbm_json j;
	unsigned char *raw = dbm_xmalloc((size_t)u->o.block);
	char *b64 = dbm_xmalloc((size_t)u->o.block / 3 * 4 + 8);
	long long handle, off;
	int attempt, rc = -1;
	ssize_t n;

	for (attempt = 0; attempt < 3 && rc < 0; attempt++) {
		json_path_body(&body, "path", path, NULL, NULL, "overwrite", 1);
		if (dbfs_call(h, "create", &body, 1, &j, e) < 0)
			break;
		if (dbm_json_get_int(&j, "handle", &handle) < 0) {
			dbm_json_free(&j);
			dbm_errf(e, DBM_E_API, "dbfs/create: no handle");
			break;
		}
		dbm_json_free(&j);
		for (off = 0;; off += n) {
			n = pread(fd, raw, (size_t)u->o.block, off);
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n < 0) {
				dbm_err_sys(e, "read");
				goto out;
			}
			if (n == 0)
				break;
			EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
			dbm_buf_reset(&body);
			dbm_buf_printf(&body, "{\"handle\":%lld,\"data\":\"%s\"}",
			    handle, b64);
			if (dbfs_call(h, "add-block", &body, 0, NULL, e) < 0)
				break;
			dbm_progress_bytes(&u->progress, n);
		}
		if (n != 0)
			continue;	/* a block failed: start again */
		dbm_buf_reset(&body);
		dbm_buf_printf(&body, "{\"handle\":%lld}", handle);
		if (dbfs_call(h, "close", &body, 0, NULL, e) == 0)
			rc = 0;
	}
out:
	free(raw);
	free(b64);
	dbm_buf_free(&body);
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
	m.name = base_name(f->local);
	m.path = f->remote;
	m.overwrite = u->o.overwrite && !u->o.content_addressed;
	m.fd = fd;
	m.size = f->size;
	dbm_req_init(&r, "POST", "/api/2.0/dbfs/put");
	r.mime = build_mime;
	r.mime_arg = &m;
	r.idempotent = 1;	/* the same bytes to the same path */
	r.progress = on_bytes;
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
		} else if (resp.attempts > 1 && dbm_dbfs_status(h, f->remote,
		    &size, &dir, &e2) == 1 && !dir && size == f->size) {
			rc = 1;		/* our own first attempt */
		} else {
			exists_error(u, f, e);
		}
	}
	dbm_resp_free(&resp);
	return rc;
}

static int
dbfs_upload(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, struct dbm_err *e)
{
	struct dbm_buf tmp = DBM_BUF_INIT, body = DBM_BUF_INIT;
	long long size;
	int dir, st = 0, rc = -1;
	unsigned char rnd[6];
	char rhex[13];
	const char *slash = strrchr(f->remote, '/');

	if (u->o.content_addressed && (st = ca_state(u, f)) == 2) {
		f->skipped = 1;
		return 0;
	}
	if (u->o.content_addressed && st == 0) {
		/* there already: nothing to send */
		st = dbm_dbfs_status(h, f->remote, &size, &dir, e);
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
	    (st = dbm_dbfs_status(h, f->remote, &size, &dir, e)) != 0)
		return st < 0 ? -1 : exists_error(u, f, e);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return dbm_err_sys(e, "getrandom");
	dbm_hex(rnd, sizeof(rnd), rhex);
	dbm_buf_printf(&tmp, "%.*s/.%s.dbmlops-%s.tmp", (int)(slash -
	    f->remote), f->remote, slash + 1, rhex);
	if (dbfs_stream(u, h, fd, tmp.data, e) == 0)
		rc = dbfs_move(u, h, f, tmp.data, e);
	if (rc < 0) {	/* leave no temporary behind */
		struct dbm_err e2;

		json_path_body(&body, "path", tmp.data, NULL, NULL, "recursive",
		    0);
		dbfs_call(h, "delete", &body, 1, NULL, &e2);
	}
	dbm_buf_free(&tmp);
	dbm_buf_free(&body);
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
	struct dbm_buf body = DBM_BUF_INIT;
	struct dbm_err e2;
	long long size;
	int dir, attempt, rc = -1, races = 0;

	for (attempt = 0; attempt < 5 + races; attempt++) {
		json_path_body(&body, "source_path", tmp, "destination_path",
		    f->remote, NULL, 0);
		if (dbfs_call(h, "move", &body, 0, NULL, e) == 0) {
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
				exists_error(u, f, e);
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
			json_path_body(&body, "path", f->remote, NULL, NULL,
			    "recursive", 0);
			if (dbfs_call(h, "delete", &body, 1, NULL, e) < 0)
				break;
			continue;
		}
		if (e->kind != DBM_E_NET)
			break;
		if (dbm_dbfs_status(h, tmp, &size, &dir, &e2) != 0) {
			/* still there (or unknown): the move did not happen */
			continue;
		}
		if (dbm_dbfs_status(h, f->remote, &size, &dir, &e2) == 1 &&
		    size == f->size)
			rc = 0;
		break;
	}
	dbm_buf_free(&body);
	return rc;
}

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
	r.progress = on_bytes;
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
		if ((rc = dbm_http_json(h, "POST",
		    "/api/2.0/fs/create-upload-part-urls", body.data, 1, &j,
		    e)) < 0)
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
			exists_error(u, f, e);
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
volume_upload(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f, int fd, struct dbm_err *e)
{
	struct dbm_buf url = DBM_BUF_INIT, head = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	long long size;
	int rc = -1, st = 0;

	dbm_buf_adds(&head, "/api/2.0/fs/files");
	dbm_url_encode(&head, f->remote, 1);
	dbm_buf_printf(&url, "%s?overwrite=%s", head.data,
	    u->o.overwrite || u->o.content_addressed ? "true" : "false");
	if (u->o.content_addressed && (st = ca_state(u, f)) == 2) {
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
	r.progress = on_bytes;
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
			exists_error(u, f, e);
	}
out:
	dbm_resp_free(&resp);
	dbm_buf_free(&url);
	dbm_buf_free(&head);
	return rc;
}

/* Workspace paths in the API have no /Workspace prefix. */
static const char *
ws_path(const char *p)
{
	return strncmp(p, "/Workspace/", 11) == 0 ? p + 10 : p;
}

static int
ws_mkdirs(struct dbm_upload *u, struct dbm_http *h, const char *dir,
    struct dbm_err *e)
{
	struct priv *pv = u->priv;
	struct dbm_buf body = DBM_BUF_INIT;
	int i, rc;

	pthread_mutex_lock(&pv->mu);
	for (i = 0; i < pv->ndirs; i++) {
		if (strcmp(pv->dirs[i], dir) == 0) {
			pthread_mutex_unlock(&pv->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&pv->mu);
	json_path_body(&body, "path", ws_path(dir), NULL, NULL, NULL, 0);
	rc = dbm_http_json(h, "POST", "/api/2.0/workspace/mkdirs", body.data, 1,
	    NULL, e);
	dbm_buf_free(&body);
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
	struct dbm_buf url = DBM_BUF_INIT;
	struct dbm_json j;
	int rc;

	dbm_buf_adds(&url, "/api/2.0/workspace/get-status?path=");
	dbm_url_encode(&url, ws_path(path), 0);
	rc = dbm_http_json(h, "GET", url.data, NULL, 1, &j, e);
	dbm_buf_free(&url);
	if (rc < 0)
		return e->status == 404 ? 0 : -1;
	*size = -1;
	dbm_json_get_int(&j, "size", size);
	dbm_json_free(&j);
	return 1;
}

static int
ws_upload(struct dbm_upload *u, struct dbm_http *h,
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
	if (u->o.content_addressed && ca_state(u, f) == 2) {
		f->skipped = 1;
		rc = 0;
		goto out;
	}
	if (u->o.content_addressed && ca_state(u, f) == 0) {
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
	dbm_buf_adds(&url, "/api/2.0/workspace-files/import-file");
	dbm_url_encode(&url, ws_path(f->remote), 1);
	dbm_buf_printf(&url, "?overwrite=%s", u->o.overwrite ||
	    u->o.content_addressed ? "true" : "false");
	dbm_req_init(&r, "POST", url.data);
	r.content_type = "application/octet-stream";
	r.body_fd = fd;
	r.body_size = f->size;
	/* repeated after a lost answer, a 409 may be our own first attempt:
	 * the size tells (as for volumes) */
	r.idempotent = 1;
	r.progress = on_bytes;
	r.progress_arg = &u->progress;
	if (dbm_http_do(h, &r, &resp, e) == 0)
		rc = 0;
	else if (e->status == 409 && resp.attempts > 1 &&
	    ws_size(h, f->remote, &size, &e2) == 1 && size == f->size)
		rc = 0;
	else if (e->status == 409)
		exists_error(u, f, e);
out:
	dbm_resp_free(&resp);
	dbm_buf_free(&url);
	free(dir);
	return rc;
}

/* The content-addressed destination: DEST/<hash prefix>/<file name>. */
static void
ca_remote(struct dbm_upload *u, struct dbm_upload_file *f)
{
	struct dbm_buf rel = DBM_BUF_INIT;

	dbm_buf_printf(&rel, "%.*s/%s", DBM_CA_HEX, f->sha256,
	    base_name(f->rel));
	f->remote = dbm_remote_join(&u->dest, rel.data);
	dbm_buf_free(&rel);
}

/* Whether the open file is no longer what st saw (size, data or inode
 * change times). */
static int
changed(int fd, const struct stat *st)
{
	struct stat now;

	return fstat(fd, &now) < 0 || now.st_size != st->st_size ||
	    now.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != st->st_mtim.tv_nsec ||
	    now.st_ctim.tv_sec != st->st_ctim.tv_sec ||
	    now.st_ctim.tv_nsec != st->st_ctim.tv_nsec;
}

/* Delete an uploaded file (errors ignored: the failure is reported). */
static void
remove_remote(struct dbm_upload *u, struct dbm_http *h,
    struct dbm_upload_file *f)
{
	struct dbm_buf body = DBM_BUF_INIT, url = DBM_BUF_INIT;
	struct dbm_req r;
	struct dbm_resp resp = {0};
	struct dbm_err e;

	switch (u->dest.kind) {
	case DBM_REMOTE_DBFS:
		json_path_body(&body, "path", f->remote, NULL, NULL, "recursive",
		    0);
		dbfs_call(h, "delete", &body, 1, NULL, &e);
		break;
	case DBM_REMOTE_VOLUME:
		dbm_buf_adds(&url, "/api/2.0/fs/files");
		dbm_url_encode(&url, f->remote, 1);
		dbm_req_init(&r, "DELETE", url.data);
		r.idempotent = 1;
		dbm_http_do(h, &r, &resp, &e);
		break;
	case DBM_REMOTE_WORKSPACE:
		json_path_body(&body, "path", ws_path(f->remote), NULL, NULL,
		    "recursive", 0);
		dbm_http_json(h, "POST", "/api/2.0/workspace/delete", body.data,
		    1, NULL, &e);
		break;
	}
	dbm_resp_free(&resp);
	dbm_buf_free(&body);
	dbm_buf_free(&url);
}

static int
one(size_t i, int worker, void *arg)
{
	struct dbm_upload *u = arg;
	struct priv *pv = u->priv;
	struct dbm_upload_file *f = &u->files[pv->order[i]];
	struct dbm_err e;
	struct stat st;
	int fd, rc = -1;

	dbm_err_clear(&e);
	pthread_mutex_lock(&pv->mu);
	if (pv->abort) {
		pthread_mutex_unlock(&pv->mu);
		f->failed = 1;
		return 1;
	}
	pthread_mutex_unlock(&pv->mu);
	fd = open(f->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		dbm_err_sys(&e, "%s", f->local);
		goto out;
	}
	if ((long long)st.st_size != f->size) {
		dbm_errf(&e, DBM_E_INPUT, "changed since it was listed (%lld "
		    "bytes, now %lld): not sent; run again once it is written",
		    f->size, (long long)st.st_size);
		goto out;
	}
	if (u->o.want_sha || u->o.content_addressed) {
		if (dbm_hashcache_get(pv->cache, f->local, &st, f->sha256) < 0) {
			if (hash_file(fd, f->sha256, &e, f->local) < 0)
				goto out;
			dbm_hashcache_put(pv->cache, f->local, &st, f->sha256);
		}
	}
	if (u->o.content_addressed && f->remote == NULL)
		ca_remote(u, f);
	if (u->o.dry_run) {
		rc = 0;
		goto out;
	}
	switch (u->dest.kind) {
	case DBM_REMOTE_DBFS:
		rc = dbfs_upload(u, &pv->http[worker], f, fd, &e);
		break;
	case DBM_REMOTE_VOLUME:
		rc = volume_upload(u, &pv->http[worker], f, fd, &e);
		break;
	case DBM_REMOTE_WORKSPACE:
		rc = ws_upload(u, &pv->http[worker], f, fd, &e);
		break;
	}
	if (rc == 0 && !f->skipped && changed(fd, &st)) {
		/* the bytes sent may mix the old file and the new: a
		 * content-addressed copy would not match its name */
		if (u->o.content_addressed)
			remove_remote(u, &pv->http[worker], f);
		dbm_errf(&e, DBM_E_INPUT, "changed while it was being sent: %s; "
		    "run again once it is written", u->o.content_addressed ?
		    "the upload was removed" : "what arrived may mix old and new "
		    "bytes");
		rc = -1;
	}
	if (rc == 0 && u->o.content_addressed)
		dbm_uploadrec_add(pv->rec, f->remote, f->size);
out:
	if (fd >= 0)
		close(fd);
	if (f->skipped)
		dbm_progress_bytes(&u->progress, f->size);
	dbm_progress_file(&u->progress);
	if (rc < 0) {
		char msg[2048];

		f->failed = 1;
		dbm_err_fmt(&e, msg, sizeof(msg));
		pthread_mutex_lock(&pv->mu);
		dbm_progress_clear(&u->progress);
		if (!pv->abort)
			fprintf(stderr, "%s: %s: %s\n", dbm_prog(), f->local,
			    msg);
		if (e.kind == DBM_E_AUTH)
			pv->abort = u->auth_failed = 1;
		pthread_mutex_unlock(&pv->mu);
	}
	return rc < 0;
}

size_t
dbm_upload_run(struct dbm_upload *u, struct dbm_auth *auth, const char *tool)
{
	struct priv pv;
	struct dbm_err e;
	size_t failed;
	int i;

	memset(&pv, 0, sizeof(pv));
	pthread_mutex_init(&pv.mu, NULL);
	u->priv = &pv;
	u->auth = auth;
	u->tool = tool;
	pv.nhttp = u->o.jobs;
	pv.http = dbm_xcalloc((size_t)pv.nhttp, sizeof(*pv.http));
	for (i = 0; i < pv.nhttp && !u->o.dry_run; i++) {
		if (dbm_client_init(&pv.http[i], auth, tool, &e) < 0) {
			dbm_err_print(&e);
			return u->n;
		}
		pv.http[i].verbose = u->o.verbose;
	}
	if (u->o.want_sha || u->o.content_addressed)
		pv.cache = dbm_hashcache_open();
	if (u->o.content_addressed && !u->o.dry_run) {
		pv.rec = dbm_uploadrec_open(auth->host);
		list_dest(u, &pv.http[0]);
	}
	dbm_progress_init(&u->progress, (long long)u->n, u->bytes,
	    u->o.quiet || u->o.dry_run);
	/* largest first: a big file that sorts last by name would otherwise
	 * start after all the small ones, and the run take their sum */
	pv.order = dbm_xcalloc(u->n + 1, sizeof(*pv.order));
	for (i = 0; (size_t)i < u->n; i++)
		pv.order[i] = (size_t)i;
	sort_u = u;
	qsort(pv.order, u->n, sizeof(*pv.order), by_size);
	failed = dbm_pool_run(u->o.jobs, u->n, one, u);
	free(pv.order);
	dbm_progress_done(&u->progress);
	dbm_hashcache_close(pv.cache);
	dbm_uploadrec_close(pv.rec);
	for (i = 0; (size_t)i < pv.nhashdirs; i++)
		free(pv.hashdirs[i]);
	free(pv.hashdirs);
	for (i = 0; i < pv.nhttp && !u->o.dry_run; i++)
		dbm_http_free(&pv.http[i]);
	free(pv.http);
	for (i = 0; i < pv.ndirs; i++)
		free(pv.dirs[i]);
	free(pv.dirs);
	pthread_mutex_destroy(&pv.mu);
	u->priv = NULL;
	return failed;
}
