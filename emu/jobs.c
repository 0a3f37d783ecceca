/*
 * Jobs API one-time runs for workspace-emu (PROTOCOL.md section 4): runs
 * submitted in the 2.0 single-task shape (MLflow's shell_command_task
 * included) or the 2.1/2.2 tasks[] shape execute for real on this machine.
 *
 * A task gets a directory under jobs/runs/, a Python environment and a
 * process group of its own. Environments are venvs without pip layered with
 * .pth files: the job's libraries live in a cluster environment cached by
 * content under jobs/envs/ (never changed once built), and each task run has
 * a thin environment of its own on top for what the task installs itself.
 * Paths under /dbfs, dbfs:/, /Volumes, /Workspace and /databricks in
 * commands, parameters and environment values are mapped into the data
 * directory (or the task's directory for /databricks), so MLflow's cluster
 * script runs unchanged. Spark is not emulated: spark_python_task runs its
 * file with Python.
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
#include "jobs.h"
#include "server.h"
#include "sha.h"

#define LOG_MAX (5 * 1024 * 1024)

struct task {
	long long run_id;
	char *key;
	const char *kind;	/* shell_command_task, spark_python_task, ... */
	char *task_json;	/* the task field's value */
	char *cluster_json;	/* new_cluster, or NULL */
	char *existing;		/* existing_cluster_id, or NULL */
	char *libraries;	/* JSON array */
	long timeout;
	const char *life, *result, *code, *type;
	char *message;
	long long start, setup_end, exec_end, end;
	pid_t pid;
	int exit_code;
	char *dir;
	char *mlflow_run, *mlflow_exp;
	struct run *run;
	char **deps;		/* depends_on task keys */
	int ndeps;
};

struct run {
	long long run_id, job_id, submitted;
	char *name, *token;
	int legacy;
	struct task *t;
	int nt;
	long timeout;
	int cancel;
	struct emu *e;
	int *order;		/* task indexes, dependencies first */
	struct run *next;
};

struct jobs {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct run *runs;
	long long next_id, next_job;
	int running, max;
	char *python, *cluster;
};

static void save_run(struct emu *e, struct run *r);

static const char *const TASK_KINDS[] = {
	"shell_command_task", "spark_python_task", "python_wheel_task",
};

static const char *const UNSUPPORTED[] = {
	"notebook_task", "spark_jar_task", "spark_submit_task", "pipeline_task",
	"sql_task", "dbt_task", "run_job_task", "condition_task",
	"for_each_task", "clean_rooms_notebook_task", "dashboard_task",
	"power_bi_task", "gen_ai_compute_task",
};

static int
terminal(const char *life)
{
	return strcmp(life, "TERMINATED") == 0 || strcmp(life, "SKIPPED") == 0 ||
	    strcmp(life, "INTERNAL_ERROR") == 0;
}

static char *
raw_dup(const struct dbm_json *j, int t)
{
	size_t n;
	const char *p;

	if (t < 0)
		return NULL;
	p = dbm_json_raw(j, t, &n);
	if (dbm_json_type(j, t) == DBM_JSON_STRING)
		return dbm_xstrndup(p - 1, n + 2);	/* with its quotes */
	return dbm_xstrndup(p, n);
}

/* --- path mapping ------------------------------------------------------ */

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
static char *
map_paths(struct emu *e, const char *taskdir, const char *s)
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
				dbm_buf_adds(&b, m[i].sub);
				p += n;
				break;
			}
		}
		if (i == sizeof(m) / sizeof(*m))
			dbm_buf_addc(&b, *p++);
	}
	return dbm_buf_detach(&b);
}

/* --- running things ---------------------------------------------------- */

static char **
env_add(char **env, int *n, const char *k, const char *v)
{
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_printf(&b, "%s=%s", k, v);
	env = dbm_xrealloc(env, (size_t)(*n + 2) * sizeof(*env));
	env[(*n)++] = dbm_buf_detach(&b);
	env[*n] = NULL;
	return env;
}

static void
strv_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

/* Start argv with env in dir, output appended to log; a new process group. */
static pid_t
spawn(char **argv, char **env, const char *dir, const char *log)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	setsid();
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
static char **
base_env(struct emu *e, struct task *t, const char *venv, int *n)
{
	struct dbm_buf path = DBM_BUF_INIT, b = DBM_BUF_INIT;
	char **env = NULL, *tok = emu_run_token(e), *pybin;
	const char *py = e->jobs->python;

	*n = 0;
	pybin = dbm_xstrdup(py);
	if (strrchr(pybin, '/'))
		*strrchr(pybin, '/') = '\0';
	dbm_buf_printf(&path, "%s/bin:%s%s%s:%s:/usr/local/bin:/usr/bin:/bin",
	    e->jobs->cluster, venv ? venv : "", venv ? "/bin:" : "", "",
	    pybin);
	env = env_add(env, n, "PATH", path.data);
	dbm_buf_printf(&b, "%s/home", t->dir);
	store_mkdirs(b.data);
	env = env_add(env, n, "HOME", b.data);
	dbm_buf_reset(&b);
	dbm_buf_printf(&b, "%s/databricks", t->dir);
	env = env_add(env, n, "DB_HOME", b.data);
	env = env_add(env, n, "LANG", "C.UTF-8");
	env = env_add(env, n, "PYTHONUNBUFFERED", "1");
	env = env_add(env, n, "PIP_DISABLE_PIP_VERSION_CHECK", "1");
	env = env_add(env, n, "DATABRICKS_HOST", e->url);
	if (tok)
		env = env_add(env, n, "DATABRICKS_TOKEN", tok);
	env = env_add(env, n, "DBMLOPS_EMU_DATA", e->datadir);
	env = env_add(env, n, "DBMLOPS_EMU_CLUSTER", e->jobs->cluster);
	env = env_add(env, n, "DBMLOPS_EMU_PYTHON", py);
	if (venv)
		env = env_add(env, n, "VIRTUAL_ENV", venv);
	dbm_buf_reset(&b);
	dbm_buf_printf(&b, "%lld", t->run_id);
	env = env_add(env, n, "DATABRICKS_RUN_ID", b.data);
	if (tok) {
		dbm_zero(tok, strlen(tok));
		free(tok);
	}
	free(pybin);
	dbm_buf_free(&path);
	dbm_buf_free(&b);
	return env;
}

/* Run the cluster helper; its output goes to the task's setup log. */
static int
helper(struct emu *e, struct task *t, const char *const *args)
{
	char **argv, **env;
	struct dbm_buf log = DBM_BUF_INIT, script = DBM_BUF_INIT;
	int n = 0, na = 0, rc;
	pid_t pid;

	dbm_buf_printf(&script, "%s/dbmlops_cluster.py", e->jobs->cluster);
	argv = dbm_xcalloc(16, sizeof(*argv));
	argv[na++] = dbm_xstrdup(e->jobs->python);
	argv[na++] = dbm_buf_detach(&script);
	for (; *args && na < 15; args++)
		argv[na++] = dbm_xstrdup(*args);
	env = base_env(e, t, NULL, &n);
	dbm_buf_printf(&log, "%s/setup.log", t->dir);
	pid = spawn(argv, env, t->dir, log.data);
	rc = pid < 0 ? -1 : wait_exit(pid);
	strv_free(argv);
	strv_free(env);
	dbm_buf_free(&log);
	return rc;
}

