/*
 * The record of content-addressed uploads (dbfs-put -c): which files
 * (remote path and size) this machine sent to, or found at, a workspace.
 * With one listing of the destination folder, which shows the hash
 * folders that exist, a file both recorded and listed needs no request at
 * all, so an unchanged tree costs one request however many files it holds.
 * (A file deleted from inside its own hash folder by hand would go
 * unnoticed; the folder's removal is noticed.) Kept beside the digest
 * cache in ${DBMLOPS_CACHE:-~/.cache/dbmlops}/uploads, one line an entry,
 * appended under a lock and trimmed to the newest 20000 lines once twice as
 * long; DBMLOPS_HASH_CACHE=off disables it with the digest cache.
 */
#ifndef DBM_UPLOADREC_H
#define DBM_UPLOADREC_H

struct dbm_uploadrec;

/* The entries of host (NULL when the cache is off). */
struct dbm_uploadrec *dbm_uploadrec_open(const char *host);
/* Whether remote, of size bytes, was sent or found there. */
int dbm_uploadrec_has(struct dbm_uploadrec *r, const char *remote,
    long long size);
/* Remember it (thread-safe; written on close). */
void dbm_uploadrec_add(struct dbm_uploadrec *r, const char *remote,
    long long size);
void dbm_uploadrec_close(struct dbm_uploadrec *r);

#endif
