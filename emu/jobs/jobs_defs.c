/*
 * workspace-emu jobs: jobs made to last (PROTOCOL.md section 4, "Jobs"):
 * jobs/create, get, list, reset, update, delete and run-now. A job keeps
 * its settings as they were given, under jobs/defs/<id>.json; run-now
 * turns them into the body of a one-time run (job clusters in place of
 * their keys, the run's parameters in place of the job's) and starts it
 * through runs/submit's checks and runner, so both kinds of run behave
 * alike. Settings are checked the same way when they are stored.
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

#define TASKS_MAX	1000	/* tasks a job may have (the service's) */

/* Member iteration over object t: the key token of member i is k, its
 * value k + 1. */
#define EACH_MEMBER(j, t, i, k) \
	for ((i) = 0, (k) = (t) + 1; (i) < dbm_json_count((j), (t)); \
	    (i)++, (k) = dbm_json_skip((j), (k) + 1))

static void
raw_value(struct dbm_jw *w, const struct dbm_json *j, int t)
{
	size_t n;
	const char *p = dbm_json_raw(j, t, &n);

	if (dbm_json_type(j, t) == DBM_JSON_STRING)
		dbm_jw_raw(w, p - 1, n + 2);	/* with its quotes */
	else
		dbm_jw_raw(w, p, n);
}

static void
raw_key(struct dbm_jw *w, const struct dbm_json *j, int k)
{
	char *key = dbm_json_strdup(j, k);

	dbm_jw_key(w, key ? key : "");
	free(key);
}

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
	struct dbm_buf b = DBM_BUF_INIT, p = DBM_BUF_INIT, tmp = DBM_BUF_INIT;
	FILE *f;

	dbm_buf_printf(&b, "{\"job_id\":%lld,\"created_time\":%lld,"
	    "\"settings\":%s}", d->id, d->created, d->settings);
	dbm_buf_printf(&p, "%s/jobs/defs/%lld.json", e->datadir, d->id);
	dbm_buf_printf(&tmp, "%s.tmp", p.data);
	store_mkparents(p.data);
	if ((f = fopen(tmp.data, "w")) != NULL) {
		if (fwrite(b.data, 1, b.len, f) == b.len && fclose(f) == 0)
			rename(tmp.data, p.data);
		else
			unlink(tmp.data);
	}
	dbm_buf_free(&b);
	dbm_buf_free(&p);
	dbm_buf_free(&tmp);
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

/* The job cluster of settings s named key: its new_cluster, or -1. */
static int
job_cluster(const struct dbm_json *s, const char *key)
{
	int jc = dbm_json_member(s, 0, "job_clusters"), i;

	for (i = 0; i < dbm_json_count(s, jc) &&
	    dbm_json_type(s, jc) == DBM_JSON_ARRAY; i++) {
		int c = dbm_json_elem(s, jc, i);

		if (dbm_json_streq(s, dbm_json_member(s, c, "job_cluster_key"),
		    key))
			return dbm_json_member(s, c, "new_cluster");
	}
	return -1;
}

/* A task's python_spark_task or python_wheel_task with run-now's
 * python_params as its parameters. */
static void
task_kind_with_params(struct dbm_jw *w, const struct dbm_json *s, int t,
    const struct dbm_json *rq, int params)
{
	int i, k;

	dbm_jw_obj(w);
	EACH_MEMBER(s, t, i, k) {
		if (dbm_json_streq(s, k, "parameters"))
			continue;
		raw_key(w, s, k);
		raw_value(w, s, k + 1);
	}
	if (params >= 0) {
		dbm_jw_key(w, "parameters");
		raw_value(w, rq, params);
	} else if ((k = dbm_json_member(s, t, "parameters")) >= 0) {
		dbm_jw_key(w, "parameters");
		raw_value(w, s, k);
	}
	dbm_jw_obj_end(w);
}

/* One task of the run: its job_cluster_key becomes that cluster's
 * new_cluster. -1 with *why when the key names no job cluster. */