static void
set_state(struct emu *e, struct task *t, const char *life)
{
	pthread_mutex_lock(&e->jobs->mu);
	t->life = life;
	save_run(e, t->run);
	pthread_mutex_unlock(&e->jobs->mu);
}

static void
finish(struct emu *e, struct task *t, const char *life, const char *result,
    const char *code, const char *type, const char *msg)
{
	pthread_mutex_lock(&e->jobs->mu);
	t->life = life;
	t->result = result;
	t->code = code;
	t->type = type;
	free(t->message);
	t->message = dbm_xstrdup(msg ? msg : "");
	t->end = emu_now_ms();
	if (t->setup_end == 0)
		t->setup_end = t->end;
	if (t->exec_end == 0)
		t->exec_end = t->end;
	save_run(e, t->run);
	pthread_mutex_unlock(&e->jobs->mu);
}

/* The last line of a file (malloc'd), for messages. */
static char *
last_line(const char *path)
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

/* The cluster environment for a set of libraries: built once, by content. */
static int
cluster_env(struct emu *e, struct task *t, char **site, char **err)
{
	struct dbm_sha256 s;
	unsigned char md[DBM_SHA256_LEN];
	char hex[65];
	struct dbm_buf dir = DBM_BUF_INIT, p = DBM_BUF_INIT;
	struct dbm_json j;
	struct dbm_err je;
	int i, n, lock, rc = -1;
	struct stat st;

	/* the key: interpreter, library specs, and the bytes of local files */
	dbm_sha256_init(&s);
	dbm_sha256_update(&s, e->jobs->python, strlen(e->jobs->python) + 1);
	dbm_sha256_update(&s, t->libraries, strlen(t->libraries) + 1);
	if (dbm_json_parse(&j, t->libraries, strlen(t->libraries), "libraries",
	    &je) == 0) {
		n = dbm_json_count(&j, 0);
		for (i = 0; i < n; i++) {
			int lib = dbm_json_elem(&j, 0, i);
			char *w = dbm_json_strdup(&j, dbm_json_member(&j, lib,
			    "whl"));

			if (w == NULL)
				w = dbm_json_strdup(&j, dbm_json_path(&j, lib,
				    "pypi.package"));
			if (w) {
				char *f = map_paths(e, t->dir, w);
				int fd = open(f, O_RDONLY);
				char buf[65536];
				ssize_t r;

				while (fd >= 0 && (r = read(fd, buf,
				    sizeof(buf))) > 0)
					dbm_sha256_update(&s, buf, (size_t)r);
				if (fd >= 0)
					close(fd);
				free(f);
				free(w);
			}
		}
		dbm_json_free(&j);
	}
	dbm_sha256_final(&s, md);
	dbm_hex(md, 10, hex);
	dbm_buf_printf(&dir, "%s/jobs/envs/%s", e->datadir, hex);
	dbm_buf_printf(&p, "%s.lock", dir.data);
	store_mkparents(p.data);
	lock = open(p.data, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		*err = dbm_xstrdup("cannot lock the environment cache");
		goto out;
	}
	dbm_buf_reset(&p);
	dbm_buf_printf(&p, "%s/.complete", dir.data);
	if (stat(p.data, &st) != 0) {
		struct dbm_buf spec = DBM_BUF_INIT;
		const char *mk[] = {"mkenv", dir.data, NULL};
		const char *li[] = {"libraries", dir.data, NULL, NULL};
		int fd, r;

		store_remove_tree(dir.data);
		if (helper(e, t, mk) != 0) {
			*err = dbm_xstrdup("cannot create the cluster's Python "
			    "environment");
			goto out;
		}
		dbm_buf_printf(&spec, "%s/libraries.json", t->dir);
		fd = open(spec.data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, t->libraries, strlen(t->libraries)) < 0) {
			if (fd >= 0)
				close(fd);
			dbm_buf_free(&spec);
			goto out;
		}
		close(fd);
		li[2] = spec.data;
		r = helper(e, t, li);
		dbm_buf_free(&spec);
		if (r != 0) {
			struct dbm_buf lp = DBM_BUF_INIT;

			dbm_buf_printf(&lp, "%s/setup.log", t->dir);
			*err = last_line(lp.data);
			dbm_buf_free(&lp);
			rc = r == 3 ? -3 : -1;
			store_remove_tree(dir.data);
			goto out;
		}
		fd = open(p.data, O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			close(fd);
	}
	{
		char *sp = NULL;

		/* the site-packages of the cached env */
		dbm_buf_reset(&p);
		dbm_buf_printf(&p, "%s/lib", dir.data);
		{
			char **names;
			int k;

			names = store_list(p.data, &k);
			if (names && k > 0) {
				struct dbm_buf q = DBM_BUF_INIT;

				dbm_buf_printf(&q, "%s/%s/site-packages",
				    p.data, names[0]);
				sp = dbm_buf_detach(&q);
			}
			store_names_free(names);
		}
		if (sp == NULL) {
			*err = dbm_xstrdup("the cached environment is broken");
			goto out;
		}
		*site = sp;
	}
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	dbm_buf_free(&dir);
	dbm_buf_free(&p);
	return rc;
}

/* Add the members of JSON object obj (name: value) to env, paths mapped. */
static char **
env_object(struct emu *e, struct task *t, const struct dbm_json *j, int obj,
    char **env, int *n)
{
	int k, i, a;

	if (dbm_json_type(j, obj) != DBM_JSON_OBJECT)
		return env;
	k = dbm_json_count(j, obj);
	a = obj + 1;
	for (i = 0; i < k; i++) {
		char *name = dbm_json_strdup(j, a);
		char *val = dbm_json_strdup(j, a + 1);
		char *m = map_paths(e, t->dir, val ? val : "");

		if (name)
			env = env_add(env, n, name, m);
		free(name);
		free(val);
		free(m);
		a = dbm_json_skip(j, a + 1);
	}
	return env;
}

