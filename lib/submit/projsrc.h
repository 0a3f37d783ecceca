/*
 * Where an MLflow project comes from, read as `mlflow run` reads its URI
 * (PROTOCOL.md section 12): a local directory or a file:// URI, else a git
 * repository (https, ssh, git@host:path, file://) cloned with git into a
 * temporary directory; "#subdir" names a project inside it, and a version
 * (commit, branch or tag, `-v`) is checked out in a clone, never in the
 * user's own work tree.
 */
#ifndef DBM_PROJSRC_H
#define DBM_PROJSRC_H

#include "err.h"

struct dbm_projsrc {
	char *dir;		/* the project directory on this machine */
	char *uri;		/* the URI as given, quotes stripped */
	char *repo;		/* a clone's repository URI, credentials removed */
	char *subdir;		/* the #subdir, or "" */
	int cloned;		/* dir is in a temporary clone */
	char *tmp;		/* that clone, removed by dbm_projsrc_free */
};

/* Find or fetch the project of uri at version (NULL: as it is, or the
 * repository's default branch). Progress and git's own errors go to
 * stderr. */
int dbm_projsrc_open(const char *uri, const char *version,
    struct dbm_projsrc *s, struct dbm_err *e);
void dbm_projsrc_free(struct dbm_projsrc *s);

/* Remove user:password@ from a URL's authority, in place (a token must
 * not travel into tags or messages). */
void dbm_url_strip_userinfo(char *url);

#endif
