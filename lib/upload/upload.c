/*
 * Upload engine: see upload.h. Here the plan (sources to destinations),
 * the workers (one per parallel transfer, each with its own HTTP client;
 * files streamed from disk, read by offset) and content addressing (the
 * destination's listing, the record of uploads); the senders of each
 * destination kind are upload_dbfs.c and upload_files.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "hashcache.h"
#include "uploadrec.h"
#include "http.h"
#include "token.h"
#include "json.h"
#include "pool.h"
#include "sha.h"
#include "upload.h"
#include "upload_int.h"

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

/* A file to send; local, rel and abs are the caller's, now the plan's. */
static void
add_file(struct dbm_upload *u, char *local, char *rel, char *abs,
    const struct stat *st)
{
	struct dbm_upload_file *f;

	if (u->n == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 64;
		u->files = dbm_xrealloc(u->files, u->cap * sizeof(*u->files));
	}
	f = &u->files[u->n++];
	memset(f, 0, sizeof(*f));
	f->local = local;
	f->rel = rel;
	f->abs = abs;
	f->st = *st;
	f->size = (long long)st->st_size;
	u->bytes += f->size;
}

/* The directories on the path being walked: a symbolic link back into
 * one of them is a loop. */
struct seen {
	dev_t dev;
	ino_t ino;
	const struct seen *up;
};

/* Whether path (a symbolic link) stays inside root; *to gets its target.
 * -1 with errno when it leads nowhere (ELOOP: a loop; ENOENT: dangling). */
static int
inside(const char *path, const char *root, char **to)
{
	char *real = realpath(path, NULL);
	size_t n = strlen(root);
	int in;

	*to = real;
	if (real == NULL)
		return -1;
	in = strcmp(root, "/") == 0 || (strncmp(real, root, n) == 0 &&
	    (real[n] == '/' || real[n] == '\0'));
	return in;
}

/* Whether the file name in dfd, as st, can be read: its own user's file
 * answers from its mode bits (exact for the owner, ACLs included: the
 * owner class is those bits), root reads anything, anyone else asks. */
static int
readable(int dfd, const char *name, const struct stat *st, uid_t me)
{
	if (me == 0)
		return 1;
	if (st->st_uid == me) {
		if (st->st_mode & S_IRUSR)
			return 1;
		errno = EACCES;
		return 0;
	}
	return faccessat(dfd, name, R_OK, 0) == 0;
}

/* a, then sep, then b, in a string of its own: per file, cheaper than a
 * printf */
static char *
join(const char *a, const char *sep, const char *b)
{
	size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
	char *s = dbm_xmalloc(na + ns + nb + 1);

	memcpy(s, a, na);
	memcpy(s + na, sep, ns);
	memcpy(s + na + ns, b, nb + 1);
	return s;
}

/* Add the files under dir (sorted, recursively); rel is their prefix and
 * abs the directory's absolute path (the digest cache's keys grow from it:
 * one realpath a source, not one a file). Symbolic links are followed when
 * they stay inside root (the source tree), anywhere with -L; a link out of
 * the tree is refused, naming it (a stray link to ~/.databrickscfg must not
 * be published). One lstat a file, relative to its open directory; a link
 * costs a stat and a realpath more. */
static int
walk(struct dbm_upload *u, const char *dir, const char *rel, const char *abs,
    const char *root, const struct seen *up, struct dbm_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat ds;
	struct seen me;
	const struct seen *s;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0, dfd;
	uid_t uid = geteuid();

	if (d == NULL)
		return dbm_err_sys(e, "%s", dir);
	dfd = dirfd(d);
	if (fstat(dfd, &ds) == 0) {
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
		if ((n & (n - 1)) == 0)	/* 0, 1, 2, 4, ...: doubled */
			names = dbm_xrealloc(names, (n ? 2 * n : 1) *
			    sizeof(*names));
		names[n++] = dbm_xstrdup(de->d_name);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), dbm_upload_cmp_str);
	for (i = 0; i < n && rc == 0; i++) {
		char *p = join(dir, "/", names[i]);
		char *r = join(rel, *rel ? "/" : "", names[i]);
		char *a = join(abs, strcmp(abs, "/") ? "/" : "", names[i]);
		struct stat st;
		char *to = NULL;
		int in;

		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = dbm_err_sys(e, "%s", p);
		else if (S_ISLNK(st.st_mode) && !u->o.follow_links &&
		    (in = inside(p, root, &to)) <= 0)
			rc = in < 0 ? dbm_errf(e, DBM_E_CONFIG, "%s: a symbolic "
			    "link %s", p, errno == ELOOP ? "loop (it leads back "
			    "to itself)" : "to nothing") : dbm_errf(e,
			    DBM_E_CONFIG, "%s: a symbolic link out of the source "
			    "tree (to %s): give -L to follow it", p, to);
		else if (S_ISLNK(st.st_mode) && stat(p, &st) < 0)
			rc = dbm_err_sys(e, "%s", p);
		else if (S_ISDIR(st.st_mode))
			rc = walk(u, p, r, a, root, &me, e);
		else if (!S_ISREG(st.st_mode))
			rc = dbm_errf(e, DBM_E_CONFIG, "%s: not a regular file "
			    "or directory", p);
		else if (!readable(dfd, names[i], &st, uid))
			rc = dbm_err_sys(e, "%s", p);
		else {
			add_file(u, p, r, a, &st);
			p = r = a = NULL;
		}
		free(to);
		free(p);
		free(r);
		free(a);
	}
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* A limit: as given (> 0), else the environment's variable, else the
 * service's. */