/* The command of a task, paths mapped; NULL with *err when it is bad. */
static char **
task_argv(struct emu *e, struct task *t, const char *venv, char ***envp,
    int *nenv, char **err)
{
	struct dbm_json j;
	struct dbm_err je;
	char **argv = NULL;
	int n = 0, i, k, a;
	struct dbm_buf py = DBM_BUF_INIT;

	if (dbm_json_parse(&j, t->task_json, strlen(t->task_json), "task",
	    &je) < 0) {
		*err = dbm_xstrdup("the task is not valid JSON");
		return NULL;
	}
	dbm_buf_printf(&py, "%s/bin/python", venv);
	argv = dbm_xcalloc(1, sizeof(*argv));
#define PUSH(s) do { argv = dbm_xrealloc(argv, (size_t)(n + 2) * \
    sizeof(*argv)); argv[n++] = (s); argv[n] = NULL; } while (0)
	if (strcmp(t->kind, "shell_command_task") == 0) {
		int cmd = dbm_json_member(&j, 0, "command");
		int ev = dbm_json_member(&j, 0, "env_vars");

		k = dbm_json_count(&j, cmd);
		if (dbm_json_type(&j, cmd) != DBM_JSON_ARRAY || k == 0) {
			*err = dbm_xstrdup("shell_command_task.command must be a "
			    "non-empty array");
			goto bad;
		}
		for (i = 0; i < k; i++) {
			char *w = dbm_json_strdup(&j, dbm_json_elem(&j, cmd, i));

			PUSH(map_paths(e, t->dir, w ? w : ""));
			free(w);
		}
		if (argv[0][0] != '/') {	/* bash -> /bin/bash */
			char *full = NULL;
			const char *dirs[] = {"/usr/bin/", "/bin/", NULL};

			for (a = 0; dirs[a] && full == NULL; a++) {
				struct dbm_buf f = DBM_BUF_INIT;

				dbm_buf_printf(&f, "%s%s", dirs[a], argv[0]);
				if (access(f.data, X_OK) == 0)
					full = dbm_buf_detach(&f);
				dbm_buf_free(&f);
			}
			if (full) {
				free(argv[0]);
				argv[0] = full;
			}
		}
		*envp = env_object(e, t, &j, ev, *envp, nenv);
	} else if (strcmp(t->kind, "spark_python_task") == 0) {
		char *f = dbm_json_get_str(&j, "python_file");
		int ps = dbm_json_member(&j, 0, "parameters");

		if (f == NULL) {
			*err = dbm_xstrdup("spark_python_task.python_file is "
			    "required");
			goto bad;
		}
		PUSH(dbm_xstrdup(py.data));
		PUSH(map_paths(e, t->dir, f));
		free(f);
		k = dbm_json_count(&j, ps);
		for (i = 0; i < k; i++) {
			char *w = dbm_json_strdup(&j, dbm_json_elem(&j, ps, i));

			PUSH(map_paths(e, t->dir, w ? w : ""));
			free(w);
		}
	} else {
		char *pkg = dbm_json_get_str(&j, "package_name");
		char *ep = dbm_json_get_str(&j, "entry_point");
		int ps = dbm_json_member(&j, 0, "parameters");
		int np = dbm_json_member(&j, 0, "named_parameters");
		struct dbm_buf s = DBM_BUF_INIT;

		if (pkg == NULL || ep == NULL) {
			free(pkg);
			free(ep);
			*err = dbm_xstrdup("python_wheel_task needs package_name "
			    "and entry_point");
			goto bad;
		}
		dbm_buf_printf(&s, "%s/dbmlops_cluster.py", e->jobs->cluster);
		PUSH(dbm_xstrdup(py.data));
		PUSH(dbm_buf_detach(&s));
		PUSH(dbm_xstrdup("wheel-task"));
		PUSH(pkg);
		PUSH(ep);
		k = dbm_json_count(&j, ps);
		for (i = 0; i < k; i++) {
			char *w = dbm_json_strdup(&j, dbm_json_elem(&j, ps, i));

			PUSH(map_paths(e, t->dir, w ? w : ""));
			free(w);
		}
		if (dbm_json_type(&j, np) == DBM_JSON_OBJECT) {
			k = dbm_json_count(&j, np);
			a = np + 1;
			for (i = 0; i < k; i++) {
				char *name = dbm_json_strdup(&j, a);
				char *val = dbm_json_strdup(&j, a + 1);
				struct dbm_buf kv = DBM_BUF_INIT;
				char *m = map_paths(e, t->dir, val ? val : "");

				dbm_buf_printf(&kv, "--%s=%s", name ? name : "",
				    m);
				PUSH(dbm_buf_detach(&kv));
				free(name);
				free(val);
				free(m);
				a = dbm_json_skip(&j, a + 1);
			}
		}
	}
#undef PUSH
	dbm_json_free(&j);
	dbm_buf_free(&py);
	return argv;
bad:
	dbm_json_free(&j);
	dbm_buf_free(&py);
	strv_free(argv);
	return NULL;
}

