/*
 * workspace-emu jobs: running a task for real. A task gets a directory
 * under jobs/runs/, a Python environment and a process group of its own
 * (jobs_proc.c), its command (jobs_argv.c) with paths mapped, so MLflow's
 * cluster script runs unchanged. Spark is not emulated: spark_python_task
 * runs its file with Python.
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
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "emu.h"
#include "api.h"
#include "jobs_int.h"
#include "sha.h"


/* MLflow's script names its run and experiment: for the run page link. */
static void
find_mlflow_ids(struct task *t)
{
	const char *p = strstr(t->task_json, "_mlflow_local_backend_run_id");
	const char *q = strstr(t->task_json, "MLFLOW_EXPERIMENT_ID");
	char id[64];
	size_t n;

	if (p && (p = strchr(p + 28, '"')) != NULL) {
		p++;
		if (*p == '\\')
			p++;
		if (*p == '"')
			p++;
		for (n = 0; n < sizeof(id) - 1 && ((p[n] >= '0' && p[n] <= '9') ||
		    (p[n] >= 'a' && p[n] <= 'f')); n++)
			id[n] = p[n];
		id[n] = '\0';
		if (n)
			t->mlflow_run = dbm_xstrdup(id);
	}
	if (q && (q = strchr(q + 20, ':')) != NULL) {
		while (*q == ':' || *q == ' ' || *q == '"')
			q++;
		for (n = 0; n < sizeof(id) - 1 && q[n] >= '0' && q[n] <= '9'; n++)
			id[n] = q[n];
		id[n] = '\0';
		if (n)
			t->mlflow_exp = dbm_xstrdup(id);
	}
}

static void
nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A run on an all-purpose cluster starts it when it is terminated, and
 * waits until it runs (as the service does). */
static int
wait_cluster(struct emu *e, struct run *r, struct task *t)
{
	const char *state;
	char *why;
	int cancel;

	if (emu_cluster_start(e, t->existing, &why) == -2) {
		jobs_finish(e, t, LIFE_INTERNAL_ERROR, "FAILED",
		    "CLUSTER_ERROR", "CLIENT_ERROR", why);
		free(why);
		return -1;
	}
	for (;;) {
		state = emu_cluster_state(e, t->existing);
		if (state == NULL) {
			jobs_finish(e, t, LIFE_INTERNAL_ERROR, "FAILED",
			    "CLUSTER_ERROR", "CLIENT_ERROR", "The cluster does not "
			    "exist any more.");
			return -1;
		}
		if (strcmp(state, "RUNNING") == 0)
			return 0;
		pthread_mutex_lock(&e->jobs->mu);
		cancel = r->cancel;
		pthread_mutex_unlock(&e->jobs->mu);
		if (cancel) {
			jobs_finish(e, t, LIFE_TERMINATED, "CANCELED",
			    "USER_CANCELED", "SUCCESS", "Run cancelled.");
			return -1;
		}
		nap_ms(100);
	}
}

/* Wait for the task's process; on cancel or after limit seconds, TERM its
 * group, and KILL it 5 s later. */
static void
watch(struct emu *e, struct run *r, struct task *t, long limit,
    int *cancelled, int *timedout)
{
	double started = dbm_now(), kill_at = 0;
	int st, killed = 0;
	pid_t w;

	for (;; nap_ms(50)) {
		w = waitpid(t->pid, &st, WNOHANG);
		if (w == t->pid) {
			t->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
			return;
		}
		if (w < 0 && errno != EINTR) {
			t->exit_code = -1;
			return;
		}
		pthread_mutex_lock(&e->jobs->mu);
		*cancelled = r->cancel;
		pthread_mutex_unlock(&e->jobs->mu);
		if (!killed && limit > 0 && dbm_now() - started > (double)limit)
			*timedout = 1;
		if (!killed && (*cancelled || *timedout)) {
			jobs_set_state(e, t, LIFE_TERMINATING);
			kill(-t->pid, SIGTERM);
			killed = 1;
			kill_at = dbm_now() + 5;
		}
		if (killed && kill_at > 0 && dbm_now() > kill_at) {
			kill(-t->pid, SIGKILL);
			kill_at = 0;
		}
	}
}

/* What stands between submission and the task's process: its cluster,
 * its libraries, its files, its environment and command. NULL once the
 * task has been ended. */
