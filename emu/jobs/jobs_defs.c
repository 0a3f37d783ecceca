/*
 * workspace-emu jobs: jobs made to last (PROTOCOL.md section 4, "Jobs"):
 * jobs/create, get, list, reset, update, delete and run-now. A job keeps
 * its settings as they were given, under jobs/defs/<id>.json; run-now
 * turns them into the body of a one-time run (job clusters in place of
 * their keys, the run's parameters in place of the job's) and starts it
 * through runs/submit's checks and runner, so both kinds of run behave
 * alike (jobs_runnow.c). Settings are checked the same way when they are
 * stored.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

static struct jobdef *
find_def(struct jobs *js, long long id)
{
	struct jobdef *d;

	for (d = js->defs; d && d->id != id; d = d->next)
		;
	return d;
}

static void
save_def(struct emu *e, const struct jobdef *d)
{
	struct dbm_buf b = DBM_BUF_INIT, p = DBM_BUF_INIT;

	dbm_buf_printf(&b, "{\"job_id\":%lld,\"created_time\":%lld,"
	    "\"settings\":%s}", d->id, d->created, d->settings);
	dbm_buf_printf(&p, "%s/jobs/defs/%lld.json", e->datadir, d->id);
	store_write_file(e, p.data, b.data, b.len);
	dbm_buf_free(&b);
	dbm_buf_free(&p);
}

void
jobs_load_defs(struct emu *e)
{
	struct jobs *js = e->jobs;
	struct dbm_buf dir = DBM_BUF_INIT;
	char **names;
	int n, i;

	dbm_buf_printf(&dir, "%s/jobs/defs", e->datadir);
	names = store_list(dir.data, &n);
	for (i = 0; names && i < n; i++) {
		struct dbm_buf p = DBM_BUF_INIT, in = DBM_BUF_INIT;
		struct dbm_json j;
		struct dbm_err je;
		size_t len = strlen(names[i]);

		dbm_buf_printf(&p, "%s/%s", dir.data, names[i]);
		if (len > 5 && strcmp(names[i] + len - 5, ".json") == 0 &&
		    dbm_buf_read_file(&in, p.data, 0) == 0 &&
		    dbm_json_parse(&j, dbm_buf_str(&in), in.len, p.data,
		    &je) == 0) {
			struct jobdef *d = dbm_xcalloc(1, sizeof(*d));
			int st = dbm_json_member(&j, 0, "settings");
			size_t sn;
			const char *sp = dbm_json_raw(&j, st, &sn);

			dbm_json_get_int(&j, "job_id", &d->id);
			dbm_json_get_int(&j, "created_time", &d->created);
			d->settings = dbm_json_type(&j, st) == DBM_JSON_OBJECT ?
			    dbm_xstrndup(sp, sn) : dbm_xstrdup("{}");
			d->next = js->defs;
			js->defs = d;
			if (d->id >= js->next_job)
				js->next_job = d->id + 1;
			dbm_json_free(&j);
		}
		dbm_buf_free(&p);
		dbm_buf_free(&in);
	}
	store_names_free(names);
	dbm_buf_free(&dir);
}

void
jobs_free_defs(struct jobs *js)
{
	struct jobdef *d, *n;

	for (d = js->defs; d; d = n) {
		n = d->next;
		free(d->settings);
		free(d);
	}
	js->defs = NULL;
}

/* The members of object t of j but those named in skip (NULL-ended),
 * as JSON text. */
static char *
object_without(const struct dbm_json *j, int t, const char *const *skip)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	int i, k;
	size_t x;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	EACH_MEMBER(j, t, i, k) {
		int drop = 0;

		for (x = 0; skip[x]; x++)
			drop |= dbm_json_streq(j, k, skip[x]);
		if (drop)
			continue;
		jobs_raw_key(&w, j, k);
		dbm_jw_json(&w, j, k + 1);
	}
	dbm_jw_obj_end(&w);
	return dbm_buf_detach(&b);
}

