/* The digest cache: see hashcache.h. One line an entry:
 *   <sha256> <size> <mtime s>.<ns> <ctime s>.<ns> <ino> <dev> <absolute path>
 * (lines of another shape, such as those of earlier versions without the
 * ctime, are ignored and dropped by the next rewrite) */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hashcache.h"

/* Lines kept by a rewrite (the newest live ones), which comes once the
 * file holds twice as many: so it never holds more than 2 * KEEP lines,
 * whatever comes and goes (a runner building in a new folder each job
 * leaves only dead paths behind). */
#ifndef DBM_HASHCACHE_KEEP
#define DBM_HASHCACHE_KEEP 8192
#endif

struct entry {
	char *path;
	long long size, sec, nsec, csec, cnsec, ino, dev;
	char hex[65];
};

struct dbm_hashcache {
	char *file;
	struct entry *e;
	size_t n;
	size_t lines;		/* in the file, loaded or not */
	struct dbm_buf add;	/* new lines to append */
	pthread_mutex_t mu;
};

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path,
	    ((const struct entry *)b)->path);
}

/* A decimal number ending in c at *p, which moves past c. */
static int
field(const char **p, char c, long long *v)
{
	char *end;

	if (!isdigit((unsigned char)**p) && **p != '-')	/* before 1970 */
		return -1;
	errno = 0;
	*v = strtoll(*p, &end, 10);
	if (errno != 0 || *end != c)
		return -1;
	*p = end + 1;
	return 0;
}

/* One line into x (x->path malloc'd): "hex size sec.nsec csec.cnsec ino
 * dev /path"; -1 for a line of another shape. */
static int
parse(const char *line, struct entry *x)
{
	const char *p;
	size_t i;

	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)line[i]))
			return -1;
	p = line + 65;
	if (line[64] != ' ' || field(&p, ' ', &x->size) < 0 ||
	    field(&p, '.', &x->sec) < 0 || field(&p, ' ', &x->nsec) < 0 ||
	    field(&p, '.', &x->csec) < 0 || field(&p, ' ', &x->cnsec) < 0 ||
	    field(&p, ' ', &x->ino) < 0 || field(&p, ' ', &x->dev) < 0 ||
	    *p != '/')
		return -1;
	memcpy(x->hex, line, 64);
	x->hex[64] = '\0';
	x->path = dbm_xstrdup(p);
	return 0;
}

