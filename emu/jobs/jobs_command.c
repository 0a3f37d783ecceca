/*
 * workspace-emu: the Command Execution API 1.2 on all-purpose clusters
 * (PROTOCOL.md section 18): execution contexts (contexts/create, status,
 * destroy) and the commands run in them (commands/execute, status,
 * cancel). A context is a Python process in the cluster's environment
 * (its libraries installed, as a run on the cluster has them) running
 * dbmlops_cluster.py's repl: commands run one after another in one
 * namespace, as a notebook's cells do; SIGINT cancels the running one.
 * Contexts end with their cluster's emulator.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

#define REPL_FD		3		/* where the repl answers */
#define RESULT_MAX	(16 * 1024 * 1024)

struct command {
	char id[40];
	char *src;
	const char *status;	/* Queued Running Cancelling Finished Cancelled
				 * Error */
	char *results;		/* JSON, once done */
	struct command *next;
};

struct context {
	char id[32];
	char *cluster;
	const char *status;	/* Pending Running Error */
	char *error;
	int gone;		/* destroyed */
	pid_t pid;
	int in, out;		/* the repl's stdin, its answers */
	struct task t;		/* where it lives (dir), its cluster */
	struct command *cmds, **tail;
	struct context *next;
};

struct commands {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct context *ctx;
	unsigned long long seq;
	int threads;		/* context threads alive */
};

static struct commands *
state(struct emu *e)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	struct jobs *js = e->jobs;

	pthread_mutex_lock(&once);
	if (js->commands == NULL) {
		js->commands = dbm_xcalloc(1, sizeof(*js->commands));
		pthread_mutex_init(&js->commands->mu, NULL);
		pthread_cond_init(&js->commands->cv, NULL);
	}
	pthread_mutex_unlock(&once);
	return js->commands;
}