static int
run_task(struct dbm_jw *w, const struct dbm_json *s, int t,
    const struct dbm_json *rq, char **why)
{
	int params = rq ? dbm_json_member(rq, 0, "python_params") : -1;
	int i, k;

	dbm_jw_obj(w);
	EACH_MEMBER(s, t, i, k) {
		if (dbm_json_streq(s, k, "job_cluster_key")) {
			char *key = dbm_json_strdup(s, k + 1);
			int nc = key ? job_cluster(s, key) : -1;

			if (nc < 0) {
				struct dbm_buf b = DBM_BUF_INIT;

				dbm_buf_printf(&b, "The job cluster key '%.100s' "
				    "is not defined in job_clusters", key ?
				    key : "");
				*why = dbm_buf_detach(&b);
				free(key);
				return -1;
			}
			free(key);
			dbm_jw_key(w, "new_cluster");
			raw_value(w, s, nc);
			continue;
		}
		raw_key(w, s, k);
		if ((dbm_json_streq(s, k, "spark_python_task") ||
		    dbm_json_streq(s, k, "python_wheel_task")) &&
		    dbm_json_type(s, k + 1) == DBM_JSON_OBJECT)
			task_kind_with_params(w, s, k + 1, rq, params);
		else
			raw_value(w, s, k + 1);
	}
	dbm_jw_obj_end(w);
	return 0;
}

/* 1 when run-now's only[] leaves task t out. */
static int
left_out(const struct dbm_json *s, int t, const struct dbm_json *rq)
{
	int only = rq ? dbm_json_member(rq, 0, "only") : -1, i;
	int key = dbm_json_member(s, t, "task_key");

	if (dbm_json_type(rq, only) != DBM_JSON_ARRAY)
		return 0;
	for (i = 0; i < dbm_json_count(rq, only); i++) {
		char *o = dbm_json_strdup(rq, dbm_json_elem(rq, only, i));
		int hit = o && dbm_json_streq(s, key, o);

		free(o);
		if (hit)
			return 0;
	}
	return 1;
}

/* The runs/submit body that job settings s make, with run-now's request
 * rq (or NULL: to check the settings). NULL with *why when they cannot
 * make one. */
static char *
run_body(const struct dbm_json *s, const struct dbm_json *rq, char **why)
{
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	int m, tasks = dbm_json_member(s, 0, "tasks"), i;
	char *name = dbm_json_strdup(s, dbm_json_member(s, 0, "name"));

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "run_name");
	dbm_jw_str(&w, name ? name : "Untitled");
	free(name);
	if ((m = dbm_json_member(s, 0, "timeout_seconds")) >= 0) {
		dbm_jw_key(&w, "timeout_seconds");
		raw_value(&w, s, m);
	}
	if ((m = dbm_json_member(s, 0, "environments")) >= 0) {
		dbm_jw_key(&w, "environments");
		raw_value(&w, s, m);
	}
	if (rq && (m = dbm_json_member(rq, 0, "idempotency_token")) >= 0) {
		dbm_jw_key(&w, "idempotency_token");
		raw_value(&w, rq, m);
	}
	dbm_jw_key(&w, "tasks");
	dbm_jw_arr(&w);
	for (i = 0; i < dbm_json_count(s, tasks); i++) {
		int t = dbm_json_elem(s, tasks, i);

		if (!left_out(s, t, rq) && run_task(&w, s, t, rq, why) < 0) {
			dbm_buf_free(&b);
			return NULL;
		}
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	return dbm_buf_detach(&b);
}

/* {{job.parameters.NAME}} in the run body: the run's value of the job's
 * parameter (run-now's job_parameters, else the parameter's default). */
static char *
with_parameters(char *body, const struct dbm_json *s,
    const struct dbm_json *rq)
{
	int ps = dbm_json_member(s, 0, "parameters"), i;
	int over = rq ? dbm_json_member(rq, 0, "job_parameters") : -1;

	for (i = 0; i < dbm_json_count(s, ps) &&
	    dbm_json_type(s, ps) == DBM_JSON_ARRAY; i++) {
		int p = dbm_json_elem(s, ps, i);
		char *name = dbm_json_strdup(s, dbm_json_member(s, p, "name"));
		char *val = name && over >= 0 ? dbm_json_strdup(rq,
		    dbm_json_member(rq, over, name)) : NULL;
		struct dbm_buf ref = DBM_BUF_INIT, q = DBM_BUF_INIT,
		    out = DBM_BUF_INIT;
		const char *at, *from = body;

		if (name == NULL) {
			free(val);
			continue;
		}
		if (val == NULL)
			val = dbm_json_strdup(s, dbm_json_member(s, p,
			    "default"));
		dbm_buf_printf(&ref, "{{job.parameters.%s}}", name);
		dbm_json_quote(&q, val ? val : "", strlen(val ? val : ""));
		while ((at = strstr(from, ref.data)) != NULL) {
			dbm_buf_add(&out, from, (size_t)(at - from));
			/* inside a JSON string: the value's escaped body */
			dbm_buf_add(&out, q.data + 1, q.len - 2);
			from = at + ref.len;
		}
		dbm_buf_adds(&out, from);
		free(body);
		body = dbm_buf_detach(&out);
		dbm_buf_free(&ref);
		dbm_buf_free(&q);
		free(name);
		free(val);
	}
	return body;
}