static char **
prepare(struct emu *e, struct run *r, struct task *t, const char *venv,
    char ***env, int *nenv)
{
	char *err = NULL, **argv;

	if (t->existing && wait_cluster(e, r, t) < 0)
		return NULL;
	if (t->setup_error) {
		jobs_finish(e, t, LIFE_INTERNAL_ERROR, "FAILED",
		    "LIBRARY_INSTALLATION_ERROR", "CLIENT_ERROR", t->setup_error);
		return NULL;
	}
	if ((err = jobs_serverless_file_error(e, t)) != NULL) {
		jobs_finish(e, t, LIFE_TERMINATED, "FAILED", "RUN_EXECUTION_ERROR",
		    "CLIENT_ERROR", err);
		free(err);
		return NULL;
	}
	if (jobs_task_venv(e, t, venv) < 0)
		return NULL;
	*env = jobs_base_env(e, t, venv, nenv);
	if (jobs_task_env_vars(e, t, env, nenv) < 0)
		return NULL;
	if ((argv = jobs_task_argv(e, t, venv, env, nenv, &err)) == NULL) {
		jobs_finish(e, t, LIFE_INTERNAL_ERROR, "FAILED",
		    "INVALID_RUN_CONFIGURATION", "CLIENT_ERROR", err);
		free(err);
	}
	return argv;
}

void
jobs_exec_task(struct emu *e, struct run *r, struct task *t)
{
	struct dbm_buf venv = DBM_BUF_INIT, log = DBM_BUF_INIT;
	char **argv = NULL, **env = NULL;
	int nenv = 0, timedout = 0, cancelled = 0;
	long limit = t->timeout > 0 ? t->timeout : r->timeout;

	pthread_mutex_lock(&e->jobs->mu);
	t->life = LIFE_PENDING;
	t->start = dbm_epoch_ms();
	pthread_mutex_unlock(&e->jobs->mu);
	store_mkdirs(t->dir);
	find_mlflow_ids(t);
	dbm_buf_printf(&log, "%s/log.txt", t->dir);
	dbm_buf_printf(&venv, "%s/env", t->dir);
	if (jobs_task_python(e, t) && t->python_note)
		jobs_log_note(log.data, t->python_note);
	if ((argv = prepare(e, r, t, venv.data, &env, &nenv)) == NULL)
		goto out;
	pthread_mutex_lock(&e->jobs->mu);
	if (r->cancel) {
		pthread_mutex_unlock(&e->jobs->mu);
		jobs_finish(e, t, LIFE_TERMINATED, "CANCELED", "USER_CANCELED",
		    "SUCCESS", "Run cancelled.");
		goto out;
	}
	t->pid = jobs_spawn(argv, env, t->dir, log.data);
	t->life = LIFE_RUNNING;
	t->setup_end = dbm_epoch_ms();
	jobs_save_run(e, r);
	pthread_mutex_unlock(&e->jobs->mu);
	jobs_flush_run(e, r);
	watch(e, r, t, limit, &cancelled, &timedout);
	kill(-t->pid, SIGKILL);	/* anything the task left running, */
	jobs_sweep(e, t->run_id);	/* in its group or out of it */
	pthread_mutex_lock(&e->jobs->mu);
	t->exec_end = dbm_epoch_ms();
	t->life = LIFE_TERMINATING;
	pthread_mutex_unlock(&e->jobs->mu);
	if (timedout)
		jobs_finish(e, t, LIFE_TERMINATED, "TIMEDOUT", "RUN_EXECUTION_ERROR",
		    "CLIENT_ERROR", "Run timed out.");
	else if (cancelled)
		jobs_finish(e, t, LIFE_TERMINATED, "CANCELED", "USER_CANCELED",
		    "SUCCESS", "Run cancelled.");
	else if (t->exit_code == 0)
		jobs_finish(e, t, LIFE_TERMINATED, "SUCCESS", "SUCCESS", "SUCCESS", "");
	else
		jobs_finish(e, t, LIFE_TERMINATED, "FAILED", "RUN_EXECUTION_ERROR",
		    "CLIENT_ERROR", "Workload failed, see run output for details");
out:
	jobs_strv_free(argv);
	jobs_strv_free(env);
	dbm_buf_free(&venv);
	dbm_buf_free(&log);
}