static long long
limit(long long given, const char *var, long long service)
{
	const char *v = getenv(var);
	char *end;
	long long n;

	if (given > 0)
		return given;
	if (v && *v && (n = strtoll(v, &end, 10)) > 0 && *end == '\0')
		return n;
	return service;
}

/* The service limits an upload works within (PROTOCOL.md sections 1
 * and 2), lowerable from the environment for tests: the same for a batch
 * and for dbm_upload_once. */
static void
limits(struct dbm_upload_opts *o)
{
	o->dbfs_put_max = limit(o->dbfs_put_max, "DBMLOPS_DBFS_PUT_MAX",
	    2000LL * 1000 * 1000);
	o->block = limit(o->block, "DBMLOPS_DBFS_BLOCK", 1024 * 1024);
	o->files_put_max = limit(o->files_put_max, "DBMLOPS_FILES_PUT_MAX",
	    5LL << 30);
	o->part_size = limit(o->part_size, "DBMLOPS_FILES_PART_SIZE",
	    64LL << 20);
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
	limits(&u->o);
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
			rc = walk(u, src[i], "", root, root, NULL, e);
			free(root);
			if (rc < 0)
				return -1;
		} else if (S_ISREG(st.st_mode)) {
			char *abs = realpath(src[i], NULL);

			if (abs == NULL || access(src[i], R_OK) < 0) {
				free(abs);
				return dbm_err_sys(e, "%s", src[i]);
			}
			add_file(u, dbm_xstrdup(src[i]), dbm_xstrdup(
			    dbm_upload_base_name(src[i])), abs, &st);
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
	qsort(remotes, u->n, sizeof(*remotes), dbm_upload_cmp_str);
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
		free(u->files[i].abs);
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


const struct dbm_upload_ops *
dbm_upload_ops_of(int kind)
{
	switch (kind) {
	case DBM_REMOTE_VOLUME:
		return &dbm_upload_volume_ops;
	case DBM_REMOTE_WORKSPACE:
		return &dbm_upload_workspace_ops;
	case DBM_REMOTE_DBFS:
	default:
		return &dbm_upload_dbfs_ops;
	}
}

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
	const struct dbm_upload_ops *ops = dbm_upload_ops_of(u->dest.kind);
	struct priv *pv = u->priv;
	struct dbm_json j;
	struct dbm_err e;
	char *token = NULL;
	int arr, i, n, o, rc;

	do {
		rc = ops->list(h, u->dest.path, token, &j, &e);
		free(token);
		token = NULL;
		if (rc < 0) {
			pv->listed = e.status == 404;
			break;
		}
		arr = dbm_json_member(&j, 0, ops->entries);
		n = dbm_json_count(&j, arr);
		for (i = 0, o = arr + 1; i < n; i++, o = dbm_json_skip(&j, o)) {
			int dir = 0;
			char *p = dbm_json_strdup(&j, dbm_json_member(&j, o,
			    "path")), *type;

			if (ops->is_dir == NULL) {
				type = dbm_json_strdup(&j, dbm_json_member(&j, o,
				    "object_type"));
				dir = type && strcmp(type, "DIRECTORY") == 0;
				free(type);
			} else {
				dbm_json_bool(&j, dbm_json_member(&j, o,
				    ops->is_dir), &dir);
			}
			if (p)
				keep_dir(pv, p, dir);
			free(p);
		}
		if (ops->next_page)
			token = dbm_json_get_str(&j, ops->next_page);
		dbm_json_free(&j);
		pv->listed = 1;
	} while (token && *token);
	free(token);
	if (pv->nhashdirs > 0)	/* qsort and bsearch want an array */
		qsort(pv->hashdirs, pv->nhashdirs, sizeof(*pv->hashdirs),
		    dbm_upload_cmp_str);
}

static void *
list_thread(void *arg)
{
	struct dbm_upload *u = arg;

	list_dest(u, &((struct priv *)u->priv)->http[0]);
	return NULL;
}

/* The content-addressed destination: DEST/<hash prefix>/<file name>. */
static void
ca_remote(struct dbm_upload *u, struct dbm_upload_file *f)
{
	struct dbm_buf rel = DBM_BUF_INIT;

	dbm_buf_printf(&rel, "%.*s/%s", DBM_CA_HEX, f->sha256,
	    dbm_upload_base_name(f->rel));
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
	struct dbm_err e;

	dbm_upload_ops_of(u->dest.kind)->remove(h, f->remote, &e);
}

