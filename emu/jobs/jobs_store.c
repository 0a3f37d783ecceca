/*
 * workspace-emu jobs: persistence. Each run is a JSON record under
 * jobs/state/, so runs and idempotency tokens outlive a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"
#include "sha.h"

static const char *const STATES[] = {
	"INTERNAL_ERROR", "SUCCESS", "FAILED", "TIMEDOUT", "CANCELED",
	"UPSTREAM_FAILED", "USER_CANCELED", "RUN_EXECUTION_ERROR",
	"LIBRARY_INSTALLATION_ERROR", "INVALID_RUN_CONFIGURATION", "CLIENT_ERROR",
	"CLUSTER_ERROR",
};

/* The static string for a saved state name (states are static strings). */
static const char *
state_name(const char *s)
{
	size_t i;

	for (i = 0; s && i < sizeof(STATES) / sizeof(*STATES); i++)
		if (strcmp(STATES[i], s) == 0)
			return STATES[i];
	return s ? "INTERNAL_ERROR" : NULL;
}

static void
jkv(struct dbm_jw *w, const char *k, const char *v)
{
	dbm_jw_key(w, k);
	dbm_jw_str(w, v);
}

/* Make the run's record, for jobs_flush_run to write to
 * jobs/state/<id>.json (jobs->mu is held). */
void
jobs_save_run(struct emu *e, struct run *r)
{
	struct dbm_buf *b = &r->rec;
	struct dbm_jw w;
	int i;

	(void)e;
	dbm_buf_reset(b);
	r->unsaved++;
	dbm_jw_init(&w, b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "run_id");
	dbm_jw_int(&w, r->run_id);
	dbm_jw_key(&w, "job_id");
	dbm_jw_int(&w, r->job_id);
	dbm_jw_key(&w, "submitted");
	dbm_jw_int(&w, r->submitted);
	jkv(&w, "name", r->name);
	jkv(&w, "token", r->token);
	dbm_jw_key(&w, "legacy");
	dbm_jw_bool(&w, r->legacy);
	dbm_jw_key(&w, "job_run");
	dbm_jw_bool(&w, r->job_run);
	dbm_jw_key(&w, "repairs");
	dbm_jw_arr(&w);
	for (i = 0; i < r->nrepairs; i++)
		dbm_jw_int(&w, r->repairs[i]);
	dbm_jw_arr_end(&w);
	dbm_jw_key(&w, "timeout");
	dbm_jw_int(&w, r->timeout);
	dbm_jw_key(&w, "tasks");
	dbm_jw_arr(&w);
	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[i];

		dbm_jw_obj(&w);
		dbm_jw_key(&w, "run_id");
		dbm_jw_int(&w, t->run_id);
		jkv(&w, "key", t->key);
		jkv(&w, "kind", t->kind);
		jkv(&w, "task", t->task_json);
		jkv(&w, "cluster", t->cluster_json);
		jkv(&w, "existing", t->existing);
		jkv(&w, "libraries", t->libraries);
		jkv(&w, "env_key", t->env_key);
		jkv(&w, "env_spec", t->env_spec);
		dbm_jw_key(&w, "timeout");
		dbm_jw_int(&w, t->timeout);
		jkv(&w, "life", jobs_life_name(t->life));
		jkv(&w, "result", t->result);
		jkv(&w, "code", t->code);
		jkv(&w, "type", t->type);
		jkv(&w, "message", t->message);
		dbm_jw_key(&w, "times");
		dbm_jw_arr(&w);
		dbm_jw_int(&w, t->start);
		dbm_jw_int(&w, t->setup_end);
		dbm_jw_int(&w, t->exec_end);
		dbm_jw_int(&w, t->end);
		dbm_jw_arr_end(&w);
		dbm_jw_key(&w, "pid");
		dbm_jw_int(&w, jobs_terminal(t->life) ? 0 : t->pid);
		jkv(&w, "dir", t->dir);
		jkv(&w, "mlflow_run", t->mlflow_run);
		jkv(&w, "mlflow_exp", t->mlflow_exp);
		dbm_jw_obj_end(&w);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
}

