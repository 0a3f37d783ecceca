/*
 * Below workspace.c and workspace_dbc.c: which workspace objects are
 * notebooks (wsmeta/ of the data directory), and the zip writer both
 * export with.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

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

la_ssize_t
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
