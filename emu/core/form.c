/*
 * workspace-emu: the multipart/form-data form of an upload endpoint
 * (dbfs/put, workspace/import). Its small fields are kept (up to
 * FIELD_MAX bytes each), its file part (one with a filename, or a field
 * called contents, content or file) is streamed to the request's
 * temporary file, at most put_max bytes. The handler reads them with
 * emu_form_field and emu_form_file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu.h"
#include "multipart.h"

#define FIELDS_MAX	16
#define FIELD_MAX	8192

struct multipart {
	struct emu_mp mp;
	struct {
		char *name;
		struct dbm_buf v;
	} field[FIELDS_MAX];
	int nfield;
	int have_file;
	long long size;
};

static int
file_part(const char *key, int is_file)
{
	return is_file || strcmp(key, "contents") == 0 ||
	    strcmp(key, "content") == 0 || strcmp(key, "file") == 0;
}

static int
write_all(int fd, const char *data, size_t size)
{
	while (size > 0) {
		ssize_t w = write(fd, data, size);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		data += w;
		size -= (size_t)w;
	}
	return 0;
}

/* One piece of a part. */
static int
part(void *cls, const char *key, int is_file, const char *data, size_t size)
{
	struct req *r = cls;
	struct multipart *m = r->mp;
	int i;

	if (file_part(key, is_file)) {
		m->have_file = 1;
		m->size += (long long)size;
		if (m->size > r->emu->put_max)
			return -1;
		if (r->fd >= 0 && write_all(r->fd, data, size) < 0) {
			r->store_errno = errno;
			return -1;
		}
		return 0;
	}
	for (i = 0; i < m->nfield && strcmp(m->field[i].name, key) != 0; i++)
		;
	if (i == m->nfield) {
		if (m->nfield == FIELDS_MAX)
			return 0;	/* more fields than any endpoint has */
		m->field[m->nfield++].name = dbm_xstrdup(key);
	}
	if (m->field[i].v.len + size > FIELD_MAX)
		return -1;
	dbm_buf_add(&m->field[i].v, data, size);
	return 0;
}

static int
begin(struct req *r)
{
	r->mp = dbm_xcalloc(1, sizeof(*r->mp));
	if (emu_mp_init(&r->mp->mp, MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "Content-Type"), part, r) < 0)
		return -1;
	/* the file part is a little less than the body: cut at the end */
	r->fd = store_tmpfd(r->emu, &r->tmp, emu_body_size(r,
	    r->emu->put_max + 65536));
	if (r->fd < 0)
		r->store_errno = errno;
	return r->fd < 0 ? -1 : 0;
}

static int
feed(struct req *r, const char *data, size_t n)
{
	if (r->mp == NULL)
		return -1;
	return emu_mp_feed(&r->mp->mp, data, n);
}

static void
form_free(struct req *r)
{
	int i;

	if (r->mp == NULL)
		return;
	emu_mp_free(&r->mp->mp);
	for (i = 0; i < r->mp->nfield; i++) {
		free(r->mp->field[i].name);
		dbm_buf_free(&r->mp->field[i].v);
	}
	free(r->mp);
	r->mp = NULL;
}

const struct emu_form emu_upload_form = {begin, feed, form_free};

int
emu_form_ok(struct req *r)
{
	return r->mp && !r->too_big && emu_mp_done(&r->mp->mp);
}

const char *
emu_form_field(struct req *r, const char *name)
{
	int i;

	for (i = 0; r->mp && i < r->mp->nfield; i++)
		if (strcmp(r->mp->field[i].name, name) == 0)
			return dbm_buf_str(&r->mp->field[i].v);
	return NULL;
}

long long
emu_form_size(struct req *r)
{
	return r->mp ? r->mp->size : 0;
}

int
emu_form_has_file(struct req *r)
{
	return r->mp && r->mp->have_file;
}

int
emu_form_file(struct req *r)
{
	int rc;

	if (r->mp == NULL || r->fd < 0)
		return -1;
	/* the file as it arrived (its blocks were given for the body) */
	rc = ftruncate(r->fd, (off_t)r->mp->size);
	if (close(r->fd) < 0)
		rc = -1;
	r->fd = -1;
	return rc < 0 ? -1 : 0;
}

long long
emu_body_size(struct req *r, long long cap)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Content-Length");
	char *end;
	long long n;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	return errno == 0 && *end == '\0' && n > 0 && n <= cap ? n : 0;
}
