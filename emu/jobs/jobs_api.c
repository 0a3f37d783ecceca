/*
 * workspace-emu jobs: runs/get, runs/get-output and runs/cancel, the JSON
 * shapes of a run, and the module's dispatch (runs/list and runs/delete
 * are in jobs_list.c).
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


enum MHD_Result
emu_jobs_get(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct run *r;
	enum MHD_Result res;
	long long id;
	int from = 0, count = -1;

	if (emu_param_id(q, "run_id", "run_id is required", &id,
	    &res) < 0)
		return res;
	pthread_mutex_lock(&js->mu);
	r = jobs_find_run(js, id, NULL);
	if (r == NULL || r->run_id != id) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Run %lld does not exist.", id);
	}
	/* 2.2 pages a run's tasks, 100 a page (page_token: where the next
	 * page starts); 2.0 and 2.1 give them all */
	if (strncmp(q->path, "/api/2.2/", 9) == 0) {
		char *tok = emu_param(q, "page_token");

		from = tok ? atoi(tok) : 0;
		free(tok);
		if (from < 0 || (from > 0 && from >= r->nt)) {
			pthread_mutex_unlock(&js->mu);
			return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
			    "Invalid page_token");
		}
		count = TASKS_PAGE;
	}
	dbm_jw_init(&w, &b);
	jobs_run_json(q->emu, r, &w, from, count);
	pthread_mutex_unlock(&js->mu);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

/* error and error_trace from a Python traceback at the end of the log. */
static void
error_from_log(const char *log, char **error, char **trace)
{
	int fd = open(log, O_RDONLY);
	off_t size;
	char *buf, *tb;
	ssize_t n;
	size_t want = 64 * 1024;

	*error = *trace = NULL;
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if ((off_t)want > size)
		want = (size_t)size;
	buf = dbm_xmalloc(want + 1);
	n = pread(fd, buf, want, size - (off_t)want);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	tb = NULL;
	for (char *p = buf; (p = strstr(p, "Traceback (most recent call "
	    "last):")) != NULL; p++)
		tb = p;
	if (tb) {
		*trace = dbm_xstrdup(tb);
		*error = jobs_last_line(log);
	}
	free(buf);
}

/* GET runs/export?run_id=&views_to_export=CODE|DASHBOARDS|ALL ->
 * {views[{content, name, type}]}: the HTML of a run's notebooks and
 * dashboards. The tasks workspace-emu runs are no notebook tasks, so a
 * run has no view (PROTOCOL.md section 4). */
enum MHD_Result
emu_jobs_export(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	char *v = emu_param(q, "views_to_export");
	struct task *t = NULL;
	enum MHD_Result res;
	long long id;
	int known;

	if (v && strcmp(v, "CODE") != 0 && strcmp(v, "DASHBOARDS") != 0 &&
	    strcmp(v, "ALL") != 0) {
		res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Invalid views_to_export %.40s: CODE, DASHBOARDS or ALL", v);
		free(v);
		return res;
	}
	free(v);
	if (emu_param_id(q, "run_id", "run_id is required", &id, &res) < 0)
		return res;
	pthread_mutex_lock(&js->mu);
	known = jobs_find_run(js, id, &t) != NULL;
	pthread_mutex_unlock(&js->mu);
	if (!known)
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Run %lld does not exist.", id);
	return emu_reply_json(q, 200, "{\"views\":[]}");
}

enum MHD_Result
emu_jobs_get_output(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	struct dbm_buf b = DBM_BUF_INIT, logp = DBM_BUF_INIT;
	struct dbm_jw w;
	struct run *r;
	struct task *t = NULL;
	enum MHD_Result res;
	long long id, size = 0;
	int legacy_path = strncmp(q->path, "/api/2.0/", 9) == 0;
	char *logs = NULL, *error = NULL, *trace = NULL, *result = NULL;
	int fd, done;

	if (emu_param_id(q, "run_id", "run_id is required", &id,
	    &res) < 0)
		return res;
	pthread_mutex_lock(&js->mu);
	r = jobs_find_run(js, id, &t);
	if (r == NULL) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Run %lld does not exist.", id);
	}
	if (t == NULL) {
		if (r->legacy || (legacy_path && r->nt == 1)) {
			t = &r->t[0];
		} else {
			pthread_mutex_unlock(&js->mu);
			return emu_reply_error(q, 400,
			    "INVALID_PARAMETER_VALUE", "Retrieving the output "
			    "of runs with multiple tasks is not supported. "
			    "Please retrieve the output of each individual task "
			    "run instead.");
		}
	}
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "metadata");
	jobs_run_json(q->emu, r, &w, 0, -1);
	done = jobs_terminal(t->life);
	result = t->result ? dbm_xstrdup(t->result) : NULL;
	dbm_buf_printf(&logp, "%s/log.txt", t->dir);
	pthread_mutex_unlock(&js->mu);

	fd = open(logp.data, O_RDONLY);
	if (fd >= 0) {
		long long off;
		ssize_t n;

		size = (long long)lseek(fd, 0, SEEK_END);
		off = size > LOG_MAX ? size - LOG_MAX : 0;
		logs = dbm_xmalloc((size_t)(size - off) + 1);
		n = pread(fd, logs, (size_t)(size - off), (off_t)off);
		logs[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	dbm_jw_key(&w, "logs");
	dbm_jw_str(&w, logs ? logs : "");
	dbm_jw_key(&w, "logs_truncated");
	dbm_jw_bool(&w, size > LOG_MAX);
	if (done && result && strcmp(result, "SUCCESS") != 0) {
		error_from_log(logp.data, &error, &trace);
		if (error == NULL) {
			pthread_mutex_lock(&js->mu);
			error = dbm_xstrdup(t->message ? t->message : "");
			pthread_mutex_unlock(&js->mu);
		}
		dbm_jw_key(&w, "error");
		dbm_jw_str(&w, error);
		if (trace) {
			dbm_jw_key(&w, "error_trace");
			dbm_jw_str(&w, trace);
		}
	}
	dbm_jw_obj_end(&w);
	res = emu_reply_json(q, 200, b.data);
	free(logs);
	free(error);
	free(trace);
	free(result);
	dbm_buf_free(&b);
	dbm_buf_free(&logp);
	return res;
}

enum MHD_Result
emu_jobs_cancel(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	enum MHD_Result res;
	struct run *r;
	long long id;

	if (emu_need_json(q, &res) < 0 || emu_param_id(q, "run_id",
	    "run_id is required", &id, &res) < 0)
		return res;
	pthread_mutex_lock(&js->mu);
	r = jobs_find_run(js, id, NULL);
	if (r == NULL) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Run %lld does not exist.", id);
	}
	r->cancel = 1;		/* the runner ends it: asynchronous */
	pthread_cond_broadcast(&js->cv);
	pthread_mutex_unlock(&js->mu);
	return emu_reply_json(q, 200, "{}");
}

/* The endpoints, one a route (routes.c). */
enum MHD_Result
emu_jobs_submit(struct req *q)
{
	/* the 2.0 shape under /api/2.0/, else 2.1's (2.2 is 2.1's here) */
	return jobs_submit(q, strncmp(q->path, "/api/2.0/", 9) != 0);
}