/* The repl: its stdin and REPL_FD are pipes, stdout and stderr its log. */
static int
start_repl(struct emu *e, struct context *c, const char *venv)
{
	int in[2], out[2], n = 0;
	struct dbm_buf py = DBM_BUF_INIT, script = DBM_BUF_INIT,
	    log = DBM_BUF_INIT;
	char **env = jobs_base_env(e, &c->t, venv, &n), fd[8];
	pid_t parent = getpid();

	snprintf(fd, sizeof(fd), "%d", REPL_FD);
	env = jobs_env_add(env, &n, "DBMLOPS_REPL_FD", fd);
	jobs_cluster_env_vars(e, &c->t, &env, &n, &c->error);
	dbm_buf_printf(&py, "%s/bin/python", venv);
	dbm_buf_printf(&script, "%s/dbmlops_cluster.py", e->jobs->cluster);
	dbm_buf_printf(&log, "%s/log.txt", c->t.dir);
	if (c->error || pipe(in) < 0) {
		jobs_strv_free(env);
		return -1;
	}
	if (pipe(out) < 0) {
		close(in[0]);
		close(in[1]);
		jobs_strv_free(env);
		return -1;
	}
	if ((c->pid = fork()) == 0) {
		char *argv[] = {py.data, script.data, "repl", NULL};
		int lg = open(log.data, O_WRONLY | O_CREAT | O_APPEND, 0644);

		setsid();
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
#else
		(void)parent;
#endif
		if (lg < 0 || chdir(c->t.dir) < 0)
			_exit(126);
		dup2(in[0], 0);
		dup2(lg, 1);
		dup2(lg, 2);
		dup2(out[1], REPL_FD);
		for (n = REPL_FD + 1; n < 1024; n++)
			close(n);
		{
			sigset_t none;	/* the server's threads block some */

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
		}
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);	/* Python's KeyboardInterrupt */
		execve(argv[0], argv, env);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	fcntl(c->in, F_SETFD, FD_CLOEXEC);
	fcntl(c->out, F_SETFD, FD_CLOEXEC);
	jobs_strv_free(env);
	dbm_buf_free(&py);
	dbm_buf_free(&script);
	dbm_buf_free(&log);
	return c->pid < 0 ? -1 : 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One answer of the repl ("<bytes>\n<JSON>"), malloc'd; NULL at its end. */
static char *
read_answer(int fd)
{
	struct dbm_buf b = DBM_BUF_INIT;
	char ch;
	size_t want;
	ssize_t r;

	while ((r = read(fd, &ch, 1)) == 1 && ch != '\n')
		dbm_buf_addc(&b, ch);
	if (r != 1 || (want = strtoul(dbm_buf_str(&b), NULL, 10)) == 0 ||
	    want > RESULT_MAX) {
		dbm_buf_free(&b);
		return NULL;
	}
	dbm_buf_reset(&b);
	dbm_buf_grow(&b, want);
	while (b.len < want) {
		r = read(fd, b.data + b.len, want - b.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			dbm_buf_free(&b);
			return NULL;
		}
		b.len += (size_t)r;
	}
	b.data[b.len] = '\0';
	return dbm_buf_detach(&b);
}

/* The context's life: its environment built (the cluster's libraries),
 * its repl started, then its commands run in order. */
static void *
context_thread(void *arg)
{
	struct context *c = arg;
	struct emu *e = c->t.run->e;
	struct commands *cs = state(e);
	struct dbm_buf venv = DBM_BUF_INIT;
	char *site = NULL, *err = NULL;
	int ok;

	store_mkdirs(c->t.dir);
	dbm_buf_printf(&venv, "%s/env", c->t.dir);
	ok = jobs_cluster_env(e, &c->t, &site, &err) == 0;
	if (ok) {
		const char *mk[] = {"mkenv", venv.data, site, NULL};

		ok = jobs_helper(e, &c->t, mk) == 0 && start_repl(e, c,
		    venv.data) == 0;
	}
	pthread_mutex_lock(&cs->mu);
	c->status = ok ? "Running" : "Error";
	if (!ok && c->error == NULL)
		c->error = dbm_xstrdup(err ? err : "the context's Python "
		    "environment could not be made");
	pthread_cond_broadcast(&cs->cv);
	while (ok) {
		struct command *m;
		struct dbm_buf req = DBM_BUF_INIT;
		char *ans;

		for (m = c->cmds; m && strcmp(m->status, "Queued") != 0;
		    m = m->next)
			;
		if (m == NULL && !c->gone) {
			pthread_cond_wait(&cs->cv, &cs->mu);
			continue;
		}
		if (m == NULL)
			break;
		m->status = "Running";
		dbm_buf_printf(&req, "%zu\n%s", strlen(m->src), m->src);
		pthread_mutex_unlock(&cs->mu);
		ans = write_all(c->in, req.data, req.len) == 0 ?
		    read_answer(c->out) : NULL;
		dbm_buf_free(&req);
		pthread_mutex_lock(&cs->mu);
		if (ans && strstr(ans, "\"cancelled\": true")) {
			m->status = "Cancelled";
			free(ans);
		} else if (ans) {
			m->status = "Finished";
			m->results = ans;
		} else {
			m->status = "Error";
			m->results = dbm_xstrdup("{\"resultType\":\"error\","
			    "\"summary\":\"The execution context ended\","
			    "\"cause\":\"\"}");
			c->gone = 1;
		}
		pthread_cond_broadcast(&cs->cv);
	}
	if (c->out >= 0)
		close(c->out);
	c->out = -1;
	if (c->pid > 0)
		waitpid(c->pid, NULL, 0);
	cs->threads--;
	pthread_cond_broadcast(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
	free(site);
	free(err);
	dbm_buf_free(&venv);
	return NULL;
}

/* The context of the request's clusterId and contextId (mu held), or
 * NULL with the answer. */
static struct context *
find_context(struct req *q, struct commands *cs, enum MHD_Result *res)
{
	char *cl = emu_param(q, "clusterId"), *id = emu_param(q, "contextId");
	struct context *c;

	pthread_mutex_lock(&cs->mu);
	for (c = cs->ctx; c; c = c->next)
		if (!c->gone && id && cl && strcmp(c->id, id) == 0 &&
		    strcmp(c->cluster, cl) == 0)
			break;
	if (c == NULL) {
		pthread_mutex_unlock(&cs->mu);
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Context %s does not exist on cluster %s", id ? id : "",
		    cl ? cl : "");
	}
	free(cl);
	free(id);
	return c;
}

enum MHD_Result
emu_contexts_create(struct req *q)
{
	struct emu *e = q->emu;
	struct commands *cs = state(e);
	char *cl = emu_param(q, "clusterId"), *lang = emu_param(q, "language");
	const char *st = cl ? emu_cluster_state(e, cl) : NULL;
	struct dbm_buf b = DBM_BUF_INIT;
	struct context *c;
	enum MHD_Result res;
	pthread_t th;

	if (st == NULL || strcmp(st, "RUNNING") != 0 || lang == NULL ||
	    strcmp(lang, "python") != 0) {
		res = st == NULL ? emu_reply_error(q, 400,
		    "INVALID_PARAMETER_VALUE", "Cluster %s does not exist",
		    cl ? cl : "(none)") : strcmp(st, "RUNNING") != 0 ?
		    emu_reply_error(q, 400, "INVALID_STATE", "Cluster %s is "
		    "in unexpected state %s.", cl, st) : emu_reply_error(q, 400,
		    "INVALID_PARAMETER_VALUE", "workspace-emu runs python "
		    "contexts only, not %s", lang ? lang : "(no language)");
		free(cl);
		free(lang);
		return res;
	}
	c = dbm_xcalloc(1, sizeof(*c));
	c->cluster = cl;
	c->status = "Pending";
	c->in = c->out = -1;
	c->tail = &c->cmds;
	c->t.run = dbm_xcalloc(1, sizeof(*c->t.run));
	c->t.run->e = e;
	c->t.existing = dbm_xstrdup(cl);
	c->t.libraries = dbm_xstrdup("[]");
	pthread_mutex_lock(&cs->mu);
	snprintf(c->id, sizeof(c->id), "%llu", (unsigned long long)
	    dbm_epoch_ms() * 1000 + ++cs->seq % 1000);
	c->t.run_id = (long long)strtoull(c->id, NULL, 10);
	dbm_buf_printf(&b, "%s/contexts/%s", e->datadir, c->id);
	c->t.dir = dbm_buf_detach(&b);
	c->next = cs->ctx;
	cs->ctx = c;
	pthread_mutex_unlock(&cs->mu);
	free(lang);
	pthread_mutex_lock(&cs->mu);
	if (pthread_create(&th, NULL, context_thread, c) == 0) {
		cs->threads++;
		pthread_detach(th);
	} else {
		c->status = "Error";
		c->error = dbm_xstrdup("cannot start the context");
	}
	pthread_mutex_unlock(&cs->mu);
	dbm_buf_printf(&b, "{\"id\":\"%s\"}", c->id);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

enum MHD_Result
emu_contexts_status(struct req *q)
{
	struct commands *cs = state(q->emu);
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct context *c;
	enum MHD_Result res;

	if ((c = find_context(q, cs, &res)) == NULL)
		return res;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "id");
	dbm_jw_str(&w, c->id);
	dbm_jw_key(&w, "status");
	dbm_jw_str(&w, c->status);
	if (c->error) {
		dbm_jw_key(&w, "error");
		dbm_jw_str(&w, c->error);
	}
	dbm_jw_obj_end(&w);
	pthread_mutex_unlock(&cs->mu);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

static void
end_context(struct context *c)
{
	c->gone = 1;
	if (c->pid > 0)
		kill(-c->pid, SIGKILL);
	if (c->in >= 0)
		close(c->in);	/* the repl sees its end; the thread too */
	c->in = -1;
}

enum MHD_Result
emu_contexts_destroy(struct req *q)
{
	struct commands *cs = state(q->emu);
	struct context *c;
	enum MHD_Result res;

	if ((c = find_context(q, cs, &res)) == NULL)
		return res;
	end_context(c);
	pthread_cond_broadcast(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
	return emu_reply_json(q, 200, "{}");
}

enum MHD_Result
emu_commands_execute(struct req *q)
{
	struct commands *cs = state(q->emu);
	char *lang = emu_param(q, "language"), *src = emu_param(q, "command");
	struct dbm_buf b = DBM_BUF_INIT;
	struct context *c;
	struct command *m;
	enum MHD_Result res;

	if (src == NULL || (lang && strcmp(lang, "python") != 0)) {
		free(lang);
		free(src);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", src ?
		    "workspace-emu runs python commands only" :
		    "Missing required field: command");
	}
	free(lang);
	if ((c = find_context(q, cs, &res)) == NULL) {
		free(src);
		return res;
	}
	m = dbm_xcalloc(1, sizeof(*m));
	m->src = src;
	m->status = "Queued";
	snprintf(m->id, sizeof(m->id), "%s-%llu", c->id, ++cs->seq);
	*c->tail = m;
	c->tail = &m->next;
	pthread_cond_broadcast(&cs->cv);
	dbm_buf_printf(&b, "{\"id\":\"%s\"}", m->id);
	pthread_mutex_unlock(&cs->mu);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

/* The request's command of its context (mu held), or NULL answered. */
static struct command *
find_command(struct req *q, struct commands *cs, struct context **cp,
    enum MHD_Result *res)
{
	char *id = emu_param(q, "commandId");
	struct command *m = NULL;

	if ((*cp = find_context(q, cs, res)) == NULL) {
		free(id);
		return NULL;
	}
	for (m = (*cp)->cmds; m && id && strcmp(m->id, id) != 0; m = m->next)
		;
	if (m == NULL || id == NULL) {
		pthread_mutex_unlock(&cs->mu);
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Command %s does not exist", id ? id : "");
		m = NULL;
	}
	free(id);
	return m;
}

enum MHD_Result
emu_commands_status(struct req *q)
{
	struct commands *cs = state(q->emu);
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct context *c;
	struct command *m;
	enum MHD_Result res;

	if ((m = find_command(q, cs, &c, &res)) == NULL)
		return res;
	dbm_jw_init(&w, &b);
	dbm_jw_obj(&w);
	dbm_jw_key(&w, "id");
	dbm_jw_str(&w, m->id);
	dbm_jw_key(&w, "status");
	dbm_jw_str(&w, m->status);
	if (m->results) {
		dbm_jw_key(&w, "results");
		dbm_jw_raw(&w, m->results, strlen(m->results));
	}
	dbm_jw_obj_end(&w);
	pthread_mutex_unlock(&cs->mu);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
}

enum MHD_Result
emu_commands_cancel(struct req *q)
{
	struct commands *cs = state(q->emu);
	struct context *c;
	struct command *m;
	enum MHD_Result res;

	if ((m = find_command(q, cs, &c, &res)) == NULL)
		return res;
	if (strcmp(m->status, "Queued") == 0)
		m->status = "Cancelled";
	else if (strcmp(m->status, "Running") == 0) {
		m->status = "Cancelling";
		kill(c->pid, SIGINT);	/* KeyboardInterrupt in the command */
	}
	pthread_cond_broadcast(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
	return emu_reply_json(q, 200, "{}");
}

static void
free_context(struct context *c)
{
	struct command *m, *n;

	for (m = c->cmds; m; m = n) {
		n = m->next;
		free(m->src);
		free(m->results);
		free(m);
	}
	free(c->cluster);
	free(c->error);
	free(c->t.run);
	free(c->t.existing);
	free(c->t.python);
	free(c->t.python_note);
	free(c->t.libraries);
	free(c->t.dir);
	free(c);
}

void
jobs_commands_stop(struct emu *e)
{
	struct commands *cs = e->jobs->commands;
	struct context *c, *n;
	double until = dbm_now() + 10;

	if (cs == NULL)
		return;
	pthread_mutex_lock(&cs->mu);
	for (c = cs->ctx; c; c = c->next)
		end_context(c);
	pthread_cond_broadcast(&cs->cv);
	while (cs->threads > 0 && dbm_now() < until) {
		struct timespec ts = {0, 50 * 1000000L};

		pthread_mutex_unlock(&cs->mu);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&cs->mu);
	}
	if (cs->threads > 0) {		/* a context still being made: leak */
		pthread_mutex_unlock(&cs->mu);
		return;
	}
	for (c = cs->ctx; c; c = n) {
		n = c->next;
		free_context(c);
	}
	pthread_mutex_unlock(&cs->mu);
	pthread_mutex_destroy(&cs->mu);
	pthread_cond_destroy(&cs->cv);
	free(cs);
	e->jobs->commands = NULL;
}
