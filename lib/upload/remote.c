/* Remote path routing: see remote.h. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "remote.h"

static int
under(const char *p, const char *root)
{
	size_t n = strlen(root);

	return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int
dbm_remote_parse(const char *s, struct dbm_remote *r, struct dbm_err *e)
{
	const char *p = s;
	struct dbm_buf b = DBM_BUF_INIT;
	int dbfs = 0;

	memset(r, 0, sizeof(*r));
	if (strncmp(p, "dbfs:", 5) == 0) {
		p += 5;
		dbfs = 1;
	} else if (strstr(p, "://") != NULL || (strchr(p, ':') &&
	    strchr(p, ':') < strchr(p, '/'))) {
		return dbm_errf(e, DBM_E_USAGE, "'%s': not a Databricks path "
		    "(dbfs:/..., /Volumes/..., /Workspace/...)", s);
	}
	if (*p != '/')
		return dbm_errf(e, DBM_E_USAGE, "'%s': the remote path must be "
		    "absolute", s);
	/* canonical: single slashes, no . or .. */
	while (*p) {
		const char *seg;
		size_t n;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		seg = p;
		n = strcspn(p, "/");
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			dbm_buf_free(&b);
			return dbm_errf(e, DBM_E_USAGE, "'%s': '.' and '..' are "
			    "not allowed in remote paths", s);
		}
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)seg[i] < 0x20) {
				dbm_buf_free(&b);
				return dbm_errf(e, DBM_E_USAGE, "'%s': control "
				    "character in the path", s);
			}
		}
		dbm_buf_addc(&b, '/');
		dbm_buf_add(&b, seg, n);
		p += n;
	}
	if (b.len == 0)
		dbm_buf_addc(&b, '/');
	r->dir = s[strlen(s) - 1] == '/';
	if (under(b.data, "/Volumes")) {
		r->kind = DBM_REMOTE_VOLUME;
	} else if (under(b.data, "/Workspace") && !dbfs) {
		r->kind = DBM_REMOTE_WORKSPACE;
	} else if (dbfs) {
		r->kind = DBM_REMOTE_DBFS;
	} else if (under(b.data, "/dbfs")) {
		/* the FUSE form of a DBFS path */
		char *t = dbm_xstrdup(b.data[5] ? b.data + 5 : "/");

		dbm_buf_reset(&b);
		dbm_buf_adds(&b, t);
		free(t);
		r->kind = under(b.data, "/Volumes") ? DBM_REMOTE_VOLUME :
		    DBM_REMOTE_DBFS;
	} else {
		dbm_buf_free(&b);
		return dbm_errf(e, DBM_E_USAGE, "'%s': a remote path starts "
		    "with dbfs:/, /dbfs/, /Volumes/ or /Workspace/", s);
	}
	if (r->kind == DBM_REMOTE_VOLUME) {
		int depth = 0;

		for (p = b.data; *p; p++)
			depth += *p == '/';
		if (depth < 4) {
			dbm_buf_free(&b);
			return dbm_errf(e, DBM_E_USAGE, "'%s': a volume path is "
			    "/Volumes/<catalog>/<schema>/<volume>/...", s);
		}
	}
	r->path = dbm_buf_detach(&b);
	return 0;
}

void
dbm_remote_free(struct dbm_remote *r)
{
	free(r->path);
	r->path = NULL;
}

char *
dbm_remote_join(const struct dbm_remote *r, const char *rel)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_adds(&b, r->path);
	while (*rel == '/')
		rel++;
	if (*rel) {
		if (b.len == 0 || b.data[b.len - 1] != '/')
			dbm_buf_addc(&b, '/');
		dbm_buf_adds(&b, rel);
	}
	return dbm_buf_detach(&b);
}

char *
dbm_remote_uri(enum dbm_remote_kind k, const char *path)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s%s", k == DBM_REMOTE_DBFS ? "dbfs:" : "", path);
	return dbm_buf_detach(&b);
}

char *
dbm_remote_fuse(enum dbm_remote_kind k, const char *path)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s%s", k == DBM_REMOTE_DBFS ? "/dbfs" : "", path);
	return dbm_buf_detach(&b);
}