/* Write the newest record jobs_save_run made, with jobs->mu released.
 * Writers take turns (wmu) and each takes the record as it is when its
 * turn comes, so an older record never lands after a newer one. */
void
jobs_flush_run(struct emu *e, struct run *r)
{
	struct jobs *js = e->jobs;
	struct dbm_buf b, p = DBM_BUF_INIT;

	pthread_mutex_lock(&js->wmu);
	pthread_mutex_lock(&js->mu);
	b = r->rec;
	r->rec = (struct dbm_buf)DBM_BUF_INIT;
	pthread_mutex_unlock(&js->mu);
	if (b.len > 0) {
		dbm_buf_printf(&p, "%s/jobs/state/%lld.json", e->datadir,
		    r->run_id);
		store_write_file(e, p.data, b.data, b.len);
	}
	pthread_mutex_lock(&js->mu);
	if (--r->unsaved == 0)
		pthread_cond_broadcast(&js->cv);	/* runs/delete waits */
	pthread_mutex_unlock(&js->mu);
	pthread_mutex_unlock(&js->wmu);
	dbm_buf_free(&b);
	dbm_buf_free(&p);
}

static char *
jstr(const struct dbm_json *j, int obj, const char *k)
{
	return dbm_json_strdup(j, dbm_json_member(j, obj, k));
}

/* A task's state as saved; one that was active is ended (1) with its
 * processes, as the emulator that ran it is gone. */
static int
load_task(struct emu *e, const struct dbm_json *j, int o, struct task *t)
{
	long long v = 0, pid = 0;
	char *s;
	size_t q;
	int tm, lf;

	dbm_json_int(j, dbm_json_member(j, o, "run_id"), &t->run_id);
	t->key = jstr(j, o, "key");
	s = jstr(j, o, "kind");
	for (q = 0; s && jobs_task_kinds[q]; q++)
		if (strcmp(s, jobs_task_kinds[q]) == 0)
			t->kind = jobs_task_kinds[q];
	free(s);
	if (t->kind == NULL)
		t->kind = jobs_task_kinds[0];
	if ((t->task_json = jstr(j, o, "task")) == NULL)
		t->task_json = dbm_xstrdup("{}");
	t->cluster_json = jstr(j, o, "cluster");
	t->existing = jstr(j, o, "existing");
	if ((t->libraries = jstr(j, o, "libraries")) == NULL)
		t->libraries = dbm_xstrdup("[]");
	t->env_key = jstr(j, o, "env_key");
	t->env_spec = jstr(j, o, "env_spec");
	dbm_json_int(j, dbm_json_member(j, o, "timeout"), &v);
	t->timeout = (long)v;
	s = jstr(j, o, "life");
	lf = jobs_life_parse(s);
	t->life = lf < 0 ? LIFE_INTERNAL_ERROR : (enum life)lf;
	free(s);
	s = jstr(j, o, "result");
	t->result = state_name(s);
	free(s);
	s = jstr(j, o, "code");
	t->code = state_name(s);
	free(s);
	s = jstr(j, o, "type");
	t->type = s && strcmp(s, "SUCCESS") == 0 ? "SUCCESS" :
	    s && strcmp(s, "CLIENT_ERROR") == 0 ? "CLIENT_ERROR" :
	    s ? "INTERNAL_ERROR" : NULL;
	free(s);
	t->message = jstr(j, o, "message");
	tm = dbm_json_member(j, o, "times");
	dbm_json_int(j, dbm_json_elem(j, tm, 0), &t->start);
	dbm_json_int(j, dbm_json_elem(j, tm, 1), &t->setup_end);
	dbm_json_int(j, dbm_json_elem(j, tm, 2), &t->exec_end);
	dbm_json_int(j, dbm_json_elem(j, tm, 3), &t->end);
	t->dir = jstr(j, o, "dir");
	t->mlflow_run = jstr(j, o, "mlflow_run");
	t->mlflow_exp = jstr(j, o, "mlflow_exp");
	if (jobs_terminal(t->life))
		return 0;
	/* its processes must not outlive the emulator that started them */
	dbm_json_int(j, dbm_json_member(j, o, "pid"), &pid);
	if (pid > 1)
		kill(-(pid_t)pid, SIGKILL);
	jobs_sweep(e, t->run_id);
	t->life = LIFE_INTERNAL_ERROR;
	t->result = "FAILED";
	t->code = "INTERNAL_ERROR";
	t->type = "INTERNAL_ERROR";
	free(t->message);
	t->message = dbm_xstrdup("workspace-emu stopped while the task was "
	    "active");
	t->end = dbm_epoch_ms();
	return 1;
}