/* The job named by the request's job_id (the lock then held), or NULL
 * with the answer in *res. */
struct jobdef *
jobs_request_job(struct req *q, enum MHD_Result *res)
{
	struct jobs *js = q->emu->jobs;
	struct jobdef *d;
	long long id;

	if (emu_param_id(q, "job_id", "Missing required field: job_id", &id,
	    res) < 0)
		return NULL;
	pthread_mutex_lock(&js->mu);
	if ((d = find_def(js, id)) == NULL) {
		pthread_mutex_unlock(&js->mu);
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Job %lld does not exist.", id);
	}
	return d;
}

#define JOB_BRIEF	(-1)	/* job_json: no tasks, no job clusters */
#define JOB_ALL		(-2)	/* every task */

/* The settings with a page of tasks from from (TASKS_PAGE of them): the
 * later pages without the job clusters, environments and parameters of
 * the first, as Jobs 2.2 pages them. 1 when tasks are left. */
static int
settings_page(struct dbm_jw *w, const struct dbm_json *s, int from)
{
	int i, k, n = 0;

	dbm_jw_obj(w);
	EACH_MEMBER(s, 0, i, k) {
		if (from > 0 && (dbm_json_streq(s, k, "job_clusters") ||
		    dbm_json_streq(s, k, "environments") ||
		    dbm_json_streq(s, k, "parameters")))
			continue;
		jobs_raw_key(w, s, k);
		if (!dbm_json_streq(s, k, "tasks")) {
			dbm_jw_json(w, s, k + 1);
			continue;
		}
		n = dbm_json_count(s, k + 1);
		dbm_jw_arr(w);
		for (int t = from; t < n && t < from + TASKS_PAGE; t++)
			dbm_jw_json(w, s, dbm_json_elem(s, k + 1, t));
		dbm_jw_arr_end(w);
	}
	dbm_jw_obj_end(w);
	return from + TASKS_PAGE < n;
}

/* A job as jobs/get answers it (tasks: JOB_ALL, JOB_BRIEF or the first of
 * a page). */
static void
job_json(struct emu *e, struct dbm_jw *w, const struct jobdef *d, int tasks)
{
	static const char *const brief[] = {"tasks", "job_clusters", NULL};
	struct dbm_json s;
	struct dbm_err je;
	int more = 0;

	dbm_jw_obj(w);
	dbm_jw_key(w, "job_id");
	dbm_jw_int(w, d->id);
	dbm_jw_key(w, "creator_user_name");
	dbm_jw_str(w, e->user_name);
	dbm_jw_key(w, "run_as_user_name");
	dbm_jw_str(w, e->user_name);
	dbm_jw_key(w, "run_as_owner");
	dbm_jw_bool(w, 1);
	dbm_jw_key(w, "created_time");
	dbm_jw_int(w, d->created);
	dbm_jw_key(w, "settings");
	if (tasks == JOB_ALL || dbm_json_parse(&s, d->settings,
	    strlen(d->settings), "settings", &je) < 0) {
		dbm_jw_raw(w, d->settings, strlen(d->settings));
	} else {
		if (tasks == JOB_BRIEF) {
			char *t = object_without(&s, 0, brief);

			dbm_jw_raw(w, t, strlen(t));
			free(t);
		} else
			more = settings_page(w, &s, tasks);
		dbm_json_free(&s);
	}
	if (more)
		jobs_page_tokens(w, 1, tasks + TASKS_PAGE, -1);
	dbm_jw_obj_end(w);
}

enum MHD_Result
emu_jobs_create(struct req *q)
{
	static const char *const skip[] = {"access_control_list", NULL};
	struct emu *e = q->emu;
	struct jobs *js = e->jobs;
	struct dbm_buf b = DBM_BUF_INIT;
	struct jobdef *d;
	enum MHD_Result res;
	char *settings = object_without(&q->json, 0, skip), *why;

	if ((why = jobs_settings_error(e, settings)) != NULL) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		free(settings);
		return res;
	}
	d = dbm_xcalloc(1, sizeof(*d));
	d->settings = settings;
	d->created = dbm_epoch_ms();
	pthread_mutex_lock(&js->mu);
	d->id = js->next_job++;
	d->next = js->defs;
	js->defs = d;
	save_def(e, d);
	pthread_mutex_unlock(&js->mu);
	dbm_buf_printf(&b, "{\"job_id\":%lld}", d->id);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