char *
dbm_cache_file(const char *name)
{
	const char *v = getenv("DBMLOPS_HASH_CACHE"), *base, *home;
	struct dbm_buf dir = DBM_BUF_INIT;

	if (v && (strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0))
		return NULL;
	if ((base = getenv("DBMLOPS_CACHE")) != NULL && *base)
		dbm_buf_adds(&dir, base);
	else if ((base = getenv("XDG_CACHE_HOME")) != NULL && *base)
		dbm_buf_printf(&dir, "%s/dbmlops", base);
	else if ((home = getenv("HOME")) != NULL && *home)
		dbm_buf_printf(&dir, "%s/.cache/dbmlops", home);
	else
		return NULL;
	dbm_buf_printf(&dir, "/%s", name);
	return dbm_buf_detach(&dir);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The path of a line: what follows its sixth field, or NULL. */
static const char *
line_path(const char *line)
{
	const char *p = line;
	int i;

	for (i = 0; i < 6; i++)
		if ((p = strchr(p, ' ')) == NULL)
			return NULL;
		else
			p++;
	return *p == '/' ? p : NULL;
}

struct dbm_hashcache *
dbm_hashcache_open(char *const *paths, size_t npaths)
{
	struct dbm_hashcache *c;
	char *file = dbm_cache_file("sha256");
	char **want = NULL;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (file == NULL)
		return NULL;
	c = dbm_xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->file = file;
	if ((f = fopen(c->file, "r")) == NULL)
		return c;
	if (paths) {
		want = dbm_xcalloc(npaths + 1, sizeof(*want));
		memcpy(want, paths, npaths * sizeof(*want));
		qsort(want, npaths, sizeof(*want), cmp_str);
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		struct entry x;
		const char *p;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		c->lines++;
		/* only the entries of the files asked about are parsed and
		 * kept: the cache may know many more */
		if (want && ((p = line_path(line)) == NULL ||
		    bsearch(&p, want, npaths, sizeof(*want), cmp_str) == NULL))
			continue;
		if (parse(line, &x) < 0)
			continue;
		if ((c->n & (c->n - 1)) == 0)	/* 0, 1, 2, 4, ...: doubled */
			c->e = dbm_xrealloc(c->e, (c->n ? 2 * c->n : 1) *
			    sizeof(*c->e));
		c->e[c->n++] = x;
	}
	free(line);
	free(want);
	fclose(f);
	/* sorted for lookups; any matching entry of a path will do */
	if (c->n > 0)
		qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
	return c;
}

static int
matches(const struct entry *x, const struct stat *st)
{
	return x->size == (long long)st->st_size &&
	    x->sec == (long long)st->st_mtim.tv_sec &&
	    x->nsec == (long long)st->st_mtim.tv_nsec &&
	    x->csec == (long long)st->st_ctim.tv_sec &&
	    x->cnsec == (long long)st->st_ctim.tv_nsec &&
	    x->ino == (long long)st->st_ino && x->dev == (long long)st->st_dev;
}

int
dbm_hashcache_get(struct dbm_hashcache *c, const char *path,
    const struct stat *st, char hex[65])
{
	size_t lo = 0, hi;
	int hit = 0;

	if (c == NULL || *path != '/')
		return -1;
	pthread_mutex_lock(&c->mu);
	hi = c->n;
	while (lo < hi) {	/* the first entry for path */
		size_t mid = (lo + hi) / 2;

		if (strcmp(c->e[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->n && strcmp(c->e[lo].path, path) == 0; lo++) {
		if (matches(&c->e[lo], st)) {
			memcpy(hex, c->e[lo].hex, 65);
			hit = 1;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return hit ? 0 : -1;
}

void
dbm_hashcache_put(struct dbm_hashcache *c, const char *path,
    const struct stat *st, const char hex[65])
{
	if (c == NULL || *path != '/' || strchr(path, '\n') != NULL)
		return;
	if (time(NULL) - st->st_mtim.tv_sec < 2)
		return;		/* too fresh to trust its timestamp */
	pthread_mutex_lock(&c->mu);
	dbm_buf_printf(&c->add, "%s %lld %lld.%09ld %lld.%09ld %lld %lld %s\n",
	    hex, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
	    st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
	    st->st_ctim.tv_nsec, (long long)st->st_ino, (long long)st->st_dev,
	    path);
	pthread_mutex_unlock(&c->mu);
}

/* mkdir -p of the cache file's directory. */
static void
make_dir(const char *file)
{
	char *d = dbm_xstrdup(file), *p;

	for (p = d + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(d, 0755);
			*p = '/';
		}
	}
	free(d);
}

/* An entry and where its line was, for the rewrite. */
struct ranked {
	struct entry x;
	size_t at;
};

static int
by_path_then_line(const void *a, const void *b)
{
	const struct ranked *p = a, *q = b;
	int c = strcmp(p->x.path, q->x.path);

	return c ? c : p->at < q->at ? -1 : p->at > q->at;
}

static int
by_line(const void *a, const void *b)
{
	const struct ranked *p = a, *q = b;

	return p->at < q->at ? -1 : p->at > q->at;
}

/* Rewrite the file with its live entries only: the newest line of each
 * path whose file still exists unchanged, the newest KEEP of them, in
 * their order. Called with the lock held. */
static void
compact(const char *file)
{
	struct dbm_buf out = DBM_BUF_INIT, tmp = DBM_BUF_INIT;
	struct ranked *v = NULL;
	size_t n = 0, k = 0, i, at = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(file, "r");
	int fd;

	if (f == NULL)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		struct entry x;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		at++;
		if (parse(line, &x) < 0)
			continue;	/* another shape: dropped */
		if ((n & (n - 1)) == 0)
			v = dbm_xrealloc(v, (n ? 2 * n : 1) * sizeof(*v));
		v[n].x = x;
		v[n++].at = at;
	}
	free(line);
	fclose(f);
	if (n > 0)
		qsort(v, n, sizeof(*v), by_path_then_line);
	for (i = 0; i < n; i++) {
		struct stat st;

		if ((i + 1 < n && strcmp(v[i].x.path, v[i + 1].x.path) == 0) ||
		    stat(v[i].x.path, &st) < 0 || !matches(&v[i].x, &st)) {
			free(v[i].x.path);	/* older, gone or changed */
			continue;
		}
		v[k++] = v[i];
	}
	if (k > 0)
		qsort(v, k, sizeof(*v), by_line);
	for (i = 0; i < k; i++) {
		if (i + DBM_HASHCACHE_KEEP >= k)
			dbm_buf_printf(&out, "%s %lld %lld.%09lld %lld.%09lld "
			    "%lld %lld %s\n", v[i].x.hex, v[i].x.size, v[i].x.sec,
			    v[i].x.nsec, v[i].x.csec, v[i].x.cnsec, v[i].x.ino,
			    v[i].x.dev, v[i].x.path);
		free(v[i].x.path);
	}
	dbm_buf_printf(&tmp, "%s.%ld", file, (long)getpid());
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0 && (out.len == 0 || write(fd, out.data, out.len) ==
	    (ssize_t)out.len) && close(fd) == 0)
		rename(tmp.data, file);
	else if (fd >= 0) {
		close(fd);
		unlink(tmp.data);
	}
	free(v);
	dbm_buf_free(&out);
	dbm_buf_free(&tmp);
}

void
dbm_hashcache_close(struct dbm_hashcache *c)
{
	struct dbm_buf lk = DBM_BUF_INIT;
	size_t i, added = 0, lines;
	int fd, lock;

	if (c == NULL)
		return;
	for (i = 0; i < c->add.len; i++)
		added += c->add.data[i] == '\n';
	lines = c->lines + added;
	if (c->add.len > 0 || lines > 2 * DBM_HASHCACHE_KEEP) {
		make_dir(c->file);
		dbm_buf_printf(&lk, "%s.lock", c->file);
		/* one lock for appends and rewrites: concurrent runs keep
		 * every line, and a rewrite loses none */
		lock = open(lk.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lock >= 0 && flock(lock, LOCK_EX) == 0) {
			fd = c->add.len ? open(c->file, O_WRONLY | O_CREAT |
			    O_APPEND | O_CLOEXEC, 0644) : -1;
			if (fd >= 0) {
				if (write(fd, c->add.data, c->add.len) < 0)
					(void)0;	/* a cache: best effort */
				close(fd);
			}
			if (lines > 2 * DBM_HASHCACHE_KEEP)
				compact(c->file);
		}
		if (lock >= 0)
			close(lock);
		dbm_buf_free(&lk);
	}
	for (i = 0; i < c->n; i++)
		free(c->e[i].path);
	free(c->e);
	dbm_buf_free(&c->add);
	free(c->file);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