/* Cluster spark_env_vars go into the task's environment too. */
static void
cluster_env_vars(struct emu *e, struct task *t, char ***envp, int *nenv)
{
	struct dbm_json j;
	struct dbm_err je;
	int ev;

	if (t->cluster_json == NULL || dbm_json_parse(&j, t->cluster_json,
	    strlen(t->cluster_json), "new_cluster", &je) < 0)
		return;
	ev = dbm_json_member(&j, 0, "spark_env_vars");
	*envp = env_object(e, t, &j, ev, *envp, nenv);
	dbm_json_free(&j);
}

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
exec_task(struct emu *e, struct run *r, struct task *t)
{
	struct dbm_buf venv = DBM_BUF_INIT, log = DBM_BUF_INIT;
	char *site = NULL, *err = NULL, **argv = NULL, **env = NULL;
	int nenv = 0, rc, killed = 0, timedout = 0, cancelled = 0;
	long limit = t->timeout > 0 ? t->timeout : r->timeout;
	double started, kill_at = 0;

	pthread_mutex_lock(&e->jobs->mu);
	t->life = "PENDING";
	t->start = emu_now_ms();
	pthread_mutex_unlock(&e->jobs->mu);
	store_mkdirs(t->dir);
	find_mlflow_ids(t);
	dbm_buf_printf(&log, "%s/log.txt", t->dir);

	rc = cluster_env(e, t, &site, &err);
	if (rc == -3) {
		struct dbm_buf m = DBM_BUF_INIT;

		dbm_buf_printf(&m, "Library installation failed for library due "
		    "to user error. Error messages: %s", err ? err : "");
		finish(e, t, "INTERNAL_ERROR", "FAILED",
		    "LIBRARY_INSTALLATION_ERROR", "CLIENT_ERROR", m.data);
		dbm_buf_free(&m);
		goto out;
	}
	if (rc < 0) {
		finish(e, t, "INTERNAL_ERROR", "FAILED", "INTERNAL_ERROR",
		    "INTERNAL_ERROR", err ? err : "cluster setup failed");
		goto out;
	}
	dbm_buf_printf(&venv, "%s/env", t->dir);
	{
		const char *mk[] = {"mkenv", venv.data, site, NULL};

		if (helper(e, t, mk) != 0) {
			finish(e, t, "INTERNAL_ERROR", "FAILED", "INTERNAL_ERROR",
			    "INTERNAL_ERROR", "cannot create the task's Python "
			    "environment");
			goto out;
		}
	}
	env = base_env(e, t, venv.data, &nenv);
	cluster_env_vars(e, t, &env, &nenv);
	argv = task_argv(e, t, venv.data, &env, &nenv, &err);
	if (argv == NULL) {
		finish(e, t, "INTERNAL_ERROR", "FAILED",
		    "INVALID_RUN_CONFIGURATION", "CLIENT_ERROR", err);
		goto out;
	}
	pthread_mutex_lock(&e->jobs->mu);
	if (r->cancel) {
		pthread_mutex_unlock(&e->jobs->mu);
		finish(e, t, "TERMINATED", "CANCELED", "USER_CANCELED", "SUCCESS",
		    "Run cancelled.");
		goto out;
	}
	t->pid = spawn(argv, env, t->dir, log.data);
	t->life = "RUNNING";
	t->setup_end = emu_now_ms();
	save_run(e, r);
	pthread_mutex_unlock(&e->jobs->mu);
	started = emu_now();
	for (;;) {
		int st;
		pid_t w = waitpid(t->pid, &st, WNOHANG);

		if (w == t->pid) {
			t->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
			break;
		}
		if (w < 0 && errno != EINTR) {
			t->exit_code = -1;
			break;
		}
		pthread_mutex_lock(&e->jobs->mu);
		cancelled = r->cancel;
		pthread_mutex_unlock(&e->jobs->mu);
		if (!killed && limit > 0 && emu_now() - started > (double)limit)
			timedout = 1;
		if (!killed && (cancelled || timedout)) {
			set_state(e, t, "TERMINATING");
			kill(-t->pid, SIGTERM);
			killed = 1;
			kill_at = emu_now() + 5;
		}
		if (killed && kill_at > 0 && emu_now() > kill_at) {
			kill(-t->pid, SIGKILL);
			kill_at = 0;
		}
		{
			struct timespec ts = {0, 50 * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
	kill(-t->pid, SIGKILL);	/* anything the task left running */
	pthread_mutex_lock(&e->jobs->mu);
	t->exec_end = emu_now_ms();
	t->life = "TERMINATING";
	pthread_mutex_unlock(&e->jobs->mu);
	if (timedout) {
		finish(e, t, "TERMINATED", "TIMEDOUT", "RUN_EXECUTION_ERROR",
		    "CLIENT_ERROR", "Run timed out.");
	} else if (cancelled) {
		finish(e, t, "TERMINATED", "CANCELED", "USER_CANCELED", "SUCCESS",
		    "Run cancelled.");
	} else if (t->exit_code == 0) {
		finish(e, t, "TERMINATED", "SUCCESS", "SUCCESS", "SUCCESS", "");
	} else {
		finish(e, t, "TERMINATED", "FAILED", "RUN_EXECUTION_ERROR",
		    "CLIENT_ERROR", "Workload failed, see run output for details");
	}
out:
	strv_free(argv);
	strv_free(env);
	free(site);
	free(err);
	dbm_buf_free(&venv);
	dbm_buf_free(&log);
}

static void *
runner(void *arg)
{
	struct run *r = arg;
	struct emu *e = r->e;
	struct jobs *js = e->jobs;
	int i;

	pthread_mutex_lock(&js->mu);
	while (js->running >= js->max && !r->cancel) {
		for (i = 0; i < r->nt; i++)
			r->t[i].life = "QUEUED";
		pthread_cond_wait(&js->cv, &js->mu);
	}
	js->running++;
	pthread_mutex_unlock(&js->mu);
	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[r->order ? r->order[i] : i];
		const char *upstream = NULL;
		int cancel, d, k;

		pthread_mutex_lock(&js->mu);
		cancel = r->cancel;
		pthread_mutex_unlock(&js->mu);
		if (cancel) {
			finish(e, t, "TERMINATED", "CANCELED", "USER_CANCELED",
			    "SUCCESS", "Run cancelled.");
			continue;
		}
		/* a task runs only when every task it depends on succeeded */
		for (d = 0; d < t->ndeps && upstream == NULL; d++)
			for (k = 0; k < r->nt; k++)
				if (strcmp(r->t[k].key, t->deps[d]) == 0 &&
				    (r->t[k].result == NULL ||
				    strcmp(r->t[k].result, "SUCCESS") != 0))
					upstream = r->t[k].result &&
					    (strcmp(r->t[k].result, "CANCELED") == 0 ||
					    strcmp(r->t[k].result,
					    "UPSTREAM_CANCELED") == 0) ?
					    "UPSTREAM_CANCELED" : "UPSTREAM_FAILED";
		if (upstream) {
			finish(e, t, "SKIPPED", upstream, "SKIPPED", "SUCCESS",
			    "An upstream task did not succeed.");
			continue;
		}
		exec_task(e, r, t);
	}
	pthread_mutex_lock(&js->mu);
	js->running--;
	pthread_cond_broadcast(&js->cv);
	pthread_mutex_unlock(&js->mu);
	return NULL;
}

/* --- the API ----------------------------------------------------------- */

static struct run *
find_run(struct jobs *js, long long id, struct task **task)
{
	struct run *r;
	int i;

	for (r = js->runs; r; r = r->next) {
		if (r->run_id == id) {
			if (task)
				*task = NULL;
			return r;
		}
		for (i = 0; i < r->nt; i++) {
			if (r->t[i].run_id == id) {
				if (task)
					*task = &r->t[i];
				return r;
			}
		}
	}
	return NULL;
}

static int
parse_task(struct emu *e, const struct dbm_json *j, int obj, struct task *t,
    const char *key, long long run_id, char **why)
{
	size_t i;
	int m;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < sizeof(UNSUPPORTED) / sizeof(*UNSUPPORTED); i++) {
		if (dbm_json_member(j, obj, UNSUPPORTED[i]) >= 0) {
			struct dbm_buf b = DBM_BUF_INIT;

			dbm_buf_printf(&b, "%s is not supported by workspace-emu "
			    "(it runs shell_command_task, spark_python_task and "
			    "python_wheel_task)", UNSUPPORTED[i]);
			*why = dbm_buf_detach(&b);
			return -1;
		}
	}
	for (i = 0; i < sizeof(TASK_KINDS) / sizeof(*TASK_KINDS); i++) {
		m = dbm_json_member(j, obj, TASK_KINDS[i]);
		if (dbm_json_type(j, m) == DBM_JSON_OBJECT) {
			t->kind = TASK_KINDS[i];
			t->task_json = raw_dup(j, m);
			break;
		}
	}
	if (t->kind == NULL) {
		*why = dbm_xstrdup("a task needs one of shell_command_task, "
		    "spark_python_task or python_wheel_task");
		return -1;
	}
	t->cluster_json = raw_dup(j, dbm_json_member(j, obj, "new_cluster"));
	t->existing = dbm_json_strdup(j, dbm_json_member(j, obj,
	    "existing_cluster_id"));
	m = dbm_json_member(j, obj, "libraries");
	t->libraries = m >= 0 && dbm_json_type(j, m) == DBM_JSON_ARRAY ?
	    raw_dup(j, m) : dbm_xstrdup("[]");
	{
		long long to = 0;

		dbm_json_int(j, dbm_json_member(j, obj, "timeout_seconds"), &to);
		t->timeout = (long)to;
	}
	m = dbm_json_member(j, obj, "depends_on");
	for (i = 0; (int)i < dbm_json_count(j, m) &&
	    dbm_json_type(j, m) == DBM_JSON_ARRAY; i++) {
		char *dk = dbm_json_strdup(j, dbm_json_member(j,
		    dbm_json_elem(j, m, (int)i), "task_key"));

		if (dk == NULL) {
			*why = dbm_xstrdup("depends_on entries need a task_key");
			return -1;
		}
		t->deps = dbm_xrealloc(t->deps, (size_t)(t->ndeps + 1) *
		    sizeof(*t->deps));
		t->deps[t->ndeps++] = dk;
	}
	t->key = dbm_xstrdup(key);
	t->run_id = run_id;
	t->life = "PENDING";
	{
		struct dbm_buf d = DBM_BUF_INIT;

		dbm_buf_printf(&d, "%s/jobs/runs/%lld", e->datadir, run_id);
		t->dir = dbm_buf_detach(&d);
	}
	return 0;
}

static void
free_run(struct run *r)
{
	int i;

	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[i];

		free(t->key);
		free(t->task_json);
		free(t->cluster_json);
		free(t->existing);
		free(t->libraries);
		free(t->message);
		free(t->dir);
		free(t->mlflow_run);
		free(t->mlflow_exp);
		while (t->ndeps > 0)
			free(t->deps[--t->ndeps]);
		free(t->deps);
	}
	free(r->t);
	free(r->order);
	free(r->name);
	free(r->token);
	free(r);
}

