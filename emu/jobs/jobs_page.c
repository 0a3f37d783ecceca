/*
 * workspace-emu jobs: the run page (run_page_url), GET /jobs/runs/<id>.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
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


static void
html_escape(struct dbm_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++) {
		switch (s[i]) {
		case '<': dbm_buf_adds(b, "&lt;"); break;
		case '>': dbm_buf_adds(b, "&gt;"); break;
		case '&': dbm_buf_adds(b, "&amp;"); break;
		case '"': dbm_buf_adds(b, "&quot;"); break;
		default: dbm_buf_addc(b, s[i]); break;
		}
	}
}

/* GET /jobs/runs/<id>: the run page (run_page_url). */
/* What the emulated cluster warned about while it set the task up (conda
 * packages it could not install, a Python pin it cannot honour), from
 * anywhere in the log: a list above it. */
static void
warnings(struct dbm_buf *b, const char *log)
{
	static const char mark[] = "workspace-emu: warning: ";
	FILE *f = fopen(log, "r");
	char line[2048];
	int n = 0;

	while (f && fgets(line, sizeof(line), f) && n < 50) {
		if (strncmp(line, mark, sizeof(mark) - 1) != 0)
			continue;
		if (n++ == 0)
			dbm_buf_adds(b, "<h2>Warnings</h2><ul class=warnings>");
		dbm_buf_adds(b, "<li>");
		html_escape(b, line + sizeof(mark) - 1, strcspn(line +
		    sizeof(mark) - 1, "\r\n"));
		dbm_buf_adds(b, "</li>");
	}
	if (n)
		dbm_buf_adds(b, "</ul>");
	if (f)
		fclose(f);
}

enum MHD_Result
emu_jobs_page(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	struct dbm_buf b = DBM_BUF_INIT, logp = DBM_BUF_INIT;
	long long id = strtoll(q->path + 11, NULL, 10);
	struct run *r;
	struct task *t = NULL;
	enum MHD_Result res;
	int i, done = 1, fd;
	char *tail = NULL;

	pthread_mutex_lock(&js->mu);
	r = jobs_find_run(js, id, &t);
	if (r == NULL) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply(q, 404, "text/html", "<h1>No such run</h1>\n",
		    21);
	}
	for (i = 0; i < r->nt; i++)
		done &= jobs_terminal(r->t[i].life);
	dbm_buf_printf(&b, "<!DOCTYPE html><html><head><meta charset=utf-8>"
	    "<title>Run %lld</title>%s<style>body{font-family:sans-serif;"
	    "margin:2em}pre{background:#f4f4f4;padding:1em;overflow:auto;"
	    "max-height:60vh}td{padding:.2em 1em}</style></head><body>"
	    "<h1>", r->run_id, done ? "" :
	    "<meta http-equiv=refresh content=2>");
	html_escape(&b, r->name, strlen(r->name));
	dbm_buf_printf(&b, "</h1><p>Run %lld of job %lld (workspace-emu)</p>",
	    r->run_id, r->job_id);
	for (i = 0; i < r->nt; i++) {
		struct task *k = &r->t[i];

		if (t && t != k)
			continue;
		dbm_buf_adds(&b, "<h2>");
		html_escape(&b, k->key, strlen(k->key));
		dbm_buf_printf(&b, "</h2><table><tr><td>state</td><td>%s %s"
		    "</td></tr><tr><td>message</td><td>", jobs_life_name(k->life),
		    jobs_terminal(k->life) && k->result ? k->result : "");
		html_escape(&b, k->message ? k->message : "", 4096);
		dbm_buf_printf(&b, "</td></tr><tr><td>task</td><td>%s</td></tr>"
		    "<tr><td>setup</td><td>%.1f s</td></tr><tr><td>execution"
		    "</td><td>%.1f s</td></tr><tr><td>libraries</td><td><code>",
		    k->kind, k->setup_end && k->start ? (double)(k->setup_end -
		    k->start) / 1000 : 0, k->setup_end ? (double)((k->exec_end ?
		    k->exec_end : dbm_epoch_ms()) - k->setup_end) / 1000 : 0);
		html_escape(&b, k->libraries, strlen(k->libraries));
		dbm_buf_adds(&b, "</code></td></tr>");
		if (k->mlflow_run)
			dbm_buf_printf(&b, "<tr><td>MLflow</td><td><a href=\"/#/"
			    "experiments/%s/runs/%s\">run %s</a></td></tr>",
			    k->mlflow_exp ? k->mlflow_exp : "0", k->mlflow_run,
			    k->mlflow_run);
		dbm_buf_adds(&b, "</table>");
		if (t == NULL)
			t = k;
	}
	dbm_buf_printf(&logp, "%s/log.txt", t->dir);
	pthread_mutex_unlock(&js->mu);
	fd = open(logp.data, O_RDONLY);
	if (fd >= 0) {
		off_t size = lseek(fd, 0, SEEK_END), off = size > 65536 ?
		    size - 65536 : 0;
		ssize_t n;

		tail = dbm_xmalloc((size_t)(size - off) + 1);
		n = pread(fd, tail, (size_t)(size - off), off);
		tail[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	warnings(&b, logp.data);
	dbm_buf_adds(&b, "<h2>Log</h2><pre>");
	if (tail)
		html_escape(&b, tail, strlen(tail));
	dbm_buf_adds(&b, "</pre></body></html>\n");
	res = emu_reply(q, 200, "text/html; charset=utf-8", b.data, b.len);
	free(tail);
	dbm_buf_free(&b);
	dbm_buf_free(&logp);
	return res;
}
