/*
 * Branch detection and slugs: see branch.h. Git is read from its files:
 * .git (directory, or a file naming the real git dir for worktrees and
 * submodules), commondir, HEAD, loose refs and packed-refs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ini.h>

#include "branch.h"
#include "sha.h"

/* One CI variable: the system, the variable, and what to strip. */
struct civar {
	const char *ci;
	const char *var;
	const char *needs;	/* the variable must be set too, or NULL */
	int strip;		/* 1: refs/heads/ or refs/; 2: origin/ */
};

/* Order matters: a pull request's source branch before the build ref. */
static const struct civar civars[] = {
	{"github", "GITHUB_HEAD_REF", NULL, 0},
	{"github", "GITHUB_REF_NAME", NULL, 0},
	{"github", "GITHUB_REF", NULL, 1},
	{"azure", "SYSTEM_PULLREQUEST_SOURCEBRANCH", NULL, 1},
	{"azure", "BUILD_SOURCEBRANCH", NULL, 1},
	{"gitlab", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", NULL, 0},
	{"gitlab", "CI_COMMIT_BRANCH", NULL, 0},
	{"gitlab", "CI_COMMIT_REF_NAME", NULL, 0},
	{"jenkins", "CHANGE_BRANCH", "JENKINS_URL", 0},
	{"jenkins", "BRANCH_NAME", "JENKINS_URL", 0},
	{"jenkins", "GIT_LOCAL_BRANCH", "JENKINS_URL", 0},
	{"jenkins", "GIT_BRANCH", "JENKINS_URL", 2},
	{"bitbucket", "BITBUCKET_BRANCH", NULL, 0},
	{"bitbucket", "BITBUCKET_TAG", NULL, 0},
	{"circleci", "CIRCLE_BRANCH", NULL, 0},
	{"circleci", "CIRCLE_TAG", NULL, 0},
	{"buildkite", "BUILDKITE_BRANCH", NULL, 0},
	{"buildkite", "BUILDKITE_TAG", NULL, 0},
	{"teamcity", "TEAMCITY_BUILD_BRANCH", NULL, 1},
	{"travis", "TRAVIS_PULL_REQUEST_BRANCH", NULL, 0},
	{"travis", "TRAVIS_BRANCH", NULL, 0},
	{"appveyor", "APPVEYOR_PULL_REQUEST_HEAD_REPO_BRANCH", NULL, 0},
	{"appveyor", "APPVEYOR_REPO_BRANCH", NULL, 0},
	{"drone", "DRONE_SOURCE_BRANCH", NULL, 0},
	{"drone", "DRONE_BRANCH", NULL, 0},
};

static const char *const shavars[] = {
	"DBMLOPS_SHA", "GITHUB_SHA", "BUILD_SOURCEVERSION", "CI_COMMIT_SHA", "GIT_COMMIT",
	"BITBUCKET_COMMIT", "CIRCLE_SHA1", "BUILDKITE_COMMIT", "TRAVIS_COMMIT",
	"APPVEYOR_REPO_COMMIT", "DRONE_COMMIT_SHA", "BUILD_VCS_NUMBER",
};

static const char *const buildvars[] = {
	"DBMLOPS_BUILD_ID", "GITHUB_RUN_ID", "BUILD_BUILDID", "CI_PIPELINE_ID",
	"BITBUCKET_BUILD_NUMBER", "CIRCLE_BUILD_NUM", "BUILDKITE_BUILD_NUMBER",
	"TRAVIS_BUILD_ID", "APPVEYOR_BUILD_ID", "DRONE_BUILD_NUMBER",
	"BUILD_NUMBER",
};

static const char *const uservars[] = {
	"DBMLOPS_USER", "GITHUB_ACTOR", "BUILD_REQUESTEDFOREMAIL",
	"GITLAB_USER_LOGIN", "BUILD_USER_ID", "CIRCLE_USERNAME",
	"BUILDKITE_BUILD_CREATOR", "USER", "LOGNAME",
};

/* The repository's name: "owner/name" values are cut to the name. */
static const char *const projectvars[] = {
	"GITHUB_REPOSITORY", "BUILD_REPOSITORY_NAME", "CI_PROJECT_NAME",
	"BITBUCKET_REPO_SLUG", "CIRCLE_PROJECT_REPONAME",
	"TRAVIS_REPO_SLUG", "APPVEYOR_REPO_NAME", "DRONE_REPO_NAME",
};

static const char *
plain_getenv(const char *name)
{
	return getenv(name);
}

static const char *
env(dbm_getenv_fn get, const char *name)
{
	const char *v = get(name);

	return v && *v ? v : NULL;
}

static const char *
first_env(dbm_getenv_fn get, const char *const *names, size_t n)
{
	size_t i;
	const char *v;

	if (get == NULL)
		get = plain_getenv;
	for (i = 0; i < n; i++)
		if ((v = env(get, names[i])) != NULL)
			return v;
	return NULL;
}

const char *
dbm_ci_build_id(dbm_getenv_fn get)
{
	return first_env(get, buildvars, sizeof(buildvars) / sizeof(*buildvars));
}

const char *
dbm_ci_project(dbm_getenv_fn get)
{
	const char *v, *s;

	if ((v = first_env(get, projectvars,
	    sizeof(projectvars) / sizeof(*projectvars))) == NULL)
		return NULL;
	s = strrchr(v, '/');
	return s == NULL ? v : s[1] ? s + 1 : NULL;
}

const char *
dbm_ci_user(dbm_getenv_fn get)
{
	return first_env(get, uservars, sizeof(uservars) / sizeof(*uservars));
}

static int
isalnum_lc(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
ishex_lc(unsigned char c)
{
	return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

/* A slug without the hash suffix: alphabet, ends, no "..", no "--". */
static int
plain_slug(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > DBM_SLUG_MAX)
		return 0;
	if (!isalnum_lc((unsigned char)s[0]) ||
	    !isalnum_lc((unsigned char)s[n - 1]))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum_lc(c) && c != '.' && c != '_' && c != '-')
			return 0;
		if (i > 0 && (c == '.' || c == '-') && s[i - 1] == (char)c)
			return 0;
	}
	return 1;
}