/* Dependencies first (in submitted order otherwise); unknown keys,
 * duplicate keys and cycles are refused. */
static int
order_tasks(struct run *r, char **why)
{
	int *done = dbm_xcalloc((size_t)r->nt, sizeof(*done)), n = 0, i, d, k;
	struct dbm_buf b = DBM_BUF_INIT;

	r->order = dbm_xcalloc((size_t)r->nt, sizeof(*r->order));
	for (i = 0; i < r->nt; i++) {
		for (k = i + 1; k < r->nt; k++)
			if (strcmp(r->t[i].key, r->t[k].key) == 0) {
				dbm_buf_printf(&b, "task_key %s is used twice",
				    r->t[i].key);
				goto bad;
			}
		for (d = 0; d < r->t[i].ndeps; d++) {
			for (k = 0; k < r->nt; k++)
				if (strcmp(r->t[k].key, r->t[i].deps[d]) == 0)
					break;
			if (k == r->nt) {
				dbm_buf_printf(&b, "task %s depends on %s, which "
				    "is not a task of this run", r->t[i].key,
				    r->t[i].deps[d]);
				goto bad;
			}
		}
	}
	while (n < r->nt) {
		int progress = 0;

		for (i = 0; i < r->nt; i++) {
			int ready = !done[i];

			for (d = 0; ready && d < r->t[i].ndeps; d++)
				for (k = 0; k < r->nt; k++)
					if (strcmp(r->t[k].key,
					    r->t[i].deps[d]) == 0 && !done[k])
						ready = 0;
			if (ready) {
				done[i] = 1;
				r->order[n++] = i;
				progress = 1;
			}
		}
		if (!progress) {
			dbm_buf_adds(&b, "the tasks' depends_on form a cycle");
			goto bad;
		}
	}
	free(done);
	return 0;
bad:
	free(done);
	*why = dbm_buf_detach(&b);
	return -1;
}

static enum MHD_Result
submit(struct req *q, int v2)
{
	struct emu *e = q->emu;
	struct jobs *js = e->jobs;
	struct dbm_json *j = &q->json;
	struct run *r, *old;
	enum MHD_Result res;
	char *why = NULL, *token;
	int tasks, n, i;
	long long to = 0;
	pthread_t th;
	struct dbm_buf b = DBM_BUF_INIT;

	if (emu_need_json(q, &res) < 0)
		return res;
	token = dbm_json_strdup(j, dbm_json_member(j, 0, "idempotency_token"));
	if (token && strlen(token) > 64) {
		free(token);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "idempotency_token is longer than 64 characters");
	}
	pthread_mutex_lock(&js->mu);
	old = NULL;
	for (struct run *x = js->runs; token && x && old == NULL; x = x->next)
		if (x->token && strcmp(x->token, token) == 0)
			old = x;
	if (old) {
		dbm_buf_printf(&b, "{\"run_id\":%lld}", old->run_id);
		pthread_mutex_unlock(&js->mu);
		free(token);
		res = emu_reply_json(q, 200, b.data);
		dbm_buf_free(&b);
		return res;
	}
	pthread_mutex_unlock(&js->mu);

	r = dbm_xcalloc(1, sizeof(*r));
	r->e = e;
	r->token = token;
	r->name = dbm_json_strdup(j, dbm_json_member(j, 0, "run_name"));
	if (r->name == NULL)
		r->name = dbm_xstrdup("Untitled");
	dbm_json_int(j, dbm_json_member(j, 0, "timeout_seconds"), &to);
	r->timeout = (long)to;
	tasks = dbm_json_member(j, 0, "tasks");
	pthread_mutex_lock(&js->mu);
	r->run_id = js->next_id++;
	r->job_id = js->next_job++;
	pthread_mutex_unlock(&js->mu);
	if (tasks >= 0) {
		n = dbm_json_count(j, tasks);
		if (dbm_json_type(j, tasks) != DBM_JSON_ARRAY || n == 0) {
			why = dbm_xstrdup("tasks must be a non-empty array");
			goto bad;
		}
		r->t = dbm_xcalloc((size_t)n, sizeof(*r->t));
		for (i = 0; i < n; i++) {
			int obj = dbm_json_elem(j, tasks, i);
			char *key = dbm_json_strdup(j, dbm_json_member(j, obj,
			    "task_key"));
			long long id;

			if (key == NULL) {
				why = dbm_xstrdup("every task needs a task_key");
				goto bad;
			}
			pthread_mutex_lock(&js->mu);
			id = js->next_id++;
			pthread_mutex_unlock(&js->mu);
			if (parse_task(e, j, obj, &r->t[i], key, id, &why) < 0) {
				free(key);
				r->nt = i;
				goto bad;
			}
			free(key);
			r->nt = i + 1;
		}
	} else if (v2) {
		why = dbm_xstrdup("tasks is required: one-time runs of the Jobs "
		    "API 2.1 and later list their tasks");
		goto bad;
	} else {
		r->legacy = 1;
		r->t = dbm_xcalloc(1, sizeof(*r->t));
		if (parse_task(e, j, 0, &r->t[0], r->name, r->run_id, &why) < 0)
			goto bad;
		r->nt = 1;
	}
	if (order_tasks(r, &why) < 0)
		goto bad;
	r->submitted = emu_now_ms();
	for (i = 0; i < r->nt; i++)
		r->t[i].run = r;
	pthread_mutex_lock(&js->mu);
	r->next = js->runs;
	js->runs = r;
	save_run(e, r);
	pthread_mutex_unlock(&js->mu);
	if (pthread_create(&th, NULL, runner, r) == 0)
		pthread_detach(th);
	dbm_buf_printf(&b, "{\"run_id\":%lld}", r->run_id);
	res = emu_reply_json(q, 200, b.data);
	dbm_buf_free(&b);
	return res;
