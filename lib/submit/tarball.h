/*
 * Deterministic project tarballs (libarchive): entries under one top folder,
 * sorted by path, mtime 0, owner 0/0 with no names, modes 0644/0755, any
 * entry named mlruns or .git left out, gzip without a timestamp. The same
 * tree gives the same bytes on any machine, so its SHA-256 names it.
 */
#ifndef DBM_TARBALL_H
#define DBM_TARBALL_H

#include "err.h"

/* Write dir as top/... to the file out; sha256 hex of the result in hex. */
int dbm_tarball(const char *dir, const char *top, const char *out,
    char hex[65], struct dbm_err *e);

#endif
