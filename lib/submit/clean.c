/* A branch's leftovers, removed: see clean.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/jobs.h"
#include "api/mlflow.h"
#include "buf.h"
#include "clean.h"
#include "json.h"
#include "mlflowrun.h"
#include "remote.h"
#include "rtree.h"

/* The active runs: each one's id and its whole JSON text (tasks,
 * libraries, parameters, environments), where a path it uses shows. */
struct active {
	long long *ids;
	char **texts;
	size_t n;
};

static int
list_active(struct dbm_http *h, struct active *a, struct dbm_err *e)
{
	struct dbm_json j;
	char *token = NULL;
	int arr, i, cnt, o, rc;
	size_t len;

	do {
		rc = dbm_api_jobs_list_active(h, token, &j, e);
		free(token);
		token = NULL;
		if (rc < 0)
			return -1;
		arr = dbm_json_member(&j, 0, "runs");
		cnt = arr < 0 ? 0 : dbm_json_count(&j, arr);
		for (i = 0, o = arr + 1; i < cnt; i++, o = dbm_json_skip(&j, o)) {
			const char *raw = dbm_json_raw(&j, o, &len);

			a->ids = dbm_xrealloc(a->ids, (a->n + 1) * sizeof(*a->ids));
			a->texts = dbm_xrealloc(a->texts, (a->n + 1) *
			    sizeof(*a->texts));
			a->ids[a->n] = 0;
			dbm_json_int(&j, dbm_json_member(&j, o, "run_id"),
			    &a->ids[a->n]);
			a->texts[a->n++] = dbm_xstrndup(raw ? raw : "", raw ? len : 0);
		}
		token = dbm_json_get_str(&j, "next_page_token");
		dbm_json_free(&j);
	} while (token && *token);
	free(token);
	return 0;
}

static void
free_active(struct active *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->texts[i]);
	free(a->texts);
	free(a->ids);
}

/* The id of an active run whose text holds needle (or needle2), or 0. */
static long long
used_by(const struct active *a, const char *needle, const char *needle2)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strstr(a->texts[i], needle) ||
		    (needle2 && strstr(a->texts[i], needle2)))
			return a->ids[i] ? a->ids[i] : -1;
	return 0;
}

struct run {
	const struct dbm_clean_opts *o;
	struct dbm_http *h;
	struct active act;
	char *user;		/* the workspace user, asked once (SCIM Me) */
	int user_asked;
	int failed;
};

static void
say(struct run *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct run *c, const char *fmt, ...)
{
	struct dbm_buf b = DBM_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	dbm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (c->o->say)
		c->o->say(c->o->arg, b.data);
	dbm_buf_free(&b);
}

/* Remove r (said), unless a dry run; a failure is said and counted. */
static void
remove_one(struct run *c, const struct dbm_remote *r, int dir)
{
	struct dbm_err e;
	char *uri = dbm_remote_uri(r->kind, r->path);

	if (c->o->dry_run)
		say(c, "would remove %s", uri);
	else if (dbm_rtree_remove(c->h, r, dir, &e) < 0 && e.status != 404) {
		say(c, "cannot remove %s: %s", uri, e.msg);
		c->failed = 1;
	} else
		say(c, "removed %s", uri);
	free(uri);
}

/* An entry of the wheel folder, with what decides its fate. */
struct item {
	struct dbm_remote r;
	long long mtime;
};

static int
newest_first(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return (x->mtime < y->mtime) - (x->mtime > y->mtime);
}