/* -c: a file whose digest is cached for what the plan saw, and whose
 * upload is both recorded and listed, needs no request and no open (an
 * unchanged tree of any size costs its listing and a stat a file). */
static int
already_there(struct dbm_upload *u, struct dbm_upload_file *f)
{
	struct priv *pv = u->priv;

	if (!u->o.content_addressed || !pv->listed || u->o.dry_run ||
	    dbm_hashcache_get(pv->cache, f->abs, &f->st, f->sha256) < 0)
		return 0;
	ca_remote(u, f);
	if (dbm_upload_ca_state(u, f) != 2) {
		/* sent or asked for by a worker, which opens and checks the
		 * file again: the digest is its to find */
		free(f->remote);
		f->remote = NULL;
		f->sha256[0] = '\0';
		return 0;
	}
	f->skipped = 1;
	dbm_progress_bytes(&u->progress, f->size);
	dbm_progress_file(&u->progress);
	return 1;
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
		if (dbm_hashcache_get(pv->cache, f->abs, &st, f->sha256) < 0) {
			if (hash_file(fd, f->sha256, &e, f->local) < 0)
				goto out;
			dbm_hashcache_put(pv->cache, f->abs, &st, f->sha256);
		}
	}
	if (u->o.content_addressed && f->remote == NULL)
		ca_remote(u, f);
	if (u->o.dry_run) {
		rc = 0;
		goto out;
	}
	rc = dbm_upload_ops_of(u->dest.kind)->send(u, &pv->http[worker], f, fd,
	    &e);
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
			dbm_say(DBM_SAY_ERROR, "%s: %s: %s\n", dbm_prog(), f->local,
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
	pthread_t lister;
	size_t failed;
	int i, listing = 0;

	memset(&pv, 0, sizeof(pv));
	pthread_mutex_init(&pv.mu, NULL);
	u->priv = &pv;
	u->auth = auth;
	u->tool = tool;
	pv.nhttp = u->o.jobs;
	pv.http = dbm_xcalloc((size_t)pv.nhttp, sizeof(*pv.http));
	for (i = 0; i < pv.nhttp && !u->o.dry_run; i++) {
		if (dbm_client_init(&pv.http[i], auth, tool, &e) < 0) {
			dbm_say_err(&e);
			return u->n;
		}
		pv.http[i].verbose = u->o.verbose;
	}
	/* -c: the listing's round trip goes on while the caches are read */
	if (u->o.content_addressed && !u->o.dry_run) {
		listing = pthread_create(&lister, NULL, list_thread, u) == 0;
		if (!listing)
			list_dest(u, &pv.http[0]);
	}
	if (u->o.want_sha || u->o.content_addressed) {
		char **abs = dbm_xcalloc(u->n + 1, sizeof(*abs));

		for (i = 0; (size_t)i < u->n; i++)
			abs[i] = u->files[i].abs;
		pv.cache = dbm_hashcache_open(abs, u->n);
		free(abs);
	}
	if (u->o.content_addressed && !u->o.dry_run)
		pv.rec = dbm_uploadrec_open(auth->host);
	if (listing)
		pthread_join(lister, NULL);
	dbm_progress_init(&u->progress, (long long)u->n, u->bytes,
	    u->o.quiet || u->o.dry_run);
	/* largest first: a big file that sorts last by name would otherwise
	 * start after all the small ones, and the run take their sum */
	pv.order = dbm_xcalloc(u->n + 1, sizeof(*pv.order));
	for (i = 0; (size_t)i < u->n; i++)
		if (!already_there(u, &u->files[i]))
			pv.order[pv.norder++] = (size_t)i;
	sort_u = u;
	qsort(pv.order, pv.norder, sizeof(*pv.order), by_size);
	failed = dbm_pool_run(u->o.jobs, pv.norder, one, u);
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

int
dbm_upload_once(struct dbm_http *h, const char *local,
    const struct dbm_remote *r, struct dbm_err *e)
{
	struct dbm_upload u;
	struct dbm_upload_file f;
	struct priv pv;
	struct stat st;
	int fd, rc = -1;

	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return dbm_err_sys(e, "%s", local);
	}
	/* one file, content-addressed by its name: sent unless there */
	memset(&u, 0, sizeof(u));
	memset(&f, 0, sizeof(f));
	memset(&pv, 0, sizeof(pv));
	pthread_mutex_init(&pv.mu, NULL);
	u.o.content_addressed = 1;
	u.o.quiet = 1;
	limits(&u.o);		/* a batch's (it ignored the environment's) */
	u.dest = *r;
	u.priv = &pv;
	dbm_progress_init(&u.progress, 1, (long long)st.st_size, 1);
	f.local = (char *)local;
	f.remote = r->path;
	f.size = (long long)st.st_size;
	rc = dbm_upload_ops_of(r->kind)->send(&u, h, &f, fd, e);
	close(fd);
	for (int i = 0; i < pv.ndirs; i++)
		free(pv.dirs[i]);
	free(pv.dirs);
	pthread_mutex_destroy(&pv.mu);
	return rc;
}
