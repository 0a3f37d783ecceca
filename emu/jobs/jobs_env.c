/*
 * workspace-emu jobs: cluster environments. Environments are venvs without
 * pip layered with .pth files: the job's libraries live in a cluster
 * environment cached by content under jobs/envs/ (never changed once
 * built), and each task run has a thin environment of its own on top for
 * what the task installs itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "api.h"
#include "jobs_int.h"
#include "sha.h"

/* The libraries a task's environment has: its own; on an existing
 * cluster, what is installed there once the task's are (PROTOCOL.md
 * section 17). malloc'd JSON array. */
static char *
task_libraries(struct emu *e, const struct task *t)
{
	return t->existing ? emu_cluster_run_libraries(e, t->existing,
	    t->libraries) : dbm_xstrdup(t->libraries);
}

/* Hash the bytes of a local file the library spec names, if any. */
static void
hash_library_file(struct emu *e, const struct task *t, struct dbm_sha256 *s,
    const char *spec)
{
	char *f = jobs_map_paths(e, t->dir, spec);
	char buf[65536];
	ssize_t r;
	int fd = open(f, O_RDONLY | O_CLOEXEC);

	while (fd >= 0 && (r = read(fd, buf, sizeof(buf))) > 0)
		dbm_sha256_update(s, buf, (size_t)r);
	if (fd >= 0)
		close(fd);
	free(f);
}

/* The environment's key, 20 hex digits: interpreter, library specs, and
 * the bytes of local files. */
static void
env_key(struct emu *e, struct task *t, const char *libs, char hex[65])
{
	struct dbm_sha256 s;
	unsigned char md[DBM_SHA256_LEN];
	struct dbm_json j;
	struct dbm_err je;
	int i, n, lib;
	char *w;
	const char *py;

	dbm_sha256_init(&s);
	py = jobs_task_python(e, t);
	dbm_sha256_update(&s, py, strlen(py) + 1);
	dbm_sha256_update(&s, libs, strlen(libs) + 1);
	if (dbm_json_parse(&j, libs, strlen(libs), "libraries", &je) == 0) {
		n = dbm_json_count(&j, 0);
		for (i = 0; i < n; i++) {
			lib = dbm_json_elem(&j, 0, i);
			w = dbm_json_strdup(&j, dbm_json_member(&j, lib, "whl"));
			if (w == NULL)
				w = dbm_json_strdup(&j, dbm_json_path(&j, lib,
				    "pypi.package"));
			if (w == NULL)
				w = dbm_json_strdup(&j, dbm_json_member(&j, lib,
				    "requirement_line"));
			if (w)
				hash_library_file(e, t, &s, w);
			free(w);
		}
		dbm_json_free(&j);
	}
	dbm_sha256_final(&s, md);
	dbm_hex(md, 10, hex);
}

/* Why making an environment failed (malloc'd): what, and the full disk
 * when the data directory has less than a MiB left. */
static char *
env_error(struct emu *e, const char *what)
{
	struct statvfs fs;
	struct dbm_buf b = DBM_BUF_INIT;

	dbm_buf_adds(&b, what);
	if (statvfs(e->datadir, &fs) == 0 &&
	    (unsigned long long)fs.f_bavail * fs.f_frsize < (1ULL << 20))
		dbm_buf_adds(&b, ": No space left on device (the workspace's "
		    "storage is full)");
	return dbm_buf_detach(&b);
}

/* Create the environment in dir and install libs there: 0, or -1 (-3
 * when the helper says the failure is the user's) with *err set. */
static int
build_env(struct emu *e, struct task *t, const char *dir, const char *libs,
    char **err)
{
	struct dbm_buf spec = DBM_BUF_INIT;
	const char *mk[] = {"mkenv", dir, NULL};
	const char *li[] = {"libraries", dir, NULL, NULL};
	int fd, r;

	store_remove_tree(dir);
	if (jobs_helper(e, t, mk) != 0) {
		*err = env_error(e, "cannot create the cluster's Python "
		    "environment");
		return -1;
	}
	dbm_buf_printf(&spec, "%s/libraries.json", t->dir);
	fd = open(spec.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, libs, strlen(libs)) < 0) {
		if (fd >= 0)
			close(fd);
		dbm_buf_free(&spec);
		*err = dbm_xstrdup("cannot write the task's library list");
		return -1;
	}
	close(fd);
	li[2] = spec.data;
	r = jobs_helper(e, t, li);
	dbm_buf_free(&spec);
	if (r != 0) {
		dbm_buf_printf(&spec, "%s/setup.log", t->dir);
		*err = jobs_last_line(spec.data);
		dbm_buf_free(&spec);
		store_remove_tree(dir);
		return r == 3 ? -3 : -1;
	}
	return 0;
}

/* The site-packages folder of the environment in dir, or NULL. */
static char *
site_packages(const char *dir)
{
	struct dbm_buf p = DBM_BUF_INIT, q = DBM_BUF_INIT;
	char **names;
	int k;

	dbm_buf_printf(&p, "%s/lib", dir);
	names = store_list(p.data, &k);
	if (names && k > 0)
		dbm_buf_printf(&q, "%s/%s/site-packages", p.data, names[0]);
	store_names_free(names);
	dbm_buf_free(&p);
	return q.len ? dbm_buf_detach(&q) : NULL;
}