int
dbm_is_slug(const char *s)
{
	size_t n = strlen(s), i;
	const char *dd;

	if (n > DBM_SLUG_MAX)
		return 0;
	dd = strstr(s, "--");
	if (dd == NULL)
		return plain_slug(s, n);
	/* <plain>--<10 hex>, the form dbm_slug() makes */
	if (strlen(dd + 2) != 10)
		return 0;
	for (i = 0; i < 10; i++)
		if (!ishex_lc((unsigned char)dd[2 + i]))
			return 0;
	return plain_slug(s, (size_t)(dd - s));
}

char *
dbm_slug(const char *raw)
{
	char hex[65];
	struct dbm_buf b = DBM_BUF_INIT;
	const unsigned char *p;
	size_t max = DBM_SLUG_MAX - 2 - 10;

	if (dbm_is_slug(raw))
		return dbm_xstrdup(raw);
	for (p = (const unsigned char *)raw; *p; p++) {
		unsigned char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (isalnum_lc(c))
			dbm_buf_addc(&b, (char)c);
		else if (b.len > 0 && b.data[b.len - 1] != '-')
			dbm_buf_addc(&b, '-');
	}
	if (b.len > max)
		b.len = max;
	while (b.len > 0 && b.data[b.len - 1] == '-')
		b.len--;
	if (b.len == 0)
		dbm_buf_adds(&b, "branch");
	b.data[b.len] = '\0';
	dbm_sha256_hex(raw, strlen(raw), hex);
	dbm_buf_printf(&b, "--%.10s", hex);
	return dbm_buf_detach(&b);
}

/* Read a small file whole, without the trailing newline. NULL on error. */
/* open(2) of a regular file only: a FIFO or a device planted in .git
 * must not hang or feed us (O_NONBLOCK for the open, then cleared). */
