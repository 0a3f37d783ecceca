/*
 * Below workspace.c and workspace_dbc.c: which workspace objects are
 * notebooks (wsmeta/ of the data directory), and the zip archive both
 * export folders as (SOURCE files, DBC notebooks), one entry function
 * saying what each object becomes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "emu.h"
#include "workspace_int.h"

char *
ws_meta_path(struct emu *e, const char *canon)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s/wsmeta%s", e->datadir, canon);
	return dbm_buf_detach(&b);
}

/* The notebook language of canon, or NULL for a plain file. */
char *
ws_notebook_language(struct emu *e, const char *canon)
{
	char *m = ws_meta_path(e, canon), buf[32];
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

void
ws_set_notebook(struct emu *e, const char *canon, const char *lang)
{
	char *m = ws_meta_path(e, canon);
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

static la_ssize_t
ws_zip_write(struct archive *a, void *cls, const void *p, size_t n)
{
	struct dbm_buf *b = cls;

	if (b->len + n > NOTEBOOK_MAX) {
		archive_set_error(a, EFBIG, "the export is larger than 10 MB");
		return -1;
	}
	dbm_buf_add(b, p, n);
	return (la_ssize_t)n;
}

/* The object at disk (canon) and, for a folder, all under it into a,
 * named <prefix>[.<ext>]. */
static int
zip_tree(struct req *r, struct archive *a, const char *disk, const char *canon,
    const char *prefix, ws_zip_entry fn)
{
	struct dbm_buf data = DBM_BUF_INIT, name = DBM_BUF_INIT;
	struct archive_entry *en;
	const char *ext = "";
	struct stat st;
	char **names;
	int n, i, rc = 0;

	if (lstat(disk, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		if ((names = store_list(disk, &n)) == NULL)
			return 0;
		for (i = 0; i < n && rc == 0; i++) {
			struct dbm_buf d = DBM_BUF_INIT, c = DBM_BUF_INIT,
			    p = DBM_BUF_INIT;

			dbm_buf_printf(&d, "%s/%s", disk, names[i]);
			dbm_buf_printf(&c, "%s/%s", strcmp(canon, "/") ? canon :
			    "", names[i]);
			dbm_buf_printf(&p, "%s/%s", prefix, names[i]);
			rc = zip_tree(r, a, d.data, c.data, p.data, fn);
			dbm_buf_free(&d);
			dbm_buf_free(&c);
			dbm_buf_free(&p);
		}
		store_names_free(names);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || (rc = fn(r, disk, canon, &data, &ext)) != 0)
		rc = rc > 0 ? 0 : rc;	/* left out, or an error */
	else {
		dbm_buf_printf(&name, "%s%s%s", prefix, *ext ? "." : "", ext);
		en = archive_entry_new();
		archive_entry_set_pathname(en, name.data);
		archive_entry_set_filetype(en, AE_IFREG);
		archive_entry_set_perm(en, 0644);
		archive_entry_set_size(en, (la_int64_t)data.len);
		archive_entry_set_mtime(en, st.st_mtime, 0);
		if (archive_write_header(a, en) != ARCHIVE_OK ||
		    archive_write_data(a, data.data ? data.data : "", data.len) !=
		    (la_ssize_t)data.len)
			rc = -1;
		archive_entry_free(en);
	}
	dbm_buf_free(&name);
	dbm_buf_free(&data);
	return rc;
}

int
ws_zip_export(struct req *r, const char *disk, const char *canon,
    ws_zip_entry fn, struct dbm_buf *out, enum MHD_Result *res)
{
	struct archive *a = archive_write_new();
	const char *base = strrchr(canon, '/');
	int rc;

	base = base && base[1] ? base + 1 : "Workspace";
	archive_write_set_format_zip(a);
	rc = archive_write_open(a, out, NULL, ws_zip_write, NULL) ==
	    ARCHIVE_OK ? zip_tree(r, a, disk, canon, base, fn) : -1;
	if (archive_write_close(a) != ARCHIVE_OK)
		rc = -1;
	if (rc < 0)
		*res = out->len >= NOTEBOOK_MAX ? emu_reply_error(r, 400,
		    "MAX_NOTEBOOK_SIZE_EXCEEDED", "The export of %s is larger "
		    "than 10 MB", canon) : emu_reply_error(r, 500,
		    "INTERNAL_ERROR", "cannot export %s: %s", canon,
		    archive_error_string(a) ? archive_error_string(a) : "");
	archive_write_free(a);
	return rc;
}
