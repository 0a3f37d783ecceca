/*
 * workspace-emu storage: API paths map to files under the data directory
 * (dbfs/ for DBFS and Unity Catalog volumes, workspace/ for workspace
 * files). Every write goes to a temporary file in tmp/ and is moved into
 * place, so a reader never sees a partial file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"

static char *
store_canon(const char *apipath)
{
	struct dbm_buf b = DBM_BUF_INIT;
	const char *p = apipath;

	if (strncmp(p, "dbfs:", 5) == 0)
		p += 5;
	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		dbm_buf_addc(&b, '/');
		while (*p && *p != '/')
			dbm_buf_addc(&b, *p++);
	}
	if (b.len == 0)
		dbm_buf_addc(&b, '/');
	return dbm_buf_detach(&b);
}

/* Whether a component of path after its first skip bytes (the data
 * directory) is a symbolic link. Components that do not exist yet are
 * not links; the API never makes one. */
static int
symlink_below(const char *path, size_t skip)
{
	char *p = dbm_xstrdup(path), *s;
	struct stat st;
	int link = 0;

	for (s = p + skip + 1; !link; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (lstat(p, &st) < 0) {
				*s = c;
				break;	/* the rest does not exist yet */
			}
			link = S_ISLNK(st.st_mode);
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return link;
}

char *
store_map(struct emu *e, enum store_root root, const char *apipath,
    char **canonp, const char **why)
{
	const char *p;
	char *canon, *seg;
	struct dbm_buf b = DBM_BUF_INIT;

	if (apipath == NULL || *apipath == '\0') {
		*why = "the path is empty";
		return NULL;
	}
	p = apipath;
	if (root == ROOT_DBFS && strncmp(p, "dbfs:", 5) == 0)
		p += 5;
	if (*p != '/') {
		*why = "the path must be absolute";
		return NULL;
	}
	if (strlen(p) > 4096) {
		*why = "the path is too long";
		return NULL;
	}
	for (const char *c = p; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			*why = "the path holds a control character";
			return NULL;
		}
	}
	canon = store_canon(p);
	if (root == ROOT_WORKSPACE && (strcmp(canon, "/Workspace") == 0 ||
	    strncmp(canon, "/Workspace/", 11) == 0)) {
		char *t = dbm_xstrdup(canon[10] ? canon + 10 : "/");

		free(canon);
		canon = t;
	}
	for (seg = canon; *seg; ) {
		size_t n;

		seg++;
		n = strcspn(seg, "/");
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			free(canon);
			*why = "the path holds a '.' or '..' component";
			return NULL;
		}
		seg += n;
	}
	if (root == ROOT_FILES && (strcmp(canon, "/Models") == 0 ||
	    strncmp(canon, "/Models/", 8) == 0))
		dbm_buf_printf(&b, "%s/ucmodels%s", e->datadir, canon + 7);
	else
		dbm_buf_printf(&b, "%s/%s%s", e->datadir,
		    root == ROOT_WORKSPACE ? "workspace" : "dbfs",
		    strcmp(canon, "/") == 0 ? "" : canon);
	if (symlink_below(b.data, strlen(e->datadir))) {
		/* a link job code planted must not lead out of the data
		 * directory (nor anywhere else in it) */
		free(canon);
		dbm_buf_free(&b);
		*why = "the path goes through a symbolic link";
		return NULL;
	}
	if (canonp)
		*canonp = canon;
	else
		free(canon);
	return dbm_buf_detach(&b);
}

int
store_mkdirs(const char *dir)
{
	char *p = dbm_xstrdup(dir), *s;
	struct stat st;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0755) < 0) {
				if (errno != EEXIST ||
				    stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
					if (errno == EEXIST)
						errno = ENOTDIR;
					rc = -1;
					break;
				}
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

int
store_mkparents(const char *path)
{
	char *d = dbm_xstrdup(path), *s = strrchr(d, '/');
	int rc = 0;

	if (s && s != d) {
		*s = '\0';
		rc = store_mkdirs(d);
	}
	free(d);
	return rc;
}

int
store_tmpfd(struct emu *e, char **path, long long size)
{
	struct dbm_buf b = DBM_BUF_INIT;
	int fd;

	dbm_buf_printf(&b, "%s/tmp/up-XXXXXX", e->datadir);
	fd = mkstemp(b.data);
	if (fd < 0) {
		dbm_buf_free(&b);
		*path = NULL;
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);	/* not for the cluster processes */
	fchmod(fd, 0644);	/* as a file written in place would be */
	/* the filesystem allocates the blocks at once, not page by page as
	 * the writes come: about a tenth of a large upload's time */
	if (size > (1 << 20))
		posix_fallocate(fd, 0, (off_t)size);
	*path = dbm_buf_detach(&b);
	return fd;
}

int
store_tmpfile(struct emu *e, char **path)
{
	int fd = store_tmpfd(e, path, 0);

	return fd < 0 ? -1 : close(fd);
}

int
store_write_tmp(struct emu *e, const void *data, size_t len, char **path)
{
	int fd;
	ssize_t w = 0;

	if ((fd = store_tmpfd(e, path, 0)) < 0)
		return -1;
	if (len > 0 && (w = write(fd, data, len)) != (ssize_t)len) {
		if (w >= 0 && fd >= 0)
			errno = ENOSPC;		/* a short write */
		if (fd >= 0)
			close(fd);
		unlink(*path);
		free(*path);
		*path = NULL;
		return -1;
	}
	return close(fd);
}

int
store_write_file(struct emu *e, const char *path, const void *data,
    size_t len)
{
	char *tmp = NULL;
	int rc = -1;

	if (store_write_tmp(e, data, len, &tmp) == 0) {
		rc = store_commit(tmp, path, 1);
		if (rc < 0)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

int
store_commit(const char *tmp, const char *dst, int overwrite)
{
	struct stat st;

	if (store_mkparents(dst) < 0)
		return -1;
	if (stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (overwrite)
		return rename(tmp, dst);
	/* link fails when dst exists: no window for a second writer */
	if (link(tmp, dst) < 0)
		return -1;
	unlink(tmp);
	return 0;
}

int
store_remove_tree(const char *path)
{
	struct stat st;
	char **names;
	int n, i, rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	names = store_list(path, &n);
	for (i = 0; names && i < n; i++) {
		struct dbm_buf b = DBM_BUF_INIT;

		dbm_buf_printf(&b, "%s/%s", path, names[i]);
		if (store_remove_tree(b.data) < 0)
			rc = -1;
		dbm_buf_free(&b);
	}
	store_names_free(names);
	if (rc == 0 && rmdir(path) < 0)
		rc = -1;
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
store_list_at(const char *dir, int *n, int *dfd)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	int cap = 0;

	*n = 0;
	if (dfd)
		*dfd = -1;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (*n + 2 > cap) {
			cap = cap ? cap * 2 : 16;
			v = dbm_xrealloc(v, (size_t)cap * sizeof(*v));
		}
		v[(*n)++] = dbm_xstrdup(de->d_name);
	}
	if (dfd)
		*dfd = fcntl(dirfd(d), F_DUPFD_CLOEXEC, 0);
	closedir(d);
	if (v == NULL)
		v = dbm_xcalloc(1, sizeof(*v));
	v[*n] = NULL;
	qsort(v, (size_t)*n, sizeof(*v), cmp_names);
	return v;
}

char **
store_list(const char *dir, int *n)
{
	return store_list_at(dir, n, NULL);
}

void
store_names_free(char **names)
{
	char **p;

	if (names == NULL)
		return;
	for (p = names; *p; p++)
		free(*p);
	free(names);
}
