/* Remote folders of any kind: see rtree.h. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "upload.h"
#include "upload_int.h"
#include "rtree.h"

/* The entry at token o of a listing, added to *ents. */
static void
add_entry(const struct dbm_upload_ops *ops, const struct dbm_json *j, int o,
    struct dbm_rentry **ents, size_t *n)
{
	char *p = dbm_json_strdup(j, dbm_json_member(j, o, "path")), *type;
	struct dbm_rentry *x;
	const char *base;

	if (p == NULL)
		return;
	while (*p && p[strlen(p) - 1] == '/')
		p[strlen(p) - 1] = '\0';
	base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
	if (*base == '\0') {
		free(p);
		return;
	}
	*ents = dbm_xrealloc(*ents, (*n + 1) * sizeof(**ents));
	x = &(*ents)[(*n)++];
	memset(x, 0, sizeof(*x));
	x->name = dbm_xstrdup(base);
	free(p);
	if (ops->is_dir == NULL) {
		type = dbm_json_strdup(j, dbm_json_member(j, o, "object_type"));
		x->dir = type && strcmp(type, "DIRECTORY") == 0;
		free(type);
	} else {
		dbm_json_bool(j, dbm_json_member(j, o, ops->is_dir), &x->dir);
	}
	dbm_json_int(j, dbm_json_member(j, o, ops->mtime), &x->mtime);
}

int
dbm_rtree_list(struct dbm_http *h, const struct dbm_remote *r,
    struct dbm_rentry **ents, size_t *n, struct dbm_err *e)
{
	const struct dbm_upload_ops *ops = dbm_upload_ops_of(r->kind);
	struct dbm_json j;
	char *token = NULL;
	int arr, i, cnt, o, rc;

	*ents = NULL;
	*n = 0;
	do {
		rc = ops->list(h, r->path, token, &j, e);
		free(token);
		token = NULL;
		if (rc < 0) {
			dbm_rtree_free(*ents, *n);
			*ents = NULL;
			*n = 0;
			return -1;
		}
		arr = dbm_json_member(&j, 0, ops->entries);
		cnt = dbm_json_count(&j, arr);
		for (i = 0, o = arr + 1; i < cnt; i++, o = dbm_json_skip(&j, o))
			add_entry(ops, &j, o, ents, n);
		if (ops->next_page)
			token = dbm_json_get_str(&j, ops->next_page);
		dbm_json_free(&j);
	} while (token && *token);
	free(token);
	return 0;
}

void
dbm_rtree_free(struct dbm_rentry *ents, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
}

/* The entry's remote, beside r's path. */
static struct dbm_remote
child(const struct dbm_remote *r, const struct dbm_rentry *x)
{
	struct dbm_remote c = {0};

	c.kind = r->kind;
	c.path = dbm_remote_join(r, x->name);
	c.dir = x->dir;
	return c;
}

long long
dbm_rtree_mtime(struct dbm_http *h, const struct dbm_remote *r,
    struct dbm_err *e)
{
	struct dbm_rentry *ents;
	long long t = 0, u;
	size_t i, n;

	if (dbm_rtree_list(h, r, &ents, &n, e) < 0)
		return -1;
	for (i = 0; i < n && t >= 0; i++) {
		u = ents[i].mtime;
		if (ents[i].dir) {
			struct dbm_remote c = child(r, &ents[i]);

			u = dbm_rtree_mtime(h, &c, e);
			dbm_remote_free(&c);
			if (u < 0)
				t = -1;
		}
		if (t >= 0 && u > t)
			t = u;
	}
	dbm_rtree_free(ents, n);
	return t;
}

int
dbm_rtree_remove(struct dbm_http *h, const struct dbm_remote *r, int dir,
    struct dbm_err *e)
{
	const struct dbm_upload_ops *ops = dbm_upload_ops_of(r->kind);
	struct dbm_rentry *ents;
	size_t i, n;
	int rc = 0;

	if (!dir)
		return ops->remove(h, r->path, e);
	if (ops->rmtree)
		return ops->rmtree(h, r->path, e);
	/* a volume: files, then folders bottom up */
	if (dbm_rtree_list(h, r, &ents, &n, e) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct dbm_remote c = child(r, &ents[i]);

		rc = dbm_rtree_remove(h, &c, ents[i].dir, e);
		dbm_remote_free(&c);
	}
	dbm_rtree_free(ents, n);
	return rc < 0 ? -1 : ops->rmdir(h, r->path, e);
}