int
jobs_cluster_env(struct emu *e, struct task *t, char **site, char **err)
{
	char hex[65];
	struct dbm_buf dir = DBM_BUF_INIT, p = DBM_BUF_INIT;
	int fd, lock, rc = -1;
	struct stat st;
	char *libs = task_libraries(e, t);

	env_key(e, t, libs, hex);
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
		if ((rc = build_env(e, t, dir.data, libs, err)) < 0)
			goto out;
		rc = -1;
		if ((fd = open(p.data, O_WRONLY | O_CREAT | O_CLOEXEC,
		    0644)) >= 0)
			close(fd);
	}
	if ((*site = site_packages(dir.data)) == NULL) {
		*err = dbm_xstrdup("the cached environment is broken");
		goto out;
	}
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	dbm_buf_free(&dir);
	dbm_buf_free(&p);
	free(libs);
	return rc;
}

/* Add the members of JSON object obj (name: value) to env, paths mapped;
 * with err, {{secrets/...}} references resolved, and on one that does not
 * resolve *err set (the rest are still added). */
char **
jobs_env_object(struct emu *e, struct task *t, const struct dbm_json *j, int obj,
    char **env, int *n, char **err)
{
	int k, i, a;

	if (dbm_json_type(j, obj) != DBM_JSON_OBJECT)
		return env;
	k = dbm_json_count(j, obj);
	a = obj + 1;
	for (i = 0; i < k; i++) {
		char *name = dbm_json_strdup(j, a);
		char *val = dbm_json_strdup(j, a + 1), *why = NULL, *sv = NULL;
		char *m;

		if (err && val && (sv = emu_secrets_resolve(e, val, &why)) ==
		    NULL && *err == NULL)
			*err = why;
		else
			free(why);
		m = jobs_map_paths(e, t->dir, sv ? sv : val ? val : "");
		if (name)
			env = jobs_env_add(env, n, name, m);
		if (sv)
			memset(sv, 0, strlen(sv));
		free(sv);
		free(name);
		free(val);
		free(m);
		a = dbm_json_skip(j, a + 1);
	}
	return env;
}

/* Cluster spark_env_vars (the new cluster's, or the existing one's) go
 * into the task's environment too, their
 * secret references resolved (PROTOCOL.md section 16): -1 with *err when
 * one does not. */
int
jobs_cluster_env_vars(struct emu *e, struct task *t, char ***envp, int *nenv,
    char **err)
{
	struct dbm_json j;
	struct dbm_err je;
	int ev;
	char *spec = t->cluster_json ? NULL : t->existing ?
	    emu_cluster_spec(e, t->existing) : NULL;
	const char *c = t->cluster_json ? t->cluster_json : spec;

	*err = NULL;
	if (c == NULL || dbm_json_parse(&j, c, strlen(c), "new_cluster", &je) <
	    0) {
		free(spec);
		return 0;
	}
	ev = dbm_json_member(&j, 0, "spark_env_vars");
	*envp = jobs_env_object(e, t, &j, ev, *envp, nenv, err);
	dbm_json_free(&j);
	free(spec);
	return *err ? -1 : 0;
}

/* The task's Python environment in venv: its libraries installed (by
 * content, once), the venv over them. 0, or -1 with the task ended. */
int
jobs_task_venv(struct emu *e, struct task *t, const char *venv)
{
	char *site = NULL, *err = NULL;
	int rc = jobs_cluster_env(e, t, &site, &err);

	if (rc == -3) {
		struct dbm_buf m = DBM_BUF_INIT;

		dbm_buf_printf(&m, "Library installation failed for library due "
		    "to user error. Error messages: %s", err ? err : "");
		if (t->existing)
			emu_cluster_libs_failed(e, t->existing, err);
		jobs_finish(e, t, LIFE_INTERNAL_ERROR, "FAILED",
		    "LIBRARY_INSTALLATION_ERROR", "CLIENT_ERROR", m.data);
		dbm_buf_free(&m);
	} else if (rc < 0) {
		jobs_finish(e, t, LIFE_INTERNAL_ERROR, "FAILED", "INTERNAL_ERROR",
		    "INTERNAL_ERROR", err ? err : "cluster setup failed");
	} else {
		const char *mk[] = {"mkenv", venv, site, NULL};

		if ((rc = jobs_helper(e, t, mk)) != 0) {
			char *why = env_error(e, "cannot create the task's "
			    "Python environment");

			jobs_finish(e, t, LIFE_INTERNAL_ERROR, "FAILED",
			    "INTERNAL_ERROR", "INTERNAL_ERROR", why);
			free(why);
		}
	}
	free(site);
	free(err);
	return rc == 0 ? 0 : -1;
}

/* The cluster's spark_env_vars into env; -1 with the task ended when a
 * secret reference does not resolve (the cluster does not start). */
int
jobs_task_env_vars(struct emu *e, struct task *t, char ***env, int *nenv)
{
	char *err = NULL;
	struct dbm_buf m = DBM_BUF_INIT;

	if (jobs_cluster_env_vars(e, t, env, nenv, &err) == 0)
		return 0;
	dbm_buf_printf(&m, "Cluster failed to start: SECRET_RESOLUTION_ERROR: "
	    "%s", err);
	jobs_finish(e, t, LIFE_INTERNAL_ERROR, "FAILED", "CLUSTER_ERROR",
	    "CLIENT_ERROR", m.data);
	dbm_buf_free(&m);
	free(err);
	return -1;
}
