/*
 * A cache of file SHA-256 digests, so an unchanged content-addressed upload
 * does not read its files again. An entry holds when path, size, mtime and
 * ctime (ns), inode and device all still match, the test of git's index
 * (ctime too: a content rewrite with its mtime put back is noticed); files
 * changed in the last two seconds are not cached (a write within the same
 * timestamp could go unseen). Kept in
 * ${DBMLOPS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/dbmlops}/sha256; appends and
 * rewrites take one lock (sha256.lock), so parallel runs share it. It stays
 * bounded: once it holds more than 16384 lines it is rewritten with the newest
 * entry of each file that still exists unchanged, the newest 8192 of them
 * (dead paths, as a runner building in a new folder each job leaves, and
 * re-hashes of changed files go). A run reads every line but parses only
 * those of the files it asks about. DBMLOPS_HASH_CACHE=off disables it.
 */
#ifndef DBM_HASHCACHE_H
#define DBM_HASHCACHE_H

#include <stddef.h>
#include <sys/stat.h>

struct dbm_hashcache;

/* The path of cache file name in dbmlops' cache folder (malloc'd), or NULL
 * when caching is off (DBMLOPS_HASH_CACHE=off) or there is no folder. */
char *dbm_cache_file(const char *name);

/* Load the cache's entries for paths (all of them when paths is NULL);
 * NULL when disabled or unusable: callers just hash. */
struct dbm_hashcache *dbm_hashcache_open(char *const *paths, size_t npaths);
/* Copy the cached digest of path (absolute, as the caller names it: no
 * realpath here, one a file would cost more than the lookup) into hex; 0 on
 * a hit. Thread-safe. */
int dbm_hashcache_get(struct dbm_hashcache *c, const char *path,
    const struct stat *st, char hex[65]);
/* Remember a digest computed now. Thread-safe. */
void dbm_hashcache_put(struct dbm_hashcache *c, const char *path,
    const struct stat *st, const char hex[65]);
/* Write new entries and free. */
void dbm_hashcache_close(struct dbm_hashcache *c);

#endif
