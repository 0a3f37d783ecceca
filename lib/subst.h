/*
 * Structure-aware placeholder substitution for wheelpath-subst.
 *
 * The file is parsed (libyaml events with their marks, jsmn tokens, or
 * requirement lines) to find the scalars that hold the placeholder token;
 * in each, the whitespace-delimited word holding the token is replaced by a
 * wheel's path, escaped for the scalar's quoting style. Every other byte is
 * kept. The path form follows the place: URIs (dbfs:/...) under a
 * "whl", "jar" or "egg" key (libraries[].whl), POSIX paths (/dbfs/...)
 * everywhere else (pip requirement lines, pypi.package).
 *
 * Placeholders: TOKEN names the only wheel; TOKEN:dist names a wheel by its
 * distribution (PEP 427 file name, PEP 503 normalised comparison).
 */
#ifndef DBM_SUBST_H
#define DBM_SUBST_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

enum dbm_subst_type {
	DBM_SUBST_AUTO,
	DBM_SUBST_YAML,
	DBM_SUBST_JSON,
	DBM_SUBST_REQS,
};

struct dbm_wheel {
	char *uri;	/* dbfs:/x/a.whl, /Volumes/..., /Workspace/... */
	char *posix;	/* /dbfs/x/a.whl, /Volumes/..., /Workspace/... */
	char *file;	/* a-1.0-py3-none-any.whl */
	char *dist;	/* PEP 503 normalised distribution name */
};

struct dbm_wheels {
	struct dbm_wheel *w;
	size_t n;
};

/* Add a wheel by remote path (any form). Returns 1 when path is not a
 * wheel (it is ignored), 0 when added, -1 on a bad path. */
int dbm_wheels_add(struct dbm_wheels *ws, const char *path, struct dbm_err *e);
/* Add the wheels of a dbfs-put --json manifest. */
int dbm_wheels_manifest(struct dbm_wheels *ws, const char *json, size_t len,
    const char *name, struct dbm_err *e);
void dbm_wheels_free(struct dbm_wheels *ws);
/* PEP 503 normalisation (caller frees). */
char *dbm_pep503(const char *name, size_t n);

struct dbm_subst_edit {
	long line, col;		/* of the replaced word, 1-based */
	char *old, *new;	/* the word before and after */
};

struct dbm_subst_result {
	struct dbm_buf out;
	struct dbm_subst_edit *edits;
	size_t nedits;
};

/* Substitute in data (len bytes, named name for messages). */
int dbm_subst(const char *name, const char *data, size_t len,
    enum dbm_subst_type type, const char *token, const struct dbm_wheels *ws,
    struct dbm_subst_result *res, struct dbm_err *e);
void dbm_subst_result_free(struct dbm_subst_result *res);
/* The type a file name suggests, else what its content looks like. */
enum dbm_subst_type dbm_subst_guess(const char *name, const char *data,
    size_t len);

#endif
