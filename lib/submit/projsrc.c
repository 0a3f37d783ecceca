/* Project sources: see projsrc.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "projsrc.h"

void
dbm_url_strip_userinfo(char *url)
{
	char *scheme, *at, *slash;

	if ((scheme = strstr(url, "://")) == NULL)
		return;
	scheme += 3;
	slash = strchr(scheme, '/');
	if ((at = strchr(scheme, '@')) != NULL && (slash == NULL || at < slash))
		memmove(scheme, at + 1, strlen(at + 1) + 1);
}

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Run git with args (NULL-terminated) in dir; its output goes to stderr,
 * it never prompts. Returns its exit status, or -1. */
static int
git(const char *dir, const char *const *args)
{
	const char *argv[16];
	pid_t pid;
	int st, n = 0;

	argv[n++] = "git";
	argv[n++] = "-c";
	argv[n++] = "advice.detachedHead=false";
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(2, 1);
		if (dir && chdir(dir) < 0)
			_exit(126);
		setenv("GIT_TERMINAL_PROMPT", "0", 1);
		execvp("git", (char *const *)argv);
		dbm_say(DBM_SAY_ERROR, "%s: git: %s\n", dbm_prog(), strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A file:// URI's path (host part kept, as MLflow joins netloc and path),
 * or the string itself. */
static char *
file_path(const char *uri)
{
	if (strncmp(uri, "file://", 7) == 0 && uri[7])
		return dbm_xstrdup(uri + 7);
	return dbm_xstrdup(uri);
}

/* Whether dir/name exists. */
static int
has(const char *dir, const char *name)
{
	struct dbm_buf p = DBM_BUF_INIT;
	int r;

	dbm_buf_printf(&p, "%s/%s", dir, name);
	r = access(p.data, F_OK) == 0;
	dbm_buf_free(&p);
	return r;
}

/* A bare git repository (what `git init --bare` and `git clone --bare`
 * make): HEAD, objects and refs, and no work tree. */
static int
is_bare(const char *dir)
{
	return !has(dir, ".git") && has(dir, "HEAD") && has(dir, "objects") &&
	    has(dir, "refs");
}

static int
clone(struct dbm_projsrc *s, const char *from, const char *version,
    struct dbm_err *e)
{
	char tmp[] = "/tmp/mlflow-submit-src.XXXXXX";
	struct dbm_buf dst = DBM_BUF_INIT;
	int rc;

	if (mkdtemp(tmp) == NULL)
		return dbm_err_sys(e, "mkdtemp");
	s->tmp = dbm_xstrdup(tmp);
	s->cloned = 1;
	dbm_buf_printf(&dst, "%s/repo", tmp);
	dbm_say(DBM_SAY_NOTE, "%s: fetching %s%s%s\n", dbm_prog(), s->repo,
	    version ? " at " : "", version ? version : "");
	{
		const char *a[] = {"clone", "--quiet", "--recurse-submodules",
		    "--", from, dst.data, NULL};

		rc = git(NULL, a);
	}
	if (rc != 0) {
		dbm_buf_free(&dst);
		return dbm_errf(e, DBM_E_USAGE, "%s: cannot clone the git "
		    "repository (git exited %d)", s->repo, rc);
	}
	if (version) {
		const char *co[] = {"checkout", "--quiet", version, "--", NULL};
		const char *sm[] = {"submodule", "--quiet", "update", "--init",
		    "--recursive", NULL};

		if (git(dst.data, co) != 0 || git(dst.data, sm) != 0) {
			dbm_buf_free(&dst);
			return dbm_errf(e, DBM_E_USAGE, "%s: cannot check out "
			    "version '%s': make sure it is a commit, branch or "
			    "tag of the repository", s->repo, version);
		}
	}
	s->dir = dbm_buf_detach(&dst);
	return 0;
}

int
dbm_projsrc_open(const char *uri, const char *version, struct dbm_projsrc *s,
    struct dbm_err *e)
{
	char *u, *hash, *base, *path;
	size_t n;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	/* quotes around the URI are stripped, as MLflow does */
	u = dbm_xstrdup(uri);
	n = strlen(u);
	while (n > 0 && (u[n - 1] == '\'' || u[n - 1] == '"'))
		u[--n] = '\0';
	memmove(u, u + strspn(u, "'\""), strlen(u + strspn(u, "'\"")) + 1);
	s->uri = u;
	s->repo = dbm_xstrdup(u);
	if ((hash = strchr(s->repo, '#')) != NULL)
		*hash++ = '\0';
	s->subdir = dbm_xstrdup(hash ? hash : "");
	if (strchr(s->subdir, '.'))
		return dbm_errf(e, DBM_E_USAGE, "%s: '.' is not allowed in "
		    "project subdirectory paths (as in mlflow run)", uri);
	dbm_url_strip_userinfo(s->repo);
	base = dbm_xstrndup(u, strcspn(u, "#"));
	path = file_path(base);
	if (is_dir(path) && (version || is_bare(path))) {
		/* a bare repository is cloned at its HEAD, or at -v */
		if (!has(path, ".git") && !is_bare(path)) {
			dbm_errf(e, DBM_E_USAGE, "%s: a version (-v) is only for "
			    "git projects, and this directory is not a git "
			    "repository", path);
			goto out;
		}
		if (clone(s, path, version, e) < 0)
			goto out;
	} else if (is_dir(path)) {
		s->dir = dbm_xstrdup(path);
	} else if (strstr(s->repo, "://") || strchr(s->repo, '@')) {
		if (clone(s, base, version, e) < 0)
			goto out;
	} else {
		dbm_errf(e, DBM_E_USAGE, "%s: no such project directory (a "
		    "project is a directory, a file:// URI or a git URI)", path);
		goto out;
	}
	if (*s->subdir) {
		struct dbm_buf d = DBM_BUF_INIT;

		dbm_buf_printf(&d, "%s/%s", s->dir, s->subdir);
		free(s->dir);
		s->dir = dbm_buf_detach(&d);
		if (!is_dir(s->dir)) {
			dbm_errf(e, DBM_E_USAGE, "%s: no subdirectory '%s' in "
			    "the project", s->repo, s->subdir);
			goto out;
		}
	}
	rc = 0;
out:
	free(base);
	free(path);
	return rc;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* rm -rf of a clone this process made (symlinks are not followed). */
static void
remove_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
dbm_projsrc_free(struct dbm_projsrc *s)
{
	if (s->tmp)
		remove_tree(s->tmp);
	free(s->tmp);
	free(s->dir);
	free(s->uri);
	free(s->repo);
	free(s->subdir);
	memset(s, 0, sizeof(*s));
}