enum MHD_Result
emu_jobs_job_get(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct jobdef *d;
	enum MHD_Result res;
	int from = JOB_ALL;

	/* 2.2 pages a job's tasks (page_token: where the next page starts) */
	if (strncmp(q->path, "/api/2.2/", 9) == 0) {
		char *tok = emu_param(q, "page_token");

		from = tok ? atoi(tok) : 0;
		free(tok);
		if (from < 0)
			return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
			    "Invalid page_token");
	}
	if ((d = jobs_request_job(q, &res)) == NULL)
		return res;
	dbm_jw_init(&w, &b);
	job_json(q->emu, &w, d, from);
	pthread_mutex_unlock(&js->mu);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

static int
newest_first(const void *a, const void *b)
{
	const struct jobdef *x = *(struct jobdef *const *)a,
	    *y = *(struct jobdef *const *)b;

	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* 1 when job d's name is name, ignoring case (jobs/list's name filter). */
static int
named(const struct jobdef *d, const char *name)
{
	struct dbm_json s;
	struct dbm_err je;
	char *n;
	int hit;

	if (dbm_json_parse(&s, d->settings, strlen(d->settings), "settings",
	    &je) < 0)
		return 0;
	n = dbm_json_strdup(&s, dbm_json_member(&s, 0, "name"));
	hit = strcasecmp(n ? n : "Untitled", name) == 0;
	free(n);
	dbm_json_free(&s);
	return hit;
}

/* A page's bounds from offset or page_token and limit (1 to max, 0 the
 * default): 0, or -1 with the 400. */
static int
page_bounds(struct req *q, long long max, long long def, long long *off,
    long long *limit, enum MHD_Result *res)
{
	char *l = emu_param(q, "limit"), *o = emu_param(q, "page_token"), *end;
	int bad = 0;

	if (o == NULL)
		o = emu_param(q, "offset");
	*off = 0;
	*limit = def;
	if (l) {
		errno = 0;
		*limit = strtoll(l, &end, 10);
		bad |= end == l || *end || errno || *limit < 0 || *limit > max;
		if (*limit == 0)
			*limit = def;
	}
	if (o) {
		errno = 0;
		*off = strtoll(o, &end, 10);
		bad |= end == o || *end || errno || *off < 0;
	}
	free(l);
	free(o);
	if (bad)
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "limit must be between 1 and %lld, and offset or page_token "
		    "a position this list gave", max);
	return bad ? -1 : 0;
}

enum MHD_Result
emu_jobs_list(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct jobdef **v = NULL, *d;
	enum MHD_Result res;
	long long off, limit;
	int expand = emu_param_bool(q, "expand_tasks", 0);
	char *name = emu_param(q, "name");
	size_t n = 0, cap = 0, i;

	if (page_bounds(q, 100, 20, &off, &limit, &res) < 0) {
		free(name);
		return res;
	}
	pthread_mutex_lock(&js->mu);
	for (d = js->defs; d; d = d->next) {
		if (name && !named(d, name))
			continue;
		if (n == cap)
			v = dbm_xrealloc(v, (cap = cap ? 2 * cap : 16) *
			    sizeof(*v));
		v[n++] = d;
	}
	if (n)
		qsort(v, n, sizeof(*v), newest_first);
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	if (n > (size_t)off) {
		dbm_jw_key(&w, "jobs");
		dbm_jw_arr(&w);
		for (i = (size_t)off; i < n && i < (size_t)(off + limit); i++)
			job_json(q->emu, &w, v[i], expand ? 0 : JOB_BRIEF);
		dbm_jw_arr_end(&w);
	}
	pthread_mutex_unlock(&js->mu);
	jobs_page_tokens(&w, (size_t)(off + limit) < n, off + limit, -1);
	dbm_jw_obj_end(&w);
	res = emu_reply_json(q, 200, b.data);
	free(v);
	free(name);
	dbm_buf_free(&b);
	return res;
}

