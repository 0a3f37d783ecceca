/*
 * What workspace.c and workspace_dbc.c (DBC archives) share:
 * workspace_meta.c, below both.
 */
#ifndef EMU_WORKSPACE_INT_H
#define EMU_WORKSPACE_INT_H

#include <archive.h>

#include "emu.h"

#define NOTEBOOK_MAX	(10 * 1024 * 1024)	/* import and export: 10 MB */

/* Where canon's notebook mark is kept (malloc'd). */
char *ws_meta_path(struct emu *e, const char *canon);
/* The notebook language of canon (PYTHON, SQL, SCALA, R; malloc'd), or
 * NULL for a plain file; set it (NULL: a plain file). */
char *ws_notebook_language(struct emu *e, const char *canon);
void ws_set_notebook(struct emu *e, const char *canon, const char *lang);
/* libarchive's write callback into a struct dbm_buf, up to NOTEBOOK_MAX. */
la_ssize_t ws_zip_write(struct archive *a, void *cls, const void *p,
    size_t n);

/* workspace_dbc.c: a DBC archive of the notebook or folder at disk
 * (canon) into out: 0, or -1 with the answer in *res. Import one into
 * canon: the answer. */
int ws_dbc_export(struct req *r, const char *disk, const char *canon,
    struct dbm_buf *out, enum MHD_Result *res);
enum MHD_Result ws_dbc_import(struct req *r, const char *canon,
    const struct dbm_buf *c, int overwrite);

#endif
