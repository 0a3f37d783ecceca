/*
 * The release this build is, from the VERSION file, and the commit it
 * was built from (git, or the release tarball's COMMIT file); both are
 * written into one generated header by the Makefile, so that a new
 * commit rebuilds one object.
 */
#ifndef DBM_VERSION_H
#define DBM_VERSION_H

/* "0.2.0" */
const char *dbm_version(void);

/* Print "prog 0.2.0 (commit 1a2b3c4d5e6f)" on stdout, or "prog 0.2.0"
 * when the commit is unknown: the --version line of every tool. */
void dbm_print_version(const char *prog);

#endif