/* jobs/reset (update 0) and jobs/update (1). */
static enum MHD_Result
change(struct req *q, int update)
{
	struct emu *e = q->emu;
	struct jobs *js = e->jobs;
	int ns = dbm_json_member(&q->json, 0, "new_settings");
	struct jobdef *d;
	enum MHD_Result res;
	char *next, *why;

	if (!update && dbm_json_type(&q->json, ns) != DBM_JSON_OBJECT)
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Missing required field: new_settings");
	if ((d = jobs_request_job(q, &res)) == NULL)
		return res;
	if (update) {
		struct dbm_json s;
		struct dbm_err je;

		if (dbm_json_parse(&s, d->settings, strlen(d->settings),
		    "settings", &je) < 0) {
			pthread_mutex_unlock(&js->mu);
			return emu_reply_error(q, 500, "INTERNAL_ERROR",
			    "the job's stored settings are not JSON");
		}
		next = jobs_merged(&s, &q->json);
		dbm_json_free(&s);
	} else {
		size_t n;
		const char *p = dbm_json_raw(&q->json, ns, &n);

		next = dbm_xstrndup(p, n);
	}
	pthread_mutex_unlock(&js->mu);
	/* checked unlocked: the check takes the lock for run ids */
	if ((why = jobs_settings_error(e, next)) != NULL) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		free(next);
		return res;
	}
	pthread_mutex_lock(&js->mu);
	if ((d = find_def(js, d->id)) != NULL) {
		free(d->settings);
		d->settings = next;
		save_def(e, d);
		next = NULL;
	}
	pthread_mutex_unlock(&js->mu);
	free(next);
	return emu_reply_json(q, 200, "{}");
}

enum MHD_Result
emu_jobs_reset(struct req *q)
{
	return change(q, 0);
}

enum MHD_Result
emu_jobs_update(struct req *q)
{
	return change(q, 1);
}

/* jobs/delete: the job goes; its runs stay listed (runs/list). */
enum MHD_Result
emu_jobs_delete(struct req *q)
{
	struct emu *e = q->emu;
	struct jobs *js = e->jobs;
	struct jobdef **pp, *d;
	struct dbm_buf p = DBM_BUF_INIT;
	enum MHD_Result res;

	if ((d = jobs_request_job(q, &res)) == NULL)
		return res;
	for (pp = &js->defs; *pp != d; pp = &(*pp)->next)
		;
	*pp = d->next;
	dbm_buf_printf(&p, "%s/jobs/defs/%lld.json", e->datadir, d->id);
	unlink(p.data);
	pthread_mutex_unlock(&js->mu);
	dbm_buf_free(&p);
	free(d->settings);
	free(d);
	return emu_reply_json(q, 200, "{}");
}

enum MHD_Result
emu_jobs_run_now(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_json s;
	struct dbm_err je;
	struct jobdef *d;
	enum MHD_Result res;
	long long run_id = 0, id;
	char *why;
	int ok;

	if ((d = jobs_request_job(q, &res)) == NULL)
		return res;
	id = d->id;
	ok = dbm_json_parse(&s, d->settings, strlen(d->settings), "settings",
	    &je) == 0;
	pthread_mutex_unlock(&js->mu);
	if (!ok)
		return emu_reply_error(q, 500, "INTERNAL_ERROR",
		    "the job's stored settings are not JSON");
	why = jobs_run_now(q->emu, id, &s, &q->json, &run_id);
	dbm_json_free(&s);
	if (why) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		return res;
	}
	dbm_buf_printf(&b, "{\"run_id\":%lld,\"number_in_job\":%lld}", run_id,
	    run_id);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}