/* Why item it stays (malloc'd), or NULL: it goes. */
static char *
why_kept(struct run *c, const struct item *it, int rank, long long busy)
{
	struct dbm_buf u = DBM_BUF_INIT, f = DBM_BUF_INIT, b = DBM_BUF_INIT;
	char *uri = dbm_remote_uri(it->r.kind, it->r.path);
	char *fuse = dbm_remote_fuse(it->r.kind, it->r.path);
	long long now = dbm_epoch_ms(), id;

	/* a folder's path with its '/', so that x/ab is not x/abc */
	dbm_buf_printf(&u, "%s%s", uri, it->r.dir ? "/" : "");
	dbm_buf_printf(&f, "%s%s", fuse, it->r.dir ? "/" : "");
	if ((id = used_by(&c->act, u.data, f.data)) != 0)
		dbm_buf_printf(&b, "run %lld uses it", id);
	else if (busy)
		dbm_buf_printf(&b, "run %lld of the branch is active", busy);
	else if (c->o->min_age > 0 && it->mtime > now - c->o->min_age * 1000)
		dbm_buf_printf(&b, "written %lld s ago (min age %lld s)",
		    (now - it->mtime) / 1000, c->o->min_age);
	else if (c->o->keep >= 0 && rank < c->o->keep)
		dbm_buf_printf(&b, "one of the %d newest", c->o->keep);
	free(uri);
	free(fuse);
	dbm_buf_free(&u);
	dbm_buf_free(&f);
	if (b.len == 0) {
		dbm_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The wheel folder's entries, each with its newest time; -1 with e. */
static int
list_items(struct run *c, const struct dbm_remote *dir, struct item **items,
    size_t *n, struct dbm_err *e)
{
	struct dbm_rentry *ents;
	size_t i;

	if (dbm_rtree_list(c->h, dir, &ents, n, e) < 0)
		return -1;
	*items = dbm_xcalloc(*n ? *n : 1, sizeof(**items));
	for (i = 0; i < *n; i++) {
		struct item *it = &(*items)[i];

		it->r.kind = dir->kind;
		it->r.path = dbm_remote_join(dir, ents[i].name);
		it->r.dir = ents[i].dir;
		it->mtime = ents[i].mtime;
		if (ents[i].dir) {
			long long t = dbm_rtree_mtime(c->h, &it->r, e);

			if (t < 0) {
				size_t k;

				for (k = 0; k <= i; k++)
					dbm_remote_free(&(*items)[k].r);
				dbm_rtree_free(ents, *n);
				free(*items);
				return -1;
			}
			if (t > it->mtime)
				it->mtime = t;
		}
	}
	dbm_rtree_free(ents, *n);
	return 0;
}

/* The branch's experiments: their ids (NULL where there is none). */
static int
experiment_ids(struct run *c, char **ids, struct dbm_err *e)
{
	struct dbm_json j;
	int i;

	for (i = 0; i < c->o->nexperiments; i++) {
		if (dbm_api_mlflow_experiment_by_name(c->h, c->o->experiments[i],
		    &j, e) < 0) {
			if (strcmp(e->code, "RESOURCE_DOES_NOT_EXIST") != 0)
				return -1;
			continue;
		}
		ids[i] = dbm_json_get_str(&j, "experiment.experiment_id");
		dbm_json_free(&j);
	}
	return 0;
}

/* The code folders mlflow-submit uploads experiment id's projects to
 * (submit.c's code_dir): in the user's workspace folder, and on a
 * legacy workspace on DBFS too. */
static int
code_dirs(struct run *c, const char *id, struct dbm_remote *d, int *n)
{
	struct dbm_err e;
	char *p;

	*n = 0;
	if (!c->user_asked) {
		c->user = dbm_workspace_user(c->h, &e);
		c->user_asked = 1;
	}
	if (c->user) {
		p = dbm_code_folder(c->user, id);
		if (dbm_remote_parse(p, &d[*n], &e) == 0)
			d[(*n)++].dir = 1;
		free(p);
	}
	if (c->o->legacy) {
		p = dbm_code_folder(NULL, id);
		if (dbm_remote_parse(p, &d[*n], &e) == 0)
			d[(*n)++].dir = 1;
		free(p);
	}
	return *n;
}

/* Whether active run i's text names experiment id's code folder. */
static int
runs_experiment(const struct active *a, size_t i, const char *id)
{
	struct dbm_buf n = DBM_BUF_INIT;
	int hit;

	dbm_buf_printf(&n, "/mlflow-experiments/%s/", id);
	hit = strstr(a->texts[i], n.data) != NULL;
	dbm_buf_reset(&n);
	dbm_buf_printf(&n, "/.mlflow-submit/%s/", id);
	hit |= strstr(a->texts[i], n.data) != NULL;
	dbm_buf_free(&n);
	return hit;
}

/* Experiment name (id): its code, then itself, unless a run uses it. */
static void
clean_experiment(struct run *c, const char *name, const char *id)
{
	struct dbm_remote d[2];
	struct dbm_rentry *ents;
	struct dbm_err e;
	size_t k;
	int i, nd;

	for (k = 0; k < c->act.n; k++)
		if (runs_experiment(&c->act, k, id)) {
			say(c, "kept experiment %s: run %lld is active", name,
			    c->act.ids[k]);
			return;
		}
	code_dirs(c, id, d, &nd);
	for (i = 0; i < nd; i++) {
		if (dbm_rtree_list(c->h, &d[i], &ents, &k, &e) == 0) {
			dbm_rtree_free(ents, k);
			remove_one(c, &d[i], 1);
		}
		dbm_remote_free(&d[i]);
	}
	if (c->o->dry_run)
		say(c, "would remove experiment %s", name);
	else if (dbm_api_mlflow_experiment_delete(c->h, id, &e) < 0) {
		say(c, "cannot remove experiment %s: %s", name, e.msg);
		c->failed = 1;
	} else
		say(c, "removed experiment %s (id %s, in MLflow's trash)", name,
		    id);
}

/* The id of an active run of the branch (one that runs an experiment's
 * code) that names no path in the wheel folder dir: its wheels are in
 * the project's env file only, out of sight, so every folder stays while
 * it runs. 0 when there is none. */
static long long
branch_busy(struct run *c, char **ids, const struct dbm_remote *dir)
{
	char *uri = dbm_remote_uri(dir->kind, dir->path);
	char *fuse = dbm_remote_fuse(dir->kind, dir->path);
	struct dbm_buf u = DBM_BUF_INIT, f = DBM_BUF_INIT;
	long long busy = 0;
	size_t r;
	int i;

	dbm_buf_printf(&u, "%s/", uri);
	dbm_buf_printf(&f, "%s/", fuse);
	for (r = 0; r < c->act.n && !busy; r++) {
		if (strstr(c->act.texts[r], u.data) ||
		    strstr(c->act.texts[r], f.data))
			continue;	/* its wheels are in sight */
		for (i = 0; i < c->o->nexperiments && !busy; i++)
			if (ids[i] && runs_experiment(&c->act, r, ids[i]))
				busy = c->act.ids[r] ? c->act.ids[r] : -1;
	}
	free(uri);
	free(fuse);
	dbm_buf_free(&u);
	dbm_buf_free(&f);
	return busy;
}

/* The wheel folder: each entry kept or removed; then the folder itself
 * when all went. */
static void
clean_wheels(struct run *c, const struct dbm_remote *dir, struct item *items,
    size_t n, long long busy)
{
	size_t i;
	int kept = 0;

	qsort(items, n, sizeof(*items), newest_first);
	for (i = 0; i < n; i++) {
		char *why = why_kept(c, &items[i], (int)i, busy);

		if (why) {
			char *uri = dbm_remote_uri(items[i].r.kind,
			    items[i].r.path);

			say(c, "kept %s: %s", uri, why);
			free(uri);
			free(why);
			kept++;
		} else {
			remove_one(c, &items[i].r, items[i].r.dir);
		}
	}
	if (c->o->keep < 0 && kept == 0 && !c->failed)
		remove_one(c, dir, 1);
}

int
dbm_clean(struct dbm_http *h, const struct dbm_clean_opts *o,
    struct dbm_err *e)
{
	struct run c = {.o = o, .h = h};
	struct dbm_remote dir = {0};
	struct item *items = NULL;
	char **ids = dbm_xcalloc((size_t)o->nexperiments + 1, sizeof(*ids));
	size_t n = 0, i;
	int rc = -1, have_dir = 0;

	if (o->wheel_dir && dbm_remote_parse(o->wheel_dir, &dir, e) < 0)
		goto out;
	/* first what is there, then the runs: a run submitted before the
	 * runs are listed is seen, and a folder made after the listing is
	 * not in it */
	if (o->wheel_dir) {
		if (list_items(&c, &dir, &items, &n, e) == 0)
			have_dir = 1;
		else if (e->status != 404)
			goto out;
		else
			say(&c, "%s: no such folder", o->wheel_dir);
	}
	if (experiment_ids(&c, ids, e) < 0 || list_active(h, &c.act, e) < 0)
		goto out;
	if (have_dir)
		clean_wheels(&c, &dir, items, n, branch_busy(&c, ids, &dir));
	for (i = 0; o->keep < 0 && i < (size_t)o->nexperiments; i++)
		if (ids[i])
			clean_experiment(&c, o->experiments[i], ids[i]);
		else
			say(&c, "no experiment %s", o->experiments[i]);
	rc = c.failed;
out:
	for (i = 0; i < n; i++)
		dbm_remote_free(&items[i].r);
	free(items);
	for (i = 0; i < (size_t)o->nexperiments; i++)
		free(ids[i]);
	free(ids);
	free_active(&c.act);
	free(c.user);
	dbm_remote_free(&dir);
	return rc;
}
