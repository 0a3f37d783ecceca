/*
 * workspace-emu jobs: processes and paths, below the task machinery.
 * Workspace paths (/dbfs, dbfs:/, /Volumes, /Workspace, /databricks) in
 * commands, parameters and environment values become files under the
 * data directory (or the task's directory for /databricks); a child runs
 * in a process group of its own with its output in a log; the cluster
 * helper (dbmlops_cluster.py) runs the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "emu.h"
#include "api.h"
#include "jobs_int.h"

static int
boundary(const char *s, const char *p)
{
	char c;

	if (p == s)
		return 1;
	c = p[-1];
	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' ||
	    c == '-');
}

/* s with workspace paths turned into files under the data directory. */
char *
jobs_map_paths(struct emu *e, const char *taskdir, const char *s)
{
	static const struct {
		const char *from, *root, *sub;
	} m[] = {
		{"dbfs:/Volumes/", "D", "/dbfs/Volumes/"},
		{"dbfs:/", "D", "/dbfs/"},
		{"/dbfs/", "D", "/dbfs/"},
		{"/Volumes/", "D", "/dbfs/Volumes/"},
		{"/Workspace/", "D", "/workspace/"},
		{"/databricks/", "T", "/databricks/"},
	};
	struct dbm_buf b = DBM_BUF_INIT;
	const char *p = s;
	size_t i;

	while (*p) {
		for (i = 0; i < sizeof(m) / sizeof(*m); i++) {
			size_t n = strlen(m[i].from);

			if (strncmp(p, m[i].from, n) == 0 && boundary(s, p)) {
				dbm_buf_adds(&b, m[i].root[0] == 'D' ? e->datadir :
				    taskdir);
				/* no DBFS root: its paths lead nowhere */
				dbm_buf_adds(&b, !e->legacy_dbfs && strcmp(m[i].sub,
				    "/dbfs/") == 0 ? "/dbfs-root-disabled/" :
				    m[i].sub);
				p += n;
				break;
			}
		}
		if (i == sizeof(m) / sizeof(*m))
			dbm_buf_addc(&b, *p++);
	}
	return dbm_buf_detach(&b);
}

char **
jobs_env_add(char **env, int *n, const char *k, const char *v)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s=%s", k, v);
	env = dbm_xrealloc(env, (size_t)(*n + 2) * sizeof(*env));
	env[(*n)++] = dbm_buf_detach(&b);
	env[*n] = NULL;
	return env;
}

void
jobs_strv_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

/* Start argv with env in dir, output appended to log; a new process group. */
pid_t
jobs_spawn(char **argv, char **env, const char *dir, const char *log)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	setsid();
#ifdef __linux__
	/* killed with the emulator, even by SIGKILL (what the task itself
	 * starts is swept when the task ends, jobs_sweep) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
#else
	(void)parent;
#endif
	{
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		sigset_t none;

		if (in < 0 || out < 0 || chdir(dir) < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execve(argv[0], argv, env);
		dprintf(2, "workspace-emu: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
}

static int
wait_exit(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The environment tasks and helpers run with. */
char **
jobs_base_env(struct emu *e, struct task *t, const char *venv, int *n)
{
	struct dbm_buf path = DBM_BUF_INIT, b = DBM_BUF_INIT;
	char **env = NULL, *tok = emu_run_token(e), *pybin;
	const char *py = jobs_task_python(e, t);

	*n = 0;
	pybin = dbm_xstrdup(py);
	if (strrchr(pybin, '/'))
		*strrchr(pybin, '/') = '\0';
	dbm_buf_printf(&path, "%s/bin:%s%s%s:%s:/usr/local/bin:/usr/bin:/bin",
	    e->jobs->cluster, venv ? venv : "", venv ? "/bin:" : "", "",
	    pybin);
	env = jobs_env_add(env, n, "PATH", path.data);
	dbm_buf_printf(&b, "%s/home", t->dir);
	store_mkdirs(b.data);
	env = jobs_env_add(env, n, "HOME", b.data);
	dbm_buf_reset(&b);
	dbm_buf_printf(&b, "%s/databricks", t->dir);
	env = jobs_env_add(env, n, "DB_HOME", b.data);
	env = jobs_env_add(env, n, "LANG", "C.UTF-8");
	env = jobs_env_add(env, n, "PYTHONUNBUFFERED", "1");
	env = jobs_env_add(env, n, "PIP_DISABLE_PIP_VERSION_CHECK", "1");
	env = jobs_env_add(env, n, "DATABRICKS_HOST", e->url);
	/* MLflow talks to the workspace, as on the runtime (PROTOCOL.md
	 * section 19: its registry is then Unity Catalog's) */
	env = jobs_env_add(env, n, "MLFLOW_TRACKING_URI", "databricks");
	if (tok)
		env = jobs_env_add(env, n, "DATABRICKS_TOKEN", tok);
	env = jobs_env_add(env, n, "DBMLOPS_EMU_DATA", e->datadir);
	env = jobs_env_add(env, n, "DBMLOPS_EMU_CLUSTER", e->jobs->cluster);
	env = jobs_env_add(env, n, "DBMLOPS_EMU_PYTHON", py);
	/* the interpreters a python_env project's pin may name (the
	 * cluster helper's python_for) */
	env = jobs_env_add(env, n, "DBMLOPS_EMU_PYTHONS",
	    jobs_pythons(e->jobs));
	if (venv)
		env = jobs_env_add(env, n, "VIRTUAL_ENV", venv);
	dbm_buf_reset(&b);
	dbm_buf_printf(&b, "%lld", t->run_id);
	env = jobs_env_add(env, n, "DATABRICKS_RUN_ID", b.data);
	if (tok) {
		dbm_zero(tok, strlen(tok));
		free(tok);
	}
	free(pybin);
	dbm_buf_free(&path);
	dbm_buf_free(&b);
	return env;
}

