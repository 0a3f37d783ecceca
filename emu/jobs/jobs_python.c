/*
 * The interpreter a task runs on (PROTOCOL.md section 17): its runtime's
 * Python, as workspace-emu was given it (--python-for, by runtime or by
 * Python version) or has it (the base interpreter, python3.N on PATH);
 * else the closest it has, which the task's log then names.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "jobs.h"
#include "jobs_int.h"

extern char **environ;

/* The minor version of Python 3 at path, asked once: -1 when it does not
 * answer as a Python 3. */
static int
probe(const char *path)
{
	char *argv[] = {(char *)path, "-c",
	    "import sys; print(sys.version_info[0] * 100 + sys.version_info[1])",
	    NULL};
	posix_spawn_file_actions_t fa;
	char buf[32];
	ssize_t n, got = 0;
	int fd[2], st;
	pid_t pid;

	if (pipe(fd) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	st = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	while (st == 0 && got < (ssize_t)sizeof(buf) - 1 &&
	    ((n = read(fd[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		got += n > 0 ? n : 0;
	close(fd[0]);
	if (st != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	buf[got] = '\0';
	n = strtol(buf, NULL, 10);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 && n / 100 == 3 ?
	    (int)(n % 100) : -1;
}

int
jobs_python_closest(int want, const int *have, int n)
{
	int i, best = -1, d, bd = INT_MAX;

	for (i = 0; i < n; i++) {
		if (have[i] < 0)
			continue;
		d = have[i] > want ? have[i] - want : want - have[i];
		/* on a tie the older: a newer Python breaks old pins first */
		if (d < bd || (d == bd && have[i] < have[best]))
			best = i, bd = d;
	}
	return best;
}

/* "A.B" of version v into out (a runtime's or a Python's): 0, or -1. */
static int
major_minor(const char *v, char *out, size_t size)
{
	size_t n = strspn(v, "0123456789");

	if (n == 0 || v[n] != '.' || strspn(v + n + 1, "0123456789") == 0)
		return -1;
	n += 1 + strspn(v + n + 1, "0123456789");
	if (n >= size)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

int
emu_jobs_python_for(struct emu *e, const char *spec, const char **why)
{
	struct jobs *js = e->jobs;
	const char *eq = strchr(spec, '=');
	char key[16], cwd[PATH_MAX];
	struct dbm_buf p = DBM_BUF_INIT;

	if (eq == NULL || (size_t)(eq - spec) >= sizeof(key) ||
	    major_minor(spec, key, sizeof(key)) < 0 ||
	    strlen(key) != (size_t)(eq - spec)) {
		*why = "expected RUNTIME=PATH or 3.N=PATH (13.3=/usr/bin/"
		    "python3.10, 3.10=/usr/bin/python3.10)";
		return -1;
	}
	if (eq[1] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		dbm_buf_printf(&p, "%s/", cwd);
	dbm_buf_adds(&p, eq + 1);
	if (access(p.data, X_OK) < 0) {
		dbm_buf_free(&p);
		*why = "no executable at that path";
		return -1;
	}
	js->py = dbm_xrealloc(js->py, (size_t)(js->npy + 1) * sizeof(*js->py));
	js->py[js->npy].key = dbm_xstrdup(key);
	js->py[js->npy].path = dbm_buf_detach(&p);
	js->py[js->npy].minor = -2;	/* not asked yet */
	js->npy++;
	return 0;
}

/* The task's runtime (malloc'd: a spark_version, or serverless:N), or
 * NULL when it has none workspace-emu knows of. */
static char *
task_runtime(struct emu *e, const struct task *t)
{
	char *spec = t->existing ? emu_cluster_spec(e, t->existing) : NULL;
	const char *c = t->cluster_json ? t->cluster_json : spec ? spec :
	    t->env_spec;
	char *v = NULL, *ver;
	struct dbm_json j;
	struct dbm_err je;

	if (c && dbm_json_parse(&j, c, strlen(c), "cluster", &je) == 0) {
		if ((v = dbm_json_strdup(&j, dbm_json_member(&j, 0,
		    "spark_version"))) == NULL && c == t->env_spec &&
		    ((ver = dbm_json_strdup(&j, dbm_json_member(&j, 0,
		    "environment_version"))) != NULL ||
		    (ver = dbm_json_strdup(&j, dbm_json_member(&j, 0,
		    "client"))) != NULL)) {
			struct dbm_buf b = DBM_BUF_INIT;

			dbm_buf_printf(&b, "serverless:%s", ver);
			v = dbm_buf_detach(&b);
			free(ver);
		}
		dbm_json_free(&j);
	}
	free(spec);
	return v;
}

/* The first python3.<minor> on PATH that runs as that Python (a pyenv
 * shim of a version not selected does not), asked once; or NULL.
 * js->pymu held. */
static const char *
on_path(struct jobs *js, int minor)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, out[PATH_MAX];

	if (minor < 0 || minor >= JOBS_PY_MINORS)
		return NULL;
	if (js->onpath[minor])
		return js->onpath[minor][0] ? js->onpath[minor] : NULL;
	copy = dbm_xstrdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, sizeof(out), "%s/python3.%d", dir, minor);
		if (access(out, X_OK) == 0 && probe(out) == minor)
			break;
	}
	js->onpath[minor] = dbm_xstrdup(dir ? out : "");
	free(copy);
	return dir ? js->onpath[minor] : NULL;
}

/* What the task's log says of a runtime rt run on Python 3.<have> at
 * path instead of its 3.<want> (malloc'd). */
static char *
closest_note(const char *rt, int want, int have, const char *path)
{
	struct dbm_buf b = DBM_BUF_INIT;
	char mm[16];

	if (strncmp(rt, "serverless:", 11) == 0)
		dbm_buf_printf(&b, "serverless environment %s", rt + 11);
	else
		dbm_buf_printf(&b, "Databricks Runtime %s", major_minor(rt, mm,
		    sizeof(mm)) == 0 ? mm : rt);
	dbm_buf_printf(&b, " runs Python 3.%d, which workspace-emu does not "
	    "have (give --python-for 3.%d=PATH): running on ", want, want);
	if (have >= 0)
		dbm_buf_printf(&b, "Python 3.%d, the closest (%s)\n", have, path);
	else
		dbm_buf_printf(&b, "%s\n", path);
	return dbm_buf_detach(&b);
}

/* The interpreter for Python 3.<want> (malloc'd): one given for the
 * runtime rt or for that Python, the base if it is that Python, one on
 * PATH; else the closest of those, with *note saying so. js->pymu held. */
static char *
choose(struct jobs *js, const char *rt, int want, char **note)
{
	char mm[16], exact[16];
	const char *paths[JOBS_PY_MINORS + 24], *got = NULL, *p;
	int have[JOBS_PY_MINORS + 24], n = 0, i, k;

	snprintf(exact, sizeof(exact), "3.%d", want);
	if (major_minor(rt, mm, sizeof(mm)) < 0)
		mm[0] = '\0';
	for (i = 0; i < js->npy && got == NULL; i++)
		if (strcmp(js->py[i].key, mm) == 0)
			got = js->py[i].path;
	for (i = 0; i < js->npy && got == NULL; i++)
		if (strcmp(js->py[i].key, exact) == 0)
			got = js->py[i].path;
	if (got == NULL && js->base_minor == -2)
		js->base_minor = probe(js->python);
	if (got == NULL && js->base_minor == want)
		got = js->python;
	if (got == NULL)
		got = on_path(js, want);
	if (got)
		return dbm_xstrdup(got);
	/* none of that Python: the closest there is */
	paths[n] = js->python, have[n++] = js->base_minor;
	for (i = 0; i < js->npy && n < 20; i++) {
		if (js->py[i].minor == -2)
			js->py[i].minor = probe(js->py[i].path);
		paths[n] = js->py[i].path, have[n++] = js->py[i].minor;
	}
	for (k = 6; k < JOBS_PY_MINORS; k++)
		if (k != want && (p = on_path(js, k)) != NULL)
			paths[n] = p, have[n++] = k;
	k = jobs_python_closest(want, have, n);
	got = k >= 0 ? paths[k] : js->python;
	*note = closest_note(rt, want, k >= 0 ? have[k] : -1, got);
	return dbm_xstrdup(got);
}

const char *
jobs_pythons(struct jobs *js)
{
	struct dbm_buf b = DBM_BUF_INIT;
	const char *p;
	int i, k;

	pthread_mutex_lock(&js->pymu);
	if (js->pythons == NULL) {
		if (js->base_minor == -2)
			js->base_minor = probe(js->python);
		for (i = 0; i < js->npy; i++)
			if (js->py[i].minor == -2)
				js->py[i].minor = probe(js->py[i].path);
		for (k = 6; k < JOBS_PY_MINORS; k++) {
			for (i = 0, p = NULL; i < js->npy && p == NULL; i++)
				if (js->py[i].minor == k)
					p = js->py[i].path;
			if (p == NULL && js->base_minor == k)
				p = js->python;
			if (p || (p = on_path(js, k)) != NULL)
				dbm_buf_printf(&b, "%s3.%d=%s", b.len ? ":" : "",
				    k, p);
		}
		js->pythons = b.len ? dbm_buf_detach(&b) : dbm_xstrdup("");
	}
	pthread_mutex_unlock(&js->pymu);
	return js->pythons;
}

const char *
jobs_task_python(struct emu *e, struct task *t)
{
	struct jobs *js = e->jobs;
	char *rt;
	int want;

	if (t->python)
		return t->python;
	rt = task_runtime(e, t);
	if (emu_runtime_python(rt, &want) < 0) {
		t->python = dbm_xstrdup(js->python);	/* a runtime not known */
	} else {
		pthread_mutex_lock(&js->pymu);
		t->python = choose(js, rt, want, &t->python_note);
		pthread_mutex_unlock(&js->pymu);
	}
	free(rt);
	return t->python;
}