/* A run as saved in JSON j; *dirty when a task had to be ended. */
static struct run *
load_run(struct emu *e, const struct dbm_json *j, int *dirty)
{
	struct jobs *js = e->jobs;
	struct run *r = dbm_xcalloc(1, sizeof(*r));
	long long v = 0;
	int k, rp, tasks;

	r->e = e;
	dbm_json_get_int(j, "run_id", &r->run_id);
	dbm_json_get_int(j, "job_id", &r->job_id);
	dbm_json_get_int(j, "submitted", &r->submitted);
	dbm_json_get_int(j, "timeout", &v);
	r->timeout = (long)v;
	r->name = jstr(j, 0, "name");
	r->token = jstr(j, 0, "token");
	dbm_json_bool(j, dbm_json_member(j, 0, "legacy"), &r->legacy);
	dbm_json_bool(j, dbm_json_member(j, 0, "job_run"), &r->job_run);
	rp = dbm_json_member(j, 0, "repairs");
	r->nrepairs = dbm_json_count(j, rp) > 0 ? dbm_json_count(j, rp) : 0;
	r->repairs = r->nrepairs ? dbm_xcalloc((size_t)r->nrepairs,
	    sizeof(*r->repairs)) : NULL;
	for (k = 0; k < r->nrepairs; k++)
		dbm_json_int(j, dbm_json_elem(j, rp, k), &r->repairs[k]);
	tasks = dbm_json_member(j, 0, "tasks");
	r->nt = dbm_json_count(j, tasks);
	r->t = dbm_xcalloc((size_t)(r->nt ? r->nt : 1), sizeof(*r->t));
	for (k = 0; k < r->nt; k++) {
		r->t[k].run = r;
		*dirty |= load_task(e, j, dbm_json_elem(j, tasks, k), &r->t[k]);
		if (r->t[k].run_id >= js->next_id)
			js->next_id = r->t[k].run_id + 1;
	}
	return r;
}

/* Runs from an earlier life of this data directory; what was active then
 * ended with it. */
void
jobs_load_runs(struct emu *e)
{
	struct jobs *js = e->jobs;
	struct dbm_buf dir = DBM_BUF_INIT, p = DBM_BUF_INIT, in = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err je;
	struct run *r;
	char **names;
	int n, i, dirty;
	size_t len;

	dbm_buf_printf(&dir, "%s/jobs/state", e->datadir);
	names = store_list(dir.data, &n);
	for (i = 0; names && i < n; i++) {
		dbm_buf_reset(&p);
		dbm_buf_reset(&in);
		dbm_buf_printf(&p, "%s/%s", dir.data, names[i]);
		len = strlen(names[i]);
		if (len < 6 || strcmp(names[i] + len - 5, ".json") != 0 ||
		    dbm_buf_read_file(&in, p.data, 0) < 0 ||
		    dbm_json_parse(&j, dbm_buf_str(&in), in.len, p.data,
		    &je) < 0)
			continue;
		dirty = 0;
		r = load_run(e, &j, &dirty);
		dbm_json_free(&j);
		if (r->nt == 0 || r->t[0].dir == NULL) {
			jobs_free_run(r);
			continue;
		}
		if (r->run_id >= js->next_id)
			js->next_id = r->run_id + 1;
		if (r->job_id >= js->next_job)
			js->next_job = r->job_id + 1;
		r->next = js->runs;
		js->runs = r;
		if (dirty) {
			jobs_save_run(e, r);
			jobs_flush_run(e, r);
		}
	}
	store_names_free(names);
	dbm_buf_free(&p);
	dbm_buf_free(&in);
	dbm_buf_free(&dir);
}