void
jobs_log_note(const char *log, const char *note)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	struct dbm_buf b = DBM_BUF_INIT;
	ssize_t w;

	dbm_buf_printf(&b, "workspace-emu: %s", note);
	/* the note is a courtesy: a failed write does not stop the run */
	if (fd >= 0) {
		w = write(fd, b.data, b.len);
		(void)w;
		close(fd);
	}
	dbm_buf_free(&b);
}

/* Run the cluster helper; its output goes to the task's setup log. */
int
jobs_helper(struct emu *e, struct task *t, const char *const *args)
{
	char **argv, **env;
	struct dbm_buf log = DBM_BUF_INIT, script = DBM_BUF_INIT;
	int n = 0, na = 0, rc;
	pid_t pid;

	dbm_buf_printf(&script, "%s/dbmlops_cluster.py", e->jobs->cluster);
	argv = dbm_xcalloc(16, sizeof(*argv));
	argv[na++] = dbm_xstrdup(jobs_task_python(e, t));
	argv[na++] = dbm_buf_detach(&script);
	for (; *args && na < 15; args++)
		argv[na++] = dbm_xstrdup(*args);
	env = jobs_base_env(e, t, NULL, &n);
	dbm_buf_printf(&log, "%s/setup.log", t->dir);
	pid = jobs_spawn(argv, env, t->dir, log.data);
	rc = pid < 0 ? -1 : wait_exit(pid);
	jobs_strv_free(argv);
	jobs_strv_free(env);
	dbm_buf_free(&log);
	return rc;
}

/* The last line of a file (malloc'd), for messages. */
char *
jobs_last_line(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	off_t size;
	ssize_t n;
	char *end, *start;

	if (fd < 0)
		return dbm_xstrdup("");
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ?
	    size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return dbm_xstrdup("");
	buf[n] = '\0';
	end = buf + n;
	while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(buf, '\n');
	return dbm_xstrdup(start ? start + 1 : buf);
}

/* Kill every process of task run_id of this emulator, in whatever
 * process group or session it put itself: those whose environment holds
 * both this data directory and the task's run id (a task that called
 * setsid is still found; another emulator's tasks are not). */
void
jobs_sweep(struct emu *e, long long run_id)
{
	char **names, id[64], data[PATH_MAX + 32], path[64];
	struct dbm_buf env = DBM_BUF_INIT;
	size_t k;
	pid_t pid, me = getpid();
	int n, i, seen;

	snprintf(id, sizeof(id), "DATABRICKS_RUN_ID=%lld", run_id);
	snprintf(data, sizeof(data), "DBMLOPS_EMU_DATA=%s", e->datadir);
	if ((names = store_list("/proc", &n)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		pid = (pid_t)atol(names[i]);
		if (pid <= 1 || pid == me)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		dbm_buf_reset(&env);
		if (dbm_buf_read_file(&env, path, 1 << 20) != 0)
			continue;
		for (seen = 0, k = 0; k < env.len; k += strlen(env.data + k) + 1)
			seen |= (strcmp(env.data + k, id) == 0) |
			    (strcmp(env.data + k, data) == 0) << 1;
		if (seen == 3)
			kill(pid, SIGKILL);
	}
	dbm_buf_free(&env);
	store_names_free(names);
}
