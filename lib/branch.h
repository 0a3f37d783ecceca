/*
 * Branch detection and naming for branch-name.
 *
 * The branch comes from the first source that answers: DBMLOPS_BRANCH, a CI
 * system's variables (pull-request source branch first, full ref names), the
 * git repository read directly from its files (worktrees and GIT_DIR
 * included; git itself is only run for reftable repositories), else a
 * detached HEAD names itself detached-<12 hex>.
 *
 * Slugs use the alphabet [a-z0-9._-], start and end with [a-z0-9], hold no
 * ".." and are at most DBM_SLUG_MAX bytes. A raw name that already has that
 * form is its own slug. Any other name is lowered, every run of other bytes
 * becomes one '-', the result is cut to 51 bytes and "--" plus the first 10
 * hex digits of the SHA-256 of the raw name are appended: distinct names give
 * distinct slugs, and slugging a slug changes nothing.
 */
#ifndef DBM_BRANCH_H
#define DBM_BRANCH_H

#include "buf.h"
#include "err.h"

#define DBM_SLUG_MAX 63
#define DBM_SHORT_SHA 12

struct dbm_branch {
	char *raw;	/* the branch name as found */
	char *slug;
	char *source;	/* "DBMLOPS_BRANCH", "github:GITHUB_HEAD_REF", "git", ... */
	char *sha;	/* full commit id of HEAD, or NULL */
	char *toplevel;	/* work tree root, or NULL outside git */
	char *origin;	/* remote "origin" url, credentials removed, or NULL */
	int detached;
};

typedef const char *(*dbm_getenv_fn)(const char *);

/* Detect from the environment (get, NULL for getenv) and the directory cwd
 * (NULL for "."). Fills b (free with dbm_branch_free). */
int dbm_branch_detect(struct dbm_branch *b, dbm_getenv_fn get,
    const char *cwd, struct dbm_err *e);
void dbm_branch_free(struct dbm_branch *b);

/* The slug of raw (caller frees). */
char *dbm_slug(const char *raw);
/* 1 when s is already a slug. */
int dbm_is_slug(const char *s);

/* Values for --format placeholders; NULL when unknown. */
struct dbm_fmtvars {
	const char *branch, *project, *user, *sha, *build;
};

/*
 * Expand {branch} {project} {user} {sha} {build} in tmpl ("{{" and "}}" are
 * literal braces). Unknown placeholders are a usage error; known ones
 * without a value are an error naming how to set them.
 */
int dbm_format(const char *tmpl, const struct dbm_fmtvars *v,
    struct dbm_buf *out, struct dbm_err *e);

/* Build id from the CI variables, or NULL. */
const char *dbm_ci_build_id(dbm_getenv_fn get);
/* The repository's name from the CI variables (GitHub, Azure Pipelines,
 * GitLab and others; "owner/name" cut to the name), or NULL. */
const char *dbm_ci_project(dbm_getenv_fn get);
/* User name: DBMLOPS_USER, the CI's user, USER, LOGNAME; or NULL. */
const char *dbm_ci_user(dbm_getenv_fn get);

#endif
