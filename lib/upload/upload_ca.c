/*
 * What the upload engine's senders share with it, below both: names,
 * the progress hook, the "already exists" error and the content-addressing
 * state of a run (the hash folders the destination lists, the record of
 * uploads). upload.c and upload_dbfs.c/upload_files.c call down here, so
 * the engine and its senders form no circle.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "progress.h"
#include "remote.h"
#include "uploadrec.h"
#include "upload.h"
#include "upload_int.h"

int
dbm_upload_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *
dbm_upload_base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

void
dbm_upload_on_bytes(void *arg, long long delta)
{
	dbm_progress_bytes(arg, delta);
}

int
dbm_upload_exists(struct dbm_upload *u, struct dbm_upload_file *f,
    struct dbm_err *e)
{
	char *uri = dbm_remote_uri(u->dest.kind, f->remote);

	dbm_errf(e, DBM_E_CONFIG, "%s: already exists (use -f to overwrite)",
	    uri);
	free(uri);
	return -1;
}

/* -c: what the listing and the record say of a file before any request:
 * 2 there (recorded, its hash folder listed), 1 surely not there (no such
 * folder), 0 not known (ask). */
int
dbm_upload_ca_state(struct dbm_upload *u, const struct dbm_upload_file *f)
{
	struct priv *pv = u->priv;
	char dir[DBM_CA_HEX + 1];
	const char *key = dir;
	int listed;

	if (!pv->listed)
		return 0;
	memcpy(dir, f->sha256, DBM_CA_HEX);
	dir[DBM_CA_HEX] = '\0';
	listed = pv->nhashdirs > 0 && bsearch(&key, pv->hashdirs, pv->nhashdirs,
	    sizeof(*pv->hashdirs), dbm_upload_cmp_str) != NULL;
	if (!listed)
		return 1;
	return dbm_uploadrec_has(pv->rec, f->remote, f->size) ? 2 : 0;
}