static int
open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static FILE *
fopen_regular(const char *path)
{
	int fd = open_regular(path);
	FILE *f;

	if (fd < 0)
		return NULL;
	if ((f = fdopen(fd, "r")) == NULL)
		close(fd);
	return f;
}

static char *
slurp(const char *path)
{
	char buf[4096];
	int fd;
	ssize_t n;
	size_t len = 0;

	if ((fd = open_regular(path)) < 0)
		return NULL;
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	return dbm_xstrndup(buf, len);
}

static char *
join(const char *dir, const char *rel)
{
	struct dbm_buf b = DBM_BUF_INIT;

	if (rel[0] == '/')
		return dbm_xstrdup(rel);
	dbm_buf_printf(&b, "%s/%s", dir, rel);
	return dbm_buf_detach(&b);
}

static int
is_sha(const char *s)
{
	size_t n = strlen(s), i;

	if (n != 40 && n != 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!ishex_lc((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Resolve refname (refs/heads/x) to a commit id in the common git dir. */
static char *
resolve_ref(const char *common, const char *ref)
{
	char *path = join(common, ref), *v, line[1024];
	FILE *f;
	size_t rl = strlen(ref);

	v = slurp(path);
	free(path);
	if (v && is_sha(v))
		return v;
	free(v);
	path = join(common, "packed-refs");
	f = fopen_regular(path);
	free(path);
	if (f == NULL)
		return NULL;
	v = NULL;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		size_t n;

		if (line[0] == '#' || line[0] == '^' || sp == NULL)
			continue;
		n = strcspn(sp + 1, "\r\n");
		if (n == rl && memcmp(sp + 1, ref, rl) == 0) {
			*sp = '\0';
			if (is_sha(line))
				v = dbm_xstrdup(line);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Find the git dir from cwd upwards (or GIT_DIR); fills gitdir and top. */
static int
find_gitdir(dbm_getenv_fn get, const char *cwd, char **gitdir, char **top)
{
	char dir[PATH_MAX], *p, *dotgit, *v;
	struct stat st;
	const char *gd = env(get, "GIT_DIR");

	*gitdir = *top = NULL;
	if (realpath(cwd, dir) == NULL)
		return -1;
	if (gd) {
		*gitdir = join(dir, gd);
		v = (char *)env(get, "GIT_WORK_TREE");
		*top = v ? join(dir, v) : dbm_xstrdup(dir);
		return 0;
	}
	for (;;) {
		dotgit = join(dir, ".git");
		if (stat(dotgit, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				*gitdir = dotgit;
				*top = dbm_xstrdup(dir);
				return 0;
			}
			v = slurp(dotgit);
			if (v && strncmp(v, "gitdir: ", 8) == 0) {
				*gitdir = join(dir, v + 8);
				*top = dbm_xstrdup(dir);
				free(v);
				free(dotgit);
				return 0;
			}
			free(v);
		}
		free(dotgit);
		p = strrchr(dir, '/');
		if (p == NULL || p == dir)
			break;
		*p = '\0';
	}
	/* the root directory itself */
	if (stat("/.git", &st) == 0 && S_ISDIR(st.st_mode)) {
		*gitdir = dbm_xstrdup("/.git");
		*top = dbm_xstrdup("/");
		return 0;
	}
	return -1;
}

/* Reftable repositories have no HEAD file to read: ask git. */
static char *
git_symbolic_ref(const char *gitdir)
{
	int fd[2];
	pid_t pid;
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	int st;

	if (pipe(fd) < 0)
		return NULL;
	if ((pid = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		return NULL;
	}
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);

		dup2(fd[1], 1);
		if (dn >= 0)
			dup2(dn, 2);
		close(fd[0]);
		execlp("git", "git", "--git-dir", gitdir, "symbolic-ref", "-q",
		    "HEAD", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	close(fd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return NULL;
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	return dbm_xstrndup(buf, len);
}

static int
on_config(void *user, const char *section, const char *key, const char *value)
{
	char **url = user;

	if (strcmp(section, "remote \"origin\"") == 0 &&
	    strcmp(key, "url") == 0 && value && *url == NULL)
		*url = dbm_xstrdup(value);
	return 1;
}

/* The origin's URL without user:password@ (a token must not travel). */
static char *
origin_url(const char *common)
{
	char *cfg = join(common, "config"), *url = NULL, *at, *scheme;

	{
		FILE *f = fopen_regular(cfg);

		if (f) {
			ini_parse_file(f, on_config, &url);
			fclose(f);
		}
	}
	free(cfg);
	if (url && (scheme = strstr(url, "://")) != NULL &&
	    (at = strchr(scheme + 3, '@')) != NULL &&
	    (strchr(scheme + 3, '/') == NULL || at < strchr(scheme + 3, '/')))
		memmove(scheme + 3, at + 1, strlen(at + 1) + 1);
	return url;
}

static int
from_git(struct dbm_branch *b, dbm_getenv_fn get, const char *cwd,
    struct dbm_err *e)
{
	char *gitdir, *top, *head = NULL, *cd, *common = NULL, *ref = NULL;
	int rc = -1;

	if (find_gitdir(get, cwd, &gitdir, &top) < 0)
		return 0;	/* not in a repository: no answer */
	head = join(gitdir, "HEAD");
	ref = slurp(head);
	if (ref == NULL) {
		dbm_err_sys(e, "%s", head);
		goto out;
	}
	cd = join(gitdir, "commondir");
	common = slurp(cd);
	free(cd);
	if (common) {
		cd = join(gitdir, common);
		free(common);
		common = cd;
	} else {
		common = dbm_xstrdup(gitdir);
	}
	b->toplevel = top;
	top = NULL;
	b->origin = origin_url(common);
	if (strncmp(ref, "ref: ", 5) == 0) {
		const char *name = ref + 5;
		char *sym = NULL;

		if (strcmp(name, "refs/heads/.invalid") == 0 &&
		    (sym = git_symbolic_ref(gitdir)) != NULL)
			name = sym;
		b->sha = resolve_ref(common, name);
		b->raw = dbm_xstrdup(strncmp(name, "refs/heads/", 11) == 0 ?
		    name + 11 : name);
		b->source = dbm_xstrdup("git");
		free(sym);
	} else if (is_sha(ref)) {
		struct dbm_buf nb = DBM_BUF_INIT;

		dbm_buf_printf(&nb, "detached-%.*s", DBM_SHORT_SHA, ref);
		b->raw = dbm_buf_detach(&nb);
		b->sha = dbm_xstrdup(ref);
		b->detached = 1;
		b->source = dbm_xstrdup("git:detached");
	} else {
		dbm_err_input(e, head, 1, 1, "not a git HEAD");
		goto out;
	}
	rc = 1;
out:
	if (rc < 0) {		/* the caller keeps nothing of a failure */
		free(b->toplevel);
		free(b->origin);
		b->toplevel = b->origin = NULL;
	}
	free(head);
	free(ref);
	free(common);
	free(gitdir);
	free(top);
	return rc;
}

static char *
strip_ref(const char *v, int how)
{
	if (how == 1 && strncmp(v, "refs/heads/", 11) == 0)
		return dbm_xstrdup(v + 11);
	if (how == 1 && strncmp(v, "refs/", 5) == 0)
		return dbm_xstrdup(v + 5);
	if (how == 2 && strncmp(v, "origin/", 7) == 0)
		return dbm_xstrdup(v + 7);
	return dbm_xstrdup(v);
}

int
dbm_branch_detect(struct dbm_branch *b, dbm_getenv_fn get, const char *cwd,
    struct dbm_err *e)
{
	const char *v;
	size_t i;
	int rc;

	memset(b, 0, sizeof(*b));
	if (get == NULL)
		get = plain_getenv;
	if (cwd == NULL)
		cwd = ".";
	/* git first only for the sha and toplevel; its branch comes last */
	rc = from_git(b, get, cwd, e);
	if (rc < 0)
		return -1;
	if ((v = env(get, "DBMLOPS_BRANCH")) != NULL) {
		free(b->raw);
		free(b->source);
		b->raw = dbm_xstrdup(v);
		b->source = dbm_xstrdup("DBMLOPS_BRANCH");
		b->detached = 0;
		goto found;
	}
	for (i = 0; i < sizeof(civars) / sizeof(*civars); i++) {
		const struct civar *c = &civars[i];
		struct dbm_buf s = DBM_BUF_INIT;

		if ((v = env(get, c->var)) == NULL)
			continue;
		if (c->needs && env(get, c->needs) == NULL)
			continue;
		free(b->raw);
		free(b->source);
		b->raw = strip_ref(v, c->strip);
		dbm_buf_printf(&s, "%s:%s", c->ci, c->var);
		b->source = dbm_buf_detach(&s);
		b->detached = 0;
		goto found;
	}
	if (b->raw == NULL) {
		dbm_branch_free(b);
		return dbm_errf(e, DBM_E_USAGE, "no branch found: not in a git "
		    "repository and no CI branch variable set (set "
		    "DBMLOPS_BRANCH to name one)");
	}
found:
	if (b->sha == NULL && (v = first_env(get, shavars,
	    sizeof(shavars) / sizeof(*shavars))) != NULL)
		b->sha = dbm_xstrdup(v);
	b->slug = dbm_slug(b->raw);
	return 0;
}

void
dbm_branch_free(struct dbm_branch *b)
{
	free(b->raw);
	free(b->slug);
	free(b->source);
	free(b->sha);
	free(b->toplevel);
	free(b->origin);
	memset(b, 0, sizeof(*b));
}

int
dbm_format(const char *tmpl, const struct dbm_fmtvars *v, struct dbm_buf *out,
    struct dbm_err *e)
{
	static const struct {
		const char *name, *hint;
		size_t off;
	} ph[] = {
		{"branch", "", offsetof(struct dbm_fmtvars, branch)},
		{"project", "pass --project or set DBMLOPS_PROJECT",
		    offsetof(struct dbm_fmtvars, project)},
		{"user", "set DBMLOPS_USER", offsetof(struct dbm_fmtvars, user)},
		{"sha", "run in a git checkout or set DBMLOPS_SHA",
		    offsetof(struct dbm_fmtvars, sha)},
		{"build", "no CI build id found; set DBMLOPS_BUILD_ID", offsetof(struct dbm_fmtvars, build)},
	};
	const char *p = tmpl, *close;
	size_t i, n;

	while (*p) {
		if (p[0] == '{' && p[1] == '{') {
			dbm_buf_addc(out, '{');
			p += 2;
			continue;
		}
		if (p[0] == '}' && p[1] == '}') {
			dbm_buf_addc(out, '}');
			p += 2;
			continue;
		}
		if (*p == '}')
			return dbm_errf(e, DBM_E_USAGE, "format '%s': single "
			    "'}' (write '}}' for a brace)", tmpl);
		if (*p != '{') {
			dbm_buf_addc(out, *p++);
			continue;
		}
		close = strchr(p, '}');
		if (close == NULL)
			return dbm_errf(e, DBM_E_USAGE, "format '%s': '{' "
			    "without '}'", tmpl);
		n = (size_t)(close - p - 1);
		for (i = 0; i < sizeof(ph) / sizeof(*ph); i++) {
			const char *val;

			if (strlen(ph[i].name) != n ||
			    memcmp(ph[i].name, p + 1, n) != 0)
				continue;
			val = *(const char *const *)((const char *)v +
			    ph[i].off);
			if (val == NULL)
				return dbm_errf(e, DBM_E_CONFIG, "format '%s': "
				    "no value for {%s}: %s", tmpl,
				    ph[i].name, ph[i].hint);
			dbm_buf_adds(out, val);
			break;
		}
		if (i == sizeof(ph) / sizeof(*ph))
			return dbm_errf(e, DBM_E_USAGE, "format '%s': unknown "
			    "placeholder {%.*s} (known: {branch} {project} "
			    "{user} {sha} {build})", tmpl, (int)n, p + 1);
		p = close + 1;
	}
	return 0;
}