bad:
	res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE", "%s", why);
	free(why);
	free_run(r);
	return res;
}

static void
state_json(struct dbm_jw *w, const char *life, const char *result,
    const char *msg, int user)
{
	dbm_jw_key(w, "state");
	dbm_jw_obj(w);
	dbm_jw_key(w, "life_cycle_state");
	dbm_jw_str(w, life);
	if (result) {
		dbm_jw_key(w, "result_state");
		dbm_jw_str(w, result);
	}
	dbm_jw_key(w, "state_message");
	dbm_jw_str(w, msg ? msg : "");
	dbm_jw_key(w, "user_cancelled_or_timedout");
	dbm_jw_bool(w, user);
	dbm_jw_obj_end(w);
}

static void
status_json(struct dbm_jw *w, const char *life, const char *code,
    const char *type, const char *msg)
{
	const char *v2 = strcmp(life, "INTERNAL_ERROR") == 0 ||
	    strcmp(life, "SKIPPED") == 0 ? "TERMINATED" : life;

	dbm_jw_key(w, "status");
	dbm_jw_obj(w);
	dbm_jw_key(w, "state");
	dbm_jw_str(w, v2);
	if (code) {
		dbm_jw_key(w, "termination_details");
		dbm_jw_obj(w);
		dbm_jw_key(w, "code");
		dbm_jw_str(w, code);
		dbm_jw_key(w, "type");
		dbm_jw_str(w, type);
		dbm_jw_key(w, "message");
		dbm_jw_str(w, msg ? msg : "");
		dbm_jw_obj_end(w);
	}
	dbm_jw_obj_end(w);
}

static void
times_json(struct dbm_jw *w, long long submitted, long long start,
    long long setup_end, long long exec_end, long long end, int done)
{
	dbm_jw_key(w, "start_time");
	dbm_jw_int(w, start ? start : submitted);
	dbm_jw_key(w, "setup_duration");
	dbm_jw_int(w, setup_end && start ? setup_end - start : 0);
	dbm_jw_key(w, "execution_duration");
	dbm_jw_int(w, exec_end && setup_end ? exec_end - setup_end : 0);
	dbm_jw_key(w, "cleanup_duration");
	dbm_jw_int(w, end && exec_end ? end - exec_end : 0);
	dbm_jw_key(w, "end_time");
	dbm_jw_int(w, done ? end : 0);
	dbm_jw_key(w, "run_duration");
	dbm_jw_int(w, done && start ? end - start : 0);
}

static void
run_page(struct emu *e, struct dbm_buf *b, long long id)
{
	dbm_buf_printf(b, "%s/jobs/runs/%lld", e->url, id);
}

/* The whole run as runs/get answers it (called with the lock held). */
static void
run_json(struct emu *e, struct run *r, struct dbm_jw *w)
{
	const char *life = "TERMINATED", *result = "SUCCESS", *code = "SUCCESS",
	    *type = "SUCCESS", *msg = "";
	long long start = 0, end = 0, setup = 0, exec = 0;
	int i, done = 1, user = 0;
	struct dbm_buf url = DBM_BUF_INIT;

	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[i];

		if (!terminal(t->life)) {
			done = 0;
			life = t->life;
			break;
		}
	}
	if (done) {
		/* the run's outcome: a task's own failure before an upstream
		 * skip */
		struct task *bad = NULL;

		for (i = 0; i < r->nt; i++) {
			struct task *t = &r->t[i];

			if (strcmp(t->result, "SUCCESS") == 0)
				continue;
			if (bad == NULL || (strncmp(bad->result, "UPSTREAM_", 9)
			    == 0 && strncmp(t->result, "UPSTREAM_", 9) != 0))
				bad = t;
		}
		if (bad) {
			life = bad->life;
			result = bad->result;
			code = bad->code;
			type = bad->type;
			msg = bad->message;
		}
		if (strcmp(life, "SKIPPED") == 0)
			life = "TERMINATED";
		user = strcmp(result, "CANCELED") == 0 ||
		    strcmp(result, "TIMEDOUT") == 0;
	}
	/* the run spans its tasks: first start to last end */
	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[i];

		if (t->start && (start == 0 || t->start < start)) {
			start = t->start;
			setup = t->setup_end;
		}
		if (t->exec_end > exec)
			exec = t->exec_end;
		if (t->end > end)
			end = t->end;
	}
	dbm_jw_obj(w);
	dbm_jw_key(w, "job_id");
	dbm_jw_int(w, r->job_id);
	dbm_jw_key(w, "run_id");
	dbm_jw_int(w, r->run_id);
	dbm_jw_key(w, "number_in_job");
	dbm_jw_int(w, r->run_id);
	dbm_jw_key(w, "original_attempt_run_id");
	dbm_jw_int(w, r->run_id);
	dbm_jw_key(w, "creator_user_name");
	dbm_jw_str(w, "emu@localhost");
	dbm_jw_key(w, "run_name");
	dbm_jw_str(w, r->name);
	dbm_jw_key(w, "run_type");
	dbm_jw_str(w, "SUBMIT_RUN");
	dbm_jw_key(w, "trigger");
	dbm_jw_str(w, "ONE_TIME");
	run_page(e, &url, r->run_id);
	dbm_jw_key(w, "run_page_url");
	dbm_jw_str(w, url.data);
	state_json(w, life, done ? result : NULL, done ? msg : "", user);
	status_json(w, life, done ? code : NULL, type, msg);
	times_json(w, r->submitted, start, setup, exec, end, done);
	if (r->legacy) {
		dbm_jw_key(w, "task");
		dbm_jw_obj(w);
		dbm_jw_key(w, r->t[0].kind);
		dbm_jw_raw(w, r->t[0].task_json, strlen(r->t[0].task_json));
		dbm_jw_obj_end(w);
		dbm_jw_key(w, "cluster_spec");
		dbm_jw_obj(w);
		if (r->t[0].cluster_json) {
			dbm_jw_key(w, "new_cluster");
			dbm_jw_raw(w, r->t[0].cluster_json,
			    strlen(r->t[0].cluster_json));
		}
		dbm_jw_key(w, "libraries");
		dbm_jw_raw(w, r->t[0].libraries, strlen(r->t[0].libraries));
		dbm_jw_obj_end(w);
	}
	dbm_jw_key(w, "tasks");
	dbm_jw_arr(w);
	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[i];
		int tdone = terminal(t->life);

		dbm_jw_obj(w);
		dbm_jw_key(w, "run_id");
		dbm_jw_int(w, t->run_id);
		dbm_jw_key(w, "task_key");
		dbm_jw_str(w, t->key);
		dbm_buf_reset(&url);
		run_page(e, &url, t->run_id);
		dbm_jw_key(w, "run_page_url");
		dbm_jw_str(w, url.data);
		state_json(w, t->life, tdone ? t->result : NULL, t->message,
		    tdone && (strcmp(t->result, "CANCELED") == 0 ||
		    strcmp(t->result, "TIMEDOUT") == 0));
		status_json(w, t->life, tdone ? t->code : NULL, t->type,
		    t->message);
		times_json(w, r->submitted, t->start, t->setup_end, t->exec_end,
		    t->end, tdone);
		dbm_jw_key(w, "attempt_number");
		dbm_jw_int(w, 0);
		dbm_jw_key(w, t->kind);
		dbm_jw_raw(w, t->task_json, strlen(t->task_json));
		if (t->cluster_json) {
			dbm_jw_key(w, "new_cluster");
			dbm_jw_raw(w, t->cluster_json, strlen(t->cluster_json));
		}
		if (t->existing) {
			dbm_jw_key(w, "existing_cluster_id");
			dbm_jw_str(w, t->existing);
		}
		dbm_jw_key(w, "libraries");
		dbm_jw_raw(w, t->libraries, strlen(t->libraries));
		dbm_jw_obj_end(w);
	}
	dbm_jw_arr_end(w);
	dbm_jw_obj_end(w);
	dbm_buf_free(&url);
}