/* Settings as jobs/create, reset and update take them: an object whose
 * tasks[] (if any) runs/submit would accept. NULL, or the 400 message. */
static char *
settings_error(struct emu *e, const char *settings)
{
	struct dbm_json s, body;
	struct dbm_err je;
	struct jobs_start st = {0, 1, 0};
	char *run, *why = NULL;
	int tasks;

	if (dbm_json_parse(&s, settings, strlen(settings), "settings", &je) < 0)
		return dbm_xstrdup("settings are not JSON");
	tasks = dbm_json_member(&s, 0, "tasks");
	if (tasks >= 0 && dbm_json_type(&s, tasks) != DBM_JSON_ARRAY)
		why = dbm_xstrdup("tasks must be an array");
	else if (dbm_json_count(&s, tasks) > TASKS_MAX)
		why = dbm_xstrdup("A job can have at most 1000 tasks");
	else if (dbm_json_count(&s, tasks) > 0 &&
	    (run = run_body(&s, NULL, &why)) != NULL) {
		if (dbm_json_parse(&body, run, strlen(run), "run", &je) == 0) {
			st.job_id = 1;
			jobs_start(e, &body, 1, &st, &why);
			dbm_json_free(&body);
		}
		free(run);
	}
	dbm_json_free(&s);
	return why;
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
		raw_key(&w, j, k);
		raw_value(&w, j, k + 1);
	}
	dbm_jw_obj_end(&w);
	return dbm_buf_detach(&b);
}

/* The job named by the request's job_id (the lock then held), or NULL
 * with the answer in *res. */
static struct jobdef *
request_job(struct req *q, enum MHD_Result *res)
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

static void
job_json(struct emu *e, struct dbm_jw *w, const struct jobdef *d, int full)
{
	static const char *const brief[] = {"tasks", "job_clusters", NULL};
	struct dbm_json s;
	struct dbm_err je;

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
	if (full || dbm_json_parse(&s, d->settings, strlen(d->settings),
	    "settings", &je) < 0) {
		dbm_jw_raw(w, d->settings, strlen(d->settings));
	} else {
		char *t = object_without(&s, 0, brief);

		dbm_jw_raw(w, t, strlen(t));
		free(t);
		dbm_json_free(&s);
	}
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

	if ((why = settings_error(e, settings)) != NULL) {
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

	if ((d = request_job(q, &res)) == NULL)
		return res;
	dbm_jw_init(&w, &b);
	job_json(q->emu, &w, d, 1);
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
			job_json(q->emu, &w, v[i], expand);
		dbm_jw_arr_end(&w);
	}
	pthread_mutex_unlock(&js->mu);
	dbm_jw_key(&w, "has_more");
	dbm_jw_bool(&w, (size_t)(off + limit) < n);
	if ((size_t)(off + limit) < n) {
		char num[32];

		snprintf(num, sizeof(num), "%lld", off + limit);
		dbm_jw_key(&w, "next_page_token");
		dbm_jw_str(&w, num);
	}
	dbm_jw_obj_end(&w);
	res = emu_reply_json(q, 200, b.data);
	free(v);
	free(name);
	dbm_buf_free(&b);
	return res;
}

/* jobs/update's merge: new_settings' members replace the job's, but
 * tasks[] and job_clusters[] are merged by task_key / job_cluster_key;
 * fields_to_remove drops top-level fields, "tasks/KEY" and
 * "job_clusters/KEY". */
static int
removed(const struct dbm_json *rq, const char *field, const char *key)
{
	int f = dbm_json_member(rq, 0, "fields_to_remove"), i, hit = 0;
	struct dbm_buf want = DBM_BUF_INIT;

	if (key)
		dbm_buf_printf(&want, "%s/%s", field, key);
	else
		dbm_buf_adds(&want, field);
	for (i = 0; i < dbm_json_count(rq, f) && !hit &&
	    dbm_json_type(rq, f) == DBM_JSON_ARRAY; i++)
		hit = dbm_json_streq(rq, dbm_json_elem(rq, f, i), want.data);
	dbm_buf_free(&want);
	return hit;
}

/* The entry of array a (in j) whose member idk is key, or -1. */
static int
entry(const struct dbm_json *j, int a, const char *idk, const char *key)
{
	int i;

	for (i = 0; i < dbm_json_count(j, a) && dbm_json_type(j, a) ==
	    DBM_JSON_ARRAY; i++) {
		int x = dbm_json_elem(j, a, i);

		if (dbm_json_streq(j, dbm_json_member(j, x, idk), key))
			return x;
	}
	return -1;
}

