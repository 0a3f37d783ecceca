/* Deterministic tarballs: see tarball.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "err.h"
#include "sha.h"
#include "tarball.h"

struct list {
	char **v;
	size_t n;
};

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Relative paths of everything under dir/rel. */
static int
walk(const char *dir, const char *rel, struct list *l, struct dbm_err *e)
{
	struct dbm_buf p = DBM_BUF_INIT;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	dbm_buf_printf(&p, "%s%s%s", dir, *rel ? "/" : "", rel);
	if ((d = opendir(p.data)) == NULL) {
		rc = dbm_err_sys(e, "%s", p.data);
		dbm_buf_free(&p);
		return rc;
	}
	while ((de = readdir(d)) != NULL && rc == 0) {
		struct dbm_buf r = DBM_BUF_INIT, full = DBM_BUF_INIT;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "mlruns") == 0 ||
		    strcmp(de->d_name, ".git") == 0 ||
		    strstr(de->d_name, DBM_TMP_MARK) != NULL)
			continue;	/* and what a killed tool left */
		dbm_buf_printf(&r, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		dbm_buf_printf(&full, "%s/%s", dir, r.data);
		l->v = dbm_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = dbm_xstrdup(r.data);
		if (lstat(full.data, &st) == 0 && S_ISDIR(st.st_mode))
			rc = walk(dir, r.data, l, e);
		dbm_buf_free(&r);
		dbm_buf_free(&full);
	}
	closedir(d);
	dbm_buf_free(&p);
	return rc;
}

static int
aerr(struct dbm_err *e, struct archive *a, const char *what)
{
	return dbm_errf(e, DBM_E_SYS, "%s: %s", what, archive_error_string(a) ?
	    archive_error_string(a) : "archive error");
}

/* A regular file's bytes into the archive. */
static int
copy_data(struct archive *a, const char *full, const char *name,
    struct dbm_err *e)
{
	unsigned char buf[65536];
	ssize_t n;
	int fd = open(full, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return dbm_err_sys(e, "%s", full);
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) != 0)
		if (n < 0)
			rc = dbm_err_sys(e, "%s", full);
		else if (archive_write_data(a, buf, (size_t)n) != n)
			rc = aerr(e, a, name);
	close(fd);
	return rc;
}

/* One entry, name in the archive for full on disk, owned by root with
 * mtime 0 so the same tree gives the same bytes. Sockets and fifos are
 * not project files: skipped. */
static int
add_entry(struct archive *a, struct archive_entry *en, const char *name,
    const char *full, struct dbm_err *e)
{
	struct stat st;
	char link[4096];
	ssize_t k;

	if (lstat(full, &st) < 0)
		return dbm_err_sys(e, "%s", full);
	archive_entry_clear(en);
	archive_entry_set_pathname(en, name);
	archive_entry_set_mtime(en, 0, 0);
	archive_entry_set_uid(en, 0);
	archive_entry_set_gid(en, 0);
	if (S_ISDIR(st.st_mode)) {
		archive_entry_set_filetype(en, AE_IFDIR);
		archive_entry_set_perm(en, 0755);
	} else if (S_ISLNK(st.st_mode)) {
		k = readlink(full, link, sizeof(link) - 1);
		link[k > 0 ? k : 0] = '\0';
		archive_entry_set_filetype(en, AE_IFLNK);
		archive_entry_set_perm(en, 0777);
		archive_entry_set_symlink(en, link);
	} else if (S_ISREG(st.st_mode)) {
		archive_entry_set_filetype(en, AE_IFREG);
		archive_entry_set_perm(en, st.st_mode & 0111 ? 0755 : 0644);
		archive_entry_set_size(en, st.st_size);
	} else {
		return 0;
	}
	if (archive_write_header(a, en) != ARCHIVE_OK)
		return aerr(e, a, name);
	return S_ISREG(st.st_mode) ? copy_data(a, full, name, e) : 0;
}

/* The SHA-256 of file path, in hex. */
static int
file_digest(const char *path, char hex[65], struct dbm_err *e)
{
	struct dbm_sha256 s;
	unsigned char md[DBM_SHA256_LEN], buf[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dbm_err_sys(e, "%s", path);
	dbm_sha256_init(&s);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		dbm_sha256_update(&s, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return dbm_err_sys(e, "%s", path);
	dbm_sha256_final(&s, md);
	dbm_hex(md, sizeof(md), hex);
	return 0;
}

int
dbm_tarball(const char *dir, const char *top, const char *out, char hex[65],
    struct dbm_err *e)
{
	struct list l = {NULL, 0};
	struct archive *a = NULL;
	struct archive_entry *en = archive_entry_new();
	struct dbm_buf name = DBM_BUF_INIT, full = DBM_BUF_INIT;
	size_t i;
	int rc = -1;

	if (walk(dir, "", &l, e) < 0)
		goto out;
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), cmp);
	a = archive_write_new();
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "gzip:!timestamp") != ARCHIVE_OK ||
	    archive_write_open_filename(a, out) != ARCHIVE_OK) {
		aerr(e, a, out);
		goto out;
	}
	for (i = 0; i <= l.n; i++) {
		/* entry 0 is the top folder itself */
		dbm_buf_reset(&name);
		dbm_buf_reset(&full);
		dbm_buf_printf(&name, "%s%s%s", top, i ? "/" : "",
		    i ? l.v[i - 1] : "");
		dbm_buf_printf(&full, "%s%s%s", dir, i ? "/" : "",
		    i ? l.v[i - 1] : "");
		if (add_entry(a, en, name.data, full.data, e) < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		aerr(e, a, out);
		goto out;
	}
	rc = file_digest(out, hex, e);
out:
	if (a)
		archive_write_free(a);
	archive_entry_free(en);
	dbm_buf_free(&name);
	dbm_buf_free(&full);
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return rc;
}