static int
run_id_param(struct req *q, long long *id, enum MHD_Result *res)
{
	char *v = emu_param(q, "run_id"), *end;

	if (v == NULL || (*id = strtoll(v, &end, 10), *end != '\0')) {
		free(v);
		*res = emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "run_id is required");
		return -1;
	}
	free(v);
	return 0;
}

static enum MHD_Result
get(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	struct dbm_buf b = DBM_BUF_INIT;
	struct dbm_jw w;
	struct run *r;
	enum MHD_Result res;
	long long id;

	if (run_id_param(q, &id, &res) < 0)
		return res;
	pthread_mutex_lock(&js->mu);
	r = find_run(js, id, NULL);
	if (r == NULL || r->run_id != id) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply_error(q, 400, "INVALID_PARAMETER_VALUE",
		    "Run %lld does not exist.", id);
	}
	dbm_jw_init(&w, &b);
	run_json(q->emu, r, &w);
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
		*error = last_line(log);
	}
	free(buf);
}

static enum MHD_Result
get_output(struct req *q)
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

	if (run_id_param(q, &id, &res) < 0)
		return res;
	pthread_mutex_lock(&js->mu);
	r = find_run(js, id, &t);
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
	run_json(q->emu, r, &w);
	done = terminal(t->life);
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

static enum MHD_Result
cancel(struct req *q)
{
	struct jobs *js = q->emu->jobs;
	enum MHD_Result res;
	struct run *r;
	long long id;

	if (emu_need_json(q, &res) < 0 || run_id_param(q, &id, &res) < 0)
		return res;
	pthread_mutex_lock(&js->mu);
	r = find_run(js, id, NULL);
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
static enum MHD_Result
page(struct req *q)
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
	r = find_run(js, id, &t);
	if (r == NULL) {
		pthread_mutex_unlock(&js->mu);
		return emu_reply(q, 404, "text/html", "<h1>No such run</h1>\n",
		    21);
	}
	for (i = 0; i < r->nt; i++)
		done &= terminal(r->t[i].life);
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
		    "</td></tr><tr><td>message</td><td>", k->life,
		    terminal(k->life) && k->result ? k->result : "");
		html_escape(&b, k->message ? k->message : "", 4096);
		dbm_buf_printf(&b, "</td></tr><tr><td>task</td><td>%s</td></tr>"
		    "<tr><td>setup</td><td>%.1f s</td></tr><tr><td>execution"
		    "</td><td>%.1f s</td></tr><tr><td>libraries</td><td><code>",
		    k->kind, k->setup_end && k->start ? (double)(k->setup_end -
		    k->start) / 1000 : 0, k->setup_end ? (double)((k->exec_end ?
		    k->exec_end : emu_now_ms()) - k->setup_end) / 1000 : 0);
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

static enum MHD_Result
jobs_api(struct req *q)
{
	const char *op;
	int v2;

	if (strncmp(q->path, "/jobs/runs/", 11) == 0)
		return page(q);
	v2 = strncmp(q->path, "/api/2.0/", 9) != 0;
	op = q->path + strlen("/api/2.x/jobs/");
	if (strcmp(op, "runs/submit") == 0 && strcmp(q->method, "POST") == 0)
		return submit(q, v2);
	if (strcmp(op, "runs/get") == 0 && strcmp(q->method, "GET") == 0)
		return get(q);
	if (strcmp(op, "runs/get-output") == 0 && strcmp(q->method, "GET") == 0)
		return get_output(q);
	if (strcmp(op, "runs/cancel") == 0 && strcmp(q->method, "POST") == 0)
		return cancel(q);
	return emu_reply_error(q, 404, "ENDPOINT_NOT_FOUND",
	    "No API found for '%s %s'", q->method, q->path);
}

/* --- persistence: runs outlive a restart ------------------------------ */