static void
merge_array(struct dbm_jw *w, const struct dbm_json *s, int old,
    const struct dbm_json *rq, int nw, const char *field, const char *idk)
{
	int i;

	dbm_jw_arr(w);
	for (i = 0; i < dbm_json_count(s, old); i++) {
		int x = dbm_json_elem(s, old, i), y;
		char *key = dbm_json_strdup(s, dbm_json_member(s, x, idk));

		if (key && removed(rq, field, key)) {
			free(key);
			continue;
		}
		y = key ? entry(rq, nw, idk, key) : -1;
		raw_value(w, y >= 0 ? rq : s, y >= 0 ? y : x);
		free(key);
	}
	for (i = 0; i < dbm_json_count(rq, nw); i++) {
		int y = dbm_json_elem(rq, nw, i);
		char *key = dbm_json_strdup(rq, dbm_json_member(rq, y, idk));

		if (key == NULL || entry(s, old, idk, key) < 0)
			raw_value(w, rq, y);
		free(key);
	}
	dbm_jw_arr_end(w);
}

static char *
merged(const struct dbm_json *s, const struct dbm_json *rq)
{
	static const char *const arrays[][2] = {{"tasks", "task_key"},
		{"job_clusters", "job_cluster_key"}};
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	int ns = dbm_json_member(rq, 0, "new_settings"), i, k;
	size_t a;

	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	EACH_MEMBER(s, 0, i, k) {
		char *field = dbm_json_strdup(s, k);
		int nv = dbm_json_member(rq, ns, field ? field : "");

		for (a = 0; a < 2 && strcmp(arrays[a][0], field ? field : ""); a++)
			;
		if (field == NULL || removed(rq, field, NULL)) {
			free(field);
			continue;
		}
		dbm_jw_key(&w, field);
		if (a < 2)
			merge_array(&w, s, k + 1, rq, nv, arrays[a][0],
			    arrays[a][1]);
		else
			raw_value(&w, nv >= 0 ? rq : s, nv >= 0 ? nv : k + 1);
		free(field);
	}
	EACH_MEMBER(rq, ns, i, k) {
		char *field = dbm_json_strdup(rq, k);

		if (field && dbm_json_member(s, 0, field) < 0) {
			dbm_jw_key(&w, field);
			raw_value(&w, rq, k + 1);
		}
		free(field);
	}
	dbm_jw_obj_end(&w);
	return dbm_buf_detach(&b);
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
	if ((d = request_job(q, &res)) == NULL)
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
		next = merged(&s, &q->json);
		dbm_json_free(&s);
	} else {
		size_t n;
		const char *p = dbm_json_raw(&q->json, ns, &n);

		next = dbm_xstrndup(p, n);
	}
	pthread_mutex_unlock(&js->mu);
	/* checked unlocked: the check takes the lock for run ids */
	if ((why = settings_error(e, next)) != NULL) {
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

	if ((d = request_job(q, &res)) == NULL)
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

/* jobs/run-now: the job's settings as a one-time run of the job. */
enum MHD_Result
emu_jobs_run_now(struct req *q)
{
	struct emu *e = q->emu;
	struct jobs *js = e->jobs;
	struct jobs_start st = {0, 0, 0};
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_json s, body;
	struct dbm_err je;
	struct jobdef *d;
	enum MHD_Result res;
	char *run = NULL, *why = NULL;
	int ok;

	if ((d = request_job(q, &res)) == NULL)
		return res;
	st.job_id = d->id;
	ok = dbm_json_parse(&s, d->settings, strlen(d->settings), "settings",
	    &je) == 0;
	pthread_mutex_unlock(&js->mu);
	if (!ok)
		return emu_reply_error(q, 500, "INTERNAL_ERROR",
		    "the job's stored settings are not JSON");
	if (dbm_json_count(&s, dbm_json_member(&s, 0, "tasks")) == 0)
		why = dbm_xstrdup("The job has no tasks to run");
	else if ((run = run_body(&s, &q->json, &why)) != NULL) {
		run = with_parameters(run, &s, &q->json);
		if (dbm_json_parse(&body, run, strlen(run), "run", &je) == 0) {
			jobs_start(e, &body, 1, &st, &why);
			dbm_json_free(&body);
		} else
			why = dbm_xstrdup("a parameter's value breaks the run's "
			    "settings");
	}
	dbm_json_free(&s);
	free(run);
	if (why) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", "%s",
		    why);
		free(why);
		return res;
	}
	dbm_buf_printf(&b, "{\"run_id\":%lld,\"number_in_job\":%lld}",
	    st.run_id, st.run_id);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}
