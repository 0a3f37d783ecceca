/* Wheel content labels: see wheel.h. Wheels are read and written with
 * libarchive, file data streamed (only METADATA and RECORD are held). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "b64.h"
#include "buf.h"
#include "sha.h"
#include "wheel.h"

#define META_MAX	(16 * 1024 * 1024)	/* METADATA, RECORD */

struct file {
	char *name;
	char hex[65];
};

struct scan {
	struct file *f;
	size_t n;
	char *distinfo;		/* "<name>-<version>.dist-info" */
	struct dbm_buf metadata, record;
};

static void
scan_free(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->f[i].name);
	free(s->f);
	free(s->distinfo);
	dbm_buf_free(&s->metadata);
	dbm_buf_free(&s->record);
}

static struct archive *
open_wheel(const char *path, struct dbm_err *e)
{
	struct archive *a = archive_read_new();

	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		dbm_errf(e, DBM_E_USAGE, "%s: not a wheel (zip): %s", path,
		    archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* A top-level "<x>.dist-info/<leaf>". */
static int
distinfo_file(const char *name, const char *leaf)
{
	const char *slash = strchr(name, '/');

	return slash && slash - name > 10 && strncmp(slash - 10, ".dist-info",
	    10) == 0 && strcmp(slash + 1, leaf) == 0;
}

/* Pass one: every file's SHA-256; METADATA and RECORD kept. */
static int
scan(const char *path, struct scan *s, struct dbm_err *e)
{
	struct archive *a = open_wheel(path, e);
	struct archive_entry *en;
	char buf[65536];
	int r;

	if (a == NULL)
		return -1;
	while ((r = archive_read_next_header(a, &en)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(en);
		struct dbm_sha256 h;
		unsigned char md[DBM_SHA256_LEN];
		struct dbm_buf *keep = NULL;
		la_ssize_t n;

		if (archive_entry_filetype(en) != AE_IFREG)
			continue;
		if (distinfo_file(name, "METADATA") && s->distinfo == NULL) {
			keep = &s->metadata;
			s->distinfo = dbm_xstrndup(name, strcspn(name, "/"));
		} else if (distinfo_file(name, "RECORD"))
			keep = &s->record;
		dbm_sha256_init(&h);
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
			dbm_sha256_update(&h, buf, (size_t)n);
			if (keep && keep->len + (size_t)n <= META_MAX)
				dbm_buf_add(keep, buf, (size_t)n);
		}
		if (n < 0)
			break;
		dbm_sha256_final(&h, md);
		s->f = dbm_xrealloc(s->f, (s->n + 1) * sizeof(*s->f));
		s->f[s->n].name = dbm_xstrdup(name);
		dbm_hex(md, sizeof(md), s->f[s->n].hex);
		s->n++;
	}
	if (r != ARCHIVE_EOF) {
		dbm_errf(e, DBM_E_USAGE, "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	archive_read_free(a);
	if (s->distinfo == NULL || s->record.len == 0)
		return dbm_errf(e, DBM_E_USAGE, "%s: no .dist-info METADATA and "
		    "RECORD: not a wheel", path);
	return 0;
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(((const struct file *)x)->name,
	    ((const struct file *)y)->name);
}

static void
label_of(struct scan *s, char label[14])
{
	struct dbm_sha256 h;
	unsigned char md[DBM_SHA256_LEN];
	char hex[65];
	size_t i, dl = strlen(s->distinfo);

	qsort(s->f, s->n, sizeof(*s->f), by_name);
	dbm_sha256_init(&h);
	for (i = 0; i < s->n; i++) {
		if (strncmp(s->f[i].name, s->distinfo, dl) == 0 &&
		    s->f[i].name[dl] == '/')
			continue;	/* the package's files, not its record */
		dbm_sha256_update(&h, s->f[i].name, strlen(s->f[i].name) + 1);
		dbm_sha256_update(&h, s->f[i].hex, 64);
	}
	dbm_sha256_final(&h, md);
	dbm_hex(md, sizeof(md), hex);
	label[0] = 'g';
	memcpy(label + 1, hex, 12);
	label[13] = '\0';
}

int
dbm_wheel_label(const char *path, char label[14], struct dbm_err *e)
{
	struct scan s;

	memset(&s, 0, sizeof(s));
	if (scan(path, &s, e) < 0) {
		scan_free(&s);
		return -1;
	}
	label_of(&s, label);
	scan_free(&s);
	return 0;
}

/* The length of version v without an earlier label of ours: "+g<12 hex>"
 * or ".g<12 hex>" at the end of its local part. */
static size_t
unlabelled(const char *v)
{
	size_t n = strlen(v);

	if (n > 14 && (v[n - 14] == '+' || (v[n - 14] == '.' &&
	    strchr(v, '+'))) && v[n - 13] == 'g' &&
	    strspn(v + n - 12, "0123456789abcdef") == 12)
		return n - 14;
	return n;
}

/* METADATA with its Version: line saying version. */
static int
new_metadata(const struct dbm_buf *m, const char *version, struct dbm_buf *out)
{
	const char *p = dbm_buf_str(m), *end = p + m->len;
	int found = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);

		if (!found && len >= 9 && strncmp(p, "Version: ", 9) == 0) {
			dbm_buf_printf(out, "Version: %s\n", version);
			found = 1;
		} else if (len == 1 && *p == '\n' && !found) {
			break;		/* the headers end: the body follows */
		} else
			dbm_buf_add(out, p, len);
		p += len;
	}
	dbm_buf_add(out, p, (size_t)(end - p));
	return found ? 0 : -1;
}

/* "sha256=<urlsafe base64, no padding>,<size>" of data. */
static void
record_hash(struct dbm_buf *b, const void *data, size_t n)
{
	unsigned char md[DBM_SHA256_LEN];
	struct dbm_sha256 h;
	char *enc;

	dbm_sha256_init(&h);
	dbm_sha256_update(&h, data, n);
	dbm_sha256_final(&h, md);
	enc = dbm_b64url_encode(md, sizeof(md));
	dbm_buf_printf(b, "sha256=%s,%zu", enc, n);
	free(enc);
}

/* RECORD with the .dist-info folder renamed, METADATA's hash new and its
 * own line as the format wants it ("path,,"). */
static void
new_record(const struct dbm_buf *r, const char *old, const char *nw,
    const struct dbm_buf *meta, struct dbm_buf *out)
{
	const char *p = dbm_buf_str(r), *end = p + r->len;
	size_t ol = strlen(old);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *comma = memchr(p, ',', len);
		size_t plen = comma ? (size_t)(comma - p) : len;

		if (len && p[len - 1] == '\r')
			len--;
		if (plen > ol && strncmp(p, old, ol) == 0 && p[ol] == '/') {
			const char *leaf = p + ol + 1;
			size_t ll = plen - ol - 1;

			dbm_buf_printf(out, "%s/%.*s,", nw, (int)ll, leaf);
			if (ll == 8 && strncmp(leaf, "METADATA", 8) == 0)
				record_hash(out, meta->data, meta->len);
			else if (ll == 6 && strncmp(leaf, "RECORD", 6) == 0)
				dbm_buf_addc(out, ',');
			else if (comma)
				dbm_buf_add(out, comma + 1, len - plen - 1);
			dbm_buf_addc(out, '\n');
		} else if (len) {
			dbm_buf_add(out, p, len);
			dbm_buf_addc(out, '\n');
		}
		p += (nl ? (size_t)(nl + 1 - p) : (size_t)(end - p));
	}
}

/* Pass two: in's entries into the archive w, renamed, METADATA and
 * RECORD replaced. */
static int
copy(const char *in, struct archive *w, const char *old, const char *nw,
    const struct dbm_buf *meta, const struct dbm_buf *rec, struct dbm_err *e)
{
	struct archive *a = open_wheel(in, e);
	struct archive_entry *en;
	size_t ol = strlen(old);
	char buf[65536];
	int r, rc = 0;

	if (a == NULL)
		return -1;
	while (rc == 0 && (r = archive_read_next_header(a, &en)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(en);
		struct archive_entry *o = archive_entry_clone(en);
		const struct dbm_buf *repl = NULL;
		struct dbm_buf nn = DBM_BUF_INIT;
		la_ssize_t n;

		if (strncmp(name, old, ol) == 0 && name[ol] == '/') {
			dbm_buf_printf(&nn, "%s/%s", nw, name + ol + 1);
			archive_entry_set_pathname(o, nn.data);
			if (strcmp(name + ol + 1, "METADATA") == 0)
				repl = meta;
			else if (strcmp(name + ol + 1, "RECORD") == 0)
				repl = rec;
		}
		if (repl)
			archive_entry_set_size(o, (la_int64_t)repl->len);
		archive_entry_set_uid(o, 0);
		archive_entry_set_gid(o, 0);
		if (archive_write_header(w, o) != ARCHIVE_OK)
			rc = -1;
		else if (repl && repl->len && archive_write_data(w, repl->data,
		    repl->len) != (la_ssize_t)repl->len)
			rc = -1;
		while (rc == 0 && !repl && (n = archive_read_data(a, buf,
		    sizeof(buf))) != 0)
			if (n < 0 || archive_write_data(w, buf, (size_t)n) != n)
				rc = -1;
		archive_entry_free(o);
		dbm_buf_free(&nn);
	}
	if (rc < 0)
		dbm_errf(e, DBM_E_SYS, "%s: %s", in, archive_error_string(w) ?
		    archive_error_string(w) : archive_error_string(a));
	archive_read_free(a);
	return rc;
}

/* The new wheel at *out from the scan: written to a temporary file in
 * its folder, renamed into place once whole. */
static int
write_wheel(const char *in, const char *path, const char *old, const char *nw,
    const struct dbm_buf *meta, const struct dbm_buf *rec, struct dbm_err *e)
{
	struct dbm_buf tmp = DBM_BUF_INIT;
	struct archive *w;
	int fd, rc;

	dbm_buf_printf(&tmp, "%s" DBM_TMP_MARK "XXXXXX", path);
	if ((fd = mkstemp(tmp.data)) < 0) {
		rc = dbm_err_sys(e, "%s", tmp.data);
		dbm_buf_free(&tmp);
		return rc;
	}
	w = archive_write_new();
	archive_write_set_format_zip(w);
	archive_write_set_options(w, "zip:compression=deflate");
	rc = archive_write_open_fd(w, fd) == ARCHIVE_OK ? copy(in, w, old, nw,
	    meta, rec, e) : dbm_errf(e, DBM_E_SYS, "%s: %s", tmp.data,
	    archive_error_string(w));
	if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
		rc = dbm_errf(e, DBM_E_SYS, "%s: %s", tmp.data,
		    archive_error_string(w));
	archive_write_free(w);
	if (fchmod(fd, 0644) < 0 && rc == 0)	/* mkstemp's is 0600 */
		rc = dbm_err_sys(e, "%s", tmp.data);
	if (close(fd) < 0 && rc == 0)
		rc = dbm_err_sys(e, "%s", tmp.data);
	if (rc == 0 && rename(tmp.data, path) < 0)
		rc = dbm_err_sys(e, "%s", path);
	if (rc < 0)
		unlink(tmp.data);
	dbm_buf_free(&tmp);
	return rc;
}

static int
same_file(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
	    x.st_ino == y.st_ino;
}

int
dbm_wheel_relabel(const char *in, const char *dir, char **out,
    struct dbm_err *e)
{
	const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
	const char *d1 = strchr(base, '-'), *d2 = d1 ? strchr(d1 + 1, '-') :
	    NULL;
	struct dbm_buf ver = DBM_BUF_INIT, nw = DBM_BUF_INIT, path = DBM_BUF_INIT,
	    meta = DBM_BUF_INIT, rec = DBM_BUF_INIT;
	struct scan s;
	char label[14], *v;
	size_t keep;
	int rc = -1;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	if (d1 == NULL || d2 == NULL || strlen(base) < 5 ||
	    strcmp(base + strlen(base) - 4, ".whl") != 0)
		return dbm_errf(e, DBM_E_USAGE, "%s: not a wheel's file name "
		    "(<name>-<version>-...-<platform>.whl)", in);
	if (scan(in, &s, e) < 0)
		goto out;
	label_of(&s, label);
	v = dbm_xstrndup(d1 + 1, (size_t)(d2 - d1 - 1));
	keep = unlabelled(v);
	dbm_buf_printf(&ver, "%.*s%c%s", (int)keep, v, memchr(v, '+', keep) ?
	    '.' : '+', label);
	free(v);
	dbm_buf_printf(&nw, "%.*s-%s.dist-info", (int)(d1 - base), base,
	    ver.data);
	if (dir)
		dbm_buf_printf(&path, "%s/", dir);
	else
		dbm_buf_add(&path, in, (size_t)(base - in));
	dbm_buf_printf(&path, "%.*s-%s%s", (int)(d1 - base), base, ver.data,
	    d2);
	if (strcmp(path.data, in) == 0 || same_file(path.data, in)) {
		/* labelled already */
		*out = dbm_buf_detach(&path);
		rc = 0;
		goto out;
	}
	if (new_metadata(&s.metadata, ver.data, &meta) < 0) {
		dbm_errf(e, DBM_E_USAGE, "%s: %s/METADATA has no Version", in,
		    s.distinfo);
		goto out;
	}
	new_record(&s.record, s.distinfo, nw.data, &meta, &rec);
	if ((rc = write_wheel(in, path.data, s.distinfo, nw.data, &meta, &rec,
	    e)) == 0)
		*out = dbm_buf_detach(&path);
out:
	scan_free(&s);
	dbm_buf_free(&ver);
	dbm_buf_free(&nw);
	dbm_buf_free(&path);
	dbm_buf_free(&meta);
	dbm_buf_free(&rec);
	return rc;
}