static const char *const STATES[] = {
	"PENDING", "QUEUED", "RUNNING", "TERMINATING", "TERMINATED", "SKIPPED",
	"INTERNAL_ERROR", "SUCCESS", "FAILED", "TIMEDOUT", "CANCELED",
	"UPSTREAM_FAILED", "USER_CANCELED", "RUN_EXECUTION_ERROR",
	"LIBRARY_INSTALLATION_ERROR", "INVALID_RUN_CONFIGURATION", "CLIENT_ERROR",
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

/* Write the run's record to jobs/state/<id>.json (the lock is held). */
static void
save_run(struct emu *e, struct run *r)
{
	struct dbm_buf b = DBM_BUF_INIT, p = DBM_BUF_INIT, tmp = DBM_BUF_INIT;
	struct dbm_jw w;
	FILE *f;
	int i;

	dbm_jw_init(&w, &b);
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
		dbm_jw_key(&w, "timeout");
		dbm_jw_int(&w, t->timeout);
		jkv(&w, "life", t->life);
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
		jkv(&w, "dir", t->dir);
		jkv(&w, "mlflow_run", t->mlflow_run);
		jkv(&w, "mlflow_exp", t->mlflow_exp);
		dbm_jw_obj_end(&w);
	}
	dbm_jw_arr_end(&w);
	dbm_jw_obj_end(&w);
	dbm_buf_printf(&p, "%s/jobs/state/%lld.json", e->datadir, r->run_id);
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

static char *
jstr(const struct dbm_json *j, int obj, const char *k)
{
	return dbm_json_strdup(j, dbm_json_member(j, obj, k));
}

/* Runs from an earlier life of this data directory; what was active then
 * ended with it. */
static void
load_runs(struct emu *e)
{
	struct jobs *js = e->jobs;
	struct dbm_buf dir = DBM_BUF_INIT;
	char **names;
	int n, i, k;

	dbm_buf_printf(&dir, "%s/jobs/state", e->datadir);
	names = store_list(dir.data, &n);
	for (i = 0; names && i < n; i++) {
		struct dbm_buf p = DBM_BUF_INIT, in = DBM_BUF_INIT;
		struct dbm_json j;
		struct dbm_err je;
		struct run *r;
		int tasks, dirty = 0;
		long long v = 0;

		dbm_buf_printf(&p, "%s/%s", dir.data, names[i]);
		if (strlen(names[i]) < 6 || strcmp(names[i] + strlen(names[i]) - 5,
		    ".json") != 0 || dbm_buf_read_file(&in, p.data, 0) < 0) {
			dbm_buf_free(&p);
			dbm_buf_free(&in);
			continue;
		}
		if (dbm_json_parse(&j, dbm_buf_str(&in), in.len, p.data, &je) < 0) {
			dbm_buf_free(&p);
			dbm_buf_free(&in);
			continue;
		}
		r = dbm_xcalloc(1, sizeof(*r));
		r->e = e;
		dbm_json_get_int(&j, "run_id", &r->run_id);
		dbm_json_get_int(&j, "job_id", &r->job_id);
		dbm_json_get_int(&j, "submitted", &r->submitted);
		dbm_json_get_int(&j, "timeout", &v);
		r->timeout = (long)v;
		r->name = jstr(&j, 0, "name");
		r->token = jstr(&j, 0, "token");
		dbm_json_bool(&j, dbm_json_member(&j, 0, "legacy"), &r->legacy);
		tasks = dbm_json_member(&j, 0, "tasks");
		r->nt = dbm_json_count(&j, tasks);
		r->t = dbm_xcalloc((size_t)(r->nt ? r->nt : 1), sizeof(*r->t));
		for (k = 0; k < r->nt; k++) {
			int o = dbm_json_elem(&j, tasks, k), tm;
			struct task *t = &r->t[k];
			char *s;

			t->run = r;
			dbm_json_int(&j, dbm_json_member(&j, o, "run_id"),
			    &t->run_id);
			t->key = jstr(&j, o, "key");
			s = jstr(&j, o, "kind");
			for (size_t q = 0; s && q < sizeof(TASK_KINDS) /
			    sizeof(*TASK_KINDS); q++)
				if (strcmp(s, TASK_KINDS[q]) == 0)
					t->kind = TASK_KINDS[q];
			free(s);
			if (t->kind == NULL)
				t->kind = TASK_KINDS[0];
			t->task_json = jstr(&j, o, "task");
			if (t->task_json == NULL)
				t->task_json = dbm_xstrdup("{}");
			t->cluster_json = jstr(&j, o, "cluster");
			t->existing = jstr(&j, o, "existing");
			t->libraries = jstr(&j, o, "libraries");
			if (t->libraries == NULL)
				t->libraries = dbm_xstrdup("[]");
			v = 0;
			dbm_json_int(&j, dbm_json_member(&j, o, "timeout"), &v);
			t->timeout = (long)v;
			s = jstr(&j, o, "life");
			t->life = state_name(s ? s : "INTERNAL_ERROR");
			free(s);
			s = jstr(&j, o, "result");
			t->result = state_name(s);
			free(s);
			s = jstr(&j, o, "code");
			t->code = state_name(s);
			free(s);
			s = jstr(&j, o, "type");
			t->type = s && strcmp(s, "SUCCESS") == 0 ? "SUCCESS" :
			    s && strcmp(s, "CLIENT_ERROR") == 0 ? "CLIENT_ERROR" :
			    s ? "INTERNAL_ERROR" : NULL;
			free(s);
			t->message = jstr(&j, o, "message");
			tm = dbm_json_member(&j, o, "times");
			dbm_json_int(&j, dbm_json_elem(&j, tm, 0), &t->start);
			dbm_json_int(&j, dbm_json_elem(&j, tm, 1), &t->setup_end);
			dbm_json_int(&j, dbm_json_elem(&j, tm, 2), &t->exec_end);
			dbm_json_int(&j, dbm_json_elem(&j, tm, 3), &t->end);
			t->dir = jstr(&j, o, "dir");
			t->mlflow_run = jstr(&j, o, "mlflow_run");
			t->mlflow_exp = jstr(&j, o, "mlflow_exp");
			if (!terminal(t->life)) {
				t->life = "INTERNAL_ERROR";
				t->result = "FAILED";
				t->code = "INTERNAL_ERROR";
				t->type = "INTERNAL_ERROR";
				free(t->message);
				t->message = dbm_xstrdup("workspace-emu stopped "
				    "while the task was active");
				t->end = emu_now_ms();
				dirty = 1;
			}
			if (t->run_id >= js->next_id)
				js->next_id = t->run_id + 1;
		}
		dbm_json_free(&j);
		if (r->nt == 0 || r->t[0].dir == NULL) {
			free_run(r);
		} else {
			if (r->run_id >= js->next_id)
				js->next_id = r->run_id + 1;
			if (r->job_id >= js->next_job)
				js->next_job = r->job_id + 1;
			r->next = js->runs;
			js->runs = r;
			if (dirty)
				save_run(e, r);
		}
		dbm_buf_free(&p);
		dbm_buf_free(&in);
	}
	store_names_free(names);
	dbm_buf_free(&dir);
}

int
emu_jobs_init(struct emu *e, const char *python, const char *cluster,
    int max_runs)
{
	struct jobs *js = dbm_xcalloc(1, sizeof(*js));

	pthread_mutex_init(&js->mu, NULL);
	pthread_cond_init(&js->cv, NULL);
	/* run ids distinct across restarts */
	js->next_id = (emu_now_ms() / 1000 % 100000000LL) * 100 + 1;
	js->next_job = js->next_id / 100;
	js->max = max_runs > 0 ? max_runs : 2;
	js->python = dbm_xstrdup(python);
	js->cluster = dbm_xstrdup(cluster);
	e->jobs = js;
	emu_jobs_handler = jobs_api;
	load_runs(e);
	return 0;
}

void
emu_jobs_stop(struct emu *e)
{
	struct jobs *js = e->jobs;
	struct run *r, *n;
	int i, busy;
	double until = emu_now() + 10;

	if (js == NULL)
		return;
	/* end every task's process group, then wait for the runners */
	pthread_mutex_lock(&js->mu);
	for (r = js->runs; r; r = r->next)
		r->cancel = 1;
	pthread_cond_broadcast(&js->cv);
	pthread_mutex_unlock(&js->mu);
	do {
		struct timespec ts = {0, 50 * 1000000L};

		busy = 0;
		pthread_mutex_lock(&js->mu);
		for (r = js->runs; r; r = r->next)
			for (i = 0; i < r->nt; i++)
				busy |= !terminal(r->t[i].life);
		pthread_mutex_unlock(&js->mu);
		if (busy)
			nanosleep(&ts, NULL);
	} while (busy && emu_now() < until);
	if (busy)
		return;		/* runners still hold the runs: leak, exit */
	for (r = js->runs; r; r = n) {
		n = r->next;
		free_run(r);
	}
	free(js->python);
	free(js->cluster);
	pthread_mutex_destroy(&js->mu);
	pthread_cond_destroy(&js->cv);
	free(js);
	e->jobs = NULL;
}
